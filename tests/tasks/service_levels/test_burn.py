"""Multi-window, multi-burn-rate alerts on hand-made event streams; every burn rate worked out by hand."""

from __future__ import annotations

import pandas as pd

from tasks.service_levels.burn import evaluate

END = pd.Timestamp("2026-03-08 23:00", tz="UTC")


def _stream(minutes: int, count: int, bad_ago: list[int]) -> tuple[pd.Series, pd.Series]:
    """`count` events every `minutes` up to END; the events `bad_ago` steps before the last one are bad."""
    times = pd.Series([END - pd.Timedelta(minutes=minutes * k) for k in range(count)][::-1])
    bad = pd.Series([False] * count)
    for k in bad_ago:
        bad.iloc[count - 1 - k] = True
    return times, bad


def test_fast_burn_pages_on_an_hourly_uptime_check() -> None:
    # Hourly checks for 3 days, objective 99.9% (allowed 0.001); the last check failed: the last hour holds one
    # event, 1/1/0.001 = 1000x. The 5-minute short window is widened to the 1-hour gap: also 1000x -> page (fast).
    times, bad = _stream(60, 72, [0])
    verdict = evaluate(times, bad, END, 0.001)
    assert (verdict.alert, verdict.rule) == ("page", "fast")
    assert verdict.burn_1h == 1000.0
    # 6 hours: 1 bad of 6 events -> 1/6/0.001 = 166.7x; 3 days: 1 of 72 -> 13.9x.
    assert round(verdict.burn_6h or 0, 1) == 166.7 and round(verdict.burn_3d or 0, 1) == 13.9


def test_medium_burn_pages_when_the_fast_rule_does_not() -> None:
    # Every 5 minutes, objective 99% (allowed 0.01). Bad: steps 2 (10 min ago), 20, 30, 40, 50 (within 6 h).
    # 1 h (12 events): 1 bad -> 8.3x < 14.4, so not fast. 6 h (72 events): 5 bad -> 6.9x >= 6; 30 min (6 events):
    # 1 bad -> 16.7x >= 6 -> page (medium).
    times, bad = _stream(5, 864, [2, 20, 30, 40, 50])
    verdict = evaluate(times, bad, END, 0.01)
    assert (verdict.alert, verdict.rule) == ("page", "medium")
    assert round(verdict.burn_1h or 0, 1) == 8.3 and round(verdict.burn_6h or 0, 2) == 6.94


def test_slow_burn_opens_a_ticket() -> None:
    # Every 5 minutes for 3 days (864 events), allowed 0.01. Nine bad: one 5 h ago (step 60), eight older than 6 h.
    # 3 d: 9/864/0.01 = 1.04x >= 1; 6 h: 1/72/0.01 = 1.39x >= 1; 6 h is under 6x and 1 h holds none -> ticket.
    times, bad = _stream(5, 864, [60, 100, 200, 300, 400, 500, 600, 700, 800])
    verdict = evaluate(times, bad, END, 0.01)
    assert (verdict.alert, verdict.rule) == ("ticket", "slow")
    assert verdict.burn_1h == 0.0 and round(verdict.burn_3d or 0, 2) == 1.04


def test_no_event_in_three_days_is_no_data_and_a_quiet_stream_is_none() -> None:
    old = pd.Series([END - pd.Timedelta(days=4)])
    assert evaluate(old, pd.Series([True]), END, 0.001).alert == "no data"
    times, bad = _stream(60, 72, [])
    assert evaluate(times, bad, END, 0.001).alert == "none"
