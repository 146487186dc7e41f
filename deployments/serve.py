"""Serve every deployment in prefect.yaml from this one process, with no work pool or worker.

    PREFECT_API_URL=http://127.0.0.1:4200/api python -m deployments.serve [--only weekly-audit] [--limit 2]

Names, schedules, tags, parameters and descriptions are read from prefect.yaml (deployments/spec.py), so the two ways
of running cannot drift. Flow runs start in subprocesses whose working directory is this process's: run it where the
`workspace` folder is (the repository root for the default). The work pool's `env` job variables (the Slack Secret
block names) are set in this process's environment unless already set. SIGTERM or Ctrl-C stops it within
deployments.shutdown.STOP_SECONDS: schedules are paused (the next start resumes them), runs in flight are cancelled.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from deployments.shutdown import exit_now, run_until_signalled
from deployments.spec import DeploymentSpec, SpecError, deployment_schedules, load_flow, load_specs

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

log = logging.getLogger("prefect.opsflow.serve")


async def runner_deployments(specs: Sequence[DeploymentSpec]) -> list[RunnerDeployment]:
    """One served deployment per spec, with the file's name, schedules, tags, parameters and description."""
    from prefect.deployments.runner import EntrypointType

    deployments = []
    for spec in specs:
        flow = load_flow(spec)
        deployments.append(
            await flow.ato_deployment(
                name=spec.name,
                schedules=list(deployment_schedules(spec)),
                tags=spec.tags,
                parameters=spec.parameters,
                description=spec.description,
                concurrency_limit=spec.concurrency_limit,
                paused=spec.paused,
                # `flows.weekly_audit.weekly_audit`: the runs import the installed package, from any directory.
                entrypoint_type=EntrypointType.MODULE_PATH,
            )
        )
    return deployments


def apply_env(specs: Sequence[DeploymentSpec]) -> None:
    """The work pool's env job variables, as a worker would set them (an explicit environment variable wins)."""
    for spec in specs:
        for key, value in spec.env.items():
            os.environ.setdefault(key, value)


async def serve(specs: Sequence[DeploymentSpec], limit: int | None = None) -> bool:
    """Serve until SIGINT/SIGTERM; True when stopped by one. On the way out the runner pauses the schedules (the
    next start resumes them) and cancels runs in flight."""
    from prefect.runner import Runner

    # No limit given: Prefect's default (PREFECT_RUNNER_PROCESS_LIMIT, 5 runs at once).
    runner = Runner(pause_on_shutdown=True) if limit is None else Runner(pause_on_shutdown=True, limit=limit)
    for deployment in await runner_deployments(specs):
        await runner.aadd_deployment(deployment)
    return await run_until_signalled(runner.start(), "serve")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deployments.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", metavar="NAME", help="Serve only this deployment (repeatable).")
    parser.add_argument("--limit", type=int, default=None, help="At most this many flow runs at once.")
    args = parser.parse_args(argv)

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if not os.environ.get("PREFECT_API_URL"):
        from prefect.settings import PREFECT_API_URL

        if not PREFECT_API_URL.value():
            print("serve: set PREFECT_API_URL to a running server, e.g. http://127.0.0.1:4200/api", file=sys.stderr)
            return 2
    try:
        specs = load_specs()
        if args.only:
            unknown = sorted(set(args.only) - {s.name for s in specs})
            if unknown:
                raise SpecError(f"no deployment named {', '.join(unknown)} in prefect.yaml")
            specs = [s for s in specs if s.name in args.only]
        for spec in specs:
            load_flow(spec)  # a bad entrypoint is one line here, not a traceback from inside the runner
        apply_env(specs)
    except SpecError as exc:
        print(f"serve: {exc}", file=sys.stderr)
        return 2
    import prefect.main  # noqa: F401  (Prefect's logging set up before the first log line)

    log.info("serving %s", ", ".join(s.name for s in specs))
    asyncio.run(serve(specs, args.limit))
    return 0


if __name__ == "__main__":
    exit_now(main())
