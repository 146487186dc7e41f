"""Vendors section of the weekly audit: delivery scorecards against contract targets, violations and renewals."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from opsflow.coverage import Window, first_record, trailing_window
from opsflow.findings import Action, Basis, Headline, OptRatio, Ratio, Section, Urgency
from opsflow.period import Period
from opsflow.tasking import compute_task

SCORE_DAYS = 30
FLAG_VIOLATIONS = 3
TREND_POINTS = 0.02
RENEWAL_DAYS = 90
NOTICE_URGENT_DAYS = 14
LOG_LIMIT = 500
# Late and defect counts are compared with a float allowance ((1 - 0.9) * 10 = 0.999...): without a tolerance a day
# exactly at its allowance would count as a violation.
EPS = 1e-9


class VendorScore(BaseModel):
    """One vendor's scorecard over the 30 days ending as_of."""

    # The verdict and the rates against contract lead: a report shows a wide table's first columns in its section.
    vendor_id: str
    vendor: str = Field(description="Vendor name.")
    owner: str | None = Field(None, description="Who manages the relationship.")
    flagged: bool = Field(description="At least 3 violation days in the 30 days and below its contract threshold.")
    ontime_rate: OptRatio = Field(None, description="on time / (on time + late); None without such deliveries.")
    ontime_target: Ratio = Field(description="Contracted on-time rate.")
    quality_rate: OptRatio = Field(
        None, description="1 - defective units / units, over deliveries received in the 30 days."
    )
    quality_target: Ratio = Field(description="Contracted share of units without defect.")
    violations_30d: int = Field(
        description="Violation days in the 30 days: days that were a late day, a quality day or both (at most 30)."
    )
    trend: Literal["improving", "stable", "worsening"] | None = Field(
        None, description="On-time rate change against the previous 30 days (more than 2 points either way)."
    )
    deliveries_due: int = Field(description="Deliveries whose promised date is in the 30 days ending as_of.")
    on_time: int = Field(description="Of those, delivered on or before the promised date (and by as_of).")
    late: int = Field(description="Of those, delivered after the promised date or still outstanding after it.")
    pending: int = Field(description="Of those, due on as_of and not delivered yet: neither on time nor late.")
    below_threshold: bool = Field(description="On-time or quality rate below its contract target.")
    late_days_30d: int = Field(description="Days in the 30 days on which the late share exceeded 1 - ontime_target.")
    quality_days_30d: int = Field(description="Days in the 30 days on which received units missed quality_target.")
    violations_mtd: int = Field(description="Violation days month to date.")
    ontime_rate_previous: OptRatio = Field(None, description="On-time rate of the 30 days before those 30 days.")


class Violation(BaseModel):
    """One violation day: a vendor-day on which the vendor missed its on-time or quality contract target."""

    vendor_id: str
    vendor: str = Field(description="Vendor name.")
    date: dt.date = Field(description="Promised date (late day) or delivered date (quality day).")
    kind: Literal["late", "quality"]
    deliveries: int = Field(description="Deliveries due that day (late day) or received that day (quality day).")
    late: int | None = Field(None, description="Of the deliveries due that day, how many were late (late day).")
    units: int | None = Field(None, description="Units received that day (quality day).")
    defective_units: int | None = Field(None, description="Defective units received that day (quality day).")
    quality_issues: int | None = Field(None, description="Deliveries received that day with quality_issue true.")
    worst_days_late: int | None = Field(
        None, description="Most days after the promised date among that day's late deliveries (to as_of if open)."
    )
    example_delivery_id: str = Field(
        description="The latest of that day's late deliveries, or a delivery with a quality issue or the most defects."
    )


class Renewal(BaseModel):
    """A contract that renews within 90 days, or whose notice deadline falls within 90 days."""

    vendor_id: str
    vendor: str = Field(description="Vendor name.")
    renewal_date: dt.date
    days_to_renewal: int
    notice_deadline: dt.date = Field(description="renewal_date - notice_period_days (empty notice period = 0 days).")
    days_to_notice_deadline: int = Field(description="Negative when the deadline has passed.")
    notice_status: Literal["passed", "within 14 days", "open"]
    auto_renew: bool | None = None
    annual_value: float | None = None
    owner: str | None = None


class VendorChartPoint(BaseModel):
    """One bar of the vendor scorecard chart: on-time rate against the contract target."""

    vendor: str
    ontime_rate: float | None
    ontime_target: float


class VendorSection(Section):
    """Vendor scorecards, violations, renewals and the vendors the risk section should know are flagged."""

    name: str = "vendors"
    title: str = "Vendors"
    scorecard: list[VendorScore] = Field(default_factory=list, description="Per vendor, last 30 days.")
    violation_log: list[Violation] = Field(
        default_factory=list,
        description="Violation days in the 30 days: flagged vendors first, newest first, at most 500 rows.",
    )
    violations_total: int = Field(
        0, description="Violation days (vendor-days) in the 30 days, all vendors (the log may show fewer)."
    )
    renewals: list[Renewal] = Field(default_factory=list, description="Renewals and notice deadlines in 90 days.")
    chart: list[VendorChartPoint] = Field(default_factory=list, description="On-time rate vs target per vendor.")
    flagged_vendor_ids: list[str] = Field(
        default_factory=list, description="Vendors flagged: >= 3 violation days in 30 days and below threshold."
    )


DEFINITIONS = {
    "deliveries due": "Deliveries whose promised_date is in the 30 days ending as_of: (as_of - 30 days, as_of].",
    "on time": "delivered_date is set, on or before as_of, and on or before promised_date.",
    "late": (
        "delivered after promised_date (delivered by as_of), or not delivered by as_of while promised_date < as_of. "
        "A delivered_date after as_of was unknown at as_of and counts as not delivered."
    ),
    "pending": "Due on as_of and not delivered yet: neither on time nor late, left out of the on-time rate.",
    "on-time rate": "on time / (on time + late) over the deliveries due in the 30 days ending as_of.",
    "quality rate": (
        "1 - sum(defective_quantity) / sum(quantity) over deliveries with delivered_date in the 30 days ending as_of; "
        "an empty defective_quantity counts as 0."
    ),
    "below threshold": "On-time rate below ontime_target or quality rate below quality_target.",
    "violation day": (
        "A vendor-day on which the vendor missed its contract. Late day: a promised_date day on which the late "
        "deliveries due that day exceed (1 - ontime_target) x the deliveries due that day (pending ones left out); "
        "for a vendor with one delivery due that day, that one delivery being late is a violation. Quality day: a "
        "delivered_date day (delivered by as_of) on which the defective units received exceed (1 - quality_target) x "
        "the units received that day (empty defective_quantity = 0), or the deliveries received that day with "
        "quality_issue true exceed (1 - quality_target) x the deliveries received that day; a quality issue on a "
        "delivery not received by as_of does not count yet. A day that is "
        "both a late day and a quality day is one violation day (the log lists both reasons), so a vendor has at "
        "most 30 violation days in 30 days. A day exactly at its allowance is not one."
    ),
    "flagged": (
        "A vendor with 3 or more violation days in the 30 days ending as_of (one miss is noise, three is signal) "
        "AND below its contract threshold over those 30 days (more misses than the contract allows). The first "
        "condition keeps one bad delivery of a small vendor from raising an alarm; the second keeps a high-volume "
        "carrier that is late a few times a month but within its contracted rate from being flagged."
    ),
    "pattern within targets": (
        "3 or more violation days in 30 days while on-time and quality rates still meet the contract: noted on the "
        "radar, not flagged."
    ),
    "violations month to date": "Violation days dated from the first of as_of's month to as_of (once per day).",
    "trend": (
        "On-time rate of the 30 days ending as_of against the 30 days before, both judged with what was known at "
        "as_of: worsening if it fell by more than 2 points, improving if it rose by more than 2, else stable."
    ),
    "overall on-time rate": "on time / (on time + late) over all deliveries due in the 30 days ending as_of.",
    "renewals in 90 days": "Contracts whose renewal_date is in (as_of, as_of + 90 days].",
    "notice deadline": (
        "renewal_date - notice_period_days (empty = 0). A contract is listed when its renewal is in the next 90 "
        "days or its notice deadline is in [as_of, as_of + 90 days]. Deadline within 14 days: urgent."
    ),
}


def is_flagged(violation_days: int, below_threshold: bool) -> bool:
    """The one rule that flags a vendor in every report (audit, brief, review, risks): DEFINITIONS['flagged']."""
    return violation_days >= FLAG_VIOLATIONS and below_threshold


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def _ratio(num: float, den: float) -> float | None:
    return float(num) / float(den) if den else None


def _str(value: object) -> str | None:
    return None if value is None or pd.isna(value) else str(value)  # type: ignore[call-overload]


def compute_vendors(vendors: pd.DataFrame | None, deliveries: pd.DataFrame | None, period: Period) -> VendorSection:
    """Score each vendor's deliveries over 30 days against its contract, log violations and list renewals."""
    if vendors is None or vendors.empty:
        return VendorSection(
            available=vendors is not None,
            note="No vendors dataset configured." if vendors is None else "The vendors dataset has no rows.",
            definitions=DEFINITIONS,
            headlines=_headlines(None, None, None, None, None),
        )

    as_of = pd.Timestamp(period.as_of)
    section = VendorSection(definitions=DEFINITIONS)
    vendors = vendors.drop_duplicates("vendor_id").set_index("vendor_id", drop=False)
    names = vendors["name"].astype("string")

    notes: list[str] = []
    if deliveries is None:
        notes.append("No vendor_deliveries dataset configured: scorecards and violations are not computed.")
        deliveries = pd.DataFrame(
            {c: pd.Series(dtype=t) for c, t in _DELIVERY_DTYPES.items()},
        )
    scores, violations = _score(vendors, deliveries, as_of, section)
    flagged_ids = sorted(scores.index[scores["flagged"]].astype(str))
    section.flagged_vendor_ids = flagged_ids

    for vid, row in scores.iterrows():
        section.scorecard.append(
            VendorScore(
                vendor_id=str(vid),
                vendor=str(row["vendor"]),
                owner=_str(row["owner"]),
                deliveries_due=int(row["due30"]),
                on_time=int(row["ontime30"]),
                late=int(row["late30"]),
                pending=int(row["pending30"]),
                ontime_rate=_opt(row["ontime_rate"]),
                ontime_target=float(row["ontime_target"]),
                quality_rate=_opt(row["quality_rate"]),
                quality_target=float(row["quality_target"]),
                below_threshold=bool(row["below"]),
                violations_30d=int(row["viol30"]),
                late_days_30d=int(row["late_days30"]),
                quality_days_30d=int(row["quality_days30"]),
                violations_mtd=int(row["violmtd"]),
                ontime_rate_previous=_opt(row["ontime_prev_rate"]),
                trend=_opt_trend(row["trend"]),
                flagged=bool(row["flagged"]),
            )
        )
        section.chart.append(
            VendorChartPoint(
                vendor=str(row["vendor"]),
                ontime_rate=_opt(row["ontime_rate"]),
                ontime_target=float(row["ontime_target"]),
            )
        )
        if row["flagged"] or row["pattern"]:
            section.actions.append(_flag_action(row, str(vid), vendors, names))

    section.violations_total = len(violations[["vendor_id", "date"]].drop_duplicates())
    if len(violations):
        log = violations.assign(_flagged=violations["vendor_id"].isin(flagged_ids))
        log = log.sort_values(["_flagged", "date", "vendor_id", "kind"], ascending=[False, False, True, True])
        log = log.head(LOG_LIMIT)
        section.violation_log = [
            Violation(
                vendor_id=str(r["vendor_id"]),
                vendor=str(names.get(r["vendor_id"], r["vendor_id"])),
                date=pd.Timestamp(r["date"]).date(),
                kind=r["kind"],
                deliveries=int(r["deliveries"]),
                late=_opt_int(r["late"]),
                units=_opt_int(r["units"]),
                defective_units=_opt_int(r["defective_units"]),
                quality_issues=_opt_int(r["quality_issues"]),
                worst_days_late=_opt_int(r["worst_days_late"]),
                example_delivery_id=str(r["example_delivery_id"]),
            )
            for r in log.to_dict("records")
        ]

    renewals_90 = _renewals(vendors, as_of, section)

    due = int(scores["due30"].sum()) if len(scores) else 0
    ontime = int(scores["ontime30"].sum()) if len(scores) else 0
    late = int(scores["late30"].sum()) if len(scores) else 0
    units = float(scores["units"].sum()) if len(scores) else 0.0
    defects = float(scores["defects"].sum()) if len(scores) else 0.0
    overall = _ratio(ontime, ontime + late)
    quality = 1 - defects / units if units else None
    section.headlines = _headlines(
        len(flagged_ids), int(scores["below"].sum()) if len(scores) else 0, overall, quality, renewals_90
    )
    if due == 0 and not notes:
        notes.append("No deliveries were due in the 30 days ending as_of.")
    window = delivery_window(deliveries, period, SCORE_DAYS)
    for h in section.headlines:
        if h.key in ("vendors.ontime.30d", "vendors.quality.30d"):
            h.window = window.label
    notes += [n for n in [window.note("The 30-day rates are")] if n]
    section.note = " ".join(notes) or None
    return section


def delivery_window(deliveries: pd.DataFrame | None, period: Period, days: int) -> Window:
    """The `days` ending with the period, shortened to the deliveries' first promised or delivered day."""
    firsts = [first_record(deliveries, c, period.tz) for c in ("promised_date", "delivered_date")]
    return trailing_window(period, days, min((f for f in firsts if f is not None), default=None))


_DELIVERY_DTYPES = {
    "delivery_id": "string",
    "vendor_id": "string",
    "promised_date": "datetime64[ns]",
    "delivered_date": "datetime64[ns]",
    "quantity": "Int64",
    "defective_quantity": "Int64",
    "quality_issue": "boolean",
}


def _opt(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)  # type: ignore[arg-type,call-overload]


def _opt_int(value: object) -> int | None:
    return None if value is None or pd.isna(value) else int(value)  # type: ignore[call-overload]


def _opt_trend(value: object) -> Literal["improving", "stable", "worsening"] | None:
    if value == "improving":
        return "improving"
    if value == "worsening":
        return "worsening"
    if value == "stable":
        return "stable"
    return None


def _status(d: pd.DataFrame, as_of: pd.Timestamp) -> tuple[np.ndarray, pd.Series, np.ndarray, np.ndarray]:
    """Per delivery, what was known at as_of: received by then, its delivered date (NaT if not), on time, late."""
    promised = d["promised_date"]
    # What was known at as_of: a delivery recorded as arriving later was still outstanding then.
    known = (d["delivered_date"].notna() & (d["delivered_date"] <= as_of)).to_numpy()
    delivered = d["delivered_date"].where(known)
    on_time = known & (delivered <= promised).to_numpy()
    late = (known & (delivered > promised).to_numpy()) | (~known & (promised < as_of).to_numpy())
    return known, delivered, on_time, late


def window_rates(vendors: pd.DataFrame, deliveries: pd.DataFrame | None, as_of: dt.date, days: int) -> pd.DataFrame:
    """Per vendor (indexed by vendor_id): on_time, late, units, defects, ontime_rate and quality_rate over the `days`
    days ending as_of, by the scorecard's definitions (the scorecard itself is days=30); rates NaN without data."""
    index = pd.Index(vendors["vendor_id"].astype("string").drop_duplicates(), name="vendor_id")
    out = pd.DataFrame(0.0, index=index, columns=["on_time", "late", "units", "defects"])
    if deliveries is not None and len(deliveries):
        end = pd.Timestamp(as_of)
        start = end - pd.Timedelta(days=days)  # exclusive
        d = deliveries[deliveries["vendor_id"].isin(index)]
        known, delivered, on_time, late = _status(d, end)
        promised = d["promised_date"]
        due = ((promised > start) & (promised <= end)).to_numpy()
        received = known & ((delivered > start) & (delivered <= end)).to_numpy()
        frame = pd.DataFrame(
            {
                "vendor_id": d["vendor_id"].astype("string").to_numpy(),
                "on_time": (on_time & due).astype("float64"),
                "late": (late & due).astype("float64"),
                "units": np.where(received, d["quantity"].astype("float64").fillna(0.0).to_numpy(), 0.0),
                "defects": np.where(received, d["defective_quantity"].astype("float64").fillna(0.0).to_numpy(), 0.0),
            }
        )
        out = frame.groupby("vendor_id").sum().reindex(index, fill_value=0.0)
    judged = out["on_time"] + out["late"]
    out["ontime_rate"] = (out["on_time"] / judged.where(judged > 0)).astype("float64")
    out["quality_rate"] = (1 - out["defects"] / out["units"].where(out["units"] > 0)).astype("float64")
    return out


def _score(
    vendors: pd.DataFrame, deliveries: pd.DataFrame, as_of: pd.Timestamp, section: VendorSection
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-vendor counts (indexed by vendor_id) and the violations of the 30 days, all vectorised."""
    window_start = as_of - pd.Timedelta(days=SCORE_DAYS)  # exclusive
    prev_start = as_of - pd.Timedelta(days=2 * SCORE_DAYS)
    month_start = as_of.replace(day=1)

    # Vendor position per delivery: integer codes make the per-vendor sums plain bincounts.
    all_codes = vendors.index.get_indexer(pd.Index(deliveries["vendor_id"]))
    known_vendor = all_codes >= 0
    unknown = int((~known_vendor).sum())
    d = deliveries.loc[known_vendor]
    codes = all_codes[known_vendor]
    n_vendors = len(vendors)
    promised = d["promised_date"]
    known, delivered, on_time, late = _status(d, as_of)
    in30 = ((promised > window_start) & (promised <= as_of)).to_numpy()
    prev30 = ((promised > prev_start) & (promised <= window_start)).to_numpy()
    recv30 = known & ((delivered > window_start) & (delivered <= as_of)).to_numpy()
    qty = d["quantity"].astype("float64").fillna(0.0).to_numpy()
    defective = d["defective_quantity"].astype("float64").fillna(0.0).to_numpy()
    issue = d["quality_issue"].fillna(False).astype(bool).to_numpy()
    promised_ns = promised.to_numpy()
    delivered_ns = delivered.to_numpy()
    days_late = np.where(known, (delivered - promised).dt.days, (as_of - promised).dt.days)

    def per_vendor(values: np.ndarray) -> np.ndarray:
        return np.bincount(codes, weights=values.astype("float64"), minlength=n_vendors)

    scores = pd.DataFrame(index=vendors.index)
    scores["vendor"] = vendors["name"].astype("string")
    scores["owner"] = vendors["owner"] if "owner" in vendors else pd.NA
    scores["ontime_target"] = vendors["ontime_target"].astype("float64")
    scores["quality_target"] = vendors["quality_target"].astype("float64")
    pending = in30 & ~on_time & ~late
    for col, values in {
        "due30": in30,
        "ontime30": on_time & in30,
        "late30": late & in30,
        "pending30": pending,
        "ontime_prev": on_time & prev30,
        "late_prev": late & prev30,
        "units": np.where(recv30, qty, 0.0),
        "defects": np.where(recv30, defective, 0.0),
    }.items():
        scores[col] = per_vendor(values)

    # Violation days are judged on every day either window (30 days, month to date) can reach.
    first_day = min(window_start + pd.Timedelta(days=1), month_start)
    ids = d["delivery_id"].astype("string").to_numpy(dtype=object)
    late_rows = np.flatnonzero((on_time | late) & ((promised >= first_day) & (promised <= as_of)).to_numpy())
    late_days = _late_days(
        codes[late_rows],
        promised_ns[late_rows],
        late[late_rows],
        np.where(late, days_late, -1)[late_rows],
        ids[late_rows],
        vendors["ontime_target"].astype("float64").to_numpy(),
    )
    recv_rows = np.flatnonzero(known & ((delivered >= first_day) & (delivered <= as_of)).to_numpy())
    quality_days = _quality_days(
        codes[recv_rows],
        delivered_ns[recv_rows],
        qty[recv_rows],
        defective[recv_rows],
        issue[recv_rows],
        ids[recv_rows],
        vendors["quality_target"].astype("float64").to_numpy(),
    )
    viol = pd.concat([late_days, quality_days], ignore_index=True)
    v30 = viol[(viol["date"] > window_start) & (viol["date"] <= as_of)].copy()
    in_mtd = (viol["date"] >= month_start).to_numpy()
    v30_codes = v30["code"].to_numpy(dtype="int64")
    is_late = (v30["kind"] == "late").to_numpy()
    # A vendor-day that is both late and low-quality is one violation day: count distinct days, not log rows.
    v30_days = v30[["code", "date"]].drop_duplicates()["code"].to_numpy(dtype="int64")
    scores["viol30"] = np.bincount(v30_days, minlength=n_vendors)
    scores["late_days30"] = np.bincount(v30_codes[is_late], minlength=n_vendors)
    scores["quality_days30"] = np.bincount(v30_codes[~is_late], minlength=n_vendors)
    mtd_days = viol.loc[in_mtd, ["code", "date"]].drop_duplicates()["code"].to_numpy(dtype="int64")
    scores["violmtd"] = np.bincount(mtd_days, minlength=n_vendors)
    v30["vendor_id"] = vendors.index.to_numpy()[v30_codes]

    def rate(num: pd.Series, den: pd.Series) -> pd.Series:
        return (num / den.where(den > 0)).astype("float64")

    scores["ontime_rate"] = rate(scores["ontime30"], scores["ontime30"] + scores["late30"])
    scores["ontime_prev_rate"] = rate(scores["ontime_prev"], scores["ontime_prev"] + scores["late_prev"])
    scores["quality_rate"] = 1 - rate(scores["defects"], scores["units"])
    below_ontime = (scores["ontime_rate"] < scores["ontime_target"]).fillna(False)
    below_quality = (scores["quality_rate"] < scores["quality_target"]).fillna(False)
    scores["below"] = below_ontime | below_quality
    change = scores["ontime_rate"] - scores["ontime_prev_rate"]
    trend = pd.Series("stable", index=scores.index, dtype=object)
    trend[change < -TREND_POINTS] = "worsening"
    trend[change > TREND_POINTS] = "improving"
    trend[change.isna()] = None
    scores["trend"] = trend
    scores["flagged"] = [is_flagged(int(n), bool(b)) for n, b in zip(scores["viol30"], scores["below"], strict=True)]
    scores["pattern"] = (scores["viol30"] >= FLAG_VIOLATIONS) & ~scores["below"].astype(bool)
    scores = scores.sort_values(
        ["flagged", "below", "viol30", "vendor"], ascending=[False, False, False, True], kind="stable"
    )

    in30_n = int(in30.sum())
    pending_n = int(pending.sum())
    section.basis.append(
        Basis(
            metric="on-time rate",
            rows_used=in30_n - pending_n,
            rows_excluded=int(len(deliveries)) - in30_n + pending_n,
            reasons={
                k: v
                for k, v in {
                    "promised outside the 30 days": int(len(d)) - in30_n,
                    "due on as_of, not delivered yet (pending)": pending_n,
                    "unknown vendor_id": unknown,
                }.items()
                if v
            },
        )
    )
    recv_n = int(recv30.sum())
    section.basis.append(
        Basis(
            metric="quality rate",
            rows_used=recv_n,
            rows_excluded=int(len(d)) - recv_n,
            reasons={k: v for k, v in {"not delivered in the 30 days": int(len(d)) - recv_n}.items() if v},
        )
    )
    # The deliveries the 30 days' violation days were judged on: due (and not pending) or received in the window.
    judged = int((((on_time | late) & in30) | recv30).sum())
    late30_n = int(is_late.sum())
    section.basis.append(
        Basis(
            metric=f"violation days ({late30_n} late, {len(v30) - late30_n} quality)",
            rows_used=judged,
            rows_excluded=int(len(deliveries)) - judged,
            reasons={
                k: v
                for k, v in {
                    "neither due nor received in the 30 days": int(len(d)) - judged - pending_n,
                    "due on as_of, not delivered yet (pending)": pending_n,
                    "unknown vendor_id": unknown,
                }.items()
                if v
            },
        )
    )
    return scores, v30


def _late_days(
    codes: np.ndarray,
    dates: np.ndarray,
    late: np.ndarray,
    days_late: np.ndarray,
    ids: np.ndarray,
    targets: np.ndarray,
) -> pd.DataFrame:
    """Late violation days: per vendor x promised day, late deliveries above (1 - ontime_target) x deliveries due.

    Inputs are the judged (on time or late) deliveries, one entry per delivery; days_late is -1 when on time.
    """
    frame = pd.DataFrame({"code": codes, "date": dates, "late": late, "days_late": days_late, "id": ids})
    days = frame.groupby(["code", "date"], sort=False).agg(
        deliveries=("late", "size"), late=("late", "sum"), worst_days_late=("days_late", "max")
    )
    allowed = (1 - targets[days.index.get_level_values("code")]) * days["deliveries"].to_numpy()
    days = days[days["late"].to_numpy() > allowed + EPS]
    # The example is the day's latest delivery (smallest id among equals, so any export gives the same one).
    worst = frame[frame["late"]].sort_values(["days_late", "id"], ascending=[False, True], kind="stable")
    example = worst.drop_duplicates(["code", "date"]).set_index(["code", "date"])["id"]
    out = days.reset_index()
    out["example_delivery_id"] = example.reindex(days.index).to_numpy()
    out["kind"] = "late"
    return out


def _quality_days(
    codes: np.ndarray,
    dates: np.ndarray,
    qty: np.ndarray,
    defective: np.ndarray,
    issue: np.ndarray,
    ids: np.ndarray,
    targets: np.ndarray,
) -> pd.DataFrame:
    """Quality violation days: per vendor x delivered day, defects above the allowance or any quality issue.

    Inputs are the deliveries received by as_of, one entry per delivery.
    """
    frame = pd.DataFrame(
        {"code": codes, "date": dates, "units": qty, "defective": defective, "issue": issue, "id": ids}
    )
    days = frame.groupby(["code", "date"], sort=False).agg(
        deliveries=("units", "size"),
        units=("units", "sum"),
        defective_units=("defective", "sum"),
        quality_issues=("issue", "sum"),
    )
    allowed = (1 - targets[days.index.get_level_values("code")]) * days["units"].to_numpy()
    # Quality issues are judged as a share of the day's deliveries, like lateness: one issue on a vendor's only
    # delivery of the day is a violation, one issue among 40 deliveries at a 98% target is not.
    issue_allowed = (1 - targets[days.index.get_level_values("code")]) * days["deliveries"].to_numpy()
    hit = (days["defective_units"].to_numpy() > allowed + EPS) | (
        days["quality_issues"].to_numpy() > issue_allowed + EPS
    )
    days = days[hit]
    # The example: a delivery with a quality issue if there is one, else the one with the most defective units.
    ranked = frame.sort_values(["issue", "defective", "id"], ascending=[False, False, True], kind="stable")
    example = ranked.drop_duplicates(["code", "date"]).set_index(["code", "date"])["id"]
    out = days.reset_index()
    out["example_delivery_id"] = example.reindex(days.index).to_numpy()
    out["kind"] = "quality"
    return out


def _flag_action(row: pd.Series, vid: str, vendors: pd.DataFrame, names: pd.Series) -> Action:
    figures = (
        f"{int(row['viol30'])} violation days in 30 days ({int(row['late_days30'])} late, "
        f"{int(row['quality_days30'])} quality); on-time {_pct(_opt(row['ontime_rate']))} vs target "
        f"{_pct(float(row['ontime_target']))}, quality {_pct(_opt(row['quality_rate']))} vs target "
        f"{_pct(float(row['quality_target']))}"
    )
    if row["below"]:
        backup = _str(vendors.at[vid, "backup_vendor_id"]) if "backup_vendor_id" in vendors else None
        if backup:
            backup_text = f"evaluate backup {names.get(backup, backup)} ({backup})"
        else:
            backup_text = "qualify a backup vendor (none on file)"
        return Action(
            text=f"Vendor critical issue, {row['vendor']}: formal notice, root cause analysis, {backup_text}; "
            f"{figures}.",
            urgency=Urgency.URGENT,
            owner=_str(row["owner"]),
            source=f"vendor {vid}",
            section="vendors",
            kind="vendor_critical",
        )
    return Action(
        text=f"Keep an eye on {row['vendor']}: {figures}; within its contract, but the misses are a pattern.",
        urgency=Urgency.ON_RADAR,
        owner=_str(row["owner"]),
        source=f"vendor {vid}",
        section="vendors",
        kind="vendor_review",
    )


def _renewals(vendors: pd.DataFrame, as_of: pd.Timestamp, section: VendorSection) -> int:
    """Fill the renewal table and its actions; return the number of renewals in the next 90 days."""
    renewal = vendors["renewal_date"]
    notice = (
        vendors["notice_period_days"].astype("Int64").fillna(0).astype("int64")
        if ("notice_period_days" in vendors)
        else pd.Series(0, index=vendors.index)
    )
    deadline = renewal - pd.to_timedelta(notice, unit="D")
    horizon = as_of + pd.Timedelta(days=RENEWAL_DAYS)
    renews_90 = (renewal > as_of) & (renewal <= horizon)
    deadline_90 = (deadline >= as_of) & (deadline <= horizon)
    listed = (renewal > as_of) & (renews_90 | deadline_90)
    rows = vendors.assign(_deadline=deadline)[listed.to_numpy()].sort_values("_deadline")
    for vid, r in rows.iterrows():
        days_renewal = int((r["renewal_date"] - as_of).days)
        days_notice = int((r["_deadline"] - as_of).days)
        status: Literal["passed", "within 14 days", "open"] = (
            "passed" if days_notice < 0 else "within 14 days" if days_notice <= NOTICE_URGENT_DAYS else "open"
        )
        auto = r.get("auto_renew")
        auto_renew = None if auto is None or pd.isna(auto) else bool(auto)
        value = _opt(r.get("annual_value"))
        owner = _str(r.get("owner"))
        section.renewals.append(
            Renewal(
                vendor_id=str(vid),
                vendor=str(r["name"]),
                renewal_date=r["renewal_date"].date(),
                days_to_renewal=days_renewal,
                notice_deadline=r["_deadline"].date(),
                days_to_notice_deadline=days_notice,
                notice_status=status,
                auto_renew=auto_renew,
                annual_value=value,
                owner=owner,
            )
        )
        what = "renews automatically" if auto_renew else "ends (no auto-renewal)" if auto_renew is False else "renews"
        value_text = f", annual value {value:,.0f}" if value is not None else ""
        when = f"on {r['renewal_date'].date().isoformat()} (in {days_renewal} days{value_text})"
        if status == "passed":
            text = (
                f"Contract with {r['name']} {what} {when}: the notice deadline "
                f"{r['_deadline'].date().isoformat()} has passed, too late to give notice; plan the renegotiation."
            )
            urgency = Urgency.IMPORTANT
        else:
            text = (
                f"Decide on the contract with {r['name']}: it {what} {when}; notice is due by "
                f"{r['_deadline'].date().isoformat()} (in {days_notice} days)."
            )
            urgency = Urgency.URGENT if status == "within 14 days" else Urgency.IMPORTANT
        section.actions.append(
            Action(
                text=text,
                urgency=urgency,
                owner=owner,
                source=f"vendor {vid}",
                section="vendors",
                due=None if status == "passed" else r["_deadline"].date(),
                kind="contract_notice" if status != "passed" else "contract_notice_passed",
            )
        )
    section.basis.append(
        Basis(
            metric="renewals",
            rows_used=int(listed.sum()),
            rows_excluded=int(len(vendors) - listed.sum()),
            reasons={"renewal and notice deadline outside the next 90 days": int(len(vendors) - listed.sum())}
            if len(vendors) - listed.sum()
            else {},
        )
    )
    return int(renews_90.sum())


def _headlines(
    flagged: int | None, below: int | None, ontime: float | None, quality: float | None, renewals: int | None
) -> list[Headline]:
    return [
        Headline(
            key="vendors.flagged",
            label="Vendors flagged (3+ violation days, below contract)",
            value=flagged,
            unit="vendors",
            better="lower",
        ),
        Headline(
            key="vendors.below_threshold",
            label="Vendors below contract target",
            value=below,
            unit="vendors",
            better="lower",
        ),
        Headline(
            key="vendors.ontime.30d", label="On-time delivery, 30 days", value=ontime, unit="ratio", better="higher"
        ),
        Headline(
            key="vendors.quality.30d",
            label="Units without defect, 30 days",
            value=quality,
            unit="ratio",
            better="higher",
        ),
        Headline(key="vendors.renewals.90d", label="Contract renewals in 90 days", value=renewals, unit="contracts"),
    ]


compute_vendors_task = compute_task(compute_vendors, name="compute_vendors")
