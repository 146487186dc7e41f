"""The risk-aware plan of an initiative, step by step: its risks from the register's evidence, mitigations in the plan,
critical path, Monte Carlo forecast, and the sections and KPIs that report it."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from opsflow.datasets import OpsData
from opsflow.findings import FocusSection, Headline, Section
from opsflow.history import HistoryStore
from opsflow.period import Period
from tasks.coo.focus import focus_on
from tasks.coo.sections import risk_evidence
from tasks.performance_metrics.registry import RegisteredKpi
from tasks.project_management.planning import (
    Initiative,
    InitiativeRiskSection,
    Plan,
    build_plan_task,
    current_figures_task,
    identify_risks_task,
    planning_charts_task,
    planning_facts,
    previous_plan_task,
    risk_section_task,
    schedule_section_task,
    slack_headlines,
    success_kpis_task,
    task_starts,
    template_planning_summary,
)
from tasks.project_management.schedule import CpmResult, Simulation, critical_path_task, days_available, simulate_task
from tasks.reporting.present import attach_previous


@dataclass
class InitiativePlan:
    """The plan, its forecast with and without the treatments, the report's sections and the KPIs to register."""

    initiative: Initiative
    period: Period
    plan: Plan
    cpm: CpmResult
    sim: Simulation
    untreated: Simulation
    risks: InitiativeRiskSection
    sections: list[Section]
    focus: FocusSection
    kpis: list[RegisteredKpi]

    def facts(self) -> list[str]:
        """What a planning narrative may cite besides the headline figures."""
        return planning_facts(self.initiative, self.sim, self.risks.risks, self.period.as_of)

    def template_summary(self) -> str:
        """The deterministic planning note: forecast against the deadline, the biggest risk, what the treatments buy."""
        return template_planning_summary(self.initiative, self.sim, self.untreated, self.risks.risks, self.period.as_of)

    def charts(self) -> dict[str, bytes]:
        """The Gantt chart and the initiative's risk matrix."""
        return planning_charts_task(self.initiative, self.cpm, self.sim, self.risks, self.period.as_of)

    def forecast(self) -> dict[str, float]:
        """Days to finish at P50, P80 and P95, and the chance of making the deadline."""
        return self.sim.model_dump(include={"p50_days", "p80_days", "p95_days", "on_time_probability"})

    def headlines(self) -> list[Headline]:
        """The figures for the Slack post."""
        return slack_headlines(self.sections)

    def mitigation_tasks(self) -> list[str]:
        return [t.id for t in self.plan.tasks if t.kind == "mitigation"]


def plan_initiative(
    data: OpsData,
    initiative: Initiative,
    period: Period,
    iterations: int,
    seed: int,
    history: HistoryStore,
    stage: Callable[[str], AbstractContextManager[None]],
) -> InitiativePlan:
    """Every step of the plan, compared with the initiative's previous plan in `history`; the two simulations (as
    treated, as if untreated) timed as the run's `stage` "simulate"."""
    start = initiative.start_on(period.as_of)
    vendors, evidence = risk_evidence(data, period)
    risks = identify_risks_task(initiative, data, evidence, vendors, period)
    plan = build_plan_task(initiative, risks)
    cpm = critical_path_task(plan.tasks)
    deadline_days = days_available(start, initiative.deadline_on(period.as_of))
    with stage("simulate"):
        sim = simulate_task(plan.tasks, plan.events, deadline_days, iterations, seed)
        untreated = simulate_task(plan.untreated_tasks, plan.untreated_events, deadline_days, iterations, seed)
    risks_section = risk_section_task(plan.risks, sim, task_starts(cpm, start))
    schedule = schedule_section_task(initiative, plan, cpm, sim, untreated, period.as_of)
    figures = current_figures_task(data, period, [m.metric_key for m in initiative.success_metrics], vendors)
    kpis, metrics = success_kpis_task(initiative, sim, figures, period.as_of)
    sections: list[Section] = [schedule, risks_section, metrics]
    focus = focus_on(sections, period)
    attach_previous(sections, previous_plan_task(history, initiative, period.as_of))
    return InitiativePlan(initiative, period, plan, cpm, sim, untreated, risks_section, sections, focus, kpis)
