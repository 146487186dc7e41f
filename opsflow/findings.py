"""The common shape of a computed section: headline figures to trend, what to do next, and what the numbers rest on."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field

Ratio = Annotated[float, Field(json_schema_extra={"unit": "ratio"})]
"""A share between 0 and 1 (reports show it as a percentage)."""

OptRatio = Annotated[float | None, Field(json_schema_extra={"unit": "ratio"})]
"""A share between 0 and 1, or None when it cannot be computed."""


class Urgency(StrEnum):
    """Where an action sits on the seed's urgent / important scale."""

    URGENT = "urgent"
    IMPORTANT = "important"
    ON_RADAR = "on_radar"


class Action(BaseModel):
    """One thing somebody should do, traced to the data that asks for it."""

    text: str = Field(description="What to do, in one sentence, with the figure that calls for it.")
    urgency: Urgency
    owner: str | None = Field(None, description="Who should act (from the data: incident owner, vendor manager...).")
    source: str = Field(description="The record that triggered it, e.g. 'incident INC0042' or 'vendor V007'.")
    section: str = Field(description="The section that raised it (incidents, sla, vendors, ...).")
    due: date | None = None
    kind: str = Field("", description="Machine-readable rule name, e.g. 'open_sev1', 'vendor_flagged'.")
    severity: str | None = Field(None, description="SEV1..SEV4 when the action is about an incident: SEV1 ranks first.")
    impact: float | None = Field(
        None,
        description="Size of the consequence within the action's kind (hours open or overdue, incidents in a cluster, "
        "burn rate, customers, money): larger ranks first.",
    )


class Headline(BaseModel):
    """A figure shown at the top of a section and compared with the previous run."""

    key: str = Field(description="Stable key across runs, e.g. 'incidents.week.count'.")
    label: str
    value: float | None
    unit: str = ""
    better: Literal["higher", "lower", "neutral"] = "neutral"
    previous: float | None = Field(None, description="The same figure in the previous run, filled from history.")
    window: str | None = Field(
        None, description="Set when the figure's trailing window is shorter than its label says: '48 of 90 days'."
    )

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous


class Basis(BaseModel):
    """How many rows a metric rests on, and how many were left out and why."""

    metric: str
    rows_used: int
    rows_excluded: int = 0
    reasons: dict[str, int] = Field(default_factory=dict, description="Reason -> number of rows left out for it.")


class Section(BaseModel):
    """A computed section of a report. Subclasses add their tables as typed fields."""

    name: str
    title: str
    headlines: list[Headline] = Field(default_factory=list)
    actions: list[Action] = Field(default_factory=list)
    basis: list[Basis] = Field(default_factory=list)
    definitions: dict[str, str] = Field(
        default_factory=dict, description="Metric name -> exact definition, printed in the report's appendix."
    )
    available: bool = Field(True, description="False when the datasets this section needs are not configured.")
    note: str | None = Field(None, description="Why the section is empty or partial, in one sentence.")
    shared_figures: list[Headline] = Field(
        default_factory=list,
        description="Figures other sections read by key (a KPI's source) that are not headlines: computed once, here.",
    )


def headline_values(sections: Sequence[Section]) -> dict[str, float | None]:
    """Every headline figure by key: what the history store keeps for next week's comparison."""
    return {h.key: h.value for s in sections for h in s.headlines}


def pick_headlines(sections: Iterable[Section], keys: Iterable[str]) -> list[Headline]:
    """The headlines named by `keys`, in that order, those the run could compute (a post's fixed list of figures)."""
    by_key = {h.key: h for s in sections for h in s.headlines}
    return [by_key[k] for k in keys if k in by_key and by_key[k].value is not None]


def section_figures(sections: Sequence[Section]) -> dict[str, Headline]:
    """Every figure a section computed, headline or not, by key: what a KPI with a source reads."""
    return {h.key: h for s in sections for h in [*s.headlines, *s.shared_figures]}


class FocusItem(BaseModel):
    """One thing to do this week."""

    rank: int = Field(description="Position in the week's list (1 = do first).")
    urgency: Urgency = Field(description="urgent, important or on_radar.")
    category: str = Field(description="Kind of work (active incident, SLA breach imminent, ..., reporting).")
    text: str = Field(description="What to do.")
    owner: str = Field(description="Who should act, 'unassigned' when the data names nobody.")
    source: str = Field(description="The record that calls for it.")
    section: str = Field(description="The section with the details.")
    due: date | None = Field(None, description="When it is due, if the data says.")


class LeftOutRow(BaseModel):
    """Actions beyond the list's limit, by the section where they are listed in full."""

    urgency: Urgency = Field(description="Their urgency.")
    section: str = Field(description="The section that lists them.")
    count: int = Field(description="How many were left out of the focus list.")


class FocusSection(Section):
    """What to do first this week, drawn from every other section's actions."""

    closing: str = Field("", description="Where to start, in one line.")
    urgent: list[FocusItem] = Field(default_factory=list, description="Urgent items, in order.")
    important: list[FocusItem] = Field(default_factory=list, description="Important items, in order.")
    on_radar: list[FocusItem] = Field(default_factory=list, description="Items to keep an eye on.")
    left_out: list[LeftOutRow] = Field(default_factory=list, description="Items beyond the limit, by section.")


def id_list(ids: list[str], shown: int = 3) -> str:
    """Record ids for a sentence: all of a short list, else the first `shown` and how many more (latest first when
    the caller orders them so); the full list stays in the section's table and its CSV."""
    if len(ids) <= shown + 1:
        return ", ".join(ids)
    return f"{', '.join(ids[:shown])} and {len(ids) - shown} more"
