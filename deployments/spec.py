"""prefect.yaml read the way `prefect deploy` reads it, so serve.py and the tests cannot drift from the file."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from prefect import Flow
    from prefect.client.schemas.actions import DeploymentScheduleCreate

REPO_ROOT = Path(__file__).resolve().parent.parent
PREFECT_FILE = REPO_ROOT / "deployments" / "prefect.yaml"
FLOWS_DIR = REPO_ROOT / "flows"


class SpecError(Exception):
    """prefect.yaml is missing, malformed, or names something that does not exist."""


@dataclass(frozen=True)
class DeploymentSpec:
    """One entry of prefect.yaml's `deployments`, after YAML anchors are expanded."""

    name: str
    entrypoint: str
    tags: list[str] = field(default_factory=list)
    description: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    schedules: list[dict[str, Any]] = field(default_factory=list)
    """As written in the file: `cron`, `timezone`, `day_or`, `parameters`, ..."""
    work_pool: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    """The work pool job variables' `env`: what a worker puts in the flow run's environment."""
    concurrency_limit: int | None = None
    paused: bool | None = None

    @property
    def module(self) -> str:
        """`flows/weekly_audit.py:weekly_audit` -> `flows.weekly_audit` (the installed package's module)."""
        path = self.entrypoint.split(":", 1)[0]
        return path.removesuffix(".py").replace("/", ".")

    @property
    def function(self) -> str:
        return self.entrypoint.split(":", 1)[1]


def read_prefect_yaml(path: Path = PREFECT_FILE) -> dict[str, Any]:
    """The file as plain data (anchors expanded), validated by Prefect's own model of it.

    `prefect deploy` prints a warning and skips the whole file when it does not validate; here that is an error.
    """
    from prefect.cli.deploy._models import PrefectYamlModel
    from pydantic import ValidationError

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(f"{path}: cannot be read ({exc})") from None
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: expected a mapping at the top level")
    try:
        PrefectYamlModel.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(f"{path}: {exc.error_count()} error(s): {exc.errors()[0]['msg']}") from None
    return raw


def load_specs(path: Path = PREFECT_FILE) -> list[DeploymentSpec]:
    """Every deployment in prefect.yaml, in file order."""
    from prefect.cli.deploy._models import PrefectYamlModel

    model = PrefectYamlModel.model_validate(read_prefect_yaml(path))
    specs: list[DeploymentSpec] = []
    for entry in model.deployments:
        config = entry.model_dump(exclude_unset=True, mode="json")
        if not config.get("name") or not config.get("entrypoint") or ":" not in config["entrypoint"]:
            raise SpecError(f"{path}: every deployment needs a name and an entrypoint `file.py:function` ({config})")
        tags = config.get("tags") or []
        if not isinstance(tags, list):
            raise SpecError(f"{path}: {config['name']}: tags must be a list")
        pool = config.get("work_pool") or {}
        limit = config.get("concurrency_limit")
        specs.append(
            DeploymentSpec(
                name=config["name"],
                entrypoint=config["entrypoint"],
                tags=[str(t) for t in tags],
                description=config.get("description"),
                parameters=config.get("parameters") or {},
                schedules=config.get("schedules") or [],
                work_pool=pool.get("name"),
                env={k: str(v) for k, v in ((pool.get("job_variables") or {}).get("env") or {}).items()},
                concurrency_limit=limit.get("limit") if isinstance(limit, dict) else limit,
                paused=config.get("paused"),
            )
        )
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise SpecError(f"{path}: deployment names repeat: {sorted(n for n in names if names.count(n) > 1)}")
    return specs


def deployment_schedules(spec: DeploymentSpec) -> list[DeploymentScheduleCreate]:
    """The schedules exactly as `prefect deploy` builds them from the file (same function)."""
    from prefect.cli.deploy._schedules import _schedule_config_to_deployment_schedule
    from prefect.client.schemas.actions import DeploymentScheduleCreate

    return [DeploymentScheduleCreate(**_schedule_config_to_deployment_schedule(config)) for config in spec.schedules]


def load_flow(spec: DeploymentSpec) -> Flow[..., Any]:
    """The flow object the entrypoint names, imported as its package module (`flows.weekly_audit`)."""
    from prefect import Flow

    try:
        module = importlib.import_module(spec.module)
    except ImportError as exc:
        raise SpecError(f"{spec.name}: entrypoint {spec.entrypoint} does not import ({exc})") from None
    obj = getattr(module, spec.function, None)
    if not isinstance(obj, Flow):
        raise SpecError(f"{spec.name}: {spec.entrypoint} is not a Prefect flow")
    return obj


def flow_modules(flows_dir: Path = FLOWS_DIR) -> list[str]:
    """Every flow module in flows/ as an entrypoint file path (`flows/weekly_audit.py`)."""
    return sorted(f"flows/{p.name}" for p in flows_dir.glob("*.py") if p.name != "__init__.py")
