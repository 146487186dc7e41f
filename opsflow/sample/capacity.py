"""Daily utilization of the sample company's capacity-bound resources (the `capacity` dataset), with a disk filling
up, a CPU safe only at today's growth, a connection pool over its threshold and a one-day CPU spike."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from opsflow.sample.common import DAYS, MINUTE, Calendar, timestamp_column

ROLLUP_BEFORE_MIDNIGHT = 6 * MINUTE
"""Each day's p95 rollup is stamped 6 minutes before its local day ends (counted back from the next midnight, so a
23- or 25-hour DST day keeps its rollup)."""
SPIKE_SHARE = 0.01
"""Share of days with a spike (a batch job, a runaway query): a least-squares line would chase them."""
QUIET_DAYS = 14
"""The last two weeks have no random spike, so the one planted in the last week is the only one there."""


@dataclass(frozen=True)
class _Resource:
    name: str
    service: str
    level: float  # trend utilization on `end`
    growth: float  # trend utilization points per day (0.001 = 0.7 points a week)
    weekly: float = 0.0  # weekday / weekend swing, as a share of the level
    noise: float = 0.01  # daily p95 noise, utilization points
    unit: str | None = None  # usage and limit exported in this unit instead of a utilization ratio
    limit: float = 0.0
    threshold: float | None = None  # empty: the contract's 0.8
    grows_since: int = DAYS  # days before `end` the growth started; flat before
    step_days_ago: int = 0  # the level was `step` lower before this many days before `end`
    step: float = 0.0
    spike_days_ago: int | None = None  # a planted one-day spike to 0.97
    silent_days: int = 0  # the export stopped this many days before `end`


DISK_GROWTH = "customer-db disk"
"""Fills up 1.75 points a week from 73%: crosses 80% in about four weeks."""
WHAT_IF = "order-service cpu"
"""Near 60% and barely growing: safe at today's growth, crosses 80% within 90 days at +15% a month."""
OVER = "payments-gateway db connection pool"
"""Jumped to 84% of its 200 connections ten weeks ago (traffic from a new acquirer); its threshold is 75%."""
SPIKE = "storefront cpu"
"""Steady near 46%, one spike to 97% last Thursday: not over its threshold, not crossing it."""
STALE = "erp batch disk"
"""Its export stopped 12 days before the end."""

RESOURCES: tuple[_Resource, ...] = (
    _Resource(DISK_GROWTH, "customer-db", 0.73, 0.0025, noise=0.004, unit="GB", limit=2000, grows_since=150),
    _Resource(WHAT_IF, "order-service", 0.58, 0.0004, weekly=0.08, noise=0.015),
    _Resource(
        OVER,
        "payments-gateway",
        0.84,
        0.0,
        noise=0.015,
        unit="connections",
        limit=200,
        threshold=0.75,
        step_days_ago=70,
        step=0.29,
    ),  # fmt: skip
    _Resource(SPIKE, "storefront", 0.46, 0.0, weekly=0.1, noise=0.015, spike_days_ago=3),
    _Resource(STALE, "erp", 0.5, 0.0005, noise=0.005, unit="GB", limit=800, silent_days=12),
    _Resource("k8s cluster cpu", "cloud-platform", 0.42, 0.0002, weekly=0.06),
    _Resource("k8s cluster memory", "cloud-platform", 0.45, 0.0001, noise=0.008),
    _Resource("object storage", "cloud-platform", 0.30, 0.0004, noise=0.002, unit="TB", limit=100),
    _Resource("core uplink bandwidth", "core-network", 0.38, 0.0001, weekly=0.12, unit="Gbit/s", limit=10),
    _Resource("identity cpu", "identity", 0.20, 0.0001, weekly=0.1),
    _Resource("customer-db cpu", "customer-db", 0.35, 0.0003, weekly=0.1),
    _Resource("customer-db memory", "customer-db", 0.44, 0.0, noise=0.006),
    _Resource(
        "customer-db connection pool",
        "customer-db",
        0.32,
        0.0001,
        weekly=0.1,
        unit="connections",
        limit=500,
        threshold=0.75,
    ),  # fmt: skip
    _Resource("order-service memory", "order-service", 0.38, 0.0001, noise=0.008),
    _Resource("checkout cpu", "checkout", 0.30, 0.0002, weekly=0.12),
    _Resource("payments-gateway cpu", "payments-gateway", 0.28, 0.0001, weekly=0.1),
    _Resource("inventory-service cpu", "inventory-service", 0.33, 0.0, weekly=0.08),
    _Resource("wms db disk", "wms", 0.41, 0.0006, noise=0.003, unit="GB", limit=1000),
    _Resource("wms cpu", "wms", 0.36, 0.0001, weekly=0.15),
    _Resource("search index disk", "search", 0.47, 0.0008, noise=0.003, unit="GB", limit=500),
    _Resource("search memory", "search", 0.40, 0.0002, noise=0.008),
    _Resource(
        "shipping-label worker pool",
        "shipping-label",
        0.35,
        0.0001,
        weekly=0.12,
        unit="workers",
        limit=64,
        threshold=0.75,
    ),  # fmt: skip
    _Resource("data-warehouse disk", "data-warehouse", 0.38, 0.0005, noise=0.003, unit="TB", limit=40),
    _Resource("data-warehouse cpu", "data-warehouse", 0.25, -0.0003, weekly=0.05),
    _Resource("email worker pool", "email", 0.22, 0.0, weekly=0.1, unit="workers", limit=32, threshold=0.75),
)


def _series(rng: np.random.Generator, r: _Resource, weekday: np.ndarray) -> np.ndarray:
    """One resource's daily p95 utilization over the year, oldest first."""
    days_before_end = np.arange(DAYS - 1, -1, -1)
    trend = r.level - r.growth * np.minimum(days_before_end, r.grows_since)
    if r.step_days_ago:
        trend = trend - np.where(days_before_end >= r.step_days_ago, r.step, 0.0)
    # Zero over a week (+0.4 on five weekdays, -1 on two weekend days), so the weekly pattern adds no level.
    season = r.weekly * np.where(weekday < 5, 0.4, -1.0)
    values = trend * (1 + season) + r.noise * rng.standard_normal(DAYS)
    spikes = (rng.random(DAYS) < SPIKE_SHARE) & (days_before_end >= QUIET_DAYS)
    values = values + spikes * rng.uniform(0.15, 0.4, DAYS)
    if r.spike_days_ago is not None:
        values[DAYS - 1 - r.spike_days_ago] = 0.97
    return np.clip(values, 0.01, 1.0)


def capacity_table(rng: np.random.Generator, cal: Calendar) -> pa.Table:
    """Every resource's daily p95 utilization over the sample's year, stamped at the end of its local day."""
    weekday = cal.weekday()
    at = cal.midnight[1 : DAYS + 1] - ROLLUP_BEFORE_MIDNIGHT
    names: list[str] = []
    services: list[str] = []
    times: list[np.ndarray] = []
    ratios: list[np.ndarray] = []
    usages: list[np.ndarray] = []
    limits: list[np.ndarray] = []
    units: list[str | None] = []
    thresholds: list[np.ndarray] = []
    for r in RESOURCES:
        values = _series(rng, r, weekday)[: DAYS - r.silent_days]
        n = len(values)
        names += [r.name] * n
        services += [r.service] * n
        units += [r.unit] * n
        times.append(at[:n])
        if r.unit is None:
            ratios.append(np.round(values, 4))
            usages.append(np.full(n, np.nan))
            limits.append(np.full(n, np.nan))
        else:
            ratios.append(np.full(n, np.nan))
            usages.append(np.round(values * r.limit, 1))
            limits.append(np.full(n, float(r.limit)))
        thresholds.append(np.full(n, np.nan if r.threshold is None else r.threshold))
    ratio, usage, limit, threshold = (np.concatenate(p) for p in (ratios, usages, limits, thresholds))
    return pa.table(
        {
            "resource": pa.array(names, type=pa.string()),
            "service": pa.array(services, type=pa.string()),
            "measured_at": timestamp_column(np.concatenate(times)),
            "utilization": pa.array(ratio, mask=np.isnan(ratio)),
            "usage": pa.array(usage, mask=np.isnan(usage)),
            "limit": pa.array(limit, mask=np.isnan(limit)),
            "unit": pa.array(units, type=pa.string()),
            "threshold": pa.array(threshold, mask=np.isnan(threshold)),
        }
    )
