"""The performance review: KPIs and OKRs over a period, their trends, and the balanced scorecard."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from prefect import flow
from prefect.states import State
from pydantic import BaseModel, Field

from opsflow.findings import Headline, Section, pick_headlines
from opsflow.params import WorkspaceParams, date_field, post_to_slack_field
from opsflow.period import Period
from tasks.coo.audit import focus_actions
from tasks.coo.focus import focus_on
from tasks.coo.sections import kpi_sources
from tasks.coo.summary import summary_figures
from tasks.delivery.alerts import alert_on_failure
from tasks.performance_metrics.kpis import compute_kpis_task
from tasks.performance_metrics.registry import kpis_with_registered_task
from tasks.performance_metrics.review import (
    PERFORMANCE_CHARTS,
    TrendBucket,
    performance_charts_task,
    review_performance_task,
)
from tasks.run.skeleton import deliver, prepare_run, publish

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
        "Last day of the review period: KPI status and OKR scores are as of this day. Empty: the last "
        "day the data covers (today at most)."
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
    return pick_headlines(sections, SLACK_KEYS)


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
    run = prepare_run(FLOW, params.workspace)
    if isinstance(run, State):
        return run
    if isinstance(period := run.clock(params.period_end, Period), State):
        return period
    start = params.period_start or period.as_of - timedelta(days=DEFAULT_DAYS - 1)
    run.tag(key := f"{start.isoformat()}_{period.as_of.isoformat()}")
    # Registered KPIs are reviewed with the workspace's own; a KPI with a source reads the SLA or vendor figure.
    sources = kpi_sources(run.data, period.as_of, run.config.timezone)
    kpi_frame, observations = kpis_with_registered_task(run.history, run.data, sources, period.as_of)
    kpis = compute_kpis_task(kpi_frame, observations, period)
    review = review_performance_task(kpi_frame, observations, kpis, start, period.as_of, params.bucket)
    sections: list[Section] = [review, kpis]
    focus = focus_on(sections, period)
    facts = [f"Review period: {start.isoformat()} to {period.as_of.isoformat()}", f"Focus: {focus.closing}"]
    published = publish(
        run,
        f"Performance review: {start:%d %b %Y} to {period.as_of:%d %b %Y}",
        key,
        period.as_of,
        sections,
        charts=lambda: performance_charts_task(review),
        tables=ARTIFACT_TABLES,
        subtitle=f"{run.config.company} · KPIs, OKRs and the balanced scorecard ({period.tz})",
        summary=lambda: run.narrate("performance", sections, facts, _template, sections, start, period.as_of),
        focus=focus,
        focus_title="What to act on",
        section_charts=PERFORMANCE_CHARTS,
    )
    delivered = deliver(run, published, params.post_to_slack, _headlines(sections), focus_actions(focus))
    return PerformanceReviewResult(
        period_start=start,
        period_end=period.as_of,
        off_track=[r.kpi_id for r in kpis.kpis if r.status == "off_track"],
        perspectives=[r.perspective for r in review.scorecard],
        summary_source=published.summary_source,
        delivered=delivered,
        **published.outputs(),
    )
