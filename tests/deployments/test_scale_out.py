"""Scale-out: a server on PostgreSQL, two workers on one pool, 20 runs created at once, each run exactly once.

Which worker ran a flow run: prefect 3.9.1's worker (as 3.8.8's) labels the run when it submits it
(`prefect.worker.name` in the flow run's `labels`, BaseWorker._give_worker_labels_to_flow_run) and emits
`prefect.worker.submitted-flow-run`.
"""

from __future__ import annotations

import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import StateType

from deployments.worker import DEFAULT_POOL
from opsflow.sample import write_sample
from tests.conftest import SAMPLE_END
from tests.deployments.conftest import PYTHON, Proc, Processes, clean_env, no_traceback, prefect_cli, wait_for

pytestmark = pytest.mark.slow

POSTGRES = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"
RUNS = 20
WORKERS = ("scale-out-a", "scale-out-b")
RUNS_TIMEOUT = 900.0
"""Each data-check run costs 10-20 CPU-seconds (a fresh Python process imports pandas and Great Expectations): the
20 runs took 125 s on one of these machines and 211 s on a slower one, 309 s beside the other test worker of
`make test` (pytest-xdist, two workers on two cores)."""


@pytest.fixture
def database() -> Iterator[str]:
    """A fresh PostgreSQL database for the server, dropped afterwards; yields its SQLAlchemy async URL."""
    name = f"opsflow_scale_out_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(POSTGRES, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable on 127.0.0.1:5432 as postgres ({exc})")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_two_workers_share_twenty_runs_each_run_once(processes: Processes, database: str, tmp_path: Path) -> None:
    started = time.monotonic()
    home = tmp_path / "prefect-home"
    api, _ = processes.server(home, PREFECT_API_DATABASE_CONNECTION_URL=database)
    workspace = tmp_path / "workspace"
    write_sample(workspace, scale=0.02, end=SAMPLE_END)  # at 0.01 the dirty rows exceed the quarantine limit

    # As a team would: the pool by the CLI, the deployment from prefect.yaml.
    for args in (
        ("work-pool", "create", DEFAULT_POOL, "--type", "process"),
        ("--no-prompt", "deploy", "-n", "data-check", "--prefect-file", "deployments/prefect.yaml"),
    ):
        done = prefect_cli(api, home, *args)
        assert done.returncode == 0, done.stdout + done.stderr

    # Two run slots per worker: four flow-run processes on two cores.
    worker_env = clean_env(home, PREFECT_API_URL=api, PREFECT_WORKER_QUERY_SECONDS="2")
    workers = [
        processes.start(name, [PYTHON, "-m", "deployments.worker", "--name", name, "--limit", "2"], worker_env)
        for name in WORKERS
    ]
    for worker in workers:

        def up(w: Proc = worker) -> bool:
            return "running (Ctrl-C" in w.output() or not w.alive()

        wait_for(up, 120, f"{worker.name} to start")
        assert worker.alive(), worker.output()

    with SyncPrefectClient(api) as client:
        deployment = client.read_deployment_by_name("data-check/data-check")
        parameters = {"params": {"workspace": str(workspace)}}
        created_at = time.monotonic()
        ids = [client.create_flow_run_from_deployment(deployment.id, parameters=parameters).id for _ in range(RUNS)]
        run_filter = FlowRunFilter(id=FlowRunFilterId(any_=ids))

        def all_final() -> bool:
            runs = client.read_flow_runs(flow_run_filter=run_filter, limit=RUNS)
            return len(runs) == RUNS and all(r.state is not None and r.state.is_final() for r in runs)

        wait_for(all_final, RUNS_TIMEOUT, f"{RUNS} runs to finish", interval=2.0)
        runs_seconds = time.monotonic() - created_at
        runs = client.read_flow_runs(flow_run_filter=run_filter, limit=RUNS)
        states = {run.id: client.read_flow_run_states(run.id) for run in runs}

    assert Counter(r.state_type for r in runs) == {StateType.COMPLETED: RUNS}, [r.state for r in runs]
    for run in runs:
        running = [s for s in states[run.id] if s.type == StateType.RUNNING]
        assert len(running) == 1, f"{run.name} entered Running {len(running)} times"
    taken = Counter(run.labels.get("prefect.worker.name") for run in runs)
    assert set(taken) == set(WORKERS), f"runs per worker: {dict(taken)}"

    for worker in workers:
        stop_started = time.monotonic()
        assert worker.stop(signal.SIGTERM) == 0, worker.output()[-3000:]
        assert time.monotonic() - stop_started < 10, f"{worker.name} took too long to stop"
        assert no_traceback(worker.output()), worker.output()[-3000:]
    print(
        f"\n{RUNS} runs in {runs_seconds:.0f} s, per worker {dict(taken)}; "
        f"whole test {time.monotonic() - started:.0f} s"
    )
