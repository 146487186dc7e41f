"""Service-tier SLOs: each service's latency and error-rate objectives (its tier's, or its own) and the good and
total counts its request metrics give them, in the shape the SLA section judges every SLO by."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
    return _objectives([service], services)[service]


def _objectives(names: Iterable[str], services: pd.DataFrame | None) -> dict[str, ServiceObjectives]:
    tiers = tier_of(services)
    own = {c: _per_service(services, c) for c in ("latency_threshold_seconds", "latency_objective", "error_rate_max")}
    found = {}
    for service in names:
        tier = TIERS.get(tiers.get(service, DEFAULT_TIER), TIERS[DEFAULT_TIER])
        found[service] = ServiceObjectives(
            latency_threshold_seconds=own["latency_threshold_seconds"].get(service, tier.latency_threshold_seconds),
            latency_objective=own["latency_objective"].get(service),
            error_rate_max=own["error_rate_max"].get(service, tier.error_rate_max),
        )
    return found


def within(text: str, threshold: float) -> float:
    """Requests at or below `threshold` seconds in one cumulative histogram (see `within_many`)."""
    return float(within_many(pd.Series([text]), pd.Series([threshold]))[0])


NUMBER = r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"
"""A decimal number as a histogram writes its bounds and counts."""


def within_many(texts: pd.Series, thresholds: pd.Series) -> np.ndarray:
    """Requests at or below each threshold (seconds) in each `bound:count;...` cumulative histogram, interpolated
    linearly inside the bucket that holds the threshold (as Prometheus' histogram_quantile does), from 0 s for the
    first bucket; nothing is known inside the +Inf bucket, so only the requests below its lower bound count. NaN for
    a histogram that cannot be read. Vectorised: an hourly export holds tens of thousands of histograms."""
    n = len(texts)
    # Split in Arrow (C++): pandas' string methods loop in Python, a second per 25,000 histograms.
    lists = pc.split_pattern(pa.array(texts.astype(object).to_numpy(), type=pa.string()), ";")
    pairs = pc.utf8_trim_whitespace(pc.list_flatten(lists))
    row = np.asarray(pc.list_parent_indices(lists))
    keep = np.asarray(pc.not_equal(pairs, "").fill_null(False), dtype=bool)
    pairs, row = pairs.filter(pa.array(keep)), row[keep]
    halves = pc.split_pattern(pairs, ":", max_splits=1)
    whole = np.asarray(pc.equal(pc.list_value_length(halves), 2).fill_null(False), dtype=bool)
    halves, row_kv = halves.filter(pa.array(whole)), row[whole]
    bound_text = pc.utf8_lower(pc.utf8_trim_whitespace(pc.list_element(halves, 0)))
    count_text = pc.utf8_trim_whitespace(pc.list_element(halves, 1))
    infinite = pc.is_in(bound_text, value_set=pa.array(["+inf", "inf"]))
    bound_ok = pc.or_(infinite, pc.match_substring_regex(bound_text, NUMBER))
    count_ok = pc.match_substring_regex(count_text, NUMBER)
    finite = pc.cast(pc.if_else(pc.and_not(bound_ok, infinite), bound_text, "0"), pa.float64())
    bound = pc.if_else(infinite, np.inf, finite)
    count = pc.cast(pc.if_else(count_ok, count_text, "0"), pa.float64())
    df = pd.DataFrame({"row": row_kv, "bound": np.asarray(bound), "count": np.asarray(count)})
    readable = np.asarray(pc.and_(bound_ok, count_ok), dtype=bool)
    broken = np.union1d(row_kv[~readable], row[~whole])
    df = df[~df["row"].isin(broken)].sort_values(["row", "bound"], kind="stable")
    df["t"] = thresholds.to_numpy(dtype=float)[df["row"].to_numpy()]
    by_row = df.groupby("row", sort=False)
    df["lower"] = by_row["bound"].shift(fill_value=0.0)
    df["below"] = by_row["count"].shift(fill_value=0.0)
    result = np.full(n, np.nan)
    last = by_row["count"].last()
    result[last.index.to_numpy()] = last.to_numpy()  # a threshold above every bound: every request is within
    holding = df[df["bound"] >= df["t"]].groupby("row", sort=False).head(1)
    width = (holding["bound"] - holding["lower"]).to_numpy()
    inside = holding["below"].to_numpy() + (holding["count"] - holding["below"]).to_numpy() * np.divide(
        (holding["t"] - holding["lower"]).to_numpy(), width, out=np.zeros(len(holding)), where=width > 0
    )
    value = np.where(
        holding["bound"].to_numpy() == holding["t"].to_numpy(),
        holding["count"].to_numpy(),
        np.where(np.isfinite(holding["bound"].to_numpy()), inside, holding["below"].to_numpy()),
    )
    result[holding["row"].to_numpy()] = value
    result[broken.astype(int)] = np.nan
    return result


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
    limits = _objectives(service.unique(), services)
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
    read = within_many(buckets[has_histogram], threshold[has_histogram])
    # A histogram that cannot be read leaves its interval to the p95 value, when the row has one.
    has_histogram[has_histogram] = ~np.isnan(read)
    good_requests = np.minimum(read[~np.isnan(read)], requests[has_histogram].to_numpy())
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
