"""The performance review: KPIs and OKRs over a period, their trends, and the balanced scorecard."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from prefect import flow
from prefect.states import State
from pydantic import BaseModel, Field

from opsflow.findings import Headline, Section
from opsflow.handoff import as_is
from opsflow.params import WorkspaceParams, date_field, post_to_slack_field
from opsflow.period import Period
from opsflow.settings import get_settings
from opsflow.timing import StageTimer
from tasks.coo.audit import audit_period, focus_actions, history_for
from tasks.coo.focus import build_focus_task
from tasks.coo.summary import summary_figures
from tasks.data.prepare import load_workspace_data, not_usable
from tasks.delivery.alerts import alert_on_failure
from tasks.delivery.publish import post_report
from tasks.delivery.run_tags import period_tag, tag_flow_run_task
from tasks.performance_metrics.kpis import compute_kpis_task
from tasks.performance_metrics.registry import kpis_with_registered_task
from tasks.performance_metrics.review import (
    PERFORMANCE_CHARTS,
    TrendBucket,
    performance_charts_task,
    review_performance_task,
)
from tasks.reporting.narrative import UsageLog, narrate_task, narrator_from_settings
from tasks.reporting.report import (
    new_report,
    publish_report_artifacts_task,
    report_dir,
    save_report_task,
    write_report_task,
)
from tasks.service_levels.slo import compute_sla_task
from tasks.vendors.scorecard import compute_vendors_task

FLOW = "performance-review"
DEFAULT_DAYS = 91
"""Default review period: the 13 weeks ending the last complete week."""
ARTIFACT_TABLES = [
    ("performance", "scorecard"),
    ("performance", "okrs"),
    ("performance", "trends"),
    ("kpis", "kpis"),
    ("kpis", "smart"),
]
SLACK_KEYS = (
    "kpis.on_track.share",
    "kpis.okr_score.mean",
    "kpis.off_track.count",
    "kpis.smart.failing",
    "performance.kpis.improving",
    "performance.kpis.worsening",
    "performance.okr.objectives_off_track",
    "performance.okr.mean_objective_score",
)


class PerformanceReviewParams(WorkspaceParams):
    """Which period to review, from which workspace, and whether to post: the Prefect UI renders this as the form."""

    period_start: date | None = date_field(
        f"First day of the review period. Empty: {DEFAULT_DAYS} days before the period's end + 1."
    )
    period_end: date | None = date_field(
        "Last day of the review period: KPI status and OKR scores are as of this day. Empty: the end "
        "of the last complete Monday-Sunday week."
    )
    bucket: TrendBucket = Field(TrendBucket.MONTH, description="Values per month or per week of the period.")
    post_to_slack: bool = post_to_slack_field()


DEFAULT_PARAMS = PerformanceReviewParams()


class PerformanceReviewResult(BaseModel):
    """Where the outputs are, the KPIs off track, and how long each stage took."""

    period_start: date
    period_end: date
    off_track: list[str] = Field(default_factory=list, description="KPIs off track at the end of the period.")
    perspectives: list[str] = Field(default_factory=list, description="Scorecard perspectives reported.")
    report_html: Path
    report_markdown: Path
    summary_source: str = Field(description="'claude' or 'template'.")
    delivered: list[str] = Field(default_factory=list, description="One line per Slack channel.")
    timings: dict[str, float] = Field(default_factory=dict, description="Seconds per stage.")


def _headlines(sections: list[Section]) -> list[Headline]:
    by_key = {h.key: h for s in sections for h in s.headlines}
    return [by_key[k] for k in SLACK_KEYS if k in by_key and by_key[k].value is not None]


def _kpis(n: float | int | str) -> str:
    return f"{n:g} KPI" if n == 1 else f"{n:g} KPIs"


def _template(sections: list[Section], start: date, end: date) -> str:
    figures = summary_figures(sections)
    parts = [f"Performance from {start.isoformat()} to {end.isoformat()}:"]
    if "kpis.off_track.count" in figures:
        parts.append(
            f"{_kpis(figures['kpis.off_track.count'])} off track, mean OKR score "
            f"{figures.get('kpis.okr_score.mean', 'n/a')}."
        )
    if "performance.kpis.worsening" in figures:
        parts.append(
            f"{_kpis(figures['performance.kpis.worsening'])} worsened and {figures['performance.kpis.improving']:g} "
            "improved over the period."
        )
    off = [a.text for s in sections for a in s.actions if a.kind == "kpi_off_track"]
    if off:
        parts.append(off[0])
    return " ".join(parts)


@flow(name=FLOW, on_failure=[alert_on_failure])
def performance_review(params: PerformanceReviewParams = DEFAULT_PARAMS) -> PerformanceReviewResult | State:
    """KPIs and their observations over a period: status, OKR scores, SMART gaps, trends, balanced scorecard."""
    timer = StageTimer()
    prepared = load_workspace_data(params.workspace, timer)
    if prepared.reasons:
        return not_usable(FLOW, prepared)
    workspace, config, data = prepared.workspace, prepared.config, prepared.data
    period = audit_period(params.period_end, config.timezone)
    start = params.period_start or period.as_of - timedelta(days=DEFAULT_DAYS - 1)
    key = f"{start.isoformat()}_{period.as_of.isoformat()}"
    tag_flow_run_task(period_tag(key))
    history = history_for(workspace, config)

    with timer("compute"):
        # Registered KPIs (proposed by other flows) are reviewed with the workspace's own; a KPI with a source reads
        # the SLA or vendor figure, computed by the same tasks as the audit's.
        day = Period(period.as_of, config.timezone)
        sources = [
            compute_sla_task(data.frame("sla_events"), day, data.frame("services")),
            compute_vendors_task(data.frame("vendors"), data.frame("vendor_deliveries"), day),
        ]
        kpi_frame, observations = kpis_with_registered_task(history, data, sources, period.as_of)
        kpis = compute_kpis_task(kpi_frame, observations, Period(period.as_of, config.timezone))
        review = review_performance_task(kpi_frame, observations, kpis, start, period.as_of, params.bucket)
        sections: list[Section] = [review, kpis]
        focus = build_focus_task(as_is(sections), period)

    with timer("render"):
        usage = UsageLog()
        summary = narrate_task(
            "performance",
            summary_figures(sections),
            [f"Review period: {start.isoformat()} to {period.as_of.isoformat()}", f"Focus: {focus.closing}"],
            lambda: _template(sections, start, period.as_of),
            narrator_from_settings(get_settings()),
            usage,
        )
        report = new_report(
            FLOW,
            f"Performance review: {start:%d %b %Y} to {period.as_of:%d %b %Y}",
            key,
            prepared,
            timer,
            usage,
            subtitle=f"{config.company} · KPIs, OKRs and the balanced scorecard ({period.tz})",
            summary=summary,
            focus=focus,
            focus_title="What to act on",
            sections=sections,
            section_charts=PERFORMANCE_CHARTS,
        )
        charts = performance_charts_task(review)
        paths = write_report_task(as_is(report), report_dir(workspace, FLOW, key), charts)
        save_report_task(history, report, period.as_of)
        publish_report_artifacts_task(as_is(report), paths, ARTIFACT_TABLES)

    delivered: list[str] = []
    if params.post_to_slack:
        with timer("deliver"):
            delivered = post_report(report, paths, history, config.slack, _headlines(sections), focus_actions(focus))
    history.close()
    return PerformanceReviewResult(
        period_start=start,
        period_end=period.as_of,
        off_track=[r.kpi_id for r in kpis.kpis if r.status == "off_track"],
        perspectives=[r.perspective for r in review.scorecard],
        report_html=paths["html"],
        report_markdown=paths["markdown"],
        summary_source=summary.source,
        delivered=delivered,
        timings=timer.seconds,
    )
