"""Multi-window, multi-burn-rate alerting (the SRE Workbook's rule): whether an SLO's error budget burns fast enough
at a moment to page someone, slowly enough to open a ticket, or neither, from the SLO's events up to that moment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

Alert = Literal["page", "ticket", "none", "no data"]


@dataclass(frozen=True)
class BurnRule:
    """Alert when the burn rate over both the long and the short window reaches `factor`."""

    name: str
    long: timedelta
    short: timedelta
    factor: float
    alert: Literal["page", "ticket"]


RULES: tuple[BurnRule, ...] = (
    # 14.4x for an hour spends 2% of a 30-day budget; 6x for six hours 5%; 1x for three days 10%.
    BurnRule("fast", timedelta(hours=1), timedelta(minutes=5), 14.4, "page"),
    BurnRule("medium", timedelta(hours=6), timedelta(minutes=30), 6.0, "page"),
    BurnRule("slow", timedelta(days=3), timedelta(hours=6), 1.0, "ticket"),
)
"""The SRE Workbook's recommended rules for a 30-day SLO (chapter 5, table 5-8), fastest first."""

DEFINITION = (
    "Multi-window, multi-burn-rate alerts (SRE Workbook): page when the burn rate (error ratio / (1 - objective)) "
    "is at least 14.4 over both the last hour and the last 5 minutes, or at least 6 over the last 6 hours and the "
    "last 30 minutes; open a ticket when it is at least 1 over the last 3 days and the last 6 hours. Evaluated at "
    "the period end. A short window shorter than the gap between the SLO's events (hourly uptime checks) is widened "
    "to the median gap, so a sparse SLO is judged on its latest event, never on an empty window."
)


class BurnVerdict(BaseModel):
    """The alert an SLO's burn rates call for at one moment, with the long-window burn rates behind it."""

    alert: Alert = Field(description="page, ticket, none, or no data (no event in the slow rule's window).")
    rule: str | None = Field(None, description="The rule that fired: fast, medium or slow.")
    burn_1h: float | None = Field(None, description="Burn rate over the last hour.")
    burn_6h: float | None = Field(None, description="Burn rate over the last 6 hours.")
    burn_3d: float | None = Field(None, description="Burn rate over the last 3 days.")


def window_burn(
    times: np.ndarray,
    bad: np.ndarray,
    end: pd.Timestamp,
    window: timedelta,
    allowed: float,
    weights: np.ndarray | None = None,
) -> float | None:
    """Burn rate over (end - window, end]: the share of bad events divided by the allowed error ratio; None when the
    window holds no event or the objective allows no error. With `weights` (requests per interval), `bad` counts the
    bad requests of each record and the share is over the requests."""
    mask = (times > (end - window).to_datetime64()) & (times <= end.to_datetime64())
    n = float(weights[mask].sum()) if weights is not None else float(mask.sum())
    if n == 0 or allowed <= 0:
        return None
    return float(bad[mask].sum()) / n / allowed


def evaluate(
    times: pd.Series,
    bad: pd.Series,
    end: pd.Timestamp,
    allowed: float,
    rules: tuple[BurnRule, ...] = RULES,
    weights: pd.Series | None = None,
) -> BurnVerdict:
    """The alert at `end` for one SLO's events (`times`, `bad` aligned), `allowed` = 1 - objective. With `weights`
    (requests per interval record), `bad` is the number of bad requests of each record."""
    # Compared as UTC instants without a zone: the events may be zoned or naive UTC, the moment likewise.
    stamp = pd.Timestamp(end)
    stamp = stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo is not None else stamp
    stamps = pd.to_datetime(times)
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    raw = stamps.to_numpy(dtype="datetime64[ns]")
    order = np.argsort(raw, kind="stable")
    t = raw[order]
    b = bad.to_numpy(dtype=float)[order]
    w = weights.to_numpy(dtype=float)[order] if weights is not None else None
    recent = t[(t > (stamp - max(r.long for r in rules)).to_datetime64()) & (t <= stamp.to_datetime64())]
    gap = timedelta(0)
    if len(recent) > 1:
        gap = pd.Timedelta(np.median(np.diff(recent))).to_pytimedelta()

    def burn(window: timedelta) -> float | None:
        return window_burn(t, b, stamp, window, allowed, w)

    verdict = BurnVerdict(
        alert="none",
        burn_1h=burn(timedelta(hours=1)),
        burn_6h=burn(timedelta(hours=6)),
        burn_3d=burn(timedelta(days=3)),
    )
    if len(recent) == 0:
        return verdict.model_copy(update={"alert": "no data"})
    for rule in rules:
        long, short = burn(rule.long), burn(max(rule.short, gap))
        if long is not None and short is not None and long >= rule.factor and short >= rule.factor:
            return verdict.model_copy(update={"alert": rule.alert, "rule": rule.name})
    return verdict
