"""The secretariat's pages: consultations and role assignments. Admins only."""

from functools import wraps

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from agora import permissions
from agora.services.accounts import accounts
from agora.services.errors import AgoraError
from agora.services.participation import consultations
from agora.web.forms import ConsultationForm, RoleForm, TranslationForm

bp = Blueprint("admin", __name__, url_prefix="/admin")


def admin_required(view):
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not permissions.is_admin(current_user):
            abort(403)
        return view(*args, **kwargs)

    return wrapped


@bp.get("/")
@admin_required
def index():
    """The secretariat's dashboard: what needs them now, then every consultation."""
    from agora.services.reporting import dashboard

    return render_template(
        "admin/index.html", consultations=consultations.all_for_admin(), tasks=dashboard.secretariat_tasks(current_user)
    )


def _input_from(form: ConsultationForm) -> consultations.ConsultationInput:
    return consultations.ConsultationInput(
        title=form.title.data,
        summary=form.summary.data or "",
        briefing_html=form.briefing_html.data or "",
        stage=form.stage.data,
        status=form.status.data,
        forum=form.forum.data or "",
        languages=form.languages.data or "en",
        opens_at=form.opens_at.data,
        closes_at=form.closes_at.data,
        hold_threshold=form.hold_threshold.data,
        reject_threshold=form.reject_threshold.data,
    )


@bp.route("/consultations/new", methods=["GET", "POST"])
@admin_required
def new_consultation():
    form = ConsultationForm()
    status = 200
    if form.validate_on_submit():
        try:
            consultation = consultations.create(_input_from(form))
        except AgoraError as error:
            getattr(form, error.field or "title").errors.append(error.message)
            status = error.status
        else:
            flash(_("Consultation created."), "success")
            return redirect(url_for("admin.edit_consultation", consultation_id=consultation.id))
    elif request.method == "POST":
        status = 422
    return render_template("admin/consultation_form.html", form=form, consultation=None), status


@bp.route("/consultations/<int:consultation_id>", methods=["GET", "POST"])
@admin_required
def edit_consultation(consultation_id):
    consultation = consultations.get(consultation_id)
    form = ConsultationForm(obj=consultation)
    status = 200
    if form.validate_on_submit():
        try:
            consultations.update(consultation, _input_from(form))
        except AgoraError as error:
            getattr(form, error.field or "title").errors.append(error.message)
            status = error.status
        else:
            flash(_("Consultation saved."), "success")
            return redirect(url_for("admin.edit_consultation", consultation_id=consultation.id))
    elif request.method == "POST":
        status = 422
    return render_template("admin/consultation_form.html", form=form, consultation=consultation), status


@bp.route("/consultations/<int:consultation_id>/translations", methods=["GET", "POST"])
@admin_required
def consultation_translations(consultation_id):
    """Add or edit the consultation's title, summary and briefing in another language."""
    from agora.web.helpers import LANGUAGE_NAMES

    consultation = consultations.get(consultation_id)
    existing = {t.language: t for t in consultations.translations_of(consultation)}
    chosen = request.values.get("language") or ""
    form = TranslationForm(obj=existing.get(chosen)) if request.method == "GET" else TranslationForm()
    original = consultations.original_language(consultation)
    form.language.choices = [
        (code, LANGUAGE_NAMES.get(code, code)) for code in current_app.config["LANGUAGES"] if code != original
    ]
    status = 200
    if form.validate_on_submit():
        try:
            consultations.save_translation(
                consultation,
                form.language.data,
                form.title.data,
                form.summary.data or "",
                form.briefing_html.data or "",
            )
        except AgoraError as error:
            getattr(form, error.field or "title").errors.append(error.message)
            status = error.status
        else:
            flash(_("Translation saved."), "success")
            return redirect(url_for("admin.consultation_translations", consultation_id=consultation.id))
    elif request.method == "POST":
        status = 422
    return render_template(
        "admin/translations.html",
        form=form,
        consultation=consultation,
        translations=list(existing.values()),
        original=original,
    ), status


@bp.post("/consultations/<int:consultation_id>/translations/<language>/delete")
@admin_required
def delete_consultation_translation(consultation_id, language):
    consultation = consultations.get(consultation_id)
    try:
        consultations.delete_translation(consultation, language)
    except AgoraError as error:
        abort(error.status)
    flash(_("Translation deleted."), "info")
    return redirect(url_for("admin.consultation_translations", consultation_id=consultation.id))


@bp.route("/roles", methods=["GET", "POST"])
@admin_required
def roles():
    form = RoleForm()
    form.consultation_id.choices = [("", _("Everywhere"))] + [
        (str(c.id), c.title) for c in consultations.all_for_admin()
    ]
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.find_user_by_email(form.email.data)
            scope = int(form.consultation_id.data) if form.consultation_id.data else None
            accounts.assign_role(user, form.role.data, scope, current_user)
        except AgoraError as error:
            getattr(form, error.field or "email").errors.append(error.message)
            status = error.status
        else:
            flash(_("Role assigned."), "success")
            return redirect(url_for("admin.roles"))
    elif request.method == "POST":
        status = 422
    return render_template("admin/roles.html", form=form, assignments=accounts.role_assignments()), status


@bp.post("/roles/<int:assignment_id>/revoke")
@admin_required
def revoke_role(assignment_id):
    accounts.revoke_role(assignment_id)
    flash(_("Role revoked."), "info")
    return redirect(url_for("admin.roles"))
