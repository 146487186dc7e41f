"""The KPI section of the weekly audit: where each KPI stands against its target, SMART gaps, the balanced scorecard."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from opsflow.findings import Action, Basis, Headline, OptRatio, Section, Urgency
from opsflow.period import Period
from opsflow.tasking import compute_task

Status = Literal["achieved", "on_track", "at_risk", "off_track", "not_scored"]

PERSPECTIVES: tuple[str, ...] = ("financial", "customer", "internal_process", "learning_growth")
SMART_CRITERIA: tuple[str, ...] = ("specific", "measurable", "time_bound", "owner", "target")

ON_TRACK_SLACK = 0.1
"""A KPI is on track when its score is at most this far below the progress expected by now."""
AT_RISK_BAND = 0.25
"""Below the on-track line by at most this much is at risk; further below is off track."""
NO_DEADLINE_ON_TRACK = 0.7
"""Without a deadline there is no expected progress: a score of at least this is on track (OKR convention)."""
CHANGE_DAYS = 28
RECENT_DAYS = 30
_EPS = 1e-9  # scores are rounded to 2 decimals; keep 0.3 - 0.1 == 0.2 from failing on float noise


class KpiRow(BaseModel):
    """One KPI as of the report date."""

    # The status and where the KPI stands against its target lead: a report shows a wide table's first columns.
    kpi_id: str = Field(description="KPI key.")
    name: str | None = Field(None, description="What is measured.")
    owner: str | None = Field(None, description="Person accountable.")
    status: Status = Field(description="achieved, on_track, at_risk, off_track or not_scored.")
    latest_value: float | None = Field(None, description="Latest observation on or before the report date.")
    target: float | None = Field(None, description="Value to reach by the deadline.")
    unit: str | None = Field(None, description="Unit of baseline, target and values.")
    deadline: date | None = Field(None, description="Date by which the target should be reached.")
    okr_score: float | None = Field(None, description="Progress clipped to 0..1, rounded to 2 decimals.")
    expected_progress: OptRatio = Field(None, description="Share of time elapsed from first observation to deadline.")
    perspective: str = Field(description="Balanced-scorecard perspective.")
    direction: str = Field(description="increase or decrease: which way is better.")
    baseline: float = Field(description="Value when the KPI was set.")
    latest_on: date | None = Field(None, description="Date of that observation.")
    progress: OptRatio = Field(None, description="(latest - baseline) / (target - baseline); negative = wrong way.")
    value_28d_ago: float | None = Field(None, description="Latest observation on or before the report date - 28 days.")
    change_28d: float | None = Field(None, description="latest_value - value_28d_ago, in the KPI's unit.")
    source: str | None = Field(None, description="The computed figure this KPI reads on the report date, if any.")
    status_note: str | None = Field(None, description="Why the status differs from the score's, when it does.")


class SmartRow(BaseModel):
    """Which parts of a KPI's definition are missing (achievable and relevant are not checked)."""

    kpi_id: str = Field(description="KPI key.")
    specific: bool = Field(description="Has a name and an objective.")
    measurable: bool = Field(description="Has a unit and an observation in the 30 days ending the report date.")
    time_bound: bool = Field(description="Has a deadline.")
    has_owner: bool = Field(description="Has an owner.")
    has_target: bool = Field(description="Has a target.")
    failing: str = Field(description="The failing criteria, comma separated; empty when the definition is complete.")


class PerspectiveRow(BaseModel):
    """One balanced-scorecard perspective."""

    perspective: str = Field(description="Balanced-scorecard perspective.")
    kpis: int = Field(description="Number of KPIs defined in this perspective.")
    mean_okr_score: float | None = Field(None, description="Mean OKR score of its scored KPIs (rounded to 2 decimals).")
    achieved: int = Field(0, description="KPIs with score 1.")
    on_track: int = Field(0, description="KPIs on track.")
    at_risk: int = Field(0, description="KPIs at risk.")
    off_track: int = Field(0, description="KPIs off track.")
    not_scored: int = Field(0, description="KPIs without target, with target = baseline, or without observation.")


class KpiSection(Section):
    """KPIs against their targets, their SMART gaps and the balanced scorecard."""

    kpis: list[KpiRow] = Field(default_factory=list, description="Every KPI as of the report date.")
    smart: list[SmartRow] = Field(default_factory=list, description="KPIs whose definition fails a SMART check.")
    perspectives: list[PerspectiveRow] = Field(default_factory=list, description="Balanced scorecard by perspective.")


DEFINITIONS: dict[str, str] = {
    "latest value": "The KPI's observation with the latest observed_on on or before the report date; observations "
    "dated after the report date are ignored (they did not exist yet).",
    "progress": "(latest value - baseline) / (target - baseline). The same formula serves both directions: a "
    "'decrease' KPI that went down from its baseline has positive progress; a KPI that moved the wrong way has "
    "negative progress. Not computed when the target is empty or equals the baseline, or without an observation.",
    "OKR score": "Progress clipped to 0..1 and rounded to 2 decimals.",
    "expected progress": "(report date - first observation date) / (deadline - first observation date), clipped to "
    "0..1 (1 when the deadline is on or before the first observation); none without a deadline. First observation "
    "= earliest observation on or before the report date.",
    "status": f"achieved: score = 1; on track: score >= expected progress - {ON_TRACK_SLACK} (without a deadline: "
    f"score >= {NO_DEADLINE_ON_TRACK}); at risk: at most {AT_RISK_BAND} below the on-track line; off track: further "
    "below; not scored: no score.",
    "change 28 d": f"Latest value minus the latest observation on or before the report date - {CHANGE_DAYS} days.",
    "KPIs on track": "(achieved + on track) / KPIs with a score.",
    "mean OKR score": "Mean of the OKR scores of the KPIs that have one.",
    "SMART check": "specific: has a name and an objective; measurable: has a unit and an observation in the "
    f"{RECENT_DAYS} days ending the report date; time-bound: has a deadline; plus has an owner and a target. "
    "Achievable and relevant are judgement calls and are not checked.",
    "KPIs failing SMART": "KPIs failing at least one of the checked criteria.",
    "source": "A KPI with a source reads that figure of its section on the report date (the same number the section "
    "shows; a ratio in % for a KPI in %), not a separate series. A KPI whose source SLO is breached (error budget "
    "exhausted) is off track whatever its score: a breached SLO is not on track. A process lead-time KPI whose "
    "latest control test says 'no change detectable' (or 'not enough data') is on track at most, never achieved.",
}


def _blank(s: pd.Series) -> pd.Series:
    """True where a text value is missing or only whitespace."""
    return s.isna() | s.astype("string").str.strip().eq("").fillna(True)


def _opt(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _opt_str(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def _opt_date(value: Any) -> date | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def _latest_on_or_before(obs: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """Per KPI, the observation with the latest date on or before `day` (columns value, observed_on)."""
    upto = obs[obs["observed_on"] <= day]
    return upto.sort_values(["kpi_id", "observed_on"]).drop_duplicates("kpi_id", keep="last").set_index("kpi_id")


def _empty(note: str, available: bool) -> KpiSection:
    return KpiSection(name="kpis", title="KPIs", available=available, note=note, definitions=DEFINITIONS)


def compute_kpis(kpis: pd.DataFrame | None, observations: pd.DataFrame | None, period: Period) -> KpiSection:
    """Score every KPI as of `period.as_of`, check its definition, and roll it up by scorecard perspective."""
    if kpis is None:
        return _empty("The kpis dataset is not configured.", available=False)
    if kpis.empty:
        return _empty("No KPIs are defined.", available=True)

    as_of = pd.Timestamp(period.as_of)
    notes: list[str] = []
    if observations is None:
        notes.append("The kpi_observations dataset is not configured: no KPI can be scored.")
        obs = pd.DataFrame(
            {
                "kpi_id": pd.Series(dtype="string"),
                "observed_on": pd.Series(dtype="datetime64[ns]"),
                "value": pd.Series(dtype="float64"),
            }
        )
    else:
        obs = observations[["kpi_id", "observed_on", "value"]]
    later = int((obs["observed_on"] > as_of).sum())
    obs = obs[obs["observed_on"] <= as_of]

    k = kpis.drop_duplicates("kpi_id").set_index("kpi_id")
    latest = _latest_on_or_before(obs, as_of).reindex(k.index)
    earlier = _latest_on_or_before(obs, as_of - timedelta(days=CHANGE_DAYS)).reindex(k.index)
    first_on = obs.groupby("kpi_id")["observed_on"].min().reindex(k.index)
    recent = obs[obs["observed_on"] > as_of - timedelta(days=RECENT_DAYS)]
    has_recent = k.index.isin(recent["kpi_id"].unique())

    baseline = k["baseline"].astype("float64")
    target = k["target"].astype("float64")
    span = target - baseline
    no_target = target.isna()
    flat_target = ~no_target & span.eq(0)
    no_obs = latest["value"].isna()
    progress = ((latest["value"] - baseline) / span).where(~no_target & ~flat_target & ~no_obs)
    score = progress.clip(0, 1).round(2)

    deadline = k["deadline"]
    total_days = (deadline - first_on).dt.days
    elapsed_days = (as_of - first_on).dt.days
    expected = (elapsed_days / total_days.where(total_days > 0)).clip(0, 1)
    expected = expected.mask(deadline.notna() & first_on.notna() & (total_days <= 0), 1.0)

    line = (expected - ON_TRACK_SLACK).where(deadline.notna(), NO_DEADLINE_ON_TRACK)
    status = pd.Series(
        np.select(
            [score.isna(), score >= 1, score >= line - _EPS, score >= line - AT_RISK_BAND - _EPS],
            ["not_scored", "achieved", "on_track", "at_risk"],
            default="off_track",
        ),
        index=k.index,
    )
    change = latest["value"] - earlier["value"]
    source = k["source"] if "source" in k else pd.Series(pd.NA, index=k.index, dtype="string")
    source_status = k["source_status"] if "source_status" in k else pd.Series(pd.NA, index=k.index, dtype="string")
    # One truth: a KPI reading a breached SLO cannot be on track while the SLA section says the budget is gone.
    scored_ok = status.isin(["achieved", "on_track", "at_risk"])
    breached = source_status.eq("breached").fillna(False).astype(bool) & scored_ok
    status_note = pd.Series(None, index=k.index, dtype=object)
    status_note[breached] = "off track: its source SLO is breached (error budget exhausted)"
    status_note[source_status.eq("missing").fillna(False).astype(bool)] = "source figure not computed today"
    status[breached] = "off_track"
    # A value at target is not a result the control test cannot tell apart from noise: on track, not achieved.
    unproven = source_status.isin(["no change detectable", "not enough data"]).fillna(False).astype(bool)
    unproven &= status.eq("achieved")
    for kid in k.index[unproven]:
        status_note[kid] = f"at target, but the control test says '{source_status[kid]}': not achieved yet"
    status[unproven] = "on_track"

    smart = pd.DataFrame(
        {
            "specific": ~(_blank(k["name"]) | _blank(k["objective"])),
            "measurable": ~_blank(k["unit"]) & has_recent,
            "time_bound": deadline.notna(),
            "owner": ~_blank(k["owner"]),
            "target": ~no_target,
        },
        index=k.index,
    ).astype(bool)
    failing = smart.apply(lambda r: ", ".join(c for c in SMART_CRITERIA if not r[c]), axis=1)

    rows = [
        KpiRow(
            kpi_id=str(kid),
            name=_opt_str(k.at[kid, "name"]),
            perspective=str(k.at[kid, "perspective"]),
            owner=_opt_str(k.at[kid, "owner"]),
            unit=_opt_str(k.at[kid, "unit"]),
            direction=str(k.at[kid, "direction"]),
            baseline=float(baseline[kid]),
            target=_opt(target[kid]),
            deadline=_opt_date(deadline[kid]),
            latest_value=_opt(latest.at[kid, "value"]),
            latest_on=_opt_date(latest.at[kid, "observed_on"]),
            progress=_opt(progress[kid]),
            okr_score=_opt(score[kid]),
            expected_progress=None if pd.isna(expected[kid]) else round(float(expected[kid]), 2),
            status=status[kid],
            value_28d_ago=_opt(earlier.at[kid, "value"]),
            change_28d=_opt(change[kid]),
            source=_opt_str(source[kid]),
            status_note=_opt_str(status_note[kid]),
        )
        for kid in k.index
    ]
    smart_rows = [
        SmartRow(
            kpi_id=str(kid),
            specific=bool(smart.at[kid, "specific"]),
            measurable=bool(smart.at[kid, "measurable"]),
            time_bound=bool(smart.at[kid, "time_bound"]),
            has_owner=bool(smart.at[kid, "owner"]),
            has_target=bool(smart.at[kid, "target"]),
            failing=failing[kid],
        )
        for kid in k.index
        if failing[kid]
    ]

    perspectives = []
    by_status = pd.crosstab(k["perspective"].astype(str), status).reindex(columns=list(get_args(Status)), fill_value=0)
    mean_score = score.groupby(k["perspective"].astype(str)).mean()
    order = list(PERSPECTIVES) + sorted(set(by_status.index) - set(PERSPECTIVES))
    for p, counts in by_status.reindex(order, fill_value=0).iterrows():
        m = mean_score.get(p)
        perspectives.append(
            PerspectiveRow(
                perspective=str(p),
                kpis=int(counts.sum()),
                mean_okr_score=None if m is None or pd.isna(m) else round(float(m), 2),
                **{s: int(counts[s]) for s in by_status.columns},
            )
        )

    actions: list[Action] = []
    for r in rows:
        if r.status == "off_track":
            due_text = f" by {r.deadline.isoformat()}" if r.deadline else ""
            bar = (
                f"{r.expected_progress:.2f} expected by now"
                if r.expected_progress is not None
                else f"{NO_DEADLINE_ON_TRACK:.2f} needed without a deadline"
            )
            unit = f" {r.unit}" if r.unit else ""
            why = (
                f"its source SLO ({r.source}) is breached, error budget exhausted; OKR score {r.okr_score:.2f}"
                if r.status_note and r.status_note.startswith("off track")
                else f"OKR score {r.okr_score:.2f} vs {bar}"
            )
            actions.append(
                Action(
                    text=f"KPI {r.kpi_id} '{r.name or r.kpi_id}' is off track: {why} "
                    f"(latest {r.latest_value:g}{unit}, baseline {r.baseline:g}, target {r.target:g}{due_text}); "
                    "agree a recovery plan.",
                    urgency=Urgency.IMPORTANT,
                    owner=r.owner,
                    source=f"kpi {r.kpi_id}",
                    section="kpis",
                    kind="kpi_off_track",
                )
            )
    for s in smart_rows:
        owner = _opt_str(k.at[s.kpi_id, "owner"])
        actions.append(
            Action(
                text=f"Complete the definition of KPI {s.kpi_id}: {s.failing} missing (SMART check).",
                urgency=Urgency.IMPORTANT,
                owner=owner,
                source=f"kpi {s.kpi_id}",
                section="kpis",
                kind="kpi_definition_incomplete",
            )
        )

    scored = int(score.notna().sum())
    on_track = int(status.isin(["achieved", "on_track"]).sum())
    headlines = [
        Headline(
            key="kpis.on_track.share",
            label="KPIs on track",
            value=on_track / scored if scored else None,
            unit="ratio",
            better="higher",
        ),
        Headline(
            key="kpis.okr_score.mean",
            label="Mean OKR score",
            value=round(float(score.mean()), 2) if scored else None,
            unit="score",
            better="higher",
        ),
        Headline(key="kpis.smart.failing", label="KPIs failing SMART", value=len(smart_rows), better="lower"),
        Headline(
            key="kpis.off_track.count",
            label="KPIs off track",
            value=int(status.eq("off_track").sum()),
            better="lower",
        ),
    ]
    basis = [
        Basis(
            metric="KPI scores",
            rows_used=scored,
            rows_excluded=len(k) - scored,
            reasons={
                reason: n
                for reason, n in {
                    "no target": int(no_target.sum()),
                    "target equals baseline": int(flat_target.sum()),
                    "no observation on or before the report date": int((no_obs & ~no_target & ~flat_target).sum()),
                }.items()
                if n
            },
        ),
        Basis(
            metric="KPI observations",
            rows_used=len(obs),
            rows_excluded=later,
            reasons={"dated after the report date": later} if later else {},
        ),
    ]
    if scored == 0:
        notes.append("No KPI has a score (a target different from its baseline and an observation).")
    return KpiSection(
        name="kpis",
        title="KPIs",
        headlines=headlines,
        actions=actions,
        basis=basis,
        definitions=DEFINITIONS,
        kpis=rows,
        smart=smart_rows,
        perspectives=perspectives,
        note=" ".join(notes) or None,
    )


compute_kpis_task = compute_task(compute_kpis, name="compute_kpis")
