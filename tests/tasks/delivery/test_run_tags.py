"""A flow run carries its period tag on the run itself, where the Prefect UI filters runs."""

from __future__ import annotations

from uuid import UUID

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.runtime import flow_run

from tasks.delivery.run_tags import period_tag, tag_flow_run, tag_flow_run_task


@flow(name="tagged-flow")
def tagged_flow() -> str:
    tag_flow_run_task(period_tag("2026-11-15"))
    return str(flow_run.id)


def test_period_tag_lands_on_the_flow_run() -> None:
    run_id = UUID(tagged_flow())
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
    assert "period:2026-11-15" in run.tags


def test_outside_a_flow_run_it_changes_nothing() -> None:
    assert tag_flow_run("period:x") == ["period:x"]
