"""The pinned Prefect and FastAPI agree: a real `prefect server start` answers the `prefect` CLI without a 422."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
STARTUP_TIMEOUT = 120.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _clean_env(home: Path, **extra: str) -> dict[str, str]:
    """This machine's environment without any Prefect setting of the test session, plus a private PREFECT_HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false", **extra)
    return env


@pytest.fixture
def prefect_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real `prefect server start` on a free port with SQLite in a temp PREFECT_HOME; yields (API URL, home)."""
    port = _free_port()
    home = tmp_path / "prefect-home"
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=_clean_env(home, PREFECT_UI_API_URL=f"http://127.0.0.1:{port}/api"),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    api = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            assert proc.poll() is None, f"server exited with {proc.returncode}: {(tmp_path / 'server.log').read_text()}"
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "server did not answer /api/health in time"
            time.sleep(0.25)
        yield api, home
    finally:
        # Ctrl-C, as a user stops it; the whole process group, since the server may run helpers.
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            pytest.fail("prefect server did not stop within 30 s of SIGINT")
        log.close()
        assert code in (0, -signal.SIGINT, 130), f"server exited with {code}"


def _prefect(api: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "prefect"), *args],
        env=_clean_env(home, PREFECT_API_URL=api, COLUMNS="200"),  # wide enough that rich tables do not cut names
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_prefect_cli_and_server_agree(prefect_server: tuple[str, Path]) -> None:
    api, home = prefect_server

    listing = _prefect(api, home, "deployment", "ls")
    # fastapi 0.151-0.154 answered 422 here: the CLI sends "limit": null, which those releases reject.
    assert listing.returncode == 0, listing.stdout + listing.stderr
    assert "422" not in listing.stdout + listing.stderr

    created = _prefect(api, home, "work-pool", "create", "opsflow-stack-test", "--type", "process")
    assert created.returncode == 0, created.stdout + created.stderr

    pools = _prefect(api, home, "work-pool", "ls")
    assert pools.returncode == 0, pools.stdout + pools.stderr
    assert "opsflow-stack-test" in pools.stdout
    assert "422" not in pools.stdout + pools.stderr

    # The API itself, as the UI reads it: the pool is there with the type it was created with.
    pool = httpx.get(f"{api}/work_pools/opsflow-stack-test", timeout=10).json()
    assert pool["type"] == "process"
