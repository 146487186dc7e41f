"""Vendor scorecards, violations and renewals on a small hand-checked portfolio."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import pandas as pd
import pytest

from opsflow.contract import contract
from opsflow.datasets import ROW
from opsflow.findings import Urgency
from opsflow.period import Period
from tasks.metrics.vendors import VendorSection, compute_vendors

_DTYPES = {"string": "string", "list": "string", "integer": "Int64", "number": "float64", "boolean": "boolean"}


def frame(dataset: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A frame with every contract column of `dataset`, typed as loading leaves it (docs/conventions.md)."""
    data: dict[str, pd.Series] = {}
    for name, col in contract(dataset).columns.items():
        values = pd.Series([r.get(name) for r in rows], dtype=object)
        if col.type == "date":
            data[name] = pd.to_datetime(values).astype("datetime64[ns]")
        elif col.type == "datetime":
            data[name] = pd.to_datetime(values, utc=True)
        else:
            data[name] = values.astype(_DTYPES[col.type])
    out = pd.DataFrame(data)
    out[ROW] = range(2, len(rows) + 2)
    return out


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


def run(rows: list[dict[str, Any]] | None = None) -> VendorSection:
    return compute_vendors(vendors(), frame("vendor_deliveries", rows or delivery_rows()), PERIOD)


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
    # Violations: late D2 (06-12), D3 (06-20), D4 (06-25) + quality D6 (06-28) = 4; D10 is dated 05-31, outside.
    assert (acme.violations_30d, acme.violations_mtd) == (4, 4)
    # Previous 30 days: D8, D9 on time, D10 late -> 2/3; 0.5 - 0.667 = -16.7 points -> worsening.
    assert acme.ontime_rate_previous == pytest.approx(2 / 3)
    assert acme.trend == "worsening"
    assert acme.flagged

    beta = next(s for s in section.scorecard if s.vendor_id == "V2")
    # On time E1, E3, E5, E6 = 4, late E2 = 1 -> 0.8, not below 0.8; units 50, no defects -> 1.0.
    assert beta.ontime_rate == pytest.approx(0.8)
    assert beta.quality_rate == pytest.approx(1.0)
    assert not beta.below_threshold
    # E1 quality + E2 late + E2 quality = 3 -> flagged; no previous deliveries -> no trend.
    assert beta.violations_30d == 3 and beta.flagged and beta.trend is None

    gamma = next(s for s in section.scorecard if s.vendor_id == "V3")
    assert gamma.deliveries_due == 0 and gamma.ontime_rate is None and gamma.quality_rate is None
    assert section.flagged_vendor_ids == ["V1", "V2"]


def test_violation_log_and_headlines() -> None:
    section = run()
    log = {(v.delivery_id, v.kind): v for v in section.violation_log}
    assert set(log) == {("D2", "late"), ("D3", "late"), ("D4", "late"), ("D6", "quality"), ("E1", "quality"),
                        ("E2", "late"), ("E2", "quality")}  # fmt: skip
    assert log[("D3", "late")].days_late == 10 and log[("D3", "late")].date == date(2024, 6, 20)
    assert log[("E2", "quality")].date == date(2024, 6, 10) and log[("E2", "quality")].days_late is None
    assert section.violations_total == 7
    assert headline(section, "vendors.flagged") == 2
    assert headline(section, "vendors.below_threshold") == 1
    # Overall: on time 3 + 4 = 7, late 3 + 1 = 4 -> 7/11; quality 1 - 6/(450 + 50) = 0.988.
    assert headline(section, "vendors.ontime.30d") == pytest.approx(7 / 11)
    assert headline(section, "vendors.quality.30d") == pytest.approx(0.988)
    # Renewals in (06-30, 09-28]: V1 (07-10) and V2 (09-15); V3 is listed for its notice deadline only.
    assert headline(section, "vendors.renewals.90d") == 2
    assert [p.vendor for p in section.chart][:2] == ["Acme", "Beta"]


def test_actions_for_flagged_vendors() -> None:
    section = run()
    acme = next(a for a in section.actions if a.source == "vendor V1" and a.kind == "vendor_critical")
    assert acme.urgency == Urgency.URGENT and acme.owner == "Ann"
    assert "formal notice" in acme.text and "backup Beta" in acme.text
    beta = next(a for a in section.actions if a.source == "vendor V2" and a.kind == "vendor_review")
    assert beta.urgency == Urgency.IMPORTANT and beta.owner == "Bob"


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
    # F2 counts as late (outstanding after its promise), with no quality violation yet; F1 is not due yet.
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
