"""Tests for opsflow/period.py: week ends, the check of --as-of, local times."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from opsflow.period import PeriodError, check_week_end, last_complete_week_end, local_time


def test_last_complete_week_end_is_the_sunday_before() -> None:
    # Thu 26 Nov 2026 -> Sun 22 Nov; on Sun 29 Nov that week is not over yet -> 22 Nov; Mon 30 Nov -> 29 Nov.
    assert last_complete_week_end(date(2026, 11, 26)) == date(2026, 11, 22)
    assert last_complete_week_end(date(2026, 11, 29)) == date(2026, 11, 22)
    assert last_complete_week_end(date(2026, 11, 30)) == date(2026, 11, 29)
    for offset in range(14):
        day = date(2026, 11, 1) + timedelta(days=offset)
        end = last_complete_week_end(day)
        assert end.weekday() == 6 and 1 <= (day - end).days <= 7


def test_check_week_end_names_the_nearest_valid_dates() -> None:
    assert check_week_end(date(2026, 11, 29)) == date(2026, 11, 29)
    with pytest.raises(PeriodError) as caught:
        check_week_end(date(2026, 11, 25))
    assert str(caught.value) == (
        "--as-of 2026-11-25 is a Wednesday; a week ends on a Sunday: use 2026-11-22 or 2026-11-29"
    )


def test_local_time_has_the_zone_abbreviation() -> None:
    assert local_time(pd.Timestamp("2026-11-27 13:30", tz="UTC"), "Europe/Berlin") == "2026-11-27 14:30 CET"
