"""The vendor SLA review end to end on the sample company: Swiftline graded, flagged, credited and noticed; PayBridge's
incidents with the error budget they burned; the daily alert only when something changed; the digest on request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from flows.vendor_sla_review import VendorSlaReviewParams, VendorSlaReviewResult, vendor_sla_review
from opsflow.history import open_history
from opsflow.sample import STORIES
from opsflow.settings import get_settings
from tests.conftest import SAMPLE_END
from tests.standins.slack_api import TOKEN, SlackStandIn

FLOW = "vendor-sla-review"


def _run(ws: Path, **kwargs: Any) -> VendorSlaReviewResult:
    result = vendor_sla_review(VendorSlaReviewParams(workspace=ws, as_of=SAMPLE_END, **kwargs))
    assert isinstance(result, VendorSlaReviewResult), result
    return result


def _swiftline_credit(ws: Path) -> tuple[float, float]:
    """Swiftline's 30-day on-time rate and service credit, recomputed from the sample's CSV files with pandas."""
    d = pd.read_csv(ws / "data" / "vendor_deliveries.csv", parse_dates=["promised_date", "delivered_date"])
    d = d[d["vendor_id"] == "V-1001"]
    end = pd.Timestamp(SAMPLE_END)
    due = d[(d["promised_date"] > end - pd.Timedelta(days=30)) & (d["promised_date"] <= end)]
    known = due["delivered_date"].notna() & (due["delivered_date"] <= end)
    on_time = int((known & (due["delivered_date"] <= due["promised_date"])).sum())
    late = int(
        (known & (due["delivered_date"] > due["promised_date"])).sum() + (~known & (due["promised_date"] < end)).sum()
    )
    rate = on_time / (on_time + late)
    v = pd.read_csv(ws / "data" / "vendors.csv").set_index("vendor_id").loc["V-1001"]
    # credit = min(credit_per_point x points below target, cap) x annual value / 12
    points = (v["ontime_target"] - rate) * 100
    credit = min(v["credit_per_point"] * points, v["credit_cap"]) * v["annual_value"] / 12
    return rate, credit


def _section(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in report["sections"] if s["name"] == name)


def test_review_finds_the_sample_stories_and_alerts_only_on_change(workspace: Path) -> None:
    assert (
        "V-1001 Swiftline" in STORIES["decaying_carrier"] and "V-1201 PayBridge" in STORIES["repeat_vendor_incidents"]
    )
    first = _run(workspace, digest=True)
    out = workspace / "reports" / FLOW / SAMPLE_END.isoformat()
    assert first.report_html == out / "report.html"
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))

    # Swiftline: graded, flagged on every delivery signal, in breach, REPLACE (decaying below its 0.95 target).
    scorecard = {r["vendor_id"]: r for r in _section(report, "scorecard")["scorecard"]}
    swift = scorecard["V-1001"]
    rate, credit = _swiftline_credit(workspace)
    assert swift["ontime_30d"] == pytest.approx(rate) and rate < 0.95
    assert swift["grade"] == "D" and swift["recommendation"] == "REPLACE"
    assert {"violations", "below_threshold", "worsening", "breach"} <= set(swift["signals"])
    assert swift["ontime_90d"] > swift["ontime_30d"], "the decay is recent: 90 days look better than 30"

    flagged = _section(report, "flagged")
    swift_credit = next(c for c in flagged["credits"] if c["vendor_id"] == "V-1001")
    assert swift_credit["credit"] == pytest.approx(credit, abs=0.01) and swift_credit["basis"] == "credit clause"
    swift_flag = next(f for f in flagged["flagged"] if f["vendor_id"] == "V-1001")
    assert swift_flag["backup_vendor"] == "Rheinpost Parcel" and swift_flag["backup_grade"] == "A"
    assert swift_flag["backup_score"] == scorecard["V-1002"]["score"]

    # The drafted notice is saved beside the report and carries the facts.
    notice = out / "notices" / "V-1001.md"
    assert notice in first.notices
    text = notice.read_text(encoding="utf-8")
    assert f"{rate:.1%} of deliveries on time against the contracted 95.0%" in text
    assert f"EUR {credit:,.2f}" in text and "root-cause analysis" in text

    # PayBridge: 6 real incidents in 30 days (story), each one row on payments-gateway's uptime SLA; they burned budget.
    paybridge = scorecard["V-1201"]
    assert paybridge["incidents_30d"] == 6 and "incidents" in paybridge["signals"]
    rows = [i for i in flagged["incidents"] if i["vendor_id"] == "V-1201"]
    assert {i["service"] for i in rows} == {"payments-gateway"} and len({i["incident_id"] for i in rows}) >= 6
    burned = [i["budget_burned"] for i in rows if i["failed_events"]]
    assert burned and all(b > 0 for b in burned)
    # PayBridge has no deliveries, so it is not flagged (one flag rule, the audit's): its incidents are listed and the
    # scorecard recommends a review.
    assert all(f["vendor_id"] != "V-1201" for f in flagged["flagged"]) and paybridge["recommendation"] == "REVIEW"
    review_actions = _section(report, "scorecard")["actions"]
    assert any(a["source"] == "vendor V-1201" and "caused 6 incidents in 30 days" in a["text"] for a in review_actions)

    # Renewals: Swiftline's notice deadline is 10 days out -> sign phase, three phases overdue.
    renewals = {r["vendor_id"]: r for r in _section(report, "renewals")["renewals"]}
    assert renewals["V-1001"]["days_to_notice_deadline"] == 10
    assert renewals["V-1001"]["phase_now"] == "sign (weeks 7-8)" and len(renewals["V-1001"]["overdue_phases"]) == 3

    # First run: every signal is new, so the alert goes out (no Slack configured: its payload is saved) with the digest.
    assert first.new_signals > 0 and first.alert == "#vendor-management: saved"
    assert first.digest == "#vendor-management: saved"
    assert (out / "slack-alert.json").is_file() and (out / "slack-digest.json").is_file()
    (out / "slack-alert.json").unlink()

    # Same data again: nothing changed, no alert.
    second = _run(workspace)
    assert second.new_signals == 0 and second.alert == f"no change since {SAMPLE_END.isoformat()}: no alert"
    assert not (out / "slack-alert.json").exists() and second.digest == "not a digest day"
    store = open_history(workspace)
    [run] = store.list_runs(FLOW)
    store.close()
    assert run.as_of == SAMPLE_END and "breach" in run.payload["signals"]["V-1001"]
    assert "deadline" in run.payload["signals"]["V-1001"]


@pytest.mark.slow
def test_daily_alert_posts_once_and_not_again_without_change(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with SlackStandIn(channels={"#vendor-management": "C0VEND"}, member_of={"C0VEND"}) as slack:
        monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("OPSFLOW_SLACK_API_URL", slack.api_url)
        get_settings.cache_clear()
        first = _run(workspace)
        assert first.delivered == ["alert #vendor-management: sent"]
        posts = len(slack.posts())
        assert posts == 2, "one main message and one thread reply"
        blocks = slack.posts()[0]["blocks"]
        header = (json.loads(blocks) if isinstance(blocks, str) else blocks)[0]
        assert "new signals" in header["text"]["text"]
        second = _run(workspace)
        assert second.delivered == [] and second.alert.startswith("no change since")
        assert len(slack.posts()) == posts, "no change: nothing posted"


def test_a_day_after_the_data_is_refused_and_the_default_day_is_the_last_the_data_covers(workspace: Path) -> None:
    # The sample's data ends on SAMPLE_END: five days later nothing is known, so nothing can be late or breached.
    later = SAMPLE_END + pd.Timedelta(days=5).to_pytimedelta()
    state = vendor_sla_review(
        VendorSlaReviewParams(workspace=workspace, as_of=later, post_to_slack=False), return_state=True
    )
    assert state.is_failed()
    assert f"{later.isoformat()} is past the data" in str(state.message) and "\n" not in str(state.message)
    assert not (workspace / "reports" / FLOW / later.isoformat()).exists(), "no review, so no notice, is written"
    # Without a day (today, months after the sample ends) the review is of the data's last day, and says so.
    result = vendor_sla_review(VendorSlaReviewParams(workspace=workspace, post_to_slack=False))
    assert isinstance(result, VendorSlaReviewResult) and result.as_of == SAMPLE_END
    report = json.loads(result.report_markdown.with_name("report.json").read_text(encoding="utf-8"))
    assert report["data_covers"].startswith("Data covers vendor_deliveries: ")
    assert report["data_covers"] in result.report_markdown.read_text(encoding="utf-8").replace("\\_", "_")
