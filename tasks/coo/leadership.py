"""The weekly ops update for leadership: the seed's dozen lines (incidents, SLA, projects, vendor health, key metrics,
next week's focus), written from the audit's own figures so it can never disagree with the report."""

from __future__ import annotations

from typing import Any

from opsflow import units
from opsflow.findings import FocusSection, Headline, Section
from opsflow.handoff import as_is
from opsflow.period import Period
from opsflow.tasking import compute_task
from tasks.reporting.present import one_line

LEADERSHIP_FLOW = "leadership-update"
"""The update's name in Slack deliveries (once per week and channel) and its channel key in opsflow.yaml."""

MAX_LINES = 15
FOCUS_LINES = 3


def _figures(sections: list[Section]) -> dict[str, Headline]:
    return {h.key: h for s in sections for h in s.headlines if h.value is not None}


def _fig(f: dict[str, Headline], key: str, with_change: bool = True) -> str:
    """A figure with its unit and, when asked and there was a previous week, its change: "95.3% (-0.7 pts)"."""
    h = f.get(key)
    if h is None:
        return "n/a"
    text = units.figure(h.value, h.unit)
    if with_change and h.change is not None:
        text += f" ({units.change(h.change, h.unit)})"
    return text


def _vs(f: dict[str, Headline], key: str) -> str:
    """The change since last week's audit, when there was one: " (+11 vs last week)"."""
    h = f.get(key)
    if h is None or h.change is None:
        return ""
    return f" ({units.change(h.change, h.unit)} vs last week)"


def _names(rows: list[Any], shown: int = 2) -> str:
    names = [str(r) for r in rows]
    if len(names) <= shown:
        return ", ".join(names)
    return f"{', '.join(names[:shown])} and {len(names) - shown} more"


def build_leadership_update(sections: list[Section], focus: FocusSection, period: Period, company: str) -> str:
    """At most MAX_LINES lines in the seed's shape, every figure taken from the sections' headlines and rows."""
    f = _figures(sections)
    by_name = {s.name: s for s in sections if s.available}
    lines = [f"**Weekly operations update, {period.week_start:%d %b} to {period.as_of:%d %b %Y}** ({company})", ""]

    if "incidents" in by_name:
        lines.append(
            f"- **Incidents:** {_fig(f, 'incidents.week.total', False)} opened{_vs(f, 'incidents.week.total')}, "
            f"{_fig(f, 'incidents.week.sev1_sev2', False)} "
            f"SEV1/SEV2, {_fig(f, 'incidents.open_sev1_sev2', False)} still open; MTTR median "
            f"{_fig(f, 'incidents.week.mttr_median_hours')}; postmortems overdue "
            f"{_fig(f, 'incidents.postmortems_overdue', False)}."
        )
    sla = by_name.get("sla")
    if sla is not None:
        below = [
            r for r in getattr(sla, "by_category", []) if r.meets_objective is False and r.category != "all categories"
        ]
        worst = min(below, key=lambda r: (r.compliance or 0) - (r.objective or 0), default=None)
        worst_text = (
            f"; below objective: {worst.category} {units.figure(worst.compliance, 'ratio')} vs "
            f"{units.figure(worst.objective, 'ratio')}"
            if worst is not None
            else ""
        )
        lines.append(
            f"- **SLA:** {_fig(f, 'sla.week.compliance', False)} overall{_vs(f, 'sla.week.compliance')}"
            f"{worst_text}; SLOs breached "
            f"{_fig(f, 'sla.breached', False)}, imminent {_fig(f, 'sla.breach_imminent', False)}."
        )
    projects = by_name.get("projects")
    if projects is not None:
        rows = [p for p in getattr(projects, "projects", []) if p.health == "off track"]
        behind = min(rows, key=lambda p: p.percent_complete - p.planned_percent, default=None)
        behind_text = (
            f"; furthest behind: {behind.project} ({units.figure(behind.percent_complete, 'ratio')} done vs "
            f"{units.figure(behind.planned_percent, 'ratio')} planned)"
            if behind is not None
            else ""
        )
        lines.append(
            f"- **Projects:** {_fig(f, 'projects.on_track', False)} on track, {_fig(f, 'projects.at_risk', False)} at "
            f"risk, {_fig(f, 'projects.off_track', False)} off track (portfolio SPI "
            f"{_fig(f, 'projects.portfolio.spi', False)}){behind_text}."
        )
    vendors = by_name.get("vendors")
    if vendors is not None:
        flagged = [r.vendor for r in getattr(vendors, "scorecard", []) if r.flagged]
        renewals = sorted(getattr(vendors, "renewals", []), key=lambda r: r.notice_deadline)
        upcoming = [r for r in renewals if r.days_to_notice_deadline >= 0]
        notice = f"; next notice deadline {upcoming[0].notice_deadline} ({upcoming[0].vendor})" if upcoming else ""
        lines.append(
            f"- **Vendor health:** {len(flagged)} flagged" + (f" ({_names(flagged)})" if flagged else "")
            + f"; {_fig(f, 'vendors.renewals.90d', False)} contracts renew within 90 days{notice}."
        )  # fmt: skip
    metrics = [
        ("KPIs on track", "kpis.on_track.share"),
        ("on-time delivery (30 days)", "vendors.ontime.30d"),
        ("tickets within SLA", "sla.tickets.compliance"),
    ]
    shown = [f"{label} {_fig(f, key)}" for label, key in metrics if key in f]
    if shown:
        lines.append(f"- **Key metrics:** {'; '.join(shown)}.")

    lines.append(f"- **Next week's focus:** {focus.closing or 'nothing urgent.'}")
    for item in [*focus.urgent, *focus.important][:FOCUS_LINES]:
        lines.append(f"  - {one_line(item.text, 100)} ({item.owner})")
    return "\n".join(lines[:MAX_LINES])


build_leadership_update_task = compute_task(build_leadership_update, name="write_leadership_update")


def leadership_update(sections: list[Section], focus: FocusSection, period: Period, company: str) -> str:
    """The update by its task, the finished sections and focus handed over as they are."""
    return build_leadership_update_task(as_is(sections), as_is(focus), period, company)
