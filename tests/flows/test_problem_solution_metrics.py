"""Problem -> solution -> metrics on the sample: routed, analysed, planned, registered, and tracked by the audit."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from flows.problem_solution_metrics import (
    ProblemSolutionParams,
    ProblemSolutionResult,
    problem_solution_metrics,
)
from flows.weekly_audit import WeeklyAuditParams, weekly_audit
from opsflow.history import open_history
from opsflow.settings import get_settings
from tasks.coo.router import Skill
from tasks.performance_metrics.registry import load_registered_kpis
from tests.conftest import SAMPLE_END
from tests.standins.slack_api import TOKEN, SlackStandIn

CHALLENGE = "order fulfilment takes 48 hours, we need 24"
KEY = "processes.order_fulfilment.lead_p50_hours"


@pytest.mark.slow
def test_fulfilment_challenge_registers_a_kpi_the_next_audit_tracks(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    baseline_day = SAMPLE_END - timedelta(days=7)
    with SlackStandIn(channels={"#sre-problems": "C0PSM"}, member_of={"C0PSM"}) as slack:
        monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("OPSFLOW_SLACK_API_URL", slack.api_url)
        get_settings.cache_clear()
        params = ProblemSolutionParams(
            challenge=CHALLENGE, workspace=workspace, as_of=baseline_day, owner="Head of Fulfilment"
        )
        result = problem_solution_metrics(params)
        assert isinstance(result, ProblemSolutionResult), result
        assert result.delivered == ["#sre-problems: sent"]
        assert "Problem to metrics" in json.dumps(slack.posts()[0]["blocks"])

    assert result.skill == Skill.PROCESS_OPTIMIZATION and result.router_source == "rules"
    assert result.subject == "order_fulfilment"
    report = json.loads(result.report_html.with_name("report.json").read_text(encoding="utf-8"))
    sections = {s["name"]: s for s in report["sections"]}
    assert sections["router"]["reasons"], "the router's reasons are in the report"
    findings = {f["finding"]: f["value"] for f in sections["analysis"]["findings"]}
    assert findings["Bottleneck"].startswith("pack:"), findings  # STORIES: pack_bottleneck
    [lead, *_] = sections["smart_metrics"]["metrics"]
    assert lead["metric_key"] == KEY and lead["target"] == 24.0 and lead["owner"] == "Head of Fulfilment"

    # The KPI's baseline is the Processes section's p50 for the week ending as_of (the analysis carries the
    # section's headline under the audit's own key).
    p50 = next(h["value"] for h in sections["analysis"]["headlines"] if h["key"] == KEY)
    store = open_history(workspace)
    [kpi] = [k for k in load_registered_kpis(store) if k.metric_key == KEY]
    assert kpi.baseline == p50 == lead["baseline"] and kpi.kpi_id in result.registered_kpis
    assert kpi.baseline_date == baseline_day and kpi.target == 24.0

    # The following week's audit observes the KPI from its own figure and shows it in the KPI section.
    weekly_audit(WeeklyAuditParams(workspace=workspace, as_of=SAMPLE_END, post_to_slack=False))
    audit_now = store.list_runs("weekly-audit")[-1]
    store.close()
    kpis = next(s for s in audit_now.payload["sections"] if s["name"] == "kpis")
    [row] = [r for r in kpis["kpis"] if r["kpi_id"] == kpi.kpi_id]
    assert row["baseline"] == kpi.baseline and row["latest_value"] == audit_now.headlines[KEY]
    assert row["latest_on"] == SAMPLE_END.isoformat()


def test_no_registration_when_switched_off(workspace: Path) -> None:
    params = ProblemSolutionParams(
        challenge="Show me our SLA compliance for shipping",
        workspace=workspace,
        as_of=SAMPLE_END,
        register_kpis=False,
        post_to_slack=False,
    )
    result = problem_solution_metrics(params)
    assert isinstance(result, ProblemSolutionResult), result
    assert result.skill == Skill.PERFORMANCE_METRICS and result.subject == "shipping"
    assert result.registered_kpis == []
    store = open_history(workspace)
    assert load_registered_kpis(store) == []
    store.close()
    markdown = result.report_markdown.read_text(encoding="utf-8")
    # STORIES: shipping_sla_dip, ~92% over the last weeks against a 95% objective.
    assert "sla.shipping.compliance" in markdown and "the SLA objective 95.0%" in markdown
