"""The vendor SLA review's steps: every vendor's figures and signals, the notices and summary written from them, and
the delivery that records today's signals once sent."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from opsflow.config import SlackConfig, WorkspaceConfig
from opsflow.datasets import OpsData
from opsflow.findings import Section, headline_values
from opsflow.history import HistoryStore
from opsflow.period import Period
from tasks.coo.vendor_review import ReviewDelivery, deliver_review, draft_notices_task, write_review_summary_task
from tasks.reporting.narrative import Narrative, Narrator, UsageLog
from tasks.reporting.report import FlowReport
from tasks.service_levels.slo import compute_sla_task
from tasks.vendors.review import (
    ChangesSection,
    FlaggedSection,
    NoticeRow,
    RenewalSection,
    ScorecardSection,
    detect_changes_task,
    flagged_vendors_task,
    load_previous_review_task,
    renewal_timelines_task,
    restrict_scorecard,
    save_review_task,
    score_vendors_task,
    signals_by_vendor,
    vendor_incidents_task,
)
from tasks.vendors.scorecard import compute_vendors_task

AD_HOC = "not posted (a run restricted to vendor_ids is ad hoc)"


@dataclass
class VendorReview:
    """The review's sections and today's signals per vendor; `only` the vendors an ad-hoc run is restricted to."""

    period: Period
    only: set[str] | None
    scorecard: ScorecardSection
    flagged: FlaggedSection
    renewals: RenewalSection
    changes: ChangesSection
    signals: dict[str, list[str]]

    @property
    def sections(self) -> list[Section]:
        return [self.scorecard, self.flagged, self.renewals, self.changes]

    def write_up(
        self, notices_dir: Path, config: WorkspaceConfig, narrator: Narrator, usage: UsageLog
    ) -> tuple[list[NoticeRow], Narrative]:
        """The breach notices (drafted into `notices_dir`, listed in the flagged section) and the summary."""
        notices = draft_notices_task(
            self.scorecard, self.flagged, self.period, notices_dir, config.company, config.currency, narrator, usage
        )
        self.flagged = self.flagged.model_copy(update={"notices": notices})
        summary = write_review_summary_task(self.scorecard, self.flagged, self.renewals, self.period, narrator, usage)
        return notices, summary

    def deliver(
        self, report: FlowReport, report_html: Path, history: HistoryStore, slack: SlackConfig, post: bool,
        digest: bool | None,
    ) -> ReviewDelivery:
        """The daily alert (when a signal is new) and the digest; an ad-hoc run posts and saves nothing."""
        if self.only is not None:
            return ReviewDelivery(alert=AD_HOC, digest=AD_HOC)
        sent = deliver_review(
            self.scorecard, self.flagged, self.renewals, self.changes, self.period, report_html, history, slack,
            post, digest, report,
        )  # fmt: skip
        # Saved after delivery: a failed alert leaves the previous signals, so the retry still sees the change.
        save_review_task(history, self.period, self.signals, headline_values(self.sections))
        return sent


def review_vendors(
    data: OpsData, config: WorkspaceConfig, history: HistoryStore, period: Period, only: set[str] | None
) -> VendorReview:
    """Per vendor: delivery and quality against contract, incidents caused, score, signals, renewal timeline, and
    what changed since the previous run."""
    vendors, deliveries = data.frame("vendors"), data.frame("vendor_deliveries")
    audit = compute_vendors_task(vendors, deliveries, period)
    sla = compute_sla_task(
        data.frame("sla_events"), period, data.frame("services"), None, data.frame("service_metrics")
    )
    caused = vendor_incidents_task(data.frame("incidents"), data.frame("sla_events"), sla, vendors, period)
    full = score_vendors_task(audit, vendors, deliveries, caused, period, config.vendor_scoring)
    flagged = flagged_vendors_task(full, audit, vendors, caused, period, config.currency, only)
    renewals = renewal_timelines_task(audit, full, period, only)
    scorecard = restrict_scorecard(full, only)
    signals = signals_by_vendor(scorecard, renewals)
    names = {r.vendor_id: r.vendor for r in full.scorecard}
    changes = detect_changes_task(signals, load_previous_review_task(history, period.as_of), names, only)
    return VendorReview(period, only, scorecard, flagged, renewals, changes, signals)
