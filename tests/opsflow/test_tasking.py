"""Tests for opsflow/tasking.py: the options of the two kinds of task."""

from __future__ import annotations

from typing import Any

from prefect.cache_policies import NO_CACHE

from opsflow.tasking import compute_task, io_task


def _double(x: int) -> int:
    return 2 * x


def _never(task: Any, task_run: Any, state: Any) -> bool:
    return False


def test_a_compute_task_has_no_retries_and_no_cache_key() -> None:
    t = compute_task(_double, name="double_it")
    assert (t.name, t.retries, t.cache_policy) == ("double_it", 0, NO_CACHE)
    assert t.fn(4) == 8  # the plain function stays reachable (2 x 4)


def test_an_io_task_retries_after_2_5_and_15_seconds_unless_told_otherwise() -> None:
    t = io_task(_double, name="read_it")
    assert (t.name, t.retries, t.retry_delay_seconds, t.cache_policy) == ("read_it", 3, [2, 5, 15], NO_CACHE)
    assert t.retry_condition_fn is None
    custom = io_task(_double, name="read_once", retries=1, retry_delay_seconds=[0.5], retry_condition_fn=_never)
    assert (custom.retries, custom.retry_delay_seconds, custom.retry_condition_fn) == (1, [0.5], _never)
