"""The sample company's initiative, warehouse automation, for the risk-aware-planning flow to plan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from opsflow.initiatives import SAMPLE_INITIATIVE, Initiative


def _wp(
    id: str, name: str, estimate: tuple[float, float, float], deps: list[str], cost: float, owner: str,
    services: list[str] | None = None, vendors: list[str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    a, m, b = estimate
    row: dict[str, Any] = {"id": id, "name": name, "optimistic": a, "likely": m, "pessimistic": b, "depends_on": deps}
    if services:
        row["services"] = services
    if vendors:
        row["vendors"] = vendors
    return {**row, "cost": cost, "owner": owner}


WAREHOUSE_AUTOMATION: dict[str, Any] = {
    "name": "Warehouse automation",
    "objective": (
        "Automate packing in hall B (conveyor-fed pack stations with label printing) to cut the wait before pack "
        "and the order pick-to-ship time, without missing the peak season."
    ),
    "owner": "Lukas Fischer",
    "deadline_days": 95,
    "budget": 850_000,
    "touches": {"services": ["wms", "shipping-label"], "vendors": ["V-1001"]},
    "work_packages": [
        _wp("WP01", "Scope and process design", (5, 8, 14), [], 40_000, "Lukas Fischer"),
        _wp("WP02", "WMS integration design", (4, 6, 12), ["WP01"], 30_000, "Mia Wagner", ["wms"]),
        _wp("WP03", "Procure conveyor and pack stations", (20, 28, 45), ["WP01"], 380_000, "Hannah Braun"),
        _wp("WP04", "Prepare hall B (power, floor, safety)", (8, 12, 20), ["WP01"], 60_000, "Paul Zimmermann"),
        _wp(
            "WP05", "Build WMS interfaces for the pack stations", (10, 15, 25), ["WP02"], 90_000, "Mia Wagner", ["wms"]
        ),
        _wp("WP06", "Install and commission the equipment", (8, 12, 20), ["WP03", "WP04"], 70_000, "Hannah Braun"),
        _wp(
            "WP07",
            "Label printing at the pack stations",
            (5, 8, 14),
            ["WP02"],
            35_000,
            "Tom Keller",
            ["shipping-label"],
        ),
        _wp(
            "WP08",
            "Carrier label and manifest tests with Swiftline",
            (4, 6, 12),
            ["WP07"],
            15_000,
            "Julia Peters",
            ["shipping-label"],
            ["V-1001"],
        ),
        _wp(
            "WP09",
            "End-to-end integration test",
            (6, 9, 16),
            ["WP05", "WP06", "WP08"],
            40_000,
            "Clara Neumann",
            ["wms", "shipping-label"],
        ),
        _wp("WP10", "Train pack-station staff", (3, 5, 8), ["WP06"], 20_000, "Jan Krause"),
        _wp(
            "WP11",
            "Pilot in hall B with live parcels",
            (7, 10, 15),
            ["WP09", "WP10"],
            30_000,
            "Lukas Fischer",
            ["wms"],
            ["V-1001"],
        ),
        _wp("WP12", "Go-live and hypercare", (5, 7, 12), ["WP11"], 25_000, "Lukas Fischer", ["wms", "shipping-label"]),
    ],  # fmt: skip
    "success_metrics": [
        {
            "metric_key": "processes.order_fulfilment.lead_p50_hours",
            "name": "Order fulfilment median lead time",
            "perspective": "internal_process",
            "direction": "decrease",
            "unit": "hours",
            "target_change": -0.25,
        },
        {
            "metric_key": "sla.shipping.compliance",
            "name": "Shipping SLA compliance",
            "perspective": "customer",
            "direction": "increase",
            "unit": "ratio",
            "target": 0.97,
        },
    ],
}


def write_sample_initiative(workspace: Path) -> Path:
    """Write the sample company's initiative to <workspace>/initiatives/warehouse-automation.yaml and return the path.

    Its dates are relative (start: the day after the planning as_of; deadline_days), so it fits any sample end date.
    """
    path = workspace / SAMPLE_INITIATIVE
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        "# An initiative for `opsflow run risk-aware-planning`: three-point estimates in calendar days.\n"
        "# start: empty = the day after the planning date; deadline: a date, or deadline_days (start day = day 1).\n"
    )
    Initiative.model_validate(WAREHOUSE_AUTOMATION)  # the sample must always be a valid initiative
    text = yaml.safe_dump(WAREHOUSE_AUTOMATION, sort_keys=False, allow_unicode=True, width=120)
    path.write_text(header + text, encoding="utf-8")
    return path
