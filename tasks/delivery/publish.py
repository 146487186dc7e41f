"""A written report's post to the flow's Slack channels: the summary, headline figures, focus and charts."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from opsflow.config import SlackConfig
from opsflow.findings import Action, Headline
from opsflow.history import HistoryStore
from tasks.delivery.slack import publish_to_slack
from tasks.reporting.report import FlowReport, summary_markdown


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
    a task itself: publish_to_slack runs each channel's delivery as a task. A dataset that stops before the period
    ends is said first in the closing line, which the main message shows in bold."""
    warnings = [f"Data warning: {w}." for w in report.data_warnings]
    closing = " ".join([*warnings, closing] if closing else warnings) or None
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
    )
    return [f"{r.channel}: {r.status}" for r in results]
