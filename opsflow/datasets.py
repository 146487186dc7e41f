"""Shared shapes of data as it moves from a source, through validation, into metrics."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

ROW = "_row"
"""Column carried through loading and validation: the row's line number in the source (header is line 1)."""

REASON = "_reason"
"""Column of a quarantine frame: why the row was set aside (`column: what is wrong`)."""


class DataSourceError(Exception):
    """A dataset cannot be read at all. The message is one line naming the file, the column and the row."""


@dataclass
class LoadedDataset:
    """A dataset read from its source and mapped onto the contract, before validation.

    `frame` holds contract columns with contract types plus ROW. Rows whose values could not be converted to the
    contract type (an unparsable date, text in a number column) are already in `rejected`, with the source values
    as text and a REASON per row.
    """

    name: str
    source: str
    frame: pd.DataFrame
    rejected: pd.DataFrame
    rows_in: int
    rows_read: int | None = None
    """Rows read from the source when `collapse` merged them into fewer records (rows_in counts the records)."""
    source_rows: pd.DataFrame | None = None
    """An audit-log export's table as read (`collapse` sources only): a point-in-time replay maps it again instead
    of reading the file a second time."""


@dataclass
class ExpectationOutcome:
    """The result of one Great Expectations expectation on one dataset."""

    expectation: str
    column: str | None
    success: bool
    unexpected_count: int
    description: str


@dataclass
class DatasetQuality:
    """What validation found in one dataset: rows in = rows used + rows quarantined."""

    name: str
    source: str
    rows_in: int
    rows_used: int
    rows_quarantined: int
    threshold: float
    reasons: dict[str, int] = field(default_factory=dict)
    expectations: list[ExpectationOutcome] = field(default_factory=list)
    quarantine_path: str | None = None
    rows_read: int | None = None  # source rows before an audit log's collapse (rows_in counts the tickets)

    @property
    def quarantined_share(self) -> float:
        return self.rows_quarantined / self.rows_in if self.rows_in else 0.0

    @property
    def usable(self) -> bool:
        return self.quarantined_share <= self.threshold


@dataclass
class ValidatedDataset:
    """The rows that passed validation (contract columns and ROW), the quarantined rows, and the account."""

    name: str
    frame: pd.DataFrame
    quarantine: pd.DataFrame
    quality: DatasetQuality
    source_rows: pd.DataFrame | None = None  # LoadedDataset.source_rows, carried to the point-in-time replay


@dataclass
class OpsData:
    """Every validated dataset of a workspace, by name; a dataset the workspace does not configure is absent."""

    datasets: dict[str, ValidatedDataset] = field(default_factory=dict)
    end_activities: dict[str, list[str]] = field(default_factory=dict)
    """Per process, the activities that complete a case (opsflow.yaml `processes`); a process not listed completes
    at the activity most of its cases end with. Carried with the data so every flow judges completion alike."""
    slo_overrides: int = 0
    """SLA events whose objective the workspace's OpenSLO files (slos/) changed from the export's."""

    def frame(self, name: str) -> pd.DataFrame | None:
        ds = self.datasets.get(name)
        return ds.frame if ds is not None else None

    @property
    def usable(self) -> bool:
        return all(ds.quality.usable for ds in self.datasets.values())
