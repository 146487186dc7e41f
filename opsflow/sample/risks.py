"""The risk register (`risks`): 300 risks from templates, three of them the stories' ratings."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from opsflow.sample.common import PEOPLE, TEAMS, Calendar, draw, epoch_day
from opsflow.sample.services import SERVICE_INDEX, SERVICES
from opsflow.sample.vendors import VENDOR_INDEX, VENDORS

_RISK_TEMPLATES: dict[str, tuple[str, ...]] = {
    "technology": (
        "{service} database failure loses recent orders", "Unpatched vulnerability in {service} is exploited",
        "{service} hits capacity limits during peak season", "Expired certificate on {service} blocks customers",
        "Single engineer knows how to recover {service}", "Failed upgrade of {service} cannot be rolled back",
    ),
    "operational": (
        "Flooding in hall {hall} stops dispatch", "Power cut at the warehouse halts picking",
        "Conveyor breakdown in hall {hall} delays shipments", "Wrong stock counts in hall {hall} cause overselling",
        "Loading dock {hall} congested at peak", "Fire in hall {hall} destroys stock",
    ),
    "vendor": (
        "{vendor} misses delivery promises during peak", "{vendor} becomes insolvent",
        "{vendor} raises prices above budget at renewal", "{vendor} data breach exposes our customer data",
        "{vendor} ends support for the product we use",
    ),
    "financial": (
        "Currency swings raise import costs", "Fuel surcharges erode shipping margin", "Bad debt from B2B customers",
        "Interest rates raise the cost of the warehouse lease", "Chargebacks rise with card fraud",
    ),
    "compliance": (
        "GDPR breach through exports of {service} data", "Packaging law fines for unregistered materials",
        "Working-time violations in the warehouse at peak", "Tax filing errors after the ERP upgrade",
        "Product safety recall not handled in time",
    ),
    "people": (
        "Seasonal staff shortage in the warehouse", "Key-person dependency in {team}", "Burnout in {team} at peak",
        "Hiring freeze leaves {team} understaffed", "Forklift certification lapses for night shift",
    ),
    "strategic": (
        "Marketplace competitor undercuts prices", "Carrier market consolidation raises rates",
        "Customers move to same-day delivery we cannot offer", "Growth outpaces warehouse capacity",
    ),
}  # fmt: skip


PLAN_TEMPLATE = {
    "contingency_trigger": "The risk's early-warning sign is seen (monitoring alert, vendor notice or audit finding)",
    "contingency_response": "Invoke the runbook of the linked service or vendor and inform the risk owner's manager",
}
"""The if-then plan of the register's generic risks that have one (their owner carries it out)."""


def risks_table(rng: np.random.Generator, cal: Calendar) -> pa.Table:
    """The risk register: the stories' risks at fixed numbers, the rest drawn from templates."""
    end = epoch_day(cal.end)
    rows: list[dict[str, Any]] = []
    services = [s.id for s in SERVICES if s.id != "payments-gateway"]
    vendors = [v.id for v in VENDORS if v.id != "V-1001" and v.category != "merchandise"]
    vendors += [v.id for v in VENDORS if v.category == "merchandise"]
    story = {
        3: {"title": "Single WMS instance: a hardware failure halts all picking and shipping", "category": "technology",
            "likelihood": 3, "impact": 5, "owner": "Lukas Fischer", "treatment": "mitigate",
            "mitigation_due": end - 75, "status": "mitigating", "linked_service": "wms", "linked_vendor": None,
            "last_reviewed": end - 40,
            "contingency_trigger": "The WMS health check fails for 5 minutes, or picking in hall B stops",
            "contingency_response": "Fail the WMS over to its standby in hall A and move picking to hall A",
            "contingency_owner": "Lukas Fischer"},
        7: {"title": "PayBridge API outage blocks card payments at checkout", "category": "technology",
            "likelihood": 1, "impact": 4, "owner": "Lea Hoffmann", "treatment": "accept", "mitigation_due": None,
            "status": "open", "linked_service": "payments-gateway", "linked_vendor": None, "last_reviewed": end - 210},
        12: {"title": "Swiftline Logistics misses delivery promises and parcels arrive late", "category": "vendor",
             "likelihood": 1, "impact": 4, "owner": "Julia Peters", "treatment": "mitigate",
             "mitigation_due": end + 120, "status": "open", "linked_service": None, "linked_vendor": "V-1001",
             "last_reviewed": end - 160},
    }  # fmt: skip
    categories = list(_RISK_TEMPLATES)
    category_weights = np.array([0.25, 0.2, 0.2, 0.1, 0.1, 0.1, 0.05])
    for number in range(1, 301):
        if number in story:
            rows.append({"risk_id": f"R-{number:04d}", **story[number]})
            continue
        category = categories[int(draw(rng, category_weights, 1)[0])]
        templates = _RISK_TEMPLATES[category]
        template = templates[int(rng.integers(0, len(templates)))]
        service = services[int(rng.integers(0, len(services)))]
        vendor = vendors[int(rng.integers(0, len(vendors)))]
        team = list(TEAMS)[int(rng.integers(0, len(TEAMS)))]
        title = template.format(
            service=SERVICES[SERVICE_INDEX[service]].name,
            vendor=VENDORS[VENDOR_INDEX[vendor]].name,
            team=team,
            hall="ABC"[number % 3],
        )
        status = ("open", "mitigating", "closed")[int(draw(rng, np.array([0.3, 0.5, 0.2]), 1)[0])]
        treatment = (("mitigate", "accept", "transfer", "avoid", None)
                     [int(draw(rng, np.array([0.55, 0.2, 0.1, 0.05, 0.1]), 1)[0])])  # fmt: skip
        if status == "mitigating":
            treatment = "mitigate"
        due = None
        if treatment in ("mitigate", "avoid"):
            # Most mitigations are due ahead; a few have slipped past their date.
            due = end + int(rng.integers(-30, 0)) if rng.random() < 0.015 else end + int(rng.integers(14, 240))
            if status == "closed":
                due = end - int(rng.integers(20, 300))
        rows.append({
            "risk_id": f"R-{number:04d}", "title": title, "category": category,
            "likelihood": int(draw(rng, np.array([0.15, 0.3, 0.3, 0.18, 0.07]), 1)[0]) + 1,
            "impact": int(draw(rng, np.array([0.1, 0.25, 0.3, 0.25, 0.1]), 1)[0]) + 1,
            "owner": None if rng.random() < 0.05 else PEOPLE[int(rng.integers(0, len(PEOPLE)))],
            "treatment": treatment, "mitigation_due": due, "status": status,
            "linked_service": service if "{service}" in template or category == "technology" else None,
            "linked_vendor": vendor if "{vendor}" in template else None,
            "last_reviewed": end - int(rng.integers(5, 300)),
        })  # fmt: skip
        # Every fourth risk has an if-then contingency plan, so the register shows both kinds (no random draw: the
        # rest of the sample stays as it was).
        if number % 4 == 0:
            rows[-1].update(PLAN_TEMPLATE)
    return pa.Table.from_pylist(
        rows,
        schema=pa.schema([("risk_id", pa.string()), ("title", pa.string()), ("category", pa.string()),
                          ("likelihood", pa.int64()), ("impact", pa.int64()), ("owner", pa.string()),
                          ("treatment", pa.string()), ("mitigation_due", pa.date32()), ("status", pa.string()),
                          ("linked_service", pa.string()), ("linked_vendor", pa.string()),
                          ("last_reviewed", pa.date32()), ("contingency_trigger", pa.string()),
                          ("contingency_response", pa.string()), ("contingency_owner", pa.string())]),
    )  # fmt: skip
