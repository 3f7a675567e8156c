"""The SMS gateway's endpoint: a signed form post (from, text, id) becomes a view; the plain-text
reply is what the gateway relays to the sender. CSRF does not apply (no browser, no cookie):
the HMAC signature of a recent timestamp and the raw body is the authentication."""

from urllib.parse import parse_qs

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from agora import permissions
from agora.extensions import csrf, limiter
from agora.services.errors import AgoraError, Forbidden
from agora.services.participation import consultations, sms
from agora.web.ratelimits import user_or_ip

bp = Blueprint("sms", __name__, url_prefix="/sms")

INBOUND_LIMIT = "120 per minute"


def _plain(body: str, status: int, outcome: str):
    return body + "\n", status, {"Content-Type": "text/plain; charset=utf-8", "X-Agora-Outcome": outcome}


@bp.post("/inbound")
@csrf.exempt
@limiter.limit(INBOUND_LIMIT)
def inbound():
    body = request.get_data(cache=True)  # the raw bytes the gateway signed
    try:
        sms.verify_signature(
            current_app.config.get("SMS_SECRET"),
            body,
            request.headers.get("X-Agora-Signature"),
            request.headers.get("X-Agora-Timestamp"),
        )
    except AgoraError as error:
        return _plain(error.message, error.status, error.code)
    try:
        # strict: percent-escapes that are not UTF-8 are refused, not replaced (the text would be stored changed)
        fields = parse_qs(
            body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=20, errors="strict"
        )
    except (UnicodeDecodeError, ValueError):
        return _plain("The body must be a UTF-8 form post with from and text.", 400, "bad_request")
    first = lambda name: (fields.get(name) or [None])[0]  # noqa: E731
    salt = sms.salt_from(current_app.config["SECRET_KEY"], current_app.config.get("SMS_SALT"))
    try:
        reply = sms.receive(
            first("from"),
            first("text"),
            salt=salt,
            max_chars=current_app.config["SUBMISSION_MAX_CHARS"],
            message_id=first("id"),
        )
    except AgoraError as error:
        return _plain(error.message, error.status, error.code)
    return _plain(reply.reply, 200, reply.outcome)


@bp.route("/keywords", methods=["GET", "POST"])
@login_required
@limiter.limit("30 per minute", key_func=user_or_ip, methods=["POST"])
def keywords():
    """The secretariat gives each open consultation the keyword people text to reach it."""
    if not permissions.is_admin(current_user):
        raise Forbidden("Only the secretariat sets SMS keywords.")
    errors, status = {}, 200
    if request.method == "POST":
        consultation = consultations.get(int(request.form.get("consultation_id", "0") or 0))
        try:
            sms.set_keyword(consultation, request.form.get("keyword") or None)
        except AgoraError as error:
            errors[consultation.id], status = error.message, error.status
        else:
            flash(_("SMS keyword saved."), "success")
            return redirect(url_for("sms.keywords"))
    return render_template(
        "offline/sms_keywords.html",
        consultations=consultations.all_for_admin(),
        errors=errors,
        configured=bool(current_app.config.get("SMS_SECRET")),
    ), status
