"""deployments/serve.py against a real server: registers prefect.yaml's deployments and stops on SIGTERM within 10 s."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.responses import DeploymentResponse
from prefect.exceptions import ObjectNotFound

from deployments.spec import load_specs
from tests.deployments.conftest import PYTHON, Processes, clean_env, no_traceback, wait_for

pytestmark = pytest.mark.slow

SIGTERM_BUDGET = 10.0
"""What systemd and Docker wait after SIGTERM before they SIGKILL."""


def _deployment(client: SyncPrefectClient, name: str) -> DeploymentResponse | None:
    try:
        return client.read_deployment_by_name(f"{name}/{name}")
    except ObjectNotFound:
        return None


def test_serve_registers_the_file_and_stops_on_sigterm(processes: Processes, tmp_path: Path) -> None:
    home = tmp_path / "prefect-home"
    api, _ = processes.server(home)
    specs = load_specs()
    cwd = tmp_path / "run"
    cwd.mkdir()
    env = clean_env(home, PREFECT_API_URL=api)
    serve = processes.start("serve", [PYTHON, "-m", "deployments.serve"], env, cwd=cwd)

    wait_for(lambda: "serve: running" in serve.output() or not serve.alive(), 120, "serve to start")
    assert serve.alive(), serve.output()
    with SyncPrefectClient(api) as client:
        for spec in specs:
            deployment = _deployment(client, spec.name)
            assert deployment is not None, spec.name
            assert deployment.tags == spec.tags
            assert not deployment.paused
            timezones = [getattr(s.schedule, "timezone", None) for s in deployment.schedules]
            assert timezones == [s["timezone"] for s in spec.schedules]

        started = time.monotonic()
        serve.popen.send_signal(signal.SIGTERM)
        code = serve.popen.wait(timeout=30)
        elapsed = time.monotonic() - started
        output = serve.output()
        assert elapsed < SIGTERM_BUDGET, f"serve took {elapsed:.1f} s to stop:\n{output[-3000:]}"
        assert code == 0, output[-3000:]
        assert no_traceback(output), output[-3000:]
        assert "SIGTERM received" in output and "serve: stopped" in output
        # Stopped serving: the schedules are paused, so no runs pile up for a process that is not there ...
        assert all(d is not None and d.paused for d in (_deployment(client, s.name) for s in specs))

        # ... and the next start resumes them.
        again = processes.start(
            "serve-again", [PYTHON, "-m", "deployments.serve", "--only", "data-check"], env, cwd=cwd
        )
        wait_for(lambda: "serve: running" in again.output() or not again.alive(), 120, "serve to start again")
        resumed = _deployment(client, "data-check")
        assert resumed is not None and not resumed.paused
        assert again.stop(signal.SIGTERM) == 0
    print(f"\nserve stopped {elapsed:.2f} s after SIGTERM")
