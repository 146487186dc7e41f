"""Report charts drawn with matplotlib as PNG bytes, so they can be inlined in HTML and uploaded to Slack."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from datetime import date

import matplotlib

matplotlib.use("Agg")  # headless: no display on servers or in CI
# Chart text comes from data (vendor, service and task names): drawn as written, never read as mathtext ("$...$")
# or LaTeX. rcParams apply to every figure of the process, so charts drawn elsewhere with matplotlib are covered too.
matplotlib.rcParams["text.parse_math"] = False
matplotlib.rcParams["text.usetex"] = False

import matplotlib.dates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"]


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes (and closed, so long runs do not accumulate figures)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def data_uri(png: bytes) -> str:
    """The PNG as a data: URI, for a self-contained HTML report."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


LEGEND_INSIDE = 4
"""Series a line chart's legend may hold inside the plot."""


def line_chart(
    title: str,
    series: Mapping[str, Sequence[tuple[date, float | None]]],
    y_label: str,
    percent: bool = False,
    reference: float | None = None,
    reference_label: str = "target",
    styles: Mapping[str, str] | None = None,
    pair_colours: bool = False,
) -> bytes:
    """One line per series over time; an optional horizontal reference line (a target or objective). `styles` sets a
    series' line style; with `pair_colours`, series whose names share a first word share a colour (planned/actual)."""
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    colour_of: dict[str, str] = {}
    for name, points in series.items():
        # matplotlib plots dates natively; its stubs only admit arrays, hence the conversion.
        xs = matplotlib.dates.date2num([x for x, y in points if y is not None])
        ys = [y * 100 if percent else y for _, y in points if y is not None]
        group = name.split(" ")[0] if pair_colours else name
        colour = colour_of.setdefault(group, PALETTE[len(colour_of) % len(PALETTE)])
        style = (styles or {}).get(name, "-")
        ax.plot(
            xs, ys, style, marker="o", markersize=3 if style != "--" else 0, linewidth=1.6, label=name, color=colour
        )
    if reference is not None:
        ax.axhline(reference * 100 if percent else reference, color="#6b7280", linestyle="--", linewidth=1)
        ax.annotate(
            reference_label,
            xy=(1, reference * 100 if percent else reference),
            xycoords=("axes fraction", "data"),
            ha="right",
            va="bottom",
            fontsize=8,
            color="#6b7280",
        )
    ax.set_title(title, fontsize=11, loc="left")
    ax.set_ylabel(y_label + (" (%)" if percent else ""))
    ax.grid(alpha=0.3)
    if len(series) > LEGEND_INSIDE:
        # Beside the plot: inside, a legend of many lines covers the lines it names.
        ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    elif series:
        ax.legend(fontsize=8, loc="best", frameon=False)
    ax.xaxis.set_major_formatter(matplotlib.dates.DateFormatter("%d %b"))
    fig.autofmt_xdate()
    return png_bytes(fig)


def grouped_bar_chart(
    title: str,
    categories: Sequence[str],
    groups: Mapping[str, Sequence[float | None]],
    y_label: str,
    percent: bool = False,
    references: Sequence[float | None] | None = None,
) -> bytes:
    """Bars per category, one bar per group; optional per-category reference marks (e.g. a contract target)."""
    fig, ax = plt.subplots(figsize=(7.5, max(3.0, 0.25 * len(categories) + 2)))
    n = max(len(groups), 1)
    width = 0.8 / n
    positions = range(len(categories))
    for i, (name, values) in enumerate(groups.items()):
        ys = [0.0 if v is None else (v * 100 if percent else v) for v in values]
        ax.bar(
            [p + i * width - 0.4 + width / 2 for p in positions],
            ys,
            width=width,
            label=name,
            color=PALETTE[i % len(PALETTE)],
        )
    if references is not None:
        for p, ref in zip(positions, references, strict=True):
            if ref is not None:
                value = ref * 100 if percent else ref
                ax.hlines(value, p - 0.45, p + 0.45, colors="#111827", linestyles="--", linewidth=1)
    ax.set_xticks(list(positions))
    ax.set_xticklabels(categories, rotation=45, ha="right", fontsize=8)
    ax.set_title(title, fontsize=11, loc="left")
    ax.set_ylabel(y_label + (" (%)" if percent else ""))
    ax.grid(axis="y", alpha=0.3)
    if len(groups) > 1:
        ax.legend(fontsize=8, frameon=False)
    return png_bytes(fig)


def target_bar_chart(
    title: str,
    rows: Sequence[tuple[str, float, float]],
    x_label: str,
    percent: bool = False,
) -> bytes:
    """Horizontal bars, one per (label, value, target) row in the order given (top row first), each with its target
    as a tick and the value written at the bar's end; bars below target in red. Legible at any number of rows the
    caller chooses: the height grows with them."""
    fig, ax = plt.subplots(figsize=(7.5, 0.32 * max(len(rows), 1) + 1.2))
    scale = 100 if percent else 1
    ys = list(range(len(rows)))[::-1]
    values = [v * scale for _, v, _ in rows]
    targets = [t * scale for _, _, t in rows]
    colours = [PALETTE[1] if v < t else PALETTE[2] for v, t in zip(values, targets, strict=True)]
    ax.barh(ys, values, color=colours, height=0.6)
    for y, v, t in zip(ys, values, targets, strict=True):
        ax.vlines(t, y - 0.4, y + 0.4, colors="#111827", linewidth=1.4)
        ax.text(v, y, f" {v:.1f}{'%' if percent else ''}", va="center", fontsize=8)
    ax.set_yticks(ys)
    ax.set_yticklabels([label for label, _, _ in rows], fontsize=8)
    low = min([*values, *targets], default=0)
    ax.set_xlim(max(0.0, low - (100 - low) * 0.6 - 1) if percent else 0, 100.5 if percent else None)
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_xlabel(x_label + (" (%)" if percent else "") + "; black tick: contract target")
    ax.grid(axis="x", alpha=0.3)
    return png_bytes(fig)


def heatmap_5x5(title: str, counts: Sequence[Sequence[int]]) -> bytes:
    """The 5x5 risk matrix: rows likelihood 1..5 (bottom to top), columns impact 1..5, cell = number of risks."""
    fig, ax = plt.subplots(figsize=(4.6, 4.0))
    # Cell colour follows the risk score band (likelihood x impact), as on a printed risk matrix.
    score_colours = [[_score_colour((li + 1) * (im + 1)) for im in range(5)] for li in range(5)]
    for li in range(5):
        for im in range(5):
            ax.add_patch(plt.Rectangle((im, li), 1, 1, facecolor=score_colours[li][im], edgecolor="white"))
            n = counts[li][im] if li < len(counts) and im < len(counts[li]) else 0
            ax.text(im + 0.5, li + 0.5, str(n) if n else "", ha="center", va="center", fontsize=11, weight="bold")
    ax.set_xlim(0, 5)
    ax.set_ylim(0, 5)
    ax.set_xticks([i + 0.5 for i in range(5)])
    ax.set_xticklabels([str(i) for i in range(1, 6)])
    ax.set_yticks([i + 0.5 for i in range(5)])
    ax.set_yticklabels([str(i) for i in range(1, 6)])
    ax.set_xlabel("impact")
    ax.set_ylabel("likelihood")
    ax.set_title(title, fontsize=11, loc="left")
    return png_bytes(fig)


def _score_colour(score: int) -> str:
    if score >= 15:
        return "#fca5a5"
    if score >= 8:
        return "#fde68a"
    if score >= 4:
        return "#fef9c3"
    return "#bbf7d0"
