"""The service catalogue: tiers, owners, dependencies, vendors and continuity targets (the `services` dataset)."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from opsflow.sample.common import Calendar, epoch_day


@dataclass(frozen=True)
class _Service:
    id: str
    name: str
    tier: str
    team: str
    depends_on: str
    vendors: str
    rto: float
    rpo: float
    mtpd: float
    runbook: bool
    tested_days_ago: int | None
    noise: float  # relative incident volume


SERVICES: tuple[_Service, ...] = (
    _Service("cloud-platform", "Cloud Platform", "critical", "Platform Team", "", "V-1202", 2, 0.25, 8, True, 95, 1.0),
    _Service("core-network", "Core Network", "standard", "IT Operations", "", "V-1211", 4, 0, 12, True, 150, 0.6),
    _Service(
        "identity", "Identity & SSO", "standard", "Platform Team", "cloud-platform", "V-1210", 4, 1, 12, True, 60, 0.7
    ),
    _Service(
        "customer-db", "Customer Database", "critical", "Platform Team", "cloud-platform", "", 2, 0.25, 8, True, 45, 0.8
    ),
    _Service(
        "product-catalog",
        "Product Catalog",
        "standard",
        "Commerce Engineering",
        "cloud-platform",
        "",
        8,
        4,
        24,
        True,
        120,
        0.9,
    ),
    _Service(
        "search",
        "Site Search",
        "standard",
        "Commerce Engineering",
        "product-catalog",
        "V-1206",
        8,
        24,
        48,
        True,
        210,
        0.8,
    ),
    _Service(
        "storefront",
        "Storefront",
        "critical",
        "Commerce Engineering",
        "product-catalog;search;identity;cloud-platform",
        "V-1207",
        1,
        0.5,
        4,
        True,
        35,
        1.6,
    ),
    _Service(
        "payments-gateway",
        "Payments Gateway",
        "critical",
        "Payments Team",
        "core-network",
        "V-1201",
        2,
        0,
        6,
        True,
        400,
        0.7,
    ),
    _Service(
        "inventory-service",
        "Inventory Service",
        "standard",
        "Fulfilment Engineering",
        "wms;cloud-platform",
        "",
        4,
        1,
        12,
        True,
        90,
        1.0,
    ),
    _Service(
        "order-service",
        "Order Service",
        "critical",
        "Commerce Engineering",
        "customer-db;inventory-service;cloud-platform",
        "",
        2,
        0.25,
        8,
        True,
        70,
        1.3,
    ),
    _Service(
        "checkout",
        "Checkout",
        "critical",
        "Commerce Engineering",
        "storefront;payments-gateway;order-service;identity",
        "",
        1,
        0,
        4,
        True,
        30,
        1.4,
    ),
    _Service(
        "wms",
        "Warehouse Management System",
        "critical",
        "Warehouse Operations",
        "core-network",
        "V-1208",
        12,
        1,
        8,
        True,
        260,
        1.5,
    ),
    _Service(
        "warehouse-scanners",
        "Handheld Scanners",
        "standard",
        "Warehouse Operations",
        "wms;core-network",
        "V-1304",
        8,
        0,
        24,
        True,
        None,
        1.2,
    ),
    _Service(
        "shipping-label",
        "Shipping Labels & Carrier API",
        "critical",
        "Fulfilment Engineering",
        "wms;order-service",
        "V-1001;V-1002;V-1003;V-1004;V-1005",
        2,
        0.5,
        8,
        True,
        140,
        1.3,
    ),
    _Service(
        "erp",
        "ERP (Ledgerline)",
        "standard",
        "Business Systems",
        "core-network;identity",
        "V-1205",
        24,
        4,
        72,
        True,
        190,
        0.7,
    ),
    _Service(
        "data-warehouse",
        "Data Warehouse",
        "standard",
        "Business Systems",
        "cloud-platform;order-service;erp",
        "",
        24,
        24,
        96,
        True,
        330,
        0.8,
    ),
    _Service(
        "finance-reporting",
        "Finance Reporting",
        "standard",
        "Business Systems",
        "erp;data-warehouse",
        "",
        48,
        24,
        120,
        False,
        None,
        0.4,
    ),
    _Service(
        "email",
        "Transactional Email",
        "standard",
        "Platform Team",
        "cloud-platform",
        "V-1204",
        4,
        1,
        24,
        True,
        100,
        0.6,
    ),
    _Service(
        "customer-support-desk",
        "Customer Support Desk",
        "standard",
        "Customer Service",
        "email;identity",
        "V-1203",
        8,
        4,
        24,
        True,
        80,
        0.6,
    ),
    _Service(
        "customer-portal",
        "Customer Portal",
        "standard",
        "Commerce Engineering",
        "identity;order-service;customer-db",
        "",
        4,
        1,
        24,
        True,
        50,
        0.9,
    ),
    _Service(
        "returns-portal",
        "Returns Portal",
        "standard",
        "Fulfilment Engineering",
        "customer-portal;shipping-label;order-service",
        "",
        8,
        1,
        48,
        True,
        230,
        0.6,
    ),
    _Service(
        "hr-payroll",
        "HR & Payroll",
        "standard",
        "Business Systems",
        "identity",
        "V-1209",
        48,
        24,
        168,
        False,
        None,
        0.3,
    ),
    _Service(
        "office-it", "Office IT", "standard", "IT Operations", "core-network;identity", "", 24, 24, 72, True, None, 0.8
    ),
)
SERVICE_INDEX = {s.id: i for i, s in enumerate(SERVICES)}


def services_table(cal: Calendar) -> pa.Table:
    """The service catalogue, runbook test dates counted back from `end`."""
    tested = [
        None if s.tested_days_ago is None else epoch_day(cal.end) - s.tested_days_ago for s in SERVICES
    ]  # fmt: skip
    return pa.table(
        {
            "service_id": [s.id for s in SERVICES],
            "name": [s.name for s in SERVICES],
            "tier": [s.tier for s in SERVICES],
            "owner": [s.team for s in SERVICES],
            "depends_on": [s.depends_on or None for s in SERVICES],
            "vendor_ids": [s.vendors or None for s in SERVICES],
            "rto_hours": pa.array([float(s.rto) for s in SERVICES]),
            "rpo_hours": pa.array([float(s.rpo) for s in SERVICES]),
            "mtpd_hours": pa.array([float(s.mtpd) for s in SERVICES]),
            "runbook_url": [
                f"https://wiki.northwind-supply.example/runbooks/{s.id}" if s.runbook else None for s in SERVICES
            ],
            "runbook_tested_on": pa.array(tested, type=pa.date32()),
            # Every service is held to its tier's objectives except the data warehouse, whose queries are batch
            # work: its own p95 threshold is 30 s.
            "latency_threshold_seconds": pa.array(
                [30.0 if s.id == "data-warehouse" else None for s in SERVICES], type=pa.float64()
            ),
            "latency_objective": pa.nulls(len(SERVICES), pa.float64()),
            "error_rate_max": pa.nulls(len(SERVICES), pa.float64()),
        }
    )
