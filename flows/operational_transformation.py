"""Pattern 3, operational transformation: current state from the event log, DMAIC plan, project, KPIs, control."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow
from prefect.states import State
from pydantic import BaseModel, Field

from opsflow.findings import Headline, Section
from opsflow.handoff import as_is
from opsflow.params import WorkspaceParams, date_field, post_to_slack_field
from opsflow.settings import get_settings
from opsflow.timing import StageTimer
from tasks.coo.audit import audit_period, focus_actions, history_for
from tasks.coo.focus import build_focus_task
from tasks.coo.summary import summary_figures
from tasks.data.prepare import load_workspace_data, not_usable
from tasks.delivery.alerts import alert_on_failure
from tasks.delivery.publish import post_report
from tasks.delivery.run_tags import period_tag, tag_flow_run_task
from tasks.performance_metrics.registry import register_kpis_task
from tasks.process_optimization.control import (
    MIN_IMPROVEMENT,
    control_step_task,
    load_baselines_task,
    save_transformation_run_task,
)
from tasks.process_optimization.mining import process_slug
from tasks.process_optimization.transformation import (
    TRANSFORMATION_CHARTS,
    WINDOW_DAYS,
    current_state_task,
    improvement_plan_task,
    process_log_task,
    proposed_kpis_task,
    resolve_baseline_task,
    transformation_charts_task,
    transformation_summary,
)
from tasks.reporting.narrative import UsageLog, narrate_task, narrator_from_settings
from tasks.reporting.report import new_report, publish_report_artifacts_task, report_dir, write_report_task

FLOW = "operational-transformation"
ARTIFACT_TABLES = [
    ("current_state", "value_stream"),
    ("current_state", "variants"),
    ("plan", "dmaic"),
    ("plan", "phases"),
    ("plan", "kpis"),
    ("control", "test"),
]
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


class TransformationParams(WorkspaceParams):
    """Which process to transform, over which window, with which targets: the Prefect UI renders this as the form."""

    process: str = Field(
        "order_fulfilment",
        description="Process name as in the event log's `process` column (the sample has order_fulfilment, "
        "returns and customer_support).",
    )
    as_of: date | None = date_field(
        "Last day of the analysis window. Empty: the end of the last complete Monday-Sunday week."
    )
    window_days: int = Field(
        WINDOW_DAYS, ge=14, le=730, description="Days of completed cases the current state is measured on."
    )
    target_lead_p50_hours: float | None = Field(
        None,
        gt=0,
        description="Median lead-time target, hours. Empty: the target reduction below, else the scenario where "
        "the bottleneck's wait halves. Kept from the first run for the process unless set.",
    )
    target_reduction: float | None = Field(
        None, gt=0, lt=1, description="Median lead-time target as a reduction of the baseline (0.5 = halve it)."
    )
    target_rework_rate: float | None = Field(
        None, ge=0, le=1, description="Rework-rate target (0..1). Empty: half the baseline rate."
    )
    change_date: date | None = date_field(
        "When the change went live: cases started after it are compared with the baseline. Empty: the "
        "first run's as_of."
    )
    min_improvement: float = Field(
        MIN_IMPROVEMENT,
        ge=0,
        lt=1,
        description="Smallest fall of the median lead time, as a share of the baseline, that counts as a real "
        "improvement.",
    )
    owner: str | None = Field(None, description="Who owns the improvement (the KPIs and every project phase).")
    goal: str | None = Field(None, description="The goal in words (the KPIs' objective). Empty: built from targets.")
    post_to_slack: bool = post_to_slack_field()


DEFAULT_PARAMS = TransformationParams()


class TransformationResult(BaseModel):
    """Where the outputs are, the main findings, and how long each stage took."""

    process: str
    as_of: date
    bottleneck: str | None = Field(description="The activity with the most waiting before it.")
    verdict: str | None = Field(description="The before/after verdict; empty on the first run.")
    registered_kpis: list[str] = Field(default_factory=list, description="KPI ids registered for the weekly audit.")
    report_html: Path
    report_markdown: Path
    summary_source: str = Field(description="'claude' or 'template'.")
    delivered: list[str] = Field(default_factory=list, description="One line per Slack channel.")
    timings: dict[str, float] = Field(default_factory=dict, description="Seconds per stage.")


def _headlines(sections: list[Section], process: str) -> list[Headline]:
    by_key = {h.key: h for s in sections for h in s.headlines}
    keys = [f"transformation.{process_slug(process)}.{k}" for k in SLACK_KEYS]
    return [by_key[k] for k in keys if k in by_key and by_key[k].value is not None]


def run_transformation(params: TransformationParams, flow_name: str, title: str) -> TransformationResult | State:
    """The Pattern 3 steps, shared by operational-transformation and improvement-initiative (its preset form)."""
    timer = StageTimer()
    prepared = load_workspace_data(params.workspace, timer)
    if prepared.reasons:
        return not_usable(flow_name, prepared)
    workspace, config, data = prepared.workspace, prepared.config, prepared.data
    period = audit_period(params.as_of, config.timezone)
    history = history_for(workspace, config)
    key = f"{process_slug(params.process)}-{period.key}"
    tag_flow_run_task(period_tag(key))

    with timer("compute"):
        log = process_log_task(data.frame("process_events"), params.process)
        state = current_state_task(log, period, params.window_days)
        runs = load_baselines_task(history, params.process, period.as_of, params.change_date)
        baseline = resolve_baseline_task(
            state,
            runs.first.baseline if runs.first else None,
            period.as_of,
            params.target_lead_p50_hours,
            params.target_reduction,
            params.target_rework_rate,
        )
        plan = improvement_plan_task(state, baseline, period.as_of, params.owner, params.goal, flow_name)
        control = control_step_task(
            log, runs, period, params.change_date, params.window_days, params.min_improvement, params.owner
        )
        sections: list[Section] = [state, plan, control]
        focus = build_focus_task(as_is(sections), period)
        registered: list[str] = []
        if baseline is not None:
            kpis = proposed_kpis_task(params.process, baseline, params.owner, params.goal, flow_name)
            registered = register_kpis_task(history, kpis)

    with timer("render"):
        usage = UsageLog()
        verdict_line = next((a.text for a in control.actions), control.note)
        summary = narrate_task(
            "planning",
            summary_figures(sections),
            [f"Process: {params.process}", f"Window: {params.window_days} days ending {period.as_of.isoformat()}"],
            lambda: transformation_summary(state, plan, verdict_line),
            narrator_from_settings(get_settings()),
            usage,
        )
        report = new_report(
            flow_name,
            f"{title}: {params.process}, {period.as_of:%d %B %Y}",
            key,
            prepared,
            timer,
            usage,
            subtitle=f"{config.company} · {params.window_days} days ending {period.as_of:%d %b %Y} ({period.tz})",
            summary=summary,
            focus=focus,
            focus_title="Next steps",
            sections=sections,
            section_charts=TRANSFORMATION_CHARTS,
        )
        charts = transformation_charts_task(state, plan.target_lead_p50_hours)
        paths = write_report_task(as_is(report), report_dir(workspace, flow_name, key), charts)
        if baseline is not None:
            save_transformation_run_task(
                history, log, period, params.window_days, baseline, sections, params.change_date
            )
        publish_report_artifacts_task(as_is(report), paths, ARTIFACT_TABLES)

    delivered: list[str] = []
    if params.post_to_slack:
        with timer("deliver"):
            headlines = _headlines(sections, params.process)
            delivered = post_report(report, paths, history, config.slack, headlines, focus_actions(focus))
    history.close()
    return TransformationResult(
        process=params.process,
        as_of=period.as_of,
        bottleneck=state.bottleneck,
        verdict=control.verdict,
        registered_kpis=registered,
        report_html=paths["html"],
        report_markdown=paths["markdown"],
        summary_source=summary.source,
        delivered=delivered,
        timings=timer.seconds,
    )


@flow(name=FLOW, on_failure=[alert_on_failure])
def operational_transformation(params: TransformationParams = DEFAULT_PARAMS) -> TransformationResult | State:
    """A process's event log: current state, DMAIC plan with quantified benefit, project, KPIs, before/after test."""
    return run_transformation(params, FLOW, "Operational transformation")
