"""The contingency drill: a business-continuity exercise as code, scored for readiness and recorded as a drill."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from prefect import flow
from prefect.states import Failed, State
from pydantic import BaseModel, Field

from opsflow.handoff import as_is
from opsflow.params import WorkspaceParams, date_field, post_to_slack_field, workspace_field
from opsflow.period import Period
from opsflow.settings import get_settings
from opsflow.timing import StageTimer
from tasks.continuity.assess import (
    assess_readiness_task,
    compute_impact_task,
    drill_section,
    plan_schedule_task,
    previous_drill,
)
from tasks.continuity.scenarios import EXERCISED, FLOW, load_scenarios_task, record_drill_incident_task, run_drill_task
from tasks.coo.audit import focus_actions, history_for
from tasks.coo.drill_report import (
    build_drill_charts,
    drill_headlines,
    drill_record,
    drill_summary_task,
    history_section,
    incident_rows,
    no_scenario_message,
)
from tasks.coo.focus import build_focus_task
from tasks.data.prepare import load_workspace_data, not_usable
from tasks.delivery.alerts import alert_on_failure
from tasks.delivery.publish import post_report
from tasks.delivery.run_tags import period_tag, tag_flow_run_task
from tasks.reporting.narrative import UsageLog, narrator_from_settings
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

ARTIFACT_TABLES = [
    ("readiness", "findings"),
    ("readiness", "recovery"),
    ("impact", "services"),
    ("schedule", "candidates"),
    ("schedule", "coverage"),
]
SECTION_CHARTS = {"readiness": ["recovery-vs-rto"], "history": ["readiness-trend"]}


class ContingencyDrillParams(WorkspaceParams):
    """Which scenario to drill, in which workspace, and how: the Prefect UI renders this as the run form."""

    workspace: Path = workspace_field("Workspace folder: holds opsflow.yaml, the exports and drills/.")
    scenario: str | None = Field(
        None,
        description="Scenario id from drills/*.yaml. Empty: the one with the highest residual risk x days since it "
        "was last exercised.",
    )
    as_of: date | None = date_field(
        "Day the drill is recorded on and readiness is judged at. Empty: today (workspace time zone)."
    )
    run_probes: bool = Field(
        True,
        description="Run the probes, fault, recovery and rollback. Off: a tabletop exercise (readiness, impact).",
    )
    cycle_days: int = Field(
        90, ge=1, le=3650, description="Every critical service must be drilled at least once in this many days."
    )
    post_to_slack: bool = post_to_slack_field()


DEFAULT_PARAMS = ContingencyDrillParams()


class ContingencyDrillResult(BaseModel):
    """How the drill went and where its outputs are."""

    scenario: str
    outcome: str = Field(description="passed, failed, aborted (steady state did not hold first) or tabletop.")
    readiness_score: int = Field(description="0-100.")
    recovery_seconds: float | None = Field(None, description="Measured time to recover; empty when not measured.")
    report_html: Path
    report_markdown: Path
    drill_incidents: Path | None = Field(
        None,
        description="CSV the drill incident was added to (incidents contract columns, kind drill); empty when "
        "the drill was aborted or a tabletop.",
    )
    summary_source: str = Field(description="'claude' or 'template'.")
    delivered: list[str] = Field(default_factory=list, description="One line per Slack channel.")
    timings: dict[str, float] = Field(default_factory=dict, description="Seconds per stage.")


@flow(name="contingency-drill", on_failure=[alert_on_failure])
def contingency_drill(params: ContingencyDrillParams = DEFAULT_PARAMS) -> ContingencyDrillResult | State:
    """A continuity scenario drilled against its steady state, with its impact, readiness score and history."""
    timer = StageTimer()
    prepared = load_workspace_data(params.workspace, timer)
    if prepared.reasons:
        return not_usable(FLOW, prepared)
    workspace, config, data = prepared.workspace, prepared.config, prepared.data
    period = Period(params.as_of or datetime.now(ZoneInfo(config.timezone)).date(), config.timezone)
    tag_flow_run_task(period_tag(period.key))
    history = history_for(workspace, config)

    with timer("plan"):
        scenarios = load_scenarios_task(workspace)
        vendors = compute_vendors_task(data.frame("vendors"), data.frame("vendor_deliveries"), period)
        risks = compute_risks_task(
            data.frame("risks"),
            data.frame("incidents"),
            data.frame("services"),
            period,
            set(vendors.flagged_vendor_ids),
        )
        schedule = plan_schedule_task(
            scenarios,
            params.scenario,
            data.frame("services"),
            data.frame("vendors"),
            data.frame("risks"),
            risks,
            data.frame("incidents"),
            history,
            period,
            params.cycle_days,
        )
        scenario = scenarios.get(schedule.chosen)
        if scenario is None:
            history.close()
            message = no_scenario_message(workspace, params.scenario, scenarios)
            return Failed(message=message, data=ValueError(message))

    with timer("drill"):
        run = run_drill_task(scenario, workspace, params.run_probes)

    with timer("compute"):
        impact = compute_impact_task(
            scenario,
            data.frame("services"),
            data.frame("vendors"),
            data.frame("sla_events"),
            data.frame("process_events"),
            period,
        )
        readiness = assess_readiness_task(
            scenario, run, impact, data.frame("services"), data.frame("vendors"), data.frame("incidents"), period
        )
        drill = drill_section(scenario, run)
        past = history_section(history, scenario.id, period.as_of, [readiness, drill, impact], run.outcome)
        sections = [readiness, drill, impact, schedule, past]
        attach_previous(sections, previous_drill(history, scenario.id, period.as_of))
        focus = build_focus_task(as_is(sections), period)

    with timer("render"):
        key = f"{scenario.id}-{period.as_of.isoformat()}"
        usage = UsageLog()
        summary = drill_summary_task(scenario, run, readiness, impact, narrator_from_settings(get_settings()), usage)
        report = new_report(
            FLOW,
            f"Contingency drill: {scenario.title}",
            key,
            prepared,
            timer,
            usage,
            subtitle=f"{config.company} · {period.as_of:%d %B %Y} · {run.outcome} · readiness {readiness.score}/100",
            summary=summary,
            focus=focus,
            focus_title="Action items",
            sections=sections,
            section_charts=SECTION_CHARTS,
        )
        paths = write_report_task(as_is(report), report_dir(workspace, FLOW, key), build_drill_charts(readiness, past))
        save_report_task(history, report, period.as_of, drill_record(scenario, run, impact.primary_services))
        incidents_path = None
        if run.outcome in EXERCISED:
            incidents_path = record_drill_incident_task(workspace, incident_rows(scenario, run, impact, period.as_of))
        publish_report_artifacts_task(as_is(report), paths, ARTIFACT_TABLES)

    delivered: list[str] = []
    if params.post_to_slack:
        with timer("deliver"):
            delivered = post_report(
                report, paths, history, config.slack, drill_headlines(sections), focus_actions(focus)
            )
    history.close()
    return ContingencyDrillResult(
        scenario=scenario.id,
        outcome=str(run.outcome),
        readiness_score=readiness.score,
        recovery_seconds=run.recovery_seconds,
        report_html=paths["html"],
        report_markdown=paths["markdown"],
        drill_incidents=incidents_path,
        summary_source=summary.source,
        delivered=delivered,
        timings=timer.seconds,
    )
