"""Server-rendered SVG charts for the insights page: bars (stacked or grouped) and lines.

Each series is ``(css_class, name, values)``; colours come from the stylesheet, the
numbers from the table printed under every chart, so a chart is never the only record.
"""

from collections.abc import Sequence
from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

Series = tuple[str, str, Sequence[Any]]  # values: numbers or None

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 12, 40


def bars(
    title: str, labels: Sequence[str], series: Sequence[Series], *, stacked: bool = True
) -> SafeString:
    """Vertical bars per label: stacked (parts of a whole) or grouped side by side."""
    totals = [
        sum(v or 0 for _, _, values in series for v in values[i : i + 1])
        if stacked
        else max((values[i] or 0 for _, _, values in series), default=0)
        for i in range(len(labels))
    ]
    top = _nice(max(totals, default=0))
    slot = _plot_width() / max(len(labels), 1)
    width = slot * 0.8 / (1 if stacked else max(len(series), 1))
    shapes = []
    for i in range(len(labels)):
        base = 0.0
        for n, (css, name, values) in enumerate(series):
            value = values[i] or 0
            x = LEFT + i * slot + slot * 0.1 + (0 if stacked else n * width)
            bottom = base if stacked else 0.0
            shapes.append(
                format_html(
                    '<rect class="{}" x="{}" y="{}" width="{}" height="{}">'
                    "<title>{}: {} {}</title></rect>",
                    css,
                    _f(x),
                    _f(_y(bottom + value, top)),
                    _f(width),
                    _f(_y(bottom, top) - _y(bottom + value, top)),
                    labels[i],
                    name,
                    _number(value),
                )
            )
            if stacked:
                base += value
    return _svg(title, labels, series, top, shapes)


def lines(title: str, labels: Sequence[str], series: Sequence[Series], *, top: float) -> SafeString:
    """One polyline per series over the labels; gaps (None) break nothing, they are skipped."""
    step = _plot_width() / max(len(labels) - 1, 1)
    shapes = []
    for css, name, values in series:
        points = [(LEFT + i * step, _y(v, top)) for i, v in enumerate(values) if v is not None]
        shapes.append(
            format_html(
                '<polyline class="line {}" points="{}"><title>{}</title></polyline>',
                css,
                " ".join(f"{x:.1f},{y:.1f}" for x, y in points),
                name,
            )
        )
    return _svg(title, labels, series, top, shapes, centred=False)


def _svg(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    top: float,
    shapes: list[SafeString],
    *,
    centred: bool = True,
) -> SafeString:
    slot = _plot_width() / max(len(labels) - (0 if centred else 1), 1)
    every = max(1, round(len(labels) / 8))  # at most ~8 axis labels
    axis = [
        format_html(
            '<text class="axis" x="{}" y="{}" text-anchor="middle">{}</text>',
            _f(LEFT + i * slot + (slot / 2 if centred else 0)),
            HEIGHT - BOTTOM + 14,
            label,
        )
        for i, label in enumerate(labels)
        if i % every == 0
    ]
    grid = [
        format_html(
            '<line class="grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
            '<text class="axis" x="{}" y="{}" text-anchor="end">{}</text>',
            LEFT,
            WIDTH - RIGHT,
            _f(_y(top * f, top)),
            _f(_y(top * f, top)),
            LEFT - 4,
            _f(_y(top * f, top) + 4),
            _number(top * f),
        )
        for f in (0, 0.5, 1)
    ]
    legend, x = [], LEFT
    for css, name, _ in series:
        legend.append(
            format_html(
                '<rect class="{}" x="{}" y="{}" width="10" height="10"/>'
                '<text class="axis" x="{}" y="{}">{}</text>',
                css,
                x,
                HEIGHT - 14,
                x + 14,
                HEIGHT - 5,
                name,
            )
        )
        x += 30 + 6 * len(name)  # about 6 px per character at the axis font size
    return format_html(
        '<svg class="chart insight-chart" viewBox="0 0 {} {}" role="img" aria-label="{}">{}</svg>',
        WIDTH,
        HEIGHT,
        title,
        format_html_join("", "{}", ((part,) for part in [*grid, *shapes, *axis, *legend])),
    )


def _f(value: float) -> str:
    return f"{value:.1f}"


def _plot_width() -> float:
    return WIDTH - LEFT - RIGHT


def _y(value: float, top: float) -> float:
    return TOP + (1 - value / top) * (HEIGHT - TOP - BOTTOM) if top else HEIGHT - BOTTOM


def _nice(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** (len(str(int(value))) - 1) if value >= 1 else 1
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(value)


def _number(value: Any) -> str:
    value = float(value)
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    return f"{value:.0f}" if value == int(value) or value >= 10 else f"{value:.2f}"
