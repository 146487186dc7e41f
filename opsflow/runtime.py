"""How the `opsflow` command runs Prefect flows: quiet defaults, and a temporary API server that is stopped in order."""

from __future__ import annotations

import importlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:
    from prefect import Flow

logger = logging.getLogger(__name__)

FLOWS: dict[str, str] = {
    "data-check": "flows.data_check:data_check",
    "weekly-audit": "flows.weekly_audit:weekly_audit",
    "vendor-sla-review": "flows.vendor_sla_review:vendor_sla_review",
    "contingency-drill": "flows.contingency_drill:contingency_drill",
    "operational-transformation": "flows.operational_transformation:operational_transformation",
    "improvement-initiative": "flows.improvement_initiative:improvement_initiative",
    "performance-review": "flows.performance_review:performance_review",
    "daily-brief": "flows.daily_brief:daily_brief",
    "problem-solution-metrics": "flows.problem_solution_metrics:problem_solution_metrics",
    "risk-aware-planning": "flows.risk_aware_planning:risk_aware_planning",
    "risk-assessment": "flows.risk_assessment:risk_assessment",
}
"""Every flow `opsflow run NAME` can start: name -> `module:attribute`. Adding a flow is one line here.

A registered flow takes one parameter, `params`, a pydantic model with `workspace` and `as_of` fields, and returns a
pydantic model; the command prints its `outputs` mapping (label -> path) if it has one, else its Path fields."""

SERVER_START_TIMEOUT = 90
"""Seconds to wait for the temporary server: it takes about 8 s on a busy 2-core machine, more on a first run."""

SETTLE_TIMEOUT = 30.0
"""Seconds to wait for the temporary server to record the last events before stopping it anyway."""


class UnknownFlowError(Exception):
    """`opsflow run` was given a flow name that is not registered."""


def configure_environment() -> None:
    """Defaults every opsflow process sets before Prefect reads its settings (an explicit setting always wins).

    PREFECT_HOME is left alone: unless the user sets it, Prefect keeps its database and profiles under `~/.prefect`,
    so runs never litter the repository and show up in the user's own Prefect UI later.
    """
    # A company's operations pipeline has no reason to send usage data anywhere (and often no network to).
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def flow_names() -> list[str]:
    return sorted(FLOWS)


def require_flow(name: str) -> str:
    """The `module:attribute` of registered flow `name`, checked without importing anything."""
    target = FLOWS.get(name)
    if target is None:
        raise UnknownFlowError(f"unknown flow {name!r}; registered flows: {', '.join(flow_names())}")
    return target


def load_flow(name: str) -> Flow[..., Any]:
    """Import the registered flow `name` (imports are lazy so `opsflow --help` stays fast)."""
    module_name, attribute = require_flow(name).split(":", 1)
    loaded: Flow[..., Any] = getattr(importlib.import_module(module_name), attribute)
    return loaded


def flow_parameters(flow: Flow[..., Any], workspace: Path, as_of: date | None) -> dict[str, Any]:
    """The `params` of a CLI run: the workspace, and `--as-of` as the date field the flow's model has.

    Most flows call the last day of their period `as_of`; a review over a period calls it `period_end`.
    """
    model = flow.parameters.properties.get("params", {})
    ref = str(model.get("$ref", model.get("allOf", [{}])[0].get("$ref", ""))).rsplit("/", 1)[-1]
    fields = set(flow.parameters.definitions.get(ref, {}).get("properties", {})) if ref else set()
    params: dict[str, Any] = {"workspace": workspace}
    if as_of is not None:
        date_field = next((f for f in ("as_of", "period_end") if f in fields), "as_of")
        params[date_field] = as_of
    return params


def _last_task_run_states(events: list[Any]) -> dict[UUID, UUID]:
    """Per task run, the id of the last state event the client sent (the server records the state under that id)."""
    last: dict[UUID, Any] = {}
    for event in events:
        if event.event.startswith("prefect.task-run."):
            run_id = event.resource.prefect_object_id("prefect.task-run")
            if run_id not in last or event.occurred >= last[run_id].occurred:
                last[run_id] = event
    return {run_id: event.id for run_id, event in last.items()}


def _recorded(expected: dict[UUID, UUID]) -> bool:
    """True when the server's task runs carry the last state the client sent for each of them."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterId

    ids = list(expected)
    seen: dict[UUID, UUID | None] = {}
    with get_client(sync_client=True) as client:
        for start in range(0, len(ids), 200):  # the API returns at most 200 rows per call
            chunk = ids[start : start + 200]
            runs = client.read_task_runs(task_run_filter=TaskRunFilter(id=TaskRunFilterId(any_=chunk)), limit=200)
            seen.update({run.id: run.state_id for run in runs})
    return all(seen.get(run) == state for run, state in expected.items())


def _settle(timeout: float) -> None:
    """Send every queued event and log, then wait until the server has recorded the task runs' last states."""
    from prefect.events.clients import AssertingPassthroughEventsClient
    from prefect.events.worker import EventsWorker

    # drain_all stops every client queue service (events and API logs share the registry) and waits for it.
    EventsWorker.drain_all(timeout=timeout)
    expected = _last_task_run_states([e for client in AssertingPassthroughEventsClient.all for e in client.events])
    deadline = time.monotonic() + timeout
    while expected and time.monotonic() < deadline:
        try:
            if _recorded(expected):
                return
        except Exception:  # the server is gone or unwell: nothing left to wait for, and the run's outcome stands
            logger.debug("could not check the temporary server's task runs", exc_info=True)
            return
        time.sleep(0.1)


@dataclass
class RuntimeInfo:
    """Where this command's flow runs are reported, and what starting a temporary server cost."""

    api_url: str | None
    temporary_server: bool
    server_start_seconds: float = 0.0


@contextmanager
def prefect_runtime(warmup: Callable[[], object] | None = None) -> Iterator[RuntimeInfo]:
    """Run the body against the configured Prefect API, or against a temporary local server started for it.

    With no PREFECT_API_URL, Prefect itself would start a temporary server on first use and stop it at interpreter
    exit, while the server's task-run recorder is still writing the last task-run events the client just streamed:
    stopping cancels that write, and the server logs `ERROR ... Error flushing N events` with CancelledError
    tracebacks although nothing is wrong. Here the same server (Prefect's own singleton, so Prefect's clients use
    it too) is started up front, and on the way out the client's event and log queues are drained, the server is
    given the time to record every task run's last state, and only then is it stopped.

    `warmup` (say, importing the flow's modules) runs while the server starts, so the two costs overlap.
    """
    configure_environment()
    import prefect.main  # noqa: F401  (sets up Prefect's logging before the server thread logs its first line)
    from prefect.events.clients import AssertingPassthroughEventsClient
    from prefect.events.worker import EventsWorker
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL

    configured = PREFECT_API_URL.value()
    if configured:
        if warmup is not None:
            warmup()
        yield RuntimeInfo(api_url=str(configured), temporary_server=False)
        return

    server = SubprocessASGIServer()
    started = time.perf_counter()
    failures: list[BaseException] = []
    ready_after: list[float] = []

    def start() -> None:
        try:
            server.start(timeout=SERVER_START_TIMEOUT)
            ready_after.append(time.perf_counter() - started)
        except BaseException as exc:  # re-raised in the calling thread
            failures.append(exc)

    starter = threading.Thread(target=start, name="opsflow-server-start", daemon=True)
    starter.start()
    try:
        try:
            if warmup is not None:
                warmup()
        finally:
            starter.join()
        if failures:
            raise failures[0]
    except BaseException:
        server.stop()
        raise
    info = RuntimeInfo(api_url=server.api_url, temporary_server=True, server_start_seconds=ready_after[0])
    # Prefect's pass-through client streams events to the server like the default one and keeps a copy, so we know
    # which task-run states the server still has to record (emit_event only accepts Prefect's own client types).
    AssertingPassthroughEventsClient.reset()
    EventsWorker.set_client_override(AssertingPassthroughEventsClient, api_url=server.api_url)
    try:
        yield info
    finally:
        try:
            _settle(SETTLE_TIMEOUT)
        finally:
            EventsWorker.set_client_override(None)
            AssertingPassthroughEventsClient.reset()
            server.stop()
