"""The bench's DuckDB baseline computes the weekly audit's incident figures and SLA error budgets independently, in
SQL from the raw exports: on the sample, every one of them equals what the audit reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.duckdb_baseline import compare, run
from flows.weekly_audit import WeeklyAuditParams, WeeklyAuditResult, weekly_audit
from tests.conftest import SAMPLE_END

pytest.importorskip("duckdb")


def test_duckdb_and_the_audit_agree_on_every_figure(workspace: Path) -> None:
    result = weekly_audit(WeeklyAuditParams(workspace=workspace, as_of=SAMPLE_END, post_to_slack=False))
    assert isinstance(result, WeeklyAuditResult), result
    report = json.loads((result.report_html.parent / "report.json").read_text(encoding="utf-8"))
    baseline = run(workspace, SAMPLE_END)
    agree, differ = compare(baseline, report)
    assert differ == []
    # Ten headline figures plus one error budget per (category, service) pair the sample measures.
    assert agree == 10 + len(baseline["budgets"])
    assert len(baseline["budgets"]) > 5
    assert baseline["figures"]["incidents.week.total"] > 0
