"""The facilitator's upload page: offline views (field consultations, town halls, radio call-ins,
paper forms) as a CSV file, imported all or nothing through the submission pipeline."""

from flask import Blueprint, current_app, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from werkzeug.exceptions import RequestEntityTooLarge

from agora import permissions
from agora.extensions import db, limiter
from agora.jobs import off_loop
from agora.models import User
from agora.services.errors import AgoraError, Forbidden
from agora.services.participation import consultations, offline
from agora.web.errors import error_response
from agora.web.ratelimits import user_or_ip

bp = Blueprint("offline", __name__, url_prefix="/consultations")

IMPORT_LIMIT = "10 per minute; 100 per day"


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file (UTF-8)"), validators=[FileRequired(message=_l("Please choose a CSV file."))])


def _consultation_for(slug):
    consultation = consultations.get_by_slug(slug)
    if not permissions.can_facilitate(current_user, consultation.id):
        raise Forbidden("Only the consultation's facilitators and the secretariat may import offline views.")
    return consultation


def _render(consultation, form, status=200, outcome=None):
    return render_template(
        "offline/import.html",
        consultation=consultation,
        form=form,
        outcome=outcome,
        batches=offline.batches(consultation.id),
        origins=offline.ORIGINS,
        example=offline.EXAMPLE_CSV,
        max_rows=offline.MAX_ROWS,
        max_bytes=current_app.config["MAX_CONTENT_LENGTH"],
    ), status


@bp.get("/<slug>/import")
@login_required
def import_page(slug):
    return _render(_consultation_for(slug), ImportForm())


@bp.post("/<slug>/import")
@login_required
@limiter.limit(IMPORT_LIMIT, key_func=user_or_ip)
def import_upload(slug):
    consultation = _consultation_for(slug)
    form = ImportForm()
    if not form.validate_on_submit():
        return _render(consultation, form, 422)
    upload = form.file.data
    try:
        outcome = off_loop(
            _import,
            current_app._get_current_object(),
            consultation.id,
            current_user.id,
            upload.read(),
            upload.filename or "upload.csv",
        )
    except Forbidden:
        raise
    except AgoraError as error:
        form.file.errors = list(form.file.errors) + [error.message]
        return _render(consultation, form, error.status)
    offline.announce_batch(outcome)
    return _render(consultation, ImportForm(), 422 if outcome.status == "invalid" else 200, outcome=outcome)


def _import(app, consultation_id, user_id, data, filename):
    """The import in its own application context and session (it may run in a native thread)."""
    with app.app_context():
        try:
            return offline.import_csv(
                consultation_id,
                db.session.get(User, user_id),
                data,
                filename=filename,
                announce=False,
                max_bytes=app.config["MAX_CONTENT_LENGTH"],
                max_chars=app.config["SUBMISSION_MAX_CHARS"],
            )
        finally:
            db.session.remove()


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error):
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    return error_response(
        413,
        "too_large",
        _(
            "The file is larger than %(mb)s MB: nothing was imported. Split it into files of at most %(rows)s rows and %(mb)s MB.",
            mb=f"{limit / 1024 / 1024:g}",
            rows=f"{offline.MAX_ROWS:,}",
        ),
    )
