"""Live hearings of a consultation: the session, its chair controls and the speakers' queue."""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agora.extensions import db
from agora.models._base import utcnow

HEARING_STATES = ("scheduled", "live", "ended")
SPEAKER_STATES = ("queued", "speaking", "done", "skipped", "withdrawn")


class Hearing(db.Model):
    __tablename__ = "hearings"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default="scheduled")
    scheduled_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    slow_mode_seconds: Mapped[int] = mapped_column(default=0)
    speaker_time_limit_seconds: Mapped[int] = mapped_column(default=180)
    rotation: Mapped[bool] = mapped_column(default=True)
    pinned_submission_id: Mapped[int | None]  # no foreign key: submissions already point at hearings
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    consultation = relationship("Consultation")


class SpeakerRequest(db.Model):
    """A request for the floor, with the constituency and topic the requester states."""

    __tablename__ = "speaker_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    hearing_id: Mapped[int] = mapped_column(ForeignKey("hearings.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    constituency: Mapped[str | None] = mapped_column(String(32))
    topic: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(16), default="queued")
    position: Mapped[int] = mapped_column(default=0)
    time_limit_seconds: Mapped[int | None]
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]

    user = relationship("User")
