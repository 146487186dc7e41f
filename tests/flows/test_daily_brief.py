"""The daily brief on the sample company: ten lines at most, the day's stories with owners, Slack once per day."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from flows.daily_brief import DailyBriefParams, DailyBriefResult, daily_brief
from opsflow.history import open_history
from opsflow.settings import get_settings
from tests.conftest import SAMPLE_END
from tests.standins.slack_api import TOKEN, SlackStandIn, block_problems


def _run(ws: Path, **kwargs: Any) -> DailyBriefResult:
    result = daily_brief(DailyBriefParams(workspace=ws, as_of=SAMPLE_END, **kwargs))
    assert isinstance(result, DailyBriefResult), result
    return result


def _blocks(post: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = post["blocks"]
    return json.loads(blocks) if isinstance(blocks, str) else blocks


@pytest.mark.slow
def test_brief_names_the_days_stories_with_owners_and_posts_once(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    channels = {"#ops-daily": "C0DAY", "#inc-major": "C0MAJ", "#inc-critical": "C0CRIT"}
    with SlackStandIn(channels=channels, member_of=set(channels.values())) as slack:
        monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("OPSFLOW_SLACK_API_URL", slack.api_url)
        get_settings.cache_clear()
        result = _run(workspace)
        again = _run(workspace)

    # Ten lines at most, each with an owner from the data and a source record.
    assert 1 <= len(result.lines) <= 10
    text = "\n".join(result.lines)
    # STORIES: the open SEV2 on wms (opened 16:45 the day before), the SEV1 on checkout whose postmortem is overdue,
    # and Swiftline (V-1001, a critical vendor with the only notice deadline within 14 days).
    assert "SEV2" in text and "on wms" in text
    assert "postmortem for SEV1" in text and "on checkout" in text
    assert "Swiftline" in text and "vendor V-1001" in text
    assert "(unassigned)" not in text, "every line of the sample has an owner"
    assert (
        result.closing.startswith(f"{result.closing.split(' ')[0]} urgent") and "Start with incident" in result.closing
    )
    # Cut-off 07:30 Europe/Berlin (summer time from 29 March 2026, UTC+2) = 05:30 UTC.
    assert result.cutoff.isoformat() == f"{SAMPLE_END.isoformat()}T05:30:00+00:00"

    # The brief's channel and, for the open SEV2, SEV2's channel: a main message and a thread reply in each.
    main, thread, major_main, major_thread = slack.posts()
    assert major_main["channel"] == "C0MAJ" or major_main["channel"] == "#inc-major"
    blocks = _blocks(main)
    assert block_problems(blocks) == []
    body = json.dumps(blocks)
    assert "Swiftline" in body and "INC" in body
    # Where to start opens the focus block of the post.
    assert any(b.get("text", {}).get("text", "").startswith(f"*{result.closing}*\n") for b in blocks), "closing line"
    assert "If you have time" not in body, "the if-you-have-time items stay in the report"
    assert result.delivered == ["#ops-daily: sent", "#inc-major: sent"]
    assert again.delivered == ["#ops-daily: already delivered", "#inc-major: already delivered"]

    markdown = result.report_markdown.read_text(encoding="utf-8")
    assert "## Focus for today" in markdown and "## If you have time" in markdown and "07:30" in markdown
    store = open_history(workspace)
    [run] = store.list_runs("daily-brief")
    store.close()
    assert run.as_of == SAMPLE_END and run.headlines["brief.lines"] == len(result.lines)


def test_limit_caps_the_lines_and_no_slack_saves_the_payload(workspace: Path) -> None:
    result = _run(workspace, limit=3)
    # Round-robin: the first line of each of the first three kinds of today's work: the open incident, the overdue
    # postmortem and an SLA budget.
    assert len(result.lines) == 3
    assert "SEV2" in result.lines[0]
    assert any("postmortem" in line for line in result.lines)
    payload = json.loads((result.report_html.parent / "slack-payload.json").read_text(encoding="utf-8"))
    # The brief's channel, and SEV2's channel for the open SEV2: the exact payload of each, saved.
    message, major = payload["messages"]
    assert (message["channel"], major["channel"]) == ("#ops-daily", "#inc-major")
    assert result.closing in json.dumps(message["chat.postMessage"]["blocks"], ensure_ascii=False)


def test_a_day_after_the_data_is_refused_and_the_default_day_is_the_last_the_data_covers(workspace: Path) -> None:
    # Five days after the sample ends, an incident still open in the data would be "open" 120 hours longer than
    # anyone knows: the day is refused in one line instead.
    later = SAMPLE_END + timedelta(days=5)
    state = daily_brief(DailyBriefParams(workspace=workspace, as_of=later, post_to_slack=False), return_state=True)
    assert state.is_failed()
    assert f"{later.isoformat()} is past the data" in str(state.message)
    result = daily_brief(DailyBriefParams(workspace=workspace, post_to_slack=False))
    assert isinstance(result, DailyBriefResult) and result.as_of == SAMPLE_END
    # The brief is as known at 07:30 on the data's last day: before the data's end (the next local midnight).
    assert result.cutoff < datetime.combine(SAMPLE_END + timedelta(days=1), time(), ZoneInfo("Europe/Berlin"))
    report = json.loads(result.report_markdown.with_name("report.json").read_text(encoding="utf-8"))
    assert report["data_covers"].startswith("Data covers incidents: ")
