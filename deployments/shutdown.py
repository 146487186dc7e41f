"""Stop a long-running Prefect loop (a runner or a worker) on the first SIGINT or SIGTERM, within a bounded time."""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn

STOP_SECONDS = 8.0
"""After the signal: time to finish stopping before the process exits anyway (systemd and Docker wait 10 s)."""

log = logging.getLogger("prefect.opsflow")
"""Under `prefect`, so its lines print through Prefect's console handler like the runner's and worker's own."""


def force_exit_after(seconds: float, what: str, before_exit: Callable[[], object] | None = None) -> threading.Timer:
    """Exit the process if stopping hangs (say, the server is gone and every API call is being retried)."""

    def force() -> None:
        sys.stderr.write(f"{what}: not stopped {seconds:.0f} s after the signal (is the server gone?); exiting\n")
        sys.stderr.flush()
        if before_exit is not None:
            before_exit()
        os._exit(1)

    timer = threading.Timer(seconds, force)
    timer.daemon = True
    timer.start()
    return timer


async def run_until_signalled(
    start: Coroutine[Any, Any, Any],
    what: str,
    stop_seconds: float = STOP_SECONDS,
    before_forced_exit: Callable[[], object] | None = None,
) -> bool:
    """Run `start` (say `runner.start()`) until it ends or SIGINT/SIGTERM arrives; True when stopped by a signal.

    The signal cancels the task, as Ctrl-C does under asyncio.run, so the runner's or worker's own exit code runs
    (a runner pauses its schedules). Prefect 3.8.8 installs handlers of its own that do not stop promptly: Runner.start
    calls sys.exit from a plain signal.signal handler, which only runs when the event loop next wakes, and
    `prefect worker start` forwards SIGINT to itself and then keeps polling. The loop's own handlers replace them: they
    wake the loop at once.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(start)
    await asyncio.sleep(0)  # `start` runs to its first await, installing its handlers; ours replace them below
    stopped: list[int] = []

    def stop(signum: int) -> None:
        if stopped:
            return
        stopped.append(signum)
        log.info("%s: %s received, stopping", what, signal.Signals(signum).name)
        force_exit_after(stop_seconds, what, before_forced_exit)
        task.cancel()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop, signum)
    log.info("%s: running (Ctrl-C or SIGTERM stops it)", what)
    try:
        await task
    except asyncio.CancelledError:
        if not stopped:
            raise
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    if stopped:
        log.info("%s: stopped", what)
    return bool(stopped)


def exit_now(code: int) -> NoReturn:
    """Run the exit handlers (Prefect's drain its log and event queues), flush, and end the process.

    Skips the interpreter's teardown of every module Prefect, pandas and Great Expectations loaded: measured at 2 to 5 s
    on a busy 2-core machine after serve had already stopped, half of the 10 s a supervisor allows after SIGTERM.
    """
    atexit._run_exitfuncs()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
