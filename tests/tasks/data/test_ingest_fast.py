"""The Arrow fast paths of ingest (numbers, ISO 8601 times) read exactly what the general path reads."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from opsflow.config import SourceSpec
from opsflow.contract import ColumnSpec
from tasks.data.ingest import _ISO, TEXT, _coerce, _iso_times_fast, _parse_times, _to_float

BERLIN = "Europe/Berlin"
ODD = "not a time"  # one cell Arrow cannot read sends the whole column down the general path


def _text(values: list[str | None]) -> pd.Series:
    return pd.Series(pd.array(values, dtype=TEXT))


def _general(values: list[str | None], timezone: str | None) -> pd.Series:
    """The general path's reading of `values`: the same column with one odd cell after it, which is then dropped."""
    with_odd = _text([*values, ODD])
    assert _iso_times_fast(with_odd, timezone) is None
    return _parse_times(with_odd, [_ISO], timezone).iloc[:-1]


def test_local_times_on_the_dst_changes_read_as_the_general_path_reads_them() -> None:
    # Worked by hand for Europe/Berlin in 2026: clocks go 02:00 -> 03:00 on 29 March (02:30 does not exist: moved
    # on by the gap to 03:00 CEST = 01:00 UTC) and 03:00 -> 02:00 on 25 October (02:30 happens twice: the first,
    # CEST, is taken = 00:30 UTC); 4 March 10:00 is CET = 09:00 UTC.
    values = ["2026-03-29T02:30:00", "2026-10-25 02:30", "2026-03-04T10:00:00", None]
    fast = _parse_times(_text(values), [_ISO], BERLIN)
    expected = ["2026-03-29 01:00:00+00:00", "2026-10-25 00:30:00+00:00", "2026-03-04 09:00:00+00:00"]
    assert [str(t) for t in fast.iloc[:3]] == expected and pd.isna(fast.iloc[3])
    pd.testing.assert_series_equal(fast, _general(values, BERLIN))


def test_offsets_are_kept_and_an_impossible_date_is_refused_not_rolled_over() -> None:
    # 10:00+01:00 = 09:00 UTC; 23:30-05:00 = 04:30 UTC the next day; 31 February does not exist.
    values = ["2026-03-04T10:00:00+01:00", "2026-03-04T23:30:00-05:00", "2026-02-31T10:00:00+01:00"]
    assert _iso_times_fast(_text(values), BERLIN) is None
    parsed = _parse_times(_text(values), [_ISO], BERLIN)
    assert [str(t) for t in parsed.iloc[:2]] == ["2026-03-04 09:00:00+00:00", "2026-03-05 04:30:00+00:00"]
    assert pd.isna(parsed.iloc[2])


def test_whole_numbers_beyond_float_precision_keep_every_digit_and_beyond_64_bits_are_refused() -> None:
    # 2**53 + 1 = 9007199254740993 is the first whole number a float cannot hold; 1e20 > 2**63 - 1 (9.2e18) does
    # not fit a 64-bit integer; 10000000000000000.5 is a float's whole 1e16 but has a fraction in its digits.
    column = ColumnSpec(name="n", type="integer", description="a count")
    cells = ["9007199254740993", "12", None, "1e20", "10000000000000000.5"]
    out, reasons = _coerce(_text(cells), column, SourceSpec(path="x.csv"))
    assert out.tolist()[:2] == [9007199254740993, 12] and out.iloc[2:].isna().all()
    assert reasons is not None and list(reasons.index) == [3, 4]
    assert reasons[3] == "n: cannot read '1e20' as a whole number"


_moments = st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2040, 12, 31))


@st.composite
def _iso_column(draw: st.DrawFn) -> tuple[list[str | None], bool]:
    """A column of ISO 8601 cells in one of the spellings exports use; every cell with an offset, or none."""
    aware = draw(st.booleans())
    sep = draw(st.sampled_from(["T", " "]))
    shape = draw(st.sampled_from(["%H:%M", "%H:%M:%S", "%H:%M:%S.%f"]))
    offsets = st.sampled_from(["Z", "+01:00", "+0530", "-05:00", "+00:00", "-11"])
    cells: list[str | None] = []
    for moment in draw(st.lists(_moments, min_size=1, max_size=30)):
        if draw(st.integers(0, 9)) == 0:
            cells.append(None)
            continue
        text = moment.strftime(f"%Y-%m-%d{sep}{shape}")
        if shape.endswith("%f"):
            text = text[: len(text) - draw(st.integers(0, 5))]  # 1 to 6 fractional digits
        cells.append(text + draw(offsets) if aware else text)
    return cells, aware


@settings(max_examples=150, deadline=None)
@given(_iso_column(), st.sampled_from([BERLIN, "America/New_York", "UTC", None]))
def test_any_iso_column_reads_the_same_by_arrow_and_by_the_general_path(
    column: tuple[list[str | None], bool], timezone: str | None
) -> None:
    values, _aware = column
    if timezone is None:  # a date column keeps the date as written: the general path drops the offset first
        values = [v[:10] if v else v for v in values]
    fast = _iso_times_fast(_text(values), timezone)
    assert fast is not None
    pd.testing.assert_series_equal(_parse_times(_text(values), [_ISO], timezone), _general(values, timezone))


_numbers = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(lambda x: f"{x:.3f}"),
    st.integers(-(10**12), 10**12).map(str),
    st.integers(0, 999).map(lambda n: f"+{n:05d}"),
    st.floats(min_value=-1e9, max_value=1e9, allow_nan=False).map(lambda x: f"{x:e}"),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(_numbers, st.none()), min_size=1, max_size=30), st.sampled_from(["number", "integer"]))
def test_any_plain_number_column_reads_the_same_by_arrow_and_by_the_general_path(
    values: list[str | None], kind: str
) -> None:
    pd.testing.assert_series_equal(_to_float(_text(values)), _to_float(_text([*values, "1,5"])).iloc[:-1])
    column = ColumnSpec(name="n", type=kind, description="a figure")  # type: ignore[arg-type]
    spec = SourceSpec(path="x.csv")
    fast, fast_reasons = _coerce(_text(values), column, spec)
    general, general_reasons = _coerce(_text([*values, "1,5"]), column, spec)
    pd.testing.assert_series_equal(fast, general.iloc[:-1])
    assert general_reasons is not None and general_reasons.index[-1] == len(values)  # "1,5" is refused either way
    if fast_reasons is None:
        assert len(general_reasons) == 1
    else:  # an integer column refuses the same fractional cells on both paths
        pd.testing.assert_series_equal(fast_reasons, general_reasons.iloc[:-1])


def test_utc_timestamps_from_parquet_become_the_text_arrows_own_cast_gives() -> None:
    # Every unit, a missing value among them: the wall time with a Z added is exactly Arrow's zone-aware text
    # (911,489,861 s after 1970 = 10,549 days and 15:37:41 = 1998-11-19 15:37:41 UTC).
    import pyarrow as pa
    import pyarrow.compute as pc

    from tasks.data.ingest import _arrow_to_text

    for unit, scale in (("s", 1), ("ms", 10**3), ("us", 10**6), ("ns", 10**9)):
        values = pa.chunked_array([pa.array([911_489_861 * scale, None, -1 * scale], type=pa.timestamp(unit, "UTC"))])
        text = _arrow_to_text(values)
        assert text.tolist()[1] is pd.NA or pd.isna(text.iloc[1])
        expected = pc.cast(values, pa.string()).to_pylist()
        assert [None if pd.isna(v) else v for v in text.tolist()] == expected
        assert expected[0].startswith("1998-11-19 15:37:41") and expected[0].endswith("Z")
