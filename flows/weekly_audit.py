"""The weekly operational audit: the main job, what an operations leader reads on Monday morning."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow
from prefect.states import State
from pydantic import BaseModel, Field

from opsflow.params import WorkspaceParams, date_field, post_to_slack_field
from opsflow.period import Period
from tasks.coo.audit import AUDIT_TILES, FLOW, audit_summary, focus_actions, load_previous_audit_task, slack_headlines
from tasks.coo.audit_charts import SECTION_CHARTS, audit_charts
from tasks.coo.focus import focus_on
from tasks.coo.leadership import leadership_update
from tasks.coo.sections import compute_week
from tasks.delivery.alerts import alert_on_failure
from tasks.reporting.present import attach_previous
from tasks.run.skeleton import deliver, prepare_run, publish

ARTIFACT_TABLES = [
    ("vendors", "scorecard"),
    ("sla", "by_category"),
    ("projects", "projects"),
    ("risks", "top_risks"),
    ("kpis", "perspectives"),
]


class WeeklyAuditParams(WorkspaceParams):
    """Which week to audit, from which workspace, and whether to post: the Prefect UI renders this as the run form."""

    as_of: date | None = date_field(
        "Last day of the week to audit (a Sunday by default). Empty: the last complete week the data covers."
    )
    capacity_growth: float = Field(
        0.15,
        ge=-0.5,
        le=3.0,
        description="The capacity what-if: growth of each resource's utilization per month (0.15 = +15% a month).",
    )
    post_to_slack: bool = post_to_slack_field()


DEFAULT_PARAMS = WeeklyAuditParams()


class WeeklyAuditResult(BaseModel):
    """Where the audit's outputs are and how long each stage took."""

    as_of: date
    report_html: Path
    report_markdown: Path
    summary_source: str = Field(description="'claude' or 'template'.")
    delivered: list[str] = Field(default_factory=list, description="One line per Slack channel.")
    timings: dict[str, float] = Field(default_factory=dict, description="Seconds per stage.")
    peak_memory_mib: dict[str, int] = Field(
        default_factory=dict, description="The process's peak memory (MiB) as each stage ended."
    )


@flow(name="weekly-audit", on_failure=[alert_on_failure])
def weekly_audit(params: WeeklyAuditParams = DEFAULT_PARAMS) -> WeeklyAuditResult | State:
    """The week's incidents, SLAs, vendors, projects, risks, KPIs and processes, compared with last week."""
    run = prepare_run(FLOW, params.workspace)
    if isinstance(run, State):
        return run
    if isinstance(period := run.clock(params.as_of, Period), State):
        return period
    run.tag(period.key)
    week = compute_week(
        run.data, period, run.history, run.config.end_activities(), parallel=True, growth=params.capacity_growth
    )
    focus = focus_on(week.sections, period)
    attach_previous(week.sections, load_previous_audit_task(run.history, period.as_of))
    published = publish(
        run,
        f"Weekly operational audit: week ending {period.as_of:%d %B %Y}",
        period.key,
        period.as_of,
        week.sections,
        charts=lambda: audit_charts(week.sections),
        tables=ARTIFACT_TABLES,
        subtitle=f"{run.config.company} · {period.week_start:%d %b} to {period.as_of:%d %b %Y} ({period.tz})",
        summary=lambda: audit_summary(week.sections, focus, period, run.narrator, run.usage),
        focus=focus,
        section_charts=SECTION_CHARTS,
        key_figures=list(AUDIT_TILES),
        leadership_update=leadership_update(week.sections, focus, period, run.config.company),
    )
    # An open SEV1/SEV2 also brings the post to that severity's channel (opsflow.yaml severity_channels).
    headlines, actions = slack_headlines(week.sections), focus_actions(focus)
    delivered = deliver(run, published, params.post_to_slack, headlines, actions, focus.closing, week.open_severities)
    return WeeklyAuditResult(
        as_of=period.as_of,
        summary_source=published.summary_source,
        delivered=delivered,
        peak_memory_mib=run.timer.peak_mib,
        **published.outputs(),
    )
