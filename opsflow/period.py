"""Reporting periods: the week ending `as_of`, its month to date, cut in the workspace's time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pandas as pd


def last_complete_week_end(today: date) -> date:
    """The Sunday that ends the last complete Monday-to-Sunday week before `today`."""
    # weekday(): Monday 0 .. Sunday 6; on a Sunday the week is not over yet, so go back a full week.
    return today - timedelta(days=today.weekday() + 1)


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
