"""The contingency drill end to end on the sample company, its PayBridge scenario pointed at stand-ins on 127.0.0.1."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from flows.contingency_drill import ContingencyDrillParams, ContingencyDrillResult, contingency_drill
from opsflow.drills import DRILLS_DIR
from opsflow.history import open_history
from opsflow.sample.drills import write_sample_drills
from opsflow.settings import get_settings
from tasks.continuity.standin import StandInEndpoint
from tests.conftest import SAMPLE_END
from tests.standins.slack_api import TOKEN, SlackStandIn


@pytest.fixture
def workspace(workspace: Path) -> Path:
    """The flow tests' sample workspace with the sample drill scenarios."""
    write_sample_drills(workspace)
    return workspace


def _point_at(ws: Path, primary: StandInEndpoint, standby: StandInEndpoint) -> None:
    """The sample's PayBridge scenario, its addresses moved to the stand-ins' ports."""
    path = ws / DRILLS_DIR / "paybridge-outage.yaml"
    body = yaml.safe_load(path.read_text(encoding="utf-8"))
    text = yaml.safe_dump(body, sort_keys=False)
    text = text.replace("http://127.0.0.1:8801", primary.url).replace("http://127.0.0.1:8802", standby.url)
    path.write_text(text, encoding="utf-8")


def _run(ws: Path, **kwargs: object) -> ContingencyDrillResult:
    params = ContingencyDrillParams(workspace=ws, as_of=SAMPLE_END, **kwargs)  # type: ignore[arg-type]
    result = contingency_drill(params)
    assert isinstance(result, ContingencyDrillResult), result
    return result


def _report(result: ContingencyDrillResult) -> dict:
    return json.loads(result.report_html.with_name("report.json").read_text(encoding="utf-8"))


def _section(report: dict, name: str) -> dict:
    return next(s for s in report["sections"] if s["name"] == name)


@pytest.mark.slow
def test_paybridge_drill_passes_but_real_incidents_breach(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with (
        StandInEndpoint() as primary,
        StandInEndpoint() as standby,
        SlackStandIn(channels={"#bcp-drills": "C0BCP"}, member_of={"C0BCP"}) as slack,
    ):
        _point_at(workspace, primary, standby)
        monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("OPSFLOW_SLACK_API_URL", slack.api_url)
        get_settings.cache_clear()
        result = _run(workspace, scenario="paybridge-outage")
        assert primary.posts() == ["/fail", "/recover"], "fault injected, then rolled back"
        assert result.delivered == ["#bcp-drills: sent"]
        header = slack.posts()[0]["blocks"]
        header = json.loads(header) if isinstance(header, str) else header
        assert "PayBridge" in header[0]["text"]["text"]

    assert result.outcome == "passed" and result.recovery_seconds is not None and result.recovery_seconds < 60
    report = _report(result)
    readiness = _section(report, "readiness")
    # The sample's story: payments-gateway's runbook is 400 days old, PayBridge has no backup vendor, and its real
    # SEV1/SEV2 incidents take longer to resolve than the 2-hour RTO while the drill recovers in seconds.
    checks = {(f["check"], f["subject"]) for f in readiness["findings"]}
    assert checks == {
        ("runbook_stale", "payments-gateway"),
        ("backup_vendor", "V-1201"),
        ("real_mttr_over_rto", "payments-gateway"),
    }
    assert result.readiness_score == 100 - sum(f["points"] for f in readiness["findings"]) == 67
    [recovery] = readiness["recovery"]
    assert recovery["service"] == "payments-gateway" and recovery["plan_contradicted"]
    assert recovery["real_mttr_median_hours"] > recovery["rto_hours"] == 2
    impact = _section(report, "impact")
    assert [s["service"] for s in impact["services"]] == ["payments-gateway", "checkout"]
    assert any(p["process"] == "order_fulfilment" and p["open_cases"] > 0 for p in impact["processes"])
    schedule = _section(report, "schedule")
    never = next(c for c in schedule["coverage"] if c["service"] == "payments-gateway")
    assert never["last_drilled"] is None and never["overdue"]
    assert not next(c for c in schedule["coverage"] if c["service"] == "checkout")["overdue"]

    html = result.report_html.read_text(encoding="utf-8")
    for title in ("Readiness", "The drill", "Impact", "Drill schedule", "Drill history", "Action items"):
        assert title in html
    assert html.count("data:image/png;base64,") == 2

    store = open_history(workspace)
    [run] = store.list_runs("contingency-drill")
    store.close()
    assert run.period_key == f"paybridge-outage-{SAMPLE_END.isoformat()}"
    assert run.payload["outcome"] == "passed" and run.headlines["drill.readiness_score"] == 67

    assert result.drill_incidents == workspace / "drills" / "drill-incidents.csv"
    with result.drill_incidents.open(encoding="utf-8", newline="") as handle:
        [row] = list(csv.DictReader(handle))
    assert (row["service"], row["kind"], row["vendor_id"]) == ("payments-gateway", "drill", "V-1201")


@pytest.mark.slow
def test_a_fresh_sample_drill_injects_a_real_fault_and_measures_detection_and_recovery(workspace: Path) -> None:
    # No scenario, no stand-in started by the test: the schedule picks the riskiest never-exercised scenario (here
    # the Swiftline carrier failure, residual risk 16), a Chaos Toolkit experiment whose local target the drill
    # starts itself; the method stops the target's process, the recovery starts it again.
    result = _run(workspace, post_to_slack=False)
    assert (result.scenario, result.outcome) == ("swiftline-carrier-failure", "passed")
    report = _report(result)
    drill = _section(report, "drill")
    assert [(s["phase"], s["ok"]) for s in drill["steps"]] == [("fault", True), ("recovery", True)]
    assert [(s["phase"], s["ok"]) for s in drill["rollback"]] == [("rollback", True)]
    readiness = {h["key"]: h["value"] for h in _section(report, "readiness")["headlines"]}
    assert 0 < readiness["drill.detect_seconds"] < readiness["drill.recovery_seconds"] < 60
    assert result.recovery_seconds == readiness["drill.recovery_seconds"]
    # The drill report names the register's risks it exercises, with the declared one's if-then plan (none here).
    assert drill["note"].startswith(
        "Risks this drill exercises: R-0012 (no if-then plan in the register); open risks on its services: R-0136"
    )
    assert result.drill_incidents is not None
    with result.drill_incidents.open(encoding="utf-8", newline="") as handle:
        [row] = list(csv.DictReader(handle))
    assert (row["service"], row["kind"], row["vendor_id"]) == ("shipping-label", "drill", "V-1001")
    schedule = _section(report, "schedule")
    assert schedule["note"].startswith("Chosen: swiftline-carrier-failure (never exercised: the stalest there is;")


@pytest.mark.slow
def test_failing_steady_state_aborts_and_schedule_picks_by_priority(workspace: Path) -> None:
    with StandInEndpoint(status=503) as primary, StandInEndpoint() as standby:
        _point_at(workspace, primary, standby)
        aborted = _run(workspace, scenario="paybridge-outage", post_to_slack=False)
        assert primary.posts() == [] and standby.state.requests == []
    assert aborted.outcome == "aborted" and aborted.drill_incidents is None
    findings = _section(_report(aborted), "readiness")["findings"]
    assert ("steady_state_not_holding", 20) in {(f["check"], f["points"]) for f in findings}
    assert aborted.readiness_score == 67 - 20

    # No scenario given: never exercised first (the riskiest of them), then residual risk x days since exercised.
    # An aborted drill is not an exercise, so no scenario of the sample has been exercised yet.
    tabletop = _run(workspace, run_probes=False, post_to_slack=False)
    candidates = _section(_report(tabletop), "schedule")["candidates"]
    assert tabletop.scenario == candidates[0]["scenario"] and candidates[0]["chosen"]
    assert all(c["last_exercised"] is None and c["priority"] is None for c in candidates)
    risks = [c["residual_risk"] for c in candidates]
    assert risks == sorted(risks, reverse=True)
    assert all(c["reason"].startswith("never exercised: the stalest there is") for c in candidates)
    assert tabletop.outcome == "tabletop" and tabletop.drill_incidents is None
    assert not (workspace / "drills" / "drill-incidents.csv").exists()


def test_unknown_scenario_fails_with_one_line(workspace: Path) -> None:
    state = contingency_drill(
        ContingencyDrillParams(workspace=workspace, scenario="no-such", as_of=SAMPLE_END, post_to_slack=False),
        return_state=True,
    )
    assert state.is_failed()
    assert state.message == (
        f"contingency-drill: no scenario 'no-such' in {workspace / 'drills'} (known: paybridge-outage, "
        "swiftline-carrier-failure, warehouse-hall-b-loss)"
    )
