"""Continuity drills as code: scenario files in `<workspace>/drills/`, the drill run itself, and its incident record.

A scenario says what fails (a vendor, a service, a site, a key person) and for how long, the steady-state probes, an
optional fault to inject, the recovery and the rollback. Every step is a probe-level action on an address the
scenario names (switch a probe to a standby address, or an HTTP POST): never a shell command.
"""

from __future__ import annotations

import csv
import time
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from opsflow.tasking import compute_task, io_task
from tasks.continuity.probes import ProbeResult, ProbeSpec, check_all, wait_until_healthy

FLOW = "contingency-drill"
DRILLS_DIR = Path("drills")
INCIDENTS_FILE = "drill-incidents.csv"
INCIDENT_COLUMNS = (
    "incident_id",
    "title",
    "service",
    "severity",
    "opened_at",
    "acknowledged_at",
    "mitigated_at",
    "resolved_at",
    "root_cause",
    "vendor_id",
    "customer_impact",
    "owner",
    "postmortem_status",
    "postmortem_due_at",
    "kind",
)
"""The incidents contract's canonical columns, the drill-incident file's header."""


# -- the scenario ------------------------------------------------------------------------------------------------


class TargetKind(StrEnum):
    """What a scenario takes away."""

    VENDOR = "vendor"
    SERVICE = "service"
    SITE = "site"
    PERSON = "person"


class Target(BaseModel):
    """What fails: a vendor or service by id, or a site or key person with the services that need it."""

    model_config = ConfigDict(extra="forbid")

    kind: TargetKind
    id: str = Field(min_length=1, description="vendor_id, service_id, a site name, or a person's name.")
    services: list[str] = Field(
        default_factory=list,
        description="Services that fail directly with it (required for a site; added to a person's own services).",
    )

    @model_validator(mode="after")
    def _site_needs_services(self) -> Target:
        if self.kind == TargetKind.SITE and not self.services:
            raise ValueError("a site target must list the services that run there (target.services)")
        return self


class Contact(BaseModel):
    """Somebody to call during the scenario."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    role: str = Field(min_length=1)
    phone: str | None = None
    email: str | None = None

    @property
    def reachable(self) -> bool:
        return bool(self.phone or self.email)


class HttpPost(BaseModel):
    """POST to an address named in the scenario (a failover switch, a feature flag, a stand-in's control)."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["http_post"] = "http_post"
    url: str = Field(pattern=r"^https?://")
    json_body: dict[str, Any] | None = Field(None, alias="json")
    expected_status: int = Field(200, ge=100, le=599)
    timeout_seconds: float = Field(10.0, gt=0, le=120)

    def describe(self) -> str:
        return f"POST {self.url}"


class SwitchProbe(BaseModel):
    """Point a probe at its standby: the url (http, sql), path (file) or deployment it checks becomes `to`."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["switch_probe"] = "switch_probe"
    probe: str
    to: str = Field(min_length=1)

    def describe(self) -> str:
        return f"switch probe {self.probe} to {self.to}"


class RestoreProbe(BaseModel):
    """Point a switched probe back at its primary address."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["restore_probe"] = "restore_probe"
    probe: str

    def describe(self) -> str:
        return f"restore probe {self.probe}"


RecoveryStep = Annotated[HttpPost | SwitchProbe, Field(discriminator="action")]
RollbackStep = Annotated[HttpPost | RestoreProbe, Field(discriminator="action")]


class Recovery(BaseModel):
    """The recovery the drill runs and times: its steps, then the steady-state probes polled until they hold."""

    model_config = ConfigDict(extra="forbid")

    steps: list[RecoveryStep] = Field(min_length=1)
    timeout_seconds: float = Field(300.0, gt=0, le=86_400, description="Give up waiting for steady state after it.")
    poll_seconds: float = Field(1.0, gt=0, le=600)


class Scenario(BaseModel):
    """One drill scenario file."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=60, description="Stable id: history keys on it.")
    title: str = Field(min_length=1)
    target: Target
    duration_hours: float = Field(gt=0, description="How long the outage lasts in the scenario.")
    severity: Literal["SEV1", "SEV2", "SEV3", "SEV4"] = Field("SEV2", description="Severity of the drill incident.")
    expected_response: str = Field(min_length=1, description="What the responders are expected to do.")
    contacts: list[Contact] = Field(default_factory=list)
    steady_state: list[ProbeSpec] = Field(min_length=1)
    fault: list[HttpPost] = Field(default_factory=list, description="Injected before recovery (optional).")
    recovery: Recovery | None = None
    rollback: list[RollbackStep] = Field(default_factory=list)
    cycle_days: int = Field(90, gt=0, le=3650, description="Exercise this scenario at least this often.")

    @model_validator(mode="after")
    def _probe_references(self) -> Scenario:
        names = [p.name for p in self.steady_state]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"steady_state: probe name {duplicates[0]!r} is used twice")
        steps: list[Any] = [*(self.recovery.steps if self.recovery else []), *self.rollback]
        for step in steps:
            probe = getattr(step, "probe", None)
            if probe is not None and probe not in names:
                raise ValueError(f"{step.action} names probe {probe!r}, which is not in steady_state")
        return self

    @property
    def path_hint(self) -> str:
        return f"{DRILLS_DIR}/{self.id}.yaml"


class ScenarioSet(BaseModel):
    """The workspace's scenarios, and one line per file that could not be used."""

    scenarios: list[Scenario] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)

    def get(self, scenario_id: str) -> Scenario | None:
        return next((s for s in self.scenarios if s.id == scenario_id), None)


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
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(_error_line(path, exc)) from None


def load_scenarios(workspace: Path) -> ScenarioSet:
    """Every `drills/*.yaml` (and *.yml) scenario of the workspace, sorted by file name, bad files as error lines."""
    folder = workspace / DRILLS_DIR
    result = ScenarioSet()
    if not folder.is_dir():
        return result
    seen: dict[str, Path] = {}
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
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
    recovery_seconds: float | None = Field(None, description="From the first recovery step to steady state.")
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


def run_drill(scenario: Scenario, workspace: Path, run_probes: bool = True) -> DrillRun:
    """Steady state first (stop if it does not hold), fault, timed recovery, steady state again; rollbacks always run
    once anything was changed, even when a step failed."""
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


# -- the sample company's scenarios ------------------------------------------------------------------------------

STANDIN_HINT = (
    "# The probes call stand-in endpoints on 127.0.0.1: start them with `python -m tasks.continuity.standin` (ports\n"
    "# 8801-8806), or point the URLs at your own health endpoints. Without them the drill stops at the\n"
    "# steady-state check; run it with run_probes=false for a tabletop exercise (readiness and impact only).\n"
)

SAMPLE_DRILLS: dict[str, dict[str, Any]] = {
    "paybridge-outage": {
        "id": "paybridge-outage",
        "title": "PayBridge (V-1201) API outage: card payments fail",
        "target": {"kind": "vendor", "id": "V-1201"},
        "duration_hours": 4,
        "severity": "SEV2",
        "expected_response": (
            "Payments Team declares a SEV2, routes card payments through the standby payment route and tells "
            "customer service; checkout shows a payment notice until PayBridge is back."
        ),
        "contacts": [
            {
                "name": "Lea Hoffmann",
                "role": "Incident commander (Payments Team)",
                "email": "lea.hoffmann@northwind-supply.example",
            },
            {"name": "Omar Haddad", "role": "Payments engineer on call", "phone": "+49 30 5550 1201"},
        ],
        "steady_state": [
            {"name": "payments-health", "kind": "http", "url": "http://127.0.0.1:8801/health", "max_latency_ms": 800},
        ],
        "fault": [{"action": "http_post", "url": "http://127.0.0.1:8801/fail"}],
        "recovery": {
            "steps": [{"action": "switch_probe", "probe": "payments-health", "to": "http://127.0.0.1:8802/health"}],
            "timeout_seconds": 60,
            "poll_seconds": 1,
        },
        "rollback": [
            {"action": "http_post", "url": "http://127.0.0.1:8801/recover"},
            {"action": "restore_probe", "probe": "payments-health"},
        ],
        "cycle_days": 90,
    },
    "warehouse-hall-b-loss": {
        "id": "warehouse-hall-b-loss",
        "title": "Warehouse hall B lost for a shift: WMS primary and scanners down",
        "target": {"kind": "site", "id": "hall-b", "services": ["wms", "warehouse-scanners"]},
        "duration_hours": 10,
        "severity": "SEV1",
        "expected_response": (
            "Warehouse Operations moves picking to hall A, fails the WMS over to its standby instance and switches "
            "handhelds to the standby access points."
        ),
        "contacts": [
            {"name": "Lukas Fischer", "role": "Warehouse incident lead", "phone": "+49 40 5550 2208"},
            {"name": "Jan Krause", "role": "Scanner fleet"},
        ],
        "steady_state": [
            {"name": "wms-health", "kind": "http", "url": "http://127.0.0.1:8803/health", "max_latency_ms": 1500},
        ],
        "fault": [{"action": "http_post", "url": "http://127.0.0.1:8803/fail"}],
        "recovery": {
            "steps": [{"action": "switch_probe", "probe": "wms-health", "to": "http://127.0.0.1:8804/health"}],
            "timeout_seconds": 120,
            "poll_seconds": 2,
        },
        "rollback": [
            {"action": "http_post", "url": "http://127.0.0.1:8803/recover"},
            {"action": "restore_probe", "probe": "wms-health"},
        ],
        "cycle_days": 90,
    },
    "swiftline-carrier-failure": {
        "id": "swiftline-carrier-failure",
        "title": "Swiftline Logistics (V-1001) stops collecting parcels for two days",
        "target": {"kind": "vendor", "id": "V-1001"},
        "duration_hours": 48,
        "severity": "SEV3",
        "expected_response": (
            "Fulfilment Engineering moves Swiftline's share of labels to Rheinpost Parcel (V-1002, the qualified "
            "backup) and the vendor manager invokes the contract's service-credit clause."
        ),
        "contacts": [
            {
                "name": "Julia Peters",
                "role": "Vendor manager, logistics",
                "email": "julia.peters@northwind-supply.example",
            },
            {"name": "Mia Wagner", "role": "Fulfilment engineering lead", "phone": "+49 40 5550 1001"},
        ],
        "steady_state": [
            {
                "name": "carrier-api",
                "kind": "http",
                "url": "http://127.0.0.1:8805/labels/health",
                "max_latency_ms": 1000,
            },
        ],
        "recovery": {
            "steps": [{"action": "switch_probe", "probe": "carrier-api", "to": "http://127.0.0.1:8806/labels/health"}],
            "timeout_seconds": 60,
        },
        "rollback": [{"action": "restore_probe", "probe": "carrier-api"}],
        "cycle_days": 90,
    },
}
"""The sample company's drills: PayBridge (no backup vendor, never drilled, real outages longer than the RTO), the
WMS site loss (RTO above MTPD, stale runbook) and the Swiftline carrier failure (qualified backup)."""


def write_sample_drills(workspace: Path) -> list[Path]:
    """Write the sample company's drill scenarios to `<workspace>/drills/`."""
    folder = workspace / DRILLS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for scenario_id, body in SAMPLE_DRILLS.items():
        Scenario.model_validate(body)  # the sample must always be a valid scenario
        path = folder / f"{scenario_id}.yaml"
        text = yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=110)
        path.write_text(f"# Drill scenario: {body['title']}\n{STANDIN_HINT}{text}", encoding="utf-8")
        paths.append(path)
    return paths


load_scenarios_task = compute_task(load_scenarios, name="load_scenarios")
run_drill_task = compute_task(run_drill, name="run_drill")
record_drill_incident_task = io_task(record_drill_incident, name="record_drill_incident")
