"""The contingency drill: a business-continuity exercise as code, scored for readiness and recorded as a drill."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow
from prefect.states import State
from pydantic import BaseModel, Field

from opsflow.params import WorkspaceParams, date_field, post_to_slack_field, workspace_field
from opsflow.period import Period
from tasks.continuity.chaos import confirmed
from tasks.continuity.scenarios import FLOW, run_drill_task
from tasks.coo.audit import focus_actions
from tasks.coo.drill import assess_drill, choose_scenario
from tasks.coo.drill_report import drill_summary_task
from tasks.delivery.alerts import alert_on_failure
from tasks.run.skeleton import deliver, prepare_run, publish

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
    confirm_faults: bool = Field(
        False,
        description="Inject the scenario's real fault (a Chaos Toolkit experiment whose method changes something). "
        "Needed for a run from the Prefect UI or a schedule; without it such a run is a tabletop exercise. A run "
        "started by hand with `opsflow run` counts as confirmed.",
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
    run = prepare_run(FLOW, params.workspace)
    if isinstance(run, State):
        return run
    if isinstance(period := run.clock(params.as_of, Period), State):
        return period
    run.tag(period.key)
    with run.stage("plan"):
        choice = choose_scenario(run.workspace, run.data, run.history, period, params.scenario, params.cycle_days)
    if (scenario := choice.scenario) is None:
        return run.fail(choice.why_none, ValueError(choice.why_none))
    with run.stage("drill"):
        drill = run_drill_task(scenario, run.workspace, params.run_probes, confirmed(params.confirm_faults))
    found = assess_drill(scenario, drill, choice.schedule, run.data, run.history, period)
    published = publish(
        run,
        f"Contingency drill: {scenario.title}",
        found.key,
        period.as_of,
        found.sections,
        charts=found.charts,
        tables=ARTIFACT_TABLES,
        save_extra=found.record(),
        subtitle=found.subtitle(run.config.company),
        summary=lambda: drill_summary_task(scenario, drill, found.readiness, found.impact, run.narrator, run.usage),
        focus=found.focus,
        focus_title="Action items",
        section_charts=SECTION_CHARTS,
    )
    incidents_path = found.record_incident(run.workspace)
    delivered = deliver(run, published, params.post_to_slack, found.headlines(), focus_actions(found.focus))
    return ContingencyDrillResult(
        **found.result_fields(),
        drill_incidents=incidents_path,
        summary_source=published.summary_source,
        delivered=delivered,
        **published.outputs(),
    )
