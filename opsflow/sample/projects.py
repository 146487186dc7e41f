"""The project portfolio and its task plans (`projects`, `project_tasks`), with P-07 slipping on its critical path."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import pyarrow as pa

from opsflow.sample.common import PEOPLE, Calendar, epoch_day


@dataclass(frozen=True)
class _Project:
    id: str
    name: str
    owner: str
    status: str
    budgeted: bool = True


PROJECTS: tuple[_Project, ...] = (
    _Project("P-01", "Carrier API consolidation", "Mia Wagner", "done"),
    _Project("P-02", "Returns portal relaunch", "Clara Neumann", "active"),
    _Project("P-03", "ERP upgrade to Ledgerline 12", "Emma Krüger", "active"),
    _Project("P-04", "Customer support chatbot", "Marie Lange", "active"),
    _Project("P-05", "Warehouse safety programme", "Paul Zimmermann", "done"),
    _Project("P-06", "Second payment provider (PayBridge redundancy)", "Lea Hoffmann", "planned"),
    _Project("P-07", "Warehouse automation phase 2: conveyor and pack stations", "Hannah Braun", "active"),
    _Project("P-08", "Data warehouse migration to the cloud", "David Schmitt", "active"),
    _Project("P-09", "Single sign-on rollout", "Priya Nair", "active"),
    _Project("P-10", "Plastic-free packaging fill", "Hannah Braun", "done"),
    _Project("P-11", "Demand forecasting model", "Laura Werner", "active", budgeted=False),
    _Project("P-12", "Peak season readiness", "Anna Becker", "done"),
    _Project("P-13", "Disaster recovery site refresh", "Jonas Weber", "active"),
    _Project("P-14", "Mobile app v3", "Sofia Rossi", "planned"),
    _Project("P-15", "Supplier portal", "Julia Peters", "active"),
    _Project("P-16", "Inventory accuracy programme", "Lukas Fischer", "active"),
    _Project("P-17", "Label printer replacement", "Tom Keller", "done"),
    _Project("P-18", "Hamburg office move", "Max Walter", "on_hold"),
    _Project("P-19", "GDPR records retention", "Laura Werner", "done"),
    _Project("P-20", "Customer portal performance", "Ben Richter", "active"),
    _Project("P-21", "Search relevance tuning", "Sofia Rossi", "cancelled"),
    _Project("P-22", "Forklift fleet electrification", "Paul Zimmermann", "active"),
    _Project("P-23", "Pick-path optimisation", "Jan Krause", "active"),
    _Project("P-24", "Invoice automation", "Stefan Vogel", "done"),
    _Project("P-25", "Warehouse network refresh", "Tim Lehmann", "active"),
    _Project("P-26", "Observability platform", "Noah Schulz", "active", budgeted=False),
    _Project("P-27", "Loyalty programme", "Felix Schmidt", "planned"),
    _Project("P-28", "Cross-border shipping (CH, NO)", "Mia Wagner", "active"),
    _Project("P-29", "Warehouse training academy", "Aylin Demir", "done"),
    _Project("P-30", "Cost-to-serve analytics", "Stefan Vogel", "planned", budgeted=False),
)

# (task, name, optimistic, likely, pessimistic, predecessors, budget, milestone)
_P07_TASKS = (
    ("T01", "Business case and scope sign-off", 8, 10, 14, "", 15_000, True),
    ("T02", "Select conveyor integrator", 15, 20, 30, "T01", 20_000, False),
    ("T03", "Site survey hall B", 6, 8, 12, "T01", 12_000, False),
    ("T04", "Detailed design: conveyor layout", 20, 25, 35, "T02;T03", 45_000, False),
    ("T05", "WMS interface specification", 10, 15, 20, "T02", 25_000, False),
    ("T06", "Procure conveyor hardware", 40, 45, 70, "T04", 420_000, False),
    ("T07", "Build WMS interface", 25, 30, 45, "T05", 90_000, False),
    ("T08", "Redesign pack stations", 15, 20, 28, "T04", 60_000, False),
    ("T09", "Install conveyor in hall B", 25, 30, 45, "T06;T08", 180_000, False),
    ("T10", "Integration test with WMS", 12, 15, 25, "T07;T09", 40_000, False),
    ("T11", "Train pack and pick staff", 8, 10, 14, "T08", 18_000, False),
    ("T12", "Pilot run: one shift", 8, 10, 15, "T10;T11", 15_000, False),
    ("T13", "Go-live hall B", 1, 2, 3, "T12", 5_000, True),
)
_P07_CRITICAL = {"T01", "T02", "T04", "T06", "T09", "T10", "T12", "T13"}
_P07_START_DAYS_AGO = 120
_P07_DELAY = {"critical": 45, "other": 10}  # days the work is behind the plan

_PHASES = (
    "Scope and business case", "Requirements workshops", "Vendor selection", "Solution design", "Data model",
    "Build sprint 1", "Build sprint 2", "Build sprint 3", "Integration", "Data migration", "Security review",
    "Performance test", "User acceptance testing", "Training", "Documentation", "Cutover plan", "Pilot",
    "Hypercare",
)  # fmt: skip


def _schedule(durations: dict[str, float], predecessors: dict[str, list[str]]) -> dict[str, float]:
    """Earliest start of each task (days from the project start), finish-to-start."""
    graph = nx.DiGraph()
    graph.add_nodes_from(durations)
    graph.add_edges_from((p, t) for t, ps in predecessors.items() for p in ps)
    start: dict[str, float] = {}
    for task in nx.topological_sort(graph):
        start[task] = max((start[p] + durations[p] for p in graph.predecessors(task)), default=0.0)
    return start


def _progress(as_of: float, start: float, finish: float) -> float:
    """Share of a task's planned span elapsed at `as_of` (days from the project start)."""
    if finish <= start:
        return 1.0 if as_of >= finish else 0.0
    return float(np.clip((as_of - start) / (finish - start), 0, 1))


@dataclass
class _Task:
    task_id: str
    name: str
    a: float  # optimistic, likely and pessimistic durations (days)
    m: float
    b: float
    deps: list[str]
    budget: float
    milestone: bool


def _task_plan(rng: np.random.Generator, project: _Project) -> list[_Task]:
    if project.id == "P-07":
        return [
            _Task(t, name, float(a), float(m), float(b), deps.split(";") if deps else [], float(budget), milestone)
            for t, name, a, m, b, deps, budget, milestone in _P07_TASKS
        ]
    n = int(rng.integers(10, 19))
    middle = sorted(rng.choice(np.arange(1, len(_PHASES)), size=n - 2, replace=False))
    names = [_PHASES[0], *(_PHASES[i] for i in middle), "Go-live"]
    rate = float(rng.uniform(600, 2500))
    tasks = []
    for i, name in enumerate(names):
        likely = 1.0 if name == "Go-live" else float(rng.integers(3, 26))
        window = list(range(max(0, i - 4), i))
        k = min(len(window), int(rng.integers(1, 3)))
        deps = [f"T{j + 1:02d}" for j in sorted(rng.choice(window, size=k, replace=False))] if window else []
        tasks.append(
            _Task(
                task_id=f"T{i + 1:02d}",
                name=name,
                a=float(max(1, round(likely * rng.uniform(0.6, 0.85)))) if likely > 1 else 1.0,
                m=likely,
                b=float(round(likely * rng.uniform(1.3, 2.2))) if likely > 1 else 2.0,
                deps=deps,
                budget=float(round(likely * rate * rng.uniform(0.7, 1.4), -2)),
                milestone=name in ("Go-live", "Solution design"),
            )
        )
    # Every task leads to go-live: tasks nobody depends on become its predecessors.
    used = {d for t in tasks for d in t.deps}
    tasks[-1].deps = sorted(set(tasks[-1].deps) | {t.task_id for t in tasks[:-1] if t.task_id not in used})
    return tasks


def projects_tables(rng: np.random.Generator, cal: Calendar) -> tuple[pa.Table, pa.Table]:
    """The projects and their tasks, P-07 behind on its critical path."""
    end = epoch_day(cal.end)
    projects: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    for project in PROJECTS:
        plan = _task_plan(rng, project)
        durations = {t.task_id: t.m for t in plan}
        es = _schedule(durations, {t.task_id: t.deps for t in plan})
        span = max(es[t] + durations[t] for t in durations)
        if project.id == "P-07":
            start = end - _P07_START_DAYS_AGO
            buffer = 3.0
        else:
            buffer = float(round(span * rng.uniform(0.1, 0.25)))
            if project.status == "done":
                start = end - int(rng.integers(250, 340))
                start = min(start, end - 10 - int(span + buffer))
            elif project.status == "planned":
                start = end + int(rng.integers(10, 90))
            elif project.status in ("on_hold", "cancelled"):
                start = end - int(rng.integers(150, 240))  # stopped part-way, 60 or 90 days ago
            else:
                start = end - int(rng.integers(30, 200))
                start = max(start, end + 20 - int(span + buffer))
        due = start + int(span + buffer)
        # Work on hold or cancelled stopped some time ago.
        elapsed = end - start - {"on_hold": 60, "cancelled": 90}.get(project.status, 0)
        total = 0.0
        for t in plan:
            begin, finish = es[t.task_id], es[t.task_id] + t.m
            if project.id == "P-07":
                lag = _P07_DELAY["critical" if t.task_id in _P07_CRITICAL else "other"]
                done_share = _progress(elapsed - lag, begin, finish)
                spend_share = 0.9 * _progress(elapsed, begin, finish)  # invoices arrive on the planned dates
            else:
                done_share = _progress(elapsed, begin, finish)
                if 0 < done_share < 1:
                    done_share = min(1.0, done_share * float(rng.uniform(0.9, 1.08)))
                if project.status == "done":
                    done_share = 1.0
                spend_share = done_share * float(rng.uniform(0.92, 1.12))
            total += t.budget
            tasks.append(
                {
                    "project_id": project.id,
                    "task_id": t.task_id,
                    "name": t.name,
                    "owner": project.owner if t.milestone else PEOPLE[int(rng.integers(0, len(PEOPLE)))],
                    "duration_optimistic": t.a,
                    "duration_likely": t.m,
                    "duration_pessimistic": t.b,
                    "depends_on": ";".join(t.deps) or None,
                    "planned_start": int(start + begin),
                    "planned_finish": int(round(start + finish)),
                    "percent_complete": float(round(done_share * 100)),
                    "budget": t.budget if project.budgeted else None,
                    "actual_cost": float(round(t.budget * spend_share, -1)) if project.budgeted else None,
                    "milestone": t.milestone,
                }
            )
        projects.append(
            {
                "project_id": project.id,
                "name": project.name,
                "owner": project.owner,
                "status": project.status,
                "start_date": start,
                "due_date": due,
                "budget": float(round(total * 1.1, -3)) if project.budgeted else None,
            }
        )
    project_table = pa.Table.from_pylist(
        projects,
        schema=pa.schema([("project_id", pa.string()), ("name", pa.string()), ("owner", pa.string()),
                          ("status", pa.string()), ("start_date", pa.date32()), ("due_date", pa.date32()),
                          ("budget", pa.float64())]),
    )  # fmt: skip
    task_table = pa.Table.from_pylist(
        tasks,
        schema=pa.schema([("project_id", pa.string()), ("task_id", pa.string()), ("name", pa.string()),
                          ("owner", pa.string()), ("duration_optimistic", pa.float64()),
                          ("duration_likely", pa.float64()), ("duration_pessimistic", pa.float64()),
                          ("depends_on", pa.string()), ("planned_start", pa.date32()),
                          ("planned_finish", pa.date32()), ("percent_complete", pa.float64()),
                          ("budget", pa.float64()), ("actual_cost", pa.float64()), ("milestone", pa.bool_())]),
    )  # fmt: skip
    return project_table, task_table
