"""Pattern 3, operational transformation: one process's current state from its event log, and the DMAIC plan,
phased project and KPIs that follow from it, with the benefit quantified from the data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from opsflow.charts import grouped_bar_chart, line_chart
from opsflow.findings import Action, Basis, Headline, OptRatio, Ratio, Section, Urgency
from opsflow.period import Period
from opsflow.tasking import compute_task
from tasks.performance_metrics.registry import RegisteredKpi
from tasks.process_optimization.mining import default_end_activities, mine_log, process_slug

WINDOW_DAYS = 90
TOP_VARIANTS = 5
VARIANT_SEPARATOR = " > "
REWORK_TARGET_FACTOR = 0.5
"""Default rework-rate target: the baseline rate times this (rework halved, like the bottleneck's wait)."""
SLOW_VARIANT_FACTOR = 1.25
"""A frequent variant whose median lead time exceeds the main variant's by this factor gets a standard-work action."""
TARGET_WEEKS_AFTER_IMPLEMENTATION = 4
"""KPI deadline: this many weeks of measurement after implementation ends."""

_EPOCH = pd.Timestamp("1970-01-01", tz="UTC")
_HOUR = pd.Timedelta(hours=1)


class DmaicPhase(StrEnum):
    """The five DMAIC steps."""

    DEFINE = "define"
    MEASURE = "measure"
    ANALYZE = "analyze"
    IMPROVE = "improve"
    CONTROL = "control"


PROJECT_PHASES: tuple[tuple[str, int | None, str], ...] = (
    ("discovery", 2, "Current-state map and baseline figures (this report) agreed with the process team."),
    ("analysis", 2, "Root causes of the bottleneck's wait and of the rework, confirmed on the floor."),
    ("design", 2, "Future-state process, the changes to make and the measurement plan."),
    ("implementation", 4, "The changes rolled out; the KPIs tracked by every weekly audit."),
    ("measurement", None, "Before/after test on every later run until the targets are met (ongoing)."),
)
"""The seed's phased project: (phase, weeks or None for ongoing, deliverable)."""


# -- the process's mined log ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessLog:
    """One process's event log mined once: one row per case and one per event in case order (times in hours)."""

    process: str
    cases: pd.DataFrame  # case_id, first_start, last_end, lead, process_time, waiting, rework
    events: pd.DataFrame  # case (row of `cases`), activity, duration, wait, wait0, repeat, position, end
    known_processes: list[str]
    available: bool = True  # False when the process_events dataset is not configured

    @property
    def unknown(self) -> str | None:
        """One line when the process has no event in the log (a typo, or another company's process name)."""
        if not self.available or self.process in self.known_processes:
            return None
        there = ", ".join(self.known_processes) or "none"
        return (
            f"process {self.process!r} has no events in process_events (processes there: {there}); "
            "choose one with --param process=NAME"
        )


def _at(t: pd.Timestamp) -> float:
    return float((t - _EPOCH) / _HOUR)


def process_log(events: pd.DataFrame | None, process: str, end_activities: Sequence[str] | None = None) -> ProcessLog:
    """The process's cases and events (lead, process and waiting time, rework) from the loaded event log, with when
    each case reached one of the process's `end_activities` (default: the activity most of its cases end with)."""
    empty_cases = pd.DataFrame(
        columns=["case_id", "first_start", "last_end", "lead", "process_time", "waiting", "rework", "done_at"],
        dtype="float64",
    )
    empty_events = pd.DataFrame(
        columns=["case", "activity", "duration", "wait", "wait0", "repeat", "position", "end"], dtype="float64"
    )
    if events is None:
        return ProcessLog(process, empty_cases, empty_events, [], available=False)
    known = sorted(str(p) for p in events["process"].dropna().unique())
    mine = events[events["process"].eq(process).fillna(False).to_numpy(dtype=bool)]
    if mine.empty:
        return ProcessLog(process, empty_cases, empty_events, known)
    log = mine_log(mine)
    ev = pd.DataFrame(
        {
            "case": log.case_of_event,
            "activity": np.asarray(log.activity_names, dtype=object)[log.activity],
            "duration": log.duration,
            "wait": log.wait,
            "wait0": log.wait0,
            "repeat": log.repeat,
            "position": log.position,
            "end": log.end,
        }
    )
    if end_activities is None:
        found = default_end_activities(mine, mine["ended_at"].max() + pd.Timedelta(seconds=1))
        end_activities = found.get(process, [])
    # When each case first reached an end activity (inf: never, the case is in progress).
    reached = np.where(ev["activity"].isin(list(end_activities)).to_numpy(), log.end, np.inf)
    done_at = pd.Series(reached).groupby(log.case_of_event).min().reindex(range(len(log.cases)), fill_value=np.inf)
    cases = log.cases.drop(columns="process").assign(done_at=done_at.to_numpy())
    return ProcessLog(process, cases, ev, known)


def completed_mask(log: ProcessLog, lo: float, hi: float) -> np.ndarray:
    """Cases whose last activity ended in [lo, hi) (hours since the epoch) and that reached an end activity before
    `hi`: a case in progress is in no lead-time figure, baseline or KPI."""
    last = log.cases["last_end"].to_numpy(dtype="float64")
    done = log.cases["done_at"].to_numpy(dtype="float64") if "done_at" in log.cases else np.zeros(len(last))
    return (last >= lo) & (last < hi) & (done < hi)


# -- current state ------------------------------------------------------------------------------------------------


class VariantRow(BaseModel):
    """One distinct activity sequence, over the cases completed in the window."""

    rank: int = Field(description="1 = the most frequent variant.")
    variant: str = Field(description="The activities in case order.")
    cases: int = Field(description="Cases that followed it.")
    share: Ratio = Field(description="Its share of the completed cases.")
    lead_p50_hours: float = Field(description="Median lead time of those cases, hours.")
    mean_lead_hours: float = Field(description="Mean lead time of those cases, hours.")
    has_rework: bool = Field(description="Some activity occurs twice or more in the variant.")


class StreamRow(BaseModel):
    """One activity of the value stream, over the cases completed in the window (in typical case order)."""

    activity: str = Field(description="The step.")
    occurrences: int = Field(description="Times it was performed.")
    cases: int = Field(description="Cases that performed it.")
    mean_duration_hours: float = Field(description="Mean duration of one occurrence, hours (work).")
    mean_wait_before_hours: float | None = Field(None, description="Mean wait before one occurrence, hours.")
    median_wait_before_hours: float | None = Field(None, description="Median wait before one occurrence, hours.")
    wait_per_week_hours: float = Field(description="Summed wait before it per week of the window, hours.")
    share_of_waiting: Ratio = Field(description="Its share of all waiting in the process.")
    rework_count: int = Field(description="Occurrences beyond the first in the same case.")


class WeekRow(BaseModel):
    """One week of the window: cases completed, median lead time and flow efficiency."""

    week_ending: date = Field(description="Last day of the week.")
    cases_completed: int = Field(description="Cases completed in the week.")
    lead_p50_hours: float | None = Field(None, description="Median lead time, hours.")
    pce: OptRatio = Field(None, description="Process cycle efficiency (ratio of sums).")


class CurrentStateSection(Section):
    """A process over the window: lead, process and waiting time, flow efficiency, rework, variants, bottleneck."""

    process: str = ""
    window_start: date | None = None
    window_days: int = WINDOW_DAYS
    cases_completed: int = 0
    cases_per_week: float | None = None
    lead_p50_hours: float | None = None
    rework_rate: float | None = None
    bottleneck: str | None = Field(None, description="The activity with the largest total wait before it.")
    bottleneck_wait_per_week_hours: float | None = None
    bottleneck_mean_wait_hours: float | None = None
    bottleneck_median_wait_hours: float | None = None
    bottleneck_share_of_waiting: float | None = None
    scenario_lead_p50_hours: float | None = Field(None, description="Median lead time if the bottleneck wait halves.")
    rework_cases_per_week: float | None = None
    rework_hours_per_week: float | None = None
    pce: float | None = None
    pce_mean: float | None = None
    waiting_share: float | None = None
    variant_count: int = 0
    value_stream: list[StreamRow] = Field(default_factory=list, description="Value stream: each activity.")
    variants: list[VariantRow] = Field(default_factory=list, description="Top variants (activity sequences).")
    trend: list[WeekRow] = Field(default_factory=list, description="Weekly median lead time over the window.")


DEFINITIONS: dict[str, str] = {
    "window": "The cases of the process whose last activity ended in the window: the `window_days` days ending the "
    "report date (local midnights in the reporting time zone). A case with an activity ending after the report "
    "date is still in progress and not counted.",
    "lead time": "Last ended_at minus first started_at of a completed case, hours; p50 and p90 are pandas "
    "quantiles (linear interpolation).",
    "process time": "Sum of the durations (ended_at - started_at) of a case's activities, hours (work); an activity "
    "the export marks work = false (carrier transit, waiting for the customer) counts in lead time only.",
    "waiting time": "Sum over a case of the gaps between one activity's end and the next one's start (activities "
    "ordered by start), clipped at 0 (overlapping work is not negative waiting).",
    "process cycle efficiency": "Process time / lead time. Headline: ratio of sums, sum of process time over sum of "
    "lead time over all completed cases: the share of all elapsed case-hours that were work (long cases weigh "
    "more). Also shown: mean of ratios, the mean over cases of each case's own ratio (every case weighs the "
    "same, so many short, efficient cases raise it). Cases with zero lead time are left out of the mean of "
    "ratios; both are capped at 1 because overlapping activities can sum to more than the lead time.",
    "waiting share": "Sum of waiting time / sum of lead time over the completed cases.",
    "rework rate": "Share of completed cases in which some activity occurs more than once.",
    "rework hours per week": "Duration of the repeated occurrences plus the wait before them, summed over the "
    "window and divided by its weeks (window_days / 7): the time that removing rework gives back.",
    "variant": "A case's activities in order (by start), joined with ' > '. Share = its cases / completed cases.",
    "bottleneck": "The activity with the largest total waiting before it over the window (ties: alphabetical).",
    "value stream": "Per activity over the window: occurrences, cases, mean duration, mean and median wait before "
    "it, summed wait per week and its share of all waiting, rework occurrences. Ordered by mean position in the "
    "case.",
    "cases per week": "Completed cases / (window_days / 7).",
    "bottleneck saving": "Case-hours of waiting cut per week if the wait before the bottleneck halves: half its "
    "summed wait per week of the window (the hours cases wait, summed over cases: not staff time). Scenario "
    "median lead time: the median over cases of (lead time - half the case's wait "
    "before the bottleneck), everything else unchanged.",
}


def _r(x: Any, digits: int = 2) -> float | None:
    return None if x is None or pd.isna(x) else round(float(x), digits)


def _state_empty(process: str, note: str, available: bool, window_days: int) -> CurrentStateSection:
    return CurrentStateSection(
        name="current_state",
        title=f"Current state: {process}",
        process=process,
        window_days=window_days,
        available=available,
        note=note,
        definitions=DEFINITIONS,
    )


def current_state(
    log: ProcessLog, period: Period, window_days: int = WINDOW_DAYS, top_variants: int = TOP_VARIANTS
) -> CurrentStateSection:
    """Lead, process and waiting time, PCE, rework, variants, bottleneck and value stream of the cases the process
    completed in the `window_days` days ending `period.as_of`."""
    name = log.process
    if not log.available:
        return _state_empty(name, "The process_events dataset is not configured.", False, window_days)
    if log.cases.empty:
        known = ", ".join(log.known_processes) or "none"
        return _state_empty(name, f"No events of process '{name}' (processes in the data: {known}).", True, window_days)
    lo, hi = _at(period.days_back(window_days)), _at(period.end)
    done = completed_mask(log, lo, hi)
    cases = log.cases[done]
    n = len(cases)
    ev_done = done[log.events["case"].to_numpy()]
    ev = log.events[ev_done]
    window_start = period.as_of - timedelta(days=window_days - 1)
    weeks = window_days / 7
    slug = process_slug(name)

    case_last = log.cases["last_end"].to_numpy(dtype="float64")[log.events["case"].to_numpy()]
    case_done = log.cases["done_at"].to_numpy(dtype="float64")[log.events["case"].to_numpy()]
    open_ = (case_last >= lo) & (case_last < hi) & (case_done >= hi)
    reasons = {
        "case completed before the window": int(((case_last < lo) & (case_done < hi)).sum()),
        "case in progress at the report date (an activity ends later)": int((case_last >= hi).sum()),
        "case in progress at the report date (no end activity yet)": int(
            (open_ | ((case_last < lo) & (case_done >= hi))).sum()
        ),
    }
    basis = [
        Basis(
            metric=f"events of {name}",
            rows_used=len(ev),
            rows_excluded=len(log.events) - len(ev),
            reasons={k: v for k, v in reasons.items() if v},
        )
    ]
    if n == 0:
        section = _state_empty(name, f"No case of {name} was completed in the window.", True, window_days)
        section.basis = basis
        return section

    lead = cases["lead"].to_numpy(dtype="float64")
    ptime = cases["process_time"].to_numpy(dtype="float64")
    waiting = cases["waiting"].to_numpy(dtype="float64")
    pce = min(ptime.sum() / lead.sum(), 1.0) if lead.sum() > 0 else None
    positive = lead > 0
    pce_mean = float(np.minimum(ptime[positive] / lead[positive], 1.0).mean()) if positive.any() else None
    waiting_share = waiting.sum() / lead.sum() if lead.sum() > 0 else None
    rework_rate = float(cases["rework"].mean())

    # Variants: each case's activities in case order (events are sorted by case, then start).
    variant_of_case = ev.groupby("case", sort=True)["activity"].agg(VARIANT_SEPARATOR.join)
    vdf = pd.DataFrame({"variant": variant_of_case.reindex(cases.index).to_numpy(), "lead": lead})
    vg = vdf.groupby("variant")["lead"]
    vstats = pd.DataFrame({"cases": vg.size(), "p50": vg.quantile(0.5), "mean": vg.mean()}).reset_index()
    vstats = vstats.sort_values(["cases", "variant"], ascending=[False, True])
    variants: list[VariantRow] = []
    for i, v in enumerate(vstats.head(top_variants).to_dict("records")):
        steps = str(v["variant"]).split(VARIANT_SEPARATOR)
        variants.append(
            VariantRow(
                rank=i + 1,
                variant=str(v["variant"]),
                cases=int(v["cases"]),
                share=round(int(v["cases"]) / n, 4),
                lead_p50_hours=round(float(v["p50"]), 2),
                mean_lead_hours=round(float(v["mean"]), 2),
                has_rework=len(set(steps)) < len(steps),
            )
        )

    # Value stream per activity.
    stream = (
        ev.groupby("activity")
        .agg(
            occurrences=("duration", "size"),
            cases=("case", "nunique"),
            mean_duration=("duration", "mean"),
            mean_wait=("wait", "mean"),
            median_wait=("wait", "median"),
            total_wait=("wait0", "sum"),
            rework=("repeat", "sum"),
            position=("position", "mean"),
        )
        .reset_index()
        .sort_values(["position", "activity"])
    )
    all_wait = float(stream["total_wait"].sum())
    value_stream = [
        StreamRow(
            activity=str(a.activity),
            occurrences=int(a.occurrences),
            cases=int(a.cases),
            mean_duration_hours=round(float(a.mean_duration), 2),
            mean_wait_before_hours=_r(a.mean_wait),
            median_wait_before_hours=_r(a.median_wait),
            wait_per_week_hours=round(float(a.total_wait) / weeks, 2),
            share_of_waiting=round(float(a.total_wait) / all_wait, 4) if all_wait > 0 else 0.0,
            rework_count=int(a.rework),
        )
        for a in stream.itertuples(index=False)
    ]

    bottleneck = None
    scenario = None
    b_row = None
    if all_wait > 0:
        b_row = stream.sort_values(["total_wait", "activity"], ascending=[False, True]).iloc[0]
        bottleneck = str(b_row["activity"])
        b_wait = ev[ev["activity"] == bottleneck].groupby("case")["wait0"].sum().reindex(cases.index, fill_value=0.0)
        scenario = float(np.median(lead - 0.5 * b_wait.to_numpy(dtype="float64")))

    rework_ev = ev["repeat"].to_numpy(dtype=bool)
    rework_hours = float((ev["duration"].to_numpy() + ev["wait0"].to_numpy())[rework_ev].sum()) / weeks

    # Weekly trend over the window: the weeks ending as_of, as_of - 7, ...
    n_weeks = max(window_days // 7, 1)
    trend_periods = [Period(period.as_of - timedelta(weeks=i), period.tz) for i in range(n_weeks - 1, -1, -1)]
    trend: list[WeekRow] = []
    last = cases["last_end"].to_numpy(dtype="float64")
    for p in trend_periods:
        in_week = (last >= _at(p.start)) & (last < _at(p.end))
        k = int(in_week.sum())
        week_lead = float(lead[in_week].sum())
        trend.append(
            WeekRow(
                week_ending=p.as_of,
                cases_completed=k,
                lead_p50_hours=_r(np.median(lead[in_week])) if k else None,
                pce=_r(min(ptime[in_week].sum() / week_lead, 1.0), 4) if week_lead > 0 else None,
            )
        )

    p50 = float(np.quantile(lead, 0.5))
    p90 = float(np.quantile(lead, 0.9))
    headline_specs: list[tuple[str, str, float | None, str, Any]] = [
        ("cases_completed", "cases completed", n, "", "neutral"),
        ("cases_per_week", "cases per week", round(n / weeks, 2), "", "neutral"),
        ("lead_p50_hours", "median lead time", round(p50, 2), "hours", "lower"),
        ("lead_p90_hours", "p90 lead time", round(p90, 2), "hours", "lower"),
        ("mean_process_hours", "mean process time", round(float(ptime.mean()), 2), "hours", "neutral"),
        ("mean_waiting_hours", "mean waiting time", round(float(waiting.mean()), 2), "hours", "lower"),
        ("pce", "process cycle efficiency", _r(pce, 4), "ratio", "higher"),
        ("pce_mean", "PCE, mean of ratios", _r(pce_mean, 4), "ratio", "higher"),
        ("waiting_share", "waiting share of lead time", _r(waiting_share, 4), "ratio", "lower"),
        ("rework_rate", "rework rate", round(rework_rate, 4), "ratio", "lower"),
        ("variants", "variants", int(len(vstats)), "", "lower"),
    ]
    headlines = [
        Headline(key=f"transformation.{slug}.{key}", label=f"{name}: {label}", value=value, unit=unit, better=better)
        for key, label, value, unit, better in headline_specs
    ]
    return CurrentStateSection(
        name="current_state",
        title=f"Current state: {name}",
        headlines=headlines,
        basis=basis,
        definitions=DEFINITIONS,
        process=name,
        window_start=window_start,
        window_days=window_days,
        cases_completed=n,
        cases_per_week=round(n / weeks, 2),
        lead_p50_hours=round(p50, 2),
        rework_rate=round(rework_rate, 4),
        bottleneck=bottleneck,
        bottleneck_wait_per_week_hours=_r(float(b_row["total_wait"]) / weeks) if b_row is not None else None,
        bottleneck_mean_wait_hours=_r(b_row["mean_wait"]) if b_row is not None else None,
        bottleneck_median_wait_hours=_r(b_row["median_wait"]) if b_row is not None else None,
        bottleneck_share_of_waiting=_r(float(b_row["total_wait"]) / all_wait, 4) if b_row is not None else None,
        scenario_lead_p50_hours=_r(scenario),
        rework_cases_per_week=round(float(cases["rework"].sum()) / weeks, 2),
        rework_hours_per_week=round(rework_hours, 2),
        pce=_r(pce, 4),
        pce_mean=_r(pce_mean, 4),
        waiting_share=_r(waiting_share, 4),
        variant_count=int(len(vstats)),
        value_stream=value_stream,
        variants=variants,
        trend=trend,
    )


# -- the plan -------------------------------------------------------------------------------------------------------


class DmaicRow(BaseModel):
    """One line of the DMAIC plan."""

    step: DmaicPhase = Field(description="define, measure, analyze, improve or control.")
    topic: str = Field(description="What the line is about.")
    detail: str = Field(description="The finding or the decision, with its figures.")


class BenefitRow(BaseModel):
    """One benefit of the plan, quantified from the data."""

    benefit: str = Field(description="What improves.")
    value: float | None = Field(None, description="How much.")
    unit: str = Field(description="Unit of the value.")
    basis: str = Field(description="How it is computed.")


class PhaseRow(BaseModel):
    """One phase of the improvement project."""

    phase: str = Field(description="discovery, analysis, design, implementation, measurement.")
    weeks: int | None = Field(None, description="Planned length; empty = ongoing.")
    start: date = Field(description="First day.")
    end: date | None = Field(None, description="Last day; empty = ongoing.")
    owner: str = Field(description="Who leads the phase.")
    status: str = Field(description="done, in progress or planned, as of the report date.")
    deliverable: str = Field(description="What the phase delivers.")


class KpiTargetRow(BaseModel):
    """A KPI the plan proposes, registered so later weekly audits track it."""

    kpi_id: str = Field(description="Registered KPI id.")
    name: str = Field(description="What is measured.")
    metric_key: str = Field(description="Weekly-audit figure that measures it.")
    unit: str = Field(description="Unit of baseline and target.")
    baseline: float = Field(description="Value at the baseline run.")
    baseline_date: date = Field(description="as_of of the baseline run.")
    target: float | None = Field(None, description="Value to reach.")
    deadline: date | None = Field(None, description="When.")
    owner: str | None = Field(None, description="Who is accountable.")


class Baseline(BaseModel):
    """The figures of the first run for a process: what the KPIs and the Control step compare with."""

    as_of: date
    window_days: int
    lead_p50_hours: float
    rework_rate: float
    target_lead_p50_hours: float | None = None
    target_rework_rate: float | None = None
    deadline: date | None = None


class ImprovementPlanSection(Section):
    """The DMAIC plan, its quantified benefits, the phased project and the KPIs with baseline and target."""

    process: str = ""
    target_lead_p50_hours: float | None = None
    target_rework_rate: float | None = None
    deadline: date | None = None
    scenario_lead_p50_hours: float | None = Field(None, description="Median lead time the plan's scenario reaches.")
    target_shortfall_hours: float | None = Field(
        None, description="How far the scenario's median lead time stays above the target (empty: it reaches it)."
    )
    dmaic: list[DmaicRow] = Field(default_factory=list, description="DMAIC plan.")
    benefits: list[BenefitRow] = Field(default_factory=list, description="Benefits quantified from the data.")
    phases: list[PhaseRow] = Field(default_factory=list, description="Phased project.")
    kpis: list[KpiTargetRow] = Field(default_factory=list, description="KPIs with baseline and target.")


PLAN_DEFINITIONS: dict[str, str] = {
    "case-hours of waiting cut per week": "Half the summed wait before the bottleneck per week of the window: "
    "sum over cases of their wait before it / weeks / 2. Hours cases spend waiting, not staff hours.",
    "gap to target": "The scenario's median lead time minus the target, when the scenario does not reach it: what "
    "the plan's quantified changes leave undone.",
    "rework eliminated": "Cases per week that repeat an activity, and the hours of repeated work and the wait "
    "before it per week.",
    "lead time target": "The target_lead_p50_hours parameter; else the baseline median times (1 - target "
    "reduction); else the scenario median (the bottleneck's wait halved). Fixed at the first run for the "
    "process, so later runs keep the same target.",
    "rework target": f"The target_rework_rate parameter; else the baseline rate times {REWORK_TARGET_FACTOR}.",
    "project dates": "Phases follow one another from the day after the first run's as_of (the baseline), in whole "
    "weeks; measurement is ongoing. Status compares the report date with each phase's dates.",
    "KPI deadline": f"The end of implementation plus {TARGET_WEEKS_AFTER_IMPLEMENTATION} weeks of measurement.",
}


def project_phases(start_after: date, as_of: date, owner: str | None) -> list[PhaseRow]:
    """The seed's phases back to back from the day after `start_after`, each with its status on `as_of`."""
    rows: list[PhaseRow] = []
    start = start_after + timedelta(days=1)
    for phase, weeks, deliverable in PROJECT_PHASES:
        end = start + timedelta(weeks=weeks) - timedelta(days=1) if weeks is not None else None
        status = "planned" if as_of < start else ("done" if end is not None and as_of >= end else "in progress")
        rows.append(
            PhaseRow(
                phase=phase,
                weeks=weeks,
                start=start,
                end=end,
                owner=owner or "process owner (unassigned)",
                status=status,
                deliverable=deliverable,
            )
        )
        if end is not None:
            start = end + timedelta(days=1)
    return rows


def kpi_deadline(phases: list[PhaseRow]) -> date | None:
    implementation = next((p for p in phases if p.phase == "implementation"), None)
    if implementation is None or implementation.end is None:
        return None
    return implementation.end + timedelta(weeks=TARGET_WEEKS_AFTER_IMPLEMENTATION)


def baseline_from_state(
    state: CurrentStateSection,
    as_of: date,
    target_lead_p50_hours: float | None = None,
    target_reduction: float | None = None,
    target_rework_rate: float | None = None,
) -> Baseline | None:
    """This run's figures as the baseline, with the targets resolved (see PLAN_DEFINITIONS)."""
    if state.lead_p50_hours is None or state.rework_rate is None:
        return None
    if target_lead_p50_hours is not None:
        target_lead: float | None = target_lead_p50_hours
    elif target_reduction is not None:
        target_lead = round(state.lead_p50_hours * (1 - target_reduction), 2)
    else:
        target_lead = state.scenario_lead_p50_hours
    target_rework = (
        target_rework_rate if target_rework_rate is not None else round(state.rework_rate * REWORK_TARGET_FACTOR, 4)
    )
    phases = project_phases(as_of, as_of, None)
    return Baseline(
        as_of=as_of,
        window_days=state.window_days,
        lead_p50_hours=state.lead_p50_hours,
        rework_rate=state.rework_rate,
        target_lead_p50_hours=target_lead,
        target_rework_rate=target_rework,
        deadline=kpi_deadline(phases),
    )


def kpi_ids(process: str) -> tuple[str, str]:
    """The registered ids of the process's lead-time and rework KPIs."""
    stem = process_slug(process).replace("_", "-")
    return f"OT-{stem}-lead-time", f"OT-{stem}-rework-rate"


def proposed_kpis(
    process: str, baseline: Baseline, owner: str | None, objective: str | None, source_flow: str
) -> list[RegisteredKpi]:
    """The lead-time and rework KPIs, measured by the weekly audit's process figures, with baseline and target."""
    slug = process_slug(process)
    lead_id, rework_id = kpi_ids(process)
    objective = objective or f"Faster, right-first-time {process}"
    common: dict[str, Any] = {
        "perspective": "internal_process",
        "objective": objective,
        "direction": "decrease",
        "baseline_date": baseline.as_of,
        "owner": owner,
        "deadline": baseline.deadline,
        "source_flow": source_flow,
    }
    return [
        RegisteredKpi(
            kpi_id=lead_id,
            name=f"{process}: median lead time",
            unit="hours",
            baseline=baseline.lead_p50_hours,
            target=baseline.target_lead_p50_hours,
            metric_key=f"processes.{slug}.lead_p50_hours",
            **common,
        ),
        RegisteredKpi(
            kpi_id=rework_id,
            name=f"{process}: rework rate",
            unit="ratio",
            baseline=baseline.rework_rate,
            target=baseline.target_rework_rate,
            metric_key=f"processes.{slug}.rework_rate",
            **common,
        ),
    ]


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.0%}" if abs(x) >= 0.1 else f"{x:.1%}"


def _h(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1f} h"


def improvement_plan(
    state: CurrentStateSection,
    baseline: Baseline | None,
    as_of: date,
    owner: str | None = None,
    goal: str | None = None,
    source_flow: str = "operational-transformation",
) -> ImprovementPlanSection:
    """DMAIC from the current state: the goal, the baseline, the analysis, actions with their benefit quantified,
    the phased project from the baseline date, and the KPIs to register."""
    name = state.process
    if baseline is None or state.cases_completed == 0:
        return ImprovementPlanSection(
            name="plan",
            title="DMAIC improvement plan",
            process=name,
            available=state.available,
            note="No plan without a current state: " + (state.note or "no completed case in the window."),
            definitions=PLAN_DEFINITIONS,
        )
    slug = process_slug(name)
    owner_text = owner or "the process owner"
    window = f"{state.window_days} days ending {as_of.isoformat()}"
    phases = project_phases(baseline.as_of, as_of, owner)
    saving = (state.bottleneck_wait_per_week_hours or 0.0) / 2 if state.bottleneck else None
    per_case = saving / state.cases_per_week if saving is not None and state.cases_per_week else None
    stream = {r.activity: r for r in state.value_stream}
    by_wait = sorted(state.value_stream, key=lambda r: (-r.wait_per_week_hours, r.activity))
    reworked = sorted((r for r in state.value_stream if r.rework_count), key=lambda r: (-r.rework_count, r.activity))
    main = state.variants[0] if state.variants else None
    top_share = sum(v.share for v in state.variants)

    goal_text = goal or (
        f"Median lead time from {_h(baseline.lead_p50_hours)} to {_h(baseline.target_lead_p50_hours)} and rework rate "
        f"from {_pct(baseline.rework_rate)} to {_pct(baseline.target_rework_rate)} by "
        f"{baseline.deadline.isoformat() if baseline.deadline else 'the end of measurement'}."
    )
    rows = [
        DmaicRow(
            step=DmaicPhase.DEFINE,
            topic="process",
            detail=f"{name}: {state.cases_completed} cases completed in the {window} "
            f"({state.cases_per_week:.1f} per week).",
        ),
        DmaicRow(
            step=DmaicPhase.DEFINE,
            topic="problem",
            detail=f"Median lead time {_h(state.lead_p50_hours)}; only {_pct(state.pce)} of case time is work and "
            f"{_pct(state.waiting_share)} is waiting; {_pct(state.rework_rate)} of cases repeat an activity.",
        ),
        DmaicRow(step=DmaicPhase.DEFINE, topic="goal", detail=goal_text),
        DmaicRow(
            step=DmaicPhase.MEASURE,
            topic="baseline",
            detail=f"Baseline of {baseline.as_of.isoformat()} ({baseline.window_days} days): median lead time "
            f"{_h(baseline.lead_p50_hours)}, rework rate {_pct(baseline.rework_rate)}. This run: PCE "
            f"{_pct(state.pce)} (ratio of sums; mean of ratios {_pct(state.pce_mean)}), {state.variant_count} "
            "variants.",
        ),
        DmaicRow(
            step=DmaicPhase.MEASURE,
            topic="basis",
            detail="; ".join(
                f"{b.metric}: {b.rows_used} rows used, {b.rows_excluded} left out"
                + "".join(f", {n} as {reason}" for reason, n in b.reasons.items())
                for b in state.basis
            ),
        ),
    ]
    if state.bottleneck:
        rows.append(
            DmaicRow(
                step=DmaicPhase.ANALYZE,
                topic="bottleneck",
                detail=f"{state.bottleneck}: mean wait {_h(state.bottleneck_mean_wait_hours)} before it (median "
                f"{_h(state.bottleneck_median_wait_hours)}), {_pct(state.bottleneck_share_of_waiting)} of all "
                f"waiting, {state.bottleneck_wait_per_week_hours:.0f} h of waiting per week.",
            )
        )
    rows.append(
        DmaicRow(
            step=DmaicPhase.ANALYZE,
            topic="waiting",
            detail=f"Waiting is {_pct(state.waiting_share)} of lead time; the longest waits per week: "
            + ", ".join(f"{r.activity} {r.wait_per_week_hours:.0f} h" for r in by_wait[:3])
            + ".",
        )
    )
    rows.append(
        DmaicRow(
            step=DmaicPhase.ANALYZE,
            topic="rework",
            detail=(
                "Repeated activities: "
                + ", ".join(f"{r.activity} {r.rework_count} times" for r in reworked[:3])
                + f" ({state.rework_cases_per_week:.1f} cases and {state.rework_hours_per_week:.1f} h per week)."
            )
            if reworked
            else "No activity is repeated within a case.",
        )
    )
    if main is not None:
        rows.append(
            DmaicRow(
                step=DmaicPhase.ANALYZE,
                topic="variants",
                detail=f"{state.variant_count} variants; the most frequent ({main.variant}) covers "
                f"{_pct(main.share)} of cases with median lead time {_h(main.lead_p50_hours)}; the top "
                f"{len(state.variants)} cover {_pct(top_share)}.",
            )
        )

    actions: list[Action] = []
    benefits: list[BenefitRow] = []
    if state.bottleneck and saving is not None:
        text = (
            f"Halve the wait before {state.bottleneck} in {name} (mean {_h(state.bottleneck_mean_wait_hours)}, "
            f"{_pct(state.bottleneck_share_of_waiting)} of all waiting): cuts {saving:.0f} case-hours of waiting per "
            f"week (half of {state.bottleneck_wait_per_week_hours or 0:.0f} h that {state.cases_per_week:.0f} cases a "
            f"week wait before it; waiting, not staff time) and brings the median lead time from "
            f"{_h(state.lead_p50_hours)} to {_h(state.scenario_lead_p50_hours)}."
        )
        rows.append(DmaicRow(step=DmaicPhase.IMPROVE, topic=f"bottleneck {state.bottleneck}", detail=text))
        actions.append(
            Action(
                text=text,
                urgency=Urgency.IMPORTANT,
                owner=owner,
                source=f"process {name} activity {state.bottleneck}",
                section="plan",
                due=next((p.end for p in phases if p.phase == "implementation"), None),
                kind="improvement",
            )
        )
        benefits += [
            BenefitRow(
                benefit=f"waiting before {state.bottleneck} halved",
                value=round(saving, 1),
                unit="case-hours of waiting per week",
                basis=f"half of {state.bottleneck_wait_per_week_hours:.1f} h of wait per week",
            ),
            BenefitRow(
                benefit="per case",
                value=_r(per_case),
                unit="hours",
                basis=f"over {state.cases_per_week:.1f} cases per week",
            ),
            BenefitRow(
                benefit="median lead time in that scenario",
                value=state.scenario_lead_p50_hours,
                unit="hours",
                basis=f"from {_h(state.lead_p50_hours)}",
            ),
        ]
    if reworked:
        top = reworked[0]
        text = (
            f"Remove the causes of rework in {name} ({top.activity} repeated {top.rework_count} times in the "
            f"window): {state.rework_cases_per_week:.1f} cases per week repeat an activity, "
            f"{state.rework_hours_per_week:.1f} hours per week of repeated work and waiting."
        )
        rows.append(DmaicRow(step=DmaicPhase.IMPROVE, topic="rework", detail=text))
        actions.append(
            Action(
                text=text,
                urgency=Urgency.IMPORTANT,
                owner=owner,
                source=f"process {name} rework of {top.activity}",
                section="plan",
                kind="improvement",
            )
        )
        benefits.append(
            BenefitRow(
                benefit="rework eliminated",
                value=state.rework_hours_per_week,
                unit="hours per week",
                basis=f"{state.rework_cases_per_week:.1f} cases per week with a repeated activity",
            )
        )
    if main is not None:
        slow = next(
            (v for v in state.variants[1:] if v.lead_p50_hours > SLOW_VARIANT_FACTOR * main.lead_p50_hours), None
        )
        if slow is not None:
            text = (
                f"Standard work for {name}: variant {slow.rank} ({slow.variant}, {_pct(slow.share)} of cases) takes "
                f"{_h(slow.lead_p50_hours)} median against {_h(main.lead_p50_hours)} for the main variant."
            )
            rows.append(DmaicRow(step=DmaicPhase.IMPROVE, topic="standard work", detail=text))
            actions.append(
                Action(
                    text=text,
                    urgency=Urgency.ON_RADAR,
                    owner=owner,
                    source=f"process {name} variant {slow.rank}",
                    section="plan",
                    kind="improvement",
                )
            )
    kpis = proposed_kpis(name, baseline, owner, goal, source_flow)
    kpi_rows = [
        KpiTargetRow(
            kpi_id=k.kpi_id,
            name=k.name,
            metric_key=k.metric_key or "",
            unit=k.unit or "",
            baseline=k.baseline,
            baseline_date=k.baseline_date,
            target=k.target,
            deadline=k.deadline,
            owner=k.owner,
        )
        for k in kpis
    ]
    for k in kpi_rows:
        rows.append(
            DmaicRow(
                step=DmaicPhase.CONTROL,
                topic=f"KPI {k.kpi_id}",
                detail=f"{k.name}: baseline {k.baseline:g}, target "
                f"{'none' if k.target is None else f'{k.target:g}'} {k.unit} by "
                f"{k.deadline.isoformat() if k.deadline else 'no deadline'}; every weekly audit records "
                f"{k.metric_key}.",
            )
        )
    rows.append(
        DmaicRow(
            step=DmaicPhase.CONTROL,
            topic="before/after test",
            detail="Every later run compares the lead times of cases started after the change date with the "
            "baseline cases (Mann-Whitney U, one-sided): see the Control section.",
        )
    )
    headlines = [
        Headline(
            key=f"transformation.{slug}.saving_hours_per_week",
            label=f"{name}: case-hours of waiting cut per week if the bottleneck wait halves",
            value=_r(saving, 1),
            unit="case-hours",
            better="neutral",
        ),
        Headline(
            key=f"transformation.{slug}.rework_hours_per_week",
            label=f"{name}: rework hours per week",
            value=state.rework_hours_per_week,
            unit="hours",
            better="lower",
        ),
        Headline(
            key=f"transformation.{slug}.target_lead_p50_hours",
            label=f"{name}: median lead time target",
            value=baseline.target_lead_p50_hours,
            unit="hours",
            better="neutral",
        ),
    ]
    if not owner:
        rows.append(
            DmaicRow(step=DmaicPhase.DEFINE, topic="owner", detail=f"No owner named: {owner_text} should be named.")
        )
    shortfall = target_shortfall(state.scenario_lead_p50_hours, baseline.target_lead_p50_hours)
    if shortfall is not None:
        rows.append(
            DmaicRow(
                step=DmaicPhase.IMPROVE,
                topic="gap to target",
                detail=f"The plan falls short: its scenario reaches {_h(state.scenario_lead_p50_hours)} median lead "
                f"time against the {_h(baseline.target_lead_p50_hours)} target, {_h(shortfall)} short; more changes "
                "are needed to reach it.",
            )
        )
    return ImprovementPlanSection(
        name="plan",
        title="DMAIC improvement plan",
        headlines=headlines,
        actions=actions,
        definitions=PLAN_DEFINITIONS,
        process=name,
        target_lead_p50_hours=baseline.target_lead_p50_hours,
        target_rework_rate=baseline.target_rework_rate,
        deadline=baseline.deadline,
        scenario_lead_p50_hours=state.scenario_lead_p50_hours,
        target_shortfall_hours=shortfall,
        dmaic=rows,
        benefits=benefits,
        phases=phases,
        kpis=kpi_rows,
        note=None if stream else "No activity in the window.",
    )


def target_shortfall(scenario: float | None, target: float | None) -> float | None:
    """Hours the scenario's median lead time stays above the target; None when it reaches it or either is unknown."""
    if scenario is None or target is None or scenario <= target:
        return None
    return round(scenario - target, 1)


def resolve_baseline(
    state: CurrentStateSection,
    first: Baseline | None,
    as_of: date,
    target_lead_p50_hours: float | None = None,
    target_reduction: float | None = None,
    target_rework_rate: float | None = None,
) -> Baseline | None:
    """The first run's baseline when there is one (explicit targets still override its targets), else this run's."""
    if first is None:
        return baseline_from_state(state, as_of, target_lead_p50_hours, target_reduction, target_rework_rate)
    update: dict[str, float] = {}
    if target_lead_p50_hours is not None:
        update["target_lead_p50_hours"] = target_lead_p50_hours
    elif target_reduction is not None:
        update["target_lead_p50_hours"] = round(first.lead_p50_hours * (1 - target_reduction), 2)
    if target_rework_rate is not None:
        update["target_rework_rate"] = target_rework_rate
    return first.model_copy(update=update)


TRANSFORMATION_CHARTS = {"current_state": ["lead-time-trend", "value-stream"]}
"""Which chart heads which section of the report."""


def transformation_charts(state: CurrentStateSection, target_lead_p50_hours: float | None) -> dict[str, bytes]:
    """The weekly median lead time against the target, and work vs wait per activity of the value stream."""
    charts: dict[str, bytes] = {}
    if any(w.lead_p50_hours is not None for w in state.trend):
        charts["lead-time-trend"] = line_chart(
            f"{state.process}: median lead time by week",
            {state.process: [(w.week_ending, w.lead_p50_hours) for w in state.trend]},
            "hours",
            reference=target_lead_p50_hours,
            reference_label="target",
        )
    if state.value_stream:
        charts["value-stream"] = grouped_bar_chart(
            f"{state.process}: value stream, mean hours per occurrence",
            [r.activity for r in state.value_stream],
            {
                "work": [r.mean_duration_hours for r in state.value_stream],
                "wait before": [r.mean_wait_before_hours for r in state.value_stream],
            },
            "hours",
        )
    return charts


def transformation_summary(state: CurrentStateSection, plan: ImprovementPlanSection, verdict_line: str | None) -> str:
    """The deterministic summary of a Pattern 3 run: current state, the bottleneck and its benefit, the control."""
    if state.cases_completed == 0:
        return state.note or f"No completed case of {state.process} in the window."
    parts = [
        f"{state.process}: median lead time {_h(state.lead_p50_hours)} over {state.cases_completed} cases completed "
        f"in the {state.window_days} days to the report date; process cycle efficiency {_pct(state.pce)}, waiting "
        f"{_pct(state.waiting_share)} of lead time, rework {_pct(state.rework_rate)} of cases, "
        f"{state.variant_count} variants."
    ]
    if state.bottleneck:
        saving = (state.bottleneck_wait_per_week_hours or 0) / 2
        parts.append(
            f"The bottleneck is {state.bottleneck} ({_pct(state.bottleneck_share_of_waiting)} of all waiting): "
            f"halving its wait cuts {saving:.0f} case-hours of waiting per week (not staff time) and brings the "
            f"median lead time to {_h(state.scenario_lead_p50_hours)}."
        )
    if plan.target_lead_p50_hours is not None:
        parts.append(
            f"Target: median lead time {_h(plan.target_lead_p50_hours)} by "
            f"{plan.deadline.isoformat() if plan.deadline else 'the end of measurement'}."
        )
        if plan.target_shortfall_hours is not None:
            parts.append(
                f"The plan falls short: its scenario reaches {_h(plan.scenario_lead_p50_hours)}, "
                f"{_h(plan.target_shortfall_hours)} above the target."
            )
    if verdict_line:
        parts.append(verdict_line)
    return " ".join(parts)


transformation_charts_task = compute_task(transformation_charts, name="draw_transformation_charts")
process_log_task = compute_task(process_log, name="mine_process_log")
current_state_task = compute_task(current_state, name="compute_current_state")
improvement_plan_task = compute_task(improvement_plan, name="plan_improvement")
resolve_baseline_task = compute_task(resolve_baseline, name="resolve_baseline")
proposed_kpis_task = compute_task(proposed_kpis, name="propose_kpis")
