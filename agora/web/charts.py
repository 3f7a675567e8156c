"""What the analysis pages' charts share: the palette, the names of groups and breakdown keys,
and where a label goes so that no two cover each other (the themes map and the opinion map)."""

import math

from flask_babel import format_percent
from flask_babel import gettext as _

from agora.i18n import translate
from agora.models.user import CONSTITUENCIES, GENDERS
from agora.services.analysis import opinions, themes

# Colour-blind-safe, each at least 3:1 against white; the map also numbers each theme.
PALETTE = ("#0072B2", "#C44E00", "#007A5A", "#AA3377", "#7A5C00", "#2F5597", "#882255", "#117733", "#332288", "#6B4C9A")
OTHER_COLOUR = "#6B7280"


def label(dimension: str, key) -> str:
    """A readable, translated name for a breakdown key."""
    key = "" if key is None else str(key)
    if key in ("", themes.NOT_STATED):
        return _("Not stated")
    if dimension == "constituency":
        return translate(CONSTITUENCIES.get(key, key))
    if dimension == "gender":
        return translate(GENDERS.get(key, key))
    if dimension == "global_south":
        return {"south": _("Global South"), "north": _("Global North")}.get(key, key)
    return translate(key)  # a region (UN M49) is marked for translation in agora.web.helpers


def percent(value) -> str:
    return "–" if value is None else format_percent(value, "#,##0%")


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)] if index >= 0 else OTHER_COLOUR


def group_name(kind: str, index: int, key) -> str:
    """Vote-derived groups are lettered (A, B, …); declared groups keep their own name."""
    if kind == "vote":  # lettered by the group's number, as in the reports (opinions.group_letter)
        return _("Group %(letter)s", letter=opinions.group_letter(key, index))
    return label(kind, key)


def free_spot(x: float, y: float, taken: list, width: int, height: int, pad: int, gap: float = 20.0):
    """The nearest point to (x, y) on a spiral of steps that is at least ``gap`` from every label
    already placed, inside the frame: two themes' numbers never cover each other."""
    for step in range(200):
        angle, radius = step * 0.9, gap * 0.35 * step
        cx = min(max(x + radius * math.cos(angle), pad), width - pad)
        cy = min(max(y + radius * math.sin(angle), pad + 6), height - pad)
        if all((cx - a) ** 2 + (cy - b) ** 2 >= gap * gap for a, b in taken):
            return cx, cy
    return x, y
