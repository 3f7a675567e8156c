"""A report's life: a draft built from the data, rebuilt while a draft, frozen for good (its
package fixed, the audit chain's head anchored in it), superseded by a new version; who may read it."""

import logging
from collections.abc import Callable

from sqlalchemy import func, select

from agora.extensions import db
from agora.models import Consultation, Report, User
from agora.models._base import utcnow
from agora.services import audit
from agora.services.errors import Conflict, Invalid, NotFound
from agora.services.reporting.reports.content import build
from agora.services.reporting.reports.encoding import _iso, canonical, content_of, digest
from agora.services.reporting.reports.exports import build_package

log = logging.getLogger(__name__)


def create_draft(
    consultation_id: int,
    user: User | None,
    hearing_id: int | None = None,
    *,
    supersedes_id: int | None = None,
    progress: Callable[[str], None] = lambda m: None,
) -> Report:
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None:
        raise NotFound("There is no consultation with this number.")
    if hearing_id is not None:
        from agora.services import hearings

        hearing = hearings.get(hearing_id)
        if hearing.consultation_id != consultation.id:
            raise Invalid("This hearing belongs to another consultation.", field="hearing_id")
        if hearing.state != "ended":
            raise Conflict("This hearing has not ended yet: a report is made once it is over.", code="still_live")
    elif consultation.status in ("draft", "open"):
        raise Conflict(
            "This consultation is still open (or a draft): close it before reporting, so the report covers everything.",
            code="still_open",
        )
    content = build(consultation.id, hearing_id, progress=progress)
    latest = (
        db.session.scalar(
            select(func.max(Report.version)).where(
                Report.consultation_id == consultation.id,
                (Report.hearing_id == hearing_id) if hearing_id else Report.hearing_id.is_(None),
            )
        )
        or 0
    )
    title = f"Report on “{consultation.title}”" + (
        f" — {content['hearing']['title']}" if content.get("hearing") else ""
    )
    content["report"] = {
        "title": title,
        "version": latest + 1,
        "supersedes": supersedes_id,
        "generated_at": _iso(utcnow()),
    }
    report = Report(
        consultation_id=consultation.id,
        hearing_id=hearing_id,
        version=latest + 1,
        supersedes_id=supersedes_id,
        state="draft",
        title=title,
        content_json=canonical(content).decode("utf-8"),
        created_by_id=user.id if user else None,
    )
    db.session.add(report)
    db.session.commit()
    return report


def get(report_id: int) -> Report:
    report = db.session.get(Report, report_id)
    if report is None:
        raise NotFound("There is no report with this number.")
    return report


def readable(report_id: int, viewer: User | None = None) -> Report:
    """Frozen reports are public; a draft only for the secretariat; anything else is not found."""
    from agora import permissions

    report = db.session.get(Report, report_id)
    if report is None or (report.state != "frozen" and not permissions.is_admin(viewer)):
        raise NotFound("There is no frozen report with this number.")
    return report


def freeze(report_id: int, user: User | None) -> Report:
    """Freeze: the canonical JSON, its SHA-256 and the package are fixed for good."""
    report = get(report_id)
    if report.state == "frozen":
        raise Conflict("This report is already frozen; make a new version to correct it.", code="frozen")
    content = content_of(report)
    content["report"]["frozen_at"] = _iso(utcnow())
    # The moderation audit chain's length and head as of now, frozen with the report: deleting the
    # log's last entries later shows against it (agora.services.audit.verify).
    content["audit_anchor"] = audit.head().as_dict()
    body = canonical(content)
    report.content_json = body.decode("utf-8")
    report.sha256 = digest(body)
    report.state = "frozen"
    report.frozen_at = utcnow()
    report.package, report.manifest_sha256 = build_package(report)
    consultation = report.consultation
    if report.hearing_id is None and consultation.status == "closed":
        consultation.status = "reported"
    db.session.commit()
    try:
        audit.checkpoint()  # and a signed checkpoint in the instance folder
    except OSError as error:
        log.warning("audit checkpoint not written: %s", error)
    return report


def new_version(report_id: int, user: User | None) -> Report:
    """A correction: a fresh draft from today's data that supersedes the given frozen report."""
    earlier = get(report_id)
    if earlier.state != "frozen":
        raise Conflict("Only a frozen report can be superseded; edit the draft instead.", code="not_frozen")
    return create_draft(earlier.consultation_id, user, earlier.hearing_id, supersedes_id=earlier.id)


def regenerate(report_id: int, user: User | None) -> Report:
    report = get(report_id)
    if report.state == "frozen":
        raise Conflict("A frozen report never changes; make a new version instead.", code="frozen")
    content = build(report.consultation_id, report.hearing_id)
    content["report"] = {**content_of(report)["report"], "generated_at": _iso(utcnow())}
    report.content_json = canonical(content).decode("utf-8")
    db.session.commit()
    return report


def public_list(consultation_id: int | None = None) -> list[Report]:
    query = select(Report).where(Report.state == "frozen").order_by(Report.frozen_at.desc())
    if consultation_id is not None:
        query = query.where(Report.consultation_id == consultation_id)
    return list(db.session.scalars(query))


def all_for_admin() -> list[Report]:
    return list(db.session.scalars(select(Report).order_by(Report.created_at.desc())))
