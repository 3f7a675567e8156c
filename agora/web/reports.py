"""Reports: the secretariat drafts, reviews, freezes and transmits; everyone reads and verifies."""

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from agora.extensions import limiter
from agora.models.report import FORUM_DECISIONS
from agora.services.errors import AgoraError
from agora.services.participation import consultations
from agora.services.reporting import dashboard, forum_responses, reports
from agora.web.admin import admin_required
from agora.web.ratelimits import user_or_ip

bp = Blueprint("reports", __name__)


@bp.app_context_processor
def forum_decisions():
    """The labels of what a forum did with a report (templates/reports/_responses.html)."""
    return {"FORUM_DECISIONS": FORUM_DECISIONS}


def _readable(report_id: int):
    return reports.readable(report_id, current_user)


@bp.get("/reports/")
def index():
    return render_template("reports/index.html", reports=reports.public_list())


@bp.get("/reports/<int:report_id>")
def show(report_id, **response_form):
    report = _readable(report_id)
    return render_template(
        "reports/report.html",
        report=report,
        standalone=False,
        **reports.template_context(report),
        package_sha256=reports.package_sha256(report),
        transmissions=[t for t in reports.transmissions_of(report.consultation_id) if t.report_id == report.id],
        forum_responses=forum_responses.of_report(report.id),
        decisions=FORUM_DECISIONS,
        **response_form,
    )


@bp.get("/reports/<int:report_id>.json")
def json_download(report_id):
    report = _readable(report_id)
    return Response(
        report.content_json,
        mimetype="application/json",
        headers={"Content-Disposition": f"attachment; filename=agora-report-{report.id}.json"},
    )


@bp.get("/reports/<int:report_id>.pdf")
def pdf_download(report_id):
    report = _readable(report_id)
    return Response(
        reports.render_pdf(report),
        mimetype="application/pdf",
        headers={"Content-Disposition": f"attachment; filename=agora-report-{report.id}.pdf"},
    )


@bp.get("/reports/<int:report_id>/tables/<name>.csv")
def csv_download(report_id, name):
    report = _readable(report_id)
    tables = reports.csv_tables(reports.content_of(report))
    if f"{name}.csv" not in tables:
        abort(404)
    return Response(
        tables[f"{name}.csv"], mimetype="text/csv", headers={"Content-Disposition": f"attachment; filename={name}.csv"}
    )


@bp.get("/reports/<int:report_id>/package.zip")
def package_download(report_id):
    report = _readable(report_id)
    if not report.package:
        abort(404)
    return Response(
        report.package,
        mimetype="application/zip",
        headers={"Content-Disposition": f"attachment; filename=agora-report-{report.id}-package.zip"},
    )


@bp.route("/reports/verify", methods=["GET", "POST"])
def verify():
    result, status = None, 200
    if request.method == "POST":
        upload = request.files.get("package")
        if upload is not None and upload.filename:
            data = upload.read(reports.MAX_PACKAGE_BYTES + 1)
            if len(data) > reports.MAX_PACKAGE_BYTES:
                abort(413)
            result = reports.verify_package(data)
        elif (request.form.get("report_id") or "").strip().isdigit():
            result = reports.verify_report(int(request.form["report_id"]))
        else:
            flash(_("Give a report number or choose a package file."), "error")
            status = 422
    elif request.args.get("report_id", "").isdigit():
        result = reports.verify_report(int(request.args["report_id"]))
    return render_template("reports/verify.html", result=result), status


# --- the secretariat -------------------------------------------------------------------


@bp.get("/admin/reports")
@admin_required
def admin_index():
    return render_template(
        "reports/admin.html",
        reports=reports.all_for_admin(),
        forums=reports.forums(),
        # Only those a report can be drafted for; the open ones are listed with a way to close them.
        consultations=dashboard.reportable(everything := consultations.all_for_admin()),
        still_open=[c for c in everything if c.status == "open"],
    )


def _back_with_error(error: AgoraError, target):
    if error.status in (403, 404):
        raise error
    flash(error.message, "error")
    return redirect(target), 303


@bp.post("/admin/reports")
@admin_required
def create():
    try:
        consultation_id = int(request.form.get("consultation_id", ""))
        hearing_id = int(request.form["hearing_id"]) if request.form.get("hearing_id") else None
    except ValueError:
        flash(_("Choose a consultation."), "error")
        return redirect(url_for("reports.admin_index")), 303
    try:
        report = reports.create_draft(consultation_id, current_user, hearing_id)
    except AgoraError as error:
        return _back_with_error(error, url_for("reports.admin_index"))
    flash(_("Draft report created. Review it, then freeze it."), "success")
    return redirect(url_for("reports.show", report_id=report.id))


@bp.post("/admin/reports/<int:report_id>/<action>")
@admin_required
def act(report_id, action):
    try:
        if action == "freeze":
            report = reports.freeze(report_id, current_user)
            flash(_("The report is frozen: SHA-256 %(h)s.", h=report.sha256), "success")
        elif action == "regenerate":
            report = reports.regenerate(report_id, current_user)
            flash(_("The draft was rebuilt from the current data."), "success")
        elif action == "new-version":
            report = reports.new_version(report_id, current_user)
            flash(_("A new draft version was created; it will supersede the frozen one."), "success")
        elif action == "transmit":
            forum_id = int(request.form.get("forum_id") or 0)
            reports.transmit(report_id, forum_id, current_user)
            report = reports.get(report_id)
            flash(_("The transmission is recorded."), "success")
        else:
            abort(404)
    except ValueError:
        flash(_("Choose a forum."), "error")
        return redirect(url_for("reports.show", report_id=report_id)), 303
    except AgoraError as error:
        return _back_with_error(error, url_for("reports.show", report_id=report_id))
    return redirect(url_for("reports.show", report_id=report.id))


@bp.post("/admin/forums")
@admin_required
def create_forum():
    try:
        reports.create_forum(
            request.form.get("name"), request.form.get("webhook_url"), request.form.get("webhook_secret")
        )
    except AgoraError as error:
        return _back_with_error(error, url_for("reports.admin_index"))
    flash(_("Forum added."), "success")
    return redirect(url_for("reports.admin_index"))


@bp.post("/admin/reports/<int:report_id>/responses")
@admin_required
@limiter.limit("30 per minute", key_func=user_or_ip)
def record_response(report_id):
    """The secretariat records what the forum did with the report (the service checks the role)."""
    form = request.form
    forum_id = form.get("forum_id", "")
    data = forum_responses.ResponseInput(
        decision=form.get("decision", ""),
        decided_on=form.get("decided_on", ""),
        forum_id=int(forum_id) if forum_id.isdigit() else None,
        document=form.get("document"),
        url=form.get("url"),
        text=form.get("text"),
        text_language=form.get("text_language"),
    )
    try:
        forum_responses.record(report_id, current_user, data)
    except AgoraError as error:
        if error.status in (403, 404):
            raise
        flash(error.message, "error")
        return show(report_id, response_form=form, response_error=error), error.status  # what was typed stays
    flash(_("The forum's response is recorded; the participants are told."), "success")
    return redirect(url_for("reports.show", report_id=report_id) + "#responses", 303)
