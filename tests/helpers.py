"""Frames the unit tests build by hand, typed as loading leaves them (docs/conventions.md), written once."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from opsflow.contract import contract
from opsflow.datasets import ROW

DTYPES: dict[str, Any] = {
    "string": "string",
    "list": "string",
    "integer": "Int64",
    "number": "float64",
    "boolean": "boolean",
}
EVENT_COLUMNS = ["case_id", "process", "activity", "started_at", "ended_at"]


def frame(dataset: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A frame with every contract column of `dataset`, typed as loading leaves it (docs/conventions.md), plus ROW
    numbered from 2 like the lines of a CSV with a header."""
    data: dict[str, pd.Series] = {}
    for name, col in contract(dataset).columns.items():
        values = pd.Series([r.get(name) for r in rows], dtype=object)
        if col.type == "date":
            data[name] = pd.to_datetime(values).astype("datetime64[ns]")
        elif col.type == "datetime":
            data[name] = pd.to_datetime(values, utc=True)
        else:
            data[name] = values.astype(DTYPES[col.type])
        if col.categorical:
            data[name] = data[name].astype("category")
    out = pd.DataFrame(data)
    out[ROW] = range(2, len(rows) + 2)
    return out


def event_log(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """An event log in the loaded dtypes of the process_events contract (no resource given), plus ROW."""
    df = pd.DataFrame(rows, columns=EVENT_COLUMNS)
    for c in ("case_id", "process", "activity"):
        df[c] = df[c].astype("string").astype("category")  # categorical in the contract
    for c in ("started_at", "ended_at"):
        df[c] = pd.to_datetime(df[c], utc=True)
    df["resource"] = pd.Series([None] * len(df), dtype="string").astype("category")
    df[ROW] = range(2, len(df) + 2)
    return df


def columns_holding_data(frame: pd.DataFrame) -> list[str]:
    """The columns of an empty frame that still hold memory: a slice keeps its whole parent's buffers alive."""
    holding = []
    for name in frame.columns:
        column = frame[name]
        if isinstance(column.array, pd.arrays.ArrowStringArray):
            chunks = column.array.__arrow_array__().chunks
            # An empty array of its own has no text bytes (its offsets buffer holds the one offset 0).
            if any(chunk.buffers()[2] is not None and chunk.buffers()[2].size > 0 for chunk in chunks):
                holding.append(str(name))
            continue
        if isinstance(column.dtype, pd.CategoricalDtype):
            held = column.array.codes
        elif isinstance(column.dtype, pd.DatetimeTZDtype):
            held = column.array.asi8
        else:
            held = column.to_numpy()
        while isinstance(held.base, np.ndarray):  # a view's memory is its root array's
            held = held.base
        if held.nbytes > 0:
            holding.append(str(name))
    return holding
