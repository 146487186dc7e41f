"""How the `opsflow` command runs Prefect flows: quiet defaults, and a temporary API server that is stopped in order."""

from __future__ import annotations

import importlib.util
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:
    from prefect import Flow

logger = logging.getLogger(__name__)
server_log = logging.getLogger("prefect")
"""The logger Prefect announces its own temporary server on, so the start and stop lines look as they always did."""

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
    local_server: bool = False
    """The server `make server` runs (OPSFLOW_LOCAL_SERVER) answered, so the run used it."""


class TemporaryServer:
    """Prefect's API server in a child process, on a free local port, started the way Prefect starts its own.

    Prefect's `SubprocessASGIServer` does the same, but importing it means importing the server application into
    this process first (1.4 s on these machines, before the child can even start); this class needs neither, so the
    child starts while this process is still importing the flow. The command line is Prefect's own (uvicorn with
    `prefect.server.api.server:create_app`, the UI off, marked ephemeral so only the services a short-lived server
    needs run), and the child reads the same settings (PREFECT_HOME, database URL) as this process.

    The child dies with this process, however this process ends (SIGKILL included): it holds the read end of a pipe
    whose write end only this process has, and stops itself when that end closes (`opsflow/server_child.py`).
    """

    PORT_ATTEMPTS = 2

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self._lifeline = -1
        """This process's end of the pipe the child watches: closed (by exit or by `stop`), the child stops."""
        self._watched = -1
        """The child's end, passed to it by number."""

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def start(self, timeout: float) -> None:
        """Start the child and wait until its health check answers (a taken port gets another try)."""
        import httpx

        deadline = time.monotonic() + timeout
        for _attempt in range(self.PORT_ATTEMPTS):
            self.port = _free_port()
            server_log.info("Starting temporary server on http://127.0.0.1:%s", self.port)
            self._close_lifeline()
            self._watched, self._lifeline = os.pipe()  # neither end is inherited by any other child
            try:
                self.process = subprocess.Popen(self._command(), env=self._environment(), pass_fds=(self._watched,))
            finally:
                os.close(self._watched)
            with httpx.Client() as client:
                while time.monotonic() < deadline and self.process.poll() is None:
                    try:
                        if client.get(f"{self.api_url}/health", timeout=5).status_code == 200:
                            return
                    except httpx.TransportError:
                        pass
                    time.sleep(0.1)
            if self.process.poll() is None:  # still starting at the deadline
                self.stop()
                raise RuntimeError(f"the temporary Prefect server did not answer within {timeout:.0f} s")
            # Exited early: most often the port was taken between choosing and binding it.
        raise RuntimeError(
            f"the temporary Prefect server exited with code {self.process.returncode if self.process else '?'} "
            f"({self.PORT_ATTEMPTS} attempts); its messages are above"
        )

    def stop(self) -> None:
        if self.process is None:
            self._close_lifeline()
            return
        server_log.info("Stopping temporary server on http://127.0.0.1:%s", self.port)
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
        self._close_lifeline()

    def _close_lifeline(self) -> None:
        if self._lifeline >= 0:
            os.close(self._lifeline)
            self._lifeline = -1

    def _command(self) -> list[str]:
        spec = importlib.util.find_spec("prefect")
        assert spec is not None and spec.origin is not None
        return [
            sys.executable,
            str(Path(__file__).with_name("server_child.py")),
            str(self._watched),
            "--app-dir",
            str(Path(spec.origin).parent.parent),
            "--factory",
            "prefect.server.api.server:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "error",
            "--lifespan",
            "on",
        ]

    @staticmethod
    def _environment() -> dict[str, str]:
        from prefect.settings import get_current_settings

        # Settings this process holds but its environment may not (a profile, prefect.toml) go to the child too.
        settings = get_current_settings().to_environment_variables(exclude_unset=True)
        env = {
            **os.environ,
            **settings,
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
        }
        env.pop("PREFECT_API_URL", None)
        return env


LOCAL_PROBE_TIMEOUT = 0.3
"""Seconds the local server has to answer its health check: on this machine it answers in milliseconds, and a run
without one waits no longer than this before starting its own."""


def _local_server() -> str | None:
    """The API URL of the local Prefect server when it answers its health check, else None."""
    import httpx

    from opsflow.settings import get_settings

    url = get_settings().local_server_url.strip().rstrip("/")
    if not url:
        return None
    try:
        answer = httpx.get(f"{url}/health", timeout=LOCAL_PROBE_TIMEOUT)
    except httpx.HTTPError:
        return None
    return url if answer.status_code == 200 and answer.text.strip() == "true" else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def _api_url(url: str) -> Iterator[None]:
    """Point every Prefect client of this process (any thread) at `url` for the duration.

    The UI URL is set empty unless the user set one: Prefect would otherwise derive it from the API URL and log a
    "View at" link to a server that serves no UI and is gone a moment later.
    """
    from prefect.context import refresh_global_settings_context

    updates = {"PREFECT_API_URL": url}
    if "PREFECT_UI_URL" not in os.environ:
        updates["PREFECT_UI_URL"] = ""
    before = {name: os.environ.get(name) for name in updates}
    os.environ.update(updates)
    refresh_global_settings_context()
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        refresh_global_settings_context()


@contextmanager
def prefect_runtime(warmup: Callable[[], object] | None = None) -> Iterator[RuntimeInfo]:
    """Run the body against the configured Prefect API, or against a temporary local server started for it.

    With no PREFECT_API_URL, Prefect itself would start a temporary server on first use and stop it at interpreter
    exit, while the server's task-run recorder is still writing the last task-run events the client just streamed:
    stopping cancels that write, and the server logs `ERROR ... Error flushing N events` with CancelledError
    tracebacks although nothing is wrong. Here a temporary server is started up front and made this process's API
    URL; on the way out the client's event and log queues are drained, the server is given the time to record every
    task run's last state, and only then is it stopped.

    `warmup` (say, importing the flow's modules) runs while the server starts, so the two costs overlap.
    """
    configure_environment()
    import prefect.main  # noqa: F401  (sets up Prefect's logging before the server start logs its first line)
    from prefect.events.clients import AssertingPassthroughEventsClient
    from prefect.events.worker import EventsWorker
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    configured = PREFECT_API_URL.value()
    if configured:
        if warmup is not None:
            warmup()
        yield RuntimeInfo(api_url=str(configured), temporary_server=False)
        return
    local = _local_server()
    if local is not None:
        # A server is already up (`make server`): using it saves the temporary one's start (5 to 16 s), and the run
        # shows in that server's UI with its history.
        if warmup is not None:
            warmup()
        with _api_url(local):
            yield RuntimeInfo(api_url=local, temporary_server=False, local_server=True)
        return

    server = TemporaryServer()
    started = time.perf_counter()
    failures: list[BaseException] = []
    ready_after: list[float] = []

    def start() -> None:
        try:
            server.start(timeout=SERVER_START_TIMEOUT)
            ready_after.append(time.perf_counter() - started)
        except BaseException as exc:  # re-raised in the calling thread
            failures.append(exc)

    # The child process does the server's work; this thread only polls its health check, so the warmup's imports
    # in this thread run at full speed on the other core.
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
    try:
        # No flow-run heartbeats: they let a long-lived server notice a crashed run, but this one is stopped when
        # the body ends, and stopping each run's heartbeat thread waits for its next one-second tick.
        with _api_url(server.api_url), temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            # Prefect's pass-through client streams events to the server like the default one and keeps a copy, so
            # we know which task-run states the server still has to record (emit_event only accepts Prefect's own
            # client types).
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
    finally:
        server.stop()
