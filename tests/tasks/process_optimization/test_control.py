"""Tests of the Control step: the before/after test on samples whose answer is known, and history."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from opsflow.history import HistoryStore
from opsflow.period import Period
from tasks.process_optimization.control import (
    HISTORY_FLOW,
    BaselineRuns,
    before_after_test,
    control_step,
    load_baselines,
    save_transformation_run,
)
from tasks.process_optimization.transformation import Baseline, current_state, process_log
from tests.helpers import event_log
from tests.tasks.process_optimization.test_transformation import OF


def lognormal(seed: int, n: int, median: float = 10.0) -> np.ndarray:
    return np.random.default_rng(seed).lognormal(np.log(median), 0.5, n)


def test_identical_distributions_are_not_significant() -> None:
    result = before_after_test(lognormal(1, 600), lognormal(2, 400))
    assert result.verdict == "no change detectable"
    assert result.p_improvement is not None and result.p_improvement > 0.05
    assert result.ci_low_hours is not None and result.ci_high_hours is not None
    assert result.ci_low_hours < 0 < result.ci_high_hours, "the interval of the median change holds 0"


def test_thirty_percent_shorter_is_a_real_improvement() -> None:
    result = before_after_test(lognormal(1, 600), 0.7 * lognormal(2, 400))
    assert result.verdict == "real improvement"
    assert result.p_improvement is not None and result.p_improvement < 0.001
    assert result.median_change is not None and -0.4 < result.median_change < -0.2
    assert result.ci_high_hours is not None and result.ci_high_hours < 0


def test_thirty_percent_longer_is_worse() -> None:
    result = before_after_test(lognormal(1, 600), 1.3 * lognormal(2, 400))
    assert result.verdict == "worse" and result.p_worse is not None and result.p_worse < 0.001


def test_a_significant_shift_below_the_minimum_is_no_change() -> None:
    # 40,000 cases a side make a 3% shift significant, but it is below the 5% minimum (few resamples: the interval
    # does not enter the verdict and 40,000-case resamples are slow).
    before, after = lognormal(1, 40_000), 0.97 * lognormal(2, 40_000)
    result = before_after_test(before, after, resamples=50)
    assert result.p_improvement is not None and result.p_improvement < 0.05
    assert result.verdict == "no change detectable"
    assert before_after_test(before, after, min_improvement=0.01, resamples=50).verdict == "real improvement"


def test_too_few_cases() -> None:
    assert before_after_test(lognormal(1, 50), lognormal(2, 5)).verdict == "not enough data"


def _cases(prefix: str, day: str, leads: np.ndarray) -> list[dict[str, object]]:
    start = pd.Timestamp(day, tz="UTC")
    rows: list[dict[str, object]] = []
    for i, lead in enumerate(leads):
        begin = start + pd.Timedelta(hours=i % 24)
        rows.append(
            {
                "case_id": f"{prefix}{i}",
                "process": OF,
                "activity": "pick",
                "started_at": str(begin),
                "ended_at": str(begin + pd.Timedelta(hours=float(lead))),
            }
        )
    return rows


def test_runs_are_stored_and_the_next_run_tests_against_the_first(tmp_path: Path) -> None:
    # Before: 60 cases of ~10 h completed in June; after the change (run of 2025-06-29): 60 cases of ~6 h in July.
    log = process_log(
        event_log(
            _cases("B", "2025-06-10", lognormal(1, 60)) + _cases("A", "2025-07-10", lognormal(2, 60, median=6.0))
        ),
        OF,
    )
    history = HistoryStore(f"sqlite:///{tmp_path / 'h.db'}")
    first = Period(date(2025, 6, 29))
    state = current_state(log, first, window_days=30)
    baseline = Baseline(as_of=first.as_of, window_days=30, lead_p50_hours=10.0, rework_rate=0.0)
    save_transformation_run(history, log, first, 30, baseline, [state], None)
    # Another process's run is not a baseline for this one.
    other = Baseline(as_of=date(2025, 6, 1), window_days=30, lead_p50_hours=1.0, rework_rate=0.0)
    save_transformation_run(
        history, process_log(event_log([]), "returns"), Period(date(2025, 6, 1)), 30, other, [], None
    )

    later = Period(date(2025, 7, 27))
    runs = load_baselines(history, OF, later.as_of, None)
    assert runs.first is not None and runs.first.as_of == first.as_of and runs.reference == runs.first
    assert len(runs.first.case_leads) == 60, "the June cases, completed in the 30 days ending 2025-06-29"
    control = control_step(log, runs, later, window_days=30)
    assert control.change_date == first.as_of and control.verdict == "real improvement"
    assert [s.cases for s in control.samples] == [60, 60]
    keys = [r.period_key for r in history.list_runs(HISTORY_FLOW)]
    assert keys == ["returns-2025-06-01", "order_fulfilment-2025-06-29"]
    # The first run itself has nothing to compare with.
    assert control_step(log, BaselineRuns(), first).verdict is None
    history.close()


def test_after_cases_started_too_close_to_the_report_date_are_left_out() -> None:
    # Baseline cases of 10 h (p99 10 h); two after-cases start 5 h before the end of the report date: a quick one
    # (1 h) has finished, a slow one has not. Keeping the quick one alone would bias the sample: both are left out.
    rows = _cases("B", "2025-06-10", np.full(30, 10.0)) + _cases("A", "2025-07-10", np.full(30, 10.0))
    rows += _cases("Q", "2025-07-27 19:00", np.array([1.0]))
    log = process_log(event_log(rows), OF)
    control = control_step(log, BaselineRuns(), Period(date(2025, 7, 27)), change_date=date(2025, 6, 29))
    assert [s.cases for s in control.samples] == [30, 30]
    assert control.basis[1].rows_excluded == 1
