"""KPIs registered by a flow are tracked by later audits: baseline, one observation per audit, progress scored."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from opsflow.history import open_history
from opsflow.period import Period
from tasks.performance_metrics.kpis import compute_kpis
from tasks.performance_metrics.registry import RegisteredKpi, load_registered_kpis, register_kpis, tracked_kpi_frames

KEY = "processes.order_fulfilment.lead_p50_hours"


def _kpi(**overrides: object) -> RegisteredKpi:
    values: dict[str, object] = {
        "kpi_id": "PSM-fulfilment-lead-time",
        "name": "Order fulfilment lead time (p50)",
        "perspective": "internal_process",
        "unit": "hours",
        "direction": "decrease",
        "baseline": 48.0,
        "baseline_date": date(2026, 3, 1),
        "target": 24.0,
        "owner": "Ops manager",
        "deadline": date(2026, 6, 28),
        "metric_key": KEY,
        "source_flow": "problem-solution-metrics",
    }
    values.update(overrides)
    return RegisteredKpi.model_validate(values)


def test_registered_kpi_is_observed_by_each_audit(tmp_path: Path) -> None:
    history = open_history(tmp_path)
    register_kpis(history, [_kpi()])
    register_kpis(history, [_kpi(target=30.0)])  # re-registering replaces, never duplicates
    assert [k.target for k in load_registered_kpis(history)] == [30.0]
    # Two earlier audits measured the figure; one before the baseline must be ignored.
    history.save_run("weekly-audit", "2026-02-22", date(2026, 2, 22), {KEY: 50.0}, {})
    history.save_run("weekly-audit", "2026-03-08", date(2026, 3, 8), {KEY: 44.0}, {})
    kpis, obs = tracked_kpi_frames(load_registered_kpis(history), None, None, history, {KEY: 39.0}, date(2026, 3, 15))
    assert kpis is not None and obs is not None
    got = obs.sort_values("observed_on")[["observed_on", "value"]].values.tolist()
    # baseline 48 on 03-01, the 03-08 audit's 44, this audit's 39 (the 02-22 run predates the baseline).
    assert [(d.date(), v) for d, v in got] == [
        (date(2026, 3, 1), 48.0),
        (date(2026, 3, 8), 44.0),
        (date(2026, 3, 15), 39.0),
    ]
    section = compute_kpis(kpis, obs, Period(date(2026, 3, 15), "UTC"))
    [row] = section.kpis
    # Decrease KPI: progress = (39 - 48) / (30 - 48) = -9 / -18 = 0.5.
    assert row.progress == 0.5 and row.okr_score == 0.5
    history.close()


def test_dataset_kpi_with_the_same_id_wins(tmp_path: Path) -> None:
    history = open_history(tmp_path)
    own = pd.DataFrame({"kpi_id": pd.array(["PSM-fulfilment-lead-time"], dtype="string")})
    kpis, obs = tracked_kpi_frames([_kpi()], own, None, history, {KEY: 39.0}, date(2026, 3, 15))
    assert kpis is own and obs is None
    history.close()
