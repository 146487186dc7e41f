"""Process-wide settings read from the environment and `.env`; secrets stay SecretStr and are never printed."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Environment knobs. Per-workspace choices (sources, channels) live in opsflow.yaml instead."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    workspace: Path = Field(Path("workspace"), validation_alias="OPSFLOW_WORKSPACE")
    history_url: str | None = Field(None, validation_alias="OPSFLOW_HISTORY_URL")
    slack_bot_token: SecretStr | None = Field(None, validation_alias="SLACK_BOT_TOKEN")
    slack_webhook_url: SecretStr | None = Field(None, validation_alias="SLACK_WEBHOOK_URL")
    slack_api_url: str | None = Field(None, validation_alias="OPSFLOW_SLACK_API_URL")
    slack_token_block: str | None = Field(
        None, validation_alias="OPSFLOW_SLACK_TOKEN_BLOCK", description="Prefect Secret block holding the bot token."
    )
    slack_webhook_block: str | None = Field(
        None, validation_alias="OPSFLOW_SLACK_WEBHOOK_BLOCK", description="Prefect Secret block with the webhook URL."
    )
    anthropic_api_key: SecretStr | None = Field(None, validation_alias="ANTHROPIC_API_KEY")
    anthropic_base_url: str | None = Field(None, validation_alias="ANTHROPIC_BASE_URL")
    claude_model: str = Field("claude-haiku-5-5", validation_alias=AliasChoices("OPSFLOW_CLAUDE_MODEL"))
    claude_timeout_seconds: float = Field(30.0, validation_alias="OPSFLOW_CLAUDE_TIMEOUT")
    post_sample: bool = Field(
        False,
        validation_alias="OPSFLOW_POST_SAMPLE",
        description="Post to Slack from a workspace marked `sample: true` (made-up data); off unless opted in.",
    )
    report_base_url: str | None = Field(
        None, validation_alias="OPSFLOW_REPORT_BASE_URL", description="Where reports are published, for links."
    )
    local_server_url: str = Field(
        "http://127.0.0.1:4200/api",
        validation_alias="OPSFLOW_LOCAL_SERVER",
        description="A Prefect server a run uses when PREFECT_API_URL is not set and this one answers (the one "
        "`make server` starts), instead of starting a temporary one; empty: never.",
    )


@cache
def get_settings() -> Settings:
    """The settings of this process (read once)."""
    return Settings()
