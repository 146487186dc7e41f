"""Service-tier SLOs: each service's latency and error-rate objectives (its tier's, or its own) and the good and
total counts its request metrics give them, in the shape the SLA section judges every SLO by."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from opsflow.openslo import REQUEST_CATEGORIES, SloObjective

LATENCY, LATENCY_P95, ERROR_RATE = REQUEST_CATEGORIES
"""latency: requests within the threshold (latency histograms); latency_p95: intervals whose p95 is within it
(exports with percentiles only); error_rate: requests that did not fail."""
__all__ = ["REQUEST_CATEGORIES", "service_slis", "service_slos"]

LATENCY_PERCENTILE = 0.95
"""The latency SLOs are p95 objectives: 95% of requests within the threshold is p95 <= threshold."""
WINDOW_OBJECTIVE = 0.99
"""Without a histogram only each interval's p95 is known: the SLO is then that 99% of intervals have their p95
within the threshold (a windows-based SLO)."""


@dataclass(frozen=True)
class TierObjectives:
    """The operations director's targets for one tier."""

    uptime: float
    latency_threshold_seconds: float
    error_rate_max: float


TIERS: dict[str, TierObjectives] = {
    "critical": TierObjectives(uptime=0.999, latency_threshold_seconds=2.0, error_rate_max=0.001),
    "standard": TierObjectives(uptime=0.995, latency_threshold_seconds=5.0, error_rate_max=0.01),
}
DEFAULT_TIER = "standard"
"""A service the catalogue does not list, or lists without a tier, is held to the standard tier's objectives."""

DEFINITIONS: dict[str, str] = {
    "service tier objectives": (
        "critical: uptime 99.9%, p95 response time under 2 s, error rate under 0.1%; standard: uptime 99.5%, p95 "
        "under 5 s, error rate under 1% (the operations director's targets). A service's own "
        "latency_threshold_seconds or error_rate_max in the catalogue, or an OpenSLO file in slos/, overrides them; "
        "a service missing from the catalogue is held to the standard tier."
    ),
    "latency SLO": (
        "p95 within the threshold. From a latency histogram: good = requests at or below the threshold (linear "
        "interpolation inside the bucket holding it), objective 95% of requests. From p95 values only "
        "(category latency_p95): an interval is good when its p95 is within the threshold, objective 99% of "
        "intervals. An interval counts in the period its last instant falls in."
    ),
    "error-rate SLO": (
        "good = requests - errors over requests, objective 1 - the highest acceptable error rate (99.9% critical, "
        "99% standard). Intervals without an error count are left out."
    ),
}


def tier_of(services: pd.DataFrame | None) -> dict[str, str]:
    """Each catalogued service's tier."""
    if services is None or services.empty or "tier" not in services.columns:
        return {}
    listed = services.dropna(subset=["tier"])
    return dict(zip(listed["service_id"].astype(str), listed["tier"].astype(str), strict=True))


def _per_service(services: pd.DataFrame | None, column: str) -> dict[str, float]:
    if services is None or services.empty or column not in services.columns:
        return {}
    listed = services.dropna(subset=[column])
    return dict(zip(listed["service_id"].astype(str), listed[column].astype(float), strict=True))


@dataclass(frozen=True)
class ServiceObjectives:
    """One service's request-metric objectives: its own where the catalogue (or an OpenSLO file) sets them, else its
    tier's."""

    latency_threshold_seconds: float
    latency_objective: float | None
    """None: 0.95 of requests from histograms, 0.99 of intervals from p95 values."""
    error_rate_max: float


def objectives_for(service: str, services: pd.DataFrame | None) -> ServiceObjectives:
    """The latency threshold, latency objective and highest acceptable error rate of one service."""
    tier = TIERS.get(tier_of(services).get(service, DEFAULT_TIER), TIERS[DEFAULT_TIER])
    return ServiceObjectives(
        latency_threshold_seconds=_per_service(services, "latency_threshold_seconds").get(
            service, tier.latency_threshold_seconds
        ),
        latency_objective=_per_service(services, "latency_objective").get(service),
        error_rate_max=_per_service(services, "error_rate_max").get(service, tier.error_rate_max),
    )


def parse_buckets(text: str) -> tuple[np.ndarray, np.ndarray]:
    """A `bound:count;...` cumulative histogram as (bounds, counts), sorted by bound; `+Inf` is infinity."""
    bounds, counts = [], []
    for pair in str(text).split(";"):
        if not pair.strip():
            continue
        bound, _, count = pair.partition(":")
        bound = bound.strip()
        bounds.append(np.inf if bound.lower() in ("+inf", "inf") else float(bound))
        counts.append(float(count))
    order = np.argsort(bounds, kind="stable")
    return np.asarray(bounds)[order], np.asarray(counts)[order]


def within(text: str, threshold: float) -> float:
    """Requests at or below `threshold` seconds in a cumulative histogram, interpolated linearly inside the bucket
    that holds it (as Prometheus' histogram_quantile does), from 0 s for the first bucket."""
    bounds, counts = parse_buckets(text)
    if len(bounds) == 0:
        return float("nan")
    if threshold >= bounds[-1]:
        return float(counts[-1])
    k = int(np.searchsorted(bounds, threshold, side="left"))
    if bounds[k] == threshold:
        return float(counts[k])
    lower, below = (bounds[k - 1], counts[k - 1]) if k > 0 else (0.0, 0.0)
    upper = bounds[k]
    if not np.isfinite(upper):
        # Nothing is known inside the +Inf bucket: only the requests below its lower bound are within.
        return float(below)
    return float(below + (counts[k] - below) * (threshold - lower) / (upper - lower))


def service_slis(service_metrics: pd.DataFrame | None, services: pd.DataFrame | None = None) -> pd.DataFrame:
    """The latency and error-rate SLIs of every interval: category, service, measured_at (the interval's last instant),
    good, total and objective, one row per interval and SLO that has the data for it."""
    if service_metrics is None or service_metrics.empty:
        return _no_slis()
    m = service_metrics
    # An interval is counted at its last instant: it is complete only once its end has passed, and its end itself is
    # the next interval's first instant (so an hourly interval ending at midnight belongs to the day before).
    ends = (
        m["interval_start"] + pd.to_timedelta(m["interval_minutes"].astype(float), unit="min") - pd.Timedelta(1, "us")
    )
    service = m["service"].astype(str)
    names = service.unique()
    limits = {s: objectives_for(s, services) for s in names}
    threshold = service.map({s: v.latency_threshold_seconds for s, v in limits.items()}).astype(float)
    error_max = service.map({s: v.error_rate_max for s, v in limits.items()}).astype(float)
    own = service.map({s: v.latency_objective for s, v in limits.items()}).astype(float)
    requests = m["requests"].astype(float)

    counted = m["errors"].notna() & (requests > 0)
    errors = pd.DataFrame(
        {
            "category": ERROR_RATE,
            "service": service[counted],
            "measured_at": ends[counted],
            "good": (requests - m["errors"].astype(float))[counted],
            "total": requests[counted],
            "objective": (1.0 - error_max)[counted].round(12),
        }
    )

    buckets = m["latency_buckets"] if "latency_buckets" in m.columns else pd.Series(None, index=m.index)
    has_histogram = buckets.notna() & (requests > 0)
    hist = m[has_histogram]
    good_requests = [
        min(within(text, t), r)
        for text, t, r in zip(hist["latency_buckets"], threshold[has_histogram], requests[has_histogram], strict=True)
    ]
    p95 = m["latency_p95_seconds"] if "latency_p95_seconds" in m.columns else pd.Series(np.nan, index=m.index)
    windowed = ~has_histogram & p95.notna() & (requests > 0)
    latency = pd.concat(
        [
            pd.DataFrame(
                {
                    "category": LATENCY,
                    "service": service[has_histogram],
                    "measured_at": ends[has_histogram],
                    "good": np.asarray(good_requests, dtype=float),
                    "total": requests[has_histogram],
                    "objective": own[has_histogram].fillna(LATENCY_PERCENTILE),
                }
            ),
            pd.DataFrame(
                {
                    "category": LATENCY_P95,
                    "service": service[windowed],
                    "measured_at": ends[windowed],
                    "good": (p95[windowed].astype(float) <= threshold[windowed]).astype(float),
                    "total": 1.0,
                    "objective": own[windowed].fillna(WINDOW_OBJECTIVE),
                }
            ),
        ]
    )
    frames = [f for f in (errors, latency) if not f.empty]
    if not frames:
        return _no_slis()
    return pd.concat(frames, ignore_index=True)[list(_no_slis().columns)]


def _no_slis() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "category": pd.Series(dtype=object),
            "service": pd.Series(dtype=object),
            "measured_at": pd.Series(dtype="datetime64[ns, UTC]"),
            "good": pd.Series(dtype="float64"),
            "total": pd.Series(dtype="float64"),
            "objective": pd.Series(dtype="float64"),
        }
    )


def service_slos(service_metrics: pd.DataFrame | None, services: pd.DataFrame | None = None) -> list[SloObjective]:
    """Every service's request-metric SLOs as the reports judge them, for `opsflow slo export`: the SLOs its metrics
    can measure, with its own or its tier's objectives."""
    slis = service_slis(service_metrics, services)
    if slis.empty:
        return []
    # The objective in force is the most frequent one, as in the SLA section.
    counts = slis.groupby(["category", "service", "objective"]).size().reset_index(name="n")
    first = counts.sort_values(["n", "objective"], ascending=False).drop_duplicates(["category", "service"])
    slos = []
    for category, service, objective in zip(first["category"], first["service"], first["objective"], strict=True):
        own = objectives_for(str(service), services)
        threshold = None if category == ERROR_RATE else own.latency_threshold_seconds
        slos.append(SloObjective(str(category), str(service), float(objective), threshold=threshold))
    return sorted(slos, key=lambda s: s.key)
