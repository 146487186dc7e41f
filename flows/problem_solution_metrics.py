"""Problem -> solution -> metrics: a challenge routed to a skill, analysed on the data, planned, measured, tracked."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

from prefect import flow
from prefect.states import State
from pydantic import BaseModel, Field

from opsflow.params import date_field, post_to_slack_field, workspace_field
from opsflow.period import Period
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
from tasks.delivery.alerts import alert_on_failure
from tasks.performance_metrics.registry import register_kpis_task
from tasks.run.skeleton import deliver, prepare_run, publish

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
        "zone (the last complete day), or the last day the data covers when it stops earlier."
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


def _run_key(as_of: date, challenge: str) -> str:
    """One report folder and one Slack post per day and challenge."""
    return f"{as_of.isoformat()}-{hashlib.sha256(challenge.encode()).hexdigest()[:8]}"


@flow(name="problem-solution-metrics", on_failure=[alert_on_failure])
def problem_solution_metrics(params: ProblemSolutionParams) -> ProblemSolutionResult | State:
    """A challenge, the skill it needs, that skill's findings on the data, a plan, and SMART metrics tracked weekly."""
    run = prepare_run(FLOW, params.workspace)
    if isinstance(run, State):
        return run
    if isinstance(period := run.clock(params.as_of, Period), State):
        return period
    run.tag(period.key)
    with run.stage("route"):
        decision = route_task(params.challenge, run.narrator, run.usage)
    sections = skill_sections(decision.skill, run.data, period)
    analysis = analyse_task(decision, sections, run.data, period, params.owner)
    smart = smart_metrics_task(decision, analysis, period, params.owner, params.deadline)
    plan = action_plan_task(analysis, smart, period, params.owner)
    registered = register_kpis_task(run.history, kpis_to_register(smart, period)) if params.register_kpis else []
    published = publish(
        run,
        f"Problem to metrics: {decision.skill.label.lower()}",
        _run_key(period.as_of, params.challenge),
        period.as_of,
        [router_section(decision, params.owner), analysis.section, plan, smart],
        tables=ARTIFACT_TABLES,
        # Not saved to history: the SMART metrics live on as registered KPIs, tracked by every weekly audit.
        save=False,
        subtitle=f"{run.config.company} · “{params.challenge[:200]}” · data as of {period.as_of:%d %b %Y}",
    )
    delivered = deliver(run, published, params.post_to_slack, smart.headlines, plan.actions)
    return ProblemSolutionResult(
        skill=decision.skill,
        router_source=decision.source,
        subject=analysis.section.subject,
        registered_kpis=registered,
        delivered=delivered,
        **published.outputs(),
    )
