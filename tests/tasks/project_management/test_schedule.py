"""CPM and the Monte Carlo on plans small enough to solve by hand."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from tasks.project_management.schedule import (
    PlanError,
    PlanTask,
    RiskEvent,
    critical_path,
    days_available,
    finish_date,
    gantt_chart,
    pert_parameters,
    simulate,
)


def _t(id: str, a: float, m: float, b: float, deps: list[str] | None = None) -> PlanTask:
    return PlanTask(id=id, name=f"task {id}", optimistic=a, likely=m, pessimistic=b, depends_on=deps or [])


def test_pert_parameters_by_hand() -> None:
    # a=2, m=5, b=8: alpha = 1 + 4 (5-2)/6 = 3, beta = 1 + 4 (8-5)/6 = 3. a=1, m=1, b=5: alpha = 1, beta = 1 + 4 = 5.
    # a = b = 4: deterministic, shape set to (1, 1) so it stays defined.
    alpha, beta = pert_parameters(np.array([2.0, 1.0, 4.0]), np.array([5.0, 1.0, 4.0]), np.array([8.0, 5.0, 4.0]))
    assert alpha.tolist() == [3.0, 1.0, 1.0]
    assert beta.tolist() == [3.0, 5.0, 1.0]


def test_cpm_forward_backward_pass_and_float() -> None:
    # A(3) -> B(4) -> D(2) and A -> C(1) -> D, fixed durations. Forward: A 0-3, B 3-7, C 3-4, D 7-9 -> 9 days.
    # Backward: D 7-9, B 3-7, C late finish 7 -> late start 6, float 6 - 3 = 3; A 0-3. Critical: A, B, D.
    cpm = critical_path(
        [_t("A", 3, 3, 3), _t("B", 4, 4, 4, ["A"]), _t("C", 1, 1, 1, ["A"]), _t("D", 2, 2, 2, ["B", "C"])]
    )
    rows = {r.id: r for r in cpm.rows}
    assert cpm.duration == 9
    assert cpm.critical_path == ["A", "B", "D"]
    assert (rows["C"].early_start, rows["C"].early_finish, rows["C"].late_start, rows["C"].late_finish) == (3, 4, 6, 7)
    assert rows["C"].total_float == 3 and not rows["C"].critical
    assert rows["B"].total_float == 0 and rows["D"].early_finish == 9


def test_cpm_uses_pert_means() -> None:
    # (2 + 4*5 + 14) / 6 = 6: the expected duration, not the likely one.
    assert critical_path([_t("A", 2, 5, 14)]).duration == 6


def test_cycle_and_unknown_dependency_are_one_line_errors() -> None:
    with pytest.raises(PlanError, match=r"cycle: (A -> B -> A|B -> A -> B)"):
        critical_path([_t("A", 1, 1, 1, ["B"]), _t("B", 1, 1, 1, ["A"])])
    with pytest.raises(PlanError, match="work package B: depends_on names 'X'"):
        critical_path([_t("A", 1, 1, 1), _t("B", 1, 1, 1, ["X"])])
    with pytest.raises(PlanError, match="unique: A"):
        critical_path([_t("A", 1, 1, 1), _t("A", 1, 1, 1)])


def test_single_deterministic_task() -> None:
    # a = m = b = 10: every iteration takes exactly 10 days; 10 days available -> always on time, 9 -> never.
    sim = simulate([_t("A", 10, 10, 10)], [], deadline_days=10, iterations=10_000, seed=1)
    assert (sim.p50_days, sim.p80_days, sim.p95_days) == (10, 10, 10)
    assert sim.on_time_probability == 1.0
    assert simulate([_t("A", 10, 10, 10)], [], deadline_days=9, iterations=10_000).on_time_probability == 0.0
    assert sim.criticality == {"A": 1.0}


def test_two_tasks_in_series_have_the_sum_of_the_means() -> None:
    # A (2, 5, 8): mean (2 + 20 + 8)/6 = 5, variance (5-2)(8-5)/7 = 9/7. B (1, 4, 13): mean (1 + 16 + 13)/6 = 5,
    # variance (5-1)(13-5)/7 = 32/7. The sum: mean 10, sd sqrt(41/7) = 2.42; over 20,000 draws the mean's standard
    # error is 0.017, so 0.1 is six standard errors. A symmetric A and a right-skewed B put the median below the mean.
    sim = simulate([_t("A", 2, 5, 8), _t("B", 1, 4, 13, ["A"])], [], deadline_days=10, iterations=20_000, seed=3)
    assert sim.mean_days == pytest.approx(10, abs=0.1)
    assert sim.p50_days < sim.mean_days < sim.p80_days < sim.p95_days
    assert sim.criticality == {"A": 1.0, "B": 1.0}
    assert 3 <= sim.p50_days and sim.p95_days <= 21  # within a + a' and b + b'


def test_a_certain_risk_adds_exactly_its_delay() -> None:
    # p = 1: every iteration adds 7 days to the 10-day task -> 17; switched off -> 10, so its P80 slip is 7.
    sim = simulate(
        [_t("A", 10, 10, 10)], [RiskEvent(risk_id="R1", probability=1.0, delay_days=7, touches=["A"])], 17, 10_000
    )
    assert (sim.p50_days, sim.p80_days, sim.p95_days) == (17, 17, 17)
    assert sim.risk_p80_slip == {"R1": 7.0} and sim.risk_hit_rate == {"R1": 1.0}
    assert sim.on_time_probability == 1.0


def test_an_impossible_risk_changes_nothing_and_hit_rate_follows_p() -> None:
    never = RiskEvent(risk_id="R0", probability=0.0, delay_days=30, touches=["A"])
    some = RiskEvent(risk_id="R3", probability=0.3, delay_days=5, touches=["A"])
    sim = simulate([_t("A", 10, 10, 10)], [never, some], 10, 20_000, seed=5)
    assert sim.risk_p80_slip["R0"] == 0 and sim.risk_hit_rate["R0"] == 0
    # Bernoulli(0.3) over 20,000 draws: standard error sqrt(0.21/20000) = 0.0032.
    assert sim.risk_hit_rate["R3"] == pytest.approx(0.3, abs=0.02)
    # 30% of iterations take 15 days: P50 is 10, P80 is 15, and 70% are on time with 10 days.
    assert sim.p50_days == 10 and sim.p80_days == 15
    assert sim.on_time_probability == pytest.approx(0.7, abs=0.02)


def test_a_risk_strikes_one_of_the_tasks_it_touches() -> None:
    # Two parallel fixed tasks of 10 days; a certain 4-day risk lands on A or B at random (half each): the finish is
    # always 14 and each task is critical exactly when the risk struck it (about half the iterations).
    risk = RiskEvent(risk_id="R1", probability=1.0, delay_days=4, touches=["A", "B"])
    sim = simulate([_t("A", 10, 10, 10), _t("B", 10, 10, 10)], [risk], 14, 20_000, seed=2)
    assert sim.p50_days == 14 and sim.p95_days == 14
    assert sim.criticality["A"] == pytest.approx(0.5, abs=0.02)
    assert sim.criticality["A"] + sim.criticality["B"] == pytest.approx(1.0, abs=1e-3)  # each rounded to 4 places


def test_criticality_of_parallel_branches() -> None:
    # A fixed at 10 days, B symmetric on 0..20 around 10, both before C (1 day): B is longer in half the iterations,
    # so each branch is critical in ~50% of them; C always.
    sim = simulate([_t("A", 10, 10, 10), _t("B", 0, 10, 20), _t("C", 1, 1, 1, ["A", "B"])], [], 11, 20_000, seed=4)
    assert sim.criticality["C"] == 1.0
    assert sim.criticality["A"] == pytest.approx(0.5, abs=0.02)
    assert sim.criticality["B"] == pytest.approx(0.5, abs=0.02)
    assert sim.on_time_probability == pytest.approx(0.5, abs=0.02)


def test_seeds_reproduce() -> None:
    tasks = [_t("A", 2, 5, 8), _t("B", 1, 4, 13, ["A"])]
    risks = [RiskEvent(risk_id="R1", probability=0.4, delay_days=3, touches=["B"])]
    first = simulate(tasks, risks, 12, 10_000, seed=11)
    again = simulate(tasks, risks, 12, 10_000, seed=11)
    other = simulate(tasks, risks, 12, 10_000, seed=12)
    assert first == again
    assert first.p50_days != other.p50_days or first.on_time_probability != other.on_time_probability


def test_calendar_days() -> None:
    # Day 1 is the start: 10 days from Monday 1 June end on Wednesday 10 June; 9.2 days also need the 10th.
    start = date(2026, 6, 1)
    assert finish_date(start, 10) == date(2026, 6, 10)
    assert finish_date(start, 9.2) == date(2026, 6, 10)
    assert finish_date(start, 1) == start
    assert days_available(start, date(2026, 6, 10)) == 10


def test_gantt_chart_is_a_png() -> None:
    cpm = critical_path([_t("A", 3, 3, 3), _t("B", 4, 4, 4, ["A"])])
    png = gantt_chart("plan", cpm, date(2026, 6, 1), {"P50": 7.5, "P80": 8.5}, date(2026, 6, 9))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
