"""prefect_runtime's temporary server: started in a child process, made the API URL, stopped afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from opsflow.runtime import TemporaryServer

ROOT = Path(__file__).resolve().parents[2]

ROUND_TRIP = textwrap.dedent(
    """
    import json, os, socket
    from prefect import flow
    from opsflow.runtime import prefect_runtime

    @flow(name="round-trip")
    def round_trip() -> int:
        return 42

    with prefect_runtime() as info:
        inside = os.environ.get("PREFECT_API_URL")
        result = round_trip()
    port = int(info.api_url.split(":")[2].split("/")[0])
    with socket.socket() as sock:
        refused = sock.connect_ex(("127.0.0.1", port)) != 0

    with prefect_runtime():  # a second server on the same Prefect home sees the first one's run
        from prefect.client.orchestration import get_client
        with get_client(sync_client=True) as client:
            names = [r.name for r in client.read_flow_runs()]

    print(json.dumps({
        "temporary": info.temporary_server, "api_url": info.api_url, "inside": inside, "result": result,
        "after": os.environ.get("PREFECT_API_URL"), "refused": refused, "runs": len(names),
    }))
    """
)


def _standalone_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """No Prefect setting of the test session (so no PREFECT_API_URL), and a Prefect home of the test's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    env.update(extra)
    return env


def _run(script: str, tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "script.py"
    path.write_text(script, encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(path)],
        capture_output=True,
        text=True,
        env=_standalone_env(tmp_path, **extra),
        cwd=ROOT,
        timeout=300,
    )


@pytest.mark.slow
def test_temporary_server_is_the_api_for_the_body_and_gone_after(tmp_path: Path) -> None:
    done = _run(ROUND_TRIP, tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["temporary"] is True
    assert seen["inside"] == seen["api_url"] and seen["api_url"].startswith("http://127.0.0.1:")
    assert seen["result"] == 42
    assert seen["after"] is None  # the process's own setting is back as it was
    assert seen["refused"] is True  # the server was stopped
    assert seen["runs"] == 1  # recorded in the Prefect home's database, where the user's UI will find it
    assert "Starting temporary server" in output and "Stopping temporary server" in output
    # Prefect would derive a UI link from the API URL: a server without UI, gone a moment later.
    assert "View at" not in output
    assert "Traceback" not in output and "ERROR" not in output


LOCAL_RUN = textwrap.dedent(
    """
    import json, os
    from prefect import flow
    from opsflow.runtime import prefect_runtime

    @flow(name="on-the-local-server")
    def on_local() -> int:
        return 7

    with prefect_runtime() as info:
        inside = os.environ.get("PREFECT_API_URL")
        result = on_local()
    print(json.dumps({"temporary": info.temporary_server, "local": info.local_server, "api_url": info.api_url,
                      "inside": inside, "after": os.environ.get("PREFECT_API_URL"), "result": result}))
    """
)


@pytest.mark.slow
def test_a_running_local_server_is_used_instead_of_a_temporary_one(tmp_path: Path) -> None:
    server = TemporaryServer()  # a real Prefect server in a child process, standing in for `make server`
    server.start(timeout=120)
    try:
        done = _run(LOCAL_RUN, tmp_path, OPSFLOW_LOCAL_SERVER=server.api_url)
        output = done.stdout + done.stderr
        assert done.returncode == 0, output
        seen = json.loads(done.stdout.strip().splitlines()[-1])
        assert (seen["temporary"], seen["local"], seen["result"]) == (False, True, 7)
        assert seen["api_url"] == seen["inside"] == server.api_url and seen["after"] is None
        assert "Starting temporary server" not in output
        # The run is in the running server's database, where its UI shows it. The server shares the test
        # session's Prefect home with other workers' runs, so only this script's flow is counted.
        import httpx

        only_ours = {"flows": {"name": {"any_": ["on-the-local-server"]}}}
        runs = httpx.post(f"{server.api_url}/flow_runs/filter", json=only_ours, timeout=10).json()
        assert [r["state_type"] for r in runs] == ["COMPLETED"]
    finally:
        server.stop()
    # With the server gone, the probe fails fast and the run starts its own temporary server.
    done = _run(LOCAL_RUN, tmp_path, OPSFLOW_LOCAL_SERVER=server.api_url)
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert (seen["temporary"], seen["local"]) == (True, False), done.stdout + done.stderr


class _ExitsAtOnce(TemporaryServer):
    """A server whose process exits with uvicorn's start-up failure code (3) before it answers."""

    def __init__(self) -> None:
        super().__init__()
        self.attempts = 0

    def _command(self) -> list[str]:
        self.attempts += 1
        return [sys.executable, "-c", "raise SystemExit(3)"]


def test_a_server_that_cannot_start_is_one_clear_error_after_a_second_port() -> None:
    # An early exit is most often a port taken between choosing and binding it: one more port, then one clear error.
    server = _ExitsAtOnce()
    with pytest.raises(RuntimeError, match=r"exited with code 3 \(2 attempts\)"):
        server.start(timeout=60)
    assert server.attempts == TemporaryServer.PORT_ATTEMPTS == 2


def test_a_server_that_never_answers_is_stopped_at_the_deadline() -> None:
    class Silent(TemporaryServer):
        def _command(self) -> list[str]:
            return [sys.executable, "-c", "import time; time.sleep(60)"]

    server = Silent()
    with pytest.raises(RuntimeError, match="did not answer within 1 s"):
        server.start(timeout=1)
    assert server.process is None  # stopped, not left behind


def _children(pid: int) -> list[int]:
    """Process ids whose parent is `pid` (from /proc: Linux)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # Field 4 is the parent id; the command name (field 2) may hold spaces, so split after its ')'.
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its exit status is left for a parent to collect


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_temporary_server_dies_with_a_killed_opsflow_run(sample_workspace: Path, tmp_path: Path) -> None:
    import shutil
    import signal
    import socket
    import time

    import httpx

    workspace = tmp_path / "ws"
    shutil.copytree(sample_workspace, workspace)
    run = subprocess.Popen(
        [str(Path(sys.executable).parent / "opsflow"), "run", "data-check", "--workspace", str(workspace)],
        env=_standalone_env(tmp_path),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server, port = 0, 0
    try:
        # Wait for the server child to answer its health check (the run is then importing or running the flow).
        deadline = time.monotonic() + 180
        while not port and time.monotonic() < deadline and run.poll() is None:
            for pid in _children(run.pid):
                command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                if b"--port" in command:
                    candidate = int(command[command.index(b"--port") + 1])
                    try:
                        if httpx.get(f"http://127.0.0.1:{candidate}/api/health", timeout=2).status_code == 200:
                            server, port = pid, candidate
                    except httpx.TransportError:
                        pass
            time.sleep(0.2)
        assert port, "the temporary server never answered"
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=10)
        # The server notices at once (its pipe from the run closes) and gets up to 10 s to shut down cleanly.
        deadline = time.monotonic() + 15
        while _alive(server) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(server), "the temporary server outlived the killed run"
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        if server and _alive(server):  # left behind: not for the next test to trip over
            os.kill(server, signal.SIGKILL)
