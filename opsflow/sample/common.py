"""The sample company's people and calendar, and the helpers every dataset is built with (draws, Arrow columns)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

COMPANY = "Northwind Supply"
TIMEZONE = "Europe/Berlin"
DAYS = 365
"""Days of data: `end` and the 364 days before it."""

MINUTE = 60
HOUR = 3_600
DAY = 86_400
_PAD_DAYS = 60  # calendar kept after `end` for parcels, returns and tickets that complete after the data stops


# ------------------------------------------------------------------------------------------------ the company


TEAMS: dict[str, tuple[str, ...]] = {
    "Platform Team": ("Jonas Weber", "Elif Yilmaz", "Noah Schulz", "Priya Nair"),
    "Payments Team": ("Lea Hoffmann", "Omar Haddad", "Kasia Nowak"),
    "Commerce Engineering": ("Felix Schmidt", "Sofia Rossi", "Ben Richter", "Mateo García"),
    "Fulfilment Engineering": ("Mia Wagner", "Tom Keller", "Clara Neumann"),
    "Warehouse Operations": ("Lukas Fischer", "Hannah Braun", "Paul Zimmermann", "Jan Krause"),
    "Business Systems": ("Emma Krüger", "David Schmitt", "Laura Werner"),
    "Customer Service": ("Marie Lange", "Sara Meier", "Nina Köhler"),
    "IT Operations": ("Tim Lehmann", "Max Walter", "Ingrid Larsen"),
}
LEADERS = ("Anna Becker", "Julia Peters", "Luca Hartmann", "Stefan Vogel", "Aylin Demir")
PEOPLE: tuple[str, ...] = tuple(p for team in TEAMS.values() for p in team) + LEADERS


# ------------------------------------------------------------------------------------------------- the calendar


@dataclass(frozen=True)
class Calendar:
    """Local days of the year being generated; day 0 is the first day, day DAYS - 1 is `end`."""

    end: date
    first: date
    midnight: np.ndarray  # epoch seconds of each local midnight, DAYS + _PAD_DAYS + 1 of them

    @property
    def start_s(self) -> int:
        return int(self.midnight[0])

    @property
    def end_s(self) -> int:
        """First instant after the data (local midnight after `end`)."""
        return int(self.midnight[DAYS])

    @property
    def first_epoch_day(self) -> int:
        return (self.first - date(1970, 1, 1)).days

    def day_of(self, seconds: np.ndarray) -> np.ndarray:
        """Local day index of each instant (clipped to the calendar)."""
        day = np.searchsorted(self.midnight, seconds, side="right") - 1
        return np.clip(day, 0, len(self.midnight) - 2)

    def at(self, days_before_end: int, local_hour: float) -> int:
        """An instant `days_before_end` days before `end`, at a local time of day."""
        return int(self.midnight[DAYS - 1 - days_before_end] + round(local_hour * HOUR))

    def weekday(self) -> np.ndarray:
        """Monday 0 .. Sunday 6 of each data day."""
        return (self.first.weekday() + np.arange(DAYS)) % 7


def make_calendar(end: date) -> Calendar:
    """The calendar of the year ending on `end`, in the company's time zone."""
    first = end - timedelta(days=DAYS - 1)
    local = pd.date_range(pd.Timestamp(first), periods=DAYS + _PAD_DAYS + 1, freq="D").tz_localize(TIMEZONE)
    midnight = local.tz_convert("UTC").as_unit("s").asi8.astype(np.int64)
    return Calendar(end, first, midnight)


def utc_offsets(seconds: np.ndarray) -> np.ndarray:
    """Seconds to add to each UTC instant to get the company's local wall time."""
    utc = pd.DatetimeIndex(seconds.astype("datetime64[s]")).tz_localize("UTC")
    return utc.tz_convert(TIMEZONE).tz_localize(None).as_unit("s").asi8 - seconds


def clock_text(seconds: np.ndarray, valid: np.ndarray | None = None, *, offset: bool = True) -> pa.Array:
    """Instants as local wall-time text: ISO 8601 with the offset, or naive `%Y-%m-%d %H:%M:%S`.

    Built as bytes with numpy (strftime costs seconds on a million rows), in chunks that stay in the CPU cache.
    """
    n = len(seconds)
    valid = np.ones(n, dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
    width = 25 if offset else 19
    chunks = [
        _clock_bytes(np.where(valid[i : i + _CHUNK], seconds[i : i + _CHUNK], 0).astype(np.int64), offset)
        for i in range(0, n, _CHUNK)
    ]
    offsets = np.arange(n + 1, dtype=np.int64) * width
    bitmap = np.packbits(valid, bitorder="little")
    return pa.LargeStringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(b"".join(chunks)), pa.py_buffer(bitmap), int(n - valid.sum())
    )


_CHUNK = 1 << 18


def _clock_bytes(sec: np.ndarray, offset: bool) -> bytes:
    off = utc_offsets(sec)
    day, tod = np.divmod(sec + off, DAY)
    first_day = int(day.min())
    span = np.arange(first_day, int(day.max()) + 1)
    stamps = np.datetime_as_string(span.astype("datetime64[D]")).astype("S10")
    dates = np.frombuffer(stamps.tobytes(), dtype=np.uint8).reshape(-1, 10)
    chars = np.empty((len(sec), 25 if offset else 19), dtype=np.uint8)
    chars[:, :10] = dates[day - first_day]
    chars[:, 10] = ord("T") if offset else ord(" ")
    digits = [(11, tod // HOUR), (14, tod // MINUTE % 60), (17, tod % 60)]
    chars[:, 13] = chars[:, 16] = ord(":")
    if offset:
        chars[:, 19] = np.where(off < 0, ord("-"), ord("+"))
        digits += [(20, np.abs(off) // HOUR), (23, np.abs(off) // MINUTE % 60)]
        chars[:, 22] = ord(":")
    for col, value in digits:
        chars[:, col] = 48 + value // 10
        chars[:, col + 1] = 48 + value % 10
    return chars.tobytes()


def timestamp_column(seconds: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Epoch seconds as a UTC timestamp column (empty where not `valid`)."""
    mask = None if valid is None else ~valid
    return pa.array(np.asarray(seconds, dtype=np.int64), type=pa.timestamp("s", tz="UTC"), mask=mask)


def date_column(epoch_days: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Days since 1970-01-01 as a date column (empty where not `valid`)."""
    mask = None if valid is None else ~valid
    return pa.array(np.asarray(epoch_days, dtype=np.int32), type=pa.date32(), mask=mask)


def epoch_day(d: date) -> int:
    """Days since 1970-01-01."""
    return (d - date(1970, 1, 1)).days


def lognormal(rng: np.random.Generator, median: float, sigma: float, n: int) -> np.ndarray:
    """n log-normal draws with median `median` and log-sigma `sigma` (zeros when the median is not positive)."""
    if median <= 0:
        return np.zeros(n)
    return median * np.exp(sigma * rng.standard_normal(n))


def draw(rng: np.random.Generator, probabilities: np.ndarray, n: int) -> np.ndarray:
    """n draws from a categorical distribution (indices)."""
    cum = np.cumsum(probabilities / probabilities.sum())
    return np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(cum) - 1)


class Vocabulary:
    """Strings interned as small integer codes, so million-row text columns are built by `take`."""

    def __init__(self) -> None:
        self.words: list[str] = []
        self._codes: dict[str, int] = {}

    def code(self, word: str) -> int:
        if word not in self._codes:
            self._codes[word] = len(self.words)
            self.words.append(word)
        return self._codes[word]

    def codes(self, words: Sequence[str]) -> np.ndarray:
        return np.array([self.code(w) for w in words], dtype=np.int32)

    def column(self, codes: np.ndarray) -> pa.Array:
        return pa.array(self.words, type=pa.string()).take(pa.array(codes, type=pa.int32()))


def id_column(prefix: str, numbers: np.ndarray) -> pa.Array:
    """Record ids such as SO-2400001 (numpy's string functions loop in Python; Arrow's do not)."""
    text = pa.array(np.asarray(numbers, dtype=np.int64)).cast(pa.string())
    return pc.binary_join_element_wise(pa.scalar(prefix), text, "")
