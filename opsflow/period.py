"""Reporting periods: the week ending `as_of`, its month to date, cut in the workspace's time zone."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

SUNDAY = 6
"""date.weekday() of the last day of a reporting week (Monday 0 .. Sunday 6)."""


class PeriodError(ValueError):
    """A period that cannot be reported on (not a week's last day, past the data); the message is one line."""


def last_complete_week_end(today: date, week_ends_on: int = SUNDAY) -> date:
    """The last day (Sunday by default) of the last complete week before `today`."""
    # On the week's last day the week is not over yet, so go back a full week.
    return today - timedelta(days=(today.weekday() - week_ends_on - 1) % 7 + 1)


def check_week_end(as_of: date, week_ends_on: int = SUNDAY) -> date:
    """`as_of` when it is the last day of a week; otherwise PeriodError naming the nearest valid dates."""
    if as_of.weekday() == week_ends_on:
        return as_of
    before = last_complete_week_end(as_of, week_ends_on)
    after = before + timedelta(days=7)
    name = calendar.day_name[week_ends_on]
    raise PeriodError(
        f"--as-of {as_of.isoformat()} is a {calendar.day_name[as_of.weekday()]}; a week ends on a {name}: "
        f"use {before.isoformat()} or {after.isoformat()}"
    )


def local_time(instant: pd.Timestamp | datetime, tz: str, seconds: bool = False) -> str:
    """An instant in the workspace's time zone with its abbreviation, e.g. `2026-11-27 14:30 CET`."""
    stamp = pd.Timestamp(instant)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
    return stamp.tz_convert(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")


@dataclass(frozen=True)
class Period:
    """The seven days ending `as_of` (inclusive) in time zone `tz`, and the month to date."""

    as_of: date
    tz: str = "UTC"

    @property
    def key(self) -> str:
        """Stable identifier of the period, used for history rows, artifact keys and delivery records."""
        return self.as_of.isoformat()

    @property
    def week_start(self) -> date:
        return self.as_of - timedelta(days=6)

    @property
    def month_start(self) -> date:
        return self.as_of.replace(day=1)

    def _instant(self, day: date) -> pd.Timestamp:
        """Local midnight at the start of `day`, as a UTC timestamp."""
        return pd.Timestamp(day).tz_localize(ZoneInfo(self.tz)).tz_convert("UTC")

    @property
    def start(self) -> pd.Timestamp:
        """First instant of the week (UTC)."""
        return self._instant(self.week_start)

    @property
    def end(self) -> pd.Timestamp:
        """First instant after the week (UTC): intervals are [start, end)."""
        return self._instant(self.as_of + timedelta(days=1))

    @property
    def month_to_date_start(self) -> pd.Timestamp:
        return self._instant(self.month_start)

    def days_back(self, days: int) -> pd.Timestamp:
        """The instant `days` days before `end` (for rolling windows such as 30 or 90 days)."""
        return self._instant(self.as_of + timedelta(days=1) - timedelta(days=days))

    def previous(self) -> Period:
        """The week before."""
        return Period(self.as_of - timedelta(days=7), self.tz)
