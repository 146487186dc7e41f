"""Tests of tasks/reporting/render.py: data-derived text comes out inert in HTML and in Markdown."""

from __future__ import annotations

from jinja2 import DictLoader, Environment

from tasks.reporting.render import MdSafe, html_env, markdown_env, md_escape, pct, render, templates_dir

HOSTILE = ["<script>alert(1)</script>", "| x | **y**", "[click](http://evil) `code` _em_"]


def test_templates_dir_holds_the_report_templates() -> None:
    assert (templates_dir() / "_base.html.j2").is_file()
    assert html_env().get_template("data_quality.html.j2") is not None


def test_md_escape_makes_markdown_and_html_specials_literal() -> None:
    # A '<' that could open a tag is backslash-escaped: inert, and no HTML entity in the raw Markdown.
    assert md_escape("<script>alert(1)</script>") == r"\<script>alert(1)\</script>"
    assert md_escape("Identity & SSO, score >= 15, 1 < 2") == "Identity & SSO, score >= 15, 1 < 2"
    assert md_escape("&amp; is kept as written") == r"\&amp; is kept as written"
    assert md_escape("| x | **y**") == r"\| x \| \*\*y\*\*"
    assert md_escape("[a](b) `c` _d_") == r"\[a\](b) \`c\` \_d\_"
    assert md_escape("line one\nline two") == "line one line two"
    assert md_escape(None) == ""
    # Escaping twice does not double the backslashes.
    assert md_escape(md_escape("a_b")) == r"a\_b"


def test_markdown_env_escapes_every_value_without_a_filter() -> None:
    env = markdown_env().overlay(loader=DictLoader({"t.md.j2": "# {{ title }}\n| {{ cell }} | {{ trusted }} |"}))
    out = env.get_template("t.md.j2").render(title=HOSTILE[0], cell=HOSTILE[1], trusted=MdSafe("**bold**"))
    assert out == "# \\<script>alert(1)\\</script>\n| \\| x \\| \\*\\*y\\*\\* | **bold** |"


def test_html_env_autoescapes() -> None:
    env: Environment = html_env().overlay(loader=DictLoader({"t.html.j2": "<h1>{{ title }}</h1>"}))
    out = env.get_template("t.html.j2").render(title=HOSTILE[0])
    assert out == "<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>"


def test_base_layout_renders_a_hostile_title_inert() -> None:
    html = render("_base.html.j2", title="<script>alert(1)</script>")
    assert "<script>" not in html
    assert "<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>" in html


def test_pct() -> None:
    # 1 of 8 = 0.125 -> 12.5%
    assert pct(1 / 8) == "12.5%"
    assert pct(None) == ""
