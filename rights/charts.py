"""Charts drawn on the server as inline SVG, from plain numbers: no JavaScript, no chart library.

Every chart is an `<svg role="img">` with an `aria-label`, a `<title>` and a `<desc>` summing it up, labelled
axes, and a `<title>` on every bar (a tooltip, and what a screen reader reads per bar). The pages print the
same numbers as a table next to each chart, so nothing depends on seeing the picture.

Values are integers: counts, or money in minor units with a `value_text` formatter (see `format_money`), so
no float ever touches money. Pixel geometry is computed with Decimal and written to a tenth of a pixel.

Pure functions, no Django: the caller marks the returned markup safe (everything inside is escaped here).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from xml.sax.saxutils import escape

from rights import royalties

ValueText = Callable[[int], str]

WIDTH = 640
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
INK, MUTED, GRID = "#1b1f24", "#4f5b66", "#d0d7de"
# Colours that keep at least 3:1 contrast against white (WCAG non-text contrast), in a stable order.
PALETTE = ["#0b57d0", "#116329", "#9a6700", "#a40e26", "#8250df", "#1b1f24", "#0a7482", "#bc4c00"]
NO_DATA = "No data for this chart yet."


def format_money(minor: int, currency: str) -> str:
    """Minor units as money with the currency's decimals and thousands separators: 123456 EUR -> '1,234.56 EUR'."""
    return f"{royalties.from_minor(minor, currency):,} {currency}"


def _attr(value: object) -> str:
    return escape(str(value), {'"': "&quot;"})


def _px(value: Decimal | int) -> str:
    """A coordinate to a tenth of a pixel, without a trailing '.0'."""
    text = f"{Decimal(value).quantize(Decimal('0.1'), rounding=ROUND_HALF_EVEN):f}"
    return text[:-2] if text.endswith(".0") else text


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "chart"


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def nice_ticks(maximum: int, target: int = 4) -> list[int]:
    """Axis ticks from 0 in steps of 1, 2 or 5 times a power of ten, the last one at or above `maximum`."""
    if maximum <= 0:
        return [0, 1]
    raw = math.ceil(maximum / target)
    power = 10 ** (len(str(raw)) - 1)
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    top = math.ceil(maximum / step) * step
    return list(range(0, top + 1, step))


def _open(chart_id: str, title: str, description: str, height: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="{_attr(title)}" '
        f'aria-describedby="{chart_id}-desc" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'font-family="{_attr(FONT)}" font-size="12">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]


def no_data(title: str, chart_id: str | None = None, message: str = NO_DATA) -> str:
    """A chart with nothing to draw: says so (in the picture and to screen readers) instead of failing."""
    chart_id = _slug(chart_id or title)
    parts = _open(chart_id, title, message, 80)
    parts.append(f'<rect x="0.5" y="0.5" width="{WIDTH - 1}" height="79" fill="#f6f8fa" stroke="{GRID}"/>')
    parts.append(f'<text class="no-data" x="{WIDTH // 2}" y="45" text-anchor="middle" fill="{MUTED}">')
    parts.append(f"{escape(message)}</text></svg>")
    return "".join(parts)


def _value_axis_vertical(
    parts: list[str], ticks: list[int], left: int, top: int, plot_w: int, plot_h: int, value_text: ValueText
) -> None:
    """Horizontal grid lines with the value of each tick, left of the plot."""
    for tick in ticks:
        y = top + plot_h - Decimal(plot_h) * tick / ticks[-1]
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{_px(y)}" y2="{_px(y)}" stroke="{GRID}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{_px(y + 4)}" text-anchor="end" fill="{MUTED}">{escape(value_text(tick))}</text>'
        )


def _axis_titles(parts: list[str], x_title: str, y_title: str, height: int, left: int, plot_w: int, top: int) -> None:
    parts.append(
        f'<text class="axis-label" x="{_px(left + Decimal(plot_w) / 2)}" y="{height - 8}" text-anchor="middle" '
        f'fill="{INK}">{escape(x_title)}</text>'
    )
    middle = _px(top + Decimal(height - top - 56) / 2)
    parts.append(
        f'<text class="axis-label" x="14" y="{middle}" transform="rotate(-90 14 {middle})" text-anchor="middle" '
        f'fill="{INK}">{escape(y_title)}</text>'
    )


def bar_chart(
    title: str,
    bars: Sequence[tuple[str, int]],
    *,
    value_axis: str,
    category_axis: str,
    value_text: ValueText = str,
    chart_id: str | None = None,
    description: str = "",
) -> str:
    """Horizontal bars, one per (label, value), in the order given; long labels are shortened in the picture
    (the bar's own `<title>` and the table keep them whole). Negative values are drawn as zero-length bars."""
    chart_id = _slug(chart_id or title)
    if not bars:
        return no_data(title, chart_id)
    row_h, top, bottom, left, right = 28, 28, 40, 200, 96
    plot_w, plot_h = WIDTH - left - right, row_h * len(bars)
    height = top + plot_h + bottom
    ticks = nice_ticks(max(value for _, value in bars))
    summary = description or "; ".join(f"{label}: {value_text(value)}" for label, value in bars)
    parts = _open(chart_id, title, summary, height)
    for tick in ticks:
        x = left + Decimal(plot_w) * tick / ticks[-1]
        parts.append(
            f'<line x1="{_px(x)}" x2="{_px(x)}" y1="{top}" y2="{top + plot_h}" stroke="{GRID}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{_px(x)}" y="{top + plot_h + 16}" text-anchor="middle" fill="{MUTED}">'
            f"{escape(value_text(tick))}</text>"
        )
    parts.append('<g class="bars">')
    for index, (label, value) in enumerate(bars):
        y = top + index * row_h
        length = Decimal(plot_w) * max(value, 0) / ticks[-1]
        parts.append(
            f'<text x="{left - 8}" y="{y + 18}" text-anchor="end" fill="{INK}">{escape(_shorten(label, 28))}</text>'
        )
        parts.append(
            f'<rect class="bar" x="{left}" y="{y + 5}" width="{_px(length)}" height="{row_h - 10}" '
            f'fill="{PALETTE[0]}"><title>{escape(label)}: {escape(value_text(value))}</title></rect>'
        )
        parts.append(f'<text x="{_px(left + length + 6)}" y="{y + 18}" fill="{INK}">{escape(value_text(value))}</text>')
    parts.append("</g>")
    parts.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="{INK}"/>')
    parts.append(
        f'<text class="axis-label" x="{_px(left + Decimal(plot_w) / 2)}" y="{height - 8}" text-anchor="middle" '
        f'fill="{INK}">{escape(value_axis)}</text>'
    )
    parts.append(
        f'<text class="axis-label" x="{left - 8}" y="16" text-anchor="end" fill="{INK}">{escape(category_axis)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def stacked_bar_chart(
    title: str,
    columns: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    x_axis: str,
    y_axis: str,
    colors: Mapping[str, str] | None = None,
    column_titles: Sequence[str] | None = None,
    chart_id: str | None = None,
) -> str:
    """Vertical bars, one per column (a day), each stacked from its series' values (one per category), with a
    legend. `column_titles` are the full names of the columns (tooltips), `columns` the short axis labels."""
    chart_id = _slug(chart_id or title)
    for name, values in series:
        if len(values) != len(columns):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(columns)} columns")
    totals = [sum(values[i] for _, values in series) for i in range(len(columns))]
    if not columns or not any(totals):
        return no_data(title, chart_id)
    colors = colors or {}
    color_of = {name: colors.get(name, PALETTE[i % len(PALETTE)]) for i, (name, _) in enumerate(series)}
    legend, x, y = [], Decimal(64), 10
    for name, _ in series:  # the legend along the top, wrapped to as many rows as it needs
        width = 24 + Decimal(7) * len(name)
        if x + width > WIDTH and x > 64:
            x, y = Decimal(64), y + 18
        legend.append((name, x, y))
        x += width
    top, bottom, left, right = y + 30, 56, 64, 12
    height = top + 224 + bottom
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    ticks = nice_ticks(max(totals))
    slot = Decimal(plot_w) / len(columns)
    bar_w = slot * Decimal("0.7")
    label_every = max(1, math.ceil(len(columns) / 8))
    titles = list(column_titles or columns)
    summary = f"{sum(totals)} in all over {len(columns)} columns; " + "; ".join(
        f"{name}: {sum(values)}" for name, values in series
    )
    parts = _open(chart_id, title, summary, height)
    parts.append('<g class="legend">')
    for name, x, y in legend:
        parts.append(f'<rect x="{_px(x)}" y="{y}" width="12" height="12" fill="{color_of[name]}"/>')
        parts.append(f'<text x="{_px(x + 16)}" y="{y + 10}" fill="{INK}">{escape(name)}</text>')
    parts.append("</g>")
    _value_axis_vertical(parts, ticks, left, top, plot_w, plot_h, str)
    parts.append('<g class="bars">')
    for index, column in enumerate(columns):
        x = left + slot * index + (slot - bar_w) / 2
        parts.append(f'<g class="bar"><title>{escape(titles[index])}: {totals[index]}</title>')
        base = Decimal(top + plot_h)
        for name, values in series:
            if not values[index]:
                continue
            h = Decimal(plot_h) * values[index] / ticks[-1]
            base -= h
            parts.append(
                f'<rect class="segment" x="{_px(x)}" y="{_px(base)}" width="{_px(bar_w)}" height="{_px(h)}" '
                f'fill="{color_of[name]}">'
                f"<title>{escape(titles[index])}, {escape(name)}: {values[index]}</title></rect>"
            )
        parts.append("</g>")
        if index % label_every == 0:
            parts.append(
                f'<text x="{_px(x + bar_w / 2)}" y="{top + plot_h + 16}" text-anchor="middle" fill="{MUTED}">'
                f"{escape(column)}</text>"
            )
    parts.append("</g>")
    parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="{INK}"/>')
    _axis_titles(parts, x_axis, y_axis, height, left, plot_w, top)
    parts.append("</svg>")
    return "".join(parts)


def histogram(
    title: str,
    edges: Sequence[str],
    counts: Sequence[int],
    *,
    x_axis: str,
    y_axis: str,
    chart_id: str | None = None,
) -> str:
    """Adjacent vertical bars, one per bin: bin i counts values from `edges[i]` up to `edges[i + 1]`."""
    chart_id = _slug(chart_id or title)
    if len(edges) != len(counts) + 1:
        raise ValueError(f"a histogram of {len(counts)} bins needs {len(counts) + 1} edges, got {len(edges)}")
    if not counts or not any(counts):
        return no_data(title, chart_id)
    top, bottom, left, right = 16, 56, 64, 16
    height = 300
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    ticks = nice_ticks(max(counts))
    slot = Decimal(plot_w) / len(counts)
    summary = f"{sum(counts)} values in {len(counts)} bins; " + "; ".join(
        f"{edges[i]} to {edges[i + 1]}: {count}" for i, count in enumerate(counts) if count
    )
    parts = _open(chart_id, title, summary, height)
    _value_axis_vertical(parts, ticks, left, top, plot_w, plot_h, str)
    parts.append('<g class="bars">')
    for index, count in enumerate(counts):
        h = Decimal(plot_h) * count / ticks[-1]
        x = left + slot * index
        parts.append(
            f'<rect class="bar" x="{_px(x)}" y="{_px(top + plot_h - h)}" width="{_px(slot)}" height="{_px(h)}" '
            f'fill="{PALETTE[0]}" stroke="#ffffff" stroke-width="1">'
            f"<title>{escape(edges[index])} to {escape(edges[index + 1])}: {count}</title></rect>"
        )
    parts.append("</g>")
    for index, edge in enumerate(edges):
        x = left + slot * index
        parts.append(
            f'<text x="{_px(x)}" y="{top + plot_h + 16}" text-anchor="middle" fill="{MUTED}">{escape(edge)}</text>'
        )
    parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="{INK}"/>')
    _axis_titles(parts, x_axis, y_axis, height, left, plot_w, top)
    parts.append("</svg>")
    return "".join(parts)
