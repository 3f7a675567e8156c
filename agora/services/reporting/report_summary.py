"""A report's one-page summary, made from the report's own numbers and nothing else.

``summarise(content)`` reads a built report (agora.services.reporting.reports.build) and returns claims:
each has a kind, the numbers it states, the statements it rests on (submission ids) and the
anchors of those statements' entries further down the report. ``sentence(claim, ...)`` words a
claim with gettext/ngettext, so a page reads it in its reader's language; the frozen JSON holds
the English wording beside the numbers, which never depend on the reader's language.
"""

from collections.abc import Callable, Iterable
from typing import Protocol

THEMES_SHOWN = 3
QUOTES_SHOWN = 1  # each theme's quote closest to its centre: the summary fits one page
STATEMENTS_SHOWN = 2
QUOTE_CHARS = 160


class Gettext(Protocol):
    def __call__(self, message: str, **values: object) -> str: ...


class Ngettext(Protocol):  # ``%(num)s`` is ``n``, formatted
    def __call__(self, singular: str, plural: str, n: int, **values: object) -> str: ...


def statement_anchor(kind: str, submission_id: int, owner: object = None) -> str:
    """The id of a statement's entry in the report (the same function writes and links it)."""
    if kind == "theme":
        return f"theme-{owner}-statement-{submission_id}"
    if kind == "group":
        return f"group-{owner}-statement-{submission_id}"
    return f"{kind}-statement-{submission_id}"  # "agreed", "divisive"


def _claim(
    section: str, kind: str, values: dict | None = None, statements: Iterable[int] = (), anchors: Iterable[str] = ()
) -> dict:
    return {
        "section": section,
        "kind": kind,
        "values": values or {},
        "statements": list(statements),
        "anchors": list(anchors),
    }


def _asked(content: dict) -> list[dict]:
    c = content["consultation"]
    return [
        _claim(
            "asked",
            "asked",
            {"title": c.get("title"), "question": c.get("summary"), "forum": c.get("forum")},
            anchors=["asked"],
        )
    ]


def _who(content: dict, placed: int | None) -> list[dict]:
    p = content["participation"]
    balance = p.get("balance") or {}
    claims = [
        _claim(
            "who",
            "participation",
            {k: p[k] for k in ("participants", "submitters", "submissions", "voters", "votes")},
            anchors=["who"],
        )
    ]
    verdict = balance.get("verdict")
    declared = balance.get("declared") or {}
    if verdict == "unknown":
        claims.append(_claim("who", "balance_unknown", {"participants": p["participants"]}, anchors=["who"]))
    elif verdict == "dominated":
        top, region = balance.get("largest_constituency"), balance.get("largest_region")
        if top and top["share_of_stated"] > 0.5:
            claims.append(
                _claim(
                    "who",
                    "dominant_constituency",
                    {"label": top["label"], "share": top["share_of_stated"], "declared": declared.get("constituency")},
                    anchors=["who"],
                )
            )
        if region and region["share_of_stated"] > 0.6:
            claims.append(
                _claim(
                    "who",
                    "dominant_region",
                    {"label": region["label"], "share": region["share_of_stated"], "declared": declared.get("country")},
                    anchors=["who"],
                )
            )
    elif verdict == "no_dominance":
        claims.append(
            _claim(
                "who",
                "balanced",
                {
                    "constituency": declared.get("constituency", 0),
                    "country": declared.get("country", 0),
                    "participants": p["participants"],
                },
                anchors=["who"],
            )
        )
    if placed is not None:
        claims.append(
            _claim(
                "who",
                "placed",
                {"placed": placed, "voters": p["voters"], "participants": p["participants"]},
                anchors=["divide"],
            )
        )
    return claims


def _themes(content: dict) -> list[dict]:
    items = content["themes"].get("items") or []
    if not items:
        return [_claim("themes", "no_themes", anchors=["said"])]
    unassigned = content["themes"].get("unassigned") or 0
    claims = [
        _claim(
            "themes",
            "themes",
            {"themes": len(items), "submissions": content["participation"]["submissions"], "unassigned": unassigned},
            anchors=["said"],
        )
    ]
    for theme in sorted(items, key=lambda t: (-t["size"], t["id"]))[:THEMES_SHOWN]:
        ids = [q["submission_id"] for q in theme["quotes"]][:QUOTES_SHOWN]
        claims.append(
            _claim(
                "themes",
                "theme",
                {"theme_id": theme["id"], "label": theme["label"], "size": theme["size"], "share": theme["share"]},
                ids,
                [statement_anchor("theme", sid, theme["id"]) for sid in ids],
            )
        )
    return claims


def _groups(opinions: dict, cited: set[int]) -> list[dict]:
    """Each group's most characteristic statement, the first not cited already when there is one."""
    groups = opinions.get("groups") or []
    claims = []
    for group in groups:
        candidates = [s for s in group.get("representative") or [] if s.get("direction") and s.get("group")]
        first = next((s for s in candidates if s["submission_id"] not in cited), candidates[0] if candidates else None)
        if first is None:
            continue
        cited.add(first["submission_id"])
        direction = first["direction"]
        claims.append(
            _claim(
                "split",
                f"group_{direction}",
                {
                    "group": group["letter"],
                    "size": group["size"],
                    "group_share": first["group"][direction],
                    "everyone_share": first["everyone"][direction],
                },
                [first["submission_id"]],
                [statement_anchor("group", first["submission_id"], group["letter"])],
            )
        )
    return claims


def _agreed(opinions: dict) -> list[dict]:
    claims = []
    for s in (opinions.get("consensus") or [])[:STATEMENTS_SHOWN]:
        shares = [g["agree"] for g in (s.get("groups") or {}).values() if g.get("agree") is not None]
        if not shares or s.get("everyone", {}).get("agree") is None:
            continue
        claims.append(
            _claim(
                "agree",
                "agreed",
                {"everyone": s["everyone"]["agree"], "lowest": min(shares), "votes": s["everyone"]["votes"]},
                [s["submission_id"]],
                [statement_anchor("agreed", s["submission_id"])],
            )
        )
    if not claims:
        claims.append(_claim("agree", "agreed_none", {"groups": len(opinions.get("groups") or [])}, anchors=["agreed"]))
    return claims


def _divided(opinions: dict) -> list[dict]:
    claims = []
    for s in opinions.get("divisive") or []:
        groups = {letter: g for letter, g in (s.get("groups") or {}).items() if g.get("votes")}
        if len(groups) < 2:
            continue
        agreeing = max(sorted(groups), key=lambda k: groups[k]["agree"])
        disagreeing = max(sorted(k for k in groups if k != agreeing), key=lambda k: groups[k]["disagree"])
        claims.append(
            _claim(
                "split",
                "split",
                {
                    "agree_group": agreeing,
                    "agree": groups[agreeing]["agree"],
                    "disagree_group": disagreeing,
                    "disagree": groups[disagreeing]["disagree"],
                },
                [s["submission_id"]],
                [statement_anchor("divisive", s["submission_id"])],
            )
        )
        if len(claims) == STATEMENTS_SHOWN:
            break
    if not claims:
        claims.append(_claim("split", "split_none", anchors=["divisive"]))
    return claims


def summarise(content: dict) -> dict:
    """The summary of a built report: what was asked, who took part (with the balance verdict),
    the main themes, where the opinion groups agree and where they split; each claim with the
    statements it rests on."""
    opinions = content.get("opinions") or {}
    groups = opinions.get("groups") or []
    placed = sum(g["size"] for g in groups) if groups else None
    claims = _asked(content) + _who(content, placed) + _themes(content)
    if groups:
        claims += [_claim("agree", "groups", {"groups": len(groups), "placed": placed}, anchors=["divide"])]
        claims += _agreed(opinions) + _divided(opinions)
        claims += _groups(opinions, {sid for claim in claims for sid in claim["statements"]})
    elif content["participation"]["votes"]:
        claims.append(_claim("split", "no_groups", {"votes": content["participation"]["votes"]}, anchors=["divide"]))
    texts = {}
    for theme in content["themes"].get("items") or []:
        texts.update({q["submission_id"]: q["text"] for q in theme["quotes"]})
    for kind in ("consensus", "divisive"):
        texts.update({s["submission_id"]: s["text"] for s in opinions.get(kind) or []})
    for group in groups:
        texts.update({s["submission_id"]: s["text"] for s in group.get("representative") or []})
    english = English()
    for claim in claims:
        claim["text"] = sentence(claim, english.gettext, english.ngettext, english.number, english.percent)
    cited = sorted({sid for claim in claims for sid in claim["statements"]})
    return {
        "claims": claims,
        "statements": {str(sid): _short(texts[sid]) for sid in cited if sid in texts},
    }


def _short(text: str) -> str:
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1].rstrip() + "…"


class English:
    """gettext and ngettext in English without a catalogue, numbers formatted (the frozen JSON)."""

    @staticmethod
    def gettext(message: str, **values: object) -> str:
        return message % values if values else message

    @staticmethod
    def ngettext(singular: str, plural: str, n: int, **values: object) -> str:
        return (singular if n == 1 else plural) % {"num": English.number(n), **values}

    @staticmethod
    def number(n: float) -> str:
        return f"{n:,}"

    @staticmethod
    def percent(x: float) -> str:
        return f"{round(x * 100)} %"


def for_reader(summary: dict | None) -> list[dict]:
    """The summary's claims worded in the current request's language (a page, the PDF)."""
    if not summary:
        return []
    from flask_babel import format_decimal, get_translations

    def gettext(message: str, **values: object) -> str:
        text = get_translations().ugettext(message)
        return text % values if values else text

    def ngettext(
        singular: str, plural: str, n: int, **values: object
    ) -> str:  # %(num)s in the reader's digits and separators
        return get_translations().ungettext(singular, plural, n) % {"num": format_decimal(n), **values}

    def percent(x: float) -> str:
        return format_decimal(round(x * 100)) + "\u00a0%"

    return [
        {**claim, "text": sentence(claim, gettext, ngettext, format_decimal, percent)}
        for claim in summary.get("claims") or []
    ]


def _isolated(text: str) -> str:
    return f"\u2068{text}\u2069" if text else text


def sentence(
    claim: dict, _: Gettext, ngettext: Ngettext, number: Callable[[float], str], percent: Callable[[float], str]
) -> str:
    """One claim in words; ``_``/``ngettext`` translate, ``number``/``percent`` format."""
    v, kind = claim["values"], claim["kind"]
    if kind == "asked":
        # The consultation's own words keep their direction inside a sentence of the other one
        # (an English question on an Arabic page): each is a first-strong isolate (FSI … PDI).
        text = _("Asked: “%(title)s”.", title=_isolated(v["title"]))
        if v.get("question"):
            text += " " + _isolated(v["question"])
        if v.get("forum"):
            text += " " + _("For: %(forum)s.", forum=_isolated(v["forum"]))
        return text
    if kind == "participation":
        return " ".join(
            (
                ngettext("%(num)s participant took part.", "%(num)s participants took part.", v["participants"]),
                ngettext(
                    "%(num)s of them wrote the published views;",
                    "%(num)s of them wrote the published views;",
                    v["submitters"],
                ),
                ngettext("%(num)s view was published.", "%(num)s views were published.", v["submissions"]),
                ngettext("%(num)s of them voted,", "%(num)s of them voted,", v["voters"]),
                ngettext("casting %(num)s vote.", "casting %(num)s votes.", v["votes"]),
            )
        )
    if kind == "balance_unknown":
        return ngettext(
            "Balance unknown: the %(num)s participant declared no constituency, country or gender, so who took part cannot be told apart.",
            "Balance unknown: none of the %(num)s participants declared a constituency, a country or a gender, so who took part cannot be told apart.",
            v["participants"],
        )
    if kind == "dominant_constituency":
        return ngettext(
            "Not balanced: %(label)s is %(share)s of the %(num)s participant who declared a constituency.",
            "Not balanced: %(label)s is %(share)s of the %(num)s participants who declared a constituency.",
            v["declared"] or 0,
            label=_(v["label"]),
            share=percent(v["share"]),
        )
    if kind == "dominant_region":
        return ngettext(
            "Not balanced: %(label)s is %(share)s of the %(num)s participant who declared a country.",
            "Not balanced: %(label)s is %(share)s of the %(num)s participants who declared a country.",
            v["declared"] or 0,
            label=_(v["label"]),
            share=percent(v["share"]),
        )
    if kind == "balanced":
        return ngettext(
            "No constituency or region dominates among those who declared one (%(num)s participant declared a constituency, %(countries)s a country).",
            "No constituency or region dominates among those who declared one (%(num)s participants declared a constituency, %(countries)s a country).",
            v["constituency"],
            countries=number(v["country"]),
        )
    if kind == "placed":
        return ngettext(
            "%(num)s of the %(total)s participants voted on enough statements to be placed in an opinion group; the others are counted here but in no group.",
            "%(num)s of the %(total)s participants voted on enough statements to be placed in an opinion group; the others are counted here but in no group.",
            v["placed"],
            total=number(v["participants"]),
        )
    if kind == "no_themes":
        return _("No themes: there were no published submissions.")
    if kind == "themes":
        text = ngettext(
            "The published views fall into %(num)s theme. The largest:",
            "The published views fall into %(num)s themes. The largest:",
            v["themes"],
        )
        if v.get("unassigned"):  # the claim above holds only for the others
            text = ngettext("%(num)s view fits no theme.", "%(num)s views fit no theme.", v["unassigned"]) + " " + text
        return text
    if kind == "theme":
        return ngettext(
            "“%(label)s”: %(num)s view (%(share)s), for example:",
            "“%(label)s”: %(num)s views (%(share)s), for example:",
            v["size"],
            label=v["label"],
            share=percent(v["share"]),
        )
    if kind == "groups":
        return ngettext("The votes form %(num)s opinion group.", "The votes form %(num)s opinion groups.", v["groups"])
    if kind == "no_groups":
        return _("Too few votes to find opinion groups.")
    if kind == "agreed":
        return _(
            "Agreed in every opinion group: %(everyone)s of everyone who voted on it agree, and at least %(lowest)s in each group:",
            everyone=percent(v["everyone"]),
            lowest=percent(v["lowest"]),
        )
    if kind == "agreed_none":
        return _("No statement is agreed by a majority in every opinion group.")
    if kind == "split":
        return _(
            "The groups split: %(agree)s of %(agree_group)s agree, %(disagree)s of %(disagree_group)s disagree:",
            agree=percent(v["agree"]),
            agree_group=_("Group %(letter)s", letter=v["agree_group"]),
            disagree=percent(v["disagree"]),
            disagree_group=_("Group %(letter)s", letter=v["disagree_group"]),
        )
    if kind == "split_none":
        return _("No statement divides the opinion groups.")
    if kind in ("group_agree", "group_disagree"):
        values = {
            "group": _("Group %(letter)s", letter=v["group"]),
            "share": percent(v["group_share"]),
            "everyone": percent(v["everyone_share"]),
        }
        if kind == "group_agree":
            return ngettext(
                "%(group)s (%(num)s participant) stands out by agreeing: %(share)s of the group agree, against %(everyone)s of everyone:",
                "%(group)s (%(num)s participants) stands out by agreeing: %(share)s of the group agree, against %(everyone)s of everyone:",
                v["size"],
                **values,
            )
        return ngettext(
            "%(group)s (%(num)s participant) stands out by disagreeing: %(share)s of the group disagree, against %(everyone)s of everyone:",
            "%(group)s (%(num)s participants) stands out by disagreeing: %(share)s of the group disagree, against %(everyone)s of everyone:",
            v["size"],
            **values,
        )
    raise ValueError(f"unknown summary claim {kind!r}")
