"""Risk matrix, top risks, overdue mitigations and evidence contradictions on a small hand-checked register."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from opsflow.findings import Urgency
from opsflow.period import Period
from tasks.risk_management.register import RiskSection, compute_risks, implied_likelihood
from tests.helpers import frame

PERIOD = Period(date(2024, 6, 30))  # evidence window: [2023-07-02, 2024-07-01) UTC


def risk(rid: str, li: int, im: int, **kw: Any) -> dict[str, Any]:
    return dict(risk_id=rid, title=f"risk {rid}", category="operational", likelihood=li, impact=im,
                status=kw.pop("status", "open"), **kw)  # fmt: skip


def register() -> pd.DataFrame:
    return frame(
        "risks",
        [
            risk("R1", 1, 5, linked_service="S1", owner="Olga", mitigation_due="2024-06-01"),  # score 5
            risk("R2", 2, 3, linked_vendor="V1", owner="Vic", status="mitigating"),  # score 6
            risk("R3", 2, 2, linked_service="S2", owner="Sam"),  # score 4
            risk("R4", 2, 5, linked_vendor="V2", owner="Val"),  # score 10
            risk("R5", 3, 3, linked_service="S1"),  # score 9
            risk("R6", 1, 5, linked_vendor="V1", status="closed"),
            risk("R7", 5, 4, owner="Rae", mitigation_due="2024-06-29"),  # score 20
            risk("R8", 4, 5, mitigation_due="2024-06-30"),  # score 20, due today: not overdue
            risk("R9", 5, 4),  # score 20
        ],
    )


def incident(
    iid: str, service: str, opened: str, root: str | None = None, kind: str = "real", severity: str = "SEV2", **kw: Any
) -> dict[str, Any]:
    return dict(incident_id=iid, service=service, severity=severity, opened_at=opened, root_cause=root, kind=kind, **kw)


def incident_rows() -> list[dict[str, Any]]:
    return [
        incident("I1", "S1", "2024-03-01T10:00Z", "db-pool"),
        incident("I2", "S1", "2024-03-20T10:00Z", "db-pool"),  # 19 days after I1: a repeat
        incident("I3", "S1", "2024-05-01T10:00Z", "other", severity="SEV1"),
        # A SEV3 between I1 and I2 with the same cause: not a major incident, so neither counted nor a repeat.
        incident("I6", "S1", "2024-03-10T10:00Z", "db-pool", severity="SEV3"),
        incident("I4", "S1", "2024-06-01T10:00Z", "db-pool", kind="drill"),  # drills never count
        incident("I5", "S1", "2023-06-01T10:00Z", "db-pool"),  # before the 365 days
        # S2: 4 incidents with the same cause, 40 days apart: not repeats, but implied likelihood 4.
        *(incident(f"J{i}", "S2", d, "disk") for i, d in
          enumerate(["2024-01-01T00:00Z", "2024-02-10T00:00Z", "2024-03-21T00:00Z", "2024-04-30T00:00Z"])),
        # V2 caused 4 incidents (implied 4).
        *(incident(f"K{i}", "S3", f"2024-0{i}-15T00:00Z", vendor_id="V2") for i in range(1, 5)),
    ]  # fmt: skip


def services() -> pd.DataFrame:
    return frame("services", [dict(service_id="S1", name="Checkout", tier="critical"),
                              dict(service_id="S2", name="Storage", tier="standard")])  # fmt: skip


def run(rows: list[dict[str, Any]] | None = None, period: Period = PERIOD) -> RiskSection:
    incidents = frame("incidents", incident_rows() if rows is None else rows)
    return compute_risks(register(), incidents, services(), period, {"V1"})


def headline(section: RiskSection, key: str) -> float | None:
    return next(h.value for h in section.headlines if h.key == key)


def test_implied_likelihood_bands() -> None:
    counts = pd.Series([0, 1, 2, 3, 4, 11, 12, 40])
    assert implied_likelihood(counts).tolist() == [1, 2, 3, 3, 4, 4, 5, 5]


def test_matrix_top_risks_and_headlines() -> None:
    section = run()
    # Open: all but R6 (closed) = 8; high (>= 15): R7, R8, R9 = 3.
    assert headline(section, "risks.open") == 8 and headline(section, "risks.high") == 3
    assert section.heat_map[4][3] == 2  # R7 and R9 at likelihood 5, impact 4
    assert section.heat_map[0][4] == 1 and section.heat_map[3][4] == 1  # R1 (1, 5), R8 (4, 5)
    assert sum(map(sum, section.heat_map)) == 8
    assert len(section.heat_cells) == 25 and sum(c.risks for c in section.heat_cells) == 8
    # Score 20 three times: R8 has impact 5, then R7 before R9 by id; then R4 10, R5 9, R2 6, R1 5, R3 4.
    assert [r.risk_id for r in section.top_risks] == ["R8", "R7", "R9", "R4", "R5", "R2", "R1", "R3"]


def test_overdue_mitigations() -> None:
    section = run()
    assert headline(section, "risks.mitigations_overdue") == 2
    overdue = {o.risk_id: o for o in section.overdue_mitigations}
    assert overdue["R1"].days_overdue == 29 and overdue["R7"].days_overdue == 1  # R8 due on as_of: not overdue
    actions = {a.source: a for a in section.actions if a.kind == "mitigation_overdue"}
    assert actions["risk R7"].urgency == Urgency.URGENT and actions["risk R7"].owner == "Rae"  # score 20 >= 15
    assert actions["risk R1"].urgency == Urgency.IMPORTANT and actions["risk R1"].owner == "Olga"  # score 5


def test_contradictions_with_evidence() -> None:
    section = run()
    found = {c.risk_id: c for c in section.contradictions}
    assert set(found) == {"R1", "R2", "R3", "R4"} and headline(section, "risks.contradictions") == 4
    # R1: S1 had I1, I2 (SEV2), I3 (SEV1) in the 365 days = 3 major -> implied 3 (I6 is SEV3: not counted);
    # I1/I2 db-pool 19 days apart: repeat of 2 (not 3: I6 does not join it); rated 1.
    r1 = found["R1"]
    assert (r1.suggested_likelihood, r1.suggested_score) == (3, 15)
    assert "3 SEV1/SEV2 incidents on service Checkout" in r1.evidence and "2 with root cause 'db-pool'" in r1.evidence
    # R2: vendor V1 flagged, rated 2 -> suggested 3 (possible), score 3 x 3 = 9.
    assert found["R2"].suggested_likelihood == 3 and "flagged" in found["R2"].evidence
    # R3: 4 incidents on S2 40 days apart -> implied 4 >= 2 + 2; no repeat mentioned; score 4 x 2 = 8.
    assert found["R3"].suggested_likelihood == 4 and "repeat" not in found["R3"].evidence
    # R4: V2 caused 4 incidents -> implied 4 >= 2 + 2; score 4 x 5 = 20.
    assert found["R4"].suggested_score == 20 and "4 SEV1/SEV2 incidents caused by vendor V2" in found["R4"].evidence
    # R5 (S1, rated 3) is consistent: implied 3 < 3 + 2 and not rated <= 2. R6 is closed.
    urgency = {a.source: a.urgency for a in section.actions if a.kind == "risk_rerate"}
    # Re-rating is important whatever the suggested score (R1 15, R4 20): a rating is not an outage.
    assert urgency == {"risk R1": Urgency.IMPORTANT, "risk R2": Urgency.IMPORTANT, "risk R3": Urgency.IMPORTANT,
                       "risk R4": Urgency.IMPORTANT}  # fmt: skip
    r1_action = next(a for a in section.actions if a.source == "risk R1" and a.kind == "risk_rerate")
    assert r1_action.owner == "Olga" and "rated 1 (rare)" in r1_action.text


def test_point_in_time_later_incidents_change_nothing() -> None:
    berlin = Period(date(2024, 6, 30), "Europe/Berlin")  # ends 2024-06-30 22:00 UTC
    early = run(period=berlin)
    later = run(
        incident_rows()
        + [
            incident("L1", "S2", "2024-06-30T22:30Z", "disk"),  # 1 July 00:30 in Berlin: after as_of
            incident("L2", "S1", "2024-07-02T10:00Z", "db-pool"),
            *(incident(f"L{i}", "S3", "2024-07-03T00:00Z", vendor_id="V2") for i in range(3, 20)),
        ],
        period=berlin,
    )
    assert early.model_dump(exclude={"basis"}) == later.model_dump(exclude={"basis"})
    used = next(b for b in later.basis if b.metric == "incident evidence")
    # I1-I3 + J0-J3 + K1-K4 = 11 used; excluded: I4 drill, I5 before the window, L1, L2, L3..L19 after as_of,
    # I6 a SEV3.
    assert used.rows_used == 11 and used.rows_excluded == 22
    assert used.reasons == {
        "drill or maintenance": 1,
        "opened before the 365 days ending as_of": 1,
        "opened after as_of (unknown then)": 19,
        "SEV3 or SEV4 (not a major incident)": 1,
    }


def test_missing_and_empty_inputs() -> None:
    missing = compute_risks(None, None, None, PERIOD, set())
    assert missing.available is False and all(h.value is None for h in missing.headlines)
    # Without incidents only the vendor flag can contradict a rating: R2 (V1 flagged).
    no_incidents = compute_risks(register(), None, None, PERIOD, {"V1"})
    assert [c.risk_id for c in no_incidents.contradictions] == ["R2"] and no_incidents.note
    empty = compute_risks(frame("risks", []), frame("incidents", []), None, PERIOD, set())
    assert headline(empty, "risks.open") == 0 and empty.heat_map == [[0] * 5 for _ in range(5)] and empty.note


def test_only_major_incidents_are_evidence() -> None:
    # R10: service S4, rated likelihood 2, impact 3. R11: vendor V9, rated 2, impact 4 (V9 not flagged).
    register = frame("risks", [risk("R10", 2, 3, linked_service="S4"), risk("R11", 2, 4, linked_vendor="V9")])
    # 40 SEV4 on S4, one a week from 2023-08-01, all root cause 'disk' (7 days apart) and all caused by V9: counting
    # every ticket would imply likelihood 5 and repeats. Only SEV1/SEV2 count: 0 -> implied 1, no repeat.
    weekly = pd.date_range("2023-08-01", periods=40, freq="7D").strftime("%Y-%m-%dT%H:%MZ")
    minor = [incident(f"M{i}", "S4", d, "disk", severity="SEV4", vendor_id="V9") for i, d in enumerate(weekly)]
    quiet = compute_risks(register, frame("incidents", minor), None, PERIOD, set())
    assert quiet.contradictions == []

    # Add 4 major incidents on S4 (SEV1, SEV2, SEV2, SEV1), 40 days apart and each with its own cause: no repeat,
    # but 4 -> implied 4 >= 2 + 2: R10 is contradicted, suggested 4 x 3 = 12 (important). They were not caused
    # by V9, so R11 stays consistent.
    major = [
        incident(f"B{i}", "S4", d, f"cause-{i}", severity=sev)
        for i, (d, sev) in enumerate([("2024-01-01T00:00Z", "SEV1"), ("2024-02-10T00:00Z", "SEV2"),
                                      ("2024-03-21T00:00Z", "SEV2"), ("2024-04-30T00:00Z", "SEV1")])
    ]  # fmt: skip
    loud = compute_risks(register, frame("incidents", minor + major), None, PERIOD, set())
    (found,) = loud.contradictions
    assert (found.risk_id, found.suggested_likelihood, found.suggested_score) == ("R10", 4, 12)
    assert "4 SEV1/SEV2 incidents on service S4" in found.evidence and "repeat" not in found.evidence
    used = next(b for b in loud.basis if b.metric == "incident evidence")
    assert (used.rows_used, used.reasons) == (4, {"SEV3 or SEV4 (not a major incident)": 40})


def test_repeat_needs_two_major_incidents() -> None:
    # R12: service S5 rated 2. A SEV1 and a SEV3 with the same cause 10 days apart: only 1 major -> implied 2, no
    # repeat, consistent. Make the SEV3 a SEV2: 2 major with the same cause within 30 days -> repeat; implied 3.
    register = frame("risks", [risk("R12", 2, 4, linked_service="S5")])
    rows = [incident("P1", "S5", "2024-05-01T00:00Z", "dns", severity="SEV1"),
            incident("P2", "S5", "2024-05-11T00:00Z", "dns", severity="SEV3")]  # fmt: skip
    assert compute_risks(register, frame("incidents", rows), None, PERIOD, set()).contradictions == []
    rows[1]["severity"] = "SEV2"
    (found,) = compute_risks(register, frame("incidents", rows), None, PERIOD, set()).contradictions
    assert "2 with root cause 'dns' within 30 days" in found.evidence
    assert (found.suggested_likelihood, found.suggested_score) == (3, 12)


def test_evidence_changes_a_risk_only_when_it_matches_what_the_risk_is_about() -> None:
    # S1 (Checkout) had 4 major outages in the year (implied likelihood 4), none a security incident; V2 caused 4
    # major incidents (implied 4) and is flagged. Every risk below is rated 1 or 2, so an unmatched rule would flag
    # them all (4 >= 1 + 2).
    rows = [incident(f"O{i}", "S1", f"2024-0{i}-10T10:00Z", "deploy-regression", vendor_id="V2") for i in range(1, 5)]
    rows.append(incident("X1", "S2", "2024-05-10T10:00Z", "security-intrusion"))  # 1 security incident: implied 2

    def named(rid: str, li: int, im: int, **kw: Any) -> dict[str, Any]:
        return dict(risk_id=rid, likelihood=li, impact=im, status="open", **kw)

    risks = frame(
        "risks",
        [
            named("A", 2, 4, title="Checkout outage blocks orders", category="technology", linked_service="S1"),
            named("B", 1, 5, title="Unpatched vulnerability in Checkout is exploited", category="technology",
                 linked_service="S1"),
            named("C", 1, 5, title="Vendor Two becomes insolvent", category="vendor", linked_vendor="V2"),
            named("D", 2, 3, title="Vendor Two raises prices above budget", category="vendor", linked_vendor="V2"),
            named("E", 1, 4, title="Vendor Two misses delivery promises", category="vendor", linked_vendor="V2"),
            named("F", 1, 4, title="Single engineer knows how to recover Checkout", category="technology",
                 linked_service="S1"),
            named("G", 1, 5, title="Storage data breach exposes customer data", category="technology",
                 linked_service="S2"),
        ],
    )  # fmt: skip
    section = compute_risks(risks, frame("incidents", rows), services(), PERIOD, {"V2"})
    found = {c.risk_id: c for c in section.contradictions}
    # A: availability risk on S1, 4 outages -> 4 >= 2 + 2. E: vendor performance, V2 flagged and 4 incidents -> 4.
    # B (security) has no security incident on S1; C and D (solvency, prices) and F (key person) take no incident
    # or delivery evidence; G: 1 security incident on S2 -> implied 2 < 1 + 2.
    assert set(found) == {"A", "E"}
    assert found["A"].evidence.startswith("availability risk: 4 SEV1/SEV2 incidents on service Checkout")
    assert found["E"].suggested_likelihood == 4 and found["E"].evidence.startswith("vendor performance risk:")
    # Two more security incidents on S2 (3 in all -> implied 3 >= 1 + 2) make G a contradiction, and only G.
    rows += [incident(f"X{i}", "S2", f"2024-0{i}-12T10:00Z", "phishing") for i in (2, 3)]
    section = compute_risks(risks, frame("incidents", rows), services(), PERIOD, {"V2"})
    found = {c.risk_id: c for c in section.contradictions}
    assert set(found) == {"A", "E", "G"} and found["G"].suggested_likelihood == 3
    assert found["G"].evidence.startswith("security risk: 3 SEV1/SEV2 security incidents on service Storage")


def test_high_risks_without_an_if_then_plan_are_listed() -> None:
    # High open risks (score >= 15): R7, R8, R9 (20 each). R8 has a trigger and a response; R9 only a trigger, which
    # is not a plan. So R7 and R9 are listed (score ties by id), with one important action for both.
    risks = register()
    risks["contingency_trigger"] = pd.array(
        [None, None, None, None, None, None, None, "Forklift fleet below 60%", "Hall C alarm"], dtype="string"
    )
    risks["contingency_response"] = pd.array(
        [None, None, None, None, None, None, None, "Lease from the backup vendor", " "], dtype="string"
    )
    section = compute_risks(risks, frame("incidents", incident_rows()), services(), PERIOD, {"V1"})
    assert [r.risk_id for r in section.without_plan] == ["R7", "R9"]
    assert headline(section, "risks.without_plan") == 2
    (action,) = [a for a in section.actions if a.kind == "contingency_plan_missing"]
    assert action.text == (
        "Write an if-then contingency plan (trigger, response, owner) for 2 high risk(s) without one: R7, R9."
    )
    assert action.urgency == "important" and action.owner == "Rae"
