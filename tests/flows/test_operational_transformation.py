"""operational-transformation end to end on the sample company: the pack bottleneck, the plan, KPIs, the control."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from flows.operational_transformation import (
    TransformationParams,
    TransformationResult,
    operational_transformation,
)
from opsflow.history import open_history
from opsflow.settings import get_settings
from tasks.performance_metrics.registry import load_registered_kpis
from tasks.process_optimization.control import HISTORY_FLOW
from tests.conftest import SAMPLE_END
from tests.standins.slack_api import TOKEN, SlackStandIn

FIRST = SAMPLE_END - timedelta(weeks=6)


def _run(ws: Path, **kwargs: Any) -> TransformationResult:
    result = operational_transformation(TransformationParams(workspace=ws, **kwargs))
    assert isinstance(result, TransformationResult), result
    return result


def _report(result: TransformationResult) -> dict[str, Any]:
    return json.loads((result.report_html.parent / "report.json").read_text(encoding="utf-8"))


def _section(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in report["sections"] if s["name"] == name)


def test_first_run_finds_pack_and_registers_kpis_then_a_later_run_tests_the_change(workspace: Path) -> None:
    first = _run(workspace, as_of=FIRST, owner="Lukas Fischer", post_to_slack=False)
    assert first.bottleneck == "pack", "the sample's story: the wait before pack dwarfs every other wait"
    assert first.verdict is None, "a first run is the baseline, there is nothing to compare yet"
    assert first.registered_kpis == ["OT-order-fulfilment-lead-time", "OT-order-fulfilment-rework-rate"]

    report = _report(first)
    state = _section(report, "current_state")
    assert 0 < state["pce"] < 1 and 0 < state["pce_mean"] < 1
    assert state["variants"] and state["variants"][0]["rank"] == 1
    assert state["variants"][0]["share"] >= state["variants"][-1]["share"]
    assert "pack" in state["variants"][0]["variant"]
    plan = _section(report, "plan")
    assert [p["phase"] for p in plan["phases"]] == ["discovery", "analysis", "design", "implementation", "measurement"]
    assert {r["step"] for r in plan["dmaic"]} == {"define", "measure", "analyze", "improve", "control"}
    saving = next(b for b in plan["benefits"] if b["unit"] == "case-hours of waiting per week")
    assert saving["value"] == pytest.approx(state["bottleneck_wait_per_week_hours"] / 2, abs=0.1)
    assert plan["target_lead_p50_hours"] < state["lead_p50_hours"]
    html = first.report_html.read_text(encoding="utf-8")
    assert "DMAIC improvement plan" in html and "data:image/png;base64," in html

    store = open_history(workspace)
    kpis = {k.kpi_id: k for k in load_registered_kpis(store)}
    lead = kpis["OT-order-fulfilment-lead-time"]
    assert lead.metric_key == "processes.order_fulfilment.lead_p50_hours"
    assert lead.baseline == state["lead_p50_hours"] and lead.baseline_date == FIRST
    assert lead.target == plan["target_lead_p50_hours"]

    second = _run(workspace, as_of=SAMPLE_END, post_to_slack=False)
    assert second.verdict in {"real improvement", "no change detectable", "worse"}
    control = _section(_report(second), "control")
    assert control["change_date"] == FIRST.isoformat(), "default change date: the first run's as_of"
    [test] = control["test"]
    assert test["before_cases"] > 100 and test["after_cases"] > 100
    assert test["p_improvement"] is not None and test["ci_low_hours"] <= test["median_change_hours"]
    runs = store.list_runs(HISTORY_FLOW)
    store.close()
    assert [r.period_key for r in runs] == [f"order_fulfilment-{FIRST}", f"order_fulfilment-{SAMPLE_END}"]
    # The KPI baseline stays the first run's: progress is measured against it.
    assert runs[1].payload["baseline"]["as_of"] == FIRST.isoformat()


def test_unknown_process_fails_in_one_line_saying_which_exist(workspace: Path) -> None:
    # A process the log does not have is a mistake to fix, not an empty report (the run ends Failed, no report).
    state = operational_transformation(
        TransformationParams(workspace=workspace, as_of=SAMPLE_END, process="billing", post_to_slack=False),
        return_state=True,
    )
    assert state.is_failed()
    assert state.message == (
        "process 'billing' has no events in process_events (processes there: customer_support, order_fulfilment, "
        "returns); choose one with --param process=NAME"
    )
    assert not (workspace / "reports" / "operational-transformation" / f"billing-{SAMPLE_END.isoformat()}").exists()


@pytest.mark.slow
def test_posts_once_to_the_flows_channel(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with SlackStandIn(channels={"#ops-transformation": "C0OT"}, member_of={"C0OT"}) as slack:
        monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("OPSFLOW_SLACK_API_URL", slack.api_url)
        get_settings.cache_clear()
        first = _run(workspace, as_of=SAMPLE_END)
        second = _run(workspace, as_of=SAMPLE_END)
        assert first.delivered == ["#ops-transformation: sent"]
        assert second.delivered == ["#ops-transformation: already delivered"]
        assert len(slack.posts()) == 2, "one main message and one thread reply"
