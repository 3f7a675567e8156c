"""Accessible SVG charts drawn on the server: every value escaped, a title and a text alternative.

Charts read in print and by screen readers: each has <title> and <desc> (with ids of their own,
derived from the content so a frozen report renders the same bytes every time), and the pages put
the same numbers in a table beside it. On a right-to-left page they are mirrored: labels on the
right, bars growing leftwards.
"""

import hashlib
import unicodedata
from collections.abc import Iterable
from functools import partial
from types import SimpleNamespace

from markupsafe import Markup, escape

PALETTE = ("#0b5cad", "#b35900", "#1d6b35", "#7a2e8e", "#a3162e", "#00707a", "#5b5b00", "#444c56")


def for_direction(rtl: bool) -> SimpleNamespace:
    """The chart functions for a page of this direction (what templates call as ``charts``)."""
    return SimpleNamespace(bar_chart=partial(bar_chart, rtl=rtl), scatter=partial(scatter, rtl=rtl))


def bar_chart(
    title: str,
    rows: list[tuple[str, float]],
    *,
    unit: str = "",
    width: int = 640,
    max_rows: int = 12,
    rtl: bool = False,
) -> Markup:
    """Horizontal bars: label, bar, value. `rows` are (label, value)."""
    rows = rows[:max_rows]
    bar_h, gap, label_w = 22, 8, 260
    height = max(1, len(rows)) * (bar_h + gap) + 10
    top = max([v for _, v in rows] or [1]) or 1
    desc = "; ".join(f"{label}: {_fmt(value)}{unit}" for label, value in rows) or "no data"
    ids = _ids(title, desc)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" aria-labelledby="{ids[0]} {ids[1]}">',
        f'<title id="{ids[0]}">{escape(title)}</title><desc id="{ids[1]}">{escape(desc)}</desc>',
    ]
    # Each label and value is its own run in the page's direction: in RTL, "start" is its right edge.
    text = ' font-size="13" fill="#1b1f24"' + (' direction="rtl"' if rtl else "")
    for i, (label, value) in enumerate(rows):
        y = 5 + i * (bar_h + gap)
        w = max(int((width - label_w - 70) * (value / top)) if top else 0, 1)
        label_x, bar_x, value_x = (
            (width - label_w + 6, width - label_w - w, width - label_w - w - 6)
            if rtl
            else (label_w - 6, label_w, label_w + w + 6)
        )
        parts.append(f'<text x="{label_x}" y="{y + 15}" text-anchor="end"{text}>{escape(_clip(label))}</text>')
        parts.append(f'<rect x="{bar_x}" y="{y}" width="{w}" height="{bar_h}" fill="{PALETTE[0]}"/>')
        parts.append(
            f'<text x="{value_x}" y="{y + 15}" text-anchor="start"{text}>{escape(_fmt(value))}{escape(unit)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def scatter(
    title: str, points: list[tuple[float, float, int]], legend: dict[int, str], *, size: int = 420, rtl: bool = False
) -> Markup:
    """A 2-D map of items coloured by group (theme); -1 is grey ("other")."""
    if not points:
        return Markup("")
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    sx = (size - 20) / ((x1 - x0) or 1)
    sy = (size - 20) / ((y1 - y0) or 1)
    colour = {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(sorted(k for k in legend if k != -1))}
    counts: dict[int, int] = {}
    for _, _, g in points:
        counts[g] = counts.get(g, 0) + 1
    desc = "; ".join(f"{legend.get(g, 'other')}: {n} items" for g, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    ids = _ids(title, desc)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" viewBox="0 0 {size} {size}" width="{size}" height="{size}" aria-labelledby="{ids[0]} {ids[1]}">',
        f'<title id="{ids[0]}">{escape(title)}</title><desc id="{ids[1]}">{escape(desc)}</desc>',
        f'<rect x="0" y="0" width="{size}" height="{size}" fill="#ffffff" stroke="#c9d0d9"/>',
    ]
    for x, y, g in points[:5000]:
        cx = 10 + (x - x0) * sx
        cx = size - cx if rtl else cx  # the map's axes mean nothing: mirrored, it reads the same way as the page
        cy = size - 10 - (y - y0) * sy
        parts.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="2.5" fill="{colour.get(g, "#9aa3ad")}" fill-opacity="0.7"/>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def legend_colours(groups: Iterable[int]) -> dict[int, str]:
    return {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(sorted(g for g in groups if g != -1))}


def _fmt(value: float) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.1f}"
    return f"{int(value):,}"


def _ids(title: str, desc: str) -> tuple[str, str]:
    key = hashlib.sha256(f"{title}\x1f{desc}".encode()).hexdigest()[:10]
    return f"chart-{key}-title", f"chart-{key}-desc"


def _clip(label: str, n: int = 36) -> str:
    """At most ``n`` Latin-width characters (a Chinese or Japanese character counts as two), so a
    label fits the 260-unit column at 13 px in every script instead of running off the chart."""
    label = str(label)
    widths = [2 if unicodedata.east_asian_width(char) in ("W", "F") else 1 for char in label]
    if sum(widths) <= n:
        return label
    used, kept = 0, []
    for char, w in zip(label, widths):
        if used + w > n - 1:
            break
        used += w
        kept.append(char)
    return "".join(kept) + "…"
