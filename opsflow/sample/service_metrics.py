"""Request metrics per service and interval (the `service_metrics` dataset): traffic, errors and latency, with a
standard service slowly breaching its 5 s p95 and an error-rate spike on the payments gateway at the end."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from scipy.special import ndtr

from opsflow.sample.common import DAY, HOUR, MINUTE, Calendar, timestamp_column
from opsflow.sample.services import SERVICES

HISTOGRAM_SERVICES = ("search", "storefront", "checkout")
"""Services whose monitoring exports latency histograms; the others export a p95 per interval."""
BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0)
"""Histogram upper bounds in seconds (Prometheus `le` buckets), +Inf after them."""
SIGMA = 0.8
"""Log-normal spread of one interval's response times: p95 = median * exp(1.645 * SIGMA), about 3.7 x the median."""
CREEP_SERVICE = "search"
CREEP_DAYS = 42
"""The search p95 climbs from ~2.8 s to ~7 s over the last 6 weeks (its threshold is 5 s)."""
SPIKE_SERVICE = "payments-gateway"
SPIKE_HOURS = 3
SPIKE_ERROR_RATE = 0.04
"""PayBridge timeouts fail 4% of card payments in the last 3 hours of the data (the objective allows 0.1%)."""


def _interval_minutes(scale: float) -> int:
    """Hourly rollups at scale 1; coarser (up to 4 h) for a small sample, so its file stays small too."""
    return int(min(240, max(60, round(60 / scale / 60) * 60)))


def _histogram(requests: np.ndarray, median: np.ndarray) -> list[str]:
    """Cumulative `le` buckets of log-normal response times with the given medians."""
    bounds = np.asarray(BUCKETS)
    share = ndtr((np.log(bounds)[None, :] - np.log(median)[:, None]) / SIGMA)
    counts = np.floor(share * requests[:, None]).astype(np.int64)
    labels = [f"{b:g}" for b in BUCKETS]
    return [
        ";".join(f"{label}:{c}" for label, c in zip(labels, row, strict=True)) + f";+Inf:{total}"
        for row, total in zip(counts, requests, strict=True)
    ]


def service_metrics_table(
    rng: np.random.Generator, cal: Calendar, outages: list[tuple[str, int, int]], scale: float
) -> pa.Table:
    """Every service's traffic, errors and latency per interval over the sample's year."""
    minutes = _interval_minutes(scale)
    # Counted back from the end, so the last interval closes exactly when the data does (a day's DST hour would
    # otherwise leave it straddling the end, still open).
    starts = np.arange(cal.end_s - minutes * MINUTE, cal.start_s - 1, -minutes * MINUTE, dtype=np.int64)[::-1]
    hour_of_day = ((starts - cal.start_s) % DAY) / HOUR
    # Traffic peaks in the afternoon and is low at night (local time, near enough for a sample).
    diurnal = 0.35 + 0.65 * np.clip(np.sin((hour_of_day - 6) / 24 * 2 * np.pi), 0, None) + 0.1
    days_before_end = (cal.end_s - starts) / DAY
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("service", "start", "requests", "errors", "p95")}
    buckets: list[str | None] = []
    for k, service in enumerate(SERVICES):
        critical = service.tier == "critical"
        base = (4000 if critical else 1500) * (1.0 + (0.15 * k) % 1.0) * minutes / 60
        requests = rng.poisson(base * diurnal).astype(np.int64)
        error_rate = np.full(len(starts), 0.0002 if critical else 0.002)
        median = np.full(len(starts), 0.12 if critical else 0.5) * np.exp(0.15 * rng.standard_normal(len(starts)))
        for name, begin, until in outages:
            if name == service.id:
                # The share of the interval the outage covers: a coarse rollup dilutes a short outage.
                overlap = np.clip(np.minimum(starts + minutes * MINUTE, until) - np.maximum(starts, begin), 0, None)
                share = overlap / (minutes * MINUTE)
                error_rate = np.maximum(error_rate, 0.02 * share)
                median *= 1 + 5 * share
        if service.id == CREEP_SERVICE:
            # A slow creep (index growth, no capacity added): the p95 climbs from ~2.8 s to ~7 s in 6 weeks.
            ramp = np.clip((CREEP_DAYS - days_before_end) / CREEP_DAYS, 0, 1)
            median *= 1.5 * (1 + 1.6 * ramp)
        if service.id == SPIKE_SERVICE:
            spike = starts + minutes * MINUTE > cal.end_s - SPIKE_HOURS * HOUR
            error_rate[spike] = SPIKE_ERROR_RATE
        errors = rng.binomial(requests, error_rate)
        p95 = np.round(median * np.exp(1.645 * SIGMA), 3)
        parts["service"].append(np.full(len(starts), k, dtype=np.int32))
        parts["start"].append(starts)
        parts["requests"].append(requests)
        parts["errors"].append(errors)
        parts["p95"].append(p95)
        if service.id in HISTOGRAM_SERVICES:
            buckets.extend(_histogram(requests, median))
        else:
            buckets.extend([None] * len(starts))
    data = {key: np.concatenate(value) for key, value in parts.items()}
    order = np.lexsort((data["service"], data["start"]))
    names = pa.array([s.id for s in SERVICES], type=pa.string())
    return pa.table(
        {
            "service": names.take(pa.array(data["service"][order])),
            "interval_start": timestamp_column(data["start"][order]),
            "interval_minutes": pa.array(np.full(len(order), minutes, dtype=np.int64)),
            "requests": pa.array(data["requests"][order]),
            "errors": pa.array(data["errors"][order]),
            "latency_p95_seconds": pa.array(data["p95"][order]),
            "latency_buckets": pa.array(buckets, type=pa.string()).take(pa.array(order)),
        }
    )
