"""The moderation record: every decision, automatic or human (the audit log)."""
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agora.extensions import db
from agora.models._base import utcnow


class ModerationDecision(db.Model):
    """Append-only: rows are added, never updated or deleted."""

    __tablename__ = "moderation_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    automatic: Mapped[bool] = mapped_column(default=False)
    action: Mapped[str] = mapped_column(String(16))  # publish, hold, hide, reject, approve, restore
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str | None] = mapped_column(Text)
    model_version: Mapped[str | None] = mapped_column(String(80))
    abuse_score: Mapped[float | None]
    spam_score: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    actor = relationship("User")
