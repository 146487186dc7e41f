"""The change review of the weekly audit: DORA metrics over 30 days, the week's deployment-policy check, and the
incidents changes caused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from opsflow import cells
from opsflow.coverage import first_record, trailing_window
from opsflow.findings import Action, Basis, Headline, OptRatio, Section, Urgency, id_list
from opsflow.period import Period, local_time
from opsflow.ranking import ranked
from opsflow.tasking import compute_task

WINDOW_DAYS = 30
"""The DORA metrics' trailing window: the 30 local days ending as_of."""
MIN_CHANGES_FOR_RATE = 5
"""A change failure rate needs at least this many changes with a known outcome: 1 failure in 2 is not a rate."""
MIN_LEAD_TIMES = 3
"""A median lead time needs at least this many changes with a commit time."""
MIN_RESTORES = 1
"""A median time to restore needs one restored failure: failures are rare, and one restore is evidence."""
MAX_ACTIONS = 10
"""Actions kept after ranking; every violation stays in the section's table."""
EPS = 1e-12
"""Tolerance when a figure sits exactly on a band boundary (3/20 against 0.15)."""
ALL_SERVICES = "all services"

FAILED_OUTCOMES = ("failed", "rolled_back")
RISK_LEVELS = ("low", "medium", "high", "critical")
STRATEGY_ORDER: dict[str, int] = {"blue-green": 0, "canary": 1, "staged": 2, "manual": 3}
"""Deployment strategies from least to most careful: any strategy at or above the required one is acceptable."""
REQUIRED_STRATEGY: dict[str, str] = {"low": "blue-green", "medium": "canary", "high": "staged", "critical": "manual"}
"""The operations director's Deployment Strategy Framework: the strategy each risk level requires."""
ROLLBACK_FROM = "medium"
"""From this risk level up, a change needs a rollback plan that is documented and tested."""


@dataclass(frozen=True)
class BandLimits:
    """One DORA metric's band boundaries: a value on the better side of `elite` is elite, then high, then medium;
    anything else is low. `inclusive`: a value exactly on a boundary belongs to the better band."""

    elite: float
    high: float
    medium: float
    higher_is_better: bool
    inclusive: bool

    def band(self, value: float | None) -> str | None:
        if value is None:
            return None
        for name, limit in (("elite", self.elite), ("high", self.high), ("medium", self.medium)):
            if self.higher_is_better:
                ok = value >= limit - EPS if self.inclusive else value > limit + EPS
            else:
                ok = value <= limit + EPS if self.inclusive else value < limit - EPS
            if ok:
                return name
        return "low"


DORA_BANDS: dict[str, BandLimits] = {
    # Deploys per day: elite at least once a day, high at least once a week, medium at least once a month (30 days).
    "deployment frequency": BandLimits(1.0, 1 / 7, 1 / 30, higher_is_better=True, inclusive=True),
    # Hours from first commit to production: elite under a day, high under a week, medium under a month (30 days).
    "lead time for changes": BandLimits(24.0, 168.0, 720.0, higher_is_better=False, inclusive=False),
    # Share of changes that failed: elite at most 5%, high at most 10%, medium at most 15%.
    "change failure rate": BandLimits(0.05, 0.10, 0.15, higher_is_better=False, inclusive=True),
    # Hours to restore after a failed change: elite under an hour, high under a day, medium under a week.
    "time to restore": BandLimits(1.0, 24.0, 168.0, higher_is_better=False, inclusive=False),
}
"""The DORA performance bands, after the 2023 Accelerate State of DevOps Report's clusters (DEFINITIONS['DORA
bands'] says how its overlapping ranges were closed)."""


class DoraRow(BaseModel):
    """The four DORA metrics of one service, or of all services, over the 30 days ending as_of."""

    service: str = Field(description="Service, or 'all services' on the overall line.")
    change_failure_rate: OptRatio = Field(
        None, description="Failed changes / changes with a known outcome; empty under 5 such changes."
    )
    cfr_band: str | None = Field(None, description="DORA band of the change failure rate: elite, high, medium, low.")
    deploys_per_week: float = Field(description="Deployments per 7 days over the window.")
    deploy_band: str = Field(description="DORA band of the deployment frequency.")
    lead_time_median_hours: float | None = Field(
        None, description="Median hours from first commit to production; empty under 3 changes with a commit time."
    )
    lead_time_band: str | None = Field(None, description="DORA band of the lead time.")
    time_to_restore_median_hours: float | None = Field(
        None, description="Median hours to restore service after a failed change; empty without a restored failure."
    )
    restore_band: str | None = Field(None, description="DORA band of the time to restore.")
    deployments: int = Field(description="Changes deployed in the window.")
    deploys_per_day: float = Field(description="Deployments per day over the window.")
    with_outcome: int = Field(description="Changes with a known outcome (an outcome or a linked incident).")
    failed: int = Field(description="Of which failed: outcome failed or rolled_back, or an incident linked.")
    with_commit_time: int = Field(description="Changes with a commit time (the lead-time basis).")
    restored: int = Field(description="Failed changes restored before the period end (the time-to-restore basis).")
    owner: str | None = Field(None, description="Service owner from the service catalogue, when it lists it.")


class PolicyViolation(BaseModel):
    """One way a change deployed in the week broke the deployment policy."""

    change_id: str = Field(description="The change.")
    service: str = Field(description="The service it was deployed to.")
    problem: str = Field(description="What the policy asks that the change did not do.")
    risk_level: str | None = Field(None, description="The change's assessed risk; empty when not recorded.")
    strategy: str | None = Field(None, description="How it was rolled out; empty when not recorded.")
    required: str | None = Field(None, description="The least careful strategy the policy accepts for its risk.")
    deployed_at: datetime = Field(description="When it reached production (UTC).")
    outcome: str | None = Field(None, description="success, failed or rolled_back; empty when not recorded.")
    incident_id: str | None = Field(None, description="The incident it caused, if any.")
    owner: str | None = Field(None, description="The change's owner.")


class CausedIncident(BaseModel):
    """An incident caused by a change deployed in the 30 days ending as_of."""

    incident_id: str = Field(description="The incident the change record links.")
    change_id: str = Field(description="The change that caused it.")
    service: str = Field(description="The service the change was deployed to.")
    severity: str | None = Field(None, description="SEV1..SEV4 from the incident; empty without incident data.")
    state: str | None = Field(
        None, description="The incident at the period end: open, mitigated or resolved; empty without incident data."
    )
    deployed_at: datetime = Field(description="When the change reached production (UTC).")
    opened_at: datetime | None = Field(None, description="When the incident was opened (UTC).")
    minutes_to_incident: float | None = Field(None, description="Minutes from the deployment to the incident.")
    outcome: str | None = Field(None, description="The change's recorded outcome.")
    owner: str | None = Field(None, description="The change's owner.")


class ChangeSection(Section):
    """The change review of the weekly audit."""

    name: str = "changes"
    title: str = "Change review"
    # The week's violations lead: the section's first table is the one its page shows.
    violations: list[PolicyViolation] = Field(
        default_factory=list, description="Every deployment-policy violation of the changes deployed in the week."
    )
    caused_incidents: list[CausedIncident] = Field(
        default_factory=list, description="Incidents caused by changes deployed in the 30 days, latest first."
    )
    dora: list[DoraRow] = Field(
        default_factory=list,
        description="DORA metrics per service over 30 days, worst change failure rate first, then all services.",
    )


DEFINITIONS: dict[str, str] = {
    "point in time": (
        "Only changes deployed before the period end count; a restoration, incident opening, mitigation or "
        "resolution at or after the period end was not yet known and is treated as empty. A change's link to an "
        "incident opened at or after the period end is ignored."
    ),
    "DORA window": (
        f"The {WINDOW_DAYS} local days ending as_of, by deployed_at; shortened to the first deployment in the data "
        "when the export starts later (the figure then says over how many days)."
    ),
    "deployment frequency": (
        "Changes deployed in the window / days in the window (per day), x 7 (per week). Every deployment counts, "
        "whatever its outcome."
    ),
    "lead time for changes": (
        f"Median hours from committed_at to deployed_at over the window's changes with a commit time; empty under "
        f"{MIN_LEAD_TIMES} such changes."
    ),
    "failed change": (
        "A change whose outcome is failed or rolled_back, or that an incident is linked to (incident_id). A change "
        "with neither an outcome nor an incident has no known outcome and is left out of the change failure rate."
    ),
    "change failure rate": (
        f"Failed changes / changes with a known outcome, deployed in the window; empty under "
        f"{MIN_CHANGES_FOR_RATE} changes with a known outcome."
    ),
    "time to restore": (
        "Median hours over the window's failed changes that were restored before the period end: from the linked "
        "incident's opened_at (when an incident is linked and known), else from deployed_at, to restored_at, else "
        "to the linked incident's resolved_at. Failed changes not restored by the period end are left out."
    ),
    "DORA bands": (
        "After the 2023 Accelerate State of DevOps Report (DORA) performance clusters, whose ranges overlap (low and "
        "medium share a deployment-frequency and a lead-time range) and give the change failure rate as cluster "
        "values (5%, 10%, 15%, 64%); closed here as: deployment frequency elite >= 1 per day, high >= 1 per week, "
        "medium >= 1 per 30 days, low below; lead time elite < 24 h, high < 168 h, medium < 720 h, low from 720 h; "
        "change failure rate elite <= 5%, high <= 10%, medium <= 15%, low above 15%; time to restore elite < 1 h, "
        "high < 24 h, medium < 168 h, low from 168 h. A figure that is empty has no band."
    ),
    "deployment policy": (
        "The operations director's Deployment Strategy Framework: low risk blue-green, medium canary, high staged "
        "rollout with extensive monitoring, critical manual with full oversight. Strategies are ordered blue-green < "
        "canary < staged < manual; a change rolled out with the required strategy or a more careful one complies "
        "(manual is acceptable for anything, staged for everything but critical). A change without a risk level "
        "or a strategy cannot show it complies and is a violation."
    ),
    "rollback readiness": (
        "The readiness item 'Rollback plan tested and documented': a change of medium risk or above needs "
        "rollback_plan and rollback_tested both true (an empty value is not evidence). Low-risk changes go out "
        "blue-green, whose switch back is the rollback, so they need neither."
    ),
    "policy violation": (
        "Each problem of each change deployed in the week [start, end) is a row; each violating change is one "
        "action, urgent when the change also failed, important otherwise."
    ),
    "change-caused incident": (
        "An incident named by the incident_id of a change deployed in the window, listed with its severity and its "
        "state at the period end (resolved when resolved_at is before it, mitigated when mitigated_at is, open "
        "otherwise)."
    ),
    "unrestored failed change": (
        "A change deployed in the week with outcome failed, no linked incident and no restored_at before the period "
        "end: production may still be degraded with nobody tracking it (urgent). A rolled_back change counts as "
        "restored by its rollback."
    ),
    "changes.week.deployments": "Changes deployed in the week [start, end).",
    "changes.deploys_per_day_30d": "Deployment frequency over the window, all services, per day.",
    "changes.lead_time_median_hours": "Lead time for changes over the window, all services.",
    "changes.cfr_30d": "Change failure rate over the window, all services.",
    "changes.mttr_median_hours": "Time to restore over the window, all services.",
    "changes.policy_violations": "Changes deployed in the week with at least one policy violation.",
    "changes.caused_incidents": "Incidents linked to changes deployed in the window (known at the period end).",
    "changes.cfr_low_band_services": "Services whose change failure rate over the window is in the DORA low band.",
}


def _when(value: Any) -> datetime | None:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    return _instant(value)


def _instant(value: Any) -> datetime:
    return pd.Timestamp(value).to_pydatetime(warn=False)


def _flag(series: pd.Series) -> np.ndarray:
    """A nullable boolean column as plain booleans, empty as False (an empty value is no evidence)."""
    return series.astype("boolean").to_numpy(dtype=bool, na_value=False)


def _owners(services: pd.DataFrame | None) -> dict[str, str]:
    if services is None or services.empty or not {"service_id", "owner"} <= set(services.columns):
        return {}
    owners = services.dropna(subset=["owner"])
    return dict(zip(owners["service_id"].astype(str), owners["owner"].astype(str), strict=True))


_CHANGE_COLUMNS = ("committed_at", "restored_at", "risk_level", "strategy", "rollback_plan", "rollback_tested",
                   "outcome", "incident_id", "owner")  # fmt: skip
_INCIDENT_TIMES = ("opened_at", "mitigated_at", "resolved_at")


def _incident_facts(incidents: pd.DataFrame | None, end: pd.Timestamp) -> pd.DataFrame | None:
    """Severity, opening, restoration and state at `end` of each incident known then, by incident_id."""
    if incidents is None or "incident_id" not in incidents.columns or "opened_at" not in incidents.columns:
        return None
    frame = incidents[incidents["opened_at"] < end]
    facts = pd.DataFrame({"incident_id": frame["incident_id"].astype("string").str.strip()}, index=frame.index)
    for column in _INCIDENT_TIMES:
        values = frame[column] if column in frame.columns else pd.Series(pd.NaT, index=frame.index, dtype=object)
        values = pd.to_datetime(values, utc=True)
        facts[column] = values.where(values < end)
    facts["severity"] = frame["severity"].astype("string") if "severity" in frame.columns else pd.NA
    facts["state"] = np.where(
        facts["resolved_at"].notna(), "resolved", np.where(facts["mitigated_at"].notna(), "mitigated", "open")
    )
    # A duplicated number would make the join ambiguous: the first ticket with it speaks for it.
    return facts.dropna(subset=["incident_id"]).drop_duplicates("incident_id").set_index("incident_id")


@dataclass
class _Known:
    """The changes known at the period end, with the columns every figure reads, and what was left out."""

    frame: pd.DataFrame
    after_end: int
    late_links: int


def _prepare(changes: pd.DataFrame, period: Period, incidents: pd.DataFrame | None) -> _Known:
    """Changes deployed before the period end, later facts emptied, and each change's failure, restore start and end."""
    end = period.end
    after_end = int((changes["deployed_at"] >= end).sum())
    frame = changes[changes["deployed_at"] < end].copy()
    for column in _CHANGE_COLUMNS:
        if column not in frame.columns:
            dtype = "datetime64[ns, UTC]" if column.endswith("_at") else "boolean" if "rollback" in column else "string"
            frame[column] = pd.Series(None, index=frame.index, dtype=dtype)
    frame["restored_at"] = frame["restored_at"].where(frame["restored_at"] < end)
    for column in ("service", "risk_level", "strategy", "outcome", "incident_id", "owner", "change_id"):
        stripped = frame[column].astype("string").str.strip()
        frame[column] = stripped.where(stripped != "")

    facts = _incident_facts(incidents, end)
    linked = frame["incident_id"].notna().to_numpy(dtype=bool).copy()
    late_links = 0
    if facts is not None:
        # A link to an incident not opened by the period end was not known then; one the incidents export lacks
        # entirely is kept on the change record's word.
        assert incidents is not None  # facts come from it
        ids = frame["incident_id"]
        in_export = ids.isin(incidents["incident_id"].astype("string").str.strip()).to_numpy(dtype=bool)
        late = linked & in_export & ~ids.isin(facts.index).to_numpy(dtype=bool)
        late_links = int(late.sum())
        frame.loc[late, "incident_id"] = pd.NA
        linked = linked & ~late
        joined = facts.reindex(frame["incident_id"])
        for column in ("severity", "state", *_INCIDENT_TIMES):
            frame[f"incident_{column}"] = joined[column].to_numpy()
    else:
        for column in ("severity", "state"):
            frame[f"incident_{column}"] = pd.Series(None, index=frame.index, dtype=object)
        for column in _INCIDENT_TIMES:
            frame[f"incident_{column}"] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
    for column in _INCIDENT_TIMES:
        frame[f"incident_{column}"] = pd.to_datetime(frame[f"incident_{column}"], utc=True)

    outcome = frame["outcome"]
    frame["linked"] = linked
    frame["failed"] = outcome.isin(FAILED_OUTCOMES).to_numpy(dtype=bool, na_value=False) | linked
    frame["known_outcome"] = outcome.notna().to_numpy(dtype=bool) | linked
    lead = (frame["deployed_at"] - frame["committed_at"]).dt.total_seconds() / 3600
    frame["lead_hours"] = lead.where(lead >= 0)
    start = frame["incident_opened_at"].fillna(frame["deployed_at"])
    restored = frame["restored_at"].fillna(frame["incident_resolved_at"])
    hours = (restored - start).dt.total_seconds() / 3600
    frame["restore_hours"] = hours.where(frame["failed"] & (hours >= 0))
    return _Known(frame, after_end, late_links)


def _median(values: pd.Series, minimum: int) -> float | None:
    values = values.dropna()
    return float(np.median(values.to_numpy(dtype=float))) if len(values) >= minimum else None


def _dora_row(service: str, rows: pd.DataFrame, days: float, owner: str | None) -> DoraRow:
    """The four DORA metrics of `rows` (the window's changes of one service, or of all), over `days` days."""
    per_day = len(rows) / days if days > 0 else 0.0
    with_outcome = int(rows["known_outcome"].sum())
    failed = int((rows["failed"] & rows["known_outcome"]).sum())
    cfr = failed / with_outcome if with_outcome >= MIN_CHANGES_FOR_RATE else None
    lead = _median(rows["lead_hours"], MIN_LEAD_TIMES)
    restore = _median(rows["restore_hours"], MIN_RESTORES)
    return DoraRow(
        service=service,
        owner=owner,
        deployments=len(rows),
        deploys_per_day=per_day,
        deploys_per_week=per_day * 7,
        deploy_band=DORA_BANDS["deployment frequency"].band(per_day) or "low",
        with_commit_time=int(rows["lead_hours"].notna().sum()),
        lead_time_median_hours=lead,
        lead_time_band=DORA_BANDS["lead time for changes"].band(lead),
        with_outcome=with_outcome,
        failed=failed,
        change_failure_rate=cfr,
        cfr_band=DORA_BANDS["change failure rate"].band(cfr),
        restored=int(rows["restore_hours"].notna().sum()),
        time_to_restore_median_hours=restore,
        restore_band=DORA_BANDS["time to restore"].band(restore),
    )


def _violations(week: pd.DataFrame) -> list[PolicyViolation]:
    """Every problem of every change deployed in the week against the strategy and rollback rules."""
    rows: list[PolicyViolation] = []
    plan, tested = _flag(week["rollback_plan"]), _flag(week["rollback_tested"])
    for i, r in enumerate(week.to_dict("records")):
        risk, strategy = cells.text(r["risk_level"]), cells.text(r["strategy"])
        required = REQUIRED_STRATEGY.get(risk) if risk else None
        problems = []
        if risk is None or risk not in REQUIRED_STRATEGY:
            problems.append("no risk level recorded" if risk is None else f"unknown risk level '{risk}'")
        if strategy is None:
            problems.append("no deployment strategy recorded")
        elif strategy not in STRATEGY_ORDER:
            problems.append(f"unknown deployment strategy '{strategy}'")
        elif required is not None and STRATEGY_ORDER[strategy] < STRATEGY_ORDER[required]:
            problems.append(f"{strategy} instead of {required} for a {risk}-risk change")
        if risk in RISK_LEVELS and RISK_LEVELS.index(risk) >= RISK_LEVELS.index(ROLLBACK_FROM):
            if not plan[i]:
                problems.append("no documented rollback plan")
            elif not tested[i]:
                problems.append("rollback plan not tested")
        rows += [
            PolicyViolation(
                change_id=str(r["change_id"]),
                service=str(r["service"]),
                deployed_at=_instant(r["deployed_at"]),
                risk_level=risk,
                strategy=strategy,
                required=required,
                problem=problem,
                outcome=cells.text(r["outcome"]),
                incident_id=cells.text(r["incident_id"]),
                owner=cells.text(r["owner"]),
            )
            for problem in problems
        ]
    return rows


def _violation_actions(
    violations: list[PolicyViolation], week: pd.DataFrame, owners: dict[str, str], tz: str
) -> list[Action]:
    """One action per violating change: urgent when it also failed, important otherwise."""
    by_change: dict[str, list[PolicyViolation]] = {}
    for v in violations:
        by_change.setdefault(v.change_id, []).append(v)
    facts = week.set_index("change_id")
    actions = []
    for change_id, found in by_change.items():
        v = found[0]
        change = facts.loc[change_id]
        change = change.iloc[0] if isinstance(change, pd.DataFrame) else change
        failed = bool(change["failed"])
        problems = "; ".join(f.problem for f in found)
        risk = f"{v.risk_level}-risk" if v.risk_level else "unrated"
        text = (
            f"Review {risk} change {change_id} on {v.service} (deployed {local_time(v.deployed_at, tz)}): {problems}."
        )
        if failed:
            caused = f" and caused {v.incident_id}" if v.incident_id else ""
            text += f" It failed{caused}: check the rollout against the policy in its review."
        elif any("rollback" in f.problem for f in found):
            text += " Test its rollback while the change is live."
        severity = cells.text(change["incident_severity"])
        actions.append(
            Action(
                text=text,
                urgency=Urgency.URGENT if failed else Urgency.IMPORTANT,
                owner=v.owner or owners.get(v.service),
                source=f"change {change_id}",
                section="changes",
                kind="change_policy_violation",
                severity=severity if severity in ("SEV1", "SEV2", "SEV3", "SEV4") else None,
                # The riskier the change, the more a missing safeguard can cost.
                impact=float(RISK_LEVELS.index(v.risk_level) + 1) if v.risk_level in RISK_LEVELS else 1.0,
            )
        )
    return actions


def _unrestored_actions(week: pd.DataFrame, period: Period, owners: dict[str, str]) -> list[Action]:
    """Urgent: a change that failed in the week, with no incident and no restoration recorded by the period end."""
    open_failures = week[
        (week["outcome"] == "failed").to_numpy(dtype=bool, na_value=False)
        & ~week["linked"].to_numpy(dtype=bool)
        & week["restored_at"].isna().to_numpy(dtype=bool)
    ]
    actions = []
    for r in open_failures.to_dict("records"):
        hours = (period.end - r["deployed_at"]).total_seconds() / 3600
        service = str(r["service"])
        actions.append(
            Action(
                text=(
                    f"Confirm {service} is restored after failed change {r['change_id']} (deployed "
                    f"{local_time(r['deployed_at'], period.tz)}, {hours:.0f} h before the period end): no restoration "
                    "is recorded and no incident is linked; open one if the service is still degraded."
                ),
                urgency=Urgency.URGENT,
                owner=cells.text(r["owner"]) or owners.get(service),
                source=f"change {r['change_id']}",
                section="changes",
                kind="failed_change_no_incident",
                impact=hours,
            )
        )
    return actions


def _cfr_actions(rows: list[DoraRow], window_label: str) -> list[Action]:
    """Important: a service whose change failure rate is in the DORA low band."""
    return [
        Action(
            text=(
                f"Review how {r.service} ships changes: {r.failed} of {r.with_outcome} changes failed in "
                f"{window_label} ({r.change_failure_rate or 0:.0%}, DORA low band: above 15%)."
            ),
            urgency=Urgency.IMPORTANT,
            owner=r.owner,
            source=f"service {r.service}",
            section="changes",
            kind="change_failure_rate_review",
            impact=r.change_failure_rate,
        )
        for r in rows
        if r.cfr_band == "low"
    ]


def _caused(window: pd.DataFrame) -> list[CausedIncident]:
    linked = window[window["linked"]].sort_values("deployed_at", ascending=False, kind="stable")
    rows = []
    for r in linked.to_dict("records"):
        opened = _when(r["incident_opened_at"])
        rows.append(
            CausedIncident(
                incident_id=str(r["incident_id"]),
                change_id=str(r["change_id"]),
                service=str(r["service"]),
                severity=cells.text(r["incident_severity"]),
                state=cells.text(r["incident_state"]),
                deployed_at=_instant(r["deployed_at"]),
                opened_at=opened,
                minutes_to_incident=None
                if opened is None
                else (pd.Timestamp(opened) - r["deployed_at"]).total_seconds() / 60,
                outcome=cells.text(r["outcome"]),
                owner=cells.text(r["owner"]),
            )
        )
    return rows


def _cfr_order(r: DoraRow) -> tuple[float, str]:
    return (-(r.change_failure_rate if r.change_failure_rate is not None else -1.0), r.service)


def compute_changes(
    changes: pd.DataFrame | None,
    period: Period,
    incidents: pd.DataFrame | None = None,
    services: pd.DataFrame | None = None,
) -> ChangeSection:
    """DORA metrics over the 30 days ending as_of, the deployment-policy check of the week's changes, and the
    incidents changes caused; `incidents` adds their severity and state, `services` the owners."""
    if changes is None:
        return ChangeSection(available=False, note="The changes dataset is not configured.", definitions=DEFINITIONS)
    known = _prepare(changes, period, incidents)
    frame = known.frame
    owners = _owners(services)
    # A window that starts before the export does is shortened to the first deployment known at the period end.
    window = trailing_window(period, WINDOW_DAYS, first_record(frame, "deployed_at", period.tz))
    recent = frame[frame["deployed_at"] >= window.start]
    week = frame[frame["deployed_at"] >= period.start]
    label = window.label or f"{WINDOW_DAYS} days"

    dora = sorted(
        (
            _dora_row(str(service), recent[recent["service"] == service], window.days, owners.get(str(service)))
            for service in sorted(frame["service"].dropna().unique())
        ),
        key=_cfr_order,
    )
    overall = _dora_row(ALL_SERVICES, recent, window.days, None)
    violations = _violations(week)
    caused = _caused(recent)
    actions = _violation_actions(violations, week, owners, period.tz)
    actions += _unrestored_actions(week, period, owners)
    actions += _cfr_actions(dora, label)
    ordered = ranked(actions)
    dropped = ordered[MAX_ACTIONS:]
    violating = len({v.change_id for v in violations})

    headlines = [
        Headline(key="changes.week.deployments", label="Changes deployed this week", value=len(week), unit="changes"),
        Headline(
            key="changes.deploys_per_day_30d",
            label="Deployments per day, 30 days",
            value=overall.deploys_per_day,
            unit="per day",
            better="higher",
            window=window.label,
        ),
        Headline(
            key="changes.lead_time_median_hours",
            label="Lead time for changes (median), 30 days",
            value=overall.lead_time_median_hours,
            unit="hours",
            better="lower",
            window=window.label,
        ),
        Headline(
            key="changes.cfr_30d",
            label="Change failure rate, 30 days",
            value=overall.change_failure_rate,
            unit="ratio",
            better="lower",
            window=window.label,
        ),
        Headline(
            key="changes.mttr_median_hours",
            label="Time to restore after a failed change (median), 30 days",
            value=overall.time_to_restore_median_hours,
            unit="hours",
            better="lower",
            window=window.label,
        ),
        Headline(
            key="changes.policy_violations",
            label="Changes this week against the deployment policy",
            value=violating,
            unit="changes",
            better="lower",
        ),
        Headline(
            key="changes.caused_incidents",
            label="Incidents caused by changes, 30 days",
            value=len(caused),
            unit="incidents",
            better="lower",
            window=window.label,
        ),
        Headline(
            key="changes.cfr_low_band_services",
            label="Services with a change failure rate in the DORA low band",
            value=sum(r.cfr_band == "low" for r in dora),
            unit="services",
            better="lower",
        ),
    ]
    no_outcome = int((~recent["known_outcome"]).sum())
    no_commit = int(recent["lead_hours"].isna().sum())
    unrestored = int((recent["failed"] & recent["restore_hours"].isna()).sum())
    basis = [
        Basis(metric="changes.week", rows_used=len(week)),
        Basis(metric="changes.deploys_per_day_30d", rows_used=len(recent)),
        Basis(
            metric="changes.cfr_30d",
            rows_used=len(recent) - no_outcome,
            rows_excluded=no_outcome,
            reasons={"no outcome recorded": no_outcome} if no_outcome else {},
        ),
        Basis(
            metric="changes.lead_time_median_hours",
            rows_used=len(recent) - no_commit,
            rows_excluded=no_commit,
            reasons={"no commit time (or committed after deployed)": no_commit} if no_commit else {},
        ),
        Basis(
            metric="changes.mttr_median_hours",
            rows_used=overall.restored,
            rows_excluded=unrestored,
            reasons={"failed change without a restoration before period end": unrestored} if unrestored else {},
        ),
    ]
    if known.after_end or known.late_links:
        reasons = {"deployed at or after period end": known.after_end} if known.after_end else {}
        if known.late_links:
            reasons["incident link ignored: incident opened at or after period end"] = known.late_links
        basis.append(
            Basis(
                metric="changes (all figures)",
                rows_used=len(frame),
                rows_excluded=known.after_end,
                reasons=reasons,
            )
        )
    notes = []
    if frame.empty:
        notes.append("No changes were deployed before the period end.")
    elif week.empty:
        notes.append("No changes were deployed this week.")
    if dropped:
        notes.append(
            f"{len(dropped)} more actions ({id_list([a.source for a in dropped])}) are left out of the list; the "
            "tables hold them."
        )
    if incidents is None and caused:
        notes.append("Without the incidents dataset, caused incidents have no severity or state.")
    if (clipped := window.note("The DORA metrics are")) is not None:
        notes.append(clipped)
    return ChangeSection(
        headlines=headlines,
        actions=ordered[:MAX_ACTIONS],
        basis=basis,
        definitions=DEFINITIONS,
        note=" ".join(notes) or None,
        violations=violations,
        caused_incidents=caused,
        dora=[*dora, overall],
    )


compute_changes_task = compute_task(compute_changes, name="compute_changes")
