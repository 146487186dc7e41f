"""How figures are written: units, precision and signed changes, worked out by hand."""

from __future__ import annotations

import pytest

from opsflow import units


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (0.95335, "ratio", "95.3%"),  # 95.335% to one decimal
        (3e-06, "ratio", "<0.1%"),  # 3 rows in a million are not "0.0%"
        (0.0, "ratio", "0.0%"),
        (30.5589, "hours", "30.6 h"),
        (12.0, "minutes", "12 min"),
        (0.031, "seconds", "0.03 s"),
        (90.74, "days", "90.7 days"),
        (0.63, "score", "0.63 of 1"),
        (0.8918, "index", "0.89"),
        (1850000.0, "EUR", "1,850,000 EUR"),
        (4.0, "vendors", "4"),  # a count's unit is in its label
        (1234, "", "1,234"),
        (None, "hours", "—"),
    ],
)
def test_figure(value: float | None, unit: str, shown: str) -> None:
    assert units.figure(value, unit) == shown


@pytest.mark.parametrize(
    ("delta", "unit", "shown"),
    [
        (-0.0523, "index", "-0.05"),  # SPI 0.94 -> 0.89
        (-0.004, "index", "-0.004"),  # too small for two decimals: two significant digits, never "-0.0"
        (0.012, "ratio", "+1.2 pts"),  # a share moves in percentage points
        (-0.00021, "ratio", "-0.021 pts"),
        (11.0, "", "+11"),
        (0.2, "hours", "+0.2 h"),
        (0.0, "hours", "no change"),
        (None, "hours", ""),
    ],
)
def test_change(delta: float | None, unit: str, shown: str) -> None:
    assert units.change(delta, unit) == shown
