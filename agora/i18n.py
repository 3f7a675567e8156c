"""Translation helpers shared by every layer.

``N_`` marks a string for extraction without translating it (label tables in models and services
stay English, so frozen reports and JSON never depend on the reader's language); pages translate
them when they show them, with ``translated`` or the ``t`` template filter.
"""


def N_(message: str) -> str:
    """Mark ``message`` for extraction (pybabel -k N_); returns it unchanged."""
    return message


def translate(message):
    """``message`` in the current request's language when the catalogue has it, else unchanged."""
    if not message or not isinstance(message, str):
        return message
    from flask import has_request_context
    from flask_babel import gettext

    if not has_request_context():
        return message
    return gettext(message)


def translated(mapping: dict) -> dict:
    """A copy of a label table with its values translated for the current request."""
    return {key: translate(value) for key, value in mapping.items()}


def install_template_gettext(app) -> None:
    """Templates call ``_()`` a hundred times a page; Flask-Babel's callables look the request's
    catalogue up anew on every call. Ours look it up once per request (kept on ``g``)."""
    from flask import g
    from flask_babel import get_translations

    def catalogue():
        found = g.get("_agora_catalogue")
        if found is None:
            found = g._agora_catalogue = get_translations()
        return found

    app.jinja_env.install_gettext_callables(
        gettext=lambda s: catalogue().ugettext(s),
        ngettext=lambda s, p, n: catalogue().ungettext(s, p, n),
        pgettext=lambda c, s: catalogue().upgettext(c, s),
        npgettext=lambda c, s, p, n: catalogue().unpgettext(c, s, p, n),
        newstyle=True,
    )
