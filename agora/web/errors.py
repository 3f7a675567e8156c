"""Errors become a clear page (or JSON under /api/) with the right status; never a raw 500."""

import logging

from flask import jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from agora.extensions import db
from agora.services.errors import AgoraError

log = logging.getLogger(__name__)


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(status: int, code: str, message: str, field: str | None = None, headers=None):
    if wants_json():
        body = {"error": {"code": code, "message": message}}
        if field:
            body["error"]["field"] = field
        response = jsonify(body)
    else:
        response = render_template("errors/error.html", status=status, message=message), status
        from flask import make_response

        response = make_response(response)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def register(app) -> None:
    @app.errorhandler(AgoraError)
    def domain_error(error: AgoraError):
        db.session.rollback()
        return error_response(error.status, error.code, error.message, error.field)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return error_response(
            400,
            "csrf",
            _("This form has expired or did not come from this site. Please go back, reload the page and try again."),
        )

    @app.errorhandler(429)
    def rate_limited(error):
        retry = getattr(error, "retry_after", None)
        headers = {"Retry-After": str(int(retry))} if retry else None
        return error_response(
            429, "rate_limited", _("Too many requests. Please wait a moment and try again."), headers=headers
        )

    @app.errorhandler(OperationalError)
    def database_unavailable(error):
        db.session.rollback()
        log.warning("database unavailable: %s", error)
        return error_response(
            503,
            "unavailable",
            _("The database is busy or unavailable. Nothing was saved; please try again in a few seconds."),
            headers={"Retry-After": "5"},
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        messages = {
            400: _("The request could not be understood."),
            403: _("You are not allowed to do this."),
            404: _("This page does not exist."),
            405: _("This method is not allowed here."),
            413: _("What you sent is too large."),
        }
        code = (error.name or "error").lower().replace(" ", "_")
        # Keep the exception's own headers that matter to clients (Allow on 405, Retry-After).
        kept = {k: v for k, v in error.get_headers() if k in ("Allow", "Retry-After", "WWW-Authenticate")}
        return error_response(error.code or 500, code, messages.get(error.code, error.description or ""), headers=kept)

    @app.errorhandler(Exception)
    def unexpected(error):
        db.session.rollback()
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(
            500, "internal", _("Something went wrong on our side. Nothing you sent was lost if you saw it confirmed.")
        )
