"""Submissions (views and hearing messages), votes on them, and API idempotency records."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agora.extensions import db
from agora.models._base import utcnow

CHANNELS = ("web", "api", "socket", "import", "sms")
STATES = ("pending", "published", "held", "hidden", "rejected")
VOTE_VALUES = {"agree": 1, "disagree": -1, "pass": 0}


class Submission(db.Model):
    __tablename__ = "submissions"
    __table_args__ = (
        Index("ix_submissions_listing", "consultation_id", "state", "created_at"),
        # an offline row or a Pol.is comment is stored once per consultation, even by concurrent imports
        Index("uq_submissions_external_ref", "consultation_id", "external_ref", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    # Set for messages in a live hearing; views in the consultation itself have none.
    hearing_id: Mapped[int | None] = mapped_column(ForeignKey("hearings.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="view")  # view | message | chair_summary
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(16), default="web")
    # Snapshot of the author's self-declared profile at submission time.
    constituency: Mapped[str | None] = mapped_column(String(32))
    country: Mapped[str | None] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(32))
    global_south: Mapped[bool | None]
    gender: Mapped[str | None] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    abuse_score: Mapped[float | None]
    spam_score: Mapped[float | None]
    reasons: Mapped[str] = mapped_column(String(200), default="")
    model_version: Mapped[str | None] = mapped_column(String(80))
    theme_id: Mapped[int | None]
    agree_count: Mapped[int] = mapped_column(default=0)
    disagree_count: Mapped[int] = mapped_column(default=0)
    pass_count: Mapped[int] = mapped_column(default=0)
    external_ref: Mapped[str | None] = mapped_column(String(120))
    # Near-duplicate campaign this submission belongs to (the id of its first member).
    campaign_id: Mapped[int | None] = mapped_column(index=True)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    claimed_at: Mapped[datetime | None]
    flag_count: Mapped[int] = mapped_column(default=0)
    # Submitted on behalf of an organisation (the author is a member), or a network's joint statement.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="SET NULL"), index=True)
    # Offline channels: the kind of gathering (radio call-in, town hall…) and the facilitator's note.
    origin: Mapped[str | None] = mapped_column(String(32))
    facilitator_note: Mapped[str | None] = mapped_column(Text)
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id", ondelete="SET NULL"))
    # SMS: a salted hash of the sender's number, never the number itself.
    sender_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    consultation = relationship("Consultation")
    author = relationship("User", foreign_keys=[author_id])

    def __repr__(self) -> str:
        return f"<Submission {self.id} {self.state}>"


class Vote(db.Model):
    """One participant's vote on one submission; voting again changes it."""

    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("submission_id", "user_id", name="uq_vote_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    value: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class IdempotencyRecord(db.Model):
    """The first answer to an API post with an Idempotency-Key, replayed on retries."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SubmissionVector(db.Model):
    """A submission's sentence embedding, computed once after it is stored (``services.embeddings``).

    Themes, placement, search and near-duplicates across languages read it instead of embedding
    again. 512 float16 (1 KB); ``model`` names what made it, so a new model re-embeds.
    """

    __tablename__ = "submission_vectors"

    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    model: Mapped[str] = mapped_column(String(40))
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
