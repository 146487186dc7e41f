"""Tags on the running flow run (its period), so the Prefect UI can filter a flow's runs by the week they cover."""

from __future__ import annotations

from prefect.client.orchestration import get_client
from prefect.context import FlowRunContext

from opsflow.tasking import io_task


def tag_flow_run(*tags: str) -> list[str]:
    """Add `tags` to the current flow run; returns its tags. Outside a flow run it does nothing.

    `prefect.tags(...)` would only tag the task runs created inside it, not the flow run the UI lists, hence the
    API call on the run itself.
    """
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return list(tags)
    run = context.flow_run
    merged = sorted({*(run.tags or []), *tags})
    with get_client(sync_client=True) as client:
        client.update_flow_run(run.id, tags=merged)
    run.tags = merged
    return merged


def period_tag(key: str) -> str:
    """The tag naming a run's period, e.g. `period:2026-11-15`."""
    return f"period:{key}"


tag_flow_run_task = io_task(tag_flow_run, name="tag_flow_run")
