"""`python -m bench.load`: the scale-out path under load: a Prefect server on PostgreSQL, two workers, and 50
weekly-audit runs of small workspaces created at once; prints whether all completed, none ran twice, and how long.

A benchmark, not a test (it takes minutes on two cores). It needs the PostgreSQL on 127.0.0.1:5432 (trust auth, user
postgres), creates a database of its own and drops it afterwards. Options: --runs N, --workers N, --limit N (flow
runs at once per worker), --scale S (sample size of each workspace).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import date
from pathlib import Path

POSTGRES = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"
END = date(2026, 3, 29)  # a Sunday: the audited week is complete
TIMEOUT_SECONDS = 3600.0


def _env(home: Path, api: str, database: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    for name in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "ANTHROPIC_API_KEY"):
        env.pop(name, None)  # a load test must not post anywhere
    repo = str(Path(__file__).resolve().parents[1])
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_API_URL=api,
        PREFECT_API_DATABASE_CONNECTION_URL=database,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_WORKER_QUERY_SECONDS="2",
        PYTHONPATH=repo,
    )
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=2, help="Flow runs at once per worker.")
    parser.add_argument("--scale", type=float, default=0.02, help="Sample scale of each workspace.")
    parser.add_argument("--port", type=int, default=4290)
    args = parser.parse_args()

    import psycopg

    from deployments.server import ensure_work_pool, start_server, stop_process_group
    from deployments.spec import PREFECT_FILE, REPO_ROOT
    from deployments.worker import DEFAULT_POOL
    from opsflow.sample import write_sample

    name = f"opsflow_load_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(POSTGRES, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    tmp = Path(tempfile.mkdtemp(prefix="opsflow-load-"))
    api = f"http://127.0.0.1:{args.port}/api"
    env = _env(tmp / "prefect-home", api, f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}")
    os.environ.update(env)  # this process talks to the same server (pool, runs)
    server = None
    workers: list[subprocess.Popen[bytes]] = []
    try:
        started = time.perf_counter()
        server = start_server(args.port, env)
        server_seconds = time.perf_counter() - started
        ensure_work_pool(DEFAULT_POOL)
        deploy = [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "-n", "weekly-audit",
                  "--prefect-file", str(PREFECT_FILE)]  # fmt: skip
        subprocess.run(deploy, cwd=REPO_ROOT, env=env, check=True, capture_output=True)
        base = tmp / "ws-base"
        write_sample(base, scale=args.scale, end=END)
        spaces = []
        for i in range(args.runs):  # each run its own workspace, as 50 small companies would have
            ws = tmp / f"ws-{i:03d}"
            shutil.copytree(base, ws)
            spaces.append(ws)
        for w in range(args.workers):
            log = (tmp / f"worker-{w}.log").open("ab")
            command = [sys.executable, "-m", "deployments.worker", "--name", f"load-{w}", "--limit", str(args.limit)]
            workers.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True, cwd=REPO_ROOT))  # fmt: skip

        from prefect.client.orchestration import SyncPrefectClient
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
        from prefect.client.schemas.objects import StateType

        with SyncPrefectClient(api) as client:
            deployment = client.read_deployment_by_name("weekly-audit/weekly-audit")
            created = time.perf_counter()
            ids = [
                client.create_flow_run_from_deployment(
                    deployment.id,
                    parameters={"params": {"workspace": str(ws), "as_of": END.isoformat(), "post_to_slack": False}},
                ).id
                for ws in spaces
            ]
            run_filter = FlowRunFilter(id=FlowRunFilterId(any_=ids))
            while True:
                runs = client.read_flow_runs(flow_run_filter=run_filter, limit=len(ids))
                final = sum(1 for r in runs if r.state is not None and r.state.is_final())
                if final == len(ids) or time.perf_counter() - created > TIMEOUT_SECONDS:
                    break
                time.sleep(5)
            seconds = time.perf_counter() - created
            states = Counter(str(r.state_type.value if r.state_type else "none") for r in runs)
            running_twice = sum(
                1 for r in runs if sum(1 for s in client.read_flow_run_states(r.id) if s.type == StateType.RUNNING) != 1
            )
            per_worker = Counter(r.labels.get("prefect.worker.name", "?") for r in runs)
        rows = [
            ("runs created at once", f"{len(ids)}"),
            ("workers x runs at once each", f"{args.workers} x {args.limit}"),
            ("workspace sample scale", f"{args.scale:g}"),
            ("server start on PostgreSQL (s)", f"{server_seconds:.1f}"),
            ("final states", ", ".join(f"{k} {v}" for k, v in sorted(states.items()))),
            ("runs that entered Running other than once", f"{running_twice}"),
            ("runs per worker", ", ".join(f"{k} {v}" for k, v in sorted(per_worker.items()))),
            ("all runs, first created to last final (s)", f"{seconds:.0f}"),
            ("per run, wall time / runs (s)", f"{seconds / len(ids):.1f}"),
        ]
        width = max(len(k) for k, _ in rows)
        print(f"| {'':{width}} | |\n|{'-' * (width + 2)}|---|")
        for k, v in rows:
            print(f"| {k:{width}} | {v} |")
    finally:
        for worker in workers:
            stop_process_group(worker, "worker", signal.SIGTERM)
        if server is not None:
            stop_process_group(server, "server")
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
