"""A short Slack alert when a flow run fails: the flow, the error's first line and a link to the run."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prefect.flows import FlowStateHook

from opsflow.config import ConfigError, SlackConfig, load_config
from opsflow.settings import Settings, get_settings
from tasks.delivery.publish import sender_for
from tasks.delivery.slack import DeliveryError, Progress, SlackMessage, enforce_limits, escape_mrkdwn

log = logging.getLogger("opsflow.alerts")

MAX_ERROR_CHARS = 300


def error_line(state: Any) -> str:
    """The first line of what failed the run: the exception's type and message, else the state's message."""
    exc: Any = None
    try:
        exc = state.result(raise_on_failure=False)
    except Exception:  # the result may be unavailable (not persisted, another process)
        exc = None
    if isinstance(exc, BaseException):
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    else:
        text = getattr(state, "message", None) or "the run failed (no error message)"
    first = next((line.strip() for line in str(text).splitlines() if line.strip()), "the run failed")
    return first[:MAX_ERROR_CHARS]


def redact(text: str, settings: Settings) -> str:
    """Known secrets and URL passwords out of an error line (an exception can quote a connection URL)."""
    for secret in (settings.slack_bot_token, settings.slack_webhook_url, settings.anthropic_api_key):
        value = secret.get_secret_value() if secret is not None else ""
        if value:
            text = text.replace(value, "***")
    return re.sub(r"(\w+://[^:/@\s]+):[^@\s]+@", r"\1:***@", text)


def run_link(flow_run: Any) -> str | None:
    """The run's page in the Prefect UI, when a UI URL is known (PREFECT_UI_URL or derived from PREFECT_API_URL)."""
    try:
        from prefect.utilities.urls import url_for

        return url_for("flow-run", obj_id=flow_run.id)
    except Exception:
        return None


def build_alert(flow_name: str, flow_run: Any, line: str, link: str | None, channel: str) -> SlackMessage:
    """The alert: which flow and run failed, the error's first line, and where to look. Everything escaped."""
    run_name = getattr(flow_run, "name", None) or str(getattr(flow_run, "id", ""))
    scheduled = (
        " scheduled" if getattr(flow_run, "deployment_id", None) or getattr(flow_run, "auto_scheduled", False) else ""
    )
    where = f"<{escape_mrkdwn(link)}|Open the run in Prefect>" if link else f"Run id {escape_mrkdwn(str(flow_run.id))}"
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f":rotating_light: *A{scheduled} run of {escape_mrkdwn(flow_name)} failed* "
                f"({escape_mrkdwn(run_name)})\n> {escape_mrkdwn(line)}",
            },
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": where}]},
    ]
    return SlackMessage(
        flow=flow_name,
        period_key=f"run-{getattr(flow_run, 'id', '')}",
        channel=channel,
        text=escape_mrkdwn(f"{flow_name} failed: {line}"),
        blocks=enforce_limits(blocks),
    )


def run_workspace(flow_run: Any, settings: Settings) -> Path:
    """The workspace the failed run worked on: its `params.workspace` (or a top-level `workspace` parameter), else
    the configured default. Never the folder this process happens to be in."""
    parameters = getattr(flow_run, "parameters", None) or {}
    candidates = [parameters.get("workspace"), parameters.get("params")] if isinstance(parameters, Mapping) else []
    for value in candidates:
        if isinstance(value, Mapping):
            value = value.get("workspace")
        elif value is not None and not isinstance(value, str | Path):
            value = getattr(value, "workspace", None)  # the flow's own params model, in the same process
        if isinstance(value, str | Path) and str(value):
            return Path(value)
    return settings.workspace


def _slack_config(workspace: Path) -> SlackConfig:
    try:
        return load_config(workspace).slack
    except ConfigError:  # the failure may be the config itself: alert on the defaults rather than not at all
        return SlackConfig()


def make_alert_hook(settings: Settings | None = None, config: SlackConfig | None = None) -> FlowStateHook[..., Any]:
    """A Prefect `on_failure` hook posting to `slack.alerts_channel` (else the default channel) of the failed run's
    own workspace (its `params.workspace`), through the same sender choice as reports; the alert file goes to that
    workspace's `alerts/`. It never raises: a broken alert must not hide the failure it reports."""

    def alert_on_failure(flow: Any, flow_run: Any, state: Any) -> None:
        name = getattr(flow, "name", "flow")
        try:
            current = settings or get_settings()
            workspace = run_workspace(flow_run, current)
            slack = config or _slack_config(workspace)
            channel = slack.alerts_channel or slack.default_channel
            line = redact(error_line(state), current)
            message = build_alert(name, flow_run, line, run_link(flow_run), channel)
            sender = sender_for(
                slack,
                workspace / "alerts",
                current,
                payload_filename=f"alert-{getattr(flow_run, 'id', 'run')}.json",
                timeout=10,
                max_retries=2,
            )
            sender.send(message, Progress(), lambda _: None)
            log.info("Failure alert for %s posted to %s", name, channel)
        except DeliveryError as exc:
            log.error("Failure alert for %s not posted: %s", name, exc.line)
        except Exception as exc:  # never out of the hook
            log.error("Failure alert for %s not posted: %s", name, type(exc).__name__)

    return alert_on_failure


alert_on_failure = make_alert_hook()
"""Use as `@flow(on_failure=[alert_on_failure])`."""
