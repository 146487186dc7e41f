"""Tests of the shared report steps: what every report carries, and the post to a stand-in Slack."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect import flow

from opsflow.config import SlackConfig, WorkspaceConfig
from opsflow.datasets import OpsData
from opsflow.findings import Action, Headline, Urgency
from opsflow.history import HistoryStore, open_history
from opsflow.settings import get_settings
from opsflow.timing import StageTimer
from tasks.data.prepare import WorkspaceData
from tasks.delivery.publish import post_report
from tasks.reporting.narrative import UsageCall, UsageLog
from tasks.reporting.report import new_report
from tests.standins.slack_api import TOKEN, SlackStandIn


@pytest.fixture
def history(tmp_path: Path) -> Iterator[HistoryStore]:
    store = open_history(tmp_path)
    yield store
    store.close()


def _prepared(load_errors: dict[str, str] | None = None) -> WorkspaceData:
    return WorkspaceData(Path("ws"), WorkspaceConfig(company="Acme"), OpsData(), load_errors or {})


def test_new_report_fills_company_quality_errors_usage_and_timings() -> None:
    timer = StageTimer()
    timer.seconds["load"] = 1.25
    usage = UsageLog()
    usage.record(UsageCall("audit", "claude-test", 1200, 300, 0.0051, "used"))
    report = new_report(
        "weekly-audit",
        "Weekly audit",
        "2026-03-29",
        _prepared({"incidents": "file not found"}),
        timer,
        usage,
        subtitle="Acme · a week",
        focus_title="Focus",
    )
    assert (report.flow, report.title, report.period_key, report.company) == (
        "weekly-audit",
        "Weekly audit",
        "2026-03-29",
        "Acme",
    )
    assert (report.subtitle, report.focus_title) == ("Acme · a week", "Focus")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", report.generated_at)
    assert report.load_errors == {"incidents": "file not found"}
    [row] = report.quality_rows
    assert (row["dataset"], row["status"], row["top_reasons"]) == ("incidents", "not loaded", "file not found")
    assert report.usage == usage.footer() and "1 calls" in report.usage
    # The timings are the ones so far: a later stage does not change the report already built.
    timer.seconds["deliver"] = 0.5
    assert report.timings == {"load": 1.25}


def test_new_report_without_claude_calls_has_no_usage_footer() -> None:
    assert new_report("daily-brief", "Brief", "2026-03-29", _prepared(), StageTimer(), UsageLog()).usage is None
    assert new_report("daily-brief", "Brief", "2026-03-29", _prepared(), StageTimer()).usage is None


def test_post_report_posts_once_with_the_charts_and_returns_one_line_per_channel(
    history: HistoryStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    html, chart = tmp_path / "report.html", tmp_path / "charts" / "trend.png"
    chart.parent.mkdir()
    html.write_text("<html>the report</html>")
    chart.write_bytes(b"\x89PNG chart")
    paths = {"html": html, "markdown": tmp_path / "report.md", "chart:trend": chart}
    report = new_report("weekly-audit", "Weekly audit", "2026-03-29", _prepared(), StageTimer())
    headline = Headline(key="incidents.week.count", label="Incidents", value=3, better="lower")
    action = Action(text="Close INC1", urgency=Urgency.URGENT, owner="Ann", source="INC1", section="incidents")

    with SlackStandIn() as slack:
        monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("OPSFLOW_SLACK_API_URL", slack.api_url)
        monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
        monkeypatch.delenv("OPSFLOW_REPORT_BASE_URL", raising=False)
        get_settings.cache_clear()

        @flow(name="weekly-audit")
        def deliver() -> list[str]:
            return post_report(report, paths, history, SlackConfig(), [headline], [action], "Start with INC1.")

        try:
            first, again = deliver(), deliver()
        finally:
            get_settings.cache_clear()
        mains = [p for p in slack.posts() if "thread_ts" not in p]
        assert first == ["#ops: sent"] and again == ["#ops: already delivered"]
        assert len(mains) == 1 and mains[0]["channel"] == "#ops"
        assert len(slack.uploads) == 2  # the HTML report and the chart, posted once
        assert "Start with INC1." in str(mains[0])
