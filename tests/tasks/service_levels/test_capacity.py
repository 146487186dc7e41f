"""The capacity forecast on small hand-checked utilization series, and the sample company's four capacity stories."""

from __future__ import annotations

from datetime import date, timedelta
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from opsflow.contract import DatasetContract
from opsflow.datasets import ROW
from opsflow.findings import Urgency
from opsflow.period import Period
from opsflow.sample.capacity import DISK_GROWTH, OVER, SPIKE, STALE, WHAT_IF, capacity_table
from opsflow.sample.common import make_calendar
from opsflow.sample.services import services_table
from tasks.service_levels.capacity import CapacityRow, CapacitySection, Status, compute_capacity
from tests.helpers import DTYPES
from tests.helpers import frame as typed

# The week ending Sunday 2026-03-08 (UTC): the period ends 2026-03-09 00:00 UTC; a point on day as_of + x sits at
# x (as_of = 0). Every series below is daily at noon.
PERIOD = Period(date(2026, 3, 8))
CONTRACT = DatasetContract.model_validate(
    yaml.safe_load((resources.files("opsflow") / "contracts" / "capacity.yml").read_text(encoding="utf-8"))
)


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A capacity frame typed as loading leaves it (tests/helpers.py's rules, read from the capacity contract)."""
    data: dict[str, pd.Series] = {}
    for name, col in CONTRACT.columns.items():
        values = pd.Series([r.get(name) for r in rows], dtype=object)
        data[name] = pd.to_datetime(values, utc=True) if col.type == "datetime" else values.astype(DTYPES[col.type])
        if col.categorical:
            data[name] = data[name].astype("category")
    out = pd.DataFrame(data)
    out[ROW] = range(2, len(rows) + 2)
    return out


def series(resource: str, values: list[float], **extra: Any) -> list[dict[str, Any]]:
    """Daily rows at noon, the last on as_of: values[-1] is day 0, values[-2] day -1..."""
    n = len(values)
    return [
        dict(resource=resource, measured_at=f"{PERIOD.as_of - timedelta(days=n - 1 - i)} 12:00", utilization=v, **extra)
        for i, v in enumerate(values)
    ]


def line(at_as_of: float, per_day: float, days: int) -> list[float]:
    """`days` points of a straight line reaching `at_as_of` on as_of."""
    return [round(at_as_of + per_day * x, 6) for x in range(-(days - 1), 1)]


def only(section: CapacitySection, resource: str) -> CapacityRow:
    return next(r for r in section.resources if r.resource == resource)


def headline(section: CapacitySection, key: str) -> float | None:
    return next(h.value for h in section.headlines if h.key == key)


def test_a_straight_line_crosses_on_the_hand_computed_date() -> None:
    # 0.51 on day -9 up to 0.60 on as_of: slope 0.01 a day (0.07 = 7 points a week), current 0.60. Crossing 0.8:
    # (0.8 - 0.6) / 0.01 = 20 days -> 2026-03-08 + 20 = 2026-03-28, within 90 days: important, due that day.
    section = compute_capacity(frame(series("db disk", line(0.60, 0.01, 10), service="customer-db")), PERIOD)
    r = only(section, "db disk")
    assert r.current_utilization == pytest.approx(0.60)
    assert r.points_per_week == pytest.approx(7.0)
    assert r.days_to_cross == pytest.approx(20.0)
    assert (r.crosses_on, r.crossing, r.status) == (date(2026, 3, 28), "2026-03-28", Status.CROSSING)
    assert r.threshold == 0.8 and r.fit_points == 10
    # What-if from 0.60 at +15% a month: 30 * ln(0.8 / 0.6) / ln(1.15) = 30 * 0.287682 / 0.139762 = 61.75 days.
    assert r.days_to_cross_what_if == pytest.approx(61.75, abs=0.01)
    (action,) = section.actions
    assert (action.urgency, action.kind, action.due) == (Urgency.IMPORTANT, "capacity_crossing", date(2026, 3, 28))
    assert "in 20 days" in action.text
    assert headline(section, "capacity.crossing_within_horizon") == 1
    assert headline(section, "capacity.over_threshold") == headline(section, "capacity.crossing_what_if") == 0
    # The data starts 2026-02-27 12:00: the 56-day window is 9.5 days, and says so.
    assert section.headlines[0].window == "9.5 of 56 days"
    assert section.note is not None and "9.5 days the data covers, not 56" in section.note


def test_a_single_outlier_does_not_move_the_theil_sen_line() -> None:
    # 0.50 .. 0.56 over days -6..0 (slope 0.01), but day -1 spikes from 0.55 to 0.95. The 21 pairwise slopes: the
    # 15 pairs without the spike are 0.01; the spike against days -6..-2 gives 0.45/5 = 0.09, 0.44/4 = 0.11,
    # 0.43/3 = 0.143, 0.42/2 = 0.21, 0.41/1 = 0.41, and against day 0 (0.56 - 0.95)/1 = -0.39. Sorted, -0.39 then
    # fifteen 0.01: the median (11th) is 0.01. Intercept: median of y - 0.01 x = 0.56 six times and 0.96 once -> 0.56.
    # (Least squares would give 0.01 + 0.40 * 2 / 28 = 0.0386 a day.) Crossing: 0.24 / 0.01 = 24 days -> 2026-04-01.
    values = line(0.56, 0.01, 7)
    values[-2] = 0.95
    r = only(compute_capacity(frame(series("db cpu", values)), PERIOD), "db cpu")
    assert r.points_per_week == pytest.approx(7.0)
    assert r.current_utilization == pytest.approx(0.56)
    assert r.crosses_on == date(2026, 4, 1) and r.status == Status.CROSSING
    # Last 7 days' median: 0.50, 0.51, 0.52, 0.53, 0.54, 0.56, 0.95 -> 0.53, so the spike is not "over threshold".
    assert r.recent_median == pytest.approx(0.53)


def test_a_one_day_spike_over_the_threshold_is_not_over_it() -> None:
    # Flat 0.50 for 14 days, 0.99 on day -3: slope 0, current 0.50, last 7 days' median 0.50.
    # What-if: 30 * ln(0.8 / 0.5) / ln(1.15) = 30 * 0.470004 / 0.139762 = 100.9 days > 90 -> ok, no action.
    values = [0.5] * 14
    values[-4] = 0.99
    section = compute_capacity(frame(series("web cpu", values)), PERIOD)
    r = only(section, "web cpu")
    assert (r.status, r.crossing, r.current_utilization) == (Status.OK, "not at this rate", 0.5)
    assert r.days_to_cross_what_if == pytest.approx(100.9, abs=0.1)
    assert section.actions == []


def test_a_falling_trend_does_not_cross_at_this_rate_but_the_what_if_does() -> None:
    # 0.79 on day -9 down to 0.70 on as_of: slope -0.01 -> 'not at this rate'. The what-if replaces the trend:
    # 0.70 growing 15% a month reaches 0.8 after 30 * ln(8 / 7) / ln(1.15) = 30 * 0.133531 / 0.139762 = 28.66 days
    # -> 2026-03-08 + 29 = 2026-04-06: on the radar.
    section = compute_capacity(frame(series("queue", line(0.70, -0.01, 10))), PERIOD)
    r = only(section, "queue")
    assert (r.days_to_cross, r.crosses_on, r.crossing) == (None, None, "not at this rate")
    assert r.days_to_cross_what_if == pytest.approx(28.66, abs=0.01)
    assert (r.crosses_on_what_if, r.status) == (date(2026, 4, 6), Status.WHAT_IF)
    (action,) = section.actions
    assert (action.urgency, action.kind, action.due) == (Urgency.ON_RADAR, "capacity_what_if", None)
    assert headline(section, "capacity.crossing_what_if") == 1


def test_what_if_date_from_the_compound_formula_and_the_horizon_edge() -> None:
    # Flat at 0.60: no growth. At +15%: 61.75 days -> 62 -> 2026-03-08 + 62 = 2026-05-09, within 90 days.
    rows = frame(series("pool", [0.6] * 10))
    r = only(compute_capacity(rows, PERIOD), "pool")
    assert (r.crosses_on_what_if, r.status) == (date(2026, 5, 9), Status.WHAT_IF)
    # At +10%: 30 * ln(4 / 3) / ln(1.10) = 30 * 0.287682 / 0.095310 = 90.55 -> 91 days: outside 90, inside 91.
    slower = only(compute_capacity(rows, PERIOD, growth=0.10), "pool")
    assert slower.days_to_cross_what_if == pytest.approx(90.55, abs=0.01)
    assert (slower.crosses_on_what_if, slower.status) == (date(2026, 6, 7), Status.OK)
    assert only(compute_capacity(rows, PERIOD, growth=0.10, horizon_days=91), "pool").status == Status.WHAT_IF
    assert only(compute_capacity(rows, PERIOD, growth=0.0), "pool").crosses_on_what_if is None


def test_usage_and_limit_rows_give_the_same_result_as_utilization_rows() -> None:
    ratios = line(0.60, 0.01, 10)
    as_ratio = frame(series("db disk", ratios, service="customer-db"))
    # 255 GB of 500 is 0.51, ... 300 of 500 is 0.60 (a correctly rounded division gives the same double).
    usage = [
        {**row, "utilization": None, "usage": round(v * 500), "limit": 500.0, "unit": "GB"}
        for row, v in zip(series("db disk", ratios, service="customer-db"), ratios, strict=True)
    ]
    a = compute_capacity(as_ratio, PERIOD)
    b = compute_capacity(frame(usage), PERIOD)
    assert a.resources == b.resources and a.actions == b.actions


def test_over_threshold_is_urgent_with_the_latest_stated_threshold_and_the_owner() -> None:
    # Flat 0.78 for 10 days; the threshold was 0.9 on the first rows and 0.75 on the later ones: 0.75 is in force,
    # and 0.78 >= 0.75 -> over threshold, urgent, owned by the service's owner.
    rows = series("pg pool", [0.78] * 10, service="payments")
    for row in rows:
        row["threshold"] = 0.9 if row["measured_at"] < "2026-03-03" else 0.75
    services = typed("services", [dict(service_id="payments", name="Payments", tier="critical", owner="Pay Team")])
    section = compute_capacity(frame(rows), PERIOD, services)
    r = only(section, "pg pool")
    assert (r.status, r.threshold, r.owner, r.crossing) == (Status.OVER, 0.75, "Pay Team", "over threshold")
    (action,) = section.actions
    assert (action.urgency, action.kind, action.owner) == (Urgency.URGENT, "capacity_over_threshold", "Pay Team")
    assert action.impact == pytest.approx(0.03)  # 0.78 - 0.75
    assert headline(section, "capacity.over_threshold") == 1


def test_a_stale_resource_says_so_rather_than_forecasting() -> None:
    # Last measured 2026-02-28 12:00, before 2026-03-09 - 7 days = 2026-03-02: stale. The other one is fresh.
    old = series("old disk", line(0.79, 0.01, 10))
    for row in old:
        row["measured_at"] = (pd.Timestamp(row["measured_at"]) - pd.Timedelta(days=8)).strftime("%Y-%m-%d %H:%M")
    section = compute_capacity(frame(old + series("fresh", [0.3] * 10)), PERIOD)
    r = only(section, "old disk")
    assert (r.status, r.crossing, r.current_utilization, r.last_measured_on) == (
        Status.STALE,
        "stale",
        None,
        date(2026, 2, 28),
    )
    assert section.actions == []
    assert section.note is not None and "before the period end (no forecast): old disk." in section.note
    assert [x.resource for x in section.resources] == ["fresh", "old disk"]  # ok before stale


def test_too_few_points_and_unusable_rows() -> None:
    # 6 daily points (7 needed) -> no data; a row with neither utilization nor usage / limit is left out.
    rows = series("tiny", [0.5] * 6) + [dict(resource="tiny", measured_at="2026-03-08 13:00", usage=5.0)]
    section = compute_capacity(frame(rows), PERIOD)
    r = only(section, "tiny")
    assert (r.status, r.fit_points) == (Status.NO_DATA, 6)
    assert section.basis[0].reasons == {"no utilization and no usage / limit": 1}


def test_no_frame_is_unavailable() -> None:
    section = compute_capacity(None, PERIOD)
    assert section.available is False
    assert section.note == "The capacity dataset is not configured."


MINUTES = "%Y-%m-%d %H:%M"
BASE = series("db disk", line(0.60, 0.01, 20)) + series("db cpu", [0.4] * 20)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["db disk", "db cpu", "new"]),
            st.integers(min_value=0, max_value=60 * 24 * 30),
            st.floats(min_value=0, max_value=1),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_rows_at_or_after_the_period_end_change_nothing(later: list[tuple[str, int, float]]) -> None:
    before = compute_capacity(frame(BASE), PERIOD)
    extra = [
        dict(resource=name, measured_at=(PERIOD.end + pd.Timedelta(minutes=minutes)).strftime(MINUTES), utilization=u)
        for name, minutes, u in later
    ]
    after = compute_capacity(frame(BASE + extra), PERIOD)
    assert after.resources == before.resources
    assert after.actions == before.actions and after.headlines == before.headlines
    assert after.basis[0].reasons == {"measured at or after period end": len(extra)}


def test_the_sample_company_tells_its_four_capacity_stories() -> None:
    end = date(2026, 3, 29)
    cal = make_calendar(end)
    table = capacity_table(np.random.default_rng([7, 9]), cal)
    section = compute_capacity(table.to_pandas(), Period(end, "Europe/Berlin"), services_table(cal).to_pandas())
    by_name = {r.resource: r for r in section.resources}
    # (a) the disk filling up crosses 80% in three to five weeks, at its current growth.
    disk = by_name[DISK_GROWTH]
    assert disk.status == Status.CROSSING and disk.days_to_cross is not None and 21 <= disk.days_to_cross <= 35
    # (b) safe at today's growth (not within 90 days), crossing within 90 days at +15% a month.
    cpu = by_name[WHAT_IF]
    assert cpu.status == Status.WHAT_IF and (cpu.crosses_on is None or cpu.crosses_on > end + timedelta(days=90))
    # (c) already over its threshold.
    assert by_name[OVER].status == Status.OVER
    # (d) one day last week peaked above 80%, yet it is neither over its threshold nor crossing it.
    spike = by_name[SPIKE]
    assert spike.status == Status.OK and spike.recent_median is not None and spike.recent_median < 0.6
    spiky = table.filter(pc.equal(table["resource"], SPIKE)).to_pandas()
    assert spiky[spiky["measured_at"] >= Period(end, "Europe/Berlin").start]["utilization"].max() > 0.9
    assert by_name[STALE].status == Status.STALE
    # Nothing else needs action, and every resource's service is in the catalogue with an owner.
    assert [r.resource for r in section.resources if r.status not in (Status.OK, Status.STALE)] == [
        OVER,
        DISK_GROWTH,
        WHAT_IF,
    ]
    assert all(r.owner for r in section.resources)
    assert [(a.urgency, a.kind) for a in section.actions] == [
        (Urgency.URGENT, "capacity_over_threshold"),
        (Urgency.IMPORTANT, "capacity_crossing"),
        (Urgency.ON_RADAR, "capacity_what_if"),
    ]
