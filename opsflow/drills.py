"""Drill scenario files (`<workspace>/drills/*.yaml`): what fails and for how long, probes, fault, recovery, rollback.

Every step is a probe-level action on an address the scenario names (switch a probe to a standby address, or an HTTP
POST): never a shell command, so a scenario file cannot run arbitrary code on the machine that drills.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from opsflow.probes import ProbeSpec

DRILLS_DIR = Path("drills")


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


class ChaosSpec(BaseModel):
    """A drill written as a Chaos Toolkit experiment (steady-state hypothesis, method, rollbacks), run by
    chaostoolkit-lib, with what opsflow adds: the recovery it times, the addresses it may touch, its local target."""

    model_config = ConfigDict(extra="forbid")

    experiment: dict[str, Any] | None = Field(None, description="The experiment itself, in Chaos Toolkit's format.")
    experiment_file: str | None = Field(
        None, description="Or a Chaos Toolkit experiment file (JSON or YAML) in drills/, used unchanged."
    )
    recovery: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Chaos Toolkit activities that recover the service, run once the fault is detected; empty: the "
        "service must recover by itself within the RTO.",
    )
    addresses: list[str] = Field(
        default_factory=list,
        description="URL prefixes the experiment's http activities may call; any other is refused before the drill. "
        "`local_target` adds the local target's own address.",
    )
    local_target: bool = Field(
        False,
        description="Start opsflow's local drill target on 127.0.0.1 first; the experiment reaches it through the "
        "configuration values ${opsflow_target_url} and ${opsflow_target_dir}.",
    )
    detect_timeout_seconds: float = Field(30.0, gt=0, le=3600, description="Wait this long for the fault to show.")
    recover_timeout_seconds: float = Field(
        300.0,
        gt=0,
        le=86_400,
        description="Give up waiting for the steady state after it (set it to the service's RTO or less).",
    )
    poll_seconds: float = Field(0.25, gt=0, le=60, description="How often the hypothesis is checked.")

    @model_validator(mode="after")
    def _one_experiment(self) -> ChaosSpec:
        if (self.experiment is None) == (self.experiment_file is None):
            raise ValueError("chaos: give either experiment (inline) or experiment_file, not both")
        return self

    @property
    def destructive(self) -> bool:
        """The experiment's method has actions (it changes something), as opposed to probes only."""
        method = (self.experiment or {}).get("method", [])
        return self.experiment_file is not None or any(a.get("type") == "action" for a in method)


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
    steady_state: list[ProbeSpec] = Field(default_factory=list)
    chaos: ChaosSpec | None = Field(None, description="The drill as a Chaos Toolkit experiment (replaces the probes).")
    risks: list[str] = Field(default_factory=list, description="Risk ids of the register this drill exercises.")
    fault: list[HttpPost] = Field(default_factory=list, description="Injected before recovery (optional).")
    recovery: Recovery | None = None
    rollback: list[RollbackStep] = Field(default_factory=list)
    cycle_days: int = Field(90, gt=0, le=3650, description="Exercise this scenario at least this often.")

    @model_validator(mode="after")
    def _probe_references(self) -> Scenario:
        if not self.steady_state and self.chaos is None:
            raise ValueError("steady_state: give at least one probe, or a Chaos Toolkit experiment under chaos")
        if self.chaos is not None and (self.steady_state or self.fault or self.recovery or self.rollback):
            raise ValueError("chaos: a Chaos Toolkit drill states its probes and actions in the experiment only")
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
