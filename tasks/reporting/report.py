"""A flow's report: HTML (self-contained, charts inline) and Markdown files, Prefect artifacts that mirror them, and
its post to Slack."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from prefect.artifacts import create_markdown_artifact, create_table_artifact
from pydantic import BaseModel, Field, SerializeAsAny

from opsflow.charts import data_uri
from opsflow.coverage import mark_partial
from opsflow.findings import FocusSection, Section, headline_values
from opsflow.history import HistoryStore
from opsflow.period import local_time
from opsflow.tasking import compute_task, io_task
from opsflow.timing import StageTimer
from tasks.data.prepare import WorkspaceData
from tasks.reporting.narrative import Narrative, UsageLog
from tasks.reporting.present import SectionView, section_view, table_view
from tasks.reporting.quality import quality_rows
from tasks.reporting.render import render


class FlowReport(BaseModel):
    """Everything a flow's report shows: a summary, the focus list, the sections, data quality and the footer."""

    flow: str = Field(description="Flow name, kebab-case: the report folder and artifact keys derive from it.")
    title: str
    company: str
    timezone: str = Field("UTC", description="The workspace's time zone: every instant in the report is shown in it.")
    period_key: str = Field(description="The period the report covers, e.g. the as_of date: names the folder.")
    subtitle: str = ""
    generated_at: str
    summary: Narrative | None = None
    focus: FocusSection | None = None
    focus_title: str = "Focus for the week"
    sections: list[SerializeAsAny[Section]] = Field(default_factory=list)
    quality_rows: list[dict[str, Any]] = Field(default_factory=list)
    load_errors: dict[str, str] = Field(default_factory=dict)
    data_covers: str = Field("", description="What the data covers, in one line.")
    data_warnings: list[str] = Field(
        default_factory=list, description="Datasets that stop before the period ends: their figures are partial."
    )
    usage: str | None = Field(None, description="Claude tokens and estimated cost, for the footer.")
    timings: dict[str, float] = Field(default_factory=dict, description="Seconds per stage of the run.")
    section_charts: dict[str, list[str]] = Field(
        default_factory=dict, description="Section name -> charts shown at its top (names of the chart PNGs)."
    )

    def section(self, name: str) -> Section | None:
        return next((s for s in self.sections if s.name == name), None)


def new_report(
    flow: str,
    title: str,
    period_key: str,
    prepared: WorkspaceData,
    timer: StageTimer,
    usage: UsageLog | None = None,
    **content: Any,
) -> FlowReport:
    """A flow's report with what every report carries filled in: company, generation time, data quality, load errors,
    the Claude usage footer and the stage timings so far. `content` is the rest of FlowReport (subtitle, summary,
    focus, focus_title, sections, section_charts). Sections built on a dataset that stops early are marked partial."""
    mark_partial(content.get("sections", []), prepared.partial_datasets)
    return FlowReport(
        flow=flow,
        title=title,
        company=prepared.config.company,
        period_key=period_key,
        timezone=prepared.config.timezone,
        generated_at=local_time(datetime.now(UTC), prepared.config.timezone),
        quality_rows=quality_rows(prepared.data, prepared.load_errors),
        load_errors=prepared.load_errors,
        data_covers=prepared.coverage_line,
        data_warnings=prepared.clock_warnings,
        usage=usage.footer() if usage is not None and usage.calls else None,
        timings=timer.seconds,
        **content,
    )


def report_dir(workspace: Path, flow: str, period_key: str | date) -> Path:
    """Where a flow's report for a period goes: <workspace>/reports/<flow>/<period>/."""
    key = period_key.isoformat() if isinstance(period_key, date) else period_key
    return workspace / "reports" / flow / key


def _views(report: FlowReport) -> list[SectionView]:
    return [section_view(s, tz=report.timezone) for s in report.sections]


def _focus_tables(report: FlowReport) -> list[Any]:
    if report.focus is None:
        return []
    return [
        table_view(name, title, rows, tz=report.timezone)
        for name, title, rows in (
            ("urgent", "Urgent", report.focus.urgent),
            ("important", "Important", report.focus.important),
        )
    ]


def write_report(report: FlowReport, out_dir: Path, charts: dict[str, bytes]) -> dict[str, Path]:
    """Write report.html (self-contained, charts inline), report.md, charts/*.png and report.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    chart_files = {}
    if charts:
        (out_dir / "charts").mkdir(exist_ok=True)
    for name, png in charts.items():
        path = out_dir / "charts" / f"{name}.png"
        path.write_bytes(png)
        chart_files[name] = path
    context = {
        "report": report,
        "title": report.title,
        "subtitle": report.subtitle,
        "generated_at": report.generated_at,
        "views": _views(report),
        "focus_tables": _focus_tables(report),
        "section_charts": report.section_charts,
        "charts_inline": {name: data_uri(png) for name, png in charts.items()},
        "charts_files": {name: f"charts/{path.name}" for name, path in chart_files.items()},
    }
    html = out_dir / "report.html"
    html.write_text(render("report.html.j2", **context), encoding="utf-8")
    md = out_dir / "report.md"
    md.write_text(render("report.md.j2", **context), encoding="utf-8")
    data = out_dir / "report.json"
    data.write_text(report.model_dump_json(indent=1), encoding="utf-8")
    return {"html": html, "markdown": md, "json": data, **{f"chart:{k}": v for k, v in chart_files.items()}}


def summary_markdown(report: FlowReport) -> str:
    """The short Markdown form: summary, focus list and headline figures with their change (artifact, Slack thread)."""
    return render("report_artifact.md.j2", report=report, views=_views(report))


def publish_report_artifacts(
    report: FlowReport, report_paths: dict[str, Path], tables: list[tuple[str, str]] | None = None
) -> list[str]:
    """Prefect artifacts with stable keys (`<flow>-summary`, `<flow>-<table>`), so the UI shows each flow's latest
    report and its history. `tables` names (section, field) pairs to publish as table artifacts."""
    summary_key = f"{report.flow}-summary"
    create_markdown_artifact(
        key=summary_key,
        markdown=summary_markdown(report) + f"\n\nFull report: `{report_paths['html']}`\n",
        description=f"{report.title} ({report.period_key})",
    )
    keys = [summary_key]
    for section_name, field in tables or []:
        section = report.section(section_name)
        rows = getattr(section, field, None) if section is not None else None
        if section is None or not rows:
            continue
        view = table_view(field, field, rows, max_rows=500, tz=report.timezone)
        key = f"{report.flow}-{section_name}-{field}".replace("_", "-")
        create_table_artifact(
            key=key,
            table=[dict(zip(view.columns, r, strict=True)) for r in view.rows],
            description=f"{section.title}, {report.period_key}",
        )
        keys.append(key)
    return keys


def save_report(history: HistoryStore, report: FlowReport, as_of: date, extra: dict[str, Any] | None = None) -> None:
    """Store the report's headline figures and content for its flow and period (re-running the period replaces it),
    with `extra` fields a later run of the flow needs beside the report."""
    payload = report.model_dump(mode="json")
    payload.update(extra or {})
    history.save_run(report.flow, report.period_key, as_of, headline_values(report.sections), payload)


write_report_task = compute_task(write_report, name="write_report")
publish_report_artifacts_task = io_task(publish_report_artifacts, name="publish_artifacts")
save_report_task = io_task(save_report, name="save_report")
