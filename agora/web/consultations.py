"""Public consultation pages: the list, a briefing with its views, submitting and voting."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from agora import permissions
from agora.extensions import limiter
from agora.services import hearings, moderation
from agora.services.accounts import organisations
from agora.services.errors import AgoraError
from agora.services.participation import consultations, search, submissions
from agora.services.reporting import forum_responses, reports
from agora.web.forms import SubmissionForm, VoteForm
from agora.web.page_cache import shared_with_anonymous_readers
from agora.web.ratelimits import SUBMIT_LIMIT, VIEWS_SCOPE, VOTE_LIMIT, VOTES_SCOPE, user_or_ip
from agora.web.redirects import safe_next

bp = Blueprint("consultations", __name__, url_prefix="/consultations")


@bp.get("/")
@shared_with_anonymous_readers
def index():
    status = request.args.get("status") or None
    stage = request.args.get("stage") or None
    found = consultations.public_list(status=status, stage=stage)
    return render_template(
        "consultations/index.html",
        consultations=found,
        counts=consultations.counts([c.id for c in found]),
        status=status,
        stage=stage,
    )


def _page_arg() -> int:
    try:
        return max(1, int(request.args.get("page", 1)))
    except ValueError:
        return 1


def _render_detail(consultation, form, status=200):
    sort = request.args.get("sort", "newest")
    if sort not in submissions.SORTS:
        sort = "newest"
    languages = consultations.published_languages(consultation.id)
    language = request.args.get("language") or None
    if language not in {code for code, _n in languages}:
        language = None  # an unknown or absent language shows every view
    query, like, search_error = request.args.get("q"), request.args.get("like", type=int), None
    page, searched = None, False
    try:
        if query is not None:  # by meaning and by words, in any language
            page = search.search(consultation.id, query, page=_page_arg(), per_page=current_app.config["PAGE_SIZE"])
        elif like is not None:
            page = search.similar(like)
            if page.items and page.items[0].consultation_id != consultation.id:
                page = None
        searched = page is not None
    except AgoraError as error:
        search_error, query = error.message, None
    if page is None:
        page = submissions.list_published(
            consultation.id, sort=sort, page=_page_arg(), per_page=current_app.config["PAGE_SIZE"], language=language
        )
    my_votes = submissions.votes_of(current_user, [s.id for s in page.items])
    return render_template(
        "consultations/detail.html",
        consultation=consultation,
        counts=consultations.counts([consultation.id])[consultation.id],
        page=page,
        sort=sort,
        view_languages=languages,
        view_language=language,
        query=query,
        like=like if searched and query is None else None,
        search_error=search_error,
        form=form,
        my_votes=my_votes,
        transparency=moderation.recent_transparency(consultation.id),
        published_reports=reports.public_list(consultation.id),
        transmissions=reports.transmissions_of(consultation.id),
        consultation_hearings=hearings.of_consultation(consultation.id),
        forum_responses=forum_responses.of_consultation(consultation.id),
        flag_reasons=moderation.flag_reasons(),
        my_organisations=organisations.organisations_of(current_user),
        can_import=permissions.can_facilitate(current_user, consultation.id),
        submission_orgs=organisations.for_submissions(page.items),
        statement_endorsements=organisations.endorsements([s.id for s in page.items if s.kind == "joint_statement"]),
    ), status


@bp.get("/<slug>")
@shared_with_anonymous_readers
def detail(slug):
    consultation = consultations.get_by_slug(slug)
    if consultation.status == "draft":
        abort(404)
    # A form made for an anonymous reader would put a CSRF token in a new session cookie: nothing
    # to post without signing in, and a page with a cookie cannot be shared with other readers.
    return _render_detail(consultation, SubmissionForm() if current_user.is_authenticated else None)


@bp.post("/<slug>/submissions")
@login_required
@limiter.shared_limit(SUBMIT_LIMIT, scope=VIEWS_SCOPE, key_func=user_or_ip)
def submit(slug):
    consultation = consultations.get_by_slug(slug)
    form = SubmissionForm()
    if not form.validate_on_submit():
        return _render_detail(consultation, form, 422)
    on_behalf = request.form.get("organisation_id", "").strip()
    organisation = organisations.check_can_speak_for(current_user, int(on_behalf) if on_behalf.isdigit() else None)
    try:
        submission, _created = submissions.submit(
            consultation.id,
            current_user,
            form.text.data,
            channel="web",
            max_chars=current_app.config["SUBMISSION_MAX_CHARS"],
            organisation_id=organisation.id if organisation else None,
            group=True,
        )
    except AgoraError as error:
        form.text.errors.append(error.message)
        return _render_detail(consultation, form, error.status)
    if submission.state == "published":
        flash(_("Thank you: your view is published."), "success")
    else:
        flash(
            _("Thank you: your view is saved and will be published once a moderator has reviewed it."),
            "info",
        )
    return redirect(url_for("consultations.detail", slug=slug, _anchor=f"s{submission.id}"))


@bp.post("/<slug>/submissions/<int:submission_id>/vote")
@login_required
@limiter.shared_limit(VOTE_LIMIT, scope=VOTES_SCOPE, key_func=user_or_ip)
def vote(slug, submission_id):
    consultation = consultations.get_by_slug(slug)
    VoteForm().validate_on_submit()  # the CSRF check runs globally before this view
    choice = request.form.get("vote")
    submission = submissions.vote(submission_id, current_user, choice, consultation_id=consultation.id)
    if request.accept_mimetypes.best == "application/json":
        return {
            "id": submission.id,
            "vote": choice,
            "agree": submission.agree_count,
            "disagree": submission.disagree_count,
            "pass": submission.pass_count,
            # The page header's tally, in the reader's language and digits, so a script can update it.
            **tally_words(consultations.counts([consultation.id])[consultation.id]),
        }
    flash(_("Your vote is recorded."), "success")
    back = safe_next(request.form.get("next"), url_for("consultations.detail", slug=slug))
    return redirect(f"{back}#s{submission.id}")


def tally_words(counts) -> dict:
    """The header's counts as the page words them (the plural for the number, the reader's digit
    grouping; Flask-Babel's ngettext would put the raw number in %(num)s)."""
    from flask_babel import format_decimal, get_translations

    catalogue = get_translations()
    return {
        "votes_total": catalogue.ungettext("%(num)s vote", "%(num)s votes", counts.votes)
        % {"num": format_decimal(counts.votes)},
        "participants_total": catalogue.ungettext("%(num)s participant", "%(num)s participants", counts.participants)
        % {"num": format_decimal(counts.participants)},
    }
