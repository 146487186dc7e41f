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

CHAOS_HINT = (
    "# A Chaos Toolkit experiment (run by chaostoolkit-lib) against opsflow's local drill target, which the drill\n"
    "# starts on 127.0.0.1 itself: the method really stops its process, and the recovery starts it again.\n"
)


def _target_action(name: str, func: str) -> dict[str, Any]:
    """A Chaos Toolkit action on opsflow's local drill target (opsflow.drill_target), in the drill's state folder."""
    return {
        "type": "action",
        "name": name,
        "provider": {
            "type": "python",
            "module": "opsflow.drill_target",
            "func": func,
            "arguments": {"state_dir": "${opsflow_target_dir}"},
        },
    }


def _health_hypothesis(title: str, probe: str) -> dict[str, Any]:
    """A Chaos Toolkit steady-state hypothesis: the local target's health endpoint answers 200."""
    health = {"type": "http", "url": "${opsflow_target_url}/health", "timeout": 2}
    return {"title": title, "probes": [{"type": "probe", "name": probe, "tolerance": 200, "provider": health}]}


def _local_target_drill(
    experiment: tuple[str, str, list[str]],
    hypothesis: tuple[str, str],
    fault: str,
    recovery: str,
    rollback: str,
    recover_timeout_seconds: int,
) -> dict[str, Any]:
    """A scenario's `chaos:` block against the local target: stop its process (the fault), start it again (the
    recovery), make sure it runs (the rollback). `experiment` is (title, description, tags)."""
    title, description, tags = experiment
    return {
        "local_target": True,
        "poll_seconds": 0.1,
        "detect_timeout_seconds": 30,
        "recover_timeout_seconds": recover_timeout_seconds,
        "experiment": {
            "version": "1.0.0",
            "title": title,
            "description": description,
            "tags": tags,
            "steady-state-hypothesis": _health_hypothesis(*hypothesis),
            "method": [_target_action(fault, "stop")],
            "rollbacks": [_target_action(rollback, "ensure_running")],
        },
        "recovery": [_target_action(recovery, "start")],
    }


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
        "risks": ["R-0003"],
        # opsflow's local target stands in for the WMS primary: the method stops its process (hall B loses power),
        # the recovery starts the standby in hall A on the service's address.
        "chaos": _local_target_drill(
            experiment=("The WMS answers again after hall B loses power",
                        "Stop the WMS primary's process; the standby in hall A takes over its address.",
                        ["wms", "site"]),
            hypothesis=("The WMS answers its health check", "wms-health"),
            fault="hall-b-power-loss-stops-the-wms-primary",
            recovery="start-the-wms-standby-in-hall-a",
            rollback="make-sure-the-wms-answers",
            recover_timeout_seconds=120,
        ),  # fmt: skip
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
        "risks": ["R-0012"],
        # opsflow's local target stands in for Swiftline's label API: the method stops it (Swiftline stops
        # collecting), the recovery starts the backup carrier's on the same address (labels move to Rheinpost).
        "chaos": _local_target_drill(
            experiment=("Labels are printed again after Swiftline stops collecting",
                        "Stop the carrier label API; the backup carrier's takes over the label address.",
                        ["shipping-label", "vendor"]),
            hypothesis=("The label API answers its health check", "carrier-api"),
            fault="swiftline-stops-collecting",
            recovery="move-labels-to-rheinpost",
            rollback="make-sure-labels-print",
            recover_timeout_seconds=60,
        ),  # fmt: skip
        "cycle_days": 90,
    },
}
"""The sample company's drills: PayBridge (no backup vendor, never drilled, real outages longer than the RTO), the
WMS site loss (RTO above MTPD, stale runbook; a Chaos Toolkit experiment against a local target the drill starts
itself, so a fresh sample injects a real fault) and the Swiftline carrier failure (qualified backup; a Chaos Toolkit
experiment too). PayBridge keeps the probe-level format against stand-ins you start yourself."""


def write_sample_drills(workspace: Path) -> list[Path]:
    """Write the sample company's drill scenarios to `<workspace>/drills/`."""
    folder = workspace / DRILLS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for scenario_id, body in SAMPLE_DRILLS.items():
        Scenario.model_validate(body)  # the sample must always be a valid scenario
        path = folder / f"{scenario_id}.yaml"
        text = yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=110)
        hint = CHAOS_HINT if "chaos" in body else STANDIN_HINT
        path.write_text(f"# Drill scenario: {body['title']}\n{hint}{text}", encoding="utf-8")
        paths.append(path)
    return paths
