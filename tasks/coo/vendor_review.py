"""What the vendor SLA review says and sends: breach notices (polished by Claude when configured), the review's
summary, the daily change alert and the Friday digest to Slack, built on tasks.vendors.review's figures."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Literal

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, Field

from opsflow.config import SlackConfig
from opsflow.findings import Action, Headline, Section
from opsflow.history import HistoryStore
from opsflow.period import Period
from tasks.delivery.publish import sender_for
from tasks.delivery.slack import DeliveryResult, publish_to_slack
from tasks.reporting.narrative import Narrative, Narrator, UsageLog, narrate, ungrounded_numbers
from tasks.reporting.render import render
from tasks.vendors.review import (
    ALERT_HEADLINES,
    DIGEST_HEADLINES,
    FLOW,
    NOTICE_LOG_ROWS,
    NOTICE_TEMPLATE,
    RCA_DAYS,
    ChangesSection,
    FlaggedSection,
    NoticeRow,
    RenewalSection,
    ScorecardSection,
    VendorReviewRow,
    alert_actions,
    alert_markdown,
    by_urgency,
    digest_markdown,
    is_digest_day,
    notice_paragraph,
    pick_headlines,
    template_summary,
)

log = logging.getLogger("opsflow.vendor_review")


def polish_paragraph(
    paragraph: str, row: VendorReviewRow, narrator: Narrator, usage: UsageLog | None
) -> tuple[str, str | None]:
    """Claude's rewording of the paragraph when it keeps every number (and adds none) and names the vendor; else the
    paragraph and why it was kept."""
    figures: dict[str, float | int | str] = {"vendor": row.vendor, "violation_days_30d": row.violations_30d}
    figures["ontime_target"] = row.ontime_target
    if row.ontime_30d is not None:
        figures["ontime_30d"] = row.ontime_30d
    facts = [
        "Task: reword this opening paragraph of a formal breach notice to a vendor, firm and courteous. Keep every "
        "number and date exactly as written and add none.",
        f"Paragraph: {paragraph}",
    ]
    if narrator.model is None:  # Claude not configured: the template's wording, without a warning per notice
        return paragraph, None
    narrative = narrate("handoff", figures, facts, lambda: paragraph, narrator, usage)
    if narrative.source != "claude":
        return paragraph, narrative.fallback_reason
    missing = ungrounded_numbers(paragraph, {}, [narrative.text])
    if missing:
        return paragraph, f"Claude's wording dropped or changed {missing[0]}: template kept"
    if row.vendor not in narrative.text:
        return paragraph, "Claude's wording does not name the vendor: template kept"
    return narrative.text, None


def draft_notices(
    scorecard: ScorecardSection,
    flagged: FlaggedSection,
    period: Period,
    out_dir: Path,
    company: str,
    currency: str,
    narrator: Narrator,
    usage: UsageLog | None = None,
) -> list[NoticeRow]:
    """A formal notice per vendor in breach, saved as <out_dir>/<vendor_id>.md for a person to send."""
    by_id = {r.vendor_id: r for r in scorecard.scorecard}
    credits = {c.vendor_id: c for c in flagged.credits}
    notices: list[NoticeRow] = []
    rca_due = period.as_of + timedelta(days=RCA_DAYS)
    for f in flagged.flagged:
        row = by_id.get(f.vendor_id)
        if not f.in_breach or row is None:
            continue
        paragraph = notice_paragraph(row, period.as_of, rca_due)
        opening, note = polish_paragraph(paragraph, row, narrator, usage)
        log_rows = [v for v in flagged.violation_log if v.vendor_id == f.vendor_id]
        text = render(
            NOTICE_TEMPLATE,
            company=company,
            currency=currency,
            as_of=period.as_of,
            rca_due=rca_due,
            vendor=row,
            opening=opening,
            credit=credits.get(f.vendor_id),
            log=log_rows[:NOTICE_LOG_ROWS],
            log_total=len(log_rows),
            late_days=sum(v.kind == "late" for v in log_rows),
            quality_days=sum(v.kind == "quality" for v in log_rows),
        )
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"{f.vendor_id}.md"
        path.write_text(text, encoding="utf-8")
        wording: Literal["claude", "template"] = "claude" if opening != paragraph else "template"
        notices.append(NoticeRow(vendor_id=f.vendor_id, vendor=f.vendor, path=path, wording=wording, note=note))
    return notices


def write_review_summary(
    scorecard: ScorecardSection,
    flagged: FlaggedSection,
    renewals: RenewalSection,
    period: Period,
    narrator: Narrator,
    usage: UsageLog | None,
) -> Narrative:
    """The report's summary: Claude's from the figures when configured and grounded, else the template's."""
    figures: dict[str, float | int | str] = {
        h.key: h.value
        for s in (scorecard, flagged, renewals)
        for h in s.headlines
        if h.value is not None
    }  # fmt: skip
    facts = [f"Review date: {period.as_of.isoformat()}"]
    facts += [
        f"{f.vendor} ({f.vendor_id}): {', '.join(s.value for s in f.signals)}; recommendation {f.recommendation.value}"
        for f in flagged.flagged[:10]
    ]
    facts += [f"{r.vendor}: {r.phase_now}; {r.due_now}" for r in renewals.renewals[:5]]
    return narrate(
        "performance",
        figures,
        facts,
        lambda: template_summary(scorecard, flagged, renewals),
        narrator,
        usage,
    )


def post_review(
    kind: Literal["alert", "digest"],
    title: str,
    period_key: str,
    headlines: list[Headline],
    actions: list[Action],
    report_html: Path,
    details_md: str,
    history: HistoryStore,
    slack: SlackConfig,
) -> list[DeliveryResult]:
    """Post the daily alert or the digest once per (flow, period key, channel); without Slack, save its payload."""
    sender = sender_for(slack, report_html.parent, payload_filename=f"slack-{kind}.json")
    return publish_to_slack(
        FLOW, title, period_key, headlines, actions, report_html, details_md, history, config=slack, sender=sender
    )


class ReviewDelivery(BaseModel):
    """What the run posted: the daily alert and the digest, each 'channel: status' or why not."""

    alert: str
    digest: str
    delivered: list[str] = Field(default_factory=list)


def _log_line(line: str) -> None:
    try:
        from prefect.logging import get_run_logger

        get_run_logger().info(line)
    except Exception:  # outside a Prefect run
        log.info(line)


def deliver_review(
    scorecard: ScorecardSection,
    flagged: FlaggedSection,
    renewals: RenewalSection,
    changes: ChangesSection,
    period: Period,
    report_html: Path,
    history: HistoryStore,
    slack: SlackConfig,
    post: bool,
    digest: bool | None,
) -> ReviewDelivery:
    """The daily alert only when a signal is new (else one log line), and the scorecard digest on digest days."""
    sections: list[Section] = [scorecard, flagged, renewals, changes]
    since = changes.previous_as_of.isoformat() if changes.previous_as_of else "the first run"
    out = ReviewDelivery(alert="not posted (post_to_slack is off)", digest="not posted (post_to_slack is off)")
    if not changes.new:
        out.alert = f"no change since {since}: no alert"
        _log_line(out.alert)
    elif post:
        results = post_review(
            "alert",
            f"Vendor SLA review {period.key}: {len(changes.new)} new signals",
            period.key,
            pick_headlines(sections, ALERT_HEADLINES),
            alert_actions(changes, flagged, renewals),
            report_html,
            alert_markdown(changes),
            history,
            slack,
        )
        out.delivered += [f"alert {r.channel}: {r.status}" for r in results]
        out.alert = "; ".join(f"{r.channel}: {r.status}" for r in results)
    if not is_digest_day(period.as_of, digest):
        out.digest = "not a digest day"
    elif post:
        results = post_review(
            "digest",
            f"Vendor scorecard, {period.as_of:%d %B %Y}",
            f"{period.key}-digest",
            pick_headlines(sections, DIGEST_HEADLINES),
            by_urgency([*flagged.actions, *renewals.actions]),
            report_html,
            digest_markdown(scorecard, flagged, renewals),
            history,
            slack,
        )
        out.delivered += [f"digest {r.channel}: {r.status}" for r in results]
        out.digest = "; ".join(f"{r.channel}: {r.status}" for r in results)
    return out


draft_notices_task = task(name="draft_notices", cache_policy=NO_CACHE)(draft_notices)


write_review_summary_task = task(name="write_review_summary", cache_policy=NO_CACHE)(write_review_summary)
