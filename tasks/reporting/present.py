"""Turns computed sections into what a report shows: formatted headlines with their change, tables, actions."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd
from pydantic import BaseModel

from opsflow.findings import Action, Basis, Headline, Section
from opsflow.history import StoredRun
from opsflow.period import local_time

MAX_TABLE_ROWS = 25
"""Rows shown per table in a report; the rest are counted and stay in the artifacts and history."""

_BASE_FIELDS = set(Section.model_fields)

CHART_FIELDS = {"mttr_chart", "chart", "burndown", "heat_cells", "trend"}
"""Section fields that feed a chart: the chart shows them, so the report does not repeat them as tables."""


class HeadlineView(BaseModel):
    """A headline figure ready to print."""

    key: str
    label: str
    value: str
    previous: str
    change: str
    trend: str  # "better", "worse", "same" or "" (no previous run or a neutral figure)


class TableView(BaseModel):
    """A table ready to print: column labels and text cells."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[str]]
    total_rows: int

    @property
    def hidden_rows(self) -> int:
        return self.total_rows - len(self.rows)


class SectionView(BaseModel):
    """A section ready to print."""

    name: str
    title: str
    available: bool
    note: str | None
    headlines: list[HeadlineView]
    tables: list[TableView]
    actions: list[Action]
    basis: list[Basis]
    definitions: dict[str, str]


def format_value(value: Any, unit: str = "", tz: str | None = None) -> str:
    """One cell or figure as text: ratios as percentages, hours and days with one decimal, empty as a dash; an
    instant in the workspace's time zone `tz` with its abbreviation (`2026-11-27 14:30 CET`)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime | pd.Timestamp) and value.tzinfo is not None:
        # An instant never goes out without its zone: the workspace's when known, else UTC, labelled.
        return local_time(value, tz or "UTC")
    if isinstance(value, datetime | pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M") if (value.hour or value.minute) else value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if unit == "ratio":
            return f"{value * 100:.1f}%"
        if unit in ("currency", "EUR", "USD", "GBP"):
            return f"{value:,.0f}"
        if value.is_integer():
            return f"{value:,.0f}"
        return f"{value:,.2f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, list):
        return ", ".join(format_value(v) for v in value)
    return str(value)


def format_change(headline: Headline) -> tuple[str, str]:
    """The change since the previous run as text, and whether it is better, worse or the same."""
    change = headline.change
    if change is None:
        return "", ""
    if abs(change) < 1e-9:
        return "no change", "same"
    if headline.unit == "ratio":
        text = f"{change * 100:+.1f} pts"
    else:
        text = f"{change:+,.1f}" if not float(change).is_integer() else f"{change:+,.0f}"
    if headline.better == "neutral":
        return text, ""
    improved = change > 0 if headline.better == "higher" else change < 0
    return text, "better" if improved else "worse"


def headline_view(headline: Headline) -> HeadlineView:
    change, trend = format_change(headline)
    return HeadlineView(
        key=headline.key,
        label=headline.label,
        value=format_value(headline.value, headline.unit) + (f" ({headline.window})" if headline.window else ""),
        previous=format_value(headline.previous, headline.unit) if headline.previous is not None else "",
        change=change,
        trend=trend,
    )


def _column_unit(model: type[BaseModel], field: str) -> str:
    extra = model.model_fields[field].json_schema_extra
    return str(extra.get("unit", "")) if isinstance(extra, dict) else ""


def table_view(
    name: str, title: str, rows: Sequence[BaseModel], max_rows: int = MAX_TABLE_ROWS, tz: str | None = None
) -> TableView:
    """Any list of row models as a table; columns are the model's fields, ratios shown as percentages, instants in
    the time zone `tz`."""
    if not rows:
        return TableView(name=name, title=title, columns=[], rows=[], total_rows=0)
    model = type(rows[0])
    fields = list(model.model_fields)
    units = {f: _column_unit(model, f) for f in fields}
    cells = [[format_value(getattr(row, f), units[f], tz) for f in fields] for row in rows[:max_rows]]
    columns = [f.replace("_", " ") for f in fields]
    return TableView(name=name, title=title, columns=columns, rows=cells, total_rows=len(rows))


def section_tables(section: Section, max_rows: int = MAX_TABLE_ROWS, tz: str | None = None) -> list[TableView]:
    """Every table-like field a section subclass adds (lists of row models), in declaration order."""
    tables = []
    for name, info in type(section).model_fields.items():
        if name in _BASE_FIELDS or name in CHART_FIELDS:
            continue
        value = getattr(section, name)
        if isinstance(value, list) and value and all(isinstance(v, BaseModel) for v in value):
            tables.append(table_view(name, info.description or name.replace("_", " "), value, max_rows, tz))
    return tables


def section_view(section: Section, max_rows: int = MAX_TABLE_ROWS, tz: str | None = None) -> SectionView:
    return SectionView(
        name=section.name,
        title=section.title,
        available=section.available,
        note=section.note,
        headlines=[headline_view(h) for h in section.headlines],
        tables=section_tables(section, max_rows, tz),
        actions=section.actions,
        basis=section.basis,
        definitions=section.definitions,
    )


def attach_previous(sections: list[Section], previous: StoredRun | None) -> list[Section]:
    """Fill each headline's `previous` from the previous run's figures (a figure new this week stays empty)."""
    if previous is None:
        return sections
    for section in sections:
        for headline in section.headlines:
            value = previous.headlines.get(headline.key)
            headline.previous = float(value) if isinstance(value, int | float) else None
    return sections
