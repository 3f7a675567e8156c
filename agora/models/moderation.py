"""The moderation record: decisions (the audit log), flags, appeals and model versions."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agora.extensions import db
from agora.i18n import N_
from agora.models._base import utcnow

# The published code of conduct; every human decision cites one of these.
CODE_OF_CONDUCT = {
    "abuse": N_("Abuse: hate, harassment, threats or insults"),
    "spam": N_("Spam: advertising, link floods, repeated posting"),
    "privacy": N_("Personal data of others"),
    "off_topic": N_("Off topic"),
    "illegal": N_("Unlawful content or incitement to violence"),
    "duplicate": N_("Duplicate of another view"),
    "within_rules": N_("Within the code of conduct"),
}


class ModerationDecision(db.Model):
    """Append-only and hash-chained: each entry's hash covers the previous entry's hash."""

    __tablename__ = "moderation_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    # None for the secretariat's entries that concern no submission (a forum's response to a
    # report, action "forum_response"): they are chained and verified like the rest.
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    automatic: Mapped[bool] = mapped_column(default=False)
    # publish, hold, approve, hide, reject, restore, uphold, appeal, flag_dismissed
    action: Mapped[str] = mapped_column(String(16))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str | None] = mapped_column(Text)
    model_version: Mapped[str | None] = mapped_column(String(80))
    abuse_score: Mapped[float | None]
    spam_score: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    entry_hash: Mapped[str | None] = mapped_column(String(64), index=True)

    actor = relationship("User")
    submission = relationship("Submission")


class Flag(db.Model):
    """A participant's report that a published item breaks the code of conduct."""

    __tablename__ = "flags"
    __table_args__ = (UniqueConstraint("submission_id", "user_id", name="uq_flag_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]


class Appeal(db.Model):
    """One appeal per submission, decided by a moderator other than the one who decided first."""

    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), unique=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    statement: Mapped[str] = mapped_column(Text)
    original_moderator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    outcome: Mapped[str | None] = mapped_column(String(16))  # restored | upheld
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]

    submission = relationship("Submission")


class ModelVersion(db.Model):
    """A moderation model built by retraining; exactly one row is active (or none: the shipped model)."""

    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(80), unique=True)
    path: Mapped[str] = mapped_column(String(500))
    metrics_json: Mapped[str] = mapped_column(Text, default="{}")
    active: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
