"""Reports of aggregated opinion, the forums they go to, and their transmission."""

from datetime import date, datetime

from sqlalchemy import ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agora.extensions import db
from agora.i18n import N_
from agora.models._base import utcnow


class Forum(db.Model):
    """An intergovernmental forum that receives reports; managed by the secretariat."""

    __tablename__ = "forums"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    # Shared secret for the HMAC signature of webhook deliveries.
    webhook_secret: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Report(db.Model):
    """A draft, then frozen: canonical JSON and its SHA-256 never change once frozen.
    A correction is a new version that supersedes the earlier one."""

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("consultation_id", "hearing_id", "version", name="uq_report_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    hearing_id: Mapped[int | None] = mapped_column(ForeignKey("hearings.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(default=1)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(16), default="draft")  # draft | frozen
    title: Mapped[str] = mapped_column(String(300))
    content_json: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64))
    package: Mapped[bytes | None] = mapped_column(LargeBinary)
    manifest_sha256: Mapped[str | None] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    frozen_at: Mapped[datetime | None]

    consultation = relationship("Consultation")


class Transmission(db.Model):
    """The record that a frozen report was sent to a forum, and of each delivery attempt."""

    __tablename__ = "transmissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    forum_id: Mapped[int] = mapped_column(ForeignKey("forums.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default="recorded")  # recorded | pending | delivered | failed
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    log: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]

    report = relationship("Report")
    forum = relationship("Forum")


# What a forum did with a report: labels stay English here and are translated where shown.
FORUM_DECISIONS = {
    "adopted": N_("Adopted"),
    "noted": N_("Taken note of"),
    "referred": N_("Referred to another body"),
    "deferred": N_("Deferred to a later session"),
    "rejected": N_("Not taken up"),
}


class ForumResponse(db.Model):
    """What a forum did with a transmitted report, recorded by the secretariat: the decision, its
    date, the forum's document (a symbol such as E/HLPF/2026/L.3 and/or a link) and a short text
    in the language it was written in."""

    __tablename__ = "forum_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    forum_id: Mapped[int | None] = mapped_column(ForeignKey("forums.id", ondelete="SET NULL"))
    decision: Mapped[str] = mapped_column(String(16))
    decided_on: Mapped[date]
    document: Mapped[str | None] = mapped_column(String(120))
    url: Mapped[str | None] = mapped_column(String(500))
    text: Mapped[str | None] = mapped_column(Text)
    text_language: Mapped[str | None] = mapped_column(String(8))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    report = relationship("Report")
    forum = relationship("Forum")
