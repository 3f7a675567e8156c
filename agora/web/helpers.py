"""Template filters and globals."""

import hashlib
import os
import re

from flask import current_app, request, url_for
from flask_babel import format_date, format_decimal, format_time, get_locale
from markupsafe import Markup

from agora import permissions
from agora.i18n import N_, translate, translated
from agora.models.consultation import STAGES
from agora.models.user import CONSTITUENCIES, GENDERS
from agora.services.analysis import charts
from agora.services.participation import submissions
from agora.services.sanitize import render_text

RTL_LANGUAGES = {"ar", "he", "fa", "ur"}


def register_template_helpers(app) -> None:
    app.jinja_env.filters["render_text"] = render_text
    app.jinja_env.filters["date"] = lambda value: format_date(_as_datetime(value), "medium") if value else ""
    app.jinja_env.filters["number"] = lambda value: format_decimal(value or 0)
    app.jinja_env.filters["datetime"] = datetime_with_zone
    app.jinja_env.filters["t"] = translate  # a label from a table marked with N_
    app.jinja_env.filters["report_title"] = report_title
    app.jinja_env.filters["language_name"] = language_name
    app.jinja_env.filters["moderation_label"] = moderation_label
    app.jinja_env.globals["localized"] = localized
    app.jinja_env.globals["unique_id"] = unique_id
    app.jinja_env.filters["bdi"] = lambda value: Markup("<bdi>%s</bdi>") % (value or "")  # a name inside a sentence
    app.jinja_env.globals["shown_constituency"] = lambda submission: submissions.shown_profile(submission)[0]
    app.url_defaults(static_version)

    @app.context_processor
    def inject():
        locale = str(get_locale() or "en")
        return {
            "STAGES": translated(STAGES),
            "STATUS_LABELS": translated(STATUS_LABELS),
            "REPORT_STATES": translated(REPORT_STATES),
            "TRANSMISSION_STATES": translated(TRANSMISSION_STATES),
            "SUBMISSION_STATES": translated(SUBMISSION_STATES),
            "CONSTITUENCIES": translated(CONSTITUENCIES),
            "GENDERS": translated(GENDERS),
            "LANGUAGES": current_app.config["LANGUAGES"],
            "LANGUAGE_NAMES": LANGUAGE_NAMES,
            "current_locale": locale,
            "text_direction": "rtl" if locale in RTL_LANGUAGES else "ltr",
            "url_with": url_with,
            "can_moderate_anywhere": permissions.can_moderate_anywhere,
            "charts": charts.for_direction(locale in RTL_LANGUAGES),
            "forums": _forums,
            "rows_of": lambda rows: [
                (translate("Not stated") if r["key"] == "not_stated" else translate(r["label"]), r["count"])
                for r in rows
            ],
            "theme_rows": lambda items: [(t["label"], t["size"]) for t in items],
            "theme_legend": lambda items: {t["id"]: t["label"] for t in items},
        }


LANGUAGE_NAMES = {
    "en": "English",
    "fr": "Français",
    "es": "Español",
    "ar": "العربية",
    "zh": "中文",
    "ru": "Русский",
}


def _as_datetime(value):
    """A date or time as Babel wants it, also from an ISO string kept in a frozen report's JSON."""
    if isinstance(value, str):
        from datetime import datetime

        return datetime.fromisoformat(value)
    return value


def datetime_with_zone(value) -> str:
    """The site's one date-time format: the locale's medium date, its short time and the time zone
    ("14 May 2031, 09:30 UTC", "2031年5月14日 09:30 UTC"), so a hearing's time is never ambiguous."""
    if not value:
        return ""
    value = _as_datetime(value)
    from babel import Locale

    locale = get_locale() or Locale.parse("en")
    time = format_time(value, "short") + " " + format_time(value, "z")
    return locale.datetime_formats["medium"].format(time, format_date(value, "medium"))


def unique_id(prefix: str) -> str:
    """An id no other element of this page has (``table-3``), for aria-labelledby in loops and includes."""
    from flask import g

    g._agora_ids = g.get("_agora_ids", 0) + 1
    return f"{prefix}-{g._agora_ids}"


def localized(consultation):
    """The consultation's title, summary and briefing in the reader's language when translated.

    One query per request loads every translation into the current language (lists show many)."""
    from flask import g

    from agora.services.participation import consultations

    locale = str(get_locale() or "en")
    cache = getattr(g, "_consultation_translations", None)
    if cache is None or cache[0] != locale:
        cache = g._consultation_translations = (locale, consultations.translations_in(locale))
    found = cache[1].get(consultation.id)
    if found is None:
        return consultations.localized(consultation, locale, translation=False)
    return consultations.localized(consultation, locale, translation=found)


# Stored values in words, for every page that shows them (never the raw "draft", "failed").
STATUS_LABELS = {"draft": N_("Draft"), "open": N_("Open"), "closed": N_("Closed"), "reported": N_("Reported")}
REPORT_STATES = {"draft": N_("Draft"), "frozen": N_("Frozen")}
TRANSMISSION_STATES = {
    "recorded": N_("recorded"),
    "pending": N_("being delivered"),
    "delivered": N_("delivered"),
    "failed": N_("delivery failed"),
}
SUBMISSION_STATES = {
    "pending": N_("waiting for screening"),
    "published": N_("published"),
    "held": N_("held"),
    "hidden": N_("hidden"),
    "rejected": N_("rejected"),
}
REPORT_TITLE = re.compile(r"^Report on “(?P<title>.*)”(?: — (?P<hearing>.*))?$", re.S)


def report_title(title: str) -> str:
    """A report's stored (English) title in the reader's language: 'Report on “X”' becomes
    'Rapport sur « X »'; the consultation's and hearing's own titles stay as written."""
    found = REPORT_TITLE.match(title or "")
    if not found:
        return title
    words = translate("Report on “%(title)s”") % {"title": found["title"]}
    return words + (" — " + found["hearing"] if found["hearing"] else "")


N_("Report on “%(title)s”")
# The UN M49 regions of agora/data/countries.json, as reports and breakdowns name them.
REGION_NAMES = (N_("Africa"), N_("Americas"), N_("Antarctica"), N_("Asia"), N_("Europe"), N_("Oceania"))
N_("automatic hold: %(reason)s")
MODERATION_WORDS = {
    "publish": N_("Published at once"),
    "hold": N_("Held for review"),
    "hide": N_("Hidden"),
    "reject": N_("Rejected"),
    "approve": N_("Approved"),
    "restore": N_("Restored on appeal"),
    "uphold": N_("Upheld on appeal"),
    "appeal": N_("Appealed"),
    "keep": N_("Kept published"),
    "score": N_("model score"),
    "automatic hold: score": N_("automatic hold: model score"),
}


def moderation_label(key) -> str:
    """A moderation action or reason key ("hide", "abuse", "automatic hold: links") in words."""
    from agora.models.moderation import CODE_OF_CONDUCT

    if not key:
        return ""
    key = str(key)
    if key in MODERATION_WORDS:
        return translate(MODERATION_WORDS[key])
    if key in CODE_OF_CONDUCT:
        return translate(CODE_OF_CONDUCT[key])
    if key.startswith("automatic hold: "):
        return translate("automatic hold: %(reason)s") % {"reason": moderation_label(key.split(": ", 1)[1])}
    return key


def language_name(code: str) -> str:
    """A language code's name in the reader's language ("fr" -> "French", "français", "法语")."""
    from babel import Locale, UnknownLocaleError

    if not code:
        return ""
    try:
        name = Locale.parse(code.replace("-", "_")).get_display_name(get_locale() or "en")
    except (ValueError, TypeError, UnknownLocaleError):
        return code
    return name or code


_static_hashes: dict[tuple[str, float], str] = {}


def static_version(endpoint, values) -> None:
    """Static URLs carry a hash of the file's content (``?v=``): they are cached for a year
    (immutable), so the URL must change whenever the file does."""
    if endpoint != "static" or "filename" not in values or "v" in values:
        return
    path = os.path.join(current_app.static_folder, values["filename"])
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return
    key = (path, mtime)
    digest = _static_hashes.get(key)
    if digest is None:
        with open(path, "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()[:12]
        _static_hashes[key] = digest
    values["v"] = digest


def url_with(**changes) -> str:
    """The current URL with some query arguments changed (pagination, sorting, language)."""
    args = request.args.to_dict()
    args.update({k: v for k, v in changes.items() if v is not None})
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def _forums():
    from agora.services.reporting import reports

    return reports.forums()
