"""A flow's period set by the data's own clock, and the workspace's data cut to that period's end (point in time).

The rule per flow (README, "What the data covers"):
- weekly-audit: `--as-of` must be the last day of a week (a Sunday). The default week is the last complete one the
  data covers (the newest of the flow's event datasets reaches its end). A week past all of them is refused in one
  line naming the dataset and its last record. A dataset that stops more than QUIET_DAYS before the week's end is
  named in a warning in the report and in Slack, and the sections built on it are marked partial.
- daily-brief and vendor-sla-review: the default day is today, or the last day the data covers when the data
  stops earlier. A day past the data is refused in one line naming the dataset and its last record.
Every flow then computes on the data as known at its period's end: an audit-log export is replayed only up to
then, later rows are dropped, and values recorded later (a resolution, a delivery) are emptied.
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
from opsflow.coverage import EVENT_COLUMNS, Coverage, DatasetCoverage, cut_frame, dataset_coverage
from opsflow.datasets import OpsData, ValidatedDataset
from opsflow.period import SUNDAY, Period, PeriodError, check_week_end, last_complete_week_end
from opsflow.tasking import compute_task
from tasks.data.ingest import load_dataset
from tasks.data.prepare import WorkspaceData
from tasks.data.validate import validate_dataset

CLOCK_DATASETS: dict[str, tuple[str, ...]] = {
    "weekly-audit": ("incidents", "sla_events", "vendor_deliveries", "process_events"),
    "daily-brief": ("incidents", "sla_events", "vendor_deliveries", "process_events"),
    "vendor-sla-review": ("vendor_deliveries", "sla_events", "incidents"),
}
"""The event datasets whose coverage sets each flow's period (KPI observations are monthly: they never hold a
period back). Other flows use every event dataset."""

P = TypeVar("P", bound=Period)

WEEKLY_FLOWS = frozenset({"weekly-audit"})


def clock_datasets(flow: str) -> tuple[str, ...]:
    return CLOCK_DATASETS.get(flow, tuple(EVENT_COLUMNS))


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
    tz, names = coverage.tz, clock_datasets(flow)
    weekly = flow in WEEKLY_FLOWS
    data_end = coverage.data_end(names)
    if as_of is not None:
        period = make(check_week_end(as_of, week_ends_on) if weekly else as_of, tz)
        if data_end is not None and period.end > data_end:
            raise PeriodError(_past_data(flow, period, coverage, names, weekly, week_ends_on))
        return period
    now = _today(tz, today)
    last_day = coverage.last_covered_day(names)
    if weekly:
        # last_complete_week_end gives the last week end strictly before its argument.
        limit = now if last_day is None else min(now, last_day + timedelta(days=1))
        return make(last_complete_week_end(limit, week_ends_on), tz)
    return make(now if last_day is None else min(now, last_day), tz)


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

    An audit-log export (`collapse`) is read again and replayed up to the end (then validated as a fresh export
    would be); every event dataset then loses the rows and values recorded at or after it."""
    cutoff, tz = period.end, prepared.config.timezone
    coverage = workspace_coverage(prepared)
    datasets = dict(prepared.data.datasets)
    contracts = load_contracts()
    for name, ds in list(datasets.items()):
        spec = prepared.config.sources.get(name)
        if spec is not None and spec.collapse is not None:
            loaded = load_dataset(name, spec, prepared.workspace, cutoff)
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
        data=OpsData(datasets=datasets),
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
