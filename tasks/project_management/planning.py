"""Risk-aware planning of an initiative: its scope, the risks that touch it, mitigations in the plan, the forecast."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

from opsflow.charts import heatmap_5x5
from opsflow.datasets import OpsData
from opsflow.findings import Action, Basis, Headline, Ratio, Section, Urgency, pick_headlines
from opsflow.history import HistoryStore, StoredRun
from opsflow.initiatives import SAMPLE_INITIATIVE, Initiative, WorkPackage
from opsflow.period import Period
from opsflow.tasking import compute_task, io_task
from tasks.incidents.metrics import compute_incidents
from tasks.performance_metrics.registry import RegisteredKpi
from tasks.process_optimization.mining import compute_processes
from tasks.project_management.projects import compute_projects
from tasks.project_management.schedule import (
    CpmResult,
    PlanTask,
    RiskEvent,
    Simulation,
    days_available,
    finish_date,
    gantt_chart,
)
from tasks.risk_management.register import RiskSection
from tasks.risk_management.scoring import (
    TREATMENT_RULE,
    RatedRisk,
    Treatment,
    rate_register,
    suggest_from_history,
)
from tasks.service_levels.slo import compute_sla
from tasks.vendors.scorecard import VendorSection

FLOW = "risk-aware-planning"

PROBABILITY = {1: 0.05, 2: 0.15, 3: 0.35, 4: 0.60, 5: 0.85}
"""Chance that a risk happens during the initiative, by likelihood on the 1..5 scale."""
DELAY_DAYS = {1: 1, 2: 3, 3: 7, 4: 14, 5: 21}
"""Calendar days a risk delays the work package it strikes, by impact on the 1..5 scale."""
MITIGATION_FACTOR = 0.5
"""A mitigation task halves the probability of the risk it treats."""
TRANSFER_DELAY_FACTOR = 0.5
"""A transferred risk still happens, but the backup (vendor, contract) absorbs half of its delay."""
MITIGATION_ESTIMATE = {Treatment.MITIGATE: (3.0, 5.0, 10.0), Treatment.AVOID: (5.0, 10.0, 20.0)}
"""Three-point estimate (optimistic, likely, pessimistic calendar days) of an inserted mitigation task."""
ON_TIME_TARGET = 0.8
"""The confidence of meeting the deadline a plan should have: the on-time KPI's target."""
BENEFIT_LAG_DAYS = 60
"""A success metric's default deadline: this many days after the initiative's deadline (benefits need time)."""


class InitiativeError(ValueError):
    """An initiative file or parameter set that cannot be planned; the text is one line naming the file and field."""


def _plan_task(w: WorkPackage) -> PlanTask:
    return PlanTask(
        id=w.id,
        name=w.name,
        optimistic=w.optimistic,
        likely=w.likely,
        pessimistic=w.pessimistic,
        depends_on=list(w.depends_on),
        owner=w.owner,
        cost=w.cost,
    )


def _one_line(source: str, exc: ValidationError) -> str:
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first["loc"])
    msg = str(first["msg"]).removeprefix("Value error, ")
    return f"{source}: {loc + ': ' if loc else ''}{msg}"


def load_initiative(path: Path) -> Initiative:
    """Read and check an initiative YAML file; InitiativeError (one line naming the file and field) when it is bad."""
    if not path.is_file():
        raise InitiativeError(f"{path}: no such initiative file")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise InitiativeError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    try:
        return Initiative.model_validate(raw)
    except ValidationError as exc:
        raise InitiativeError(_one_line(str(path), exc)) from None


def resolve_initiative(workspace: Path, initiative: Initiative | None, initiative_file: Path | None) -> Initiative:
    """The inline initiative if given, else the file (relative to the workspace unless absolute)."""
    if initiative is not None:
        return initiative
    path = initiative_file or SAMPLE_INITIATIVE
    return load_initiative(path if path.is_absolute() else workspace / path)


# -- risks that touch the initiative ----------------------------------------------------------------------------------


class InitiativeRisk(BaseModel):
    """A risk to the initiative: rated, treated, and what it does to the schedule."""

    risk_id: str
    title: str
    source: Literal["register", "suggested"]
    linked: str = Field(description="The service or vendor through which it touches the initiative.")
    owner: str | None = None
    likelihood: int = Field(description="Evidence-based likelihood (1..5).")
    impact: int
    score: int
    register_treatment: str | None = None
    treatment: Treatment
    probability: Ratio = Field(description="Chance it happens during the initiative, from the likelihood.")
    probability_treated: Ratio = Field(description="After the treatment (mitigate x 0.5, avoid 0).")
    delay_days: float = Field(description="Delay when it happens, from the impact (calendar days).")
    delay_treated_days: float = Field(description="After the treatment (transfer x 0.5).")
    touches: str = Field(description="Work packages it can delay, ';'-separated.")
    backup_vendor: str | None = Field(None, description="The linked vendor's qualified backup (transfer).")
    mitigation_task: str | None = Field(None, description="The task inserted to treat it.")
    p80_slip_days: float | None = Field(None, description="P80 with every risk minus P80 without this one.")
    evidence: str | None = None


def _touched(r: RatedRisk, initiative: Initiative) -> tuple[str, list[str]] | None:
    """Through which service or vendor the risk reaches the initiative, and the work packages it can delay."""
    for key, field in ((r.linked_service, "services"), (r.linked_vendor, "vendors")):
        if not key:
            continue
        named = [w.id for w in initiative.work_packages if key in getattr(w, field)]
        if named:
            return key, named
        if key in getattr(initiative.touches, field):
            # Named by the initiative but by no work package: it can delay the finish (the last packages).
            preds = {p for w in initiative.work_packages for p in w.depends_on}
            return key, [w.id for w in initiative.work_packages if w.id not in preds]
    return None


def initiative_risk(r: RatedRisk, linked: str, touches: list[str]) -> InitiativeRisk:
    """A rated risk as the plan sees it: probability and delay by the documented scales, after its treatment."""
    p, delay = PROBABILITY[r.likelihood], float(DELAY_DAYS[r.impact])
    p_treated = {Treatment.MITIGATE: p * MITIGATION_FACTOR, Treatment.AVOID: 0.0}.get(r.treatment, p)
    delay_treated = delay * TRANSFER_DELAY_FACTOR if r.treatment == Treatment.TRANSFER else delay
    return InitiativeRisk(
        risk_id=r.risk_id,
        title=r.title,
        source=r.source,
        linked=linked,
        owner=r.owner,
        likelihood=r.likelihood,
        impact=r.impact,
        score=r.score,
        register_treatment=r.register_treatment,
        treatment=r.treatment,
        probability=p,
        probability_treated=p_treated,
        delay_days=delay,
        delay_treated_days=delay_treated,
        touches=";".join(touches),
        backup_vendor=r.backup_vendor,
        evidence=r.evidence,
    )


def identify_risks(
    initiative: Initiative,
    data: OpsData,
    evidence: RiskSection,
    vendors: VendorSection,
    period: Period,
) -> list[InitiativeRisk]:
    """Open register risks linked to the initiative's services and vendors, re-rated against the evidence, plus
    risks suggested from incident and vendor history, each with its treatment, probability and delay."""
    risks_frame = data.frame("risks")
    register = rate_register(risks_frame, evidence, data.frame("vendors")) if risks_frame is not None else []
    services, vendor_ids = initiative.services, initiative.vendors
    relevant = [r for r in register if r.linked_service in services or r.linked_vendor in vendor_ids]
    suggested = suggest_from_history(
        services,
        vendor_ids,
        relevant,
        data.frame("incidents"),
        data.frame("services"),
        data.frame("vendors"),
        period,
        set(vendors.flagged_vendor_ids),
    )
    out = []
    for r in [*relevant, *suggested]:
        hit = _touched(r, initiative)
        if hit is not None:
            out.append(initiative_risk(r, *hit))
    out.sort(key=lambda x: (-x.score, -x.impact, x.risk_id))
    return out


# -- the plan ---------------------------------------------------------------------------------------------------------


class Plan(BaseModel):
    """The tasks and risk events to schedule: as treated (mitigations inserted) and as if nothing were treated."""

    tasks: list[PlanTask]
    risks: list[InitiativeRisk] = Field(description="The initiative's risks, each with its mitigation task if any.")
    events: list[RiskEvent]
    untreated_tasks: list[PlanTask]
    untreated_events: list[RiskEvent]


def build_plan(initiative: Initiative, risks: list[InitiativeRisk]) -> Plan:
    """Work packages plus a mitigation task for every risk treated by mitigate or avoid, placed before the packages
    it protects: it starts on the first day, in parallel with the work, and each package it protects waits for it
    (so a mitigation delays the plan only when it takes longer than the work before those packages)."""
    base = [_plan_task(w) for w in initiative.work_packages]
    tasks = {t.id: t.model_copy(deep=True) for t in base}
    risks = [r.model_copy() for r in risks]
    inserted: list[PlanTask] = []
    for r in risks:
        if r.treatment not in MITIGATION_ESTIMATE:
            continue
        touched = r.touches.split(";")
        a, m, b = MITIGATION_ESTIMATE[r.treatment]
        mid = f"M-{r.risk_id}"
        verb = "Avoid" if r.treatment == Treatment.AVOID else "Mitigate"
        inserted.append(
            PlanTask(
                id=mid,
                name=f"{verb} {r.risk_id}: {r.title}",
                optimistic=a,
                likely=m,
                pessimistic=b,
                kind="mitigation",
                owner=r.owner,
                mitigates=r.risk_id,
            )
        )
        for t in touched:
            tasks[t].depends_on.append(mid)
        r.mitigation_task = mid
    events = [RiskEvent(risk_id=r.risk_id, probability=r.probability_treated, delay_days=r.delay_treated_days,
                        touches=r.touches.split(";")) for r in risks]  # fmt: skip
    untreated = [RiskEvent(risk_id=r.risk_id, probability=r.probability, delay_days=r.delay_days,
                           touches=r.touches.split(";")) for r in risks]  # fmt: skip
    return Plan(
        tasks=[*inserted, *tasks.values()], risks=risks, events=events, untreated_tasks=base, untreated_events=untreated
    )


# -- report sections --------------------------------------------------------------------------------------------------


class PlanRow(BaseModel):
    """One task of the plan with its CPM schedule, forecast criticality and dates."""

    id: str
    name: str
    kind: Literal["work", "mitigation"]
    owner: str | None = None
    optimistic: float
    likely: float
    pessimistic: float
    expected: float = Field(description="Beta-PERT mean (a + 4m + b) / 6, calendar days.")
    depends_on: str = Field(description="';'-separated.")
    early_start: date
    early_finish: date
    total_float: float = Field(description="Days it can slip without moving the finish (expected durations).")
    critical: bool = Field(description="On the critical path (zero float).")
    criticality: Ratio = Field(description="Share of simulated iterations in which it is on the longest path.")
    cost: float | None = None


class ForecastRow(BaseModel):
    """A point of the finish-date distribution."""

    percentile: str
    days: float = Field(description="Calendar days from the start, start day included.")
    finish: date
    meets_deadline: bool
    slip_days: float = Field(description="Days after the deadline (negative: days to spare).")


class InitiativeRiskSection(Section):
    """The risks that touch the initiative, from the register and from history, with treatments and their effect."""

    name: str = "initiative_risks"
    title: str = "Risks to the initiative"
    risks: list[InitiativeRisk] = Field(default_factory=list, description="Highest score first.")
    heat_map: list[list[int]] = Field(
        default_factory=lambda: [[0] * 5 for _ in range(5)],
        description="Initiative risks per cell (evidence-based): heat_map[likelihood - 1][impact - 1].",
    )


class ScheduleSection(Section):
    """The plan's critical path and its Monte Carlo forecast against the deadline."""

    name: str = "schedule"
    title: str = "Schedule and forecast"
    forecast: list[ForecastRow] = Field(default_factory=list, description="Forecast finish.")
    plan: list[PlanRow] = Field(default_factory=list, description="The plan in dependency order.")


class SuccessMetricRow(BaseModel):
    """A KPI the initiative registers, tracked by later weekly audits."""

    kpi_id: str
    name: str
    metric_key: str | None = Field(None, description="Weekly-audit figure that measures it; empty: kpi_observations.")
    baseline: float | None
    target: float | None
    direction: str
    deadline: date | None
    registered: bool


class SuccessMetricsSection(Section):
    """How the initiative's success will be measured: KPIs registered for the weekly audits."""

    name: str = "success_metrics"
    title: str = "Success metrics"
    metrics: list[SuccessMetricRow] = Field(default_factory=list, description="KPIs the initiative registers.")


RISK_DEFINITIONS = {
    "initiative risk": (
        "An open register risk (status open or mitigating) whose linked_service or linked_vendor the initiative or "
        "one of its work packages names, or a risk suggested from history (see 'suggested risk'). It touches the "
        "work packages that name that service or vendor; named only by the initiative, it touches the last ones."
    ),
    "evidence-based likelihood": (
        "The higher of the register's likelihood and the one the incident and vendor evidence implies (the weekly "
        "audit's contradiction rule: repeat or frequent SEV1/SEV2 incidents, a flagged vendor)."
    ),
    "suggested risk": (
        "A service or vendor of the initiative checked as if it had a risk rated likelihood 1: when the evidence "
        "contradicts that rating and no open register risk on it already carries the implied likelihood, the risk is "
        "suggested at the implied likelihood, impact 4 for a critical service or a vendor, else 3."
    ),
    "treatment rule": TREATMENT_RULE,
    "probability": "Chance it happens during the initiative, by likelihood: 1 -> 5%, 2 -> 15%, 3 -> 35%, "
    "4 -> 60%, 5 -> 85%.",
    "delay": "Calendar days it adds to the work package it strikes, by impact: 1 -> 1, 2 -> 3, 3 -> 7, 4 -> 14, "
    "5 -> 21.",
    "treatment effect": (
        "mitigate: a mitigation task (3/5/10 days) is inserted before the work packages it touches (it starts on "
        "the first day, they wait for it) and the probability is halved; avoid: a task (5/10/20 days) is inserted "
        "the same way and the probability becomes 0; transfer: the backup vendor or contract absorbs half the "
        "delay; accept: unchanged."
    ),
    "P80 slip": (
        "P80 finish with every risk minus P80 with this risk switched off, on the same random draws: the days of "
        "the P80 finish this risk is responsible for."
    ),
}

SCHEDULE_DEFINITIONS = {
    "durations": (
        "Calendar days (weekends included): convert working-day estimates by x 7/5. Day 1 is the start date, so "
        "work of 10 days starting Monday 1st finishes on Wednesday 10th."
    ),
    "expected duration": "Beta-PERT mean (optimistic + 4 x likely + pessimistic) / 6.",
    "critical path (CPM)": (
        "Forward and backward pass over the dependency graph on expected durations, without risk events: early and "
        "late start and finish, total float = late start - early start; critical = zero total float."
    ),
    "Monte Carlo": (
        "Each iteration draws every duration from a Beta-PERT distribution (lambda 4: alpha = 1 + 4 (m - a)/(b - a), "
        "beta = 1 + 4 (b - m)/(b - a); a = b is fixed) and every risk as a Bernoulli event with its treated "
        "probability that adds its treated delay to one of the work packages it touches, chosen at random; the "
        "finish is the longest path. Seeded: the same seed gives the same forecast."
    ),
    "P50 / P80 / P95": "The finish (calendar days from the start) that 50%, 80%, 95% of the iterations meet.",
    "probability of meeting the deadline": (
        "Share of iterations finishing within the days from start to deadline, both included."
    ),
    "criticality index": "Share of iterations in which the task is on a longest path (zero float in that draw).",
    "untreated P80": "P80 of the plan without mitigation tasks and with untreated probabilities and delays.",
}

SUCCESS_DEFINITIONS = {
    "on-time KPI": (
        "Probability of meeting the deadline: baseline = today's forecast, target 80%; observed through the "
        "kpi_observations dataset under its kpi_id (a re-forecast, then 1 or 0 once delivered)."
    ),
    "success metric KPI": (
        "A weekly-audit figure (metric_key) the initiative should move: baseline = its value for the week ending "
        "as_of, target as given (or baseline x (1 + target_change)), due 60 days after the deadline unless given; "
        "every later weekly audit records an observation."
    ),
}


def _pct(x: float) -> str:
    return f"{x:.0%}"


def risk_section(risks: list[InitiativeRisk], sim: Simulation, starts: dict[str, date]) -> InitiativeRiskSection:
    """The initiative's risks with their P80 slip, and the actions their treatments call for."""
    section = InitiativeRiskSection(definitions=RISK_DEFINITIONS)
    risks = [r.model_copy(update={"p80_slip_days": sim.risk_p80_slip.get(r.risk_id)}) for r in risks]
    for r in risks:
        section.heat_map[r.likelihood - 1][r.impact - 1] += 1
    section.risks = risks
    for r in risks:
        first = min((starts[t] for t in r.touches.split(";") if t in starts), default=None)
        slip = f"; it adds {r.p80_slip_days:g} days to the P80 finish" if r.p80_slip_days else ""
        high = r.score >= 15
        if r.source == "suggested":
            section.actions.append(Action(
                text=f"Add '{r.title}' to the risk register (evidence: {r.evidence}); suggested likelihood "
                f"{r.likelihood} x impact {r.impact} = {r.score}{slip}.",
                urgency=Urgency.URGENT if high else Urgency.IMPORTANT, owner=r.owner, source=f"risk {r.risk_id}",
                section="initiative_risks", due=first, kind="risk_suggested"))  # fmt: skip
        if r.treatment in (Treatment.MITIGATE, Treatment.AVOID) and r.mitigation_task:
            section.actions.append(Action(
                text=f"Start mitigation task {r.mitigation_task} for risk {r.risk_id} '{r.title}' (score {r.score}) "
                f"before {r.touches.replace(';', ', ')}: probability {_pct(r.probability)} -> "
                f"{_pct(r.probability_treated)}{slip}.",
                urgency=Urgency.URGENT if high else Urgency.IMPORTANT, owner=r.owner, source=f"risk {r.risk_id}",
                section="initiative_risks", due=first, kind="mitigation_task"))  # fmt: skip
        elif r.treatment == Treatment.TRANSFER:
            section.actions.append(Action(
                text=f"Transfer risk {r.risk_id} '{r.title}' (score {r.score}): line up "
                f"{'backup vendor ' + r.backup_vendor if r.backup_vendor else 'the insurance or contract'} before "
                f"{r.touches.replace(';', ', ')} starts so a failure costs {r.delay_treated_days:g} days, not "
                f"{r.delay_days:g}{slip}.",
                urgency=Urgency.URGENT if high else Urgency.IMPORTANT, owner=r.owner, source=f"risk {r.risk_id}",
                section="initiative_risks", due=first,
                kind="vendor_transfer" if r.backup_vendor else "risk_transfer"))  # fmt: skip
    section.headlines = [
        Headline(key="planning.risks.count", label="Risks touching the initiative", value=len(risks), unit="risks",
                 better="lower"),
        Headline(key="planning.risks.high", label="High risks (score >= 15)", value=sum(r.score >= 15 for r in risks),
                 unit="risks", better="lower"),
        Headline(key="planning.risks.suggested", label="Risks suggested from history",
                 value=sum(r.source == "suggested" for r in risks), unit="risks", better="lower"),
        Headline(key="planning.mitigation_tasks", label="Mitigation tasks inserted",
                 value=sum(r.mitigation_task is not None for r in risks), unit="tasks"),
    ]  # fmt: skip
    section.basis.append(
        Basis(metric="initiative risks", rows_used=len(risks), reasons={}),
    )
    if not risks:
        section.note = "No open register risk or history evidence touches the initiative's services and vendors."
    return section


def schedule_section(
    initiative: Initiative,
    plan: Plan,
    cpm: CpmResult,
    sim: Simulation,
    untreated: Simulation,
    as_of: date,
) -> ScheduleSection:
    """The plan with its CPM schedule and criticality, the forecast against the deadline, and what it calls for."""
    start, deadline = initiative.start_on(as_of), initiative.deadline_on(as_of)
    available = days_available(start, deadline)
    by_id = {t.id: t for t in plan.tasks}
    section = ScheduleSection(definitions=SCHEDULE_DEFINITIONS)
    for row in cpm.rows:
        t = by_id[row.id]
        section.plan.append(
            PlanRow(
                id=row.id,
                name=row.name,
                kind=row.kind,
                owner=t.owner,
                optimistic=t.optimistic,
                likely=t.likely,
                pessimistic=t.pessimistic,
                expected=row.duration,
                depends_on=";".join(t.depends_on),
                early_start=start + timedelta(days=int(row.early_start)),
                early_finish=finish_date(start, row.early_finish),
                total_float=row.total_float,
                critical=row.critical,
                criticality=sim.criticality.get(row.id, 0.0),
                cost=t.cost,
            )
        )
    for label, days in (("P50", sim.p50_days), ("P80", sim.p80_days), ("P95", sim.p95_days)):
        section.forecast.append(
            ForecastRow(
                percentile=label,
                days=days,
                finish=finish_date(start, days),
                meets_deadline=days <= available,
                slip_days=round(days - available, 2),
            )
        )
    cost = sum(t.cost or 0.0 for t in plan.tasks)
    section.headlines = [
        Headline(key="planning.critical_path_days", label="Critical path (expected durations)", value=cpm.duration,
                 unit="days", better="lower"),
        Headline(key="planning.p50_days", label="P50 finish", value=sim.p50_days, unit="days", better="lower"),
        Headline(key="planning.p80_days", label="P80 finish", value=sim.p80_days, unit="days", better="lower"),
        Headline(key="planning.p95_days", label="P95 finish", value=sim.p95_days, unit="days", better="lower"),
        Headline(key="planning.deadline_days", label="Days to the deadline", value=available, unit="days"),
        Headline(key="planning.on_time_probability", label="Probability of meeting the deadline",
                 value=sim.on_time_probability, unit="ratio", better="higher"),
        Headline(key="planning.p80_untreated_days", label="P80 without the treatments", value=untreated.p80_days,
                 unit="days", better="lower"),
        Headline(key="planning.cost", label="Planned cost", value=cost, unit="currency", better="lower"),
    ]  # fmt: skip
    if initiative.budget is not None:
        section.headlines.append(
            Headline(
                key="planning.budget_headroom",
                label="Budget headroom",
                value=(initiative.budget - cost) / initiative.budget if initiative.budget else None,
                unit="ratio",
                better="higher",
            )  # fmt: skip
        )
    p80 = section.forecast[1]
    if sim.on_time_probability < ON_TIME_TARGET:
        top = sorted(((c, tid) for tid, c in sim.criticality.items() if c >= 0.5), key=lambda x: (-x[0], x[1]))[:3]
        drivers = ", ".join(f"{tid} ({c:.0%} critical)" for c, tid in top)
        section.actions.append(
            Action(
                text=f"{initiative.name}: {_pct(sim.on_time_probability)} chance of meeting the deadline "
                f"{deadline.isoformat()}; P80 finishes {p80.finish.isoformat()} ({p80.slip_days:+g} days). Re-plan "
                f"the most critical work ({drivers}), cut scope or move the deadline to {p80.finish.isoformat()}.",
                urgency=Urgency.URGENT if sim.on_time_probability < 0.5 else Urgency.IMPORTANT,
                owner=initiative.owner,
                source=f"initiative {initiative.slug}",
                section="schedule",
                due=start,
                kind="deadline_at_risk",
            )
        )
    if initiative.budget is not None and cost > initiative.budget:
        section.actions.append(
            Action(
                text=f"{initiative.name}: planned cost {cost:,.0f} exceeds the budget {initiative.budget:,.0f}.",
                urgency=Urgency.IMPORTANT,
                owner=initiative.owner,
                source=f"initiative {initiative.slug}",
                section="schedule",
                due=start,
                kind="over_budget",
            )
        )
    section.basis.append(Basis(metric="simulation", rows_used=sim.iterations))
    section.note = (
        f"{sim.iterations:,} iterations, seed {sim.seed}; start {start.isoformat()}, deadline {deadline.isoformat()} "
        f"({available} calendar days)."
    )
    return section


# -- success metrics --------------------------------------------------------------------------------------------------


def current_figures(data: OpsData, period: Period, keys: list[str], vendors: VendorSection) -> dict[str, float | None]:
    """This week's value of each weekly-audit headline key, computing only the sections the keys come from."""
    needed = {k.split(".", 1)[0] for k in keys}
    sections: list[Section] = [vendors]
    if "processes" in needed:
        sections.append(compute_processes(data.frame("process_events"), period, data.end_activities))
    if "sla" in needed:
        sections.append(
            compute_sla(data.frame("sla_events"), period, data.frame("services"), None, data.frame("service_metrics"))
        )
    if "incidents" in needed:
        sections.append(compute_incidents(data.frame("incidents"), data.frame("services"), period))
    if "projects" in needed:
        sections.append(compute_projects(data.frame("projects"), data.frame("project_tasks"), period))
    values = {h.key: h.value for s in sections for h in s.headlines}
    return {k: values.get(k) for k in keys}


def success_kpis(
    initiative: Initiative, sim: Simulation, figures: dict[str, float | None], as_of: date
) -> tuple[list[RegisteredKpi], SuccessMetricsSection]:
    """The KPIs the initiative registers (on-time delivery, and each success metric with a baseline), and the
    section that lists them."""
    deadline = initiative.deadline_on(as_of)
    slug = initiative.slug
    kpis = [
        RegisteredKpi(
            kpi_id=f"RAP-{slug}-on-time",
            name=f"{initiative.name}: probability of meeting the deadline",
            perspective="internal_process",
            objective=initiative.objective,
            unit="ratio",
            direction="increase",
            baseline=round(sim.on_time_probability, 4),
            baseline_date=as_of,
            target=ON_TIME_TARGET,
            owner=initiative.owner,
            deadline=deadline,
            metric_key=None,
            source_flow=FLOW,
        )
    ]
    section = SuccessMetricsSection(definitions=SUCCESS_DEFINITIONS)
    skipped: list[str] = []
    for m in initiative.success_metrics:
        baseline = figures.get(m.metric_key)
        target = m.target
        if target is None and baseline is not None and m.target_change is not None:
            target = round(baseline * (1 + m.target_change), 4)
        kpi_id = f"RAP-{slug}-{re.sub(r'[^a-z0-9]+', '-', m.metric_key.lower()).strip('-')}"
        due = m.deadline or deadline + timedelta(days=BENEFIT_LAG_DAYS)
        if baseline is None:
            skipped.append(m.metric_key)
            section.metrics.append(SuccessMetricRow(kpi_id=kpi_id, name=m.name, metric_key=m.metric_key,
                                                    baseline=None, target=target, direction=m.direction,
                                                    deadline=due, registered=False))  # fmt: skip
            continue
        kpis.append(
            RegisteredKpi(
                kpi_id=kpi_id,
                name=f"{m.name} ({initiative.name})",
                perspective=m.perspective,
                objective=initiative.objective,
                unit=m.unit,
                direction=m.direction,
                baseline=round(baseline, 4),
                baseline_date=as_of,
                target=target,
                owner=initiative.owner,
                deadline=due,
                metric_key=m.metric_key,
                source_flow=FLOW,
            )
        )
    for k in kpis:
        if k.kpi_id not in {r.kpi_id for r in section.metrics}:
            section.metrics.append(SuccessMetricRow(kpi_id=k.kpi_id, name=k.name, metric_key=k.metric_key,
                                                    baseline=k.baseline, target=k.target, direction=k.direction,
                                                    deadline=k.deadline, registered=True))  # fmt: skip
    section.metrics.sort(key=lambda r: (not r.registered, r.kpi_id))
    section.headlines = [
        Headline(key="planning.kpis_registered", label="KPIs registered for the weekly audit", value=len(kpis))
    ]
    if skipped:
        section.note = (
            f"Not registered, no value this week to use as the baseline: {', '.join(skipped)} (check the metric key "
            "and that its dataset is configured)."
        )
    return kpis, section


# -- summary ----------------------------------------------------------------------------------------------------------


def planning_facts(initiative: Initiative, sim: Simulation, risks: list[InitiativeRisk], as_of: date) -> list[str]:
    """Facts a planning narrative may cite besides the headline figures."""
    start, deadline = initiative.start_on(as_of), initiative.deadline_on(as_of)
    facts = [
        f"Initiative: {initiative.name}; objective: {initiative.objective}",
        f"Start {start.isoformat()}, deadline {deadline.isoformat()}",
        f"P50 finish {finish_date(start, sim.p50_days).isoformat()}, P80 finish "
        f"{finish_date(start, sim.p80_days).isoformat()}, P95 finish {finish_date(start, sim.p95_days).isoformat()}",
    ]
    for r in sorted(risks, key=lambda x: -(x.p80_slip_days or 0))[:3]:
        if r.p80_slip_days:
            facts.append(f"Risk {r.risk_id} '{r.title}' ({r.treatment.value}) adds {r.p80_slip_days:g} days to P80")
    return facts


def treatment_effect(untreated_p80_days: float, treated_p80_days: float) -> str:
    """What the treatments do to the P80 finish in words whose direction matches the sign (no '+63 days' for a
    finish 63 days earlier)."""
    saved = round(untreated_p80_days - treated_p80_days, 1)
    against = f"against an untreated plan ({untreated_p80_days:g} days to the P80 finish)"
    if saved > 0:
        return f"bring the P80 finish {saved:g} days earlier {against}"
    if saved < 0:
        return f"push the P80 finish {-saved:g} days later {against} (their own tasks take longer than they save)"
    return f"leave the P80 finish where it is {against}"


def template_planning_summary(
    initiative: Initiative, sim: Simulation, untreated: Simulation, risks: list[InitiativeRisk], as_of: date
) -> str:
    """The deterministic planning note: forecast against the deadline, the biggest risk, what the treatments buy."""
    start, deadline = initiative.start_on(as_of), initiative.deadline_on(as_of)
    p80 = finish_date(start, sim.p80_days)
    sentences = [
        f"{initiative.name} starts {start:%d %b %Y} and has a {sim.on_time_probability:.0%} chance of finishing by "
        f"its deadline of {deadline:%d %b %Y}: P50 {finish_date(start, sim.p50_days):%d %b}, P80 {p80:%d %b}, P95 "
        f"{finish_date(start, sim.p95_days):%d %b}.",
    ]
    top = max(risks, key=lambda r: r.p80_slip_days or 0, default=None)
    if top is not None and top.p80_slip_days:
        sentences.append(
            f"The biggest schedule risk is {top.risk_id} '{top.title}' (score {top.score}, {top.treatment.value}), "
            f"which adds {top.p80_slip_days:g} days to the P80 finish."
        )
    mitigations = sum(r.mitigation_task is not None for r in risks)
    sentences.append(
        f"{len(risks)} risks touch the initiative; {mitigations} mitigation tasks are in the plan, and the treatments "
        f"{treatment_effect(untreated.p80_days, sim.p80_days)}."
    )
    if sim.on_time_probability < ON_TIME_TARGET:
        sentences.append(
            f"Decide now: re-plan the critical work, cut scope, or move the deadline to {p80:%d %b %Y} (P80)."
        )
    return " ".join(sentences)


def task_starts(cpm: CpmResult, start: date) -> dict[str, date]:
    """Each task's early start date."""
    return {r.id: start + timedelta(days=int(r.early_start)) for r in cpm.rows}


# -- charts, history, Slack -------------------------------------------------------------------------------------------

SECTION_CHARTS = {"schedule": ["gantt"], "initiative_risks": ["initiative-risk-matrix"]}
"""Which chart heads which section of the report."""

SLACK_HEADLINES = (
    "planning.on_time_probability",
    "planning.p50_days",
    "planning.p80_days",
    "planning.p95_days",
    "planning.deadline_days",
    "planning.critical_path_days",
    "planning.p80_untreated_days",
    "planning.risks.high",
    "planning.mitigation_tasks",
    "planning.kpis_registered",
)
"""The figures the Slack post shows, in this order."""


def planning_charts(
    initiative: Initiative, cpm: CpmResult, sim: Simulation, risks: InitiativeRiskSection, as_of: date
) -> dict[str, bytes]:
    """The Gantt chart (critical path red, P50 and P80 markers, deadline) and the initiative's risk matrix."""
    start = initiative.start_on(as_of)
    return {
        "gantt": gantt_chart(
            f"{initiative.name}: plan (expected durations)",
            cpm,
            start,
            markers={"P50": sim.p50_days, "P80": sim.p80_days},
            deadline=initiative.deadline_on(as_of),
        ),
        "initiative-risk-matrix": heatmap_5x5("Initiative risks: likelihood x impact (evidence)", risks.heat_map),
    }


def plan_period_key(initiative: Initiative, as_of: date) -> str:
    """One report folder, history row and Slack delivery per initiative and planning date."""
    return f"{initiative.slug}-{as_of.isoformat()}"


def previous_plan(history: HistoryStore, initiative: Initiative, as_of: date) -> StoredRun | None:
    """The latest earlier plan of the same initiative, for the change in each figure."""
    runs = history.list_runs(FLOW, until=as_of - timedelta(days=1), limit=520)
    same = [r for r in runs if r.period_key.startswith(f"{initiative.slug}-")]
    return same[-1] if same else None


def slack_headlines(sections: list[Section]) -> list[Headline]:
    return pick_headlines(sections, SLACK_HEADLINES)


identify_risks_task = compute_task(identify_risks, name="identify_initiative_risks")
build_plan_task = compute_task(build_plan, name="insert_mitigations")
current_figures_task = compute_task(current_figures, name="measure_baselines")
risk_section_task = compute_task(risk_section, name="build_risk_section")
schedule_section_task = compute_task(schedule_section, name="build_schedule_section")
success_kpis_task = compute_task(success_kpis, name="propose_success_kpis")
planning_charts_task = compute_task(planning_charts, name="draw_planning_charts")
previous_plan_task = io_task(previous_plan, name="load_previous_plan")
