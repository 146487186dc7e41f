"""The data's own clock: what each dataset covers (first and last event, or a declared `observed_until`), and the
datasets as they were known at an instant (point in time)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from opsflow.findings import Section
from opsflow.period import Period, local_time

EVENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "incidents": ("opened_at", "acknowledged_at", "mitigated_at", "resolved_at", "postmortem_completed_at"),
    "sla_events": ("measured_at",),
    "service_metrics": ("interval_start",),
    "capacity": ("measured_at",),
    "changes": ("deployed_at", "restored_at"),
    "vendor_deliveries": ("delivered_date",),
    "process_events": ("started_at", "ended_at"),
    "kpi_observations": ("observed_on",),
}
"""Per event dataset, the columns that record something that happened: their latest value is how far the data
reaches. Deadlines and plans (promised_date, postmortem_due_at, planned dates) are not events. The other datasets
(vendors, services, projects, project_tasks, risks, kpis) are registers: a snapshot as exported, with no clock."""

ROW_TIME: dict[str, str] = {
    "incidents": "opened_at",
    "sla_events": "measured_at",
    "service_metrics": "interval_start",
    "capacity": "measured_at",
    "changes": "deployed_at",
    "process_events": "ended_at",
    "kpi_observations": "observed_on",
}
"""Per event dataset, the column that says when a row came into existence: a row whose time is at or after the cut
is not in the data as known then (an activity is recorded when it ends)."""

LATER_VALUES: dict[str, dict[str, tuple[str, ...]]] = {
    "incidents": {
        "acknowledged_at": ("acknowledged_at",),
        "mitigated_at": ("mitigated_at",),
        "resolved_at": ("resolved_at", "postmortem_due_at", "sla_met"),
        "postmortem_completed_at": ("postmortem_completed_at",),
    },
    "vendor_deliveries": {
        "delivered_date": ("delivered_date", "defective_quantity", "quality_issue", "response_hours"),
    },
    "changes": {"restored_at": ("restored_at",)},
}
"""Per dataset, a time column whose value at or after the cut was not yet known, and the columns that become known
with it (a delivery's defects are counted when it arrives; a postmortem is due only once the incident is resolved)."""

SECTION_DATASETS: dict[str, tuple[str, ...]] = {
    "incidents": ("incidents",),
    "sla": ("sla_events", "service_metrics"),
    "capacity": ("capacity",),
    "changes": ("changes", "incidents"),
    "vendors": ("vendor_deliveries",),
    "processes": ("process_events",),
    "kpis": ("kpi_observations",),
    "risks": ("incidents",),
    "scorecard": ("vendor_deliveries",),
    "flagged": ("vendor_deliveries", "incidents"),
}
"""Which datasets each report section's figures rest on (to mark a section partial when one of them is behind)."""

@dataclass(frozen=True)
class ClockRule:
    """How one flow's period follows the data: which datasets set it, and whether it is a week, a day or now."""

    datasets: tuple[str, ...]
    kind: str = "day"  # "week", "day" or "live" (module docstring)
    lag_days: int = 0  # a day flow's default is this many days before today at most


_ALL_EVENTS = ("incidents", "sla_events", "service_metrics", "vendor_deliveries", "process_events")

CLOCK_RULES: dict[str, ClockRule] = {
    "weekly-audit": ClockRule(_ALL_EVENTS, "week"),
    "risk-assessment": ClockRule(("incidents", "vendor_deliveries"), "week"),
    "risk-aware-planning": ClockRule(("incidents", "vendor_deliveries", "process_events"), "week"),
    "operational-transformation": ClockRule(("process_events",), "week"),
    "improvement-initiative": ClockRule(("process_events",), "week"),
    "daily-brief": ClockRule(_ALL_EVENTS),
    "vendor-sla-review": ClockRule(("vendor_deliveries", "sla_events", "incidents")),
    "performance-review": ClockRule(("sla_events", "vendor_deliveries", "incidents")),
    "problem-solution-metrics": ClockRule(_ALL_EVENTS, lag_days=1),
    "contingency-drill": ClockRule(("incidents",), "live"),
}
"""Per flow, its clock rule. KPI observations are monthly: they never hold a period back. A flow not listed is a day
flow over every event dataset."""

def clock_rule(flow: str) -> ClockRule:
    return CLOCK_RULES.get(flow, ClockRule(tuple(EVENT_COLUMNS)))


def clock_datasets(flow: str) -> tuple[str, ...]:
    return clock_rule(flow).datasets


QUIET_DAYS = 3
"""Days a dataset may go without a record before it counts as behind the others (a weekend with no incident is
normal; ten silent weeks are a stale export)."""


@dataclass(frozen=True)
class DatasetCoverage:
    """The span of time one dataset covers: its first and last event, and the instant it is observed until."""

    name: str
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    until: pd.Timestamp | None
    declared: bool = False
    dated: bool = False  # recorded by day (date columns): first and last are local midnights, shown as days

    def shown(self, instant: pd.Timestamp, tz: str) -> str:
        """An instant of this dataset in local time (a day for a dataset recorded by day)."""
        return local_time(instant, tz)[:10] if self.dated else local_time(instant, tz)

    def line(self, tz: str) -> str:
        """`incidents: 2025-11-30 00:41 CET to 2026-11-28 16:54 CET` (with `observed until` when declared)."""
        if self.first is None or self.last is None:
            return f"{self.name}: no records"
        text = f"{self.name}: {self.shown(self.first, tz)} to {self.shown(self.last, tz)}"
        if self.declared and self.until is not None:
            text += f" (observed until {local_time(self.until, tz)})"
        return text


def _as_utc(values: pd.Series, tz: str, end_of_day: bool) -> pd.Series:
    """Times as UTC; a date column's day as its local midnight (or the next one, for the end of that day)."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC")
    days = values.dt.normalize() + (pd.Timedelta(days=1) if end_of_day else pd.Timedelta(0))
    return days.dt.tz_localize(ZoneInfo(tz), ambiguous="NaT", nonexistent="shift_forward").dt.tz_convert("UTC")


def dataset_coverage(
    name: str, frame: pd.DataFrame, tz: str, observed_until: datetime | None = None
) -> DatasetCoverage:
    """What `frame` (dataset `name`) covers. Without a declared `observed_until`, the data is taken as recorded to the
    end of the local day of its last event: exports are cut at a day's end, and a day's later hours may be quiet."""
    columns = [c for c in EVENT_COLUMNS.get(name, ()) if c in frame.columns]
    firsts, lasts = [], []
    for column in columns:
        values = frame[column].dropna()
        if values.empty:
            continue
        firsts.append(_as_utc(values, tz, end_of_day=False).min())
        lasts.append(_as_utc(values, tz, end_of_day=False).max())
    first = min(firsts) if firsts else None
    last = max(lasts) if lasts else None
    dated = bool(columns) and not any(isinstance(frame[c].dtype, pd.DatetimeTZDtype) for c in columns)
    if observed_until is not None:
        stamp = pd.Timestamp(observed_until)
        declared = (stamp.tz_localize(ZoneInfo(tz)) if stamp.tzinfo is None else stamp).tz_convert("UTC")
        return DatasetCoverage(name, first, last, declared, declared=True, dated=dated)
    until = None if last is None else end_of_local_day(last, tz)
    return DatasetCoverage(name, first, last, until, dated=dated)


def end_of_local_day(instant: pd.Timestamp, tz: str) -> pd.Timestamp:
    """The first instant of the local day after the one `instant` falls in, as UTC."""
    day = instant.tz_convert(ZoneInfo(tz)).date() + timedelta(days=1)
    return pd.Timestamp(day).tz_localize(ZoneInfo(tz)).tz_convert("UTC")


@dataclass(frozen=True)
class Coverage:
    """What every event dataset of a workspace covers, in the workspace's time zone."""

    datasets: dict[str, DatasetCoverage]
    tz: str

    def of(self, names: Sequence[str]) -> list[DatasetCoverage]:
        """The coverage of those of `names` that the workspace has and that have records."""
        return [self.datasets[n] for n in names if n in self.datasets and self.datasets[n].until is not None]

    def data_end(self, names: Sequence[str]) -> pd.Timestamp | None:
        """The instant the newest of these datasets is observed until: the data's present."""
        ends = [c.until for c in self.of(names) if c.until is not None]
        return max(ends) if ends else None

    def data_start(self, names: Sequence[str]) -> pd.Timestamp | None:
        """The first record of any of these datasets."""
        starts = [c.first for c in self.of(names) if c.first is not None]
        return min(starts) if starts else None

    def last_covered_day(self, names: Sequence[str]) -> date | None:
        """The last local day the newest dataset covers to its end."""
        end = self.data_end(names)
        if end is None:
            return None
        return (end.tz_convert(ZoneInfo(self.tz)) - pd.Timedelta(microseconds=1)).date()

    def behind(self, names: Sequence[str], end: pd.Timestamp) -> list[DatasetCoverage]:
        """The datasets that stop more than QUIET_DAYS before `end`: their figures for a period ending then are
        partial (a record missing after their end would not show)."""
        quiet = pd.Timedelta(days=QUIET_DAYS)
        return [c for c in self.of(names) if c.until is not None and c.until + quiet < end]

    def short_of(self, names: Sequence[str], end: pd.Timestamp) -> list[DatasetCoverage]:
        """The datasets observed until before `end` (by any amount)."""
        return [c for c in self.of(names) if c.until is not None and c.until < end]

    def summary(self, names: Sequence[str]) -> str:
        """One line: what the data covers, per dataset."""
        parts = [c.line(self.tz) for c in self.of(names)]
        return "Data covers " + "; ".join(parts) + "." if parts else "No dated records."


def cut_frame(name: str, frame: pd.DataFrame, cutoff: pd.Timestamp, tz: str) -> pd.DataFrame:
    """Dataset `name` as known at `cutoff`: rows that came into existence at or after it dropped, values recorded
    at or after it (and the values that come with them) emptied. Date columns count a day as known at its end."""
    out = frame
    row_time = ROW_TIME.get(name)
    if row_time is not None and row_time in frame.columns:
        times = _as_utc(frame[row_time], tz, end_of_day=True)
        # A row with no time cannot be placed: it is kept, as a cut export would keep it.
        after = times > cutoff if not isinstance(frame[row_time].dtype, pd.DatetimeTZDtype) else times >= cutoff
        drop = after.fillna(False).to_numpy(dtype=bool)
        # Sliced only when a row goes: a year of process events is copied only for a period before the data's end.
        if drop.any():
            out = out.loc[~drop]
    for column, emptied in LATER_VALUES.get(name, {}).items():
        if column not in out.columns:
            continue
        dated = not isinstance(out[column].dtype, pd.DatetimeTZDtype)
        times = _as_utc(out[column], tz, end_of_day=dated)
        later = (times > cutoff if dated else times >= cutoff).fillna(False).to_numpy()
        if not later.any():
            continue
        if out is frame:
            out = frame.copy()
        for target in emptied:
            if target in out.columns:
                out.loc[later, target] = None
    return out.reset_index(drop=True) if out is not frame else out


@dataclass(frozen=True)
class Window:
    """A trailing window of `full_days` ending at a period's end, shortened to start at the data's first record when
    the data starts later: a 90-day rate on 48 days of data is a 48-day rate, and must say so."""

    start: pd.Timestamp
    end: pd.Timestamp
    full_days: int
    clipped: bool = False

    @property
    def days(self) -> float:
        return round((self.end - self.start).total_seconds() / 86400, 2)

    @property
    def label(self) -> str | None:
        """`48 of 90 days`, shown next to a figure over a shortened window; None for a full window."""
        return f"{self.days:g} of {self.full_days} days" if self.clipped else None

    def note(self, what: str) -> str | None:
        """One sentence for the section's note when the window is shortened, e.g. `MTBF is over the 48 days the data
        covers, not 90: the export starts later.`"""
        if not self.clipped:
            return None
        return f"{what} over the {self.days:g} days the data covers, not {self.full_days}: the export starts later."


def trailing_window(period: Period, full_days: int, data_start: pd.Timestamp | None) -> Window:
    """The `full_days` local days ending with the period, starting no earlier than `data_start` (the dataset's first
    record)."""
    start = period.days_back(full_days)
    if data_start is not None and not pd.isna(data_start) and data_start > start:
        return Window(min(pd.Timestamp(data_start), period.end), period.end, full_days, clipped=True)
    return Window(start, period.end, full_days)


def first_record(frame: pd.DataFrame | None, column: str, tz: str) -> pd.Timestamp | None:
    """A dataset's first record in `column` as UTC (a date column's day at its local midnight); None when empty."""
    if frame is None or column not in frame.columns:
        return None
    values = frame[column].dropna()
    if values.empty:
        return None
    return _as_utc(values, tz, end_of_day=False).min()


def mark_partial(sections: Sequence[Section], partial_datasets: Sequence[str]) -> None:
    """Say in each section built on a dataset that stops early that its figures are partial."""
    if not partial_datasets:
        return
    for section in sections:
        short = [d for d in SECTION_DATASETS.get(section.name, ()) if d in partial_datasets]
        if short:
            note = f"Partial: {', '.join(short)} stop(s) before this period ends; figures cover only up to then."
            section.note = f"{note} {section.note}" if section.note else note
