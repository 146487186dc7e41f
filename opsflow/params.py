"""The fields every flow's run form shares (workspace, an optional date, post_to_slack), written once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

WORKSPACE_HELP = "Workspace folder: holds opsflow.yaml and the exports."
SLACK_HELP = "Post {what} to Slack when a token or webhook is configured (the report is saved anyway)."


def workspace_field(description: str = WORKSPACE_HELP) -> Any:
    """The workspace folder, `workspace` by default (made from the sample on the first run)."""
    return Field(Path("workspace"), description=description)


def date_field(description: str) -> Any:
    """An optional day (`as_of`, `period_end`...): empty means the flow's default, which `description` states."""
    return Field(None, description=description)


def post_to_slack_field(what: str = "the summary", description: str | None = None) -> Any:
    """Whether to post `what` to Slack, on by default; `description` replaces the standard sentence."""
    return Field(True, description=description or SLACK_HELP.format(what=what))


class WorkspaceParams(BaseModel):
    """A flow's run form that starts with the workspace. Subclasses add their fields after it and end with
    `post_to_slack: bool = post_to_slack_field()`: pydantic keeps a base class's fields first and in place even when
    a subclass redeclares them, so post_to_slack stays a per-form line to keep it last in the Prefect UI form."""

    workspace: Path = workspace_field()
