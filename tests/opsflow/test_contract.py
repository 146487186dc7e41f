"""The data contract is complete (every column described) and ordered so references resolve."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from opsflow.contract import DATASETS, ColumnSpec, contract, load_contracts


def test_every_dataset_and_column_is_described() -> None:
    contracts = load_contracts()
    assert list(contracts) == list(DATASETS)
    for name, c in contracts.items():
        assert c.description.strip(), name
        for col in c.columns.values():
            assert col.description.strip(), f"{name}.{col.name} has no description"
        for key in c.primary_key:
            assert key in c.columns, f"{name}: primary key {key} is not a column"


def test_references_point_to_earlier_datasets_or_self() -> None:
    contracts = load_contracts()
    seen: set[str] = set()
    for name in DATASETS:
        for col in contracts[name].columns.values():
            if col.reference is None:
                continue
            target, column = col.reference
            assert target == name or target in seen, f"{name}.{col.name} references {target}, validated later"
            assert column in contracts[target].columns
        seen.add(name)


def test_column_pair_checks_name_existing_columns() -> None:
    for name, c in load_contracts().items():
        for col in c.columns.values():
            for other in (col.not_before, col.not_below, col.not_above):
                assert other is None or other in c.columns, f"{name}.{col.name} compares with unknown {other}"


def test_committed_contract_document_is_current() -> None:
    from opsflow.contract_doc import DOC, render_contract

    assert DOC.read_text(encoding="utf-8") == render_contract(), "run: python -m opsflow.contract_doc"


def test_categorical_is_for_text_columns_only() -> None:
    assert all(contract("process_events").columns[c].categorical for c in ("case_id", "process", "activity"))
    ColumnSpec(type="string", description="A process.", categorical=True)
    with pytest.raises(ValidationError, match="categorical applies to string columns"):
        ColumnSpec(type="number", description="A cost.", categorical=True)
