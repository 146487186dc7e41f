"""Slack delivery to a stand-in Slack API through the real slack_sdk clients: escaping, limits, faults, exactly once."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect import flow

from opsflow.config import SlackConfig
from opsflow.findings import Action, Headline, Urgency
from opsflow.history import HistoryStore, open_history
from opsflow.settings import Settings
from tasks.delivery.slack import (
    TRUNCATED,
    DeliveryError,
    FileSender,
    Progress,
    SlackMessage,
    WebApiSender,
    WebhookSender,
    build_message,
    channels_for,
    deliver,
    deliver_task,
    enforce_limits,
    escape_mrkdwn,
    publish_to_slack,
    sender_from_settings,
)
from tests.standins.slack_api import CONTROL, TOKEN, SlackStandIn, block_problems, texts

SLACK_ENV = ["SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "OPSFLOW_SLACK_API_URL", "OPSFLOW_REPORT_BASE_URL"]


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as server:
        yield server


@pytest.fixture
def history(tmp_path: Path) -> Iterator[HistoryStore]:
    store = open_history(tmp_path)
    yield store
    store.close()


def _settings(monkeypatch: pytest.MonkeyPatch, **values: Any) -> Settings:
    for name in SLACK_ENV:
        monkeypatch.delenv(name, raising=False)
    return Settings(_env_file=None, **values)


def _sender(slack: SlackStandIn, token: str = TOKEN, max_retries: int = 3, timeout: int = 5) -> WebApiSender:
    return WebApiSender(token, base_url=slack.api_url, timeout=timeout, max_retries=max_retries, backoff_seconds=0.05)


def _message(
    title: str = "Weekly operations audit", channel: str = "#ops", files: list[Path] | None = None
) -> SlackMessage:
    headlines = [
        Headline(key="incidents.week.count", label="Incidents", value=12, previous=9, better="lower"),
        Headline(key="sla.week.compliance", label="SLA compliance", value=95.3, unit="%", better="higher"),
    ]
    focus = [
        Action(
            text="Close SEV1 INC0042 (open 3 days)",
            urgency=Urgency.URGENT,
            owner="Dana",
            source="INC0042",
            section="incidents",
        ),
    ]
    return build_message(
        "weekly-audit",
        title,
        "2026-W18",
        headlines,
        focus,
        "https://reports.example/w18.html",
        "# Details\n\nAll **good** here.",
        files or [],
        channel=channel,
    )


# -- escaping and limits ----------------------------------------------------------------------------------------------


def test_escape_mrkdwn_turns_control_characters_into_entities() -> None:
    assert escape_mrkdwn("<!channel> & <https://x|click>") == "&lt;!channel&gt; &amp; &lt;https://x|click&gt;"


def test_hostile_data_reaches_slack_escaped(slack: SlackStandIn, history: HistoryStore) -> None:
    hostile = "<!channel> outage <https://x|click> <@U123> & <#C999>"
    message = build_message(
        "weekly-audit",
        hostile,
        "2026-W18",
        [Headline(key="k", label="<!here> incidents", value=3)],
        [Action(text=hostile, urgency=Urgency.URGENT, owner="<@U999>", source="<!everyone>", section="incidents")],
        None,
        f"## {hostile}\n\n{hostile}",
        [],
    )
    deliver(message, _sender(slack), history)
    posted = slack.posts()
    assert len(posted) == 2  # the message and its thread reply
    received = [t for body in posted for t in texts(body)]
    assert not [t for t in received if CONTROL.search(t)]
    assert any("&lt;!channel&gt; outage &lt;https://x|click&gt;" in t for t in received)


def test_enforce_limits_truncates_with_a_pointer_to_the_report() -> None:
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": "T" * 400}}]
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "&amp;" * 1000}})  # 5000 chars of entities
    blocks.append({"type": "section", "fields": [{"type": "mrkdwn", "text": f"f{i}"} for i in range(14)]})
    blocks += [{"type": "divider"}] * 60
    out = enforce_limits(blocks)
    assert len(out) == 50 and out[-1]["text"]["text"] == TRUNCATED
    assert len(out[0]["text"]["text"]) <= 150
    section = out[1]["text"]["text"]
    assert len(section) <= 3000 and section.endswith(TRUNCATED)
    assert section.removesuffix("\n" + TRUNCATED).endswith("&amp;")  # never half an entity
    assert len(out[2]["fields"]) == 10 and out[2]["fields"][-1]["text"] == TRUNCATED
    assert block_problems(out) == []


def test_big_report_fits_block_kit_and_slack_accepts_it(slack: SlackStandIn, history: HistoryStore) -> None:
    headlines = [Headline(key=f"h{i}", label=f"Figure {i}", value=i) for i in range(25)]
    focus = [Action(text="x" * 400, urgency=Urgency.IMPORTANT, source=f"R{i}", section="risks") for i in range(40)]
    details = "\n\n".join(f"Paragraph {i} " + "y" * 2500 for i in range(80))
    message = build_message("weekly-audit", "Big", "2026-W18", headlines, focus, None, details, [])
    assert block_problems(message.blocks) == [] and block_problems(message.thread_blocks) == []
    deliver(message, _sender(slack), history)
    assert len(slack.posts()) == 2 and not slack.calls("chat.postMessage", ok_only=False)[0].response.get("errors")
    assert TRUNCATED in json.dumps(slack.posts()[1])  # 80 paragraphs do not fit in 50 blocks


# -- delivery ---------------------------------------------------------------------------------------------------------


def test_message_thread_and_files_reach_slack(slack: SlackStandIn, history: HistoryStore, tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    report.write_text("<html>report</html>")
    chart = tmp_path / "chart.png"
    chart.write_bytes(b"\x89PNG fake")
    result = deliver(_message(files=[report, chart]), _sender(slack), history)
    main, thread = slack.posts()
    assert main["channel"] == "#ops" and main["blocks"][0]["type"] == "header"
    assert thread["thread_ts"] == result.message_ts and thread["channel"] == "C0OPS"
    assert sorted(slack.uploads.values()) == sorted([b"<html>report</html>", b"\x89PNG fake"])
    (complete,) = slack.calls("files.completeUploadExternal")
    assert complete.body["channel_id"] == "C0OPS" and complete.body["thread_ts"] == result.message_ts
    assert result.status == "sent"
    assert history.get_delivery("weekly-audit", "2026-W18", "#ops").status == "sent"  # type: ignore[union-attr]


def test_second_run_for_the_same_period_posts_nothing(slack: SlackStandIn, history: HistoryStore) -> None:
    first = deliver(_message(), _sender(slack), history)
    second = deliver(_message(), _sender(slack), history)
    assert (first.status, second.status) == ("sent", "already delivered")
    assert len(slack.calls("chat.postMessage")) == 2  # one message + one thread reply, once


def test_retry_after_a_partial_delivery_resumes_without_reposting(
    slack: SlackStandIn, history: HistoryStore, tmp_path: Path
) -> None:
    chart = tmp_path / "chart.png"
    chart.write_bytes(b"png")
    slack.fail_next("server_error", method="files.getUploadURLExternal")
    with pytest.raises(DeliveryError) as failed:
        deliver(_message(files=[chart]), _sender(slack, max_retries=0), history)
    assert failed.value.transient
    assert history.get_delivery("weekly-audit", "2026-W18", "#ops").status == "failed"  # type: ignore[union-attr]
    deliver(_message(files=[chart]), _sender(slack, max_retries=0), history)
    assert len(slack.posts()) == 2  # the main message and the thread reply were not posted again
    assert len(slack.calls("files.completeUploadExternal")) == 1


def test_429_honours_retry_after_then_posts(slack: SlackStandIn, history: HistoryStore) -> None:
    slack.fail_next("ratelimited", retry_after=1, method="chat.postMessage")
    started = time.monotonic()
    result = deliver(_message(), _sender(slack), history)
    assert time.monotonic() - started >= 1.0
    attempts = slack.calls("chat.postMessage", ok_only=False)
    assert [r.status for r in attempts] == [429, 200, 200] and result.status == "sent"


def test_5xx_and_timeouts_retry_with_backoff(slack: SlackStandIn, history: HistoryStore) -> None:
    slack.fail_next("server_error", times=2, method="chat.postMessage")
    slack.fail_next("slow", seconds=1.5, method="chat.postMessage")
    result = deliver(_message(), _sender(slack, timeout=1), history)
    assert result.status == "sent"
    assert len(slack.calls("chat.postMessage", ok_only=False)) >= 4 and len(slack.posts()) == 2


def test_5xx_beyond_the_retries_is_a_transient_one_line_error(slack: SlackStandIn, history: HistoryStore) -> None:
    slack.fail_next("server_error", times=3, method="chat.postMessage")
    with pytest.raises(DeliveryError) as failed:
        deliver(_message(), _sender(slack, max_retries=2), history)
    assert str(failed.value) == "Slack delivery failed: HTTP 500 from chat.postMessage after 2 retries"
    assert failed.value.transient


# -- exactly once when the outcome is uncertain -----------------------------------------------------------------------


def _top_level(slack: SlackStandIn) -> list[dict[str, Any]]:
    return slack.stored("C0OPS")


def test_every_post_carries_metadata_naming_the_delivery(slack: SlackStandIn, history: HistoryStore) -> None:
    deliver(_message(), _sender(slack), history)
    (main,) = _top_level(slack)
    payload = {"flow": "weekly-audit", "period": "2026-W18", "channel_key": "#ops"}
    assert main["metadata"] == {"event_type": "opsflow_report", "event_payload": payload | {"part": "main"}}
    (reply,) = slack.stored("C0OPS", top_level=False)[1:]
    assert reply["metadata"]["event_type"] == "opsflow_report_details" and reply["thread_ts"] == main["ts"]


@pytest.mark.parametrize("fault", ["late", "drop"])
def test_a_post_slack_took_but_did_not_confirm_is_not_posted_again(
    slack: SlackStandIn, history: HistoryStore, fault: str
) -> None:
    # late: the stand-in stores the message and answers after the 1 s client timeout; drop: it stores the message
    # and closes the connection. Before: the SDK retried chat.postMessage and the channel held two posts.
    slack.fail_next(fault, seconds=2.5, method="chat.postMessage")
    result = deliver(_message(), _sender(slack, timeout=1), history)
    assert result.status == "sent" and len(_top_level(slack)) == 1
    assert result.message_ts == _top_level(slack)[0]["ts"]
    (lookup,) = slack.calls("conversations.history")
    assert lookup.body["include_all_metadata"] in ("1", "true", "True")
    assert len(slack.stored("C0OPS", top_level=False)) == 2  # the message and, once, its thread reply


def test_an_uncertain_post_that_did_not_arrive_is_posted(slack: SlackStandIn, history: HistoryStore) -> None:
    slack.fail_next("slow", seconds=1.5, method="chat.postMessage")  # times out; Slack never took it
    result = deliver(_message(), _sender(slack, timeout=1), history)
    assert result.status == "sent" and len(_top_level(slack)) == 1
    assert len(slack.calls("conversations.history")) == 1  # looked, found nothing, posted


def test_an_uncertain_thread_reply_and_upload_are_not_repeated(
    slack: SlackStandIn, history: HistoryStore, tmp_path: Path
) -> None:
    chart = tmp_path / "chart.png"
    chart.write_bytes(b"png")
    slack.fail_next("late", seconds=2.5, method="chat.postMessage", skip=1)  # the second post: the thread reply
    slack.fail_next("drop", method="files.completeUploadExternal")
    result = deliver(_message(files=[chart]), _sender(slack, timeout=1), history)
    held = slack.stored("C0OPS", top_level=False)
    replies = [m for m in held if m.get("thread_ts") == result.message_ts]
    assert len(_top_level(slack)) == 1
    assert len([m for m in replies if "metadata" in m]) == 1, "one details reply"
    assert len([m for m in replies if "files" in m]) == 1, "one file share"
    assert len(slack.calls("conversations.replies")) == 2  # one check after each uncertain step


def test_a_lookup_that_fails_never_posts_blind(slack: SlackStandIn, history: HistoryStore) -> None:
    slack.fail_next("drop", method="chat.postMessage")
    slack.fail_next("invalid_auth", method="conversations.history")
    with pytest.raises(DeliveryError) as failed:
        deliver(_message(), _sender(slack, timeout=1), history)
    assert str(failed.value).startswith("Slack delivery failed: invalid_auth")
    assert len(_top_level(slack)) == 1
    # The next run checks first, finds the post and goes on with the thread reply.
    assert deliver(_message(), _sender(slack), history).status == "sent" and len(_top_level(slack)) == 1


def test_another_periods_post_is_not_mistaken_for_this_one(slack: SlackStandIn, history: HistoryStore) -> None:
    other = _message().model_copy(update={"period_key": "2026-W17"})
    deliver(other, _sender(slack), history)
    history.record_delivery(  # a run that died while posting W18, before Slack took it
        "weekly-audit", "2026-W18", "#ops", status="partial", detail=Progress(attempted=["main"]).model_dump_json()
    )
    deliver(_message(), _sender(slack), history)
    assert [m["metadata"]["event_payload"]["period"] for m in _top_level(slack)] == ["2026-W17", "2026-W18"]


CHILD = """
import sys
from pathlib import Path
from opsflow.findings import Headline
from opsflow.history import open_history
from tasks.delivery.slack import WebApiSender, build_message, deliver

api_url, token, workspace = sys.argv[1:4]
message = build_message(
    "weekly-audit", "Weekly operations audit", "2026-W18", [Headline(key="k", label="Incidents", value=12)], [],
    None, "# Details", [], channel="#ops",
)
deliver(message, WebApiSender(token, base_url=api_url, timeout=120, max_retries=0), open_history(Path(workspace)))
"""


@pytest.mark.slow
def test_a_run_killed_right_after_slack_took_the_message_posts_once_on_rerun(
    slack: SlackStandIn, tmp_path: Path
) -> None:
    slack.fail_next("late", seconds=120, method="chat.postMessage")  # stored, then no answer until the kill
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, slack.api_url, TOKEN, str(tmp_path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert slack.wait_for_stored(1, timeout=120), "the child never posted"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    store = open_history(tmp_path)
    record = store.get_delivery("weekly-audit", "2026-W18", "#ops")
    assert record is not None and record.status == "partial" and '"attempted":["main"]' in (record.detail or "")
    message = build_message(
        "weekly-audit",
        "Weekly operations audit",
        "2026-W18",
        [Headline(key="k", label="Incidents", value=12)],
        [],
        None,
        "# Details",
        [],
        channel="#ops",
    )
    result = deliver(message, _sender(slack), store)
    again = deliver(message, _sender(slack), store)
    store.close()
    assert (result.status, again.status) == ("sent", "already delivered")
    assert len(_top_level(slack)) == 1, "exactly one top-level post"
    assert result.message_ts == _top_level(slack)[0]["ts"]
    assert len(slack.stored("C0OPS", top_level=False)) == 2  # and its one thread reply


def test_an_uncertain_webhook_post_is_never_sent_again(slack: SlackStandIn, history: HistoryStore) -> None:
    slack.fail_next("late", seconds=2.5, method="webhook")
    sender = WebhookSender(slack.webhook_url, timeout=1)
    for _ in range(2):  # the run, then a re-run of the same period
        with pytest.raises(DeliveryError) as failed:
            deliver(_message(), sender, history)
        assert str(failed.value).startswith("Slack delivery uncertain: the incoming webhook") and not (
            failed.value.transient
        )
    assert len(slack.stored("webhook")) == 1, "the webhook took one post and was not called again"


def test_invalid_auth_fails_in_one_line_without_the_token(
    slack: SlackStandIn, history: HistoryStore, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "xoxb-wrong-SECRET-value-123"
    with pytest.raises(DeliveryError) as failed:
        deliver(_message(), _sender(slack, token=wrong), history)
    line = str(failed.value)
    assert line == (
        "Slack delivery failed: invalid_auth: the bot token was rejected (check SLACK_BOT_TOKEN or the Prefect "
        "Secret block)"
    )
    assert not failed.value.transient and len(slack.requests) == 1  # no retry of a rejected token
    out = capsys.readouterr()
    record = history.get_delivery("weekly-audit", "2026-W18", "#ops")
    assert record is not None and record.status == "failed" and line in (record.detail or "")
    for text in (caplog.text, out.out, out.err, record.detail or "", repr(_sender(slack, token=wrong))):
        assert wrong not in text and TOKEN not in text
    assert line in caplog.text


@pytest.mark.parametrize(
    ("channel", "fault", "expected"),
    [
        (
            "#nowhere",
            None,
            "Slack delivery failed: channel_not_found: #nowhere does not exist or the bot cannot see it",
        ),
        ("#ops", "not_in_channel", "Slack delivery failed: not_in_channel: the bot is not a member of #ops"),
    ],
)
def test_channel_errors_are_one_clear_line(
    slack: SlackStandIn, history: HistoryStore, channel: str, fault: str | None, expected: str
) -> None:
    if fault:
        slack.fail_next(fault)
    with pytest.raises(DeliveryError) as failed:
        deliver(_message(channel=channel), _sender(slack), history)
    assert str(failed.value).startswith(expected) and "\n" not in str(failed.value)
    assert not failed.value.transient


# -- webhook, file, configuration -------------------------------------------------------------------------------------


def test_webhook_posts_escaped_blocks_with_a_link(slack: SlackStandIn, history: HistoryStore) -> None:
    slack.fail_next("ratelimited", retry_after=1, method="webhook")
    result = deliver(_message(title="<!channel> down"), WebhookSender(slack.webhook_url, timeout=5), history)
    (posted,) = [r.body for r in slack.calls("webhook")]
    assert result.status == "sent" and not [t for t in texts(posted) if CONTROL.search(t.replace("<https://", ""))]
    assert "Details and charts are in the full report: <https://reports.example/w18.html|open it>" in json.dumps(posted)


def test_webhook_rejected_without_leaking_the_url(
    slack: SlackStandIn, history: HistoryStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    slack.fail_next("invalid_auth", method="webhook")
    sender = WebhookSender(slack.webhook_url, timeout=5)
    with pytest.raises(DeliveryError) as failed:
        deliver(_message(), sender, history)
    assert str(failed.value).startswith("Slack delivery failed: invalid_token: ")
    secret = slack.webhook_url.rsplit("/", 1)[1]
    assert secret not in str(failed.value) and secret not in caplog.text and secret not in repr(sender)


def test_no_slack_configured_saves_the_payload_and_says_so_once(
    tmp_path: Path, history: HistoryStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="opsflow.slack")
    sender = sender_from_settings(_settings(monkeypatch), tmp_path)
    assert isinstance(sender, FileSender)
    result = deliver(_message(title="<!channel>"), sender, history)
    payload = json.loads((tmp_path / "slack-payload.json").read_text())
    (saved,) = payload["messages"]
    assert saved["chat.postMessage"]["blocks"] == _message(title="<!channel>").blocks
    assert result.status == "saved" and result.payload_path == str(tmp_path / "slack-payload.json")
    lines = [r.getMessage() for r in caplog.records if "Slack is not configured" in r.getMessage()]
    assert lines == [f"Slack is not configured: payload saved to {tmp_path / 'slack-payload.json'}"]


def test_a_saved_payload_is_not_a_delivery(slack: SlackStandIn, tmp_path: Path, history: HistoryStore) -> None:
    deliver(_message(), FileSender(tmp_path), history)
    assert deliver(_message(), _sender(slack), history).status == "sent"  # Slack configured later: it posts


def test_sender_from_settings_picks_token_then_webhook(
    slack: SlackStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    both = _settings(
        monkeypatch, SLACK_BOT_TOKEN=TOKEN, SLACK_WEBHOOK_URL=slack.webhook_url, OPSFLOW_SLACK_API_URL=slack.api_url
    )
    web = sender_from_settings(both, tmp_path)
    assert isinstance(web, WebApiSender) and TOKEN not in repr(web)
    progress = web.send(_message(), Progress(), lambda p: None)  # OPSFLOW_SLACK_API_URL: it reaches the stand-in
    assert progress.ts is not None and len(slack.posts()) == 2
    hook = sender_from_settings(_settings(monkeypatch, SLACK_WEBHOOK_URL=slack.webhook_url), tmp_path)
    assert isinstance(hook, WebhookSender)


def test_channels_per_flow_and_severity() -> None:
    config = SlackConfig(
        default_channel="#ops",
        channels={"weekly-audit": "#ops-leadership"},
        severity_channels={"SEV1": "#incident-command", "SEV2": "#ops-leadership"},
    )
    assert channels_for(config, "weekly-audit", ["SEV1", "SEV2", "SEV3"]) == ["#ops-leadership", "#incident-command"]
    assert channels_for(config, "sla-check") == ["#ops"]


# -- Prefect: task retries, failed flow, publish ----------------------------------------------------------------------


def test_task_retries_transient_errors_and_posts_once(slack: SlackStandIn, history: HistoryStore) -> None:
    quick = deliver_task.with_options(retry_delay_seconds=0)

    @flow(name="deliver-once")
    def run() -> str:
        return quick(_message(), _sender(slack, max_retries=0), history).status

    slack.fail_next("server_error", times=2, method="chat.postMessage")
    assert run() == "sent"
    assert run() == "already delivered"  # a re-run of the same period
    assert len(slack.posts()) == 2


def test_flow_fails_saying_delivery_failed_after_the_report_is_written(
    slack: SlackStandIn, history: HistoryStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(monkeypatch, SLACK_BOT_TOKEN="xoxb-wrong", OPSFLOW_SLACK_API_URL=slack.api_url)
    report = tmp_path / "report.html"

    @flow(name="weekly-audit")
    def audit() -> None:
        report.write_text("<html>the report</html>")
        publish_to_slack(
            "weekly-audit", "Weekly audit", "2026-W18", [], [], report, "details", history, settings=settings
        )

    state = audit(return_state=True)
    assert state.is_failed() and "Slack delivery failed: invalid_auth" in (state.message or "")
    assert report.read_text() == "<html>the report</html>"
    assert len(slack.requests) == 1  # a rejected token is not retried by the task either


def test_publish_posts_to_flow_and_severity_channels(
    slack: SlackStandIn, history: HistoryStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(
        monkeypatch,
        SLACK_BOT_TOKEN=TOKEN,
        OPSFLOW_SLACK_API_URL=slack.api_url,
        OPSFLOW_REPORT_BASE_URL="https://reports.example/ops/",
    )
    config = SlackConfig(channels={"weekly-audit": "#ops-leadership"}, severity_channels={"SEV1": "#incident-command"})
    report = tmp_path / "weekly-audit-2026-W18.html"
    report.write_text("<html>r</html>")

    @flow(name="weekly-audit")
    def audit() -> list[str]:
        results = publish_to_slack(
            "weekly-audit",
            "Weekly audit",
            "2026-W18",
            [],
            [],
            report,
            "details",
            history,
            config=config,
            severities=["SEV1"],
            settings=settings,
        )
        return [r.channel for r in results]

    assert audit() == ["#ops-leadership", "#incident-command"]
    mains = [p for p in slack.posts() if "thread_ts" not in p]
    assert [p["channel"] for p in mains] == ["#ops-leadership", "#incident-command"]
    assert "<https://reports.example/ops/weekly-audit-2026-W18.html|Open the full report>" in json.dumps(mains[0])
    assert len(slack.uploads) == 2  # the HTML report, once per channel


def test_token_from_a_prefect_secret_block(
    slack: SlackStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from prefect.blocks.system import Secret

    Secret(value=TOKEN).save("opsflow-test-slack-bot-token", overwrite=True)
    settings = _settings(monkeypatch, OPSFLOW_SLACK_API_URL=slack.api_url)  # no SLACK_BOT_TOKEN in the environment
    sender = sender_from_settings(settings, tmp_path, token_block="opsflow-test-slack-bot-token")
    assert isinstance(sender, WebApiSender)
    sender.send(_message(), Progress(), lambda p: None)
    assert len(slack.posts()) == 2
    missing = sender_from_settings(settings, tmp_path, token_block="no-such-block")
    assert isinstance(missing, FileSender) and "Prefect Secret block 'no-such-block' could not be loaded" in caplog.text
