"""Every flow module imports and exposes a kebab-case Prefect flow; the run registry and .env.example are complete."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest
from prefect import Flow

import flows
from opsflow.runtime import FLOWS, load_flow
from opsflow.settings import Settings

KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
FLOW_MODULES = sorted(m.name for m in pkgutil.iter_modules(flows.__path__) if not m.name.startswith("_"))
ROOT = Path(__file__).resolve().parent.parent


def test_there_are_flow_modules() -> None:
    assert "data_check" in FLOW_MODULES


@pytest.mark.parametrize("module_name", FLOW_MODULES)
def test_flow_module_exposes_a_kebab_case_flow(module_name: str) -> None:
    module = importlib.import_module(f"flows.{module_name}")
    found = [obj for obj in vars(module).values() if isinstance(obj, Flow) and obj.fn.__module__ == module.__name__]
    assert found, f"flows/{module_name}.py defines no Prefect flow"
    for flow in found:
        assert KEBAB.match(flow.name), f"flow name {flow.name!r} in flows/{module_name}.py is not kebab-case"
        assert flow.description, f"flow {flow.name!r} has no docstring"


@pytest.mark.parametrize("name", sorted(FLOWS))
def test_registered_flow_loads_under_its_own_name(name: str) -> None:
    flow = load_flow(name)
    assert flow.name == name
    # `opsflow run` passes one `params` model with a workspace and an as-of date.
    schema = flow.parameters.model_dump()
    assert list(schema["properties"]) == ["params"]
    params_ref = schema["properties"]["params"]["$ref"].rsplit("/", 1)[1]
    fields = set(schema["definitions"][params_ref]["properties"])
    # `opsflow run --as-of` fills the flow's period date: `as_of`, or `period_end` for a review over a period.
    assert "workspace" in fields and fields & {"as_of", "period_end"}, fields


def test_env_example_lists_every_setting() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        variables = [alias] if isinstance(alias, str) else list(getattr(alias, "choices", []) or [name.upper()])
        assert any(f"{v}=" in text for v in variables), f"{variables} is missing from .env.example"
