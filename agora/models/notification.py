"""Notifications: what happened to a participant's input, in the app and (if they opt in) by email."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agora.extensions import db
from agora.i18n import N_
from agora.models._base import utcnow

# The kinds a participant sets a preference for; labels stay English here, translated where shown.
NOTIFICATION_KINDS = {
    "view_published": N_("A view of yours that waited was published"),
    "view_held": N_("A view of yours was held for a moderator"),
    "view_decided": N_("A moderator decided on a view of yours"),
    "appeal_decided": N_("Your appeal was decided"),
    "report_transmitted": N_("A report on a consultation you took part in was sent to its forum"),
    "forum_response": N_("The forum responded to that report"),
}
CHANNELS = ("in_app", "email", "off")  # email also shows in the app; off shows nothing


class Notification(db.Model):
    """One event for one person. ``params`` (JSON) holds ids and codes only; the message is
    written when it is shown, in the reader's language."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    params: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    # Email: "none" (in-app only), "queued" (one email each), "digest" (waits for the daily
    # digest), "sent" (in an email handed to the server).
    email_state: Mapped[str] = mapped_column(String(16), default="none")


class NotificationPreference(db.Model):
    """A person's channel for one kind; no row means in-app only (email is never on by default)."""

    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("user_id", "kind", name="uq_notification_preference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16), default="in_app")


class NotificationSettings(db.Model):
    """Per person: whether email comes as one daily digest, and when the last digest went."""

    __tablename__ = "notification_settings"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    digest: Mapped[bool] = mapped_column(default=False)
    digest_sent_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]


class OutgoingEmail(db.Model):
    """The outbox: an email rendered in its recipient's language, sent by a background job,
    retried with backoff, and kept (with why it failed) rather than ever dropped."""

    __tablename__ = "outgoing_emails"
    __table_args__ = (Index("ix_outgoing_emails_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    unsubscribe_url: Mapped[str | None] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(16), default="queued")  # queued | sent | failed
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

    user = relationship("User")
