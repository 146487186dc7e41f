"""What the vendor SLA review says and sends: breach notices (polished by Claude when configured), the review's
summary, the daily change alert and the Friday digest to Slack, built on tasks.vendors.review's figures."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from opsflow.config import SlackConfig
from opsflow.findings import Action, Headline, Section, pick_headlines
from opsflow.history import HistoryStore
from opsflow.period import Period
from opsflow.tasking import compute_task
from tasks.delivery.publish import data_closing, sender_for
from tasks.delivery.slack import DeliveryResult, publish_to_slack
from tasks.reporting.narrative import PLACEHOLDER, Figure, FigureValue, Narrative, Narrator, UsageLog, narrate
from tasks.reporting.render import render
from tasks.reporting.report import FlowReport
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
    template_summary,
)

log = logging.getLogger("opsflow.vendor_review")


# A date as the notice writes it (4 July 2024) or any other number (85.0%, 3, 1,200.50): each becomes a placeholder.
_NOTICE_FIGURE = re.compile(r"\d{1,2} [A-Z][a-z]+ \d{4}|\d[\d,]*(?:\.\d+)?%?")


def placeholder_paragraph(paragraph: str, vendor: str) -> tuple[str, dict[str, str]]:
    """The paragraph with the vendor's name as {vendor} and every date and number as a placeholder ({n1}, {n2}...),
    and what each placeholder stands for: the form Claude rewords, so it never writes a figure itself."""
    values: dict[str, str] = {"vendor": vendor}
    text = paragraph.replace(vendor, "{vendor}") if vendor else paragraph

    def to_placeholder(match: re.Match[str]) -> str:
        name = f"n{len(values)}"
        values[name] = match.group(0)
        return "{" + name + "}"

    parts = re.split(r"(\{vendor\})", text)  # the vendor's own digits (3M) stay inside its placeholder
    return "".join(p if p == "{vendor}" else _NOTICE_FIGURE.sub(to_placeholder, p) for p in parts), values


def polish_paragraph(
    paragraph: str, row: VendorReviewRow, narrator: Narrator, usage: UsageLog | None
) -> tuple[str, str | None]:
    """Claude's rewording of the paragraph when it keeps every placeholder (every number, date and the vendor's name,
    which opsflow fills in); else the paragraph and why it was kept."""
    if narrator.model is None:  # Claude not configured: the template's wording, without a warning per notice
        return paragraph, None
    draft, values = placeholder_paragraph(paragraph, row.vendor)
    facts = [
        "Task: reword this opening paragraph of a formal breach notice to a vendor, firm and courteous. Keep every "
        "placeholder exactly as written and add none.",
        f"Paragraph: {draft}",
    ]
    narrative = narrate("handoff", {}, facts, lambda: paragraph, narrator, usage, quoted=values)
    if narrative.source != "claude":
        return paragraph, narrative.fallback_reason
    used = {m.group(1).strip() for m in PLACEHOLDER.finditer(narrative.draft or "")}
    missing = [name for name in values if name not in used]
    if missing:
        return paragraph, f"Claude's wording dropped {{{missing[0]}}} ({values[missing[0]]}): template kept"
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
    """The report's summary: Claude's words with opsflow's figures in its placeholders, else the template's. Vendor
    names and renewal phases come from the data: quoted data, never a figure."""
    figures: dict[str, FigureValue] = {
        h.key: Figure(value=h.value, unit=h.unit, label=h.label)
        for s in (scorecard, flagged, renewals)
        for h in s.headlines
        if h.value is not None
    }  # fmt: skip
    quoted = {"review_date": f"{period.as_of:%d %B %Y}"}
    for i, f in enumerate(flagged.flagged[:10], start=1):
        signals = ", ".join(s.value for s in f.signals)
        quoted[f"flagged_{i}"] = f"{f.vendor} ({f.vendor_id}): {signals}; recommendation {f.recommendation.value}"
    for i, r in enumerate(renewals.renewals[:5], start=1):
        quoted[f"renewal_{i}"] = f"{r.vendor}: {r.phase_now}; {r.due_now}"
    return narrate(
        "performance",
        figures,
        ["flagged_* are the vendors flagged for review; renewal_* the contracts coming up for renewal."],
        lambda: template_summary(scorecard, flagged, renewals),
        narrator,
        usage,
        quoted=quoted,
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
    report: FlowReport,
) -> list[DeliveryResult]:
    """Post the daily alert or the digest once per (flow, period key, channel), saying what the data covers and
    warning when a dataset stops early; without Slack, save its payload."""
    sender = sender_for(slack, report_html.parent, payload_filename=f"slack-{kind}.json")
    return publish_to_slack(
        FLOW, title, period_key, headlines, actions, report_html, details_md, history, config=slack, sender=sender,
        closing=data_closing(report), covers=report.data_covers or None,
    )  # fmt: skip


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
    report: FlowReport,
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
            report,
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
            report,
        )
        out.delivered += [f"digest {r.channel}: {r.status}" for r in results]
        out.digest = "; ".join(f"{r.channel}: {r.status}" for r in results)
    return out


draft_notices_task = compute_task(draft_notices, name="draft_notices")


write_review_summary_task = compute_task(write_review_summary, name="write_review_summary")
