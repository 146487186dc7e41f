"""The sample company's year of production changes (the `changes` dataset), with the change-review stories."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from opsflow.sample.common import (
    DAY,
    DAYS,
    HOUR,
    MINUTE,
    TEAMS,
    TIMEZONE,
    Calendar,
    draw,
    lognormal,
    timestamp_column,
)
from opsflow.sample.incidents import KIND_LABEL, PRIORITY
from opsflow.sample.services import SERVICE_INDEX, SERVICES

RISKS = ("low", "medium", "high", "critical")
STRATEGIES = ("blue-green", "canary", "staged", "manual")
"""In the policy's order: the strategy required for the risk level of the same position, each stricter than the last."""
OUTCOMES = ("success", "failed", "rolled_back")

_WEEKLY_DEPLOYS: dict[str, float] = {
    "storefront": 4.0,
    "checkout": 3.5,
    "order-service": 3.5,
    "payments-gateway": 2.5,
    "wms": 2.5,
    "shipping-label": 2.5,
    "cloud-platform": 2.0,
    "customer-db": 1.5,
    "product-catalog": 0.8,
    "search": 0.6,
    "customer-portal": 0.6,
    "inventory-service": 0.6,
    "identity": 0.5,
    "returns-portal": 0.5,
    "data-warehouse": 0.5,
    "email": 0.3,
    "office-it": 0.3,
    "erp": 0.25,
    "customer-support-desk": 0.25,
    "core-network": 0.2,
    "finance-reporting": 0.15,
    "warehouse-scanners": 0.15,
    "hr-payroll": 0.1,
}
"""Deployments per week: critical services ship far more often than the back-office ones (~1,450 a year in all)."""

_RISK_MIX = np.array([0.45, 0.33, 0.16, 0.06])
_FAILURE_RATE = 0.05
_LINKED_CHANGES = 40
"""Older deploy-regression and config-change incidents traced to the change that caused them, at most."""
_DEPLOY_CAUSES = ("deploy-regression", "config-change")
_QUIET_DAYS = 30
"""Over the last 30 days only the story services fail, so the one in the low DORA band stands out."""
LOW_BAND_SERVICE = "order-service"


@dataclass
class _Rows:
    """Changes before they become a table: times as epoch seconds (-1 = empty), codes as small integers (-1 = empty)."""

    service: list[int] = field(default_factory=list)
    deployed: list[int] = field(default_factory=list)
    committed: list[int] = field(default_factory=list)
    risk: list[int] = field(default_factory=list)
    strategy: list[int] = field(default_factory=list)
    plan: list[int] = field(default_factory=list)
    tested: list[int] = field(default_factory=list)
    outcome: list[int] = field(default_factory=list)
    incident: list[str | None] = field(default_factory=list)
    restored: list[int] = field(default_factory=list)
    owner: list[str] = field(default_factory=list)

    def add(self, **row: object) -> None:
        for name, value in row.items():
            getattr(self, name).append(value)


def changes_table(rng: np.random.Generator, cal: Calendar, incidents: pa.Table) -> pa.Table:
    """A year of production changes: mostly by policy, a few older incidents traced to their change, and the
    stories of the last week (a high-risk canary, a critical change with an untested rollback, a failed release that
    caused the checkout SEV1) and of the last 30 days (order-service failing far more often than the rest)."""
    known = _incident_frame(incidents)
    rows = _Rows()
    _routine_changes(rng, cal, rows)
    _linked_changes(rng, cal, known, rows)
    _story_changes(cal, known, rows)

    frame = pd.DataFrame(rows.__dict__).sort_values("deployed", kind="stable").reset_index(drop=True)
    # Nothing after the export was taken: a restoration not yet recorded is empty.
    frame.loc[frame["restored"] >= cal.end_s, "restored"] = -1
    codes = {name: frame[name].to_numpy() for name in ("risk", "strategy", "outcome", "plan", "tested")}

    def text(values: tuple[str, ...], code: np.ndarray) -> pa.Array:
        return pa.array(np.array([*values, None], dtype=object)[code], type=pa.string())  # code -1 picks None

    def flag(code: np.ndarray) -> pa.Array:
        return pa.array(code == 1, mask=code < 0)

    def stamp(seconds: pd.Series) -> pa.Array:
        values = seconds.to_numpy(dtype=np.int64)
        return timestamp_column(values, values >= 0)

    return pa.table(
        {
            "change_id": [f"CHG{30001 + i:07d}" for i in range(len(frame))],
            "service": [SERVICES[i].id for i in frame["service"]],
            "deployed_at": stamp(frame["deployed"]),
            "committed_at": stamp(frame["committed"]),
            "risk_level": text(RISKS, codes["risk"]),
            "strategy": text(STRATEGIES, codes["strategy"]),
            "rollback_plan": flag(codes["plan"]),
            "rollback_tested": flag(codes["tested"]),
            "outcome": text(OUTCOMES, codes["outcome"]),
            "incident_id": pa.array(frame["incident"], type=pa.string(), from_pandas=True),
            "restored_at": stamp(frame["restored"]),
            "owner": frame["owner"].tolist(),
        }
    )


def _incident_frame(incidents: pa.Table) -> pd.DataFrame:
    """id, service, severity, kind, root cause and opening (epoch seconds) of each incident with a usable id, read
    from the contract's columns or from the sample's ServiceNow export (local wall-time text, labels)."""
    names = set(incidents.column_names)
    if "incident_id" in names:
        opened = incidents.column("opened_at").to_pandas()
        if not isinstance(opened.dtype, pd.DatetimeTZDtype):
            opened = pd.to_datetime(opened, utc=True)
        frame = pd.DataFrame(
            {
                "id": incidents.column("incident_id").to_pylist(),
                "service": incidents.column("service").to_pylist(),
                "severity": incidents.column("severity").to_pylist(),
                "kind": incidents.column("kind").to_pylist() if "kind" in names else "real",
                "root_cause": incidents.column("root_cause").to_pylist() if "root_cause" in names else None,
                "opened": opened,
            }
        )
    else:
        service_ids = {s.name: s.id for s in SERVICES}
        severities = {label: sev for sev, label in PRIORITY.items()}
        kinds = {label: kind for kind, label in KIND_LABEL.items()}
        local = pd.to_datetime(
            pd.Series(incidents.column("opened_at").to_pylist(), dtype=object), format="%Y-%m-%d %H:%M:%S",
            errors="coerce",
        )  # fmt: skip
        frame = pd.DataFrame(
            {
                "id": incidents.column("number").to_pylist(),
                "service": [service_ids.get(n) for n in incidents.column("cmdb_ci").to_pylist()],
                "severity": [severities.get(p) for p in incidents.column("priority").to_pylist()],
                "kind": [kinds.get(k) for k in incidents.column("u_kind").to_pylist()],
                "root_cause": incidents.column("u_root_cause").to_pylist(),
                "opened": local.dt.tz_localize(TIMEZONE, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC"),
            }
        )
    frame = frame[frame["opened"].notna() & frame["service"].isin(SERVICE_INDEX) & frame["id"].notna()]
    # A number on two tickets is an ambiguous reference: never link a change to it.
    frame = frame[~frame["id"].duplicated(keep=False)]
    seconds = frame["opened"].dt.tz_convert("UTC").dt.as_unit("s").astype("int64")
    return frame.assign(opened=seconds.to_numpy()).reset_index(drop=True)


def _owner(service: int, pick: int) -> str:
    team = TEAMS[SERVICES[service].team]
    return team[pick % len(team)]


def _routine_changes(rng: np.random.Generator, cal: Calendar, rows: _Rows) -> None:
    """Changes by policy on working days, a few percent against it (never in the last week, whose violations are the
    stories), failing ~5% of the time (never in the last 30 days but for the story services)."""
    ids = [s.id for s in SERVICES]
    rates = np.array([_WEEKLY_DEPLOYS.get(s, 0.2) for s in ids])
    n = int(rng.poisson(rates.sum() * DAYS / 7))
    svc = draw(rng, rates, n)
    weekday = cal.weekday()
    day = draw(rng, np.where(weekday < 5, 1.0, 0.06), n)
    hour_weights = np.array([0, 0, 0, 0, 0, 0, 0, 1, 4, 8, 9, 8, 5, 7, 9, 8, 6, 4, 2, 2, 2, 1, 0, 0], dtype=float)
    hour = draw(rng, hour_weights, n)
    deployed = cal.midnight[day] + hour * HOUR + rng.integers(0, HOUR, n)

    risk = draw(rng, _RISK_MIX, n)
    shift = rng.random(n)
    # One change in ten goes out more carefully than required; one in thirty less carefully.
    strategy = np.where(shift < 0.10, np.minimum(risk + 1, 3), np.where(shift > 0.967, np.maximum(risk - 1, 0), risk))
    medium_up = risk >= 1
    plan = rng.random(n) < np.where(medium_up, 0.985, 0.80)
    tested = plan & (rng.random(n) < np.where(medium_up, 0.96, 0.45))
    critical = np.array([SERVICES[i].tier == "critical" for i in svc])
    lead = lognormal(rng, 1.0, 0.9, n) * np.where(critical, 20.0, 50.0) * np.array([1.0, 1.2, 1.6, 2.5])[risk] * HOUR
    has_commit = rng.random(n) > 0.07
    fails = rng.random(n) < _FAILURE_RATE
    rolled_back = rng.random(n) < 0.55
    restore = np.where(rolled_back, lognormal(rng, 25 * MINUTE, 0.6, n), lognormal(rng, 3 * HOUR, 0.9, n))
    restore_recorded = rng.random(n) > 0.08
    no_outcome = rng.random(n) < 0.01
    owner_pick = rng.integers(0, 100, n)

    week = deployed >= cal.midnight[DAYS - 7]
    strategy = np.where(week, np.maximum(strategy, risk), strategy)
    plan |= week & medium_up
    tested |= week & medium_up
    quiet = deployed >= cal.end_s - _QUIET_DAYS * DAY
    fails &= ~quiet
    outcome = np.where(fails, np.where(rolled_back, 2, 1), 0)
    outcome = np.where(no_outcome & ~quiet, -1, outcome)
    restored = np.where(fails & restore_recorded, deployed + restore.astype(np.int64), -1)
    for i in range(n):
        rows.add(
            service=int(svc[i]), deployed=int(deployed[i]),
            committed=int(deployed[i] - int(lead[i])) if has_commit[i] else -1, risk=int(risk[i]),
            strategy=int(strategy[i]), plan=int(plan[i]), tested=int(tested[i]), outcome=int(outcome[i]),
            incident=None, restored=int(restored[i]), owner=_owner(int(svc[i]), int(owner_pick[i])),
        )  # fmt: skip


def _linked_changes(rng: np.random.Generator, cal: Calendar, known: pd.DataFrame, rows: _Rows) -> None:
    """Older incidents whose root cause is a deployment or a configuration change, traced to the change that caused
    it (deployed 10 to 90 minutes before the incident was opened); their restoration is the incident's."""
    candidates = known[
        (known["kind"] == "real")
        & known["severity"].isin(["SEV1", "SEV2", "SEV3"])  # the deliberately bad rows are SEV4
        & known["root_cause"].isin(_DEPLOY_CAUSES)
        & (known["opened"] < cal.end_s - _QUIET_DAYS * DAY)
        & (known["opened"] > cal.start_s + 2 * HOUR)
    ].sort_values(["opened", "id"], kind="stable")
    k = min(len(candidates), _LINKED_CHANGES)
    if k == 0:
        return
    picked = candidates.iloc[np.sort(rng.choice(len(candidates), size=k, replace=False))]
    before = rng.integers(10, 91, k) * MINUTE
    risk = draw(rng, _RISK_MIX, k)
    outcome = np.where(rng.random(k) < 0.5, 2, 1)
    lead = lognormal(rng, 24 * HOUR, 0.9, k)
    owner_pick = rng.integers(0, 100, k)
    opened = picked["opened"].to_numpy(dtype=np.int64)
    for i, (incident_id, service_id) in enumerate(zip(picked["id"], picked["service"], strict=True)):
        service, deployed = SERVICE_INDEX[str(service_id)], int(opened[i]) - int(before[i])
        rows.add(
            service=service, deployed=deployed, committed=deployed - int(lead[i]), risk=int(risk[i]),
            strategy=int(risk[i]), plan=1, tested=int(risk[i] >= 1), outcome=int(outcome[i]), incident=str(incident_id),
            restored=-1, owner=_owner(service, int(owner_pick[i])),
        )  # fmt: skip


def caused_incident(known: pd.DataFrame, cal: Calendar) -> pd.Series | None:
    """The incident the week's failed release caused: a real SEV1/SEV2 opened in the last week (a deployment or
    configuration cause first, then the most severe, then the latest), else the latest such incident of the last
    two weeks; None when there is none."""
    majors = known[(known["kind"] == "real") & known["severity"].isin(["SEV1", "SEV2"]) & (known["opened"] < cal.end_s)]
    for first_day in (DAYS - 7, DAYS - 14):
        near = majors[majors["opened"] >= cal.midnight[first_day]]
        if near.empty:
            continue
        ranked = near.assign(by_deploy=~near["root_cause"].isin(_DEPLOY_CAUSES)).sort_values(
            ["by_deploy", "severity", "opened", "id"], ascending=[True, True, False, True], kind="stable"
        )
        return ranked.iloc[0]
    return None


def _story_changes(cal: Calendar, known: pd.DataFrame, rows: _Rows) -> None:
    """The last week's three stories and the low-band service's failures; fixed, so they draw no random number."""
    pay, db, order = SERVICE_INDEX["payments-gateway"], SERVICE_INDEX["customer-db"], SERVICE_INDEX[LOW_BAND_SERVICE]
    # (a) A high-risk PayBridge client upgrade rolled out as a canary, where policy asks for a staged rollout.
    deployed = cal.at(3, 14.25)
    rows.add(service=pay, deployed=deployed, committed=deployed - 30 * HOUR, risk=2, strategy=1, plan=1, tested=1,
             outcome=0, incident=None, restored=-1, owner="Lea Hoffmann")  # fmt: skip
    # (b) A critical schema migration deployed by hand as required, its rollback plan written but never tested.
    deployed = cal.at(2, 19.5)
    rows.add(service=db, deployed=deployed, committed=deployed - 4 * DAY, risk=3, strategy=3, plan=1, tested=0,
             outcome=0, incident=None, restored=-1, owner="Noah Schulz")  # fmt: skip
    # (c) A release by the book that failed: rolled back, after the incident it caused was opened 25 minutes later.
    incident = caused_incident(known, cal)
    if incident is not None:
        service = SERVICE_INDEX[str(incident["service"])]
        deployed = int(incident["opened"]) - 25 * MINUTE
        owner = "Felix Schmidt" if SERVICES[service].id == "checkout" else _owner(service, 0)
        rows.add(service=service, deployed=deployed, committed=deployed - 26 * HOUR, risk=1, strategy=1, plan=1,
                 tested=1, outcome=2, incident=str(incident["id"]), restored=-1, owner=owner)  # fmt: skip
    # order-service: five failed releases in the last 30 days (none in the last week), all restored.
    for n, (days_ago, hour, outcome, minutes) in enumerate(
        ((8, 10.5, 2, 35), (12, 14.0, 1, 240), (15, 11.25, 2, 20), (19, 16.5, 1, 190), (24, 9.75, 2, 45))
    ):
        deployed = cal.at(days_ago, hour)
        rows.add(service=order, deployed=deployed, committed=deployed - (20 + 7 * n) * HOUR, risk=1, strategy=1,
                 plan=1, tested=1, outcome=outcome, incident=None, restored=deployed + minutes * MINUTE,
                 owner=_owner(order, n + 1))  # fmt: skip
