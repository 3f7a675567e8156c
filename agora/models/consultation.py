"""Consultations: an issue on an intergovernmental agenda, open for views."""

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agora.extensions import db
from agora.i18n import N_
from agora.models._base import utcnow

STAGES = {
    "round_table": N_("Round table on an emerging issue"),
    "conference": N_("Global conference"),
    "partnership": N_("Partnership"),
    "hearing": N_("Hearing / review"),
}
STATUSES = ("draft", "open", "closed", "reported")


class Consultation(db.Model):
    __tablename__ = "consultations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(500), default="")
    # Sanitised HTML (see services.sanitize.clean_html); never raw input.
    briefing_html: Mapped[str] = mapped_column(Text, default="")
    stage: Mapped[str] = mapped_column(String(16), default="round_table")
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    forum: Mapped[str] = mapped_column(String(200), default="")
    languages: Mapped[str] = mapped_column(String(80), default="en")
    opens_at: Mapped[datetime | None]
    closes_at: Mapped[datetime | None]
    # Per-consultation moderation thresholds; NULL means the library's defaults.
    hold_threshold: Mapped[float | None]
    reject_threshold: Mapped[float | None]
    attribution: Mapped[str | None] = mapped_column(Text)
    # SMS gateway keyword that routes a text message to this consultation.
    sms_keyword: Mapped[str | None] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def is_open(self) -> bool:
        """Accepting views and votes: open, and within its dates when it has them (a consultation
        whose closing date has passed closes by itself, as its page says)."""
        now = utcnow()
        return (
            self.status == "open"
            and (self.opens_at is None or self.opens_at <= now)
            and (self.closes_at is None or now < self.closes_at)
        )

    @property
    def not_yet_open(self) -> bool:
        return self.status == "open" and self.opens_at is not None and utcnow() < self.opens_at

    @property
    def past_closing_date(self) -> bool:
        return self.closes_at is not None and self.closes_at <= utcnow()

    def __repr__(self) -> str:
        return f"<Consultation {self.slug}>"
