"""The moderators' pages (queue, item, campaign, appeals), the audit log, and participants'
flags, outcomes and appeals. Every action checks the role in the service."""

from urllib.parse import urlencode

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from agora import permissions
from agora.extensions import limiter
from agora.services import moderation
from agora.services.errors import AgoraError
from agora.services.reporting import forum_responses
from agora.web.ratelimits import SUBMIT_LIMIT, user_or_ip
from agora.web.redirects import safe_next

bp = Blueprint("moderation", __name__)


def _int_arg(name):
    try:
        return int(request.args[name]) if request.args.get(name) else None
    except ValueError:
        return None


@bp.get("/moderation/")
@login_required
def queue():
    items = moderation.queue(current_user, consultation_id=_int_arg("consultation"))
    return render_template(
        "moderation/queue.html",
        items=items,
        backlog=moderation.backlog(current_user),
        model_version=moderation.active_model_version(),
        code=moderation.code_of_conduct(),
    )


@bp.get("/moderation/items/<int:submission_id>")
@login_required
def item(submission_id):
    ctx = moderation.context(current_user, submission_id)
    return render_template(
        "moderation/item.html",
        ctx=ctx,
        reliability=moderation.reliability(ctx.submission.language),
        code=moderation.code_of_conduct(),
        reasons=moderation.decision_reasons(),
        model_version=moderation.active_model_version(),
    )


@bp.post("/moderation/items/<int:submission_id>/claim")
@login_required
def claim(submission_id):
    moderation.claim(current_user, submission_id)
    return redirect(url_for("moderation.item", submission_id=submission_id))


@bp.post("/moderation/items/<int:submission_id>/decide")
@login_required
def decide(submission_id):
    try:
        moderation.decide(
            current_user,
            submission_id,
            request.form.get("action", ""),
            request.form.get("reason", ""),
            request.form.get("note"),
        )
    except AgoraError as error:
        if error.status in (403, 404):
            raise
        flash(error.message, "error")
        return redirect(url_for("moderation.item", submission_id=submission_id)), 303
    flash(_("Decision recorded."), "success")
    return redirect(url_for("moderation.queue"))


@bp.get("/moderation/campaigns/<int:campaign_id>")
@login_required
def campaign(campaign_id):
    members = moderation.campaign_members(current_user, campaign_id)
    own = {m.id for m in members if moderation.is_own(current_user, m)}
    return render_template(
        "moderation/campaign.html",
        campaign_id=campaign_id,
        members=members,
        own=own,
        reasons=moderation.decision_reasons(),
    )


@bp.post("/moderation/campaigns/<int:campaign_id>/decide")
@login_required
def decide_campaign(campaign_id):
    members = moderation.campaign_members(current_user, campaign_id)
    selected = {int(i) for i in request.form.getlist("ids") if i.isdigit()}
    ids = [m.id for m in members if m.id in selected and m.state in moderation.QUEUE_STATES]
    # the page sends one choice, "action:reason" (the form offers only reasons that fit the action)
    action, _sep, reason = request.form.get("decision", "").partition(":")
    if not action:
        action, reason = request.form.get("action", ""), request.form.get("reason", "")
    try:
        decided = moderation.decide_many(current_user, ids, action, reason, request.form.get("note"))
    except AgoraError as error:
        if error.status in (403, 404):
            raise
        flash(error.message, "error")
        return redirect(url_for("moderation.campaign", campaign_id=campaign_id)), 303
    flash(_("%(n)s items decided.", n=len(decided)), "success")
    return redirect(url_for("moderation.queue"))


@bp.get("/moderation/appeals")
@login_required
def appeals():
    appeals = moderation.open_appeals(current_user)
    own = {a.id for a in appeals if moderation.is_own_appeal(current_user, a)}
    return render_template("moderation/appeals.html", appeals=appeals, own=own, reasons=moderation.decision_reasons())


@bp.post("/moderation/appeals/<int:appeal_id>/decide")
@login_required
def decide_appeal(appeal_id):
    try:
        moderation.decide_appeal(
            current_user,
            appeal_id,
            request.form.get("outcome", ""),
            request.form.get("reason", ""),
            request.form.get("note"),
        )
    except AgoraError as error:
        if error.status in (403, 404):
            raise
        flash(error.message, "error")
        return redirect(url_for("moderation.appeals")), 303
    flash(_("The appeal is decided."), "success")
    return redirect(url_for("moderation.appeals"))


@bp.get("/admin/audit")
@login_required
def audit_log():
    rows = list(moderation.audit_rows(current_user, limit=200, before_id=_int_arg("before")))
    return render_template("moderation/audit.html", rows=rows)


@bp.get("/admin/audit.csv")
@login_required
def audit_export():
    if not permissions.is_admin(current_user):
        abort(403)
    return Response(
        stream_with_context(moderation.audit_csv(current_user)),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=agora-audit-log.csv"},
    )


# --- participants ---------------------------------------------------------------------


@bp.post("/submissions/<int:submission_id>/flag")
@login_required
@limiter.limit(SUBMIT_LIMIT, key_func=user_or_ip)
def flag(submission_id):
    moderation.flag(current_user, submission_id, request.form.get("reason", ""), request.form.get("note"))
    flash(_("Thank you: moderators will look at this view."), "success")
    back = safe_next(request.form.get("next"), url_for("main.index"))
    return redirect(back)


@bp.get("/account/views")
@login_required
def my_views():
    view = request.args.get("view", type=int)
    if view is not None:  # a link from a notification, perhaps through the sign-in: on to the view itself
        # ?lang= and the like are kept as they came (never url_for's own options, such as _external)
        rest = urlencode([(key, value) for key, value in request.args.items(multi=True) if key != "view"])
        return redirect(request.path + (f"?{rest}" if rest else "") + f"#v{view}")
    return render_template(
        "moderation/my_views.html",
        outcomes=moderation.outcomes_for(current_user),
        code=moderation.code_of_conduct(),
        forum_responses=forum_responses.for_participant(current_user),
    )


@bp.post("/account/views/<int:submission_id>/appeal")
@login_required
@limiter.limit(SUBMIT_LIMIT, key_func=user_or_ip)
def appeal(submission_id):
    moderation.appeal(current_user, submission_id, request.form.get("statement"))
    flash(_("Your appeal is recorded. A different moderator will decide it."), "success")
    return redirect(url_for("moderation.my_views"))
