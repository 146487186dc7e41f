"""The Incidents section on small hand-checked incident logs."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import pytest

from opsflow.findings import Urgency
from opsflow.period import Period
from tasks.incidents.metrics import IncidentSection, compute_incidents
from tests.helpers import frame

# The week is [2026-03-02, 2026-03-09) UTC; the month to date [2026-03-01, 2026-03-09);
# 30 days back from the end: 2026-02-07; 90 days back: 2025-12-09.
PERIOD = Period(date(2026, 3, 8))
END = pd.Timestamp("2026-03-09", tz="UTC")


def inc(incident_id: str, service: str, severity: str, opened_at: str, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict(incident_id=incident_id, service=service, severity=severity, opened_at=opened_at)
    return {"kind": "real", **row, **extra}


def headline(section: IncidentSection, key: str) -> float | None:
    return next(h.value for h in section.headlines if h.key == key)


def week_log() -> pd.DataFrame:
    return frame(
        "incidents",
        [
            inc(
                "A1",
                "pay",
                "SEV1",
                "2026-03-02 10:00",
                acknowledged_at="2026-03-02 10:10",
                mitigated_at="2026-03-02 11:00",
                resolved_at="2026-03-02 14:00",
                root_cause="db-pool",
                owner="payments",
                postmortem_status="complete",
            ),
            inc(
                "A2",
                "pay",
                "SEV2",
                "2026-03-04 08:00",
                acknowledged_at="2026-03-04 08:30",
                resolved_at="2026-03-04 10:00",
                root_cause="db-pool",
                vendor_id="V1",
                owner="payments-oncall",
                postmortem_status="complete",
            ),
            inc(
                "A3",
                "web",
                "SEV3",
                "2026-03-06 12:00",
                acknowledged_at="2026-03-06 12:05",
                resolved_at="2026-03-06 20:00",
                owner="web",
                postmortem_status="not_required",
            ),
            inc("A4", "web", "SEV3", "2026-03-07 00:00", acknowledged_at="2026-03-07 00:20", owner="web"),
            inc(
                "A5",
                "web",
                "SEV4",
                "2026-03-01 09:00",
                acknowledged_at="2026-03-01 09:01",
                resolved_at="2026-03-01 10:00",
            ),
            inc("D1", "pay", "SEV1", "2026-03-03 09:00", kind="drill"),
            inc("M1", "web", "SEV3", "2026-03-05 09:00", kind="maintenance"),
            # Opened after the week: not known at the period end.
            inc("A6", "pay", "SEV2", "2026-03-09 01:00"),
        ],
    )


def test_counts_response_times_share_and_repeats() -> None:
    section = compute_incidents(week_log(), None, PERIOD)

    # Week: A1..A4 real (D1 drill, M1 maintenance left out; A5 is 1 March, before the week; A6 after it).
    assert headline(section, "incidents.week.total") == 4
    assert headline(section, "incidents.month_to_date.total") == 5  # + A5
    assert headline(section, "incidents.week.sev1_sev2") == 2  # A1, A2
    week_basis = next(b for b in section.basis if b.metric == "incidents.week.total")
    assert (week_basis.rows_used, week_basis.rows_excluded) == (4, 2)
    assert week_basis.reasons == {"drill": 1, "maintenance": 1}
    after = next(b for b in section.basis if b.metric == "incidents (all figures)")
    assert after.reasons == {"opened at or after period end": 1}

    counts = {r.severity: (r.week, r.month_to_date) for r in section.by_severity}
    assert counts == {"SEV1": (1, 1), "SEV2": (1, 1), "SEV3": (2, 2), "SEV4": (0, 1)}
    services = {r.service: (r.week, r.week_sev1_sev2, r.month_to_date) for r in section.by_service}
    assert services == {"pay": (2, 2, 2), "web": (2, 0, 3)}

    # MTTR over the week, all severities: A1 4 h, A2 2 h, A3 8 h; A4 unresolved.
    # median 4; mean 14/3; p90 of [2, 4, 8]: position 0.9 * 2 = 1.8 -> 4 + 0.8 * (8 - 4) = 7.2.
    # MTTA: A1 10, A2 30, A3 5, A4 20 min: median 15; mean 65/4 = 16.25; p90 position 2.7 -> 20 + 0.7 * 10 = 27.
    week_all = next(r for r in section.response_times if r.scope == "week" and r.severity == "all")
    assert week_all.mttr_median_hours == pytest.approx(4.0)
    assert week_all.mttr_mean_hours == pytest.approx(14 / 3)
    assert week_all.mttr_p90_hours == pytest.approx(7.2)
    assert (week_all.resolved, week_all.unresolved) == (3, 1)
    assert week_all.mtta_median_minutes == pytest.approx(15.0)
    assert week_all.mtta_mean_minutes == pytest.approx(16.25)
    assert week_all.mtta_p90_minutes == pytest.approx(27.0)
    assert headline(section, "incidents.week.mttr_median_hours") == pytest.approx(4.0)
    sev3 = next(r for r in section.response_times if r.scope == "week" and r.severity == "SEV3")
    assert (sev3.resolved, sev3.unresolved, sev3.mttr_median_hours) == (1, 1, pytest.approx(8.0))
    mttr_basis = next(b for b in section.basis if b.metric == "incidents.week.mttr")
    assert mttr_basis.reasons == {"unresolved at period end": 1}
    # Month to date adds A5 (SEV4, 1 h): MTTR [1, 2, 4, 8] -> median 3.
    mtd_all = next(r for r in section.response_times if r.scope == "month_to_date" and r.severity == "all")
    assert mtd_all.mttr_median_hours == pytest.approx(3.0)
    chart = {r.severity: r.median_hours for r in section.mttr_chart}
    assert chart == {"SEV1": pytest.approx(4.0), "SEV2": pytest.approx(2.0), "SEV3": pytest.approx(8.0)}

    # Third party: A2 of the week's 4 -> 0.25; month to date 1 of 5 -> 0.2.
    assert headline(section, "incidents.week.third_party_share") == pytest.approx(0.25)
    assert headline(section, "incidents.month_to_date.third_party_share") == pytest.approx(0.2)

    # A2 repeats A1 (pay, db-pool, two days earlier); only A2 names vendor V1: 1 of 2 is not more than half, so the
    # cluster is a problem record that says which incident names V1, not a vendor review.
    assert headline(section, "incidents.week.repeats") == 1
    assert [(r.incident_id, r.previous_incident_id) for r in section.repeats] == [("A2", "A1")]
    [cluster] = section.repeat_clusters
    assert (cluster.service, cluster.root_cause, cluster.incidents) == ("pay", "db-pool", 2)
    assert (cluster.vendor_ids, cluster.incident_ids, cluster.vendor_incidents) == ("V1", "A1;A2", "V1: 1 of 2")
    assert cluster.vendor_share == pytest.approx(0.5)
    [action] = section.actions
    assert "vendor named on V1: 1 of 2 only" in action.text
    assert (action.urgency, action.kind, action.owner, action.source) == (
        Urgency.IMPORTANT,
        "repeat_problem_management",
        "payments-oncall",
        "incident A2",
    )
    assert headline(section, "incidents.open_sev1_sev2") == 0
    assert headline(section, "incidents.postmortems_overdue") == 0


def test_point_in_time_later_export_gives_the_same_audit() -> None:
    rows = [
        # Opened in the week; acknowledged and resolved only after the period end.
        inc(
            "B1",
            "pay",
            "SEV1",
            "2026-03-07 22:00",
            acknowledged_at="2026-03-09 00:30",
            resolved_at="2026-03-10 08:00",
            owner="payments",
            title="Card payments failing",
            postmortem_status="pending",
        ),
        inc(
            "B2",
            "web",
            "SEV2",
            "2026-03-03 10:00",
            acknowledged_at="2026-03-03 10:15",
            mitigated_at="2026-03-03 11:00",
            resolved_at="2026-03-03 12:00",
            owner="web",
            postmortem_status="complete",
        ),
        inc("B3", "pay", "SEV2", "2026-03-12 10:00", resolved_at="2026-03-12 11:00"),
    ]
    later = frame("incidents", rows)
    # What an export taken at the period end showed: B3 not there yet, B1 neither acknowledged nor resolved.
    at_end = frame(
        "incidents",
        [
            {**rows[0], "acknowledged_at": None, "resolved_at": None},
            rows[1],
        ],
    )
    from_later = compute_incidents(later, None, PERIOD)
    from_end = compute_incidents(at_end, None, PERIOD)
    dump_later, dump_end = from_later.model_dump(), from_end.model_dump()
    dump_later["basis"] = [b for b in dump_later["basis"] if b["metric"] != "incidents (all figures)"]
    assert dump_later == dump_end

    # B1 is an open SEV1 at the end: 2026-03-07 22:00 -> 2026-03-09 00:00 = 26 h, not acknowledged.
    [open_major] = from_later.open_major
    assert (open_major.incident_id, open_major.age_hours, open_major.acknowledged) == ("B1", 26.0, False)
    urgent = [a for a in from_later.actions if a.urgency == Urgency.URGENT]
    assert [(a.source, a.owner, a.kind) for a in urgent] == [("incident B1", "payments", "open_major_incident")]
    # B1 is left out of MTTA and MTTR (1 of 2 incidents in the week).
    week_all = next(r for r in from_later.response_times if r.scope == "week" and r.severity == "all")
    assert (week_all.not_acknowledged, week_all.unresolved, week_all.mttr_median_hours) == (1, 1, 2.0)
    assert week_all.oldest_unresolved_hours == 26.0


def test_mtbf_merges_overlapping_downtime_and_clips_to_the_window() -> None:
    log = frame(
        "incidents",
        [
            inc(
                "F1", "pay", "SEV1", "2026-03-01 00:00", mitigated_at="2026-03-01 06:00", resolved_at="2026-03-01 12:00"
            ),
            inc("F2", "pay", "SEV2", "2026-03-01 04:00", resolved_at="2026-03-01 10:00"),
            # Opened before the window (2025-12-09 00:00): 4 h of downtime in it, not a failure.
            inc("F3", "pay", "SEV1", "2025-12-08 20:00", resolved_at="2025-12-09 04:00"),
            inc("F4", "pay", "SEV3", "2026-02-01 00:00", resolved_at="2026-02-02 00:00"),
            # Still down at the period end: down to the end of the window.
            inc("F5", "pay", "SEV2", "2026-03-08 20:00"),
            inc("F6", "pay", "SEV1", "2026-03-02 00:00", resolved_at="2026-03-02 05:00", kind="drill"),
        ],
    )
    services = frame(
        "services",
        [
            dict(service_id="pay", name="Payments", tier="critical", owner="payments"),
            dict(service_id="web", name="Website", tier="standard", owner="web"),
        ],
    )
    section = compute_incidents(log, services, PERIOD)
    rel = {r.service: r for r in section.reliability}
    # Failures F1, F2, F5 = 3. Downtime: F1 [00, 06] and F2 [04, 10] merge to 10 h; F3 clipped 4 h; F5 4 h -> 18 h.
    # Window 90 * 24 = 2160 h; MTBF = (2160 - 18) / 3 = 714 h.
    assert rel["pay"].failures == 3
    assert rel["pay"].downtime_hours == pytest.approx(18.0)
    assert rel["pay"].mtbf_hours == pytest.approx(714.0)
    assert rel["pay"].service_name == "Payments"
    assert (rel["web"].mtbf_hours, rel["web"].note) == (None, "no failure in 90 days")
    mtbf_basis = next(b for b in section.basis if b.metric == "incidents.mtbf")
    assert (mtbf_basis.rows_used, mtbf_basis.reasons) == (3, {"SEV3/SEV4: not a failure": 1})


def test_overdue_postmortems() -> None:
    log = frame(
        "incidents",
        [
            # Due by default 48 h after resolution: 2026-03-07 10:00, 38 h before the end.
            inc(
                "P1",
                "pay",
                "SEV1",
                "2026-03-05 08:00",
                resolved_at="2026-03-05 10:00",
                postmortem_status="pending",
                owner="payments",
            ),
            # Due 2026-03-09 12:00: after the end.
            inc("P2", "pay", "SEV2", "2026-03-07 08:00", resolved_at="2026-03-07 12:00", postmortem_status="pending"),
            inc("P3", "pay", "SEV1", "2026-03-01 08:00", resolved_at="2026-03-01 10:00", postmortem_status="complete"),
            # An explicit due date after the end wins over the default.
            inc(
                "P4",
                "web",
                "SEV2",
                "2026-03-02 08:00",
                resolved_at="2026-03-02 10:00",
                postmortem_status="in_progress",
                postmortem_due_at="2026-03-10 00:00",
            ),
            # No status recorded counts as not done: due 2026-03-05 00:00, 96 h overdue.
            inc(
                "P5",
                "web",
                "SEV2",
                "2026-03-02 20:00",
                resolved_at="2026-03-03 00:00",
                postmortem_due_at="2026-03-05 00:00",
                owner="web",
            ),
            inc("P6", "web", "SEV3", "2026-03-01 08:00", resolved_at="2026-03-01 09:00", postmortem_status="pending"),
            # Resolved only after the end: still open at the end, so no postmortem is due yet.
            inc(
                "P7",
                "pay",
                "SEV1",
                "2026-03-08 20:00",
                resolved_at="2026-03-09 02:00",
                postmortem_status="pending",
                owner="payments",
            ),
        ],
    )
    section = compute_incidents(log, None, PERIOD)
    assert [(r.incident_id, r.overdue_hours) for r in section.overdue_postmortems] == [("P5", 96.0), ("P1", 38.0)]
    assert headline(section, "incidents.postmortems_overdue") == 2
    overdue_actions = [a for a in section.actions if a.kind == "postmortem_overdue"]
    assert [(a.source, a.owner, a.due, a.urgency) for a in overdue_actions] == [
        ("incident P5", "web", date(2026, 3, 5), Urgency.URGENT),
        ("incident P1", "payments", date(2026, 3, 7), Urgency.URGENT),
    ]
    assert [r.incident_id for r in section.open_major] == ["P7"]


def test_postmortem_completed_after_the_end_was_still_overdue_then() -> None:
    # Both resolved 2026-03-01 10:00, due 48 h later (03-03 10:00); the period ends 2026-03-09 00:00 (UTC).
    log = frame(
        "incidents",
        [
            # Completed 03-10, after the end: at the end it was overdue by 03-03 10:00 -> 03-09 00:00 = 134 h.
            inc("C1", "pay", "SEV1", "2026-03-01 08:00", resolved_at="2026-03-01 10:00",
                postmortem_status="complete", postmortem_completed_at="2026-03-10 09:00"),
            # Completed 03-04, before the end: done.
            inc("C2", "pay", "SEV1", "2026-03-01 08:00", resolved_at="2026-03-01 10:00",
                postmortem_status="complete", postmortem_completed_at="2026-03-04 09:00"),
        ],
    )  # fmt: skip
    section = compute_incidents(log, None, PERIOD)
    assert [(r.incident_id, r.overdue_hours) for r in section.overdue_postmortems] == [("C1", 134.0)]


def test_no_postmortem_tracking_in_the_export_raises_no_overdue() -> None:
    log = frame("incidents", [inc("Q1", "pay", "SEV1", "2026-03-01 08:00", resolved_at="2026-03-01 10:00")])
    section = compute_incidents(log, None, PERIOD)
    assert section.overdue_postmortems == []
    basis = next(b for b in section.basis if b.metric == "incidents.postmortems_overdue")
    assert basis.reasons == {"postmortem status not in the export": 1}


def test_repeat_rules_window_empty_cause_and_service() -> None:
    log = frame(
        "incidents",
        [
            inc("R1", "api", "SEV3", "2026-02-01 10:00", root_cause="cache"),
            inc("R2", "api", "SEV3", "2026-03-07 10:00", root_cause="cache", owner="api-team"),  # R1 is 34 days back
            inc("R3", "api", "SEV3", "2026-03-07 11:00", root_cause=""),
            inc("R4", "api", "SEV3", "2026-03-07 12:00", root_cause=""),
            inc("R5", "db", "SEV3", "2026-03-03 10:00", root_cause="cache"),
            inc("R6", "api", "SEV4", "2026-03-08 09:00", root_cause="cache", owner="api-team"),
            inc("R7", "api", "SEV4", "2026-03-05 09:00", root_cause="cache", kind="drill"),
        ],
    )
    section = compute_incidents(log, None, PERIOD)
    # Only R6 repeats (R2, 23 h earlier). R2's predecessor R1 is 34 days back; empty causes never match;
    # R5 is another service; the drill R7 is not an incident.
    assert [(r.incident_id, r.previous_incident_id) for r in section.repeats] == [("R6", "R2")]
    # Real incidents in the week: R2, R3, R4, R5, R6; R3 and R4 have no cause -> 3 used, 2 left out.
    basis = next(b for b in section.basis if b.metric == "incidents.week.repeats")
    assert (basis.rows_used, basis.reasons) == (3, {"no root cause": 2})
    # 30 days ending as_of start 2026-02-07: R1 is outside, so the (api, cache) cluster is R2 and R6.
    [cluster] = section.repeat_clusters
    assert (cluster.incident_ids, cluster.vendor_ids, cluster.owner) == ("R2;R6", None, "api-team")
    # Two minor tickets (SEV3, SEV4) are listed as a cluster but ask for no action: that takes 3 incidents or a
    # SEV1/SEV2 (see test_repeat_cluster_with_a_major_incident_asks_for_a_problem_record).
    assert section.actions == []


def test_repeat_cluster_with_a_major_incident_asks_for_a_problem_record() -> None:
    log = frame(
        "incidents",
        [
            inc(
                "M1",
                "api",
                "SEV2",
                "2026-03-01 10:00",
                root_cause="cache",
                resolved_at="2026-03-01 12:00",
                postmortem_status="complete",
            ),
            inc("M2", "api", "SEV4", "2026-03-07 10:00", root_cause="cache", owner="api-team"),
        ],
    )
    section = compute_incidents(log, None, PERIOD)
    [cluster] = section.repeat_clusters
    assert (cluster.incidents, cluster.majors) == (2, 1)
    [action] = section.actions
    assert (action.kind, action.urgency, action.source) == (
        "repeat_problem_management",
        Urgency.IMPORTANT,
        "incident M2",
    )


def test_local_time_zone_cuts_the_week_at_local_midnight() -> None:
    # In New York (UTC-5 in early March) the week ending 2026-03-08 starts 2026-03-02 05:00 UTC.
    log = frame(
        "incidents",
        [
            inc("T1", "pay", "SEV3", "2026-03-02 04:59"),
            inc("T2", "pay", "SEV3", "2026-03-02 05:00"),
        ],
    )
    section = compute_incidents(log, None, Period(date(2026, 3, 8), "America/New_York"))
    assert headline(section, "incidents.week.total") == 1


def test_missing_or_empty_incidents() -> None:
    missing = compute_incidents(None, None, PERIOD)
    assert missing.available is False and missing.note

    empty = compute_incidents(frame("incidents", []), None, PERIOD)
    assert empty.available is True
    assert headline(empty, "incidents.week.total") == 0
    assert headline(empty, "incidents.week.mttr_median_hours") is None
    assert headline(empty, "incidents.week.third_party_share") is None
    assert empty.actions == [] and empty.note


def test_a_cluster_names_a_vendor_only_for_the_incidents_that_carry_it() -> None:
    # 5 incidents on erp with cause 'batch' in the 30 days; only C1 names V3 -> "V3: 1 of 5" (20%), a problem
    # record. 3 incidents on wms with cause 'scanner', 2 naming V7 -> 2 of 3 (67%) > half -> a vendor review.
    rows = [
        inc(f"C{n}", "erp", "SEV3", f"2026-03-0{n} 10:00", root_cause="batch", vendor_id="V3" if n == 1 else None)
        for n in range(1, 6)
    ] + [
        inc(f"W{n}", "wms", "SEV3", f"2026-03-0{n} 12:00", root_cause="scanner", vendor_id="V7" if n < 3 else None)
        for n in range(1, 4)
    ]
    section = compute_incidents(frame("incidents", rows), None, PERIOD)
    clusters = {c.service: c for c in section.repeat_clusters}
    assert (clusters["erp"].vendor_incidents, clusters["erp"].vendor_share) == ("V3: 1 of 5", pytest.approx(0.2))
    assert (clusters["wms"].vendor_incidents, clusters["wms"].vendor_share) == ("V7: 2 of 3", pytest.approx(2 / 3))
    kinds = {a.text.split(":")[0]: a.kind for a in section.actions}
    assert kinds == {
        "Open a problem record for 'batch' on erp": "repeat_problem_management",
        "Review vendor V7 with them": "repeat_vendor_review",
    }
    erp = next(a for a in section.actions if a.kind == "repeat_problem_management")
    assert "vendor named on V3: 1 of 5 only" in erp.text and "Review vendor V3" not in erp.text


def test_open_incident_claims_only_what_the_export_carries() -> None:
    # No acknowledged_at or mitigated_at anywhere in the export: D1 (SEV1, open since 2026-03-08 12:00, 12 h at the
    # end) is neither "not acknowledged" nor "not mitigated": the action says the fields are not in the export.
    bare = frame("incidents", [inc("D1", "pay", "SEV1", "2026-03-08 12:00")])
    section = compute_incidents(bare, None, PERIOD)
    [row] = section.open_major
    assert (row.age_hours, row.acknowledged, row.mitigated) == (12.0, None, None)
    # No root cause in the export either: repeats are unknown (None), not 0, and the section says why.
    assert headline(section, "incidents.week.repeats") is None
    assert "root cause is not in the export" in (section.note or "")
    [action] = section.actions
    assert action.text == (
        "Drive SEV1 D1 on pay to resolution: open 12 h (acknowledgement and mitigation times are not in the export)."
    )
    # With the columns filled for another incident (D0), D1's missing times are real facts.
    filled = frame(
        "incidents",
        [
            inc("D0", "pay", "SEV3", "2026-03-07 10:00", acknowledged_at="2026-03-07 10:05",
                mitigated_at="2026-03-07 10:30", resolved_at="2026-03-07 11:00"),
            inc("D1", "pay", "SEV1", "2026-03-08 12:00"),
        ],
    )  # fmt: skip
    [action] = [a for a in compute_incidents(filled, None, PERIOD).actions if a.kind == "open_major_incident"]
    assert action.text.endswith("open 12 h, customer impact not yet mitigated, not acknowledged.")


def test_mtbf_window_starts_no_earlier_than_the_data() -> None:
    # The export starts on 2026-01-18 00:00 UTC, 50 days before the period end (2026-03-09 00:00 UTC), so the
    # 90-day window is cut to those 50 days = 1200 h. Failures G1, G2 (2 h down each): MTBF = (1200 - 4) / 2 = 598 h.
    log = frame(
        "incidents",
        [
            inc("G0", "pay", "SEV4", "2026-01-18 00:00", resolved_at="2026-01-18 01:00"),
            inc("G1", "pay", "SEV1", "2026-02-01 00:00", resolved_at="2026-02-01 02:00"),
            inc("G2", "pay", "SEV2", "2026-03-01 00:00", resolved_at="2026-03-01 02:00"),
        ],
    )
    section = compute_incidents(log, None, PERIOD)
    pay = next(r for r in section.reliability if r.service == "pay")
    assert (pay.window_days, pay.failures, pay.downtime_hours) == (50.0, 2, 4.0)
    assert pay.mtbf_hours == pytest.approx(598.0)
    assert section.note is not None and "MTBF is over the 50 days the data covers, not 90" in section.note
