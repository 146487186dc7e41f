"""Charts render to real PNG images from small inputs, including empty and partly missing data."""

from __future__ import annotations

from datetime import date

from opsflow.charts import data_uri, grouped_bar_chart, heatmap_5x5, line_chart

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_line_chart_with_gaps_and_reference() -> None:
    png = line_chart(
        "SLA",
        {"shipping": [(date(2026, 11, 1), 0.97), (date(2026, 11, 8), None), (date(2026, 11, 15), 0.91)]},
        "compliance",
        percent=True,
        reference=0.95,
    )
    assert png.startswith(PNG_MAGIC) and len(png) > 2000


def test_bar_and_heatmap_and_data_uri() -> None:
    bars = grouped_bar_chart(
        "Vendors", ["A", "B"], {"on-time": [0.9, None]}, "on-time", percent=True, references=[0.95, None]
    )
    heat = heatmap_5x5("Risks", [[0, 1, 0, 0, 0]] * 4 + [[0, 0, 0, 0, 3]])
    assert bars.startswith(PNG_MAGIC) and heat.startswith(PNG_MAGIC)
    assert data_uri(heat).startswith("data:image/png;base64,iVBOR")


def test_empty_series_still_renders() -> None:
    assert line_chart("nothing", {}, "x").startswith(PNG_MAGIC)


def test_text_from_data_is_drawn_as_written() -> None:
    # A real vendor name with dollar signs and a backslash: matplotlib read it as mathtext and raised
    # ParseFatalException ("Unknown symbol: \Tree") before; now every label is plain text.
    name = r"Dollar $\Tree$ Supply"
    bars = grouped_bar_chart(name, [name, "B"], {name: [0.9, 0.8]}, "on-time $", percent=True)
    line = line_chart(name, {name: [(date(2026, 11, 1), 1.0), (date(2026, 11, 8), 2.0)]}, "$\\alpha$")
    assert bars.startswith(PNG_MAGIC) and line.startswith(PNG_MAGIC)
