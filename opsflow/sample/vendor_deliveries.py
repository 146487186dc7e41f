"""Vendor deliveries: the carriers' parcels from the year's operations, and goods-in from suppliers."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from opsflow.sample.common import DAYS, Calendar, date_column, draw, id_column
from opsflow.sample.operations import Operations
from opsflow.sample.vendors import CARRIERS, SUPPLIERS, VENDOR_INDEX, VENDORS


def vendor_deliveries_table(rng: np.random.Generator, cal: Calendar, ops: Operations, scale: float) -> pa.Table:
    """Parcels handed to carriers and goods received from suppliers, with the dirty rows."""
    first = cal.first_epoch_day
    end_day = DAYS - 1

    # Parcels handed to carriers: one delivery per shipped order, promised by the carrier's transit time.
    s = ops.shipped
    n_parcels = int(s.sum())
    parcel_late = ops.delivered[s] & (cal.day_of(ops.deliver_end[s]) > ops.promised_day[s])
    damaged = rng.random(n_parcels) < 0.004
    parcels = {
        "number": ops.order_numbers[s],
        "goods": np.zeros(n_parcels, dtype=bool),
        "vendor": np.array([VENDOR_INDEX[c[0]] for c in CARRIERS])[ops.carrier[s]],
        "promised": ops.promised_day[s],
        "delivered": np.where(ops.delivered[s], cal.day_of(ops.deliver_end[s]), -1),
        "quantity": 1 + draw(rng, np.array([0.8, 0.15, 0.05]), n_parcels),
        "defective": damaged.astype(np.int64),
        "issue": damaged,
        "problem": parcel_late | damaged,
        "response_median": np.where(ops.carrier[s] == 0, 30.0, 16.0),
    }

    # Goods-in from suppliers on weekdays, a few days either side of the promised date.
    n_in = max(1, round(160_000 * scale))
    supplier = draw(rng, np.array([x[1] for x in SUPPLIERS]), n_in)
    day_weights = np.where(cal.weekday() < 5, 1.0, 0.0)
    promised = np.sort(draw(rng, day_weights, n_in))
    supplier = supplier[rng.permutation(n_in)]
    ontime = np.array([x[2] for x in SUPPLIERS])[supplier]
    late = rng.random(n_in) >= ontime
    early = np.where(rng.random(n_in) < 0.2, 1, 0) + np.where(rng.random(n_in) < 0.05, 1, 0)
    delay = 1 + rng.geometric(0.45, n_in) - 1
    delivered = np.where(late, promised + np.minimum(delay, 20), promised - early)
    lost = rng.random(n_in) < 0.0005
    delivered = np.where((delivered > end_day) | lost, -1, delivered)
    median_qty = np.array([x[4] for x in SUPPLIERS], dtype=float)[supplier]
    quantity = np.maximum(1, np.round(median_qty * np.exp(0.7 * rng.standard_normal(n_in)))).astype(np.int64)
    issue = rng.random(n_in) < np.array([x[3] for x in SUPPLIERS])[supplier]
    defective = np.where(issue, rng.binomial(quantity, rng.uniform(0.02, 0.3, n_in)), 0)
    goods = {
        "number": 3_100_001 + np.arange(n_in),
        "goods": np.ones(n_in, dtype=bool),
        "vendor": np.array([VENDOR_INDEX[x[0]] for x in SUPPLIERS])[supplier],
        "promised": promised,
        "delivered": delivered,
        "quantity": quantity,
        "defective": defective,
        "issue": issue,
        "problem": issue | (late & (delivered >= 0)),
        "response_median": np.full(n_in, 18.0),
    }
    data = {key: np.concatenate([parcels[key], goods[key]]) for key in parcels}
    order = np.argsort(data["promised"], kind="stable")
    data = {key: value[order] for key, value in data.items()}
    n = len(data["number"])
    response = np.round(data["response_median"] * np.exp(0.8 * rng.standard_normal(n)), 1)

    vendor_ids = np.array([v.id for v in VENDORS] + ["V-9999"], dtype=object)
    vendor = data["vendor"].copy()
    defective = data["defective"].copy()
    goods_rows = np.flatnonzero(data["goods"] & (data["promised"] < end_day - 60))
    if len(goods_rows) >= 2:
        vendor[goods_rows[len(goods_rows) // 4]] = len(VENDORS)  # dirty: unknown vendor V-9999
        bad = goods_rows[len(goods_rows) // 2]
        defective[bad] = data["quantity"][bad] + 5  # dirty: more defective units than delivered
    return pa.table(
        {
            "delivery_id": pc.if_else(
                pa.array(data["goods"]), id_column("GR-", data["number"]), id_column("SHP-", data["number"])
            ),
            "vendor_id": pa.array(vendor_ids[vendor], type=pa.string()),
            "promised_date": date_column(first + data["promised"]),
            "delivered_date": date_column(first + data["delivered"], data["delivered"] >= 0),
            "quantity": pa.array(data["quantity"], type=pa.int64()),
            "defective_quantity": pa.array(defective, type=pa.int64()),
            "quality_issue": pa.array(data["issue"]),
            "response_hours": pa.array(response, mask=~data["problem"]),
        }
    )
