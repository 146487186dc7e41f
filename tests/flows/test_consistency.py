"""One truth per concept: four flows on the same sample workspace and as_of agree on every shared figure and status
(flagged vendors, SLO statuses, KPI values and statuses), read from the reports they write."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flows.daily_brief import DailyBriefParams, daily_brief
from flows.performance_review import PerformanceReviewParams, performance_review
from flows.vendor_sla_review import VendorSlaReviewParams, vendor_sla_review
from flows.weekly_audit import WeeklyAuditParams, weekly_audit
from tests.conftest import SAMPLE_END

GRADE_TO_RECOMMENDATION = {
    "A": {"KEEP"},
    "B": {"KEEP"},
    "C": {"REVIEW"},
    "D": {"REVIEW", "REPLACE"},
    None: {"KEEP", "REVIEW"},
}
"""The review's one rule: a grade fixes the recommendation (D is REVIEW on fewer than 10 deliveries)."""


def _report(result: Any) -> dict[str, dict[str, Any]]:
    report = json.loads((Path(result.report_html).parent / "report.json").read_text(encoding="utf-8"))
    return {s["name"]: s for s in report["sections"]}


def _headlines(section: dict[str, Any]) -> dict[str, Any]:
    return {h["key"]: h["value"] for h in section["headlines"]}


@pytest.mark.slow
def test_audit_brief_vendor_review_and_performance_review_agree(workspace: Path) -> None:
    audit = _report(weekly_audit(WeeklyAuditParams(workspace=workspace, as_of=SAMPLE_END, post_to_slack=False)))
    brief = _report(daily_brief(DailyBriefParams(workspace=workspace, as_of=SAMPLE_END, post_to_slack=False)))
    review = _report(
        vendor_sla_review(VendorSlaReviewParams(workspace=workspace, as_of=SAMPLE_END, post_to_slack=False))
    )
    performance = _report(
        performance_review(PerformanceReviewParams(workspace=workspace, period_end=SAMPLE_END, post_to_slack=False))
    )

    # Flagged vendors: one rule, one set, in every report.
    vendors = audit["vendors"]
    flagged = set(vendors["flagged_vendor_ids"])
    assert flagged, "the sample has vendors below contract with repeat violations"
    assert _headlines(vendors)["vendors.flagged"] == len(flagged)
    [brief_section] = brief.values()
    assert _headlines(brief_section)["vendors.flagged"] == len(flagged)
    assert {r["vendor_id"] for r in review["scorecard"]["scorecard"] if r["flagged"]} == flagged
    assert {r["vendor_id"] for r in review["flagged"]["flagged"]} == flagged
    assert _headlines(review["scorecard"])["vendor_review.flagged"] == len(flagged)
    # No more than the vendors below contract with three or more violation days; violation days never exceed 30.
    below_and_repeat = {
        r["vendor_id"] for r in vendors["scorecard"] if r["below_threshold"] and r["violations_30d"] >= 3
    }
    assert flagged == below_and_repeat
    assert all(r["violations_30d"] <= 30 for r in vendors["scorecard"])
    # Grade and recommendation cannot contradict; the review's rates are the audit's.
    audit_rows = {r["vendor_id"]: r for r in vendors["scorecard"]}
    for row in review["scorecard"]["scorecard"]:
        assert row["recommendation"] in GRADE_TO_RECOMMENDATION[row["grade"]], row
        assert row["ontime_30d"] == audit_rows[row["vendor_id"]]["ontime_rate"]
        assert row["violations_30d"] == audit_rows[row["vendor_id"]]["violations_30d"]

    # SLO statuses: the audit's section, its headlines and the brief's copies agree.
    sla = audit["sla"]
    statuses = [b["slo_status"] for b in sla["error_budgets"]]
    sla_headlines = _headlines(sla)
    assert sla_headlines["sla.breached"] == statuses.count("breached")
    assert sla_headlines["sla.breach_imminent"] == statuses.count("breach imminent")
    brief_headlines = _headlines(brief_section)
    assert (brief_headlines["sla.breached"], brief_headlines["sla.breach_imminent"]) == (
        sla_headlines["sla.breached"],
        sla_headlines["sla.breach_imminent"],
    )
    assert statuses.count("breached") >= 1, "the sample has exhausted budgets"
    # An exhausted budget is never called imminent, whatever it burns this week.
    assert all(b["slo_status"] == "breached" for b in sla["error_budgets"] if b["status"] == "exhausted")
    breached_actions = [a for a in sla["actions"] if a["kind"] == "sla_breached"]
    assert len(breached_actions) == statuses.count("breached")
    assert not any("imminent" in a["text"] for a in breached_actions)

    # KPIs: the performance review and the audit give every KPI the same value and status; a sourced KPI shows its
    # section's figure (K-16: checkout's 30-day compliance; K-18: the vendor section's on-time rate).
    audit_kpis = {k["kpi_id"]: k for k in audit["kpis"]["kpis"]}
    review_kpis = {k["kpi_id"]: k for k in performance["kpis"]["kpis"]}
    for kpi_id, row in audit_kpis.items():
        other = review_kpis[kpi_id]
        assert (other["latest_value"], other["status"]) == (row["latest_value"], row["status"]), kpi_id
    checkout = next(b for b in sla["error_budgets"] if (b["category"], b["service"]) == ("uptime", "checkout"))
    k16 = audit_kpis["K-16"]
    assert k16["latest_value"] == pytest.approx(round(100 * (1 - checkout["error_ratio_30d"]), 6))
    if checkout["slo_status"] == "breached":
        assert k16["status"] == "off_track"
    assert audit_kpis["K-18"]["latest_value"] == pytest.approx(
        round(100 * _headlines(vendors)["vendors.ontime.30d"], 6)
    )
