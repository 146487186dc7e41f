"""Capacity planning: when each resource crosses its utilization threshold at its current growth and at a what-if
growth, from a robust (Theil-Sen) trend of its daily utilization."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from opsflow.coverage import Window, first_record, trailing_window
from opsflow.findings import Action, Basis, Headline, OptRatio, Ratio, Section, Urgency
from opsflow.period import Period
from opsflow.tasking import compute_task

FIT_DAYS = 56
"""The trend is fitted over the 8 weeks ending with the period: whole weeks, so a weekday/weekend pattern does not
tilt the line, and recent enough to be the growth the resource has now."""
MIN_POINTS = 7
"""Daily points a resource needs in the fit window for a forecast (a week's worth)."""
STALE_DAYS = 7
"""A resource with no measurement in the 7 days before the period end is stale: no forecast from old data."""
RECENT_DAYS = 7
"""The days whose median daily utilization confirms a resource is over its threshold now."""
DEFAULT_THRESHOLD = 0.8
GROWTH = 0.15
"""The what-if growth: +15% of the current utilization per month."""
HORIZON_DAYS = 90
MONTH_DAYS = 30
"""A month of what-if growth is 30 days."""
LONG_RANGE_DAYS = 730
"""A crossing further out than two years is not dated: a straight line says nothing that far ahead."""
UNUSABLE = "no utilization and no usage / limit"


class Status:
    """A resource's capacity status, worst first (see DEFINITIONS['capacity status'])."""

    OVER = "over threshold"
    CROSSING = "crosses within horizon"
    WHAT_IF = "crosses within horizon at what-if growth"
    OK = "ok"
    STALE = "stale"
    NO_DATA = "no data"


ORDER = [Status.OVER, Status.CROSSING, Status.WHAT_IF, Status.OK, Status.STALE, Status.NO_DATA]


class CapacityRow(BaseModel):
    """One resource's utilization trend at the period end and when it crosses its threshold."""

    # What a reader needs first leads: a report shows a wide table's first columns in its section.
    resource: str = Field(description="The resource, as the export names it.")
    service: str | None = Field(None, description="The service it serves (its latest row's).")
    status: str = Field(
        description="over threshold, crosses within horizon, crosses within horizon at what-if growth, ok, stale, "
        "no data."
    )
    current_utilization: OptRatio = Field(None, description="The trend's fitted utilization on as_of (ratio).")
    threshold: Ratio = Field(description="The utilization at which it needs action (latest stated, else 0.8).")
    crossing: str = Field(
        description="The crossing date at the current growth, or 'over threshold', 'not at this rate', "
        "'not within 2 years', 'stale', 'no data'."
    )
    crosses_on_what_if: date | None = Field(None, description="as_of + days_to_cross_what_if, rounded up.")
    points_per_week: float | None = Field(
        None, description="Growth of the trend in percentage points of utilization per week (1.8 = +1.8 points)."
    )
    owner: str | None = Field(None, description="The service's owner, from the service catalogue when it lists it.")
    recent_median: OptRatio = Field(None, description="Median daily utilization of the 7 days ending as_of (ratio).")
    points_low_per_week: float | None = Field(None, description="Lower end of the growth's 95% confidence interval.")
    points_high_per_week: float | None = Field(None, description="Upper end of the growth's 95% confidence interval.")
    days_to_cross: float | None = Field(
        None,
        description="Days after as_of the trend reaches the threshold; empty when never, or not in 2 years.",
    )
    crosses_on: date | None = Field(None, description="as_of + days_to_cross, rounded up.")
    days_to_cross_what_if: float | None = Field(
        None, description="Days after as_of the what-if growth reaches the threshold from the current utilization."
    )
    fit_points: int = Field(0, description="Daily points the trend was fitted on.")
    last_measured_on: date | None = Field(None, description="Local day of the latest usable measurement.")


class CapacitySection(Section):
    """The capacity section: each resource's trend and when it crosses its threshold."""

    name: str = "capacity"
    title: str = "Capacity"
    growth: float = Field(GROWTH, description="The what-if growth, per month of current utilization (0.15 = +15%).")
    horizon_days: int = Field(HORIZON_DAYS, description="Days after as_of a crossing is planned for.")
    resources: list[CapacityRow] = Field(
        default_factory=list, description="Every resource measured before the period end, worst first."
    )


DEFINITIONS: dict[str, str] = {
    "utilization": (
        "A row's utilization column, or usage / limit when it is empty; rows with neither are left out. "
        "Several rows of a resource on one local day count as that day's highest (capacity runs out at the "
        "peaks), so hourly rows and a daily p95 give one daily series."
    ),
    "point in time": "Rows measured at or after the period end are ignored.",
    "threshold": "The resource's latest stated threshold measured before the period end; 0.8 when none is stated.",
    "capacity trend": (
        "A Theil-Sen line (the median of the slopes between every pair of daily points; intercept the median of "
        "y - slope * x) through the daily utilization of the 56 days (8 whole weeks) ending as_of, x = days from "
        "as_of. A spike or a gap moves it little, where a least-squares line would follow the spike. The slope's "
        "range is its 95% confidence interval. A resource needs 7 daily points in the window."
    ),
    "current utilization": "The trend's value on as_of (its intercept), not the last, noisy, point.",
    "crosses on": (
        "At the current growth (the trend's slope): days = (threshold - current utilization) / slope per day; "
        "date = as_of + days, rounded up. 'not at this rate' when the slope is 0 or below; not dated beyond 2 years."
    ),
    "what-if growth": (
        "A planning scenario replacing the fitted trend: the current utilization grows by `growth` of itself per "
        "30-day month, compounded, u(t) = current * (1 + growth) ^ (t / 30); with growth 0.15 it crosses after "
        "t = 30 * ln(threshold / current) / ln(1.15) days."
    ),
    "capacity status": (
        "over threshold: the current utilization or the median of the last 7 days' daily utilization is at or "
        "above the threshold (a one-day spike is neither); crosses within horizon: the trend crosses it within "
        "the horizon (90 days) after as_of; crosses within horizon at what-if growth: only the what-if does; ok: "
        "neither; stale: no measurement in the 7 days before the period end (no forecast); no data: fewer than 7 "
        "daily points in the window."
    ),
    "capacity.over_threshold": "Resources whose status is over threshold.",
    "capacity.crossing_within_horizon": "Resources whose trend crosses their threshold within the horizon.",
    "capacity.crossing_what_if": "Resources that cross within the horizon only at the what-if growth.",
}


@dataclass(frozen=True)
class Forecast:
    """The Theil-Sen trend of one resource's daily points and when it and the what-if reach the threshold."""

    points: int
    current: float
    slope_per_day: float
    low_per_day: float
    high_per_day: float
    days_to_cross: float | None
    days_to_cross_what_if: float | None


def days_to_cross(current: float, slope_per_day: float, threshold: float) -> float | None:
    """Days until a straight line from `current` growing `slope_per_day` reaches `threshold` (0 when it is there);
    None when it never does."""
    if current >= threshold:
        return 0.0
    if slope_per_day <= 0:
        return None
    return (threshold - current) / slope_per_day


def days_to_cross_what_if(current: float, growth: float, threshold: float) -> float | None:
    """Days until `current` compounding `growth` per 30-day month reaches `threshold`; None when it never does."""
    if current >= threshold:
        return 0.0
    if growth <= 0 or current <= 0:
        return None
    return MONTH_DAYS * math.log(threshold / current) / math.log1p(growth)


def fit(x: np.ndarray, y: np.ndarray, threshold: float, growth: float) -> Forecast:
    """The trend of daily points `y` at days `x` from as_of (as_of = 0) and its crossings."""
    # Imported here: scipy.stats costs every run 0.5 to 1.7 s of imports, and only a workspace with a capacity export
    # fits a trend.
    from scipy.stats import theilslopes

    result = theilslopes(y, x, alpha=0.95, method="joint")
    slope, current = float(result.slope), float(result.intercept)
    return Forecast(
        points=len(x),
        current=current,
        slope_per_day=slope,
        low_per_day=float(result.low_slope),
        high_per_day=float(result.high_slope),
        days_to_cross=days_to_cross(current, slope, threshold),
        days_to_cross_what_if=days_to_cross_what_if(current, growth, threshold),
    )


def _crossing_date(as_of: date, days: float | None) -> date | None:
    if days is None or days > LONG_RANGE_DAYS:
        return None
    return as_of + timedelta(days=math.ceil(days - 1e-9))


def _owners(services: pd.DataFrame | None) -> dict[str, str]:
    if services is None or services.empty or not {"service_id", "owner"} <= set(services.columns):
        return {}
    owners = services.dropna(subset=["owner"])
    return dict(zip(owners["service_id"].astype(str), owners["owner"].astype(str), strict=True))


def _utilization(frame: pd.DataFrame) -> pd.Series:
    """Each row's utilization: its own, or usage / limit."""
    given = frame["utilization"].astype("float64")
    usage, limit = frame["usage"].astype("float64"), frame["limit"].astype("float64")
    return given.fillna((usage / limit).where(limit > 0))


def _latest(values: pd.Series, times: pd.Series) -> Any:
    """The value of the latest row where it is not empty."""
    known = values.notna().to_numpy(dtype=bool)
    if not known.any():
        return None
    return values[known].iloc[int(np.argmax(times[known].to_numpy()))]


def _row(
    resource: str,
    rows: pd.DataFrame,
    window: Window,
    period: Period,
    growth: float,
    horizon_days: int,
    owners: dict[str, str],
) -> tuple[CapacityRow, int]:
    """One resource's row, and the rows its forecast rests on."""
    service = _latest(rows["service"], rows["measured_at"])
    stated = _latest(rows["threshold"], rows["measured_at"])
    threshold = DEFAULT_THRESHOLD if stated is None else float(stated)
    base = CapacityRow(
        resource=resource,
        service=None if service is None else str(service),
        owner=None if service is None else owners.get(str(service)),
        status=Status.NO_DATA,
        threshold=threshold,
        crossing=Status.NO_DATA,
    )
    usable = rows[rows["utilization"].notna()]
    if usable.empty:
        return base, 0
    last = usable["measured_at"].max()
    base.last_measured_on = last.tz_convert(period.tz).date()
    if last < period.end - pd.Timedelta(days=STALE_DAYS):
        base.status = base.crossing = Status.STALE
        return base, 0
    in_window = usable[usable["measured_at"] >= window.start]
    daily = in_window.groupby("x")["utilization"].max()
    if len(daily) < MIN_POINTS:
        base.fit_points = len(daily)
        return base, 0
    x, y = daily.index.to_numpy(dtype=float), daily.to_numpy(dtype=float)
    f = fit(x, y, threshold, growth)
    recent = float(np.median(y[x > -RECENT_DAYS])) if (x > -RECENT_DAYS).any() else None
    base.fit_points = f.points
    base.current_utilization = f.current
    base.recent_median = recent
    # In points, rounded to a hundredth: a flat trend's float noise must not print as "-0.00".
    base.points_per_week = round(f.slope_per_day * 7 * 100, 2) + 0.0
    base.points_low_per_week = round(f.low_per_day * 7 * 100, 2) + 0.0
    base.points_high_per_week = round(f.high_per_day * 7 * 100, 2) + 0.0
    horizon_end = period.as_of + timedelta(days=horizon_days)
    if f.current >= threshold or (recent is not None and recent >= threshold):
        base.status = base.crossing = Status.OVER
        return base, len(in_window)
    base.crosses_on = _crossing_date(period.as_of, f.days_to_cross)
    base.days_to_cross = f.days_to_cross if base.crosses_on is not None else None
    base.crosses_on_what_if = _crossing_date(period.as_of, f.days_to_cross_what_if)
    base.days_to_cross_what_if = f.days_to_cross_what_if if base.crosses_on_what_if is not None else None
    if base.crosses_on is not None:
        base.crossing = base.crosses_on.isoformat()
    else:
        base.crossing = "not at this rate" if f.days_to_cross is None else "not within 2 years"
    if base.crosses_on is not None and base.crosses_on <= horizon_end:
        base.status = Status.CROSSING
    elif base.crosses_on_what_if is not None and base.crosses_on_what_if <= horizon_end:
        base.status = Status.WHAT_IF
    else:
        base.status = Status.OK
    return base, len(in_window)


def compute_capacity(
    capacity: pd.DataFrame | None,
    period: Period,
    services: pd.DataFrame | None = None,
    growth: float = GROWTH,
    horizon_days: int = HORIZON_DAYS,
) -> CapacitySection:
    """Each resource's utilization trend at the end of the week ending as_of, when it crosses its threshold at its
    current growth and at a what-if `growth` per month, and what to do about those crossing within `horizon_days`."""
    if growth <= -1:
        raise ValueError(f"growth must be above -1 (-100%), not {growth}")
    if horizon_days < 1:
        raise ValueError(f"horizon_days must be at least 1, not {horizon_days}")
    if capacity is None:
        return CapacitySection(
            available=False,
            note="The capacity dataset is not configured.",
            definitions=DEFINITIONS,
            growth=growth,
            horizon_days=horizon_days,
        )
    before = capacity[capacity["measured_at"] < period.end]
    after_end = len(capacity) - len(before)
    local = before["measured_at"].dt.tz_convert(period.tz).dt.tz_localize(None).dt.normalize()
    frame = pd.DataFrame(
        {
            "resource": before["resource"].astype(str),
            "service": before["service"].astype("object"),
            "measured_at": before["measured_at"],
            "utilization": _utilization(before),
            "threshold": before["threshold"].astype("float64"),
            "x": (local - pd.Timestamp(period.as_of)).dt.days,
        }
    )
    # A fit window that starts before the export does is shortened to the data, and says so.
    window = trailing_window(period, FIT_DAYS, first_record(before, "measured_at", period.tz))
    owners = _owners(services)
    results = [
        _row(str(resource), rows, window, period, growth, horizon_days, owners)
        for resource, rows in frame.groupby("resource", sort=True)
    ]
    rows = sorted((r for r, _ in results), key=lambda r: (ORDER.index(r.status), r.days_to_cross or 0.0, r.resource))
    fitted = sum(n for _, n in results)
    unusable = int(frame["utilization"].isna().sum())

    def count(status: str) -> int:
        return sum(r.status == status for r in rows)

    scenario = f"{growth:+.0%} a month"
    headlines = [
        Headline(
            key="capacity.over_threshold",
            label="Resources over their capacity threshold",
            value=count(Status.OVER),
            better="lower",
            window=window.label,
        ),
        Headline(
            key="capacity.crossing_within_horizon",
            label=f"Resources crossing their threshold within {horizon_days} days at the current growth",
            value=count(Status.CROSSING),
            better="lower",
            window=window.label,
        ),
        Headline(
            key="capacity.crossing_what_if",
            label=f"Resources crossing within {horizon_days} days only at {scenario} growth",
            value=count(Status.WHAT_IF),
            better="lower",
            window=window.label,
        ),
    ]
    reasons: dict[str, int] = {}
    if unusable:
        reasons[UNUSABLE] = unusable
    if after_end:
        reasons["measured at or after period end"] = after_end
    basis = [
        Basis(metric="capacity.trend", rows_used=fitted, rows_excluded=unusable + after_end, reasons=reasons),
    ]
    notes = []
    if frame.empty:
        notes.append("No capacity measurements before the period end.")
    stale = [r.resource for r in rows if r.status == Status.STALE]
    if stale:
        notes.append(
            f"No measurement in the {STALE_DAYS} days before the period end (no forecast): {', '.join(stale)}."
        )
    few = [r.resource for r in rows if r.status == Status.NO_DATA]
    if few:
        notes.append(f"Fewer than {MIN_POINTS} daily points in the fit window (no forecast): {', '.join(few)}.")
    if window_note := window.note("The capacity trends are"):
        notes.append(window_note)
    return CapacitySection(
        headlines=headlines,
        actions=[a for r in rows if (a := _action(r, growth, horizon_days)) is not None],
        basis=basis,
        definitions=DEFINITIONS,
        note=" ".join(notes) or None,
        growth=growth,
        horizon_days=horizon_days,
        resources=rows,
    )


def _action(r: CapacityRow, growth: float, horizon_days: int) -> Action | None:
    """Over threshold: urgent; crossing within the horizon: important, due on the crossing; only under the what-if:
    on the radar."""
    where = f"{r.resource} ({r.service})" if r.service else r.resource
    current = r.current_utilization or 0.0
    source = f"capacity {r.resource}"
    if r.status == Status.OVER:
        level = max(current, r.recent_median or 0.0)
        return Action(
            text=(
                f"Add capacity to {where}: utilization {level:.0%} against a {r.threshold:.0%} threshold "
                f"(trend {current:.0%}, last 7 days' median {r.recent_median or 0.0:.0%})."
            ),
            urgency=Urgency.URGENT,
            kind="capacity_over_threshold",
            # The further over its threshold, the less headroom is left.
            impact=level - r.threshold,
            owner=r.owner,
            source=source,
            section="capacity",
        )
    if r.status == Status.CROSSING and r.crosses_on is not None and r.days_to_cross is not None:
        return Action(
            text=(
                f"Plan capacity for {where}: at {current:.0%} and growing {r.points_per_week or 0.0:.1f} "
                f"points a week, it crosses its {r.threshold:.0%} threshold on {r.crosses_on.isoformat()} "
                f"(in {math.ceil(r.days_to_cross - 1e-9)} days)."
            ),
            urgency=Urgency.IMPORTANT,
            kind="capacity_crossing",
            due=r.crosses_on,
            owner=r.owner,
            source=source,
            section="capacity",
        )
    if r.status == Status.WHAT_IF and r.crosses_on_what_if is not None:
        return Action(
            text=(
                f"Keep an eye on {where}: safe at its current growth, but growing {growth:+.0%} a month from "
                f"{current:.0%} it would cross its {r.threshold:.0%} threshold on {r.crosses_on_what_if.isoformat()}, "
                f"within {horizon_days} days."
            ),
            urgency=Urgency.ON_RADAR,
            kind="capacity_what_if",
            owner=r.owner,
            source=source,
            section="capacity",
        )
    return None


compute_capacity_task = compute_task(compute_capacity, name="compute_capacity")
