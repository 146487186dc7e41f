"""A Prefect process worker for opsflow's deployments that stops on the first Ctrl-C or SIGTERM.

    PREFECT_API_URL=http://127.0.0.1:4200/api python -m deployments.worker [--pool opsflow] [--name NAME] [--limit N]

The same worker as `prefect worker start --pool opsflow --type process`, whose 3.8.8 release keeps running after the
first SIGINT or SIGTERM (it forwards the signal to itself; only a second one ends it, with SIGKILL). Flow runs start in
subprocesses and work from the checkout named by each deployment's pull step (prefect.yaml).
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Callable, Sequence

from deployments.shutdown import exit_now, run_until_signalled

DEFAULT_POOL = "opsflow"


async def work(
    pool: str = DEFAULT_POOL,
    name: str | None = None,
    limit: int | None = None,
    before_forced_exit: Callable[[], object] | None = None,
) -> bool:
    """Poll `pool` and run its flow runs until a signal arrives; True when stopped by one."""
    from prefect.workers.process import ProcessWorker

    worker = ProcessWorker(work_pool_name=pool, name=name, limit=limit)
    return await run_until_signalled(
        worker.start(printer=print), f"worker {worker.name!r}", before_forced_exit=before_forced_exit
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deployments.worker", description=__doc__.splitlines()[0])
    parser.add_argument("--pool", default=DEFAULT_POOL, help=f"Work pool to poll (default {DEFAULT_POOL}).")
    parser.add_argument("--name", default=None, help="Worker name shown in the UI and on each flow run it takes.")
    parser.add_argument("--limit", type=int, default=None, help="At most this many flow runs at once.")
    args = parser.parse_args(argv)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    import prefect.main  # noqa: F401  (Prefect's logging set up before the first log line)

    asyncio.run(work(args.pool, args.name, args.limit))
    return 0


if __name__ == "__main__":
    exit_now(main())
