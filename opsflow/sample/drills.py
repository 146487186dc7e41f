"""The sample company's drill scenarios, written to `<workspace>/drills/` for the contingency-drill flow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from opsflow.drills import DRILLS_DIR, Scenario

STANDIN_HINT = (
    "# The probes call stand-in endpoints on 127.0.0.1: start them with `python -m tasks.continuity.standin` (ports\n"
    "# 8801-8806), or point the URLs at your own health endpoints. Without them the drill stops at the\n"
    "# steady-state check; run it with run_probes=false for a tabletop exercise (readiness and impact only).\n"
)

SAMPLE_DRILLS: dict[str, dict[str, Any]] = {
    "paybridge-outage": {
        "id": "paybridge-outage",
        "title": "PayBridge (V-1201) API outage: card payments fail",
        "target": {"kind": "vendor", "id": "V-1201"},
        "duration_hours": 4,
        "severity": "SEV2",
        "expected_response": (
            "Payments Team declares a SEV2, routes card payments through the standby payment route and tells "
            "customer service; checkout shows a payment notice until PayBridge is back."
        ),
        "contacts": [
            {
                "name": "Lea Hoffmann",
                "role": "Incident commander (Payments Team)",
                "email": "lea.hoffmann@northwind-supply.example",
            },
            {"name": "Omar Haddad", "role": "Payments engineer on call", "phone": "+49 30 5550 1201"},
        ],
        "steady_state": [
            {"name": "payments-health", "kind": "http", "url": "http://127.0.0.1:8801/health", "max_latency_ms": 800},
        ],
        "fault": [{"action": "http_post", "url": "http://127.0.0.1:8801/fail"}],
        "recovery": {
            "steps": [{"action": "switch_probe", "probe": "payments-health", "to": "http://127.0.0.1:8802/health"}],
            "timeout_seconds": 60,
            "poll_seconds": 1,
        },
        "rollback": [
            {"action": "http_post", "url": "http://127.0.0.1:8801/recover"},
            {"action": "restore_probe", "probe": "payments-health"},
        ],
        "cycle_days": 90,
    },
    "warehouse-hall-b-loss": {
        "id": "warehouse-hall-b-loss",
        "title": "Warehouse hall B lost for a shift: WMS primary and scanners down",
        "target": {"kind": "site", "id": "hall-b", "services": ["wms", "warehouse-scanners"]},
        "duration_hours": 10,
        "severity": "SEV1",
        "expected_response": (
            "Warehouse Operations moves picking to hall A, fails the WMS over to its standby instance and switches "
            "handhelds to the standby access points."
        ),
        "contacts": [
            {"name": "Lukas Fischer", "role": "Warehouse incident lead", "phone": "+49 40 5550 2208"},
            {"name": "Jan Krause", "role": "Scanner fleet"},
        ],
        "steady_state": [
            {"name": "wms-health", "kind": "http", "url": "http://127.0.0.1:8803/health", "max_latency_ms": 1500},
        ],
        "fault": [{"action": "http_post", "url": "http://127.0.0.1:8803/fail"}],
        "recovery": {
            "steps": [{"action": "switch_probe", "probe": "wms-health", "to": "http://127.0.0.1:8804/health"}],
            "timeout_seconds": 120,
            "poll_seconds": 2,
        },
        "rollback": [
            {"action": "http_post", "url": "http://127.0.0.1:8803/recover"},
            {"action": "restore_probe", "probe": "wms-health"},
        ],
        "cycle_days": 90,
    },
    "swiftline-carrier-failure": {
        "id": "swiftline-carrier-failure",
        "title": "Swiftline Logistics (V-1001) stops collecting parcels for two days",
        "target": {"kind": "vendor", "id": "V-1001"},
        "duration_hours": 48,
        "severity": "SEV3",
        "expected_response": (
            "Fulfilment Engineering moves Swiftline's share of labels to Rheinpost Parcel (V-1002, the qualified "
            "backup) and the vendor manager invokes the contract's service-credit clause."
        ),
        "contacts": [
            {
                "name": "Julia Peters",
                "role": "Vendor manager, logistics",
                "email": "julia.peters@northwind-supply.example",
            },
            {"name": "Mia Wagner", "role": "Fulfilment engineering lead", "phone": "+49 40 5550 1001"},
        ],
        "steady_state": [
            {
                "name": "carrier-api",
                "kind": "http",
                "url": "http://127.0.0.1:8805/labels/health",
                "max_latency_ms": 1000,
            },
        ],
        "recovery": {
            "steps": [{"action": "switch_probe", "probe": "carrier-api", "to": "http://127.0.0.1:8806/labels/health"}],
            "timeout_seconds": 60,
        },
        "rollback": [{"action": "restore_probe", "probe": "carrier-api"}],
        "cycle_days": 90,
    },
}
"""The sample company's drills: PayBridge (no backup vendor, never drilled, real outages longer than the RTO), the
WMS site loss (RTO above MTPD, stale runbook) and the Swiftline carrier failure (qualified backup)."""


def write_sample_drills(workspace: Path) -> list[Path]:
    """Write the sample company's drill scenarios to `<workspace>/drills/`."""
    folder = workspace / DRILLS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for scenario_id, body in SAMPLE_DRILLS.items():
        Scenario.model_validate(body)  # the sample must always be a valid scenario
        path = folder / f"{scenario_id}.yaml"
        text = yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=110)
        path.write_text(f"# Drill scenario: {body['title']}\n{STANDIN_HINT}{text}", encoding="utf-8")
        paths.append(path)
    return paths
