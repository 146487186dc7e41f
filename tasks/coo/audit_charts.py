"""The weekly audit's charts: SLA trend, MTTR by severity, vendor scorecard, risk heat map, project burn-down."""

from __future__ import annotations

from datetime import date
from typing import Any

from opsflow.charts import grouped_bar_chart, heatmap_5x5, line_chart, target_bar_chart
from opsflow.findings import Section
from opsflow.handoff import as_is
from opsflow.openslo import REQUEST_CATEGORIES
from opsflow.tasking import compute_task

SECTION_CHARTS = {
    "incidents": ["mttr-by-severity"],
    "sla": ["sla-trend", "slo-burn-trend"],
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
        # Event categories only: the request-metric SLOs sit near 99.9% and would flatten the chart; those in trouble
        # are on the burn-rate chart below it.
        for row in trend:
            if row.category not in REQUEST_CATEGORIES:
                series.setdefault(row.category, []).append((row.week_ending, row.compliance))
        charts["sla-trend"] = line_chart("SLA compliance by week", series, "compliance", percent=True)
    burning = _troubled_slo_trends(by_name.get("sla"))
    if burning:
        charts["slo-burn-trend"] = line_chart(
            "Weekly burn rate of the SLOs in trouble (13 weeks)",
            burning,
            "burn rate (1 = on budget)",
            reference=1.0,
            reference_label="on budget",
        )
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
        charts["vendor-scorecard"] = _vendor_chart(points)
    heat = getattr(by_name.get("risks"), "heat_map", None)
    if heat:
        charts["risk-heat-map"] = heatmap_5x5("Open risks: likelihood x impact", heat)
    projects = by_name.get("projects")
    burndown = getattr(projects, "burndown", None)
    if projects is not None and burndown:
        charts["project-burn-down"] = _burndown_chart(projects, burndown)
    return charts


TROUBLED_SLOS = 6
"""SLOs the burn-rate chart draws: breached, imminent or alerting ones, worst budget first (more lines are unreadable;
the SLO trend table has every SLO)."""


def _troubled_slo_trends(sla: Section | None) -> dict[str, list[tuple[date, float | None]]]:
    """Each troubled SLO's 13 weekly burn rates, by 'category / service'."""
    budgets = getattr(sla, "error_budgets", None) or []
    troubled = [b for b in budgets if b.slo_status in ("breached", "breach imminent") or b.alert in ("page", "ticket")]
    troubled.sort(key=lambda b: (b.budget_remaining if b.budget_remaining is not None else 1.0, b.category, b.service))
    chosen = {(b.category, b.service) for b in troubled[:TROUBLED_SLOS]}
    series: dict[str, list[tuple[date, float | None]]] = {}
    for row in getattr(sla, "slo_trend", None) or []:
        if (row.category, row.service) in chosen:
            series.setdefault(f"{row.category} / {row.service}", []).append((row.week_ending, row.burn_rate))
    return series


VENDOR_BARS = 12
"""Vendors the on-time chart shows: those furthest below their contract target (a chart of 40 vendors is unreadable;
the scorecard table has them all)."""


def _vendor_chart(points: list[Any]) -> bytes:
    measured = [p for p in points if p.ontime_rate is not None]
    ranked = sorted(measured, key=lambda p: (p.ontime_rate - p.ontime_target, p.vendor))[:VENDOR_BARS]
    unmeasured = len(points) - len(measured)
    title = f"On-time rate, 30 days: the {len(ranked)} vendors furthest below target (of {len(points)}"
    title += f"; {unmeasured} with no deliveries due)" if unmeasured else ")"
    rows = [(p.vendor, p.ontime_rate, p.ontime_target) for p in ranked]
    return target_bar_chart(title, rows, "on-time", percent=True)


def _burndown_chart(projects: Section, burndown: list[Any]) -> bytes:
    # The projects most in trouble first, so the chart shows where attention is needed (at most four lines).
    rank = {"off track": 0, "at risk": 1, "on track": 2}
    rows = sorted(getattr(projects, "projects", []), key=lambda p: (rank.get(str(p.health), 3), str(p.project_id)))
    chosen = {str(p.project_id) for p in rows[:4]}
    series: dict[str, list[tuple[date, float | None]]] = {}
    actual: dict[str, dict[date, float]] = {}
    # The actual line: what earlier audits measured, then this week's figure (a re-run of a week keeps the latest).
    for past in getattr(projects, "actual_history", []):
        if past.project_id in chosen:
            actual.setdefault(past.project_id, {})[past.date] = past.actual_remaining
    for point in burndown:
        if point.project_id in chosen:
            series.setdefault(f"{point.project_id} planned", []).append((point.date, point.planned_remaining))
            if point.actual_remaining is not None:
                actual.setdefault(point.project_id, {})[point.date] = point.actual_remaining
    lines, styles = {}, {}
    for pid in sorted(chosen):
        if f"{pid} planned" in series:
            lines[f"{pid} planned"] = series[f"{pid} planned"]
            styles[f"{pid} planned"] = "--"
        if pid in actual:
            lines[f"{pid} actual"] = sorted(actual[pid].items())
            styles[f"{pid} actual"] = "-"
    return line_chart(
        "Burn-down: remaining work, planned (dashed) vs actual",
        lines,
        "remaining",
        percent=True,
        styles=styles,
        pair_colours=True,
    )


build_audit_charts_task = compute_task(build_audit_charts, name="draw_charts")


def audit_charts(sections: list[Section]) -> dict[str, bytes]:
    """The audit's charts drawn by their task, the finished sections handed over as they are."""
    return build_audit_charts_task(as_is(sections))
