"""Initiative files (`<workspace>/initiatives/*.yaml`): objective, dates, budget, work packages and success metrics.

The models live in the core so the sample generator can write and check an initiative; planning one (risks,
mitigations, the forecast) is a task's job.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Literal, Protocol

import networkx as nx
from pydantic import BaseModel, ConfigDict, Field, model_validator

INITIATIVES_DIR = Path("initiatives")
SAMPLE_INITIATIVE = INITIATIVES_DIR / "warehouse-automation.yaml"


class PlanError(ValueError):
    """A plan that cannot be scheduled (unknown dependency, cycle); the text is one line for the user."""


class Dependent(Protocol):
    """Anything with an id and the ids it waits for: a work package, or a task of the plan built from it."""

    id: str
    depends_on: list[str]


def plan_graph(tasks: Sequence[Dependent]) -> nx.DiGraph:
    """The dependency graph (edge: predecessor -> task); PlanError on a duplicate id, unknown task or cycle."""
    graph: nx.DiGraph = nx.DiGraph()
    ids = [t.id for t in tasks]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise PlanError(f"work package ids must be unique: {', '.join(dupes)} appear more than once")
    graph.add_nodes_from(ids)
    for t in tasks:
        for pred in t.depends_on:
            if pred not in graph:
                raise PlanError(f"work package {t.id}: depends_on names {pred!r}, which is not a work package")
            graph.add_edge(pred, t.id)
    if not nx.is_directed_acyclic_graph(graph):
        cycle = [u for u, _ in nx.find_cycle(graph)]
        raise PlanError(f"work packages depend on each other in a cycle: {' -> '.join([*cycle, cycle[0]])}")
    return graph


class Touches(BaseModel):
    """Services and vendors the initiative depends on as a whole (work packages may name more)."""

    model_config = ConfigDict(extra="forbid")

    services: list[str] = Field(default_factory=list, description="Service ids (services.service_id).")
    vendors: list[str] = Field(default_factory=list, description="Vendor ids (vendors.vendor_id).")


class WorkPackage(BaseModel):
    """One work package with its three-point estimate in calendar days."""

    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    optimistic: float = Field(ge=0, description="Shortest credible duration, calendar days.")
    likely: float = Field(ge=0, description="Most likely duration, calendar days.")
    pessimistic: float = Field(ge=0, description="Longest credible duration, calendar days.")
    depends_on: list[str] = Field(default_factory=list, description="Work packages that must finish first.")
    services: list[str] = Field(default_factory=list, description="Services the work changes or relies on.")
    vendors: list[str] = Field(default_factory=list, description="Vendors the work relies on.")
    cost: float | None = Field(None, ge=0, description="Budgeted cost, in the workspace's currency.")
    owner: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> WorkPackage:
        if not self.optimistic <= self.likely <= self.pessimistic:
            raise ValueError(
                f"work package {self.id}: needs optimistic <= likely <= pessimistic, got "
                f"{self.optimistic:g}, {self.likely:g}, {self.pessimistic:g}"
            )
        return self


class SuccessMetric(BaseModel):
    """A weekly-audit figure the initiative should move, registered as a KPI so later audits track it."""

    model_config = ConfigDict(extra="forbid")

    metric_key: str = Field(description="Weekly-audit headline key, e.g. 'processes.order_fulfilment.lead_p50_hours'.")
    name: str
    perspective: Literal["financial", "customer", "internal_process", "learning_growth"] = "internal_process"
    direction: Literal["increase", "decrease"]
    unit: str | None = None
    target: float | None = Field(None, description="Target value; or give target_change.")
    target_change: float | None = Field(
        None, description="Target as a change relative to the baseline: -0.25 = 25% below it."
    )
    deadline: date | None = Field(None, description="When the target should be met (default: deadline + 60 days).")

    @model_validator(mode="after")
    def _has_target(self) -> SuccessMetric:
        if self.target is None and self.target_change is None:
            raise ValueError(f"success metric {self.metric_key}: give target or target_change")
        return self


class Initiative(BaseModel):
    """An initiative to plan: objective, dates, budget, owner, work packages and what it depends on."""

    model_config = ConfigDict(extra="forbid")

    name: str
    objective: str
    owner: str | None = None
    start: date | None = Field(None, description="First day of work. Empty: the day after as_of.")
    deadline: date | None = Field(None, description="Last day by which it must be done. Or give deadline_days.")
    deadline_days: int | None = Field(
        None, ge=1, description="Calendar days available, start day counted as day 1 (used when deadline is empty)."
    )
    budget: float | None = Field(None, ge=0)
    touches: Touches = Field(default_factory=Touches)
    work_packages: list[WorkPackage] = Field(min_length=1)
    success_metrics: list[SuccessMetric] = Field(default_factory=list)

    @model_validator(mode="after")
    def _valid(self) -> Initiative:
        if self.deadline is None and self.deadline_days is None:
            raise ValueError("give a deadline (date) or deadline_days")
        if self.deadline is not None and self.start is not None and self.deadline < self.start:
            raise ValueError(f"deadline {self.deadline} is before start {self.start}")
        try:
            plan_graph(self.work_packages)
        except PlanError as exc:
            raise ValueError(str(exc)) from None
        return self

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-") or "initiative"

    @property
    def services(self) -> list[str]:
        """Every service the initiative or one of its work packages names, in first-named order."""
        return list(dict.fromkeys([*self.touches.services, *(s for w in self.work_packages for s in w.services)]))

    @property
    def vendors(self) -> list[str]:
        return list(dict.fromkeys([*self.touches.vendors, *(v for w in self.work_packages for v in w.vendors)]))

    def start_on(self, as_of: date) -> date:
        return self.start or as_of + timedelta(days=1)

    def deadline_on(self, as_of: date) -> date:
        if self.deadline is not None:
            return self.deadline
        assert self.deadline_days is not None
        return self.start_on(as_of) + timedelta(days=self.deadline_days - 1)
