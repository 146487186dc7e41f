"""The daily brief: "What should I work on today?" answered at 07:30, at most ten lines with owner and source."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from prefect import flow
from prefect.states import State
from pydantic import BaseModel, Field

from opsflow.handoff import as_is
from opsflow.params import WorkspaceParams, date_field, post_to_slack_field
from opsflow.timing import StageTimer
from tasks.coo.audit import history_for
from tasks.coo.brief import (
    FLOW,
    MAX_LINES,
    BriefPeriod,
    brief_actions,
    brief_lines,
    select_brief_task,
)
from tasks.data.clock import on_the_clock
from tasks.data.prepare import load_workspace_data, not_usable
from tasks.delivery.alerts import alert_on_failure
from tasks.delivery.publish import post_report
from tasks.delivery.run_tags import period_tag, tag_flow_run_task
from tasks.incidents.metrics import compute_incidents_task
from tasks.performance_metrics.kpis import compute_kpis_task
from tasks.performance_metrics.registry import kpis_with_registered_task
from tasks.process_optimization.mining import compute_processes_task
from tasks.project_management.projects import compute_projects_task
from tasks.reporting.report import (
    new_report,
    publish_report_artifacts_task,
    report_dir,
    save_report_task,
    write_report_task,
)
from tasks.risk_management.register import compute_risks_task
from tasks.service_levels.slo import compute_sla_task
from tasks.vendors.scorecard import compute_vendors_task


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
    timer = StageTimer()
    prepared = load_workspace_data(params.workspace, timer)
    if prepared.reasons:
        return not_usable(FLOW, prepared)
    clocked = on_the_clock(prepared, FLOW, params.as_of, BriefPeriod)
    if isinstance(clocked, State):
        return clocked
    prepared, period = clocked
    workspace, config, data = prepared.workspace, prepared.config, prepared.data
    tag_flow_run_task(period_tag(period.key))

    with timer("compute"):
        incidents = compute_incidents_task(data.frame("incidents"), data.frame("services"), period)
        sla = compute_sla_task(data.frame("sla_events"), period, data.frame("services"))
        vendors = compute_vendors_task(data.frame("vendors"), data.frame("vendor_deliveries"), period)
        projects = compute_projects_task(data.frame("projects"), data.frame("project_tasks"), period)
        flagged = set(vendors.flagged_vendor_ids)
        risks = compute_risks_task(
            data.frame("risks"), data.frame("incidents"), data.frame("services"), period, flagged
        )
        processes = compute_processes_task(data.frame("process_events"), period, config.end_activities())
        history = history_for(workspace, config)
        measured = [incidents, sla, vendors, projects, risks, processes]
        kpis = compute_kpis_task(*kpis_with_registered_task(history, data, measured, period.as_of), period)
        focus, brief = select_brief_task(
            [incidents, sla, vendors, projects, risks, kpis, processes], period, params.limit
        )

    with timer("render"):
        report = new_report(
            FLOW,
            f"Daily brief: {period.as_of:%A %d %B %Y}",
            period.as_of.isoformat(),
            prepared,
            timer,
            subtitle=f"{config.company} · as known at {period.cutoff:%H:%M} {period.tz}",
            focus=focus,
            focus_title="Focus for today",
            sections=[brief],
        )
        out = report_dir(workspace, FLOW, report.period_key)
        paths = write_report_task(as_is(report), out, {})
        save_report_task(history, report, period.as_of)
        publish_report_artifacts_task(as_is(report), paths)

    delivered: list[str] = []
    if params.post_to_slack:
        with timer("deliver"):
            open_severities = sorted({r.severity for r in incidents.open_major})
            delivered = post_report(
                report,
                paths,
                history,
                config.slack,
                [],
                brief_actions(focus),
                focus.closing,
                severities=open_severities,
            )
    history.close()
    return DailyBriefResult(
        as_of=period.as_of,
        cutoff=period.end.to_pydatetime(),
        lines=brief_lines(focus),
        closing=focus.closing,
        report_html=paths["html"],
        report_markdown=paths["markdown"],
        delivered=delivered,
        timings=timer.seconds,
    )
