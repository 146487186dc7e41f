"""The year's orders, parcels, returns and support tickets walked step by step: the `process_events` dataset, and
the cases SLA events and vendor deliveries are measured from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from opsflow.sample.common import (
    DAY,
    DAYS,
    HOUR,
    MINUTE,
    Calendar,
    Vocabulary,
    draw,
    id_column,
    lognormal,
    timestamp_column,
)
from opsflow.sample.vendors import CARRIERS, VENDOR_INDEX, VENDORS, swiftline_late


@dataclass(frozen=True)
class _Step:
    activity: str
    wait: tuple[float, float]  # median seconds, log-sigma of the wait before the step
    duration: tuple[float, float]
    resources: tuple[str, ...]
    share: float = 1.0  # share of cases that perform the step
    needs: int | None = None  # performed only by cases that performed this earlier step (rework after a check)


@dataclass
class _Trace:
    """k steps x n cases: which were performed, when, and by whom."""

    done: np.ndarray
    start: np.ndarray
    end: np.ndarray
    resource: np.ndarray
    activity: np.ndarray  # k activity codes


def _walk(rng: np.random.Generator, begin: np.ndarray, steps: Sequence[_Step], vocab: Vocabulary) -> _Trace:
    n, k = len(begin), len(steps)
    # Step-major (k x n) so each step writes contiguous memory: at scale 10 that is several times faster.
    done = np.zeros((k, n), dtype=bool)
    start = np.zeros((k, n))
    end = np.zeros((k, n))
    resource = np.zeros((k, n), dtype=np.int32)
    clock = begin.astype(float)
    for j, step in enumerate(steps):
        take = rng.random(n) < step.share
        if step.needs is not None:
            take &= done[step.needs]
        start[j] = clock + lognormal(rng, *step.wait, n)
        end[j] = start[j] + np.maximum(lognormal(rng, *step.duration, n), 5.0)
        done[j] = take
        pool = vocab.codes(step.resources)
        resource[j] = pool[rng.integers(0, len(pool), n)]
        clock = np.where(take, end[j], clock)
    return _Trace(done, start, end, resource, vocab.codes([s.activity for s in steps]))


def _pool(prefix: str, n: int) -> tuple[str, ...]:
    return tuple(f"{prefix}-{i:02d}" for i in range(1, n + 1))


_ORDER_STEPS = (
    _Step("receive_order", (0, 0), (40, 0.4), ("storefront",)),
    _Step("check_payment", (40, 0.5), (90, 0.5), ("PayBridge",)),
    _Step("reserve_stock", (30, 0.5), (20, 0.4), ("inventory-service",)),
    _Step("pick", (1.8 * HOUR, 0.7), (11 * MINUTE, 0.5), _pool("picker", 40)),
    _Step("quality_check", (10 * MINUTE, 0.5), (6 * MINUTE, 0.4), ("qc-team",), share=0.08),
    _Step("pick", (20 * MINUTE, 0.5), (10 * MINUTE, 0.5), _pool("picker", 40), share=0.3, needs=4),
    _Step("pack", (6 * HOUR, 0.55), (7 * MINUTE, 0.4), _pool("packer", 12)),
    _Step("pack", (30 * MINUTE, 0.5), (8 * MINUTE, 0.4), _pool("packer", 12), share=0.03),
    _Step("create_label", (15 * MINUTE, 0.6), (60, 0.4), ("shipping-label",)),
    _Step("create_label", (20 * MINUTE, 0.5), (60, 0.4), ("shipping-label",), share=0.02),
    _Step("ship", (2.5 * HOUR, 0.6), (5 * MINUTE, 0.4), ("dock-team",)),
)
_PACK = 6
_SHIP = len(_ORDER_STEPS) - 1

_RETURN_STEPS = (
    _Step("request_return", (0, 0), (3 * MINUTE, 0.5), ("returns-portal",)),
    _Step("approve_return", (2 * HOUR, 0.9), (4 * MINUTE, 0.5), _pool("returns-desk", 5)),
    _Step("receive_return", (4 * DAY, 0.5), (10 * MINUTE, 0.5), ("goods-in",)),
    _Step("inspect", (10 * HOUR, 0.7), (12 * MINUTE, 0.5), _pool("inspector", 6)),
    _Step("inspect", (1 * HOUR, 0.5), (10 * MINUTE, 0.5), _pool("inspector", 6), share=0.05),
    _Step("refund", (26 * HOUR, 0.8), (2 * MINUTE, 0.4), ("finance-ops",)),
    _Step("restock", (14 * HOUR, 0.6), (9 * MINUTE, 0.5), ("restock-team",)),
)
_RECEIVE, _REFUND = 2, 5

_SUPPORT_STEPS = (
    _Step("open_ticket", (0, 0), (30, 0.5), ("helpdesk-bot",)),
    _Step("triage", (20 * MINUTE, 1.0), (3 * MINUTE, 0.5), _pool("agent", 35)),
    _Step("first_response", (2.5 * HOUR, 1.2), (8 * MINUTE, 0.6), _pool("agent", 35)),
    _Step("request_info", (10 * MINUTE, 0.5), (3 * MINUTE, 0.5), _pool("agent", 35), share=0.3),
    _Step("investigate", (4 * HOUR, 1.0), (25 * MINUTE, 0.8), _pool("agent", 35), share=0.7),
    _Step("escalate", (1 * HOUR, 0.8), (10 * MINUTE, 0.5), _pool("tier2", 6), share=0.1),
    _Step("resolve", (3 * HOUR, 1.0), (10 * MINUTE, 0.6), _pool("agent", 35)),
    _Step("reopen", (30 * HOUR, 0.6), (60, 0.3), ("customer",), share=0.06),
    _Step("resolve", (4 * HOUR, 0.8), (10 * MINUTE, 0.6), _pool("agent", 35), needs=7),
    _Step("close", (48 * HOUR, 0.05), (30, 0.3), ("helpdesk-bot",)),
)
_FIRST_RESPONSE = 2


@dataclass
class Operations:
    """The year's orders, parcels, returns and tickets, from which process events, SLA events and parcels come."""

    events: pa.Table
    order_start: np.ndarray
    ship_end: np.ndarray
    shipped: np.ndarray  # bool: the parcel left before the data ends
    deliver_end: np.ndarray
    delivered: np.ndarray
    carrier: np.ndarray  # index into CARRIERS
    ship_day: np.ndarray
    promised_day: np.ndarray  # calendar day index
    order_numbers: np.ndarray  # int: order SO-<number>, parcel SHP-<number>
    ticket_start: np.ndarray
    first_response_end: np.ndarray
    return_receive_end: np.ndarray
    return_refund_end: np.ndarray


def _order_starts(rng: np.random.Generator, cal: Calendar, n: int) -> np.ndarray:
    days = pd.date_range(pd.Timestamp(cal.first), periods=DAYS, freq="D")
    weekday = np.array([1.1, 1.05, 1.0, 1.0, 0.95, 0.8, 1.05])[cal.weekday()]
    peak = np.where(((days.month == 11) & (days.day >= 20)) | ((days.month == 12) & (days.day <= 20)), 1.35, 1.0)
    weights = weekday * peak * (1 + 0.12 * np.arange(DAYS) / DAYS)
    counts = rng.multinomial(n, weights / weights.sum())
    day = np.repeat(np.arange(DAYS), counts)
    hours = np.array([2, 1, 1, 1, 1, 1, 2, 4, 6, 7, 8, 9, 10, 9, 8, 8, 8, 9, 10, 12, 13, 12, 8, 4], dtype=float)
    hour = draw(rng, hours, n)
    return np.sort(cal.midnight[day] + hour * HOUR + rng.integers(0, HOUR, n))


def _flatten(trace: _Trace, case_offset: int, process: int, end_s: int) -> dict[str, np.ndarray]:
    start = np.round(trace.start).astype(np.int64)
    end = np.round(trace.end).astype(np.int64)
    keep = trace.done & (end < end_s)
    step, case = np.nonzero(keep)
    return {
        "case": case + case_offset,
        "process": np.full(len(case), process, dtype=np.int32),
        "activity": trace.activity[step],
        "start": start[step, case],
        "end": end[step, case],
        "resource": trace.resource[step, case],
    }


def simulate_operations(rng: np.random.Generator, cal: Calendar, scale: float) -> Operations:
    """Walk the year's orders, returns and tickets; the process events and what SLAs and parcels need."""
    vocab = Vocabulary()
    end_s = cal.end_s

    # Orders: placed, paid, picked, (checked), packed, labelled, shipped, delivered by a carrier.
    n_orders = max(1, round(88_000 * scale))
    order_start = _order_starts(rng, cal, n_orders)
    orders = _walk(rng, order_start, _ORDER_STEPS, vocab)
    ship_end = np.round(orders.end[_SHIP]).astype(np.int64)
    shipped = ship_end < end_s
    carrier = draw(rng, np.array([c[1] for c in CARRIERS]), n_orders)
    transit = np.array([c[2] for c in CARRIERS])[carrier]
    ship_day = cal.day_of(ship_end)
    late_share = np.array([c[3] for c in CARRIERS])[carrier]
    late_share = np.where(carrier == 0, swiftline_late(cal, ship_day), late_share)
    late = rng.random(n_orders) < late_share
    promised_day = ship_day + transit
    early = (~late) & (transit >= 2) & (rng.random(n_orders) < 0.25)
    days_late = 1 + draw(rng, np.array([0.6, 0.3, 0.1]), n_orders)
    delivered_day = np.where(late, promised_day + days_late, promised_day - early)
    last_day = len(cal.midnight) - 2
    deliver_end = cal.midnight[np.minimum(delivered_day, last_day)] + rng.integers(9 * HOUR, 19 * HOUR + 1800, n_orders)
    deliver_end = np.where(delivered_day > last_day, np.iinfo(np.int64).max // 2, deliver_end)
    delivered = shipped & (deliver_end < end_s)
    carrier_names = vocab.codes([VENDORS[VENDOR_INDEX[c[0]]].name for c in CARRIERS])
    order_trace = _Trace(
        done=np.vstack([orders.done, np.ones(n_orders, dtype=bool)]),
        start=np.vstack([orders.start, orders.end[_SHIP]]),
        end=np.vstack([orders.end, deliver_end.astype(float)]),
        resource=np.vstack([orders.resource, carrier_names[carrier]]),
        activity=np.append(orders.activity, vocab.code("deliver")),
    )
    order_numbers = 2_400_001 + np.arange(n_orders)

    # Returns: about 11% of delivered orders come back.
    returning = np.flatnonzero(delivered & (rng.random(n_orders) < 0.11))
    return_begin = deliver_end[returning] + lognormal(rng, 4 * DAY, 0.6, len(returning))
    order_of_return = returning[np.argsort(return_begin, kind="stable")]
    return_begin = np.sort(return_begin)
    returns = _walk(rng, return_begin, _RETURN_STEPS, vocab)
    n_returns = len(order_of_return)

    # Support tickets: customers write in every day, more during the day.
    n_tickets = max(1, round(40_000 * scale))
    day = draw(rng, np.where(cal.weekday() < 5, 1.0, 0.75), n_tickets)
    hours = np.array([1, 1, 1, 1, 1, 1, 2, 5, 9, 10, 10, 9, 8, 9, 9, 8, 8, 7, 6, 6, 5, 4, 3, 2], dtype=float)
    ticket_start = np.sort(cal.midnight[day] + draw(rng, hours, n_tickets) * HOUR + rng.integers(0, HOUR, n_tickets))
    tickets = _walk(rng, ticket_start, _SUPPORT_STEPS, vocab)

    parts = [
        _flatten(order_trace, 0, vocab.code("order_fulfilment"), end_s),
        _flatten(returns, n_orders, vocab.code("returns"), end_s),
        _flatten(tickets, n_orders + n_returns, vocab.code("customer_support"), end_s),
    ]
    events = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    order = np.argsort(events["start"], kind="stable")
    events = {key: value[order] for key, value in events.items()}
    # Dirty row: one pack activity whose clock ran backwards.
    pack = np.flatnonzero((events["activity"] == orders.activity[_PACK]) & (events["start"] < end_s - 60 * DAY))
    if len(pack):
        bad = int(pack[len(pack) // 2])
        events["end"][bad] = events["start"][bad] - 5 * MINUTE

    case_ids = pa.concat_arrays([
        id_column("SO-", order_numbers),
        id_column("RMA-", 500_001 + np.arange(n_returns)),
        id_column("CS-", 700_001 + np.arange(n_tickets)),
    ])  # fmt: skip
    table = pa.table(
        {
            "case_id": case_ids.take(pa.array(events["case"])),
            "process": vocab.column(events["process"]),
            "activity": vocab.column(events["activity"]),
            "started_at": timestamp_column(events["start"]),
            "ended_at": timestamp_column(events["end"]),
            "resource": vocab.column(events["resource"]),
            # Carrier transit is not the company's work: marked false, every other activity left empty (work).
            "work": pa.array(
                np.zeros(len(events["activity"]), dtype=bool),
                mask=events["activity"] != vocab.code("deliver"),
            ),
        }
    )
    return Operations(
        events=table,
        order_start=order_start,
        ship_end=ship_end,
        shipped=shipped,
        deliver_end=deliver_end,
        delivered=delivered,
        carrier=carrier,
        ship_day=ship_day,
        promised_day=promised_day,
        order_numbers=order_numbers,
        ticket_start=ticket_start,
        first_response_end=np.round(np.where(tickets.done[_FIRST_RESPONSE], tickets.end[_FIRST_RESPONSE],
                                             np.inf)).astype(np.float64),
        return_receive_end=returns.end[_RECEIVE],
        return_refund_end=returns.end[_REFUND],
    )  # fmt: skip
