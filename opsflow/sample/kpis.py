"""The balanced-scorecard KPIs and a year of daily observations (`kpis`, `kpi_observations`)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from opsflow.sample.common import DAYS, Calendar, date_column, epoch_day
from opsflow.sample.vendors import swiftline_late

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


KPI_SOURCES = {"K-16": "sla.uptime/checkout.compliance_30d", "K-18": "vendors.ontime.30d"}
"""KPIs that read a figure opsflow computes (one truth with the SLA and vendor sections), not their own series."""


def kpis_tables(rng: np.random.Generator, cal: Calendar) -> tuple[pa.Table, pa.Table]:
    """The KPI definitions and their daily observations over the year."""
    end = epoch_day(cal.end)
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
            "source": pa.array([KPI_SOURCES.get(k[0]) for k in KPIS], type=pa.string()),
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
            late = 0.40 * swiftline_late(cal, np.arange(DAYS)) + 0.6 * 0.018
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
            "observed_on": date_column(observed),
            "value": pa.array(value),
        }
    )
    return kpis, observations
