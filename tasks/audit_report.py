"""The weekly audit report: charts, HTML and Markdown files, and the Prefect artifacts that mirror them."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, Field, SerializeAsAny

from opsflow.findings import Section
from opsflow.period import Period
from tasks.charts import data_uri, grouped_bar_chart, heatmap_5x5, line_chart
from tasks.claude import Narrative
from tasks.metrics.focus import FocusSection
from tasks.present import SectionView, section_view, table_view
from tasks.render import render

FLOW = "weekly-audit"


class AuditReport(BaseModel):
    """Everything the weekly audit report shows."""

    company: str
    as_of: date
    week_start: date
    month_start: date
    timezone: str
    generated_at: str
    summary: Narrative
    focus: FocusSection
    sections: list[SerializeAsAny[Section]]
    quality_rows: list[dict[str, Any]] = Field(default_factory=list)
    load_errors: dict[str, str] = Field(default_factory=dict)
    usage: str | None = Field(None, description="Claude tokens and estimated cost, for the footer.")
    timings: dict[str, float] = Field(default_factory=dict, description="Seconds per stage of the run.")

    @property
    def title(self) -> str:
        return f"Weekly operational audit: week ending {self.as_of:%d %B %Y}"

    def section(self, name: str) -> Section | None:
        return next((s for s in self.sections if s.name == name), None)


def report_dir(workspace: Path, as_of: date) -> Path:
    """Where the report for `as_of` goes: <workspace>/reports/weekly-audit/<as_of>/."""
    return workspace / "reports" / FLOW / as_of.isoformat()


def build_charts(sections: list[Section]) -> dict[str, bytes]:
    """The report's charts as PNG: SLA trend, MTTR by severity, vendor scorecard, risk heat map, burn-down."""
    by_name = {s.name: s for s in sections}
    charts: dict[str, bytes] = {}
    sla = by_name.get("sla")
    trend = getattr(sla, "trend", None) if sla is not None else None
    if trend:
        series: dict[str, list[tuple[date, float | None]]] = {}
        for row in trend:
            series.setdefault(row.category, []).append((row.week_ending, row.compliance))
        charts["sla-trend"] = line_chart("SLA compliance by week", series, "compliance", percent=True)
    incidents = by_name.get("incidents")
    mttr = getattr(incidents, "mttr_chart", None) if incidents is not None else None
    if mttr:
        charts["mttr-by-severity"] = grouped_bar_chart(
            "MTTR by severity (incidents opened this week)",
            [r.severity for r in mttr],
            {"median": [r.median_hours for r in mttr], "p90": [r.p90_hours for r in mttr]},
            "hours",
        )
    vendors = by_name.get("vendors")
    points = getattr(vendors, "chart", None) if vendors is not None else None
    if points:
        charts["vendor-scorecard"] = grouped_bar_chart(
            "Vendor on-time rate, 30 days (dashes: contract target)",
            [p.vendor for p in points],
            {"on-time": [p.ontime_rate for p in points]},
            "on-time",
            percent=True,
            references=[p.ontime_target for p in points],
        )
    risks = by_name.get("risks")
    heat = getattr(risks, "heat_map", None) if risks is not None else None
    if heat:
        charts["risk-heat-map"] = heatmap_5x5("Open risks: likelihood x impact", heat)
    projects = by_name.get("projects")
    burndown = getattr(projects, "burndown", None) if projects is not None else None
    if projects is not None and burndown:
        charts["project-burn-down"] = _burndown_chart(projects, burndown)
    return charts


def _burndown_chart(projects: Section, burndown: list[Any]) -> bytes:
    # The projects most in trouble first, so the chart shows where attention is needed (at most four lines).
    rank = {"off track": 0, "at risk": 1, "on track": 2}
    rows = sorted(getattr(projects, "projects", []), key=lambda p: (rank.get(str(p.health), 3), str(p.project_id)))
    chosen = [str(p.project_id) for p in rows[:4]]
    series: dict[str, list[tuple[date, float | None]]] = {}
    for point in burndown:
        if point.project_id in chosen:
            series.setdefault(f"{point.project_id} planned", []).append((point.date, point.planned_remaining))
            if point.actual_remaining is not None:
                series.setdefault(f"{point.project_id} actual", []).append((point.date, point.actual_remaining))
    return line_chart("Burn-down: remaining work, planned vs actual", series, "remaining", percent=True)


def _views(report: AuditReport) -> list[SectionView]:
    return [section_view(s) for s in report.sections]


def write_audit_report(report: AuditReport, out_dir: Path, charts: dict[str, bytes]) -> dict[str, Path]:
    """Write report.html (self-contained, charts inline), report.md, charts/*.png and report.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    chart_dir = out_dir / "charts"
    chart_dir.mkdir(exist_ok=True)
    chart_files = {}
    for name, png in charts.items():
        path = chart_dir / f"{name}.png"
        path.write_bytes(png)
        chart_files[name] = path
    views = _views(report)
    focus_tables = [
        table_view(name, title, rows)
        for name, title, rows in (
            ("urgent", "Urgent", report.focus.urgent),
            ("important", "Important", report.focus.important),
        )
    ]
    context = {
        "report": report,
        "title": report.title,
        "subtitle": f"{report.company} · {report.week_start:%d %b} to {report.as_of:%d %b %Y} ({report.timezone})",
        "generated_at": report.generated_at,
        "views": views,
        "focus_tables": focus_tables,
        "charts_inline": {name: data_uri(png) for name, png in charts.items()},
        "charts_files": {name: f"charts/{path.name}" for name, path in chart_files.items()},
    }
    html = out_dir / "report.html"
    html.write_text(render("weekly_audit.html.j2", **context), encoding="utf-8")
    md = out_dir / "report.md"
    md.write_text(render("weekly_audit.md.j2", **context), encoding="utf-8")
    data = out_dir / "report.json"
    data.write_text(report.model_dump_json(indent=1), encoding="utf-8")
    return {"html": html, "markdown": md, "json": data, **{f"chart:{k}": v for k, v in chart_files.items()}}


def summary_markdown(report: AuditReport) -> str:
    """The short Markdown artifact: summary, headline figures with their change, and the focus list."""
    return render("weekly_audit_artifact.md.j2", report=report, views=_views(report))


def publish_audit_artifacts(report: AuditReport, report_paths: dict[str, Path]) -> list[str]:
    """Prefect artifacts with stable keys, so the UI shows the latest audit and its history per key."""
    keys = []
    create_markdown_artifact(
        key="weekly-audit-summary",
        markdown=summary_markdown(report) + f"\n\nFull report: `{report_paths['html']}`\n",
        description=f"Weekly audit, week ending {report.as_of}",
    )
    keys.append("weekly-audit-summary")
    for section_name, field, key in (
        ("vendors", "scorecard", "weekly-audit-vendor-scorecard"),
        ("sla", "by_category", "weekly-audit-sla"),
        ("projects", "projects", "weekly-audit-projects"),
        ("risks", "top_risks", "weekly-audit-top-risks"),
        ("kpis", "perspectives", "weekly-audit-kpis"),
    ):
        section = report.section(section_name)
        rows = getattr(section, field, None) if section is not None else None
        if not rows:
            continue
        view = table_view(field, field, rows, max_rows=500)
        create_table_artifact(
            key=key,
            table=[dict(zip(view.columns, r, strict=True)) for r in view.rows],
            description=f"{section.title if section else section_name}: week ending {report.as_of}",
        )
        keys.append(key)
    return keys


def period_fields(period: Period) -> dict[str, Any]:
    return {
        "as_of": period.as_of,
        "week_start": period.week_start,
        "month_start": period.month_start,
        "timezone": period.tz,
    }


build_charts_task = task(name="draw_charts", cache_policy=NO_CACHE)(build_charts)
write_audit_report_task = task(name="write_report", cache_policy=NO_CACHE)(write_audit_report)
publish_audit_artifacts_task = task(
    name="publish_artifacts", cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[2, 5, 15]
)(publish_audit_artifacts)
