"""Pattern 3, operational transformation: current state from the event log, DMAIC plan, project, KPIs, control."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow
from prefect.states import State
from pydantic import BaseModel, Field

from opsflow.datasets import DataSourceError
from opsflow.params import WorkspaceParams, date_field, post_to_slack_field
from opsflow.period import Period
from tasks.coo.audit import focus_actions
from tasks.coo.transformation import transform
from tasks.delivery.alerts import alert_on_failure
from tasks.performance_metrics.registry import register_kpis_task
from tasks.process_optimization.control import MIN_IMPROVEMENT
from tasks.process_optimization.mining import process_slug
from tasks.process_optimization.transformation import TRANSFORMATION_CHARTS, WINDOW_DAYS
from tasks.run.skeleton import deliver, prepare_run, publish

FLOW = "operational-transformation"
ARTIFACT_TABLES = [
    ("current_state", "value_stream"),
    ("current_state", "variants"),
    ("plan", "dmaic"),
    ("plan", "phases"),
    ("plan", "kpis"),
    ("control", "test"),
]


class TransformationParams(WorkspaceParams):
    """Which process to transform, over which window, with which targets: the Prefect UI renders this as the form."""

    process: str = Field(
        "order_fulfilment",
        description="Process name as in the event log's `process` column (the sample has order_fulfilment, "
        "returns and customer_support).",
    )
    as_of: date | None = date_field(
        "Last day of the analysis window: a week's last day (a Sunday by default). Empty: the last "
        "complete week the data covers."
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


def run_transformation(params: TransformationParams, flow_name: str, title: str) -> TransformationResult | State:
    """The Pattern 3 steps, shared by operational-transformation and improvement-initiative (its preset form)."""
    run = prepare_run(flow_name, params.workspace)
    if isinstance(run, State):
        return run
    if isinstance(period := run.clock(params.as_of, Period), State):
        return period
    key = f"{process_slug(params.process)}-{period.key}"
    run.tag(key)
    found = transform(run.data, run.history, period, params, flow_name)
    if (unknown := found.log.unknown) is not None:
        return run.fail(unknown, DataSourceError(unknown))
    registered = register_kpis_task(run.history, found.kpis) if found.kpis is not None else []
    published = publish(
        run,
        f"{title}: {params.process}, {period.as_of:%d %B %Y}",
        key,
        period.as_of,
        found.sections,
        charts=found.charts,
        tables=ARTIFACT_TABLES,
        # Not the generic history row: the process's own record (baseline, figures) is what later runs read.
        save=False,
        subtitle=f"{run.config.company} · {params.window_days} days ending {period.as_of:%d %b %Y} ({period.tz})",
        summary=lambda: run.narrate("planning", found.sections, found.facts(), found.template_summary),
        focus=found.focus,
        focus_title="Next steps",
        section_charts=TRANSFORMATION_CHARTS,
    )
    found.save(run.history)
    delivered = deliver(run, published, params.post_to_slack, found.headlines(), focus_actions(found.focus))
    return TransformationResult(
        process=params.process,
        as_of=period.as_of,
        bottleneck=found.state.bottleneck,
        verdict=found.control.verdict,
        registered_kpis=registered,
        summary_source=published.summary_source,
        delivered=delivered,
        **published.outputs(),
    )


@flow(name=FLOW, on_failure=[alert_on_failure])
def operational_transformation(params: TransformationParams = DEFAULT_PARAMS) -> TransformationResult | State:
    """A process's event log: current state, DMAIC plan with quantified benefit, project, KPIs, before/after test."""
    return run_transformation(params, FLOW, "Operational transformation")
