"""A report's Slack post: never from a sample workspace unless the run opts in, and then exactly as usual."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsflow.config import WorkspaceConfig
from opsflow.findings import Headline
from opsflow.history import HistoryStore, open_history
from opsflow.settings import get_settings
from tasks.delivery.publish import post_report
from tasks.reporting.report import FlowReport
from tests.standins.slack_api import TOKEN, SlackStandIn

SAMPLE = WorkspaceConfig.model_validate({"company": "Northwind Supply", "sample": True})
OWN = WorkspaceConfig.model_validate({"company": "Northwind Supply"})


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackStandIn]:
    with SlackStandIn() as server:
        monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("OPSFLOW_SLACK_API_URL", server.api_url)
        monkeypatch.delenv("OPSFLOW_POST_SAMPLE", raising=False)
        get_settings.cache_clear()
        yield server
    get_settings.cache_clear()


@pytest.fixture
def history(tmp_path: Path) -> Iterator[HistoryStore]:
    store = open_history(tmp_path)
    yield store
    store.close()


def _post(config: WorkspaceConfig, tmp_path: Path, history: HistoryStore) -> list[str]:
    report = FlowReport(
        flow="weekly-audit", title="Weekly audit", company=config.company, period_key="2026-03-29", generated_at="now"
    )
    html = tmp_path / "report.html"
    html.write_text("<html></html>", encoding="utf-8")
    headlines = [Headline(key="incidents.week.count", label="Incidents", value=66)]
    return post_report(report, {"html": html}, history, config.slack, headlines, [])


def test_a_sample_workspace_is_not_posted_and_the_log_says_why(
    slack: SlackStandIn, tmp_path: Path, history: HistoryStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="tasks.delivery.publish")
    assert _post(SAMPLE, tmp_path, history) == ["#ops: saved"]
    assert slack.posts() == []  # Slack is configured, and still nothing reached it
    (line,) = [r.getMessage() for r in caplog.records if "Not posted to Slack" in r.getMessage()]
    assert "this workspace is a sample (`sample: true` in opsflow.yaml" in line and "--post-sample" in line
    saved = json.loads((tmp_path / "slack-payload.json").read_text())
    assert [m["channel"] for m in saved["messages"]] == ["#ops"]


def test_a_sample_is_posted_when_the_run_opts_in(
    slack: SlackStandIn, tmp_path: Path, history: HistoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSFLOW_POST_SAMPLE", "true")  # what `opsflow run --post-sample` sets
    get_settings.cache_clear()
    assert _post(SAMPLE, tmp_path, history) == ["#ops: sent"]
    assert [p["channel"] for p in slack.posts() if "thread_ts" not in p] == ["#ops"]


def test_a_users_own_workspace_is_posted(slack: SlackStandIn, tmp_path: Path, history: HistoryStore) -> None:
    assert _post(OWN, tmp_path, history) == ["#ops: sent"]
    assert [p["channel"] for p in slack.posts() if "thread_ts" not in p] == ["#ops"]
