"""`make server` (deployments/server.py): server, pool, every deployment, a worker that runs them; Ctrl-C stops all."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.objects import FlowRun

from deployments.spec import REPO_ROOT, load_specs
from deployments.worker import DEFAULT_POOL
from opsflow.sample import write_sample
from tests.conftest import SAMPLE_END
from tests.deployments.conftest import PYTHON, Processes, clean_env, free_port, healthy, no_traceback, wait_for

pytestmark = pytest.mark.slow

WORKER = "make-server-test-worker"


def test_server_script_deploys_runs_a_flow_and_stops_on_ctrl_c(processes: Processes, tmp_path: Path) -> None:
    home = tmp_path / "prefect-home"
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    workspace = tmp_path / "workspace"
    write_sample(workspace, scale=0.02, end=SAMPLE_END)
    script = processes.start(
        "make-server",
        [PYTHON, "-m", "deployments.server", "--port", str(port), "--worker-name", WORKER],
        clean_env(home),
        cwd=REPO_ROOT,
    )
    ready = f"worker {WORKER!r}: running"
    wait_for(lambda: ready in script.output() or not script.alive(), 300, "server, pool, deploy and worker")
    assert script.alive(), script.output()[-4000:]
    # The UI calls this server, not the default port 4200.
    assert httpx.get(f"{api.removesuffix('/api')}/ui-settings", timeout=10).json()["api_url"] == api

    with SyncPrefectClient(api) as client:
        assert client.read_work_pool(DEFAULT_POOL).type == "process"
        for spec in load_specs():
            deployment = client.read_deployment_by_name(f"{spec.name}/{spec.name}")
            assert deployment.work_pool_name == DEFAULT_POOL
            assert deployment.tags == spec.tags
            # Workers run from this checkout; the Slack secret is a block name resolved at run time, not a value.
            assert deployment.pull_steps == [
                {"prefect.deployments.steps.set_working_directory": {"directory": str(REPO_ROOT.resolve())}}
            ]
            assert deployment.job_variables == {"env": spec.env}
            assert len(deployment.schedules) == len(spec.schedules)

        data_check = client.read_deployment_by_name("data-check/data-check")
        created = client.create_flow_run_from_deployment(
            data_check.id, parameters={"params": {"workspace": str(workspace)}}
        )

        def finished() -> FlowRun | None:
            run = client.read_flow_run(created.id)
            return run if run.state is not None and run.state.is_final() else None

        run = wait_for(finished, 240, "the data-check run to finish", interval=1.0)
    assert run.state is not None and run.state.is_completed(), f"{run.state}\n{script.output()[-4000:]}"
    assert run.labels.get("prefect.worker.name") == WORKER
    assert (workspace / "reports" / "data-quality").is_dir()

    # Ctrl-C in the terminal: SIGINT to the foreground process group.
    script.signal_group(signal.SIGINT)
    code = script.popen.wait(timeout=60)
    output = script.output()
    assert code == 0, output[-4000:]
    assert no_traceback(output), output[-4000:]
    assert "stopping the server" in output
    assert not healthy(api), "the server is stopped with the worker"
