"""Pattern 3's steps on one process (operational-transformation and the improvement initiative): current state from
the event log, baseline and targets, DMAIC plan, before/after control, and the KPIs to register."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from opsflow.datasets import OpsData
from opsflow.findings import FocusSection, Headline, Section, pick_headlines
from opsflow.history import HistoryStore
from opsflow.period import Period
from tasks.coo.focus import focus_on
from tasks.performance_metrics.registry import RegisteredKpi
from tasks.process_optimization.control import (
    ControlSection,
    control_step_task,
    load_baselines_task,
    save_transformation_run_task,
)
from tasks.process_optimization.mining import process_slug
from tasks.process_optimization.transformation import (
    Baseline,
    CurrentStateSection,
    ImprovementPlanSection,
    ProcessLog,
    current_state_task,
    improvement_plan_task,
    process_log_task,
    proposed_kpis_task,
    resolve_baseline_task,
    transformation_charts_task,
    transformation_summary,
)

SLACK_KEYS = (
    "lead_p50_hours",
    "lead_p90_hours",
    "pce",
    "waiting_share",
    "rework_rate",
    "variants",
    "saving_hours_per_week",
    "target_lead_p50_hours",
    "control.median_change_hours",
)
"""The process's figures the Slack post shows (after `transformation.<process>.`)."""


class TransformationRequest(Protocol):
    """What the steps need from the flow's form (TransformationParams)."""

    process: str
    window_days: int
    target_lead_p50_hours: float | None
    target_reduction: float | None
    target_rework_rate: float | None
    change_date: date | None
    min_improvement: float
    owner: str | None
    goal: str | None


@dataclass
class Transformation:
    """One run's findings on the process and what it registers and saves."""

    request: TransformationRequest
    period: Period
    log: ProcessLog
    state: CurrentStateSection
    baseline: Baseline | None
    plan: ImprovementPlanSection
    control: ControlSection
    sections: list[Section]
    focus: FocusSection
    kpis: list[RegisteredKpi] | None

    def facts(self) -> list[str]:
        window = f"Window: {self.request.window_days} days ending {self.period.as_of.isoformat()}"
        return [f"Process: {self.request.process}", window]

    def template_summary(self) -> str:
        verdict_line = next((a.text for a in self.control.actions), self.control.note)
        return transformation_summary(self.state, self.plan, verdict_line)

    def charts(self) -> dict[str, bytes]:
        return transformation_charts_task(self.state, self.plan.target_lead_p50_hours)

    def headlines(self) -> list[Headline]:
        """The figures for the Slack post, those the run could compute."""
        slug = process_slug(self.request.process)
        return pick_headlines(self.sections, [f"transformation.{slug}.{k}" for k in SLACK_KEYS])

    def save(self, history: HistoryStore) -> None:
        """Record the run (its baseline and figures) for the next run's targets and before/after test; a run with
        no baseline (no completed case yet) records nothing."""
        if self.baseline is not None:
            r = self.request
            save_transformation_run_task(
                history, self.log, self.period, r.window_days, self.baseline, self.sections, r.change_date
            )


def transform(
    data: OpsData, history: HistoryStore, period: Period, r: TransformationRequest, flow: str
) -> Transformation:
    """Current state, baseline (the first run's, kept), plan, control and the KPIs to register (none without a
    baseline)."""
    log = process_log_task(data.frame("process_events"), r.process, data.end_activities.get(r.process))
    state = current_state_task(log, period, r.window_days)
    runs = load_baselines_task(history, r.process, period.as_of, r.change_date)
    first = runs.first.baseline if runs.first else None
    targets = (r.target_lead_p50_hours, r.target_reduction, r.target_rework_rate)
    baseline = resolve_baseline_task(state, first, period.as_of, *targets)
    plan = improvement_plan_task(state, baseline, period.as_of, r.owner, r.goal, flow)
    control = control_step_task(log, runs, period, r.change_date, r.window_days, r.min_improvement, r.owner)
    sections: list[Section] = [state, plan, control]
    focus = focus_on(sections, period)
    kpis = None if baseline is None else proposed_kpis_task(r.process, baseline, r.owner, r.goal, flow)
    return Transformation(r, period, log, state, baseline, plan, control, sections, focus, kpis)
