"""The data-quality report: per dataset, rows in, used and quarantined, why, and which expectations failed."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from opsflow.contract import DATASETS, load_contracts
from opsflow.datasets import REASON, ROW, OpsData, ValidatedDataset
from opsflow.tasking import io_task
from tasks.reporting.render import render

SAMPLE_ROWS = 20
"""Quarantined rows shown per dataset in the report; the full list is in the quarantine file."""

TOP_REASONS = 3


def _order(names: set[str]) -> list[str]:
    known = [n for n in DATASETS if n in names]
    return known + sorted(names - set(known))


def _top_reasons(reasons: dict[str, int], n: int = TOP_REASONS) -> str:
    top = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return "; ".join(f"{reason} ({count:,})" for reason, count in top)


def quality_rows(data: OpsData, load_errors: dict[str, str]) -> list[dict[str, Any]]:
    """One row per dataset (loaded or not), in dependency order: the summary table of the report and the artifact."""
    rows: list[dict[str, Any]] = []
    for name in _order(set(data.datasets) | set(load_errors)):
        ds = data.datasets.get(name)
        if ds is None:
            rows.append(
                {
                    "dataset": name,
                    "source": "",
                    "rows_in": None,
                    "rows_used": None,
                    "rows_quarantined": None,
                    "quarantined_share": None,
                    "threshold": None,
                    "status": "not loaded",
                    "top_reasons": load_errors[name],
                }
            )
            continue
        q = ds.quality
        rows.append(
            {
                "dataset": name,
                "source": q.source,
                "rows_in": q.rows_in,
                "rows_read": q.rows_read,
                "rows_used": q.rows_used,
                "rows_quarantined": q.rows_quarantined,
                "quarantined_share": round(q.quarantined_share, 6),
                "threshold": q.threshold,
                "status": "ok" if q.usable else "over threshold",
                "top_reasons": _top_reasons(q.reasons),
            }
        )
    return rows


def _status(expectation: str, success: bool) -> str:
    if expectation == "not_checked":
        return "not checked"
    return "pass" if success else "fail"


def _dataset_context(ds: ValidatedDataset, key_columns: list[str]) -> dict[str, Any]:
    q = ds.quality
    sample = ds.quarantine.head(SAMPLE_ROWS)
    keys = [c for c in key_columns if c in sample.columns]
    columns = [ROW, REASON, *keys] + [c for c in sample.columns if c not in (ROW, REASON, *keys)]
    sample = sample.reindex(columns=columns)
    sample_rows = [["" if pd.isna(v) else str(v) for v in row] for row in sample.itertuples(index=False, name=None)]
    # Failures first, so the reader sees what went wrong without scrolling past every passing check.
    expectations = [
        {
            "description": e.description,
            "expectation": e.expectation,
            "column": e.column,
            "status": _status(e.expectation, e.success),
            "unexpected_count": e.unexpected_count,
        }
        for e in sorted(q.expectations, key=lambda e: (e.success, e.expectation == "not_checked"))
    ]
    return {
        "name": ds.name,
        "source": q.source,
        "rows_in": q.rows_in,
        "rows_read": q.rows_read,
        "rows_used": q.rows_used,
        "rows_quarantined": q.rows_quarantined,
        "share": q.quarantined_share,
        "threshold": q.threshold,
        "usable": q.usable,
        "reasons": sorted(q.reasons.items(), key=lambda kv: (-kv[1], kv[0])),
        "sample_columns": ["row", "reason", *columns[2:]],
        "sample_key_width": 2 + len(keys),
        "sample_rows": sample_rows,
        "quarantine_path": q.quarantine_path,
        "expectations": expectations,
        "noteworthy": [e for e in expectations if e["status"] != "pass"],
        "passed": sum(e["status"] == "pass" for e in expectations),
    }


def _key_columns(name: str) -> list[str]:
    """The columns that identify a row to a person: the primary key, else the first two contract columns."""
    contracts = load_contracts()
    if name not in contracts:
        return []
    c = contracts[name]
    return list(c.primary_key) or list(c.columns)[:2]


def quality_context(data: OpsData, load_errors: dict[str, str], title: str) -> dict[str, Any]:
    """Everything the data-quality templates show."""
    return {
        "title": title,
        "subtitle": None,
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "usable": data.usable and not load_errors,
        "summary": quality_rows(data, load_errors),
        "datasets": [_dataset_context(data.datasets[n], _key_columns(n)) for n in _order(set(data.datasets))],
        "load_errors": [(n, load_errors[n]) for n in _order(set(load_errors))],
    }


def render_quality_markdown(data: OpsData, load_errors: dict[str, str], title: str) -> str:
    """The data-quality report as Markdown."""
    return render("data_quality.md.j2", **quality_context(data, load_errors, title))


def render_quality_html(data: OpsData, load_errors: dict[str, str], title: str) -> str:
    """The data-quality report as a self-contained HTML page."""
    return render("data_quality.html.j2", **quality_context(data, load_errors, title))


def write_quality_report(data: OpsData, load_errors: dict[str, str], out_dir: Path, title: str) -> dict[str, Path]:
    """Write data-quality.html and data-quality.md into out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"html": out_dir / "data-quality.html", "md": out_dir / "data-quality.md"}
    paths["html"].write_text(render_quality_html(data, load_errors, title), encoding="utf-8")
    paths["md"].write_text(render_quality_markdown(data, load_errors, title), encoding="utf-8")
    return paths


def artifact_key(text: str) -> str:
    """A Prefect artifact key: lowercase letters, digits and dashes."""
    key = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return key or "data-quality"


def publish_quality_artifacts(data: OpsData, load_errors: dict[str, str], key: str) -> None:
    """Publish the summary as a Prefect table artifact and the full report as a Markdown artifact."""
    base = artifact_key(key)
    rows = quality_rows(data, load_errors)
    bad = [r["dataset"] for r in rows if r["status"] != "ok"]
    summary = f"Data quality: {len(rows) - len(bad)} of {len(rows)} datasets usable" + (
        f"; check {', '.join(bad)}" if bad else ""
    )
    create_table_artifact(table=rows, key=base, description=summary)
    create_markdown_artifact(
        markdown=render_quality_markdown(data, load_errors, "Data quality"), key=f"{base}-report", description=summary
    )


write_quality_report_task = io_task(
    write_quality_report, name="write_quality_report", retries=2, retry_delay_seconds=[2, 5]
)
publish_quality_artifacts_task = io_task(
    publish_quality_artifacts, name="publish_quality_artifacts", retries=2, retry_delay_seconds=[2, 5]
)
