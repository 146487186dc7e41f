"""A command's log file in the workspace: every line with its traceback there, no tracebacks on the console."""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

LOG_DIR = Path("logs")

_detail = logging.getLogger("opsflow.run")
"""Where the command writes what ended it (with its traceback): the log file only, never the console."""


class _WithoutTraceback(logging.Formatter):
    """The console's own formatter, given a copy of each record without its traceback (the file keeps it)."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        # A copy: the same record goes on to other handlers (the log file, Prefect's API log) whole.
        bare = copy.copy(record)
        bare.exc_info = None
        bare.exc_text = None
        bare.stack_info = None
        return self.inner.format(bare)


@dataclass
class RunLog:
    """The open log file of one command."""

    path: Path

    def failure(self, message: str, exc: BaseException) -> None:
        """Record what ended the command, traceback included, in the file only."""
        _detail.error(message, exc_info=exc)


@contextmanager
def run_log(workspace: Path, command: str) -> Iterator[RunLog]:
    """Log everything to `<workspace>/logs/opsflow-<command>-<UTC time>.log` for the duration; the console keeps its
    lines but loses their tracebacks. The workspace must exist (it is checked before a command gets here)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    path = workspace / LOG_DIR / f"opsflow-{command}-{stamp}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s - %(message)s"))
    root = logging.getLogger()
    # First in the root's list: it must see each record before any other handler does anything with it.
    root.handlers.insert(0, handler)
    _detail.addHandler(handler)
    _detail.propagate = False
    consoles = [h for h in root.handlers if isinstance(h, logging.StreamHandler) and h is not handler]
    before = {h: h.formatter for h in consoles}
    for h in consoles:
        h.setFormatter(_WithoutTraceback(h.formatter))
    try:
        yield RunLog(path)
    finally:
        for h, formatter in before.items():
            h.setFormatter(formatter)
        root.removeHandler(handler)
        _detail.removeHandler(handler)
        handler.close()
