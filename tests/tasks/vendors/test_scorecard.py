"""Vendor scorecards, violations and renewals on a small hand-checked portfolio."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import pandas as pd
import pytest

from opsflow.findings import Urgency
from opsflow.period import Period
from tasks.vendors.scorecard import VendorSection, compute_vendors
from tests.helpers import frame

PERIOD = Period(date(2024, 6, 30))  # 30-day window: promised in (2024-05-31, 2024-06-30]


def vendors() -> pd.DataFrame:
    return frame(
        "vendors",
        [
            dict(vendor_id="V1", name="Acme", owner="Ann", ontime_target=0.9, quality_target=0.98,
                 renewal_date="2024-07-10", notice_period_days=30, auto_renew=True, annual_value=120000.0,
                 backup_vendor_id="V2"),
            dict(vendor_id="V2", name="Beta", owner="Bob", ontime_target=0.8, quality_target=0.9,
                 renewal_date="2024-09-15", notice_period_days=70, auto_renew=False),
            dict(vendor_id="V3", name="Gamma", owner="Cy", ontime_target=0.95, quality_target=0.99,
                 renewal_date="2024-11-30", notice_period_days=90, auto_renew=True),
            dict(vendor_id="V4", name="Delta", owner="Di", ontime_target=0.95, quality_target=0.99,
                 renewal_date="2025-06-30", notice_period_days=30),
        ],
    )  # fmt: skip


def delivery_rows(d4_delivered: str | None = "2024-07-05") -> list[dict[str, Any]]:
    def d(i: str, v: str, promised: str, delivered: str | None, qty: int = 100, **kw: Any) -> dict[str, Any]:
        return dict(delivery_id=i, vendor_id=v, promised_date=promised, delivered_date=delivered, quantity=qty, **kw)

    return [
        d("D1", "V1", "2024-06-10", "2024-06-09"),  # on time
        d("D2", "V1", "2024-06-12", "2024-06-15"),  # late 3 days
        d("D3", "V1", "2024-06-20", None),  # outstanding after promise: late, 30-20 = 10 days
        d("D4", "V1", "2024-06-25", d4_delivered),  # arrives after as_of: unknown then, late 5 days
        d("D5", "V1", "2024-06-30", None),  # due today, not delivered: pending
        d("D6", "V1", "2024-06-28", "2024-06-28", 50, defective_quantity=4),  # on time; 4 > 0.02 x 50 = 1: quality
        d("D7", "V1", "2024-06-01", "2024-06-01", 100, defective_quantity=2),  # on time; 2 is not above 0.02 x 100
        d("D8", "V1", "2024-05-15", "2024-05-14"),  # previous 30 days: on time
        d("D9", "V1", "2024-05-20", "2024-05-20"),  # previous 30 days: on time
        d("D10", "V1", "2024-05-31", "2024-06-02"),  # previous 30 days (05-31 is not > 05-31): late
        d("E1", "V2", "2024-06-05", "2024-06-04", 10, quality_issue=True),  # on time; quality
        d("E2", "V2", "2024-06-06", "2024-06-10", 10, quality_issue=True),  # late 4 days AND quality: 2 violations
        d("E3", "V2", "2024-06-07", "2024-06-07", 10),
        d("E5", "V2", "2024-06-08", "2024-06-08", 10),
        d("E6", "V2", "2024-06-09", "2024-06-09", 10),
    ]


def run(rows: list[dict[str, Any]] | None = None, period: Period = PERIOD) -> VendorSection:
    return compute_vendors(vendors(), frame("vendor_deliveries", rows or delivery_rows()), period)


def headline(section: VendorSection, key: str) -> float | None:
    return next(h.value for h in section.headlines if h.key == key)


def test_scorecard_counts_rates_and_trend() -> None:
    section = run()
    acme = next(s for s in section.scorecard if s.vendor_id == "V1")
    # Due in window: D1..D7 = 7; on time D1, D6, D7 = 3; late D2, D3, D4 = 3; pending D5 = 1.
    assert (acme.deliveries_due, acme.on_time, acme.late, acme.pending) == (7, 3, 3, 1)
    assert acme.ontime_rate == pytest.approx(3 / 6)  # 0.5 < 0.9 target
    # Received in (05-31, 06-30]: D1 100/0, D2 100/0, D6 50/4, D7 100/2 and D10 (promised 05-31, received 06-02)
    # 100/0 -> 1 - 6/450 = 0.98667 >= 0.98
    assert acme.quality_rate == pytest.approx(1 - 6 / 450)
    assert acme.below_threshold is True
    # Violation days (Acme has one delivery per day): late days 06-12 (D2 1 of 1 late > 0.1 x 1), 06-20 (D3),
    # 06-25 (D4) + quality day 06-28 (D6: 4 defective > 0.02 x 50 = 1) = 4. Not 06-01 (D7: 2 is not above
    # 0.02 x 100 = 2); not 05-31 (D10's promise day is outside the window).
    assert (acme.violations_30d, acme.late_days_30d, acme.quality_days_30d, acme.violations_mtd) == (4, 3, 1, 4)
    # Previous 30 days: D8, D9 on time, D10 late -> 2/3; 0.5 - 0.667 = -16.7 points -> worsening.
    assert acme.ontime_rate_previous == pytest.approx(2 / 3)
    assert acme.trend == "worsening"
    assert acme.flagged

    beta = next(s for s in section.scorecard if s.vendor_id == "V2")
    # On time E1, E3, E5, E6 = 4, late E2 = 1 -> 0.8, not below 0.8; units 50, no defects -> 1.0.
    assert beta.ontime_rate == pytest.approx(0.8)
    assert beta.quality_rate == pytest.approx(1.0)
    assert not beta.below_threshold
    # Quality day 06-04 (E1 quality issue), late day 06-06 (E2 1 of 1 due late), quality day 06-10 (E2 received
    # with a quality issue) = 3 violation days, but 80% on time meets the 0.8 target and quality 100% meets its
    # target: a pattern within the contract, not flagged; no previous deliveries -> no trend.
    assert (beta.violations_30d, beta.late_days_30d, beta.quality_days_30d) == (3, 1, 2)
    assert not beta.flagged and beta.trend is None

    gamma = next(s for s in section.scorecard if s.vendor_id == "V3")
    assert gamma.deliveries_due == 0 and gamma.ontime_rate is None and gamma.quality_rate is None
    assert section.flagged_vendor_ids == ["V1"]  # Beta has 3 violation days but meets its targets


def test_violation_log_and_headlines() -> None:
    section = run()
    log = {(v.vendor_id, v.date, v.kind): v for v in section.violation_log}
    assert list(log) == [
        # Flagged vendors first (both are), newest first, then vendor id, then kind.
        ("V1", date(2024, 6, 28), "quality"),
        ("V1", date(2024, 6, 25), "late"),
        ("V1", date(2024, 6, 20), "late"),
        ("V1", date(2024, 6, 12), "late"),
        ("V2", date(2024, 6, 10), "quality"),
        ("V2", date(2024, 6, 6), "late"),
        ("V2", date(2024, 6, 4), "quality"),
    ]
    # D3 promised 06-20, still outstanding at as_of: 30 - 20 = 10 days late, the only delivery due that day.
    d3 = log[("V1", date(2024, 6, 20), "late")]
    assert (d3.deliveries, d3.late, d3.worst_days_late, d3.example_delivery_id) == (1, 1, 10, "D3")
    assert d3.units is None and d3.defective_units is None
    d6 = log[("V1", date(2024, 6, 28), "quality")]
    assert (d6.deliveries, d6.units, d6.defective_units, d6.quality_issues, d6.example_delivery_id) == (
        1, 50, 4, 0, "D6")  # fmt: skip
    e2 = log[("V2", date(2024, 6, 10), "quality")]
    assert (e2.quality_issues, e2.worst_days_late, e2.example_delivery_id) == (1, None, "E2")
    assert section.violations_total == 7
    assert headline(section, "vendors.flagged") == 1  # Acme: 4 violation days and below target; Beta within target
    assert headline(section, "vendors.below_threshold") == 1
    # Overall: on time 3 + 4 = 7, late 3 + 1 = 4 -> 7/11; quality 1 - 6/(450 + 50) = 0.988.
    assert headline(section, "vendors.ontime.30d") == pytest.approx(7 / 11)
    assert headline(section, "vendors.quality.30d") == pytest.approx(0.988)
    # Renewals in (06-30, 09-28]: V1 (07-10) and V2 (09-15); V3 is listed for its notice deadline only.
    assert headline(section, "vendors.renewals.90d") == 2
    assert [p.vendor for p in section.chart][:2] == ["Acme", "Beta"]
    # Basis: judged = due and not pending in the window (D1-D4, D6, D7, E1-E6: 11) or received in it (adds D10): 12;
    # excluded: D8, D9 (neither) and D5 (pending) = 3.
    basis = next(b for b in section.basis if b.metric.startswith("violation days"))
    assert basis.metric == "violation days (4 late, 3 quality)"
    assert (basis.rows_used, basis.rows_excluded) == (12, 3)
    assert basis.reasons == {
        "neither due nor received in the 30 days": 2,
        "due on as_of, not delivered yet (pending)": 1,
    }


def test_month_to_date_counts_fewer_days() -> None:
    # As of 06-12: 30 days (05-13, 06-12], month to date [06-01, 06-12]. D2 (promised 06-12, not delivered by then)
    # is pending; D10 (promised 05-31, received 06-02) is the only late day -> 1 violation day, 0 month to date.
    acme = next(s for s in run(period=Period(date(2024, 6, 12))).scorecard if s.vendor_id == "V1")
    assert (acme.violations_30d, acme.violations_mtd, acme.pending) == (1, 0, 1)


def test_actions_for_flagged_vendors() -> None:
    section = run()
    acme = next(a for a in section.actions if a.source == "vendor V1" and a.kind == "vendor_critical")
    assert acme.urgency == Urgency.URGENT and acme.owner == "Ann"
    assert "formal notice" in acme.text and "backup Beta" in acme.text
    beta = next(a for a in section.actions if a.source == "vendor V2" and a.kind == "vendor_review")
    # 3 violation days while within its targets: a pattern to watch, on the radar, not a flag.
    assert beta.urgency == Urgency.ON_RADAR and beta.owner == "Bob"


def test_renewals_and_notice_deadlines() -> None:
    section = run()
    renewals = {r.vendor_id: r for r in section.renewals}
    assert set(renewals) == {"V1", "V2", "V3"}  # V4 renews 2025-06-30, deadline 2025-05-31: outside
    # V1: 07-10 - 30 days = 06-10, 20 days ago: too late to give notice.
    assert renewals["V1"].notice_deadline == date(2024, 6, 10) and renewals["V1"].days_to_notice_deadline == -20
    assert renewals["V1"].notice_status == "passed" and renewals["V1"].days_to_renewal == 10
    # V2: 09-15 - 70 days = 07-07, 7 days away: urgent.
    assert renewals["V2"].notice_deadline == date(2024, 7, 7) and renewals["V2"].notice_status == "within 14 days"
    # V3: 11-30 - 90 days = 09-01, 63 days away: important.
    assert renewals["V3"].days_to_notice_deadline == 63 and renewals["V3"].notice_status == "open"
    by_vendor = {a.source: a for a in section.actions if a.kind.startswith("contract_notice")}
    assert by_vendor["vendor V1"].urgency == Urgency.IMPORTANT and "too late" in by_vendor["vendor V1"].text
    assert by_vendor["vendor V2"].urgency == Urgency.URGENT and by_vendor["vendor V2"].due == date(2024, 7, 7)
    assert by_vendor["vendor V3"].urgency == Urgency.IMPORTANT and by_vendor["vendor V3"].owner == "Cy"


def test_point_in_time_later_export_gives_same_numbers() -> None:
    # The export that ends at as_of: D4, F1 and F2 are still outstanding.
    early_rows = delivery_rows(d4_delivered=None) + [
        dict(delivery_id="F1", vendor_id="V2", promised_date="2024-07-03", quantity=10),
        dict(delivery_id="F2", vendor_id="V2", promised_date="2024-06-29", quantity=10),
    ]
    # The export months later: they have arrived (after as_of), one with a quality issue, one all defective.
    later_rows = delivery_rows(d4_delivered="2024-07-05") + [
        dict(delivery_id="F1", vendor_id="V2", promised_date="2024-07-03", delivered_date="2024-07-01",
             quantity=10, quality_issue=True),
        dict(delivery_id="F2", vendor_id="V2", promised_date="2024-06-29", delivered_date="2024-07-02",
             quantity=10, defective_quantity=10),
    ]  # fmt: skip
    early, later = run(early_rows), run(later_rows)
    assert early.model_dump() == later.model_dump()
    beta = next(s for s in later.scorecard if s.vendor_id == "V2")
    # F2 counts as late (outstanding after its promise): late day 06-29, and no quality day yet (received 07-02);
    # F1 is not due yet. Beta: 06-04 quality, 06-06 late, 06-10 quality, 06-29 late = 4.
    assert (beta.late, beta.quality_rate, beta.violations_30d) == (2, 1.0, 4)


def test_empty_and_missing_inputs() -> None:
    missing = compute_vendors(None, None, PERIOD)
    assert missing.available is False and missing.note
    assert all(h.value is None for h in missing.headlines)

    no_deliveries = compute_vendors(vendors(), None, PERIOD)
    assert no_deliveries.note and "vendor_deliveries" in no_deliveries.note
    assert len(no_deliveries.renewals) == 3 and not no_deliveries.flagged_vendor_ids
    assert headline(no_deliveries, "vendors.ontime.30d") is None

    quiet = compute_vendors(vendors(), frame("vendor_deliveries", []), PERIOD)
    for h in quiet.headlines:
        assert h.value is None or not math.isnan(h.value)
    assert quiet.note and headline(quiet, "vendors.flagged") == 0


def day_vendor(vid: str, ontime: float, quality: float) -> dict[str, Any]:
    return dict(vendor_id=vid, name=f"Vendor {vid}", owner="Ops", ontime_target=ontime, quality_target=quality,
                renewal_date="2026-01-01")  # fmt: skip


def test_high_volume_carrier_above_target_is_not_flagged() -> None:
    # 20 parcels due each day 06-01..06-30 = 600; 18 late: 2 on 06-01, 1 a day on 06-02..06-17 (16) -> 2 + 16 = 18.
    # On time 582/600 = 97% >= 95%. Allowance per day 0.05 x 20 = 1 late: 06-02..06-17 (1 late) are within it,
    # 06-01 (2 late > 1) is one violation day. Counting deliveries would give 18 violations and flag it.
    rows = []
    for day in range(1, 31):
        late_today = 2 if day == 1 else 1 if day <= 17 else 0
        for i in range(20):
            promised = f"2024-06-{day:02d}"
            delivered = f"2024-06-{day + 1:02d}" if i < late_today else promised
            if day == 30 and i < late_today:
                delivered = "2024-07-01"
            rows.append(dict(delivery_id=f"C{day:02d}-{i:02d}", vendor_id="C", promised_date=promised,
                             delivered_date=delivered, quantity=1))  # fmt: skip
    section = compute_vendors(frame("vendors", [day_vendor("C", 0.95, 0.99)]), frame("vendor_deliveries", rows), PERIOD)
    carrier = section.scorecard[0]
    assert (carrier.deliveries_due, carrier.late) == (600, 18)
    assert carrier.ontime_rate == pytest.approx(0.97) and not carrier.below_threshold
    assert (carrier.violations_30d, carrier.late_days_30d, carrier.flagged) == (1, 1, False)
    (day,) = section.violation_log
    # 06-01: 2 of 20 late, 1 day each; the example is the smaller id of the two equally late parcels.
    assert (day.date, day.deliveries, day.late, day.worst_days_late, day.example_delivery_id) == (
        date(2024, 6, 1), 20, 2, 1, "C01-00")  # fmt: skip
    assert section.flagged_vendor_ids == [] and not [a for a in section.actions if a.kind.startswith("vendor_")]


def test_one_delivery_a_day_vendor_with_three_late_is_flagged() -> None:
    # One delivery due a day 06-01..06-30; late on 06-05, 06-15 and 06-25 (2 days each). Each of those days has
    # 1 of 1 late > 0.05 x 1: 3 violation days -> flagged. On time 27/30 = 90% < 95%: a vendor critical issue.
    late_days = {5, 15, 25}
    rows = [
        dict(delivery_id=f"S{day:02d}", vendor_id="S", promised_date=f"2024-06-{day:02d}", quantity=10,
             delivered_date=f"2024-06-{day + 2:02d}" if day in late_days else f"2024-06-{day:02d}")
        for day in range(1, 31)
    ]  # fmt: skip
    vendor = frame("vendors", [day_vendor("S", 0.95, 0.98)])
    section = compute_vendors(vendor, frame("vendor_deliveries", rows), PERIOD)
    small = section.scorecard[0]
    assert (small.late, small.violations_30d, small.late_days_30d, small.flagged) == (3, 3, 3, True)
    assert section.flagged_vendor_ids == ["S"]
    (action,) = [a for a in section.actions if a.kind.startswith("vendor_")]
    assert action.kind == "vendor_critical" and "3 violation days in 30 days (3 late, 0 quality)" in action.text

    # With only two late days (06-25 on time) it is two violation days: noise, not flagged.
    rows[24]["delivered_date"] = "2024-06-25"
    assert compute_vendors(vendor, frame("vendor_deliveries", rows), PERIOD).flagged_vendor_ids == []


def test_quality_days_pool_the_day_and_a_late_and_quality_day_counts_once() -> None:
    # Targets: on time 0.9, quality 0.98.
    rows = [
        # 06-10: X and Y due; X arrives 06-12 (2 days late): 1 of 2 late > 0.1 x 2 = 0.2 -> late day.
        #        Y received 06-10 with a quality issue -> quality day. The same day is one violation day.
        dict(delivery_id="X", vendor_id="Q", promised_date="2024-06-10", delivered_date="2024-06-12", quantity=100),
        dict(delivery_id="Y", vendor_id="Q", promised_date="2024-06-10", delivered_date="2024-06-10", quantity=10,
             quality_issue=True),
        # 06-20: Z1 100 units / 3 defective and Z2 100 / 0: 3 is not above 0.02 x 200 = 4 -> not a quality day
        #        (Z1 alone would exceed 0.02 x 100 = 2: the day is judged, not the delivery).
        dict(delivery_id="Z1", vendor_id="Q", promised_date="2024-06-20", delivered_date="2024-06-20", quantity=100,
             defective_quantity=3),
        dict(delivery_id="Z2", vendor_id="Q", promised_date="2024-06-20", delivered_date="2024-06-20", quantity=100),
        # 06-22: W1 100 / 3 and W2 100 / 2: 5 > 4 -> quality day; the example is W1, the most defective.
        dict(delivery_id="W1", vendor_id="Q", promised_date="2024-06-22", delivered_date="2024-06-22", quantity=100,
             defective_quantity=3),
        dict(delivery_id="W2", vendor_id="Q", promised_date="2024-06-22", delivered_date="2024-06-22", quantity=100,
             defective_quantity=2),
        # 06-25: 10 due, 1 late (V0, 3 days): 1 is not above 0.1 x 10 = 1 (exactly at the allowance) -> no late day.
        *(dict(delivery_id=f"V{i}", vendor_id="Q", promised_date="2024-06-25", quantity=1,
               delivered_date="2024-06-28" if i == 0 else "2024-06-25") for i in range(10)),
    ]  # fmt: skip
    section = compute_vendors(frame("vendors", [day_vendor("Q", 0.9, 0.98)]), frame("vendor_deliveries", rows), PERIOD)
    q = section.scorecard[0]
    # Days: 06-10 (late and quality) + 06-22 (quality) = 2 violation days, though 3 log rows -> not flagged (< 3).
    assert (q.violations_30d, q.late_days_30d, q.quality_days_30d, q.flagged) == (2, 1, 2, False)
    assert section.violations_total == 2
    log = [(v.date, v.kind, v.example_delivery_id) for v in section.violation_log]
    assert log == [(date(2024, 6, 22), "quality", "W1"), (date(2024, 6, 10), "late", "X"),
                   (date(2024, 6, 10), "quality", "Y")]  # fmt: skip
    w = section.violation_log[0]
    assert (w.deliveries, w.units, w.defective_units, w.quality_issues) == (2, 200, 5, 0)
    x = section.violation_log[1]
    assert (x.deliveries, x.late, x.worst_days_late) == (2, 1, 2)
    # The quality rate is still per unit over deliveries received: X 100, Y 10, Z1+Z2 200, W1+W2 200, V0-V9 10
    # = 520 units, 3 + 3 + 2 = 8 defective -> 1 - 8/520.
    assert q.quality_rate == pytest.approx(1 - 8 / 520)


def test_violation_days_never_exceed_the_days_in_the_window() -> None:
    # One delivery promised each day 06-01..06-30, each with a quality issue; D01..D29 arrive the next day (late),
    # D30 arrives on its day 06-30 (on time). Late days: promised 06-01..06-29 = 29 (1 of 1 late > 0.1 x 1).
    # Quality days: received 06-02..06-30 = 29 distinct days (06-30 has D29 and D30, 2 issues > 0.02 x 2).
    # Counted once per day: 06-01 (late only) .. 06-30 = 30 violation days, not 29 + 29 = 58; month to date the same.
    rows = [
        dict(delivery_id=f"D{day:02d}", vendor_id="Q", promised_date=f"2024-06-{day:02d}",
             delivered_date=f"2024-06-{day + 1:02d}" if day < 30 else "2024-06-30", quantity=10, quality_issue=True)
        for day in range(1, 31)
    ]  # fmt: skip
    section = compute_vendors(frame("vendors", [day_vendor("Q", 0.9, 0.98)]), frame("vendor_deliveries", rows), PERIOD)
    q = section.scorecard[0]
    assert (q.late_days_30d, q.quality_days_30d, q.violations_30d, q.violations_mtd) == (29, 29, 30, 30)
    assert section.violations_total == 30 and q.flagged


def test_rates_over_a_shorter_export_say_how_many_days_they_cover() -> None:
    # The export's first delivery is promised on 2024-06-20 (UTC): the 30-day window (from 2024-06-01 00:00) is
    # shortened to 2024-06-20 00:00 -> 2024-07-01 00:00, 11 days. D3 (outstanding, late) and D6 (on time) are due in
    # it: on-time 1/2 = 0.5, shown as over 11 of 30 days.
    rows = [r for r in delivery_rows() if r["delivery_id"] in ("D3", "D6")]
    section = run(rows)
    ontime = next(h for h in section.headlines if h.key == "vendors.ontime.30d")
    assert (ontime.value, ontime.window) == (0.5, "11 of 30 days")
    assert "The 30-day rates are over the 11 days the data covers, not 30" in (section.note or "")
    # The full sample export starts 2024-05-14: nothing is shortened.
    assert all(h.window is None for h in run().headlines)
