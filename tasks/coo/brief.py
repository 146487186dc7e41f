"""The daily brief: what to work on today, at most ten lines from the audit sections' actions known at 07:30."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pandas as pd
from pydantic import Field

from opsflow.findings import Action, Basis, Headline, Section, Urgency, pick_headlines
from opsflow.period import Period
from opsflow.tasking import compute_task
from tasks.coo.focus import DEFINITIONS as FOCUS_DEFINITIONS
from tasks.coo.focus import LEVELS, FocusItem, FocusSection, LeftOutRow, build_focus

FLOW = "daily-brief"
BRIEF_CUTOFF = time(7, 30)
"""The brief is what is known at 07:30 local time on its day (see CUTOFF_DEFINITION)."""
MAX_LINES = 10
IF_YOU_HAVE_TIME_LINES = 10

DAY_HEADLINES = (
    "incidents.open_sev1_sev2",
    "incidents.postmortems_overdue",
    "sla.breached",
    "sla.breach_imminent",
    "sla.alerts.page",
    "sla.tickets.compliance",
    "vendors.flagged",
    "risks.mitigations_overdue",
)
"""Figures the brief repeats from the sections (same keys, so they trend in the brief's own history)."""


class DayGroup(NamedTuple):
    """A kind of work that belongs in today's brief: the sections' action kinds it takes, and how far ahead."""

    name: str
    label: str
    kinds: frozenset[str]
    within_days: int | None
    """A dated action counts only when due within this many days of the brief's day (None: any date)."""


DAY_GROUPS: tuple[DayGroup, ...] = (
    DayGroup("open_incident", "open critical incidents", frozenset({"open_major_incident"}), None),
    DayGroup("postmortem", "overdue postmortems", frozenset({"postmortem_overdue"}), None),
    DayGroup(
        "sla_budget",
        "SLAs breached, about to be, or burning fast enough to page",
        frozenset({"sla_breached", "sla_breach_imminent", "sla_burn_page"}),
        None,
    ),
    DayGroup("ticket_sla", "tickets about to miss their SLA", frozenset({"ticket_sla_at_risk"}), None),
    DayGroup("failed_change", "failed changes not yet restored", frozenset({"failed_change_no_incident"}), None),
    DayGroup("capacity", "resources over their capacity threshold", frozenset({"capacity_over_threshold"}), None),
    DayGroup("vendor_deadline", "vendor deadlines", frozenset({"contract_notice"}), 14),
    DayGroup("vendor_issue", "vendor critical issues", frozenset({"vendor_critical"}), None),
    DayGroup("mitigation", "overdue mitigations", frozenset({"mitigation_overdue"}), None),
    DayGroup("milestone", "project milestones this week", frozenset({"milestone_due", "milestone_overdue"}), 7),
)
"""The issue's list, in the order a line is given to each: every group gets a line before any gets a second."""

CUTOFF_DEFINITION = (
    "The brief for a day is what is known at 07:30 local time that day: the sections are computed for the seven "
    "days ending that day, but the period ends at 07:30 (not midnight), so an incident opened, an SLA event measured "
    "or an activity ended later that day does not exist for the brief, an incident is open if it was not resolved by "
    "07:30, and a postmortem or mitigation is overdue if its due time passed before 07:30. Re-running the brief for "
    "the same day later gives the same lines, and Slack gets it once per day."
)
DEFINITIONS: dict[str, str] = {
    "cut-off": CUTOFF_DEFINITION,
    "today's work": "Actions of these kinds from the audit sections: "
    + "; ".join(
        f"{g.label} ({', '.join(sorted(g.kinds))}"
        + (f", due within {g.within_days} days or undated)" if g.within_days is not None else ")")
        for g in DAY_GROUPS
    )
    + ".",
    "ten lines": "Today's work is ranked by the weekly focus rules (urgent first, then kind of work, due date, "
    "source); lines are then given round-robin: the first item of each kind in the list above, then the second of "
    "each, until the limit (at most 10). The lines are shown in focus order.",
    "if you have time": "Every other action of the sections (vendor reviews, re-ratings, KPI definitions, "
    "bottlenecks...), in focus order, the first ten; it appears in the report only, never in Slack.",
    **FOCUS_DEFINITIONS,
}


@dataclass(frozen=True)
class BriefPeriod(Period):
    """The seven days ending `as_of`, cut at `cutoff` local time on `as_of` instead of the following midnight."""

    cutoff: time = BRIEF_CUTOFF

    @property
    def end(self) -> pd.Timestamp:
        local = datetime.combine(self.as_of, self.cutoff, tzinfo=ZoneInfo(self.tz))
        return pd.Timestamp(local).tz_convert("UTC")


def brief_period(as_of: date | None, timezone: str, now: datetime | None = None) -> BriefPeriod:
    """The brief's period: `as_of` (default: today in the workspace's time zone) up to 07:30 local time."""
    if as_of is None:
        as_of = (now or datetime.now(UTC)).astimezone(ZoneInfo(timezone)).date()
    return BriefPeriod(as_of, timezone)


def day_group(action: Action, as_of: date) -> DayGroup | None:
    """The kind of today's work an action is, or None when it is not for today."""
    for group in DAY_GROUPS:
        if action.kind in group.kinds:
            if group.within_days is not None and action.due is not None:
                if action.due > as_of + timedelta(days=group.within_days):
                    return None
            return group
    return None


class BriefSection(Section):
    """The day's figures and the items that may wait ("if you have time"), as the brief's one report section."""

    groups: list[str] = Field(default_factory=list, description="Kinds of today's work that have at least one line.")


def _items_by_rank(focus: FocusSection) -> list[FocusItem]:
    return sorted([*focus.urgent, *focus.important, *focus.on_radar], key=lambda i: i.rank)


def _key(text: str, source: str) -> tuple[str, str]:
    return (text, source)


def select_brief(sections: list[Section], period: Period, limit: int = MAX_LINES) -> tuple[FocusSection, BriefSection]:
    """Today's focus (at most `limit` lines, at most 10) and the brief's section with what may wait."""
    limit = max(1, min(limit, MAX_LINES))
    actions = [a for s in sections for a in s.actions]
    today = [a for a in actions if day_group(a, period.as_of) is not None]
    rest = [a for a in actions if day_group(a, period.as_of) is None]
    group_of = {_key(a.text, a.source): day_group(a, period.as_of) for a in today}

    ranked = build_focus([Section(name="today", title="Today", actions=today)], period, limit=len(actions) or 1)
    queues: dict[str, list[FocusItem]] = {g.name: [] for g in DAY_GROUPS}
    for item in _items_by_rank(ranked):
        group = group_of.get(_key(item.text, item.source))
        if group is not None:
            queues[group.name].append(item)
    chosen: list[FocusItem] = []
    depth = 0
    while len(chosen) < limit and any(len(q) > depth for q in queues.values()):
        for g in DAY_GROUPS:
            if len(chosen) < limit and len(queues[g.name]) > depth:
                chosen.append(queues[g.name][depth])
        depth += 1
    chosen.sort(key=lambda i: i.rank)
    chosen_keys = {_key(i.text, i.source) for i in chosen}
    shown = [i.model_copy(update={"rank": n}) for n, i in enumerate(chosen, start=1)]

    left: dict[tuple[Urgency, str], int] = {}
    for item in _items_by_rank(ranked):
        if _key(item.text, item.source) not in chosen_keys:
            left[(item.urgency, item.section)] = left.get((item.urgency, item.section), 0) + 1
    left_out = [
        LeftOutRow(urgency=u, section=s, count=n)
        for (u, s), n in sorted(left.items(), key=lambda kv: (LEVELS.index(kv[0][0]), kv[0][1]))
    ]
    note = None
    if not today:
        note = "Nothing urgent or due today in the data as of 07:30."
    elif left_out:
        note = f"{sum(r.count for r in left_out)} more items for today beyond the {limit} lines: see the sections."
    focus = FocusSection(
        name="focus",
        title="Focus for today",
        headlines=ranked.headlines,
        definitions=DEFINITIONS,
        closing=ranked.closing.replace("this week", "today"),
        urgent=[i for i in shown if i.urgency == Urgency.URGENT],
        important=[i for i in shown if i.urgency == Urgency.IMPORTANT],
        on_radar=[i for i in shown if i.urgency == Urgency.ON_RADAR],
        left_out=left_out,
        note=note,
    )

    later = build_focus([Section(name="later", title="Later", actions=rest)], period, limit=len(actions) or 1)
    waiting = _items_by_rank(later)
    brief = BriefSection(
        name="brief",
        title="If you have time",
        headlines=[h.model_copy() for h in pick_headlines(sections, DAY_HEADLINES)]
        + [Headline(key="brief.lines", label="Lines in today's brief", value=len(shown), better="neutral")],
        actions=[
            Action(text=i.text, urgency=i.urgency, owner=i.owner, source=i.source, section=i.section, due=i.due)
            for i in waiting[:IF_YOU_HAVE_TIME_LINES]
        ],
        basis=[
            Basis(
                metric="section actions",
                rows_used=len(today),
                rows_excluded=len(rest),
                reasons={"not a kind of work for today (listed here if you have time)": len(rest)} if rest else {},
            )
        ],
        definitions=DEFINITIONS,
        groups=[g.label for g in DAY_GROUPS if queues[g.name]],
        note=(
            f"{len(waiting) - IF_YOU_HAVE_TIME_LINES} more are in the weekly audit."
            if len(waiting) > IF_YOU_HAVE_TIME_LINES
            else None
        ),
    )
    return focus, brief


def brief_actions(focus: FocusSection) -> list[Action]:
    """The brief's lines as actions, in order, for the Slack post."""
    return [
        Action(text=i.text, urgency=i.urgency, owner=i.owner, source=i.source, section=i.section, due=i.due)
        for i in _items_by_rank(focus)
    ]


def brief_lines(focus: FocusSection) -> list[str]:
    """The brief's lines as plain text: what, owner, source."""
    return [f"{i.text} ({i.owner}): {i.source}" for i in _items_by_rank(focus)]


select_brief_task = compute_task(select_brief, name="select_brief")
