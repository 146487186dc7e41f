"""Project progress, earned value, forecast and critical path on small hand-checked plans."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest

from opsflow.findings import Urgency
from opsflow.period import Period
from tasks.project_management.projects import ProjectSection, _planned_fraction, compute_projects
from tests.helpers import frame

PERIOD = Period(date(2024, 6, 30))


def task_row(pid: str, tid: str, dur: float, pct: float, deps: str | None = None, **kw: Any) -> dict[str, Any]:
    return dict(project_id=pid, task_id=tid, name=f"task {tid}", duration_optimistic=dur, duration_likely=dur,
                duration_pessimistic=dur, percent_complete=pct, depends_on=deps, **kw)  # fmt: skip


def portfolio() -> tuple[pd.DataFrame, pd.DataFrame]:
    projects = frame(
        "projects",
        [
            dict(project_id="P1", name="Alpha", owner="Pat", status="active", start_date="2024-06-01",
                 due_date="2024-07-20"),
            dict(project_id="P2", name="Beta", owner="Quinn", status="active", start_date="2024-06-01",
                 due_date="2024-12-31", budget=10000.0),
            dict(project_id="P3", name="Gamma", status="on_hold", start_date="2024-06-01", due_date="2024-12-31"),
            dict(project_id="P4", name="Old", status="done", start_date="2024-01-01", due_date="2024-03-31"),
        ],
    )  # fmt: skip
    tasks = frame(
        "project_tasks",
        [
            # P1 has no planned dates: CPM from 06-01. A 06-01..06-11, B and C after A, D after B and C.
            task_row("P1", "A", 10, 100, budget=1000.0, actual_cost=1200.0),
            task_row("P1", "B", 20, 50, "A", budget=2000.0, actual_cost=1000.0),  # 06-11..07-01
            task_row("P1", "C", 8, 0, "A", budget=1000.0),  # 06-11..06-19
            task_row("P1", "D", 5, 0, "B;C", budget=500.0, milestone=True, owner="Dana"),  # 07-01..07-06
            # P2: baseline dates given, no task budgets: the project budget is spread by duration (30 : 31).
            task_row("P2", "X", 30, 100, planned_start="2024-06-01", planned_finish="2024-07-01", actual_cost=3000.0),
            task_row("P2", "Y", 31, 10, "X", planned_start="2024-07-01", planned_finish="2024-08-01",
                     actual_cost=500.0),
            # P3: a cycle in depends_on.
            task_row("P3", "M", 5, 0, "N"),
            task_row("P3", "N", 5, 0, "M"),
            task_row("P4", "Z", 5, 100),
        ],
    )  # fmt: skip
    return projects, tasks


def run() -> ProjectSection:
    return compute_projects(*portfolio(), PERIOD)


def headline(section: ProjectSection, key: str) -> float | None:
    return next(h.value for h in section.headlines if h.key == key)


def test_progress_and_earned_value_with_task_budgets() -> None:
    alpha = next(p for p in run().projects if p.project_id == "P1")
    assert alpha.weight_basis == "budget" and alpha.budget_basis == "task budgets"
    # Done: (1000 x 1 + 2000 x 0.5) / 4500 = 0.4444.
    assert alpha.percent_complete == pytest.approx(2000 / 4500)
    # Planned at 06-30: A 1, B (06-30 - 06-11) / 20 = 19/20, C 1, D 0 -> (1000 + 1900 + 1000) / 4500 = 0.8667.
    assert alpha.planned_percent == pytest.approx(3900 / 4500)
    assert alpha.schedule_variance == pytest.approx((2000 - 3900) / 4500)
    # EV 2000, PV 3900, AC 1200 + 1000 = 2200: SPI 0.5128, CPI 0.9091, EAC 4500 / 0.9091 = 4950.
    assert (alpha.bac, alpha.ev, alpha.pv, alpha.ac) == pytest.approx((4500, 2000, 3900, 2200))
    assert alpha.sv == pytest.approx(-1900)
    assert alpha.spi == pytest.approx(2000 / 3900) and alpha.cpi == pytest.approx(2000 / 2200)
    assert alpha.eac == pytest.approx(4950)


def test_forecast_critical_path_and_status() -> None:
    section = run()
    alpha = next(p for p in section.projects if p.project_id == "P1")
    # From 06-30: B has 20 x 0.5 = 10 days left, C 8, D starts after both: 10 + 5 = 15 -> 07-15; due 07-20: slack 5.
    assert alpha.forecast_finish == date(2024, 7, 15) and alpha.slack_days == 5
    # C finishes on day 8 with 2 days of float: not critical; A is done.
    assert alpha.critical_path == "B → D"
    # B forecast 07-10 vs planned 07-01, D 07-15 vs 07-06: both slip.
    assert alpha.slipping_tasks == "B, D"
    assert alpha.health == "off track"  # SPI 0.51 < 0.8
    action = next(a for a in section.actions if a.kind == "project_off_track")
    assert action.urgency == Urgency.IMPORTANT and action.owner == "Pat" and action.source == "project P1"
    assert "B (task B)" in action.text and "D (task D)" in action.text


def test_project_budget_spread_by_duration() -> None:
    beta = next(p for p in run().projects if p.project_id == "P2")
    assert beta.weight_basis == "duration" and beta.budget_basis == "project budget spread by duration"
    # Done: (30 x 1 + 31 x 0.1) / 61 = 33.1 / 61; planned: X (06-30 - 06-01) / 30 = 29/30, Y 0 -> 29 / 61.
    assert beta.percent_complete == pytest.approx(33.1 / 61)
    assert beta.planned_percent == pytest.approx(29 / 61)
    # EV = 10000 x 33.1/61 = 5426.2, PV = 10000 x 29/61 = 4754.1, AC 3500: SPI 1.141, CPI 1.550.
    assert beta.ev == pytest.approx(10000 * 33.1 / 61) and beta.pv == pytest.approx(10000 * 29 / 61)
    assert beta.spi == pytest.approx(33.1 / 29) and beta.cpi == pytest.approx(10000 * 33.1 / 61 / 3500)
    # Y has 31 x 0.9 = 27.9 days left -> finish 07-28 (rounded up); due 12-31 is 184 days out: slack 156.1.
    assert beta.forecast_finish == date(2024, 7, 28) and beta.slack_days == pytest.approx(156.1)
    assert beta.critical_path == "Y" and beta.health == "on track"


def test_headlines_basis_cycle_and_exclusions() -> None:
    section = run()
    assert [headline(section, k) for k in ("projects.on_track", "projects.at_risk", "projects.off_track")] == [1, 0, 1]
    # Portfolio: EV (2000 + 5426.2) / PV (3900 + 4754.1); CPI: EV / AC (2200 + 3500).
    ev = 2000 + 10000 * 33.1 / 61
    assert headline(section, "projects.portfolio.spi") == pytest.approx(ev / (3900 + 10000 * 29 / 61))
    assert headline(section, "projects.portfolio.cpi") == pytest.approx(ev / 5700)
    assert section.note is not None and "P3" in section.note and "cycle" in section.note
    projects_basis = next(b for b in section.basis if b.metric == "projects")
    assert projects_basis.rows_used == 2
    assert projects_basis.reasons == {"status done": 1, "cycle in depends_on": 1}


def test_milestone_due_within_14_days() -> None:
    section = run()
    (milestone,) = section.milestones
    # D planned 07-01..07-06: 6 days after as_of, forecast 07-15.
    assert (milestone.task_id, milestone.planned_finish, milestone.days_to_planned_finish) == ("D", date(2024, 7, 6), 6)
    assert milestone.forecast_finish == date(2024, 7, 15) and milestone.owner == "Dana"
    action = next(a for a in section.actions if a.kind == "milestone_due")
    assert action.urgency == Urgency.IMPORTANT and action.owner == "Dana" and action.due == date(2024, 7, 6)


def test_burndown_points() -> None:
    points = [b for b in run().burndown if b.project_id == "P1"]
    # Weekly from 06-01 to the due date 07-20 (8 points, 07-20 = 06-01 + 49 days) plus as_of 06-30.
    assert len(points) == 9
    assert points[0].planned_remaining == pytest.approx(1.0) and points[-1].planned_remaining == pytest.approx(0.0)
    now = next(b for b in points if b.date == date(2024, 6, 30))
    assert now.planned_remaining == pytest.approx(1 - 3900 / 4500)
    assert now.actual_remaining == pytest.approx(1 - 2000 / 4500)
    assert all(b.actual_remaining is None for b in points if b.date != date(2024, 6, 30))


def test_at_risk_by_slack_and_zero_length_tasks() -> None:
    projects = frame("projects", [dict(project_id="P5", name="Epsilon", owner="Eve", status="planned",
                                       start_date="2024-06-20", due_date="2024-07-13")])  # fmt: skip
    tasks = frame(
        "project_tasks",
        [
            task_row("P5", "S", 0, 0, planned_start="2024-06-30", planned_finish="2024-06-30"),  # zero-length: 1
            task_row("P5", "T", 10, 0, "S"),  # CPM: after S, 06-30..07-10
        ],
    )
    (row,) = compute_projects(projects, tasks, PERIOD).projects
    # Weights by duration (0 and 10): planned = (0 x 1 + 10 x 0) / 10 = 0; T has 10 days left -> 07-10, slack 3.
    assert row.planned_percent == 0 and row.forecast_finish == date(2024, 7, 10) and row.slack_days == 3
    assert row.health == "at risk" and row.spi is None and row.bac is None
    zero = _planned_fraction(np.array([0.0, -1.0, 5.0]), np.zeros(3), np.array([0.0, 0.0, 10.0]))
    assert zero.tolist() == [1.0, 0.0, 0.5]


def test_missing_and_empty_inputs() -> None:
    missing = compute_projects(None, None, PERIOD)
    assert missing.available is False and all(h.value is None for h in missing.headlines)
    projects, tasks = portfolio()
    closed = compute_projects(projects[projects["status"] == "done"], tasks, PERIOD)
    assert closed.projects == [] and closed.note and headline(closed, "projects.on_track") == 0
    assert headline(closed, "projects.portfolio.spi") is None
