"""The voting card: one view at a time (agree / disagree / pass / next), as on Pol.is.

Without JavaScript the card is a plain form: the post records the vote through the same vote
service as the list (same rate limit budget, CSRF, checks) and redirects to the next card. With
JavaScript (``static/js/card.js``) the same endpoint answers JSON holding the next card's HTML,
the progress and where the reader now stands on the opinion map, and the card advances in place.
"""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from agora.extensions import limiter
from agora.services.analysis import opinion_map, opinions
from agora.services.errors import AgoraError
from agora.services.participation import consultations, submissions, voting_card
from agora.web import opinion_map as map_view
from agora.web.charts import percent
from agora.web.consultations import tally_words
from agora.web.ratelimits import VOTE_LIMIT, VOTES_SCOPE, user_or_ip

bp = Blueprint("voting", __name__, url_prefix="/consultations")

CHOICES = ("agree", "disagree", "pass", "skip")


def _public(slug):
    consultation = consultations.get_by_slug(slug)
    if consultation.status == "draft":
        abort(404)
    return consultation


def _map_context(consultation):
    omap = opinion_map.opinion_map(consultation.id, current_user if current_user.is_authenticated else None)
    if omap is None:
        return {"omap": None}
    return {
        "omap": omap,
        "map_svg": map_view.svg(omap, "card-map"),
        "map_names": map_view.names(omap),
        "map_summary": map_view.summary(omap),
    }


def _page(consultation, card, status=200):
    return render_template(
        "voting/card.html",
        consultation=consultation,
        card=card,
        counts=consultations.counts([consultation.id])[consultation.id],
        percent=percent,
        **(_map_context(consultation) if card.voted else {"omap": None}),
    ), status


@bp.get("/<slug>/vote")
def card(slug):
    """The next view for this reader (an anonymous reader sees it with a way to sign in)."""
    consultation = _public(slug)
    opinions.maybe_schedule(consultation.id)  # votes cast here refit the groups the routing and map use
    skipped = voting_card.parse_skipped(request.args.get("skipped"))
    user = current_user if current_user.is_authenticated else None
    return _page(consultation, voting_card.next_card(consultation, user, skipped))


@bp.post("/<slug>/vote")
@login_required
@limiter.shared_limit(VOTE_LIMIT, scope=VOTES_SCOPE, key_func=user_or_ip)
def vote(slug):
    """Record agree / disagree / pass (or skip with "next"), then show the next card."""
    consultation = _public(slug)
    wants_json = request.accept_mimetypes.best == "application/json"
    choice = request.form.get("vote")
    skipped = voting_card.parse_skipped(request.form.get("skipped"))
    submission_id = request.form.get("submission_id", "")
    try:
        if choice not in CHOICES:
            raise AgoraError("A vote is agree, disagree or pass.", field="vote")
        if not submission_id.isdigit():
            raise AgoraError("There is no published view with this number.", field="submission_id")
        if choice == "skip":
            skipped = voting_card.parse_skipped(",".join(map(str, (*skipped, int(submission_id)))))
            message = _("Skipped: it comes back later.")
        else:
            submissions.vote(int(submission_id), current_user, choice, consultation_id=consultation.id)
            message = {"agree": _("Agreed."), "disagree": _("Disagreed."), "pass": _("Passed.")}[choice]
    except AgoraError as error:
        if wants_json:
            return {"error": error.message}, error.status
        flash(error.message, "error")
        return _page(consultation, voting_card.next_card(consultation, current_user, skipped), error.status)
    card = voting_card.next_card(consultation, current_user, skipped)
    if not wants_json:
        flash(message, "success")
        return redirect(url_for("voting.card", slug=slug, skipped=",".join(map(str, card.skipped)) or None))
    counts = consultations.counts([consultation.id])[consultation.id]
    omap = opinion_map.opinion_map(consultation.id, current_user)
    return {
        "vote": choice,
        "message": message,
        "voted": card.voted,
        "total": card.total,
        "card": render_template("voting/_card.html", consultation=consultation, card=card),
        "votes_total": tally_words(counts)["votes_total"],
        "map": None
        if omap is None
        else {
            "you": map_view.you_marker(omap),
            "summary": map_view.summary(omap),
            "closest": _("Closest to you"),
        },
        # the first vote that shows the map brings the whole section; later ones only move "You"
        "map_html": None if omap is None or request.form.get("has_map") else _map_html(consultation),
    }


def _map_html(consultation) -> str:
    return render_template("voting/_map_block.html", percent=percent, **_map_context(consultation))
