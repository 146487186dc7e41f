"""Continuity drills as code: the scenario files in `<workspace>/drills/`, the drill run, and its incident record.

What a scenario file may say (the models) lives in the core, `opsflow.drills`, so the sample company's scenarios can be
written and checked without importing tasks.
"""

from __future__ import annotations

import csv
import re
import time
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx
import yaml
from pydantic import BaseModel, Field, ValidationError

from opsflow.contract import contract
from opsflow.drills import DRILLS_DIR, HttpPost, RestoreProbe, Scenario, ScenarioSet, SwitchProbe, TargetKind
from opsflow.probes import ProbeResult, check_all, wait_until_healthy
from opsflow.tasking import compute_task, io_task

FLOW = "contingency-drill"
INCIDENTS_FILE = "drill-incidents.csv"
INCIDENT_COLUMNS = tuple(contract("incidents").columns)
"""The incidents contract's canonical columns, the drill-incident file's header."""


# -- reading the scenario files ----------------------------------------------------------------------------------


def _error_line(path: Path, exc: ValidationError) -> str:
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first["loc"] if not str(p).startswith("function-after"))
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{path}: {loc + ': ' if loc else ''}{message}"


def load_scenario(path: Path) -> Scenario:
    """One scenario file; a bad one raises ValueError with one line naming the file and the field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ValueError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot be read ({exc})") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: a scenario file must be a mapping (id, title, target, ...)")
    if "id" not in raw and ("method" in raw or "steady-state-hypothesis" in raw):
        raw = plain_experiment_scenario(path, raw)
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(_error_line(path, exc)) from None
    if scenario.chaos is not None:
        from tasks.continuity.chaos import check_experiment, load_experiment

        try:
            experiment = load_experiment(scenario.chaos, path.parent.parent)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            raise ValueError(f"{path}: chaos.experiment_file: {exc}") from None
        check_experiment(experiment, scenario.chaos, str(path))
    return scenario


def plain_experiment_scenario(path: Path, experiment: dict[str, Any]) -> dict[str, Any]:
    """A Chaos Toolkit experiment file as it is, made a scenario: opsflow's fields come from its `opsflow` extension
    (`extensions: [{name: opsflow, id: ..., target: ..., ...}]`, Chaos Toolkit's place for a tool's own data), else
    from the file name and the experiment's title and description."""
    ext: dict[str, Any] = next((e for e in experiment.get("extensions", []) if e.get("name") == "opsflow"), {})
    fields = {k: v for k, v in ext.items() if k != "name"}
    chaos = {"experiment_file": path.name, **fields.pop("chaos", {})}
    return {
        "id": re.sub(r"[^a-z0-9-]+", "-", path.stem.lower()).strip("-") or "experiment",
        "title": str(experiment.get("title", path.stem)),
        "target": {"kind": "service", "id": path.stem},
        "duration_hours": 1,
        "expected_response": str(experiment.get("description") or "Not stated in the experiment."),
        **fields,
        "chaos": chaos,
    }


def load_scenarios(workspace: Path) -> ScenarioSet:
    """Every `drills/*.yaml` (and *.yml) scenario of the workspace, sorted by file name, bad files as error lines."""
    folder = workspace / DRILLS_DIR
    result = ScenarioSet()
    if not folder.is_dir():
        return result
    seen: dict[str, Path] = {}
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml"), *folder.glob("*.json")]):
        try:
            scenario = load_scenario(path)
        except ValueError as exc:
            result.errors.append(str(exc))
            continue
        if scenario.id in seen:
            result.errors.append(f"{path}: id {scenario.id!r} is already used by {seen[scenario.id].name}")
            continue
        seen[scenario.id] = path
        result.scenarios.append(scenario)
    return result


# -- running the drill -------------------------------------------------------------------------------------------


class Outcome(StrEnum):
    """How a drill ended."""

    PASSED = "passed"
    FAILED = "failed"
    ABORTED = "aborted"
    TABLETOP = "tabletop"


EXERCISED = (Outcome.PASSED, Outcome.FAILED)
"""Outcomes that count as the scenario having been exercised."""


class StepResult(BaseModel):
    """One fault, recovery or rollback step as it ran."""

    phase: str = Field(description="fault, recovery or rollback.")
    step: str = Field(description="What the step does.")
    ok: bool
    detail: str
    seconds: float = Field(description="How long the step took.")


class DrillRun(BaseModel):
    """What happened when the drill ran: probes before, steps, recovery time, probes after, rollbacks."""

    scenario_id: str
    outcome: Outcome
    started_at: datetime
    ended_at: datetime
    steady_before: list[ProbeResult] = Field(default_factory=list)
    steps: list[StepResult] = Field(default_factory=list)
    recovered: bool | None = Field(None, description="Steady state held again within the recovery timeout.")
    detect_seconds: float | None = Field(
        None, description="Chaos Toolkit drills: from the end of the method (the fault) to the first failing check."
    )
    recovery_seconds: float | None = Field(
        None,
        description="From the first recovery step to steady state (Chaos Toolkit drills: from the fault to the "
        "first passing hypothesis after it).",
    )
    steady_after: list[ProbeResult] = Field(default_factory=list, description="Probes after recovery.")
    rollback: list[StepResult] = Field(default_factory=list)
    after_rollback: list[ProbeResult] = Field(default_factory=list, description="Probes after the rollback.")
    note: str | None = None


def _post(step: HttpPost) -> str:
    with httpx.Client(timeout=step.timeout_seconds, trust_env=False, follow_redirects=False) as client:
        response = client.post(step.url, json=step.json_body)
    if response.status_code != step.expected_status:
        raise RuntimeError(f"HTTP {response.status_code}, expected {step.expected_status}")
    return f"HTTP {response.status_code}"


_ADDRESS_FIELD = {"http": "url", "sql": "url", "file": "path", "prefect_deployment": "deployment"}


def _apply(
    step: HttpPost | SwitchProbe | RestoreProbe, phase: str, active: dict[str, Any], original: dict[str, Any]
) -> StepResult:
    """Run one step; a failure is a result that says why, never an exception."""
    start = time.perf_counter()
    try:
        if isinstance(step, HttpPost):
            detail = _post(step)
        elif isinstance(step, SwitchProbe):
            probe = active[step.probe]
            field = _ADDRESS_FIELD[probe.kind]
            active[step.probe] = probe.model_copy(update={field: step.to})
            detail = f"{step.probe} now checks {step.to}"
        else:
            active[step.probe] = original[step.probe]
            detail = f"{step.probe} checks {getattr(original[step.probe], _ADDRESS_FIELD[original[step.probe].kind])}"
        ok = True
    except Exception as exc:
        ok, detail = False, f"{type(exc).__name__}: {exc}"[:300]
    return StepResult(
        phase=phase, step=step.describe(), ok=ok, detail=detail, seconds=round(time.perf_counter() - start, 3)
    )


def run_drill(scenario: Scenario, workspace: Path, run_probes: bool = True, confirmed: bool = True) -> DrillRun:
    """Steady state first (stop if it does not hold), fault, timed recovery, steady state again; rollbacks always run
    once anything was changed, even when a step failed. A Chaos Toolkit scenario runs its experiment (chaos.py); one
    whose method changes something runs as a tabletop exercise unless `confirmed`."""
    if scenario.chaos is not None:
        from tasks.continuity.chaos import run_chaos_drill

        if run_probes and scenario.chaos.destructive and not confirmed:
            tabletop = run_chaos_drill(scenario, workspace, run_probes=False)
            tabletop.note = (
                "Tabletop: this scenario injects a real fault, and a run from the Prefect UI or a schedule needs "
                "confirm_faults=true to inject it."
            )
            return tabletop
        return run_chaos_drill(scenario, workspace, run_probes)
    started = datetime.now(UTC)
    if not run_probes:
        return DrillRun(
            scenario_id=scenario.id,
            outcome=Outcome.TABLETOP,
            started_at=started,
            ended_at=started,
            note="Tabletop: probes, fault, recovery and rollback were not run; readiness and impact only.",
        )
    original = {p.name: p for p in scenario.steady_state}
    active: dict[str, Any] = dict(original)
    run = DrillRun(scenario_id=scenario.id, outcome=Outcome.FAILED, started_at=started, ended_at=started)
    run.steady_before = check_all(list(active.values()), workspace)
    if not all(r.ok for r in run.steady_before):
        failing = "; ".join(f"{r.probe}: {r.detail}" for r in run.steady_before if not r.ok)
        run.outcome = Outcome.ABORTED
        run.note = f"Steady state did not hold before the drill ({failing}): nothing was changed, drill stopped."
        run.ended_at = datetime.now(UTC)
        return run
    try:
        for fault in scenario.fault:
            result = _apply(fault, "fault", active, original)
            run.steps.append(result)
            if not result.ok:
                run.note = f"Fault step failed: {result.step}: {result.detail}."
                return run
        if scenario.recovery is None:
            run.note = "The scenario defines no recovery action: recovery time was not measured."
        else:
            clock = time.perf_counter()
            for step in scenario.recovery.steps:
                result = _apply(step, "recovery", active, original)
                run.steps.append(result)
                if not result.ok:
                    run.recovered = False
                    run.note = f"Recovery step failed: {result.step}: {result.detail}."
                    return run
            waited, _ = wait_until_healthy(
                list(active.values()), workspace, scenario.recovery.timeout_seconds, scenario.recovery.poll_seconds
            )
            run.recovered = waited is not None
            if waited is not None:
                run.recovery_seconds = round(time.perf_counter() - clock, 3)
            else:
                run.note = f"Steady state did not return within {scenario.recovery.timeout_seconds:g} s of recovery."
        run.steady_after = check_all(list(active.values()), workspace)
        held = all(r.ok for r in run.steady_after)
        if run.recovered is not False and held:
            run.outcome = Outcome.PASSED
        elif not held and run.note is None:
            run.note = "Steady state did not hold after recovery."
    except Exception as exc:  # a bug or an unexpected error still reaches the rollback below
        run.note = f"Drill stopped by an error: {type(exc).__name__}: {exc}"[:300]
        run.outcome = Outcome.FAILED
    finally:
        for undo in scenario.rollback:
            run.rollback.append(_apply(undo, "rollback", active, original))
        if scenario.rollback:
            run.after_rollback = check_all(list(active.values()), workspace)
        run.ended_at = datetime.now(UTC)
    return run


# -- the drill incident ------------------------------------------------------------------------------------------


def _stamp(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def drill_incident_rows(
    scenario: Scenario, run: DrillRun, services: list[str], owner: str | None, as_of: date
) -> list[dict[str, str]]:
    """One incident row of kind drill per directly failed service, in the incidents contract's columns."""
    recovered = run.started_at + timedelta(seconds=run.recovery_seconds) if run.recovery_seconds is not None else None
    vendor = scenario.target.id if scenario.target.kind == TargetKind.VENDOR else ""
    rows = []
    for i, service in enumerate(services or [scenario.target.id], start=1):
        rows.append(
            {
                "incident_id": f"DRILL-{scenario.id}-{as_of.isoformat()}-{i}",
                "title": f"Drill: {scenario.title} ({run.outcome})",
                "service": service,
                "severity": scenario.severity,
                "opened_at": _stamp(run.started_at),
                "acknowledged_at": _stamp(run.started_at),
                "mitigated_at": _stamp(recovered),
                "resolved_at": _stamp(run.ended_at),
                "root_cause": f"drill:{scenario.id}",
                "vendor_id": vendor,
                "customer_impact": "none",
                "owner": owner or "",
                "postmortem_status": "not_required",
                "postmortem_due_at": "",
                "kind": "drill",
            }
        )
    return rows


def record_drill_incident(workspace: Path, rows: list[dict[str, str]]) -> Path:
    """Append the drill's rows to `drills/drill-incidents.csv`; a re-run of the same scenario and day replaces its
    rows (same incident ids)."""
    path = workspace / DRILLS_DIR / INCIDENTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    kept: list[dict[str, str]] = []
    if path.is_file():
        with path.open(encoding="utf-8", newline="") as handle:
            kept = list(csv.DictReader(handle))
    ids = {r["incident_id"] for r in rows}
    kept = [r for r in kept if r.get("incident_id") not in ids]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(INCIDENT_COLUMNS), extrasaction="ignore")
        writer.writeheader()
        writer.writerows([*kept, *rows])
    return path


load_scenarios_task = compute_task(load_scenarios, name="load_scenarios")
run_drill_task = compute_task(run_drill, name="run_drill")
record_drill_incident_task = io_task(record_drill_incident, name="record_drill_incident")
