"""The Processes section of the weekly audit: lead times, waiting, rework and bottlenecks mined from the event log."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from opsflow.findings import Action, Basis, Headline, OptRatio, Ratio, Section, Urgency
from opsflow.period import Period
from opsflow.tasking import compute_task

BOTTLENECK_DAYS = 30
TREND_WEEKS = 12
_EPOCH = pd.Timestamp("1970-01-01", tz="UTC")
_HOUR = pd.Timedelta(hours=1)


class ProcessRow(BaseModel):
    """One process over the cases completed in the week."""

    process: str = Field(description="The process.")
    cases_completed: int = Field(description="Cases whose last activity ended in the week.")
    lead_p50_hours: float | None = Field(None, description="Median lead time (first start to last end), hours.")
    lead_p90_hours: float | None = Field(None, description="90th percentile lead time, hours.")
    previous_lead_p50_hours: float | None = Field(None, description="Median lead time in the week before, hours.")
    lead_p50_change_hours: float | None = Field(None, description="This week's median minus the previous week's.")
    mean_process_hours: float | None = Field(None, description="Mean per case of the summed activity durations.")
    mean_waiting_hours: float | None = Field(None, description="Mean per case of the gaps between activities.")
    rework_rate: OptRatio = Field(None, description="Share of cases in which some activity occurs twice or more.")


class BottleneckRow(BaseModel):
    """The activity each process waits for most, over the cases completed in the last 30 days."""

    process: str = Field(description="The process.")
    activity: str = Field(description="The activity with the largest total waiting time before it.")
    total_wait_hours: float = Field(description="Summed waiting before the activity, 30 days, hours.")
    mean_wait_hours: float = Field(description="Mean waiting before one occurrence of the activity, hours.")
    share_of_waiting: Ratio = Field(description="Its share of all waiting in the process (ratio).")
    week_wait_hours: float = Field(description="Summed waiting before it over the week's completed cases, hours.")


class ValueStreamRow(BaseModel):
    """One activity of a process, over the cases completed in the last 30 days (in typical case order)."""

    process: str = Field(description="The process.")
    activity: str = Field(description="The step.")
    occurrences: int = Field(description="Times the activity was performed.")
    mean_duration_hours: float = Field(description="Mean duration of one occurrence, hours.")
    mean_wait_before_hours: float | None = Field(None, description="Mean wait before one occurrence, hours.")
    total_wait_before_hours: float = Field(description="Summed wait before the activity, hours.")
    rework_count: int = Field(description="Occurrences beyond the first in the same case.")


class InProgressRow(BaseModel):
    """One process's cases not yet complete at the end of the period (work in progress)."""

    process: str = Field(description="The process.")
    end_activities: str = Field(description="The activities that complete a case of this process.")
    cases: int = Field(description="Cases with an activity before the period end and no end activity yet.")
    age_p50_hours: float | None = Field(None, description="Median age (period end minus first start), hours.")
    age_p90_hours: float | None = Field(None, description="90th percentile age, hours.")
    oldest_case: str | None = Field(None, description="The case that has been open longest.")
    oldest_age_hours: float | None = Field(None, description="Its age, hours.")


class LeadTrendRow(BaseModel):
    """Median lead time of one process in one of the 12 weeks ending the report date."""

    process: str = Field(description="The process.")
    week_ending: date = Field(description="Last day of the week.")
    cases_completed: int = Field(description="Cases completed in that week.")
    lead_p50_hours: float | None = Field(None, description="Median lead time, hours.")


class ProcessSection(Section):
    """Process performance: lead time, waiting, rework and where cases wait."""

    processes: list[ProcessRow] = Field(default_factory=list, description="Each process over the week.")
    bottlenecks: list[BottleneckRow] = Field(default_factory=list, description="Each process's main bottleneck.")
    value_stream: list[ValueStreamRow] = Field(default_factory=list, description="Activities of each process.")
    lead_time_trend: list[LeadTrendRow] = Field(default_factory=list, description="Weekly median lead time.")
    in_progress: list[InProgressRow] = Field(
        default_factory=list, description="Cases not complete at the period end, per process: never in lead times."
    )


DEFINITIONS: dict[str, str] = {
    "events used": "Only activities that ended before the end of the week exist for this report.",
    "completed case": "A case (process, case_id) is complete when one of its activities that ended before the end "
    "of the period is an end activity of its process (opsflow.yaml `processes: {name: {end_activities: [...]}}`; "
    "default: the activity that most cases of the process end with, among the activities ended before the period "
    "end). It is completed in the window in which the latest ended_at of its activities lies; a case with "
    "activities ending after the window is not complete in it.",
    "work in progress": "Cases with at least one activity ended before the period end and no end activity: their "
    "count, age (period end minus the case's first started_at; p50, p90, oldest). They are never in lead time, "
    "waiting, rework, bottleneck or trend figures, nor in any baseline or KPI built from them.",
    "lead time": "Last ended_at minus first started_at of a completed case, in hours. p50 and p90 are pandas "
    "quantiles with linear interpolation over the cases completed in the week (Monday to Sunday in the reporting "
    "time zone).",
    "process time": "Sum of (ended_at - started_at) over a case's activities, in hours; the table shows the mean "
    "per completed case. An activity the export marks work = false (carrier transit) is left out: it is lead time, "
    "not work.",
    "waiting time": "Activities ordered by started_at within a case; waiting before an activity = its started_at "
    "minus the previous activity's ended_at, clipped at 0 (overlapping work does not count as negative waiting); "
    "a case's waiting time is the sum. The table shows the mean per completed case.",
    "rework rate": "Share of completed cases in which some activity occurs more than once.",
    "bottleneck": f"Per process, the activity with the largest total waiting before it over the cases completed in "
    f"the {BOTTLENECK_DAYS} days ending the report date; mean wait = total / occurrences that have a previous "
    "activity; share = its total / all waiting in the process.",
    "saving": "Half of the bottleneck activity's total waiting over the cases completed in the week.",
    "value stream": f"Per activity over the cases completed in the {BOTTLENECK_DAYS} days ending the report date: "
    "occurrences, mean duration, mean and total wait before it, and rework (occurrences beyond the first in a case). "
    "Activities are listed in the order of their mean position in the case.",
    "lead time trend": f"Median lead time of the cases completed in each of the {TREND_WEEKS} weeks ending the "
    "report date; weeks that ended before the event log's first activity are left out (the note says so).",
}


def process_slug(name: str) -> str:
    """A process name as it appears in a stable headline key."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "process"


def _hours(s: pd.Series) -> np.ndarray:
    """Tz-aware timestamps as float hours since the epoch, whatever the column's time resolution."""
    return ((s - _EPOCH) / _HOUR).to_numpy(dtype="float64")


def _at(t: pd.Timestamp) -> float:
    return float((t - _EPOCH) / _HOUR)


def _opt(x: Any, digits: int = 2) -> float | None:
    return None if x is None or pd.isna(x) else round(float(x), digits)


def _empty(note: str, available: bool) -> ProcessSection:
    return ProcessSection(name="processes", title="Processes", available=available, note=note, definitions=DEFINITIONS)


@dataclass(frozen=True)
class MinedLog:
    """The event log sorted by case, then start: per-event arrays and one row per case (hours since the epoch).

    Arrays are aligned with the sorted events; `cases` is aligned with `bounds` (index of each case's first event).
    Events ending after the report date are kept: they make their case incomplete.
    """

    key: np.ndarray  # case code per event
    start: np.ndarray  # started_at, hours
    end: np.ndarray  # ended_at, hours
    activity: np.ndarray  # activity code per event
    process: np.ndarray  # process code per event
    first: np.ndarray  # True at a case's first event
    wait: np.ndarray  # wait before the event (NaN at a case's first event), clipped at 0
    wait0: np.ndarray  # the same with 0 at the first event
    duration: np.ndarray  # hours
    repeat: np.ndarray  # True when the activity already occurred in the case
    bounds: np.ndarray  # index of each case's first event
    case_of_event: np.ndarray  # index into `cases` per event
    position: np.ndarray  # 0-based position of the event in its case
    cases: pd.DataFrame  # process, last_end, lead, process_time, waiting, rework (+ first_start, case_id)
    process_names: pd.Index
    activity_names: pd.Index


MINED_COLUMNS = ("case_id", "process", "activity", "started_at", "ended_at")


def mine_log(events: pd.DataFrame) -> MinedLog:
    """Sort the log once and derive per-event waits, durations and rework, and per-case lead and process time."""
    start_h = _hours(events["started_at"])
    end_h = _hours(events["ended_at"])
    # One sort of the whole log: by case, then by start; everything below is shifts and segment reductions.
    p_code, p_names = pd.factorize(events["process"])
    c_code, _ = pd.factorize(events["case_id"])
    a_code, a_names = pd.factorize(events["activity"])
    case_key = p_code.astype("int64") * (int(c_code.max()) + 1) + c_code
    del c_code
    # Each unsorted array is dropped once its sorted copy exists: at 10M events every array is 80 MB.
    order = np.lexsort((end_h, start_h, case_key))
    key = case_key[order]
    del case_key
    st = start_h[order]
    del start_h
    en = end_h[order]
    del end_h
    act = a_code[order]
    del a_code
    proc = p_code[order]
    del p_code

    first = np.empty(len(key), dtype=bool)
    first[0] = True
    first[1:] = key[1:] != key[:-1]
    # start minus the previous event's end, clipped at 0, NaN at a case's first event (built in place).
    wait = np.empty_like(en)
    wait[0] = np.nan
    np.subtract(st[1:], en[:-1], out=wait[1:])
    np.clip(wait, 0, None, out=wait)
    wait[first] = np.nan
    wait0 = np.nan_to_num(wait)
    duration = en - st
    # An activity the data marks as not work (work = false: carrier transit) is lead time, not process time.
    work_time = duration
    if "work" in events and events["work"].eq(False).any():
        not_work = events["work"].eq(False).fillna(False).to_numpy(dtype=bool)[order]
        work_time = np.where(not_work, 0.0, duration)
    repeat = pd.Series(key * (len(a_names) + 1) + act).duplicated().to_numpy()

    bounds = np.flatnonzero(first)
    case_of_event = np.cumsum(first) - 1
    position = np.arange(len(key)) - bounds[case_of_event]
    last_end = np.maximum.reduceat(en, bounds)
    cases = pd.DataFrame(
        {
            "process": proc[bounds],
            "last_end": last_end,
            "lead": last_end - st[bounds],
            "process_time": np.add.reduceat(work_time, bounds),
            "waiting": np.add.reduceat(wait0, bounds),
            "rework": np.add.reduceat(repeat.astype("int64"), bounds) > 0,
            "first_start": st[bounds],
        }
    )
    cases["case_id"] = events["case_id"].take(order[bounds]).to_numpy()  # taken first: not the whole column
    return MinedLog(
        key=key,
        start=st,
        end=en,
        activity=act,
        process=proc,
        first=first,
        wait=wait,
        wait0=wait0,
        duration=duration,
        repeat=repeat,
        bounds=bounds,
        case_of_event=case_of_event,
        position=position,
        cases=cases,
        process_names=p_names,
        activity_names=a_names,
    )


def _case_keys(events: pd.DataFrame) -> np.ndarray:
    """Per event, a number that identifies its case: a case is one case_id in one process."""
    p_code, _ = pd.factorize(events["process"])
    c_code, _ = pd.factorize(events["case_id"])
    return p_code.astype("int64") * (int(c_code.max()) + 1) + c_code


def _case_last_end(key: np.ndarray, end_h: np.ndarray) -> np.ndarray:
    """Per event, when its case's last activity ended (hours)."""
    return pd.Series(end_h, copy=False).groupby(key, sort=False).transform("max").to_numpy()


def default_end_activities(events: pd.DataFrame, end: pd.Timestamp) -> dict[str, list[str]]:
    """Per process, the activity that most of its cases end with (their last activity ended before `end`)."""
    known = events.loc[events["ended_at"] < end, ["process", "case_id", "activity", "ended_at"]]
    if known.empty:
        return {}
    last = known.sort_values("ended_at", kind="stable").drop_duplicates(["process", "case_id"], keep="last")
    counts = last.groupby(["process", "activity"], observed=True).size().reset_index(name="n")
    counts = counts.sort_values(["process", "n", "activity"], ascending=[True, False, True], kind="stable")
    top = counts.drop_duplicates("process")
    return {str(p): [str(a)] for p, a in zip(top["process"], top["activity"], strict=True)}


def end_activities_for(
    events: pd.DataFrame, end: pd.Timestamp, declared: Mapping[str, Sequence[str]] | None
) -> dict[str, list[str]]:
    """The end activities of every process: those opsflow.yaml declares, else the data's default."""
    found = default_end_activities(events, end)
    found.update({p: list(a) for p, a in (declared or {}).items()})
    return found


def _is_pair(processes: pd.Series, activities: pd.Series, pairs: Mapping[str, Sequence[str]]) -> np.ndarray:
    """Per event, whether its (process, activity) is one of `pairs`, looked up through the category codes.

    Spelling every event's pair out as text held two more copies of a ten-million-event log (the audit's peak).
    """
    procs = processes if isinstance(processes.dtype, pd.CategoricalDtype) else processes.astype("category")
    acts = activities if isinstance(activities.dtype, pd.CategoricalDtype) else activities.astype("category")
    p_index = {str(p): i for i, p in enumerate(procs.cat.categories)}
    a_index = {str(a): i for i, a in enumerate(acts.cat.categories)}
    # One spare row and column, never set: a missing value's code (-1) lands there.
    table = np.zeros((len(p_index) + 1, len(a_index) + 1), dtype=bool)
    for process, names in pairs.items():
        for activity in names:
            if process in p_index and activity in a_index:
                table[p_index[process], a_index[activity]] = True
    return table[procs.cat.codes.to_numpy(), acts.cat.codes.to_numpy()]


def _case_done(
    events: pd.DataFrame, key: np.ndarray, end_h: np.ndarray, end: float, ends: Mapping[str, Sequence[str]]
) -> np.ndarray:
    """Per event, whether its case reached an end activity of its process before `end`."""
    is_end = _is_pair(events["process"], events["activity"], ends) & (end_h < end)
    return pd.Series(is_end, copy=False).groupby(key, sort=False).transform("any").to_numpy(dtype=bool)


def _in_progress(
    events: pd.DataFrame, key: np.ndarray, done: np.ndarray, end_h: np.ndarray, end: float, ends: dict[str, list[str]]
) -> list[InProgressRow]:
    """Per process, the cases with an activity before `end` and no end activity: count, age p50/p90, oldest."""
    open_ = (~done) & (end_h < end)
    if not open_.any():
        return []
    idx = np.flatnonzero(open_)
    frame = pd.DataFrame(
        {
            "key": key[idx],
            # Taken before spelled out: the whole column as text is a copy of the log's largest part.
            "process": events["process"].take(idx).astype(str).to_numpy(),
            "case_id": events["case_id"].take(idx).astype(str).to_numpy(),
            "start": _hours(events["started_at"].iloc[idx]),
        }
    )
    cases = frame.groupby("key", sort=False).agg(process=("process", "first"), case_id=("case_id", "first"),
                                                  start=("start", "min"))  # fmt: skip
    cases["age"] = end - cases["start"]
    rows = []
    for process, group in cases.groupby("process", sort=True):
        oldest = group.sort_values(["age", "case_id"], ascending=[False, True]).iloc[0]
        rows.append(
            InProgressRow(
                process=str(process),
                end_activities=", ".join(ends.get(str(process), [])) or "none found",
                cases=len(group),
                age_p50_hours=_opt(group["age"].quantile(0.5)),
                age_p90_hours=_opt(group["age"].quantile(0.9)),
                oldest_case=str(oldest["case_id"]),
                oldest_age_hours=_opt(oldest["age"]),
            )
        )
    return rows


def _basis(end_h: np.ndarray, case_end: np.ndarray, week_start: float, end: float) -> list[Basis]:
    """The rows the section rests on: events ended before the end of the week, and those of the week's cases."""
    n, later = len(end_h), int((end_h >= end).sum())
    events_week = int(((case_end >= week_start) & (case_end < end)).sum())
    before = int((case_end < week_start).sum())
    in_progress = int(((case_end >= end) & (end_h < end)).sum())
    return [
        Basis(
            metric="process events",
            rows_used=n - later,
            rows_excluded=later,
            reasons={"ended at or after the end of the week": later} if later else {},
        ),
        Basis(
            metric="events of cases completed in the week",
            rows_used=events_week,
            rows_excluded=n - later - events_week,
            reasons={
                reason: n
                for reason, n in {
                    "case completed before the week": before,
                    "case still in progress at the end of the week": in_progress,
                }.items()
                if n
            },
        ),
    ]


def compute_processes(
    events: pd.DataFrame | None, period: Period, end_activities: Mapping[str, Sequence[str]] | None = None
) -> ProcessSection:
    """Lead time, waiting, rework and bottlenecks of every process, over the cases completed by `period.end` (that
    reached one of their process's `end_activities`, default: the data's); cases in progress on their own."""
    if events is None:
        return _empty("The process_events dataset is not configured.", available=False)
    end = _at(period.end)
    end_h = _hours(events["ended_at"])
    later = int((end_h >= end).sum())
    if len(events) - later == 0:
        return _empty("No process activity ended before the end of the week.", available=True)

    prev = period.previous()
    trend_edges = [Period(period.as_of - timedelta(weeks=i), period.tz) for i in range(TREND_WEEKS - 1, -1, -1)]
    edges = np.array([_at(p.start) for p in trend_edges] + [end])
    # The trend starts no earlier than the log: weeks that ended before its first activity are left out.
    first_event = _at(events["started_at"].min())
    first_week = next((i for i, p in enumerate(trend_edges) if _at(p.end) > first_event), len(trend_edges) - 1)
    # Every figure is over cases completed in one of these windows, so only those cases are mined: a year of log
    # is mined as its last twelve weeks (a case is mined whole, so nothing about it changes).
    lo = min(edges[0], _at(prev.start), _at(period.days_back(BOTTLENECK_DAYS)))
    key = _case_keys(events)
    ends = end_activities_for(events, period.end, end_activities)
    done = _case_done(events, key, end_h, end, ends)
    wip = _in_progress(events, key, done, end_h, end, ends)
    case_end = _case_last_end(key, end_h)
    del key
    # A case still in progress counts as ending after the period: it is in no window.
    case_end = np.where(done, case_end, np.inf)
    basis = _basis(end_h, case_end, _at(period.start), end)
    del end_h
    picked = np.flatnonzero((case_end >= lo) & (case_end < end))
    del case_end, done
    if len(picked) == 0:
        return ProcessSection(
            name="processes",
            title="Processes",
            basis=basis,
            definitions=DEFINITIONS,
            in_progress=wip,
            headlines=_wip_headlines(wip),
            note="No case was completed in the week.",
        )
    columns = [*MINED_COLUMNS, *(["work"] if "work" in events else [])]
    log = mine_log(events[columns].take(picked))
    del picked
    act, proc = log.activity, log.process
    wait, wait0, duration, repeat = log.wait, log.wait0, log.duration, log.repeat
    case_of_event, position = log.case_of_event, log.position
    p_names, a_names = log.process_names, log.activity_names
    cases = log.cases

    def completed_in(lo: float, hi: float) -> np.ndarray:
        return ((cases["last_end"] >= lo) & (cases["last_end"] < hi)).to_numpy()

    week = completed_in(_at(period.start), end)
    prev_week = completed_in(_at(prev.start), _at(prev.end))
    recent = completed_in(_at(period.days_back(BOTTLENECK_DAYS)), end)

    wk = cases[week].groupby("process")
    week_stats = pd.DataFrame(
        {
            "n": wk.size(),
            "p50": wk["lead"].quantile(0.5),
            "p90": wk["lead"].quantile(0.9),
            "proc": wk["process_time"].mean(),
            "wait": wk["waiting"].mean(),
            "rework": wk["rework"].mean(),
        }
    )
    prev_p50 = cases[prev_week].groupby("process")["lead"].quantile(0.5)

    # Activity-level figures over the cases completed in the last 30 days (bottleneck, value stream). The events
    # are selected before the frame is built: a frame of every event would copy the whole log once more.
    picked = np.flatnonzero(recent[case_of_event])
    ev = pd.DataFrame(
        {
            "process": proc[picked],
            "activity": act[picked],
            "duration": duration[picked],
            "wait": wait[picked],
            "wait0": wait0[picked],
            "repeat": repeat[picked],
            "position": position[picked],
            "in_week": week[case_of_event[picked]],
        }
    )
    del picked
    ev["week_wait"] = ev["wait0"].where(ev["in_week"], 0.0)
    stream = ev.groupby(["process", "activity"]).agg(
        occurrences=("duration", "size"),
        mean_duration=("duration", "mean"),
        mean_wait=("wait", "mean"),
        total_wait=("wait0", "sum"),
        week_wait=("week_wait", "sum"),
        rework=("repeat", "sum"),
        position=("position", "mean"),
    )
    stream = stream.reset_index().sort_values(["process", "position", "activity"])

    process_ids = sorted(set(cases.loc[recent | week | prev_week, "process"]), key=lambda i: str(p_names[i]))
    in_trend = completed_in(edges[0], end)
    trend_cases = cases[in_trend].assign(week=np.searchsorted(edges, cases.loc[in_trend, "last_end"], side="right") - 1)
    trend_g = trend_cases.groupby(["process", "week"])["lead"]
    trend = pd.DataFrame({"n": trend_g.size(), "p50": trend_g.quantile(0.5)})
    process_ids = sorted(set(process_ids) | set(trend_cases["process"]), key=lambda i: str(p_names[i]))

    rows: list[ProcessRow] = []
    bottlenecks: list[BottleneckRow] = []
    value_stream: list[ValueStreamRow] = []
    trend_rows: list[LeadTrendRow] = []
    headlines: list[Headline] = []
    actions: list[Action] = []
    for pid in process_ids:
        name = str(p_names[pid])
        s = week_stats.loc[pid] if pid in week_stats.index else None
        p50 = _opt(s["p50"]) if s is not None else None
        prev50 = _opt(prev_p50.get(pid))
        rows.append(
            ProcessRow(
                process=name,
                cases_completed=int(s["n"]) if s is not None else 0,
                lead_p50_hours=p50,
                lead_p90_hours=_opt(s["p90"]) if s is not None else None,
                previous_lead_p50_hours=prev50,
                lead_p50_change_hours=round(p50 - prev50, 2) if p50 is not None and prev50 is not None else None,
                mean_process_hours=_opt(s["proc"]) if s is not None else None,
                mean_waiting_hours=_opt(s["wait"]) if s is not None else None,
                rework_rate=_opt(s["rework"], 4) if s is not None else None,
            )
        )
        slug = process_slug(name)
        headlines += [
            Headline(
                key=f"processes.{slug}.lead_p50_hours",
                label=f"{name}: median lead time",
                value=p50,
                unit="hours",
                better="lower",
            ),
            Headline(
                key=f"processes.{slug}.rework_rate",
                label=f"{name}: rework rate",
                value=rows[-1].rework_rate,
                unit="ratio",
                better="lower",
            ),
            Headline(
                key=f"processes.{slug}.cases_completed",
                label=f"{name}: cases completed",
                value=rows[-1].cases_completed,
                better="neutral",
            ),
        ]

        acts = stream[stream["process"] == pid]
        for a in acts.itertuples(index=False):
            value_stream.append(
                ValueStreamRow(
                    process=name,
                    activity=str(a_names[a.activity]),
                    occurrences=int(a.occurrences),
                    mean_duration_hours=round(float(a.mean_duration), 2),
                    mean_wait_before_hours=_opt(a.mean_wait),
                    total_wait_before_hours=round(float(a.total_wait), 2),
                    rework_count=int(a.rework),
                )
            )
        all_wait = float(acts["total_wait"].sum())
        if all_wait > 0:
            top = acts.sort_values(["total_wait", "activity"], ascending=[False, True]).iloc[0]
            activity = str(a_names[int(top["activity"])])
            b = BottleneckRow(
                process=name,
                activity=activity,
                total_wait_hours=round(float(top["total_wait"]), 2),
                mean_wait_hours=round(float(top["mean_wait"]), 2),
                share_of_waiting=round(float(top["total_wait"]) / all_wait, 4),
                week_wait_hours=round(float(top["week_wait"]), 2),
            )
            bottlenecks.append(b)
            saving = float(top["week_wait"]) / 2
            if saving > 0:
                actions.append(
                    Action(
                        text=f"Bottleneck in {name}: {activity} waits {b.mean_wait_hours:.1f} h on average "
                        f"({b.share_of_waiting:.0%} of all waiting); halving it cuts {saving:.0f} case-hours of "
                        f"waiting per week (half of the {b.week_wait_hours:.0f} h cases waited before it this week, "
                        "summed over cases; waiting, not staff time).",
                        urgency=Urgency.IMPORTANT,
                        owner=None,
                        source=f"process {name}",
                        section="processes",
                        kind="process_bottleneck",
                    )
                )

        for i, p in enumerate(trend_edges):
            if i < first_week:
                continue  # a week that ended before the log's first activity: unknown, not "no case completed"
            t = trend.loc[(pid, i)] if (pid, i) in trend.index else None
            trend_rows.append(
                LeadTrendRow(
                    process=name,
                    week_ending=p.as_of,
                    cases_completed=int(t["n"]) if t is not None else 0,
                    lead_p50_hours=_opt(t["p50"]) if t is not None else None,
                )
            )

    n_week = int(week.sum())
    note = None if n_week else "No case was completed in the week."
    if first_week:
        shortened = (
            f"The lead time trend starts with the week ending {trend_edges[first_week].as_of.isoformat()}, "
            f"{TREND_WEEKS - first_week} weeks instead of {TREND_WEEKS}: the event log starts then."
        )
        note = f"{note} {shortened}" if note else shortened
    return ProcessSection(
        name="processes",
        title="Processes",
        headlines=headlines + _wip_headlines(wip),
        in_progress=wip,
        actions=actions,
        basis=basis,
        definitions=DEFINITIONS,
        processes=rows,
        bottlenecks=bottlenecks,
        value_stream=value_stream,
        lead_time_trend=trend_rows,
        note=note,
    )


def _wip_headlines(wip: list[InProgressRow]) -> list[Headline]:
    return [
        Headline(
            key=f"processes.{process_slug(r.process)}.in_progress",
            label=f"{r.process}: cases in progress",
            value=r.cases,
            better="neutral",
        )
        for r in wip
    ]


compute_processes_task = compute_task(compute_processes, name="compute_processes")
