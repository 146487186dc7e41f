"""A flow's report: HTML (self-contained, charts inline) and Markdown files, Prefect artifacts that mirror them, and
its post to Slack."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from pydantic import BaseModel, Field, SerializeAsAny

from opsflow.charts import data_uri
from opsflow.coverage import mark_partial
from opsflow.findings import FocusItem, FocusSection, Section, headline_values
from opsflow.history import HistoryStore
from opsflow.period import local_time
from opsflow.ranking import CATEGORY_LABELS, category, ranked
from opsflow.tasking import compute_task, io_task
from opsflow.timing import StageTimer
from tasks.data.prepare import WorkspaceData
from tasks.reporting.narrative import Narrative, UsageLog
from tasks.reporting.present import (
    HeadlineView,
    SectionView,
    headline_view,
    one_line,
    section_view,
    table_fields,
    table_view,
)
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
    leadership_update: str | None = Field(
        None, description="The weekly ops update for leadership (at most 15 lines), posted to its own channel."
    )
    key_figures: list[str] = Field(
        default_factory=list,
        description="Headline keys shown as tiles on the first screen, in order; empty: each section's first figure.",
    )

    def section(self, name: str) -> Section | None:
        return next((s for s in self.sections if s.name == name), None)

    @property
    def quality_flagged(self) -> list[dict[str, Any]]:
        """The datasets the report shows a row for: rows quarantined, over threshold or not read."""
        return [r for r in self.quality_rows if r.get("rows_quarantined") or r.get("status") != "ok"]

    @property
    def quality_clean(self) -> list[dict[str, Any]]:
        """The datasets whose every row was used: named on one line instead of a table row each."""
        return [r for r in self.quality_rows if not r.get("rows_quarantined") and r.get("status") == "ok"]


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


MAX_TILES = 8


def key_tiles(report: FlowReport) -> list[HeadlineView]:
    """The first screen's tiles: the report's key figures, or each section's first figure, at most MAX_TILES."""
    by_key = {h.key: h for s in report.sections for h in s.headlines}
    if report.key_figures:
        picked = [by_key[k] for k in report.key_figures if k in by_key]
    else:
        picked = [s.headlines[0] for s in report.sections if s.available and s.headlines]
    return [headline_view(h) for h in picked if h.value is not None][:MAX_TILES]


class FirstLine(BaseModel):
    """One action on the first screen: one line with its owner, due date and record."""

    rank: int
    category: str
    text: str
    owner: str
    source: str
    due: str


def _first_lines(items: list[FocusItem]) -> list[FirstLine]:
    return [
        FirstLine(
            rank=i.rank,
            category=i.category,
            text=one_line(i.text),
            owner=i.owner,
            source=i.source,
            due=i.due.isoformat() if i.due else "",
        )
        for i in items
    ]


class Definition(BaseModel):
    """A term the report uses, defined once however many sections use it."""

    term: str
    text: str
    sections: list[str]


def merged_definitions(report: FlowReport) -> list[Definition]:
    """Every section's definitions, each term and wording once (one appendix per report)."""
    merged: dict[tuple[str, str], Definition] = {}
    sections = [*([report.focus] if report.focus else []), *report.sections]
    for section in sections:
        for term, text in section.definitions.items():
            entry = merged.setdefault((term, text), Definition(term=term, text=text, sections=[]))
            entry.sections.append(section.title)
    return sorted(merged.values(), key=lambda d: d.term.lower())


def _csv_frame(rows: list[BaseModel]) -> pd.DataFrame:
    return pd.DataFrame([r.model_dump(mode="json") for r in rows])


def write_lists(report: FlowReport, out_dir: Path) -> dict[str, tuple[str, int]]:
    """Every list in full as CSV beside the report: actions.csv (every action, ranked), basis.csv, and one file per
    section table under tables/. Returns name -> (path relative to the report, rows)."""
    files: dict[str, tuple[str, int]] = {}
    actions = ranked(a for s in report.sections for a in s.actions)
    frame = pd.DataFrame(
        [
            {
                "rank": n,
                "urgency": a.urgency.value,
                "category": CATEGORY_LABELS[category(a)][0],
                "section": a.section,
                "owner": a.owner or "unassigned",
                "source": a.source,
                "due": a.due.isoformat() if a.due else "",
                "severity": a.severity or "",
                "text": a.text,
            }
            for n, a in enumerate(actions, start=1)
        ],
        columns=["rank", "urgency", "category", "section", "owner", "source", "due", "severity", "text"],
    )
    frame.to_csv(out_dir / "actions.csv", index=False)
    files["actions"] = ("actions.csv", len(frame))
    basis = [{"section": s.title, **b.model_dump(mode="json")} for s in report.sections for b in s.basis]
    if basis:
        pd.DataFrame(basis).to_csv(out_dir / "basis.csv", index=False)
        files["basis"] = ("basis.csv", len(basis))
    for section in report.sections:
        for name, rows in table_fields(section):
            rel = f"tables/{section.name}-{name}.csv"
            (out_dir / "tables").mkdir(exist_ok=True)
            _csv_frame(rows).to_csv(out_dir / rel, index=False)
            files[f"{section.name}.{name}"] = (rel, len(rows))
    return files


def write_definitions(report: FlowReport, out_dir: Path, definitions: list[Definition]) -> Path:
    """definitions.md beside the report: every term the report uses, once."""
    path = out_dir / "definitions.md"
    path.write_text(render("definitions.md.j2", report=report, definitions=definitions), "utf-8")
    return path


def write_report(report: FlowReport, out_dir: Path, charts: dict[str, bytes]) -> dict[str, Path]:
    """Write report.html (self-contained, charts inline), report.md, charts/*.png, report.json, and the full lists
    beside them (actions.csv, basis.csv, tables/*.csv, definitions.md)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    chart_files = {}
    if charts:
        (out_dir / "charts").mkdir(exist_ok=True)
    for name, png in charts.items():
        path = out_dir / "charts" / f"{name}.png"
        path.write_bytes(png)
        chart_files[name] = path
    lists = write_lists(report, out_dir)
    merged = merged_definitions(report)
    definitions = write_definitions(report, out_dir, merged)
    extra: dict[str, Path] = {}
    if report.leadership_update:
        extra["leadership"] = out_dir / "leadership-update.md"
        extra["leadership"].write_text(report.leadership_update + "\n", encoding="utf-8")
    focus = report.focus
    context = {
        "report": report,
        "title": report.title,
        "subtitle": report.subtitle,
        "generated_at": report.generated_at,
        "views": _views(report),
        "tiles": key_tiles(report),
        "first_urgent": _first_lines(focus.urgent) if focus else [],
        "first_important": _first_lines(focus.important) if focus else [],
        "definitions": merged,
        "lists": lists,
        "excluded": [(s.title, b) for s in report.sections for b in s.basis if b.rows_excluded],
        "section_charts": report.section_charts,
        "charts_inline": {name: data_uri(png) for name, png in charts.items()},
        "charts_files": {name: f"charts/{path.name}" for name, path in chart_files.items()},
    }
    html = out_dir / "report.html"
    html.write_text(render("report.html.j2", **context), encoding="utf-8")
    md = out_dir / "report.md"
    # Blocks the template leaves empty (no note, no chart) would otherwise stack blank lines against the line budget.
    md.write_text(re.sub(r"\n{3,}", "\n\n", render("report.md.j2", **context)), encoding="utf-8")
    data = out_dir / "report.json"
    data.write_text(report.model_dump_json(indent=1), encoding="utf-8")
    return {
        "html": html,
        "markdown": md,
        "json": data,
        "definitions": definitions,
        **extra,
        **{f"list:{k}": out_dir / rel for k, (rel, _) in lists.items()},
        **{f"chart:{k}": v for k, v in chart_files.items()},
    }


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
