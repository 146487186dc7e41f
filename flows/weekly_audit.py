"""The weekly operational audit: the main job, what an operations leader reads on Monday morning."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow
from prefect.states import State
from pydantic import BaseModel, Field

from opsflow.handoff import as_is
from opsflow.memory import release_free_memory
from opsflow.params import WorkspaceParams, date_field, post_to_slack_field
from opsflow.period import Period
from opsflow.settings import get_settings
from opsflow.timing import StageTimer
from tasks.coo.audit import (
    FLOW,
    focus_actions,
    history_for,
    load_previous_audit_task,
    slack_headlines,
    write_summary_task,
)
from tasks.coo.audit_charts import SECTION_CHARTS, build_audit_charts_task
from tasks.coo.focus import build_focus_task
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
from tasks.service_levels.slo import compute_sla_task
from tasks.vendors.scorecard import compute_vendors_task

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
        "Last day of the week to audit (usually a Sunday). Empty: the last complete Monday-Sunday week."
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
    timer = StageTimer()
    prepared = load_workspace_data(params.workspace, timer)
    if prepared.reasons:
        return not_usable(FLOW, prepared)
    clocked = on_the_clock(prepared, FLOW, params.as_of, Period)
    if isinstance(clocked, State):
        return clocked
    prepared, period = clocked
    workspace, config, data = prepared.workspace, prepared.config, prepared.data
    tag_flow_run_task(period_tag(period.key))

    with timer("compute"):
        # Independent sections go to the flow's task runner together (threads here, a Dask cluster if configured).
        # Process mining, the largest in memory, runs once the others are done, so their working sets never add up.
        incidents_run = compute_incidents_task.submit(data.frame("incidents"), data.frame("services"), period)
        sla_run = compute_sla_task.submit(data.frame("sla_events"), period, data.frame("services"))
        vendors_run = compute_vendors_task.submit(data.frame("vendors"), data.frame("vendor_deliveries"), period)
        projects_run = compute_projects_task.submit(data.frame("projects"), data.frame("project_tasks"), period)
        incidents, sla, vendors = incidents_run.result(), sla_run.result(), vendors_run.result()
        projects = projects_run.result()
        release_free_memory()
        processes = compute_processes_task(data.frame("process_events"), period, config.end_activities())
        flagged = set(vendors.flagged_vendor_ids)
        risks = compute_risks_task(
            data.frame("risks"), data.frame("incidents"), data.frame("services"), period, flagged
        )
        # KPIs last: the KPIs other flows registered are measured by this week's figures.
        history = history_for(workspace, config)
        measured = [incidents, sla, vendors, projects, risks, processes]
        kpis = compute_kpis_task(*kpis_with_registered_task(history, data, as_is(measured), period.as_of), period)
        sections = [incidents, sla, vendors, projects, risks, kpis, processes]
        focus = build_focus_task(as_is(sections), period)

    with timer("render"):
        attach_previous(sections, load_previous_audit_task(history, period.as_of))
        usage = UsageLog()
        summary = write_summary_task(
            as_is(sections), as_is(focus), period, narrator_from_settings(get_settings()), usage
        )
        report = new_report(
            FLOW,
            f"Weekly operational audit: week ending {period.as_of:%d %B %Y}",
            period.key,
            prepared,
            timer,
            usage,
            subtitle=f"{config.company} · {period.week_start:%d %b} to {period.as_of:%d %b %Y} ({period.tz})",
            summary=summary,
            focus=focus,
            sections=sections,
            section_charts=SECTION_CHARTS,
        )
        charts = build_audit_charts_task(as_is(sections))
        paths = write_report_task(as_is(report), report_dir(workspace, FLOW, period.key), charts)
        save_report_task(history, as_is(report), period.as_of)
        publish_report_artifacts_task(as_is(report), paths, ARTIFACT_TABLES)

    delivered: list[str] = []
    if params.post_to_slack:
        with timer("deliver"):
            # An open SEV1/SEV2 also brings the post to that severity's channel (opsflow.yaml severity_channels).
            open_severities = sorted({r.severity for r in incidents.open_major})
            delivered = post_report(
                report,
                paths,
                history,
                config.slack,
                slack_headlines(sections),
                focus_actions(focus),
                focus.closing,
                severities=open_severities,
            )
    history.close()
    return WeeklyAuditResult(
        as_of=period.as_of,
        report_html=paths["html"],
        report_markdown=paths["markdown"],
        summary_source=summary.source,
        delivered=delivered,
        timings=timer.seconds,
        peak_memory_mib=timer.peak_mib,
    )
