"""The performance review: KPIs and OKRs over a period, each KPI's trend, values per month or week, and the
balanced scorecard, built on the KPI section of the weekly audit (tasks/performance_metrics/kpis.py)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field
from scipy import stats

from opsflow.charts import grouped_bar_chart
from opsflow.findings import Action, Basis, Headline, OptRatio, Section, Urgency
from opsflow.tasking import compute_task
from tasks.performance_metrics.kpis import PERSPECTIVES, KpiSection

TREND_ALPHA = 0.05
MIN_TREND_POINTS = 3
Trend = Literal["improving", "worsening", "flat", "no data"]


class TrendBucket(StrEnum):
    """How the period is cut for the per-period values."""

    MONTH = "month"
    WEEK = "week"


_FREQ = {TrendBucket.MONTH: "M", TrendBucket.WEEK: "W-SUN"}


class KpiTrendRow(BaseModel):
    """One KPI over the review period."""

    kpi_id: str = Field(description="KPI key.")
    name: str | None = Field(None, description="What is measured.")
    perspective: str = Field(description="Balanced-scorecard perspective.")
    direction: str = Field(description="increase or decrease: which way is better.")
    unit: str | None = Field(None, description="Unit of the values.")
    value_at_start: float | None = Field(None, description="Latest observation on or before the period's first day.")
    value_at_end: float | None = Field(None, description="Latest observation on or before the period's last day.")
    change: float | None = Field(None, description="End minus start, in the KPI's unit.")
    observations: int = Field(description="Observations in the period.")
    slope_per_30d: float | None = Field(None, description="Least-squares slope over the period, per 30 days.")
    p_value: float | None = Field(None, description="p-value of the slope (scipy.stats.linregress).")
    trend: Trend = Field(description="improving, worsening, flat or no data.")


class KpiPeriodRow(BaseModel):
    """One KPI in one month or week of the review period."""

    kpi_id: str = Field(description="KPI key.")
    period: str = Field(description="The month (YYYY-MM) or the week's last day.")
    observations: int = Field(description="Observations in it.")
    mean_value: float = Field(description="Mean of the observations.")
    last_value: float = Field(description="Last observation.")


class OkrRow(BaseModel):
    """One objective and its key results (the KPIs that name it)."""

    objective: str = Field(description="The objective.")
    perspective: str = Field(description="Perspective of its key results (the first when they differ).")
    key_results: int = Field(description="KPIs with this objective.")
    mean_okr_score: float | None = Field(None, description="Mean OKR score of its scored key results.")
    on_track: int = Field(0, description="Key results achieved or on track.")
    at_risk: int = Field(0, description="Key results at risk.")
    off_track: int = Field(0, description="Key results off track.")
    off_track_kpis: str = Field("", description="The off-track key results.")


class ScorecardRow(BaseModel):
    """One balanced-scorecard perspective at the end of the period, with the trends over it."""

    perspective: str = Field(description="Balanced-scorecard perspective.")
    kpis: int = Field(description="KPIs in the perspective.")
    mean_okr_score: float | None = Field(None, description="Mean OKR score of its scored KPIs.")
    on_track_share: OptRatio = Field(None, description="(achieved + on track) / scored KPIs.")
    off_track: int = Field(0, description="KPIs off track.")
    improving: int = Field(0, description="KPIs improving over the period.")
    worsening: int = Field(0, description="KPIs worsening over the period.")


class PerformanceSection(Section):
    """KPIs and OKRs over the review period: scorecard, objectives, trends and values per month or week."""

    period_start: date | None = None
    period_end: date | None = None
    scorecard: list[ScorecardRow] = Field(default_factory=list, description="Balanced scorecard.")
    okrs: list[OkrRow] = Field(default_factory=list, description="Objectives and their key results.")
    trends: list[KpiTrendRow] = Field(default_factory=list, description="KPI trends over the period.")
    by_period: list[KpiPeriodRow] = Field(default_factory=list, description="KPI values per month or week.")


DEFINITIONS: dict[str, str] = {
    "review period": "From period_start to period_end, both inclusive (dates of the observations).",
    "trend": f"Least-squares line through the KPI's observations in the period (scipy.stats.linregress of value on "
    f"day); improving when its p-value is below {TREND_ALPHA} and it slopes the KPI's better way, worsening when "
    f"it slopes the other way with p below {TREND_ALPHA}, flat otherwise; no data with fewer than "
    f"{MIN_TREND_POINTS} observations on distinct days.",
    "change": "Latest observation on or before the last day minus latest on or before the first day.",
    "values per period": "Mean and last observation of each KPI per calendar month (or Monday-Sunday week).",
    "OKR": "An objective is the KPIs' `objective` text; its key results are the KPIs that name it; its score is the "
    "mean OKR score of the scored ones (status and score as in the KPI section, as of the period's last day).",
    "scorecard": "Per perspective: KPIs, mean OKR score, on-track share and off-track count (as of the last day), "
    "and how many KPIs improved or worsened over the period.",
}


def _opt(x: Any, digits: int = 4) -> float | None:
    return None if x is None or pd.isna(x) else round(float(x), digits)


def _text(x: Any) -> str | None:
    return None if x is None or pd.isna(x) else str(x)


def review_performance(
    kpis: pd.DataFrame | None,
    observations: pd.DataFrame | None,
    scored: KpiSection,
    start: date,
    end: date,
    bucket: TrendBucket = TrendBucket.MONTH,
) -> PerformanceSection:
    """Trends of every KPI over [start, end], values per month or week, OKRs by objective and the scorecard."""
    base: dict[str, Any] = {"name": "performance", "title": "Performance review", "definitions": DEFINITIONS}
    if kpis is None or kpis.empty:
        return PerformanceSection(**base, available=kpis is not None, note="No KPIs are defined.")
    k = kpis.drop_duplicates("kpi_id").set_index("kpi_id")
    if observations is None:
        obs = pd.DataFrame({"kpi_id": pd.Series(dtype="string"), "observed_on": [], "value": []})
    else:
        obs = observations[["kpi_id", "observed_on", "value"]].dropna(subset=["value"])
    lo, hi = pd.Timestamp(start), pd.Timestamp(end)
    inside = obs[(obs["observed_on"] >= lo) & (obs["observed_on"] <= hi)].sort_values(["kpi_id", "observed_on"])

    def latest(day: pd.Timestamp) -> pd.Series:
        upto = obs[obs["observed_on"] <= day].sort_values(["kpi_id", "observed_on"])
        return upto.drop_duplicates("kpi_id", keep="last").set_index("kpi_id")["value"]

    at_start, at_end = latest(lo), latest(hi)
    groups = dict(tuple(inside.groupby("kpi_id", sort=False)))
    trends: list[KpiTrendRow] = []
    for kid in k.index:
        g = groups.get(kid)
        days = (g["observed_on"] - lo).dt.days.to_numpy(dtype="float64") if g is not None else np.array([])
        values = g["value"].to_numpy(dtype="float64") if g is not None else np.array([])
        slope = p = None
        trend: Trend = "no data"
        if len(np.unique(days)) >= MIN_TREND_POINTS:
            fit = stats.linregress(days, values)
            slope, p = float(fit.slope) * 30, float(fit.pvalue)
            better = slope if str(k.at[kid, "direction"]) == "increase" else -slope
            trend = "flat" if not p < TREND_ALPHA or better == 0 else ("improving" if better > 0 else "worsening")
        s, e = _opt(at_start.get(kid)), _opt(at_end.get(kid))
        trends.append(
            KpiTrendRow(
                kpi_id=str(kid),
                name=_text(k.at[kid, "name"]),
                perspective=str(k.at[kid, "perspective"]),
                direction=str(k.at[kid, "direction"]),
                unit=_text(k.at[kid, "unit"]),
                value_at_start=s,
                value_at_end=e,
                change=round(e - s, 4) if s is not None and e is not None else None,
                observations=len(values),
                slope_per_30d=_opt(slope),
                p_value=_opt(p, 6),
                trend=trend,
            )
        )

    by_period: list[KpiPeriodRow] = []
    if not inside.empty:
        cut = inside["observed_on"].dt.to_period(_FREQ[bucket])
        agg = inside.groupby(["kpi_id", cut], sort=True)["value"].agg(["size", "mean", "last"]).reset_index()
        for rec in agg.to_dict("records"):
            per: pd.Period = rec["observed_on"]
            by_period.append(
                KpiPeriodRow(
                    kpi_id=str(rec["kpi_id"]),
                    period=str(per) if bucket == TrendBucket.MONTH else per.end_time.date().isoformat(),
                    observations=int(rec["size"]),
                    mean_value=round(float(rec["mean"]), 4),
                    last_value=round(float(rec["last"]), 4),
                )
            )

    rows = {r.kpi_id: r for r in scored.kpis}
    okrs: list[OkrRow] = []
    objectives = k["objective"].astype("string").fillna("(no objective)")
    for objective in sorted(objectives.unique()):
        ids = [str(i) for i in objectives.index[objectives == objective]]
        krs = [rows[i] for i in ids if i in rows]
        scores = [r.okr_score for r in krs if r.okr_score is not None]
        off = [r.kpi_id for r in krs if r.status == "off_track"]
        okrs.append(
            OkrRow(
                objective=str(objective),
                perspective=krs[0].perspective if krs else "",
                key_results=len(ids),
                mean_okr_score=round(float(np.mean(scores)), 2) if scores else None,
                on_track=sum(r.status in ("achieved", "on_track") for r in krs),
                at_risk=sum(r.status == "at_risk" for r in krs),
                off_track=len(off),
                off_track_kpis=", ".join(off),
            )
        )

    by_trend = {t.kpi_id: t.trend for t in trends}
    scorecard: list[ScorecardRow] = []
    for p_row in scored.perspectives:
        ids = [r.kpi_id for r in scored.kpis if r.perspective == p_row.perspective]
        n_scored = p_row.kpis - p_row.not_scored
        scorecard.append(
            ScorecardRow(
                perspective=p_row.perspective,
                kpis=p_row.kpis,
                mean_okr_score=p_row.mean_okr_score,
                on_track_share=round((p_row.achieved + p_row.on_track) / n_scored, 4) if n_scored else None,
                off_track=p_row.off_track,
                improving=sum(by_trend.get(i) == "improving" for i in ids),
                worsening=sum(by_trend.get(i) == "worsening" for i in ids),
            )
        )

    actions: list[Action] = []
    for t in trends:
        kpi = rows.get(t.kpi_id)
        if t.trend == "worsening" and (kpi is None or kpi.status != "off_track"):
            actions.append(
                Action(
                    text=f"KPI {t.kpi_id} '{t.name or t.kpi_id}' worsened over the period ({t.value_at_start:g} -> "
                    f"{t.value_at_end:g}{' ' + t.unit if t.unit else ''}) though not yet off track: find the cause.",
                    urgency=Urgency.IMPORTANT,
                    owner=kpi.owner if kpi else None,
                    source=f"kpi {t.kpi_id}",
                    section="performance",
                    kind="kpi_worsening",
                )
            )
    scores = [o.mean_okr_score for o in okrs if o.mean_okr_score is not None]
    headlines = [
        Headline(
            key="performance.kpis.improving",
            label="KPIs improving",
            value=sum(t.trend == "improving" for t in trends),
            better="higher",
        ),
        Headline(
            key="performance.kpis.worsening",
            label="KPIs worsening",
            value=sum(t.trend == "worsening" for t in trends),
            better="lower",
        ),
        Headline(
            key="performance.okr.objectives_off_track",
            label="Objectives with a key result off track",
            value=sum(o.off_track > 0 for o in okrs),
            better="lower",
        ),
        Headline(
            key="performance.okr.mean_objective_score",
            label="Mean objective score",
            value=round(float(np.mean(scores)), 2) if scores else None,
            unit="score",
            better="higher",
        ),
    ]
    missing = [p for p in PERSPECTIVES if p not in {s.perspective for s in scorecard}]
    return PerformanceSection(
        **base,
        headlines=headlines,
        actions=actions,
        basis=[Basis(metric="observations in the period", rows_used=len(inside), rows_excluded=len(obs) - len(inside))],
        period_start=start,
        period_end=end,
        scorecard=scorecard,
        okrs=okrs,
        trends=trends,
        by_period=by_period,
        note=f"No KPI in the perspectives: {', '.join(missing)}." if missing else None,
    )


PERFORMANCE_CHARTS = {"performance": ["scorecard"]}


def performance_charts(section: PerformanceSection) -> dict[str, bytes]:
    """The balanced scorecard: mean OKR score and on-track share per perspective."""
    if not section.scorecard:
        return {}
    return {
        "scorecard": grouped_bar_chart(
            "Balanced scorecard at the end of the period",
            [r.perspective for r in section.scorecard],
            {
                "mean OKR score": [r.mean_okr_score for r in section.scorecard],
                "on-track share": [r.on_track_share for r in section.scorecard],
            },
            "score / share",
        )
    }


review_performance_task = compute_task(review_performance, name="review_performance")
performance_charts_task = compute_task(performance_charts, name="draw_performance_charts")
