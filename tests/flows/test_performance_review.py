"""performance-review on the sample company: K-07 and K-08 off track, all four perspectives, trends, history."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from flows.performance_review import PerformanceReviewParams, PerformanceReviewResult, performance_review
from opsflow.history import open_history
from tests.conftest import SAMPLE_END

START = SAMPLE_END - timedelta(days=89)


def test_review_finds_the_sample_kpis_behind_and_every_perspective(workspace: Path) -> None:
    result = performance_review(PerformanceReviewParams(workspace=workspace, period_start=START, period_end=SAMPLE_END))
    assert isinstance(result, PerformanceReviewResult), result
    assert {"K-07", "K-08"} <= set(result.off_track), "the sample's story: pick-to-ship time and shipping on time"
    assert result.perspectives == ["financial", "customer", "internal_process", "learning_growth"]
    out = workspace / "reports" / "performance-review" / f"{START}_{SAMPLE_END}"
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    review = next(s for s in report["sections"] if s["name"] == "performance")
    trends = {t["kpi_id"]: t for t in review["trends"]}
    assert trends["K-08"]["trend"] == "worsening", "K-08 drops from ~97% to ~91% in the final weeks"
    assert trends["K-08"]["value_at_end"] < trends["K-08"]["value_at_start"]
    okrs = {o["objective"]: o for o in review["okrs"]}
    assert "K-07" in okrs["Ship every order the same day"]["off_track_kpis"]
    assert {r["period"] for r in review["by_period"]} == {"2025-12", "2026-01", "2026-02", "2026-03"}
    html = result.report_html.read_text(encoding="utf-8")
    assert "Performance review" in html and "data:image/png;base64," in html
    assert (out / "slack-payload.json").exists(), "no Slack configured: the payload is saved next to the report"
    store = open_history(workspace)
    [run] = store.list_runs("performance-review")
    store.close()
    assert run.period_key == f"{START}_{SAMPLE_END}" and (run.headlines["kpis.off_track.count"] or 0) >= 2
