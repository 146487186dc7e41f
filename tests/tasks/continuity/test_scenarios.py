"""Drill scenarios (files, validation), the drill run against stand-in endpoints, and the drill-incident record."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from opsflow.sample.drills import write_sample_drills
from tasks.continuity.scenarios import (
    INCIDENT_COLUMNS,
    Outcome,
    Scenario,
    drill_incident_rows,
    load_scenarios,
    record_drill_incident,
    run_drill,
)
from tasks.continuity.standin import StandInEndpoint


def _scenario(primary: str, standby: str, **changes: Any) -> Scenario:
    body: dict[str, Any] = {
        "id": "api-outage",
        "title": "API outage",
        "target": {"kind": "service", "id": "api"},
        "duration_hours": 2,
        "expected_response": "Fail over to the standby.",
        "contacts": [{"name": "Ana", "role": "lead", "email": "ana@example.test"}],
        "steady_state": [{"name": "api", "kind": "http", "url": f"{primary}/health"}],
        "fault": [{"action": "http_post", "url": f"{primary}/fail"}],
        "recovery": {
            "steps": [{"action": "switch_probe", "probe": "api", "to": f"{standby}/health"}],
            "timeout_seconds": 2,
            "poll_seconds": 0.05,
        },
        "rollback": [
            {"action": "http_post", "url": f"{primary}/recover"},
            {"action": "restore_probe", "probe": "api"},
        ],
    }
    body.update(changes)
    return Scenario.model_validate(body)


@pytest.fixture
def endpoints() -> Iterator[tuple[StandInEndpoint, StandInEndpoint]]:
    with StandInEndpoint() as primary, StandInEndpoint() as standby:
        yield primary, standby


# -- scenario files ----------------------------------------------------------------------------------------------


def test_sample_drills_are_valid_and_load(tmp_path: Path) -> None:
    paths = write_sample_drills(tmp_path)
    assert [p.name for p in paths] == [
        "paybridge-outage.yaml",
        "warehouse-hall-b-loss.yaml",
        "swiftline-carrier-failure.yaml",
    ]
    loaded = load_scenarios(tmp_path)
    assert loaded.errors == []
    assert sorted(s.id for s in loaded.scenarios) == sorted(p.stem for p in paths)
    paybridge = loaded.get("paybridge-outage")
    assert paybridge is not None and paybridge.target.kind == "vendor" and paybridge.target.id == "V-1201"
    hosts = {p.url.split("/")[2] for s in loaded.scenarios for p in s.steady_state if hasattr(p, "url")}
    assert all(h.startswith("127.0.0.1:") for h in hosts), "the sample only probes stand-ins on 127.0.0.1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id: x\ntitle: [unclosed\n", " line 3: not valid YAML"),
        ("- just\n- a list\n", "a scenario file must be a mapping"),
        ("id: x\ntitle: t\n", "target: Field required"),
        (
            "id: x\ntitle: t\ntarget: {kind: site, id: hall-b}\nduration_hours: 1\nexpected_response: r\n"
            "steady_state: [{name: a, kind: file, path: f, max_age_hours: 1}]\n",
            "target: a site target must list the services that run there (target.services)",
        ),
        (
            "id: x\ntitle: t\ntarget: {kind: service, id: s}\nduration_hours: 1\nexpected_response: r\n"
            "steady_state: [{name: a, kind: file, path: f, max_age_hours: 1}]\n"
            "rollback: [{action: restore_probe, probe: b}]\n",
            "restore_probe names probe 'b', which is not in steady_state",
        ),
        (
            "id: x\ntitle: t\ntarget: {kind: service, id: s}\nduration_hours: 1\nexpected_response: r\n"
            "steady_state: [{name: a, kind: shell, command: 'rm -rf /'}]\n",
            "steady_state.0: Input tag 'shell' found using 'kind' does not match any of the expected tags",
        ),
        (
            "id: x\ntitle: t\ntarget: {kind: service, id: s}\nduration_hours: 1\nexpected_response: r\n"
            "steady_state: [{name: a, kind: http, url: 'file:///etc/passwd'}]\n",
            "steady_state.0.http.url: String should match pattern",
        ),
    ],
)
def test_a_bad_scenario_file_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "drills").mkdir()
    bad = tmp_path / "drills" / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    write_sample_drills(tmp_path)
    loaded = load_scenarios(tmp_path)
    assert len(loaded.scenarios) == 3, "the good files are still used"
    [line] = loaded.errors
    assert line.startswith(str(bad)) and message in line and "\n" not in line


def test_duplicate_scenario_id_is_reported(tmp_path: Path) -> None:
    [first, *_] = write_sample_drills(tmp_path)
    (tmp_path / "drills" / "zz-copy.yaml").write_text(first.read_text(encoding="utf-8"), encoding="utf-8")
    loaded = load_scenarios(tmp_path)
    assert loaded.errors == [f"{tmp_path / 'drills' / 'zz-copy.yaml'}: id 'paybridge-outage' is already used by "
                             "paybridge-outage.yaml"]  # fmt: skip


# -- the drill run -------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_recovery_switches_to_the_standby_and_is_measured(endpoints, tmp_path: Path) -> None:
    primary, standby = endpoints
    run = run_drill(_scenario(primary.url, standby.url), tmp_path)
    assert run.outcome == Outcome.PASSED, run.note
    assert run.recovered is True and run.recovery_seconds is not None and 0 < run.recovery_seconds < 2
    assert [r.target for r in run.steady_after] == [f"{standby.url}/health"]
    # Fault then rollback on the primary; the standby was only read.
    assert primary.posts() == ["/fail", "/recover"]
    assert standby.posts() == [] and standby.state.requests
    assert [r.target for r in run.after_rollback] == [f"{primary.url}/health"] and run.after_rollback[0].ok


@pytest.mark.slow
def test_steady_state_failing_stops_the_drill(endpoints, tmp_path: Path) -> None:
    primary, standby = endpoints
    primary.state.status = 500
    run = run_drill(_scenario(primary.url, standby.url), tmp_path)
    assert run.outcome == Outcome.ABORTED
    assert run.note is not None and run.note.startswith("Steady state did not hold before the drill (api: HTTP 500")
    assert primary.posts() == [], "no fault injected, nothing to roll back"
    assert run.steps == [] and run.rollback == [] and standby.state.requests == []


@pytest.mark.slow
def test_rollbacks_run_when_recovery_fails(endpoints, tmp_path: Path) -> None:
    primary, standby = endpoints
    standby.state.status = 503  # the standby is broken too: steady state never returns
    run = run_drill(_scenario(primary.url, standby.url), tmp_path)
    assert run.outcome == Outcome.FAILED and run.recovered is False and run.recovery_seconds is None
    assert run.note == "Steady state did not return within 2 s of recovery."
    assert primary.posts() == ["/fail", "/recover"], "the rollback ran after the failed recovery"
    assert all(r.ok for r in run.rollback)


@pytest.mark.slow
def test_rollbacks_run_when_the_fault_step_fails(endpoints, tmp_path: Path) -> None:
    primary, standby = endpoints
    scenario = _scenario(primary.url, standby.url, fault=[{"action": "http_post", "url": f"{primary.url}/nope"}])
    run = run_drill(scenario, tmp_path)
    assert run.outcome == Outcome.FAILED
    assert run.note == f"Fault step failed: POST {primary.url}/nope: RuntimeError: HTTP 404, expected 200."
    assert [s.phase for s in run.steps] == ["fault"], "no recovery after a failed fault"
    assert primary.posts() == ["/nope", "/recover"]
    assert [s.step for s in run.rollback] == [f"POST {primary.url}/recover", "restore probe api"]


def test_tabletop_runs_nothing(tmp_path: Path) -> None:
    # Port 9 (discard) is never contacted: a tabletop run calls no address.
    run = run_drill(_scenario("http://127.0.0.1:9", "http://127.0.0.1:9"), tmp_path, run_probes=False)
    assert run.outcome == Outcome.TABLETOP and run.steady_before == [] and run.rollback == []


# -- the drill incident --------------------------------------------------------------------------------------------


def test_drill_incident_rows_and_record_replace_on_rerun(tmp_path: Path) -> None:
    scenario = _scenario("http://127.0.0.1:9", "http://127.0.0.1:9")
    run = run_drill(scenario, tmp_path, run_probes=False)
    run.outcome, run.recovery_seconds = Outcome.PASSED, 90.0
    rows = drill_incident_rows(scenario, run, ["api", "web"], "Ana", date(2026, 3, 29))
    assert [r["incident_id"] for r in rows] == ["DRILL-api-outage-2026-03-29-1", "DRILL-api-outage-2026-03-29-2"]
    assert {r["kind"] for r in rows} == {"drill"} and {r["service"] for r in rows} == {"api", "web"}
    assert rows[0]["vendor_id"] == "" and rows[0]["postmortem_status"] == "not_required"
    # mitigated = started + 90 s of measured recovery.
    started = run.started_at.strftime("%Y-%m-%dT%H:%M")
    assert rows[0]["opened_at"].startswith(started) and rows[0]["mitigated_at"] != rows[0]["opened_at"]

    path = record_drill_incident(tmp_path, rows)
    record_drill_incident(tmp_path, rows)  # the same drill again: replaced, not duplicated
    other = drill_incident_rows(scenario, run, ["api"], "Ana", date(2026, 4, 5))
    record_drill_incident(tmp_path, other)
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == INCIDENT_COLUMNS
        ids = [r["incident_id"] for r in reader]
    assert ids == ["DRILL-api-outage-2026-03-29-1", "DRILL-api-outage-2026-03-29-2", "DRILL-api-outage-2026-04-05-1"]


def test_sample_scenario_yaml_round_trips(tmp_path: Path) -> None:
    [path, *_] = write_sample_drills(tmp_path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Drill scenario: ") and "python -m tasks.continuity.standin" in text
    assert Scenario.model_validate(yaml.safe_load(text)).id == "paybridge-outage"
