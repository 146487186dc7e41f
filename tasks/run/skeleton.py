"""The steps every flow run shares: the workspace's data and the run's tag, one publish step, one delivery step."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from prefect.states import Failed, State

from opsflow.config import WorkspaceConfig
from opsflow.datasets import OpsData
from opsflow.findings import Action, Headline, Section
from opsflow.handoff import as_is
from opsflow.history import HistoryStore
from opsflow.period import Period
from opsflow.settings import get_settings
from opsflow.timing import StageTimer
from tasks.coo.audit import history_for
from tasks.coo.leadership import LEADERSHIP_FLOW
from tasks.coo.summary import summary_figures
from tasks.data.clock import on_the_clock
from tasks.data.prepare import WorkspaceData, load_workspace_data, not_usable
from tasks.delivery.publish import post_report, post_update
from tasks.delivery.run_tags import period_tag, tag_flow_run_task
from tasks.reporting.narrative import Narrative, Narrator, UsageLog, Use, narrate_task, narrator_from_settings
from tasks.reporting.report import (
    FlowReport,
    new_report,
    publish_report_artifacts_task,
    report_dir,
    save_report_task,
    write_report_task,
)

P = TypeVar("P", bound=Period)


@dataclass
class Run:
    """One flow run: its workspace's data, its stage timings, its Claude usage and (opened when first used) its
    history store.

    The "compute" stage is everything between the data being ready and `publish`, less any stage a flow names with
    `stage`: flows list their task calls without timing each block.
    """

    flow: str
    prepared: WorkspaceData
    timer: StageTimer = field(default_factory=StageTimer)
    usage: UsageLog = field(default_factory=UsageLog)
    _compute_since: float | None = field(default_factory=time.perf_counter)
    _history: HistoryStore | None = None
    _narrator: Narrator | None = None

    @property
    def workspace(self) -> Path:
        return self.prepared.workspace

    @property
    def config(self) -> WorkspaceConfig:
        return self.prepared.config

    @property
    def data(self) -> OpsData:
        return self.prepared.data

    @property
    def history(self) -> HistoryStore:
        """The history store named by opsflow.yaml (else OPSFLOW_HISTORY_URL, else SQLite in the workspace)."""
        if self._history is None:
            self._history = history_for(self.workspace, self.config)
        return self._history

    @property
    def narrator(self) -> Narrator:
        """Claude when configured, else the templates."""
        if self._narrator is None:
            self._narrator = narrator_from_settings(get_settings())
        return self._narrator

    def narrate(
        self, kind: Use, sections: list[Section], facts: list[str], template: Callable[..., str], *args: Any
    ) -> Narrative:
        """The run's summary of `sections`: Claude's from their figures and `facts` when configured and grounded,
        else `template(*args)`."""
        return narrate_task(kind, summary_figures(sections), facts, lambda: template(*args), self.narrator, self.usage)

    def clock(self, as_of: date | None, make: Callable[[date, str], P]) -> P | State:
        """The flow's period by the data's clock (the default: the last one the data covers), the run's data cut at
        its end; or the Failed state, with its one line, when the data cannot report on that period."""
        clocked = on_the_clock(self.prepared, self.flow, as_of, make)
        if isinstance(clocked, State):
            self.close()
            return clocked
        self.prepared, period = clocked
        return period

    def tag(self, key: str) -> None:
        """Tag the flow run with its period, so the Prefect UI can filter a flow's runs by the period they cover."""
        tag_flow_run_task(period_tag(key))

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time a block as its own stage (a drill, a simulation) rather than as part of "compute"; after `publish`
        (a flow's own delivery) it is simply that stage."""
        computing = self._compute_since is not None
        self._end_compute()
        try:
            with self.timer(name):
                yield
        finally:
            if computing:
                self._compute_since = time.perf_counter()

    def _end_compute(self) -> None:
        if self._compute_since is not None:
            self.timer.add("compute", time.perf_counter() - self._compute_since)
            self._compute_since = None

    def fail(self, message: str, error: Exception) -> State:
        """The Failed state for a run the user's input stopped: one line, no traceback."""
        self.close()
        return Failed(message=message, data=error)

    def not_usable(self) -> State:
        """The Failed state for a workspace whose data cannot be trusted."""
        self.close()
        return not_usable(self.flow, self.prepared)

    def close(self) -> None:
        if self._history is not None:
            self._history.close()
            self._history = None


def open_run(flow: str, workspace: Path) -> Run:
    """Make the workspace from the sample if it is new, load and validate its datasets (stages "load", "validate")."""
    timer = StageTimer()
    return Run(flow, load_workspace_data(workspace, timer), timer)


def prepare_run(flow: str, workspace: Path) -> Run | State:
    """`open_run`, or the Failed state the flow returns when too much of the data failed to load or validate."""
    run = open_run(flow, workspace)
    return run.not_usable() if run.prepared.reasons else run


@dataclass
class Published:
    """A written report and its files (html, markdown, json, chart:<name>)."""

    report: FlowReport
    paths: dict[str, Path]
    timings: dict[str, float]

    @property
    def summary_source(self) -> str:
        """Who wrote the summary: 'claude' or 'template' (a report without a summary: 'none')."""
        return self.report.summary.source if self.report.summary is not None else "none"

    def outputs(self) -> dict[str, Any]:
        """The fields every flow's result has: where the report is and the seconds per stage."""
        return {"report_html": self.paths["html"], "report_markdown": self.paths["markdown"], "timings": self.timings}


def publish(
    run: Run,
    title: str,
    key: str,
    as_of: date,
    sections: list[Section],
    charts: dict[str, bytes] | Callable[[], dict[str, bytes]] | None = None,
    summary: Narrative | Callable[[], Narrative] | None = None,
    tables: list[tuple[str, str]] | None = None,
    save: bool = True,
    save_extra: dict[str, Any] | None = None,
    **content: Any,
) -> Published:
    """The "render" stage: the report built and written to <workspace>/reports/<flow>/<key>/, saved to history for
    its flow and period (unless `save` is off: a flow that keeps its own record), and published as Prefect artifacts
    (`tables`: (section, field) pairs). `charts` and `summary` given as functions are drawn and written here, in
    the "render" stage. `content` is the rest of FlowReport (subtitle, focus, section_charts, ...)."""
    run._end_compute()
    with run.timer("render"):
        written = summary() if callable(summary) else summary
        pngs = charts() if callable(charts) else charts
        report = new_report(
            run.flow, title, key, run.prepared, run.timer, run.usage, sections=sections, summary=written, **content
        )
        # The report and its sections are finished values: handed over as they are, not walked by Prefect.
        paths = write_report_task(as_is(report), report_dir(run.workspace, run.flow, key), pngs or {})
        if save:
            save_report_task(run.history, as_is(report), as_of, save_extra)
        publish_report_artifacts_task(as_is(report), paths, tables)
    return Published(report, paths, run.timer.seconds)


def deliver(
    run: Run,
    published: Published,
    post: bool,
    headlines: list[Headline],
    actions: list[Action],
    closing: str | None = None,
    severities: Iterable[str] = (),
) -> list[str]:
    """The "deliver" stage when `post` is on: the report to the flow's Slack channels, one line per channel. Ends the
    run (its history store closed)."""
    delivered: list[str] = []
    if post:
        with run.timer("deliver"):
            delivered = post_report(
                published.report,
                published.paths,
                run.history,
                run.config.slack,
                headlines,
                actions,
                closing,
                severities=severities,
            )
            delivered += post_update(published.report, published.paths, run.history, run.config.slack, LEADERSHIP_FLOW)
    run.close()
    return delivered
