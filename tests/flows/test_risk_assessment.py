"""The risk-assessment flow on the sample company: the register re-scored, a treatment plan, KPIs, Slack."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flows.risk_assessment import RiskAssessmentParams, RiskAssessmentResult, risk_assessment
from opsflow.config import load_config
from opsflow.history import open_history
from opsflow.settings import get_settings
from tests.conftest import SAMPLE_END
from tests.standins.slack_api import TOKEN, SlackStandIn


def _run(ws: Path, **kwargs: Any) -> RiskAssessmentResult:
    result = risk_assessment(RiskAssessmentParams(workspace=ws, as_of=SAMPLE_END, **kwargs))
    assert isinstance(result, RiskAssessmentResult), result
    return result


def test_reassesses_the_register_with_a_treatment_plan(workspace: Path) -> None:
    result = _run(workspace)
    out = workspace / "reports" / "risk-assessment" / SAMPLE_END.isoformat()
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    section = next(s for s in report["sections"] if s["name"] == "risk_assessment")
    plan = {r["risk_id"]: r for r in section["treatment_plan"]}

    # Every open risk is in the plan: the sample has 300 risks, some closed.
    assert len(plan) == result.open_risks and 0 < result.open_risks < 300
    assert all(r["owner"] is None or r["owner"] for r in plan.values()) and all(r["due"] for r in plan.values())
    # The sample's stories: R-0007 (payments-gateway, PayBridge timeouts) and R-0012 (Swiftline, flagged) are rated
    # likelihood 1 against the evidence; R-0003's mitigation is 75 days overdue.
    for rid in ("R-0007", "R-0012"):
        assert plan[rid]["current_likelihood"] == 1 and plan[rid]["suggested_likelihood"] >= 3, rid
        assert plan[rid]["evidence"]
    assert plan["R-0012"]["treatment"] == "transfer" and "V-1002" in plan["R-0012"]["action"]
    assert plan["R-0003"]["mitigation_overdue"] and plan["R-0003"]["band"] == "high"
    assert result.rerated >= 2 and result.high_after >= result.high_before
    # Heat maps before and after hold the same risks, moved up where the evidence says so.
    before, after = section["heat_map_before"], section["heat_map_after"]
    assert sum(map(sum, before)) == sum(map(sum, after)) == result.open_risks
    assert before != after
    focus_sources = {i["source"] for i in report["focus"]["urgent"] + report["focus"]["important"]}
    assert {"risk R-0003", "risk R-0012", "risk R-0007"} <= focus_sources
    assert len(list((out / "charts").glob("heat-map-*.png"))) == 2

    store = open_history(workspace)
    registered = {k["kpi_id"]: k for k in store.registered_kpis()}
    runs = store.list_runs("risk-assessment")
    store.close()
    assert registered["RA-mitigations-overdue"]["metric_key"] == "risks.mitigations_overdue"
    assert registered["RA-mitigations-overdue"]["baseline"] >= 1, "R-0003 at least"
    assert set(result.kpis_registered) == {"RA-mitigations-overdue", "RA-ratings-contradicted"}
    assert [r.as_of for r in runs] == [SAMPLE_END]
    assert runs[0].headlines["risk_assessment.rerated"] == result.rerated
    assert json.loads((out / "slack-payload.json").read_text(encoding="utf-8"))


@pytest.mark.slow
def test_posts_once_through_the_slack_api(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    channel = load_config(workspace).slack.channel_for("risk-assessment")  # the sample names one per flow
    with SlackStandIn(channels={channel: "C0RISK"}, member_of={"C0RISK"}) as slack:
        monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("OPSFLOW_SLACK_API_URL", slack.api_url)
        get_settings.cache_clear()
        first = _run(workspace)
        second = _run(workspace)
        assert first.delivered == [f"{channel}: sent"]
        assert second.delivered == [f"{channel}: already delivered"]
        assert len(slack.posts()) == 2
