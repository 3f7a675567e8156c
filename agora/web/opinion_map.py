"""The opinion map drawn on the server as SVG (no JavaScript needed), with its text alternative.

Participants are dots on the opinion groups' projection, each group's convex hull is outlined and
named as everywhere else ("Group A", ``charts.group_name``), and the reader is a ringed "You"
marker. The same facts are in the summary sentence (the SVG's description too) and in a table.
Each group's dots are one path (a zero-length segment per dot with round caps): 2,000
participants weigh ~20 KB, not ~100 KB of circles.
"""

from __future__ import annotations

from babel.lists import format_list
from flask_babel import format_decimal, get_locale, get_translations
from flask_babel import gettext as _
from markupsafe import Markup, escape

from agora.services.analysis.opinion_map import OpinionMap
from agora.web.charts import colour, free_spot, group_name

WIDTH, HEIGHT, PAD = 640, 420, 28


def ngettext(singular: str, plural: str, n: int, **values) -> str:
    """Plural forms with %(num)s in the reader's digits and separators."""
    return get_translations().ungettext(singular, plural, n) % {"num": format_decimal(n), **values}


_STATIC: dict[tuple, str] = {}


def _group_index(key, position: int) -> int:
    return int(key) if str(key).lstrip("-").isdigit() else position


def _frame(omap: OpinionMap):
    """Data coordinates to SVG coordinates, from the participants' extent only (the reader's
    marker is kept inside the frame), so the drawing of a snapshot never changes."""
    xs = [p[0] for p in omap.points] or [0.0]
    ys = [p[1] for p in omap.points] or [0.0]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    span = max(x1 - x0, y1 - y0, 1e-9)
    scale = min((WIDTH - 2 * PAD) / span, (HEIGHT - 2 * PAD) / span) if span else 1.0
    ox = (WIDTH - (x1 - x0) * scale) / 2
    oy = (HEIGHT - (y1 - y0) * scale) / 2

    def at(x: float, y: float) -> tuple[float, float]:
        sx = ox + (x - x0) * scale
        sy = HEIGHT - (oy + (y - y0) * scale)
        return min(max(sx, PAD / 2), WIDTH - PAD / 2), min(max(sy, PAD / 2), HEIGHT - PAD / 2)

    return at


def names(omap: OpinionMap) -> dict:
    return {area.key: group_name("vote", i, area.key) for i, area in enumerate(omap.groups)}


def summary(omap: OpinionMap) -> str:
    """One sentence of what the map shows, for everyone (and the SVG's description)."""
    named = names(omap)
    placed = len(omap.points)
    # "Group A: 8, Group B: 8" with the reader's own list separators ("، " and "و" in Arabic)
    groups = format_list(
        [_("%(group)s: %(n)s", group=named[a.key], n=format_decimal(a.size)) for a in omap.groups],
        locale=get_locale() or "en",
    )
    text = ngettext(
        "%(num)s participant with enough votes is on the map.",
        "%(num)s participants with enough votes are on the map.",
        placed,
    )
    if omap.groups:
        text += " " + ngettext(
            "%(num)s opinion group (%(groups)s).",
            "%(num)s opinion groups (%(groups)s).",
            len(omap.groups),
            groups=groups,
        )
    return text + " " + where_you_are(omap)


def where_you_are(omap: OpinionMap) -> str:
    if omap.you is not None:
        if omap.you.group is not None:
            return _(
                "You are the ringed dot marked “You”, closest to %(group)s.", group=names(omap).get(omap.you.group, "")
            )
        return _("You are the ringed dot marked “You”.")
    missing = max(0, omap.votes_needed - omap.my_votes)
    return ngettext(
        "Vote on %(num)s more view to appear on the map.",
        "Vote on %(num)s more views to appear on the map.",
        missing,
    )


def you_marker(omap: OpinionMap) -> dict | None:
    """Where the "You" marker goes in the SVG (for the page's script after a vote)."""
    if omap.you is None:
        return None
    x, y = _frame(omap)(omap.you.x, omap.you.y)
    return {"x": round(x, 1), "y": round(y, 1), "group": None if omap.you.group is None else str(omap.you.group)}


def _static(omap: OpinionMap) -> str:
    """Hulls, dots and group names: the same for every reader of a snapshot (kept per snapshot
    and language)."""
    key = (omap.snapshot_id, str(get_locale() or "en"))
    if key in _STATIC:
        return _STATIC[key]
    at = _frame(omap)
    named = names(omap)
    parts = []
    for i, area in enumerate(omap.groups):
        fill = escape(colour(_group_index(area.key, i)))
        corners = [at(x, y) for x, y in area.hull]
        if len(corners) >= 3:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in corners)
            parts.append(
                f'<polygon points="{path}" fill="{fill}" fill-opacity="0.12" stroke="{fill}" stroke-width="2" stroke-linejoin="round"/>'
            )
        elif len(corners) == 2:
            (ax, ay), (bx, by) = corners
            parts.append(
                f'<line x1="{ax:.1f}" y1="{ay:.1f}" x2="{bx:.1f}" y2="{by:.1f}" stroke="{fill}" stroke-width="2"/>'
            )
    by_group: dict = {}
    for x, y, group in omap.points:
        by_group.setdefault(group, []).append(at(x, y))
    order = {area.key: i for i, area in enumerate(omap.groups)}
    for group, spots in by_group.items():
        tint = escape(colour(_group_index(group, order[group])) if group in order else colour(-1))
        dots = "".join(f"M{x:.0f} {y:.0f}h0" for x, y in spots)
        parts.append(
            f'<path d="{dots}" stroke="{tint}" stroke-width="6" stroke-linecap="round" stroke-opacity="0.7" fill="none"/>'
        )
    taken: list = []
    for area in omap.groups:
        cx, cy = free_spot(*at(*area.centre), taken, WIDTH, HEIGHT, PAD, gap=28.0)
        taken.append((cx, cy))
        parts.append(
            f'<text x="{cx:.1f}" y="{cy:.1f}" font-size="16" font-weight="700" text-anchor="middle" fill="#1b1f24" '
            f'stroke="#ffffff" stroke-width="4" paint-order="stroke">{escape(named[area.key])}</text>'
        )
    _STATIC[key] = "".join(parts)
    while len(_STATIC) > 32:
        _STATIC.pop(next(iter(_STATIC)))
    return _STATIC[key]


def svg(omap: OpinionMap, element_id: str = "opinion-map") -> Markup:
    """The whole map: frame, hulls, dots, names, the reader's marker (hidden until placed)."""
    title = _("Opinion map: participants who vote alike are close together")
    marker = you_marker(omap)
    you = (
        f'<g id="{element_id}-you" class="map-you" transform="translate({marker["x"]} {marker["y"]})">'
        if marker
        else f'<g id="{element_id}-you" class="map-you" transform="translate(0 0)" visibility="hidden">'
    )
    you += (
        '<circle r="11" fill="#ffffff" stroke="#1b1f24" stroke-width="3"/><circle r="4" fill="#1b1f24"/>'
        f'<text y="-16" font-size="15" font-weight="700" text-anchor="middle" fill="#1b1f24" stroke="#ffffff" '
        f'stroke-width="4" paint-order="stroke">{escape(_("You"))}</text></g>'
    )
    return Markup(
        f'<svg class="opinion-map" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'aria-labelledby="{element_id}-title {element_id}-desc" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{element_id}-title">{escape(title)}</title>'
        f'<desc id="{element_id}-desc">{escape(summary(omap))}</desc>'
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff" stroke="#c9d0d9"/>'
        f"{_static(omap)}{you}</svg>"
    )
