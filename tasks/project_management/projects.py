"""Projects section of the weekly audit: progress against plan, earned value, critical path and milestones."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import networkx as nx
import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from opsflow.findings import Action, Basis, Headline, OptRatio, Ratio, Section, Urgency
from opsflow.history import HistoryStore
from opsflow.period import Period
from opsflow.tasking import compute_task

OPEN_STATUSES = ("planned", "active", "on_hold")
MILESTONE_DAYS = 14
EPS = 1e-9
Health = Literal["on track", "at risk", "off track"]


class ProjectRow(BaseModel):
    """One project: progress, earned value and the forecast from the critical path."""

    # What a reader needs first (health, progress, SPI and CPI, the forecast) leads: a report shows a wide
    # table's first columns in its section and the rest in the appendix.
    project_id: str
    project: str = Field(description="Project name.")
    owner: str | None = None
    status: str = Field(description="Portfolio status (planned, active, on_hold).")
    health: Health = Field(description="on track / at risk / off track by slack, SPI and CPI.")
    percent_complete: Ratio = Field(description="Weighted share of work done, 0..1.")
    planned_percent: Ratio = Field(description="Weighted share of work planned to be done by as_of, 0..1.")
    spi: float | None = Field(None, description="Schedule performance index: EV / PV.")
    cpi: float | None = Field(None, description="Cost performance index: EV / AC.")
    forecast_finish: dt.date = Field(description="Earliest finish from as_of by the remaining work and dependencies.")
    due_date: dt.date
    slack_days: float = Field(description="due_date - forecast finish, in days (negative = late).")
    tasks: int = Field(description="Tasks in the project.")
    weight_basis: Literal["budget", "duration", "count"] = Field(
        description="How task progress is weighted: task budgets when every task has one, else duration_likely."
    )
    schedule_variance: Ratio = Field(
        description="percent_complete - planned_percent, as a ratio (-0.05 = 5 points behind plan)."
    )
    budget_basis: str | None = Field(None, description="Where the task budgets for earned value come from.")
    bac: float | None = Field(None, description="Budget at completion.")
    ev: float | None = Field(None, description="Earned value: sum budget x percent complete.")
    pv: float | None = Field(None, description="Planned value: sum budget x planned percent.")
    ac: float | None = Field(None, description="Actual cost booked so far.")
    sv: float | None = Field(None, description="Schedule variance in currency: EV - PV.")
    eac: float | None = Field(None, description="Estimate at completion: BAC / CPI.")
    critical_path: str = Field(description="Unfinished tasks with zero total float, in dependency order.")
    slipping_tasks: str = Field(description="Critical-path tasks forecast to finish after their planned finish.")


class MilestoneRow(BaseModel):
    """A milestone planned to finish within 14 days after as_of (or already overdue) and not complete."""

    project_id: str
    task_id: str
    milestone: str = Field(description="Task name.")
    planned_finish: dt.date
    days_to_planned_finish: int = Field(description="Negative when overdue.")
    forecast_finish: dt.date
    percent_complete: Ratio = Field(description="0..1")
    owner: str | None = None


class BurndownPoint(BaseModel):
    """Planned remaining work of a project on a date; actual remaining on the as_of point only."""

    project_id: str
    date: dt.date
    planned_remaining: Ratio = Field(description="1 - weighted planned percent at that date, 0..1.")
    actual_remaining: OptRatio = Field(None, description="1 - weighted percent complete (as_of only), 0..1.")


class ActualPoint(BaseModel):
    """Actual remaining work of a project as one earlier audit measured it."""

    project_id: str
    date: dt.date
    actual_remaining: Ratio


class ProjectSection(Section):
    """Portfolio health: per-project progress, earned value, forecast and milestones."""

    name: str = "projects"
    title: str = "Projects"
    projects: list[ProjectRow] = Field(default_factory=list, description="Open projects (planned, active, on hold).")
    milestones: list[MilestoneRow] = Field(default_factory=list, description="Milestones due within 14 days.")
    burndown: list[BurndownPoint] = Field(default_factory=list, description="Weekly planned remaining work.")
    actual_history: list[ActualPoint] = Field(
        default_factory=list,
        description="Actual remaining work as earlier weekly audits measured it (the export keeps only today's "
        "percent complete, so the actual line is what each audit saw).",
    )


DEFINITIONS = {
    "projects considered": "Projects with status planned, active or on_hold; done and cancelled are left out.",
    "task planned dates": (
        "planned_start / planned_finish when given; otherwise scheduled by the critical-path method from the project "
        "start_date with duration_likely (calendar days) and depends_on (finish-to-start)."
    ),
    "planned percent (task)": (
        "clip((as_of - planned_start) / (planned_finish - planned_start), 0, 1); a zero-length task is 1 once "
        "as_of >= planned_finish, else 0."
    ),
    "percent complete / planned percent (project)": (
        "Weighted mean over the project's tasks, weighted by task budget when every task has one, else by "
        "duration_likely (by count when all durations are 0)."
    ),
    "schedule variance": "Project percent complete - planned percent (points, shown as a ratio).",
    "earned value": (
        "BAC = sum of task budgets; when no task has a budget, the project budget is spread over the tasks by "
        "duration_likely; when some have one, the rest of the project budget is spread over the others by "
        "duration_likely. EV = sum budget x percent_complete / 100, PV = sum budget x planned percent, "
        "AC = sum actual_cost, SV = EV - PV, SPI = EV / PV (none when PV = 0), CPI = EV / AC (none when AC = 0), "
        "EAC = BAC / CPI."
    ),
    "forecast finish": (
        "Forward pass from as_of: an unfinished task finishes at max(as_of, its predecessors' finish) + "
        "duration_likely x (1 - percent_complete / 100); forecast finish = the latest task finish."
    ),
    "critical path": (
        "Unfinished tasks whose total float is 0 in a backward pass from the forecast finish, in dependency order."
    ),
    "slack": "due_date - forecast finish, in days; negative means the project is forecast to finish late.",
    "health": (
        "off track if slack < 0 or SPI < 0.8 or CPI < 0.8; at risk if slack < 7 days or SPI < 0.95 or CPI < 0.95; "
        "on track otherwise (an index that cannot be computed does not count)."
    ),
    "portfolio SPI / CPI": "sum EV / sum PV and sum EV / sum AC over the projects whose earned value is computed.",
    "milestones due": "Milestone tasks not complete whose planned finish is on or before as_of + 14 days.",
    "burn-down": "Per project, 1 - planned percent at weekly dates from start_date to due_date; actual = 1 - percent.",
}


@dataclass
class _Tally:
    excluded: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    ev: float = 0.0
    pv: float = 0.0
    ac: float = 0.0
    ev_for_ac: float = 0.0
    ev_projects: int = 0

    def exclude(self, reason: str, n: int = 1) -> None:
        self.excluded[reason] = self.excluded.get(reason, 0) + n


def _str(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def _ratio(num: float, den: float | None) -> float | None:
    return num / den if den else None


def _planned_fraction(at: np.ndarray, start: np.ndarray, finish: np.ndarray) -> np.ndarray:
    """clip((at - start) / (finish - start), 0, 1) in days; zero-length tasks are 0 or 1. Broadcasts."""
    span = finish - start
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.clip((at - start) / np.where(span > 0, span, 1.0), 0.0, 1.0)
    return np.where(span > 0, frac, (at >= finish).astype(float))


def compute_projects(projects: pd.DataFrame | None, tasks: pd.DataFrame | None, period: Period) -> ProjectSection:
    """Progress, earned value, forecast finish and critical path of each open project, with milestones due."""
    if projects is None or tasks is None:
        missing = "projects" if projects is None else "project_tasks"
        return ProjectSection(
            available=False,
            note=f"No {missing} dataset configured.",
            definitions=DEFINITIONS,
            headlines=_headlines({}, None, None),
        )
    section = ProjectSection(definitions=DEFINITIONS)
    tally = _Tally()
    as_of = pd.Timestamp(period.as_of)

    is_open = projects["status"].isin(OPEN_STATUSES).fillna(False).to_numpy(dtype=bool)
    for status, n in projects.loc[~is_open, "status"].astype("string").value_counts().items():
        tally.exclude(f"status {status}", int(n))
    open_projects = projects.loc[is_open].drop_duplicates("project_id")
    tasks = tasks.drop_duplicates(["project_id", "task_id"])
    orphan = ~tasks["project_id"].isin(projects["project_id"])
    by_project = {str(k): g for k, g in tasks.loc[~orphan].groupby("project_id", sort=False)}

    health: dict[str, int] = {"on track": 0, "at risk": 0, "off track": 0}
    tasks_used = 0
    for p in open_projects.to_dict("records"):
        pid = str(p["project_id"])
        t = by_project.get(pid)
        if t is None or t.empty:
            tally.exclude("no tasks")
            tally.notes.append(f"Project {pid} has no tasks: progress and forecast not computed.")
            continue
        row = _project(p, t.reset_index(drop=True), as_of, section, tally)
        if row is None:
            continue
        tasks_used += len(t)
        health[row.health] += 1
        section.projects.append(row)

    order = {"off track": 0, "at risk": 1, "on track": 2}
    section.projects.sort(key=lambda r: (order[r.health], r.slack_days, r.project_id))
    section.milestones.sort(key=lambda m: (m.planned_finish, m.project_id, m.task_id))

    spi = _ratio(tally.ev, tally.pv) if tally.ev_projects else None
    cpi = _ratio(tally.ev_for_ac, tally.ac) if tally.ev_projects else None
    section.headlines = _headlines(health, spi, cpi)
    section.basis = [
        Basis(
            metric="projects",
            rows_used=len(section.projects),
            rows_excluded=sum(tally.excluded.values()),
            reasons=dict(tally.excluded),
        ),
        Basis(
            metric="tasks",
            rows_used=tasks_used,
            rows_excluded=len(tasks) - tasks_used,
            reasons={
                k: v
                for k, v in {
                    "project not in the projects dataset": int(orphan.sum()),
                    "project excluded (status, cycle)": len(tasks) - tasks_used - int(orphan.sum()),
                }.items()
                if v
            },
        ),
        Basis(
            metric="earned value",
            rows_used=tally.ev_projects,
            rows_excluded=len(section.projects) - tally.ev_projects,
            reasons={"no budget (task or project)": len(section.projects) - tally.ev_projects}
            if len(section.projects) - tally.ev_projects
            else {},
        ),
    ]
    if not section.projects and not tally.notes:
        tally.notes.append("No open projects (planned, active or on hold).")
    section.note = " ".join(tally.notes) or None
    return section


def _graph(pid: str, t: pd.DataFrame, tally: _Tally) -> nx.DiGraph | None:
    """Dependency graph of one project's tasks, or None (with a note) when depends_on has a cycle."""
    ids = t["task_id"].astype(str).tolist()
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(ids)
    known = set(ids)
    unknown = 0
    for task_id, deps in zip(ids, t["depends_on"].tolist(), strict=True):
        for pred in str(deps).split(";") if _str(deps) else []:
            pred = pred.strip()
            if not pred:
                continue
            if pred in known:
                graph.add_edge(pred, task_id)
            else:
                unknown += 1
    if unknown:
        tally.notes.append(f"Project {pid}: {unknown} depends_on references to unknown tasks were ignored.")
    if not nx.is_directed_acyclic_graph(graph):
        cycle = " → ".join(str(u) for u, _ in nx.find_cycle(graph))
        tally.notes.append(f"Project {pid} skipped: depends_on has a cycle ({cycle}), fix the plan data.")
        tally.exclude("cycle in depends_on")
        return None
    return graph


def _project(
    p: dict[Any, Any], t: pd.DataFrame, as_of: pd.Timestamp, section: ProjectSection, tally: _Tally
) -> ProjectRow | None:
    pid = str(p["project_id"])
    graph = _graph(pid, t, tally)
    if graph is None:
        return None
    order: list[str] = list(nx.topological_sort(graph))
    pos = {tid: i for i, tid in enumerate(t["task_id"].astype(str))}
    idx = [pos[n] for n in order]
    t = t.iloc[idx].reset_index(drop=True)  # rows now in dependency order, aligned with `order`
    day = pd.Timedelta(days=1)

    dur = t["duration_likely"].astype("float64").fillna(0.0).to_numpy()
    pct = (t["percent_complete"].astype("float64").fillna(0.0).to_numpy() / 100).clip(0, 1)
    start0 = (pd.Timestamp(p["start_date"]) - as_of) / day

    # Baseline schedule in days from as_of: given dates win; missing ones by CPM from the project start.
    ps_given = ((t["planned_start"] - as_of) / day).to_numpy(dtype=float, na_value=np.nan)
    pf_given = ((t["planned_finish"] - as_of) / day).to_numpy(dtype=float, na_value=np.nan)
    at = {n: i for i, n in enumerate(order)}
    ps = np.empty(len(order))
    pf = np.empty(len(order))
    for i, node in enumerate(order):
        preds = [pf[at[q]] for q in graph.predecessors(node)]
        if not math.isnan(ps_given[i]):
            ps[i] = ps_given[i]
        elif not math.isnan(pf_given[i]):
            ps[i] = pf_given[i] - dur[i]
        else:
            ps[i] = max([start0, *preds])
        pf[i] = pf_given[i] if not math.isnan(pf_given[i]) else ps[i] + dur[i]
    planned = _planned_fraction(np.zeros(1), ps, pf)

    # Weights for project progress.
    budget = t["budget"].astype("float64").to_numpy(na_value=np.nan)
    if len(budget) and not np.isnan(budget).any() and budget.sum() > 0:
        weights, basis = budget, "budget"
    elif dur.sum() > 0:
        weights, basis = dur, "duration"
    else:
        weights, basis = np.ones(len(dur)), "count"
    done_share = float((weights * pct).sum() / weights.sum())
    plan_share = float((weights * planned).sum() / weights.sum())

    # Earned value.
    b, budget_basis = _task_budgets(budget, dur, p.get("budget"))
    actual = t["actual_cost"].astype("float64")
    ac = float(actual.sum()) if actual.notna().any() else None
    bac = ev = pv = sv = spi = cpi = eac = None
    if b is not None:
        bac = float(b.sum())
        ev = float((b * pct).sum())
        pv = float((b * planned).sum())
        sv = ev - pv
        spi = _ratio(ev, pv)
        cpi = _ratio(ev, ac)
        eac = bac / cpi if cpi else None
        tally.ev_projects += 1
        tally.ev += ev
        tally.pv += pv
        if ac:
            tally.ac += ac
            tally.ev_for_ac += ev

    # Forecast from as_of (day 0): forward pass, then backward pass for total float.
    done = pct >= 1.0
    remaining = np.where(done, 0.0, dur * (1 - pct))
    ef = np.zeros(len(order))
    for i, node in enumerate(order):
        if done[i]:
            continue
        ef[i] = max([0.0, *(ef[at[q]] for q in graph.predecessors(node))]) + remaining[i]
    finish = float(ef.max()) if len(ef) else 0.0
    lf = np.full(len(order), finish)
    for i in range(len(order) - 1, -1, -1):
        succ = [at[s] for s in graph.successors(order[i])]
        if succ:
            lf[i] = min(lf[j] - remaining[j] for j in succ)
    slack_total = lf - ef
    critical = [order[i] for i in range(len(order)) if not done[i] and abs(slack_total[i]) < EPS]
    slipping = [order[i] for i in range(len(order)) if order[i] in critical and ef[i] > pf[i] + EPS]

    due = pd.Timestamp(p["due_date"])
    slack = round((due - as_of) / day - finish, 1)
    forecast_finish = (as_of + math.ceil(finish - EPS) * day).date()
    health = _health(slack, spi, cpi)
    names = dict(zip(t["task_id"].astype(str), t["name"].astype(str), strict=True))
    row = ProjectRow(
        project_id=pid,
        project=str(p["name"]),
        owner=_str(p.get("owner")),
        status=str(p["status"]),
        health=health,
        tasks=len(order),
        weight_basis=basis,
        percent_complete=done_share,
        planned_percent=plan_share,
        schedule_variance=done_share - plan_share,
        budget_basis=budget_basis,
        bac=bac,
        ev=ev,
        pv=pv,
        ac=ac,
        sv=sv,
        spi=spi,
        cpi=cpi,
        eac=eac,
        forecast_finish=forecast_finish,
        due_date=due.date(),
        slack_days=slack,
        critical_path=" → ".join(critical),
        slipping_tasks=", ".join(slipping),
    )

    if health == "off track":
        why = [f"slack {slack:+g} days (forecast finish {forecast_finish}, due {due.date()})"]
        if spi is not None and spi < 0.8:
            why.append(f"SPI {spi:.2f}")
        if cpi is not None and cpi < 0.8:
            why.append(f"CPI {cpi:.2f}")
        named = slipping or critical
        label = "critical-path tasks slipping" if slipping else "critical path"
        tasks_text = ", ".join(f"{n} ({names[n]})" for n in named[:6]) or "none left"
        section.actions.append(
            Action(
                text=f"Recovery plan for {p['name']}: {'; '.join(why)}; {label}: {tasks_text}.",
                urgency=Urgency.IMPORTANT,
                owner=row.owner,
                source=f"project {pid}",
                section="projects",
                due=due.date(),
                kind="project_off_track",
            )
        )

    milestone = t["milestone"].fillna(False).astype(bool).to_numpy() & ~done
    for i in np.flatnonzero(milestone & (pf <= MILESTONE_DAYS + EPS)).tolist():
        pf_date = (as_of + pf[i] * day).normalize().date()
        days = (pf_date - as_of.date()).days
        fc = (as_of + math.ceil(ef[i] - EPS) * day).date()
        owner = _str(t.at[i, "owner"]) or row.owner
        section.milestones.append(
            MilestoneRow(
                project_id=pid,
                task_id=order[i],
                milestone=names[order[i]],
                planned_finish=pf_date,
                days_to_planned_finish=days,
                forecast_finish=fc,
                percent_complete=float(pct[i]),
                owner=owner,
            )
        )
        when = f"was due {pf_date} ({-days} days ago)" if days < 0 else f"is due {pf_date} (in {days} days)"
        section.actions.append(
            Action(
                text=f"Milestone {order[i]} '{names[order[i]]}' of {p['name']} {when}, {pct[i]:.0%} done, "
                f"forecast {fc}.",
                urgency=Urgency.IMPORTANT,
                owner=owner,
                source=f"project {pid} task {order[i]}",
                section="projects",
                due=pf_date,
                kind="milestone_due" if days >= 0 else "milestone_overdue",
            )
        )

    # Burn-down: weekly from start to due, plus as_of with the actual remaining.
    dates = list(pd.date_range(pd.Timestamp(p["start_date"]), due, freq="7D"))
    if not dates or dates[-1] != due:
        dates.append(due)
    if as_of not in dates:
        dates.append(as_of)
    dates.sort()
    at_days = np.array([(d - as_of) / day for d in dates])[:, None]
    curve = 1 - (_planned_fraction(at_days, ps[None, :], pf[None, :]) * weights).sum(axis=1) / weights.sum()
    section.burndown.extend(
        BurndownPoint(
            project_id=pid,
            date=d.date(),
            planned_remaining=float(c),
            actual_remaining=1 - done_share if d == as_of else None,
        )
        for d, c in zip(dates, curve, strict=True)
    )
    return row


def _task_budgets(budget: np.ndarray, dur: np.ndarray, project_budget: Any) -> tuple[np.ndarray | None, str | None]:
    """Each task's budget for earned value, and where it came from; None when nothing is budgeted."""
    missing = np.isnan(budget)
    if len(budget) and not missing.any():
        return budget, "task budgets"
    if project_budget is None or pd.isna(project_budget):
        return None, None
    total = float(project_budget)
    rest = total - float(np.nansum(budget))
    if rest < 0:
        return None, None
    share = np.where(missing, dur, 0.0)
    share = share / share.sum() if share.sum() > 0 else missing / missing.sum()
    filled = np.where(missing, rest * share, budget)
    if missing.all():
        return filled, "project budget spread by duration"
    return filled, "task budgets + rest of project budget spread by duration"


def _health(slack: float, spi: float | None, cpi: float | None) -> Health:
    indices = [x for x in (spi, cpi) if x is not None]
    if slack < 0 or any(x < 0.8 for x in indices):
        return "off track"
    if slack < 7 or any(x < 0.95 for x in indices):
        return "at risk"
    return "on track"


def _headlines(health: dict[str, int], spi: float | None, cpi: float | None) -> list[Headline]:
    return [
        Headline(key="projects.on_track", label="Projects on track", value=health.get("on track"), unit="projects",
                 better="higher"),
        Headline(key="projects.at_risk", label="Projects at risk", value=health.get("at risk"), unit="projects",
                 better="lower"),
        Headline(key="projects.off_track", label="Projects off track", value=health.get("off track"),
                 unit="projects", better="lower"),
        Headline(key="projects.portfolio.spi", label="Portfolio SPI (1.00 = on plan)", value=spi, unit="index",
                 better="higher"),
        Headline(key="projects.portfolio.cpi", label="Portfolio CPI (1.00 = on budget)", value=cpi, unit="index",
                 better="higher"),
    ]  # fmt: skip


compute_projects_task = compute_task(compute_projects, name="compute_projects")


def with_actual_history(
    section: ProjectSection, history: HistoryStore, flow: str, as_of: dt.date, weeks: int = 26
) -> ProjectSection:
    """Add the actual remaining work earlier runs of `flow` measured (up to `weeks` of them, before `as_of`), so the
    burn-down shows an actual line, not a dot. A re-run of an earlier week replaces that week's point."""
    open_ids = {p.project_id for p in section.projects}
    for run in history.list_runs(flow, until=as_of - dt.timedelta(days=1), limit=weeks):
        stored = next((s for s in run.payload.get("sections", []) if s.get("name") == "projects"), None)
        for point in (stored or {}).get("burndown", []):
            if point.get("actual_remaining") is not None and point.get("project_id") in open_ids:
                section.actual_history.append(
                    ActualPoint(
                        project_id=point["project_id"],
                        date=dt.date.fromisoformat(point["date"]),
                        actual_remaining=point["actual_remaining"],
                    )
                )
    return section
