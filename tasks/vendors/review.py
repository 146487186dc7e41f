"""The vendor SLA review: per-vendor scores and grades, signals, credits owed, incidents caused, renewal timelines,
breach notices and the daily change alert, built on the weekly audit's vendor, SLA and incident figures."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from opsflow.charts import grouped_bar_chart
from opsflow.config import VendorScoring
from opsflow.findings import Action, Basis, Headline, OptRatio, Ratio, Section, Urgency
from opsflow.history import HistoryStore, StoredRun
from opsflow.period import Period
from opsflow.tasking import compute_task, io_task
from tasks.service_levels.slo import SlaSection
from tasks.vendors.scorecard import (
    DEFINITIONS as SCORECARD_DEFINITIONS,
)
from tasks.vendors.scorecard import (
    FLAG_VIOLATIONS,
    NOTICE_URGENT_DAYS,
    SCORE_DAYS,
    Renewal,
    VendorScore,
    VendorSection,
    Violation,
    delivery_window,
    window_rates,
)

log = logging.getLogger("opsflow.vendor_review")

FLOW = "vendor-sla-review"
LONG_DAYS = 90
RESPONSE_BEST_HOURS = 4.0
RESPONSE_WORST_HOURS = 72.0
POINTS_PENALTY = 10.0
"""Component score lost per percentage point below the contract target (10 points below target = 0)."""
GRADE_BANDS: tuple[tuple[float, str], ...] = ((90.0, "A"), (80.0, "B"), (70.0, "C"))
MIN_REPLACE_DELIVERIES = 10
"""A grade D alone recommends REPLACE only on at least this many deliveries judged in the 30 days."""
INCIDENT_SIGNAL = 2
"""Real incidents caused in the 30 days that make a signal: one is bad luck, two is a pattern."""
TIMELINE_DAYS = 56
RCA_DAYS = 10
NOTICE_LOG_ROWS = 10
TOP_PERFORMERS = 5
NOTICE_TEMPLATE = "vendor_notice.md.j2"
UNUSABLE_SLA = "no met flag and no measured/target value"


class Grade(StrEnum):
    """The vendor's letter grade from its weighted score."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"


class Recommendation(StrEnum):
    """What to do with the vendor at its next decision point."""

    KEEP = "KEEP"
    REVIEW = "REVIEW"
    REPLACE = "REPLACE"


class Signal(StrEnum):
    """A reason to look at a vendor today; the daily alert fires when one appears that was not there before."""

    VIOLATIONS = "violations"
    BELOW_THRESHOLD = "below_threshold"
    WORSENING = "worsening"
    INCIDENTS = "incidents"
    BREACH = "breach"
    DEADLINE = "deadline"


PERFORMANCE_SIGNALS = (Signal.VIOLATIONS, Signal.BELOW_THRESHOLD, Signal.WORSENING, Signal.INCIDENTS)
"""The signals that describe a vendor's performance; only the weekly audit's flag (Signal.BREACH) flags it."""

SIGNAL_TEXT = {
    Signal.VIOLATIONS: "3+ violation days in 30 days",
    Signal.BELOW_THRESHOLD: "below contract target",
    Signal.WORSENING: "worsening trend",
    Signal.INCIDENTS: "caused 2+ incidents in 30 days",
    Signal.BREACH: "in breach (formal notice)",
    Signal.DEADLINE: "notice deadline within 14 days",
}

PHASES: tuple[tuple[str, str, str], ...] = (
    ("performance review", "weeks 1-2", "pull the 90-day scorecard, violation log, credits owed and incidents caused"),
    ("internal decision", "weeks 3-4", "decide keep, renegotiate or replace with the owner and finance"),
    ("negotiation", "weeks 5-6", "negotiate targets, credits and price, or line up the backup vendor"),
    ("sign", "weeks 7-8", "sign the renewal or send the termination notice"),
)
"""The seed's renewal timeline: four two-week phases ending at the notice deadline."""

DEFINITIONS: dict[str, str] = {
    "windows": (
        "30 days: (as_of - 30 days, as_of]; 90 days: (as_of - 90 days, as_of]. On-time and quality rates use the "
        "weekly audit's definitions (tasks/vendors/scorecard.py): on time / (on time + late) over deliveries promised "
        "in the window, and 1 - defective units / units over deliveries received in the window."
    ),
    "delivery score": (
        "0..100 from the 30-day on-time rate: 100 at or above the contract's ontime_target, minus 10 per "
        "percentage point below it (fractions count), never below 0: 5 points below target scores 50, 10 points 0."
    ),
    "quality score": "0..100 from the 30-day quality rate against quality_target, with the delivery score's mapping.",
    "responsiveness score": (
        "0..100 from the median response_hours of deliveries promised in the 30 days that have one (the hours the "
        "vendor took to respond to a problem): median <= 4 h = 100, >= 72 h = 0, linear in between."
    ),
    "weighted score": (
        "delivery, quality and responsiveness scores weighted by opsflow.yaml vendor_scoring, normalised to sum to 1. "
        "A component without data (no deliveries due, no units received, no response recorded) is left out and the "
        "other weights are normalised again; without any component the vendor is not scored."
    ),
    "grade": (
        "A: score >= 90; B: >= 80; C: >= 70; D: below 70. A flagged vendor (see 'flagged') is graded C at best, and D "
        "when its on-time trend is also worsening: a vendor in breach of its contract cannot be graded A or B, "
        "whatever its weighted score."
    ),
    "flagged": SCORECARD_DEFINITIONS["flagged"]
    + " The same rule and the same figures as the weekly audit and the daily brief (tasks/vendors/scorecard.py).",
    "signals": (
        "violations: 3 or more violation days in the 30 days (weekly audit definition); below_threshold: 30-day "
        "on-time or quality rate below its contract target (this triggers the contract's review provisions); "
        "worsening: on-time rate fell more than 2 points against the 30 days before; incidents: the vendor is "
        "named as cause (incidents.vendor_id) of 2 or more real incidents opened in the 30 days. Signals say why "
        "to look at a vendor; only the weekly audit's rule (breach) flags it."
    ),
    "breach": (
        "Flagged by the weekly audit's rule: below its contract target over the 30 days AND 3 or more violation "
        "days. A formal notice is drafted for each vendor in breach; a single bad delivery of a small vendor is "
        "not one."
    ),
    "recommendation": (
        "From the grade alone, so the two cannot contradict: REPLACE: grade D on at least 10 deliveries judged (on "
        "time or late) in the 30 days. REVIEW: grade C, or a grade D on fewer than 10 deliveries (one late parcel of "
        "a small supplier is too little evidence to replace it). KEEP: grade A or B. A vendor without a grade (no "
        "deliveries in the 30 days) is REVIEW when it caused 2 or more incidents in the 30 days, else KEEP."
    ),
    "service credit": (
        "credit_per_point x percentage points of 30-day on-time rate below ontime_target x monthly value "
        "(annual_value / 12), capped at credit_cap x monthly value (no cap when credit_cap is empty). Fractional "
        "points count pro rata. A contract with an empty or zero credit_per_point has no credit clause; its clause "
        "text is shown instead."
    ),
    "backup vendor": "backup_vendor_id from the contract, with its own score, grade and signals from this scorecard.",
    "incidents caused": (
        "Real incidents (kind = real) with this vendor as incidents.vendor_id, opened in the 90 days ending as_of."
    ),
    "error budget burned": (
        "Per incident and SLA (category, service) of the service it hit: SLA events of that pair measured in "
        "[opened_at, resolved_at) (an unresolved incident: up to the period end) that were not met (met flag, else "
        "measured_value <= target_value), divided by the pair's 30-day error budget in events: (1 - objective) x "
        "usable events in the 30 days ending as_of (the SLA section's error budget). 1.0 = a whole 30-day budget; "
        "an objective of 100% has no budget to burn."
    ),
    "renewal timeline": (
        "For every contract whose renewal or notice deadline is within 90 days: 8 weeks ending at the notice "
        "deadline (renewal_date - notice_period_days; at renewal when no notice period), in four two-week phases: "
        "performance review, internal decision, negotiation, sign. 'Due now' is today's phase; phases that ended "
        "before today are overdue unless done (when the deadline is closer than 8 weeks)."
    ),
    "notice": (
        "Drafted from reports/templates/vendor_notice.md.j2 with the 30-day figures, the violation log, the credit "
        "owed and a root-cause analysis requested within 10 days. Claude may reword the opening paragraph only; "
        "its text is kept when it shows every number of the template's paragraph and no other, else the template's."
    ),
    "change (daily alert)": (
        "Today's signals per vendor against the latest earlier (or same-day) run in the history store: a signal "
        "that was not there before (new breach, new flag, new worsening, a deadline now inside 14 days) is a "
        "change. Cleared signals are listed but alert nobody."
    ),
}


# -- rows and sections ----------------------------------------------------------------------------------------------


class VendorReviewRow(BaseModel):
    """One vendor's review: rates over 30 and 90 days, component scores, grade, signals and recommendation."""

    vendor_id: str
    vendor: str = Field(description="Vendor name.")
    category: str | None = Field(None, description="What the vendor supplies.")
    owner: str | None = Field(None, description="Who manages the relationship.")
    deliveries_30d: int = Field(description="Deliveries promised in the 30 days.")
    ontime_30d: OptRatio = Field(None, description="On-time rate, 30 days.")
    ontime_90d: OptRatio = Field(None, description="On-time rate, 90 days.")
    ontime_target: Ratio = Field(description="Contracted on-time rate.")
    quality_30d: OptRatio = Field(None, description="Units without defect, 30 days.")
    quality_90d: OptRatio = Field(None, description="Units without defect, 90 days.")
    quality_target: Ratio = Field(description="Contracted quality rate.")
    median_response_hours: float | None = Field(None, description="Median hours to respond to a problem, 30 days.")
    delivery_score: float | None = Field(None, description="0..100.")
    quality_score: float | None = Field(None, description="0..100.")
    responsiveness_score: float | None = Field(None, description="0..100.")
    score: float | None = Field(None, description="Weighted score 0..100.")
    grade: Grade | None = None
    grade_note: str | None = Field(None, description="Why the grade is lower than the score's band, when it is.")
    trend: Literal["improving", "stable", "worsening"] | None = None
    violations_30d: int = Field(description="Violation days in the 30 days (a day both late and low-quality once).")
    flagged: bool = Field(False, description="Flagged by the weekly audit's rule: below contract, 3+ violation days.")
    incidents_30d: int = Field(0, description="Real incidents caused in the 30 days.")
    signals: list[Signal] = Field(default_factory=list, description="Performance signals (see definitions).")
    recommendation: Recommendation


class ScorecardSection(Section):
    """Every vendor graded A to D with KEEP, REVIEW or REPLACE."""

    name: str = "scorecard"
    title: str = "Vendor scorecard"
    scorecard: list[VendorReviewRow] = Field(
        default_factory=list, description="Per vendor: 30/90-day rates, scores and recommendation."
    )
    weights: dict[str, float] = Field(default_factory=dict, description="Normalised weights of the score.")


class CreditRow(BaseModel):
    """The service credit a flagged vendor owes under its clause for the 30 days."""

    vendor_id: str
    vendor: str
    ontime_30d: OptRatio = None
    ontime_target: Ratio
    points_below: float = Field(description="Percentage points of on-time rate below target (0 when at or above).")
    monthly_value: float | None = Field(None, description="annual_value / 12.", json_schema_extra={"unit": "currency"})
    credit_rate: OptRatio = Field(None, description="Credit as a share of the monthly value, after the cap.")
    credit: float | None = Field(None, description="Credit owed.", json_schema_extra={"unit": "currency"})
    capped: bool = False
    basis: str = Field(description="'credit clause', 'no credit clause' or why no figure.")
    clause: str | None = Field(None, description="The clause as written in the contract.")


class FlaggedVendorRow(BaseModel):
    """A flagged vendor: why, what it owes, what its incidents cost, and who could take over."""

    vendor_id: str
    vendor: str
    owner: str | None = None
    signals: list[Signal] = Field(default_factory=list)
    in_breach: bool
    score: float | None = None
    grade: Grade | None = None
    recommendation: Recommendation
    credit: float | None = Field(None, description="Credit owed, 30 days.", json_schema_extra={"unit": "currency"})
    incidents_90d: int = Field(0, description="Real incidents caused in the 90 days.")
    budget_burned: OptRatio = Field(
        None, description="Sum of the 30-day error budget shares its incidents burned (over every SLA they hit)."
    )
    backup_vendor_id: str | None = None
    backup_vendor: str | None = None
    backup_score: float | None = None
    backup_grade: Grade | None = None
    backup_signals: list[Signal] = Field(default_factory=list)


class VendorIncidentRow(BaseModel):
    """One incident a vendor caused, and the error budget it burned on one SLA of the service it hit."""

    vendor_id: str
    vendor: str
    incident_id: str
    severity: str
    service: str
    opened_at: datetime
    resolved_at: datetime | None = Field(None, description="Empty while open.")
    hours: float = Field(description="Hours from opened to resolved (to the period end while open).")
    sla_category: str | None = Field(None, description="SLA category of the service (empty: the service has none).")
    failed_events: int = Field(0, description="SLA events of the pair not met during the incident.")
    budget_events: float | None = Field(None, description="(1 - objective) x usable events in the 30 days.")
    budget_burned: OptRatio = Field(None, description="failed_events / budget_events.")


class NoticeRow(BaseModel):
    """A drafted breach notice, saved for a person to send."""

    vendor_id: str
    vendor: str
    path: Path
    wording: Literal["claude", "template"]
    note: str | None = Field(None, description="Why the template wording was kept, when Claude was asked.")


class FlaggedSection(Section):
    """Flagged vendors: credits owed, backups, incidents caused and the budget they burned, violation days."""

    name: str = "flagged"
    title: str = "Flagged vendors"
    flagged: list[FlaggedVendorRow] = Field(default_factory=list, description="Flagged vendors, worst first.")
    credits: list[CreditRow] = Field(default_factory=list, description="Service credits owed, flagged vendors.")
    incidents: list[VendorIncidentRow] = Field(
        default_factory=list, description="Incidents caused by vendors in 90 days, with the error budget burned."
    )
    violation_log: list[Violation] = Field(
        default_factory=list, description="Violation days of the flagged vendors, 30 days, newest first."
    )
    notices: list[NoticeRow] = Field(
        default_factory=list, description="Breach notices drafted for a person to send (vendors in breach)."
    )


class RenewalTimelineRow(BaseModel):
    """A contract near renewal: where today falls in its 8-week timeline and what is due now."""

    vendor_id: str
    vendor: str
    owner: str | None = None
    renewal_date: date
    notice_deadline: date
    days_to_notice_deadline: int
    timeline_start: date = Field(description="notice_deadline - 8 weeks.")
    phase_now: str = Field(description="Today's phase, 'not started' or 'deadline passed'.")
    due_now: str
    overdue_phases: list[str] = Field(default_factory=list, description="Phases that ended before today.")
    grade: Grade | None = None
    recommendation: Recommendation | None = None
    auto_renew: bool | None = None
    annual_value: float | None = Field(None, json_schema_extra={"unit": "currency"})


class RenewalSection(Section):
    """Contracts within 90 days of renewal or notice deadline, with their renewal timeline."""

    name: str = "renewals"
    title: str = "Renewals"
    renewals: list[RenewalTimelineRow] = Field(default_factory=list, description="Renewal timelines, deadline first.")


class ChangeRow(BaseModel):
    """A signal that appeared or cleared since the previous run."""

    vendor_id: str
    vendor: str
    signal: Signal
    change: Literal["new", "cleared"]
    detail: str


class ChangesSection(Section):
    """What changed since the previous run: the daily alert's content."""

    name: str = "changes"
    title: str = "Changes since the previous run"
    previous_as_of: date | None = Field(None, description="The run compared with (empty: first run).")
    changes: list[ChangeRow] = Field(default_factory=list, description="New and cleared signals.")

    @property
    def new(self) -> list[ChangeRow]:
        return [c for c in self.changes if c.change == "new"]


# -- helpers --------------------------------------------------------------------------------------------------------


def _opt(value: Any) -> float | None:
    if value is None or value is pd.NA:
        return None
    out = float(value)
    return None if math.isnan(out) else out


def _str(value: Any) -> str | None:
    return None if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) else str(value)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _money(value: float | None, currency: str) -> str:
    return "n/a" if value is None else f"{currency} {value:,.2f}"


def normalised_weights(scoring: VendorScoring) -> dict[str, float]:
    """The score weights from opsflow.yaml scaled to sum to 1 (all zero: equal weights)."""
    raw = {"delivery": scoring.delivery, "quality": scoring.quality, "responsiveness": scoring.responsiveness}
    raw = {k: max(float(v), 0.0) for k, v in raw.items()}
    total = sum(raw.values())
    return {k: (v / total if total else 1 / len(raw)) for k, v in raw.items()}


def target_score(rate: float | None, target: float) -> float | None:
    """0..100: 100 at or above target, minus POINTS_PENALTY per percentage point below, floored at 0."""
    if rate is None:
        return None
    points_below = max(target - rate, 0.0) * 100
    return round(max(0.0, 100.0 - POINTS_PENALTY * points_below), 6)


def response_score(median_hours: float | None) -> float | None:
    """0..100: a median response of 4 h or less scores 100, 72 h or more 0, linear in between."""
    if median_hours is None:
        return None
    span = RESPONSE_WORST_HOURS - RESPONSE_BEST_HOURS
    return round(min(100.0, max(0.0, 100.0 * (RESPONSE_WORST_HOURS - median_hours) / span)), 6)


def weighted_score(components: dict[str, float | None], weights: dict[str, float]) -> float | None:
    """The weighted mean of the components that have data (weights normalised over them)."""
    present = {k: v for k, v in components.items() if v is not None and weights.get(k, 0) > 0}
    total = sum(weights[k] for k in present)
    if not present or total <= 0:
        return None
    return round(sum(weights[k] * v for k, v in present.items()) / total, 6)


def grade_of(score: float | None) -> Grade | None:
    if score is None:
        return None
    for floor, letter in GRADE_BANDS:
        if score >= floor:
            return Grade(letter)
    return Grade.D


def rate_vendor(score: float | None, flagged: bool, trend: str | None) -> tuple[Grade | None, str | None]:
    """The grade by DEFINITIONS['grade']: the score's band, capped for a flagged vendor; and why it was capped."""
    grade = grade_of(score)
    if grade is None or not flagged:
        return grade, None
    if trend == "worsening":
        return Grade.D, None if grade == Grade.D else f"score {score:.0f} ({grade.value}); D: flagged and worsening"
    if grade in (Grade.A, Grade.B):
        return Grade.C, f"score {score:.0f} ({grade.value}); C at best: flagged"
    return grade, None


def recommend(grade: Grade | None, signals: Iterable[Signal], judged: int) -> Recommendation:
    """KEEP, REVIEW or REPLACE from the grade (DEFINITIONS["recommendation"]); `judged`: deliveries on time or late."""
    if grade == Grade.D and judged >= MIN_REPLACE_DELIVERIES:
        return Recommendation.REPLACE
    if grade in (Grade.C, Grade.D):
        return Recommendation.REVIEW
    if grade is None and Signal.INCIDENTS in set(signals):
        return Recommendation.REVIEW
    return Recommendation.KEEP


def review_period(as_of: date | None, timezone: str) -> Period:
    """The review day: `as_of`, or today in the workspace's time zone."""
    return Period(as_of or datetime.now(ZoneInfo(timezone)).date(), timezone)


def is_digest_day(as_of: date, digest: bool | None) -> bool:
    """The full scorecard digest goes out when asked, and by default on Fridays."""
    return digest if digest is not None else as_of.weekday() == 4


# -- responsiveness and incidents -------------------------------------------------------------------------------------


def response_medians(deliveries: pd.DataFrame | None, as_of: date, days: int = SCORE_DAYS) -> pd.DataFrame:
    """Per vendor_id: median response_hours and how many responses, over deliveries promised in the `days` days."""
    empty = pd.DataFrame({"median": pd.Series(dtype="float64"), "responses": pd.Series(dtype="int64")})
    if deliveries is None or deliveries.empty or "response_hours" not in deliveries:
        return empty
    end = pd.Timestamp(as_of)
    promised = deliveries["promised_date"]
    window = (promised > end - pd.Timedelta(days=days)) & (promised <= end) & deliveries["response_hours"].notna()
    d = deliveries.loc[window, ["vendor_id", "response_hours"]]
    if d.empty:
        return empty
    grouped = d.groupby(d["vendor_id"].astype(str))["response_hours"]
    return pd.DataFrame({"median": grouped.median().astype("float64"), "responses": grouped.size()})


def _sla_outcomes(sla_events: pd.DataFrame) -> pd.DataFrame:
    """Usable SLA events with `failed`: the SLA section's met rule (met flag, else measured <= target)."""
    flag = sla_events["met"]
    measurable = sla_events["measured_value"].notna() & sla_events["target_value"].notna()
    usable = (flag.notna() | measurable).to_numpy(dtype=bool)
    derived = (sla_events["measured_value"] <= sla_events["target_value"]).to_numpy(dtype=bool, na_value=False)
    ok = np.where(flag.notna().to_numpy(dtype=bool), flag.to_numpy(dtype=bool, na_value=False), derived)
    out = sla_events.loc[usable, ["category", "service", "measured_at"]].copy()
    out["failed"] = ~ok[usable]
    return out


def vendor_incidents(
    incidents: pd.DataFrame | None,
    sla_events: pd.DataFrame | None,
    sla: SlaSection | None,
    vendors: pd.DataFrame | None,
    period: Period,
    days: int = LONG_DAYS,
) -> list[VendorIncidentRow]:
    """Real incidents a vendor caused in the `days` days: one row per SLA of the hit service, with the budget burned."""
    if incidents is None or incidents.empty or "vendor_id" not in incidents:
        return []
    names = (
        {} if vendors is None else dict(zip(vendors["vendor_id"].astype(str), vendors["name"].astype(str), strict=True))
    )
    start, end = period.days_back(days), period.end
    kind = incidents["kind"].fillna("real") if "kind" in incidents else pd.Series("real", index=incidents.index)
    vendor = incidents["vendor_id"].astype("string").str.strip()
    mask = (kind == "real") & vendor.notna() & (vendor != "") & (incidents["opened_at"] >= start)
    mask &= incidents["opened_at"] < end
    caused = incidents[mask.fillna(False).to_numpy(dtype=bool)].assign(_vendor=vendor[mask.fillna(False)])
    if caused.empty:
        return []
    budgets: dict[str, list[Any]] = {}
    for b in sla.error_budgets if sla is not None else []:
        budgets.setdefault(b.service, []).append(b)
    events = None
    if sla_events is not None and not sla_events.empty:
        wanted = sla_events["service"].isin(list(budgets)) & (sla_events["measured_at"] >= start)
        events = _sla_outcomes(sla_events[wanted & (sla_events["measured_at"] < end)])
    rows: list[VendorIncidentRow] = []
    caused = caused.sort_values(["_vendor", "opened_at", "incident_id"])
    for r in caused.to_dict("records"):
        opened = pd.Timestamp(r["opened_at"])
        resolved = r.get("resolved_at")
        resolved = None if resolved is None or pd.isna(resolved) or resolved >= end else pd.Timestamp(resolved)
        until = resolved if resolved is not None else end
        base = {
            "vendor_id": str(r["_vendor"]),
            "vendor": names.get(str(r["_vendor"]), str(r["_vendor"])),
            "incident_id": str(r["incident_id"]),
            "severity": str(r["severity"]),
            "service": str(r["service"]),
            "opened_at": opened.to_pydatetime(),
            "resolved_at": resolved.to_pydatetime() if resolved is not None else None,
            "hours": round((until - opened).total_seconds() / 3600, 2),
        }
        service_budgets = budgets.get(str(r["service"]), [])
        if not service_budgets:
            rows.append(VendorIncidentRow(**base))
            continue
        for b in sorted(service_budgets, key=lambda b: b.category):
            failed = 0
            if events is not None:
                hit = (
                    (events["service"] == b.service)
                    & (events["category"] == b.category)
                    & (events["measured_at"] >= opened)
                    & (events["measured_at"] < until)
                )
                failed = int(events.loc[hit, "failed"].sum())
            budget = round(b.allowed_error_ratio * b.events_30d, 9)
            rows.append(
                VendorIncidentRow(
                    **base,
                    sla_category=b.category,
                    failed_events=failed,
                    budget_events=budget if budget > 0 else None,
                    budget_burned=failed / budget if budget > 0 else None,
                )
            )
    return rows


# -- scorecard ------------------------------------------------------------------------------------------------------


def score_vendors(
    vendor_section: VendorSection,
    vendors: pd.DataFrame | None,
    deliveries: pd.DataFrame | None,
    incident_rows: list[VendorIncidentRow],
    period: Period,
    scoring: VendorScoring,
) -> ScorecardSection:
    """Every vendor's 30/90-day rates, component and weighted scores, grade, signals and recommendation."""
    weights = normalised_weights(scoring)
    section = ScorecardSection(definitions=DEFINITIONS, weights=weights)
    if vendors is None or vendors.empty or not vendor_section.scorecard:
        section.available = vendors is not None
        section.note = vendor_section.note or "No vendors to review."
        section.headlines = scorecard_headlines([])
        return section
    long = window_rates(vendors, deliveries, period.as_of, LONG_DAYS)
    responses = response_medians(deliveries, period.as_of)
    meta = vendors.drop_duplicates("vendor_id").set_index(vendors["vendor_id"].drop_duplicates().astype(str))
    recent_start = period.days_back(SCORE_DAYS)
    incidents_30 = pd.Series(
        [r.vendor_id for r in {(r.vendor_id, r.incident_id): r for r in incident_rows}.values()
         if pd.Timestamp(r.opened_at) >= recent_start],
        dtype=object,
    ).value_counts()  # fmt: skip
    for s in vendor_section.scorecard:
        median = _opt(responses["median"].get(s.vendor_id)) if len(responses) else None
        components = {
            "delivery": target_score(s.ontime_rate, s.ontime_target),
            "quality": target_score(s.quality_rate, s.quality_target),
            "responsiveness": response_score(median),
        }
        score = weighted_score(components, weights)
        grade, grade_note = rate_vendor(score, s.flagged, s.trend)
        n_incidents = int(incidents_30.get(s.vendor_id, 0))
        signals = _signals(s, n_incidents)
        row = VendorReviewRow(
            vendor_id=s.vendor_id,
            vendor=s.vendor,
            category=_str(meta["category"].get(s.vendor_id)) if "category" in meta else None,
            owner=s.owner,
            deliveries_30d=s.deliveries_due,
            ontime_30d=s.ontime_rate,
            ontime_90d=_opt(long["ontime_rate"].get(s.vendor_id)),
            ontime_target=s.ontime_target,
            quality_30d=s.quality_rate,
            quality_90d=_opt(long["quality_rate"].get(s.vendor_id)),
            quality_target=s.quality_target,
            median_response_hours=median,
            delivery_score=components["delivery"],
            quality_score=components["quality"],
            responsiveness_score=components["responsiveness"],
            score=score,
            grade=grade,
            grade_note=grade_note,
            trend=s.trend,
            violations_30d=s.violations_30d,
            flagged=s.flagged,
            incidents_30d=n_incidents,
            signals=signals,
            recommendation=recommend(grade, signals, s.on_time + s.late),
        )
        section.scorecard.append(row)
        if not row.flagged and row.recommendation != Recommendation.KEEP:
            section.actions.append(_review_action(row))
    rank = {Recommendation.REPLACE: 0, Recommendation.REVIEW: 1, Recommendation.KEEP: 2}
    section.scorecard.sort(key=lambda r: (rank[r.recommendation], r.score if r.score is not None else 101, r.vendor))
    section.headlines = scorecard_headlines(section.scorecard)
    scored = sum(r.score is not None for r in section.scorecard)
    with_responses = int((responses["responses"] > 0).sum()) if len(responses) else 0
    section.basis.extend(vendor_section.basis)
    section.basis.append(
        Basis(
            metric="weighted score",
            rows_used=scored,
            rows_excluded=len(section.scorecard) - scored,
            reasons={"no deliveries due or received in the 30 days": len(section.scorecard) - scored}
            if len(section.scorecard) - scored
            else {},
        )
    )
    section.basis.append(
        Basis(
            metric="responsiveness (vendors with a response in 30 days)",
            rows_used=with_responses,
            rows_excluded=len(section.scorecard) - with_responses,
        )
    )
    windows = [delivery_window(deliveries, period, SCORE_DAYS), delivery_window(deliveries, period, LONG_DAYS)]
    notes = [n for n in (section.note, *(w.note(f"The {w.full_days}-day rates are") for w in windows)) if n]
    section.note = " ".join(notes) or None
    return section


def _review_action(row: VendorReviewRow) -> Action:
    """A vendor the review recommends looking at without it being flagged: its grade or the incidents it caused."""
    why = [SIGNAL_TEXT[s] for s in row.signals if s in PERFORMANCE_SIGNALS]
    if row.incidents_30d and Signal.INCIDENTS in row.signals:
        why = [w if w != SIGNAL_TEXT[Signal.INCIDENTS] else f"caused {row.incidents_30d} incidents in 30 days"
               for w in why]  # fmt: skip
    grade = f"grade {row.grade.value} (score {row.score:.0f})" if row.grade and row.score is not None else "no grade"
    return Action(
        text=f"{row.recommendation.value.capitalize()} {row.vendor}: {grade}"
        + (f", {', '.join(why)}" if why else "")
        + "; not flagged (within its contract or without deliveries), so no breach notice.",
        urgency=Urgency.IMPORTANT,
        owner=row.owner,
        source=f"vendor {row.vendor_id}",
        section="scorecard",
        kind="vendor_review",
    )


def _signals(s: VendorScore, incidents_30d: int) -> list[Signal]:
    signals: list[Signal] = []
    if s.violations_30d >= FLAG_VIOLATIONS:
        signals.append(Signal.VIOLATIONS)
    if s.below_threshold:
        signals.append(Signal.BELOW_THRESHOLD)
    if s.trend == "worsening":
        signals.append(Signal.WORSENING)
    if incidents_30d >= INCIDENT_SIGNAL:
        signals.append(Signal.INCIDENTS)
    if s.flagged:
        signals.append(Signal.BREACH)
    return signals


def is_flagged(row: VendorReviewRow) -> bool:
    """Flagged by the weekly audit's rule (the same vendors the audit and the brief count)."""
    return row.flagged


def scorecard_headlines(rows: list[VendorReviewRow]) -> list[Headline]:
    scores = [r.score for r in rows if r.score is not None]
    return [
        Headline(key="vendor_review.scored", label="Vendors scored", value=len(scores), unit="vendors"),
        Headline(
            key="vendor_review.score.median",
            label="Median vendor score",
            value=float(np.median(scores)) if scores else None,
            better="higher",
        ),
        Headline(
            key="vendor_review.flagged",
            label="Vendors flagged",
            value=sum(is_flagged(r) for r in rows),
            unit="vendors",
            better="lower",
        ),
        Headline(
            key="vendor_review.breach",
            label="Vendors in breach (notice drafted)",
            value=sum(Signal.BREACH in r.signals for r in rows),
            unit="vendors",
            better="lower",
        ),
        Headline(
            key="vendor_review.replace",
            label="Recommended REPLACE",
            value=sum(r.recommendation == Recommendation.REPLACE for r in rows),
            unit="vendors",
            better="lower",
        ),
        Headline(
            key="vendor_review.review",
            label="Recommended REVIEW",
            value=sum(r.recommendation == Recommendation.REVIEW for r in rows),
            unit="vendors",
            better="lower",
        ),
    ]


def restrict_scorecard(section: ScorecardSection, vendor_ids: set[str] | None) -> ScorecardSection:
    """The scorecard limited to `vendor_ids` (None: all), headlines recomputed on what is shown."""
    if vendor_ids is None:
        return section
    rows = [r for r in section.scorecard if r.vendor_id in vendor_ids]
    return section.model_copy(update={"scorecard": rows, "headlines": scorecard_headlines(rows)})


# -- flagged vendors: credits, backups, incidents ------------------------------------------------------------------


def service_credit(row: VendorReviewRow, contract: dict[str, Any]) -> CreditRow:
    """The 30-day service credit under the vendor's clause (see DEFINITIONS['service credit'])."""
    per_point = _opt(contract.get("credit_per_point"))
    cap = _opt(contract.get("credit_cap"))
    annual = _opt(contract.get("annual_value"))
    clause = _str(contract.get("clause"))
    monthly = annual / 12 if annual is not None else None
    points = max(row.ontime_target - row.ontime_30d, 0.0) * 100 if row.ontime_30d is not None else 0.0
    points = round(points, 9)
    common = {
        "vendor_id": row.vendor_id,
        "vendor": row.vendor,
        "ontime_30d": row.ontime_30d,
        "ontime_target": row.ontime_target,
        "points_below": points,
        "monthly_value": monthly,
        "clause": clause,
    }
    if not per_point:
        return CreditRow(**common, basis="no credit clause")
    if row.ontime_30d is None:
        return CreditRow(**common, basis="credit clause; no deliveries judged in the 30 days")
    if monthly is None:
        return CreditRow(**common, basis="credit clause; no annual_value to apply it to")
    rate = per_point * points
    capped = cap is not None and rate > cap
    rate = min(rate, cap) if cap is not None else rate
    return CreditRow(**common, credit_rate=rate, credit=round(rate * monthly, 2), capped=capped, basis="credit clause")


def flagged_vendors(
    scorecard: ScorecardSection,
    vendor_section: VendorSection,
    vendors: pd.DataFrame | None,
    incident_rows: list[VendorIncidentRow],
    period: Period,
    currency: str = "EUR",
    vendor_ids: set[str] | None = None,
) -> FlaggedSection:
    """For each flagged vendor: credits owed, its backup and the backup's score, incidents caused and budget burned."""
    section = FlaggedSection(definitions=DEFINITIONS)
    by_id = {r.vendor_id: r for r in scorecard.scorecard}
    contracts: dict[str, dict[str, Any]] = {}
    if vendors is not None and not vendors.empty:
        records = vendors.drop_duplicates("vendor_id").to_dict("records")
        contracts = {str(r["vendor_id"]): {str(k): v for k, v in r.items()} for r in records}
    wanted = [r for r in scorecard.scorecard if is_flagged(r) and (vendor_ids is None or r.vendor_id in vendor_ids)]
    shown_incidents = [i for i in incident_rows if vendor_ids is None or i.vendor_id in vendor_ids]
    for row in wanted:
        contract = contracts.get(row.vendor_id, {})
        credit = service_credit(row, contract)
        section.credits.append(credit)
        own = [i for i in shown_incidents if i.vendor_id == row.vendor_id]
        burned = [i.budget_burned for i in own if i.budget_burned is not None]
        backup_id = _str(contract.get("backup_vendor_id"))
        backup = by_id.get(backup_id) if backup_id else None
        section.flagged.append(
            FlaggedVendorRow(
                vendor_id=row.vendor_id,
                vendor=row.vendor,
                owner=row.owner,
                signals=row.signals,
                in_breach=Signal.BREACH in row.signals,
                score=row.score,
                grade=row.grade,
                recommendation=row.recommendation,
                credit=credit.credit,
                incidents_90d=len({i.incident_id for i in own}),
                budget_burned=sum(burned) if burned else None,
                backup_vendor_id=backup_id,
                backup_vendor=backup.vendor if backup else None,
                backup_score=backup.score if backup else None,
                backup_grade=backup.grade if backup else None,
                backup_signals=backup.signals if backup else [],
            )
        )
        section.actions.append(_flag_action(row, credit, section.flagged[-1], currency))
    section.incidents = shown_incidents
    flagged_ids = {r.vendor_id for r in wanted}
    section.violation_log = [v for v in vendor_section.violation_log if v.vendor_id in flagged_ids]
    owed = [c.credit for c in section.credits if c.credit]
    section.headlines = [
        Headline(
            key="vendor_review.credits_owed",
            label="Service credits owed, 30 days",
            value=round(sum(owed), 2) if owed else 0.0,
            unit=currency,
        ),
        Headline(
            key="vendor_review.incidents_90d",
            label="Incidents caused by vendors, 90 days",
            value=len({i.incident_id for i in shown_incidents}),
            better="lower",
        ),
        Headline(
            key="vendor_review.incidents_burning",
            label="Vendor incidents that burned SLA error budget, 90 days",
            value=len({i.incident_id for i in shown_incidents if i.failed_events}),
            better="lower",
        ),
    ]
    section.basis.append(
        Basis(
            metric="incidents caused (real, vendor named, 90 days)",
            rows_used=len({i.incident_id for i in shown_incidents}),
        )
    )
    if not wanted:
        section.note = "No vendor is flagged today."
    return section


def _flag_action(row: VendorReviewRow, credit: CreditRow, flagged: FlaggedVendorRow, currency: str) -> Action:
    why = ", ".join(SIGNAL_TEXT[s] for s in row.signals if s in PERFORMANCE_SIGNALS)
    parts = [f"{row.vendor}: {why}"]
    if row.ontime_30d is not None:
        parts.append(f"on-time {_pct(row.ontime_30d)} vs {_pct(row.ontime_target)} target")
    if row.score is not None and row.grade is not None:
        parts.append(f"score {row.score:.0f} ({row.grade.value})")
    if credit.credit:
        parts.append(f"credit owed {_money(credit.credit, currency)}")
    if flagged.incidents_90d:
        burned = f", {flagged.budget_burned:.0%} of a 30-day error budget" if flagged.budget_burned else ""
        plural = "s" if flagged.incidents_90d > 1 else ""
        parts.append(f"{flagged.incidents_90d} incident{plural} caused in 90 days{burned}")
    if flagged.backup_vendor_id:
        grade = f" ({flagged.backup_grade.value})" if flagged.backup_grade else ""
        parts.append(f"backup {flagged.backup_vendor or flagged.backup_vendor_id}{grade}")
    else:
        parts.append("no backup vendor on file")
    verb = {
        Recommendation.REPLACE: "Prepare replacement",
        Recommendation.REVIEW: "Review",
        Recommendation.KEEP: "Keep watching",
    }
    breach = "; send the drafted breach notice" if flagged.in_breach else ""
    return Action(
        text=f"{verb[row.recommendation]} {'; '.join(parts)}{breach}.",
        urgency=Urgency.URGENT if flagged.in_breach else Urgency.IMPORTANT,
        owner=row.owner,
        source=f"vendor {row.vendor_id}",
        section="flagged",
        kind=f"vendor_{row.recommendation.value.lower()}",
    )


# -- renewals -------------------------------------------------------------------------------------------------------


def renewal_timeline(renewal: Renewal, as_of: date) -> tuple[str, str, list[str], date]:
    """Today's phase, what is due now, the phases already over, and the timeline's first day."""
    end = renewal.notice_deadline
    start = end - timedelta(days=TIMELINE_DAYS)
    if as_of > end:
        what = "renews automatically" if renewal.auto_renew else "ends" if renewal.auto_renew is False else "renews"
        return (
            "deadline passed",
            f"notice deadline {end.isoformat()} has passed: the contract {what} on {renewal.renewal_date.isoformat()}; "
            "negotiate terms before then",
            [],
            start,
        )
    if as_of < start:
        return "not started", f"performance review starts {start.isoformat()}", [], start
    index = min((as_of - start).days // 14, len(PHASES) - 1)
    name, weeks, what = PHASES[index]
    phase_end = start + timedelta(days=14 * (index + 1))
    overdue = [f"{p[0]} ({p[1]})" for p in PHASES[:index]]
    due = f"{what} by {min(phase_end - timedelta(days=1), end).isoformat()}"
    if index == len(PHASES) - 1:
        due = f"{what} by {end.isoformat()}"
    return f"{name} ({weeks})", due, overdue, start


def renewal_timelines(
    vendor_section: VendorSection, scorecard: ScorecardSection, period: Period, vendor_ids: set[str] | None = None
) -> RenewalSection:
    """The weekly audit's renewal list with each contract's 8-week timeline and what is due now."""
    section = RenewalSection(definitions=DEFINITIONS)
    by_id = {r.vendor_id: r for r in scorecard.scorecard}
    for renewal in vendor_section.renewals:
        if vendor_ids is not None and renewal.vendor_id not in vendor_ids:
            continue
        phase, due, overdue, start = renewal_timeline(renewal, period.as_of)
        review = by_id.get(renewal.vendor_id)
        row = RenewalTimelineRow(
            vendor_id=renewal.vendor_id,
            vendor=renewal.vendor,
            owner=renewal.owner,
            renewal_date=renewal.renewal_date,
            notice_deadline=renewal.notice_deadline,
            days_to_notice_deadline=renewal.days_to_notice_deadline,
            timeline_start=start,
            phase_now=phase,
            due_now=due,
            overdue_phases=overdue,
            grade=review.grade if review else None,
            recommendation=review.recommendation if review else None,
            auto_renew=renewal.auto_renew,
            annual_value=renewal.annual_value,
        )
        section.renewals.append(row)
        section.actions.append(_renewal_action(row, renewal))
    section.basis.extend(b for b in vendor_section.basis if b.metric == "renewals")
    within = sum(0 <= r.days_to_notice_deadline <= NOTICE_URGENT_DAYS for r in section.renewals)
    section.headlines = [
        Headline(key="vendor_review.renewals", label="Contracts in the renewal window", value=len(section.renewals)),
        Headline(
            key="vendor_review.deadlines_14d", label="Notice deadlines within 14 days", value=within, better="lower"
        ),
        Headline(
            key="vendor_review.overdue_phases",
            label="Renewal phases overdue",
            value=sum(len(r.overdue_phases) for r in section.renewals),
            better="lower",
        ),
    ]
    if not section.renewals:
        section.note = "No contract renews or reaches its notice deadline in the next 90 days."
    return section


def _renewal_action(row: RenewalTimelineRow, renewal: Renewal) -> Action:
    advice = f"; this review recommends {row.recommendation.value}" if row.recommendation else ""
    overdue = f"; overdue: {', '.join(row.overdue_phases)}" if row.overdue_phases else ""
    urgent = renewal.notice_status == "within 14 days"
    return Action(
        text=(
            f"Contract with {row.vendor} (renewal {row.renewal_date.isoformat()}, notice by "
            f"{row.notice_deadline.isoformat()}): {row.phase_now}, {row.due_now}{overdue}{advice}."
        ),
        urgency=Urgency.URGENT if urgent else Urgency.IMPORTANT,
        owner=row.owner,
        source=f"vendor {row.vendor_id}",
        section="renewals",
        due=row.notice_deadline if row.phase_now != "deadline passed" else row.renewal_date,
        kind="renewal_timeline",
    )


# -- signals and changes --------------------------------------------------------------------------------------------


def signals_by_vendor(scorecard: ScorecardSection, renewals: RenewalSection) -> dict[str, list[str]]:
    """Today's signals per vendor (performance, breach, notice deadline inside 14 days), for the history store."""
    out: dict[str, set[str]] = {r.vendor_id: {s.value for s in r.signals} for r in scorecard.scorecard}
    for r in renewals.renewals:
        if 0 <= r.days_to_notice_deadline <= NOTICE_URGENT_DAYS:
            out.setdefault(r.vendor_id, set()).add(Signal.DEADLINE.value)
    return {vid: sorted(found) for vid, found in sorted(out.items()) if found}


def load_previous_review(history: HistoryStore, as_of: date) -> StoredRun | None:
    """The latest stored run on or before `as_of` (a same-day re-run compares with the first run of the day)."""
    runs = history.list_runs(FLOW, until=as_of, limit=1)
    return runs[-1] if runs else None


def detect_changes(
    signals: dict[str, list[str]],
    previous: StoredRun | None,
    names: dict[str, str],
    vendor_ids: set[str] | None = None,
) -> ChangesSection:
    """New and cleared signals against the previous run (a vendor outside `vendor_ids` is not compared)."""
    before: dict[str, list[str]] = dict((previous.payload.get("signals") or {}) if previous else {})
    section = ChangesSection(definitions=DEFINITIONS, previous_as_of=previous.as_of if previous else None)
    vendors = sorted(set(signals) | set(before))
    for vid in vendors:
        if vendor_ids is not None and vid not in vendor_ids:
            continue
        now, then = set(signals.get(vid, [])), set(before.get(vid, []))
        for value in sorted(now - then):
            signal = Signal(value)
            section.changes.append(
                ChangeRow(
                    vendor_id=vid,
                    vendor=names.get(vid, vid),
                    signal=signal,
                    change="new",
                    detail=f"new: {SIGNAL_TEXT[signal]}",
                )  # fmt: skip
            )
        for value in sorted(then - now):
            if value not in Signal._value2member_map_:
                continue
            signal = Signal(value)
            section.changes.append(
                ChangeRow(
                    vendor_id=vid,
                    vendor=names.get(vid, vid),
                    signal=signal,
                    change="cleared",
                    detail=f"cleared: {SIGNAL_TEXT[signal]}",
                )  # fmt: skip
            )
    new = section.new
    section.headlines = [
        Headline(key="vendor_review.changes.new", label="New signals since the previous run", value=len(new)),
        Headline(
            key="vendor_review.changes.cleared",
            label="Signals cleared since the previous run",
            value=len(section.changes) - len(new),
        ),
    ]
    if previous is None:
        section.note = "First run: every signal is new."
    elif not section.changes:
        section.note = f"No change since {previous.as_of.isoformat()}."
    return section


def save_review(
    history: HistoryStore, period: Period, signals: dict[str, list[str]], headlines: dict[str, float | None]
) -> None:
    """Store today's signals (re-running the day replaces its run): tomorrow's alert compares with them."""
    history.save_run(FLOW, period.key, period.as_of, headlines, {"signals": signals})


# -- notices --------------------------------------------------------------------------------------------------------


def notice_paragraph(row: VendorReviewRow, as_of: date, rca_due: date) -> str:
    """The notice's opening paragraph from the facts (the part Claude may reword)."""
    figures = [f"{_pct(row.ontime_30d)} of deliveries on time against the contracted {_pct(row.ontime_target)}"]
    if row.quality_30d is not None and row.quality_30d < row.quality_target:
        figures.append(f"{_pct(row.quality_30d)} of units without defect against {_pct(row.quality_target)}")
    return (
        f"Over the 30 days to {as_of:%d %B %Y}, {row.vendor} delivered {' and '.join(figures)}, with "
        f"{row.violations_30d} violation days. This is below the service levels of our agreement, and we hereby give "
        f"formal notice of the breach. We ask for a written root-cause analysis by {rca_due:%d %B %Y}."
    )


# -- summary and Slack ----------------------------------------------------------------------------------------------


def template_summary(scorecard: ScorecardSection, flagged: FlaggedSection, renewals: RenewalSection) -> str:
    replace = [r.vendor for r in scorecard.scorecard if r.recommendation == Recommendation.REPLACE]
    breach = [f.vendor for f in flagged.flagged if f.in_breach]
    urgent = [r.vendor for r in renewals.renewals if 0 <= r.days_to_notice_deadline <= NOTICE_URGENT_DAYS]
    lines = [
        f"{len(flagged.flagged)} of {len(scorecard.scorecard)} vendors are flagged; {len(breach)} in breach"
        + (f" ({', '.join(breach)})" if breach else "")
        + "."
    ]
    if replace:
        lines.append(f"Recommended for replacement: {', '.join(replace)}.")
    if urgent:
        lines.append(f"Notice deadline within 14 days: {', '.join(urgent)}.")
    owed = next((h.value for h in flagged.headlines if h.key == "vendor_review.credits_owed"), None)
    if owed:
        lines.append(f"Service credits owed over the 30 days: {owed:,.2f}.")
    return " ".join(lines)


def alert_actions(changes: ChangesSection, flagged: FlaggedSection, renewals: RenewalSection) -> list[Action]:
    """One action per vendor with a new signal, taken from the sections (what to do about it), urgent first."""
    new_ids = {c.vendor_id for c in changes.new}
    return by_urgency(a for a in [*flagged.actions, *renewals.actions] if a.source.removeprefix("vendor ") in new_ids)


def by_urgency(actions: Iterable[Action]) -> list[Action]:
    """Urgent first, then important, then on the radar (stable within each)."""
    order = {Urgency.URGENT: 0, Urgency.IMPORTANT: 1, Urgency.ON_RADAR: 2}
    return sorted(actions, key=lambda a: order[a.urgency])


def alert_markdown(changes: ChangesSection) -> str:
    lines = ["**What changed**", ""]
    since = changes.previous_as_of.isoformat() if changes.previous_as_of else "the first run"
    lines.append(f"Compared with {since}:")
    lines += [f"- {c.vendor} ({c.vendor_id}): {c.detail}" for c in changes.changes]
    return "\n".join(lines)


def digest_markdown(scorecard: ScorecardSection, flagged: FlaggedSection, renewals: RenewalSection) -> str:
    """The Friday digest's thread: top performers, needs attention, renewals."""
    scored = sorted((r for r in scorecard.scorecard if r.score is not None), key=lambda r: (-(r.score or 0), r.vendor))
    top = [r for r in scored if not is_flagged(r)][:TOP_PERFORMERS]
    lines = ["**Top performers**", ""]
    lines += [f"- {r.vendor}: {r.score:.0f} ({r.grade}), on-time {_pct(r.ontime_30d)}" for r in top] or ["- none"]
    lines += ["", "**Needs attention**", ""]
    lines += [
        f"- {f.vendor}: {f.recommendation.value}, {', '.join(SIGNAL_TEXT[s] for s in f.signals)}"
        for f in flagged.flagged
    ] or ["- nobody"]
    lines += ["", "**Renewals**", ""]
    lines += [
        f"- {r.vendor}: notice by {r.notice_deadline.isoformat()} ({r.phase_now}); due now: {r.due_now}"
        for r in renewals.renewals
    ] or ["- none in the next 90 days"]
    return "\n".join(lines)


ALERT_HEADLINES = ("vendor_review.changes.new", "vendor_review.flagged", "vendor_review.breach",
                   "vendor_review.deadlines_14d", "vendor_review.credits_owed")  # fmt: skip
DIGEST_HEADLINES = ("vendor_review.scored", "vendor_review.score.median", "vendor_review.flagged",
                    "vendor_review.breach", "vendor_review.replace", "vendor_review.review",
                    "vendor_review.credits_owed", "vendor_review.incidents_90d", "vendor_review.renewals",
                    "vendor_review.deadlines_14d")  # fmt: skip


def review_charts(scorecard: ScorecardSection) -> dict[str, bytes]:
    """On-time rate over 30 and 90 days against the contract target, per vendor with deliveries."""
    scored = [r for r in scorecard.scorecard if r.ontime_30d is not None]
    if not scored:
        return {}
    return {
        "vendor-ontime": grouped_bar_chart(
            "On-time rate, 30 and 90 days (dashes: contract target)",
            [r.vendor for r in scored],
            {"30 days": [r.ontime_30d for r in scored], "90 days": [r.ontime_90d for r in scored]},
            "on-time",
            percent=True,
            references=[r.ontime_target for r in scored],
        )
    }


vendor_incidents_task = compute_task(vendor_incidents, name="find_vendor_incidents")
score_vendors_task = compute_task(score_vendors, name="score_vendors")
flagged_vendors_task = compute_task(flagged_vendors, name="review_flagged_vendors")
renewal_timelines_task = compute_task(renewal_timelines, name="plan_renewals")
load_previous_review_task = io_task(load_previous_review, name="load_previous_review")
detect_changes_task = compute_task(detect_changes, name="detect_changes")
review_charts_task = compute_task(review_charts, name="draw_review_charts")
save_review_task = io_task(save_review, name="save_review")
