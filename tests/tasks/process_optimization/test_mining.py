"""Tests for tasks/process_optimization/mining.py on a small hand-checked event log."""

from __future__ import annotations

from datetime import date
from typing import Any

from opsflow.findings import Urgency
from opsflow.period import Period
from tasks.process_optimization.mining import compute_processes
from tests.helpers import event_log

# Week: Monday 2025-06-30 00:00 to Monday 2025-07-07 00:00 UTC; previous week from 2025-06-23.
PERIOD = Period(date(2025, 7, 6))


def ev(case: str, process: str, activity: str, start: str, end: str) -> dict[str, Any]:
    return {"case_id": case, "process": process, "activity": activity, "started_at": start, "ended_at": end}


OF = "order_fulfilment"
BASE = [
    # O0, previous week: lead 0:00 -> 4:00 = 4 h; ship waits 1:00 -> 3:00 = 2 h.
    ev("O0", OF, "pick", "2025-06-24 00:00", "2025-06-24 01:00"),
    ev("O0", OF, "ship", "2025-06-24 03:00", "2025-06-24 04:00"),
    # O1: lead 8 h, process 2 + 1 + 1 = 4 h, waiting 2 (pack) + 2 (ship) = 4 h.
    ev("O1", OF, "pick", "2025-07-01 08:00", "2025-07-01 10:00"),
    ev("O1", OF, "pack", "2025-07-01 12:00", "2025-07-01 13:00"),
    ev("O1", OF, "ship", "2025-07-01 15:00", "2025-07-01 16:00"),
    # O2 (rows shuffled): lead 8 h, process 4 x 1 = 4 h, waiting 4 (pack) + 0 + 0 = 4 h; pack twice = rework.
    ev("O2", OF, "ship", "2025-07-02 15:00", "2025-07-02 16:00"),
    ev("O2", OF, "pack", "2025-07-02 14:00", "2025-07-02 15:00"),
    ev("O2", OF, "pick", "2025-07-02 08:00", "2025-07-02 09:00"),
    ev("O2", OF, "pack", "2025-07-02 13:00", "2025-07-02 14:00"),
    # O3: lead 20 h, process 2 + 2 + 10 = 14 h, waiting 0 + 6 (ship) = 6 h.
    ev("O3", OF, "pick", "2025-07-03 00:00", "2025-07-03 02:00"),
    ev("O3", OF, "pack", "2025-07-03 02:00", "2025-07-03 04:00"),
    ev("O3", OF, "ship", "2025-07-03 10:00", "2025-07-03 20:00"),
    # O4 continues after the end of the week: not complete, not counted anywhere.
    ev("O4", OF, "pick", "2025-07-06 10:00", "2025-07-06 11:00"),
    ev("O4", OF, "pack", "2025-07-07 09:00", "2025-07-07 10:00"),
    # O5 ends exactly at the end of the week (half-open): completed next week.
    ev("O5", OF, "pick", "2025-07-06 20:00", "2025-07-06 22:00"),
    ev("O5", OF, "ship", "2025-07-06 23:00", "2025-07-07 00:00"),
    # R1: overlapping activities: refund starts 2 h before inspect ends -> wait clipped to 0; lead 4 h, process 5 h.
    ev("R1", "returns", "inspect", "2025-07-04 10:00", "2025-07-04 14:00"),
    ev("R1", "returns", "refund", "2025-07-04 12:00", "2025-07-04 13:00"),
]


def test_week_figures_per_process() -> None:
    s = compute_processes(event_log(BASE), PERIOD)
    rows = {r.process: r for r in s.processes}
    o = rows[OF]
    # completed this week: O1, O2, O3 with leads 8, 8, 20.
    assert o.cases_completed == 3
    assert o.lead_p50_hours == 8.0
    # linear p90: position 0.9 * 2 = 1.8 -> 8 + 0.8 * (20 - 8) = 17.6
    assert o.lead_p90_hours == 17.6
    assert o.mean_process_hours == round(22 / 3, 2)  # (4 + 4 + 14) / 3
    assert o.mean_waiting_hours == round(14 / 3, 2)  # (4 + 4 + 6) / 3
    assert o.rework_rate == round(1 / 3, 4)  # O2 only
    # previous week: O0 alone, 4 h -> change 8 - 4 = 4.
    assert o.previous_lead_p50_hours == 4.0 and o.lead_p50_change_hours == 4.0
    r = rows["returns"]
    assert (r.cases_completed, r.lead_p50_hours, r.mean_process_hours, r.mean_waiting_hours) == (1, 4.0, 5.0, 0.0)

    h = {x.key: x.value for x in s.headlines}
    assert h["processes.order_fulfilment.lead_p50_hours"] == 8.0
    assert h["processes.order_fulfilment.rework_rate"] == round(1 / 3, 4)
    assert h["processes.returns.rework_rate"] == 0.0


def test_bottleneck_value_stream_and_action() -> None:
    s = compute_processes(event_log(BASE), PERIOD)
    # 30 days ending 2025-07-06: O0..O3. Waits before ship: O0 2, O1 2, O2 0, O3 6 = 10 over 4 occurrences;
    # before pack: O1 2, O2 4 and 0, O3 0 = 6 over 4. All waiting 16 -> ship is the bottleneck, share 10/16.
    (b,) = s.bottlenecks  # returns has no waiting at all, so no bottleneck
    assert (b.process, b.activity, b.total_wait_hours, b.mean_wait_hours) == (OF, "ship", 10.0, 2.5)
    assert b.share_of_waiting == 0.625
    assert b.week_wait_hours == 8.0  # O1 2 + O2 0 + O3 6
    (a,) = s.actions
    assert a.urgency == Urgency.IMPORTANT and a.owner is None and a.source == f"process {OF}"
    assert "ship waits 2.5 h on average" in a.text and "cuts 4 case-hours of waiting per week" in a.text  # 8 / 2
    assert "half of the 8 h cases waited before it this week" in a.text and "not staff time" in a.text

    vs = [
        (
            v.activity,
            v.occurrences,
            v.mean_duration_hours,
            v.mean_wait_before_hours,
            v.total_wait_before_hours,
            v.rework_count,
        )
        for v in s.value_stream
        if v.process == OF
    ]
    assert vs == [
        ("pick", 4, 1.5, None, 0.0, 0),  # durations 1, 2, 1, 2; always first
        ("pack", 4, 1.25, 1.5, 6.0, 1),  # durations 1, 1, 1, 2; O2 packs twice
        ("ship", 4, 3.25, 2.5, 10.0, 0),  # durations 1, 1, 1, 10
    ]


def test_trend_twelve_weeks() -> None:
    # One early activity (2025-03-03) puts the log's start before the 12 weeks: all 12 are shown.
    early = [ev("E1", OF, "ship", "2025-03-03 08:00", "2025-03-03 09:00")]
    s = compute_processes(event_log(early + BASE), PERIOD)
    trend = [t for t in s.lead_time_trend if t.process == OF]
    assert len(trend) == 12
    assert trend[-1].week_ending == date(2025, 7, 6) and trend[0].week_ending == date(2025, 4, 20)
    assert (trend[-1].cases_completed, trend[-1].lead_p50_hours) == (3, 8.0)
    assert (trend[-2].cases_completed, trend[-2].lead_p50_hours) == (1, 4.0)
    assert all(t.cases_completed == 0 and t.lead_p50_hours is None for t in trend[:-2])


def test_trend_starts_no_earlier_than_the_log() -> None:
    # BASE starts on Tue 2025-06-24: the weeks ending 06-29 and 07-06 are the only ones it covers.
    s = compute_processes(event_log(BASE), PERIOD)
    trend = [t for t in s.lead_time_trend if t.process == OF]
    assert [t.week_ending for t in trend] == [date(2025, 6, 29), date(2025, 7, 6)]
    expected = "The lead time trend starts with the week ending 2025-06-29, 2 weeks instead of 12: the event log "
    assert s.note == expected + "starts then."


def test_later_export_changes_nothing() -> None:
    # A later export adds cases that happen after the week: the week's figures stay the same.
    later = BASE + [
        ev("O6", OF, "pick", "2025-07-08 08:00", "2025-07-08 09:00"),
        ev("O6", OF, "ship", "2025-07-09 08:00", "2025-07-09 09:00"),
    ]
    now = compute_processes(event_log(BASE), PERIOD)
    then = compute_processes(event_log(later), PERIOD)
    assert now.model_dump(exclude={"basis"}) == then.model_dump(exclude={"basis"})
    basis = {b.metric: b for b in then.basis}
    # ended at or after the end: O4 pack, O5 ship, O6 x 2 = 4 rows.
    assert basis["process events"].reasons == {"ended at or after the end of the week": 4}
    # before the end: 18 - 2 = 16 rows; cases completed in the week: O1 3 + O2 4 + O3 3 + R1 2 = 12 rows;
    # O0 (2 rows) completed before the week; O4 pick and O5 pick are in cases still in progress.
    assert basis["events of cases completed in the week"].rows_used == 12
    assert basis["events of cases completed in the week"].reasons == {
        "case completed before the week": 2,
        "case still in progress at the end of the week": 2,
    }


def test_cases_outside_every_window_change_only_the_basis() -> None:
    # Only cases completed in the 12 trend weeks (from 2025-04-14) are mined; older ones are counted in the basis.
    old = [
        ev("X1", OF, "pick", "2024-01-02 08:00", "2024-01-02 09:00"),
        ev("X1", OF, "ship", "2024-01-03 08:00", "2024-01-03 09:00"),
        ev("X2", "billing", "invoice", "2025-04-01 08:00", "2025-04-01 09:00"),  # a process seen only then
    ]
    now = compute_processes(event_log(BASE), PERIOD)
    with_old = compute_processes(event_log(old + BASE), PERIOD)
    # The older log starts earlier, so its trend has more (empty) weeks and no note on a short trend.
    unchanged = {"basis", "lead_time_trend", "note"}
    assert now.model_dump(exclude=unchanged) == with_old.model_dump(exclude=unchanged)
    basis = {b.metric: b for b in with_old.basis}
    # 18 + 3 rows, 2 of them (O4 pack, O5 ship) ended after the week: 19 used; O0's 2 + the old 3 completed before.
    assert basis["process events"].rows_used == 19
    assert basis["events of cases completed in the week"].reasons["case completed before the week"] == 5


def test_time_zone_week_boundaries() -> None:
    # In Europe/Berlin (UTC+2 in July) the week ends 2025-07-06 22:00 UTC: a case ending 22:30 UTC is next week.
    rows = [
        ev("A", OF, "pick", "2025-07-06 20:00", "2025-07-06 21:00"),
        ev("B", OF, "pick", "2025-07-06 21:00", "2025-07-06 22:30"),
    ]
    s = compute_processes(event_log(rows), Period(date(2025, 7, 6), "Europe/Berlin"))
    assert s.processes[0].cases_completed == 1 and s.processes[0].lead_p50_hours == 1.0


def test_empty_inputs() -> None:
    missing = compute_processes(None, PERIOD)
    assert missing.available is False and missing.note
    empty = compute_processes(event_log([]), PERIOD)
    assert empty.available and empty.note and not empty.headlines and not empty.actions
    # only an old case: the process is listed with no completed case this week, no NaN in headlines.
    old = compute_processes(event_log(BASE[:2]), PERIOD)
    assert old.note is not None and old.note.startswith("No case was completed in the week. The lead time trend")
    h = {x.key: x.value for x in old.headlines}
    assert h["processes.order_fulfilment.lead_p50_hours"] is None
    assert h["processes.order_fulfilment.cases_completed"] == 0
    assert not old.actions  # no completed case this week, nothing to save


def test_a_case_that_never_reached_its_end_activity_is_in_progress_not_in_lead_time() -> None:
    # O7 picked and packed in the week but never shipped (ship is the default end: O0..O3 and O5 end with it).
    # It is not completed: order_fulfilment keeps O1, O2, O3 (leads 8, 8, 20; median 8). In progress at the week's
    # end (2025-07-07 00:00): O5 (started 07-06 20:00; its ship ends exactly at the end), O4 (started 07-06 10:00;
    # its pack ends after the week) and O7 (started 07-05 06:00): ages 4, 14, 42 h -> p50 14,
    # p90 at position 0.9 x 2 = 1.8: 14 + 0.8 x (42 - 14) = 36.4; oldest O7 at 42 h.
    o7 = [
        ev("O7", OF, "pick", "2025-07-05 06:00", "2025-07-05 07:00"),
        ev("O7", OF, "pack", "2025-07-05 08:00", "2025-07-05 09:00"),
    ]
    s = compute_processes(event_log(BASE + o7), PERIOD)
    o = {r.process: r for r in s.processes}[OF]
    assert (o.cases_completed, o.lead_p50_hours) == (3, 8.0)
    wip = {r.process: r for r in s.in_progress}[OF]
    assert (wip.end_activities, wip.cases, wip.age_p50_hours, wip.age_p90_hours) == ("ship", 3, 14.0, 36.4)
    assert (wip.oldest_case, wip.oldest_age_hours) == ("O7", 42.0)
    assert {h.key: h.value for h in s.headlines}["processes.order_fulfilment.in_progress"] == 3


def test_declared_end_activities_replace_the_default() -> None:
    # Declaring `pack` as the only end of order_fulfilment: O1, O2, O3 (all packed) complete as before, at their last
    # activity; O4 (packed only after the week) and O0 and O5 (never packed) are in progress. Declaring `inspect`
    # for returns: R1 still completes (it has inspect).
    s = compute_processes(event_log(BASE), PERIOD, {OF: ["pack"], "returns": ["inspect"]})
    rows = {r.process: r for r in s.processes}
    # O1, O2, O3 have pack; O0 (pick, ship) never packed: it leaves the previous week's figure.
    assert rows[OF].cases_completed == 3 and rows[OF].previous_lead_p50_hours is None
    assert rows["returns"].cases_completed == 1
    wip = {r.process: r for r in s.in_progress}[OF]
    # O0's first start, 06-24 00:00, is 13 days = 312 h before the week's end: the oldest of O0, O4, O5.
    assert wip.cases == 3 and wip.oldest_case == "O0" and wip.oldest_age_hours == 312.0


def test_end_activity_pairs_are_found_through_category_codes_and_as_text_alike() -> None:
    # Worked by hand: the ends are (returns, refund) and (orders, ship). Row 0 is an end; row 1 is an end activity
    # of another process; row 2 has no process; row 3 names a process the ends do not know; row 4 is (orders, ship).
    import numpy as np
    import pandas as pd

    from tasks.process_optimization.mining import _is_pair

    processes = pd.Series(["returns", "orders", None, "audit", "orders"])
    activities = pd.Series(["refund", "refund", "ship", "ship", "ship"])
    ends = {"returns": ["refund"], "orders": ["ship"], "unknown": ["x"]}
    expected = np.array([True, False, False, False, True])
    assert _is_pair(processes, activities, ends).tolist() == expected.tolist()
    as_categories = _is_pair(processes.astype("category"), activities.astype("category"), ends)
    assert as_categories.tolist() == expected.tolist()
