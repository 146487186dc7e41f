"""One table cell as a report model's field: text or number, or None where the cell is empty (pandas' NA, NaN)."""

from __future__ import annotations

from typing import Any

import pandas as pd


def text(value: Any) -> str | None:
    """The cell as stripped text; None when it is missing or blank."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    stripped = str(value).strip()
    return stripped or None


def number(value: Any) -> float | None:
    """The cell as a float; None when it is missing (NA or NaN)."""
    if value is None or value is pd.NA:
        return None
    result = float(value)
    return None if result != result else result
