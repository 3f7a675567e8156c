"""Hearing pages: the list, a hearing's live page (works without JavaScript), its transcript,
and the secretariat's forms to create hearings and appoint chairs."""

from functools import wraps

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, EmailField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from agora import permissions
from agora.extensions import limiter
from agora.models._base import utcnow
from agora.models.user import CONSTITUENCIES
from agora.services import hearings
from agora.services.accounts import accounts
from agora.services.errors import AgoraError
from agora.services.participation import consultations, search, submissions
from agora.web.page_cache import shared_with_anonymous_readers
from agora.web.ratelimits import FLOOR_LIMIT, VOTE_LIMIT, user_or_ip
from agora.web.ratelimits import HEARING_MESSAGE_LIMIT as MESSAGE_LIMIT
from agora.web.security import content_security_policy

bp = Blueprint("hearings", __name__, url_prefix="/hearings")


class MessageForm(FlaskForm):
    text = TextAreaField(
        _l("Your message"),
        validators=[
            DataRequired(message=_l("Please write something before sending.")),
            Length(max=hearings.MESSAGE_MAX_CHARS),
        ],
    )
    submit = SubmitField(_l("Send message"))


class FloorForm(FlaskForm):
    constituency = SelectField(_l("Constituency you speak for"), validators=[DataRequired()])
    topic = StringField(_l("Topic"), validators=[Optional(), Length(max=hearings.TOPIC_MAX_CHARS)])
    submit = SubmitField(_l("Ask for the floor"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.constituency.choices = [("", _l("Choose…"))] + [(k, _l(v)) for k, v in CONSTITUENCIES.items()]


class HearingForm(FlaskForm):
    consultation_id = SelectField(_l("Consultation"), validators=[DataRequired()])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    scheduled_at = DateTimeLocalField(_l("Scheduled for (UTC)"), validators=[Optional()], format="%Y-%m-%dT%H:%M")
    submit = SubmitField(_l("Create hearing"))


class ChairForm(FlaskForm):
    email = EmailField(_l("Email of the chair"), validators=[DataRequired(), Length(max=254)])
    submit = SubmitField(_l("Appoint chair"))


class EmptyForm(FlaskForm):
    """Only the CSRF token."""


def _admin_only():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.path))
    if not permissions.is_admin(current_user):
        abort(403)
    return None


@bp.get("/")
def index():
    return render_template(
        "hearings/index.html", hearings=hearings.public_list(), is_admin=permissions.is_admin(current_user)
    )


@bp.route("/new", methods=["GET", "POST"])
def new():
    """Secretariat: create a hearing for a consultation."""
    refused = _admin_only()
    if refused:
        return refused
    form = HearingForm()
    from agora.services.reporting import dashboard

    form.consultation_id.choices = [
        (str(c.id), c.title) for c in dashboard.can_hold_hearing(consultations.all_for_admin())
    ]
    if request.method == "GET" and request.args.get("consultation_id"):
        form.consultation_id.data = request.args["consultation_id"]
    status = 200
    if form.validate_on_submit():
        try:
            hearing = hearings.create(int(form.consultation_id.data), form.title.data, form.scheduled_at.data)
        except AgoraError as error:
            form.title.errors.append(error.message)
            status = error.status
        else:
            flash(_("Hearing created. Appoint its chair below."), "success")
            return redirect(url_for("hearings.detail", hearing_id=hearing.id))
    elif request.method == "POST":
        status = 422
    return render_template("hearings/new.html", form=form), status


def _render(hearing, *, message_form=None, floor_form=None, status=200):
    user = current_user if current_user.is_authenticated else None
    thread = hearings.thread(hearing)
    state = hearings.state_payload(hearing)
    my_request = None
    if user is not None:
        my_request = next(
            (r for r in ([state["speaker"]] if state["speaker"] else []) + state["queue"] if r["user_id"] == user.id),
            None,
        )
    # Forms (and the CSRF token they put in the session) only for people who can use them: an
    # anonymous viewer's page then has no cookie and is shared (agora/web/page_cache.py).
    if user is not None:
        floor_form = floor_form or FloorForm()
        message_form = message_form or MessageForm()
        if not floor_form.constituency.data and user.constituency:
            floor_form.constituency.data = user.constituency
    is_chair = permissions.can_chair_hearing(user, hearing)
    is_admin = permissions.is_admin(user)
    return render_template(
        "hearings/detail.html",
        hearing=hearing,
        consultation=hearing.consultation,
        thread=thread,
        state=state,
        is_chair=is_chair,
        is_admin=is_admin,
        my_request=my_request,
        my_votes=submissions.votes_of(user, [s.id for s in thread]),
        message_form=message_form,
        floor_form=floor_form,
        chair_form=ChairForm() if is_admin else None,
        chairs=hearings.chairs_of(hearing),
        record=hearings.speakers_record(hearing) if hearing.state != "scheduled" else [],
        summary=hearings.balance(hearing) if is_chair else None,
        # the chair's themes, so the console shows them without JavaScript too
        live_themes=hearings.summary(hearing)["themes"] if is_chair else None,
        last_id=thread[-1].id if thread else 0,
        cursor=hearings.cursor(),
        constituencies=CONSTITUENCIES,
    ), status


@bp.get("/<int:hearing_id>")
@shared_with_anonymous_readers
def detail(hearing_id):
    return _render(hearings.get(hearing_id))


LATEST_MESSAGES = 20


def _framed_by_this_site(view):
    """The one kind of page that may be framed, and only by this site's own pages (set outside
    the page cache, which keeps a page's body, not its headers)."""

    @wraps(view)
    def framed(*args, **kwargs):
        response = make_response(view(*args, **kwargs))
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
        response.headers["Content-Security-Policy"] = content_security_policy().replace(
            "frame-ancestors 'none'", "frame-ancestors 'self'"
        )
        return response

    return framed


@bp.get("/<int:hearing_id>/latest")
@_framed_by_this_site
@shared_with_anonymous_readers
def latest(hearing_id):
    """The floor and the newest messages, refreshing by themselves: the hearing page shows this in
    a frame when JavaScript is off, so the page with the message form never reloads on a timer."""
    hearing = hearings.get(hearing_id)
    return render_template(
        "hearings/latest.html",
        hearing=hearing,
        state=hearings.state_payload(hearing),
        messages=hearings.thread(hearing, limit=LATEST_MESSAGES)[::-1],
        page_state=request.args.get("state", hearing.state),
        refresh_seconds=current_app.config["HEARING_REFRESH_SECONDS"],
        now=utcnow(),
    )


@bp.get("/<int:hearing_id>/transcript")
def transcript(hearing_id):
    hearing = hearings.get(hearing_id)
    query, search_error, messages = request.args.get("q"), None, None
    if query is not None:  # the hearing's messages by meaning and words, in any language
        try:
            messages = search.search(hearing.consultation_id, query, hearing_id=hearing.id, per_page=50).items
        except AgoraError as error:
            search_error, query = error.message, None
    return render_template(
        "hearings/transcript.html",
        hearing=hearing,
        consultation=hearing.consultation,
        messages=messages if messages is not None else hearings.transcript(hearing),
        record=hearings.speakers_record(hearing),
        query=query,
        search_error=search_error,
    )


@bp.post("/<int:hearing_id>/messages")
@login_required
@limiter.limit(MESSAGE_LIMIT, key_func=user_or_ip)
def post_message(hearing_id):
    hearing = hearings.get(hearing_id)
    form = MessageForm()
    if not form.validate_on_submit():
        return _render(hearing, message_form=form, status=422)
    try:
        submission = hearings.post_message(hearing, current_user, form.text.data, channel="web")
    except AgoraError as error:
        form.text.errors.append(error.message)
        return _render(hearing, message_form=form, status=error.status)
    if submission.state == "published":
        flash(_("Your message is published."), "success")
    else:
        flash(_("Your message is saved and will appear once a moderator has reviewed it."), "info")
    return redirect(url_for("hearings.detail", hearing_id=hearing.id, _anchor=f"m{submission.id}"))


@bp.post("/<int:hearing_id>/messages/<int:submission_id>/vote")
@login_required
@limiter.limit(VOTE_LIMIT, key_func=user_or_ip)
def vote(hearing_id, submission_id):
    hearing = hearings.get(hearing_id)
    hearings.vote(hearing, current_user, submission_id, request.form.get("vote"))
    flash(_("Your vote is recorded."), "success")
    return redirect(url_for("hearings.detail", hearing_id=hearing.id, _anchor=f"m{submission_id}"))


@bp.post("/<int:hearing_id>/floor")
@login_required
@limiter.limit(FLOOR_LIMIT, key_func=user_or_ip)
def request_floor(hearing_id):
    hearing = hearings.get(hearing_id)
    form = FloorForm()
    if not form.validate_on_submit():
        return _render(hearing, floor_form=form, status=422)
    try:
        hearings.request_floor(hearing, current_user, form.constituency.data, form.topic.data or "")
    except AgoraError as error:
        form.topic.errors.append(error.message)
        return _render(hearing, floor_form=form, status=error.status)
    flash(_("You are in the speakers' queue."), "success")
    return redirect(url_for("hearings.detail", hearing_id=hearing.id, _anchor="queue"))


@bp.post("/<int:hearing_id>/floor/withdraw")
@login_required
def withdraw_floor(hearing_id):
    hearing = hearings.get(hearing_id)
    EmptyForm().validate_on_submit()
    hearings.withdraw_floor(hearing, current_user)
    flash(_("Your request for the floor is withdrawn."), "info")
    return redirect(url_for("hearings.detail", hearing_id=hearing.id))


CHAIR_ACTIONS = {
    "open": (hearings.open_hearing, _l("The hearing is open.")),
    "close": (hearings.close_hearing, _l("The hearing is closed.")),
    "next": (lambda h, u: hearings.grant_floor(h, u, None), _l("The floor is given to the next speaker.")),
    "end_turn": (hearings.end_turn, _l("The speaker's turn has ended.")),
}


@bp.post("/<int:hearing_id>/chair/<action>")
@login_required
def chair_action(hearing_id, action):
    """The chair's buttons, usable without JavaScript (the console uses the socket when it can)."""
    hearing = hearings.get(hearing_id)
    EmptyForm().validate_on_submit()
    if action not in CHAIR_ACTIONS:
        abort(404)
    run, done = CHAIR_ACTIONS[action]
    run(hearing, current_user)
    flash(str(done), "success")
    return redirect(url_for("hearings.detail", hearing_id=hearing.id))


@bp.post("/<int:hearing_id>/chairs")
def appoint_chair(hearing_id):
    """Secretariat: appoint a chair for this hearing."""
    refused = _admin_only()
    if refused:
        return refused
    hearing = hearings.get(hearing_id)
    form = ChairForm()
    if not form.validate_on_submit():
        flash(_("Give the email of a registered user."), "error")
        return redirect(url_for("hearings.detail", hearing_id=hearing.id, _anchor="chairs"))
    try:
        user = accounts.find_user_by_email(form.email.data)
        hearings.appoint_chair(hearing, user, current_user)
    except AgoraError as error:
        flash(error.message, "error")
    else:
        flash(_("%(name)s chairs this hearing.", name=user.display_name), "success")
    return redirect(url_for("hearings.detail", hearing_id=hearing.id, _anchor="chairs"))
