"""A flow's run form on the command line: `--param name=value` read into the same pydantic model the Prefect UI
renders, and the model's fields listed as `opsflow run FLOW --help` shows them."""

from __future__ import annotations

import json
import types
import typing
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Any, Literal, Union

from pydantic import BaseModel, ValidationError

DATE_FIELDS = ("as_of", "period_end")
"""The names a flow gives the last day of its period; `--as-of` fills whichever the flow's form has."""


class ParameterError(ValueError):
    """A `--param` the flow's form does not take, or a value it refuses; the message is one line."""


def params_model(fn: Any) -> type[BaseModel]:
    """The pydantic model of a flow function's `params` argument (the form the Prefect UI renders)."""
    model = typing.get_type_hints(fn).get("params")
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"{fn.__name__}: its `params` argument is not a pydantic model")
    return model


def parse_pairs(pairs: list[str]) -> dict[str, Any]:
    """`name=value` pairs as a dict. A value starting with `[` or `{` is read as JSON (a list of vendor ids, an
    initiative); any other is passed as text, which the model converts (numbers, true/false, YYYY-MM-DD)."""
    values: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not name:
            raise ParameterError(f"--param {pair!r}: expected NAME=VALUE (e.g. --param iterations=5000)")
        if name in values:
            raise ParameterError(f"--param {name}: given twice")
        value: Any = raw
        if raw.strip()[:1] in ("[", "{"):
            try:
                value = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ParameterError(f"--param {name}: the value is not valid JSON ({exc.msg} at {exc.pos})") from None
        values[name] = value
    return values


def build_params(
    flow: str, model: type[BaseModel], workspace: Path, as_of: date | None, pairs: list[str]
) -> BaseModel:
    """The flow's form filled from the command line: the workspace, `--as-of` and every `--param`; one line
    (ParameterError) naming the parameter and what it takes when something does not fit."""
    fields = model.model_fields
    values = parse_pairs(pairs)
    if "workspace" in values:
        raise ParameterError("--param workspace: use --workspace")
    unknown = [name for name in values if name not in fields]
    if unknown:
        raise ParameterError(
            f"--param {unknown[0]}: {flow} has no parameter {unknown[0]!r} (its parameters: "
            f"{', '.join(n for n in fields if n != 'workspace')}; see opsflow run {flow} --help)"
        )
    data: dict[str, Any] = {"workspace": workspace, **values}
    if as_of is not None:
        name = next((f for f in DATE_FIELDS if f in fields), None)
        if name is None:
            raise ParameterError(f"--as-of: {flow} has no period day to set")
        if name in values:
            raise ParameterError(f"--as-of and --param {name} both set {name}: give one")
        data[name] = as_of
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ParameterError(_first_error(flow, model, exc, values)) from None


def _first_error(flow: str, model: type[BaseModel], exc: ValidationError, values: dict[str, Any]) -> str:
    error = exc.errors()[0]
    name = str(error["loc"][0]) if error["loc"] else "?"
    field = model.model_fields.get(name)
    if error["type"] == "missing":
        about = f" ({field.description})" if field is not None and field.description else ""
        return f"{flow} needs --param {name}=VALUE{about}"
    given = values.get(name)
    shown = f"={given!r}" if isinstance(given, str) else ""
    takes = f"; it takes {describe_type(field.annotation)}" if field is not None else ""
    return f"--param {name}{shown}: {error['msg']}{takes} (see opsflow run {flow} --help)"


def describe_type(annotation: Any) -> str:
    """A field's type in words: `a whole number`, `a day (YYYY-MM-DD)`, `one of: day, week, month`."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        kinds = [a for a in typing.get_args(annotation) if a is not type(None)]
        text = " or ".join(describe_type(a) for a in kinds)
        return f"{text}, or empty" if len(kinds) < len(typing.get_args(annotation)) else text
    if origin is Literal:
        return "one of: " + ", ".join(str(a) for a in typing.get_args(annotation))
    if origin is list:
        (item,) = typing.get_args(annotation) or (str,)
        return f"a JSON list of {describe_type(item).removeprefix('a ').removeprefix('an ')}s"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "one of: " + ", ".join(str(m.value) for m in annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"a JSON object ({annotation.__name__})"
    named = {bool: "true or false", int: "a whole number", float: "a number", str: "text", date: "a day (YYYY-MM-DD)"}
    if annotation in named:
        return named[annotation]
    if annotation is Path or (isinstance(annotation, type) and issubclass(annotation, Path)):
        return "a path"
    return getattr(annotation, "__name__", str(annotation))


def describe_params(flow: str, model: type[BaseModel]) -> list[str]:
    """One entry per parameter: name, what it takes, its default (or `required`) and its description."""
    lines = [f"Parameters of {flow} (--param NAME=VALUE, repeatable; --workspace and --as-of as above):"]
    for name, field in model.model_fields.items():
        if name == "workspace":
            continue
        if field.is_required():
            default = "required"
        else:
            value = field.get_default(call_default_factory=True)
            value = value.value if isinstance(value, Enum) else value
            shown = str(value).lower() if isinstance(value, bool) else value
            default = "default: empty" if value is None else f"default: {shown}"
        lines.append(f"  {name}: {describe_type(field.annotation)}; {default}.")
        if field.description:
            lines.append(f"      {field.description}")
    return lines
