"""The temporary Prefect server's process: uvicorn, which stops itself when the process that started it is gone.

Run as a script (`python server_child.py FD UVICORN-ARGS...`), so it needs nothing but the standard library and
uvicorn. FD is the read end of a pipe whose only write end the parent holds: when the parent exits in any way,
SIGKILL included, the kernel closes that end, the read below returns, and the server shuts down. A pipe rather than
Linux's parent-death signal: that signal follows the thread that started the child, and opsflow starts the server
from a short-lived thread; a pipe also works on macOS.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

GRACE_SECONDS = 10.0
"""Time uvicorn gets to shut down cleanly after the parent is gone, before the process exits anyway."""


def _watch(fd: int) -> None:
    try:
        while os.read(fd, 1):  # the parent never writes: this returns only at end of file
            pass
    except OSError:
        pass
    os.kill(os.getpid(), signal.SIGTERM)  # uvicorn's own graceful shutdown
    time.sleep(GRACE_SECONDS)
    os._exit(1)


def main(argv: list[str]) -> None:
    # Run as a script, its own folder (opsflow's modules: config, settings...) heads sys.path; the server's imports
    # must not find those.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    threading.Thread(target=_watch, args=(int(argv[0]),), name="parent-watch", daemon=True).start()
    from uvicorn.main import main as uvicorn

    uvicorn(args=argv[1:], prog_name="uvicorn")


if __name__ == "__main__":
    main(sys.argv[1:])
