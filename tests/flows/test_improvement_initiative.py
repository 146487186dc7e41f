"""improvement-initiative on the sample company: Pattern 3 with the initiative's preset goal (lead time halved)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.improvement_initiative import GOAL, InitiativeParams, improvement_initiative
from flows.operational_transformation import TransformationResult
from opsflow.history import open_history
from tasks.performance_metrics.registry import load_registered_kpis
from tasks.process_optimization.control import HISTORY_FLOW
from tests.conftest import SAMPLE_END


def test_initiative_halves_the_lead_time_target_and_registers_its_kpis(workspace: Path) -> None:
    result = improvement_initiative(InitiativeParams(workspace=workspace, as_of=SAMPLE_END))
    assert isinstance(result, TransformationResult), result
    assert result.process == "order_fulfilment" and result.bottleneck == "pack"
    out = workspace / "reports" / "improvement-initiative" / f"order_fulfilment-{SAMPLE_END}"
    assert result.report_html == out / "report.html"
    assert (out / "slack-payload.json").exists(), "no Slack configured: the payload is saved next to the report"
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    state = next(s for s in report["sections"] if s["name"] == "current_state")
    plan = next(s for s in report["sections"] if s["name"] == "plan")
    assert plan["target_lead_p50_hours"] == pytest.approx(state["lead_p50_hours"] / 2, abs=0.01)
    store = open_history(workspace)
    kpis = {k.kpi_id: k for k in load_registered_kpis(store)}
    [run] = store.list_runs(HISTORY_FLOW)
    store.close()
    lead = kpis["OT-order-fulfilment-lead-time"]
    assert lead.source_flow == "improvement-initiative" and lead.objective == GOAL
    assert lead.target == plan["target_lead_p50_hours"]
    assert run.period_key == f"order_fulfilment-{SAMPLE_END}", "stored where operational-transformation finds it"
