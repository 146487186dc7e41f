"""Problem -> solution -> metrics: the routed skill's analysis of the workspace data, an action plan, SMART metrics."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Literal

import pandas as pd
from pydantic import BaseModel, Field

from opsflow.datasets import OpsData
from opsflow.findings import Action, Basis, Headline, Ratio, Section, Urgency, section_figures
from opsflow.period import Period
from opsflow.tasking import compute_task
from tasks.coo.focus import build_focus
from tasks.coo.router import Figure, RouteDecision, Skill
from tasks.incidents.metrics import IncidentSection, compute_incidents_task
from tasks.performance_metrics.kpis import KpiSection, compute_kpis_task
from tasks.performance_metrics.registry import RegisteredKpi, sourced_kpi_frames
from tasks.process_optimization.mining import BOTTLENECK_DAYS, ProcessSection, compute_processes_task
from tasks.project_management.projects import ProjectSection, compute_projects_task
from tasks.risk_management.register import RiskSection, compute_risks_task
from tasks.service_levels.slo import SlaSection, compute_sla_task
from tasks.vendors.scorecard import VendorSection, compute_vendors_task

FLOW = "problem-solution-metrics"
DEFAULT_IMPROVEMENT = 0.25
"""Target when the challenge states none: 25% better than the baseline (the seed's short-term success metric:
"process cycle time improvements (20-30%)" in 1-3 months)."""
DEFAULT_DEADLINE_DAYS = 90
OWNER_SHARE = 0.5
"""A process step's performer is named its owner when it did at least half of the step's occurrences."""
PLAN_ACTIONS = 4
"""Steps taken from the sections' own actions (ranked by the focus rules) after the skill's specific steps."""
REWORK_WORTH_FIXING = 0.02

_HOURS = {"minutes": 1 / 60, "hours": 1.0, "days": 24.0, "weeks": 168.0}


class FindingRow(BaseModel):
    """One thing the analysis found, with the figure and where it comes from."""

    finding: str = Field(description="What was measured.")
    value: str = Field(description="The figure, as measured at as_of.")
    source: str = Field(description="The section table or headline it comes from.")


class ScoreRow(BaseModel):
    """How strongly the keyword rules pointed at one skill."""

    skill: str
    score: float


class TextRow(BaseModel):
    """One line of text."""

    text: str


class RouterSection(Section):
    """The router's decision: skill, confidence, reasons, questions, the data it uses."""

    reasons: list[TextRow] = Field(default_factory=list, description="Why this skill")
    figures: list[Figure] = Field(default_factory=list, description="Figures the challenge states")
    scores: list[ScoreRow] = Field(default_factory=list, description="The keyword rules' score per skill")


class AnalysisSection(Section):
    """The chosen skill's findings on the workspace data."""

    skill: Skill
    subject: str | None = Field(None, description="The process, project or vendor the analysis is about.")
    findings: list[FindingRow] = Field(default_factory=list, description="Findings")


class PlanStep(BaseModel):
    """One step of the action plan."""

    step: int
    action: str = Field(description="What to do.")
    owner: str = Field(description="Who, from the data where it names someone, else the flow's owner.")
    due: date
    source: str = Field(description="The finding or record it answers.")
    urgency: Urgency = Urgency.IMPORTANT


class PlanSection(Section):
    """The action plan: concrete steps tied to the findings, as numbered actions (owner, source, due date)."""


class SmartMetric(BaseModel):
    """A SMART metric: what exactly, measured how (baseline from the data), target, owner, deadline."""

    kpi_id: str
    name: str = Field(description="Specific: what is measured.")
    metric_key: str = Field(description="Measurable: the weekly-audit headline that measures it.")
    unit: str
    direction: Literal["increase", "decrease"]
    baseline: float = Field(description="Measured from the data at as_of.")
    target: float
    change_needed: Ratio = Field(description="Achievable? Relative change from baseline to target.")
    target_basis: str = Field(description="Where the target comes from.")
    owner: str | None
    deadline: date = Field(description="Time-bound.")
    relevant: str = Field(description="Relevant: the finding or challenge it tracks.")


class SmartSection(Section):
    """The SMART metrics, registered as KPIs so every weekly audit tracks them."""

    metrics: list[SmartMetric] = Field(default_factory=list, description="SMART metrics")


class MetricSpec(BaseModel):
    """A metric the analysis proposes, before its target is set."""

    name: str
    key: str
    unit: str
    direction: Literal["increase", "decrease"]
    baseline: float
    perspective: Literal["financial", "customer", "internal_process", "learning_growth"] = "internal_process"
    default_target: float | None = Field(None, description="Target when the challenge gives none (None: DEFAULT).")
    default_basis: str | None = None
    relevant: str = ""
    primary: bool = Field(False, description="The metric the challenge's own figures apply to.")


class Analysis(BaseModel):
    """What a skill's analysis returns: the report section, plan steps and the metrics to track."""

    section: AnalysisSection
    steps: list[PlanStep]
    metrics: list[MetricSpec]


# -- the skill's sections ---------------------------------------------------------------------------------------------


def skill_sections(skill: Skill, data: OpsData, period: Period) -> list[Section]:
    """The weekly-audit sections the skill's analysis reads (computed by the same tasks as the audit)."""
    if skill == Skill.PROCESS_OPTIMIZATION:
        return [compute_processes_task(data.frame("process_events"), period, data.end_activities)]
    if skill == Skill.PROJECT_MANAGEMENT:
        return [compute_projects_task(data.frame("projects"), data.frame("project_tasks"), period)]
    if skill == Skill.RISK_MANAGEMENT:
        vendors = compute_vendors_task(data.frame("vendors"), data.frame("vendor_deliveries"), period)
        flagged = set(vendors.flagged_vendor_ids)
        risks = compute_risks_task(
            data.frame("risks"), data.frame("incidents"), data.frame("services"), period, flagged
        )
        incidents = compute_incidents_task(data.frame("incidents"), data.frame("services"), period)
        return [risks, incidents, vendors]
    # A KPI with a source reads the SLA or vendor figure, as in the weekly audit (one truth per figure).
    sla = compute_sla_task(
        data.frame("sla_events"), period, data.frame("services"), None, data.frame("service_metrics")
    )
    vendors = compute_vendors_task(data.frame("vendors"), data.frame("vendor_deliveries"), period)
    kpi_frame, observations = sourced_kpi_frames(
        data.frame("kpis"), data.frame("kpi_observations"), section_figures([sla, vendors]), period.as_of
    )
    return [compute_kpis_task(kpi_frame, observations, period), sla]


# -- matching the challenge to the data -------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    # British and American spellings of the same process are one name.
    text = text.lower().replace("fulfill", "fulfil")
    return [w for w in re.split(r"[^a-z0-9]+", text) if w]


def match_name(text: str, names: list[str]) -> str | None:
    """The name whose words the text mentions best ('order fulfillment' -> 'order_fulfilment'); None below half."""
    words = _words(text)
    best: tuple[float, int, str] | None = None
    for name in names:
        tokens = _words(name)
        if not tokens:
            continue
        hit = sum(
            any(w == t or (min(len(w), len(t)) >= 4 and (w.startswith(t) or t.startswith(w))) for w in words)
            for t in tokens
        )
        score = hit / len(tokens)
        if score >= 0.5 and (best is None or (score, hit) > best[:2]):
            best = (score, hit, name)
    return best[2] if best else None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _owner(default: str | None) -> str:
    return default or "unassigned"


# -- analyses ---------------------------------------------------------------------------------------------------------


def _main_performer(
    events: pd.DataFrame | None, process: str, activity: str, period: Period
) -> tuple[str, float] | None:
    """Who performed an activity most in the last 30 days, with their share of its occurrences."""
    if events is None or "resource" not in events:
        return None
    recent = events[
        (events["process"] == process)
        & (events["activity"] == activity)
        & (events["ended_at"] >= period.days_back(BOTTLENECK_DAYS))
        & (events["ended_at"] < period.end)
    ]
    counts = recent["resource"].dropna().astype(str).value_counts()
    if counts.empty:
        return None
    return str(counts.index[0]), float(counts.iloc[0] / counts.sum())


def analyse_process(
    decision: RouteDecision, section: ProcessSection, events: pd.DataFrame | None, period: Period, owner: str | None
) -> Analysis:
    """Lead time, waiting, the bottleneck, the longest step and rework of the process the challenge names."""
    names = [r.process for r in section.processes if r.lead_p50_hours is not None]
    subject = match_name(decision.subject or decision.challenge, names)
    basis_note = None
    if subject is None and names:
        # No process named: the one whose bottleneck wastes most hours this week is where improvement pays most.
        waits = {b.process: b.week_wait_hours for b in section.bottlenecks if b.process in names}
        subject = max(names, key=lambda n: (waits.get(n, 0.0), n))
        basis_note = f"The challenge names no process of the data ({', '.join(names)}): analysing {subject}, whose "
        basis_note += "bottleneck wastes the most hours this week."
    out = AnalysisSection(name="analysis", title="Analysis: process optimization", skill=decision.skill)
    if subject is None:
        out.note = section.note or "No process completed a case in the week: nothing to analyse."
        out.available = False
        return Analysis(section=out, steps=[], metrics=[])
    out.subject, out.note = subject, basis_note
    row = next(r for r in section.processes if r.process == subject)
    bottleneck = next((b for b in section.bottlenecks if b.process == subject), None)
    stream = [v for v in section.value_stream if v.process == subject]
    slug = re.sub(r"[^a-z0-9]+", "_", subject.lower()).strip("_")
    key = f"processes.{slug}.lead_p50_hours"
    p50 = float(row.lead_p50_hours or 0.0)
    week = f"{row.cases_completed} cases completed in the week ending {period.as_of:%d %b %Y}"
    findings = [
        FindingRow(finding="Median lead time (p50)", value=f"{p50:.1f} h over {week}", source=key),
        FindingRow(finding="90th percentile lead time", value=f"{row.lead_p90_hours} h", source="processes table"),
        FindingRow(
            finding="Per case: activity time vs waiting",
            value=f"{row.mean_process_hours} h working, {row.mean_waiting_hours} h waiting (means)",
            source="processes table",
        ),
    ]
    current = decision.figure("current")
    if current is not None and current.unit in _HOURS:
        findings.insert(
            1,
            FindingRow(
                finding="Stated vs measured",
                value=f"the challenge says {current.value:g} {current.unit}; the data's median is {p50:.1f} h",
                source=key,
            ),
        )
    due = period.as_of
    steps: list[PlanStep] = [
        PlanStep(
            step=0,
            action=f"Confirm the baseline: median lead time of {subject} {p50:.1f} h ({week}), measured from the "
            "first activity's start to the last activity's end; agree that this is the figure to improve.",
            owner=_owner(owner),
            due=due + timedelta(days=7),
            source=key,
        )
    ]
    if bottleneck is not None:
        findings.append(
            FindingRow(
                finding="Bottleneck",
                value=f"{bottleneck.activity}: {bottleneck.mean_wait_hours:.1f} h mean wait before it, "
                f"{bottleneck.share_of_waiting:.0%} of all waiting ({bottleneck.total_wait_hours:,.0f} h in "
                f"{BOTTLENECK_DAYS} days)",
                source="processes bottlenecks",
            )
        )
        performer = _main_performer(events, subject, bottleneck.activity, period)
        step_owner = performer[0] if performer and performer[1] >= OWNER_SHARE else _owner(owner)
        steps.append(
            PlanStep(
                step=0,
                action=f"Remove the queue before {bottleneck.activity}: cases wait {bottleneck.mean_wait_hours:.1f} h "
                f"on average there ({bottleneck.share_of_waiting:.0%} of the process's waiting); find why work "
                f"queues (staffing by hour, batching, hand-off) and fix it. Halving it cuts "
                f"{bottleneck.week_wait_hours / 2:,.0f} case-hours of waiting per week (half the week's wait before "
                "it, summed over cases; not staff time).",
                owner=step_owner,
                due=due + timedelta(days=30),
                source=f"process {subject} activity {bottleneck.activity}",
            )
        )
    longest = max(stream, key=lambda v: (v.mean_duration_hours, v.activity), default=None)
    if longest is not None and p50 > 0 and longest.mean_duration_hours >= 0.25 * p50:
        performer = _main_performer(events, subject, longest.activity, period)
        who = f", mostly by {performer[0]} ({performer[1]:.0%})" if performer else ""
        findings.append(
            FindingRow(
                finding="Longest step",
                value=f"{longest.activity}: {longest.mean_duration_hours:.1f} h per occurrence{who}",
                source="processes value stream",
            )
        )
        steps.append(
            PlanStep(
                step=0,
                action=f"Shorten {longest.activity}: it takes {longest.mean_duration_hours:.1f} h per occurrence"
                f"{who}, more than a quarter of the median lead time; removing waiting alone cannot reach a target "
                "below it.",
                owner=performer[0] if performer and performer[1] >= OWNER_SHARE else _owner(owner),
                due=due + timedelta(days=45),
                source=f"process {subject} activity {longest.activity}",
            )
        )
    if row.rework_rate is not None:
        repeated = sorted((v for v in stream if v.rework_count), key=lambda v: (-v.rework_count, v.activity))
        top = ", ".join(f"{v.activity} {v.rework_count}" for v in repeated[:3]) or "none"
        findings.append(
            FindingRow(
                finding="Rework rate",
                value=f"{row.rework_rate:.1%} of cases repeat an activity (repeats in {BOTTLENECK_DAYS} days: {top})",
                source=f"processes.{slug}.rework_rate",
            )
        )
        if row.rework_rate >= REWORK_WORTH_FIXING and repeated:
            steps.append(
                PlanStep(
                    step=0,
                    action=f"Cut rework: {row.rework_rate:.1%} of cases repeat a step (most: {top}); find the failed "
                    "checks behind the repeats and fix them at the source.",
                    owner=_owner(owner),
                    due=due + timedelta(days=60),
                    source=f"processes.{slug}.rework_rate",
                )
            )
    metrics = [
        MetricSpec(
            name=f"{subject}: median lead time",
            key=key,
            unit="hours",
            direction="decrease",
            baseline=p50,
            relevant=decision.challenge,
            primary=True,
        )
    ]
    if row.rework_rate:
        metrics.append(
            MetricSpec(
                name=f"{subject}: rework rate",
                key=f"processes.{slug}.rework_rate",
                unit="ratio",
                direction="decrease",
                baseline=float(row.rework_rate),
                relevant="Speed must not cost quality: the seed's 'error rate: maintain or improve'.",
            )
        )
    out.findings = findings
    out.headlines = [h for h in section.headlines if h.key.startswith(f"processes.{slug}.")]
    out.actions = [a for a in section.actions if a.source == f"process {subject}"]
    out.basis = section.basis
    out.definitions = section.definitions
    return Analysis(section=out, steps=steps, metrics=metrics)


def _subject_actions(sections: list[Section], subject: str | None, period: Period) -> list[Action]:
    """The sections' actions about the subject (all of them when none is named), ranked by the focus rules."""
    actions = [a for s in sections for a in s.actions]
    if subject:
        mine = [a for a in actions if subject.lower() in (a.text + " " + a.source).lower()]
        actions = mine or actions
    ranked = build_focus([Section(name="plan", title="Plan", actions=actions)], period, limit=PLAN_ACTIONS)
    items = sorted([*ranked.urgent, *ranked.important, *ranked.on_radar], key=lambda i: i.rank)[:PLAN_ACTIONS]
    return [
        Action(text=i.text, urgency=i.urgency, owner=i.owner, source=i.source, section=i.section, due=i.due)
        for i in items
    ]


def _headline(sections: list[Section], key: str) -> Headline | None:
    return next((h for s in sections for h in s.headlines if h.key == key and h.value is not None), None)


def analyse_projects(decision: RouteDecision, section: ProjectSection, period: Period) -> Analysis:
    """Health, schedule and cost of the project the challenge names (else the worst one), and its actions."""
    out = AnalysisSection(name="analysis", title="Analysis: project management", skill=decision.skill)
    names = [p.project for p in section.projects]
    name = match_name(decision.subject or decision.challenge, names)
    worst = section.projects[0] if section.projects else None  # the section lists off track first
    project = next((p for p in section.projects if p.project == name), worst)
    specs: list[MetricSpec] = []
    if project is not None:
        out.subject = f"{project.project_id} {project.project}"
        if name is None:
            out.note = f"The challenge names no open project: analysing the worst, {project.project_id}."
        out.findings = [
            FindingRow(finding="Health", value=project.health, source="projects table"),
            FindingRow(finding="Slack to due date", value=f"{project.slack_days:.1f} days", source="projects table"),
            FindingRow(finding="Forecast finish", value=f"{project.forecast_finish} (due {project.due_date})",
                       source="projects table"),
            FindingRow(finding="SPI / CPI", value=f"{project.spi} / {project.cpi}", source="projects table"),
            FindingRow(finding="Critical tasks slipping", value=project.slipping_tasks or "none",
                       source="projects table"),
        ]  # fmt: skip
    goals: tuple[tuple[str, str, Literal["increase", "decrease"], float, str], ...] = (
        ("projects.off_track", "Projects off track", "decrease", 0.0, "none off track"),
        ("projects.portfolio.spi", "Portfolio SPI", "increase", 0.95, "SPI 0.95: the on-track threshold"),
    )
    for key, name_, direction, target, basis in goals:
        h = _headline([section], key)
        if h is not None and h.value is not None:
            specs.append(
                MetricSpec(
                    name=name_,
                    key=key,
                    unit=h.unit,
                    direction=direction,
                    baseline=float(h.value),
                    default_target=target,
                    default_basis=basis,
                    relevant=decision.challenge,
                    primary=not specs,
                )
            )
    subject_id = project.project_id if project is not None else None
    out.actions = _subject_actions([section], subject_id, period)
    steps = _steps_from_actions(out.actions, period)
    out.headlines, out.basis, out.definitions = section.headlines, section.basis, section.definitions
    return Analysis(section=out, steps=steps, metrics=specs)


def analyse_risks(decision: RouteDecision, sections: list[Section], period: Period) -> Analysis:
    """Top risks, ratings the evidence contradicts, overdue mitigations, flagged vendors and open major incidents."""
    out = AnalysisSection(name="analysis", title="Analysis: risk management", skill=decision.skill)
    risks = next((s for s in sections if isinstance(s, RiskSection)), None)
    vendors = next((s for s in sections if isinstance(s, VendorSection)), None)
    incidents = next((s for s in sections if isinstance(s, IncidentSection)), None)
    vendor_names = [v.vendor for v in vendors.scorecard] if vendors is not None else []
    subject = match_name(decision.subject or decision.challenge, vendor_names)
    out.subject = subject
    findings: list[FindingRow] = []
    if risks is not None:
        findings += [
            FindingRow(finding=f"Top risk {r.risk_id}", value=f"{r.title} (score {r.score})", source="risks top")
            for r in risks.top_risks[:3]
        ]
        findings += [
            FindingRow(finding=f"Rating contradicted: {c.risk_id}", value=c.evidence, source="risks contradictions")
            for c in risks.contradictions[:3]
        ]
    if vendors is not None:
        for v in vendors.scorecard:
            if v.flagged and (subject is None or v.vendor == subject):
                findings.append(
                    FindingRow(
                        finding=f"Vendor flagged: {v.vendor}",
                        value=f"on-time {v.ontime_rate:.1%} vs {v.ontime_target:.0%} contracted"
                        if v.ontime_rate is not None
                        else "below contract",
                        source="vendors scorecard",
                    )
                )
    if incidents is not None:
        findings += [
            FindingRow(finding=f"Open {r.severity} {r.incident_id}", value=f"{r.service}, open {r.age_hours:.0f} h",
                       source="incidents open_major")
            for r in incidents.open_major
        ]  # fmt: skip
    out.findings = findings
    specs: list[MetricSpec] = []
    for key, name, basis in (
        ("risks.mitigations_overdue", "Risk mitigations overdue", "none overdue"),
        ("risks.contradictions", "Risk ratings the evidence contradicts", "every rating matches the evidence"),
        ("vendors.flagged", "Vendors flagged", "no vendor below contract with 3+ violation days"),
    ):
        h = _headline(sections, key)
        if h is not None and h.value is not None:
            specs.append(
                MetricSpec(
                    name=name,
                    key=key,
                    unit=h.unit,
                    direction="decrease",
                    baseline=float(h.value),
                    default_target=0.0,
                    default_basis=basis,
                    relevant=decision.challenge,
                    primary=not specs,
                )
            )
    out.actions = _subject_actions(sections, subject, period)
    steps = _steps_from_actions(out.actions, period)
    out.headlines = [h for s in sections for h in s.headlines if h.key in {m.key for m in specs}]
    return Analysis(section=out, steps=steps, metrics=specs)


def analyse_performance(decision: RouteDecision, sections: list[Section], period: Period) -> Analysis:
    """SLA compliance by category against objectives, KPIs off track and KPI definitions failing SMART."""
    out = AnalysisSection(name="analysis", title="Analysis: performance metrics", skill=decision.skill)
    sla = next((s for s in sections if isinstance(s, SlaSection)), None)
    kpis = next((s for s in sections if isinstance(s, KpiSection)), None)
    findings: list[FindingRow] = []
    specs: list[MetricSpec] = []
    if sla is not None:
        rows = [r for r in sla.by_category if r.compliance is not None]
        category = match_name(decision.subject or decision.challenge, [r.category for r in rows])
        out.subject = category
        for r in rows:
            objective = f" vs objective {r.objective:.1%}" if r.objective is not None else ""
            findings.append(
                FindingRow(
                    finding=f"SLA compliance, {r.category}",
                    value=f"{r.compliance:.1%}{objective} ({r.events} events)",
                    source="sla by_category",
                )
            )
        chosen = next((r for r in rows if r.category == category), None)
        key = f"sla.{re.sub(r'[^a-z0-9]+', '_', category.lower()).strip('_')}.compliance" if category else None
        h = _headline([sla], key) if key else _headline([sla], "sla.week.compliance")
        if h is not None and h.value is not None:
            goal = chosen.objective if chosen is not None and chosen.objective is not None else 0.95
            specs.append(
                MetricSpec(
                    name=h.label,
                    key=h.key,
                    unit="ratio",
                    direction="increase",
                    baseline=float(h.value),
                    perspective="customer",
                    default_target=max(goal, float(h.value)),
                    default_basis=f"the SLA objective {goal:.1%}"
                    if chosen is not None
                    else "95%, the usual SLA objective",
                    relevant=decision.challenge,
                    primary=True,
                )
            )
    if kpis is not None:
        for key, name, basis in (
            ("kpis.off_track.count", "KPIs off track", "none off track"),
            ("kpis.smart.failing", "KPIs failing SMART", "every KPI fully defined"),
        ):
            h = _headline([kpis], key)
            if h is not None and h.value is not None:
                findings.append(FindingRow(finding=name, value=f"{h.value:g}", source=key))
                specs.append(
                    MetricSpec(
                        name=name,
                        key=key,
                        unit=h.unit,
                        direction="decrease",
                        baseline=float(h.value),
                        perspective="learning_growth",
                        default_target=0.0,
                        default_basis=basis,
                        relevant=decision.challenge,
                        primary=not specs,
                    )
                )
    out.findings = findings
    out.headlines = [h for s in sections for h in s.headlines if h.key in {m.key for m in specs}]
    out.actions = _subject_actions(sections, out.subject, period)
    steps = _steps_from_actions(out.actions, period)
    return Analysis(section=out, steps=steps, metrics=specs)


def _due(action: Action, period: Period) -> date:
    """An action's due date, or a week (urgent) or a month from as_of when it has none or it has passed."""
    if action.due is not None and action.due >= period.as_of:
        return action.due
    return period.as_of + timedelta(days=7 if action.urgency == Urgency.URGENT else 30)


def _steps_from_actions(actions: list[Action], period: Period) -> list[PlanStep]:
    return [
        PlanStep(
            step=0,
            action=a.text,
            owner=_owner(a.owner),
            due=_due(a, period),
            source=a.source,
            urgency=a.urgency,
        )
        for a in actions
    ]


def analyse(
    decision: RouteDecision, sections: list[Section], data: OpsData, period: Period, owner: str | None = None
) -> Analysis:
    """The routed skill's analysis of its sections."""
    if decision.skill == Skill.PROCESS_OPTIMIZATION:
        section = next(s for s in sections if isinstance(s, ProcessSection))
        return analyse_process(decision, section, data.frame("process_events"), period, owner)
    if decision.skill == Skill.PROJECT_MANAGEMENT:
        return analyse_projects(decision, next(s for s in sections if isinstance(s, ProjectSection)), period)
    if decision.skill == Skill.RISK_MANAGEMENT:
        return analyse_risks(decision, sections, period)
    return analyse_performance(decision, sections, period)


# -- SMART metrics, plan, router section ------------------------------------------------------------------------------


def _in_unit(figure: Figure, unit: str) -> float | None:
    """A stated figure in the metric's unit (days -> hours, percent -> ratio), or None when they do not convert."""
    if unit == "hours":
        return figure.value * _HOURS[figure.unit] if figure.unit in _HOURS else None
    if unit == "ratio":
        if figure.unit == "percent":
            return figure.value / 100
        return figure.value if not figure.unit and figure.value <= 1 else None
    return figure.value if figure.unit in ("", unit) else None


def target_for(spec: MetricSpec, decision: RouteDecision) -> tuple[float, str]:
    """The metric's target and where it comes from: the challenge's target or change (primary metric only), else
    the analysis's default, else DEFAULT_IMPROVEMENT on the baseline."""
    if spec.primary:
        stated = decision.figure("target")
        value = _in_unit(stated, spec.unit) if stated is not None else None
        if stated is not None and value is not None:
            return round(value, 4), f"the challenge: {stated.value:g} {stated.unit}".rstrip()
        change = decision.figure("change")
        if change is not None and change.unit == "percent":
            sign = -1 if spec.direction == "decrease" else 1
            value = spec.baseline * (1 + sign * change.value / 100)
            return round(value, 4), f"the challenge: {change.value:g}% {'lower' if sign < 0 else 'higher'}"
    if spec.default_target is not None:
        return spec.default_target, spec.default_basis or "default"
    if spec.direction == "decrease":
        value = spec.baseline * (1 - DEFAULT_IMPROVEMENT)
    else:
        value = spec.baseline * (1 + DEFAULT_IMPROVEMENT)
        value = min(value, 1.0) if spec.unit == "ratio" else value
    basis = f"default: {DEFAULT_IMPROVEMENT:.0%} better than the baseline (seed: 20-30% in 1-3 months)"
    return round(value, 4), basis


def _fmt(value: float, unit: str) -> str:
    if unit == "ratio":
        return f"{value:.1%}"
    if unit == "hours":
        return f"{value:g} h"
    return f"{value:g} {unit}".rstrip()


def kpi_id_for(metric_key: str) -> str:
    """A stable KPI id per audit figure: registering the same metric again replaces it."""
    return "PSM-" + _slug(metric_key)


def smart_metrics(
    decision: RouteDecision, analysis: Analysis, period: Period, owner: str | None, deadline: date | None
) -> SmartSection:
    """Each proposed metric made SMART: baseline measured at as_of, target, owner, deadline, audit headline key."""
    deadline = deadline or period.as_of + timedelta(days=DEFAULT_DEADLINE_DAYS)
    metrics = []
    for spec in analysis.metrics:
        target, basis = target_for(spec, decision)
        change = (target - spec.baseline) / spec.baseline if spec.baseline else 0.0
        metrics.append(
            SmartMetric(
                kpi_id=kpi_id_for(spec.key),
                name=spec.name,
                metric_key=spec.key,
                unit=spec.unit,
                direction=spec.direction,
                baseline=round(spec.baseline, 4),
                target=target,
                change_needed=round(change, 4),
                target_basis=basis,
                owner=owner,
                deadline=deadline,
                relevant=spec.relevant,
            )
        )
    note = None
    if not metrics:
        note = "The data gave no baseline to measure: no metric proposed."
    elif owner is None:
        note = "No owner given: the KPIs are registered without one and the weekly audit will ask for it."
    return SmartSection(
        name="smart_metrics",
        title="SMART metrics",
        headlines=[
            Headline(
                key=f"psm.{_slug(m.metric_key)}.baseline",
                label=f"{m.name} (baseline)",
                value=m.baseline,
                unit=m.unit,
                better="lower" if m.direction == "decrease" else "higher",
            )
            for m in metrics
        ],  # fmt: skip
        metrics=metrics,
        note=note,
        definitions={
            "baseline": "The audit figure named by metric_key, computed for the week ending as_of.",
            "target": "The challenge's own target (or change) for the main metric, converted to its unit; otherwise "
            f"the analysis's default, otherwise {DEFAULT_IMPROVEMENT:.0%} better than the baseline.",
            "deadline": f"The deadline parameter, else as_of + {DEFAULT_DEADLINE_DAYS} days.",
            "tracking": "Each metric is registered as a KPI with its metric_key: every later weekly audit adds an "
            "observation from that figure and scores progress from baseline to target in its KPI section.",
        },
    )


def action_plan(analysis: Analysis, smart: SmartSection, period: Period, owner: str | None) -> PlanSection:
    """The analysis's steps in order, then one tracking step per SMART metric."""
    steps = list(analysis.steps)
    for m in smart.metrics:
        steps.append(
            PlanStep(
                step=0,
                action=f"Track '{m.name}' weekly as KPI {m.kpi_id}: from {_fmt(m.baseline, m.unit)} to "
                f"{_fmt(m.target, m.unit)} by {m.deadline}; the weekly audit's KPI section scores it.",
                owner=_owner(owner),
                due=m.deadline,
                source=m.metric_key,
            )
        )
    numbered = [s.model_copy(update={"step": n}) for n, s in enumerate(steps, start=1)]
    actions = [
        Action(
            text=f"{s.step}. {s.action}",
            urgency=s.urgency,
            owner=s.owner,
            source=s.source,
            section="plan",
            due=s.due,
            kind="improvement",
        )
        for s in numbered
    ]
    return PlanSection(
        name="plan",
        title="Action plan",
        headlines=[Headline(key="plan.steps", label="Steps", value=len(numbered))],
        actions=actions,
        note=None if numbered else "Nothing to plan: the analysis found nothing to act on.",
        basis=[Basis(metric="plan steps", rows_used=len(numbered))],
    )


def router_section(decision: RouteDecision, owner: str | None = None) -> RouterSection:
    """The router's decision as a report section; its clarifying questions are its actions."""
    how = "Claude" if decision.source == "claude" else "the keyword rules"
    note = f"{decision.skill.label}, chosen by {how}."
    if decision.unclear:
        note = (
            f"Unclear (confidence {decision.confidence:.0%}): answer the clarifying questions, then route again. "
            f"The analysis below follows the best guess, {decision.skill.label.lower()}, judged by {how}."
        )
    if decision.fallback_reason:
        note += f" Claude's answer was not used: {decision.fallback_reason}."
    return RouterSection(
        name="router",
        title="Router: unclear, ask first" if decision.unclear else f"Router: {decision.skill.label}",
        headlines=[Headline(key="router.confidence", label="Confidence", value=decision.confidence, unit="ratio")],
        note=note,
        reasons=[TextRow(text=r) for r in decision.reasons],
        actions=[
            Action(
                text=f"Ask: {q}",
                urgency=Urgency.URGENT if decision.unclear else Urgency.IMPORTANT,
                owner=owner,
                source="challenge",
                section="router",
                kind="clarifying_question",
            )
            for q in decision.clarifying_questions
        ],  # fmt: skip
        figures=decision.figures,
        scores=[ScoreRow(skill=k, score=v) for k, v in decision.scores.items()],
        definitions={
            "datasets": ", ".join(decision.datasets),
            "challenge": decision.challenge,
        },
    )


def kpis_to_register(smart: SmartSection, period: Period) -> list[RegisteredKpi]:
    """The SMART metrics in the KPI registry's terms."""
    return [
        RegisteredKpi(
            kpi_id=m.kpi_id,
            name=m.name,
            perspective="customer" if m.metric_key.startswith("sla.") else "internal_process",
            objective=m.relevant[:200] or None,
            unit=m.unit,
            direction=m.direction,
            baseline=m.baseline,
            baseline_date=period.as_of,
            target=m.target,
            owner=m.owner,
            deadline=m.deadline,
            metric_key=m.metric_key,
            source_flow=FLOW,
        )
        for m in smart.metrics
    ]


analyse_task = compute_task(analyse, name="analyse_challenge")
smart_metrics_task = compute_task(smart_metrics, name="define_smart_metrics")
action_plan_task = compute_task(action_plan, name="plan_actions")
