"""Tests for opsflow/timing.py: seconds and peak memory per stage."""

from __future__ import annotations

import time

from opsflow.timing import StageTimer, peak_memory_mib


def test_stages_accumulate_seconds_and_record_the_peak_so_far() -> None:
    timer = StageTimer()
    with timer("load"):
        time.sleep(0.01)
    with timer("load"):  # a stage entered twice adds up
        time.sleep(0.01)
    ballast = bytearray(64 << 20)  # touched: 64 MiB resident before "compute" ends
    ballast[::4096] = b"x" * len(ballast[::4096])
    with timer("compute"):
        pass
    assert timer.seconds["load"] >= 0.02 and set(timer.seconds) == {"load", "compute"}
    peak = peak_memory_mib()
    assert peak is not None and peak >= timer.peak_mib["compute"] >= timer.peak_mib["load"] > 64
    del ballast
