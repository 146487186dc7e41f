"""The risk-aware planning flow on the sample company's warehouse automation initiative."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.risk_aware_planning import RiskAwarePlanningParams, RiskAwarePlanningResult, risk_aware_planning
from opsflow.config import load_config
from opsflow.history import open_history
from opsflow.sample.initiative import write_sample_initiative
from opsflow.settings import get_settings
from tests.conftest import SAMPLE_END
from tests.standins.slack_api import TOKEN, SlackStandIn

OUT = Path("reports") / "risk-aware-planning" / f"warehouse-automation-{SAMPLE_END.isoformat()}"


@pytest.fixture
def workspace(workspace: Path) -> Path:
    """The flow tests' sample workspace with the sample initiative."""
    if not (workspace / "initiatives" / "warehouse-automation.yaml").exists():
        write_sample_initiative(workspace)
    return workspace


def _run(ws: Path, **kwargs: Any) -> RiskAwarePlanningResult:
    params = RiskAwarePlanningParams(workspace=ws, as_of=SAMPLE_END, iterations=10_000, **kwargs)
    result = risk_aware_planning(params)
    assert isinstance(result, RiskAwarePlanningResult), result
    return result


def _section(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in report["sections"] if s["name"] == name)


def test_plans_the_sample_initiative(workspace: Path) -> None:
    result = _run(workspace)
    out = workspace / OUT
    # The forecast is ordered and the deadline is tight: neither certain nor hopeless.
    assert result.p50_days <= result.p80_days <= result.p95_days
    assert 0 < result.on_time_probability < 1
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))

    # The Swiftline risk (R-0012, vendor V-1001, flagged in the sample) is among the initiative's risks, re-rated by
    # the evidence (the register says likelihood 1) and treated: V-1001 has a backup (V-1002), so transfer.
    risks = {r["risk_id"]: r for r in _section(report, "initiative_risks")["risks"]}
    swiftline = risks["R-0012"]
    assert swiftline["linked"] == "V-1001" and swiftline["likelihood"] >= 3
    assert swiftline["treatment"] == "transfer" and swiftline["backup_vendor"] == "V-1002"
    assert set(swiftline["touches"].split(";")) == {"WP08", "WP11"}
    assert "R-0003" in risks, "the WMS single-instance risk touches the WMS work"
    assert all(r["treatment"] in {"avoid", "mitigate", "transfer", "accept"} for r in risks.values())

    # Mitigation tasks are in the plan, before the work they protect, for every mitigate/avoid risk.
    plan = {t["id"]: t for t in _section(report, "schedule")["plan"]}
    mitigations = [t for t in plan.values() if t["kind"] == "mitigation"]
    assert mitigations and sorted(t["id"] for t in mitigations) == sorted(result.mitigation_tasks)
    treated = {r["risk_id"] for r in risks.values() if r["treatment"] in {"mitigate", "avoid"}}
    assert {f"M-{rid}" for rid in treated} == set(result.mitigation_tasks)
    for rid in treated:
        for wp in risks[rid]["touches"].split(";"):
            assert f"M-{rid}" in plan[wp]["depends_on"].split(";")
    assert all(0 <= t["criticality"] <= 1 for t in plan.values())
    assert plan["WP12"]["criticality"] == 1.0, "every path ends with the go-live"

    # The Gantt chart and the report.
    assert result.gantt_png == out / "charts" / "gantt.png"
    assert result.gantt_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = result.report_html.read_text(encoding="utf-8")
    assert "Schedule and forecast" in html and "Risks to the initiative" in html and "Success metrics" in html
    assert html.count("data:image/png;base64,") >= 2
    forecast = _section(report, "schedule")["forecast"]
    assert [f["percentile"] for f in forecast] == ["P50", "P80", "P95"]

    # KPIs registered for the weekly audits: on-time delivery (observed via kpi_observations) and the metrics it
    # improves, each with a weekly-audit headline key and this week's value as the baseline.
    store = open_history(workspace)
    registered = {k["kpi_id"]: k for k in store.registered_kpis()}
    runs = store.list_runs("risk-aware-planning")
    store.close()
    assert set(result.kpis_registered) <= set(registered)
    on_time = registered["RAP-warehouse-automation-on-time"]
    assert on_time["metric_key"] is None and on_time["baseline"] == pytest.approx(result.on_time_probability, abs=1e-4)
    lead = registered["RAP-warehouse-automation-processes-order-fulfilment-lead-p50-hours"]
    assert lead["metric_key"] == "processes.order_fulfilment.lead_p50_hours" and lead["baseline"] > 0
    assert lead["target"] == pytest.approx(lead["baseline"] * 0.75, rel=1e-3)
    assert [r.period_key for r in runs] == [OUT.name]
    assert runs[0].headlines["planning.p80_days"] == result.p80_days

    # No Slack configured: the exact payload is saved next to the report.
    assert json.loads((out / "slack-payload.json").read_text(encoding="utf-8"))
    assert result.summary_source == "template" and set(result.timings) >= {"load", "compute", "simulate", "render"}


def test_replanning_reproduces_and_replaces(workspace: Path) -> None:
    first = _run(workspace, post_to_slack=False)
    again = _run(workspace, post_to_slack=False)
    assert (again.p50_days, again.p80_days, again.on_time_probability) == (
        first.p50_days,
        first.p80_days,
        first.on_time_probability,
    ), "same seed, same data: same forecast"
    store = open_history(workspace)
    runs = store.list_runs("risk-aware-planning")
    store.close()
    assert len(runs) == 1, "re-planning the same initiative on the same date replaces the run"


def test_a_cycle_in_the_initiative_fails_with_one_line(workspace: Path) -> None:
    path = workspace / "initiatives" / "warehouse-automation.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["work_packages"][0]["depends_on"] = ["WP12"]  # WP01 after the go-live: a cycle
    bad = workspace / "initiatives" / "cyclic.yaml"
    bad.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    state = risk_aware_planning(
        RiskAwarePlanningParams(workspace=workspace, as_of=SAMPLE_END, initiative_file=Path("initiatives/cyclic.yaml")),
        return_state=True,
    )
    assert state.is_failed()
    assert "cyclic.yaml" in str(state.message) and "cycle" in str(state.message)
    assert "\n" not in str(state.message)


@pytest.mark.slow
def test_posts_once_to_the_planning_channel(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    channel = load_config(workspace).slack.channel_for("risk-aware-planning")  # #pmo in the sample
    with SlackStandIn(channels={channel: "C0PMO"}, member_of={"C0PMO"}) as slack:
        monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("OPSFLOW_SLACK_API_URL", slack.api_url)
        get_settings.cache_clear()
        first = _run(workspace)
        second = _run(workspace)
        assert first.delivered == [f"{channel}: sent"]
        assert second.delivered == [f"{channel}: already delivered"]
        assert len(slack.posts()) == 2, "one main message and one thread reply"
