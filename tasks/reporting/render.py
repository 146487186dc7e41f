"""The Jinja2 environments every report renders through: HTML autoescaped, Markdown with its specials escaped."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from opsflow import units
from opsflow.tasking import compute_task

_MD_SPECIALS = re.compile(r"([\\`*_\[\]|#~])")


class MdSafe(str):
    """Markdown text that is already escaped (or written by us, not taken from data): rendered as is."""

    __slots__ = ()


def templates_dir() -> Path:
    """Where the report templates are: reports/templates in a checkout, or opsflow/templates in an installed package.

    The one place that knows the lookup; every environment below loads from it.
    """
    checkout = Path(__file__).resolve().parents[2] / "reports" / "templates"
    if checkout.is_dir():
        return checkout
    packaged = Path(str(resources.files("opsflow") / "templates"))
    if packaged.is_dir():
        return packaged
    raise FileNotFoundError(f"report templates not found in {checkout} nor in {packaged}")


def md_escape(value: Any) -> MdSafe:
    """Text taken from data, made inert in Markdown: no tables broken, no emphasis, links, code or raw HTML.

    Backslash-escapes `\\ ` * _ [ ] | # ~`, a `<` that could open an HTML tag, an `&` that could start an entity and
    a leading `>`, and turns line breaks into spaces, so one value stays on one line (a table cell). No HTML entities:
    "Identity & SSO" and ">= 15" read as written in the raw file too.
    """
    if isinstance(value, MdSafe):
        return value
    if value is None:
        return MdSafe("")
    text = re.sub(r"[\r\n]+", " ", str(value))
    text = _MD_SPECIALS.sub(r"\\\1", text)
    text = re.sub(r"&(?=#?[A-Za-z0-9]+;)", r"\\&", text)
    text = re.sub(r"<(?=[A-Za-z/!?])", r"\\<", text)
    return MdSafe(re.sub(r"^>", r"\\>", text))


def _md_finalize(value: Any) -> Any:
    # Every {{ expression }} of a Markdown template passes here: escaped unless it is MdSafe already.
    return md_escape(value)


def pct(value: float | None, digits: int = 1) -> str:
    """A share as a percentage: 0.0123 -> 1.2%; a share too small to show is "<0.1%", never "0.0%"."""
    if value is None:
        return ""
    if digits == 1:
        return units.figure(value, "ratio")
    return f"{value * 100:.{digits}f}%"


def num(value: float | int | None) -> str:
    """A count with thousands separators: 1234567 -> 1,234,567."""
    if value is None:
        return ""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def _common(env: Environment) -> Environment:
    env.filters["pct"] = pct
    env.filters["num"] = num
    return env


@cache
def html_env() -> Environment:
    """HTML templates: every value is HTML-escaped unless a template marks it safe."""
    return _common(
        Environment(
            loader=FileSystemLoader(templates_dir()),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
    )


@cache
def markdown_env() -> Environment:
    """Markdown templates: no HTML autoescape, but every value is Markdown-escaped (the `md` filter, applied to all)."""
    env = Environment(
        loader=FileSystemLoader(templates_dir()),
        autoescape=False,
        undefined=StrictUndefined,
        finalize=_md_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = md_escape
    env.filters["raw"] = MdSafe
    env.filters["pct"] = lambda v, digits=1: MdSafe(pct(v, digits))
    env.filters["num"] = lambda v: MdSafe(num(v))
    return env


def render(template: str, **context: Any) -> str:
    """Render one template: `*.md.j2` through the Markdown environment, anything else through the HTML one."""
    env = markdown_env() if template.endswith((".md.j2", ".md")) else html_env()
    return env.get_template(template).render(**context)


render_task = compute_task(render, name="render_template")
