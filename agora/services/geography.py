"""Countries (ISO 3166-1 alpha-2) and their UN M49 region and Global South status.

Data: agora/data/countries.json, derived from country_converter's table (GPL-3), with
"Global South" as UNCTAD's developing economies: every country outside Europe, Northern
America, Japan, Israel, the Republic of Korea, Australia and New Zealand.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path


@dataclass(frozen=True)
class Country:
    code: str
    name: str
    region: str
    subregion: str
    global_south: bool


@cache
def countries() -> dict[str, Country]:
    raw = json.loads((Path(__file__).parent.parent / "data" / "countries.json").read_text("utf-8"))
    return {code: Country(code=code, **info) for code, info in raw.items()}


def country(code: str | None) -> Country | None:
    if not code:
        return None
    return countries().get(code.upper())


def choices(locale: str | None = None) -> list[tuple[str, str]]:
    """(code, name) of every country, named in ``locale`` when given (CLDR names through Babel:
    "Kenya", "肯尼亚", "كينيا"), sorted by name."""
    names: Mapping[str, str] = {}
    if locale:
        from babel import Locale, UnknownLocaleError

        try:
            names = Locale.parse(locale).territories
        except (ValueError, UnknownLocaleError):
            names = {}
    found = ((c.code, names.get(c.code, c.name)) for c in countries().values())
    return sorted(found, key=lambda pair: pair[1].casefold())
