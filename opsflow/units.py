"""How a figure is written everywhere (reports, Slack, summaries, the leadership update): its value with its unit, and
a signed change at a precision that never prints "-0.0"."""

from __future__ import annotations

import math

SUFFIX: dict[str, str] = {
    "hours": "h",
    "hour": "h",
    "h": "h",
    "minutes": "min",
    "min": "min",
    "seconds": "s",
    "s": "s",
    "days": "days",
    "hours per week": "h per week",
    "case-hours": "case-hours",
    "case-hours of waiting per week": "case-hours of waiting per week",
    "points": "pts",
    "score": "of 1",
}
"""Units written after the number. A ratio is written as a percentage; a count's unit (vendors, risks, projects) is
in its label, so counts are bare integers; an index (SPI, CPI) is dimensionless."""

CURRENCIES = {"currency", "EUR", "USD", "GBP", "CHF"}
COUNT_UNITS = {"", "count", "vendors", "risks", "projects", "contracts", "tasks", "incidents", "services"}


def decimals(value: float, unit: str = "") -> int:
    """Digits after the point a figure of this unit and size is written with."""
    if unit in CURRENCIES:
        return 0
    if unit in ("score", "index"):
        return 2
    if unit == "ratio":
        return 1  # of the percentage
    magnitude = abs(value)
    if unit in ("seconds", "s"):
        return 2 if magnitude < 10 else 1
    if unit in SUFFIX:
        return 1
    return 2 if magnitude < 10 else 1


def number(value: float, unit: str = "") -> str:
    """The number alone, at the unit's precision: 0.9533 ratio -> "95.3", 30.56 hours -> "30.6", 3 -> "3"."""
    if unit == "ratio":
        return f"{value * 100:,.{decimals(value, unit)}f}"
    if float(value).is_integer() and unit not in ("score", "index"):
        return f"{value:,.0f}"
    return f"{value:,.{decimals(value, unit)}f}"


def figure(value: float | int | None, unit: str = "") -> str:
    """A figure with its unit: 0.953 ratio -> "95.3%", 30.56 hours -> "30.6 h", 0.63 score -> "0.63 of 1",
    12300.0 EUR -> "12,300 EUR", 4 vendors -> "4"; nothing known -> "—"."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if unit == "flag":
        return "yes" if value else "no"
    shown = number(float(value), unit)
    if unit == "ratio":
        # A share too small for its precision is not zero: 3 rows in a million read "<0.1%".
        if value and float(shown.replace(",", "")) == 0:
            return "<0.1%"
        # Nor is a share just short of all of it 100%: 99.96% against a 99.9% objective must not read "100.0%".
        digits = decimals(value, unit)
        while float(value) < 1 and float(shown.replace(",", "")) >= 100 and digits < 4:
            digits += 1
            shown = f"{float(value) * 100:,.{digits}f}"
        return f"{shown}%"
    if unit in ("%", "pp"):
        return f"{shown}{unit}" if unit == "%" else f"{shown} pts"
    if unit in CURRENCIES:
        return shown if unit == "currency" else f"{shown} {unit}"
    suffix = SUFFIX.get(unit)
    if suffix:
        return f"{shown} {suffix}"
    return shown


def change(delta: float | None, unit: str = "") -> str:
    """A signed change in the figure's own unit: +1.2 pts for a share, -0.05 for an index, +3 for a count, "" when
    unknown and "no change" when zero. A change too small for the figure's precision keeps two significant digits
    instead of printing "-0.0"."""
    if delta is None or (isinstance(delta, float) and math.isnan(delta)):
        return ""
    if abs(delta) < 1e-12:
        return "no change"
    scaled = delta * 100 if unit == "ratio" else delta
    digits = decimals(delta, unit)
    shown = f"{scaled:+,.0f}" if float(scaled).is_integer() else f"{scaled:+,.{digits}f}"
    if float(shown.replace(",", "")) == 0:
        shown = f"{scaled:+.2g}"
    if unit in ("ratio", "%", "pp"):
        return f"{shown} pts"
    if unit in CURRENCIES:
        return shown if unit == "currency" else f"{shown} {unit}"
    suffix = SUFFIX.get(unit)
    return f"{shown} {suffix}" if suffix and unit != "score" else shown
