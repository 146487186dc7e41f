"""Wall time and peak memory per stage of a run (load, validate, compute, render, deliver), for footers and bench."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


def peak_memory_mib() -> int | None:
    """This process's peak resident memory so far, in MiB (None where the OS does not report it).

    On Linux, VmHWM: getrusage's ru_maxrss survives exec, so a process started by a large one (the benchmark that
    generated the sample) would report its parent's size as its own peak.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024)  # kB
    except OSError:
        pass
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024))


class StageTimer:
    """Accumulates seconds per named stage: `with timer("load"): ...`.

    `peak_mib` records the process's peak memory as each stage ends: the stage where it grows is the one that set it.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.peak_mib: dict[str, int] = {}

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - start)

    def add(self, stage: str, seconds: float) -> None:
        """Count `seconds` more for `stage`, which has just ended (for a stage timed without a `with` block)."""
        self.seconds[stage] = round(self.seconds.get(stage, 0.0) + seconds, 3)
        peak = peak_memory_mib()
        if peak is not None:
            self.peak_mib[stage] = peak
