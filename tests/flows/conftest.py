"""The flow tests' workspace: a copy of the session's sample workspace, with no Slack or Claude configured."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsflow.settings import get_settings

SECRET_ENV = ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "OPSFLOW_SLACK_API_URL", "ANTHROPIC_API_KEY")


@pytest.fixture
def workspace(sample_workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A test's own copy of the sample workspace (tmp_path/ws); a test turns Slack or Claude on with monkeypatch."""
    for name in SECRET_ENV:
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    ws = tmp_path / "ws"
    shutil.copytree(sample_workspace, ws)
    yield ws
    get_settings.cache_clear()
