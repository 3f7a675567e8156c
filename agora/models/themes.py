"""Snapshots of theme and opinion analyses: each run stored whole, so reports can cite it."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agora.extensions import db
from agora.models._base import utcnow


class ThemeSnapshot(db.Model):
    __tablename__ = "theme_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    hearing_id: Mapped[int | None] = mapped_column(ForeignKey("hearings.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="themes")  # themes | opinions
    status: Mapped[str] = mapped_column(String(16), default="ready")  # running | ready | failed
    n_items: Mapped[int] = mapped_column(default=0)
    params_json: Mapped[str] = mapped_column(Text, default="{}")
    data_json: Mapped[str] = mapped_column(Text, default="{}")
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
