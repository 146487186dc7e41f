"""KPIs that flows propose: registered in the history store and tracked by every later weekly audit."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, Field

from opsflow.contract import contract
from opsflow.datasets import ROW, OpsData
from opsflow.findings import Headline, Section, headline_values, section_figures
from opsflow.history import HistoryStore
from opsflow.tasking import io_task
from tasks.data.ingest import NAIVE_TIMES, TEXT

AUDIT_FLOW = "weekly-audit"


class RegisteredKpi(BaseModel):
    """A KPI a flow proposes, in the kpis contract's terms, with the audit figure that measures it (if any)."""

    kpi_id: str = Field(description="Stable id, e.g. 'PSM-order-fulfilment-lead-time'; re-registering replaces it.")
    name: str
    perspective: Literal["financial", "customer", "internal_process", "learning_growth"]
    objective: str | None = None
    unit: str | None = None
    direction: Literal["increase", "decrease"]
    baseline: float = Field(description="Value measured from the data when the KPI was registered.")
    baseline_date: date = Field(description="The as_of date the baseline was measured at.")
    target: float | None = None
    owner: str | None = None
    deadline: date | None = None
    metric_key: str | None = Field(
        None,
        description="Headline key of a weekly-audit figure that measures this KPI (e.g. "
        "'processes.order_fulfilment.lead_p50_hours'): each audit then records an observation. Empty: observations "
        "come from the kpi_observations dataset under this kpi_id.",
    )
    source_flow: str = Field(description="The flow that registered it.")


def register_kpis(history: HistoryStore, kpis: list[RegisteredKpi]) -> list[str]:
    """Store the KPIs (replacing earlier registrations with the same id); returns their ids."""
    for kpi in kpis:
        history.register_kpi(kpi.kpi_id, kpi.source_flow, kpi.model_dump(mode="json"))
    return [k.kpi_id for k in kpis]


def load_registered_kpis(history: HistoryStore) -> list[RegisteredKpi]:
    return [RegisteredKpi.model_validate(d) for d in history.registered_kpis()]


def _typed(frame: pd.DataFrame, dataset: str) -> pd.DataFrame:
    # Same dtypes as the loader gives the dataset, so concatenation keeps them.
    spec = contract(dataset)
    dtypes: dict[str, Any] = {"string": TEXT, "number": "float64", "date": NAIVE_TIMES}
    for name, col in spec.columns.items():
        if name not in frame:
            frame[name] = pd.NA
        frame[name] = frame[name].astype(dtypes.get(col.type, "string"))
    frame[ROW] = pd.array([0] * len(frame), dtype="int64")
    return frame[[*spec.columns, ROW]]


def tracked_kpi_frames(
    registered: list[RegisteredKpi],
    kpis: pd.DataFrame | None,
    observations: pd.DataFrame | None,
    history: HistoryStore,
    current: dict[str, float | None],
    as_of: date,
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The kpis and kpi_observations frames with the registered KPIs added.

    A registered KPI with a metric_key gets its baseline as the first observation, one observation per earlier
    weekly audit that has that figure, and one for this audit (`current`). A dataset KPI with the same id wins: the
    user's own definition is never overridden.
    """
    if not registered:
        return kpis, observations
    own_ids = set(kpis["kpi_id"].astype(str)) if kpis is not None else set()
    chosen = [k for k in registered if k.kpi_id not in own_ids]
    if not chosen:
        return kpis, observations
    rows = [k.model_dump(include=set(contract("kpis").columns)) for k in chosen]
    extra_kpis = _typed(pd.DataFrame(rows), "kpis")
    points: list[dict[str, object]] = []
    runs = history.list_runs(AUDIT_FLOW, until=as_of, limit=520)
    for k in chosen:
        points.append({"kpi_id": k.kpi_id, "observed_on": pd.Timestamp(k.baseline_date), "value": k.baseline})
        if k.metric_key is None:
            continue
        for run in runs:
            value = run.headlines.get(k.metric_key)
            if value is not None and run.as_of > k.baseline_date and run.as_of < as_of:
                points.append({"kpi_id": k.kpi_id, "observed_on": pd.Timestamp(run.as_of), "value": float(value)})
        if current.get(k.metric_key) is not None and as_of > k.baseline_date:
            points.append({"kpi_id": k.kpi_id, "observed_on": pd.Timestamp(as_of), "value": current[k.metric_key]})
    extra_obs = _typed(pd.DataFrame(points), "kpi_observations")
    # A lead-time KPI from a transformation flow carries that flow's latest before/after verdict, so the KPI cannot
    # claim 'achieved' where the control test the same day finds no change.
    verdicts = [control_verdict(history, k, as_of) for k in chosen]
    if any(v is not None for v in verdicts):
        extra_kpis["source_status"] = pd.array(verdicts, dtype="string")
    merged_kpis = extra_kpis if kpis is None else pd.concat([kpis, extra_kpis], ignore_index=True)
    merged_obs = extra_obs if observations is None else pd.concat([observations, extra_obs], ignore_index=True)
    return merged_kpis, merged_obs


def sourced_kpi_frames(
    kpis: pd.DataFrame | None,
    observations: pd.DataFrame | None,
    figures: dict[str, Headline],
    as_of: date,
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """KPIs with a `source` read that computed figure on the report date instead of their own observation there.

    A ratio figure is shown in percent for a KPI in %. The figure replaces any observation of that KPI dated as_of
    (earlier observations stay: they are the KPI's history). `source_status` is 'breached' when the source is an
    SLO whose budget is exhausted ('<key prefix>.breached' = 1), 'missing' when no section computed the figure.
    """
    if kpis is None or "source" not in kpis or not kpis["source"].notna().any():
        return kpis, observations
    kpis = kpis.copy()
    status: list[str | None] = []
    points: list[dict[str, object]] = []
    for kpi_id, source, unit in zip(kpis["kpi_id"], kpis["source"], kpis["unit"], strict=True):
        if source is None or pd.isna(source) or not str(source).strip():
            status.append(None)
            continue
        figure = figures.get(str(source).strip())
        if figure is None or figure.value is None:
            status.append("missing")
            continue
        value = figure.value * 100 if figure.unit == "ratio" and unit == "%" else figure.value
        points.append({"kpi_id": str(kpi_id), "observed_on": pd.Timestamp(as_of), "value": round(float(value), 6)})
        breached = figures.get(str(source).strip().rsplit(".", 1)[0] + ".breached")
        status.append("breached" if breached is not None and breached.value == 1 else "read")
    kpis["source_status"] = pd.array(status, dtype="string")
    if not points:
        return kpis, observations
    replaced = {str(p["kpi_id"]) for p in points}
    extra = _typed(pd.DataFrame(points), "kpi_observations")
    if observations is None:
        return kpis, extra
    same_day = observations["kpi_id"].astype(str).isin(replaced) & (observations["observed_on"] == pd.Timestamp(as_of))
    return kpis, pd.concat([observations[~same_day], extra], ignore_index=True)


def control_verdict(history: HistoryStore, kpi: RegisteredKpi, as_of: date) -> str | None:
    """The latest control-test verdict (on or before as_of) of the flow that registered a lead-time KPI, if any."""
    if kpi.metric_key is None or not kpi.metric_key.endswith(".lead_p50_hours") or kpi.source_flow == AUDIT_FLOW:
        return None
    runs = history.list_runs(kpi.source_flow, until=as_of, limit=1)
    sections = runs[-1].payload.get("sections", []) if runs else []
    control = next((s for s in sections if isinstance(s, dict) and s.get("name") == "control"), None)
    verdict = control.get("verdict") if control else None
    return str(verdict) if verdict else None


def kpis_with_registered(
    history: HistoryStore, data: OpsData, sections: list[Section], as_of: date
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The workspace's KPI frames plus every registered KPI, observed from this audit's figures and earlier ones;
    a KPI with a source reads that section's figure (computed once, by its section)."""
    kpis, observations = sourced_kpi_frames(
        data.frame("kpis"), data.frame("kpi_observations"), section_figures(sections), as_of
    )
    return tracked_kpi_frames(
        load_registered_kpis(history),
        kpis,
        observations,
        history,
        headline_values(sections),
        as_of,
    )


register_kpis_task = io_task(register_kpis, name="register_kpis")
kpis_with_registered_task = io_task(kpis_with_registered, name="track_registered_kpis")
