"""The risk-aware planning flow (Pattern 2): scope, risks, mitigations in the plan, schedule, success metrics."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow
from prefect.states import State
from pydantic import BaseModel, Field

from opsflow.params import WorkspaceParams, date_field, post_to_slack_field
from opsflow.period import Period
from tasks.coo.audit import focus_actions
from tasks.coo.initiative_plan import plan_initiative
from tasks.delivery.alerts import alert_on_failure
from tasks.performance_metrics.registry import register_kpis_task
from tasks.project_management.planning import (
    FLOW,
    SECTION_CHARTS,
    Initiative,
    InitiativeError,
    plan_period_key,
    resolve_initiative,
)
from tasks.run.skeleton import deliver, prepare_run, publish

ARTIFACT_TABLES = [("schedule", "forecast"), ("schedule", "plan"), ("initiative_risks", "risks")]


class RiskAwarePlanningParams(WorkspaceParams):
    """The initiative to plan and how to simulate it: the Prefect UI renders this as the run form."""

    initiative_file: Path = Field(
        Path("initiatives/warehouse-automation.yaml"),
        description="Initiative YAML (objective, dates, budget, work packages with three-point estimates), relative "
        "to the workspace unless absolute. Ignored when an inline initiative is given.",
    )
    initiative: Initiative | None = Field(None, description="The initiative inline, instead of the file.")
    as_of: date | None = date_field(
        "Planning date: risks are judged on the evidence up to it and work starts the day after unless "
        "the initiative gives a start. A week's last day. Empty: the last complete week the data covers."
    )
    iterations: int = Field(20_000, ge=10_000, le=1_000_000, description="Monte Carlo iterations (at least 10,000).")
    seed: int = Field(7, description="Random seed: the same seed and data give the same forecast.")
    post_to_slack: bool = post_to_slack_field()


DEFAULT_PARAMS = RiskAwarePlanningParams()


class RiskAwarePlanningResult(BaseModel):
    """The forecast in brief and where the plan's outputs are."""

    initiative: str
    as_of: date
    p50_days: float
    p80_days: float
    p95_days: float
    on_time_probability: float
    mitigation_tasks: list[str] = Field(default_factory=list)
    kpis_registered: list[str] = Field(default_factory=list)
    report_html: Path
    report_markdown: Path
    gantt_png: Path
    summary_source: str = Field(description="'claude' or 'template'.")
    delivered: list[str] = Field(default_factory=list, description="One line per Slack channel.")
    timings: dict[str, float] = Field(default_factory=dict, description="Seconds per stage.")


@flow(name="risk-aware-planning", on_failure=[alert_on_failure])
def risk_aware_planning(params: RiskAwarePlanningParams = DEFAULT_PARAMS) -> RiskAwarePlanningResult | State:
    """An initiative's plan with the risks that touch it, mitigations inserted, and a Monte Carlo finish forecast."""
    run = prepare_run(FLOW, params.workspace)
    if isinstance(run, State):
        return run
    if isinstance(period := run.clock(params.as_of, Period), State):
        return period
    run.tag(period.key)
    try:
        # A plain call, not a task: a bad file is the user's error, one line in the run state, no task traceback.
        initiative = resolve_initiative(run.workspace, params.initiative, params.initiative_file)
    except InitiativeError as exc:
        return run.fail(f"{FLOW} stopped: {exc}", exc)
    planned = plan_initiative(run.data, initiative, period, params.iterations, params.seed, run.history, run.stage)
    registered = register_kpis_task(run.history, planned.kpis)
    published = publish(
        run,
        f"Risk-aware plan: {initiative.name}",
        plan_period_key(initiative, period.as_of),
        period.as_of,
        planned.sections,
        charts=planned.charts,
        tables=ARTIFACT_TABLES,
        subtitle=f"{run.config.company} · planned {period.as_of:%d %b %Y} · {initiative.objective}",
        summary=lambda: run.narrate("planning", planned.sections, planned.facts(), planned.template_summary),
        focus=planned.focus,
        focus_title="Decisions for the plan",
        section_charts=SECTION_CHARTS,
    )
    delivered = deliver(run, published, params.post_to_slack, planned.headlines(), focus_actions(planned.focus))
    return RiskAwarePlanningResult(
        initiative=initiative.name,
        as_of=period.as_of,
        **planned.forecast(),
        mitigation_tasks=planned.mitigation_tasks(),
        kpis_registered=registered,
        gantt_png=published.paths["chart:gantt"],
        summary_source=published.summary_source,
        delivered=delivered,
        **published.outputs(),
    )
