"""Tests for tasks/continuity/chaos.py: drills as Chaos Toolkit experiments, run by chaostoolkit-lib against a real
local process (opsflow.drill_target), with measured detection, recovery and rollbacks."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from opsflow import drill_target
from opsflow.drills import ChaosSpec, Scenario
from tasks.continuity.chaos import check_experiment
from tasks.continuity.scenarios import Outcome, load_scenarios, run_drill

TARGET = "opsflow.drill_target"


def _python(name: str, func: str, kind: str = "action", **arguments: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "name": name,
        "provider": {"type": "python", "module": TARGET, "func": func, "arguments": arguments},
    }


HEALTH = {
    "type": "probe",
    "name": "api-health",
    "tolerance": 200,
    "provider": {"type": "http", "url": "${opsflow_target_url}/health", "timeout": 1},
}
STATE = "${opsflow_target_dir}"


def _experiment(method: list[dict[str, Any]], rollbacks: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "version": "1.0.0",
        "title": "The order API comes back after its process is lost",
        "description": "Kill the process; the restart brings the health check back.",
        "steady-state-hypothesis": {"title": "The API answers its health check", "probes": [HEALTH]},
        "method": method,
        "rollbacks": rollbacks,
    }


def _scenario(experiment: dict[str, Any], recovery: list[dict[str, Any]]) -> Scenario:
    return Scenario.model_validate(
        {
            "id": "order-api-process-lost",
            "title": "Order API process lost",
            "target": {"kind": "service", "id": "order-api"},
            "duration_hours": 1,
            "expected_response": "The on-call engineer restarts the API.",
            "chaos": {"experiment": experiment, "recovery": recovery, "local_target": True, "poll_seconds": 0.05},
        }
    )


def _refused(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=0.5):
            return False
    except OSError:
        return True


def test_a_real_fault_is_detected_recovered_and_timed(tmp_path: Path) -> None:
    # The method stops the target's process (its port refuses), the probe sees it, the declared recovery starts it
    # again: detection and recovery are measured from the end of the method, and the rollback finds it running.
    experiment = _experiment(
        [_python("kill-the-api", "stop", state_dir=STATE)], [_python("ensure-up", "ensure_running", state_dir=STATE)]
    )
    run = run_drill(_scenario(experiment, [_python("restart-the-api", "start", state_dir=STATE)]), tmp_path)
    assert run.outcome == Outcome.PASSED, run.note
    assert [r.ok for r in run.steady_before] == [True] and run.steady_before[0].kind == "http"
    assert [(s.phase, s.step, s.ok) for s in run.steps] == [
        ("fault", "action kill-the-api", True),
        ("recovery", "action restart-the-api", True),
    ]
    assert run.detect_seconds is not None and run.detect_seconds > 0
    assert run.recovery_seconds is not None and run.recovery_seconds > run.detect_seconds
    assert run.recovered is True and all(r.ok for r in run.steady_after)
    assert [(s.phase, s.ok) for s in run.rollback] == [("rollback", True)]
    assert all(r.ok for r in run.after_rollback)
    # The drill leaves nothing running: the target's address refuses connections afterwards.
    assert _refused(run.steady_before[0].target.removesuffix("/health"))


def test_rollbacks_run_when_the_method_fails_midway(tmp_path: Path) -> None:
    # The second action fails (a state folder that does not exist): the drill stops there, and the rollback still
    # brings the stopped target back.
    method = [
        _python("kill-the-api", "stop", state_dir=STATE),
        _python("break", "start", state_dir=str(tmp_path / "none")),
    ]
    experiment = _experiment(method, [_python("ensure-up", "ensure_running", state_dir=STATE)])
    run = run_drill(_scenario(experiment, []), tmp_path)
    assert run.outcome == Outcome.FAILED
    assert run.note is not None and run.note.startswith("The method failed midway at action break")
    assert [s.ok for s in run.steps] == [True, False]
    assert [(s.step, s.ok) for s in run.rollback] == [("action ensure-up", True)]
    assert [r.ok for r in run.after_rollback] == [True]


def test_a_plain_chaos_toolkit_experiment_file_runs_unchanged(tmp_path: Path) -> None:
    # An experiment written to Chaos Toolkit's documented format (version, title, description, steady-state
    # hypothesis with an http probe and a status-code tolerance, a method, rollbacks), dropped into drills/ as is.
    state = tmp_path / "target"
    url = drill_target.launch(str(state))
    try:
        health = {"type": "http", "url": f"{url}/health"}
        look = {"type": "python", "module": "os.path", "func": "exists", "arguments": {"path": str(state)}}
        experiment = {
            "version": "1.0.0",
            "title": "Health endpoint survives a read of its own config",
            "description": "A harmless method: the hypothesis must hold before and after.",
            "tags": ["http"],
            "steady-state-hypothesis": {
                "title": "Service is healthy",
                "probes": [{"type": "probe", "name": "health", "tolerance": 200, "provider": health}],
            },
            "method": [
                {"type": "action", "name": "look-at-the-state", "provider": look},
                {"type": "probe", "name": "health-during", "provider": health},
            ],
            "rollbacks": [],
        }
        ws = tmp_path / "ws"
        (ws / "drills").mkdir(parents=True)
        (ws / "drills" / "health-check.json").write_text(json.dumps(experiment), encoding="utf-8")
        found = load_scenarios(ws)
        assert found.errors == []
        (scenario,) = found.scenarios
        assert (scenario.id, scenario.title) == ("health-check", experiment["title"])
        run = run_drill(scenario, ws)
    finally:
        drill_target.shutdown(str(state))
    assert run.outcome == Outcome.PASSED, run.note
    assert run.note == "The hypothesis held after the method: the service absorbed the fault."
    assert [s.step for s in run.steps] == ["action look-at-the-state", "probe health-during"]


def test_a_destructive_drill_is_a_tabletop_without_confirmation(tmp_path: Path) -> None:
    experiment = _experiment([_python("kill-the-api", "stop", state_dir=STATE)], [])
    run = run_drill(_scenario(experiment, []), tmp_path, confirmed=False)
    assert run.outcome == Outcome.TABLETOP and run.steps == [] and run.steady_before == []
    assert run.note is not None and "confirm_faults=true" in run.note


@pytest.mark.parametrize(
    ("activity", "needle"),
    [
        (
            {"type": "action", "name": "rm", "provider": {"type": "process", "path": "rm", "arguments": "-rf /tmp/x"}},
            "activity 'rm': process providers run commands on this machine",
        ),
        (
            {"type": "probe", "name": "far", "provider": {"type": "http", "url": "http://10.0.0.9/health"}},
            "activity 'far' calls http://10.0.0.9/health, outside the scenario's addresses (http://127.0.0.1:8801",
        ),
    ],
)
def test_an_experiment_touching_what_the_scenario_does_not_declare_is_refused(
    activity: dict[str, Any], needle: str
) -> None:
    experiment = _experiment([activity], [])
    spec = ChaosSpec(experiment=experiment, addresses=["http://127.0.0.1:8801"], local_target=True)
    with pytest.raises(ValueError, match="drills/x.yaml: ") as caught:
        check_experiment(experiment, spec, "drills/x.yaml")
    assert needle in str(caught.value)
