"""Tests of the run skeleton: how the stages are timed, the report published and delivered, a bad workspace failed."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pytest
from prefect import flow

from opsflow.config import WorkspaceConfig
from opsflow.datasets import OpsData
from opsflow.findings import Headline, Section
from opsflow.history import open_history
from tasks.data.prepare import DataNotUsableError, WorkspaceData
from tasks.run.skeleton import Run, deliver, publish


def _prepared(workspace: Path, load_errors: dict[str, str] | None = None) -> WorkspaceData:
    return WorkspaceData(workspace, WorkspaceConfig(company="Acme"), OpsData(), load_errors or {})


def test_compute_is_the_time_between_stages_less_the_named_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [0.0]
    monkeypatch.setattr(time, "perf_counter", lambda: clock[0])
    run = Run("f", _prepared(Path("ws")), _compute_since=0.0)
    clock[0] = 2.0
    with run.stage("drill"):
        clock[0] = 5.0
    clock[0] = 6.5
    run._end_compute()
    run._end_compute()  # a second end adds nothing: the lap is closed
    # compute: 0 -> 2 (before the drill) + 5 -> 6.5 (after it) = 3.5 s; drill: 2 -> 5 = 3 s
    assert run.timer.seconds == {"compute": 3.5, "drill": 3.0}
    with run.stage("deliver"):  # once compute has ended (publish), a stage does not start it again
        clock[0] = 7.0
    clock[0] = 9.0
    run._end_compute()
    # deliver: 6.5 -> 7 = 0.5 s; the 2 s after it belong to no stage
    assert run.timer.seconds == {"compute": 3.5, "drill": 3.0, "deliver": 0.5}


def test_publish_writes_saves_and_deliver_without_posting_closes_the_run(tmp_path: Path) -> None:
    section = Section(name="s", title="S", headlines=[Headline(key="s.x", label="X", value=3)])

    @flow
    def one_run() -> tuple[dict[str, Path], list[str], dict[str, float]]:
        run = Run("test-flow", _prepared(tmp_path))
        published = publish(run, "A title", "2026-03-29", date(2026, 3, 29), [section], subtitle="Acme · a week")
        delivered = deliver(run, published, False, [], [])
        assert run._history is None  # closed by deliver
        return published.paths, delivered, dict(published.outputs()["timings"])

    paths, delivered, timings = one_run()
    assert paths["html"] == tmp_path / "reports" / "test-flow" / "2026-03-29" / "report.html"
    assert paths["html"].is_file() and paths["markdown"].is_file() and paths["json"].is_file()
    assert '"subtitle": "Acme · a week"' in paths["json"].read_text(encoding="utf-8")
    assert delivered == [] and set(timings) == {"compute", "render"}  # no "deliver": nothing was posted
    history = open_history(tmp_path)
    [saved] = history.list_runs("test-flow")
    history.close()
    assert (saved.period_key, saved.as_of, saved.headlines) == ("2026-03-29", date(2026, 3, 29), {"s.x": 3.0})


def test_a_workspace_whose_data_cannot_be_used_fails_in_one_line() -> None:
    run = Run("test-flow", _prepared(Path("ws"), {"incidents": "file not found"}))
    state = run.not_usable()
    assert state.is_failed()
    assert state.message == "test-flow stopped, data not usable: incidents: could not be read (file not found)"
    assert isinstance(state.data, DataNotUsableError)
