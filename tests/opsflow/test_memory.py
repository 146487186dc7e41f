"""Tests for opsflow/memory.py: what a flow lets go of is really gone after release_free_memory."""

from __future__ import annotations

import gc
import weakref

import pandas as pd

from opsflow.memory import release_free_memory


class _Holder:
    """An object in a reference cycle, as the task machinery leaves them, holding a frame."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.me = self


def test_release_collects_frames_kept_only_by_reference_cycles() -> None:
    gc.disable()  # no automatic collection may free it first
    try:
        holder = _Holder(pd.DataFrame({"x": range(1000)}))
        alive = weakref.ref(holder)
        del holder
        assert alive() is not None  # unreachable, but the cycle keeps it
        release_free_memory(collect=False)
        assert alive() is not None  # the cheap form only trims the allocators
        release_free_memory()
        assert alive() is None
    finally:
        gc.enable()
