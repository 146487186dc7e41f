"""Writes docs/data-contract.md from opsflow/contracts/*.yml, so the documented contract is the enforced one."""

from __future__ import annotations

import sys
from pathlib import Path

from opsflow.contract import DATASETS, ColumnSpec, load_contracts

DOC = Path(__file__).resolve().parents[1] / "docs" / "data-contract.md"

INTRO = """# The operations data contract

Generated from `opsflow/contracts/*.yml` by `python -m opsflow.contract_doc`; do not edit by hand (a test fails
when this file and the contract disagree). Every dataset below is optional: a workspace maps the ones it has in
`opsflow.yaml`, and a section whose data is not configured says so instead of guessing.

Types after loading: `datetime` is a UTC timestamp (naive source timestamps are read in the source's `timezone`),
`date` a calendar day, `integer` a whole number, `number` a decimal, `boolean` true/false (`yes`/`no`, `1`/`0`...),
`list` ids separated by `;` (`,` and `|` are accepted in sources). Rules are checked by a Great Expectations suite
built from this contract; a row that breaks one is quarantined with the reason, never silently dropped.
"""


def _rules(col: ColumnSpec) -> str:
    rules = []
    if col.required:
        rules.append("required")
    if col.unique:
        rules.append("unique")
    if col.allowed:
        rules.append("one of " + ", ".join(f"`{v}`" for v in col.allowed))
    if col.min is not None or col.max is not None:
        low = "" if col.min is None else f"{'>' if col.exclusive_min else '>='} {col.min:g}"
        high = "" if col.max is None else f"<= {col.max:g}"
        rules.append(" and ".join(p for p in (low, high) if p))
    for label, other in (("not before", col.not_before), ("not below", col.not_below), ("not above", col.not_above)):
        if other:
            rules.append(f"{label} `{other}`")
    if col.references:
        rules.append(f"must exist in `{col.references}`")
    if col.categorical:
        rules.append("held as a category (few values, many rows)")
    if col.default:
        rules.append(f"default `{col.default}` when the source has no such column")
    return "; ".join(rules)


def render_contract() -> str:
    """The whole contract as Markdown."""
    out = [INTRO]
    contracts = load_contracts()
    out.append("Datasets: " + ", ".join(f"[`{n}`](#{n})" for n in DATASETS) + ".\n")
    for name in DATASETS:
        c = contracts[name]
        out.append(f"## {name}\n")
        out.append(" ".join(c.description.split()) + "\n")
        key = ", ".join(f"`{k}`" for k in c.primary_key) if c.primary_key else "none (rows are events)"
        out.append(f"Key: {key}.\n")
        out.append("| column | type | unit | meaning | rules |")
        out.append("| --- | --- | --- | --- | --- |")
        for col in c.columns.values():
            meaning = " ".join(col.description.split()).replace("|", "\\|")
            out.append(f"| `{col.name}` | {col.type} | {col.unit or ''} | {meaning} | {_rules(col)} |")
        for check in c.row_checks:
            out.append(f"\nRow check `{check.name}`: {check.description}")
        out.append("")
    return "\n".join(out)


def main() -> None:
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(render_contract(), encoding="utf-8")
    print(f"wrote {DOC}", file=sys.stderr)


if __name__ == "__main__":
    main()
