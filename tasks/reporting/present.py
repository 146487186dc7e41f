"""Turns computed sections into what a report shows: formatted headlines with their change, tables, actions."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd
from pydantic import BaseModel, Field

from opsflow import units
from opsflow.findings import Action, Basis, Headline, Section
from opsflow.history import StoredRun
from opsflow.period import local_time
from opsflow.ranking import ranked

MAX_TABLE_ROWS = 200
"""Rows a table keeps in the report's appendix; every row is in the table's CSV file beside the report."""

TOP_ACTIONS = 3
"""Actions a section shows first, most consequential first; the rest are in the appendix and actions.csv. Three, so
the audit's nine sections fit the Monday read's budget (report.md <= 300 lines); the first screen has the top five
urgent and five important over all sections."""

LEAD_ROWS = 3
"""Rows of a section's lead table (its first) shown in the section; the full table is in the appendix."""

LEAD_COLUMNS = 10
WIDE_TABLE = 14
"""A lead table with more than WIDE_TABLE columns shows its first LEAD_COLUMNS in the section, so it stays readable
at 1280 px; every column is in the appendix and the CSV."""

LIST_SHOWN = 3
"""Items of a ';'-separated list (incident ids, vendors) a table cell shows before "+N more"."""

ONE_LINE = 120
"""Characters of an action's text on a report's first screen and in Slack's top-level message."""

_BASE_FIELDS = set(Section.model_fields)

CHART_FIELDS = {"mttr_chart", "chart", "burndown", "actual_history", "heat_cells", "trend"}
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
    """A section ready to print: its figures, its top actions and lead table first, every full list for the
    appendix."""

    name: str
    title: str
    available: bool
    note: str | None
    headlines: list[HeadlineView]
    tables: list[TableView]
    actions: list[Action] = Field(description="Every action, most consequential first.")
    basis: list[Basis]
    definitions: dict[str, str]

    @property
    def top_actions(self) -> list[Action]:
        return self.actions[:TOP_ACTIONS]

    @property
    def more_actions(self) -> int:
        return max(0, len(self.actions) - TOP_ACTIONS)

    @property
    def lead(self) -> TableView | None:
        """The section's first table, cut to its first rows."""
        if not self.tables:
            return None
        first = self.tables[0]
        if len(first.columns) <= WIDE_TABLE:
            return first.model_copy(update={"rows": first.rows[:LEAD_ROWS]})
        return first.model_copy(
            update={"columns": first.columns[:LEAD_COLUMNS], "rows": [r[:LEAD_COLUMNS] for r in first.rows[:LEAD_ROWS]]}
        )


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
    if isinstance(value, int | float):
        return units.figure(value, unit)
    if isinstance(value, list):
        return short_list([format_value(v) for v in value])
    if isinstance(value, str) and value.count(";") >= LIST_SHOWN + 1:
        return short_list(value.split(";"))
    return str(value)


def short_list(items: Sequence[str], shown: int = LIST_SHOWN) -> str:
    """A list as a cell: the first few items and how many more (the CSV beside the report holds all of them)."""
    items = [i.strip() for i in items]
    if len(items) <= shown + 1:
        return ", ".join(items)
    return ", ".join(items[:shown]) + f" +{len(items) - shown} more"


def one_line(text: str, limit: int = ONE_LINE) -> str:
    """An action's text for a one-line list: up to its first ';' or the end of a clause within `limit` characters,
    else cut at a word with an ellipsis (the full text is in the section below and in actions.csv)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    head = text[:limit]
    cut = max(head.rfind(mark) for mark in ("; ", " (", ", "))
    if cut >= limit // 2:
        return head[:cut].rstrip(" ,;:") + "…"
    return head[: head.rfind(" ")].rstrip(" ,;:") + "…"


def format_change(headline: Headline) -> tuple[str, str]:
    """The change since the previous run as text, and whether it is better, worse or the same."""
    change = headline.change
    if change is None:
        return "", ""
    text = units.change(change, headline.unit)
    if text == "no change":
        return text, "same"
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
    col_units = {f: _column_unit(model, f) for f in fields}
    # A column of changes is written as a signed change in its unit (+1.2 pts), not as a figure (1.2%).
    changes = {f for f in fields if f == "change" or f.endswith("_change")}

    def cell(row: BaseModel, f: str) -> str:
        value = getattr(row, f)
        if f in changes and isinstance(value, int | float) and not isinstance(value, bool):
            return units.change(value, col_units[f]) or "—"
        return format_value(value, col_units[f], tz)

    cells = [[cell(row, f) for f in fields] for row in rows[:max_rows]]
    columns = [f.replace("_", " ") for f in fields]
    return TableView(name=name, title=title, columns=columns, rows=cells, total_rows=len(rows))


def table_fields(section: Section) -> list[tuple[str, list[BaseModel]]]:
    """Every table-like field a section subclass adds (non-empty lists of row models), in declaration order."""
    fields = []
    for name in type(section).model_fields:
        if name in _BASE_FIELDS or name in CHART_FIELDS:
            continue
        value = getattr(section, name)
        if isinstance(value, list) and value and all(isinstance(v, BaseModel) for v in value):
            fields.append((name, value))
    return fields


def section_tables(section: Section, max_rows: int = MAX_TABLE_ROWS, tz: str | None = None) -> list[TableView]:
    """Every table of a section, in declaration order, titled by its field's description."""
    info = type(section).model_fields
    return [
        table_view(name, info[name].description or name.replace("_", " "), rows, max_rows, tz)
        for name, rows in table_fields(section)
    ]


def section_view(section: Section, max_rows: int = MAX_TABLE_ROWS, tz: str | None = None) -> SectionView:
    return SectionView(
        name=section.name,
        title=section.title,
        available=section.available,
        note=section.note,
        headlines=[headline_view(h) for h in section.headlines],
        tables=section_tables(section, max_rows, tz),
        actions=ranked(section.actions),
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
