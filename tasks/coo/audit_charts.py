"""The weekly audit's charts: SLA trend, MTTR by severity, vendor scorecard, risk heat map, project burn-down."""

from __future__ import annotations

from datetime import date
from typing import Any

from opsflow.charts import grouped_bar_chart, heatmap_5x5, line_chart
from opsflow.findings import Section
from opsflow.handoff import as_is
from opsflow.tasking import compute_task

SECTION_CHARTS = {
    "incidents": ["mttr-by-severity"],
    "sla": ["sla-trend"],
    "vendors": ["vendor-scorecard"],
    "projects": ["project-burn-down"],
    "risks": ["risk-heat-map"],
}
"""Which chart heads which section of the report."""


def build_audit_charts(sections: list[Section]) -> dict[str, bytes]:
    """The audit's charts as PNG, each drawn only when its section has the data."""
    by_name = {s.name: s for s in sections}
    charts: dict[str, bytes] = {}
    trend = getattr(by_name.get("sla"), "trend", None)
    if trend:
        series: dict[str, list[tuple[date, float | None]]] = {}
        for row in trend:
            series.setdefault(row.category, []).append((row.week_ending, row.compliance))
        charts["sla-trend"] = line_chart("SLA compliance by week", series, "compliance", percent=True)
    mttr = getattr(by_name.get("incidents"), "mttr_chart", None)
    if mttr:
        charts["mttr-by-severity"] = grouped_bar_chart(
            "MTTR by severity (incidents opened this week)",
            [r.severity for r in mttr],
            {"median": [r.median_hours for r in mttr], "p90": [r.p90_hours for r in mttr]},
            "hours",
        )
    points = getattr(by_name.get("vendors"), "chart", None)
    if points:
        charts["vendor-scorecard"] = grouped_bar_chart(
            "Vendor on-time rate, 30 days (dashes: contract target)",
            [p.vendor for p in points],
            {"on-time": [p.ontime_rate for p in points]},
            "on-time",
            percent=True,
            references=[p.ontime_target for p in points],
        )
    heat = getattr(by_name.get("risks"), "heat_map", None)
    if heat:
        charts["risk-heat-map"] = heatmap_5x5("Open risks: likelihood x impact", heat)
    projects = by_name.get("projects")
    burndown = getattr(projects, "burndown", None)
    if projects is not None and burndown:
        charts["project-burn-down"] = _burndown_chart(projects, burndown)
    return charts


def _burndown_chart(projects: Section, burndown: list[Any]) -> bytes:
    # The projects most in trouble first, so the chart shows where attention is needed (at most four lines).
    rank = {"off track": 0, "at risk": 1, "on track": 2}
    rows = sorted(getattr(projects, "projects", []), key=lambda p: (rank.get(str(p.health), 3), str(p.project_id)))
    chosen = {str(p.project_id) for p in rows[:4]}
    series: dict[str, list[tuple[date, float | None]]] = {}
    for point in burndown:
        if point.project_id in chosen:
            series.setdefault(f"{point.project_id} planned", []).append((point.date, point.planned_remaining))
            if point.actual_remaining is not None:
                series.setdefault(f"{point.project_id} actual", []).append((point.date, point.actual_remaining))
    return line_chart("Burn-down: remaining work, planned vs actual", series, "remaining", percent=True)


build_audit_charts_task = compute_task(build_audit_charts, name="draw_charts")


def audit_charts(sections: list[Section]) -> dict[str, bytes]:
    """The audit's charts drawn by their task, the finished sections handed over as they are."""
    return build_audit_charts_task(as_is(sections))
