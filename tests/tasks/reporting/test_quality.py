"""Tests of tasks/reporting/quality.py: the summary rows, and the report in both formats."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from opsflow.config import WorkspaceConfig
from opsflow.datasets import OpsData
from tasks.data.validate import validate_workspace
from tasks.reporting.quality import artifact_key, quality_rows, render_quality_markdown, write_quality_report
from tests.tasks.data.test_validate import INCIDENTS, incident, loaded, vendor

HOSTILE_TITLE = "<script>alert(1)</script> | x | **y**"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> OpsData:
    # vendors: 2 rows, V2 has ontime_target 1.5 -> 1 quarantined of 2 (50%).
    # incidents: the 6 rows of test_validate (rows 3, 4, 5, 6 bad) plus one with a hostile title and severity:
    # 5 quarantined of 7 (71.4%); INC4 names V999, unknown -> quarantined.
    config = WorkspaceConfig.model_validate(
        {
            "sources": {"vendors": {"path": "v.csv"}, "incidents": {"path": "i.csv"}},
            "quality": {"per_dataset": {"vendors": 0.5}},
        }
    )
    rows = [*INCIDENTS, incident("INC|7", title=HOSTILE_TITLE, severity="*bad*")]
    vendors = [vendor("V1"), vendor("V2", ontime_target=1.5)]
    return validate_workspace(
        {"incidents": loaded("incidents", rows), "vendors": loaded("vendors", vendors)},
        config,
        tmp_path_factory.mktemp("quarantine"),
    )


def test_quality_rows(data: OpsData) -> None:
    rows = quality_rows(data, {"risks": "risks.xlsx: no sheet 'Register'"})
    assert [r["dataset"] for r in rows] == ["vendors", "incidents", "risks"]
    vendors, incidents, risks = rows
    # vendors: 1 of 2 quarantined = 50%, threshold 50% -> still ok.
    assert (vendors["rows_in"], vendors["rows_used"], vendors["rows_quarantined"]) == (2, 1, 1)
    assert (vendors["quarantined_share"], vendors["threshold"], vendors["status"]) == (0.5, 0.5, "ok")
    # incidents: 5 of 7 = 0.714286 > 5%.
    assert (incidents["rows_in"], incidents["rows_used"], incidents["rows_quarantined"]) == (7, 2, 5)
    assert incidents["quarantined_share"] == round(5 / 7, 6)
    assert incidents["status"] == "over threshold"
    # severity fails twice (SEV9, *bad*); the three single reasons tie and sort by name.
    assert incidents["top_reasons"] == (
        "severity: not allowed (2); incident_id: duplicate (1); resolved_at: earlier than opened_at (1)"
    )
    assert risks["status"] == "not loaded"
    assert risks["top_reasons"] == "risks.xlsx: no sheet 'Register'"


def test_markdown_report_has_the_summary_table_and_is_inert(data: OpsData) -> None:
    md = render_quality_markdown(data, {}, HOSTILE_TITLE)
    lines = md.splitlines()
    assert lines[0] == r"# \<script>alert(1)\</script> \| x \| \*\*y\*\*"
    header = "| Dataset | Source | Rows in | Used | Quarantined | Share | Threshold | Status | Top reasons |"
    start = lines.index(header)
    assert (
        lines[start + 2]
        == "| vendors | vendors.csv | 2 | 1 | 1 | 50.0% | 50.0% | ok | ontime\\_target: out of range (1) |"
    )
    assert lines[start + 3].startswith("| incidents | incidents.csv | 7 | 2 | 5 | 71.4% | 5.0% | over threshold |")
    # The quarantined row with a hostile id keeps its table intact: the pipe is escaped.
    assert r"| 8 | severity: '\*bad\*' is not one of SEV1, SEV2, SEV3, SEV4 | INC\|7 |" in lines
    # Every '<' that could open a tag is backslash-escaped (CommonMark renders it as text).
    assert not re.search(r"(?<!\\)<script>", md)
    assert "| incident\\_id is unique | fail | 2 |" in lines


def test_write_quality_report(data: OpsData, tmp_path: Path) -> None:
    paths = write_quality_report(data, {"risks": "risks.xlsx: <no sheet>"}, tmp_path, HOSTILE_TITLE)
    assert paths == {"html": tmp_path / "data-quality.html", "md": tmp_path / "data-quality.md"}
    html = paths["html"].read_text(encoding="utf-8")
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; | x | **y**" in html
    assert "risks.xlsx: &lt;no sheet&gt;" in html
    assert "incidents.quarantine.csv" in html
    assert "resolved_at: earlier than opened_at (2026-03-01 10:00 &lt; 2026-03-02 09:00)" in html
    assert paths["md"].read_text(encoding="utf-8").startswith(r"# \<script>")


def test_artifact_key() -> None:
    assert artifact_key("Data Quality: ACME_2026-W10") == "data-quality-acme-2026-w10"


def test_publish_quality_artifacts_creates_a_table_and_a_markdown_artifact(data: OpsData) -> None:
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from tasks.reporting.quality import publish_quality_artifacts

    @flow(name="publish-quality-test")
    def publish() -> None:
        publish_quality_artifacts(data, {"risks": "risks.xlsx: no sheet"}, "Data Quality Test")

    publish()
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=["data-quality-test", "data-quality-test-report"])
            )
        )
    by_key = {a.key: a for a in found}
    assert by_key["data-quality-test"].type == "table"
    assert "incidents" in str(by_key["data-quality-test"].data)
    assert by_key["data-quality-test"].description == "Data quality: 1 of 3 datasets usable; check incidents, risks"
    assert by_key["data-quality-test-report"].type == "markdown"
    assert "| Dataset | Source |" in str(by_key["data-quality-test-report"].data)
