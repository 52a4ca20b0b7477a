"""Server-side SVG charts: no script, no CDN, readable without colour.

Each chart has a title and a text alternative (``<title>``/``<desc>`` named by
``aria-labelledby``), labelled axes, and tells its series apart three ways: colour, a fill
pattern or marker shape, and a direct label or legend entry. Text is escaped: series names
and categories may come from posts and account names.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

# NHS identity colours, dark enough for white hatching and text on a white page.
COLOURS = ("#005eb8", "#d5281b", "#007f3b", "#330072", "#ed8b00", "#425563")
# Fill patterns per series (bars) — the first is solid, the rest add texture.
PATTERNS = ("solid", "hatch", "dots", "cross", "vertical", "horizontal")
# Marker shapes and dashes per series (lines).
MARKERS = ("circle", "square", "triangle", "diamond", "circle", "square")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "", "6 3")

WIDTH, HEIGHT = 720, 320
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 64, 120, 40, 64
MAX_X_LABELS = 12
MAX_DESCRIBED = 31  # up to this many categories the text alternative lists every value


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    style: int | None = None  # index into the colours and patterns; by default the series' position

    def style_index(self, position: int) -> int:
        return position if self.style is None else self.style


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``top`` (steps of 1, 2 or 5 times a power of ten)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    ticks = [0.0]
    while ticks[-1] < top:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "chart"


def _patterns(chart_id: str, series: Sequence[Series]) -> str:
    defs = []
    for i, s in enumerate(series):
        style = s.style_index(i)
        colour, kind = COLOURS[style % len(COLOURS)], PATTERNS[style % len(PATTERNS)]
        marks = {
            "solid": "",
            "hatch": '<path d="M-1,1 l2,-2 M0,8 l8,-8 M7,9 l2,-2" stroke="#fff" stroke-width="1.5"/>',
            "dots": '<circle cx="4" cy="4" r="1.6" fill="#fff"/>',
            "cross": '<path d="M0,0 L8,8 M8,0 L0,8" stroke="#fff" stroke-width="1.2"/>',
            "vertical": '<path d="M4,0 V8" stroke="#fff" stroke-width="1.5"/>',
            "horizontal": '<path d="M0,4 H8" stroke="#fff" stroke-width="1.5"/>',
        }[kind]
        defs.append(
            f'<pattern id="{chart_id}-fill-{i}" width="8" height="8" patternUnits="userSpaceOnUse">'
            f'<rect width="8" height="8" fill="{colour}"/>{marks}</pattern>'
        )
    return f"<defs>{''.join(defs)}</defs>"


def _describe(categories: Sequence[str], series: Sequence[Series], fmt: Callable[[float], str]) -> str:
    """The data in words, for screen readers: every value when few, else the range per series."""
    parts = []
    for s in series:
        pairs = [(c, v) for c, v in zip(categories, s.values, strict=True) if v is not None]
        if not pairs:
            parts.append(f"{s.name}: no data.")
        elif len(categories) <= MAX_DESCRIBED:
            parts.append(f"{s.name}: " + "; ".join(f"{c} {fmt(v)}" for c, v in pairs) + ".")
        else:
            low, high = min(pairs, key=lambda p: p[1]), max(pairs, key=lambda p: p[1])
            parts.append(f"{s.name}: from {fmt(low[1])} ({low[0]}) to {fmt(high[1])} ({high[0]}).")
    return " ".join(parts)


class _Frame:
    """Plot area geometry, axes and gridlines shared by bar and line charts."""

    def __init__(self, categories: Sequence[str], top: float, fmt: Callable[[float], str]) -> None:
        self.categories = list(categories)
        self.ticks = nice_ticks(top)
        self.top = self.ticks[-1]
        self.fmt = fmt
        self.left, self.right = MARGIN_LEFT, WIDTH - MARGIN_RIGHT
        self.top_y, self.bottom_y = MARGIN_TOP, HEIGHT - MARGIN_BOTTOM
        self.band = (self.right - self.left) / max(1, len(self.categories))

    def y(self, value: float) -> float:
        return self.bottom_y - (self.bottom_y - self.top_y) * (value / self.top if self.top else 0)

    def centre(self, index: int) -> float:
        return self.left + self.band * (index + 0.5)

    def axes(self, x_label: str, y_label: str) -> str:
        out = []
        for tick in self.ticks:
            y = self.y(tick)
            out.append(
                f'<line x1="{self.left}" x2="{self.right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d8dde0"/>'
                f'<text x="{self.left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12">'
                f"{escape(self.fmt(tick))}</text>"
            )
        every = max(1, math.ceil(len(self.categories) / MAX_X_LABELS))
        for i, category in enumerate(self.categories):
            if i % every == 0:
                out.append(
                    f'<text x="{self.centre(i):.1f}" y="{self.bottom_y + 16}" text-anchor="middle" '
                    f'font-size="12">{escape(category)}</text>'
                )
        out.append(
            f'<line x1="{self.left}" x2="{self.right}" y1="{self.bottom_y}" y2="{self.bottom_y}" '
            f'stroke="#212b32"/><line x1="{self.left}" x2="{self.left}" y1="{self.top_y}" '
            f'y2="{self.bottom_y}" stroke="#212b32"/>'
            f'<text x="{(self.left + self.right) / 2:.1f}" y="{HEIGHT - 14}" text-anchor="middle" '
            f'font-size="13" font-weight="bold">{escape(x_label)}</text>'
            f'<text transform="translate(16 {(self.top_y + self.bottom_y) / 2:.1f}) rotate(-90)" '
            f'text-anchor="middle" font-size="13" font-weight="bold">{escape(y_label)}</text>'
        )
        return "".join(out)


def _svg(chart_id: str, title: str, description: str, body: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="lp-chart" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" font-family="Frutiger W01, Arial, sans-serif">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>'
        f'<text x="{MARGIN_LEFT}" y="22" font-size="15" font-weight="bold" aria-hidden="true">'
        f"{escape(title)}</text>{body}</svg>"
    )


def _legend(
    names: Sequence[str], swatch: Callable[[int, float, float], str], *, top_first: bool = False
) -> str:
    """A key in the right margin: each series' swatch (pattern, or dash and marker) beside its name.

    ``top_first`` lists the last series first, in the order a stack shows them from the top.
    """
    entries = []
    order = list(enumerate(names))
    for row, (index, name) in enumerate(reversed(order) if top_first else order):
        x, y = WIDTH - MARGIN_RIGHT + 14, MARGIN_TOP + 22 * row
        entries.append(
            f'{swatch(index, x, y)}<text x="{x + 26}" y="{y + 11}" font-size="12">{escape(name)}</text>'
        )
    return f'<g aria-hidden="true">{"".join(entries)}</g>'


def _bar_label(text: str, x: float, width: float, y0: float, y1: float, *, inside: bool) -> str:
    """A bar's value written on the chart where it fits: inside a tall enough stacked segment, or
    above a side-by-side bar; nothing where it would overlap (the bar's tooltip still has it).
    """
    if inside and y1 - y0 >= 16 and width >= 24:
        return (
            f'<text x="{x + width / 2:.1f}" y="{(y0 + y1) / 2 + 4:.1f}" text-anchor="middle" '
            f'font-size="11" fill="#fff" stroke="#212b32" stroke-width="2" paint-order="stroke">'
            f"{escape(text)}</text>"
        )
    if not inside and width >= 18:
        return (
            f'<text x="{x + width / 2:.1f}" y="{y0 - 4:.1f}" text-anchor="middle" '
            f'font-size="11">{escape(text)}</text>'
        )
    return ""


def bar_chart(
    *,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
    x_label: str,
    y_label: str,
    stacked: bool = False,
    value_format: Callable[[float], str] = _number,
    chart_id: str | None = None,
    y_max: float | None = None,
) -> str:
    """Bars per category, one per series side by side (or ``stacked``), each series its own pattern.

    ``y_max`` fixes the top of the axis (100 for percentages), so small differences are not magnified.
    """
    chart_id = chart_id or _slug(title)
    values = [[v or 0.0 for v in s.values] for s in series]
    if stacked:
        top = max((sum(col) for col in zip(*values, strict=True)), default=0.0)
    else:
        top = max((v for row in values for v in row), default=0.0)
    frame = _Frame(categories, max(top, y_max or 0.0), value_format)
    slots = 1 if stacked else max(1, len(series))
    width = frame.band * 0.8 / slots
    bars, labels = [], []
    for i in range(len(categories)):
        base = 0.0
        for j, s in enumerate(series):
            value = values[j][i]
            x = frame.centre(i) - frame.band * 0.4 + (0 if stacked else j * width)
            y0, y1 = frame.y(base + value), frame.y(base)
            if value > 0:
                bars.append(
                    f'<rect x="{x:.1f}" y="{y0:.1f}" width="{width:.1f}" height="{y1 - y0:.1f}" '
                    f'fill="url(#{chart_id}-fill-{j})" stroke="#fff" stroke-width="0.5">'
                    f"<title>{escape(f'{s.name}, {categories[i]}: {value_format(value)}')}</title></rect>"
                )
                labels.append(_bar_label(value_format(value), x, width, y0, y1, inside=stacked))
            if stacked:
                base += value
    legend = _legend(
        [s.name for s in series],
        lambda j, x, y: f'<rect x="{x}" y="{y}" width="20" height="14" fill="url(#{chart_id}-fill-{j})"/>',
        top_first=stacked,
    )
    body = (
        _patterns(chart_id, series)
        + frame.axes(x_label, y_label)
        + f'<g aria-hidden="true">{"".join(bars)}{"".join(labels)}</g>'
        + legend
    )
    return _svg(chart_id, title, f"{description} {_describe(categories, series, value_format)}", body)


def _marker(kind: str, x: float, y: float, colour: str) -> str:
    if kind == "square":
        return f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="{colour}"/>'
    corners = {
        "triangle": ((0, -5), (5, 4), (-5, 4)),
        "diamond": ((0, -5), (5, 0), (0, 5), (-5, 0)),
    }.get(kind)
    if corners:
        path = " L".join(f"{x + dx:.1f},{y + dy:.1f}" for dx, dy in corners)
        return f'<path d="M{path} Z" fill="{colour}"/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"/>'


def _line_swatch(index: int, x: float, y: float) -> str:
    colour, dash = COLOURS[index % len(COLOURS)], DASHES[index % len(DASHES)]
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<line x1="{x}" x2="{x + 20}" y1="{y + 7}" y2="{y + 7}" '
        f'stroke="{colour}" stroke-width="2.5"{dash_attr}/>'
        + _marker(MARKERS[index % len(MARKERS)], x + 10, y + 7, colour)
    )


def line_chart(
    *,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
    x_label: str,
    y_label: str,
    value_format: Callable[[float], str] = _number,
    chart_id: str | None = None,
) -> str:
    """Lines over categories (days); each series has its own colour, dash and marker shape."""
    chart_id = chart_id or _slug(title)
    top = max((v for s in series for v in s.values if v is not None), default=0.0)
    frame = _Frame(categories, top, value_format)
    lines = []
    for j, s in enumerate(series):
        k = s.style_index(j)
        colour, dash, marker = COLOURS[k % len(COLOURS)], DASHES[k % len(DASHES)], MARKERS[k % len(MARKERS)]
        points = [(frame.centre(i), frame.y(v), v) for i, v in enumerate(s.values) if v is not None]
        # A gap (no value) breaks the line rather than drawing through it.
        runs: list[list[tuple[float, float]]] = []
        previous = None
        for i, v in enumerate(s.values):
            if v is None:
                previous = None
                continue
            if previous is None:
                runs.append([])
            runs[-1].append((frame.centre(i), frame.y(v)))
            previous = i
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        for run in runs:
            path = " ".join(f"{'M' if k == 0 else 'L'}{x:.1f},{y:.1f}" for k, (x, y) in enumerate(run))
            lines.append(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2.5"{dash_attr}/>')
        for x, y, v in points:
            lines.append(
                f"<g>{_marker(marker, x, y, colour)}"
                f"<title>{escape(f'{s.name}: {value_format(v)}')}</title></g>"
            )
    legend = _legend([s.name for s in series], lambda j, x, y: _line_swatch(series[j].style_index(j), x, y))
    body = frame.axes(x_label, y_label) + f'<g aria-hidden="true">{"".join(lines)}</g>' + legend
    return _svg(chart_id, title, f"{description} {_describe(categories, series, value_format)}", body)
