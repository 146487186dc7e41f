"""The vendor SLA review: what a vendor manager checks every morning before a renewal call, for every vendor."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow
from prefect.states import State
from pydantic import BaseModel, Field

from opsflow.params import WorkspaceParams, date_field, post_to_slack_field
from opsflow.period import Period
from tasks.coo.vendor_sla_review import review_vendors
from tasks.delivery.alerts import alert_on_failure
from tasks.reporting.report import report_dir
from tasks.run.skeleton import prepare_run, publish
from tasks.vendors.review import FLOW, review_charts_task

ARTIFACT_TABLES = [("scorecard", "scorecard"), ("flagged", "flagged"), ("renewals", "renewals")]


class VendorSlaReviewParams(WorkspaceParams):
    """Which day to review, which vendors, and what to post: the Prefect UI renders this as the run form."""

    as_of: date | None = date_field("Day to review (data up to its end). Empty: today in the workspace.")
    digest: bool | None = Field(
        None, description="Post the full scorecard digest. Empty: only when as_of is a Friday (the weekly schedule)."
    )
    vendor_ids: list[str] | None = Field(
        None,
        description="Review only these vendor ids (an ad-hoc look before a call: nothing is saved to history or "
        "posted). Empty: every vendor.",
    )
    post_to_slack: bool = post_to_slack_field(
        description="Post the daily alert (only when something changed) and the digest to Slack."
    )


DEFAULT_PARAMS = VendorSlaReviewParams()


class VendorSlaReviewResult(BaseModel):
    """Where the review's outputs are, what was posted, and how long each stage took."""

    as_of: date
    report_html: Path
    report_markdown: Path
    notices: list[Path] = Field(default_factory=list, description="Drafted breach notices, one per vendor.")
    new_signals: int = Field(description="Signals that were not there in the previous run.")
    alert: str = Field(description="What happened to the daily alert: posted, saved, or why not.")
    digest: str = Field(description="What happened to the digest: posted, saved, or why not.")
    delivered: list[str] = Field(default_factory=list, description="One line per Slack post.")
    timings: dict[str, float] = Field(default_factory=dict, description="Seconds per stage.")


@flow(name="vendor-sla-review", on_failure=[alert_on_failure])
def vendor_sla_review(params: VendorSlaReviewParams = DEFAULT_PARAMS) -> VendorSlaReviewResult | State:
    """Per vendor: delivery and quality against contract, grade, credits, renewals, notices; Slack on change."""
    run = prepare_run(FLOW, params.workspace)
    if isinstance(run, State):
        return run
    if isinstance(period := run.clock(params.as_of, Period), State):
        return period
    only = set(params.vendor_ids) if params.vendor_ids else None
    run.tag(period_key := period.key if only is None else f"{period.key}-selected")
    review = review_vendors(run.data, run.config, run.history, period, only)
    notices_dir = report_dir(run.workspace, FLOW, period_key) / "notices"
    notices, summary = review.write_up(notices_dir, run.config, run.narrator, run.usage)
    only_line = f" · vendors {', '.join(sorted(only))}" if only else ""
    published = publish(
        run,
        f"Vendor SLA review: {period.as_of:%d %B %Y}",
        period_key,
        period.as_of,
        review.sections,
        charts=lambda: review_charts_task(review.scorecard),
        tables=ARTIFACT_TABLES,
        save=False,  # not the generic history row: today's signals are saved once delivered (VendorReview.deliver)
        subtitle=f"{run.config.company} · 30 and 90 days to {period.as_of:%d %b %Y} ({period.tz}){only_line}",
        summary=summary,
        section_charts={"scorecard": ["vendor-ontime"]},
    )
    with run.stage("deliver"):
        sent = review.deliver(
            published.report, published.paths["html"], run.history, run.config.slack, params.post_to_slack,
            params.digest,
        )
    run.close()
    return VendorSlaReviewResult(
        as_of=period.as_of,
        notices=[n.path for n in notices],
        new_signals=len(review.changes.new),
        alert=sent.alert,
        digest=sent.digest,
        delivered=sent.delivered,
        **published.outputs(),
    )
