"""API v1 for reports: list, get the frozen JSON, download the package, verify."""

import json

from flask import Response, request

from agora.api.v1.blueprint import bp
from agora.services.errors import Invalid, TooLarge
from agora.services.reporting import reports


def _summary(report) -> dict:
    return {
        "id": report.id,
        "title": report.title,
        "version": report.version,
        "consultation_id": report.consultation_id,
        "hearing_id": report.hearing_id,
        "supersedes": report.supersedes_id,
        "sha256": report.sha256,
        "frozen_at": report.frozen_at.isoformat() + "Z" if report.frozen_at else None,
    }


@bp.get("/reports")
def list_reports():
    return {"items": [_summary(r) for r in reports.public_list()]}


@bp.get("/reports/<int:report_id>")
def get_report(report_id):
    report = reports.readable(report_id)
    return {**_summary(report), "content": json.loads(report.content_json)}


@bp.get("/reports/<int:report_id>/package")
def get_package(report_id):
    report = reports.readable(report_id)
    return Response(
        report.package,
        mimetype="application/zip",
        headers={"Content-Disposition": f"attachment; filename=agora-report-{report.id}-package.zip"},
    )


@bp.get("/reports/<int:report_id>/verify")
def verify_stored(report_id):
    result = reports.verify_report(report_id)
    return {
        "ok": result.ok,
        "report_id": result.report_id,
        "message": result.message,
        "problems": list(result.problems),
    }


@bp.post("/reports/verify")
def verify_upload():
    """Upload a package (the zip as the body, Content-Type application/zip) to check it."""
    if request.mimetype != "application/zip":
        raise Invalid("Send the package as the request body with Content-Type: application/zip.", code="content_type")
    data = request.get_data(cache=False)
    if len(data) > reports.MAX_PACKAGE_BYTES:
        raise TooLarge("Packages are limited to 50 MB.")
    result = reports.verify_package(data)
    return {
        "ok": result.ok,
        "report_id": result.report_id,
        "message": result.message,
        "problems": list(result.problems),
        "checked": list(result.checked),
    }
