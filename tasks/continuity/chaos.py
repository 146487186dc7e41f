"""Drills written as Chaos Toolkit experiments, run by chaostoolkit-lib: the steady-state hypothesis, the method
(the fault), the hypothesis polled until the fault shows and until it holds again, the declared recovery, and the
rollbacks, which always run. Times are measured from the end of the method: time to detect (first failing
hypothesis) and time to recover (first passing hypothesis after it)."""

from __future__ import annotations

import json
import logging
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from opsflow import drill_target
from opsflow.drills import DRILLS_DIR, ChaosSpec, Scenario
from opsflow.probes import ProbeResult
from tasks.continuity.scenarios import DrillRun, Outcome, StepResult

log = logging.getLogger("opsflow.drill")

TARGET_URL, TARGET_DIR = "opsflow_target_url", "opsflow_target_dir"
"""Configuration keys an experiment uses to reach opsflow's local target (${opsflow_target_url} and so on)."""


def load_experiment(spec: ChaosSpec, workspace: Path) -> dict[str, Any]:
    """The experiment: inline, or read from its file in drills/ (JSON or YAML) as Chaos Toolkit would read it."""
    if spec.experiment is not None:
        return spec.experiment
    assert spec.experiment_file is not None
    path = workspace / DRILLS_DIR / spec.experiment_file
    text = path.read_text(encoding="utf-8")
    loaded = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: a Chaos Toolkit experiment must be a mapping (title, method, ...)")
    return loaded


def activities(experiment: dict[str, Any], spec: ChaosSpec | None = None) -> list[dict[str, Any]]:
    """Every activity of the experiment (hypothesis probes, method, rollbacks) and of opsflow's recovery."""
    hypothesis = experiment.get("steady-state-hypothesis") or {}
    return [
        *hypothesis.get("probes", []),
        *experiment.get("method", []),
        *experiment.get("rollbacks", []),
        *(spec.recovery if spec is not None else []),
    ]


def check_experiment(experiment: dict[str, Any], spec: ChaosSpec, shown: str) -> None:
    """Chaos Toolkit's own validation, then opsflow's: no process provider (it would run a command on the machine
    that drills), and every http activity inside the scenario's declared addresses. ValueError, one line."""
    from chaoslib.exceptions import ChaosException
    from chaoslib.experiment import ensure_experiment_is_valid

    try:
        ensure_experiment_is_valid(experiment)
    except ChaosException as exc:
        raise ValueError(f"{shown}: not a valid Chaos Toolkit experiment: {str(exc).splitlines()[0]}") from None
    allowed = [*spec.addresses, *(["${" + TARGET_URL + "}"] if spec.local_target else [])]
    for activity in activities(experiment, spec):
        provider = activity.get("provider") or {}
        name = activity.get("name", "?")
        if provider.get("type") == "process":
            raise ValueError(
                f"{shown}: activity {name!r}: process providers run commands on this machine; opsflow drills use "
                "http and python providers only"
            )
        url = str(provider.get("url", ""))
        if provider.get("type") == "http" and allowed and not any(url.startswith(a) for a in allowed):
            raise ValueError(
                f"{shown}: activity {name!r} calls {url}, outside the scenario's addresses ({', '.join(allowed)})"
            )


def confirmed(confirm: bool) -> bool:
    """A destructive drill may run: confirmed by the run's parameter, or started by hand (`opsflow run`, no
    deployment). A run from the Prefect UI or a schedule must say so explicitly."""
    from prefect.runtime import deployment

    return confirm or deployment.id is None


def _probe_results(state: dict[str, Any] | None, configuration: dict[str, Any]) -> list[ProbeResult]:
    from chaoslib import substitute

    results = []
    for run in (state or {}).get("probes", []):
        activity, provider = run["activity"], run["activity"].get("provider", {})
        output = run.get("output")
        detail = run["status"] if run["status"] == "failed" else f"{run['status']}: {str(output)[:120]}"
        if run["status"] == "failed" and run.get("exception"):
            detail = f"failed: {str(run['exception'][-1]).strip()[:160]}"
        results.append(
            ProbeResult(
                probe=str(activity.get("name", "?")),
                kind=str(provider.get("type", "?")),
                target=str(
                    substitute(provider.get("url"), configuration, {})
                    or f"{provider.get('module')}.{provider.get('func')}"
                ),
                ok=bool(run.get("tolerance_met")),
                detail=detail,
                latency_ms=round(float(run.get("duration", 0.0)) * 1000, 1),
                checked_at=datetime.fromisoformat(run["start"]),
            )
        )
    return results


class _Experiment:
    """One experiment's run context: its configuration (with the local target's), secrets and the step log."""

    def __init__(self, experiment: dict[str, Any], configuration: dict[str, Any]) -> None:
        from chaoslib.configuration import load_configuration
        from chaoslib.secret import load_secrets

        self.experiment = experiment
        # extra_vars only override keys the experiment declares, so opsflow's own are added afterwards.
        self.configuration = {**load_configuration(experiment.get("configuration", {})), **configuration}
        self.secrets = load_secrets(experiment.get("secrets", {}), self.configuration)

    def hypothesis(self) -> tuple[bool, dict[str, Any] | None]:
        from chaoslib.hypothesis import run_steady_state_hypothesis

        state = run_steady_state_hypothesis(self.experiment, self.configuration, self.secrets, None, None)
        return (True if state is None else bool(state["steady_state_met"])), state

    def act(self, activity: dict[str, Any], phase: str) -> StepResult:
        from chaoslib.activity import execute_activity

        run = execute_activity(self.experiment, activity, self.configuration, self.secrets, None)
        ok = run["status"] == "succeeded"
        detail = "done" if ok else f"failed: {str((run.get('exception') or ['?'])[-1]).strip()[:200]}"
        if ok and run.get("output") is not None:
            detail = f"done: {str(run['output'])[:160]}"
        return StepResult(
            phase=phase,
            step=f"{activity.get('type', 'action')} {activity.get('name', '?')}",
            ok=ok,
            detail=detail,
            seconds=round(float(run.get("duration", 0.0)), 3),
        )

    def poll(self, want: bool, timeout: float, every: float) -> tuple[float | None, dict[str, Any] | None]:
        """Check the hypothesis until it is `want` (met or not); the perf_counter time it first was, or None."""
        deadline = time.perf_counter() + timeout
        state = None
        while True:
            met, state = self.hypothesis()
            if met == want:
                return time.perf_counter(), state
            if time.perf_counter() >= deadline:
                return None, state
            time.sleep(every)


def run_chaos_drill(scenario: Scenario, workspace: Path, run_probes: bool = True) -> DrillRun:
    """The drill of a scenario written as a Chaos Toolkit experiment (see the module docstring)."""
    spec = scenario.chaos
    assert spec is not None
    started = datetime.now(UTC)
    run = DrillRun(scenario_id=scenario.id, outcome=Outcome.FAILED, started_at=started, ended_at=started)
    if not run_probes:
        run.outcome = Outcome.TABLETOP
        run.note = "Tabletop: the experiment was not run (no probe, fault, recovery or rollback); readiness only."
        return run
    experiment = load_experiment(spec, workspace)
    # A failing probe is the fault being detected, which chaostoolkit logs as an ERROR: the drill's report says
    # what happened, so its console lines are kept to real trouble.
    logging.getLogger("chaostoolkit").setLevel(logging.CRITICAL)
    state_dir = Path(tempfile.mkdtemp(prefix="opsflow-drill-target-"))
    extra: dict[str, Any] = {TARGET_DIR: str(state_dir)}
    if spec.local_target:
        extra[TARGET_URL] = drill_target.launch(str(state_dir))
    chaos = _Experiment(experiment, extra)
    try:
        held, state = chaos.hypothesis()
        run.steady_before = _probe_results(state, chaos.configuration)
        if not held:
            failing = "; ".join(f"{r.probe}: {r.detail}" for r in run.steady_before if not r.ok)
            run.outcome = Outcome.ABORTED
            run.note = f"Steady state did not hold before the drill ({failing}): nothing was changed, drill stopped."
            return run
        for activity in experiment.get("method", []):
            step = chaos.act(activity, "fault")
            run.steps.append(step)
            if not step.ok:
                run.note = f"The method failed midway at {step.step}: {step.detail}. Rollbacks ran."
                return run
        fault_at = time.perf_counter()
        # With a declared recovery the fault must show; without one (Chaos Toolkit's own reading) the hypothesis is
        # checked once after the method, and holding means the service absorbed the fault.
        wait = spec.detect_timeout_seconds if spec.recovery else 0.0
        detected, state = chaos.poll(False, wait, spec.poll_seconds)
        if detected is None:
            run.steady_after = _probe_results(state, chaos.configuration)
            if spec.recovery:
                run.note = (
                    f"The fault never showed: the hypothesis still held {wait:g} s after the method. The probes do "
                    "not see this failure."
                )
            else:
                run.outcome, run.recovered = Outcome.PASSED, True
                run.note = "The hypothesis held after the method: the service absorbed the fault."
            return run
        run.detect_seconds = round(detected - fault_at, 3)
        for activity in spec.recovery:
            step = chaos.act(activity, "recovery")
            run.steps.append(step)
            if not step.ok:
                run.recovered = False
                run.note = f"Recovery step failed: {step.step}: {step.detail}."
                return run
        back, state = chaos.poll(True, spec.recover_timeout_seconds, spec.poll_seconds)
        run.steady_after = _probe_results(state, chaos.configuration)
        run.recovered = back is not None
        if back is None:
            run.note = f"Steady state did not return within {spec.recover_timeout_seconds:g} s of the fault."
        else:
            run.recovery_seconds = round(back - fault_at, 3)
            run.outcome = Outcome.PASSED
    except Exception as exc:  # a bug or an unexpected error still reaches the rollbacks below
        run.note = f"Drill stopped by an error: {type(exc).__name__}: {exc}"[:300]
        run.outcome = Outcome.FAILED
    finally:
        if run.outcome != Outcome.ABORTED:
            run.rollback = [chaos.act(activity, "rollback") for activity in experiment.get("rollbacks", [])]
            if experiment.get("rollbacks"):
                run.after_rollback = _probe_results(chaos.hypothesis()[1], chaos.configuration)
        if spec.local_target:
            drill_target.shutdown(str(state_dir))
        run.ended_at = datetime.now(UTC)
    return run
