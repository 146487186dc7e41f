"""The risk-assessment flow: every open risk in the register re-scored against the evidence, with a treatment plan."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow
from prefect.states import State
from pydantic import BaseModel, Field

from opsflow.findings import Section
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
from tasks.risk_management.scoring import (
    FLOW_ASSESSMENT as FLOW,
)
from tasks.risk_management.scoring import (
    SECTION_CHARTS,
    assess_register_task,
    assessment_charts_task,
    assessment_facts,
    assessment_kpis,
    assessment_slack_headlines,
    load_previous_assessment_task,
    template_assessment_summary,
)
from tasks.vendors.scorecard import compute_vendors_task

ARTIFACT_TABLES = [("risk_assessment", "treatment_plan")]


class RiskAssessmentParams(WorkspaceParams):
    """Which register to re-assess and when: the Prefect UI renders this as the run form."""

    as_of: date | None = date_field(
        "Assessment date: the evidence is the incidents and deliveries up to it. Empty: the end of the "
        "last complete Monday-Sunday week."
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
    timer = StageTimer()
    prepared = load_workspace_data(params.workspace, timer)
    if prepared.reasons:
        return not_usable(FLOW, prepared)
    workspace, config, data = prepared.workspace, prepared.config, prepared.data
    period = audit_period(params.as_of, config.timezone)
    tag_flow_run_task(period_tag(period.key))

    with timer("compute"):
        vendors = compute_vendors_task(data.frame("vendors"), data.frame("vendor_deliveries"), period)
        flagged = set(vendors.flagged_vendor_ids)
        evidence = compute_risks_task(
            data.frame("risks"), data.frame("incidents"), data.frame("services"), period, flagged
        )
        assessment = assess_register_task(data.frame("risks"), evidence, data.frame("vendors"), period)
        sections: list[Section] = [assessment]
        focus = build_focus_task(as_is(sections), period)

    history = history_for(workspace, config)
    registered = register_kpis_task(history, assessment_kpis(evidence, period.as_of))
    with timer("render"):
        attach_previous(sections, load_previous_assessment_task(history, period.as_of))
        usage = UsageLog()
        summary = narrate_task(
            "planning",
            summary_figures(sections),
            assessment_facts(assessment),
            lambda: template_assessment_summary(assessment, period.as_of),
            narrator_from_settings(get_settings()),
            usage,
        )
        report = new_report(
            FLOW,
            f"Risk assessment: {period.as_of:%d %B %Y}",
            period.key,
            prepared,
            timer,
            usage,
            subtitle=f"{config.company} · the open risk register against the evidence up to {period.as_of:%d %b %Y}",
            summary=summary,
            focus=focus,
            focus_title="Treatment decisions",
            sections=sections,
            section_charts=SECTION_CHARTS,
        )
        charts = assessment_charts_task(assessment)
        paths = write_report_task(as_is(report), report_dir(workspace, FLOW, period.key), charts)
        save_report_task(history, report, period.as_of)
        publish_report_artifacts_task(as_is(report), paths, ARTIFACT_TABLES)

    delivered: list[str] = []
    if params.post_to_slack:
        with timer("deliver"):
            delivered = post_report(
                report, paths, history, config.slack, assessment_slack_headlines(assessment), focus_actions(focus)
            )
    history.close()
    figures = {h.key: h.value for h in assessment.headlines}
    return RiskAssessmentResult(
        as_of=period.as_of,
        open_risks=int(figures.get("risk_assessment.open") or 0),
        rerated=int(figures.get("risk_assessment.rerated") or 0),
        high_before=int(figures.get("risk_assessment.high_before") or 0),
        high_after=int(figures.get("risk_assessment.high_after") or 0),
        kpis_registered=registered,
        report_html=paths["html"],
        report_markdown=paths["markdown"],
        summary_source=summary.source,
        delivered=delivered,
        timings=timer.seconds,
    )
