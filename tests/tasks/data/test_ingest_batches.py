"""Tests of the batched CSV and Parquet loading: the same rows, rejects and line numbers as reading the file whole."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import tasks.data.ingest as ingest
from opsflow.config import SourceSpec
from opsflow.contract import contract
from opsflow.datasets import REASON, ROW
from tasks.data.ingest import load_dataset, map_to_contract, read_source
from tasks.data.validate import validate_dataset
from tests.helpers import columns_holding_data

HEADER = '"case_id","process","activity","started_at","ended_at","resource"\n'


def _events(n: int, bad_every: int) -> str:
    """n events; every bad_every-th has an unreadable ended_at, so rejects fall into many batches."""
    lines = [HEADER]
    for i in range(n):
        end = "not a date" if i % bad_every == 0 else f"2026-03-0{1 + i % 9}T10:0{i % 10}:00+01:00"
        lines.append(f'"C-{i // 3}","orders","step{i % 3}","2026-03-0{1 + i % 9}T09:00:00+01:00","{end}","r{i % 4}"\n')
    return "".join(lines)


def _whole(path: Path, spec: SourceSpec) -> ingest.LoadedDataset:
    raw = read_source(spec, path.parent, "process_events")
    return map_to_contract(raw, spec, contract("process_events"), spec.path or "")


@pytest.mark.parametrize("batch_bytes", [1 << 10, 1 << 13, 1 << 25])
def test_batches_give_the_whole_file_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch_bytes: int) -> None:
    path = tmp_path / "events.csv"
    path.write_text(_events(600, bad_every=37), encoding="utf-8")
    monkeypatch.setattr(ingest, "BATCH_BYTES", batch_bytes)
    spec = SourceSpec(path="events.csv")
    batched = load_dataset("process_events", spec, tmp_path)
    whole = _whole(path, spec)
    pd.testing.assert_frame_equal(batched.frame, whole.frame)
    pd.testing.assert_frame_equal(batched.rejected, whole.rejected)
    # 600 rows, bad at i = 0, 37, ..., 592: ceil(600 / 37) = 17 rejected; the first is line 2 (header is line 1).
    assert batched.rows_in == 600
    assert len(batched.rejected) == 17 and len(batched.frame) == 583
    assert batched.rejected[ROW].tolist()[:2] == [2, 39]
    assert batched.rejected[REASON].str.startswith("ended_at: cannot read 'not a date'").all()
    # Categorical columns (the contract's few-valued text) get one sorted set of categories across the batches.
    assert isinstance(batched.frame["activity"].dtype, pd.CategoricalDtype)
    assert list(batched.frame["activity"].cat.categories) == ["step0", "step1", "step2"]
    assert list(batched.frame["resource"].cat.categories) == ["r0", "r1", "r2", "r3"]


def test_blank_lines_fall_back_to_exact_line_numbers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = _events(50, bad_every=7).splitlines(keepends=True)
    text.insert(11, "\n")  # a blank line after data line 11: later records start one line further down
    path = tmp_path / "events.csv"
    path.write_text("".join(text), encoding="utf-8")
    monkeypatch.setattr(ingest, "BATCH_BYTES", 1 << 10)
    batched = load_dataset("process_events", SourceSpec(path="events.csv"), tmp_path)
    # bad at i = 0, 7, 14: i = 14 is source line 14 + 2 = 16, plus the blank line = 17.
    assert batched.rejected[ROW].tolist()[:3] == [2, 9, 17]
    assert batched.rows_in == 50


def test_release_validates_the_same_and_frees_the_loaded_frame(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    lines = _events(120, bad_every=50).splitlines(keepends=True)
    lines[5] = lines[5].replace("T10:04:00", "T08:04:00")  # data row i = 4 ends before it starts: quarantined
    path.write_text("".join(lines), encoding="utf-8")
    spec = SourceSpec(path="events.csv")
    kept = validate_dataset(load_dataset("process_events", spec, tmp_path), contract("process_events"), {}, 0.5)
    loaded = load_dataset("process_events", spec, tmp_path)
    released = validate_dataset(loaded, contract("process_events"), {}, 0.5, release=True)
    pd.testing.assert_frame_equal(released.frame, kept.frame)
    pd.testing.assert_frame_equal(released.quarantine, kept.quarantine)
    assert released.quality.rows_used + released.quality.rows_quarantined == 120
    # 120 rows: 3 unreadable at load (i = 0, 50, 100) and 1 ended before it started: 116 used.
    assert released.quality.rows_used == 116 and released.quality.rows_quarantined == 4
    assert len(loaded.frame) == 0
    # Emptied, not sliced: an empty slice would still hold every buffer of the loaded columns.
    assert list(loaded.frame.dtypes) == list(released.frame.dtypes)
    assert columns_holding_data(loaded.frame) == []


@pytest.mark.parametrize("batch_rows", [7, 100, 1_000_000])
def test_parquet_batches_give_the_whole_file_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch_rows: int
) -> None:
    # The CSV case's 600 events as a Parquet file with typed columns (times as timestamps, a text column with
    # unreadable values), in row groups of 50 that the batches cut across.
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    csv_path = tmp_path / "events.csv"
    csv_path.write_text(_events(600, bad_every=37), encoding="utf-8")
    table = pacsv.read_csv(csv_path, convert_options=pacsv.ConvertOptions(column_types={"ended_at": pa.string()}))
    assert table.schema.field("started_at").type != pa.string()  # typed in the file, text only for bad values
    pq.write_table(table, tmp_path / "events.parquet", row_group_size=50)
    monkeypatch.setattr(ingest, "PARQUET_BATCH_ROWS", batch_rows)

    def whole_read(*_args: object) -> None:
        raise AssertionError("the batched load read the file whole")

    monkeypatch.setattr(ingest, "_read_parquet", whole_read)
    spec = SourceSpec(path="events.parquet", type="parquet")
    batched = load_dataset("process_events", spec, tmp_path)
    monkeypatch.undo()
    whole = _whole(tmp_path / "events.parquet", spec)
    pd.testing.assert_frame_equal(batched.frame, whole.frame)
    pd.testing.assert_frame_equal(batched.rejected, whole.rejected)
    # Record numbers run across batches: record 1 is ROW 2, the 38th (i = 37) is ROW 39, as in the CSV.
    assert (batched.rows_in, len(batched.frame), len(batched.rejected)) == (600, 583, 17)
    assert batched.rejected[ROW].tolist()[:2] == [2, 39]
