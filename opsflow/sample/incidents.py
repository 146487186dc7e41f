"""The ServiceNow-style incident export, its stories and dirty rows, and the opsflow.yaml mapping that reads it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from opsflow.sample.common import (
    DAY,
    DAYS,
    HOUR,
    MINUTE,
    PEOPLE,
    TEAMS,
    TIMEZONE,
    Calendar,
    clock_text,
    draw,
    utc_offsets,
)
from opsflow.sample.services import SERVICE_INDEX, SERVICES
from opsflow.sample.vendors import VENDOR_INDEX, VENDORS

SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")
PRIORITY = {"SEV1": "1 - Critical", "SEV2": "2 - High", "SEV3": "3 - Moderate", "SEV4": "4 - Low"}
IMPACTS = ("none", "low", "medium", "high")
IMPACT_LABEL = {"high": "1 - High", "medium": "2 - Medium", "low": "3 - Low", "none": "4 - No impact"}
POSTMORTEM_LABEL = {"not_required": "Not required", "pending": "Pending", "in_progress": "In progress",
                    "complete": "Complete"}  # fmt: skip
KIND_LABEL = {"real": "Incident", "drill": "Drill", "maintenance": "Planned maintenance"}

_INTERNAL_CAUSES: dict[str, tuple[float, str, tuple[str, ...]]] = {
    "deploy-regression": (0.16, "Software", ("{name}: error rate up after release",
                                             "{name} returning 500s after deploy")),
    "config-change": (0.12, "Software", ("{name} unavailable after configuration change",
                                         "{name}: feature flag misconfigured")),
    "capacity-exhaustion": (0.08, "Software", ("{name}: saturated under load, requests queueing",
                                               "{name} slow: CPU at 100%")),
    "db-connection-pool": (0.08, "Software", ("{name}: database connection pool exhausted",
                                              "{name} timeouts waiting for DB connections")),
    "network-partition": (0.05, "Network", ("{name} unreachable from hall B", "{name}: packet loss between zones")),
    "certificate-expiry": (0.03, "Software", ("{name}: TLS certificate expired",)),
    "disk-full": (0.06, "Hardware", ("{name}: disk full on primary host", "{name} log volume at 100%")),
    "memory-leak": (0.06, "Software", ("{name}: memory climbing until restart", "{name} pods OOM-killed")),
    "dns-resolution": (0.03, "Network", ("{name}: DNS lookups failing intermittently",)),
    "data-quality": (0.07, "Software", ("{name}: wrong prices shown for some items",
                                        "{name}: duplicate records after import")),
    "hardware-failure": (0.05, "Hardware", ("{name}: host hardware fault", "{name}: failed disk in RAID set")),
    "human-error": (0.07, "Software", ("{name}: manual change applied to production by mistake",)),
    "batch-job-failure": (0.08, "Software", ("{name}: nightly job failed", "{name}: batch import stuck")),
    "unknown": (0.06, "Software", ("{name}: intermittent errors", "{name} degraded, cause under investigation")),
}  # fmt: skip
_VENDOR_TITLES = {
    "third-party-api-timeout": "{name}: timeouts calling {vendor} API",
    "vendor-outage": "{vendor} outage degrading {name}",
    "carrier-api-error": "{vendor} label API returning errors",
}


@dataclass
class _IncidentRows:
    """Incidents before they become an export: times as epoch seconds (-1 = empty)."""

    service: list[int]
    severity: list[int]
    opened: list[int]
    acknowledged: list[int]
    mitigated: list[int]
    resolved: list[int]
    root_cause: list[str]
    vendor: list[str]
    impact: list[str]
    owner: list[str]
    postmortem: list[str]
    kind: list[str]
    title: list[str]
    caller: list[str]

    def add(self, **row: Any) -> None:
        for name, value in row.items():
            getattr(self, name).append(value)


def _incident_rows(rng: np.random.Generator, cal: Calendar, scale: float) -> _IncidentRows:
    n = max(1, round(3000 * scale))
    noise = np.array([s.noise for s in SERVICES])
    svc = draw(rng, noise, n)
    weekday = cal.weekday()
    day_weights = np.where(weekday < 5, 1.0, 0.7) * (1 + 0.1 * np.arange(DAYS) / DAYS)
    day = draw(rng, day_weights, n)
    hour_weights = np.array([2, 2, 2, 2, 2, 3, 4, 6, 9, 10, 10, 9, 8, 9, 10, 10, 9, 8, 6, 5, 4, 3, 3, 2], dtype=float)
    hour = draw(rng, hour_weights, n)
    opened = cal.midnight[day] + hour * HOUR + rng.integers(0, HOUR, n)

    critical = np.array([SERVICES[i].tier == "critical" for i in svc])
    sev = np.where(critical, draw(rng, np.array([0.015, 0.09, 0.32, 0.575]), n),
                   draw(rng, np.array([0.004, 0.04, 0.30, 0.656]), n))  # fmt: skip
    maintenance = rng.random(n) < 0.03
    sev[maintenance] = 3
    opened[maintenance] = cal.midnight[day[maintenance]] + HOUR + rng.integers(0, 3 * HOUR, int(maintenance.sum()))

    ack_median = np.array([3.0, 7.0, 25.0, 75.0])[sev] * MINUTE
    ack = opened + ack_median * np.exp(0.9 * rng.standard_normal(n))
    mit_median = np.array([1.0, 2.0, 6.0, 18.0])[sev] * HOUR
    mitigated = opened + mit_median * np.exp(0.8 * rng.standard_normal(n))
    mitigated = np.maximum(mitigated, ack + MINUTE)
    res_extra = np.array([3.0, 6.0, 14.0, 30.0])[sev] * HOUR
    resolved = mitigated + res_extra * np.exp(0.9 * rng.standard_normal(n))
    stuck = (sev >= 2) & (rng.random(n) < 0.01)  # a few tickets that sit in a queue for months
    resolved[stuck] += rng.integers(60, 120, int(stuck.sum())) * DAY
    mitigation_recorded = rng.random(n) < np.array([1.0, 0.95, 0.6, 0.4])[sev]
    ack[maintenance] = opened[maintenance]
    mitigation_recorded[maintenance] = False
    resolved[maintenance] = opened[maintenance] + rng.integers(1 * HOUR, 3 * HOUR, int(maintenance.sum()))

    causes = list(_INTERNAL_CAUSES)
    cause = draw(rng, np.array([c[0] for c in _INTERNAL_CAUSES.values()]), n)
    vendor_caused = rng.random(n) < 0.36
    vendor_pick = rng.random(n)
    impact_draw = rng.random(n)
    owner_draw = rng.integers(0, 100, n)
    template_draw = rng.integers(0, 100, n)
    caller_draw = rng.integers(0, len(PEOPLE) * 3, n)
    no_cause = rng.random(n) < 0.08

    rows = _IncidentRows([], [], [], [], [], [], [], [], [], [], [], [], [], [])
    for i in range(n):
        s = SERVICES[int(svc[i])]
        severity = int(sev[i])
        kind = "maintenance" if maintenance[i] else "real"
        vendors = s.vendors.split(";") if s.vendors else []
        vendor = ""
        if kind == "maintenance":
            root = ""
            title = f"Planned maintenance: {s.name} {('patching', 'database upgrade', 'failover test')[i % 3]}"
        elif vendors and vendor_caused[i] and s.id != "payments-gateway":
            vendor = vendors[int(vendor_pick[i] * len(vendors))]
            if s.id == "shipping-label":
                root = "carrier-api-error"
            else:
                root = "third-party-api-timeout" if vendor_pick[i] * 10 % 1 < 0.5 else "vendor-outage"
            title = _VENDOR_TITLES[root].format(name=s.name, vendor=VENDORS[VENDOR_INDEX[vendor]].name)
        else:
            root = causes[int(cause[i])]
            templates = _INTERNAL_CAUSES[root][2]
            title = templates[int(template_draw[i]) % len(templates)].format(name=s.name)
            if severity >= 2 and no_cause[i]:
                root = ""
        if kind == "maintenance":
            impact = "none"
        else:
            u = impact_draw[i]
            impact = (("high",), ("high", "medium", "medium"), ("low", "low", "medium", "none", "low", "medium"),
                      ("none", "low", "none"))[severity][int(u * 10) % (1, 3, 6, 3)[severity]]  # fmt: skip
        team = TEAMS[s.team]
        caller = int(caller_draw[i])
        rows.add(
            service=int(svc[i]), severity=severity, opened=int(opened[i]), acknowledged=int(ack[i]),
            mitigated=int(mitigated[i]) if mitigation_recorded[i] else -1, resolved=int(resolved[i]),
            root_cause=root, vendor=vendor, impact=impact, owner=team[int(owner_draw[i]) % len(team)],
            postmortem="", kind=kind, title=title,
            caller=PEOPLE[caller] if caller < len(PEOPLE) else "Monitoring (Datadog)",
        )  # fmt: skip
    # Free text is never markup: one title carries characters a report must escape.
    for i, service in enumerate(rows.service):
        if SERVICES[service].id == "search" and rows.kind[i] == "real":
            rows.title[i] = "Search shows <empty> results for 'Größe & Farbe' filter, \"size\" facet broken"
            break
    _story_incidents(rows, cal)
    return rows


def _story_incidents(rows: _IncidentRows, cal: Calendar) -> None:
    pay = SERVICE_INDEX["payments-gateway"]
    # PayBridge keeps timing out: the same third-party cause again and again, most of it in the last month.
    for days_ago, hour, sev, minutes in ((150, 14.3, 2, 95), (96, 10.1, 2, 70), (58, 19.6, 1, 150), (27, 12.4, 2, 80),
                                         (21, 20.2, 1, 190), (15, 9.7, 2, 60), (9, 13.1, 2, 110), (5, 18.8, 2, 75),
                                         (2, 11.5, 2, 85)):  # fmt: skip
        opened = cal.at(days_ago, hour)
        rows.add(
            service=pay, severity=sev, opened=opened, acknowledged=opened + 4 * MINUTE,
            mitigated=opened + minutes * MINUTE, resolved=opened + (minutes + 40) * MINUTE,
            root_cause="third-party-api-timeout", vendor="V-1201", impact="medium" if sev == 2 else "high",
            owner="Omar Haddad", postmortem="", kind="real",
            title="PayBridge API timeouts: card payments failing at checkout", caller="Monitoring (Datadog)",
        )  # fmt: skip
    opened = cal.at(4, 11 + 20 / 60)
    rows.add(
        service=SERVICE_INDEX["checkout"], severity=0, opened=opened, acknowledged=opened + 3 * MINUTE,
        mitigated=opened + 55 * MINUTE, resolved=opened + 190 * MINUTE, root_cause="deploy-regression", vendor="",
        impact="high", owner="Felix Schmidt", postmortem="pending", kind="real",
        title="Checkout down: all orders failing with HTTP 500 after release 24.3", caller="Monitoring (Datadog)",
    )  # fmt: skip
    opened = cal.at(1, 16.75)
    rows.add(
        service=SERVICE_INDEX["wms"], severity=1, opened=opened, acknowledged=opened + 9 * MINUTE, mitigated=-1,
        resolved=-1, root_cause="", vendor="", impact="medium", owner="Lukas Fischer", postmortem="pending",
        kind="real", title="WMS: handheld scanner sync failing in hall B, picking delayed", caller="Hannah Braun",
    )  # fmt: skip
    # Minor tickets that sit in a queue: still open at `end`, whatever the scale.
    for service, days_ago, sev, owner, title in (
        ("customer-portal", 2, 2, "Ben Richter", "Customer portal: order history slow for some accounts"),
        ("warehouse-scanners", 12, 3, "Jan Krause", "Handheld scanner 17 in hall A drops Wi-Fi every few minutes"),
    ):
        opened = cal.at(days_ago, 10.25)
        rows.add(
            service=SERVICE_INDEX[service], severity=sev, opened=opened, acknowledged=opened + 40 * MINUTE,
            mitigated=-1, resolved=-1, root_cause="", vendor="", impact="low", owner=owner, postmortem="", kind="real",
            title=title, caller="Marie Lange",
        )  # fmt: skip
    # Disaster-recovery drills: recent for most critical services, stale for wms, never for payments-gateway.
    for service, days_ago in (("checkout", 40), ("order-service", 75), ("erp", 90), ("storefront", 110),
                              ("email", 130), ("cloud-platform", 150), ("customer-db", 200), ("shipping-label", 170),
                              ("wms", 300)):  # fmt: skip
        s = SERVICES[SERVICE_INDEX[service]]
        opened = cal.at(days_ago, 9.5)
        rows.add(
            service=SERVICE_INDEX[service], severity=2, opened=opened, acknowledged=opened + 2 * MINUTE,
            mitigated=opened + 70 * MINUTE, resolved=opened + 150 * MINUTE, root_cause="", vendor="", impact="none",
            owner=TEAMS[s.team][0], postmortem="not_required", kind="drill",
            title=f"DR drill: fail over {s.name} to the secondary site", caller="Jonas Weber",
        )  # fmt: skip


def incidents_table(
    rng: np.random.Generator, cal: Calendar, scale: float
) -> tuple[pa.Table, list[tuple[str, int, int]]]:
    """The ServiceNow-style export, and the outages (service, from, to) that fail uptime checks."""
    rows = _incident_rows(rng, cal, scale)
    frame = pd.DataFrame(vars(rows))
    times = ["opened", "acknowledged", "mitigated", "resolved"]
    # Local times that occur twice (autumn DST change) are ambiguous without an offset: move such tickets by 2 hours.
    for _ in range(2):
        stamps = frame[times].to_numpy()
        seen = stamps >= 0
        flat = np.where(seen, stamps, cal.start_s)
        here = utc_offsets(flat.ravel()).reshape(flat.shape)
        later = utc_offsets(flat.ravel() + HOUR).reshape(flat.shape)
        earlier = utc_offsets(flat.ravel() - HOUR).reshape(flat.shape)
        twice = seen & ((later == here - HOUR) | (earlier == here + HOUR))
        move = twice.any(axis=1)
        if not move.any():
            break
        shift = np.where(frame["opened"].to_numpy() + 2 * HOUR < cal.end_s, 2 * HOUR, -2 * HOUR)
        for column in times:
            values = frame[column].to_numpy()
            frame[column] = np.where(move & (values >= 0), values + shift, values)
    for column in times[1:]:
        values = frame[column].to_numpy()
        frame[column] = np.where(values >= cal.end_s, -1, values)
    frame["mitigated"] = np.where(frame["resolved"] < 0, -1, frame["mitigated"])
    frame = frame.sort_values("opened", kind="stable").reset_index(drop=True)

    real = frame["kind"] == "real"
    major = real & (frame["severity"] <= 1)
    due_passed = (frame["resolved"] >= 0) & (frame["resolved"] + 48 * HOUR < cal.end_s)
    unset = frame["postmortem"] == ""
    frame.loc[unset & major & due_passed, "postmortem"] = "complete"
    frame.loc[unset & major & ~due_passed, "postmortem"] = "pending"
    frame.loc[frame["postmortem"] == "", "postmortem"] = "not_required"

    outages = []
    # Checks fail during SEV1 outages, and while PayBridge times out (card payments fail: checkout is down).
    paybridge = (frame["service"] == SERVICE_INDEX["payments-gateway"]) & (frame["vendor"] == "V-1201")
    down = real & ((frame["severity"] == 0) | paybridge)
    rows_down = frame[down]
    for service, opened, mitigated, resolved in zip(
        rows_down["service"], rows_down["opened"], rows_down["mitigated"], rows_down["resolved"], strict=True
    ):
        until = mitigated if mitigated >= 0 else resolved if resolved >= 0 else cal.end_s
        outages.append((SERVICES[int(service)].id, int(opened), int(until)))

    n = len(frame)
    numbers = [f"INC{41200 + i:07d}" for i in range(n)]
    opened_text = clock_text(frame["opened"].to_numpy(), offset=False).to_pylist()
    # Deliberately bad rows, chosen among older low-severity tickets so no story is touched.
    old = np.flatnonzero(
        (frame["opened"].to_numpy() < cal.end_s - 60 * DAY) & (frame["severity"].to_numpy() == 3) & real.to_numpy()
        & (frame["resolved"].to_numpy() >= 0)
    )  # fmt: skip
    pick = rng.choice(old, size=4, replace=False)
    opened_s = frame["opened"].to_numpy()
    resolved = frame["resolved"].to_numpy().copy()
    mitigated = frame["mitigated"].to_numpy().copy()
    for i in pick[:2]:  # resolved before opened
        resolved[i] = opened_s[i] - int(rng.integers(1, 5)) * HOUR
        mitigated[i] = -1
    numbers[int(pick[2])] = numbers[int(pick[2]) - 1]  # the same number on two tickets
    opened_text[int(pick[3])] = "0000-00-00 00:00:00"

    # Completed postmortems were done 24 to 44 hours after resolution (inside the 48-hour policy). Derived from the
    # opening time, not drawn, so adding this column leaves every other random draw of the sample unchanged.
    done = (frame["postmortem"] == "complete").to_numpy() & (resolved >= 0)
    completed = np.where(done, resolved + 24 * HOUR + opened_s % (20 * HOUR), -1)

    def stamp(values: np.ndarray) -> pa.Array:
        return clock_text(values, values >= 0, offset=False)

    # Each real ticket's resolution SLA by priority (SEV1 4 h .. SEV4 5 days) and the tool's verdict once resolved:
    # derived, not drawn, so the other random draws of the sample stay as they were.
    target = np.array([SLA_HOURS[SEVERITIES[s]] for s in frame["severity"]]) * HOUR
    sla_due = np.where(real.to_numpy(), opened_s + target, -1)
    verdict = np.where(resolved <= sla_due, "true", "false").astype(object)
    made = np.where(~real.to_numpy() | (resolved < 0), np.full(len(verdict), None, dtype=object), verdict)

    service_names = [SERVICES[i].name for i in frame["service"]]
    state = np.where(resolved >= 0, "Resolved", np.where(frame["acknowledged"] >= 0, "In Progress", "New"))
    table = pa.table(
        {
            "number": numbers,
            "opened_at": pa.array(opened_text, type=pa.string()),
            "short_description": frame["title"].tolist(),
            "caller_id": frame["caller"].tolist(),
            "category": [_INTERNAL_CAUSES[c][1] if c in _INTERNAL_CAUSES else "Software" for c in frame["root_cause"]],
            "priority": [PRIORITY[SEVERITIES[s]] for s in frame["severity"]],
            "state": state.tolist(),
            "cmdb_ci": service_names,
            "assignment_group": [SERVICES[i].team for i in frame["service"]],
            "assigned_to": frame["owner"].tolist(),
            "u_acknowledged_at": stamp(frame["acknowledged"].to_numpy()).cast(pa.string()),
            "u_mitigated_at": stamp(mitigated).cast(pa.string()),
            "resolved_at": stamp(resolved).cast(pa.string()),
            "u_root_cause": pa.array([c or None for c in frame["root_cause"]], type=pa.string()),
            "u_vendor": pa.array([v or None for v in frame["vendor"]], type=pa.string()),
            "u_customer_impact": [IMPACT_LABEL[c] for c in frame["impact"]],
            "u_postmortem_state": [POSTMORTEM_LABEL[p] for p in frame["postmortem"]],
            "u_postmortem_due": pa.nulls(n, type=pa.string()),
            "u_postmortem_completed": stamp(completed).cast(pa.string()),
            "u_kind": [KIND_LABEL[k] for k in frame["kind"]],
            "u_sla_due": stamp(sla_due).cast(pa.string()),
            "made_sla": pa.array(made.tolist(), type=pa.string()),
            # ServiceNow's own counters, derived from the opening minute (no random draw): most tickets stay with
            # their first group, a few are passed on once or twice, one resolved ticket in 17 was reopened.
            "reassignment_count": (opened_s // 60 % 7 // 3).astype(np.int64),
            "reopen_count": np.where((resolved >= 0) & (opened_s // 60 % 17 == 0), 1, 0).astype(np.int64),
        }
    )
    return table, outages


SLA_HOURS = {"SEV1": 4, "SEV2": 8, "SEV3": 24, "SEV4": 120}
"""The sample ITSM tool's resolution SLA per priority, in hours."""


def incident_source(ext: str) -> dict[str, Any]:
    """The opsflow.yaml source that maps the ServiceNow export onto the incidents contract."""
    return {
        "type": ext,
        "path": f"data/incidents.{ext}",
        "rename": {
            "number": "incident_id",
            "short_description": "title",
            "cmdb_ci": "service",
            "priority": "severity",
            "opened_at": "opened_at",
            "u_acknowledged_at": "acknowledged_at",
            "u_mitigated_at": "mitigated_at",
            "resolved_at": "resolved_at",
            "u_root_cause": "root_cause",
            "u_vendor": "vendor_id",
            "u_customer_impact": "customer_impact",
            "assigned_to": "owner",
            "u_postmortem_state": "postmortem_status",
            "u_postmortem_due": "postmortem_due_at",
            "u_postmortem_completed": "postmortem_completed_at",
            "u_kind": "kind",
            "category": "category",
            "u_sla_due": "sla_due_at",
            "made_sla": "sla_met",
        },
        "values": {
            "severity": {label: sev for sev, label in PRIORITY.items()},
            "service": {s.name: s.id for s in SERVICES},
            "customer_impact": {label: impact for impact, label in IMPACT_LABEL.items()},
            "postmortem_status": {label: status for status, label in POSTMORTEM_LABEL.items()},
            "kind": {label: kind for kind, label in KIND_LABEL.items()},
        },
        "date_format": "%Y-%m-%d %H:%M:%S",
        "timezone": TIMEZONE,
    }
