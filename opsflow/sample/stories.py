"""The flows the sample feeds, what they must find in it (the stories), and the rows deliberately left bad."""

from __future__ import annotations

FLOWS = (
    "weekly-audit",
    "data-check",
    "vendor-sla-review",
    "contingency-drill",
    "daily-brief",
    "problem-solution-metrics",
    "risk-aware-planning",
    "operational-transformation",
    "improvement-initiative",
    "risk-assessment",
    "performance-review",
)

STORIES: dict[str, str] = {
    "decaying_carrier": (
        "Vendor V-1001 Swiftline Logistics (carrier, ontime_target 0.95, backup_vendor_id V-1002 Rheinpost Parcel) "
        "carries ~40% of parcels (vendor_deliveries SHP-*). Its on-time rate (delivered_date <= promised_date) is "
        "~97% until 90 days before `end`, then decays quadratically to ~78% on `end`: ~93% 60-30 days before, ~85% "
        "over the last 30 days (hundreds of late parcels at scale 1). Its notice deadline (renewal_date - "
        "notice_period_days) is 10 days after `end`, the only vendor whose deadline falls within 14 days; 8 "
        "contracts renew within 90 days."
    ),
    "repeat_vendor_incidents": (
        "Service payments-gateway (critical, vendor V-1201 PayBridge, no backup vendor, never drilled) has 9 incidents "
        "with root_cause third-party-api-timeout and vendor_id V-1201 in the year: 6 within the 30 days before `end` "
        "(2 within the last 7 days), severities SEV2 and SEV3. No other payments-gateway incident has that cause. "
        "Uptime checks fail while they last: payments-gateway is the critical service furthest below 0.999."
    ),
    "slipping_project": (
        "Project P-07 'Warehouse automation phase 2: conveyor and pack stations' (active, started 120 days before "
        "`end`, due 40 days after it). Critical path T01-T02-T04-T06-T09-T10-T12-T13: T06 'Procure conveyor "
        "hardware' should be finished but is 44% complete and T09 'Install conveyor in hall B' has not started "
        "(critical chain ~45 days behind plan). SPI ~0.57; the remaining critical work (~82 days) ends ~6 weeks "
        "after due_date."
    ),
    "shipping_sla_dip": (
        "sla_events category shipping (service shipping-label, objective 0.95; one row per delivered parcel, met "
        "when delivered by the end of the promised day) is ~97.5% compliant until ~5 weeks before `end` and ~92% "
        "over the last 3 weeks, driven by V-1001 Swiftline's late parcels."
    ),
    "risk_contradicts_incidents": (
        "Risk R-0007 (linked_service payments-gateway: PayBridge API outage blocks card payments) is rated "
        "likelihood 1 although the incident record shows repeated PayBridge timeouts; risk R-0012 (category "
        "vendor, linked_vendor V-1001: Swiftline misses delivery promises) is rated likelihood 1 while its on-time "
        "rate collapses. No other risk links payments-gateway or V-1001."
    ),
    "overdue_postmortem": (
        "A SEV1 on checkout ('Checkout down: all orders failing with HTTP 500 after release 24.3', root_cause "
        "deploy-regression) opened 4 days before `end` at 11:20 local time and was resolved ~3 hours later; "
        "postmortem_status pending and no postmortem_due_at, so the 48-hour default has passed. Every other "
        "SEV1/SEV2 resolved more than 48 hours before `end` has a complete postmortem."
    ),
    "open_major_incident": (
        "A SEV2 on wms ('WMS: handheld scanner sync failing in hall B, picking delayed') opened at 16:45 local time "
        "the day before `end`: acknowledged, neither mitigated nor resolved. Two minor tickets (customer-portal "
        "SEV3, warehouse-scanners SEV4) are also open at `end`, besides the random ones (~20 at scale 1)."
    ),
    "search_latency_creep": (
        "service_metrics: service search (standard, p95 threshold 5 s, latency histograms) has a p95 of ~2.8 s until "
        "6 weeks before `end`, then climbs steadily to ~7 s on `end`: its latency SLO (95% of requests within 5 s) "
        "has spent its 30-day error budget, the weekly SLO trend shows compliance falling week after week, and the "
        "slow burn-rate rule opens a ticket."
    ),
    "payments_error_spike": (
        "service_metrics: payments-gateway (critical, error rate under 0.1%) fails ~4% of requests in the last 3 "
        "hours of the data (PayBridge timeouts): a 40x burn over the last hour pages (fast burn-rate rule)."
    ),
    "change_policy": (
        "changes: in the week ending `end`, a high-risk payments-gateway change went out by canary where policy asks "
        "for a staged rollout (Lea Hoffmann), and a critical customer-db change was deployed manually as required but "
        "with a rollback plan never tested (Noah Schulz). Routine changes never break policy in that week."
    ),
    "change_caused_sev1": (
        "changes: a checkout release, rolled back, went out 25 minutes before the checkout SEV1 ('...after release "
        "24.3'), linked to it by incident_id. order-service fails 5 of its 22 changes in the last 30 days (23%, the "
        "low DORA band); no other service fails more than 11%."
    ),
    "capacity_runway": (
        "capacity: customer-db disk grows ~1.8 points a week and crosses its 80% threshold ~4 weeks after `end`; "
        "order-service cpu is safe at its trend but crosses within 90 days at the +15%-a-month what-if; the "
        "payments-gateway db connection pool is already above its 75% threshold; storefront cpu has a one-day spike "
        "to 97% in the last week that the robust trend ignores; erp batch disk stopped reporting (stale)."
    ),
    "kpi_behind": (
        "KPI K-07 'Order pick-to-ship time' (internal_process, decrease, baseline 10 h, target 6 h, deadline 45 days "
        "after `end`) has worsened to ~10.7 h. K-08 'Shipping on-time rate' drops from ~97% to ~91% in the final "
        "weeks, mirroring Swiftline."
    ),
    "pack_bottleneck": (
        "process order_fulfilment: the wait before `pack` (median ~6 h) dwarfs every other wait (pick ~1.8 h, ship "
        "~2.5 h, the rest minutes). Rework: ~3% of orders repeat pack, ~2.4% repeat pick after a failed "
        "quality_check; ~6% of support tickets are reopened and resolved twice."
    ),
    "overdue_mitigation": (
        "Risk R-0003 (linked_service wms: single WMS instance, likelihood 3 x impact 5, treatment mitigate, status "
        "mitigating) has mitigation_due 75 days before `end`."
    ),
    "continuity_gaps": (
        "Service wms has rto_hours 12 > mtpd_hours 8. Runbooks of payments-gateway (400 days), data-warehouse, "
        "wms, returns-portal, search and erp were last tested more than 180 days before `end`; warehouse-scanners "
        "and office-it runbooks were never tested; finance-reporting and hr-payroll have no runbook. Drills "
        "(incidents kind drill) cover checkout, order-service, storefront, cloud-platform, customer-db, "
        "shipping-label, erp, email and wms (the last > 180 days ago), never payments-gateway."
    ),
}
"""What the sample's flows must find, with the records involved."""

DIRTY_ROWS: dict[str, str] = {
    "incidents": (
        "Two real SEV4 incidents have resolved_at before opened_at; one incident number appears on two different "
        "tickets; one row's opened_at is '0000-00-00 00:00:00' (unparsable)."
    ),
    "vendor_deliveries": (
        "One goods receipt names vendor V-9999, which is not in vendors; one has defective_quantity greater than "
        "quantity."
    ),
    "sla_events": "One customer_response row has a target_value but neither measured_value nor met.",
    "process_events": "One pack activity (order_fulfilment) ends 5 minutes before it starts.",
    "kpi_observations": "K-12 has two observations on the same day (a double upload with different values).",
}
"""Deliberately bad rows, so validation has something to show (well under 1% of each dataset at scale 1)."""
