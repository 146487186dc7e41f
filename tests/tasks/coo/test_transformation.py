"""Tests for tasks/coo/transformation.py: the Pattern 3 steps judge completion by opsflow.yaml's end activities."""

from __future__ import annotations

from pathlib import Path

from flows.operational_transformation import TransformationParams
from opsflow.datasets import DatasetQuality, OpsData, ValidatedDataset
from opsflow.history import open_history
from tasks.coo.transformation import transform
from tests.helpers import event_log
from tests.tasks.process_optimization.test_transformation import LOG, OF, PERIOD, ev


def _data(end_activities: dict[str, list[str]]) -> OpsData:
    # The hand-checked log plus F, picked and packed in the window (07-03 08:00 -> 20:00, 12 h) but never shipped.
    log = event_log(
        [
            *LOG.drop(columns="_row").to_dict("records"),
            ev("F", "pick", "2025-07-03 08:00", "2025-07-03 09:00"),
            ev("F", "pack", "2025-07-03 19:00", "2025-07-03 20:00"),
        ]
    )
    quality = DatasetQuality("process_events", "-", len(log), len(log), 0, 0.05)
    return OpsData({"process_events": ValidatedDataset("process_events", log, log.iloc[:0], quality)}, end_activities)


def test_the_declared_end_activity_decides_which_cases_are_complete(tmp_path: Path) -> None:
    params = TransformationParams(process=OF, window_days=14)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    # Default (most cases end with ship): A, B, C complete, F is in progress -> 3 cases, median lead 9 h.
    default = transform(_data({}), open_history(tmp_path / "a"), PERIOD, params, "operational-transformation")
    # opsflow.yaml declares `pack` as order_fulfilment's end: F completes too -> 4 cases (leads 8, 9, 12, 20).
    declared = transform(
        _data({OF: ["pack"]}), open_history(tmp_path / "b"), PERIOD, params, "operational-transformation"
    )
    assert (default.state.cases_completed, declared.state.cases_completed) == (3, 4)
