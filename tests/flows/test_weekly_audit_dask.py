"""The weekly audit on a Dask cluster (prefect-dask's DaskTaskRunner, a local cluster of 2 worker processes) gives
exactly the report of the default runner, with its sections really computed on the Dask workers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flows.weekly_audit import WeeklyAuditParams, WeeklyAuditResult, weekly_audit
from tests.conftest import SAMPLE_END

distributed = pytest.importorskip("distributed")
prefect_dask = pytest.importorskip("prefect_dask")


def _report(result: object) -> dict[str, Any]:
    assert isinstance(result, WeeklyAuditResult), result
    report = json.loads((result.report_html.parent / "report.json").read_text(encoding="utf-8"))
    return {k: v for k, v in report.items() if k not in ("generated_at", "timings")}


@pytest.mark.slow
def test_a_dask_cluster_gives_the_default_runners_report(workspace: Path) -> None:
    params = WeeklyAuditParams(workspace=workspace, as_of=SAMPLE_END, post_to_slack=False)
    default = _report(weekly_audit(params))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        runner = prefect_dask.DaskTaskRunner(address=cluster.scheduler_address)
        on_dask = _report(weekly_audit.with_options(task_runner=runner)(params))
        ran = {name: dict(prefix.state_counts) for name, prefix in cluster.scheduler.task_prefixes.items()}
    assert on_dask == default
    # The independent sections and the loads were Dask tasks that finished on the workers.
    for name in ("compute_incidents", "compute_sla", "compute_vendors", "compute_projects", "load_source"):
        assert ran.get(name, {}).get("memory", 0) >= 1, ran
