"""Read a workspace's exports (CSV, Parquet, Excel, SQL) and map them onto the data contract as opsflow.yaml says.

Decisions a user may need to know (the CLI and docs repeat them):
- ROW is the source line for CSV (header = line 1), the sheet row for Excel, and record number + 1 for Parquet and
  SQL (so the first record is 2, as in a CSV with a header).
- Cells are stripped; empty cells and `null_values` (case-insensitive) are missing. `values` maps are exact.
- Timestamps without an offset are local times in `timezone`; ones with an offset (`Z`, `+01:00`, ` UTC`) keep it.
  Without `date_format`, ISO 8601 is read, and slash/dot dates too: day-first with `dayfirst: true`, month-first
  otherwise. A `date_format` with a time part also reads date-only values (its date part). Excel, Parquet and SQL
  cells typed as dates are always read, whatever `date_format` says (they arrive as ISO 8601 text).
  A local time that occurs twice (autumn DST change) is taken as the first; one that does not exist (spring) moves
  forward by the gap.
- Numbers are plain (`1234.5`, `-3`, `1e3`): thousands separators and currency signs are rejected. A `95%` is read
  as 0.95 in a ratio column (contract unit `ratio...`), as 95 in a percent column, and rejected elsewhere.
- A `defaults` entry fills a column the source lacks, and the empty cells of one it has; the contract's own
  `default` fills only a column the source lacks.
- With `collapse`, `rows_in` counts the collapsed records (tickets), not the audit-log rows.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import difflib
import io
import logging
import os
import re
import threading
import time
import zoneinfo
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from pandas.api.types import union_categoricals
from prefect.runtime import task_run as prefect_task_run

from opsflow.config import (
    ENV_VAR,
    CollapseRule,
    CollapseSpec,
    DeriveSpec,
    SourceSpec,
    WorkspaceConfig,
    quote_cell,
    sql_label,
)
from opsflow.contract import ColumnSpec, DatasetContract, load_contracts
from opsflow.datasets import REASON, ROW, DataSourceError, LoadedDataset
from opsflow.memory import release_free_memory
from opsflow.tasking import io_task

log = logging.getLogger(__name__)

TEXT = pd.StringDtype()
"""Dtype of raw cells and of `string` contract columns (pandas' nullable string, missing = pd.NA)."""

UTC_TIMES: Final = "datetime64[us, UTC]"
NAIVE_TIMES: Final = "datetime64[us]"

SQL_CONNECT_TIMEOUT_SECONDS = 10
LOAD_RETRIES = 3
LOAD_RETRY_DELAYS: list[float] = [2, 5, 15]


class SourceUnavailableError(DataSourceError):
    """The source could not be reached (a database down, a network share away): worth trying again later."""


# --------------------------------------------------------------------------------------------------------- reading


def read_source(spec: SourceSpec, workspace: Path, dataset: str) -> pd.DataFrame:
    """The source's table as text: one string column per source column (missing cells NA) plus ROW.

    ROW: CSV line number (header is line 1), Excel sheet row, or record number + 1 for Parquet and SQL.
    """
    if spec.type == "sql":
        return _read_sql(spec, dataset)
    assert spec.path is not None  # SourceSpec guarantees a path for file sources
    path = (workspace / spec.path).expanduser()
    if not path.is_file():
        raise DataSourceError(_missing_file_message(path, spec.path, dataset))
    if path.stat().st_size == 0:
        raise DataSourceError(f"{spec.path}: the file is empty (0 bytes)")
    if spec.type == "csv":
        raw = _read_csv(path, spec, dataset)
    elif spec.type == "parquet":
        raw = _read_parquet(path, spec)
    else:
        raw = _read_excel(path, spec, dataset)
    return raw


def _missing_file_message(path: Path, shown: str, dataset: str) -> str:
    hint = ""
    if path.parent.is_dir():
        near = difflib.get_close_matches(path.name, [p.name for p in path.parent.iterdir()], n=1, cutoff=0.6)
        if near:
            hint = f"; did you mean {near[0]}?"
    return f"{shown}: file not found (sources.{dataset}.path, resolved to {path}){hint}"


def _finish_raw(frame: pd.DataFrame, rows: np.ndarray | None, shown: str, columns: Sequence[str]) -> pd.DataFrame:
    """Attach ROW and reject a table without data rows (a header-only file is not a dataset)."""
    if len(frame) == 0:
        raise DataSourceError(f"{shown}: header only, no data rows ({_column_count(columns)})")
    frame = frame.reset_index(drop=True)
    frame[ROW] = rows if rows is not None else np.arange(2, len(frame) + 2, dtype=np.int64)
    return frame


def _unique_header(names: Sequence[object]) -> list[str]:
    """Header names stripped, blanks named by position, repeats numbered (a repeat is an error only if used)."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, name in enumerate(names, start=1):
        text = "" if name is None else str(name).strip().lstrip("\ufeff")
        if not text:
            text = f"(column {i})"
        if text in seen:
            seen[text] += 1
            text = f"{text} (repeat {seen[text]})"
        else:
            seen[text] = 1
        out.append(text)
    return out


def _check_repeats(header: Sequence[str], spec: SourceSpec, dataset: str, shown: str) -> None:
    """A column name that appears twice is ambiguous only when the mapping uses it."""
    contract = load_contracts().get(dataset)
    used = set(spec.rename) | (set(contract.columns) if contract else set())
    for name in header:
        base, sep, _ = name.partition(" (repeat ")
        if sep and base in used:
            raise DataSourceError(f"{shown}: column '{base}' appears more than once in the header; rename one of them")


_SIGNATURES = (
    (b"PK\x03\x04", "a zip archive or an Excel workbook (.xlsx): for Excel set `type: excel`"),
    (b"\xd0\xcf\x11\xe0", "an old Excel workbook (.xls): save it as .xlsx or CSV"),
    (b"PAR1", "a Parquet file: set `type: parquet`"),
    (b"%PDF", "a PDF document: export the data as CSV"),
    (b"\x1f\x8b", "a gzip archive: unpack it first"),
)
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _check_text(data: bytes, spec: SourceSpec, dataset: str, shown: str) -> None:
    """One line for a file that is not text in the declared encoding: a UTF-16 byte-order mark, or binary bytes (a
    workbook, a Parquet or zip file under a .csv name)."""
    head = data[:8192]
    utf16 = spec.encoding.replace("-", "").replace("_", "").lower().startswith("utf16")
    if head.startswith(UTF16_BOMS):
        if not utf16:
            raise DataSourceError(
                f"{shown}: the file is UTF-16 (it starts with a UTF-16 byte-order mark); set `encoding: utf-16` "
                f"under sources.{dataset}"
            )
        return
    if utf16:
        return
    for signature, what in _SIGNATURES:
        if head.startswith(signature):
            raise DataSourceError(f"{shown}: not a text file: it looks like {what}")
    if b"\x00" in head:
        raise DataSourceError(
            f"{shown}: not a text file (it holds binary bytes); export the data as CSV, or set `type: excel` or "
            "`type: parquet` for those formats"
        )


def sniff_delimiter(text: str) -> str | None:
    """The delimiter the first lines of a CSV's text are split on (csv.Sniffer), or None when it cannot tell."""
    sample = "\n".join(text[: 64 << 10].splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return None


def _delimiter_hint(sep: str) -> str:
    shown = "\\t" if sep == "\t" else sep
    return f"the file looks '{shown}'-separated; set `delimiter: '{shown}'`"


def _decode(data: bytes, spec: SourceSpec, dataset: str, shown: str) -> str:
    _check_text(data, spec, dataset, shown)
    try:
        return data.decode(spec.encoding)
    except LookupError:
        raise DataSourceError(f"sources.{dataset}.encoding: '{spec.encoding}' is not a known encoding") from None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start : exc.start + 4].hex(" ")
        guess = "cp1252"
        try:
            data.decode(guess)
        except UnicodeDecodeError:
            guess = "latin-1"
        raise DataSourceError(
            f"{shown} line {line}: bytes that are not {spec.encoding} ({bad}); set `encoding: {guess}` "
            f"(or the file's real encoding) under sources.{dataset}"
        ) from None


def _read_csv(path: Path, spec: SourceSpec, dataset: str) -> pd.DataFrame:
    shown = spec.path or str(path)
    data = path.read_bytes()
    text = _decode(data, spec, dataset, shown).lstrip("\ufeff")
    if not text.strip():
        raise DataSourceError(f"{shown}: the file is empty (only blank lines)")
    if len(spec.delimiter) != 1:
        raise DataSourceError(f"sources.{dataset}.delimiter: must be one character, not '{spec.delimiter}'")
    header = next(csv.reader(io.StringIO(text[: 1 << 20], newline=""), delimiter=spec.delimiter))
    utf8 = text.encode("utf-8") if spec.encoding.replace("-", "").lower() not in ("utf8", "utf8sig") else data
    if utf8.startswith(b"\xef\xbb\xbf"):
        utf8 = utf8[3:]
    ragged: list[Any] = []

    def on_invalid(row: Any) -> str:
        ragged.append(row)
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(utf8),
            parse_options=pacsv.ParseOptions(
                delimiter=spec.delimiter,
                # Quoted line breaks are rare and parsing them disables a fast path: only when quotes appear.
                newlines_in_values=b'"' in utf8,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except pa.ArrowInvalid as exc:
        raise DataSourceError(f"{shown}: not a readable CSV ({_arrow_reason(exc)})") from None
    if ragged:
        other = sniff_delimiter(text)
        hint = f"; {_delimiter_hint(other)}" if other and other != spec.delimiter else ""
        raise DataSourceError(_ragged_message(text, spec.delimiter, shown, ragged[0]) + hint)
    names = _unique_header(table.column_names)
    _check_repeats(names, spec, dataset, shown)
    table = table.rename_columns(names)
    frame = table.to_pandas(types_mapper=lambda t: TEXT if t == pa.string() else None)
    return _finish_raw(frame, _csv_lines(text, utf8, spec.delimiter, len(frame)), shown, names)


BATCH_BYTES = 32 << 20
_ONE_CSV_AT_A_TIME = threading.Lock()
"""Held while a CSV is mapped in batches. Loads of several datasets run on the task runner's threads; mapped side by
side, their concatenation peaks added up (2.9 GB at scale 10, against 2.1 GB one at a time) and, the work being
mostly under the GIL, the load stage took no less time."""
"""CSV bytes read and mapped at a time by `load_dataset`: bounds the text held in memory whatever the file's size.
The lock above is held for Parquet batches too."""

_SCAN_BYTES = 16 << 20
_UTF8_NAMES: Final = {"utf8", "utf8sig"}


def _csv_batches(path: Path, spec: SourceSpec, dataset: str) -> Iterable[pd.DataFrame] | None:
    """The CSV's rows as text frames with ROW, BATCH_BYTES of the file at a time; None when the file is not a plain
    UTF-8 CSV whose records are its lines (then `read_source` reads it whole, with its exact messages).

    A scan of the file first checks the encoding and counts lines and quotes without holding it in memory; a line
    count that turns out not to match the records (blank lines, quoted line breaks) or a ragged row is found after
    the batches were read, and the generator then raises _NotPlain so the caller falls back.
    """
    if spec.encoding.replace("-", "").replace("_", "").lower() not in _UTF8_NAMES or len(spec.delimiter) != 1:
        return None
    decoder = codecs.getincrementaldecoder("utf-8")()
    newlines, quoted, content, last = 0, False, False, b""
    head = b""
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_SCAN_BYTES):
                decoder.decode(chunk)
                newlines += chunk.count(b"\n")
                quoted = quoted or b'"' in chunk
                content = content or bool(chunk.strip(b" \t\r\n\x0b\x0c\xef\xbb\xbf"))
                if len(head) < 1 << 20:
                    head += chunk[: (1 << 20) - len(head)]
                last = chunk[-1:]
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    if not content or b"\x00" in head or head.startswith(UTF16_BOMS):
        return None
    lines = newlines + (0 if last == b"\n" else 1)
    header_text = head.decode("utf-8", errors="ignore").lstrip("\ufeff")
    header = next(csv.reader(io.StringIO(header_text, newline=""), delimiter=spec.delimiter), [])
    if not header:
        return None
    return _stream_csv(path, spec, dataset, header, lines, quoted)


class _NotPlain(Exception):
    """The streamed CSV needs the whole-file reader (ragged rows, or records that are not one per line)."""


def _stream_csv(
    path: Path, spec: SourceSpec, dataset: str, header: list[str], lines: int, quoted: bool
) -> Iterable[pd.DataFrame]:
    shown = spec.path or str(path)
    ragged: list[Any] = []

    def on_invalid(row: Any) -> str:
        ragged.append(row)
        return "skip"

    parse = pacsv.ParseOptions(delimiter=spec.delimiter, newlines_in_values=quoted, invalid_row_handler=on_invalid)

    def convert(columns: Sequence[str]) -> pacsv.ConvertOptions:
        return pacsv.ConvertOptions(
            column_types={name: pa.string() for name in columns},
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            null_values=[""],
        )

    records = 0
    # The file is cut at line ends and each piece parsed on its own, rather than through Arrow's streaming reader:
    # that one reads ahead as fast as the disk allows, and held 0.9 GB of a 1 GB file before the first batch was
    # used. A record cut in two (a quoted line break) makes a piece fail or miscount, and the file is read whole.
    with path.open("rb") as handle:
        try:
            first = pa.BufferReader(handle.readline())
            head = pacsv.read_csv(first, parse_options=parse, convert_options=convert(header))
        except pa.ArrowInvalid as exc:
            raise _NotPlain(str(exc)) from None
        names = _unique_header(head.schema.names)
        _check_repeats(names, spec, dataset, shown)
        read = pacsv.ReadOptions(column_names=names)
        while piece := handle.read(BATCH_BYTES):
            if not piece.endswith(b"\n"):
                piece += handle.readline()
            try:
                table = pacsv.read_csv(pa.BufferReader(piece), read, parse, convert(names))
            except pa.ArrowInvalid as exc:
                raise _NotPlain(str(exc)) from None
            del piece
            if ragged:
                raise _NotPlain("ragged rows")
            if table.num_rows == 0:
                continue
            frame = table.to_pandas(types_mapper=lambda t: TEXT if t == pa.string() else None)
            del table
            frame[ROW] = np.arange(records + 2, records + 2 + len(frame), dtype=np.int64)
            records += len(frame)
            yield frame
    if ragged or records == 0 or lines != records + 1:
        raise _NotPlain("records are not one per line")


def _ragged_message(text: str, delimiter: str, shown: str, first_bad: Any) -> str:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader)
    start = reader.line_num + 1
    for record in reader:
        if record and len(record) != len(header):
            return (
                f"{shown} line {start}: {len(record)} fields where the header has {len(header)} "
                f"(an unquoted '{delimiter}' or line break inside a value?)"
            )
        start = reader.line_num + 1
    # Never the row itself: the file may not be the export it was meant to be (a .env, a key file).
    return f"{shown}: a row has {first_bad.actual_columns} fields where the header has {first_bad.expected_columns}"


def _csv_lines(text: str, utf8: bytes, delimiter: str, records: int) -> np.ndarray:
    """Line number where each data record starts; the cheap count holds unless blank lines or quoted breaks exist."""
    lines = utf8.count(b"\n") + (0 if utf8.endswith(b"\n") else 1)
    if lines == records + 1:
        return np.arange(2, records + 2, dtype=np.int64)
    starts: list[int] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    for record in reader:
        if record:
            starts.append(start)
        start = reader.line_num + 1
    starts = starts[1:]  # the header
    if len(starts) != records:  # the two parsers disagree on an odd file: fall back to record numbers
        return np.arange(2, records + 2, dtype=np.int64)
    return np.asarray(starts, dtype=np.int64)


def _read_parquet(path: Path, spec: SourceSpec) -> pd.DataFrame:
    shown = spec.path or str(path)
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataSourceError(f"{shown}: cannot read as Parquet ({_first_line(exc)})") from None
    names = _unique_header(table.column_names)
    columns: dict[str, pd.Series] = {}
    for name, column in zip(names, table.columns, strict=True):
        columns[name] = _arrow_to_text(column)
    frame = pd.DataFrame(columns)
    return _finish_raw(frame, None, shown, names)


PARQUET_BATCH_ROWS = 500_000
"""Parquet records read and mapped at a time by `load_dataset`: read whole, ten million process events held 5.7 GB
as text next to the typed frame."""


def _parquet_batches(path: Path) -> Iterable[pd.DataFrame] | None:
    """The Parquet file's records as text frames with ROW, PARQUET_BATCH_ROWS at a time; None when the file cannot
    be opened or has no records (then `read_source` reads it whole, with its exact messages)."""
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError):
        return None
    if parquet.metadata.num_rows == 0:
        return None
    return _stream_parquet(parquet)


def _stream_parquet(parquet: pq.ParquetFile) -> Iterable[pd.DataFrame]:
    names = _unique_header(parquet.schema_arrow.names)
    records = 0
    for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
        columns = {n: _arrow_to_text(pa.chunked_array([c])) for n, c in zip(names, batch.columns, strict=True)}
        del batch
        frame = pd.DataFrame(columns)
        frame[ROW] = np.arange(records + 2, records + 2 + len(frame), dtype=np.int64)
        records += len(frame)
        yield frame


_UTC_NAMES: Final = {"UTC", "Etc/UTC", "+00:00", "Z"}


def _arrow_to_text(column: pa.ChunkedArray) -> pd.Series:
    kind = column.type
    if pa.types.is_timestamp(kind) and kind.tz in _UTC_NAMES:
        # The same text as Arrow's own cast ('2026-03-04 09:00:00.000Z'), which looks up the zone for every value:
        # two million UTC times took 1.1 s that way and 0.06 s as wall time with the Z added.
        wall = pc.cast(pc.cast(column, pa.timestamp(kind.unit)), pa.string())
        return pd.Series(pd.array(pc.binary_join_element_wise(wall, pa.scalar("Z"), ""), dtype=TEXT))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        column = pc.binary_join(pc.cast(column, pa.list_(pa.string())), ";")
    elif not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        try:
            column = pc.cast(column, pa.string())
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
            return _objects_to_text(column.to_pylist())
    return pd.Series(pd.array(column.to_pylist() if column.num_chunks == 0 else column, dtype=TEXT))


def _cell_text(value: object) -> str | None:
    """One typed cell (Excel, SQL) as the text a CSV export would carry."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value != value:  # NaN
            return None
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    return str(value)


def _objects_to_text(values: Iterable[object]) -> pd.Series:
    return pd.Series(pd.array([_cell_text(v) for v in values], dtype=TEXT))


def _read_excel(path: Path, spec: SourceSpec, dataset: str) -> pd.DataFrame:
    import openpyxl  # imported here: only Excel sources need it

    shown = spec.path or str(path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError, InvalidFileException... for a non-workbook
        raise DataSourceError(f"{shown}: cannot open as an Excel workbook (.xlsx) ({_first_line(exc)})") from None
    try:
        sheets = book.sheetnames
        where = f"{shown}"
        if spec.sheet is None:
            sheet = book[sheets[0]]
        elif isinstance(spec.sheet, int):
            if not 0 <= spec.sheet < len(sheets):
                raise DataSourceError(
                    f"{shown}: no sheet number {spec.sheet} (sheets, numbered from 0: {', '.join(sheets)})"
                )
            sheet = book[sheets[spec.sheet]]
        else:
            if spec.sheet not in sheets:
                raise DataSourceError(f"{shown}: no sheet '{spec.sheet}' (sheets: {', '.join(sheets)})")
            sheet = book[spec.sheet]
        where = f"{shown} sheet '{sheet.title}'"
        starts = _sheet_starts(book) if len(sheets) > 1 else ""
        found: list[tuple[int, tuple[object, ...]]] = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if any(not (v is None or (isinstance(v, str) and not v.strip())) for v in values):
                found.append((number, values))
    finally:
        book.close()
    if not found:
        raise DataSourceError(f"{where}: the sheet is empty")
    # The header is the first row with two or more filled cells: title lines above a table are common in Excel.
    filled = [sum(v is not None for v in values) for _, values in found]
    first = next((i for i, n in enumerate(filled) if n >= 2), 0)
    header = _unique_header(found[first][1])
    _check_repeats(header, spec, dataset, where)
    rows = [number for number, _ in found[first + 1 :]]
    cells = [values for _, values in found[first + 1 :]]
    width = len(header)
    for values in cells:
        if len(values) > width and any(v is not None for v in values[width:]):
            width = len(values)
    header = _unique_header([*header, *([None] * (width - len(header)))])
    columns = {
        name: _objects_to_text(values[i] if i < len(values) else None for values in cells)
        for i, name in enumerate(header)
    }
    frame = pd.DataFrame(columns) if cells else pd.DataFrame({name: pd.Series([], dtype=TEXT) for name in header})
    try:
        raw = _finish_raw(frame, np.asarray(rows, dtype=np.int64), where, header)
    except DataSourceError as exc:
        if not starts:
            raise
        raise DataSourceError(f"{exc}; the workbook's sheets start with: {starts} (choose one with `sheet:`)") from None
    # What each sheet starts with, for the message when the columns are not found (the data on another sheet).
    raw.attrs["sheets"] = starts
    return raw


def _sheet_starts(book: Any) -> str:
    """`Summary: 'Quarterly report'; Data: 'number', 'opened_at', ...`: each sheet's first filled row, shortened."""
    parts = []
    for name in book.sheetnames:
        first: tuple[object, ...] = ()
        for values in book[name].iter_rows(max_row=20, values_only=True):
            if any(v is not None and str(v).strip() for v in values):
                first = tuple(v for v in values if v is not None and str(v).strip())
                break
        cells = ", ".join(quote_cell(str(v), 24) for v in first[:4]) + (", ..." if len(first) > 4 else "")
        parts.append(f"{name}: {cells or '(empty)'}")
    return "; ".join(parts)


def _expand_env(url: str, dataset: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise DataSourceError(f"sources.{dataset}.url: environment variable {name} is not set")
        return os.environ[name]

    return ENV_VAR.sub(value, url)


def _read_sql(spec: SourceSpec, dataset: str) -> pd.DataFrame:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
    from sqlalchemy.pool import NullPool

    assert spec.url is not None and spec.query is not None  # SourceSpec guarantees both for sql
    shown = sql_label(spec.url)
    url_text = _expand_env(spec.url, dataset)
    try:
        url = make_url(url_text)
    except ArgumentError:
        raise DataSourceError(f"sources.{dataset}.url: not a SQLAlchemy URL ({shown})") from None
    secret = url.password

    def clean(exc: BaseException) -> str:
        message = _first_line(getattr(exc, "orig", None) or exc)
        if not secret:
            return message
        # whole-word for short passwords, so a 'b' does not garble the driver's message
        pattern = re.escape(str(secret)) if len(str(secret)) >= 4 else rf"(?<![\w]){re.escape(str(secret))}(?![\w])"
        return re.sub(pattern, "***", message)

    connect_args: dict[str, Any] = {}
    backend = url.get_backend_name()
    if backend in ("postgresql", "mysql", "mariadb") and "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = SQL_CONNECT_TIMEOUT_SECONDS
    try:
        engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
    except (NoSuchModuleError, ImportError) as exc:
        raise DataSourceError(f"{shown}: no database driver for this URL ({clean(exc)})") from None
    try:
        try:
            conn = engine.connect()
        except SQLAlchemyError as exc:
            raise SourceUnavailableError(f"{shown}: cannot connect ({clean(exc)})") from None
        with conn:
            try:
                result = conn.execute(text(spec.query))
                keys = list(result.keys())
                records = result.fetchall()
            except DBAPIError as exc:
                if exc.connection_invalidated:
                    raise SourceUnavailableError(f"{shown}: connection lost during the query ({clean(exc)})") from None
                raise DataSourceError(f"{shown}: the query failed ({clean(exc)})") from None
            except SQLAlchemyError as exc:
                raise DataSourceError(f"{shown}: the query failed ({clean(exc)})") from None
    finally:
        engine.dispose()
    names = _unique_header(keys)
    _check_repeats(names, spec, dataset, shown)
    if not records:
        raise DataSourceError(f"{shown}: the query returned no rows (columns: {', '.join(names)})")
    columns = {name: _objects_to_text(record[i] for record in records) for i, name in enumerate(names)}
    return _finish_raw(pd.DataFrame(columns), None, shown, names)


def _column_count(columns: Sequence[object]) -> str:
    """How many columns a source has. Their names are not listed: when the wrong file is mapped (a .env, a key
    file), its "header" is a line of that file, and messages go to the console and the data-quality report."""
    return f"the source has {len(columns)} column{'s' if len(columns) != 1 else ''}"


def _arrow_reason(exc: BaseException) -> str:
    """Arrow's parse error without the row it quotes at the end ("CSV parse error: Expected 3 columns, got 1: ...")."""
    first = _first_line(exc)
    counted = re.match(r".*?\bgot \d+", first)
    return counted.group(0) if counted else ": ".join(first.split(": ")[:2])


def _first_line(exc: BaseException | object) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


# --------------------------------------------------------------------------------------------------------- mapping


def map_to_contract(
    raw: pd.DataFrame,
    spec: SourceSpec,
    contract: DatasetContract,
    source_label: str,
    cutoff: pd.Timestamp | None = None,
) -> LoadedDataset:
    """Rename, clean, map values, collapse and coerce a raw table to the contract; unconvertible rows are rejected.

    With `cutoff`, an audit-log export (`collapse`) replays only the rows updated before it (`order_by` time), so
    each ticket is as it was known then."""
    shown = source_label
    frame = raw.copy()
    if ROW not in frame.columns:
        frame[ROW] = np.arange(2, len(frame) + 2, dtype=np.int64)
    frame.columns = pd.Index([c if c == ROW else str(c).strip() for c in frame.columns])
    _check_timezone(spec)
    frame = _derive(frame, spec, contract, shown)
    has = [c for c in frame.columns if c != ROW]

    for source, target in spec.rename.items():
        if source not in frame.columns:
            raise DataSourceError(
                f"{shown}: rename: column '{source}' is not in the source ({_closest(source, has)}{_column_count(has)})"
            )
        order_by = spec.collapse.order_by if spec.collapse else None
        if target not in contract.columns and target != order_by:
            raise DataSourceError(
                f"{shown}: rename: '{target}' is not a column of the {contract.name} contract "
                f"({_closest(target, list(contract.columns))}columns: {_listing(contract.columns)})"
            )
    frame = frame.rename(columns=spec.rename)
    repeated = frame.columns[frame.columns.duplicated()].tolist()
    if repeated:
        raise DataSourceError(f"{shown}: rename: more than one source column becomes '{repeated[0]}'")

    for name in spec.defaults:
        if name not in contract.columns:
            raise DataSourceError(f"{shown}: defaults: '{name}' is not a column of the {contract.name} contract")
    ruled = _rule_targets(spec)
    present = [c for c in contract.columns if c in frame.columns]
    absent = [c for c in contract.columns if c not in frame.columns and c not in ruled]
    fillable = {c for c in absent if c in spec.defaults or contract.columns[c].default is not None}
    missing = [c for c in contract.required_columns if c in absent and c not in fillable]
    if missing:
        message = _missing_columns_message(shown, missing, has, spec, contract, frame)
        if raw.attrs.get("sheets"):
            message += f"; the workbook's sheets start with: {raw.attrs['sheets']} (choose one with `sheet:`)"
        raise DataSourceError(message)
    for name in spec.values:
        if name not in present and name not in fillable:
            raise DataSourceError(
                f"{shown}: values: column '{name}' is not in the source after renaming (columns: {_listing(present)})"
            )

    order_by = _resolve_order_by(spec.collapse, frame, spec, shown) if spec.collapse else None
    keep = present + ([order_by] if order_by and order_by not in present else [])
    keep += [c for c in _history_columns(spec, frame, shown) if c not in keep]
    markers = {m.strip().lower() for m in spec.null_values}
    text = pd.DataFrame({name: _clean_text(frame[name], markers) for name in keep}, index=frame.index)
    text[ROW] = frame[ROW].to_numpy(dtype=np.int64)
    for name, mapping in spec.values.items():
        if name in text.columns:
            text[name] = _map_values(text[name], mapping, markers)

    if spec.collapse is not None:
        assert order_by is not None
        text = _collapse(text, spec.collapse, order_by, spec, contract, shown, cutoff)

    n = len(text)
    for name in absent:
        value = spec.defaults.get(name, contract.columns[name].default)
        if value is not None and name in spec.values:
            value = spec.values[name].get(value, value)
        text[name] = pd.Series(pd.array([value] * n, dtype=TEXT), index=text.index)
    for name, value in spec.defaults.items():
        if name in present:
            text[name] = text[name].fillna(value)

    out: dict[str, pd.Series] = {}
    reasons: list[pd.Series] = []
    for name, column in contract.columns.items():
        values, bad_reason = _coerce(text[name], column, spec)
        out[name] = values
        if bad_reason is not None:
            reasons.append(bad_reason)
    converted = pd.DataFrame(out, index=text.index)
    converted[ROW] = text[ROW].astype(np.int64)

    if reasons:
        reason = pd.concat(reasons).groupby(level=0, sort=True).agg("; ".join)
        bad = text.index.isin(reason.index)
    else:
        reason = pd.Series([], dtype=object)
        bad = np.zeros(len(text), dtype=bool)
    rejected = text.loc[bad, [*contract.columns, ROW]].copy()
    rejected[REASON] = pd.array(reason.reindex(rejected.index).tolist(), dtype=TEXT)
    good = converted.loc[~bad]
    if spec.single_timestamp is not None and spec.single_timestamp.end == "next_start":
        good = good.assign(ended_at=_next_start(good))
    return LoadedDataset(
        name=contract.name,
        source=source_label,
        frame=good.reset_index(drop=True),
        rejected=rejected.reset_index(drop=True),
        rows_in=len(text),
        rows_read=len(raw) if spec.collapse is not None else None,
    )


def _check_timezone(spec: SourceSpec) -> None:
    try:
        zoneinfo.ZoneInfo(spec.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise DataSourceError(f"timezone: '{spec.timezone}' is not a known time zone (e.g. Europe/Berlin)") from None


def _listing(names: Iterable[str], limit: int = 25) -> str:
    names = list(names)
    more = f", ... ({len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _closest(name: str, candidates: Sequence[str]) -> str:
    near = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean {quote_cell(near[0], 40)}? " if near else ""


def values_fit(values: pd.Series, kind: str, spec: SourceSpec) -> bool:
    """Whether a source column's values could feed a contract column of type `kind` (a sample of 50): a time column
    only from values that read as times, a number only from numbers. A name alone never makes a suggestion."""
    sample = values.dropna().astype(str).str.strip()
    sample = sample[sample != ""].head(50)
    if sample.empty:
        return False
    if kind in ("datetime", "date"):
        if sample.str.contains(r"[-/:.]", regex=True).mean() < 0.8:
            return False
        parsed = pd.to_datetime(sample, errors="coerce", format="mixed", dayfirst=spec.dayfirst)
        return bool(parsed.notna().mean() >= 0.8)
    if kind in ("number", "integer"):
        return bool(pd.to_numeric(sample.str.replace(",", "."), errors="coerce").notna().mean() >= 0.8)
    if kind == "boolean":
        known = {v.lower() for v in (*spec.true_values, *spec.false_values)}
        return bool(sample.str.lower().isin(known).mean() >= 0.8)
    return True


def _missing_columns_message(
    shown: str,
    missing: list[str],
    has: list[str],
    spec: SourceSpec,
    contract: DatasetContract,
    frame: pd.DataFrame | None = None,
) -> str:
    # A source column named like another contract column belongs to that one (vendor_ids is never service_id).
    unmapped = [c for c in has if c not in spec.rename]
    suggestions = []
    for name in missing:
        kind = contract.columns[name].type
        others = set(contract.columns) - {name}
        typed = [
            c
            for c in unmapped
            if c.lower().replace(" ", "_") not in others
            and (frame is None or c not in frame.columns or values_fit(frame[c], kind, spec))
        ]
        lowered = {c.lower().replace(" ", "_"): c for c in typed}
        near = difflib.get_close_matches(name, list(lowered), n=1, cutoff=0.5)
        if not near and kind != "string" and typed:
            # No name is close, but a column whose values fit the type is a better start than none.
            near = [typed[0].lower().replace(" ", "_")]
        suggestions.append(f"{quote_cell(lowered[near[0]], 40)}: {name}" if near else f"'<source column>': {name}")
    plural = "s" if len(missing) > 1 else ""
    if len(has) == 1:  # one wide column: the file is split on another character
        for sep in (";", "\t", "|", ","):
            if sep != spec.delimiter and sep in has[0]:
                shown_sep = "\\t" if sep == "\t" else sep
                return (
                    f"{shown}: the header is one column holding '{shown_sep}': the file looks "
                    f"'{shown_sep}'-separated; set `delimiter: '{shown_sep}'`"
                )
    return (
        f"{shown}: required column{plural} {', '.join(missing)} missing for {contract.name} "
        f"({_column_count(has)}); map one with `rename: {{{', '.join(suggestions)}}}`"
    )


def _clean_text(series: pd.Series, markers: set[str]) -> pd.Series:
    """Text with outer whitespace stripped and empty cells or null markers as NA."""
    s = series if isinstance(series.dtype, pd.StringDtype) else series.astype(TEXT)
    s = s.str.strip()
    empty = s == ""
    if markers:
        empty = empty | s.str.lower().isin(markers)
    return s.mask(empty.fillna(False))


def _map_values(series: pd.Series, mapping: dict[str, str], markers: set[str]) -> pd.Series:
    """Source value -> contract value for every cell, through the distinct values (fast on a million rows)."""
    table = {str(k).strip(): v for k, v in mapping.items()}
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    mapped = []
    for u in uniques:
        v = table.get(u, u)
        v = v.strip() if isinstance(v, str) else v
        mapped.append(None if v is None or v == "" or v.lower() in markers else v)
    values = pd.array(mapped, dtype=TEXT).take(codes, allow_fill=True)
    return pd.Series(values, index=series.index)


# -------------------------------------------------------------------------------------------------------- collapse


def _derive(frame: pd.DataFrame, spec: SourceSpec, contract: DatasetContract, shown: str) -> pd.DataFrame:
    """The contract columns `derive` (and `single_timestamp`) make from source columns, added to the raw table."""
    derived = dict(spec.derive)
    if spec.single_timestamp is not None:
        if contract.name != "process_events":
            raise DataSourceError(f"{shown}: single_timestamp: only an event log (process_events) has one")
        copy = DeriveSpec.model_validate({"copy": spec.single_timestamp.column})
        for target in ("started_at", "ended_at"):
            if target in derived or target in spec.rename.values():
                raise DataSourceError(
                    f"{shown}: single_timestamp sets {target}; remove it from rename and derive"
                )
            derived[target] = copy
    if not derived:
        return frame
    has = [c for c in frame.columns if c != ROW]
    out = frame.copy()
    for target, how in derived.items():
        if target not in contract.columns:
            raise DataSourceError(
                f"{shown}: derive: '{target}' is not a column of the {contract.name} contract "
                f"({_closest(target, list(contract.columns))}columns: {_listing(contract.columns)})"
            )
        if target in spec.rename.values():
            raise DataSourceError(f"{shown}: derive: '{target}' is also a rename target; keep one of the two")
        for source in how.sources:
            if source not in frame.columns:
                raise DataSourceError(
                    f"{shown}: derive.{target}: column '{source}' is not in the source "
                    f"({_closest(source, has)}{_column_count(has)})"
                )
        if how.copy_of is not None:
            values = frame[how.copy_of].astype(TEXT)
        elif how.constant is not None:
            values = pd.Series(pd.array([how.constant] * len(frame), dtype=TEXT), index=frame.index)
        else:
            parts = [frame[c].astype(TEXT).str.strip().replace("", None) for c in how.sources]
            sep = how.sep if how.concat is not None else " "
            values = parts[0]
            for part in parts[1:]:
                # An empty part drops out with its separator; a row with no part stays empty.
                values = values.where(part.isna(), part.where(values.isna(), values + sep + part))
        out[target] = values
    return out


def _rule_targets(spec: SourceSpec) -> set[str]:
    """Contract columns a collapse rule computes from the ticket's history (not read from one source column)."""
    if spec.collapse is None:
        return set()
    return {name for name, how in spec.collapse.columns.items() if isinstance(how, CollapseRule)}


def _history_columns(spec: SourceSpec, frame: pd.DataFrame, shown: str) -> list[str]:
    """Source columns the collapse rules and `then_by` read (state, assigned_to), checked to exist after renaming."""
    if spec.collapse is None:
        return []
    wanted: list[tuple[str, str]] = [
        (f"collapse.columns.{name}", column)
        for name, how in spec.collapse.columns.items()
        if isinstance(how, CollapseRule)
        for column in how.source_columns
    ]
    if spec.collapse.then_by is not None:
        wanted.append(("collapse.then_by", spec.collapse.then_by))
    # The key may be a source column the contract has no place for (a ticket number in an SLA log): kept to group by.
    wanted.append(("collapse.key", spec.collapse.key))
    has = [c for c in frame.columns if c != ROW]
    for where, column in wanted:
        if column not in frame.columns:
            raise DataSourceError(
                f"{shown}: {where}: column '{column}' is not in the source after renaming "
                f"({_closest(column, has)}{_column_count(has)})"
            )
    return list(dict.fromkeys(column for _, column in wanted))


def _next_start(events: pd.DataFrame) -> pd.Series:
    """Each event's end as the next event's start in its case (single_timestamp end: next_start); a case's last
    event ends at its own start."""
    ordered = events.sort_values(["case_id", "started_at", ROW], kind="stable")
    following = ordered.groupby("case_id", sort=False, observed=True)["started_at"].shift(-1)
    return following.fillna(ordered["started_at"]).reindex(events.index)


def _resolve_order_by(collapse: CollapseSpec | None, frame: pd.DataFrame, spec: SourceSpec, shown: str) -> str:
    assert collapse is not None
    columns = [c for c in frame.columns if c != ROW]
    if collapse.key not in frame.columns:
        raise DataSourceError(
            f"{shown}: collapse.key: column '{collapse.key}' is not in the source after renaming "
            f"({_closest(collapse.key, columns)}{_column_count(columns)})"
        )
    if collapse.order_by in frame.columns:
        return collapse.order_by
    if collapse.order_by in spec.rename and spec.rename[collapse.order_by] in frame.columns:
        return spec.rename[collapse.order_by]
    raise DataSourceError(
        f"{shown}: collapse.order_by: column '{collapse.order_by}' is not in the source "
        f"({_closest(collapse.order_by, columns)}{_column_count(columns)})"
    )


def _collapse(
    text: pd.DataFrame,
    collapse: CollapseSpec,
    order_by: str,
    spec: SourceSpec,
    contract: DatasetContract,
    shown: str,
    cutoff: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """One row per key: per column the last (or first, min, max) non-empty value in `order_by` order, over the rows
    updated before `cutoff` when given (a row with no update time is kept: it cannot be placed after anything)."""
    rules = {name: how for name, how in collapse.columns.items() if isinstance(how, CollapseRule)}
    history_only = [c for c in _history_columns(spec, text, shown) if c not in contract.columns and c != order_by]
    for name in collapse.columns:
        if name not in text.columns and name not in rules:
            raise DataSourceError(
                f"{shown}: collapse.columns: column '{name}' is not in the source after renaming "
                f"(columns: {_listing(c for c in text.columns if c != ROW)})"
            )
    key = collapse.key
    order = _sort_key(text[order_by], contract.columns.get(order_by), spec)
    if cutoff is not None:
        if not isinstance(order.dtype, pd.DatetimeTZDtype):
            raise DataSourceError(
                f"{shown}: collapse.order_by: '{collapse.order_by}' does not read as times, so the audit log cannot "
                "be replayed to a period's end; map an update timestamp column"
            )
        before = (order < cutoff).fillna(True) | order.isna()
        text, order = text.loc[before.to_numpy()], order.loc[before.to_numpy()]
    # Equal update times keep their file order unless `then_by` orders them (a sequence number, a sub-second stamp).
    then = [] if collapse.then_by is None else ["_then"]
    if collapse.then_by is not None:
        text = text.assign(_then=_sort_key(text[collapse.then_by], contract.columns.get(collapse.then_by), spec))
    ordered = text.assign(_order=order).sort_values(["_order", *then, ROW], na_position="first", kind="stable")
    ordered = ordered.drop(columns=then)
    text = text.drop(columns=then)
    lone = ordered[ordered[key].isna()].drop(columns="_order")  # no key: nothing to merge with; validator flags it
    ordered = ordered[ordered[key].notna()]
    groups = ordered.groupby(key, sort=False)
    columns = [c for c in text.columns if c not in (key, ROW, *history_only) and c not in rules]
    result = pd.DataFrame(index=groups[ROW].last().index)
    result[ROW] = groups[ROW].last()
    for name, rule in rules.items():
        result[name] = _apply_rule(ordered, key, order_by, rule).reindex(result.index).astype(TEXT)
    for name in columns:
        how = collapse.columns.get(name, collapse.keep)
        assert not isinstance(how, CollapseRule)
        if how in ("first", "last"):
            picked = groups[name].first() if how == "first" else groups[name].last()
        else:
            value = _sort_key(ordered[name], contract.columns.get(name), spec)
            by_value = ordered.assign(_v=value).sort_values(
                ["_v", ROW], na_position="last" if how == "min" else "first", kind="stable"
            )
            regrouped = by_value.groupby(key, sort=False)[name]
            picked = regrouped.first() if how == "min" else regrouped.last()
        result[name] = picked.astype(TEXT)
    result = result.reset_index()
    merged = pd.concat([result, lone], ignore_index=True) if len(lone) else result
    kept = [c for c in text.columns if c not in history_only] + [c for c in rules if c not in text.columns]
    return merged.sort_values(ROW, kind="stable").reset_index(drop=True)[kept]


def _apply_rule(ordered: pd.DataFrame, key: str, order_by: str, rule: CollapseRule) -> pd.Series:
    """One collapse rule per ticket over its rows in update order (text, like every collapsed value)."""
    tickets = ordered[key]
    condition = rule.first_time or rule.last_time or rule.entries
    if condition is not None:
        held = ordered[condition.column].isin(condition.values).fillna(False).astype(bool)
        if rule.entries is not None:
            before = held.groupby(tickets, sort=False).shift(fill_value=False).astype(bool)
            counts = (held & ~before).groupby(tickets, sort=False).sum()
            return counts.astype("int64").astype(str)
        times = ordered[order_by].where(held)
        grouped = times.groupby(tickets, sort=False)
        return grouped.first() if rule.first_time is not None else grouped.last()
    assert rule.changes is not None
    values = ordered[rule.changes]
    filled = ordered[values.notna().to_numpy(dtype=bool)]
    previous = filled.groupby(key, sort=False)[rule.changes].shift()
    changed = previous.notna() & (filled[rule.changes] != previous)
    counts = changed.groupby(filled[key], sort=False).sum().reindex(tickets.unique(), fill_value=0)
    return counts.astype("int64").astype(str)


def _sort_key(values: pd.Series, column: ColumnSpec | None, spec: SourceSpec) -> pd.Series:
    """Order of a text column: as timestamps when every value reads as one, else numbers, else text."""
    kind = column.type if column is not None else None
    filled = values.notna()
    if kind in (None, "datetime", "date"):
        name = column.name if column is not None else str(values.name)
        formats, _ = _date_formats(name, spec)
        parsed = _parse_times(values, formats, spec.timezone if kind != "date" else None)
        if kind in ("datetime", "date") or bool((parsed.notna() == filled).all()):
            return parsed
    if kind in (None, "number", "integer"):
        numbers = pd.to_numeric(values.astype(object), errors="coerce")
        if kind is not None or bool((numbers.notna() == filled).all()):
            return numbers
    return values


# -------------------------------------------------------------------------------------------------------- coercion

_ISO = "ISO8601"
_TIME_PART = re.compile(r"[ T]?%[HIMSfpzZ].*$")
_OFFSET_TAIL = r"(?:Z|[Uu][Tt][Cc]|GMT|[+-][0-9]{2}(?::?[0-9]{2})?)$"
HAS_OFFSET = r"[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?[ \t]*" + _OFFSET_TAIL
_TIME_THEN_OFFSET = r"([0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?)[ \t]*" + _OFFSET_TAIL
_DAY_FIRST = [f"{d}{t}" for d in ("%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y") for t in (" %H:%M:%S", " %H:%M", "")]
_MONTH_FIRST = [f"%m/%d/%Y{t}" for t in (" %H:%M:%S", " %H:%M", " %I:%M:%S %p", " %I:%M %p", "")]

# strftime directives the fast reader understands: regex of the field and the component it fills.
_DIRECTIVES = {
    "Y": (r"[0-9]{4}", "year"),
    "y": (r"[0-9]{2}", "year2"),
    "m": (r"[0-9]{1,2}", "month"),
    "d": (r"[0-9]{1,2}", "day"),
    "H": (r"[0-9]{1,2}", "hour"),
    "I": (r"[0-9]{1,2}", "hour12"),
    "M": (r"[0-9]{1,2}", "minute"),
    "S": (r"[0-9]{1,2}", "second"),
    "f": (r"[0-9]{1,9}", "fraction"),
    "p": (r"[AaPp]\.?[Mm]\.?", "ampm"),
    "b": (r"[A-Za-z]{3,9}\.?", "monthname"),
    "B": (r"[A-Za-z]{3,9}", "monthname"),
    "z": (r"Z|[+-][0-9]{2}:?[0-9]{2}", "offset"),
}
_MONTHS = {m: i for i, m in enumerate(("jan feb mar apr may jun jul aug sep oct nov dec").split(), start=1)}


def _format_regex(fmt: str) -> str | None:
    """A strftime format as an anchored RE2 pattern with one named group per field; None when it is not simple."""
    out, seen, i = ["^"], set(), 0
    while i < len(fmt):
        char = fmt[i]
        if char == "%" and i + 1 < len(fmt):
            code = fmt[i + 1]
            i += 2
            if code == "%":
                out.append("%")
                continue
            if code not in _DIRECTIVES or _DIRECTIVES[code][1] in seen:
                return None
            pattern, field = _DIRECTIVES[code]
            seen.add(field)
            out.append(f"(?P<{field}>{pattern})")
            continue
        out.append("[ \t]*" if char.isspace() else re.escape(char))
        i += 1
    out.append("$")
    return "".join(out)


def _strptime_fast(values: pd.Series, fmt: str) -> pd.Series | None:
    """`pd.to_datetime(values, format=fmt)` for simple formats, in Arrow and numpy (pandas' strptime is per-row
    Python-speed: 3 s a million). Impossible dates (31/02) and times (25:00) give NaT. None: use pandas instead.

    Not `pyarrow.compute.strptime`: it is fast but silently rolls 31/02/2026 over to 03/03/2026 and reads `26` as
    the year 0026 for %Y, which would put wrong dates into the metrics instead of quarantining the row.
    """
    pattern = _format_regex(fmt)
    if pattern is None or not {"year", "year2"} & set(re.findall(r"<(\w+)>", pattern)):
        return None
    result = pd.Series(pd.NaT, index=values.index, dtype=NAIVE_TIMES)
    fields = pc.extract_regex(pa.array(values.astype(TEXT).array), pattern)
    matched = pc.is_valid(fields).to_numpy(zero_copy_only=False)
    if not matched.any():
        return result
    fields = fields.filter(pa.array(matched))
    names = [fields.type.field(i).name for i in range(fields.type.num_fields)]
    raw = {name: pc.struct_field(fields, name) for name in names}

    def number(name: str, default: int) -> np.ndarray:
        if name not in raw:
            return np.full(len(fields), default, dtype=np.int64)
        return pc.cast(raw[name], pa.int64()).to_numpy(zero_copy_only=False)

    year = number("year", 0) if "year" in raw else number("year2", 0)
    if "year2" in raw:
        year = np.where(year < 69, 2000 + year, 1900 + year)
    if "monthname" in raw:
        names_lower = pc.utf8_slice_codeunits(pc.utf8_lower(raw["monthname"]), 0, 3).to_pylist()
        month = np.array([_MONTHS.get(m, 0) for m in names_lower], dtype=np.int64)
    else:
        month = number("month", 1)
    hour = number("hour", 0)
    ok = np.ones(len(fields), dtype=bool)
    if "hour12" in raw:
        hour = number("hour12", 0)
        ok &= (hour >= 1) & (hour <= 12)
        if "ampm" in raw:
            pm = pc.starts_with(pc.utf8_lower(raw["ampm"]), "p").to_numpy(zero_copy_only=False)
            hour = np.where(pm, hour % 12 + 12, hour % 12)
    minute, second = number("minute", 0), number("second", 0)
    ok &= (hour < 24) & (minute < 60) & (second < 60)
    micro = np.zeros(len(fields), dtype=np.int64)
    if "fraction" in raw:
        padded = pc.utf8_slice_codeunits(pc.utf8_rpad(raw["fraction"], width=6, padding="0"), 0, 6)
        micro = pc.cast(padded, pa.int64()).to_numpy(zero_copy_only=False)
    parts = pd.DataFrame(
        {"year": year, "month": month, "day": number("day", 1), "hour": hour, "minute": minute, "second": second}
    )
    parts.loc[~ok, "day"] = 0  # out-of-range time: make the whole timestamp invalid
    stamps = pd.to_datetime(parts, errors="coerce").astype(NAIVE_TIMES) + pd.to_timedelta(micro, unit="us")
    if "offset" in raw:
        text = pc.replace_substring(pc.replace_substring(raw["offset"], "Z", "+0000"), ":", "").to_pylist()
        minutes = np.array([(int(t[1:3]) * 60 + int(t[3:5])) * (-1 if t[0] == "-" else 1) for t in text])
        stamps = (stamps - pd.to_timedelta(minutes, unit="min")).dt.tz_localize("UTC")
        result = result.dt.tz_localize("UTC")
    result.iloc[np.flatnonzero(matched)] = stamps.to_numpy()
    return result


def _date_formats(name: str, spec: SourceSpec) -> tuple[list[str], str]:
    """Formats to try for a column, in order, and how to say what was expected."""
    given = spec.date_formats.get(name) or spec.date_format
    if given:
        formats = [given]
        date_part = _TIME_PART.sub("", given)
        if date_part and date_part != given:
            formats.append(date_part)
        expected = f"expected {given}"
        if spec.type != "csv":  # typed date cells of Excel, Parquet, SQL arrive as ISO text
            formats.append(_ISO)
            expected += " or ISO 8601"
        return formats, expected
    if spec.dayfirst:
        return [_ISO, *_DAY_FIRST], "expected ISO 8601 like 2026-03-04 14:30 or day-first like 04/03/2026 14:30"
    return [_ISO, *_MONTH_FIRST], (
        "expected ISO 8601 like 2026-03-04 14:30 or month-first like 03/04/2026 14:30; set date_format or dayfirst"
    )


def _to_datetime(values: pd.Series, fmt: str, utc: bool) -> pd.Series:
    if fmt != _ISO:
        fast = _strptime_fast(values, fmt)
        if fast is not None:
            if utc and not isinstance(fast.dtype, pd.DatetimeTZDtype):
                fast = fast.dt.tz_localize("UTC")
            return fast
    try:
        parsed = pd.to_datetime(values.astype(object), format=fmt, errors="coerce", utc=utc)
    except (ValueError, TypeError):  # mixed offsets without utc, or an odd value the format path refuses
        parsed = pd.to_datetime(values.astype(object), format=fmt, errors="coerce", utc=True)
    return pd.Series(parsed, index=values.index)


def _cast_or_none(values: pa.Array, to: pa.DataType) -> pa.Array | None:
    """Arrow's cast of the whole column, or None when it refuses any cell (the caller then reads cell by cell)."""
    try:
        return pc.cast(values, to)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None


def _iso_times_fast(text: pd.Series, timezone: str | None) -> pd.Series | None:
    """`_parse_times` for a column that is all ISO 8601 with an offset on every cell, or on none; else None.

    Arrow's cast reads such a column in milliseconds, pandas' in half a second a million. It refuses a whole column
    over one cell it cannot read, and it accepts a subset of what pandas' ISO reader does, giving the same instants
    (impossible dates like 31/02 refused, no rolling over), so any other column takes the general path.
    """
    strings = pa.array(text.array, type=pa.large_string())
    aware = _cast_or_none(strings, pa.timestamp("us", "UTC")) if timezone is not None else None
    if aware is not None:  # an offset on every cell
        return pd.Series(aware.to_pandas(), index=text.index).astype(UTC_TIMES)
    cast = _cast_or_none(strings, pa.timestamp("us"))
    if cast is None:  # offsets on some cells only, or a cell that is not ISO 8601
        return None
    naive = pd.Series(cast.to_pandas(), index=text.index).astype(NAIVE_TIMES)
    if timezone is None:
        return naive
    # The same reading of a local time as the general path: a repeated hour is the first, a skipped one moves on.
    local = naive.dt.tz_localize(timezone, ambiguous=np.ones(len(naive), dtype=bool), nonexistent="shift_forward")
    return local.dt.tz_convert("UTC").astype(UTC_TIMES)


def _parse_times(text: pd.Series, formats: list[str], timezone: str | None) -> pd.Series:
    """Timestamps from text: UTC when `timezone` is given (naive values are local there), else naive wall time."""
    target = UTC_TIMES if timezone else NAIVE_TIMES
    if formats[0] == _ISO:
        fast = _iso_times_fast(text, timezone)
        if fast is not None:
            return fast
    result = pd.Series(pd.NaT, index=text.index, dtype=target)
    values = text.dropna()
    if values.empty:
        return result
    has_offset = values.str.contains(HAS_OFFSET, regex=True).fillna(False).to_numpy(dtype=bool)
    if timezone is None and has_offset.any():  # a date column: keep the date as written, whatever offset follows
        values = values.copy()
        values[has_offset] = values[has_offset].str.replace(_TIME_THEN_OFFSET, r"\1", regex=True)
        has_offset[:] = False
    naive, aware = values[~has_offset], values[has_offset]
    if len(aware):
        # Only values ending in C or T can end in UTC or GMT: the regex runs on those (a second a million otherwise).
        last = pc.utf8_slice_codeunits(pa.array(aware.array), -1)
        named = pc.is_in(last, pa.array(["C", "c", "T", "t"])).to_numpy(zero_copy_only=False)
        if named.any():
            aware = aware.copy()
            aware[named] = aware[named].str.replace(r"[ \t]*(?:[Uu][Tt][Cc]|GMT)$", "+00:00", regex=True)
    for fmt in formats:
        if len(naive):
            parsed = _to_datetime(naive, fmt, utc=False)
            if isinstance(parsed.dtype, pd.DatetimeTZDtype):  # offsets the pattern did not spot
                parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
                if timezone:
                    parsed = parsed.dt.tz_localize("UTC").dt.tz_convert(timezone).dt.tz_localize(None)
            ok = parsed.notna()
            if ok.any():
                got = parsed[ok].astype(NAIVE_TIMES)
                if timezone:
                    local = got.dt.tz_localize(
                        timezone, ambiguous=np.ones(len(got), dtype=bool), nonexistent="shift_forward"
                    )
                    result.loc[got.index] = local.dt.tz_convert("UTC").astype(UTC_TIMES)
                else:
                    result.loc[got.index] = got
                naive = naive[~ok]
        # A value with an offset keeps it, with or without a date_format that spells the offset out.
        for with_offset in (fmt, fmt + "%z", fmt + " %z") if "%z" not in fmt and fmt != _ISO else (fmt,):
            if not len(aware):
                break
            parsed = _to_datetime(aware, with_offset, utc=True)
            ok = parsed.notna()
            if ok.any():
                result.loc[parsed.index[ok]] = parsed[ok].astype(UTC_TIMES)
                aware = aware[~ok]
        if not len(naive) and not len(aware):
            break
    return result


def _reasons(text: pd.Series, bad: pd.Series | np.ndarray, name: str, what: str) -> pd.Series | None:
    """`column: cannot read 'value' as ...` for each bad cell, indexed like the rows."""
    mask = np.asarray(bad, dtype=bool)
    if not mask.any():
        return None
    shown = text[mask].astype(object).map(quote_cell)
    return pd.Series([f"{name}: cannot read {v} {what}" for v in shown], index=shown.index, dtype=object)


def _to_float(text: pd.Series) -> pd.Series:
    """Numbers from text, NaN where a cell is not a plain number.

    Arrow's cast reads a million cells in milliseconds but refuses the whole column over one odd cell; it accepts a
    subset of what pandas reads (no padding, separators or odd digits), with the same values, so a column it refuses
    goes the slower way, which tells the odd cells apart.
    """
    cast = _cast_or_none(pa.array(text.array, type=pa.large_string()), pa.float64())
    if cast is None:
        return pd.to_numeric(text.astype(object), errors="coerce").astype("float64")
    return pd.Series(cast.to_numpy(zero_copy_only=False), index=text.index, dtype="float64")


def _coerce(text: pd.Series, column: ColumnSpec, spec: SourceSpec) -> tuple[pd.Series, pd.Series | None]:
    """The column in its contract type, and a reason for every cell that could not be converted."""
    name, kind = column.name, column.type
    filled = text.notna().to_numpy()
    if kind == "string":
        values = text.astype(TEXT)
        # Categories in sorted order, as every batch of a file gets them (see _concat): groupby and sort_values then
        # order the values as they would order the text.
        return (values.astype("category") if column.categorical else values), None
    if kind == "list":
        joined = text.str.replace(r"[ \t]*[,;|][ \t]*", ";", regex=True).str.replace(r";{2,}", ";", regex=True)
        joined = joined.str.strip(";").str.strip()
        return joined.mask(joined == "").astype(TEXT), None
    if kind in ("datetime", "date"):
        formats, expected = _date_formats(name, spec)
        parsed = _parse_times(text, formats, spec.timezone if kind == "datetime" else None)
        if kind == "date":
            parsed = parsed.dt.normalize()
        return parsed, _reasons(text, filled & parsed.isna().to_numpy(), name, f"as a date ({expected})")
    if kind == "boolean":
        lowered = text.str.lower()
        truthy = lowered.isin([v.strip().lower() for v in spec.true_values]).fillna(False).to_numpy(dtype=bool)
        falsy = lowered.isin([v.strip().lower() for v in spec.false_values]).fillna(False).to_numpy(dtype=bool)
        # Built from two masks: a list of a million pd.NA took a fifth of a second.
        out = pd.Series(pd.arrays.BooleanArray(truthy.copy(), ~(truthy | falsy)), index=text.index)
        what = f"as true/false (true: {', '.join(spec.true_values)}; false: {', '.join(spec.false_values)})"
        return out, _reasons(text, filled & ~truthy & ~falsy, name, what)
    # number / integer
    percent = text.str.endswith("%").fillna(False).to_numpy(dtype=bool)
    unit = (column.unit or "").lower()
    pct_ok = kind == "number" and (unit.startswith("ratio") or unit == "percent")
    plain = text.str.rstrip("%").str.rstrip() if pct_ok and percent.any() else text
    numbers = _to_float(plain)
    if pct_ok and unit.startswith("ratio"):
        numbers = numbers.where(~percent, numbers / 100.0)
    finite = np.isfinite(numbers.to_numpy(dtype="float64", na_value=np.nan))
    if not pct_ok:
        finite &= ~percent
    if kind == "integer":
        as_float = numbers.to_numpy(dtype="float64", na_value=np.nan)
        whole = finite & (np.mod(as_float, 1) == 0)
        # From 2**53 on a float no longer holds every whole number: those cells are read from their digits, and
        # one beyond a 64-bit integer is refused rather than crashing the load.
        big = whole & (np.abs(as_float) >= 2**53)
        out = pd.Series(numbers.where(whole & ~big).astype("Int64"), index=text.index)
        for position in np.flatnonzero(big).tolist():
            digits = Decimal(str(plain.iloc[position]))
            if -(2**63) <= digits < 2**63 and digits == digits.to_integral_value():
                out.iloc[position] = int(digits)
            else:
                whole[position] = False
        return out, _reasons(text, filled & ~whole, name, "as a whole number")
    out = numbers.where(finite).astype("float64")
    what = "as a number (plain digits, '.' for decimals" + (", or a percentage)" if pct_ok else ")")
    return out, _reasons(text, filled & ~finite, name, what)


# ---------------------------------------------------------------------------------------------------------- loading


def source_label(spec: SourceSpec) -> str:
    """How a source is named in messages and reports (never with credentials)."""
    if spec.type == "sql":
        assert spec.url is not None
        return sql_label(spec.url)
    assert spec.path is not None
    if spec.type == "excel" and spec.sheet is not None:
        return f"{spec.path} sheet '{spec.sheet}'" if isinstance(spec.sheet, str) else f"{spec.path} sheet {spec.sheet}"
    return spec.path


def load_dataset(name: str, spec: SourceSpec, workspace: Path, cutoff: pd.Timestamp | None = None) -> LoadedDataset:
    """One dataset read from its source and mapped onto its contract; an audit-log export (`collapse`) replayed to
    `cutoff` when given."""
    contracts = load_contracts()
    if name not in contracts:
        raise DataSourceError(f"sources.{name}: no dataset called {name} (datasets: {', '.join(contracts)})")
    started = time.perf_counter()
    loaded = _load_in_batches(name, spec, workspace, contracts[name])
    if loaded is None:
        raw = read_source(spec, workspace, name)
        loaded = map_to_contract(raw, spec, contracts[name], source_label(spec), cutoff)
        if spec.collapse is not None and cutoff is None:
            loaded.source_rows = raw
    release_free_memory(collect=False)
    log.info(
        "%s: %d rows from %s (%d rejected at load) in %.1fs",
        name,
        loaded.rows_in,
        loaded.source,
        len(loaded.rejected),
        time.perf_counter() - started,
    )
    return loaded


def _load_in_batches(name: str, spec: SourceSpec, workspace: Path, contract: DatasetContract) -> LoadedDataset | None:
    """A plain CSV mapped BATCH_BYTES at a time, so its whole text never sits in memory next to the typed frame.

    Every mapping step is row by row, so mapping batches and concatenating gives the frame `map_to_contract` gives
    on the whole table. None (read it whole) for other sources, `collapse` (it merges rows across the file) and
    CSVs the streaming reader cannot number exactly.
    """
    if spec.type not in ("csv", "parquet") or spec.collapse is not None or spec.path is None:
        return None
    path = (workspace / spec.path).expanduser()
    if not path.is_file() or path.stat().st_size == 0:
        return None
    batches = _csv_batches(path, spec, name) if spec.type == "csv" else _parquet_batches(path)
    if batches is None:
        return None
    label = source_label(spec)
    frames: list[pd.DataFrame] = []
    rejected: list[pd.DataFrame] = []
    rows_in = 0
    with _ONE_CSV_AT_A_TIME:
        try:
            for raw in batches:
                part = map_to_contract(raw, spec, contract, label)
                del raw
                frames.append(part.frame)
                if len(part.rejected) or not rejected:
                    rejected.append(part.rejected)
                rows_in += part.rows_in
        except _NotPlain as exc:
            log.info("%s: %s; reading the file whole", name, exc)
            return None
        # The batches' text and temporaries back to the system before the concatenation makes its own peak.
        release_free_memory(collect=False)
        return LoadedDataset(
            name=contract.name,
            source=label,
            frame=_concat(frames),
            rejected=_concat(rejected),
            rows_in=rows_in,
        )


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The batches as one frame, a column at a time (each batch's copy of it freed at once).

    Text columns become one contiguous Arrow array: pandas would keep one chunk per batch, and taking rows from a
    chunked array (every filter downstream) is several times slower.
    """
    frames = [f for f in frames if len(f)] or frames[:1]
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    columns: dict[str, pd.Series] = {}
    for name in list(frames[0].columns):
        parts = [frame.pop(name) for frame in frames]
        if all(isinstance(part.dtype, pd.StringDtype) for part in parts):
            arrays = [pa.array(part.array) for part in parts]
            del parts
            chunks = [c for a in arrays for c in (a.chunks if isinstance(a, pa.ChunkedArray) else [a])]
            del arrays
            columns[name] = pd.Series(pd.array(pa.concat_arrays(chunks), dtype=TEXT))
        elif all(isinstance(part.dtype, pd.CategoricalDtype) for part in parts):
            columns[name] = pd.Series(union_categoricals(parts, sort_categories=True))
        else:
            columns[name] = pd.concat(parts, ignore_index=True)
    frames.clear()
    return pd.DataFrame(columns)


def _load_all(workspace: Path, config: WorkspaceConfig) -> tuple[dict[str, LoadedDataset], dict[str, DataSourceError]]:
    order = load_order(config)
    loaded: dict[str, LoadedDataset] = {}
    failed: dict[str, DataSourceError] = {}
    for name in order:
        try:
            loaded[name] = load_dataset(name, config.sources[name], workspace)
        except DataSourceError as exc:
            # The caller says it (validate prints it once, on its own line): logging it too would repeat it.
            log.debug("%s: %s", name, exc)
            failed[name] = exc
    return loaded, failed


def load_workspace(workspace: Path, config: WorkspaceConfig) -> tuple[dict[str, LoadedDataset], dict[str, str]]:
    """Every configured dataset loaded, and for each one that could not be read at all, its one-line error."""
    loaded, failed = _load_all(workspace, config)
    return loaded, {name: str(exc) for name, exc in failed.items()}


def is_transient(task: object, task_run: object, state: Any) -> bool:
    """Retry condition: only an unreachable source may come back; a missing file or bad mapping will not."""
    return isinstance(getattr(state, "data", None), SourceUnavailableError)


def load_source(name: str, spec: SourceSpec, workspace: Path) -> LoadedDataset | str:
    """One dataset, or its one-line error; an unreachable source fails the attempt so Prefect retries it first.

    Returning the error (rather than raising) keeps a bad file out of Prefect's failed-task tracebacks: the user
    gets the one line, and the other datasets load in parallel regardless.
    """
    try:
        return load_dataset(name, spec, workspace)
    except DataSourceError as exc:
        log.warning("%s: %s", name, exc)
        attempt = prefect_task_run.run_count  # 0 outside a Prefect task run: nothing would retry it
        if attempt and should_retry({name: exc}, attempt):
            raise
        return str(exc)


def load_order(config: WorkspaceConfig) -> list[str]:
    """The configured datasets, contract datasets first in dependency order."""
    contracts = load_contracts()
    return [n for n in contracts if n in config.sources] + [n for n in config.sources if n not in contracts]


def should_retry(failed: dict[str, DataSourceError], run_count: int, retries: int = LOAD_RETRIES) -> bool:
    """Fail this attempt so Prefect retries it: a source was unreachable and attempts remain (run_count is 1-based)."""
    transient = any(isinstance(exc, SourceUnavailableError) for exc in failed.values())
    return transient and run_count <= retries


load_source_task = io_task(
    load_source,
    name="load_source",
    retries=LOAD_RETRIES,
    retry_delay_seconds=LOAD_RETRY_DELAYS,
    retry_condition_fn=is_transient,
)
