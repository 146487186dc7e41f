"""Focus for the week: every section's actions in one ranked list, urgent first, with a line on where to start."""

from __future__ import annotations

from datetime import date

from opsflow.findings import Action, FocusItem, FocusSection, Headline, LeftOutRow, Section, Urgency
from opsflow.handoff import as_is
from opsflow.period import Period
from opsflow.tasking import compute_task

LEVELS: tuple[Urgency, ...] = (Urgency.URGENT, Urgency.IMPORTANT, Urgency.ON_RADAR)

URGENT_CATEGORIES: tuple[str, ...] = (
    "active_incident",
    "sla_breached",
    "sla_breach_imminent",
    "vendor_critical_issue",
    "compliance_deadline",
)
IMPORTANT_CATEGORIES: tuple[str, ...] = ("improvement", "vendor_review", "project_milestone", "reporting")
"""The seed's kinds of work, in the order they are tackled inside an urgency level. An action whose `kind` is one of
these names is placed by it; any other kind is placed by the keyword rules below (so rule names such as 'open_sev1'
or 'vendor_flagged' from the other sections need no mapping table)."""

CATEGORY_LABELS: dict[str, tuple[str, str]] = {
    "active_incident": ("active incident", "active incidents"),
    "sla_breached": ("SLA breached", "SLAs breached"),
    "sla_breach_imminent": ("SLA breach imminent", "SLA breaches imminent"),
    "vendor_critical_issue": ("vendor critical issue", "vendor critical issues"),
    "compliance_deadline": ("compliance deadline", "compliance deadlines"),
    "improvement": ("improvement", "improvements"),
    "vendor_review": ("vendor review", "vendor reviews"),
    "project_milestone": ("project milestone", "project milestones"),
    "reporting": ("reporting task", "reporting tasks"),
    "other": ("other item", "other items"),
}

# (category, words in kind or section name): first match wins, tried in this order.
_URGENT_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("compliance_deadline", ("compliance", "deadline", "postmortem", "notice", "overdue", "renewal", "contract")),
    ("vendor_critical_issue", ("vendor",)),
    ("sla_breach_imminent", ("sla", "breach")),
    ("active_incident", ("incident", "sev", "outage", "open")),
)
_IMPORTANT_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("reporting", ("report", "definition", "smart", "data_quality", "quality")),
    ("project_milestone", ("project", "milestone", "task")),
    ("vendor_review", ("vendor",)),
)


DEFINITIONS: dict[str, str] = {
    "focus order": "Urgent first, then important, then on the radar. Inside a level by kind of work (urgent: active "
    "incidents, SLAs breached, SLA breaches imminent, vendor critical issues, compliance deadlines; important and on "
    "the radar: improvements, vendor reviews, project milestones, reporting), then by consequence: an incident's "
    "severity (SEV1 first; work on an incident before other work of its kind, so an overdue SEV1/SEV2 postmortem "
    "comes before vendor paperwork), then the size of the impact (hours open or overdue, incidents in a cluster, "
    "an SLA's burn rate: larger first), then due date (undated last); the record id only breaks exact ties.",
    "duplicates": "Actions with the same kind and source are listed once, at their most urgent level.",
    "focus limit": "At most the first N items of each level are listed; the rest are counted by the section that "
    "lists them in full.",
}


def category(action: Action) -> str:
    """The kind of work an action is, on the seed's scale, from its `kind` (or section) and its urgency."""
    kind = (action.kind or "").lower()
    known = URGENT_CATEGORIES if action.urgency == Urgency.URGENT else IMPORTANT_CATEGORIES
    if kind in known:
        return kind
    rules = _URGENT_RULES if action.urgency == Urgency.URGENT else _IMPORTANT_RULES
    for text in (kind, action.section.lower()):
        for name, words in rules:
            if any(w in text for w in words):
                return name
    # Urgent work the rules cannot place goes after the known kinds; anything else important is an improvement.
    return "other" if action.urgency == Urgency.URGENT else "improvement"


SEVERITY_RANK = {"SEV1": 0, "SEV2": 1, "SEV3": 2, "SEV4": 3}


def _order(action: Action) -> tuple[int, int, int, float, int, date, str, str]:
    """Rank by consequence: level, kind of work, then incident severity (SEV1 first, incident work before other
    work of its kind), then size of impact (larger first), then due date; the record id only breaks exact ties."""
    level = LEVELS.index(action.urgency)
    cats = URGENT_CATEGORIES if action.urgency == Urgency.URGENT else IMPORTANT_CATEGORIES
    cat = category(action)
    rank = cats.index(cat) if cat in cats else len(cats)
    severity = SEVERITY_RANK.get(action.severity or "", len(SEVERITY_RANK))
    impact = -(action.impact or 0.0)
    return (level, rank, severity, impact, int(action.due is None), action.due or date.max, action.source, action.text)


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
    actions = sorted((a for s in sections for a in s.actions), key=_order)
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
    if left_out:
        parts = ", ".join(f"{r.count} {r.urgency.value.replace('_', ' ')} in {r.section}" for r in left_out)
        notes.append(f"Only the first {limit} items of each level are listed; see the sections for the rest: {parts}.")
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


def focus_on(sections: list[Section], period: Period) -> FocusSection:
    """The focus list of a run's finished sections (handed to the task as they are: Prefect need not walk them)."""
    return build_focus_task(as_is(sections), period)
