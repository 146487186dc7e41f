"""The risk-aware planning flow (Pattern 2): scope, risks, mitigations in the plan, schedule, success metrics."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow
from prefect.states import Failed, State
from pydantic import BaseModel, Field

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
from tasks.project_management.planning import (
    FLOW,
    SECTION_CHARTS,
    Initiative,
    InitiativeError,
    build_plan_task,
    current_figures_task,
    identify_risks_task,
    plan_period_key,
    planning_charts_task,
    planning_facts,
    previous_plan_task,
    resolve_initiative,
    risk_section_task,
    schedule_section_task,
    slack_headlines,
    success_kpis_task,
    task_starts,
    template_planning_summary,
)
from tasks.project_management.schedule import critical_path_task, days_available, simulate_task
from tasks.reporting.narrative import UsageLog, narrate_task, narrator_from_settings
from tasks.reporting.present import attach_previous
from tasks.reporting.report import (
    new_report,
    publish_report_artifacts_task,
    report_dir,
    save_report_task,
    write_report_task,
)
from tasks.risk_management.register import compute_risks_task
from tasks.vendors.scorecard import compute_vendors_task

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
        "the initiative gives a start. Empty: the end of the last complete Monday-Sunday week."
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
    timer = StageTimer()
    prepared = load_workspace_data(params.workspace, timer)
    if prepared.reasons:
        return not_usable(FLOW, prepared)
    workspace, config, data = prepared.workspace, prepared.config, prepared.data
    period = audit_period(params.as_of, config.timezone)
    tag_flow_run_task(period_tag(period.key))
    try:
        # A plain call, not a task: a bad file is the user's error, one line in the run state, no task traceback.
        initiative = resolve_initiative(workspace, params.initiative, params.initiative_file)
    except InitiativeError as exc:
        return Failed(message=f"{FLOW} stopped: {exc}", data=exc)
    start = initiative.start_on(period.as_of)

    with timer("compute"):
        vendors = compute_vendors_task(data.frame("vendors"), data.frame("vendor_deliveries"), period)
        evidence = compute_risks_task(
            data.frame("risks"),
            data.frame("incidents"),
            data.frame("services"),
            period,
            set(vendors.flagged_vendor_ids),
        )
        risks = identify_risks_task(initiative, data, evidence, vendors, period)
        plan = build_plan_task(initiative, risks)
        cpm = critical_path_task(plan.tasks)
        deadline_days = days_available(start, initiative.deadline_on(period.as_of))
    with timer("simulate"):
        sim = simulate_task(plan.tasks, plan.events, deadline_days, params.iterations, params.seed)
        untreated = simulate_task(
            plan.untreated_tasks, plan.untreated_events, deadline_days, params.iterations, params.seed
        )
    with timer("compute"):
        risks_section = risk_section_task(plan.risks, sim, task_starts(cpm, start))
        schedule = schedule_section_task(initiative, plan, cpm, sim, untreated, period.as_of)
        figures = current_figures_task(data, period, [m.metric_key for m in initiative.success_metrics], vendors)
        kpis, metrics = success_kpis_task(initiative, sim, figures, period.as_of)
        sections = [schedule, risks_section, metrics]
        focus = build_focus_task(as_is(sections), period)

    history = history_for(workspace, config)
    registered = register_kpis_task(history, kpis)
    period_key = plan_period_key(initiative, period.as_of)
    with timer("render"):
        attach_previous(sections, previous_plan_task(history, initiative, period.as_of))
        usage = UsageLog()
        summary = narrate_task(
            "planning",
            summary_figures(sections),
            planning_facts(initiative, sim, risks_section.risks, period.as_of),
            lambda: template_planning_summary(initiative, sim, untreated, risks_section.risks, period.as_of),
            narrator_from_settings(get_settings()),
            usage,
        )
        report = new_report(
            FLOW,
            f"Risk-aware plan: {initiative.name}",
            period_key,
            prepared,
            timer,
            usage,
            subtitle=f"{config.company} · planned {period.as_of:%d %b %Y} · {initiative.objective}",
            summary=summary,
            focus=focus,
            focus_title="Decisions for the plan",
            sections=sections,
            section_charts=SECTION_CHARTS,
        )
        charts = planning_charts_task(initiative, cpm, sim, risks_section, period.as_of)
        paths = write_report_task(as_is(report), report_dir(workspace, FLOW, period_key), charts)
        save_report_task(history, report, period.as_of)
        publish_report_artifacts_task(as_is(report), paths, ARTIFACT_TABLES)

    delivered: list[str] = []
    if params.post_to_slack:
        with timer("deliver"):
            delivered = post_report(
                report, paths, history, config.slack, slack_headlines(sections), focus_actions(focus)
            )
    history.close()
    return RiskAwarePlanningResult(
        initiative=initiative.name,
        as_of=period.as_of,
        p50_days=sim.p50_days,
        p80_days=sim.p80_days,
        p95_days=sim.p95_days,
        on_time_probability=sim.on_time_probability,
        mitigation_tasks=[t.id for t in plan.tasks if t.kind == "mitigation"],
        kpis_registered=registered,
        report_html=paths["html"],
        report_markdown=paths["markdown"],
        gantt_png=paths["chart:gantt"],
        summary_source=summary.source,
        delivered=delivered,
        timings=timer.seconds,
    )
