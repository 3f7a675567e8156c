"""Template filters and globals."""
from flask import current_app, request, url_for
from flask_babel import format_date, format_datetime, format_decimal, get_locale

from agora import permissions
from agora.services import charts
from agora.models.consultation import STAGES
from agora.models.user import CONSTITUENCIES, GENDERS
from agora.services.sanitize import render_text

RTL_LANGUAGES = {"ar", "he", "fa", "ur"}


def register_template_helpers(app) -> None:
    app.jinja_env.filters["render_text"] = render_text
    app.jinja_env.filters["date"] = lambda value: format_date(value, "medium") if value else ""
    app.jinja_env.filters["number"] = lambda value: format_decimal(value or 0)
    app.jinja_env.filters["datetime"] = lambda value: format_datetime(value, "short") if value else ""

    @app.context_processor
    def inject():
        locale = str(get_locale() or "en")
        return {
            "STAGES": STAGES,
            "CONSTITUENCIES": CONSTITUENCIES,
            "GENDERS": GENDERS,
            "LANGUAGES": current_app.config["LANGUAGES"],
            "LANGUAGE_NAMES": LANGUAGE_NAMES,
            "current_locale": locale,
            "text_direction": "rtl" if locale in RTL_LANGUAGES else "ltr",
            "url_with": url_with,
            "can_moderate_anywhere": permissions.can_moderate_anywhere,
            "charts": charts,
            "forums": _forums,
            "rows_of": lambda rows: [("Not stated" if r["key"] == "not_stated" else r["label"], r["count"]) for r in rows],
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


def url_with(**changes) -> str:
    """The current URL with some query arguments changed (pagination, sorting, language)."""
    args = request.args.to_dict()
    args.update({k: v for k, v in changes.items() if v is not None})
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def _forums():
    from agora.services import reports

    return reports.forums()
