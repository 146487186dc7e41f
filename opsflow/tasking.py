"""The two kinds of Prefect task opsflow declares, so a task's options are written once, here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from prefect import Task, task
from prefect.cache_policies import NO_CACHE

P = ParamSpec("P")
R = TypeVar("R")

IO_RETRIES = 3
IO_RETRY_DELAYS: list[float] = [2, 5, 15]
"""Seconds before each retry of a task that reads or writes outside the process (files, database, Prefect API)."""


def compute_task(fn: Callable[P, R], name: str) -> Task[P, R]:
    """A task that only computes: no retries (it would fail the same way again) and no cache key.

    No cache: Prefect would hash the arguments for a key nothing reads (results are not persisted), and hashing a
    million-row frame costs 0.1-0.2 s.
    """
    return task(name=name, cache_policy=NO_CACHE)(fn)


def io_task(
    fn: Callable[P, R],
    name: str,
    retries: int = IO_RETRIES,
    retry_delay_seconds: list[float] | None = None,
    retry_condition_fn: Callable[..., Any] | None = None,
) -> Task[P, R]:
    """A task that reads or writes outside the process: retried `retries` times after `retry_delay_seconds`
    (default 2, 5 and 15 s), when `retry_condition_fn` (if given) says the failure is transient; no cache key."""
    return task(
        name=name,
        cache_policy=NO_CACHE,
        retries=retries,
        retry_delay_seconds=retry_delay_seconds if retry_delay_seconds is not None else IO_RETRY_DELAYS,
        retry_condition_fn=retry_condition_fn,
    )(fn)
