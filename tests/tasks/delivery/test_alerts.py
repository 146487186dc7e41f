"""A failing flow with the alert hook posts one short escaped alert, with a link to the run, never hiding the error."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect import flow
from prefect.settings import PREFECT_UI_URL, temporary_settings
from pydantic import BaseModel

from opsflow.config import CONFIG_FILE, SlackConfig
from opsflow.settings import Settings, get_settings
from tasks.delivery.alerts import make_alert_hook
from tests.standins.slack_api import CONTROL, TOKEN, SlackStandIn, texts

CONFIG = SlackConfig(default_channel="#ops", alerts_channel="#ops-alerts")


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as server:
        yield server


def _settings(monkeypatch: pytest.MonkeyPatch, workspace: Path, **values: Any) -> Settings:
    for name in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "OPSFLOW_SLACK_API_URL"):
        monkeypatch.delenv(name, raising=False)
    return Settings(_env_file=None, OPSFLOW_WORKSPACE=str(workspace), **values)


def _failing_flow(hook: Any) -> Any:
    @flow(name="weekly-audit", on_failure=[hook])
    def weekly_audit() -> None:
        raise ValueError("boom <!channel> reading postgresql://ops:hunter2@db/ops\nsecond line")

    return weekly_audit


def test_failed_run_posts_an_escaped_alert_with_a_link(
    slack: SlackStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(monkeypatch, tmp_path, SLACK_BOT_TOKEN=TOKEN, OPSFLOW_SLACK_API_URL=slack.api_url)
    with temporary_settings({PREFECT_UI_URL: "https://prefect.example"}):
        state = _failing_flow(make_alert_hook(settings, CONFIG))(return_state=True)
    assert state.is_failed()
    (alert,) = slack.posts()
    assert alert["channel"] == "#ops-alerts"
    body = json.dumps(alert)
    assert "weekly-audit" in body and "ValueError: boom &lt;!channel&gt; reading postgresql://ops:***@db/ops" in body
    assert "hunter2" not in body and "second line" not in body
    assert f"<https://prefect.example/runs/flow-run/{state.state_details.flow_run_id}|Open the run in Prefect>" in body
    assert not [t for t in texts(alert) if CONTROL.search(t.replace("<https://prefect.example/", ""))]


def test_alert_hook_never_raises_when_slack_rejects_it(
    slack: SlackStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="opsflow.alerts")
    settings = _settings(
        monkeypatch, tmp_path, SLACK_BOT_TOKEN="xoxb-wrong-SECRET", OPSFLOW_SLACK_API_URL=slack.api_url
    )
    state = _failing_flow(make_alert_hook(settings, CONFIG))(return_state=True)
    assert state.is_failed() and "ValueError: boom" in (state.message or "")  # the run's own error, not the alert's
    assert "Failure alert for weekly-audit not posted: Slack delivery failed: invalid_auth" in caplog.text
    assert "xoxb-wrong-SECRET" not in caplog.text


def test_alert_without_slack_is_saved_in_the_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(monkeypatch, tmp_path)
    state = _failing_flow(make_alert_hook(settings, CONFIG))(return_state=True)
    (saved,) = (tmp_path / "alerts").glob("alert-*.json")
    assert saved.name == f"alert-{state.state_details.flow_run_id}.json"
    (message,) = json.loads(saved.read_text())["messages"]
    assert message["channel"] == "#ops-alerts" and "ValueError: boom" in message["chat.postMessage"]["text"]


class _Params(BaseModel):
    workspace: Path


def _workspace(folder: Path, alerts_channel: str) -> Path:
    folder.mkdir(parents=True)
    config = {"company": folder.name, "slack": {"default_channel": "#ops", "alerts_channel": alerts_channel}}
    (folder / CONFIG_FILE).write_text(yaml.safe_dump(config), encoding="utf-8")
    return folder


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The process's default workspace (OPSFLOW_WORKSPACE, as ./workspace would be): not the failed run's."""
    default = _workspace(tmp_path / "default", "#ops-leadership")
    for name in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "OPSFLOW_SLACK_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPSFLOW_WORKSPACE", str(default))
    get_settings.cache_clear()
    yield default
    get_settings.cache_clear()


def _failing_run_on(workspace: Path) -> Any:
    @flow(name="weekly-audit", on_failure=[make_alert_hook()])
    def weekly_audit(params: _Params) -> None:
        raise ValueError("boom")

    return weekly_audit(params=_Params(workspace=workspace), return_state=True)


def test_alert_goes_to_the_failed_runs_own_workspace_channel(
    elsewhere: Path, slack: SlackStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("OPSFLOW_SLACK_API_URL", slack.api_url)
    get_settings.cache_clear()
    run_workspace = _workspace(tmp_path / "run", "#ops-alerts")
    assert _failing_run_on(run_workspace).is_failed()
    (alert,) = slack.posts()
    assert alert["channel"] == "#ops-alerts"  # the run's workspace says so; the default says #ops-leadership


def test_alert_file_goes_to_the_failed_runs_own_workspace(elsewhere: Path, tmp_path: Path) -> None:
    run_workspace = _workspace(tmp_path / "run", "#ops-alerts")
    state = _failing_run_on(run_workspace)
    (saved,) = (run_workspace / "alerts").glob("alert-*.json")
    assert saved.name == f"alert-{state.state_details.flow_run_id}.json"
    assert json.loads(saved.read_text())["messages"][0]["channel"] == "#ops-alerts"
    assert not (elsewhere / "alerts").exists()


def test_no_alert_is_posted_from_a_sample_workspace(
    elsewhere: Path, slack: SlackStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("OPSFLOW_SLACK_API_URL", slack.api_url)
    get_settings.cache_clear()
    run_workspace = _workspace(tmp_path / "run", "#ops-alerts")
    config = run_workspace / CONFIG_FILE
    config.write_text("sample: true\n" + config.read_text(), encoding="utf-8")
    _failing_run_on(run_workspace)
    assert slack.posts() == []
    assert list((run_workspace / "alerts").glob("alert-*.json"))  # saved, not posted
