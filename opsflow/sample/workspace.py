"""Writes the whole sample workspace: every dataset's export, the opsflow.yaml, the drills and the initiative."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from opsflow.contract import DATASETS
from opsflow.period import last_complete_week_end
from opsflow.sample.capacity import capacity_table
from opsflow.sample.changes import changes_table
from opsflow.sample.common import clock_text, make_calendar
from opsflow.sample.config import write_config
from opsflow.sample.drills import write_sample_drills
from opsflow.sample.incidents import incidents_table
from opsflow.sample.initiative import write_sample_initiative
from opsflow.sample.kpis import kpis_tables
from opsflow.sample.operations import simulate_operations
from opsflow.sample.projects import projects_tables
from opsflow.sample.risks import risks_table
from opsflow.sample.service_metrics import service_metrics_table
from opsflow.sample.services import services_table
from opsflow.sample.sla_events import sla_events_table
from opsflow.sample.vendor_deliveries import vendor_deliveries_table
from opsflow.sample.vendors import vendors_table


def _csv_ready(table: pa.Table) -> pa.Table:
    """Timestamps as local ISO 8601 text with the offset, the way the company's exports carry them."""
    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_timestamp(field.type):
            chunk = column.combine_chunks()
            seconds = chunk.cast(pa.int64()).fill_null(0).to_numpy()
            valid = chunk.is_valid().to_numpy(zero_copy_only=False)
            columns.append(clock_text(seconds, valid))
        else:
            columns.append(column)
    return pa.table(columns, names=table.column_names)


def _write(table: pa.Table, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        pq.write_table(table, path, compression="zstd")
    else:
        pacsv.write_csv(_csv_ready(table), path)


def write_sample(
    out: Path,
    scale: float = 1.0,
    seed: int = 7,
    end: date | None = None,
    fmt: Literal["csv", "parquet"] = "csv",
    marked: bool = True,
) -> dict[str, int]:
    """Write Northwind Supply's year of data and its opsflow.yaml to `out`; return rows written per dataset.

    `end` (default: the Sunday ending the last complete week) is the last day of data; the same seed, end and
    scale give byte-identical files. `marked` writes `sample: true` into opsflow.yaml, so the made-up company is
    never posted to a real Slack unless a run opts in.
    """
    if scale <= 0:
        raise ValueError(f"scale must be positive, not {scale}")
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be csv or parquet, not {fmt!r}")
    # By default the data ends with the last complete week, the one `weekly-audit` audits by default, so a first
    # run finds every story (an open major incident at the end, a postmortem overdue in that week...).
    end = end or last_complete_week_end(date.today())
    cal = make_calendar(end)

    def rng(stream: int) -> np.random.Generator:
        return np.random.default_rng([seed, stream])

    incidents, outages = incidents_table(rng(1), cal, scale)
    ops = simulate_operations(rng(2), cal, scale)
    projects, project_tasks = projects_tables(rng(5), cal)
    kpis, kpi_observations = kpis_tables(rng(7), cal)
    tables = {
        "services": services_table(cal),
        "service_metrics": service_metrics_table(rng(10), cal, outages, scale),
        "capacity": capacity_table(rng(9), cal),
        "vendors": vendors_table(cal),
        "incidents": incidents,
        "changes": changes_table(rng(8), cal, incidents),
        "sla_events": sla_events_table(rng(3), cal, ops, outages, scale),
        "vendor_deliveries": vendor_deliveries_table(rng(4), cal, ops, scale),
        "process_events": ops.events,
        "projects": projects,
        "project_tasks": project_tasks,
        "risks": risks_table(rng(6), cal),
        "kpis": kpis,
        "kpi_observations": kpi_observations,
    }
    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {}
    for name in DATASETS:
        _write(tables[name], data / f"{name}.{fmt}", fmt)
        rows[name] = tables[name].num_rows
    write_config(out, fmt, seed, end, scale, marked)
    write_sample_drills(out)
    write_sample_initiative(out)
    return rows
