"""Problem -> solution -> metrics: a challenge routed to a skill, analysed on the data, planned, measured, tracked."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from prefect import flow
from prefect.states import State
from pydantic import BaseModel, Field

from opsflow.handoff import as_is
from opsflow.params import date_field, post_to_slack_field, workspace_field
from opsflow.period import Period
from opsflow.settings import get_settings
from opsflow.timing import StageTimer
from tasks.coo.audit import history_for
from tasks.coo.router import Skill, route_task
from tasks.coo.solution import (
    FLOW,
    action_plan_task,
    analyse_task,
    kpis_to_register,
    router_section,
    skill_sections,
    smart_metrics_task,
)
from tasks.data.prepare import load_workspace_data, not_usable
from tasks.delivery.alerts import alert_on_failure
from tasks.delivery.publish import post_report
from tasks.delivery.run_tags import period_tag, tag_flow_run_task
from tasks.performance_metrics.registry import register_kpis_task
from tasks.reporting.narrative import UsageLog, narrator_from_settings
from tasks.reporting.report import new_report, publish_report_artifacts_task, report_dir, write_report_task

ARTIFACT_TABLES = [("smart_metrics", "metrics"), ("plan", "actions"), ("analysis", "findings")]


# Not a WorkspaceParams: the challenge comes first in the form, and a base class's fields always come first.
class ProblemSolutionParams(BaseModel):
    """The challenge and who owns the result: the Prefect UI renders this as the run form."""

    challenge: str = Field(
        min_length=3,
        max_length=2000,
        description="The operational challenge in your words, e.g. 'order fulfilment takes 48 hours, we need 24' or "
        "'Vendor X contract renews in 60 days, need to evaluate performance'.",
    )
    workspace: Path = workspace_field()
    as_of: date | None = date_field(
        "Day the baseline is measured at (the week ending it). Empty: yesterday in the workspace's time "
        "zone, the last complete day."
    )
    owner: str | None = Field(None, description="Who owns the plan and the metrics (e.g. 'Head of Fulfilment').")
    deadline: date | None = Field(None, description="When the targets are due. Empty: as_of + 90 days.")
    register_kpis: bool = Field(
        True, description="Register the SMART metrics as KPIs, so every weekly audit tracks them in its KPI section."
    )
    post_to_slack: bool = post_to_slack_field("the plan")


class ProblemSolutionResult(BaseModel):
    """What the router chose, what was registered, and where the report is."""

    skill: Skill
    router_source: str = Field(description="'claude' or 'rules'.")
    subject: str | None
    registered_kpis: list[str] = Field(default_factory=list)
    report_html: Path
    report_markdown: Path
    delivered: list[str] = Field(default_factory=list, description="One line per Slack channel.")
    timings: dict[str, float] = Field(default_factory=dict, description="Seconds per stage.")


def _as_of(as_of: date | None, timezone: str) -> date:
    """The baseline's day: the given one, else yesterday (the last complete day) in the workspace's time zone."""
    return as_of or date.fromordinal(datetime.now(ZoneInfo(timezone)).date().toordinal() - 1)


def _run_key(as_of: date, challenge: str) -> str:
    """One report folder and one Slack post per day and challenge."""
    return f"{as_of.isoformat()}-{hashlib.sha256(challenge.encode()).hexdigest()[:8]}"


@flow(name="problem-solution-metrics", on_failure=[alert_on_failure])
def problem_solution_metrics(params: ProblemSolutionParams) -> ProblemSolutionResult | State:
    """A challenge, the skill it needs, that skill's findings on the data, a plan, and SMART metrics tracked weekly."""
    timer = StageTimer()
    prepared = load_workspace_data(params.workspace, timer)
    if prepared.reasons:
        return not_usable(FLOW, prepared)
    workspace, config, data = prepared.workspace, prepared.config, prepared.data
    period = Period(_as_of(params.as_of, config.timezone), config.timezone)
    tag_flow_run_task(period_tag(period.key))
    usage = UsageLog()

    with timer("route"):
        decision = route_task(params.challenge, narrator_from_settings(get_settings()), usage)
    with timer("compute"):
        sections = skill_sections(decision.skill, data, period)
        analysis = analyse_task(decision, sections, data, period, params.owner)
        smart = smart_metrics_task(decision, analysis, period, params.owner, params.deadline)
        plan = action_plan_task(analysis, smart, period, params.owner)
    history = history_for(workspace, config)
    registered = register_kpis_task(history, kpis_to_register(smart, period)) if params.register_kpis else []

    with timer("render"):
        key = _run_key(period.as_of, params.challenge)
        report = new_report(
            FLOW,
            f"Problem to metrics: {decision.skill.label.lower()}",
            key,
            prepared,
            timer,
            usage,
            subtitle=f"{config.company} · “{params.challenge[:200]}” · data as of {period.as_of:%d %b %Y}",
            sections=[router_section(decision, params.owner), analysis.section, plan, smart],
        )
        paths = write_report_task(as_is(report), report_dir(workspace, FLOW, key), {})
        publish_report_artifacts_task(as_is(report), paths, ARTIFACT_TABLES)

    delivered: list[str] = []
    if params.post_to_slack:
        with timer("deliver"):
            delivered = post_report(report, paths, history, config.slack, smart.headlines, plan.actions)
    history.close()
    return ProblemSolutionResult(
        skill=decision.skill,
        router_source=decision.source,
        subject=analysis.section.subject,
        registered_kpis=registered,
        report_html=paths["html"],
        report_markdown=paths["markdown"],
        delivered=delivered,
        timings=timer.seconds,
    )
