"""Service-tier SLOs from request metrics: tier objectives and overrides, histogram and p95 SLIs, and their error
budgets and burn-rate alerts in the SLA section; every figure worked out by hand in a comment."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsflow.period import Period
from tasks.service_levels.objectives import objectives_for, service_slis, service_slos, within
from tasks.service_levels.slo import compute_sla
from tests.helpers import frame

# Week [2026-03-02, 2026-03-09) UTC; 30 days from 2026-02-07.
PERIOD = Period(date(2026, 3, 8))
SERVICES = frame(
    "services",
    [
        dict(service_id="api", name="API", tier="critical"),
        dict(service_id="web", name="Web", tier="standard", error_rate_max=0.05),
        dict(service_id="batch", name="Batch", tier="standard", latency_threshold_seconds=30.0, latency_objective=0.9),
    ],
)


def metric(service: str, start: str, requests: int, errors: int | None = None, **more: Any) -> dict[str, Any]:
    return dict(service=service, interval_start=start, interval_minutes=60, requests=requests, errors=errors, **more)


def test_within_interpolates_inside_the_bucket_like_histogram_quantile() -> None:
    text = "0.5:900;1:980;2:995;+Inf:1000"
    # 1.5 s is halfway through the (1, 2] bucket: 980 + (995 - 980) * 0.5 = 987.5.
    assert within(text, 1.5) == 987.5
    assert within(text, 2) == 995.0  # on a bound: that bound's count
    assert within(text, 0.25) == 450.0  # first bucket from 0 s: 900 * 0.25 / 0.5
    # Nothing is known inside the +Inf bucket: only the 995 requests at or below 2 s are known to be within 5 s.
    assert within(text, 5) == 995.0
    assert within("2:10;1:8;+Inf:12", 1.5) == 9.0  # bounds in any order: 8 + (10 - 8) * 0.5


def test_an_unreadable_histogram_leaves_the_interval_to_its_p95() -> None:
    rows = [
        # "fast:10" is no histogram: the interval is judged by its p95 (1.2 s <= 2 s: a good interval).
        metric("api", "2026-03-08 10:00", 100, 0, latency_buckets="fast:10", latency_p95_seconds=1.2),
        metric("api", "2026-03-08 11:00", 100, 0, latency_buckets="1:80;+Inf:100"),  # 80 + 0 within 2 s: 80
    ]
    slis = service_slis(frame("service_metrics", rows), SERVICES)
    latency = slis[slis["category"].isin(["latency", "latency_p95"])]
    assert sorted(zip(latency["category"], latency["good"], latency["total"], strict=True)) == [
        ("latency", 80.0, 100.0),
        ("latency_p95", 1.0, 1.0),
    ]


def test_tier_objectives_and_a_services_own() -> None:
    api, web, batch, unknown = (objectives_for(s, SERVICES) for s in ("api", "web", "batch", "nope"))
    assert (api.latency_threshold_seconds, api.error_rate_max, api.latency_objective) == (2.0, 0.001, None)
    assert (web.latency_threshold_seconds, web.error_rate_max) == (5.0, 0.05)  # its own error rate, tier latency
    assert (batch.latency_threshold_seconds, batch.latency_objective) == (30.0, 0.9)
    assert (unknown.latency_threshold_seconds, unknown.error_rate_max) == (5.0, 0.01)  # held to standard


def test_slis_from_histograms_p95_values_and_error_counts() -> None:
    rows = [
        # api (critical, 2 s): histogram -> 950 of 1000 within 2 s; 3 errors -> 997 good of 1000.
        metric("api", "2026-03-08 10:00", 1000, 3, latency_buckets="1:900;2:950;5:990;+Inf:1000"),
        # web (standard, 5 s): p95 only, 6.2 s > 5 s -> a bad interval; errors not measured -> no error-rate row.
        metric("web", "2026-03-08 10:00", 500, None, latency_p95_seconds=6.2),
        # batch (30 s, own objective 0.9): p95 12 s -> a good interval held to 0.9.
        metric("batch", "2026-03-08 10:00", 20, 0, latency_p95_seconds=12.0),
        metric("web", "2026-03-08 11:00", 0, 0, latency_p95_seconds=1.0),  # no requests: nothing to judge
    ]
    slis = service_slis(frame("service_metrics", rows), SERVICES)
    got = {(r.category, r.service): (r.good, r.total, r.objective) for r in slis.itertuples()}
    assert got == {
        ("error_rate", "api"): (997.0, 1000.0, 0.999),
        ("latency", "api"): (950.0, 1000.0, 0.95),
        ("latency_p95", "web"): (0.0, 1.0, 0.99),
        ("error_rate", "batch"): (20.0, 20.0, 0.99),
        ("latency_p95", "batch"): (1.0, 1.0, 0.9),
    }
    # Counted at the interval's last instant: 10:00 + 60 min - 1 microsecond.
    assert set(slis["measured_at"]) == {pd.Timestamp("2026-03-08 10:59:59.999999", tz="UTC")}


def spike_log() -> list[dict[str, Any]]:
    return [
        # Previous week: 10,000 requests, 5 errors.
        metric("api", "2026-03-01 10:00", 10_000, 5, latency_buckets="2:10000;+Inf:10000"),
        # The week's last hour, ending exactly at the period end: 1,000 requests, 40 errors (4%).
        metric("api", "2026-03-08 23:00", 1000, 40, latency_buckets="1:900;2:950;5:990;+Inf:1000"),
        # Starts at the period end: not over yet, ignored.
        metric("api", "2026-03-09 00:00", 1000, 1000),
    ]


def test_error_budget_and_fast_burn_page_from_request_counts() -> None:
    events = frame("sla_events", [dict(category="shipping", service="wh1", objective=0.95,
                                       measured_at="2026-03-04 10:00", met=True)])  # fmt: skip
    section = compute_sla(events, PERIOD, SERVICES, service_metrics=frame("service_metrics", spike_log()))
    budgets = {(b.category, b.service): b for b in section.error_budgets}
    errors = budgets[("error_rate", "api")]
    # 30 days: 11,000 requests, 45 failed -> error ratio 45/11,000 = 0.00409; allowed 0.001 -> 4.09x the budget.
    assert (errors.events_30d, errors.failed_30d) == (11_000, 45)
    assert errors.budget_consumed == pytest.approx(45 / 11_000 / 0.001)
    assert errors.slo_status == "breached"
    # The week holds only the last hour: 40/1000 = 0.04 -> burn 40x; the last hour and its last 5 minutes hold
    # the same interval -> 40x over both >= 14.4 -> page (fast).
    assert errors.burn_rate == pytest.approx(40.0)
    assert (errors.alert, errors.alert_rule, errors.burn_1h) == ("page", "fast", pytest.approx(40.0))
    latency = budgets[("latency", "api")]
    # 30 days: 10,000 + 950 within 2 s of 11,000 -> 50 slow; allowed 0.05 -> consumed 50/11,000/0.05 = 0.0909.
    assert (latency.events_30d, latency.failed_30d) == (11_000, 50)
    assert latency.budget_consumed == pytest.approx(50 / 11_000 / 0.05)
    # The overall line counts the one SLA event, not the 1,000 requests; the request SLOs keep their own lines.
    lines = {r.category: r for r in section.by_category}
    assert (lines["all categories"].events, lines["all categories"].compliance) == (1, 1.0)
    assert (lines["error_rate"].events, lines["error_rate"].met) == (1000, 960)
    assert (lines["latency"].events, lines["latency"].met, lines["latency"].compliance) == (1000, 950, 0.95)
    assert any(a.kind == "sla_breached" and "error_rate / api" in a.text for a in section.actions)
    assert "latency SLO" in section.definitions
    # The interval starting at the period end is outside every figure and said so.
    [late] = [b for b in section.basis if b.metric == "sla (all figures)"]
    assert late.rows_excluded == 1


def test_thirteen_week_trend_per_slo() -> None:
    section = compute_sla(None, PERIOD, SERVICES, service_metrics=frame("service_metrics", spike_log()))
    trend = [t for t in section.slo_trend if (t.category, t.service) == ("error_rate", "api")]
    assert len(trend) == 13 and trend[-1].week_ending == date(2026, 3, 8)
    # Last week: 960/1000 < 0.999; the week before: 9,995/10,000 = 0.9995 >= 0.999.
    assert (trend[-1].compliance, trend[-1].meets_objective) == (0.96, False)
    assert (trend[-2].compliance, trend[-2].meets_objective) == (0.9995, True)
    assert all(t.events == 0 and t.compliance is None for t in trend[:-2])


def test_service_slos_as_openslo_objectives() -> None:
    slos = service_slos(frame("service_metrics", spike_log()), SERVICES)
    assert [(s.category, s.service, s.target, s.threshold) for s in slos] == [
        ("error_rate", "api", 0.999, None),
        ("latency", "api", 0.95, 2.0),
    ]


START = datetime(2026, 3, 8, tzinfo=UTC)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-80, 40), st.integers(1, 500), st.integers(0, 500), st.sampled_from([30, 60, 120])),
        min_size=1,
        max_size=12,
    )
)
def test_cutting_the_export_at_the_period_end_changes_nothing(rows: list[tuple[int, int, int, int]]) -> None:
    # Intervals starting from 80 hours before the period end to 40 hours after it; the cut export ends at the end.
    log = [
        dict(service="api", interval_start=START + timedelta(hours=h), interval_minutes=m, requests=n,
             errors=min(e, n), latency_p95_seconds=float(e % 4))
        for h, n, e, m in rows
    ]  # fmt: skip
    cut = [r for r in log if r["interval_start"] < START + timedelta(hours=24)]
    whole = compute_sla(None, PERIOD, SERVICES, service_metrics=frame("service_metrics", log))
    known = compute_sla(None, PERIOD, SERVICES, service_metrics=frame("service_metrics", cut)) if cut else None
    figures = [(b.category, b.events_30d, b.failed_30d, b.burn_rate, b.alert) for b in whole.error_budgets]
    assert figures == ([] if known is None else [
        (b.category, b.events_30d, b.failed_30d, b.burn_rate, b.alert) for b in known.error_budgets
    ])  # fmt: skip
