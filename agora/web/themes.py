"""Public pages of themes, opinion groups and constituency balance for one consultation.

Charts are SVG drawn here, on the server, with every value escaped, and each has a text
alternative (a title, a description and a table); the pages need no JavaScript.
"""

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup, escape

from agora.services.analysis import opinions, themes
from agora.services.participation import consultations
from agora.web.charts import colour, free_spot, group_name, label, percent

bp = Blueprint("themes", __name__, url_prefix="/consultations")


def _public(slug):
    consultation = consultations.get_by_slug(slug)
    if consultation.status == "draft":
        abort(404)
    return consultation


@bp.get("/<slug>/themes")
def themes_page(slug):
    consultation = _public(slug)
    hearing_id = request.args.get("hearing", type=int)
    data = themes.page(consultation.id, hearing_id)
    themes.maybe_schedule(consultation.id, hearing_id)
    summary = data["summary"]
    per_page = current_app.config["PAGE_SIZE"]
    links, warnings = {}, {}
    svg_map = trends = None
    reader = str(get_locale() or "en")
    if summary:
        for theme in summary["themes"]:  # named and quoted in the reader's language where it can be
            theme["shown_label"] = themes.label_for(theme, reader)
            theme["shown_quotes"] = themes.quotes_for(theme, reader)
            if hearing_id is None:
                for quote in theme["shown_quotes"]:
                    page = themes.listing_page(quote["id"], consultation.id, per_page)
                    links[quote["id"]] = url_for(
                        "consultations.detail", slug=slug, page=page if page > 1 else None, _anchor=f"s{quote['id']}"
                    )
            if theme["size"] >= 10:
                found = themes.dominance(theme["breakdown"]["constituency"])
                if found:
                    warnings[theme["id"]] = found
        svg_map = theme_map(summary)
        trends = {t["id"]: trend_chart(t, summary["weeks"]) for t in summary["themes"]}
    return render_template(
        "themes/themes.html",
        consultation=consultation,
        hearing_id=hearing_id,
        data=data,
        summary=summary,
        links=links,
        warnings=warnings,
        overall_warning=themes.dominance(summary["overall"]["constituency"]) if summary else None,
        svg_map=svg_map,
        trends=trends,
        label=label,
        percent=percent,
        colour=colour,
        # a trend says where a conversation is going: a closed consultation goes nowhere
        show_trend=consultation.status == "open" or hearing_id is not None,
        reader=reader,
        active="themes",
    )


@bp.get("/<slug>/opinions")
def opinions_page(slug):
    consultation = _public(slug)
    data = opinions.page(consultation.id)
    opinions.maybe_schedule(consultation.id)
    return render_template(
        "themes/opinions.html",
        consultation=consultation,
        data=data,
        summary=data["summary"],
        **_opinion_map(consultation),
        label=label,
        percent=percent,
        group_name=group_name,
        active="opinions",
    )


@bp.get("/<slug>/balance")
def balance_page(slug):
    consultation = _public(slug)
    return render_template(
        "themes/balance.html",
        consultation=consultation,
        balance=opinions.balance(consultation.id),
        label=label,
        percent=percent,
        active="balance",
    )


def _opinion_map(consultation) -> dict:
    """The opinion map with the reader on it (``web/opinion_map.py`` draws it)."""
    from flask_login import current_user

    from agora.services.analysis import opinion_map
    from agora.web import opinion_map as map_view

    omap = opinion_map.opinion_map(consultation.id, current_user if current_user.is_authenticated else None)
    if omap is None:
        return {"omap": None}
    return {
        "omap": omap,
        "map_svg": map_view.svg(omap),
        "map_names": map_view.names(omap),
        "map_summary": map_view.summary(omap),
    }


# --------------------------------------------------------------------------- SVG


def _attr(value) -> str:
    return str(escape(value))


def theme_map(summary: dict, width: int = 640, height: int = 400) -> Markup:
    """Each view a dot at its 2-D position, coloured and numbered by theme, the numbers never on
    top of each other; title and description (the legend and the table carry the names)."""
    points = summary.get("points") or []
    order = {t["id"]: i for i, t in enumerate(summary["themes"])}
    pad = 16
    # The projection has long tails and a dense core: each axis is drawn by rank (order kept,
    # spacing evened out) so the core does not collapse into a corner.
    rank_x = _ranks([p[0] for p in points])
    rank_y = _ranks([p[1] for p in points])

    def at(i):
        return pad + rank_x[i] * (width - 2 * pad), height - pad - rank_y[i] * (height - 2 * pad)

    title = _("Map of %(n)s views by theme", n=len(points))
    description = _(
        "Each dot is a view; views that say similar things, in any language, tend to be close "
        "together (each axis is drawn by rank, so the spacing shows order, not distance). Colours "
        "and numbers show the themes listed below; grey dots are views in no theme. The themes' "
        "names and sizes are in the list that follows."
    )
    parts = [
        f'<svg class="theme-map" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-labelledby="map-title map-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="map-title">{escape(title)}</title><desc id="map-desc">{escape(description)}</desc>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff" stroke="#c9d0d9"/>',
    ]
    centres: dict[int, list] = {}
    for i, (_x, _y, theme_id) in enumerate(points):
        cx, cy = at(i)
        index = order.get(theme_id, -1)
        parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3" fill="{_attr(colour(index))}" fill-opacity="0.75"/>')
        if index >= 0:
            centres.setdefault(index, []).append((cx, cy))
    placed: list[tuple[float, float]] = []
    for index, spots in sorted(centres.items()):
        cx, cy = free_spot(
            sum(s[0] for s in spots) / len(spots), sum(s[1] for s in spots) / len(spots), placed, width, height, pad
        )
        placed.append((cx, cy))
        parts.append(
            f'<text x="{cx:.1f}" y="{cy:.1f}" font-size="14" font-weight="700" text-anchor="middle" '
            f'fill="#1b1f24" stroke="#ffffff" stroke-width="3" paint-order="stroke">{index + 1}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _ranks(values: list) -> list[float]:
    """Each value's rank scaled to [0, 1] (ties share the mean rank)."""
    if len(values) < 2:
        return [0.5] * len(values)
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 / (len(values) - 1)
        i = j + 1
    return ranks


def trend_chart(theme: dict, weeks: list[str], width: int = 160, height: int = 36) -> Markup:
    """Views per week as small bars, with the figures in its title (a table follows it too)."""
    counts = theme.get("weekly") or []
    top = max(counts or [0]) or 1
    bar = width / max(1, len(counts))
    figures = ", ".join(f"{w}: {n}" for w, n in zip(weeks, counts))
    title = _("Views per week in “%(label)s”: %(figures)s", label=theme["label"], figures=figures)
    parts = [
        f'<svg class="trend" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<line x1="0" y1="{height - 0.5}" x2="{width}" y2="{height - 0.5}" stroke="#6b7480" stroke-width="1"/>',
    ]
    for i, n in enumerate(counts):
        h = (height - 2) * n / top
        parts.append(
            f'<rect x="{i * bar + 0.5:.1f}" y="{height - 1 - h:.1f}" width="{max(bar - 1, 1):.1f}" height="{h:.1f}" fill="#0b5cad"/>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def swatch(index: int) -> Markup:
    """A small colour square for a legend (decorative: the number and label carry the meaning)."""
    return Markup(
        f'<svg class="swatch" width="12" height="12" aria-hidden="true" focusable="false" '
        f'xmlns="http://www.w3.org/2000/svg"><rect width="12" height="12" fill="{_attr(colour(index))}"/></svg>'
    )


@bp.app_template_global("theme_swatch")
def _swatch_global(index: int) -> Markup:
    return swatch(index)
