"""Real Prefect servers and background processes for the deployment tests, always stopped, even when a test fails."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from deployments.spec import REPO_ROOT

BIN = Path(sys.executable).parent
PYTHON = sys.executable
SERVER_START_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """This machine's environment without the test session's Prefect settings, with a private PREFECT_HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    for name in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "OPSFLOW_SLACK_API_URL", "ANTHROPIC_API_KEY"):
        env.pop(name, None)  # a developer's own credentials must not make a test post anywhere
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false", PYTHONPATH=str(REPO_ROOT), **extra)
    return env


def wait_for(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.5) -> Any:
    """Poll `check` until it returns something truthy; fail the test naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def healthy(api: str) -> bool:
    try:
        return httpx.get(f"{api}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class Proc:
    """A background process in its own session, with its output in a log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes] = field(repr=False)

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal_group(self, sig: int) -> None:
        if self.alive():
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, sig: int = signal.SIGINT, timeout: float = STOP_TIMEOUT) -> int:
        """Signal the whole process group, wait, SIGKILL what is left; the exit code."""
        self.signal_group(sig)
        try:
            code = self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.signal_group(signal.SIGKILL)
            code = self.popen.wait()
        self.log.close()
        return code


@dataclass
class Processes:
    """Starts processes for one test and stops every one of them at teardown, last started first."""

    tmp_path: Path
    started: list[Proc] = field(default_factory=list)

    def start(self, name: str, command: list[str], env: dict[str, str], cwd: Path | None = None) -> Proc:
        log_path = self.tmp_path / f"{name}.log"
        log = log_path.open("wb")
        popen = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        proc = Proc(name, popen, log_path, log)
        self.started.append(proc)
        return proc

    def server(self, home: Path, **extra_env: str) -> tuple[str, Proc]:
        """`prefect server start` on a free port, the UI pointed at it; returns (API URL, process) once healthy."""
        port = free_port()
        api = f"http://127.0.0.1:{port}/api"
        env = clean_env(home, PREFECT_UI_API_URL=api, **extra_env)
        proc = self.start(
            "server", [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)], env
        )

        def up() -> bool:
            assert proc.alive(), f"server exited with {proc.popen.returncode}:\n{proc.output()[-3000:]}"
            return healthy(api)

        wait_for(up, SERVER_START_TIMEOUT, "the server's /api/health")
        return api, proc

    def stop_all(self) -> None:
        for proc in reversed(self.started):
            if not proc.log.closed:
                proc.stop()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    procs = Processes(tmp_path)
    try:
        yield procs
    finally:
        procs.stop_all()


def prefect_cli(api: str, home: Path, *args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "prefect"), *args],
        env=clean_env(home, PREFECT_API_URL=api, COLUMNS="200"),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
    )


def no_traceback(output: str) -> bool:
    return "Traceback (most recent call last)" not in output
