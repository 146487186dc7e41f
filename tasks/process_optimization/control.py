"""The Control step of Pattern 3: is a change in a process's lead time real, or noise? A before/after test of the
cases started after the change date against the baseline run's cases, and the history that makes it possible."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field
from scipy import stats

from opsflow.findings import Action, Basis, Headline, OptRatio, Section, Urgency, headline_values
from opsflow.history import HistoryStore
from opsflow.period import Period
from opsflow.tasking import compute_task, io_task
from tasks.process_optimization.mining import process_slug
from tasks.process_optimization.transformation import Baseline, ProcessLog, completed_mask

HISTORY_FLOW = "operational-transformation"
"""Every Pattern 3 run (operational-transformation, improvement-initiative) is stored under this flow name, so a
later run of either finds the baseline."""
ALPHA = 0.05
MIN_IMPROVEMENT = 0.05
"""A 'real improvement' needs the median lead time down by more than this share of the baseline median (and a
'worse' verdict the same rise): a significant but smaller shift is not worth calling a result."""
MIN_CASES = 10
HORIZON_QUANTILE = 0.99
"""After-cases must start at least this quantile of the baseline lead times before the report date."""
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20240601
"""Fixed seed: the same data gives the same confidence interval on every run."""

_EPOCH = pd.Timestamp("1970-01-01", tz="UTC")
_HOUR = pd.Timedelta(hours=1)

Verdict = Literal["real improvement", "no change detectable", "worse", "not enough data"]


class BeforeAfter(BaseModel):
    """The before/after test of lead times (hours)."""

    verdict: Verdict = Field(description="real improvement, no change detectable, worse or not enough data.")
    before_cases: int = Field(description="Cases in the baseline sample.")
    after_cases: int = Field(description="Cases started after the change date and completed by the report date.")
    before_median_hours: float | None = Field(None, description="Median lead time before.")
    after_median_hours: float | None = Field(None, description="Median lead time after.")
    median_change_hours: float | None = Field(None, description="After minus before; negative = faster.")
    median_change: OptRatio = Field(None, description="Median change / baseline median.")
    ci_low_hours: float | None = Field(None, description="95% bootstrap interval of the median change, low end.")
    ci_high_hours: float | None = Field(None, description="95% bootstrap interval of the median change, high end.")
    p_improvement: float | None = Field(None, description="Mann-Whitney U one-sided p-value: after is shorter.")
    p_worse: float | None = Field(None, description="Mann-Whitney U one-sided p-value: after is longer.")
    u_statistic: float | None = Field(None, description="Mann-Whitney U of the after sample.")
    min_change_hours: float | None = Field(None, description="Smallest median change that counts as a result.")


def _median_diff(after: np.ndarray, before: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.asarray(np.median(after, axis=axis) - np.median(before, axis=axis))


def before_after_test(
    before: np.ndarray,
    after: np.ndarray,
    min_improvement: float = MIN_IMPROVEMENT,
    alpha: float = ALPHA,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> BeforeAfter:
    """Mann-Whitney U (one-sided each way) on the lead times, the median change with a bootstrap interval, and the
    verdict: real improvement when p(after shorter) < alpha and the median fell by more than `min_improvement` of
    the baseline median; worse in the mirror case; else no change detectable."""
    before = np.asarray(before, dtype="float64")
    after = np.asarray(after, dtype="float64")
    before = before[np.isfinite(before)]
    after = after[np.isfinite(after)]
    nb, na = len(before), len(after)
    if nb < MIN_CASES or na < MIN_CASES:
        return BeforeAfter(
            verdict="not enough data",
            before_cases=nb,
            after_cases=na,
            before_median_hours=round(float(np.median(before)), 2) if nb else None,
            after_median_hours=round(float(np.median(after)), 2) if na else None,
        )
    mb, ma = float(np.median(before)), float(np.median(after))
    change = ma - mb
    less = stats.mannwhitneyu(after, before, alternative="less")
    greater = stats.mannwhitneyu(after, before, alternative="greater")
    boot = stats.bootstrap(
        (after, before),
        _median_diff,
        n_resamples=resamples,
        vectorized=True,
        method="percentile",
        batch=200,
        rng=np.random.default_rng(BOOTSTRAP_SEED),
    )
    threshold = min_improvement * abs(mb)
    if less.pvalue < alpha and -change > threshold:
        verdict: Verdict = "real improvement"
    elif greater.pvalue < alpha and change > threshold:
        verdict = "worse"
    else:
        verdict = "no change detectable"
    return BeforeAfter(
        verdict=verdict,
        before_cases=nb,
        after_cases=na,
        before_median_hours=round(mb, 2),
        after_median_hours=round(ma, 2),
        median_change_hours=round(change, 2),
        median_change=round(change / mb, 4) if mb else None,
        ci_low_hours=round(float(boot.confidence_interval.low), 2),
        ci_high_hours=round(float(boot.confidence_interval.high), 2),
        p_improvement=float(less.pvalue),
        p_worse=float(greater.pvalue),
        u_statistic=float(less.statistic),
        min_change_hours=round(threshold, 2),
    )


# -- history --------------------------------------------------------------------------------------------------------


class StoredTransformation(BaseModel):
    """What a Pattern 3 run keeps for later runs: its baseline figures and its cases' start and lead times."""

    process: str
    as_of: date
    window_days: int
    baseline: Baseline
    case_starts: list[float] = Field(default_factory=list, description="First started_at, hours since the epoch.")
    case_leads: list[float] = Field(default_factory=list, description="Lead times, hours, same order.")
    change_date: date | None = None


class BaselineRuns(BaseModel):
    """The runs a new run builds on: the first for the process (KPI baseline, targets, project dates) and the one
    the before/after test compares with (the latest on or before the change date; by default the first)."""

    first: StoredTransformation | None = None
    reference: StoredTransformation | None = None


def load_baselines(history: HistoryStore, process: str, as_of: date, change_date: date | None) -> BaselineRuns:
    """The earlier runs for `process` (before `as_of`) that this run compares with."""
    runs = [
        StoredTransformation.model_validate(r.payload)
        for r in history.list_runs(HISTORY_FLOW, until=as_of, limit=520)
        if r.as_of < as_of and r.payload.get("process") == process and "baseline" in r.payload
    ]
    if not runs:
        return BaselineRuns()
    first = runs[0]
    if change_date is None:
        return BaselineRuns(first=first, reference=first)
    eligible = [r for r in runs if r.as_of <= change_date]
    return BaselineRuns(first=first, reference=eligible[-1] if eligible else None)


def save_transformation_run(
    history: HistoryStore,
    log: ProcessLog,
    period: Period,
    window_days: int,
    baseline: Baseline,
    sections: list[Section],
    change_date: date | None,
) -> str:
    """Store this run (its window's cases and the baseline in force); a re-run of the same as_of replaces it."""
    lo = float((period.days_back(window_days) - _EPOCH) / _HOUR)
    hi = float((period.end - _EPOCH) / _HOUR)
    cases = log.cases[completed_mask(log, lo, hi)]
    stored = StoredTransformation(
        process=log.process,
        as_of=period.as_of,
        window_days=window_days,
        baseline=baseline,
        case_starts=[round(float(x), 4) for x in cases["first_start"]],
        case_leads=[round(float(x), 4) for x in cases["lead"]],
        change_date=change_date,
    )
    key = f"{process_slug(log.process)}-{period.as_of.isoformat()}"
    history.save_run(HISTORY_FLOW, key, period.as_of, headline_values(sections), stored.model_dump(mode="json"))
    return key


# -- the Control section ----------------------------------------------------------------------------------------


class SampleRow(BaseModel):
    """One of the two samples compared."""

    sample: str = Field(description="before or after.")
    cases: int = Field(description="Cases in the sample.")
    source: str = Field(description="Which cases.")
    lead_p50_hours: float | None = Field(None, description="Median lead time, hours.")
    lead_p90_hours: float | None = Field(None, description="p90 lead time, hours.")
    mean_lead_hours: float | None = Field(None, description="Mean lead time, hours.")


class ControlSection(Section):
    """The before/after test of the change."""

    process: str = ""
    change_date: date | None = None
    verdict: Verdict | None = None
    samples: list[SampleRow] = Field(default_factory=list, description="The two samples.")
    test: list[BeforeAfter] = Field(default_factory=list, description="Before/after test.")


CONTROL_DEFINITIONS: dict[str, str] = {
    "change date": "The change_date parameter, else the first run's as_of. Cases count as 'after' when their first "
    "activity started from the local midnight after the change date, at least the baseline's p99 lead time before "
    "the end of the report date (so that slow cases had time to finish: without this cut the after sample would "
    "hold the quick recent cases and not the slow ones, a bias towards 'improvement'), and ended by the report "
    "date.",
    "before": "The baseline run's cases (completed in its window) that started before the change; when no earlier "
    "run is stored, the cases completed in the window of the same length ending on the change date, from the data.",
    "test": f"Mann-Whitney U (scipy.stats.mannwhitneyu) of after vs before lead times, one-sided each way; the "
    f"median change (after - before) with a 95% percentile bootstrap interval ({BOOTSTRAP_RESAMPLES} resamples, "
    "fixed seed).",
    "verdict": f"real improvement: p(after shorter) < {ALPHA} and the median fell by more than min_improvement "
    f"(default {MIN_IMPROVEMENT:.0%}) of the baseline median; worse: p(after longer) < {ALPHA} and the median rose "
    f"by more than that; no change detectable: otherwise; not enough data: fewer than {MIN_CASES} cases on either "
    "side.",
}


def _sample_row(sample: str, leads: np.ndarray, source: str) -> SampleRow:
    has = len(leads) > 0
    return SampleRow(
        sample=sample,
        cases=len(leads),
        source=source,
        lead_p50_hours=round(float(np.quantile(leads, 0.5)), 2) if has else None,
        lead_p90_hours=round(float(np.quantile(leads, 0.9)), 2) if has else None,
        mean_lead_hours=round(float(leads.mean()), 2) if has else None,
    )


def control_step(
    log: ProcessLog,
    runs: BaselineRuns,
    period: Period,
    change_date: date | None = None,
    window_days: int = 90,
    min_improvement: float = MIN_IMPROVEMENT,
    owner: str | None = None,
) -> ControlSection:
    """Compare the lead times of the cases started after the change date with the baseline's."""
    name = log.process
    slug = process_slug(name)
    base: dict[str, Any] = {
        "name": "control",
        "title": "Control: before and after",
        "process": name,
        "definitions": CONTROL_DEFINITIONS,
    }
    change = change_date or (runs.first.as_of if runs.first else None)
    if change is None:
        return ControlSection(
            **base,
            note=f"First run for {name}: this run's cases are the baseline. A later run (a later as_of, with "
            "change_date when the change went live) tests whether lead time really changed.",
        )
    if change >= period.as_of:
        return ControlSection(
            **base, change_date=change, note=f"The change date {change.isoformat()} is not before the report date."
        )
    cut = float((Period(change, period.tz).end - _EPOCH) / _HOUR)
    hi = float((period.end - _EPOCH) / _HOUR)
    starts = log.cases["first_start"].to_numpy(dtype="float64")
    leads = log.cases["lead"].to_numpy(dtype="float64")
    reference = runs.reference
    if reference is not None:
        kept = np.asarray(reference.case_starts) < cut
        before = np.asarray(reference.case_leads, dtype="float64")[kept]
        source = f"the run of {reference.as_of.isoformat()}: cases completed in its {reference.window_days} days"
    else:
        lo = cut - window_days * 24.0
        before = leads[completed_mask(log, lo, cut)]
        source = f"cases completed in the {window_days} days ending {change.isoformat()} (from the data)"
    # A case started just before the report date is in the data only if it was quick: keep the cases started early
    # enough that a baseline case of p99 length would have finished, or the after sample leans to short cases.
    horizon = float(np.quantile(before, HORIZON_QUANTILE)) if len(before) else 0.0
    started = (starts >= cut) & (starts < hi)
    early = started & (starts < hi - horizon)
    after = leads[early & completed_mask(log, cut, hi)]
    too_late = int((started & ~early).sum())
    result = before_after_test(before, after, min_improvement)
    samples = [
        _sample_row("before", before, source),
        _sample_row("after", after, f"cases started after {change.isoformat()}, completed by {period.as_of}"),
    ]
    actions: list[Action] = []
    summary = {
        "real improvement": "is a real improvement",
        "worse": "got worse",
        "no change detectable": "shows no change that can be told apart from noise",
        "not enough data": "cannot be judged yet (too few cases)",
    }[result.verdict]
    if result.verdict == "no change detectable" and min(result.p_improvement or 1, result.p_worse or 1) < ALPHA:
        summary = (
            f"shows a shift smaller than the {min_improvement:.0%} minimum ({result.min_change_hours:g} h), "
            "not counted as a change"
        )
    change_txt = (
        f"median {result.before_median_hours:g} h -> {result.after_median_hours:g} h"
        if result.before_median_hours is not None and result.after_median_hours is not None
        else f"{result.before_cases} cases before, {result.after_cases} after"
    )
    text = f"Lead time of {name} since {change.isoformat()} {summary} ({change_txt}"
    if result.p_improvement is not None and result.p_worse is not None:
        p = result.p_worse if (result.median_change_hours or 0) > 0 else result.p_improvement
        text += f", one-sided p = {p:.3g}"
    text += ")."
    if result.verdict == "worse":
        actions.append(
            Action(
                text=text + " Review the change with the process team before rolling it further.",
                urgency=Urgency.IMPORTANT,
                owner=owner,
                source=f"process {name}",
                section="control",
                kind="improvement",
            )
        )
    elif result.verdict == "real improvement":
        actions.append(
            Action(
                text=text + " Standardise the change and keep tracking the KPIs.",
                urgency=Urgency.ON_RADAR,
                owner=owner,
                source=f"process {name}",
                section="control",
                kind="improvement",
            )
        )
    else:
        actions.append(
            Action(
                text=text,
                urgency=Urgency.ON_RADAR,
                owner=owner,
                source=f"process {name}",
                section="control",
                kind="improvement",
            )
        )
    headlines = [
        Headline(
            key=f"transformation.{slug}.control.median_change_hours",
            label=f"{name}: median lead time change since {change.isoformat()}",
            value=result.median_change_hours,
            unit="hours",
            better="lower",
        ),
        Headline(
            key=f"transformation.{slug}.control.p_improvement",
            label=f"{name}: p-value of an improvement",
            value=None if result.p_improvement is None else round(result.p_improvement, 4),
            better="neutral",
        ),
    ]
    basis = [
        Basis(metric="cases before", rows_used=len(before)),
        Basis(
            metric="cases after",
            rows_used=len(after),
            rows_excluded=too_late + int((early & ~completed_mask(log, cut, hi)).sum()),
            reasons={
                k: v
                for k, v in {
                    f"started less than {horizon:.1f} h (baseline p99 lead time) before the report date": too_late,
                    "not complete at the report date": int((early & ~completed_mask(log, cut, hi)).sum()),
                }.items()
                if v
            },
        ),
    ]
    return ControlSection(
        **base,
        change_date=change,
        verdict=result.verdict,
        headlines=headlines,
        actions=actions,
        basis=basis,
        samples=samples,
        test=[result],
        note=f"Verdict: {result.verdict}.",
    )


load_baselines_task = io_task(load_baselines, name="load_baselines")
save_transformation_run_task = io_task(save_transformation_run, name="save_transformation_run")
control_step_task = compute_task(control_step, name="test_before_after")
