"""Checks every loaded dataset against its contract with Great Expectations and quarantines each failing row, with why.

Great Expectations is the source of truth for which rows fail: every check of the contract becomes one expectation
of the dataset's suite (`build_suite`), the suite runs through an ephemeral context, and the failing rows are read
from each result's `unexpected_index_list`. This module only turns those row positions into one line per row that
names the column, the rule and the value, and moves the rows to the quarantine.

Choices worth knowing:
- Speed. The frame is validated with a fresh RangeIndex, so `unexpected_index_list` holds row positions and maps to
  ROW with one array lookup. COMPLETE result format is asked for all expectations at once (GE computes the metrics
  of a whole suite in one pass); `return_unexpected_index_query` is turned off because for pandas it is a Python
  expression listing every failing index, which we never need. `unexpected_index_column_names=[ROW]` was measured
  and rejected: it returns one dict per failing row (slower, same information). The suite runs through the same
  v1 Validator that Batch.validate and ValidationDefinition.run build: Batch.validate would load (and hash) the frame
  a second time, ValidationDefinition.run serialises every COMPLETE result into its store (about 1 s at 50k failing
  rows). Reasons are formatted vectorised (numpy datetime_as_string; pandas' strftime costs ~8 us a value).
  Measured on 2 shared, busy cores: 1M process_events rows 0.5-0.9 s (0.6-1.5 s with 5% bad rows), 300k vendor
  deliveries 0.7-1.7 s; the whole full-size sample (11 datasets, 1.6M rows) 2.6-5 s including the quarantine CSVs.
  Most of the deliveries time is GE's range check on nullable Int64 columns, which GE evaluates value by value in
  Python (its vectorised path only takes numpy int/float dtypes). COMPLETE for every expectation is cheap enough
  that re-running only the failed expectations with COMPLETE would not pay for itself.
- List columns (`depends_on`, `vendor_ids`): each `;`-separated item must exist in the referenced column. The suite
  holds an ExpectColumnValuesToBeInSet on a helper column `<column>[]`; `validate_dataset` validates that helper
  column on a second batch, the exploded items (one row per item, each mapped back to the row it came from).
- A reference to the dataset itself (vendors.backup_vendor_id, services.depends_on) is checked against the
  dataset's own values before validation.
- A reference to the dataset's own key inside a compound primary key (project_tasks.depends_on -> task_id, key
  project_id + task_id) is checked within the row's project: values are `project_id<US>task_id` (see
  `reference_key`), so T9 of another project does not count.
- Duplicates: GE reports every row of a duplicated key; the first in source order is kept and the later ones are
  quarantined as "duplicate of row N" (a repeated ticket number is usually a re-export of the same ticket).
- Checks on a whole column (the column exists, its type) have no failing rows. A missing required column or a
  column of the wrong type quarantines every row, so the run stops on it instead of computing on bad data.
- GE's tqdm bars are turned off through the context's ProgressBarsConfig (the supported switch, read by the
  Validator), and its loggers are set to WARNING so its INFO/DEBUG chatter goes but real warnings and errors stay.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, NamedTuple

import great_expectations as gx
import great_expectations.expectations as gxe
import networkx as nx
import numpy as np
import pandas as pd
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.execution_engine import pandas_execution_engine
from great_expectations.expectations.expectation import Expectation
from great_expectations.expectations.row_conditions import Column
from great_expectations.validator.v1_validator import Validator as V1Validator

from opsflow.config import WorkspaceConfig
from opsflow.contract import DATASETS, ColumnSpec, ColumnType, DatasetContract, load_contracts
from opsflow.coverage import EVENT_COLUMNS
from opsflow.datasets import (
    REASON,
    ROW,
    DatasetQuality,
    ExpectationOutcome,
    LoadedDataset,
    OpsData,
    ValidatedDataset,
)
from opsflow.memory import release_free_memory
from opsflow.tasking import compute_task

logger = logging.getLogger(__name__)

ITEMS = "[]"
"""Suffix of the helper column that holds the exploded items of a list column (`depends_on[]`)."""

KEY_SEP = "\x1f"
"""Separator of a scoped reference key (`project_id<US>task_id`); the unit separator never occurs in an id."""

LIST_SEP = ";"

# GE's type names per contract type, for ExpectColumnValuesToBeOfType on pandas: it compares the dtype's scalar type
# (`dtype.type`) with the named type, so tz-aware timestamps are `Timestamp` and naive dates are `datetime64`.
_GE_TYPES: dict[ColumnType, str] = {
    "string": "str",
    "list": "str",
    "integer": "int64",
    "number": "float64",
    "boolean": "bool",
    "datetime": "Timestamp",
    "date": "datetime64",
}


class EitherOr(NamedTuple):
    """A row check of the contract: `column` may be empty only when both `instead` columns are filled."""

    column: str
    instead: tuple[str, str]
    reason: str
    summary: str


EITHER_OR: dict[str, EitherOr] = {
    "met_or_measurable": EitherOr(
        "met",
        ("measured_value", "target_value"),
        "met: empty, and measured_value or target_value is empty too",
        "met: neither met nor measurable",
    ),
    "utilization_or_usage": EitherOr(
        "utilization",
        ("usage", "limit"),
        "utilization: empty, and usage or limit is empty too",
        "utilization: neither utilization nor usage and limit",
    ),
}
"""The contract's row checks by name (contracts/*.yml `row_checks`)."""


def _quiet_great_expectations() -> None:
    """Keep GE's warnings and errors, drop its INFO/DEBUG chatter.

    Some GE modules set their logger to INFO explicitly, and a few are named by file path, so every GE logger
    that exists is set, not only the package's root logger.
    """
    names = ["great_expectations", *(n for n in list(logging.root.manager.loggerDict) if "great_expectations" in n)]
    for name in names:
        ge_logger = logging.getLogger(name)
        if ge_logger.level != logging.WARNING:  # setLevel clears every logger's cache: 0.2 s a dataset if repeated
            ge_logger.setLevel(logging.WARNING)


_BUILT_ONCE_LOCK = threading.Lock()
_built_once_users = 0
_built: dict[int, tuple[Expectation, Any]] = {}
_BUILD_CONFIGURATION = Expectation.configuration.fget  # type: ignore[attr-defined]


def _configuration_built_once(self: Expectation) -> Any:
    seen = _built.get(id(self))
    if seen is None or seen[0] is not self:
        seen = _built[id(self)] = (self, _BUILD_CONFIGURATION(self))
    return seen[1]


@contextmanager
def _configurations_built_once() -> Iterator[None]:
    """Inside the block, each GX expectation's configuration is built once and reused.

    GX 1.x rebuilds it (a pydantic copy of every field) on each keyword lookup, about seventy times per expectation
    in one validation: 0.7 s of a scale-1 audit, whatever the data's size. Nothing changes an expectation while its
    suite is validated, and the cache is dropped when the last block ends (the tests compare results both ways).
    """
    global _built_once_users
    with _BUILT_ONCE_LOCK:
        _built_once_users += 1
        if _built_once_users == 1:
            Expectation.configuration = property(_configuration_built_once)  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        with _BUILT_ONCE_LOCK:
            _built_once_users -= 1
            if _built_once_users == 0:
                Expectation.configuration = property(_BUILD_CONFIGURATION)  # type: ignore[method-assign,assignment]
                _built.clear()


FINGERPRINT_BATCHES = False
"""GX hashes every batch under 1 GB in full to fingerprint it (3 s of validation at scale 10); opsflow never reads
the fingerprint, so it is off (True: GX's own behaviour, which the tests compare with)."""
_GX_HASH_THRESHOLD = pandas_execution_engine.HASH_THRESHOLD


def _context() -> Any:
    """An in-memory GE context without progress bars, the temporary data-docs site or batch fingerprints."""
    pandas_execution_engine.HASH_THRESHOLD = _GX_HASH_THRESHOLD if FINGERPRINT_BATCHES else 0
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def reference_key(*parts: pd.Series) -> pd.Series:
    """The key of a scoped reference: the parts joined with KEY_SEP (missing parts make a missing key)."""
    out = parts[0].astype("string")
    for part in parts[1:]:
        out = out + KEY_SEP + part.astype("string")
    return out


def reference_scope(contract: DatasetContract, spec: ColumnSpec) -> list[str]:
    """Columns a self-reference is checked within: the rest of a compound primary key holding the referenced column."""
    ref = spec.reference
    if ref is None or ref[0] != contract.name or len(contract.primary_key) < 2 or ref[1] not in contract.primary_key:
        return []
    return [c for c in contract.primary_key if c != ref[1]]


def _split_items(values: pd.Series) -> pd.Series:
    """One entry per non-empty item of a `;`-separated list column; the index is the row the item came from."""
    items = values.dropna().astype("string").str.split(LIST_SEP).explode().str.strip()
    return items[items.notna() & (items != "")].astype("string")


def _meta(rule: str, column: str, **extra: Any) -> dict[str, Any]:
    return {"rule": rule, "column": column, **extra}


FUTURE_GRACE = pd.Timedelta(days=1)


def _as_utc_instant(moment: object, tz: str) -> pd.Timestamp:
    """A declared time (local in the workspace's zone when it has no offset) as UTC."""
    stamp = pd.Timestamp(moment)  # type: ignore[arg-type]
    return (stamp.tz_localize(tz) if stamp.tzinfo is None else stamp).tz_convert("UTC")


def future_limit() -> pd.Timestamp:
    """The latest time an event may carry: now plus a day's grace (clocks and time zones of the exporting system)."""
    return pd.Timestamp.now(tz="UTC").floor("min") + FUTURE_GRACE


def build_suite(
    contract: DatasetContract, reference_values: dict[str, pd.Series], observed_until: pd.Timestamp | None = None
) -> gx.ExpectationSuite:
    """One Great Expectations suite with every check the contract states for the dataset.

    `reference_values` maps "dataset.column" to the values a reference may take; a reference whose key is absent is
    not checked. For a scoped self-reference (see `reference_scope`) the values are `reference_key`s.
    Each expectation's `meta` says which rule and column it checks, so results can be explained row by row.
    """
    name = contract.name
    exps: list[gxe.Expectation] = []
    for col, spec in contract.columns.items():
        exps.append(gxe.ExpectColumnToExist(column=col, meta=_meta("exists", col), description=f"{col} is present"))
        exps.append(
            gxe.ExpectColumnValuesToBeOfType(
                column=col,
                type_="CategoricalDtypeType" if spec.categorical else _GE_TYPES[spec.type],
                meta=_meta("type", col),
                description=f"{col} is {_article(spec.type)} {spec.type}",
            )
        )
        if spec.required:
            exps.append(
                gxe.ExpectColumnValuesToNotBeNull(
                    column=col, meta=_meta("required", col), description=f"{col} is never empty"
                )
            )
        if spec.unique or contract.primary_key == [col]:
            exps.append(
                gxe.ExpectColumnValuesToBeUnique(
                    column=col, meta=_meta("duplicate", col), description=f"{col} is unique"
                )
            )
        if spec.allowed is not None:
            exps.append(
                gxe.ExpectColumnValuesToBeInSet(
                    column=col,
                    value_set=list(spec.allowed),
                    meta=_meta("allowed", col),
                    description=f"{col} is one of {', '.join(spec.allowed)}",
                )
            )
        if spec.min is not None or spec.max is not None:
            exps.append(
                gxe.ExpectColumnValuesToBeBetween(
                    column=col,
                    min_value=spec.min,
                    max_value=spec.max,
                    strict_min=spec.exclusive_min,
                    meta=_meta("range", col),
                    description=f"{col} is in {_range_text(spec)}",
                )
            )
        if spec.type == "datetime" and col in EVENT_COLUMNS.get(contract.name, ()):
            # Something that happened cannot have happened after the export was read (a day's grace for clocks),
            # nor after the time the source declares it was taken.
            limit, rule = future_limit(), "future"
            if observed_until is not None and observed_until < limit:
                limit, rule = observed_until, "after_export"
            exps.append(
                gxe.ExpectColumnValuesToBeBetween(
                    column=col,
                    max_value=limit.to_pydatetime(),
                    meta=_meta(rule, col, limit=limit.isoformat()),
                    description=f"{col} is not after {limit.isoformat()}",
                )
            )
        for rule, other in (("not_before", spec.not_before), ("not_below", spec.not_below)):
            if other:
                word = "earlier than" if rule == "not_before" else "below"
                exps.append(
                    gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                        column_A=col,
                        column_B=other,
                        or_equal=True,
                        ignore_row_if="either_value_is_missing",
                        meta=_meta(rule, col, other=other),
                        description=f"{col} is not {word} {other}",
                    )
                )
        if spec.not_above:
            exps.append(
                gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A=spec.not_above,
                    column_B=col,
                    or_equal=True,
                    ignore_row_if="either_value_is_missing",
                    meta=_meta("not_above", col, other=spec.not_above),
                    description=f"{col} is not above {spec.not_above}",
                )
            )
        if spec.references and spec.references in reference_values:
            values = reference_values[spec.references].dropna().astype("string").unique().tolist()
            target = f"{col}{ITEMS}" if spec.type == "list" else col
            exps.append(
                gxe.ExpectColumnValuesToBeInSet(
                    column=target,
                    value_set=values,
                    meta=_meta("reference", col, references=spec.references, scope=reference_scope(contract, spec)),
                    description=(f"each item of {col}" if spec.type == "list" else col)
                    + f" is a known {spec.references}",
                )
            )
    if len(contract.primary_key) > 1:
        key = ", ".join(contract.primary_key)
        exps.append(
            gxe.ExpectCompoundColumnsToBeUnique(
                column_list=list(contract.primary_key),
                meta=_meta("duplicate", key, columns=list(contract.primary_key)),
                description=f"({key}) is unique",
            )
        )
    for check in contract.row_checks:
        either = EITHER_OR.get(check.name)
        if either is None:
            raise ValueError(f"{name}: row check {check.name!r} of the contract has no implementation in the validator")
        first, second, third = either.column, *either.instead
        exps.append(
            gxe.ExpectColumnValuesToNotBeNull(
                column=first,
                row_condition=Column(second).is_null() | Column(third).is_null(),
                meta=_meta(check.name, first),
                description=check.description,
            )
        )
    return gx.ExpectationSuite(name=name, expectations=exps)


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _range_text(spec: ColumnSpec) -> str:
    low = "(" if spec.exclusive_min else "["
    lo = "-inf" if spec.min is None else f"{spec.min:g}"
    hi = "inf" if spec.max is None else f"{spec.max:g}"
    return f"{low}{lo}, {hi}]"


def _out_of_range(spec: ColumnSpec) -> str:
    """What is wrong with a value outside the column's range, as the fix needs it (a bound, not a made-up infinity)."""
    if spec.max is None and spec.min is not None:
        return f"is not above {spec.min:g}" if spec.exclusive_min else f"is below {spec.min:g}"
    if spec.min is None and spec.max is not None:
        return f"is above {spec.max:g}"
    return f"is outside {_range_text(spec)}"


def _fmt(value: Any, ctype: ColumnType | None = None) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return "empty"
    if isinstance(value, pd.Timestamp):
        if ctype == "date":
            return value.strftime("%Y-%m-%d")
        return value.strftime("%Y-%m-%d %H:%M" if value.second == 0 else "%Y-%m-%d %H:%M:%S")
    if isinstance(value, float | np.floating):
        return f"{value:g}"
    if isinstance(value, str):
        return f"'{value}'"
    return str(value)


def _is_timestamp(dtype: Any) -> bool:
    return isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype)


def _timestamp_text(s: pd.Series, unit: Literal["D", "m", "s"], sep: str = " ") -> pd.Series:
    """Timestamps as text in UTC, formatted by numpy in C (pandas' strftime costs about 8 us per value)."""
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    stamps: np.ndarray[Any, np.dtype[np.datetime64]] = s.to_numpy(dtype="datetime64[s]")
    text = np.datetime_as_string(stamps, unit=unit)
    out = pd.Series(text, index=s.index, dtype="string")
    if sep != "T":
        out = out.str.replace("T", sep, regex=False)
    return out.mask(s.isna())


def _texts(
    values: pd.Series, positions: np.ndarray, ctype: ColumnType | None = None, seconds: bool = False
) -> list[str]:
    """The values at some positions as a person reads them: 'text', 2026-03-01 10:00, 3, empty."""
    s = values.take(positions)
    if _is_timestamp(s.dtype):
        if ctype == "date":
            unit: Literal["D", "m", "s"] = "D"
        else:
            unit = "s" if seconds or bool((s.dt.second.fillna(0) != 0).any()) else "m"
        out = _timestamp_text(s, unit)
    elif pd.api.types.is_string_dtype(s.dtype):
        out = "'" + s.astype("string") + "'"
    else:
        return [_fmt(v, ctype) for v in s.tolist()]
    return out.astype(object).where(out.notna(), "empty").tolist()


class _Quarantine:
    """Reasons per row position and counts per rule and column, gathered from the expectation results."""

    def __init__(self) -> None:
        self.rows: dict[int, list[str]] = defaultdict(list)
        self.counts: Counter[str] = Counter()

    def add(self, positions: Iterable[int], reasons: Iterable[str], key: str) -> None:
        n = 0
        for pos, reason in zip(positions, reasons, strict=True):
            self.rows[int(pos)].append(reason)
            n += 1
        if n:
            self.counts[key] += n


def _explain(
    result: Any, frame: pd.DataFrame, items: dict[str, pd.Series], contract: DatasetContract, q: _Quarantine
) -> None:
    """Turn one failed expectation result into reasons for the rows it names."""
    cfg = result.expectation_config
    meta = cfg.meta or {}
    rule, col = meta.get("rule"), meta.get("column")
    idx = np.asarray(result.result.get("unexpected_index_list") or [], dtype=np.int64)
    rows = frame[ROW].to_numpy()
    spec = contract.columns.get(col) if col else None
    ctype = spec.type if spec else None

    if rule == "type":
        if len(idx):  # object column: GE checked each value
            vals = _texts(frame[col], idx, ctype)
            kind = f"{_article(str(ctype))} {ctype}"
            q.add(idx, (f"{col}: {v} is not {kind}" for v in vals), f"{col}: not {kind}")
        else:
            observed = result.result.get("observed_value")
            q.add(
                range(len(frame)),
                [f"{col}: column holds {observed} values, the contract says {ctype}"] * len(frame),
                f"{col}: wrong column type",
            )
    elif rule == "required":
        q.add(idx, [f"{col}: empty, but required"] * len(idx), f"{col}: empty")
    elif rule == "duplicate":
        cols = meta.get("columns") or [col]
        sub = frame.iloc[idx][cols].copy()
        sub["_pos"] = idx
        sub["_src"] = rows[idx]
        sub = sub.sort_values(["_src"], kind="stable")
        first = sub.groupby(cols, sort=False, dropna=False)["_src"].transform("first")
        later = sub[sub["_src"] != first]
        firsts = first[later.index].to_numpy()
        q.add(later["_pos"], (f"{col}: duplicate of row {f}" for f in firsts), f"{col}: duplicate")
    elif rule == "allowed":
        vals = _texts(frame[col], idx, ctype)
        allowed = ", ".join(spec.allowed or []) if spec else ""
        q.add(idx, (f"{col}: {v} is not one of {allowed}" for v in vals), f"{col}: not allowed")
    elif rule == "after_export":
        vals = _texts(frame[col], idx, ctype)
        limit = pd.Timestamp(meta["limit"]).strftime("%Y-%m-%d %H:%M")
        q.add(
            idx,
            (f"{col}: {v} is after the export was taken (observed_until {limit} UTC)" for v in vals),
            f"{col}: after observed_until",
        )
    elif rule == "future":
        vals = _texts(frame[col], idx, ctype)
        limit = future_limit().strftime("%Y-%m-%d %H:%M")
        q.add(idx, (f"{col}: {v} is in the future (after {limit} UTC)" for v in vals), f"{col}: in the future")
    elif rule == "range":
        assert spec is not None
        vals = _texts(frame[col], idx, ctype)
        q.add(idx, (f"{col}: {v} {_out_of_range(spec)}" for v in vals), f"{col}: out of range")
    elif rule in ("not_before", "not_below", "not_above"):
        other = meta["other"]
        pair = frame[[col, other]].take(idx)
        secs = ctype == "datetime" and bool(
            (pair[col].dt.second.fillna(0) != 0).any() or (pair[other].dt.second.fillna(0) != 0).any()
        )
        a = _texts(frame[col], idx, ctype, secs)
        b = _texts(frame[other], idx, ctype, secs)
        word, sign = {"not_before": ("earlier than", "<"), "not_below": ("below", "<"), "not_above": ("above", ">")}[
            rule
        ]
        q.add(
            idx,
            (f"{col}: {word} {other} ({x} {sign} {y})" for x, y in zip(a, b, strict=True)),
            f"{col}: {word} {other}",
        )
    elif rule == "reference":
        ref = meta["references"]
        scope: list[str] = meta.get("scope") or []
        if spec is not None and spec.type == "list":
            item_values = items[spec.name]
            positions = item_values.index.to_numpy()[idx]
            raw = item_values.take(idx).tolist()
        else:
            positions = idx
            raw = frame[col].take(idx).tolist()
        reasons = []
        for pos, v in zip(positions, raw, strict=True):
            where = ""
            if scope:
                v = str(v).split(KEY_SEP)[-1]
                where = " in " + ", ".join(f"{s} {_fmt(frame[s].iat[pos])}" for s in scope)
            reasons.append(f"{col}: {_fmt(v)} is not a known {ref}{where}")
        q.add(positions, reasons, f"{col}: unknown {ref}")
    elif rule in EITHER_OR:
        either = EITHER_OR[rule]
        q.add(idx, [either.reason] * len(idx), either.summary)
    elif len(idx):
        q.add(idx, [f"{col}: failed {cfg.type}"] * len(idx), f"{col}: {cfg.type}")


def _exception(result: Any) -> str | None:
    info = result.exception_info or {}
    if "raised_exception" not in info:  # one entry per metric
        info = next((v for v in info.values() if isinstance(v, dict) and v.get("raised_exception")), {})
    return str(info.get("exception_message")) if info.get("raised_exception") else None


def _columns_of(cfg: Any) -> list[str]:
    kw = cfg.kwargs
    if "column" in kw:
        return [kw["column"]]
    if "column_list" in kw:
        return list(kw["column_list"])
    cols = [kw[k] for k in ("column_A", "column_B") if k in kw]
    if (cfg.meta or {}).get("rule") in EITHER_OR:
        cols += list(EITHER_OR[cfg.meta["rule"]].instead)
    return cols


def _to_text(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows as text, like the loader's rejected rows, so both kinds of quarantined rows share one frame."""
    out = pd.DataFrame(index=frame.index)
    for col in frame.columns:
        s = frame[col]
        if col == ROW:
            out[col] = s.astype("Int64")
        elif isinstance(s.dtype, pd.DatetimeTZDtype):
            out[col] = _timestamp_text(s, "s", "T") + "Z"
        elif _is_timestamp(s.dtype):
            out[col] = _timestamp_text(s, "D")
        else:
            out[col] = s.astype("string")
    return out


_NS_BOUNDS = (pd.Timestamp.min.as_unit("us"), pd.Timestamp.max.as_unit("us"))


def _for_range_check(values: pd.Series) -> pd.Series | None:
    """The column as GX's vectorised range check takes it, or None when it already does (or cannot).

    GX compares numpy numbers and nanosecond timestamps in one step, but a nullable integer (Int64) or a
    microsecond date one value at a time in Python: 5 million calls, 4 s of a scale-10 audit. Missing values stay
    missing (NaN, NaT), which GX leaves out either way; the rows' reasons still quote the loaded values.
    """
    dtype = values.dtype
    if isinstance(dtype, pd.Int64Dtype | pd.Float64Dtype):
        return values.astype("float64")
    if dtype == np.dtype("datetime64[us]"):
        low, high = values.min(), values.max()
        if pd.isna(low) or (_NS_BOUNDS[0] <= low and high <= _NS_BOUNDS[1]):
            return values.astype("datetime64[ns]")
    return None


def _ranges_apart(
    frame: pd.DataFrame, runs: list[tuple[pd.DataFrame, list[gxe.Expectation], str]]
) -> list[tuple[pd.DataFrame, list[gxe.Expectation], str]]:
    """The runs with the main run's range checks on slow column types moved to a run of their own, on copies of
    those columns that GX checks vectorised (`_for_range_check`); same index, so results name the same rows."""
    data, exps, name = runs[0]
    ranged = {e.column for e in exps if isinstance(e, gxe.ExpectColumnValuesToBeBetween) and e.column in data}
    copies = {c: v for c in sorted(ranged) if (v := _for_range_check(frame[c])) is not None}
    if not copies:
        return runs
    moved: list[gxe.Expectation] = [
        e for e in exps if isinstance(e, gxe.ExpectColumnValuesToBeBetween) and e.column in copies
    ]
    kept = [e for e in exps if not any(e is m for m in moved)]
    return [(data, kept, name), *runs[1:], (pd.DataFrame(copies, index=frame.index), moved, "ranges")]


def validate_dataset(
    loaded: LoadedDataset,
    contract: DatasetContract,
    reference_values: dict[str, pd.Series],
    threshold: float,
    release: bool = False,
    observed_until: pd.Timestamp | None = None,
) -> ValidatedDataset:
    """Run the dataset's suite and split the rows into the ones used and the ones quarantined, each with a reason
    (`observed_until`: when the export was taken; an event after it is quarantined).

    With `release`, `loaded.frame` is emptied and the rows used are copied out of it a column at a time, so a large
    dataset is never held twice (the caller hands the loaded dataset over).
    """
    _quiet_great_expectations()
    frame = loaded.frame.reset_index(drop=True)
    if release:
        # A new empty frame, not a slice: an empty slice (even copied: Arrow arrays are immutable, so a copy shares
        # them) still holds the whole table's buffers, and the caller may keep `loaded` alive until validation ends.
        loaded.frame = pd.DataFrame({c: pd.Series([], dtype=t) for c, t in loaded.frame.dtypes.items()})
    present = set(frame.columns)

    refs = dict(reference_values)
    items: dict[str, pd.Series] = {}
    for col, spec in contract.columns.items():
        ref = spec.reference
        if ref is None or col not in present:
            continue
        scope = reference_scope(contract, spec)
        if ref[0] == contract.name and ref[1] in present and spec.references not in refs:
            # A self-reference: the dataset's own values (before validation) are the valid ones.
            own = frame[[*scope, ref[1]]].dropna()
            refs[spec.references or ""] = reference_key(*(own[c] for c in [*scope, ref[1]]))
        if spec.type == "list":
            split = _split_items(frame[col])
            if scope:
                split = reference_key(*(frame[c].reindex(split.index) for c in scope), split)
            items[col] = split.rename(f"{col}{ITEMS}")

    suite = build_suite(contract, refs, observed_until)
    source = _context().data_sources.add_pandas(f"opsflow_{contract.name}")

    main_exps: list[gxe.Expectation] = []
    item_exps: dict[str, list[gxe.Expectation]] = defaultdict(list)
    skipped: list[ExpectationOutcome] = []
    for exp in suite.expectations:
        cfg = exp.configuration
        cols = _columns_of(cfg)
        item_col = next((c for c in cols if c.endswith(ITEMS)), None)
        if item_col is not None:
            item_exps[item_col.removesuffix(ITEMS)].append(exp)
        elif (cfg.meta or {}).get("rule") == "exists" or all(c in present for c in cols):
            main_exps.append(exp)
        else:
            skipped.append(
                ExpectationOutcome(cfg.type, ", ".join(cols), False, 0, f"{exp.description}: not run, column missing")
            )

    q = _Quarantine()
    outcomes: list[ExpectationOutcome] = []
    fmt = {"result_format": "COMPLETE", "return_unexpected_index_query": False}
    runs: list[tuple[pd.DataFrame, list[gxe.Expectation], str]] = [(frame, main_exps, "rows")]
    for c, exps in item_exps.items():
        if c in items:
            runs.append((items[c].reset_index(drop=True).to_frame(), exps, f"items_{c}"))
        else:
            skipped += [
                ExpectationOutcome(e.expectation_type, c, False, 0, f"{e.description}: not run, column missing")
                for e in exps
            ]
    # The results are read in the suite's order, whichever run checked them, so outcomes and each row's reasons
    # come out in the same order however the checks are split between runs.
    sequence = {id(e): i for i, e in enumerate(e for _, exps, _ in runs for e in exps)}
    runs = _ranges_apart(frame, runs)
    checked: list[tuple[int, Any]] = []
    for data, exps, asset_name in runs:
        if not exps:
            continue
        batch_definition = source.add_dataframe_asset(asset_name).add_batch_definition_whole_dataframe("all")
        # The Validator that Batch.validate and ValidationDefinition.run both build, used directly: Batch.validate
        # loads (and hashes) the frame a second time, ValidationDefinition.run serialises every COMPLETE result
        # into its store (about 1 s for 50k failing rows); neither tells us anything more.
        validator = V1Validator(
            batch_definition=batch_definition, batch_parameters={"dataframe": data}, result_format=fmt
        )
        with _configurations_built_once():
            result = validator.validate_expectation_suite(
                gx.ExpectationSuite(name=f"{contract.name}_{asset_name}", expectations=exps)
            )
        if len(result.results) != len(exps):
            raise AssertionError(f"{contract.name}: GX returned {len(result.results)} results for {len(exps)} checks")
        checked += [(sequence[id(e)], r) for e, r in zip(exps, result.results, strict=True)]
    for _, r in sorted(checked, key=lambda pair: pair[0]):
        rcfg = r.expectation_config
        assert rcfg is not None
        meta = rcfg.meta or {}
        error = _exception(r)
        count = int(r.result.get("unexpected_count") or 0)
        desc = rcfg.description or rcfg.type
        if error:
            desc = f"{desc}: could not run ({error})"
        outcomes.append(ExpectationOutcome(rcfg.type, meta.get("column"), bool(r.success), count, desc))
        if r.success or error:
            continue
        if meta.get("rule") == "exists":
            spec = contract.columns[meta["column"]]
            if spec.required:
                q.add(
                    range(len(frame)),
                    [f"{spec.name}: required column is missing"] * len(frame),
                    f"{spec.name}: column missing",
                )
            continue
        _explain(r, frame, items, contract, q)
    outcomes += skipped

    bad_pos = np.fromiter(sorted(q.rows), dtype=np.int64, count=len(q.rows))
    good = np.ones(len(frame), dtype=bool)
    good[bad_pos] = False
    failed = _to_text(frame.iloc[bad_pos])
    failed[REASON] = pd.array(["; ".join(q.rows[int(p)]) for p in bad_pos], dtype="string")

    rejected = loaded.rejected
    for reason in rejected.get(REASON, pd.Series(dtype="string")).dropna():
        for part in str(reason).split("; "):
            head = part.split(":", 1)[0].strip()
            q.counts[f"{head}: unreadable" if head in contract.columns else "unreadable row"] += 1
    quarantine = pd.concat([rejected.astype("string").astype({ROW: "Int64"}) if len(rejected) else None, failed])
    used = _rows_used(frame, good, release)
    quarantine = quarantine.sort_values(ROW, kind="stable").reset_index(drop=True)
    ordered = [c for c in [*contract.columns, ROW, REASON] if c in quarantine.columns]
    quarantine = quarantine[ordered + [c for c in quarantine.columns if c not in ordered]]

    quality = DatasetQuality(
        name=contract.name,
        source=loaded.source,
        rows_in=loaded.rows_in,
        rows_read=loaded.rows_read,
        rows_used=len(used),
        rows_quarantined=len(quarantine),
        threshold=threshold,
        reasons=dict(q.counts.most_common()),
        expectations=outcomes,
    )
    if quality.rows_used + quality.rows_quarantined != quality.rows_in:
        raise AssertionError(
            f"{contract.name}: {quality.rows_used} rows used + {quality.rows_quarantined} quarantined"
            f" != {quality.rows_in} rows in (loader frame {len(frame)}, rejected {len(rejected)})"
        )
    return ValidatedDataset(
        name=contract.name, frame=used, quarantine=quarantine, quality=quality, source_rows=loaded.source_rows
    )


def _rows_used(frame: pd.DataFrame, good: np.ndarray, release: bool) -> pd.DataFrame:
    """The frame's good rows with a fresh index; with `release`, each column is dropped from `frame` once copied."""
    if good.all():
        return frame
    if not release:
        return frame[good].reset_index(drop=True)
    keep = np.flatnonzero(good)
    columns = {}
    for name in list(frame.columns):
        columns[name] = frame.pop(name).take(keep).reset_index(drop=True)
        # Each column's old copy handed back as soon as it is dropped: the allocators would otherwise keep them all
        # (0.8 GB at scale 10) until validation ends.
        release_free_memory(collect=False)
    return pd.DataFrame(columns)


def validation_order(names: Iterable[str]) -> list[str]:
    """Datasets ordered so each is validated after every other dataset it references, ties in DATASETS order.

    DATASETS is meant to be in that order already; computing it from the contract's references keeps validation
    right if the contract and that list ever disagree (they did once: services.vendor_ids -> vendors).
    """
    contracts = load_contracts()
    rank = {n: i for i, n in enumerate(DATASETS)}
    chosen = sorted(set(names), key=lambda n: rank.get(n, len(rank)))
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(chosen)
    for name in chosen:
        for spec in contracts[name].columns.values():
            ref = spec.reference
            if ref is not None and ref[0] != name and ref[0] in graph:
                graph.add_edge(ref[0], name)
    return list(nx.lexicographical_topological_sort(graph, key=lambda n: rank.get(n, len(rank))))


def validate_workspace(
    loaded: dict[str, LoadedDataset], config: WorkspaceConfig, quarantine_dir: Path | None, release: bool = False
) -> OpsData:
    """Validate every loaded dataset, each after the datasets it references, whose validated ids it is checked on.

    A reference to a dataset that is not configured (or did not load) is not checked, and the dataset's quality
    says so. With quarantine_dir, writes `<dataset>.quarantine.csv` for every dataset (header only when clean).
    With `release`, each dataset is taken out of `loaded` as it is validated (see `validate_dataset`), so the
    loaded and the validated copy of the data are never all in memory together.
    """
    contracts = load_contracts()
    validated: dict[str, ValidatedDataset] = {}
    for name in validation_order(n for n in loaded if n in contracts):
        contract = contracts[name]
        refs: dict[str, pd.Series] = {}
        notes: list[ExpectationOutcome] = []
        for col, spec in contract.columns.items():
            ref = spec.reference
            if ref is None or ref[0] == name:
                continue
            if ref[0] in validated:
                refs[f"{ref[0]}.{ref[1]}"] = validated[ref[0]].frame[ref[1]]
                continue
            why = "is not configured" if ref[0] not in config.sources else "could not be loaded"
            logger.warning("%s.%s: not checked against %s: %s %s", name, col, spec.references, ref[0], why)
            notes.append(
                ExpectationOutcome(
                    "not_checked", col, True, 0, f"{col} references {spec.references}: not checked, {ref[0]} {why}"
                )
            )
        dataset = loaded.pop(name) if release else loaded[name]
        until = config.sources[name].observed_until if name in config.sources else None
        taken = None if until is None else _as_utc_instant(until, config.timezone)
        result = validate_dataset(
            dataset, contract, refs, config.quality.threshold(name), release=release, observed_until=taken
        )
        del dataset
        result.quality.expectations.extend(notes)
        if quarantine_dir is not None:
            quarantine_dir.mkdir(parents=True, exist_ok=True)
            path = quarantine_dir / f"{name}.quarantine.csv"
            result.quarantine.to_csv(path, index=False)
            result.quality.quarantine_path = str(path)
        validated[name] = result
    return OpsData(datasets={n: validated[n] for n in DATASETS if n in validated})


# NO_CACHE: Prefect's default cache key would pickle every input frame to hash it (seconds and a full copy in memory
# at scale), for a cache nothing reads.
validate_dataset_task = compute_task(validate_dataset, name="validate_dataset")
validate_workspace_task = compute_task(validate_workspace, name="validate_workspace")
