"""The vendor SLA review: what a vendor manager checks every morning before a renewal call, for every vendor."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow
from prefect.states import State
from pydantic import BaseModel, Field

from opsflow.handoff import as_is
from opsflow.params import WorkspaceParams, date_field, post_to_slack_field
from opsflow.period import Period
from opsflow.settings import get_settings
from opsflow.timing import StageTimer
from tasks.coo.audit import history_for
from tasks.coo.vendor_review import ReviewDelivery, deliver_review, draft_notices_task, write_review_summary_task
from tasks.data.clock import on_the_clock
from tasks.data.prepare import load_workspace_data, not_usable
from tasks.delivery.alerts import alert_on_failure
from tasks.delivery.run_tags import period_tag, tag_flow_run_task
from tasks.reporting.narrative import UsageLog, narrator_from_settings
from tasks.reporting.report import new_report, publish_report_artifacts_task, report_dir, write_report_task
from tasks.service_levels.slo import compute_sla_task
from tasks.vendors.review import (
    FLOW,
    detect_changes_task,
    flagged_vendors_task,
    headline_map,
    load_previous_review_task,
    renewal_timelines_task,
    restrict_scorecard,
    review_charts_task,
    save_review_task,
    score_vendors_task,
    signals_by_vendor,
    vendor_incidents_task,
)
from tasks.vendors.scorecard import compute_vendors_task

ARTIFACT_TABLES = [("scorecard", "scorecard"), ("flagged", "flagged"), ("renewals", "renewals")]
AD_HOC = "not posted (a run restricted to vendor_ids is ad hoc)"


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
    """Per vendor: 30/90-day delivery and quality against contract, score and grade, signals, credits owed, incidents
    caused, renewal timeline, breach notices; a Slack alert when something changed, the scorecard on Fridays."""
    timer = StageTimer()
    prepared = load_workspace_data(params.workspace, timer)
    if prepared.reasons:
        return not_usable(FLOW, prepared)
    clocked = on_the_clock(prepared, FLOW, params.as_of, Period)
    if isinstance(clocked, State):
        return clocked
    prepared, period = clocked
    workspace, config, data = prepared.workspace, prepared.config, prepared.data
    only = set(params.vendor_ids) if params.vendor_ids else None
    period_key = period.key if only is None else f"{period.key}-selected"
    tag_flow_run_task(period_tag(period_key))
    out_dir = report_dir(workspace, FLOW, period_key)

    with timer("compute"):
        vendors, deliveries = data.frame("vendors"), data.frame("vendor_deliveries")
        audit = compute_vendors_task(vendors, deliveries, period)
        sla = compute_sla_task(data.frame("sla_events"), period, data.frame("services"))
        caused = vendor_incidents_task(data.frame("incidents"), data.frame("sla_events"), sla, vendors, period)
        full = score_vendors_task(audit, vendors, deliveries, caused, period, config.vendor_scoring)
        flagged = flagged_vendors_task(full, audit, vendors, caused, period, config.currency, only)
        renewals = renewal_timelines_task(audit, full, period, only)
        scorecard = restrict_scorecard(full, only)
        history = history_for(workspace, config)
        signals = signals_by_vendor(scorecard, renewals)
        names = {r.vendor_id: r.vendor for r in full.scorecard}
        changes = detect_changes_task(signals, load_previous_review_task(history, period.as_of), names, only)

    with timer("render"):
        usage = UsageLog()
        narrator = narrator_from_settings(get_settings())
        notices = draft_notices_task(
            scorecard, flagged, period, out_dir / "notices", config.company, config.currency, narrator, usage
        )
        flagged = flagged.model_copy(update={"notices": notices})
        sections = [scorecard, flagged, renewals, changes]
        summary = write_review_summary_task(scorecard, flagged, renewals, period, narrator, usage)
        report = new_report(
            FLOW,
            f"Vendor SLA review: {period.as_of:%d %B %Y}",
            period_key,
            prepared,
            timer,
            usage,
            subtitle=f"{config.company} · 30 and 90 days to {period.as_of:%d %b %Y} ({period.tz})"
            + (f" · vendors {', '.join(sorted(only))}" if only else ""),
            summary=summary,
            sections=sections,
            section_charts={"scorecard": ["vendor-ontime"]},
        )
        charts = review_charts_task(scorecard)
        paths = write_report_task(as_is(report), out_dir, charts)
        publish_report_artifacts_task(as_is(report), paths, ARTIFACT_TABLES)

    with timer("deliver"):
        if only is None:
            sent = deliver_review(
                scorecard, flagged, renewals, changes, period, paths["html"], history, config.slack,
                params.post_to_slack, params.digest,
            )  # fmt: skip
            # Saved after delivery: a failed alert leaves the previous signals, so the retry still sees the change.
            save_review_task(history, period, signals, headline_map(sections))
        else:
            sent = ReviewDelivery(alert=AD_HOC, digest=AD_HOC)
    history.close()
    return VendorSlaReviewResult(
        as_of=period.as_of,
        report_html=paths["html"],
        report_markdown=paths["markdown"],
        notices=[n.path for n in notices],
        new_signals=len(changes.new),
        alert=sent.alert,
        digest=sent.digest,
        delivered=sent.delivered,
        timings=timer.seconds,
    )
