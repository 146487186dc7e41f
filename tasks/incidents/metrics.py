"""The Incidents section of the weekly audit: volumes, response times, reliability, repeats and what is overdue."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pandas as pd
from pydantic import BaseModel, Field

from opsflow import cells
from opsflow.contract import contract
from opsflow.coverage import trailing_window
from opsflow.findings import Action, Basis, Headline, OptRatio, Section, Urgency, id_list
from opsflow.period import Period, local_time
from opsflow.tasking import compute_task

SEVERITIES: tuple[str, ...] = ("SEV1", "SEV2", "SEV3", "SEV4")
MAJOR: tuple[str, ...] = ("SEV1", "SEV2")
ALL = "all"
MTBF_DAYS = 90
REPEAT_DAYS = 30
POSTMORTEM_DEFAULT = pd.Timedelta(hours=48)
POSTMORTEM_DONE = ("complete", "not_required")

_COLUMNS = tuple(contract("incidents").columns)
"""The incidents contract's columns: an export that maps fewer gets the rest empty."""
REPEAT_ACTION_MIN = 3
"""A repeat cluster asks for a problem record (or a vendor review) from this many incidents, or any SEV1/SEV2."""
VENDOR_CLUSTER_SHARE = 0.5
"""A cluster is the vendor's to review when more than half of its incidents name that vendor."""

_TIMES = ("opened_at", "acknowledged_at", "mitigated_at", "resolved_at", "postmortem_due_at", "postmortem_completed_at")


class SeverityCount(BaseModel):
    """Real incidents opened, for one severity."""

    severity: str = Field(description="SEV1 (critical outage) to SEV4 (minor).")
    week: int = Field(description="Real incidents opened in the week.")
    month_to_date: int = Field(description="Real incidents opened in the month to date.")


class ServiceCount(BaseModel):
    """Real incidents opened, for one service."""

    service: str = Field(description="Service id.")
    service_name: str | None = Field(None, description="Service name from the service catalogue.")
    week: int = Field(description="Real incidents opened in the week.")
    week_sev1_sev2: int = Field(description="Of which SEV1 or SEV2.")
    month_to_date: int = Field(description="Real incidents opened in the month to date.")


class VendorCount(BaseModel):
    """Real incidents caused by one third party."""

    vendor_id: str = Field(description="The vendor whose failure caused the incidents.")
    week: int = Field(description="Real incidents opened in the week with this vendor as cause.")
    month_to_date: int = Field(description="Real incidents opened in the month to date with this vendor as cause.")


class ResponseTimes(BaseModel):
    """Time to acknowledge and to resolve, for one severity (or all) over one scope."""

    scope: str = Field(description="'week' or 'month_to_date': real incidents opened in it.")
    severity: str = Field(description="SEV1..SEV4, or 'all'.")
    incidents: int = Field(description="Real incidents opened in the scope.")
    acknowledged: int = Field(description="Of which acknowledged before the period end (the MTTA basis).")
    not_acknowledged: int = Field(description="Not acknowledged before the period end: left out of MTTA.")
    mtta_mean_minutes: float | None = Field(None, description="Mean minutes from opened to acknowledged.")
    mtta_median_minutes: float | None = Field(None, description="Median minutes from opened to acknowledged.")
    mtta_p90_minutes: float | None = Field(None, description="90th percentile minutes from opened to acknowledged.")
    resolved: int = Field(description="Resolved before the period end (the MTTR basis).")
    unresolved: int = Field(description="Not resolved before the period end: left out of MTTR.")
    mttr_mean_hours: float | None = Field(None, description="Mean hours from opened to resolved.")
    mttr_median_hours: float | None = Field(None, description="Median hours from opened to resolved.")
    mttr_p90_hours: float | None = Field(None, description="90th percentile hours from opened to resolved.")
    oldest_unresolved_hours: float | None = Field(
        None, description="Age at the period end of the oldest unresolved incident (empty when all are resolved)."
    )


class MttrBySeverity(BaseModel):
    """One bar group of the 'MTTR by severity' chart (real incidents opened in the week)."""

    severity: str = Field(description="SEV1..SEV4.")
    resolved: int = Field(description="Incidents the figures rest on (resolved before the period end).")
    median_hours: float | None = Field(None, description="Median hours from opened to resolved.")
    p90_hours: float | None = Field(None, description="90th percentile hours from opened to resolved.")
    mean_hours: float | None = Field(None, description="Mean hours from opened to resolved.")


class ServiceReliability(BaseModel):
    """Mean time between SEV1/SEV2 failures of one service over the 90 days ending as_of."""

    service: str = Field(description="Service id.")
    service_name: str | None = Field(None, description="Service name from the service catalogue.")
    failures: int = Field(description="Real SEV1/SEV2 incidents opened in the 90-day window.")
    downtime_hours: float = Field(description="Hours of SEV1/SEV2 impact in the window, overlapping impact once.")
    mtbf_hours: float | None = Field(None, description="(Window hours - downtime hours) / failures.")
    note: str | None = Field(None, description="'no failure in 90 days' when there is nothing to divide by.")
    window_days: float = Field(
        MTBF_DAYS, description="Days in the window: 90, or fewer when the data starts later (the window is clipped)."
    )


class RepeatIncident(BaseModel):
    """A real incident opened in the week whose service and root cause already failed in the 30 days before."""

    incident_id: str = Field(description="The repeat incident.")
    service: str = Field(description="Service id.")
    root_cause: str = Field(description="Root-cause category shared with the earlier incident.")
    severity: str = Field(description="Severity of the repeat.")
    opened_at: datetime = Field(description="When the repeat was opened (UTC).")
    previous_incident_id: str = Field(description="The latest earlier incident with the same service and cause.")
    previous_opened_at: datetime = Field(description="When that earlier incident was opened (UTC).")
    vendor_id: str | None = Field(None, description="Third party named as cause, if any.")
    owner: str | None = Field(None, description="Owner of the repeat incident.")


class RepeatCluster(BaseModel):
    """A (service, root cause) pair with two or more real incidents in the 30 days ending as_of."""

    service: str = Field(description="Service id.")
    root_cause: str = Field(description="Root-cause category.")
    incidents: int = Field(description="Real incidents with this service and cause opened in the 30 days.")
    first_opened_at: datetime = Field(description="First of them (UTC).")
    last_opened_at: datetime = Field(description="Last of them (UTC).")
    vendor_ids: str | None = Field(None, description="Vendors named as cause, ';'-separated; empty when internal.")
    vendor_incidents: str | None = Field(
        None, description="Per vendor named, the incidents of the cluster that name it: 'V-1: 1 of 215'."
    )
    vendor_share: OptRatio = Field(
        None, description="Incidents of the cluster naming its most named vendor / incidents of the cluster."
    )
    incident_ids: str = Field(description="The incidents, ';'-separated, oldest first.")
    owner: str | None = Field(None, description="Owner of the latest incident in the cluster.")
    majors: int = Field(0, description="Of which SEV1 or SEV2.")


class OpenMajorIncident(BaseModel):
    """A real SEV1/SEV2 incident opened before the period end and not resolved before it."""

    incident_id: str = Field(description="Ticket number.")
    title: str | None = Field(None, description="Short description.")
    service: str = Field(description="Service id.")
    severity: str = Field(description="SEV1 or SEV2.")
    opened_at: datetime = Field(description="When it was opened (UTC).")
    age_hours: float = Field(description="Hours from opened to the period end.")
    acknowledged: bool | None = Field(
        None, description="Acknowledged before the period end; empty when the export has no acknowledgement times."
    )
    mitigated: bool | None = Field(
        None, description="Customer impact stopped by the period end; empty when the export has no mitigation time."
    )
    owner: str | None = Field(None, description="Owner from the data.")


class OverduePostmortem(BaseModel):
    """A resolved real SEV1/SEV2 incident whose postmortem was due before the period end and is not complete."""

    incident_id: str = Field(description="Ticket number.")
    title: str | None = Field(None, description="Short description.")
    service: str = Field(description="Service id.")
    severity: str = Field(description="SEV1 or SEV2.")
    resolved_at: datetime = Field(description="When the incident was resolved (UTC).")
    due_at: datetime = Field(description="postmortem_due_at, or resolved_at + 48 h when empty (UTC).")
    overdue_hours: float = Field(description="Hours from due to the period end.")
    postmortem_status: str | None = Field(None, description="Status in the export (empty: not recorded).")
    owner: str | None = Field(None, description="Owner from the data.")


class IncidentSection(Section):
    """The Incidents section of the weekly audit."""

    name: str = "incidents"
    title: str = "Incidents"
    by_severity: list[SeverityCount] = Field(default_factory=list, description="Real incidents opened, by severity.")
    by_service: list[ServiceCount] = Field(default_factory=list, description="Real incidents opened, by service.")
    by_vendor: list[VendorCount] = Field(default_factory=list, description="Third-party incidents, by vendor.")
    response_times: list[ResponseTimes] = Field(
        default_factory=list, description="MTTA and MTTR by severity, for the week and the month to date."
    )
    mttr_chart: list[MttrBySeverity] = Field(default_factory=list, description="MTTR by severity, week.")
    reliability: list[ServiceReliability] = Field(default_factory=list, description="MTBF per service, 90 days.")
    repeats: list[RepeatIncident] = Field(default_factory=list, description="Repeat incidents opened in the week.")
    repeat_clusters: list[RepeatCluster] = Field(
        default_factory=list, description="Service and root cause with two or more incidents in 30 days."
    )
    open_major: list[OpenMajorIncident] = Field(
        default_factory=list, description="SEV1/SEV2 incidents still open at the period end."
    )
    overdue_postmortems: list[OverduePostmortem] = Field(
        default_factory=list, description="SEV1/SEV2 postmortems past due at the period end."
    )


DEFINITIONS: dict[str, str] = {
    "real incident": "A row with kind = real; drills and maintenance rows never count in any incident figure.",
    "incidents.week.total": "Real incidents with opened_at in the week [start, end), in the reporting time zone.",
    "incidents.month_to_date.total": "Real incidents with opened_at from the first of the month to the period end.",
    "incidents.week.sev1_sev2": "Real SEV1 and SEV2 incidents opened in the week.",
    "point in time": (
        "Only what was known at the period end counts: incidents opened at or after it are ignored, and an "
        "acknowledgement, mitigation or resolution at or after it is treated as not (yet) happened. "
        "A postmortem counts as done only if postmortem_completed_at (when the export has it) is before the end; "
        "without that column, postmortem_status is taken as exported."
    ),
    "MTTA": (
        "Minutes from opened_at to acknowledged_at: mean, median and 90th percentile (linear interpolation), per "
        "severity, over real incidents opened in the scope and acknowledged before the period end; the others "
        "are left out and counted as not_acknowledged."
    ),
    "MTTR": (
        "Hours from opened_at to resolved_at: mean, median and 90th percentile (linear interpolation), per "
        "severity, over real incidents opened in the scope and resolved before the period end; the others are "
        "left out and counted as unresolved."
    ),
    "incidents.week.mttr_median_hours": "Median MTTR over all severities, real incidents opened in the week.",
    "MTBF": (
        "Per service over the 90 days ending as_of: (window hours - downtime hours) / failures, where failures are "
        "real SEV1/SEV2 incidents opened in the window and downtime is the union of their impact intervals "
        "(opened_at to mitigated_at, else resolved_at, else the period end), clipped to the window; SEV1/SEV2 "
        "incidents opened before the window still down in it add downtime but not failures. No failure: none. "
        "When the export's first incident is later than the window's start, the window starts there instead "
        "(window_days says how long it is, and the section's note says so)."
    ),
    "repeat incident": (
        "A real incident with a non-empty root cause, where another real incident on the same service with the "
        "same root cause was opened in the 30 days before it (strictly earlier, at most 30 days)."
    ),
    "incidents.week.repeats": "Repeat incidents opened in the week.",
    "repeat cluster": (
        "A (service, root cause) pair with two or more real incidents opened in the 30 days ending as_of. A vendor "
        "is named only for the incidents that carry its vendor_id (with the count); the cluster is a vendor review "
        "when more than half of its incidents name one vendor, else a problem record."
    ),
    "open incident state": (
        "An open SEV1/SEV2's action says whether it is acknowledged or mitigated only when the export carries "
        "acknowledged_at or mitigated_at (any value in the data); otherwise it says the field is not in the export."
    ),
    "incidents.week.third_party_share": (
        "Real incidents opened in the week with a vendor_id, divided by all real incidents opened in the week."
    ),
    "incidents.month_to_date.third_party_share": "The same share over real incidents opened in the month to date.",
    "incidents.open_sev1_sev2": (
        "Real SEV1/SEV2 incidents opened before the period end and not resolved before it; age is measured to the "
        "period end."
    ),
    "incidents.postmortems_overdue": (
        "Real SEV1/SEV2 incidents resolved before the period end whose postmortem_status is neither complete nor "
        "not_required (empty counts as not done), with due = postmortem_due_at, or resolved_at + 48 h when empty, "
        "earlier than the period end."
    ),
}


def _when(value: Any) -> datetime:
    return pd.Timestamp(value).to_pydatetime(warn=False)


def _hours(delta: pd.Series) -> pd.Series:
    return delta.dt.total_seconds() / 3600


def _records(frame: pd.DataFrame) -> list[SimpleNamespace]:
    """Rows as attribute bags (column -> value), for building row models."""
    return [SimpleNamespace(**{str(k): v for k, v in row.items()}) for row in frame.to_dict("records")]


def prepare_incidents(incidents: pd.DataFrame, period: Period) -> pd.DataFrame:
    """Contract columns, incidents known at the period end, and event times after the end blanked out."""
    frame = incidents.copy()
    for column in _COLUMNS:
        if column not in frame.columns:
            dtype = "datetime64[ns, UTC]" if column in _TIMES else "string"
            frame[column] = pd.Series(None, index=frame.index, dtype=dtype)
    frame = frame[frame["opened_at"] < period.end].copy()
    # Something that happened at or after the period end was not known when the week closed.
    for column in ("acknowledged_at", "mitigated_at", "resolved_at"):
        frame[column] = frame[column].where(frame[column] < period.end)
    frame["kind"] = frame["kind"].fillna("real")
    for column in ("root_cause", "vendor_id"):
        stripped = frame[column].str.strip()
        frame[column] = stripped.where(stripped != "")
    return frame


def _service_names(services: pd.DataFrame | None) -> dict[str, str]:
    if services is None or services.empty or "service_id" not in services.columns:
        return {}
    names = services.set_index("service_id")["name"] if "name" in services.columns else pd.Series(dtype="string")
    return {str(k): str(v) for k, v in names.dropna().items()}


def _response_rows(real: pd.DataFrame, scope: str, end: pd.Timestamp) -> list[ResponseTimes]:
    """MTTA and MTTR per severity and over all severities for the incidents of one scope."""
    frame = real.assign(
        mtta=_hours(real["acknowledged_at"] - real["opened_at"]) * 60,
        mttr=_hours(real["resolved_at"] - real["opened_at"]),
    )
    labels = [*SEVERITIES, *sorted(set(frame["severity"].dropna()) - set(SEVERITIES)), ALL]
    rows: list[ResponseTimes] = []
    for severity in labels:
        part = frame if severity == ALL else frame[frame["severity"] == severity]
        if severity != ALL and part.empty:
            continue
        mtta, mttr = part["mtta"].dropna(), part["mttr"].dropna()
        rows.append(
            ResponseTimes(
                scope=scope,
                severity=severity,
                incidents=len(part),
                acknowledged=len(mtta),
                not_acknowledged=len(part) - len(mtta),
                mtta_mean_minutes=cells.number(mtta.mean()) if len(mtta) else None,
                mtta_median_minutes=cells.number(mtta.median()) if len(mtta) else None,
                mtta_p90_minutes=cells.number(mtta.quantile(0.9)) if len(mtta) else None,
                resolved=len(mttr),
                unresolved=len(part) - len(mttr),
                mttr_mean_hours=cells.number(mttr.mean()) if len(mttr) else None,
                mttr_median_hours=cells.number(mttr.median()) if len(mttr) else None,
                mttr_p90_hours=cells.number(mttr.quantile(0.9)) if len(mttr) else None,
                oldest_unresolved_hours=cells.number(_hours(end - part.loc[part["mttr"].isna(), "opened_at"]).max())
                if len(part) > len(mttr)
                else None,
            )
        )
    return rows


def _reliability(
    real: pd.DataFrame, services: list[str], names: dict[str, str], period: Period, data_start: pd.Timestamp | None
) -> list[ServiceReliability]:
    """MTBF per service over the 90-day window (from the data's first record when it starts later), downtime as a
    union of impact intervals."""
    window = trailing_window(period, MTBF_DAYS, data_start)
    window_start, window_end = window.start, window.end
    window_hours = (window_end - window_start).total_seconds() / 3600
    major = real[real["severity"].isin(MAJOR)]
    failures = major[major["opened_at"] >= window_start].groupby("service").size()

    impact = major.assign(
        start=major["opened_at"].where(major["opened_at"] > window_start, window_start),
        stop=major["mitigated_at"].fillna(major["resolved_at"]).fillna(window_end),
    )
    impact = impact.assign(stop=impact["stop"].where(impact["stop"] < window_end, window_end))
    impact = impact[impact["stop"] > impact["start"]].sort_values(["service", "start"])
    downtime = pd.Series(0.0, index=pd.Index(services, dtype="string"))
    if not impact.empty:
        # A new block starts where an interval begins after every earlier interval of the service has ended.
        reach = impact.groupby("service")["stop"].cummax().groupby(impact["service"]).shift()
        block = (reach.isna() | (impact["start"] > reach)).cumsum()
        merged = impact.groupby(block).agg(service=("service", "first"), start=("start", "min"), stop=("stop", "max"))
        downtime = _hours(merged["stop"] - merged["start"]).groupby(merged["service"]).sum()

    rows = []
    for service in services:
        count = int(failures.get(service, 0))
        down = float(downtime.get(service, 0.0))
        rows.append(
            ServiceReliability(
                service=service,
                service_name=names.get(service),
                failures=count,
                downtime_hours=down,
                mtbf_hours=(window_hours - down) / count if count else None,
                note=None if count else f"no failure in {window_hours / 24:.0f} days",
                window_days=round(window_hours / 24, 2),
            )
        )
    return rows


def _repeats(real: pd.DataFrame) -> pd.DataFrame:
    """Each real incident with a root cause, with the latest earlier one on the same service and cause in 30 days."""
    keyed = real.dropna(subset=["root_cause"]).sort_values("opened_at")
    if keyed.empty:
        # merge_asof fails on empty Arrow-backed string keys; there is nothing to match anyway.
        return keyed.assign(previous_incident_id=keyed["incident_id"], previous_opened_at=keyed["opened_at"])
    keys = keyed[["incident_id", "service", "root_cause", "opened_at"]]
    earlier = keys.rename(columns={"incident_id": "previous_incident_id"}).assign(previous_opened_at=keys["opened_at"])
    matched = pd.merge_asof(
        keyed,
        earlier,
        on="opened_at",
        by=["service", "root_cause"],
        direction="backward",
        allow_exact_matches=False,
        tolerance=pd.Timedelta(days=REPEAT_DAYS),
    )
    return matched


def compute_incidents(incidents: pd.DataFrame | None, services: pd.DataFrame | None, period: Period) -> IncidentSection:
    """Incident volumes, MTTA/MTTR, MTBF, repeats, open majors and overdue postmortems for the week ending as_of."""
    if incidents is None:
        return IncidentSection(
            available=False, note="The incidents dataset is not configured.", definitions=DEFINITIONS
        )
    frame = prepare_incidents(incidents, period)
    after_end = len(incidents) - len(frame)
    names = _service_names(services)
    week_start, mtd_start, end = period.start, period.month_to_date_start, period.end

    in_week = frame["opened_at"] >= week_start
    in_mtd = frame["opened_at"] >= mtd_start
    is_real = frame["kind"] == "real"
    real = frame[is_real]
    week, mtd = real[in_week[is_real]], real[in_mtd[is_real]]

    def not_real(mask: pd.Series) -> dict[str, int]:
        counts = frame.loc[mask & ~is_real, "kind"].value_counts()
        return {str(kind): int(n) for kind, n in counts.items()}

    basis = [
        Basis(
            metric="incidents.week.total",
            rows_used=len(week),
            rows_excluded=int((in_week & ~is_real).sum()),
            reasons=not_real(in_week),
        ),
        Basis(
            metric="incidents.month_to_date.total",
            rows_used=len(mtd),
            rows_excluded=int((in_mtd & ~is_real).sum()),
            reasons=not_real(in_mtd),
        ),
    ]
    if after_end:
        basis.append(
            Basis(
                metric="incidents (all figures)",
                rows_used=len(frame),
                rows_excluded=after_end,
                reasons={"opened at or after period end": after_end},
            )
        )

    # Counts by severity and by service.
    sev_week, sev_mtd = week["severity"].value_counts(), mtd["severity"].value_counts()
    severities = [*SEVERITIES, *sorted(set(sev_mtd.index) - set(SEVERITIES))]
    by_severity = [
        SeverityCount(severity=s, week=int(sev_week.get(s, 0)), month_to_date=int(sev_mtd.get(s, 0)))
        for s in severities
    ]
    svc = pd.DataFrame(
        {
            "week": week.groupby("service").size(),
            "week_major": week[week["severity"].isin(MAJOR)].groupby("service").size(),
            "mtd": mtd.groupby("service").size(),
        }
    )
    svc = svc.fillna(0).astype(int).sort_values(["week", "mtd"], ascending=False)
    by_service = [
        ServiceCount(
            service=str(s),
            service_name=names.get(str(s)),
            week=int(r.week),
            week_sev1_sev2=int(r.week_major),
            month_to_date=int(r.mtd),
        )
        for s, r in svc.iterrows()
    ]

    # Third-party share.
    vendors = pd.DataFrame({"week": week.groupby("vendor_id").size(), "mtd": mtd.groupby("vendor_id").size()}).fillna(0)
    vendors = vendors.astype(int).sort_values(["week", "mtd"], ascending=False)
    by_vendor = [
        VendorCount(vendor_id=str(v), week=int(w), month_to_date=int(m))
        for v, w, m in zip(vendors.index, vendors["week"], vendors["mtd"], strict=True)
    ]
    third_week = int(week["vendor_id"].notna().sum())
    third_share = third_week / len(week) if len(week) else None
    third_mtd = int(mtd["vendor_id"].notna().sum())
    third_share_mtd = third_mtd / len(mtd) if len(mtd) else None

    # Response times.
    response = _response_rows(week, "week", end) + _response_rows(mtd, "month_to_date", end)
    for row in response:
        if row.severity == ALL:
            basis.append(
                Basis(
                    metric=f"incidents.{row.scope}.mtta",
                    rows_used=row.acknowledged,
                    rows_excluded=row.not_acknowledged,
                    reasons={"not acknowledged before period end": row.not_acknowledged}
                    if row.not_acknowledged
                    else {},
                )
            )
            basis.append(
                Basis(
                    metric=f"incidents.{row.scope}.mttr",
                    rows_used=row.resolved,
                    rows_excluded=row.unresolved,
                    reasons={"unresolved at period end": row.unresolved} if row.unresolved else {},
                )
            )
    week_all = next(r for r in response if r.scope == "week" and r.severity == ALL)
    mttr_chart = [
        MttrBySeverity(
            severity=r.severity,
            resolved=r.resolved,
            median_hours=r.mttr_median_hours,
            p90_hours=r.mttr_p90_hours,
            mean_hours=r.mttr_mean_hours,
        )
        for r in response
        if r.scope == "week" and r.severity != ALL
    ]

    # MTBF.
    service_ids = sorted(set(names) | set(real["service"].dropna().astype(str)))
    # The window starts no earlier than the export's first incident: before it, no failure is unknown, not zero.
    data_start = incidents["opened_at"].min() if len(incidents) else None
    reliability = _reliability(real, service_ids, names, period, None if pd.isna(data_start) else data_start)
    clipped = next((r.window_days for r in reliability if r.window_days < MTBF_DAYS), None)
    minor = int(((real["opened_at"] >= period.days_back(MTBF_DAYS)) & ~real["severity"].isin(MAJOR)).sum())
    basis.append(
        Basis(
            metric="incidents.mtbf",
            rows_used=sum(r.failures for r in reliability),
            rows_excluded=minor,
            reasons={"SEV3/SEV4: not a failure": minor} if minor else {},
        )
    )

    # Repeats and clusters.
    matched = _repeats(real)
    repeat_week = matched[(matched["opened_at"] >= week_start) & matched["previous_incident_id"].notna()]
    repeats = [
        RepeatIncident(
            incident_id=str(r.incident_id),
            service=str(r.service),
            root_cause=str(r.root_cause),
            severity=str(r.severity),
            opened_at=_when(r.opened_at),
            previous_incident_id=str(r.previous_incident_id),
            previous_opened_at=_when(r.previous_opened_at),
            vendor_id=cells.text(r.vendor_id),
            owner=cells.text(r.owner),
        )
        for r in _records(repeat_week)
    ]
    no_cause = int(week["root_cause"].isna().sum())
    # No root cause anywhere in the export: repeats are unknown, not zero.
    has_cause = bool(frame["root_cause"].notna().any())
    basis.append(
        Basis(
            metric="incidents.week.repeats",
            rows_used=len(week) - no_cause,
            rows_excluded=no_cause,
            reasons={("no root cause" if has_cause else "root cause not in the export"): no_cause} if no_cause else {},
        )
    )
    recent = matched[matched["opened_at"] >= period.days_back(REPEAT_DAYS)]
    clusters: list[RepeatCluster] = []
    for (service, cause), group in recent.groupby(["service", "root_cause"], sort=True):
        if len(group) < 2:
            continue
        group = group.sort_values("opened_at")
        vendor_list = list(dict.fromkeys(group["vendor_id"].dropna().astype(str)))
        # Attribution names a vendor only for the incidents that carry it: one member's vendor is not the cluster's.
        named = group["vendor_id"].dropna().astype(str).value_counts()
        clusters.append(
            RepeatCluster(
                service=str(service),
                root_cause=str(cause),
                incidents=len(group),
                first_opened_at=_when(group["opened_at"].iloc[0]),
                last_opened_at=_when(group["opened_at"].iloc[-1]),
                vendor_ids=";".join(vendor_list) or None,
                vendor_incidents="; ".join(f"{v}: {int(named[v])} of {len(group)}" for v in vendor_list) or None,
                vendor_share=float(named.max()) / len(group) if len(named) else None,
                incident_ids=";".join(group["incident_id"].astype(str)),
                owner=cells.text(group["owner"].iloc[-1]),
                majors=int(group["severity"].isin(MAJOR).sum()),
            )
        )
    clusters.sort(key=lambda c: (-c.incidents, c.service, c.root_cause))

    # Open SEV1/SEV2 at the period end.
    open_frame = real[real["severity"].isin(MAJOR) & real["resolved_at"].isna()].sort_values("opened_at")
    # A claim about acknowledgement or mitigation needs the column in the export: all empty means not mapped.
    has_ack, has_mitigation = bool(frame["acknowledged_at"].notna().any()), bool(frame["mitigated_at"].notna().any())
    open_major = [
        OpenMajorIncident(
            incident_id=str(r.incident_id),
            title=cells.text(r.title),
            service=str(r.service),
            severity=str(r.severity),
            opened_at=_when(r.opened_at),
            age_hours=r.age_hours,
            acknowledged=not pd.isna(r.acknowledged_at) if has_ack else None,
            mitigated=not pd.isna(r.mitigated_at) if has_mitigation else None,
            owner=cells.text(r.owner),
        )
        for r in _records(open_frame.assign(age_hours=_hours(end - open_frame["opened_at"])))
    ]

    # Overdue postmortems. An export that carries no postmortem tracking at all says nothing about them.
    resolved_major = real[real["severity"].isin(MAJOR) & real["resolved_at"].notna()]
    tracked = bool(real["postmortem_status"].notna().any() or real["postmortem_due_at"].notna().any())
    if not tracked:
        resolved_major = resolved_major.iloc[0:0]
        basis.append(
            Basis(
                metric="incidents.postmortems_overdue",
                rows_used=0,
                rows_excluded=int((real["severity"].isin(MAJOR) & real["resolved_at"].notna()).sum()),
                reasons={
                    "postmortem status not in the export": int(
                        (real["severity"].isin(MAJOR) & real["resolved_at"].notna()).sum()
                    )
                },
            )
        )
    due = resolved_major["postmortem_due_at"].fillna(resolved_major["resolved_at"] + POSTMORTEM_DEFAULT)
    # Done at the period end: a done status whose completion (when the export dates it) came before the end.
    done = resolved_major["postmortem_status"].isin(POSTMORTEM_DONE).fillna(False).astype(bool)
    completed_later = (resolved_major["postmortem_completed_at"] >= end).fillna(False).astype(bool)
    pending = ~done | completed_later
    overdue_frame = resolved_major.assign(due=due)[pending & (due < end)].sort_values("due")
    overdue = [
        OverduePostmortem(
            incident_id=str(r.incident_id),
            title=cells.text(r.title),
            service=str(r.service),
            severity=str(r.severity),
            resolved_at=_when(r.resolved_at),
            due_at=_when(r.due),
            overdue_hours=r.overdue_hours,
            postmortem_status=cells.text(r.postmortem_status),
            owner=cells.text(r.owner),
        )
        for r in _records(overdue_frame.assign(overdue_hours=_hours(end - overdue_frame["due"])))
    ]

    actions = _actions(open_major, overdue, clusters, period.tz)
    week_major = int(week["severity"].isin(MAJOR).sum())
    headlines = [
        Headline(key="incidents.week.total", label="Incidents this week", value=len(week), better="lower"),
        Headline(key="incidents.month_to_date.total", label="Incidents month to date", value=len(mtd), better="lower"),
        Headline(key="incidents.week.sev1_sev2", label="SEV1 + SEV2 this week", value=week_major, better="lower"),
        Headline(
            key="incidents.week.mttr_median_hours",
            label="MTTR median (all severities)",
            value=week_all.mttr_median_hours,
            unit="hours",
            better="lower",
        ),
        Headline(
            key="incidents.open_sev1_sev2", label="Open SEV1/SEV2 at week end", value=len(open_major), better="lower"
        ),
        Headline(key="incidents.postmortems_overdue", label="Postmortems overdue", value=len(overdue), better="lower"),
        Headline(
            key="incidents.week.third_party_share",
            label="Third-party share",
            value=third_share,
            unit="ratio",
            better="lower",
        ),
        Headline(
            key="incidents.month_to_date.third_party_share",
            label="Third-party share, month to date",
            value=third_share_mtd,
            unit="ratio",
            better="lower",
        ),
        Headline(
            key="incidents.week.repeats",
            label="Repeat incidents this week",
            value=len(repeats) if has_cause else None,
            better="lower",
        ),
    ]
    note = None
    if frame.empty:
        note = "No incidents opened before the period end."
    elif week.empty:
        note = "No real incidents were opened this week."
    if not frame.empty and not has_cause:
        note = (
            (note or "") + " Repeat incidents and clusters are not computed: root cause is not in the export."
        ).strip()
    if clipped is not None:
        shortened = f"MTBF is over the {clipped:g} days the data covers, not {MTBF_DAYS}: the export starts later."
        note = f"{note} {shortened}" if note else shortened
    return IncidentSection(
        headlines=headlines,
        actions=actions,
        basis=basis,
        definitions=DEFINITIONS,
        note=note,
        by_severity=by_severity,
        by_service=by_service,
        by_vendor=by_vendor,
        response_times=response,
        mttr_chart=mttr_chart,
        reliability=reliability,
        repeats=repeats,
        repeat_clusters=clusters,
        open_major=open_major,
        overdue_postmortems=overdue,
    )


def _actions(
    open_major: list[OpenMajorIncident],
    overdue: list[OverduePostmortem],
    clusters: list[RepeatCluster],
    tz: str = "UTC",
) -> list[Action]:
    """Urgent: open majors and overdue postmortems; important: repeat clusters to review. Times in the workspace's
    time zone `tz`."""
    actions = [
        Action(
            text=f"Drive {r.severity} {r.incident_id} on {r.service} to resolution: open {r.age_hours:.0f} h"
            + _open_state(r)
            + ".",
            urgency=Urgency.URGENT,
            owner=r.owner,
            source=f"incident {r.incident_id}",
            section="incidents",
            kind="open_major_incident",
            severity=r.severity,
            impact=r.age_hours,
        )
        for r in open_major
    ]
    actions += [
        Action(
            text=(
                f"Complete the postmortem for {r.severity} {r.incident_id} on {r.service}: due "
                f"{local_time(r.due_at, tz)}, {r.overdue_hours:.0f} h overdue "
                f"(status: {r.postmortem_status or 'not recorded'})."
            ),
            urgency=Urgency.URGENT,
            owner=r.owner,
            source=f"incident {r.incident_id}",
            section="incidents",
            due=r.due_at.date(),
            kind="postmortem_overdue",
            severity=r.severity,
            impact=r.overdue_hours,
        )
        for r in overdue
    ]
    for c in clusters:
        # Two minor tickets with the same cause is noise on a busy service; three, or a major one, is a problem.
        if c.incidents < REPEAT_ACTION_MIN and c.majors == 0:
            continue
        members = c.incident_ids.split(";")
        latest = members[-1]
        # A cluster of 650 on a real export must not put 650 ids in one sentence: the latest few, the rest counted.
        ids = id_list(members[::-1])
        if c.vendor_share is not None and c.vendor_share > VENDOR_CLUSTER_SHARE:
            text = (
                f"Review vendor {c.vendor_ids} with them: {c.incidents} incidents on {c.service} with root cause "
                f"'{c.root_cause}' in {REPEAT_DAYS} days, naming the vendor: {c.vendor_incidents} ({ids})."
            )
            kind = "repeat_vendor_review"
        else:
            named = f"; vendor named on {c.vendor_incidents} only" if c.vendor_incidents else ""
            text = (
                f"Open a problem record for '{c.root_cause}' on {c.service}: {c.incidents} incidents in "
                f"{REPEAT_DAYS} days{named} ({ids})."
            )
            kind = "repeat_problem_management"
        actions.append(
            Action(
                text=text,
                urgency=Urgency.IMPORTANT,
                owner=c.owner,
                source=f"incident {latest}",
                section="incidents",
                kind=kind,
                impact=float(c.incidents),
            )
        )
    return actions


def _open_state(r: OpenMajorIncident) -> str:
    """What the export says about an open incident's acknowledgement and mitigation, and nothing it does not."""
    if r.mitigated is None and r.acknowledged is None:
        return " (acknowledgement and mitigation times are not in the export)"
    parts = []
    if r.mitigated is None:
        parts.append("mitigation time not in the export")
    elif not r.mitigated:
        parts.append("customer impact not yet mitigated")
    if r.acknowledged is None:
        parts.append("acknowledgement time not in the export")
    elif not r.acknowledged:
        parts.append("not acknowledged")
    return "".join(f", {p}" for p in parts)


compute_incidents_task = compute_task(compute_incidents, name="compute_incidents")
