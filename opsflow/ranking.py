"""The order work is done in: an action's kind of work and the consequence that ranks it, shared by the focus list,
every section's "What to do" list, the first screen and Slack, so no two of them can disagree."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from opsflow.findings import Action, Urgency

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
MAJOR_SEVERITIES = ("SEV1", "SEV2")
BURNING = 1.0
"""A breached SLO whose budget burns at this rate or more this week is still burning (it consumes budget at least as
fast as the objective allows); below it, the breach has stopped growing and waits behind live work."""

URGENT_TIERS: tuple[str, ...] = (
    "active_incident",
    "major_incident_deadline",
    "sla_breached",
    "sla_breach_imminent",
    "vendor_critical_issue",
    "compliance_deadline",
    "sla_breached_stopped",
    "other",
)
"""Urgent work by consequence: live incidents, then the overdue deadlines of SEV1/SEV2 incidents (postmortems), then
breached SLOs that still burn, imminent breaches, vendor critical issues, other deadlines and paperwork, and breached
SLOs that stopped burning."""


def urgent_tier(action: Action) -> int:
    """Where an urgent action stands in URGENT_TIERS."""
    cat = category(action)
    if cat == "compliance_deadline" and action.severity in MAJOR_SEVERITIES:
        cat = "major_incident_deadline"
    elif cat == "sla_breached" and (action.impact or 0.0) < BURNING:
        cat = "sla_breached_stopped"
    return URGENT_TIERS.index(cat) if cat in URGENT_TIERS else len(URGENT_TIERS)


def order(action: Action) -> tuple[int, int, int, float, int, date, str, str]:
    """Rank by consequence: level, kind of work (urgent work by URGENT_TIERS), then incident severity (SEV1 first,
    incident work before other work of its kind), then size of impact (larger first), then due date; the record id
    only breaks exact ties."""
    level = LEVELS.index(action.urgency)
    if action.urgency == Urgency.URGENT:
        rank = urgent_tier(action)
    else:
        cat = category(action)
        rank = IMPORTANT_CATEGORIES.index(cat) if cat in IMPORTANT_CATEGORIES else len(IMPORTANT_CATEGORIES)
    severity = SEVERITY_RANK.get(action.severity or "", len(SEVERITY_RANK))
    impact = -(action.impact or 0.0)
    return (level, rank, severity, impact, int(action.due is None), action.due or date.max, action.source, action.text)


def ranked(actions: Iterable[Action]) -> list[Action]:
    """Actions in the order they should be done (see `order`)."""
    return sorted(actions, key=order)
