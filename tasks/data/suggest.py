"""`opsflow map suggest`: a starting mapping for an export opsflow has never seen, from its header and a sample of its
values: the file's delimiter and encoding, a column for each contract column whose values fit its type, `values:`
stubs for small value sets, the date format, the time-zone question, and what is still missing."""

from __future__ import annotations

import difflib
from pathlib import Path

import pandas as pd
import yaml

from opsflow.config import SourceSpec
from opsflow.contract import DatasetContract, load_contracts
from opsflow.datasets import ROW, DataSourceError
from tasks.data.ingest import HAS_OFFSET, UTF16_BOMS, read_source, sniff_delimiter, values_fit

SAMPLE_ROWS = 500
SMALL_SET = 12
"""A mapped column with at most this many distinct values gets a `values:` stub when they are not the contract's."""

DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M",
    "%d/%b/%y %I:%M %p", "%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y",
)  # fmt: skip
"""Formats tried on a time column's sample, most common exports first; the first that reads every value wins."""


def _encoding(data: bytes) -> str:
    if data.startswith(UTF16_BOMS):
        return "utf-16"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"


def _date_format(values: pd.Series) -> str | None:
    sample = values.dropna().astype(str).str.strip()
    sample = sample[sample != ""].head(100)
    if sample.empty or sample.str.contains(HAS_OFFSET, regex=True).all():
        return None  # ISO with offsets: the default reader takes them
    for fmt in DATE_FORMATS:
        if pd.to_datetime(sample, format=fmt, errors="coerce").notna().all():
            return fmt
    return None


def _norm(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


SYNONYMS: dict[str, tuple[str, ...]] = {
    "incident_id": ("number", "id", "key", "issue_key", "ticket", "incident_number", "ticket_id"),
    "title": ("short_description", "summary", "subject", "description"),
    "service": ("configuration_item", "cmdb_ci", "ci", "component", "component/s", "service_name", "application"),
    "severity": ("priority", "sev", "priority_name", "urgency"),
    "opened_at": ("opened", "created", "created_at", "created_on", "opened_on", "start_time"),
    "resolved_at": ("resolved", "resolved_on", "closed", "closed_at", "end_time"),
    "acknowledged_at": ("acknowledged", "acknowledged_on", "first_ack"),
    "owner": ("assigned_to", "assignee", "assignment_group"),
    "category": ("issue_type", "type"),
    "case_id": ("case", "case_id", "case_concept_name", "order_id", "trace"),
    "activity": ("activity", "concept_name", "event", "step", "task"),
    "started_at": ("timestamp", "start", "start_timestamp", "time"),
    "ended_at": ("end", "complete_timestamp", "finished", "end_timestamp"),
}
"""Common export names of contract columns (ServiceNow, Jira, PagerDuty, process-mining logs), matched on
normalised names; the presets' renames count too."""


def _synonyms() -> dict[str, set[str]]:
    from opsflow.config import PRESETS_DIR

    found = {name: {_norm(n) for n in names} for name, names in SYNONYMS.items()}
    for path in PRESETS_DIR.glob("*.yml"):
        for source, target in (yaml.safe_load(path.read_text(encoding="utf-8")).get("rename") or {}).items():
            found.setdefault(target, set()).add(_norm(source))
    return found


def _pick(contract: DatasetContract, raw: pd.DataFrame, spec: SourceSpec) -> dict[str, str]:
    """Source column -> contract column: exact names first, then the closest name among the columns whose values
    fit the contract column's type, then (for a required non-text column) the first column that fits."""
    columns = [c for c in raw.columns if c != ROW]
    synonyms = _synonyms()
    chosen: dict[str, str] = {}
    used: set[str] = set()
    by_norm = {_norm(c): c for c in columns}
    for name in contract.columns:
        if name in by_norm and values_fit(raw[by_norm[name]], contract.columns[name].type, spec):
            chosen[by_norm[name]] = name
            used.add(by_norm[name])
    for name, column in contract.columns.items():
        if name in chosen.values():
            continue
        fitting = [c for c in columns if c not in used and values_fit(raw[c], column.type, spec)]
        known = synonyms.get(name, set())
        source = next((c for c in fitting if _norm(c) in known), None)
        if source is None:
            near = difflib.get_close_matches(name, [_norm(c) for c in fitting], n=1, cutoff=0.6)
            source = next((c for c in fitting if near and _norm(c) == near[0]), None)
        if source is None and column.required and column.type != "string" and fitting:
            source = fitting[0]
        if source is not None:
            chosen[source] = name
            used.add(source)
    return chosen


def suggest_mapping(path: Path, dataset: str, workspace: Path | None = None) -> str:
    """The starting mapping for `path` as dataset `dataset`, as YAML text with comments to act on."""
    contracts = load_contracts()
    if dataset not in contracts:
        raise DataSourceError(f"--dataset {dataset!r} is not a dataset (datasets: {', '.join(contracts)})")
    contract = contracts[dataset]
    workspace = workspace or path.parent
    relative = path.relative_to(workspace) if path.is_relative_to(workspace) else path
    kind = {".xlsx": "excel", ".parquet": "parquet"}.get(path.suffix.lower(), "csv")
    source: dict[str, object] = {"type": kind, "path": str(relative)} if kind != "csv" else {"path": str(relative)}
    notes: list[str] = []
    if kind == "csv":
        data = path.read_bytes()[: 4 << 20]
        encoding = _encoding(data)
        delimiter = sniff_delimiter(data.decode(encoding, errors="replace").lstrip("\ufeff")) or ","
        if encoding != "utf-8":
            source["encoding"] = encoding
        if delimiter != ",":
            source["delimiter"] = delimiter
        shown = "\\t" if delimiter == "\t" else delimiter
        notes.append(f"detected: encoding {encoding}, delimiter '{shown}'")
    spec = SourceSpec.model_validate({**source, "path": str(path)})
    raw = read_source(spec, Path("/"), dataset).head(SAMPLE_ROWS)
    mapping = _pick(contract, raw, spec)
    rename = {src: dst for src, dst in mapping.items() if src != dst}
    if rename:
        source["rename"] = rename
    times = [src for src, dst in mapping.items() if contract.columns[dst].type in ("datetime", "date")]
    formats = {src: _date_format(raw[src]) for src in times}
    found = sorted({f for f in formats.values() if f})
    if len(found) == 1:
        source["date_format"] = found[0]
        notes.append(f"date format {found[0]} reads every sampled value of {', '.join(times)}")
    elif len(found) > 1:
        source["date_formats"] = {mapping[s]: f for s, f in formats.items() if f}
    naive = [s for s in times if not raw[s].dropna().astype(str).str.contains(HAS_OFFSET, regex=True).any()]
    if naive:
        source["timezone"] = "UTC"
        notes.append(
            f"QUESTION: in which time zone are {', '.join(naive)} written? They carry no offset: set `timezone:` "
            "(e.g. Europe/Berlin); UTC is assumed until you do"
        )
    values: dict[str, dict[str, str]] = {}
    for src, dst in mapping.items():
        allowed = contract.columns[dst].allowed
        distinct = raw[src].dropna().astype(str).str.strip().unique().tolist()
        if allowed and 0 < len(distinct) <= SMALL_SET and not set(distinct) <= set(allowed):
            values[dst] = {v: "?" for v in sorted(distinct)}
            notes.append(f"values.{dst}: replace each ? with one of {', '.join(allowed)}")
    if values:
        source["values"] = values
    defaulted = {c for c in contract.required_columns if contract.columns[c].default is not None}
    missing = [c for c in contract.required_columns if c not in mapping.values() and c not in defaulted]
    unused = [c for c in raw.columns if c != ROW and c not in mapping]
    lines = [f"# opsflow map suggest: {path.name} as {dataset} ({len(raw)} rows sampled)"]
    lines += [f"# {n}" for n in notes]
    if missing:
        lines.append(f"# STILL MISSING (required): {', '.join(missing)}: map a column to each, or set `defaults:`")
    if unused:
        lines.append(f"# not mapped: {', '.join(unused[:15])}{' ...' if len(unused) > 15 else ''}")
    body = yaml.safe_dump({"sources": {dataset: source}}, sort_keys=False, allow_unicode=True, width=110)
    return "\n".join(lines) + "\n" + body
