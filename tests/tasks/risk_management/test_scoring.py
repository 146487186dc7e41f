"""Treatment rule, evidence re-rating, risks suggested from history and the register re-assessment, by hand."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import pytest

from opsflow.findings import Headline, Urgency
from opsflow.period import Period
from tasks.risk_management.register import Contradiction, RiskSection
from tasks.risk_management.scoring import (
    RatedRisk,
    Treatment,
    assess_register,
    assessment_kpis,
    rate_register,
    suggest_from_history,
    suggest_treatment,
    treatment_gap,
)
from tests.helpers import frame

PERIOD = Period(date(2026, 3, 29))  # evidence window: [2025-03-30, 2026-03-30) UTC


@pytest.mark.parametrize(
    ("likelihood", "impact", "category", "backup", "expected"),
    [
        (1, 5, "technology", None, Treatment.ACCEPT),  # 5 < 8: low
        (2, 3, "vendor", "V9", Treatment.ACCEPT),  # 6 < 8: low even with a backup
        (3, 4, "vendor", "V9", Treatment.TRANSFER),  # 12 and a backup vendor
        (4, 4, "financial", None, Treatment.TRANSFER),  # 16, outside our control
        (3, 3, "strategic", None, Treatment.ACCEPT),  # 9, outside our control
        (4, 5, "technology", None, Treatment.AVOID),  # 20
        (3, 5, "operational", None, Treatment.MITIGATE),  # 15
        (2, 4, "people", None, Treatment.MITIGATE),  # 8 with impact 4
        (3, 3, "operational", None, Treatment.ACCEPT),  # 9 with impact 3
    ],
)
def test_treatment_rule(likelihood: int, impact: int, category: str, backup: str | None, expected: Treatment) -> None:
    assert suggest_treatment(likelihood, impact, category, backup) == expected


def test_treatment_gap() -> None:
    assert treatment_gap(None, Treatment.ACCEPT)  # nothing recorded
    assert treatment_gap("accept", Treatment.MITIGATE)
    assert not treatment_gap("mitigate", Treatment.ACCEPT)  # doing more than the rule asks is no gap
    assert not treatment_gap("transfer", Treatment.MITIGATE)


def _risk(rid: str, li: int, im: int, **kw: Any) -> dict[str, Any]:
    return dict(risk_id=rid, title=f"risk {rid}", category=kw.pop("category", "operational"), likelihood=li,
                impact=im, status=kw.pop("status", "open"), **kw)  # fmt: skip


def _vendors() -> pd.DataFrame:
    return frame(
        "vendors",
        [
            {"vendor_id": "V1", "name": "Carrier One", "ontime_target": 0.95, "quality_target": 0.98,
             "renewal_date": "2026-12-31", "backup_vendor_id": "V9"},
            {"vendor_id": "V2", "name": "Carrier Two", "ontime_target": 0.95, "quality_target": 0.98,
             "renewal_date": "2026-12-31"},
            {"vendor_id": "V9", "name": "Backup Carrier", "ontime_target": 0.95, "quality_target": 0.98,
             "renewal_date": "2026-12-31"},
        ],
    )  # fmt: skip


def _evidence(*contradictions: tuple[str, int, int]) -> RiskSection:
    return RiskSection(
        contradictions=[
            Contradiction(
                risk_id=rid, title=f"risk {rid}", rated_likelihood=1, impact=impact, evidence="the data says so",
                suggested_likelihood=suggested, suggested_score=suggested * impact,
            )
            for rid, suggested, impact in contradictions
        ]
    )  # fmt: skip


def test_rate_register_raises_what_the_evidence_contradicts() -> None:
    risks = frame(
        "risks",
        [
            _risk("R1", 1, 4, category="vendor", linked_vendor="V1", treatment="mitigate"),
            _risk("R2", 5, 5, status="closed"),
            _risk("R3", 2, 2, treatment="accept"),
        ],
    )
    rated = {r.risk_id: r for r in rate_register(risks, _evidence(("R1", 3, 4)), _vendors())}
    assert set(rated) == {"R1", "R3"}, "closed risks are not rated"
    # R1: rated 1, evidence 3 -> 3 x 4 = 12, vendor V1 has backup V9 -> transfer.
    r1 = rated["R1"]
    assert (r1.rated_likelihood, r1.likelihood, r1.score, r1.rated_score) == (1, 3, 12, 4)
    assert r1.treatment == Treatment.TRANSFER and r1.backup_vendor == "V9" and r1.evidence == "the data says so"
    assert rated["R3"].score == 4 and rated["R3"].treatment == Treatment.ACCEPT


def _incidents() -> pd.DataFrame:
    def inc(iid: str, service: str, opened: str, severity: str = "SEV1", **kw: Any) -> dict[str, Any]:
        return dict(incident_id=iid, service=service, severity=severity, opened_at=opened, kind="real", **kw)

    return frame(
        "incidents",
        [
            inc("I1", "wms", "2025-06-01T10:00Z", root_cause="disk"),  # wms: 2 major in the year -> implied 3
            inc("I2", "wms", "2025-12-01T10:00Z", root_cause="network"),
            inc("I3", "erp", "2026-01-10T10:00Z", severity="SEV2"),  # erp: 1 -> implied 2, no contradiction
            inc("I4", "erp", "2026-01-11T10:00Z", severity="SEV3"),  # minor: never evidence
        ],
    )


def _services() -> pd.DataFrame:
    return frame(
        "services",
        [
            {"service_id": "wms", "name": "Warehouse Management", "tier": "critical"},
            {"service_id": "erp", "name": "ERP", "tier": "standard"},
        ],
    )


def test_suggested_from_history() -> None:
    suggested = suggest_from_history(
        ["wms", "erp"], ["V1", "V2"], [], _incidents(), _services(), _vendors(), PERIOD, {"V1"}
    )
    by_id = {r.risk_id: r for r in suggested}
    assert set(by_id) == {"NEW-wms", "NEW-V1"}, "erp (1 major incident) and V2 (not flagged) raise nothing"
    # wms: 2 SEV1 in the year -> implied likelihood 3; critical tier -> impact 4; 12 with impact 4 -> mitigate.
    wms = by_id["NEW-wms"]
    assert (wms.likelihood, wms.impact, wms.score, wms.treatment) == (3, 4, 12, Treatment.MITIGATE)
    assert wms.source == "suggested" and "2 SEV1/SEV2 incidents" in (wms.evidence or "")
    # V1 is flagged -> likelihood 3 (the weekly audit's rule); a vendor -> impact 4; backup V9 -> transfer.
    v1 = by_id["NEW-V1"]
    assert (v1.likelihood, v1.impact, v1.treatment, v1.backup_vendor) == (3, 4, Treatment.TRANSFER, "V9")


def test_no_suggestion_when_the_register_already_carries_it() -> None:
    carried = RatedRisk(
        risk_id="R1", title="WMS outage", category="technology", source="register", linked_service="wms",
        status="open", rated_likelihood=3, likelihood=3, impact=5, rated_score=15, score=15,
        treatment=Treatment.MITIGATE,
    )  # fmt: skip
    suggested = suggest_from_history(["wms"], [], [carried], _incidents(), _services(), _vendors(), PERIOD, set())
    assert suggested == []


def test_assess_register_plan_due_dates_and_heat_maps() -> None:
    risks = frame(
        "risks",
        [
            # 3 x 5 = 15, mitigation due 2026-01-13 (overdue): re-planned 14 days after as_of.
            _risk("R1", 3, 5, owner="Lukas", treatment="mitigate", mitigation_due="2026-01-13", status="mitigating"),
            # 1 x 4 rated, evidence 3 -> 12 (medium, impact 4 -> mitigate); due min(as_of + 90, 2026-05-01).
            _risk("R2", 1, 4, owner="Julia", treatment="mitigate", mitigation_due="2026-05-01"),
            # 1 x 1, accept: low, reviewed within 180 days.
            _risk("R3", 1, 1, treatment="accept"),
        ],
    )
    section = assess_register(risks, _evidence(("R2", 3, 4)), _vendors(), PERIOD)
    plan = {x.risk_id: x for x in section.treatment_plan}
    assert [x.risk_id for x in section.treatment_plan] == ["R1", "R2", "R3"], "highest suggested score first"
    assert plan["R1"].due == date(2026, 4, 12) and plan["R1"].mitigation_overdue and plan["R1"].band == "high"
    assert plan["R2"].due == date(2026, 5, 1) and plan["R2"].suggested_score == 12
    assert plan["R3"].due == date(2026, 9, 25) and plan["R3"].treatment == Treatment.ACCEPT
    assert section.heat_map_before[2][4] == 1 and section.heat_map_before[0][3] == 1 and section.heat_map_before[0][0]
    assert section.heat_map_after[2][3] == 1 and section.heat_map_after[0][3] == 0
    figures = {h.key: h.value for h in section.headlines}
    assert figures["risk_assessment.open"] == 3
    assert figures["risk_assessment.rerated"] == 1
    assert figures["risk_assessment.high_overdue"] == 1
    assert figures["risk_assessment.high_before"] == 1 and figures["risk_assessment.high_after"] == 1
    urgency = {a.source: a.urgency for a in section.actions}
    # R1: high and overdue -> urgent; R2: raised but medium -> important; R3: nothing to do.
    assert urgency == {"risk R1": Urgency.URGENT, "risk R2": Urgency.IMPORTANT}


def test_assessment_kpis_follow_weekly_audit_figures() -> None:
    evidence = RiskSection(
        headlines=[
            Headline(key="risks.mitigations_overdue", label="Mitigations overdue", value=4),
            Headline(key="risks.contradictions", label="Ratings the evidence contradicts", value=2),
            Headline(key="risks.open", label="Open risks", value=40),
        ]
    )
    kpis = {k.metric_key: k for k in assessment_kpis(evidence, PERIOD.as_of)}
    assert set(kpis) == {"risks.mitigations_overdue", "risks.contradictions"}
    assert kpis["risks.mitigations_overdue"].baseline == 4 and kpis["risks.contradictions"].baseline == 2
    assert all(
        k.target == 0.0 and k.direction == "decrease" and k.source_flow == "risk-assessment" for k in kpis.values()
    )


def test_a_rising_likelihood_never_weakens_the_treatment() -> None:
    risks = frame(
        "risks",
        [
            # R-0097 on the sample: rated 2 x 4 = 8 with "avoid"; evidence 3 -> 12: the rule alone says mitigate
            # (8..14 with impact 4), weaker than avoid: avoid is kept.
            _risk("R1", 2, 4, category="technology", treatment="avoid"),
            # Rated 1 x 3 = 3 "mitigate", evidence 2 -> 6 < 8: the rule says accept; mitigate is kept.
            _risk("R2", 1, 3, treatment="mitigate"),
            # Not raised (no evidence): the rule's treatment, accept, even though the register says avoid.
            _risk("R3", 1, 3, treatment="avoid"),
            # Raised 1 -> 5 with impact 4 = 20: the rule's avoid is stronger than the register's accept.
            _risk("R4", 1, 4, treatment="accept"),
        ],
    )
    rated = {r.risk_id: r for r in rate_register(risks, _evidence(("R1", 3, 4), ("R2", 2, 3), ("R4", 5, 4)), None)}
    assert {k: (r.score, r.treatment) for k, r in rated.items()} == {
        "R1": (12, Treatment.AVOID),
        "R2": (6, Treatment.MITIGATE),
        "R3": (3, Treatment.ACCEPT),
        "R4": (20, Treatment.AVOID),
    }
