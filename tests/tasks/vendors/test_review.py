"""The vendor SLA review's scores, signals, credits, incident budgets, renewal timelines, changes and notices on a
small hand-checked portfolio."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from opsflow.config import VendorScoring
from opsflow.history import StoredRun
from opsflow.period import Period
from tasks.coo.vendor_review import draft_notices, placeholder_paragraph
from tasks.reporting.narrative import DEFAULT_MODEL, ClaudeNarrator, TemplateNarrator
from tasks.service_levels.slo import compute_sla
from tasks.vendors.review import (
    FlaggedSection,
    Grade,
    Recommendation,
    RenewalSection,
    ScorecardSection,
    Signal,
    VendorIncidentRow,
    VendorReviewRow,
    detect_changes,
    flagged_vendors,
    grade_of,
    is_digest_day,
    normalised_weights,
    notice_paragraph,
    rate_vendor,
    recommend,
    renewal_timeline,
    renewal_timelines,
    response_score,
    restrict_scorecard,
    score_vendors,
    service_credit,
    signals_by_vendor,
    target_score,
    vendor_incidents,
    weighted_score,
)
from tasks.vendors.scorecard import Renewal, compute_vendors
from tests.helpers import frame
from tests.standins.anthropic_api import API_KEY, AnthropicStandIn

PERIOD = Period(date(2024, 6, 30))  # 30 days: (2024-05-31, 2024-06-30]; previous 30: (2024-05-01, 2024-05-31]
SCORING = VendorScoring(delivery=5, quality=3, responsiveness=2)  # normalised: 0.5, 0.3, 0.2


def _vendors() -> pd.DataFrame:
    return frame(
        "vendors",
        [
            dict(vendor_id="V1", name="Acme", category="logistics", owner="Ann", ontime_target=0.9,
                 quality_target=0.98, renewal_date="2024-07-10", notice_period_days=30, auto_renew=True,
                 annual_value=120000.0, credit_per_point=0.01, credit_cap=0.1, backup_vendor_id="V2",
                 clause="1% of the monthly fee per point below 90%, capped at 10%."),
            dict(vendor_id="V2", name="Beta", owner="Bob", ontime_target=0.8, quality_target=0.9,
                 renewal_date="2024-09-15", notice_period_days=70, auto_renew=False),
            dict(vendor_id="V3", name="Gamma", owner="Cy", ontime_target=0.95, quality_target=0.99,
                 renewal_date="2024-11-30", notice_period_days=90, auto_renew=True, annual_value=60000.0),
        ],
    )  # fmt: skip


def _deliveries() -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    june = date(2024, 6, 1)
    # Acme, 30 days: 17 on time (June 1-9, 11-14, 16-19) and 3 late (June 10, 15, 20, each alone that day,
    # delivered 2 days late, responses after 4, 10 and 16 hours).
    on_time_days = [d for d in range(1, 20) if d not in (10, 15)]
    for n, day in enumerate(on_time_days):
        d = june + timedelta(days=day - 1)
        rows.append(dict(delivery_id=f"A{n}", vendor_id="V1", promised_date=d, delivered_date=d, quantity=10))
    for n, (day, hours) in enumerate([(10, 4.0), (15, 10.0), (20, 16.0)]):
        d = june + timedelta(days=day - 1)
        rows.append(dict(delivery_id=f"L{n}", vendor_id="V1", promised_date=d, delivered_date=d + timedelta(days=2),
                         quantity=10, response_hours=hours))  # fmt: skip
    # Acme, the 30 days before: 10 on time (May 10-19): the on-time rate fell from 100% to 85%.
    for n in range(10):
        d = date(2024, 5, 10) + timedelta(days=n)
        rows.append(dict(delivery_id=f"P{n}", vendor_id="V1", promised_date=d, delivered_date=d, quantity=10))
    # Beta: 10 on time in June, no problem, so no response recorded.
    for n in range(10):
        d = june + timedelta(days=n)
        rows.append(dict(delivery_id=f"B{n}", vendor_id="V2", promised_date=d, delivered_date=d, quantity=5))
    return frame("vendor_deliveries", rows)


def _incidents() -> pd.DataFrame:
    base = dict(service="pay", severity="SEV2", vendor_id="V3")
    return frame(
        "incidents",
        [
            dict(base, incident_id="I1", opened_at="2024-06-20T02:00Z", resolved_at="2024-06-20T03:00Z", kind="real"),
            dict(base, incident_id="I2", opened_at="2024-06-20T05:00Z", resolved_at="2024-06-20T06:00Z", kind="real"),
            dict(base, incident_id="I3", opened_at="2024-06-20T10:00Z", resolved_at="2024-06-20T11:00Z", kind="drill"),
            dict(base, incident_id="I4", opened_at="2024-03-01T10:00Z", resolved_at="2024-03-01T11:00Z", kind="real"),
            dict(incident_id="I5", service="pay", severity="SEV3", opened_at="2024-06-21T10:00Z", kind="real"),
        ],
    )


def _sla_events() -> pd.DataFrame:
    # uptime / pay, objective 90%: 20 checks on 2024-06-20 at hh:30 UTC, failed at 02:30 and 10:30.
    # 30-day budget = (1 - 0.9) x 20 events = 2 failed events.
    return frame(
        "sla_events",
        [
            dict(category="uptime", service="pay", measured_at=f"2024-06-20T{h:02d}:30Z", met=h not in (2, 10),
                 objective=0.9)
            for h in range(20)
        ],
    )  # fmt: skip


def _review() -> tuple[ScorecardSection, FlaggedSection, RenewalSection, list[VendorIncidentRow]]:
    vendors, deliveries = _vendors(), _deliveries()
    audit = compute_vendors(vendors, deliveries, PERIOD)
    sla = compute_sla(_sla_events(), PERIOD)
    caused = vendor_incidents(_incidents(), _sla_events(), sla, vendors, PERIOD)
    scorecard = score_vendors(audit, vendors, deliveries, caused, PERIOD, SCORING)
    flagged = flagged_vendors(scorecard, audit, vendors, caused, PERIOD, "EUR")
    renewals = renewal_timelines(audit, scorecard, PERIOD)
    return scorecard, flagged, renewals, caused


def _row(section: ScorecardSection, vendor_id: str) -> VendorReviewRow:
    return next(r for r in section.scorecard if r.vendor_id == vendor_id)


def test_component_scores_grades_and_weights() -> None:
    assert normalised_weights(SCORING) == pytest.approx({"delivery": 0.5, "quality": 0.3, "responsiveness": 0.2})
    assert normalised_weights(VendorScoring(delivery=0, quality=0, responsiveness=0))["quality"] == pytest.approx(1 / 3)
    # 100 at or above target; 10 per point below: 0.85 vs 0.90 is 5 points -> 50; 0.79 vs 0.9 -> 11 points -> 0.
    assert target_score(0.95, 0.9) == 100
    assert target_score(0.85, 0.9) == pytest.approx(50)
    assert target_score(0.79, 0.9) == 0
    assert target_score(None, 0.9) is None
    # Response: 4 h -> 100, 72 h -> 0, 38 h (halfway) -> 50.
    assert (response_score(2), response_score(72), response_score(100)) == (100, 0, 0)
    assert response_score(38) == pytest.approx(50)
    # A missing component is left out: (0.5 x 50 + 0.3 x 100) / 0.8 = 68.75.
    weights = normalised_weights(SCORING)
    assert weighted_score({"delivery": 50, "quality": 100, "responsiveness": None}, weights) == pytest.approx(68.75)
    assert weighted_score({"delivery": None, "quality": None, "responsiveness": None}, weights) is None
    assert [grade_of(s) for s in (90, 89.9, 80, 70, 69.9, None)] == [Grade.A, Grade.B, Grade.B, Grade.C, Grade.D, None]


def test_recommendation_rule() -> None:
    below, worse = Signal.BELOW_THRESHOLD, Signal.WORSENING
    assert recommend(Grade.A, [], 50) == Recommendation.KEEP
    assert recommend(Grade.B, [worse], 50) == Recommendation.KEEP
    assert recommend(Grade.C, [], 50) == Recommendation.REVIEW
    assert recommend(Grade.D, [], 50) == Recommendation.REPLACE
    # One late parcel of seven is too little evidence to replace a vendor.
    assert recommend(Grade.D, [below], 7) == Recommendation.REVIEW
    assert recommend(None, [Signal.INCIDENTS], 0) == Recommendation.REVIEW
    assert recommend(None, [], 0) == Recommendation.KEEP


def test_grade_and_recommendation_cannot_contradict() -> None:
    # Verde Garden on the sample: score 93.6 (band A), flagged (below contract, 3+ violation days), worsening:
    # D, not A with REPLACE; on 743 deliveries judged -> REPLACE.
    grade, note = rate_vendor(93.6, flagged=True, trend="worsening")
    assert (grade, note) == (Grade.D, "score 94 (A); D: flagged and worsening")
    assert recommend(grade, [Signal.BREACH, Signal.WORSENING], 743) == Recommendation.REPLACE
    # Flagged, stable: 94.7 (band A) -> C at best -> REVIEW; not flagged, 94.7 -> A -> KEEP.
    assert rate_vendor(94.7, flagged=True, trend="stable") == (Grade.C, "score 95 (A); C at best: flagged")
    assert rate_vendor(94.7, flagged=False, trend="worsening") == (Grade.A, None)
    assert rate_vendor(60.0, flagged=True, trend="stable") == (Grade.D, None)
    # Every grade maps to one recommendation: no A or B is ever REVIEW or REPLACE, no C or D is ever KEEP.
    for score in (95.0, 85.0, 75.0, 50.0):
        for flagged in (False, True):
            for trend in ("stable", "worsening"):
                g, _ = rate_vendor(score, flagged, trend)
                rec = recommend(g, [], 50)
                assert (g in (Grade.A, Grade.B)) == (rec == Recommendation.KEEP), (score, flagged, trend)


def test_scorecard_on_a_hand_checked_portfolio() -> None:
    scorecard, _, _, _ = _review()
    acme = _row(scorecard, "V1")
    # 30 days: 17 on time, 3 late -> 0.85; 90 days: 27 on time of 30 -> 0.9; 30 days before: 10/10.
    assert (acme.deliveries_30d, acme.ontime_30d, acme.ontime_90d) == (20, pytest.approx(0.85), pytest.approx(0.9))
    # delivery 50 (5 points below 90%), quality 100, responsiveness: median(4, 10, 16) = 10 h -> 100 x 62/68.
    assert acme.median_response_hours == 10
    assert acme.responsiveness_score == pytest.approx(100 * 62 / 68)
    # 0.5 x 50 + 0.3 x 100 + 0.2 x 91.18 = 73.24 -> band C; flagged and worsening -> D -> REPLACE (20 judged).
    assert acme.score == pytest.approx(0.5 * 50 + 0.3 * 100 + 0.2 * 100 * 62 / 68)
    assert acme.grade == Grade.D and acme.trend == "worsening" and acme.violations_30d == 3 and acme.flagged
    assert acme.signals == [Signal.VIOLATIONS, Signal.BELOW_THRESHOLD, Signal.WORSENING, Signal.BREACH]
    assert acme.recommendation == Recommendation.REPLACE
    beta = _row(scorecard, "V2")
    # No response recorded: delivery 100 and quality 100 re-weighted -> 100, A, KEEP.
    assert (beta.score, beta.grade, beta.recommendation, beta.signals) == (100, Grade.A, Recommendation.KEEP, [])
    gamma = _row(scorecard, "V3")
    # No deliveries, but 2 real incidents caused in the 30 days (I1, I2; I3 is a drill, I4 is older).
    assert gamma.score is None and gamma.incidents_30d == 2
    assert gamma.signals == [Signal.INCIDENTS] and gamma.recommendation == Recommendation.REVIEW
    # Not flagged, but recommended for review: an important action in the scorecard, no breach notice.
    [review] = scorecard.actions
    assert review.source == "vendor V3" and review.kind == "vendor_review"
    assert review.text == (
        "Review Gamma: no grade, caused 2 incidents in 30 days; not flagged (within its contract or without "
        "deliveries), so no breach notice."
    )
    assert [r.vendor_id for r in scorecard.scorecard] == ["V1", "V3", "V2"], "REPLACE, then REVIEW, then KEEP"
    headlines = {h.key: h.value for h in scorecard.headlines}
    # One flag rule: Acme only (Gamma's incidents are a signal, not a flag), as in the weekly audit.
    assert headlines["vendor_review.flagged"] == 1 and headlines["vendor_review.breach"] == 1
    only = restrict_scorecard(scorecard, {"V2"})
    assert [r.vendor_id for r in only.scorecard] == ["V2"]
    assert {h.key: h.value for h in only.headlines}["vendor_review.flagged"] == 0


def test_incidents_and_the_error_budget_they_burned() -> None:
    _, flagged, _, caused = _review()
    # I5 names no vendor; I3 is a drill; I4 is more than 90 days old.
    assert [(r.incident_id, r.failed_events) for r in caused] == [("I1", 1), ("I2", 0)]
    # Budget: (1 - 0.9) x 20 events = 2 failed events; I1 covers the 02:30 failure -> 1 / 2 = 50%.
    assert caused[0].budget_events == pytest.approx(2)
    assert caused[0].budget_burned == pytest.approx(0.5) and caused[1].budget_burned == 0
    assert caused[0].hours == 1 and caused[0].sla_category == "uptime"
    # Gamma caused two incidents but is not flagged (no deliveries, so no contract miss): its incidents are listed,
    # and it is not among the flagged vendors.
    assert {i.vendor_id for i in flagged.incidents} == {"V3"} and [f.vendor_id for f in flagged.flagged] == ["V1"]


def test_credits_owed_and_backup() -> None:
    _, flagged, _, _ = _review()
    credit = next(c for c in flagged.credits if c.vendor_id == "V1")
    # 5 points below 90% x 1% per point = 5% of the monthly 120,000 / 12 = 10,000 -> 500, under the 10% cap.
    assert credit.points_below == pytest.approx(5)
    assert credit.credit == pytest.approx(500) and not credit.capped and credit.basis == "credit clause"
    acme = next(f for f in flagged.flagged if f.vendor_id == "V1")
    assert (acme.backup_vendor_id, acme.backup_vendor, acme.backup_score, acme.backup_grade) == (
        "V2",
        "Beta",
        100,
        Grade.A,
    )
    assert acme.in_breach and acme.credit == pytest.approx(500)
    assert [c.vendor_id for c in flagged.credits] == ["V1"]
    assert {v.vendor_id for v in flagged.violation_log} == {"V1"} and len(flagged.violation_log) == 3
    assert [a.urgency.value for a in flagged.actions] == ["urgent"]


def test_credit_is_capped() -> None:
    row = VendorReviewRow(
        vendor_id="V1", vendor="Acme", deliveries_30d=20, ontime_30d=0.80, ontime_target=0.95, quality_target=0.98,
        violations_30d=5, recommendation=Recommendation.REPLACE,
    )  # fmt: skip
    # 15 points x 1% = 15%, capped at 10% of 12,000 / 12 = 1,000 -> 100.
    credit = service_credit(row, {"credit_per_point": 0.01, "credit_cap": 0.1, "annual_value": 12000.0})
    assert credit.credit == pytest.approx(100) and credit.capped and credit.credit_rate == pytest.approx(0.1)
    # No cap on file: the full 15% -> 150.
    assert service_credit(row, {"credit_per_point": 0.01, "annual_value": 12000.0}).credit == pytest.approx(150)


def test_renewal_timeline_phases() -> None:
    def renewal(deadline: date) -> Renewal:
        return Renewal(
            vendor_id="V", vendor="V", renewal_date=deadline + timedelta(days=30), days_to_renewal=0,
            notice_deadline=deadline, days_to_notice_deadline=0, notice_status="open", auto_renew=True,
        )  # fmt: skip

    as_of = date(2024, 6, 30)
    # Deadline 10 days out: the 8 weeks started 46 days ago -> week 7, the sign phase; three phases are over.
    phase, due, overdue, start = renewal_timeline(renewal(as_of + timedelta(days=10)), as_of)
    assert start == as_of - timedelta(days=46) and phase == "sign (weeks 7-8)"
    assert due.endswith("by 2024-07-10") and len(overdue) == 3
    # Deadline 50 days out: day 6 of the 8 weeks -> performance review, nothing overdue.
    phase, _, overdue, _ = renewal_timeline(renewal(as_of + timedelta(days=50)), as_of)
    assert phase == "performance review (weeks 1-2)" and overdue == []
    # Deadline 60 days out: starts in 4 days.
    assert renewal_timeline(renewal(as_of + timedelta(days=60)), as_of)[0] == "not started"
    assert renewal_timeline(renewal(as_of - timedelta(days=1)), as_of)[0] == "deadline passed"


def test_renewal_section_and_signals() -> None:
    scorecard, _, renewals, _ = _review()
    rows = {r.vendor_id: r for r in renewals.renewals}
    # Acme: deadline 2024-06-10 passed. Beta: deadline 2024-07-07 (7 days) -> sign phase. Gamma: 2024-09-01 (63 days).
    assert rows["V1"].phase_now == "deadline passed"
    assert rows["V2"].phase_now == "sign (weeks 7-8)" and rows["V2"].days_to_notice_deadline == 7
    assert rows["V3"].phase_now == "not started" and rows["V3"].timeline_start == date(2024, 7, 7)
    assert rows["V1"].recommendation == Recommendation.REPLACE
    signals = signals_by_vendor(scorecard, renewals)
    assert signals == {
        "V1": ["below_threshold", "breach", "violations", "worsening"],
        "V2": ["deadline"],
        "V3": ["incidents"],
    }


def test_changes_against_the_previous_run() -> None:
    previous = StoredRun(
        "vendor-sla-review", "2024-06-29", date(2024, 6, 29), datetime.now(UTC), {},
        {"signals": {"V1": ["below_threshold"], "V9": ["worsening"]}},
    )  # fmt: skip
    today = {"V1": ["below_threshold", "breach"], "V2": ["deadline"]}
    changes = detect_changes(today, previous, {"V1": "Acme", "V2": "Beta"})
    assert [(c.vendor_id, c.signal.value, c.change) for c in changes.changes] == [
        ("V1", "breach", "new"),
        ("V2", "deadline", "new"),
        ("V9", "worsening", "cleared"),
    ]
    assert len(changes.new) == 2 and changes.previous_as_of == date(2024, 6, 29)
    unchanged = detect_changes(
        today, StoredRun("vendor-sla-review", "x", date(2024, 6, 30), datetime.now(UTC), {}, {"signals": today}), {}
    )
    assert unchanged.changes == [] and unchanged.note == "No change since 2024-06-30."
    first = detect_changes(today, None, {})
    assert len(first.new) == 3 and first.note == "First run: every signal is new."
    # A restricted run compares only its own vendors.
    assert [c.vendor_id for c in detect_changes(today, previous, {}, {"V2"}).changes] == ["V2"]


def test_digest_day_is_friday_unless_asked() -> None:
    assert is_digest_day(date(2024, 6, 28), None) and not is_digest_day(date(2024, 6, 30), None)
    assert is_digest_day(date(2024, 6, 30), True) and not is_digest_day(date(2024, 6, 28), False)


@pytest.fixture
def api() -> Iterator[AnthropicStandIn]:
    with AnthropicStandIn() as server:
        yield server


def _claude(api: AnthropicStandIn) -> ClaudeNarrator:
    return ClaudeNarrator(API_KEY, model=DEFAULT_MODEL, base_url=api.url, timeout=5.0, max_retries=0)


def test_notice_from_the_template_with_the_facts(tmp_path: Path) -> None:
    scorecard, flagged, _, _ = _review()
    [notice] = draft_notices(scorecard, flagged, PERIOD, tmp_path, "Northwind", "EUR", TemplateNarrator())
    assert notice.path == tmp_path / "V1.md" and notice.wording == "template" and notice.note is None
    text = notice.path.read_text(encoding="utf-8")
    assert "# Notice of service-level breach: Acme" in text
    assert "85.0% of deliveries on time against the contracted 90.0%, with 3 violation days" in text
    assert "EUR 500.00" in text and "1% of the monthly fee per point below 90%" in text
    assert "root-cause analysis by 10 July 2024" in text  # as_of + 10 days
    assert text.count("| 2024-06-") == 3, "the three late days are in the log"


def test_claude_may_reword_the_notice_but_not_its_numbers(tmp_path: Path, api: AnthropicStandIn) -> None:
    scorecard, flagged, _, _ = _review()
    paragraph = notice_paragraph(_row(scorecard, "V1"), PERIOD.as_of, PERIOD.as_of + timedelta(days=10))
    draft, values = placeholder_paragraph(paragraph, "Acme")
    # Claude rewords the placeholder form; opsflow fills in the name, the figures and the dates.
    assert "{vendor}" in draft and not any(ch.isdigit() for ch in re.sub(r"\{\w+\}", "", draft))
    api.summary = draft.replace("we hereby give formal notice of the breach", "this letter is formal notice")
    [notice] = draft_notices(scorecard, flagged, PERIOD, tmp_path, "Northwind", "EUR", _claude(api))
    text = notice.path.read_text(encoding="utf-8")
    assert notice.wording == "claude" and "this letter is formal notice" in text
    assert "85.0% of deliveries on time against the contracted 90.0%, with 3 violation days" in text

    three = next(name for name, value in values.items() if value == "3")
    api.summary = draft.replace(f", with {{{three}}} violation days", "")  # a figure dropped: the template stays
    [notice] = draft_notices(scorecard, flagged, PERIOD, tmp_path, "Northwind", "EUR", _claude(api))
    assert notice.wording == "template" and notice.note == f"Claude's wording dropped {{{three}}} (3): template kept"
    assert "we hereby give formal notice" in notice.path.read_text(encoding="utf-8")

    api.summary = paragraph.replace("we hereby give formal notice of the breach", "this letter is formal notice")
    [notice] = draft_notices(scorecard, flagged, PERIOD, tmp_path, "Northwind", "EUR", _claude(api))
    assert notice.wording == "template" and "itself instead of a placeholder" in (notice.note or "")
