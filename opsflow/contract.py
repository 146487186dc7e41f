"""The operations data contract: every dataset's columns, types, meaning and checks, read from contracts/*.yml."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, Field, model_validator

ColumnType = Literal["string", "integer", "number", "boolean", "datetime", "date", "list"]

DATASETS: tuple[str, ...] = (
    "vendors",
    "services",
    "service_metrics",
    "capacity",
    "incidents",
    "changes",
    "sla_events",
    "vendor_deliveries",
    "process_events",
    "projects",
    "project_tasks",
    "risks",
    "kpis",
    "kpi_observations",
)
"""Every dataset, in dependency order: a dataset only references datasets listed before it (or itself)."""


class ColumnSpec(BaseModel):
    """One column of a dataset: its canonical name, type, meaning and the checks that apply to it."""

    name: str = ""
    type: ColumnType
    description: str
    unit: str | None = None
    required: bool = Field(False, description="Null values are not allowed.")
    unique: bool = False
    allowed: list[str] | None = None
    min: float | None = None
    max: float | None = None
    exclusive_min: bool = False
    not_before: str | None = Field(None, description="Another column this one must not be earlier than.")
    not_below: str | None = Field(None, description="Another numeric column this one must be >= to.")
    not_above: str | None = Field(None, description="Another numeric column this one must be <= to.")
    references: str | None = Field(None, description="`dataset.column` this value (or each list item) must exist in.")
    default: str | None = Field(None, description="Value used when the source has no such column at all.")
    categorical: bool = Field(
        False,
        description="A string column whose few values repeat over many rows (a process, an activity): loaded as a "
        "pandas category, a few bytes a row instead of the text.",
    )

    @model_validator(mode="after")
    def _categorical_is_text(self) -> ColumnSpec:
        if self.categorical and self.type != "string":
            raise ValueError(f"categorical applies to string columns, not {self.type}")
        return self

    @property
    def reference(self) -> tuple[str, str] | None:
        if not self.references:
            return None
        dataset, column = self.references.split(".", 1)
        return dataset, column


class RowCheck(BaseModel):
    """A rule across several columns of one row, implemented by name in the validator."""

    name: str
    description: str


class DatasetContract(BaseModel):
    """A dataset: what a row is, its key and its columns."""

    name: str
    description: str
    primary_key: list[str] = Field(default_factory=list)
    columns: dict[str, ColumnSpec]
    row_checks: list[RowCheck] = Field(default_factory=list)

    def model_post_init(self, __context: object) -> None:
        for name, spec in self.columns.items():
            spec.name = name

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns.values() if c.required]

    def columns_of_type(self, *types: ColumnType) -> list[str]:
        return [c.name for c in self.columns.values() if c.type in types]


@cache
def load_contracts() -> dict[str, DatasetContract]:
    """Every dataset contract, keyed by dataset name, in dependency order."""
    folder = resources.files("opsflow") / "contracts"
    contracts: dict[str, DatasetContract] = {}
    for name in DATASETS:
        raw = yaml.safe_load((folder / f"{name}.yml").read_text(encoding="utf-8"))
        contracts[name] = DatasetContract.model_validate(raw)
    return contracts


def contract(name: str) -> DatasetContract:
    """The contract of one dataset."""
    return load_contracts()[name]
