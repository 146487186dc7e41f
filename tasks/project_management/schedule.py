"""A plan's schedule: critical path by CPM, and a seeded, vectorised Monte Carlo of its finish with risk events."""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any, Literal

import matplotlib

matplotlib.use("Agg")  # headless: no display on servers or in CI

import matplotlib.dates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from pydantic import BaseModel, Field  # noqa: E402

from opsflow.charts import png_bytes  # noqa: E402
from opsflow.initiatives import PlanError as PlanError  # noqa: E402  (re-exported: callers catch it here)
from opsflow.initiatives import plan_graph  # noqa: E402
from opsflow.tasking import compute_task  # noqa: E402

PERT_LAMBDA = 4.0
"""Weight of the most likely duration in the Beta-PERT distribution (the classic PERT value)."""
EPS = 1e-9


class PlanTask(BaseModel):
    """One task of a plan: a work package or an inserted mitigation, with a three-point estimate in calendar days."""

    id: str
    name: str
    optimistic: float = Field(ge=0, description="Shortest credible duration (calendar days).")
    likely: float = Field(ge=0, description="Most likely duration (calendar days).")
    pessimistic: float = Field(ge=0, description="Longest credible duration (calendar days).")
    depends_on: list[str] = Field(default_factory=list, description="Tasks that must finish before this one starts.")
    kind: Literal["work", "mitigation"] = "work"
    owner: str | None = None
    cost: float | None = None
    mitigates: str | None = Field(None, description="The risk a mitigation task treats.")

    @property
    def expected(self) -> float:
        """Beta-PERT mean: (a + 4m + b) / 6."""
        return (self.optimistic + PERT_LAMBDA * self.likely + self.pessimistic) / (PERT_LAMBDA + 2)


class RiskEvent(BaseModel):
    """A risk as the simulation sees it: it happens with `probability` per project and then delays one task."""

    risk_id: str
    probability: float = Field(ge=0, le=1)
    delay_days: float = Field(ge=0)
    touches: list[str] = Field(description="Tasks it can delay; when it happens it strikes one of them at random.")


def _order(tasks: list[PlanTask]) -> tuple[list[PlanTask], list[list[int]], list[list[int]]]:
    """Tasks in a topological order (ties kept in plan order) with predecessor and successor positions."""
    graph = plan_graph(tasks)
    rank = {t.id: i for i, t in enumerate(tasks)}
    order = list(nx.lexicographical_topological_sort(graph, key=lambda n: rank[n]))
    pos = {n: i for i, n in enumerate(order)}
    by_id = {t.id: t for t in tasks}
    preds = [[pos[p] for p in graph.predecessors(n)] for n in order]
    succs = [[pos[s] for s in graph.successors(n)] for n in order]
    return [by_id[n] for n in order], preds, succs


def topological_ids(tasks: list[PlanTask]) -> list[str]:
    """Task ids in dependency order, ties kept in plan order."""
    return [t.id for t in _order(tasks)[0]]


# -- CPM ------------------------------------------------------------------------------------------------------------


class CpmRow(BaseModel):
    """One task in the critical-path schedule (days from the start, expected durations)."""

    id: str
    name: str
    kind: Literal["work", "mitigation"]
    duration: float = Field(description="Expected (Beta-PERT mean) duration, calendar days.")
    early_start: float
    early_finish: float
    late_start: float
    late_finish: float
    total_float: float = Field(description="late_start - early_start: days it can slip without moving the finish.")
    critical: bool = Field(description="Zero total float.")


class CpmResult(BaseModel):
    """The critical-path schedule of a plan on expected durations."""

    rows: list[CpmRow] = Field(description="Tasks in topological order.")
    duration: float = Field(description="Project duration on expected durations, calendar days.")
    critical_path: list[str] = Field(description="Zero-float tasks in topological order.")


def critical_path(tasks: list[PlanTask]) -> CpmResult:
    """CPM on the Beta-PERT mean durations: early/late start and finish, total float and the critical path."""
    ordered, preds, succs = _order(tasks)
    d = np.array([t.expected for t in ordered])
    ef = _forward(d[None, :], preds)[0]
    finish = float(ef.max()) if len(ef) else 0.0
    lf = _backward(d[None, :], succs, np.array([finish]))[0]
    es, ls = ef - d, lf - d
    rows = [
        CpmRow(
            id=t.id,
            name=t.name,
            kind=t.kind,
            duration=round(float(d[i]), 2),
            early_start=round(float(es[i]), 2),
            early_finish=round(float(ef[i]), 2),
            late_start=round(float(ls[i]), 2),
            late_finish=round(float(lf[i]), 2),
            total_float=round(max(float(ls[i] - es[i]), 0.0), 2),
            critical=bool(ls[i] - es[i] <= 1e-6),
        )
        for i, t in enumerate(ordered)
    ]
    return CpmResult(rows=rows, duration=round(finish, 2), critical_path=[r.id for r in rows if r.critical])


def _forward(d: np.ndarray, preds: list[list[int]]) -> np.ndarray:
    """Early finish of every task in every iteration: d is (iterations, tasks) in topological order."""
    ef = np.empty_like(d)
    for i, ps in enumerate(preds):
        start = ef[:, ps].max(axis=1) if ps else 0.0
        ef[:, i] = start + d[:, i]
    return ef


def _backward(d: np.ndarray, succs: list[list[int]], finish: np.ndarray) -> np.ndarray:
    """Late finish of every task in every iteration, given each iteration's project finish."""
    lf = np.empty_like(d)
    for i in range(d.shape[1] - 1, -1, -1):
        ss = succs[i]
        lf[:, i] = (lf[:, ss] - d[:, ss]).min(axis=1) if ss else finish
    return lf


# -- Monte Carlo ----------------------------------------------------------------------------------------------------


class Simulation(BaseModel):
    """What the Monte Carlo gives: finish percentiles, P(on time), criticality and each risk's share of the slip."""

    iterations: int
    seed: int
    p50_days: float
    p80_days: float
    p95_days: float
    mean_days: float
    deadline_days: float = Field(description="Calendar days available: start day to deadline day, both included.")
    on_time_probability: float = Field(description="Share of iterations finishing within deadline_days.")
    criticality: dict[str, float] = Field(description="Task id -> share of iterations in which it is critical.")
    risk_p80_slip: dict[str, float] = Field(
        description="Risk id -> P80 with every risk minus P80 with that risk switched off (same draws), days."
    )
    risk_hit_rate: dict[str, float] = Field(description="Risk id -> share of iterations in which it happened.")
    histogram: list[tuple[float, int]] = Field(
        default_factory=list, description="(left edge in days, iterations) of the finish distribution, 1-day bins."
    )


def pert_parameters(a: np.ndarray, m: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Beta-PERT shape parameters with lambda = 4: alpha = 1 + 4 (m - a)/(b - a), beta = 1 + 4 (b - m)/(b - a).
    Where a == b the task is deterministic: the shape is irrelevant and set to (1, 1) to stay defined."""
    width = b - a
    safe = np.where(width > 0, width, 1.0)
    alpha = np.where(width > 0, 1 + PERT_LAMBDA * (m - a) / safe, 1.0)
    beta = np.where(width > 0, 1 + PERT_LAMBDA * (b - m) / safe, 1.0)
    return alpha, beta


def simulate(
    tasks: list[PlanTask],
    risks: list[RiskEvent],
    deadline_days: float,
    iterations: int = 20_000,
    seed: int = 7,
) -> Simulation:
    """Finish-time distribution of the plan: Beta-PERT durations, each risk a Bernoulli(p) event per iteration that
    adds its delay to one of the tasks it touches; vectorised over iterations (one forward pass per task, no loop
    over iterations). Each risk's P80 slip is measured on the same draws with that risk switched off."""
    if iterations < 1:
        raise ValueError("iterations must be at least 1")
    ordered, preds, succs = _order(tasks)
    pos = {t.id: i for i, t in enumerate(ordered)}
    n, k = iterations, len(ordered)
    rng = np.random.default_rng(seed)

    a = np.array([t.optimistic for t in ordered])
    m = np.array([t.likely for t in ordered])
    b = np.array([t.pessimistic for t in ordered])
    alpha, beta = pert_parameters(a, m, b)
    durations = a + (b - a) * rng.beta(alpha, beta, size=(n, k))

    rows = np.arange(n)
    hits: list[tuple[np.ndarray, np.ndarray]] = []  # per risk: task column hit in each iteration, delay added
    hit_rate: dict[str, float] = {}
    occurs = rng.random((n, len(risks)))
    for j, r in enumerate(risks):
        cols = np.array([pos[t] for t in r.touches if t in pos], dtype=np.int64)
        happened = occurs[:, j] < r.probability
        choice = rng.integers(0, max(len(cols), 1), size=n)
        if len(cols) == 0:
            happened[:] = False
            cols = np.zeros(1, dtype=np.int64)
        column, added = cols[choice], np.where(happened, r.delay_days, 0.0)
        durations[rows, column] += added
        hits.append((column, added))
        hit_rate[r.risk_id] = float(happened.mean())

    ef = _forward(durations, preds)
    finish = ef.max(axis=1) if k else np.zeros(n)
    lf = _backward(durations, succs, finish)
    tolerance = EPS * np.maximum(finish, 1.0)
    critical = (lf - ef) <= tolerance[:, None]
    p50, p80, p95 = (float(x) for x in np.quantile(finish, [0.5, 0.8, 0.95]))

    slip: dict[str, float] = {}
    for r, (column, added) in zip(risks, hits, strict=True):
        durations[rows, column] -= added
        without = _forward(durations, preds).max(axis=1)
        durations[rows, column] += added
        slip[r.risk_id] = round(p80 - float(np.quantile(without, 0.8)), 2)

    lo = math.floor(float(finish.min()))
    counts = np.bincount((np.floor(finish) - lo).astype(np.int64))
    return Simulation(
        iterations=n,
        seed=seed,
        p50_days=round(p50, 2),
        p80_days=round(p80, 2),
        p95_days=round(p95, 2),
        mean_days=round(float(finish.mean()), 2),
        deadline_days=deadline_days,
        on_time_probability=float((finish <= deadline_days + EPS).mean()),
        criticality={t.id: round(float(critical[:, i].mean()), 4) for i, t in enumerate(ordered)},
        risk_p80_slip=slip,
        risk_hit_rate=hit_rate,
        histogram=[(float(lo + i), int(c)) for i, c in enumerate(counts)],
    )


def finish_date(start: date, days: float) -> date:
    """The calendar day on which work of `days` calendar days that starts on `start` ends: day 1 is `start` itself,
    so 10 days from Monday 1st end on Wednesday 10th."""
    return start + timedelta(days=max(math.ceil(days - EPS), 1) - 1)


def days_available(start: date, deadline: date) -> int:
    """Calendar days from start to deadline, both included: work of this many days finishes on the deadline."""
    return (deadline - start).days + 1


# -- Gantt chart ------------------------------------------------------------------------------------------------------


def gantt_chart(
    title: str,
    cpm: CpmResult,
    start: date,
    markers: dict[str, float] | None = None,
    deadline: date | None = None,
) -> bytes:
    """Gantt chart of the CPM schedule as PNG: bars at early start for the expected duration, critical tasks red,
    mitigation tasks hatched, total float as a thin grey tail, and vertical lines at the forecast finishes
    (`markers`: label -> days from start, e.g. P50 and P80) and the deadline."""
    rows = cpm.rows
    fig, ax = plt.subplots(figsize=(9.0, max(3.0, 0.32 * len(rows) + 1.4)))
    base = matplotlib.dates.date2num([start])[0]
    for y, r in enumerate(rows):
        colour = "#dc2626" if r.critical else "#2563eb"
        ax.barh(y, r.duration, left=base + r.early_start, height=0.6, color=colour,
                hatch="///" if r.kind == "mitigation" else None, edgecolor="white", linewidth=0.5)  # fmt: skip
        if r.total_float > 0:
            ax.barh(y, r.total_float, left=base + r.early_finish, height=0.18, color="#9ca3af")
    handles: list[Any] = [
        Patch(color="#dc2626", label="critical"),
        Patch(color="#2563eb", label="has float"),
        Patch(facecolor="#ffffff", edgecolor="#4b5563", hatch="///", label="mitigation"),
        Patch(color="#9ca3af", label="total float"),
    ]
    styles = [("#111827", "--"), ("#d97706", "--"), ("#7c3aed", ":")]
    for i, (label, days) in enumerate((markers or {}).items()):
        colour, style = styles[i % len(styles)]
        when = finish_date(start, days)
        handles.append(
            ax.axvline(base + days, color=colour, linestyle=style, linewidth=1.2, label=f"{label} {when:%d %b}")
        )
    if deadline is not None:
        # The deadline day ends at its midnight: the line sits at the end of that day.
        x = base + days_available(start, deadline)
        handles.append(ax.axvline(x, color="#16a34a", linewidth=1.6, label=f"deadline {deadline:%d %b}"))
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"{r.id} {r.name[:38]}" for r in rows], fontsize=7.5)
    ax.invert_yaxis()
    ax.xaxis_date()
    ax.xaxis.set_major_formatter(matplotlib.dates.DateFormatter("%d %b"))
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title, fontsize=11, loc="left")
    ax.legend(handles=handles, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=4, frameon=False)
    fig.autofmt_xdate()
    return png_bytes(fig)


critical_path_task = compute_task(critical_path, name="compute_critical_path")
simulate_task = compute_task(simulate, name="simulate_schedule")
