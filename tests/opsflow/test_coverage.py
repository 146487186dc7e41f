"""Tests for opsflow/coverage.py's trailing windows: shortened to the data's first record, and saying so."""

from __future__ import annotations

from datetime import date

import pandas as pd

from opsflow.coverage import first_record, trailing_window
from opsflow.period import Period

# The week ending Sun 29 Nov 2026 in Berlin: it ends Mon 30 Nov 00:00 CET = 29 Nov 23:00 UTC.
PERIOD = Period(date(2026, 11, 29), "Europe/Berlin")


def test_a_window_inside_the_data_is_the_full_window() -> None:
    # Data from 1 Jan 2026: the 90 days ending 29 Nov (from 1 Sep 00:00 CEST) are all covered.
    window = trailing_window(PERIOD, 90, pd.Timestamp("2026-01-01", tz="UTC"))
    assert window.start == PERIOD.days_back(90) == pd.Timestamp("2026-08-31 22:00", tz="UTC")
    assert (window.clipped, window.label, window.note("MTBF is")) == (False, None, None)


def test_a_window_that_starts_before_the_data_is_shortened_to_it_and_says_so() -> None:
    # Data from 12 Oct 2026 23:00 UTC: 48 days to 29 Nov 23:00 UTC (Oct 12->31 = 19 days, Nov 1->29 = 29 days).
    first = pd.Timestamp("2026-10-12 23:00", tz="UTC")
    window = trailing_window(PERIOD, 90, first)
    assert (window.start, window.end, window.days) == (first, PERIOD.end, 48)
    assert window.label == "48 of 90 days"
    assert window.note("MTBF is") == "MTBF is over the 48 days the data covers, not 90: the export starts later."
    # No data at all: the window is not shortened (there is nothing to shorten it to).
    assert trailing_window(PERIOD, 30, None).clipped is False


def test_first_record_reads_a_date_column_as_its_local_midnight() -> None:
    frame = pd.DataFrame({"promised_date": pd.to_datetime(["2026-11-03", "2026-11-01", None])})
    # 1 Nov 00:00 CET = 31 Oct 23:00 UTC.
    assert first_record(frame, "promised_date", "Europe/Berlin") == pd.Timestamp("2026-10-31 23:00", tz="UTC")
    assert first_record(frame, "delivered_date", "Europe/Berlin") is None
    assert first_record(None, "promised_date", "Europe/Berlin") is None
