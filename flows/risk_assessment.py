"""The risk-assessment flow: every open risk in the register re-scored against the evidence, with a treatment plan."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow
from prefect.states import State
from pydantic import BaseModel, Field

from opsflow.params import WorkspaceParams, date_field, post_to_slack_field
from opsflow.period import Period
from tasks.coo.audit import focus_actions
from tasks.coo.focus import focus_on
from tasks.coo.sections import risk_evidence
from tasks.delivery.alerts import alert_on_failure
from tasks.performance_metrics.registry import register_kpis_task
from tasks.reporting.present import attach_previous
from tasks.risk_management.scoring import (
    FLOW_ASSESSMENT as FLOW,
)
from tasks.risk_management.scoring import (
    SECTION_CHARTS,
    assess_register_task,
    assessment_charts_task,
    assessment_counts,
    assessment_facts,
    assessment_kpis,
    assessment_slack_headlines,
    load_previous_assessment_task,
    template_assessment_summary,
)
from tasks.run.skeleton import deliver, prepare_run, publish

ARTIFACT_TABLES = [("risk_assessment", "treatment_plan")]


class RiskAssessmentParams(WorkspaceParams):
    """Which register to re-assess and when: the Prefect UI renders this as the run form."""

    as_of: date | None = date_field(
        "Assessment date: the evidence is the incidents and deliveries up to it. A week's last day. Empty: the "
        "last complete week the data covers."
    )
    post_to_slack: bool = post_to_slack_field()


DEFAULT_PARAMS = RiskAssessmentParams()


class RiskAssessmentResult(BaseModel):
    """The assessment in brief and where its outputs are."""

    as_of: date
    open_risks: int
    rerated: int = Field(description="Risks whose likelihood the evidence raised.")
    high_before: int
    high_after: int
    kpis_registered: list[str] = Field(default_factory=list)
    report_html: Path
    report_markdown: Path
    summary_source: str = Field(description="'claude' or 'template'.")
    delivered: list[str] = Field(default_factory=list, description="One line per Slack channel.")
    timings: dict[str, float] = Field(default_factory=dict, description="Seconds per stage.")


@flow(name="risk-assessment", on_failure=[alert_on_failure])
def risk_assessment(params: RiskAssessmentParams = DEFAULT_PARAMS) -> RiskAssessmentResult | State:
    """The open risk register re-scored against incident and vendor evidence, with a treatment plan and heat maps."""
    run = prepare_run(FLOW, params.workspace)
    if isinstance(run, State):
        return run
    if isinstance(period := run.clock(params.as_of, Period), State):
        return period
    data = run.data
    run.tag(period.key)
    _, evidence = risk_evidence(data, period)
    assessment = assess_register_task(data.frame("risks"), evidence, data.frame("vendors"), period)
    focus = focus_on([assessment], period)
    registered = register_kpis_task(run.history, assessment_kpis(evidence, period.as_of))
    attach_previous([assessment], load_previous_assessment_task(run.history, period.as_of))
    facts = assessment_facts(assessment)
    published = publish(
        run,
        f"Risk assessment: {period.as_of:%d %B %Y}",
        period.key,
        period.as_of,
        [assessment],
        charts=lambda: assessment_charts_task(assessment),
        tables=ARTIFACT_TABLES,
        subtitle=f"{run.config.company} · the open risk register against the evidence up to {period.as_of:%d %b %Y}",
        summary=lambda: run.narrate(
            "planning", [assessment], facts, template_assessment_summary, assessment, period.as_of
        ),
        focus=focus,
        focus_title="Treatment decisions",
        section_charts=SECTION_CHARTS,
    )
    headlines, actions = assessment_slack_headlines(assessment), focus_actions(focus)
    delivered = deliver(run, published, params.post_to_slack, headlines, actions)
    return RiskAssessmentResult(
        as_of=period.as_of,
        **assessment_counts(assessment),
        kpis_registered=registered,
        summary_source=published.summary_source,
        delivered=delivered,
        **published.outputs(),
    )
