"""Task arguments Prefect passes on as they are, without walking them for futures first."""

from __future__ import annotations

from typing import TypeVar, cast

from prefect.utilities.annotations import quote

T = TypeVar("T")


def as_is(value: T) -> T:
    """`value` for a task call, wrapped in Prefect's `quote` but typed as itself.

    Before every task run Prefect walks each argument twice, field by field, looking for futures and states to
    resolve and to record as upstream runs. A week's sections (a few thousand nested models) took about 0.1 s a
    walk, 0.8 s over the weekly audit's render stage. The sections and the report never hold futures (they are
    finished results), so nothing is lost but that walk; the task receives the value itself.
    """
    return cast(T, quote(value))
