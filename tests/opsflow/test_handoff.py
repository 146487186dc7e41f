"""as_is: a task gets the very object it was given, and Prefect does not walk it for futures."""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from pydantic import BaseModel, ConfigDict

from opsflow.handoff import as_is


class Inner(BaseModel):
    value: int


class Outer(BaseModel):
    items: list[Inner]


@task
def identity_of(model: Outer) -> int:
    return id(model)


@task
def total(model: Outer) -> int:
    return sum(i.value for i in model.items)


def test_the_task_receives_the_value_itself() -> None:
    model = Outer(items=[Inner(value=i) for i in range(5)])

    @flow
    def run() -> tuple[int, int]:
        return identity_of(as_is(model)), total(as_is(model))

    seen_id, summed = run()
    assert seen_id == id(model)
    assert summed == 10  # 0+1+2+3+4


class Holder(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    value: Any


@task
def one() -> int:
    return 1


@task
def kind_of_value(holder: Holder) -> str:
    return type(holder.value).__name__


def test_prefect_does_not_look_inside_the_wrapped_value() -> None:
    # Prefect walks a plain argument and swaps any future it finds for the future's result; inside as_is it never
    # looks, so the future arrives as it was (the sections and reports passed this way hold no futures).
    @flow
    def run() -> tuple[str, str]:
        future = one.submit()
        future.wait()
        return kind_of_value(Holder(value=future)), kind_of_value(as_is(Holder(value=future)))

    walked, passed_as_is = run()
    assert walked == "int"
    assert passed_as_is != "int" and "Future" in passed_as_is
