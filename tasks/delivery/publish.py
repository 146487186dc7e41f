"""A written report's post to the flow's Slack channels: the summary, headline figures, focus and charts."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from opsflow.config import SlackConfig
from opsflow.findings import Action, Headline
from opsflow.history import HistoryStore
from opsflow.settings import Settings, get_settings
from tasks.delivery.slack import (
    PAYLOAD_FILE,
    FileSender,
    SlackSender,
    build_update_message,
    deliver_task,
    publish_to_slack,
    sender_from_settings,
)
from tasks.reporting.report import FlowReport, summary_markdown

log = logging.getLogger(__name__)


def sender_for(
    config: SlackConfig,
    report_dir: Path,
    settings: Settings | None = None,
    *,
    payload_filename: str = PAYLOAD_FILE,
    timeout: int = 30,
    max_retries: int = 3,
) -> SlackSender:
    """The configured Slack sender, except for a sample workspace (`sample: true`) when the run did not opt in with
    --post-sample / OPSFLOW_POST_SAMPLE: then the payload is saved next to the report and one line says why."""
    settings = settings or get_settings()
    sender = sender_from_settings(
        settings, report_dir, payload_filename=payload_filename, timeout=timeout, max_retries=max_retries
    )
    if not config.from_sample or settings.post_sample or isinstance(sender, FileSender):
        return sender
    saved = FileSender(report_dir, payload_filename)
    _log(
        f"Not posted to Slack: this workspace is a sample (`sample: true` in opsflow.yaml, made-up data); the payload "
        f"is saved to {saved.path}. Run with --post-sample (or OPSFLOW_POST_SAMPLE=true) to post it."
    )
    return saved


def _log(line: str) -> None:
    """To the Prefect run log inside a run, else to the module logger."""
    try:
        from prefect.logging import get_run_logger

        get_run_logger().warning(line)
    except Exception:  # MissingContextError outside a run
        log.warning(line)


def data_closing(report: FlowReport, closing: str | None = None) -> str | None:
    """A post's closing line: the data warnings (a dataset that stops before the period ends) first, then `closing`."""
    warnings = [f"Data warning: {w}." for w in report.data_warnings]
    return " ".join([*warnings, closing] if closing else warnings) or None


def post_report(
    report: FlowReport,
    paths: dict[str, Path],
    history: HistoryStore,
    config: SlackConfig,
    headlines: list[Headline],
    actions: list[Action],
    closing: str | None = None,
    severities: Iterable[str] = (),
) -> list[str]:
    """Post a written report to the flow's Slack channels with its charts, once per flow, period and channel; one line
    per channel ("#ops: posted"). `severities` (of open incidents) add opsflow.yaml's channel for each severity. Not
    a task itself: publish_to_slack runs each channel's delivery as a task. What the data covers is said under the
    title; a dataset that stops before the period ends is said first in the closing line, shown in bold."""
    closing = data_closing(report, closing)
    results = publish_to_slack(
        report.flow,
        report.title,
        report.period_key,
        headlines,
        actions,
        paths["html"],
        summary_markdown(report),
        history,
        config=config,
        files=[p for k, p in paths.items() if k.startswith("chart:")],
        closing=closing,
        severities=severities,
        sender=sender_for(config, paths["html"].parent),
        covers=report.data_covers or None,
    )
    return [f"{r.channel}: {r.status}" for r in results]


LEADERSHIP_PAYLOAD = "slack-leadership-payload.json"


def post_update(
    report: FlowReport, paths: dict[str, Path], history: HistoryStore, config: SlackConfig, name: str
) -> list[str]:
    """Post the report's leadership update to opsflow.yaml's `leadership_channel`, once per week (`name` keys the
    delivery, so a re-run or a retry never posts it twice); one line ("#ops-leadership: posted")."""
    if not report.leadership_update:
        return []
    title = f"Weekly operations update: week ending {report.period_key}"
    message = build_update_message(
        name, title, report.period_key, report.leadership_update, config.leadership_channel, report.data_covers or None
    )
    sender = sender_for(config, paths["html"].parent, payload_filename=LEADERSHIP_PAYLOAD)
    result = deliver_task(message, sender, history)
    return [f"{result.channel}: {result.status} (leadership update)"]
