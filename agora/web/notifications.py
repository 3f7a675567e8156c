"""A participant's notifications (list, mark read), their preferences, and the one-click
unsubscribe link that works without signing in (RFC 8058)."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from agora.extensions import csrf, limiter
from agora.models.notification import NOTIFICATION_KINDS
from agora.services.accounts import notifications
from agora.services.errors import AgoraError
from agora.web.ratelimits import ip_only, user_or_ip
from agora.web.redirects import safe_next

bp = Blueprint("notifications", __name__)
WRITE_LIMIT = "30 per minute"


@bp.get("/account/notifications")
@login_required
def index():
    before = request.args.get("before", "")
    items = notifications.list_for(current_user, int(before) if before.isdigit() else None)
    return render_template(
        "notifications/index.html",
        items=notifications.describe(items, str(get_locale() or "en")),
        more=len(items) == notifications.PAGE,
    )


@bp.post("/account/notifications/read")
@login_required
@limiter.limit(WRITE_LIMIT, key_func=user_or_ip)
def mark_read():
    """One notification (``id``), then on to what it is about (``go``, a local path), or all."""
    one = request.form.get("id", "")
    notifications.mark_read(current_user, int(one) if one.isdigit() else None)
    if not one:
        flash(_("All notifications are marked as read."), "success")
    return redirect(safe_next(request.form.get("go"), url_for("notifications.index")), 303)


@bp.route("/account/notifications/preferences", methods=["GET", "POST"])
@login_required
@limiter.limit(WRITE_LIMIT, key_func=user_or_ip, methods=["POST"])
def preferences():
    status = 200
    if request.method == "POST":
        channels = {kind: request.form.get(kind, "in_app") for kind in NOTIFICATION_KINDS}
        try:
            notifications.set_preferences(current_user, channels, request.form.get("digest") == "1")
        except AgoraError as error:
            flash(error.message, "error")
            status = error.status
        else:
            flash(_("Your notification preferences are saved."), "success")
            return redirect(url_for("notifications.preferences"), 303)
    return render_template(
        "notifications/preferences.html",
        prefs=notifications.preferences(current_user),
        kinds=NOTIFICATION_KINDS,
    ), status


@bp.route("/notifications/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed token is the credential; mail clients post here without a session (RFC 8058)
@limiter.limit(WRITE_LIMIT, key_func=ip_only, methods=["POST"])
def unsubscribe(token):
    """GET shows what the button does (link scanners fetch links: a GET changes nothing);
    POST, from the button or a mail client's one-click, turns every email off."""
    notifications.user_for_token(token)  # a forged or mangled link is a 404 either way
    if request.method == "POST":
        notifications.unsubscribe(token)
        if request.form.get("List-Unsubscribe") == "One-Click":
            return "", 204
        return render_template("notifications/unsubscribe.html", done=True, token=token)
    return render_template("notifications/unsubscribe.html", done=False, token=token)


@bp.app_context_processor
def unread_notifications():
    """The header's unread count, asked for only by pages that show it to a signed-in person."""

    def count() -> int:
        if not getattr(current_user, "is_authenticated", False):
            return 0
        return notifications.unread_count(current_user)

    return {"unread_notifications": count}
