"""The vendors with their contracts (the `vendors` dataset), and the carriers and suppliers the operations use."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from opsflow.sample.common import DAYS, Calendar, epoch_day


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
VENDOR_INDEX = {v.id: i for i, v in enumerate(VENDORS)}

# Carriers that ship customer orders: share of parcels, promised transit days, late share.
CARRIERS = (("V-1001", 0.40, 2, 0.03), ("V-1002", 0.30, 2, 0.015), ("V-1003", 0.15, 3, 0.025),
            ("V-1004", 0.10, 2, 0.02), ("V-1005", 0.05, 1, 0.01))  # fmt: skip
_SWIFTLINE_FINAL_LATE = 0.22  # late share on `end`; the decay starts 90 days before and accelerates (quadratic)

# Goods-in from suppliers: volume weight, on-time share, share with a quality problem, median quantity.
SUPPLIERS = (
    ("V-1006", 0.02, 0.915, 0.03, 18), ("V-1101", 0.07, 0.965, 0.02, 3000), ("V-1102", 0.04, 0.95, 0.03, 2000),
    ("V-1103", 0.03, 0.93, 0.04, 800), ("V-1104", 0.02, 0.97, 0.02, 5000), ("V-1401", 0.10, 0.95, 0.04, 120),
    ("V-1402", 0.09, 0.94, 0.03, 90), ("V-1403", 0.08, 0.96, 0.04, 150), ("V-1404", 0.09, 0.95, 0.05, 110),
    ("V-1405", 0.10, 0.89, 0.04, 200), ("V-1406", 0.06, 0.93, 0.03, 80), ("V-1407", 0.07, 0.94, 0.15, 140),
    ("V-1408", 0.10, 0.95, 0.05, 160), ("V-1409", 0.06, 0.96, 0.03, 100), ("V-1410", 0.07, 0.97, 0.02, 250),
)  # fmt: skip


def swiftline_late(cal: Calendar, day: np.ndarray) -> np.ndarray:
    """Late share of Swiftline parcels shipped on each day: 3%, decaying over the last 90 days to 22% (quadratic)."""
    x = np.clip((day - (DAYS - 1 - 90)) / 90, 0, 1)
    return 0.03 + (_SWIFTLINE_FINAL_LATE - 0.03) * x**2


def vendors_table(cal: Calendar) -> pa.Table:
    """The vendors, their contract dates counted from `end` and their service-credit clauses."""
    end = epoch_day(cal.end)
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
