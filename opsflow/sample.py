"""The sample company: a year of Northwind Supply's operations data, written as a workspace ready to run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import networkx as nx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import yaml

from opsflow.config import CONFIG_FILE
from opsflow.contract import DATASETS
from opsflow.period import last_complete_week_end

COMPANY = "Northwind Supply"
TIMEZONE = "Europe/Berlin"
DAYS = 365
"""Days of data: `end` and the 364 days before it."""

MINUTE = 60
HOUR = 3_600
DAY = 86_400
_PAD_DAYS = 60  # calendar kept after `end` for parcels, returns and tickets that complete after the data stops

FLOWS = (
    "weekly-audit",
    "data-check",
    "vendor-sla-review",
    "contingency-drill",
    "daily-brief",
    "problem-solution-metrics",
    "risk-aware-planning",
    "operational-transformation",
    "improvement-initiative",
    "risk-assessment",
    "performance-review",
)

STORIES: dict[str, str] = {
    "decaying_carrier": (
        "Vendor V-1001 Swiftline Logistics (carrier, ontime_target 0.95, backup_vendor_id V-1002 Rheinpost Parcel) "
        "carries ~40% of parcels (vendor_deliveries SHP-*). Its on-time rate (delivered_date <= promised_date) is "
        "~97% until 90 days before `end`, then decays quadratically to ~78% on `end`: ~93% 60-30 days before, ~85% "
        "over the last 30 days (hundreds of late parcels at scale 1). Its notice deadline (renewal_date - "
        "notice_period_days) is 10 days after `end`, the only vendor whose deadline falls within 14 days; 8 "
        "contracts renew within 90 days."
    ),
    "repeat_vendor_incidents": (
        "Service payments-gateway (critical, vendor V-1201 PayBridge, no backup vendor, never drilled) has 9 incidents "
        "with root_cause third-party-api-timeout and vendor_id V-1201 in the year: 6 within the 30 days before `end` "
        "(2 within the last 7 days), severities SEV2 and SEV3. No other payments-gateway incident has that cause. "
        "Uptime checks fail while they last: payments-gateway is the critical service furthest below 0.999."
    ),
    "slipping_project": (
        "Project P-07 'Warehouse automation phase 2: conveyor and pack stations' (active, started 120 days before "
        "`end`, due 40 days after it). Critical path T01-T02-T04-T06-T09-T10-T12-T13: T06 'Procure conveyor "
        "hardware' should be finished but is 44% complete and T09 'Install conveyor in hall B' has not started "
        "(critical chain ~45 days behind plan). SPI ~0.57; the remaining critical work (~82 days) ends ~6 weeks "
        "after due_date."
    ),
    "shipping_sla_dip": (
        "sla_events category shipping (service shipping-label, objective 0.95; one row per delivered parcel, met "
        "when delivered by the end of the promised day) is ~97.5% compliant until ~5 weeks before `end` and ~92% "
        "over the last 3 weeks, driven by V-1001 Swiftline's late parcels."
    ),
    "risk_contradicts_incidents": (
        "Risk R-0007 (linked_service payments-gateway: PayBridge API outage blocks card payments) is rated "
        "likelihood 1 although the incident record shows repeated PayBridge timeouts; risk R-0012 (category "
        "vendor, linked_vendor V-1001: Swiftline misses delivery promises) is rated likelihood 1 while its on-time "
        "rate collapses. No other risk links payments-gateway or V-1001."
    ),
    "overdue_postmortem": (
        "A SEV1 on checkout ('Checkout down: all orders failing with HTTP 500 after release 24.3', root_cause "
        "deploy-regression) opened 4 days before `end` at 11:20 local time and was resolved ~3 hours later; "
        "postmortem_status pending and no postmortem_due_at, so the 48-hour default has passed. Every other "
        "SEV1/SEV2 resolved more than 48 hours before `end` has a complete postmortem."
    ),
    "open_major_incident": (
        "A SEV2 on wms ('WMS: handheld scanner sync failing in hall B, picking delayed') opened at 16:45 local time "
        "the day before `end`: acknowledged, neither mitigated nor resolved. Two minor tickets (customer-portal "
        "SEV3, warehouse-scanners SEV4) are also open at `end`, besides the random ones (~20 at scale 1)."
    ),
    "kpi_behind": (
        "KPI K-07 'Order pick-to-ship time' (internal_process, decrease, baseline 10 h, target 6 h, deadline 45 days "
        "after `end`) has worsened to ~10.7 h. K-08 'Shipping on-time rate' drops from ~97% to ~91% in the final "
        "weeks, mirroring Swiftline."
    ),
    "pack_bottleneck": (
        "process order_fulfilment: the wait before `pack` (median ~6 h) dwarfs every other wait (pick ~1.8 h, ship "
        "~2.5 h, the rest minutes). Rework: ~3% of orders repeat pack, ~2.4% repeat pick after a failed "
        "quality_check; ~6% of support tickets are reopened and resolved twice."
    ),
    "overdue_mitigation": (
        "Risk R-0003 (linked_service wms: single WMS instance, likelihood 3 x impact 5, treatment mitigate, status "
        "mitigating) has mitigation_due 75 days before `end`."
    ),
    "continuity_gaps": (
        "Service wms has rto_hours 12 > mtpd_hours 8. Runbooks of payments-gateway (400 days), data-warehouse, "
        "wms, returns-portal, search and erp were last tested more than 180 days before `end`; warehouse-scanners "
        "and office-it runbooks were never tested; finance-reporting and hr-payroll have no runbook. Drills "
        "(incidents kind drill) cover checkout, order-service, storefront, cloud-platform, customer-db, "
        "shipping-label, erp, email and wms (the last > 180 days ago), never payments-gateway."
    ),
}
"""What the sample's flows must find, with the records involved."""

DIRTY_ROWS: dict[str, str] = {
    "incidents": (
        "Two real SEV4 incidents have resolved_at before opened_at; one incident number appears on two different "
        "tickets; one row's opened_at is '0000-00-00 00:00:00' (unparsable)."
    ),
    "vendor_deliveries": (
        "One goods receipt names vendor V-9999, which is not in vendors; one has defective_quantity greater than "
        "quantity."
    ),
    "sla_events": "One customer_response row has a target_value but neither measured_value nor met.",
    "process_events": "One pack activity (order_fulfilment) ends 5 minutes before it starts.",
    "kpi_observations": "K-12 has two observations on the same day (a double upload with different values).",
}
"""Deliberately bad rows, so validation has something to show (well under 1% of each dataset at scale 1)."""

# ------------------------------------------------------------------------------------------------ the company


TEAMS: dict[str, tuple[str, ...]] = {
    "Platform Team": ("Jonas Weber", "Elif Yilmaz", "Noah Schulz", "Priya Nair"),
    "Payments Team": ("Lea Hoffmann", "Omar Haddad", "Kasia Nowak"),
    "Commerce Engineering": ("Felix Schmidt", "Sofia Rossi", "Ben Richter", "Mateo García"),
    "Fulfilment Engineering": ("Mia Wagner", "Tom Keller", "Clara Neumann"),
    "Warehouse Operations": ("Lukas Fischer", "Hannah Braun", "Paul Zimmermann", "Jan Krause"),
    "Business Systems": ("Emma Krüger", "David Schmitt", "Laura Werner"),
    "Customer Service": ("Marie Lange", "Sara Meier", "Nina Köhler"),
    "IT Operations": ("Tim Lehmann", "Max Walter", "Ingrid Larsen"),
}
LEADERS = ("Anna Becker", "Julia Peters", "Luca Hartmann", "Stefan Vogel", "Aylin Demir")
PEOPLE: tuple[str, ...] = tuple(p for team in TEAMS.values() for p in team) + LEADERS


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
_SERVICE_INDEX = {s.id: i for i, s in enumerate(SERVICES)}


@dataclass(frozen=True)
class _Vendor:
    id: str
    name: str
    category: str
    owner: str
    ontime_target: float
    quality_target: float
    annual_value: float
    renewal_in_days: int  # renewal_date - end
    notice_days: int
    term_years: int
    auto_renew: bool
    credit_per_point: float | None = None
    credit_cap: float | None = None
    backup: str | None = None


_CARRIER_CLAUSE = (
    "Service credit of {pct:g}% of the monthly fee per percentage point of on-time delivery below {target:g}%, "
    "measured monthly, capped at {cap:g}% of the monthly fee."
)

VENDORS: tuple[_Vendor, ...] = (
    _Vendor(
        "V-1001",
        "Swiftline Logistics",
        "logistics",
        "Julia Peters",
        0.95,
        0.99,
        1_850_000,
        100,
        90,
        2,
        True,
        0.01,
        0.10,
        "V-1002",
    ),
    _Vendor(
        "V-1002",
        "Rheinpost Parcel",
        "logistics",
        "Julia Peters",
        0.95,
        0.99,
        1_200_000,
        60,
        30,
        1,
        False,
        0.01,
        0.10,
        "V-1003",
    ),
    _Vendor(
        "V-1003",
        "EuroFreight Express",
        "logistics",
        "Julia Peters",
        0.93,
        0.99,
        640_000,
        210,
        60,
        2,
        True,
        0.005,
        0.05,
        "V-1002",
    ),
    _Vendor("V-1004", "Nordic Courier", "logistics", "Julia Peters", 0.95, 0.99, 380_000, 300, 60, 2, True, 0.01, 0.10),
    _Vendor("V-1005", "CityHop Same-Day", "logistics", "Mia Wagner", 0.97, 0.99, 150_000, 150, 30, 1, True),
    _Vendor("V-1006", "Baltic Freight Forwarding", "logistics", "Julia Peters", 0.90, 0.98, 520_000, 400, 90, 3, True),
    _Vendor(
        "V-1101",
        "Kartonwerk Süd",
        "packaging",
        "Hannah Braun",
        0.95,
        0.98,
        410_000,
        85,
        60,
        2,
        True,
        0.005,
        0.05,
        "V-1102",
    ),
    _Vendor(
        "V-1102", "PackRight", "packaging", "Hannah Braun", 0.93, 0.98, 190_000, 260, 60, 2, True, None, None, "V-1101"
    ),
    _Vendor("V-1103", "GreenFill Materials", "packaging", "Hannah Braun", 0.92, 0.97, 95_000, 180, 30, 1, True),
    _Vendor("V-1104", "LabelStock", "packaging", "Mia Wagner", 0.95, 0.99, 60_000, 330, 30, 1, True),
    _Vendor("V-1201", "PayBridge", "software", "Lea Hoffmann", 0.95, 0.99, 240_000, 75, 90, 3, True, 0.02, 0.15),
    _Vendor("V-1202", "Stratus Cloud", "software", "Jonas Weber", 0.95, 0.99, 620_000, 500, 90, 3, True, 0.01, 0.10),
    _Vendor("V-1203", "HelpHub", "software", "Marie Lange", 0.95, 0.99, 85_000, 20, 30, 1, True),
    _Vendor("V-1204", "MailRelay", "software", "Elif Yilmaz", 0.95, 0.99, 36_000, 38, 14, 1, True),
    _Vendor("V-1205", "Ledgerline ERP", "software", "Emma Krüger", 0.95, 0.99, 310_000, 640, 180, 3, True),
    _Vendor("V-1206", "Findly Search", "software", "Sofia Rossi", 0.95, 0.99, 54_000, 230, 60, 1, True),
    _Vendor("V-1207", "EdgeWave CDN", "software", "Noah Schulz", 0.95, 0.99, 72_000, 120, 30, 1, True, 0.01, 0.10),
    _Vendor("V-1208", "Logiware WMS Support", "software", "Lukas Fischer", 0.95, 0.99, 180_000, 410, 90, 3, True),
    _Vendor("V-1209", "PayrollPro", "software", "Aylin Demir", 0.95, 0.99, 48_000, 270, 90, 2, True),
    _Vendor("V-1210", "KeyGate Identity", "software", "Priya Nair", 0.95, 0.99, 41_000, 195, 60, 1, True),
    _Vendor("V-1211", "FiberNet Business", "telecom", "Tim Lehmann", 0.95, 0.99, 66_000, 560, 90, 3, True, 0.02, 0.20),
    _Vendor("V-1301", "CleanCo Facility Services", "facilities", "Max Walter", 0.95, 0.98, 120_000, 50, 90, 2, True),
    _Vendor("V-1302", "SecureGuard", "facilities", "Max Walter", 0.95, 0.98, 210_000, 52, 30, 1, False),
    _Vendor(
        "V-1303", "LiftPoint Forklift Leasing", "facilities", "Paul Zimmermann", 0.95, 0.98, 260_000, 720, 180, 5, False
    ),
    _Vendor("V-1304", "ScanTech Devices", "hardware", "Jan Krause", 0.95, 0.98, 75_000, 310, 60, 2, True),
    _Vendor("V-1305", "Stadtwerke Nord Energie", "facilities", "Max Walter", 0.95, 0.98, 340_000, 95, 60, 2, True),
    _Vendor("V-1401", "Hausgerät Trading", "merchandise", "Julia Peters", 0.92, 0.98, 2_400_000, 160, 60, 2, True),
    _Vendor("V-1402", "Alpine Outdoor Goods", "merchandise", "Julia Peters", 0.92, 0.98, 1_900_000, 245, 90, 2, True),
    _Vendor("V-1403", "Lumo Home", "merchandise", "Ben Richter", 0.92, 0.98, 1_300_000, 88, 30, 1, True),
    _Vendor("V-1404", "BrightKitchen", "merchandise", "Ben Richter", 0.92, 0.98, 1_650_000, 370, 90, 2, True),
    _Vendor("V-1405", "TechNest Accessories", "merchandise", "Sofia Rossi", 0.92, 0.98, 2_100_000, 515, 60, 3, True),
    _Vendor("V-1406", "Verde Garden", "merchandise", "Ben Richter", 0.92, 0.98, 900_000, 220, 60, 1, True),
    _Vendor("V-1407", "Kidsplay Toys", "merchandise", "Sofia Rossi", 0.92, 0.98, 1_100_000, 125, 30, 1, True),
    _Vendor("V-1408", "UrbanWear Textiles", "merchandise", "Julia Peters", 0.92, 0.98, 1_750_000, 300, 90, 2, True),
    _Vendor("V-1409", "PetPal Supplies", "merchandise", "Ben Richter", 0.92, 0.98, 700_000, 455, 60, 2, True),
    _Vendor("V-1410", "Office Essentials GmbH", "merchandise", "Laura Werner", 0.92, 0.98, 450_000, 610, 90, 3, True),
)
_VENDOR_INDEX = {v.id: i for i, v in enumerate(VENDORS)}

# Carriers that ship customer orders: share of parcels, promised transit days, late share.
_CARRIERS = (("V-1001", 0.40, 2, 0.03), ("V-1002", 0.30, 2, 0.015), ("V-1003", 0.15, 3, 0.025),
             ("V-1004", 0.10, 2, 0.02), ("V-1005", 0.05, 1, 0.01))  # fmt: skip
_SWIFTLINE_FINAL_LATE = 0.22  # late share on `end`; the decay starts 90 days before and accelerates (quadratic)

# Goods-in from suppliers: volume weight, on-time share, share with a quality problem, median quantity.
_SUPPLIERS = (
    ("V-1006", 0.02, 0.915, 0.03, 18), ("V-1101", 0.07, 0.965, 0.02, 3000), ("V-1102", 0.04, 0.95, 0.03, 2000),
    ("V-1103", 0.03, 0.93, 0.04, 800), ("V-1104", 0.02, 0.97, 0.02, 5000), ("V-1401", 0.10, 0.95, 0.04, 120),
    ("V-1402", 0.09, 0.94, 0.03, 90), ("V-1403", 0.08, 0.96, 0.04, 150), ("V-1404", 0.09, 0.95, 0.05, 110),
    ("V-1405", 0.10, 0.89, 0.04, 200), ("V-1406", 0.06, 0.93, 0.03, 80), ("V-1407", 0.07, 0.94, 0.15, 140),
    ("V-1408", 0.10, 0.95, 0.05, 160), ("V-1409", 0.06, 0.96, 0.03, 100), ("V-1410", 0.07, 0.97, 0.02, 250),
)  # fmt: skip

# ------------------------------------------------------------------------------------------------- the calendar


@dataclass(frozen=True)
class _Calendar:
    """Local days of the year being generated; day 0 is the first day, day DAYS - 1 is `end`."""

    end: date
    first: date
    midnight: np.ndarray  # epoch seconds of each local midnight, DAYS + _PAD_DAYS + 1 of them

    @property
    def start_s(self) -> int:
        return int(self.midnight[0])

    @property
    def end_s(self) -> int:
        """First instant after the data (local midnight after `end`)."""
        return int(self.midnight[DAYS])

    @property
    def first_epoch_day(self) -> int:
        return (self.first - date(1970, 1, 1)).days

    def day_of(self, seconds: np.ndarray) -> np.ndarray:
        """Local day index of each instant (clipped to the calendar)."""
        day = np.searchsorted(self.midnight, seconds, side="right") - 1
        return np.clip(day, 0, len(self.midnight) - 2)

    def at(self, days_before_end: int, local_hour: float) -> int:
        """An instant `days_before_end` days before `end`, at a local time of day."""
        return int(self.midnight[DAYS - 1 - days_before_end] + round(local_hour * HOUR))

    def weekday(self) -> np.ndarray:
        """Monday 0 .. Sunday 6 of each data day."""
        return (self.first.weekday() + np.arange(DAYS)) % 7


def _calendar(end: date) -> _Calendar:
    first = end - timedelta(days=DAYS - 1)
    local = pd.date_range(pd.Timestamp(first), periods=DAYS + _PAD_DAYS + 1, freq="D").tz_localize(TIMEZONE)
    midnight = local.tz_convert("UTC").as_unit("s").asi8.astype(np.int64)
    return _Calendar(end, first, midnight)


def _utc_offsets(seconds: np.ndarray) -> np.ndarray:
    """Seconds to add to each UTC instant to get the company's local wall time."""
    utc = pd.DatetimeIndex(seconds.astype("datetime64[s]")).tz_localize("UTC")
    return utc.tz_convert(TIMEZONE).tz_localize(None).as_unit("s").asi8 - seconds


def _clock_text(seconds: np.ndarray, valid: np.ndarray | None = None, *, offset: bool = True) -> pa.Array:
    """Instants as local wall-time text: ISO 8601 with the offset, or naive `%Y-%m-%d %H:%M:%S`.

    Built as bytes with numpy (strftime costs seconds on a million rows), in chunks that stay in the CPU cache.
    """
    n = len(seconds)
    valid = np.ones(n, dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
    width = 25 if offset else 19
    chunks = [
        _clock_bytes(np.where(valid[i : i + _CHUNK], seconds[i : i + _CHUNK], 0).astype(np.int64), offset)
        for i in range(0, n, _CHUNK)
    ]
    offsets = np.arange(n + 1, dtype=np.int64) * width
    bitmap = np.packbits(valid, bitorder="little")
    return pa.LargeStringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(b"".join(chunks)), pa.py_buffer(bitmap), int(n - valid.sum())
    )


_CHUNK = 1 << 18


def _clock_bytes(sec: np.ndarray, offset: bool) -> bytes:
    off = _utc_offsets(sec)
    day, tod = np.divmod(sec + off, DAY)
    first_day = int(day.min())
    span = np.arange(first_day, int(day.max()) + 1)
    stamps = np.datetime_as_string(span.astype("datetime64[D]")).astype("S10")
    dates = np.frombuffer(stamps.tobytes(), dtype=np.uint8).reshape(-1, 10)
    chars = np.empty((len(sec), 25 if offset else 19), dtype=np.uint8)
    chars[:, :10] = dates[day - first_day]
    chars[:, 10] = ord("T") if offset else ord(" ")
    digits = [(11, tod // HOUR), (14, tod // MINUTE % 60), (17, tod % 60)]
    chars[:, 13] = chars[:, 16] = ord(":")
    if offset:
        chars[:, 19] = np.where(off < 0, ord("-"), ord("+"))
        digits += [(20, np.abs(off) // HOUR), (23, np.abs(off) // MINUTE % 60)]
        chars[:, 22] = ord(":")
    for col, value in digits:
        chars[:, col] = 48 + value // 10
        chars[:, col + 1] = 48 + value % 10
    return chars.tobytes()


def _timestamps(seconds: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    mask = None if valid is None else ~valid
    return pa.array(np.asarray(seconds, dtype=np.int64), type=pa.timestamp("s", tz="UTC"), mask=mask)


def _dates(epoch_days: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    mask = None if valid is None else ~valid
    return pa.array(np.asarray(epoch_days, dtype=np.int32), type=pa.date32(), mask=mask)


def _day(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def _lognormal(rng: np.random.Generator, median: float, sigma: float, n: int) -> np.ndarray:
    if median <= 0:
        return np.zeros(n)
    return median * np.exp(sigma * rng.standard_normal(n))


def _pick(rng: np.random.Generator, probabilities: np.ndarray, n: int) -> np.ndarray:
    """n draws from a categorical distribution (indices)."""
    cum = np.cumsum(probabilities / probabilities.sum())
    return np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(cum) - 1)


class _Vocabulary:
    """Strings interned as small integer codes, so million-row text columns are built by `take`."""

    def __init__(self) -> None:
        self.words: list[str] = []
        self._codes: dict[str, int] = {}

    def code(self, word: str) -> int:
        if word not in self._codes:
            self._codes[word] = len(self.words)
            self.words.append(word)
        return self._codes[word]

    def codes(self, words: Sequence[str]) -> np.ndarray:
        return np.array([self.code(w) for w in words], dtype=np.int32)

    def column(self, codes: np.ndarray) -> pa.Array:
        return pa.array(self.words, type=pa.string()).take(pa.array(codes, type=pa.int32()))


def _ids(prefix: str, numbers: np.ndarray) -> pa.Array:
    """Record ids such as SO-2400001 (numpy's string functions loop in Python; Arrow's do not)."""
    text = pa.array(np.asarray(numbers, dtype=np.int64)).cast(pa.string())
    return pc.binary_join_element_wise(pa.scalar(prefix), text, "")


# -------------------------------------------------------------------------------------------------- services


def _services(cal: _Calendar) -> pa.Table:
    tested = [
        None if s.tested_days_ago is None else _day(cal.end) - s.tested_days_ago for s in SERVICES
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
        }
    )


# --------------------------------------------------------------------------------------------------- vendors


def _vendors(cal: _Calendar) -> pa.Table:
    end = _day(cal.end)
    renewal = [end + v.renewal_in_days for v in VENDORS]
    clauses = [
        _CARRIER_CLAUSE.format(
            pct=v.credit_per_point * 100, target=v.ontime_target * 100, cap=(v.credit_cap or 0) * 100
        )
        if v.credit_per_point
        else None
        for v in VENDORS
    ]
    return pa.table(
        {
            "vendor_id": [v.id for v in VENDORS],
            "name": [v.name for v in VENDORS],
            "category": [v.category for v in VENDORS],
            "owner": [v.owner for v in VENDORS],
            "ontime_target": pa.array([v.ontime_target for v in VENDORS]),
            "quality_target": pa.array([v.quality_target for v in VENDORS]),
            "annual_value": pa.array([float(v.annual_value) for v in VENDORS]),
            "contract_start": pa.array([r - 365 * v.term_years for r, v in zip(renewal, VENDORS, strict=True)],
                                       type=pa.date32()),
            "renewal_date": pa.array(renewal, type=pa.date32()),
            "notice_period_days": pa.array([v.notice_days for v in VENDORS], type=pa.int64()),
            "auto_renew": pa.array([v.auto_renew for v in VENDORS]),
            "credit_per_point": pa.array([v.credit_per_point for v in VENDORS], type=pa.float64()),
            "credit_cap": pa.array([v.credit_cap for v in VENDORS], type=pa.float64()),
            "clause": pa.array(clauses, type=pa.string()),
            "backup_vendor_id": pa.array([v.backup for v in VENDORS], type=pa.string()),
        }
    )  # fmt: skip


# ------------------------------------------------------------------------------------------------- incidents

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


def _incident_rows(rng: np.random.Generator, cal: _Calendar, scale: float) -> _IncidentRows:
    n = max(1, round(3000 * scale))
    noise = np.array([s.noise for s in SERVICES])
    svc = _pick(rng, noise, n)
    weekday = cal.weekday()
    day_weights = np.where(weekday < 5, 1.0, 0.7) * (1 + 0.1 * np.arange(DAYS) / DAYS)
    day = _pick(rng, day_weights, n)
    hour_weights = np.array([2, 2, 2, 2, 2, 3, 4, 6, 9, 10, 10, 9, 8, 9, 10, 10, 9, 8, 6, 5, 4, 3, 3, 2], dtype=float)
    hour = _pick(rng, hour_weights, n)
    opened = cal.midnight[day] + hour * HOUR + rng.integers(0, HOUR, n)

    critical = np.array([SERVICES[i].tier == "critical" for i in svc])
    sev = np.where(critical, _pick(rng, np.array([0.015, 0.09, 0.32, 0.575]), n),
                   _pick(rng, np.array([0.004, 0.04, 0.30, 0.656]), n))  # fmt: skip
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
    cause = _pick(rng, np.array([c[0] for c in _INTERNAL_CAUSES.values()]), n)
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
            title = _VENDOR_TITLES[root].format(name=s.name, vendor=VENDORS[_VENDOR_INDEX[vendor]].name)
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


def _story_incidents(rows: _IncidentRows, cal: _Calendar) -> None:
    pay = _SERVICE_INDEX["payments-gateway"]
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
        service=_SERVICE_INDEX["checkout"], severity=0, opened=opened, acknowledged=opened + 3 * MINUTE,
        mitigated=opened + 55 * MINUTE, resolved=opened + 190 * MINUTE, root_cause="deploy-regression", vendor="",
        impact="high", owner="Felix Schmidt", postmortem="pending", kind="real",
        title="Checkout down: all orders failing with HTTP 500 after release 24.3", caller="Monitoring (Datadog)",
    )  # fmt: skip
    opened = cal.at(1, 16.75)
    rows.add(
        service=_SERVICE_INDEX["wms"], severity=1, opened=opened, acknowledged=opened + 9 * MINUTE, mitigated=-1,
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
            service=_SERVICE_INDEX[service], severity=sev, opened=opened, acknowledged=opened + 40 * MINUTE,
            mitigated=-1, resolved=-1, root_cause="", vendor="", impact="low", owner=owner, postmortem="", kind="real",
            title=title, caller="Marie Lange",
        )  # fmt: skip
    # Disaster-recovery drills: recent for most critical services, stale for wms, never for payments-gateway.
    for service, days_ago in (("checkout", 40), ("order-service", 75), ("erp", 90), ("storefront", 110),
                              ("email", 130), ("cloud-platform", 150), ("customer-db", 200), ("shipping-label", 170),
                              ("wms", 300)):  # fmt: skip
        s = SERVICES[_SERVICE_INDEX[service]]
        opened = cal.at(days_ago, 9.5)
        rows.add(
            service=_SERVICE_INDEX[service], severity=2, opened=opened, acknowledged=opened + 2 * MINUTE,
            mitigated=opened + 70 * MINUTE, resolved=opened + 150 * MINUTE, root_cause="", vendor="", impact="none",
            owner=TEAMS[s.team][0], postmortem="not_required", kind="drill",
            title=f"DR drill: fail over {s.name} to the secondary site", caller="Jonas Weber",
        )  # fmt: skip


def _incidents(rng: np.random.Generator, cal: _Calendar, scale: float) -> tuple[pa.Table, list[tuple[str, int, int]]]:
    """The ServiceNow-style export, and the outages (service, from, to) that fail uptime checks."""
    rows = _incident_rows(rng, cal, scale)
    frame = pd.DataFrame(vars(rows))
    times = ["opened", "acknowledged", "mitigated", "resolved"]
    # Local times that occur twice (autumn DST change) are ambiguous without an offset: move such tickets by 2 hours.
    for _ in range(2):
        stamps = frame[times].to_numpy()
        seen = stamps >= 0
        flat = np.where(seen, stamps, cal.start_s)
        here = _utc_offsets(flat.ravel()).reshape(flat.shape)
        later = _utc_offsets(flat.ravel() + HOUR).reshape(flat.shape)
        earlier = _utc_offsets(flat.ravel() - HOUR).reshape(flat.shape)
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
    paybridge = (frame["service"] == _SERVICE_INDEX["payments-gateway"]) & (frame["vendor"] == "V-1201")
    down = real & ((frame["severity"] == 0) | paybridge)
    rows_down = frame[down]
    for service, opened, mitigated, resolved in zip(
        rows_down["service"], rows_down["opened"], rows_down["mitigated"], rows_down["resolved"], strict=True
    ):
        until = mitigated if mitigated >= 0 else resolved if resolved >= 0 else cal.end_s
        outages.append((SERVICES[int(service)].id, int(opened), int(until)))

    n = len(frame)
    numbers = [f"INC{41200 + i:07d}" for i in range(n)]
    opened_text = _clock_text(frame["opened"].to_numpy(), offset=False).to_pylist()
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
        return _clock_text(values, values >= 0, offset=False)

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
        }
    )
    return table, outages


def _incident_source(ext: str) -> dict[str, Any]:
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


# -------------------------------------------------------------------------------------------- process events


@dataclass(frozen=True)
class _Step:
    activity: str
    wait: tuple[float, float]  # median seconds, log-sigma of the wait before the step
    duration: tuple[float, float]
    resources: tuple[str, ...]
    share: float = 1.0  # share of cases that perform the step
    needs: int | None = None  # performed only by cases that performed this earlier step (rework after a check)


@dataclass
class _Trace:
    """k steps x n cases: which were performed, when, and by whom."""

    done: np.ndarray
    start: np.ndarray
    end: np.ndarray
    resource: np.ndarray
    activity: np.ndarray  # k activity codes


def _walk(rng: np.random.Generator, begin: np.ndarray, steps: Sequence[_Step], vocab: _Vocabulary) -> _Trace:
    n, k = len(begin), len(steps)
    # Step-major (k x n) so each step writes contiguous memory: at scale 10 that is several times faster.
    done = np.zeros((k, n), dtype=bool)
    start = np.zeros((k, n))
    end = np.zeros((k, n))
    resource = np.zeros((k, n), dtype=np.int32)
    clock = begin.astype(float)
    for j, step in enumerate(steps):
        take = rng.random(n) < step.share
        if step.needs is not None:
            take &= done[step.needs]
        start[j] = clock + _lognormal(rng, *step.wait, n)
        end[j] = start[j] + np.maximum(_lognormal(rng, *step.duration, n), 5.0)
        done[j] = take
        pool = vocab.codes(step.resources)
        resource[j] = pool[rng.integers(0, len(pool), n)]
        clock = np.where(take, end[j], clock)
    return _Trace(done, start, end, resource, vocab.codes([s.activity for s in steps]))


def _pool(prefix: str, n: int) -> tuple[str, ...]:
    return tuple(f"{prefix}-{i:02d}" for i in range(1, n + 1))


_ORDER_STEPS = (
    _Step("receive_order", (0, 0), (40, 0.4), ("storefront",)),
    _Step("check_payment", (40, 0.5), (90, 0.5), ("PayBridge",)),
    _Step("reserve_stock", (30, 0.5), (20, 0.4), ("inventory-service",)),
    _Step("pick", (1.8 * HOUR, 0.7), (11 * MINUTE, 0.5), _pool("picker", 40)),
    _Step("quality_check", (10 * MINUTE, 0.5), (6 * MINUTE, 0.4), ("qc-team",), share=0.08),
    _Step("pick", (20 * MINUTE, 0.5), (10 * MINUTE, 0.5), _pool("picker", 40), share=0.3, needs=4),
    _Step("pack", (6 * HOUR, 0.55), (7 * MINUTE, 0.4), _pool("packer", 12)),
    _Step("pack", (30 * MINUTE, 0.5), (8 * MINUTE, 0.4), _pool("packer", 12), share=0.03),
    _Step("create_label", (15 * MINUTE, 0.6), (60, 0.4), ("shipping-label",)),
    _Step("create_label", (20 * MINUTE, 0.5), (60, 0.4), ("shipping-label",), share=0.02),
    _Step("ship", (2.5 * HOUR, 0.6), (5 * MINUTE, 0.4), ("dock-team",)),
)
_PACK = 6
_SHIP = len(_ORDER_STEPS) - 1

_RETURN_STEPS = (
    _Step("request_return", (0, 0), (3 * MINUTE, 0.5), ("returns-portal",)),
    _Step("approve_return", (2 * HOUR, 0.9), (4 * MINUTE, 0.5), _pool("returns-desk", 5)),
    _Step("receive_return", (4 * DAY, 0.5), (10 * MINUTE, 0.5), ("goods-in",)),
    _Step("inspect", (10 * HOUR, 0.7), (12 * MINUTE, 0.5), _pool("inspector", 6)),
    _Step("inspect", (1 * HOUR, 0.5), (10 * MINUTE, 0.5), _pool("inspector", 6), share=0.05),
    _Step("refund", (26 * HOUR, 0.8), (2 * MINUTE, 0.4), ("finance-ops",)),
    _Step("restock", (14 * HOUR, 0.6), (9 * MINUTE, 0.5), ("restock-team",)),
)
_RECEIVE, _REFUND = 2, 5

_SUPPORT_STEPS = (
    _Step("open_ticket", (0, 0), (30, 0.5), ("helpdesk-bot",)),
    _Step("triage", (20 * MINUTE, 1.0), (3 * MINUTE, 0.5), _pool("agent", 35)),
    _Step("first_response", (2.5 * HOUR, 1.2), (8 * MINUTE, 0.6), _pool("agent", 35)),
    _Step("request_info", (10 * MINUTE, 0.5), (3 * MINUTE, 0.5), _pool("agent", 35), share=0.3),
    _Step("investigate", (4 * HOUR, 1.0), (25 * MINUTE, 0.8), _pool("agent", 35), share=0.7),
    _Step("escalate", (1 * HOUR, 0.8), (10 * MINUTE, 0.5), _pool("tier2", 6), share=0.1),
    _Step("resolve", (3 * HOUR, 1.0), (10 * MINUTE, 0.6), _pool("agent", 35)),
    _Step("reopen", (30 * HOUR, 0.6), (60, 0.3), ("customer",), share=0.06),
    _Step("resolve", (4 * HOUR, 0.8), (10 * MINUTE, 0.6), _pool("agent", 35), needs=7),
    _Step("close", (48 * HOUR, 0.05), (30, 0.3), ("helpdesk-bot",)),
)
_FIRST_RESPONSE = 2


@dataclass
class _Operations:
    """The year's orders, parcels, returns and tickets, from which process events, SLA events and parcels come."""

    events: pa.Table
    order_start: np.ndarray
    ship_end: np.ndarray
    shipped: np.ndarray  # bool: the parcel left before the data ends
    deliver_end: np.ndarray
    delivered: np.ndarray
    carrier: np.ndarray  # index into _CARRIERS
    ship_day: np.ndarray
    promised_day: np.ndarray  # calendar day index
    order_numbers: np.ndarray  # int: order SO-<number>, parcel SHP-<number>
    ticket_start: np.ndarray
    first_response_end: np.ndarray
    return_receive_end: np.ndarray
    return_refund_end: np.ndarray


def _order_starts(rng: np.random.Generator, cal: _Calendar, n: int) -> np.ndarray:
    days = pd.date_range(pd.Timestamp(cal.first), periods=DAYS, freq="D")
    weekday = np.array([1.1, 1.05, 1.0, 1.0, 0.95, 0.8, 1.05])[cal.weekday()]
    peak = np.where(((days.month == 11) & (days.day >= 20)) | ((days.month == 12) & (days.day <= 20)), 1.35, 1.0)
    weights = weekday * peak * (1 + 0.12 * np.arange(DAYS) / DAYS)
    counts = rng.multinomial(n, weights / weights.sum())
    day = np.repeat(np.arange(DAYS), counts)
    hours = np.array([2, 1, 1, 1, 1, 1, 2, 4, 6, 7, 8, 9, 10, 9, 8, 8, 8, 9, 10, 12, 13, 12, 8, 4], dtype=float)
    hour = _pick(rng, hours, n)
    return np.sort(cal.midnight[day] + hour * HOUR + rng.integers(0, HOUR, n))


def _swiftline_late(cal: _Calendar, day: np.ndarray) -> np.ndarray:
    """Late share of Swiftline parcels shipped on each day: 3%, decaying over the last 90 days to 22% (quadratic)."""
    x = np.clip((day - (DAYS - 1 - 90)) / 90, 0, 1)
    return 0.03 + (_SWIFTLINE_FINAL_LATE - 0.03) * x**2


def _flatten(trace: _Trace, case_offset: int, process: int, end_s: int) -> dict[str, np.ndarray]:
    start = np.round(trace.start).astype(np.int64)
    end = np.round(trace.end).astype(np.int64)
    keep = trace.done & (end < end_s)
    step, case = np.nonzero(keep)
    return {
        "case": case + case_offset,
        "process": np.full(len(case), process, dtype=np.int32),
        "activity": trace.activity[step],
        "start": start[step, case],
        "end": end[step, case],
        "resource": trace.resource[step, case],
    }


def _operations(rng: np.random.Generator, cal: _Calendar, scale: float) -> _Operations:
    vocab = _Vocabulary()
    end_s = cal.end_s

    # Orders: placed, paid, picked, (checked), packed, labelled, shipped, delivered by a carrier.
    n_orders = max(1, round(88_000 * scale))
    order_start = _order_starts(rng, cal, n_orders)
    orders = _walk(rng, order_start, _ORDER_STEPS, vocab)
    ship_end = np.round(orders.end[_SHIP]).astype(np.int64)
    shipped = ship_end < end_s
    carrier = _pick(rng, np.array([c[1] for c in _CARRIERS]), n_orders)
    transit = np.array([c[2] for c in _CARRIERS])[carrier]
    ship_day = cal.day_of(ship_end)
    late_share = np.array([c[3] for c in _CARRIERS])[carrier]
    late_share = np.where(carrier == 0, _swiftline_late(cal, ship_day), late_share)
    late = rng.random(n_orders) < late_share
    promised_day = ship_day + transit
    early = (~late) & (transit >= 2) & (rng.random(n_orders) < 0.25)
    days_late = 1 + _pick(rng, np.array([0.6, 0.3, 0.1]), n_orders)
    delivered_day = np.where(late, promised_day + days_late, promised_day - early)
    last_day = len(cal.midnight) - 2
    deliver_end = cal.midnight[np.minimum(delivered_day, last_day)] + rng.integers(9 * HOUR, 19 * HOUR + 1800, n_orders)
    deliver_end = np.where(delivered_day > last_day, np.iinfo(np.int64).max // 2, deliver_end)
    delivered = shipped & (deliver_end < end_s)
    carrier_names = vocab.codes([VENDORS[_VENDOR_INDEX[c[0]]].name for c in _CARRIERS])
    order_trace = _Trace(
        done=np.vstack([orders.done, np.ones(n_orders, dtype=bool)]),
        start=np.vstack([orders.start, orders.end[_SHIP]]),
        end=np.vstack([orders.end, deliver_end.astype(float)]),
        resource=np.vstack([orders.resource, carrier_names[carrier]]),
        activity=np.append(orders.activity, vocab.code("deliver")),
    )
    order_numbers = 2_400_001 + np.arange(n_orders)

    # Returns: about 11% of delivered orders come back.
    returning = np.flatnonzero(delivered & (rng.random(n_orders) < 0.11))
    return_begin = deliver_end[returning] + _lognormal(rng, 4 * DAY, 0.6, len(returning))
    order_of_return = returning[np.argsort(return_begin, kind="stable")]
    return_begin = np.sort(return_begin)
    returns = _walk(rng, return_begin, _RETURN_STEPS, vocab)
    n_returns = len(order_of_return)

    # Support tickets: customers write in every day, more during the day.
    n_tickets = max(1, round(40_000 * scale))
    day = _pick(rng, np.where(cal.weekday() < 5, 1.0, 0.75), n_tickets)
    hours = np.array([1, 1, 1, 1, 1, 1, 2, 5, 9, 10, 10, 9, 8, 9, 9, 8, 8, 7, 6, 6, 5, 4, 3, 2], dtype=float)
    ticket_start = np.sort(cal.midnight[day] + _pick(rng, hours, n_tickets) * HOUR + rng.integers(0, HOUR, n_tickets))
    tickets = _walk(rng, ticket_start, _SUPPORT_STEPS, vocab)

    parts = [
        _flatten(order_trace, 0, vocab.code("order_fulfilment"), end_s),
        _flatten(returns, n_orders, vocab.code("returns"), end_s),
        _flatten(tickets, n_orders + n_returns, vocab.code("customer_support"), end_s),
    ]
    events = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    order = np.argsort(events["start"], kind="stable")
    events = {key: value[order] for key, value in events.items()}
    # Dirty row: one pack activity whose clock ran backwards.
    pack = np.flatnonzero((events["activity"] == orders.activity[_PACK]) & (events["start"] < end_s - 60 * DAY))
    if len(pack):
        bad = int(pack[len(pack) // 2])
        events["end"][bad] = events["start"][bad] - 5 * MINUTE

    case_ids = pa.concat_arrays([
        _ids("SO-", order_numbers),
        _ids("RMA-", 500_001 + np.arange(n_returns)),
        _ids("CS-", 700_001 + np.arange(n_tickets)),
    ])  # fmt: skip
    table = pa.table(
        {
            "case_id": case_ids.take(pa.array(events["case"])),
            "process": vocab.column(events["process"]),
            "activity": vocab.column(events["activity"]),
            "started_at": _timestamps(events["start"]),
            "ended_at": _timestamps(events["end"]),
            "resource": vocab.column(events["resource"]),
        }
    )
    return _Operations(
        events=table,
        order_start=order_start,
        ship_end=ship_end,
        shipped=shipped,
        deliver_end=deliver_end,
        delivered=delivered,
        carrier=carrier,
        ship_day=ship_day,
        promised_day=promised_day,
        order_numbers=order_numbers,
        ticket_start=ticket_start,
        first_response_end=np.round(np.where(tickets.done[_FIRST_RESPONSE], tickets.end[_FIRST_RESPONSE],
                                             np.inf)).astype(np.float64),
        return_receive_end=returns.end[_RECEIVE],
        return_refund_end=returns.end[_REFUND],
    )  # fmt: skip


# ------------------------------------------------------------------------------------------------ SLA events

_OBJECTIVES = {"order_processing": 0.95, "shipping": 0.95, "customer_response": 0.95, "returns": 0.90, "uptime": 0.999}


def _sla_events(
    rng: np.random.Generator, cal: _Calendar, ops: _Operations, outages: list[tuple[str, int, int]], scale: float
) -> pa.Table:
    vocab = _Vocabulary()
    end_s = cal.end_s
    parts: list[dict[str, np.ndarray]] = []

    def add(category: str, service: str, at: np.ndarray, target: np.ndarray, measured: np.ndarray,
            met: np.ndarray, unit: str | None) -> None:  # fmt: skip
        n = len(at)
        parts.append({
            "category": np.full(n, vocab.code(category), dtype=np.int32),
            "service": np.full(n, vocab.code(service), dtype=np.int32),
            "at": np.asarray(at, dtype=np.int64),
            "target": np.asarray(target, dtype=float),
            "measured": np.asarray(measured, dtype=float),
            "met": np.asarray(met, dtype=np.int8),  # -1 empty
            "unit": np.full(n, vocab.code(unit) if unit else -1, dtype=np.int32),
        })  # fmt: skip

    # Order processing: placed to handed to the carrier within 24 hours.
    s = ops.shipped
    hours = np.round((ops.ship_end[s] - ops.order_start[s]) / HOUR, 2)
    add("order_processing", "order-service", ops.ship_end[s], np.full(len(hours), 24.0), hours,
        np.full(len(hours), -1), "hours")  # fmt: skip
    # Shipping: handed over to delivered by the end of the promised day (per-parcel target).
    d = ops.delivered
    deadline = cal.midnight[np.minimum(ops.promised_day[d] + 1, len(cal.midnight) - 1)]
    add("shipping", "shipping-label", ops.deliver_end[d], np.round((deadline - ops.ship_end[d]) / HOUR, 2),
        np.round((ops.deliver_end[d] - ops.ship_end[d]) / HOUR, 2), np.full(int(d.sum()), -1), "hours")  # fmt: skip
    # Customer response: first answer within 24 hours of the ticket.
    r = ops.first_response_end < end_s
    first = ops.first_response_end[r].astype(np.int64)
    hours = np.round((first - ops.ticket_start[r]) / HOUR, 2)
    measured = hours.copy()
    if len(measured) > 100:
        measured[len(measured) // 3] = np.nan  # dirty row: neither measured_value nor met
    add("customer_response", "customer-support-desk", first, np.full(len(hours), 24.0), measured,
        np.full(len(hours), -1), "hours")  # fmt: skip
    # Returns: refund within 5 days of receiving the parcel back.
    r = ops.return_refund_end < end_s
    refund = np.round(ops.return_refund_end[r]).astype(np.int64)
    hours = np.round((ops.return_refund_end[r] - ops.return_receive_end[r]) / HOUR, 2)
    add("returns", "returns-portal", refund, np.full(len(hours), 120.0), hours, np.full(len(hours), -1), "hours")
    # Uptime: a synthetic check per critical service (hourly at scale 1); it fails while a major outage is open.
    interval = max(MINUTE, round(HOUR / scale / MINUTE) * MINUTE)
    for k, service in enumerate(s.id for s in SERVICES if s.tier == "critical"):
        checks = np.arange(cal.start_s + (7 * k * MINUTE) % interval, end_s, interval, dtype=np.int64)
        up = np.ones(len(checks), dtype=np.int8)
        for name, begin, until in outages:
            if name == service:
                up[np.searchsorted(checks, begin) : np.searchsorted(checks, until)] = 0
        nothing = np.full(len(checks), np.nan)
        add("uptime", service, checks, nothing, nothing, up, None)

    data = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    order = np.argsort(data["at"], kind="stable")
    data = {key: value[order] for key, value in data.items()}
    category_objective = np.zeros(len(vocab.words))
    for word, objective in _OBJECTIVES.items():
        if word in vocab.words:
            category_objective[vocab.code(word)] = objective
    units = np.array([*vocab.words, None], dtype=object)  # code -1 (no unit) picks the trailing None
    return pa.table(
        {
            "category": vocab.column(data["category"]),
            "service": vocab.column(data["service"]),
            "measured_at": _timestamps(data["at"]),
            "target_value": pa.array(data["target"], mask=np.isnan(data["target"])),
            "measured_value": pa.array(data["measured"], mask=np.isnan(data["measured"])),
            "unit": pa.array(units[data["unit"]], type=pa.string()),
            "met": pa.array(data["met"] == 1, mask=data["met"] < 0),
            "objective": pa.array(category_objective[data["category"]]),
        }
    )


# ----------------------------------------------------------------------------------------- vendor deliveries


def _vendor_deliveries(rng: np.random.Generator, cal: _Calendar, ops: _Operations, scale: float) -> pa.Table:
    first = cal.first_epoch_day
    end_day = DAYS - 1

    # Parcels handed to carriers: one delivery per shipped order, promised by the carrier's transit time.
    s = ops.shipped
    n_parcels = int(s.sum())
    parcel_late = ops.delivered[s] & (cal.day_of(ops.deliver_end[s]) > ops.promised_day[s])
    damaged = rng.random(n_parcels) < 0.004
    parcels = {
        "number": ops.order_numbers[s],
        "goods": np.zeros(n_parcels, dtype=bool),
        "vendor": np.array([_VENDOR_INDEX[c[0]] for c in _CARRIERS])[ops.carrier[s]],
        "promised": ops.promised_day[s],
        "delivered": np.where(ops.delivered[s], cal.day_of(ops.deliver_end[s]), -1),
        "quantity": 1 + _pick(rng, np.array([0.8, 0.15, 0.05]), n_parcels),
        "defective": damaged.astype(np.int64),
        "issue": damaged,
        "problem": parcel_late | damaged,
        "response_median": np.where(ops.carrier[s] == 0, 30.0, 16.0),
    }

    # Goods-in from suppliers on weekdays, a few days either side of the promised date.
    n_in = max(1, round(160_000 * scale))
    supplier = _pick(rng, np.array([x[1] for x in _SUPPLIERS]), n_in)
    day_weights = np.where(cal.weekday() < 5, 1.0, 0.0)
    promised = np.sort(_pick(rng, day_weights, n_in))
    supplier = supplier[rng.permutation(n_in)]
    ontime = np.array([x[2] for x in _SUPPLIERS])[supplier]
    late = rng.random(n_in) >= ontime
    early = np.where(rng.random(n_in) < 0.2, 1, 0) + np.where(rng.random(n_in) < 0.05, 1, 0)
    delay = 1 + rng.geometric(0.45, n_in) - 1
    delivered = np.where(late, promised + np.minimum(delay, 20), promised - early)
    lost = rng.random(n_in) < 0.0005
    delivered = np.where((delivered > end_day) | lost, -1, delivered)
    median_qty = np.array([x[4] for x in _SUPPLIERS], dtype=float)[supplier]
    quantity = np.maximum(1, np.round(median_qty * np.exp(0.7 * rng.standard_normal(n_in)))).astype(np.int64)
    issue = rng.random(n_in) < np.array([x[3] for x in _SUPPLIERS])[supplier]
    defective = np.where(issue, rng.binomial(quantity, rng.uniform(0.02, 0.3, n_in)), 0)
    goods = {
        "number": 3_100_001 + np.arange(n_in),
        "goods": np.ones(n_in, dtype=bool),
        "vendor": np.array([_VENDOR_INDEX[x[0]] for x in _SUPPLIERS])[supplier],
        "promised": promised,
        "delivered": delivered,
        "quantity": quantity,
        "defective": defective,
        "issue": issue,
        "problem": issue | (late & (delivered >= 0)),
        "response_median": np.full(n_in, 18.0),
    }
    data = {key: np.concatenate([parcels[key], goods[key]]) for key in parcels}
    order = np.argsort(data["promised"], kind="stable")
    data = {key: value[order] for key, value in data.items()}
    n = len(data["number"])
    response = np.round(data["response_median"] * np.exp(0.8 * rng.standard_normal(n)), 1)

    vendor_ids = np.array([v.id for v in VENDORS] + ["V-9999"], dtype=object)
    vendor = data["vendor"].copy()
    defective = data["defective"].copy()
    goods_rows = np.flatnonzero(data["goods"] & (data["promised"] < end_day - 60))
    if len(goods_rows) >= 2:
        vendor[goods_rows[len(goods_rows) // 4]] = len(VENDORS)  # dirty: unknown vendor V-9999
        bad = goods_rows[len(goods_rows) // 2]
        defective[bad] = data["quantity"][bad] + 5  # dirty: more defective units than delivered
    return pa.table(
        {
            "delivery_id": pc.if_else(
                pa.array(data["goods"]), _ids("GR-", data["number"]), _ids("SHP-", data["number"])
            ),
            "vendor_id": pa.array(vendor_ids[vendor], type=pa.string()),
            "promised_date": _dates(first + data["promised"]),
            "delivered_date": _dates(first + data["delivered"], data["delivered"] >= 0),
            "quantity": pa.array(data["quantity"], type=pa.int64()),
            "defective_quantity": pa.array(defective, type=pa.int64()),
            "quality_issue": pa.array(data["issue"]),
            "response_hours": pa.array(response, mask=~data["problem"]),
        }
    )


# -------------------------------------------------------------------------------------------------- projects


@dataclass(frozen=True)
class _Project:
    id: str
    name: str
    owner: str
    status: str
    budgeted: bool = True


PROJECTS: tuple[_Project, ...] = (
    _Project("P-01", "Carrier API consolidation", "Mia Wagner", "done"),
    _Project("P-02", "Returns portal relaunch", "Clara Neumann", "active"),
    _Project("P-03", "ERP upgrade to Ledgerline 12", "Emma Krüger", "active"),
    _Project("P-04", "Customer support chatbot", "Marie Lange", "active"),
    _Project("P-05", "Warehouse safety programme", "Paul Zimmermann", "done"),
    _Project("P-06", "Second payment provider (PayBridge redundancy)", "Lea Hoffmann", "planned"),
    _Project("P-07", "Warehouse automation phase 2: conveyor and pack stations", "Hannah Braun", "active"),
    _Project("P-08", "Data warehouse migration to the cloud", "David Schmitt", "active"),
    _Project("P-09", "Single sign-on rollout", "Priya Nair", "active"),
    _Project("P-10", "Plastic-free packaging fill", "Hannah Braun", "done"),
    _Project("P-11", "Demand forecasting model", "Laura Werner", "active", budgeted=False),
    _Project("P-12", "Peak season readiness", "Anna Becker", "done"),
    _Project("P-13", "Disaster recovery site refresh", "Jonas Weber", "active"),
    _Project("P-14", "Mobile app v3", "Sofia Rossi", "planned"),
    _Project("P-15", "Supplier portal", "Julia Peters", "active"),
    _Project("P-16", "Inventory accuracy programme", "Lukas Fischer", "active"),
    _Project("P-17", "Label printer replacement", "Tom Keller", "done"),
    _Project("P-18", "Hamburg office move", "Max Walter", "on_hold"),
    _Project("P-19", "GDPR records retention", "Laura Werner", "done"),
    _Project("P-20", "Customer portal performance", "Ben Richter", "active"),
    _Project("P-21", "Search relevance tuning", "Sofia Rossi", "cancelled"),
    _Project("P-22", "Forklift fleet electrification", "Paul Zimmermann", "active"),
    _Project("P-23", "Pick-path optimisation", "Jan Krause", "active"),
    _Project("P-24", "Invoice automation", "Stefan Vogel", "done"),
    _Project("P-25", "Warehouse network refresh", "Tim Lehmann", "active"),
    _Project("P-26", "Observability platform", "Noah Schulz", "active", budgeted=False),
    _Project("P-27", "Loyalty programme", "Felix Schmidt", "planned"),
    _Project("P-28", "Cross-border shipping (CH, NO)", "Mia Wagner", "active"),
    _Project("P-29", "Warehouse training academy", "Aylin Demir", "done"),
    _Project("P-30", "Cost-to-serve analytics", "Stefan Vogel", "planned", budgeted=False),
)

# (task, name, optimistic, likely, pessimistic, predecessors, budget, milestone)
_P07_TASKS = (
    ("T01", "Business case and scope sign-off", 8, 10, 14, "", 15_000, True),
    ("T02", "Select conveyor integrator", 15, 20, 30, "T01", 20_000, False),
    ("T03", "Site survey hall B", 6, 8, 12, "T01", 12_000, False),
    ("T04", "Detailed design: conveyor layout", 20, 25, 35, "T02;T03", 45_000, False),
    ("T05", "WMS interface specification", 10, 15, 20, "T02", 25_000, False),
    ("T06", "Procure conveyor hardware", 40, 45, 70, "T04", 420_000, False),
    ("T07", "Build WMS interface", 25, 30, 45, "T05", 90_000, False),
    ("T08", "Redesign pack stations", 15, 20, 28, "T04", 60_000, False),
    ("T09", "Install conveyor in hall B", 25, 30, 45, "T06;T08", 180_000, False),
    ("T10", "Integration test with WMS", 12, 15, 25, "T07;T09", 40_000, False),
    ("T11", "Train pack and pick staff", 8, 10, 14, "T08", 18_000, False),
    ("T12", "Pilot run: one shift", 8, 10, 15, "T10;T11", 15_000, False),
    ("T13", "Go-live hall B", 1, 2, 3, "T12", 5_000, True),
)
_P07_CRITICAL = {"T01", "T02", "T04", "T06", "T09", "T10", "T12", "T13"}
_P07_START_DAYS_AGO = 120
_P07_DELAY = {"critical": 45, "other": 10}  # days the work is behind the plan

_PHASES = (
    "Scope and business case", "Requirements workshops", "Vendor selection", "Solution design", "Data model",
    "Build sprint 1", "Build sprint 2", "Build sprint 3", "Integration", "Data migration", "Security review",
    "Performance test", "User acceptance testing", "Training", "Documentation", "Cutover plan", "Pilot",
    "Hypercare",
)  # fmt: skip


def _schedule(durations: dict[str, float], predecessors: dict[str, list[str]]) -> dict[str, float]:
    """Earliest start of each task (days from the project start), finish-to-start."""
    graph = nx.DiGraph()
    graph.add_nodes_from(durations)
    graph.add_edges_from((p, t) for t, ps in predecessors.items() for p in ps)
    start: dict[str, float] = {}
    for task in nx.topological_sort(graph):
        start[task] = max((start[p] + durations[p] for p in graph.predecessors(task)), default=0.0)
    return start


def _progress(as_of: float, start: float, finish: float) -> float:
    """Share of a task's planned span elapsed at `as_of` (days from the project start)."""
    if finish <= start:
        return 1.0 if as_of >= finish else 0.0
    return float(np.clip((as_of - start) / (finish - start), 0, 1))


@dataclass
class _Task:
    task_id: str
    name: str
    a: float  # optimistic, likely and pessimistic durations (days)
    m: float
    b: float
    deps: list[str]
    budget: float
    milestone: bool


def _task_plan(rng: np.random.Generator, project: _Project) -> list[_Task]:
    if project.id == "P-07":
        return [
            _Task(t, name, float(a), float(m), float(b), deps.split(";") if deps else [], float(budget), milestone)
            for t, name, a, m, b, deps, budget, milestone in _P07_TASKS
        ]
    n = int(rng.integers(10, 19))
    middle = sorted(rng.choice(np.arange(1, len(_PHASES)), size=n - 2, replace=False))
    names = [_PHASES[0], *(_PHASES[i] for i in middle), "Go-live"]
    rate = float(rng.uniform(600, 2500))
    tasks = []
    for i, name in enumerate(names):
        likely = 1.0 if name == "Go-live" else float(rng.integers(3, 26))
        window = list(range(max(0, i - 4), i))
        k = min(len(window), int(rng.integers(1, 3)))
        deps = [f"T{j + 1:02d}" for j in sorted(rng.choice(window, size=k, replace=False))] if window else []
        tasks.append(
            _Task(
                task_id=f"T{i + 1:02d}",
                name=name,
                a=float(max(1, round(likely * rng.uniform(0.6, 0.85)))) if likely > 1 else 1.0,
                m=likely,
                b=float(round(likely * rng.uniform(1.3, 2.2))) if likely > 1 else 2.0,
                deps=deps,
                budget=float(round(likely * rate * rng.uniform(0.7, 1.4), -2)),
                milestone=name in ("Go-live", "Solution design"),
            )
        )
    # Every task leads to go-live: tasks nobody depends on become its predecessors.
    used = {d for t in tasks for d in t.deps}
    tasks[-1].deps = sorted(set(tasks[-1].deps) | {t.task_id for t in tasks[:-1] if t.task_id not in used})
    return tasks


def _projects(rng: np.random.Generator, cal: _Calendar) -> tuple[pa.Table, pa.Table]:
    end = _day(cal.end)
    projects: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    for project in PROJECTS:
        plan = _task_plan(rng, project)
        durations = {t.task_id: t.m for t in plan}
        es = _schedule(durations, {t.task_id: t.deps for t in plan})
        span = max(es[t] + durations[t] for t in durations)
        if project.id == "P-07":
            start = end - _P07_START_DAYS_AGO
            buffer = 3.0
        else:
            buffer = float(round(span * rng.uniform(0.1, 0.25)))
            if project.status == "done":
                start = end - int(rng.integers(250, 340))
                start = min(start, end - 10 - int(span + buffer))
            elif project.status == "planned":
                start = end + int(rng.integers(10, 90))
            elif project.status in ("on_hold", "cancelled"):
                start = end - int(rng.integers(150, 240))  # stopped part-way, 60 or 90 days ago
            else:
                start = end - int(rng.integers(30, 200))
                start = max(start, end + 20 - int(span + buffer))
        due = start + int(span + buffer)
        # Work on hold or cancelled stopped some time ago.
        elapsed = end - start - {"on_hold": 60, "cancelled": 90}.get(project.status, 0)
        total = 0.0
        for t in plan:
            begin, finish = es[t.task_id], es[t.task_id] + t.m
            if project.id == "P-07":
                lag = _P07_DELAY["critical" if t.task_id in _P07_CRITICAL else "other"]
                done_share = _progress(elapsed - lag, begin, finish)
                spend_share = 0.9 * _progress(elapsed, begin, finish)  # invoices arrive on the planned dates
            else:
                done_share = _progress(elapsed, begin, finish)
                if 0 < done_share < 1:
                    done_share = min(1.0, done_share * float(rng.uniform(0.9, 1.08)))
                if project.status == "done":
                    done_share = 1.0
                spend_share = done_share * float(rng.uniform(0.92, 1.12))
            total += t.budget
            tasks.append(
                {
                    "project_id": project.id,
                    "task_id": t.task_id,
                    "name": t.name,
                    "owner": project.owner if t.milestone else PEOPLE[int(rng.integers(0, len(PEOPLE)))],
                    "duration_optimistic": t.a,
                    "duration_likely": t.m,
                    "duration_pessimistic": t.b,
                    "depends_on": ";".join(t.deps) or None,
                    "planned_start": int(start + begin),
                    "planned_finish": int(round(start + finish)),
                    "percent_complete": float(round(done_share * 100)),
                    "budget": t.budget if project.budgeted else None,
                    "actual_cost": float(round(t.budget * spend_share, -1)) if project.budgeted else None,
                    "milestone": t.milestone,
                }
            )
        projects.append(
            {
                "project_id": project.id,
                "name": project.name,
                "owner": project.owner,
                "status": project.status,
                "start_date": start,
                "due_date": due,
                "budget": float(round(total * 1.1, -3)) if project.budgeted else None,
            }
        )
    project_table = pa.Table.from_pylist(
        projects,
        schema=pa.schema([("project_id", pa.string()), ("name", pa.string()), ("owner", pa.string()),
                          ("status", pa.string()), ("start_date", pa.date32()), ("due_date", pa.date32()),
                          ("budget", pa.float64())]),
    )  # fmt: skip
    task_table = pa.Table.from_pylist(
        tasks,
        schema=pa.schema([("project_id", pa.string()), ("task_id", pa.string()), ("name", pa.string()),
                          ("owner", pa.string()), ("duration_optimistic", pa.float64()),
                          ("duration_likely", pa.float64()), ("duration_pessimistic", pa.float64()),
                          ("depends_on", pa.string()), ("planned_start", pa.date32()),
                          ("planned_finish", pa.date32()), ("percent_complete", pa.float64()),
                          ("budget", pa.float64()), ("actual_cost", pa.float64()), ("milestone", pa.bool_())]),
    )  # fmt: skip
    return project_table, task_table


# ----------------------------------------------------------------------------------------------------- risks

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


def _risks(rng: np.random.Generator, cal: _Calendar) -> pa.Table:
    end = _day(cal.end)
    rows: list[dict[str, Any]] = []
    services = [s.id for s in SERVICES if s.id != "payments-gateway"]
    vendors = [v.id for v in VENDORS if v.id != "V-1001" and v.category != "merchandise"]
    vendors += [v.id for v in VENDORS if v.category == "merchandise"]
    story = {
        3: {"title": "Single WMS instance: a hardware failure halts all picking and shipping", "category": "technology",
            "likelihood": 3, "impact": 5, "owner": "Lukas Fischer", "treatment": "mitigate",
            "mitigation_due": end - 75, "status": "mitigating", "linked_service": "wms", "linked_vendor": None,
            "last_reviewed": end - 40},
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
        category = categories[int(_pick(rng, category_weights, 1)[0])]
        templates = _RISK_TEMPLATES[category]
        template = templates[int(rng.integers(0, len(templates)))]
        service = services[int(rng.integers(0, len(services)))]
        vendor = vendors[int(rng.integers(0, len(vendors)))]
        team = list(TEAMS)[int(rng.integers(0, len(TEAMS)))]
        title = template.format(
            service=SERVICES[_SERVICE_INDEX[service]].name,
            vendor=VENDORS[_VENDOR_INDEX[vendor]].name,
            team=team,
            hall="ABC"[number % 3],
        )
        status = ("open", "mitigating", "closed")[int(_pick(rng, np.array([0.3, 0.5, 0.2]), 1)[0])]
        treatment = (("mitigate", "accept", "transfer", "avoid", None)
                     [int(_pick(rng, np.array([0.55, 0.2, 0.1, 0.05, 0.1]), 1)[0])])  # fmt: skip
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
            "likelihood": int(_pick(rng, np.array([0.15, 0.3, 0.3, 0.18, 0.07]), 1)[0]) + 1,
            "impact": int(_pick(rng, np.array([0.1, 0.25, 0.3, 0.25, 0.1]), 1)[0]) + 1,
            "owner": None if rng.random() < 0.05 else PEOPLE[int(rng.integers(0, len(PEOPLE)))],
            "treatment": treatment, "mitigation_due": due, "status": status,
            "linked_service": service if "{service}" in template or category == "technology" else None,
            "linked_vendor": vendor if "{vendor}" in template else None,
            "last_reviewed": end - int(rng.integers(5, 300)),
        })  # fmt: skip
    return pa.Table.from_pylist(
        rows,
        schema=pa.schema([("risk_id", pa.string()), ("title", pa.string()), ("category", pa.string()),
                          ("likelihood", pa.int64()), ("impact", pa.int64()), ("owner", pa.string()),
                          ("treatment", pa.string()), ("mitigation_due", pa.date32()), ("status", pa.string()),
                          ("linked_service", pa.string()), ("linked_vendor", pa.string()),
                          ("last_reviewed", pa.date32())]),
    )  # fmt: skip


# ------------------------------------------------------------------------------------------------------ KPIs

# (id, name, perspective, objective, unit, direction, baseline, target, owner, deadline in days after `end`)
KPIS: tuple[tuple[str, str, str, str, str | None, str, float, float | None, str | None, int | None], ...] = (
    ("K-01", "Revenue per order", "financial", "Grow profitable revenue", "EUR", "increase", 48, 52, "Stefan Vogel",
     180),
    ("K-02", "Fulfilment cost per order", "financial", "Cut the cost to serve", "EUR", "decrease", 6.8, 6.0,
     "Anna Becker", 120),
    ("K-03", "Gross margin", "financial", "Grow profitable revenue", "%", "increase", 31, 33, "Stefan Vogel", 200),
    ("K-04", "Inventory days on hand", "financial", "Free up working capital", "days", "decrease", 48, 40,
     "Emma Krüger", 150),
    ("K-05", "Freight cost share of revenue", "financial", "Cut the cost to serve", "%", "decrease", 7.5, 6.5,
     "Julia Peters", 90),
    ("K-06", "Days sales outstanding (B2B)", "financial", "Free up working capital", "days", "decrease", 38, 30, None,
     160),
    ("K-07", "Order pick-to-ship time", "internal_process", "Ship every order the same day", "hours", "decrease", 10,
     6, "Lukas Fischer", 45),
    ("K-08", "Shipping on-time rate", "internal_process", "Keep every delivery promise", "%", "increase", 96, 98,
     "Julia Peters", 60),
    ("K-09", "Orders processed within 24 h", "internal_process", "Ship every order the same day", "%", "increase", 96,
     98.5, "Hannah Braun", 120),
    ("K-10", "Pick accuracy", "internal_process", "Get every order right", "%", "increase", 99.2, 99.7, "Jan Krause",
     150),
    ("K-11", "Inventory accuracy", "internal_process", "Get every order right", "%", "increase", 97.5, 99.0,
     "Lukas Fischer", 210),
    ("K-12", "Dock-to-stock time", "internal_process", "Ship every order the same day", "hours", "decrease", 30, 20,
     "Paul Zimmermann", None),
    ("K-13", "Return processing time", "internal_process", "Make returns effortless", "days", "decrease", 6, 4,
     "Clara Neumann", 100),
    ("K-14", "Mean time to resolve SEV1/SEV2", "internal_process", "Run reliable systems", "hours", "decrease", 6, 4,
     "Jonas Weber", 90),
    ("K-15", "Change failure rate", "internal_process", "Run reliable systems", "%", "decrease", 18, 12,
     "Felix Schmidt", 180),
    ("K-16", "Checkout availability", "internal_process", "Run reliable systems", "%", "increase", 99.8, 99.95,
     "Lea Hoffmann", 120),
    ("K-17", "Warehouse throughput", "internal_process", "Grow without adding halls", "orders/day", "increase", 220,
     280, "Hannah Braun", 240),
    ("K-18", "Supplier on-time delivery", "internal_process", "Keep every delivery promise", "%", "increase", 93, 95,
     "Julia Peters", 150),
    ("K-19", "Perfect order rate", "internal_process", "Get every order right", "%", "increase", 91, 95,
     "Anna Becker", 200),
    ("K-20", "Packaging waste per order", "internal_process", "Halve packaging waste", None, "decrease", 180, 140,
     None, 250),
    ("K-21", "Net promoter score", "customer", "Customers recommend us", "points", "increase", 32, 40, "Marie Lange",
     270),
    ("K-22", "Customer satisfaction (CSAT)", "customer", "Customers recommend us", "%", "increase", 86, 90,
     "Marie Lange", 180),
    ("K-23", "First response within 24 h", "customer", "Answer every customer fast", "%", "increase", 95, 97,
     "Sara Meier", 90),
    ("K-24", "Repeat purchase rate", "customer", "Customers come back", "%", "increase", 28, 32, "Felix Schmidt", 240),
    ("K-25", "Return rate", "customer", "Make returns effortless", "%", "decrease", 12, 10, "Clara Neumann", 200),
    ("K-26", "Complaints per 1,000 orders", "customer", "Customers recommend us", "count", "decrease", 9, 6,
     "Nina Köhler", None),
    ("K-27", "Delivery promise accuracy", "customer", "Keep every delivery promise", "%", "increase", 95, 97.5,
     "Mia Wagner", 150),
    ("K-28", "App store rating", "customer", "Customers recommend us", "stars", "increase", 4.1, None, None, 300),
    ("K-29", "Employee engagement", "learning_growth", "A place people want to work", "%", "increase", 68, 75,
     "Aylin Demir", 270),
    ("K-30", "Training hours per employee", "learning_growth", "Build skills", "hours", "increase", 12, 20,
     "Aylin Demir", 200),
    ("K-31", "Voluntary turnover", "learning_growth", "A place people want to work", "%", "decrease", 18, 14,
     "Aylin Demir", 300),
    ("K-32", "Lost-time injuries in the warehouse", "learning_growth", "Zero harm", "count", "decrease", 6, 2,
     "Paul Zimmermann", 180),
    ("K-33", "Runbooks tested in the last 180 days", "learning_growth", "Be ready for the bad day", "%", "increase", 55,
     90, "Jonas Weber", 120),
    ("K-34", "Manual reports automated", "learning_growth", "Automate the routine", "%", "increase", 20, 60, None,
     240),
    ("K-35", "Internal promotions share", "learning_growth", "Build skills", "%", "increase", 25, 35, "Aylin Demir",
     None),
    ("K-36", "Cross-trained warehouse staff", "learning_growth", "Build skills", None, "increase", 30, 50,
     "Hannah Braun", 150),
    ("K-37", "Postmortems completed on time", "learning_growth", "Learn from every incident", "%", "increase", 70, 95,
     "Jonas Weber", 90),
    ("K-38", "Open vacancies", "learning_growth", "A place people want to work", "count", "decrease", 14, 6,
     "Aylin Demir", 180),
    ("K-39", "Improvement ideas implemented", "learning_growth", "Automate the routine", "count", "increase", 5, None,
     None, None),
    ("K-40", "Renewable energy share", "learning_growth", "Zero harm", None, "increase", 40, 80, "Max Walter", 365),
)  # fmt: skip


def _kpis(rng: np.random.Generator, cal: _Calendar) -> tuple[pa.Table, pa.Table]:
    end = _day(cal.end)
    kpis = pa.table(
        {
            "kpi_id": [k[0] for k in KPIS],
            "name": [k[1] for k in KPIS],
            "perspective": [k[2] for k in KPIS],
            "objective": [k[3] for k in KPIS],
            "unit": pa.array([k[4] for k in KPIS], type=pa.string()),
            "direction": [k[5] for k in KPIS],
            "baseline": pa.array([float(k[6]) for k in KPIS]),
            "target": pa.array([None if k[7] is None else float(k[7]) for k in KPIS], type=pa.float64()),
            "owner": pa.array([k[8] for k in KPIS], type=pa.string()),
            "deadline": pa.array([None if k[9] is None else end + k[9] for k in KPIS], type=pa.date32()),
        }
    )
    u = np.arange(DAYS) / (DAYS - 1)
    ids: list[np.ndarray] = []
    values: list[np.ndarray] = []
    for kpi_id, _, _, _, _, direction, baseline, target, _, _ in KPIS:
        sign = 1 if direction == "increase" else -1
        gap = (target - baseline) if target is not None else sign * 0.05 * baseline
        path = baseline + gap * float(rng.uniform(0.45, 0.9)) * u
        if kpi_id == "K-07":  # pick-to-ship time drifts the wrong way: the pack bottleneck
            path = baseline + 0.8 * u
        if kpi_id == "K-08":  # shipping on-time follows Swiftline down
            late = 0.40 * _swiftline_late(cal, np.arange(DAYS)) + 0.6 * 0.018
            path = 100 * (1 - late) - 0.3
        noise = 0.05 * abs(gap) if kpi_id != "K-08" else 0.4
        values.append(np.round(path + noise * rng.standard_normal(DAYS), 2))
        ids.append(np.full(DAYS, kpi_id))
    kpi_ids = np.concatenate(ids)
    observed = np.tile(np.arange(DAYS), len(KPIS)) + cal.first_epoch_day
    value = np.concatenate(values)
    # Dirty: a double upload for K-12 on one day, with a different value.
    twice = int(np.flatnonzero(kpi_ids == "K-12")[200])
    kpi_ids = np.insert(kpi_ids, twice + 1, kpi_ids[twice])
    observed = np.insert(observed, twice + 1, observed[twice])
    value = np.insert(value, twice + 1, round(float(value[twice]) * 1.1, 2))
    observations = pa.table(
        {
            "kpi_id": pa.array(kpi_ids, type=pa.string()),
            "observed_on": _dates(observed),
            "value": pa.array(value),
        }
    )
    return kpis, observations


# ----------------------------------------------------------------------------------------------- the workspace


def _config(fmt: str, seed: int, end: date, scale: float) -> dict[str, Any]:
    sources: dict[str, Any] = {}
    for name in DATASETS:
        sources[name] = _incident_source(fmt) if name == "incidents" else {"type": fmt, "path": f"data/{name}.{fmt}"}
    return {
        "company": COMPANY,
        "timezone": TIMEZONE,
        "currency": "EUR",
        "sources": sources,
        "quality": {"max_quarantine_share": 0.05},
        "slack": {
            "default_channel": "#ops",
            "channels": {
                "weekly-audit": "#ops-weekly",
                "data-check": "#ops-data-quality",
                "vendor-sla-review": "#vendor-management",
                "contingency-drill": "#bcp-drills",
                "daily-brief": "#ops-daily",
                "problem-solution-metrics": "#sre-problems",
                "risk-aware-planning": "#pmo",
                "operational-transformation": "#ops-transformation",
                "improvement-initiative": "#ops-transformation",
                "risk-assessment": "#risk-committee",
                "performance-review": "#ops-leadership",
            },
            "severity_channels": {
                "SEV1": "#inc-critical",
                "SEV2": "#inc-major",
                "SEV3": "#ops-incidents",
                "SEV4": "#ops-incidents",
            },  # fmt: skip
            "alerts_channel": "#opsflow-alerts",
        },
        "vendor_scoring": {"delivery": 0.5, "quality": 0.3, "responsiveness": 0.2},
    }


def _csv_ready(table: pa.Table) -> pa.Table:
    """Timestamps as local ISO 8601 text with the offset, the way the company's exports carry them."""
    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_timestamp(field.type):
            chunk = column.combine_chunks()
            seconds = chunk.cast(pa.int64()).fill_null(0).to_numpy()
            valid = chunk.is_valid().to_numpy(zero_copy_only=False)
            columns.append(_clock_text(seconds, valid))
        else:
            columns.append(column)
    return pa.table(columns, names=table.column_names)


def _write(table: pa.Table, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        pq.write_table(table, path, compression="zstd")
    else:
        pacsv.write_csv(_csv_ready(table), path)


def write_sample(
    out: Path,
    scale: float = 1.0,
    seed: int = 7,
    end: date | None = None,
    fmt: Literal["csv", "parquet"] = "csv",
    marked: bool = True,
) -> dict[str, int]:
    """Write Northwind Supply's year of data and its opsflow.yaml to `out`; return rows written per dataset.

    `end` (default: the Sunday ending the last complete week) is the last day of data; the same seed, end and
    scale give byte-identical files. `marked` writes `sample: true` into opsflow.yaml, so the made-up company is
    never posted to a real Slack unless a run opts in.
    """
    if scale <= 0:
        raise ValueError(f"scale must be positive, not {scale}")
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be csv or parquet, not {fmt!r}")
    # By default the data ends with the last complete week, the one `weekly-audit` audits by default, so a first
    # run finds every story (an open major incident at the end, a postmortem overdue in that week...).
    end = end or last_complete_week_end(date.today())
    cal = _calendar(end)

    def rng(stream: int) -> np.random.Generator:
        return np.random.default_rng([seed, stream])

    incidents, outages = _incidents(rng(1), cal, scale)
    ops = _operations(rng(2), cal, scale)
    projects, project_tasks = _projects(rng(5), cal)
    kpis, kpi_observations = _kpis(rng(7), cal)
    tables = {
        "services": _services(cal),
        "vendors": _vendors(cal),
        "incidents": incidents,
        "sla_events": _sla_events(rng(3), cal, ops, outages, scale),
        "vendor_deliveries": _vendor_deliveries(rng(4), cal, ops, scale),
        "process_events": ops.events,
        "projects": projects,
        "project_tasks": project_tasks,
        "risks": _risks(rng(6), cal),
        "kpis": kpis,
        "kpi_observations": kpi_observations,
    }
    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {}
    for name in DATASETS:
        _write(tables[name], data / f"{name}.{fmt}", fmt)
        rows[name] = tables[name].num_rows
    header = (
        f"# {COMPANY}: a sample workspace written by `opsflow sample` (seed {seed}, scale {scale:g}, "
        f"data up to {end.isoformat()}).\n"
    )
    if marked:
        header += (
            "# `sample: true`: made-up data, so nothing is posted to Slack from here unless a run opts in with\n"
            "# `opsflow run --post-sample` (or OPSFLOW_POST_SAMPLE=true); the payload is saved next to the report.\n"
        )
    else:
        header += "# Set SLACK_BOT_TOKEN and every flow posts to the channels below.\n"
    config = _config(fmt, seed, end, scale)
    if marked:
        config = {"company": config.pop("company"), "sample": True, **config}
    text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=120)
    (out / CONFIG_FILE).write_text(header + text, encoding="utf-8")
    # Imported here: the drill scenarios belong to the continuity flow, which the generator does not otherwise need.
    from tasks.continuity.scenarios import write_sample_drills
    from tasks.project_management.planning import write_sample_initiative

    write_sample_drills(out)
    write_sample_initiative(out)
    return rows
