"""A flow's period set by the data's own clock, and the workspace's data cut to that period's end (point in time).

The rule per flow (README, "What the data covers"), kept in CLOCK_RULES (opsflow/coverage.py):
- week flows (weekly-audit, risk-assessment, risk-aware-planning, operational-transformation,
  improvement-initiative): `--as-of` must be the last day of a week (a Sunday by default). The default week is the
  last complete one the data covers (the newest of the flow's event datasets reaches its end). A week past all of
  them is refused in one line naming the dataset and its last record.
- day flows (daily-brief, vendor-sla-review, performance-review, problem-solution-metrics): the default day is
  today (yesterday for problem-solution-metrics, whose baseline needs a complete day), or the last day the data
  covers when the data stops earlier. A day past the data is refused in one line naming the dataset and its last
  record.
- live flows (contingency-drill): the drill happens now, so its day is today (or `--as-of`) whatever the data
  covers; evidence from the data is what was known by that day's end, and a dataset that stops early is named in
  a warning.
In every flow a dataset that stops more than QUIET_DAYS before the period's end is named in a warning in the
report and in Slack, and the sections built on it are marked partial. Every flow then computes on the data as
known at its period's end: an audit-log export is replayed only up to then, later rows are dropped, and values
recorded later (a resolution, a delivery) are emptied.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

import pandas as pd
from prefect.states import Failed, State

from opsflow.contract import load_contracts
from opsflow.coverage import (
    EVENT_COLUMNS,
    Coverage,
    DatasetCoverage,
    clock_datasets,
    clock_rule,
    cut_frame,
    dataset_coverage,
)
from opsflow.datasets import OpsData, ValidatedDataset
from opsflow.period import SUNDAY, Period, PeriodError, check_week_end, last_complete_week_end
from opsflow.tasking import compute_task
from tasks.data.ingest import load_dataset, map_to_contract, source_label
from tasks.data.prepare import WorkspaceData
from tasks.data.validate import validate_dataset

P = TypeVar("P", bound=Period)


def workspace_coverage(prepared: WorkspaceData) -> Coverage:
    """What every event dataset of the workspace covers (opsflow.yaml's `observed_until` wins over the data)."""
    tz = prepared.config.timezone
    found: dict[str, DatasetCoverage] = {}
    for name, ds in prepared.data.datasets.items():
        if name not in EVENT_COLUMNS:
            continue
        spec = prepared.config.sources.get(name)
        found[name] = dataset_coverage(name, ds.frame, tz, spec.observed_until if spec is not None else None)
    return Coverage(found, tz)


def _today(tz: str, today: date | None) -> date:
    return today or datetime.now(UTC).astimezone(ZoneInfo(tz)).date()


def _past_data(
    flow: str, period: Period, coverage: Coverage, names: Sequence[str], weekly: bool, week_ends_on: int = SUNDAY
) -> str:
    """One line: the period runs past the data, the dataset that reaches furthest and its last record, and the last
    period that can be asked for."""
    dated = [c for c in coverage.of(names) if c.last is not None]
    newest = max(dated, key=lambda c: (c.until, c.last))
    assert newest.last is not None
    covered = coverage.last_covered_day(names)
    assert covered is not None
    latest = last_complete_week_end(covered + timedelta(days=1), week_ends_on) if weekly else covered
    return (
        f"{flow}: {period.as_of.isoformat()} is past the data: the newest dataset, {newest.name}, ends with a record "
        f"at {newest.shown(newest.last, coverage.tz)} (use --as-of {latest.isoformat()} or earlier, or load a newer "
        "export)"
    )


def period_for(
    flow: str,
    as_of: date | None,
    coverage: Coverage,
    make: Callable[[date, str], P],
    today: date | None = None,
    week_ends_on: int = SUNDAY,
) -> P:
    """The flow's period: `as_of` (checked against the week and the data), or the last complete one the data covers.
    PeriodError (one line) when it cannot be reported on."""
    tz, rule = coverage.tz, clock_rule(flow)
    names, weekly = rule.datasets, rule.kind == "week"
    data_end = coverage.data_end(names)
    now = _today(tz, today)
    if rule.kind == "live":
        return make(as_of or now, tz)
    if as_of is not None:
        period = make(check_week_end(as_of, week_ends_on) if weekly else as_of, tz)
        if data_end is not None and period.end > data_end:
            raise PeriodError(_past_data(flow, period, coverage, names, weekly, week_ends_on))
        return period
    last_day = coverage.last_covered_day(names)
    if weekly:
        # last_complete_week_end gives the last week end strictly before its argument.
        limit = now if last_day is None else min(now, last_day + timedelta(days=1))
        return make(last_complete_week_end(limit, week_ends_on), tz)
    latest = now - timedelta(days=rule.lag_days)
    return make(latest if last_day is None else min(latest, last_day), tz)


def _references(name: str, datasets: dict[str, ValidatedDataset]) -> dict[str, pd.Series]:
    contract = load_contracts()[name]
    refs: dict[str, pd.Series] = {}
    for spec in contract.columns.values():
        ref = spec.reference
        if ref is not None and ref[0] != name and ref[0] in datasets:
            refs[f"{ref[0]}.{ref[1]}"] = datasets[ref[0]].frame[ref[1]]
    return refs


def at_period_end(prepared: WorkspaceData, period: Period, flow: str = "") -> WorkspaceData:
    """The workspace's data as known at the period's end, with what the data covers and its warnings attached.

    An audit-log export (`collapse`) is replayed up to the end from the table read at load (then validated as a
    fresh export would be); every event dataset then loses the rows and values recorded at or after it."""
    cutoff, tz = period.end, prepared.config.timezone
    coverage = workspace_coverage(prepared)
    datasets = dict(prepared.data.datasets)
    contracts = load_contracts()
    for name, ds in list(datasets.items()):
        spec = prepared.config.sources.get(name)
        if spec is not None and spec.collapse is not None:
            loaded = (
                load_dataset(name, spec, prepared.workspace, cutoff)
                if ds.source_rows is None
                else map_to_contract(ds.source_rows, spec, contracts[name], source_label(spec), cutoff)
            )
            replayed = validate_dataset(
                loaded, contracts[name], _references(name, datasets), prepared.config.quality.threshold(name)
            )
            replayed.quality.quarantine_path = ds.quality.quarantine_path
            datasets[name] = replayed
    for name, ds in datasets.items():
        if name in EVENT_COLUMNS:
            datasets[name] = replace(ds, frame=cut_frame(name, ds.frame, cutoff, tz))
    names = clock_datasets(flow)
    behind = coverage.behind(names, cutoff)
    warnings = [
        f"{c.name} stops at {c.shown(c.last if c.last is not None else c.until, tz)}, "
        f"{(cutoff - c.until).days} days before this period ends: its figures are partial "
        f"(anything after that is missing, not zero)"
        for c in behind
        if c.until is not None
    ]
    return replace(
        prepared,
        data=OpsData(datasets=datasets, end_activities=prepared.data.end_activities),
        coverage_line=coverage.summary(names),
        clock_warnings=warnings,
        partial_datasets=[c.name for c in behind],
    )


def on_the_clock(
    prepared: WorkspaceData,
    flow: str,
    as_of: date | None,
    make: Callable[[date, str], P],
    today: date | None = None,
) -> tuple[WorkspaceData, P] | State:
    """The flow's period by the data's clock and the data cut at its end, or a Failed state with the one line that
    says why the period cannot be reported on."""
    try:
        coverage = workspace_coverage(prepared)
        period = period_for(flow, as_of, coverage, make, today, prepared.config.week_end_weekday)
    except PeriodError as exc:
        return Failed(message=str(exc), data=exc)
    return at_period_end_task(prepared, period, flow), period


at_period_end_task = compute_task(at_period_end, name="cut_at_period_end")
