"""Organisations, networks that federate them, accreditation with a public log, joint statements."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agora.extensions import db
from agora.models._base import utcnow

ACCREDITATION_STATES = ("requested", "accredited", "refused", "withdrawn")


class Organisation(db.Model):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Lower-cased, space-folded name: two organisations may not share it.
    name_key: Mapped[str] = mapped_column(String(200), unique=True)
    constituency: Mapped[str] = mapped_column(String(32))
    country: Mapped[str | None] = mapped_column(String(2))
    website: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    is_network: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OrganisationMember(db.Model):
    __tablename__ = "organisation_members"
    __table_args__ = (UniqueConstraint("organisation_id", "user_id", name="uq_org_member"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16), default="member")  # member | admin
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organisation = relationship("Organisation")
    user = relationship("User")


class NetworkMember(db.Model):
    """An organisation federated in a network (itself an organisation with is_network)."""

    __tablename__ = "network_members"
    __table_args__ = (UniqueConstraint("network_id", "organisation_id", name="uq_network_member"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Accreditation(db.Model):
    """An organisation's request to take part in a consultation (or hearing), and its current state."""

    __tablename__ = "accreditations"
    __table_args__ = (UniqueConstraint("organisation_id", "consultation_id", name="uq_accreditation"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="requested")
    motivation: Mapped[str] = mapped_column(Text, default="")
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organisation = relationship("Organisation")
    consultation = relationship("Consultation")


class AccreditationDecision(db.Model):
    """The public accreditation log: every decision, its reason and the criteria applied."""

    __tablename__ = "accreditation_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    accreditation_id: Mapped[int] = mapped_column(ForeignKey("accreditations.id", ondelete="CASCADE"), index=True)
    decision: Mapped[str] = mapped_column(String(16))
    criteria: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    accreditation = relationship("Accreditation")


class Endorsement(db.Model):
    """A member organisation endorsing its network's joint statement (a submission of kind joint_statement)."""

    __tablename__ = "endorsements"
    __table_args__ = (UniqueConstraint("submission_id", "organisation_id", name="uq_endorsement"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    endorsed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organisation = relationship("Organisation")


class ImportBatch(db.Model):
    """One offline upload (CSV of field consultations, town halls, radio call-ins, paper forms)."""

    __tablename__ = "import_batches"
    __table_args__ = (UniqueConstraint("consultation_id", "sha256", name="uq_import_file"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    facilitator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_imported: Mapped[int] = mapped_column(default=0)
    rows_skipped: Mapped[int] = mapped_column(default=0)
    report_json: Mapped[str] = mapped_column(Text, default="[]")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConsultationTranslation(db.Model):
    """A consultation's title and briefing in another language."""

    __tablename__ = "consultation_translations"
    __table_args__ = (UniqueConstraint("consultation_id", "language", name="uq_consultation_language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    language: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(500), default="")
    briefing_html: Mapped[str] = mapped_column(Text, default="")
