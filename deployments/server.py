"""`make server`: a local Prefect server with its UI, the opsflow work pool, every deployment, and a worker.

    python -m deployments.server [--port 4200] [--pool opsflow] [--worker-name NAME] [--no-deploy]

Starts `prefect server start` in the background (log: $PREFECT_HOME/opsflow-server.log) with the UI pointed at this
port, waits for /api/health, creates the process work pool if it is absent, deploys prefect.yaml
(`prefect --no-prompt deploy --all`), then runs a worker (deployments/worker.py) in the foreground. Ctrl-C (or
SIGTERM) stops the worker, then the server. Run it from the repository root.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from deployments.shutdown import exit_now
from deployments.spec import PREFECT_FILE, REPO_ROOT
from deployments.worker import DEFAULT_POOL, work

BIN = Path(sys.executable).parent
HEALTH_TIMEOUT = 120.0
"""Seconds to wait for a new server: about 10 s on a busy 2-core machine, more on a first start (migrations)."""
STOP_TIMEOUT = 30.0


class ServerError(Exception):
    """The server could not be started or prepared; the message says why in one line."""


def _say(line: str) -> None:
    print(f"opsflow server: {line}", flush=True)


def _port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _healthy(api_url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{api_url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _prefect_home() -> Path:
    from prefect.settings import PREFECT_HOME

    return Path(PREFECT_HOME.value()).expanduser()


def start_server(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`prefect server start` in its own session (Ctrl-C in the terminal does not reach it), healthy on return."""
    api_url = env["PREFECT_API_URL"]
    if _port_in_use(port):
        raise ServerError(f"127.0.0.1:{port} is already in use (another server?): stop it or pass --port")
    home = _prefect_home()
    home.mkdir(parents=True, exist_ok=True)
    log_path = home / "opsflow-server.log"
    with log_path.open("ab") as log:
        server = subprocess.Popen(
            [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _say(f"starting the Prefect server on 127.0.0.1:{port} (log: {log_path})")
    deadline = time.monotonic() + HEALTH_TIMEOUT
    while not _healthy(api_url):
        if server.poll() is not None:
            raise ServerError(f"the server exited with code {server.returncode}: see {log_path}")
        if time.monotonic() > deadline:
            stop_process_group(server, "server")
            raise ServerError(f"no answer from {api_url}/health within {HEALTH_TIMEOUT:.0f} s: see {log_path}")
        time.sleep(0.5)
    return server


def ensure_work_pool(name: str) -> bool:
    """Create the process work pool `name` with Prefect's default job template unless it exists; True if created."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    with get_client(sync_client=True) as client:
        try:
            pool = client.read_work_pool(name)
        except ObjectNotFound:
            template = ProcessWorker.get_default_base_job_template()
            client.create_work_pool(WorkPoolCreate(name=name, type="process", base_job_template=template))
            return True
    if pool.type != "process":
        raise ServerError(f"work pool {name!r} exists with type {pool.type!r}, not 'process': pass another --pool")
    return False


def deploy_all(env: dict[str, str]) -> None:
    """`prefect --no-prompt deploy --all --prefect-file deployments/prefect.yaml` from the repository root, where
    the entrypoints are."""
    command = [str(BIN / "prefect"), "--no-prompt", "deploy", "--all", "--prefect-file", str(PREFECT_FILE)]
    done = subprocess.run(command, cwd=REPO_ROOT, env=env)
    if done.returncode != 0:
        raise ServerError(f"`prefect deploy --all` failed with code {done.returncode} (its output is above)")


def stop_process_group(proc: subprocess.Popen[bytes], what: str, sig: int = signal.SIGINT) -> int | None:
    """Signal a process started in its own session, as Ctrl-C would, and wait; SIGKILL it if it does not stop."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            _say(f"the {what} did not stop within {STOP_TIMEOUT:.0f} s: killing it")
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deployments.server", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=4200, help="Port of the server and its UI (default 4200).")
    parser.add_argument("--pool", default=DEFAULT_POOL, help="Process work pool to create and serve (default opsflow).")
    parser.add_argument("--worker-name", default=None, help="Worker name shown in the UI (default: Prefect's).")
    parser.add_argument("--no-deploy", action="store_true", help="Skip `prefect deploy --all`.")
    args = parser.parse_args(argv)

    api_url = f"http://127.0.0.1:{args.port}/api"
    # Before Prefect is imported: its settings are read once. The UI must call this port, not 4200 (stack notes).
    os.environ.update(PREFECT_API_URL=api_url, PREFECT_UI_API_URL=api_url)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    env = dict(os.environ)

    def on_signal(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM before the worker runs: stop as Ctrl-C does

    signal.signal(signal.SIGTERM, on_signal)
    server: subprocess.Popen[bytes] | None = None
    code = 0
    try:
        server = start_server(args.port, env)
        if ensure_work_pool(args.pool):
            _say(f"created the process work pool {args.pool!r}")
        if not args.no_deploy:
            deploy_all(env)
        _say(f"UI at http://127.0.0.1:{args.port}; worker on pool {args.pool!r} (Ctrl-C stops it and the server)")
        # In this process, so Ctrl-C and SIGTERM stop it at once (see deployments/worker.py); if stopping hangs, the
        # server is still stopped before the process exits.
        running = server
        asyncio.run(work(args.pool, args.worker_name, before_forced_exit=lambda: stop_process_group(running, "server")))
    except ServerError as exc:
        print(f"opsflow server: error: {exc}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        code = 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second signal must not cut the server's stop short
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if server is not None:
            _say("stopping the server")
            stop_process_group(server, "server")
    return code


if __name__ == "__main__":
    exit_now(main())
