"""Tests for tasks/process_optimization/transformation.py on a small hand-checked event log."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import pytest

from opsflow.findings import Urgency
from opsflow.period import Period
from tasks.process_optimization.transformation import (
    CurrentStateSection,
    baseline_from_state,
    current_state,
    improvement_plan,
    process_log,
    proposed_kpis,
    resolve_baseline,
    transformation_charts,
    transformation_summary,
)
from tests.helpers import event_log

# Window of 14 days ending Sunday 2025-07-06 (UTC): cases whose last activity ends in [2025-06-23, 2025-07-07).
PERIOD = Period(date(2025, 7, 6))
OF = "order_fulfilment"


def ev(case: str, activity: str, start: str, end: str, process: str = OF) -> dict[str, Any]:
    return {"case_id": case, "process": process, "activity": activity, "started_at": start, "ended_at": end}


LOG = event_log(
    [
        # A: lead 8:00 -> 17:00 = 9 h; process 2 + 1 + 1 = 4 h; waiting pack 2 + ship 3 = 5 h.
        ev("A", "pick", "2025-06-30 08:00", "2025-06-30 10:00"),
        ev("A", "pack", "2025-06-30 12:00", "2025-06-30 13:00"),
        ev("A", "ship", "2025-06-30 16:00", "2025-06-30 17:00"),
        # B (rows shuffled): lead 8 h; process 4 x 1 = 4 h; waiting pack 4 + 0 + ship 0 = 4 h; pack twice = rework.
        ev("B", "ship", "2025-07-01 15:00", "2025-07-01 16:00"),
        ev("B", "pack", "2025-07-01 14:00", "2025-07-01 15:00"),
        ev("B", "pick", "2025-07-01 08:00", "2025-07-01 09:00"),
        ev("B", "pack", "2025-07-01 13:00", "2025-07-01 14:00"),
        # C: lead 20 h; process 2 + 2 + 10 = 14 h; waiting pack 0 + ship 6 = 6 h.
        ev("C", "pick", "2025-07-02 00:00", "2025-07-02 02:00"),
        ev("C", "pack", "2025-07-02 02:00", "2025-07-02 04:00"),
        ev("C", "ship", "2025-07-02 10:00", "2025-07-02 20:00"),
        # D completed before the window; E still in progress at the report date: neither counts.
        ev("D", "pick", "2025-06-01 08:00", "2025-06-01 09:00"),
        ev("D", "ship", "2025-06-01 10:00", "2025-06-01 11:00"),
        ev("E", "pick", "2025-07-06 10:00", "2025-07-06 11:00"),
        ev("E", "pack", "2025-07-07 09:00", "2025-07-07 10:00"),
        # Another process: never mixed in.
        ev("R1", "inspect", "2025-07-04 10:00", "2025-07-04 14:00", process="returns"),
    ]
)


def state() -> CurrentStateSection:
    return current_state(process_log(LOG, OF), PERIOD, window_days=14)


def test_current_state_figures() -> None:
    s = state()
    h = {x.key.split(".", 2)[2]: x.value for x in s.headlines}
    assert s.cases_completed == 3 and h["cases_per_week"] == 1.5  # 3 cases / (14 / 7) weeks
    # Leads 8, 9, 20: median 9; p90 = 9 + 0.8 x (20 - 9) = 17.8 (linear interpolation).
    assert h["lead_p50_hours"] == 9 and h["lead_p90_hours"] == 17.8
    assert h["mean_process_hours"] == pytest.approx(22 / 3, abs=0.01)  # (4 + 4 + 14) / 3
    assert h["mean_waiting_hours"] == 5.0  # (5 + 4 + 6) / 3
    # PCE, ratio of sums: 22 / 37 = 0.5946; mean of ratios: (4/9 + 4/8 + 14/20) / 3 = 0.5481.
    assert h["pce"] == pytest.approx(0.5946, abs=1e-4) and h["pce_mean"] == pytest.approx(0.5481, abs=1e-4)
    assert h["waiting_share"] == pytest.approx(15 / 37, abs=1e-4)
    assert h["rework_rate"] == pytest.approx(1 / 3, abs=1e-4) and h["variants"] == 2
    # Ship waits 3 + 0 + 6 = 9 h of the 15: the bottleneck (pack: 2 + 4 + 0 + 0 = 6 h).
    assert s.bottleneck == "ship" and s.bottleneck_share_of_waiting == 0.6
    assert s.bottleneck_wait_per_week_hours == 4.5 and s.bottleneck_mean_wait_hours == 3.0
    # Scenario: leads minus half the case's ship wait: 9 - 1.5, 8 - 0, 20 - 3 -> median 8.
    assert s.scenario_lead_p50_hours == 8.0
    # Rework: B's second pack, 1 h of work + 0 h of wait, over 2 weeks.
    assert s.rework_hours_per_week == 0.5 and s.rework_cases_per_week == 0.5
    assert s.basis[0].rows_used == 10 and s.basis[0].reasons == {
        "case completed before the window": 2,
        "case in progress at the report date (an activity ends later)": 2,
    }


def test_variants_and_value_stream() -> None:
    s = state()
    main, other = s.variants
    # pick > pack > ship: A (9 h) and C (20 h): median 14.5; pick > pack > pack > ship: B.
    assert (main.variant, main.cases, main.share, main.lead_p50_hours) == ("pick > pack > ship", 2, 0.6667, 14.5)
    assert (other.variant, other.cases, other.has_rework) == ("pick > pack > pack > ship", 1, True)
    assert not main.has_rework
    stream = {r.activity: r for r in s.value_stream}
    assert [r.activity for r in s.value_stream] == ["pick", "pack", "ship"], "in case order"
    assert stream["pack"].occurrences == 4 and stream["pack"].cases == 3 and stream["pack"].rework_count == 1
    assert stream["pack"].mean_wait_before_hours == 1.5  # (2 + 4 + 0 + 0) / 4
    assert stream["pick"].mean_wait_before_hours is None, "the first activity has no wait before it"
    assert [w.cases_completed for w in s.trend] == [0, 3], "two weeks: 06-23..06-29 and 06-30..07-06"
    assert set(transformation_charts(s, 8.0)) == {"lead-time-trend", "value-stream"}


def test_plan_benefits_phases_and_kpis() -> None:
    s = state()
    baseline = baseline_from_state(s, PERIOD.as_of)
    assert baseline is not None
    # Default targets: the scenario median (8 h) and half the rework rate (1/3 x 0.5).
    assert baseline.target_lead_p50_hours == 8.0 and baseline.target_rework_rate == pytest.approx(0.1667, abs=1e-4)
    plan = improvement_plan(s, baseline, PERIOD.as_of, owner="Lukas Fischer")
    benefits = {b.benefit: b.value for b in plan.benefits}
    assert benefits["waiting before ship halved"] == 2.2  # 4.5 / 2 = 2.25 h per week, 1 decimal
    assert benefits["per case"] == 1.5  # 2.25 h / 1.5 cases per week
    assert benefits["rework eliminated"] == 0.5
    assert [(p.phase, p.start, p.end) for p in plan.phases] == [
        ("discovery", date(2025, 7, 7), date(2025, 7, 20)),
        ("analysis", date(2025, 7, 21), date(2025, 8, 3)),
        ("design", date(2025, 8, 4), date(2025, 8, 17)),
        ("implementation", date(2025, 8, 18), date(2025, 9, 14)),
        ("measurement", date(2025, 9, 15), None),
    ]
    assert baseline.deadline == date(2025, 10, 12)  # implementation end + 4 weeks
    assert {r.step.value for r in plan.dmaic} == {"define", "measure", "analyze", "improve", "control"}
    assert [a.urgency for a in plan.actions][:2] == [Urgency.IMPORTANT, Urgency.IMPORTANT]
    assert all(a.owner == "Lukas Fischer" and a.kind == "improvement" for a in plan.actions)
    assert len({a.source for a in plan.actions}) == len(plan.actions), "the focus list keeps every action"

    kpis = proposed_kpis(OF, baseline, "Lukas Fischer", None, "operational-transformation")
    assert [(k.kpi_id, k.metric_key, k.baseline, k.target) for k in kpis] == [
        ("OT-order-fulfilment-lead-time", "processes.order_fulfilment.lead_p50_hours", 9.0, 8.0),
        ("OT-order-fulfilment-rework-rate", "processes.order_fulfilment.rework_rate", 0.3333, 0.1666),  # 0.3333 x 0.5
    ]


def test_targets_from_parameters_and_the_first_run() -> None:
    s = state()
    halved = baseline_from_state(s, PERIOD.as_of, target_reduction=0.5)
    assert halved is not None and halved.target_lead_p50_hours == 4.5  # 9 h x (1 - 0.5)
    # A later run keeps the first run's baseline and targets unless a target is given.
    later = resolve_baseline(s, halved, date(2025, 8, 31))
    assert later == halved
    assert resolve_baseline(s, halved, date(2025, 8, 31), target_lead_p50_hours=6.0).target_lead_p50_hours == 6.0  # type: ignore[union-attr]


def test_unknown_process_and_missing_dataset() -> None:
    s = current_state(process_log(LOG, "billing"), PERIOD)
    assert s.cases_completed == 0 and "order_fulfilment, returns" in (s.note or "")
    assert baseline_from_state(s, PERIOD.as_of) is None
    assert improvement_plan(s, None, PERIOD.as_of).note is not None
    missing = current_state(process_log(None, OF), PERIOD)
    assert missing.available is False


def test_a_plan_that_falls_short_of_its_target_says_by_how_much() -> None:
    s = state()
    # Target 4.5 h (9 h halved); the plan's scenario (ship wait halved) reaches 8 h: 8 - 4.5 = 3.5 h short.
    halved = baseline_from_state(s, PERIOD.as_of, target_reduction=0.5)
    assert halved is not None
    plan = improvement_plan(s, halved, PERIOD.as_of, owner="Lukas Fischer")
    assert (plan.scenario_lead_p50_hours, plan.target_shortfall_hours) == (8.0, 3.5)
    gap = next(r for r in plan.dmaic if r.topic == "gap to target")
    assert gap.detail.startswith("The plan falls short: its scenario reaches 8.0 h median lead time against the 4.5 h")
    assert "3.5 h short" in gap.detail
    summary = transformation_summary(s, plan, None)
    assert "The plan falls short: its scenario reaches 8.0 h, 3.5 h above the target." in summary
    # The benefit is waiting time in case-hours (4.5 h of wait per week before ship, halved), not staff time.
    assert "cuts 2 case-hours of waiting per week (not staff time)" in summary
    assert next(b.unit for b in plan.benefits if b.benefit == "waiting before ship halved") == (
        "case-hours of waiting per week"
    )
    # The default target is the scenario itself: no shortfall, no gap row.
    default = improvement_plan(s, baseline_from_state(s, PERIOD.as_of), PERIOD.as_of)
    assert default.target_shortfall_hours is None and all(r.topic != "gap to target" for r in default.dmaic)


def test_carrier_transit_marked_as_not_work_is_lead_time_not_process_time() -> None:
    rows = [
        # One case: pick 08:00-10:00 (work), then deliver 11:00-21:00 by the carrier, marked work = false.
        dict(case_id="T1", process=OF, activity="pick", started_at="2025-07-01T08:00Z", ended_at="2025-07-01T10:00Z"),
        dict(case_id="T1", process=OF, activity="deliver", started_at="2025-07-01T11:00Z",
             ended_at="2025-07-01T21:00Z"),
    ]  # fmt: skip
    log = event_log(rows)
    unmarked = current_state(process_log(log, OF), PERIOD, window_days=14)
    # Without the marker: lead 13 h, process 2 + 10 = 12 h -> PCE 12 / 13.
    assert unmarked.pce == pytest.approx(12 / 13, abs=1e-4)
    log["work"] = pd.array([pd.NA, False], dtype="boolean")
    marked = current_state(process_log(log, OF), PERIOD, window_days=14)
    # Transit marked: process 2 h of the 13 h lead -> PCE 2 / 13; lead time unchanged.
    assert marked.pce == pytest.approx(2 / 13, abs=1e-4) and marked.lead_p50_hours == unmarked.lead_p50_hours == 13


def test_a_case_that_never_shipped_is_not_in_the_baseline() -> None:
    # F picked and packed inside the window (lead 07-03 08:00 -> 07-03 20:00 = 12 h) but never shipped, the end
    # activity most cases end with: it stays out, so the figures are A, B, C's as before (median 9, 3 cases).
    log = event_log(
        [
            *LOG.drop(columns="_row").to_dict("records"),
            ev("F", "pick", "2025-07-03 08:00", "2025-07-03 09:00"),
            ev("F", "pack", "2025-07-03 19:00", "2025-07-03 20:00"),
        ]
    )
    s = current_state(process_log(log, OF), PERIOD, window_days=14)
    h = {x.key.split(".", 2)[2]: x.value for x in s.headlines}
    assert s.cases_completed == 3 and h["lead_p50_hours"] == 9
    assert s.basis[0].reasons["case in progress at the report date (no end activity yet)"] == 2  # F's two events
    # Declared end activity `pack`: F completes (12 h), and so do A, B, C: leads 8, 9, 12, 20 -> median 10.5.
    declared = current_state(process_log(log, OF, ["pack"]), PERIOD, window_days=14)
    assert declared.cases_completed == 4
    assert {x.key.split(".", 2)[2]: x.value for x in declared.headlines}["lead_p50_hours"] == 10.5
