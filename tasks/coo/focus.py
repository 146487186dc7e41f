"""Focus for the week: every section's actions in one ranked list, urgent first, with a line on where to start."""

from __future__ import annotations

from opsflow.findings import Action, FocusItem, FocusSection, Headline, LeftOutRow, Section, Urgency
from opsflow.handoff import as_is
from opsflow.period import Period
from opsflow.ranking import CATEGORY_LABELS, LEVELS, category, ranked
from opsflow.tasking import compute_task

DEFINITIONS: dict[str, str] = {
    "focus order": "Urgent first, then important, then on the radar. Urgent work by consequence: open incidents, "
    "overdue SEV1/SEV2 postmortems, breached SLOs still burning (burn rate 1x or more this week), imminent breaches, "
    "vendor critical issues, other deadlines and vendor paperwork, then breached SLOs that stopped burning. Important "
    "and on the radar by kind: improvements, vendor reviews, project milestones, reporting. Inside a kind: an "
    "incident's severity (SEV1 first), then the size of the impact (hours open or overdue, incidents in a cluster, "
    "an SLA's burn rate: larger first), then due date (undated last); the record id only breaks exact ties.",
    "duplicates": "Actions with the same kind and source are listed once, at their most urgent level.",
    "focus limit": "At most the first N items of each level are listed (5 on a report's first screen); the rest are "
    "counted by section, listed by their section and all written to actions.csv beside the report.",
}


def _count(n: int, cat: str) -> str:
    one, many = CATEGORY_LABELS[cat]
    return f"{n} {one if n == 1 else many}"


def _closing(urgent: list[Action], important: list[Action]) -> str:
    if not urgent:
        if not important:
            return "Nothing urgent this week, and nothing important waiting."
        first = important[0]
        return f"Nothing urgent this week; {len(important)} important, first {first.source}."
    counts: dict[str, int] = {}
    for a in urgent:
        cat = category(a)
        counts[cat] = counts.get(cat, 0) + 1
    breakdown = ", ".join(_count(n, c) for c, n in counts.items())
    first = urgent[0]
    who = f" ({first.owner})" if first.owner else ""
    return f"{len(urgent)} urgent: {breakdown}. Start with {first.source}{who}."


def build_focus(sections: list[Section], period: Period, limit: int = 10) -> FocusSection:
    """Rank every section's actions for the week ending `period.as_of`, at most `limit` per urgency level."""
    actions = ranked(a for s in sections for a in s.actions)
    seen: set[tuple[str, str]] = set()
    unique: list[Action] = []
    for a in actions:
        # Without a kind, the text tells two actions on the same record apart.
        key = (a.kind or a.text, a.source)
        if key not in seen:
            seen.add(key)
            unique.append(a)
    by_level = {level: [a for a in unique if a.urgency == level] for level in LEVELS}

    listed: dict[Urgency, list[FocusItem]] = {}
    left_out: list[LeftOutRow] = []
    rank = 0
    for level in LEVELS:
        items = []
        for a in by_level[level][:limit]:
            rank += 1
            items.append(
                FocusItem(
                    rank=rank,
                    urgency=level,
                    category=CATEGORY_LABELS[category(a)][0],
                    text=a.text,
                    owner=a.owner or "unassigned",
                    source=a.source,
                    section=a.section,
                    due=a.due,
                )
            )
        listed[level] = items
        rest: dict[str, int] = {}
        for a in by_level[level][limit:]:
            rest[a.section] = rest.get(a.section, 0) + 1
        left_out += [LeftOutRow(urgency=level, section=s, count=n) for s, n in sorted(rest.items())]

    notes = []
    if not unique:
        notes.append("No section raised an action this week.")
    more = []
    for level in LEVELS:
        rows = [r for r in left_out if r.urgency == level]
        if rows:
            where = ", ".join(f"{r.section} {r.count}" for r in rows)
            more.append(f"{sum(r.count for r in rows)} more {level.value.replace('_', ' ')} ({where})")
    if more:
        notes.append(f"Also waiting: {'; '.join(more)}. Each section lists its own; all are in actions.csv.")
    headlines = [
        Headline(key="focus.urgent.count", label="Urgent items", value=len(by_level[Urgency.URGENT]), better="lower"),
        Headline(
            key="focus.important.count", label="Important items", value=len(by_level[Urgency.IMPORTANT]), better="lower"
        ),
    ]
    return FocusSection(
        name="focus",
        title="Focus for the week",
        headlines=headlines,
        definitions=DEFINITIONS,
        closing=_closing(by_level[Urgency.URGENT], by_level[Urgency.IMPORTANT]),
        urgent=listed[Urgency.URGENT],
        important=listed[Urgency.IMPORTANT],
        on_radar=listed[Urgency.ON_RADAR],
        left_out=left_out,
        note=" ".join(notes) or None,
    )


build_focus_task = compute_task(build_focus, name="build_focus")


FIRST_SCREEN_ITEMS = 5
"""Urgent and important items the first screen of a report shows: a Monday read, not the whole backlog."""


def focus_on(sections: list[Section], period: Period) -> FocusSection:
    """The focus list of a run's finished sections (handed to the task as they are: Prefect need not walk them)."""
    return build_focus_task(as_is(sections), period, FIRST_SCREEN_ITEMS)
