"""A flow's first step: the workspace's datasets loaded, validated, and judged usable or not."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from prefect.states import Failed, State

from opsflow import openslo
from opsflow.config import WorkspaceConfig, load_config
from opsflow.datasets import OpsData
from opsflow.memory import release_free_memory
from opsflow.openslo import OpenSloError
from opsflow.timing import StageTimer
from tasks.data.ingest import load_order, load_source_task
from tasks.data.validate import validate_workspace_task

QUARANTINE_DIR = Path("quarantine")


class DataNotUsableError(Exception):
    """Too much of the workspace's data failed to load or validate for any figure built on it to be trusted."""


@dataclass
class WorkspaceData:
    """A workspace's configuration and validated data, with the datasets that could not be read."""

    workspace: Path
    config: WorkspaceConfig
    data: OpsData
    load_errors: dict[str, str] = field(default_factory=dict)
    # Set by tasks/data/clock.py once the period is known: what the data covers, one line; the datasets that stop
    # before the period ends (their figures are partial), and a warning line for each.
    coverage_line: str = ""
    clock_warnings: list[str] = field(default_factory=list)
    partial_datasets: list[str] = field(default_factory=list)

    @property
    def reasons(self) -> list[str]:
        """Why the data cannot be used (empty when it can)."""
        return unusable_reasons(self.data, self.load_errors)


def unusable_reasons(data: OpsData, load_errors: dict[str, str], shown_above: bool = False) -> list[str]:
    """One line per dataset that could not be read or has more quarantined rows than its threshold allows
    (`shown_above`: the read errors were printed already, so they are not repeated)."""
    reasons = [
        f"{name}: could not be read" + (" (see above)" if shown_above else f" ({error})")
        for name, error in sorted(load_errors.items())
    ]
    for name, ds in data.datasets.items():
        q = ds.quality
        if not q.usable:
            reasons.append(
                f"{name}: {q.rows_quarantined:,} of {q.rows_in:,} rows quarantined "
                f"({q.quarantined_share:.1%}, limit {q.threshold:.1%})"
            )
    return reasons


def load_workspace_data(workspace: Path, timer: StageTimer | None = None) -> WorkspaceData:
    """Load and validate every dataset the workspace's opsflow.yaml maps (ConfigError when there is none)."""
    timer = timer or StageTimer()
    config = load_config(workspace)
    with timer("load"):
        # One task per dataset on the flow's task runner: they read in parallel (threads by default, a Dask
        # cluster when the flow is given a DaskTaskRunner).
        futures = {name: load_source_task.submit(name, config.sources[name], workspace) for name in load_order(config)}
        loaded, load_errors = {}, {}
        for name in list(futures):
            # Popped: a future holds its loaded frame too, and validation frees each dataset once validated.
            outcome = futures.pop(name).result()
            if isinstance(outcome, str):
                load_errors[name] = outcome
            else:
                loaded[name] = outcome
    with timer("validate"):
        data = validate_workspace_task(loaded, config, workspace / QUARANTINE_DIR, release=True)
        release_free_memory()
    data.end_activities = config.end_activities()
    try:
        data.slo_overrides = apply_slo_files(data, workspace)
    except OpenSloError as exc:
        load_errors["slos"] = str(exc)
    return WorkspaceData(workspace, config, data, load_errors)


def apply_slo_files(data: OpsData, workspace: Path) -> int:
    """The objectives of the workspace's OpenSLO files (slos/*.yaml) set on the SLA events, so every flow and report
    judges an SLO by the team's own definition; the number of events whose objective changed."""
    slos = openslo.read_folder(workspace)
    if not slos:
        return 0
    changed = 0
    events = data.datasets.get("sla_events")
    if events is not None:
        events.frame, changed = openslo.apply(events.frame, slos)
    # A service-tier SLO (latency, error rate) is the service's own objective in the catalogue, where every flow
    # reads it.
    services = data.datasets.get("services")
    if services is not None and "service_metrics" in data.datasets:
        services.frame, on_services = openslo.apply_to_services(services.frame, slos)
        changed += on_services
    return changed


def not_usable(flow: str, prepared: WorkspaceData) -> State:
    """The Failed state a flow returns when its data cannot be trusted: one clear message, no traceback."""
    message = f"{flow} stopped, data not usable: " + "; ".join(prepared.reasons)
    return Failed(message=message, data=DataNotUsableError(message))
