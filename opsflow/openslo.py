"""SLOs as OpenSLO v1 documents (the format Sloth and Nobl9 users keep them in): read the subset that maps to opsflow's
SLA events and service-tier SLOs, and write opsflow's objectives back, so a team's SLO files set the objective every
report uses."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

SLO_DIR = "slos"
"""The workspace folder opsflow reads OpenSLO files from (*.yaml, *.yml; several documents per file allowed)."""

API_VERSION = "openslo/v1"
SOURCE_TYPE = "opsflow"
"""The metricSource type of an SLI opsflow measures itself, from its `sla_events` or `service_metrics` dataset."""
WINDOW = "30d"

SERVICE_METRICS = "service_metrics"
REQUEST_CATEGORIES = ("latency", "latency_p95", "error_rate")
"""SLO categories measured from service_metrics (requests or intervals), not from SLA events: latency (requests
within the threshold, from histograms), latency_p95 (intervals whose p95 is within it) and error_rate."""
LATENCY_CATEGORIES = ("latency", "latency_p95")


class OpenSloError(ValueError):
    """An OpenSLO file opsflow cannot use: the message is one line naming the file, the document and the field."""


@dataclass(frozen=True)
class SloObjective:
    """One SLO: the share of a (category, service) pair's SLA events that must be met over a rolling 30 days."""

    category: str
    service: str
    target: float
    name: str = ""
    description: str = ""
    threshold: float | None = None
    """A latency SLO's threshold in seconds (`op: lte`, `value`); None elsewhere."""

    @property
    def key(self) -> tuple[str, str]:
        return (self.category, self.service)

    @property
    def dataset(self) -> str:
        return SERVICE_METRICS if self.category in REQUEST_CATEGORIES else "sla_events"


def _name(category: str, service: str) -> str:
    # OpenSLO names are DNS labels: lower case, digits and dashes.
    return re.sub(r"[^a-z0-9-]+", "-", f"{category}-{service}".lower()).strip("-")[:63]


def _source(slo: SloObjective, good: bool) -> dict[str, Any]:
    spec: dict[str, Any] = {"dataset": slo.dataset, "category": slo.category, "service": slo.service}
    if good:
        spec["met"] = True
    return {"metricSource": {"type": SOURCE_TYPE, "spec": spec}}


def _describe(slo: SloObjective) -> str:
    if slo.category == "error_rate":
        return f"Share of {slo.service}'s requests that do not fail."
    if slo.category in LATENCY_CATEGORIES:
        unit = "requests" if slo.category == "latency" else "intervals whose p95 is"
        return f"Share of {slo.service}'s {unit} within {slo.threshold:g} s."
    return f"Share of {slo.category} events of {slo.service} that are met."


def to_document(slo: SloObjective) -> dict[str, Any]:
    """One SLO as an OpenSLO v1 `SLO` document with an inline ratio SLI over opsflow's SLA events."""
    name = slo.name or _name(slo.category, slo.service)
    objective: dict[str, Any] = {"displayName": "met", "target": slo.target}
    if slo.threshold is not None:
        objective = {"displayName": f"within {slo.threshold:g} s", "op": "lte", "value": slo.threshold}
        objective["target"] = slo.target
    return {
        "apiVersion": API_VERSION,
        "kind": "SLO",
        "metadata": {"name": name, "displayName": f"{slo.category} / {slo.service}"},
        "spec": {
            "description": slo.description or _describe(slo),
            "service": slo.service,
            "indicator": {
                "metadata": {"name": f"{name}-sli"},
                "spec": {
                    "ratioMetric": {
                        "counter": True,
                        "good": _source(slo, True),
                        "total": _source(slo, False),
                    }
                },
            },
            "timeWindow": [{"duration": WINDOW, "isRolling": True}],
            "budgetingMethod": "Occurrences",
            "objectives": [objective],
        },
    }


def dump(slos: Iterable[SloObjective]) -> str:
    """OpenSLO YAML: one document per SLO, in a stable order."""
    docs = [to_document(s) for s in sorted(slos, key=lambda s: s.key)]
    return yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True)


def _get(doc: dict[str, Any], path: str, where: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        if isinstance(value, list):
            value = value[0] if value else None
        value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            raise OpenSloError(f"{where}: {path} is missing (opsflow reads SLO documents with an inline ratio SLI)")
    return value


def from_document(doc: Any, where: str) -> SloObjective | None:
    """The SLO a document defines, or None for a document of another kind (Service, AlertPolicy...): ignored."""
    if not isinstance(doc, dict):
        raise OpenSloError(f"{where}: not a YAML mapping")
    if doc.get("kind") != "SLO":
        return None
    if doc.get("apiVersion") != API_VERSION:
        raise OpenSloError(f"{where}: apiVersion {doc.get('apiVersion')!r} is not supported; use {API_VERSION}")
    name = str(_get(doc, "metadata.name", where))
    where = f"{where} (SLO {name})"
    source = _get(doc, "spec.indicator.spec.ratioMetric.total.metricSource", where)
    if source.get("type") != SOURCE_TYPE:
        raise OpenSloError(
            f"{where}: metricSource type {source.get('type')!r} is measured elsewhere; opsflow reads SLOs whose SLI "
            f"is type {SOURCE_TYPE!r} with spec.category and spec.service (its sla_events)"
        )
    category = str(_get(source, "spec.category", where))
    service = str(_get(source, "spec.service", where))
    window = str(_get(doc, "spec.timeWindow.duration", where))
    if window != WINDOW:
        raise OpenSloError(f"{where}: timeWindow {window} is not supported; opsflow's error budgets are over {WINDOW}")
    objective = _get(doc, "spec.objectives", where)
    first = objective[0] if isinstance(objective, list) and objective else {}
    target = first.get("target") if isinstance(first, dict) else None
    if target is None and isinstance(first, dict) and first.get("targetPercent") is not None:
        target = float(first["targetPercent"]) / 100
    if not isinstance(target, int | float) or not 0 < float(target) < 1:
        raise OpenSloError(f"{where}: spec.objectives[0].target must be a ratio between 0 and 1, e.g. 0.999")
    description = str(doc.get("spec", {}).get("description") or "")
    threshold = first.get("value") if isinstance(first, dict) else None
    if category in LATENCY_CATEGORIES and threshold is not None:
        if first.get("op", "lte") not in ("lte", "lt") or not isinstance(threshold, int | float) or threshold <= 0:
            raise OpenSloError(f"{where}: a latency objective is `op: lte` with `value` in seconds above 0, e.g. 2")
        return SloObjective(category, service, float(target), name, description, float(threshold))
    return SloObjective(category, service, float(target), name, description)


def load(text: str, where: str = "<text>") -> list[SloObjective]:
    """The SLOs of one OpenSLO file's text (several documents allowed)."""
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        raise OpenSloError(f"{where}: not valid YAML ({str(exc).splitlines()[0]})") from None
    slos = []
    for i, doc in enumerate(d for d in docs if d is not None):
        slo = from_document(doc, f"{where} document {i + 1}")
        if slo is not None:
            slos.append(slo)
    return slos


def read_folder(workspace: Path) -> list[SloObjective]:
    """Every SLO in the workspace's slos/ folder; one line (OpenSloError) for a file it cannot use or a pair that
    two files define differently."""
    folder = workspace / SLO_DIR
    if not folder.is_dir():
        return []
    found: dict[tuple[str, str], tuple[SloObjective, str]] = {}
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        for slo in load(path.read_text(encoding="utf-8"), f"{SLO_DIR}/{path.name}"):
            earlier = found.get(slo.key)
            if earlier is not None and (earlier[0].target, earlier[0].threshold) != (slo.target, slo.threshold):
                raise OpenSloError(
                    f"{SLO_DIR}/{path.name}: {slo.category} / {slo.service} has target {slo.target}"
                    f"{_within(slo)}, but {earlier[1]} says {earlier[0].target}{_within(earlier[0])}; keep one"
                )
            found[slo.key] = (slo, f"{SLO_DIR}/{path.name}")
    return [slo for slo, _ in found.values()]


def _within(slo: SloObjective) -> str:
    return f" within {slo.threshold:g} s" if slo.threshold is not None else ""


def from_events(sla_events: pd.DataFrame) -> list[SloObjective]:
    """opsflow's SLOs as the data states them: per (category, service), the most frequent objective of its events."""
    if sla_events.empty:
        return []
    counts = sla_events.groupby(["category", "service", "objective"]).size().reset_index(name="n")
    counts = counts.sort_values(["category", "service", "n", "objective"], ascending=[True, True, False, False])
    first = counts.drop_duplicates(["category", "service"])
    return [
        SloObjective(str(c), str(s), float(o))
        for c, s, o in zip(first["category"], first["service"], first["objective"], strict=True)
    ]


def apply(sla_events: pd.DataFrame, slos: Iterable[SloObjective]) -> tuple[pd.DataFrame, int]:
    """The events with each defined SLO's target as their objective (a new frame; rows unchanged otherwise), and how
    many rows took a target different from the export's."""
    targets = {s.key: s.target for s in slos if s.dataset == "sla_events"}
    if not targets or sla_events.empty:
        return sla_events, 0
    keys = pd.MultiIndex.from_frame(sla_events[["category", "service"]].astype(str))
    mapped = pd.Series(keys.map(lambda k: targets.get(k)), index=sla_events.index, dtype="float64")
    changed = int((mapped.notna() & (mapped != sla_events["objective"])).sum())
    return sla_events.assign(objective=mapped.fillna(sla_events["objective"])), changed


SERVICE_COLUMNS = ("latency_threshold_seconds", "latency_objective", "error_rate_max")
"""The service catalogue's per-service objectives that a service-tier SLO file sets."""


def apply_to_services(services: pd.DataFrame, slos: Iterable[SloObjective]) -> tuple[pd.DataFrame, int]:
    """The service catalogue with each service-tier SLO file's objective in the service's own columns (a new frame),
    and how many values changed. A file naming a service the catalogue does not list is one line (OpenSloError)."""
    chosen = [s for s in slos if s.dataset == SERVICE_METRICS]
    if not chosen:
        return services, 0
    frame = services.copy()
    for column in SERVICE_COLUMNS:
        if column not in frame.columns:
            frame[column] = pd.Series(float("nan"), index=frame.index, dtype="float64")
    ids = frame["service_id"].astype(str)
    changed = 0
    for slo in chosen:
        rows = ids == slo.service
        if not rows.any():
            raise OpenSloError(
                f"{SLO_DIR}: SLO {slo.name or _name(slo.category, slo.service)} is for service {slo.service!r}, "
                "which the services dataset does not list; add it there or fix the name"
            )
        values = (
            {"error_rate_max": round(1 - slo.target, 12)}
            if slo.category == "error_rate"
            else {"latency_objective": slo.target, "latency_threshold_seconds": slo.threshold}
        )
        for column, value in values.items():
            if value is None:
                continue
            before = frame.loc[rows, column]
            changed += int((before.isna() | (before != value)).sum())
            frame.loc[rows, column] = value
    return frame, changed
