"""The daily brief: "What should I work on today?" answered at 07:30, at most ten lines with owner and source."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from prefect import flow
from prefect.states import State
from pydantic import BaseModel, Field

from opsflow.params import WorkspaceParams, date_field, post_to_slack_field
from tasks.coo.brief import FLOW, MAX_LINES, BriefPeriod, brief_actions, brief_lines, select_brief_task
from tasks.coo.sections import compute_week
from tasks.delivery.alerts import alert_on_failure
from tasks.run.skeleton import deliver, prepare_run, publish


class DailyBriefParams(WorkspaceParams):
    """Which day, from which workspace, how many lines, and whether to post: the Prefect UI's run form."""

    as_of: date | None = date_field(
        "The day of the brief; the data is taken as known at 07:30 local time that day. Empty: today in "
        "the workspace's time zone."
    )
    limit: int = Field(MAX_LINES, ge=1, le=MAX_LINES, description="Lines in the brief (at most 10).")
    post_to_slack: bool = post_to_slack_field("the brief")


DEFAULT_PARAMS = DailyBriefParams()


class DailyBriefResult(BaseModel):
    """The brief's lines and where its report is."""

    as_of: date
    cutoff: datetime = Field(description="The instant the data is taken as known at (UTC).")
    lines: list[str] = Field(description="What to do, owner, source; at most ten.")
    closing: str = Field(description="Where to start, in one line.")
    report_html: Path
    report_markdown: Path
    delivered: list[str] = Field(default_factory=list, description="One line per Slack channel.")
    timings: dict[str, float] = Field(default_factory=dict, description="Seconds per stage.")


@flow(name="daily-brief", on_failure=[alert_on_failure])
def daily_brief(params: DailyBriefParams = DEFAULT_PARAMS) -> DailyBriefResult | State:
    """The day's urgent and important items from every dataset as known at 07:30, ten lines at most, to Slack."""
    run = prepare_run(FLOW, params.workspace)
    if isinstance(run, State):
        return run
    if isinstance(period := run.clock(params.as_of, BriefPeriod), State):
        return period
    run.tag(period.key)
    week = compute_week(run.data, period, run.history, run.config.end_activities())
    focus, brief = select_brief_task(week.sections, period, params.limit)
    published = publish(
        run,
        f"Daily brief: {period.as_of:%A %d %B %Y}",
        period.as_of.isoformat(),
        period.as_of,
        [brief],
        subtitle=f"{run.config.company} · as known at {period.cutoff:%H:%M} {period.tz}",
        focus=focus,
        focus_title="Focus for today",
    )
    actions = brief_actions(focus)
    delivered = deliver(run, published, params.post_to_slack, [], actions, focus.closing, week.open_severities)
    return DailyBriefResult(
        as_of=period.as_of,
        cutoff=period.end.to_pydatetime(),
        lines=brief_lines(focus),
        closing=focus.closing,
        delivered=delivered,
        **published.outputs(),
    )
