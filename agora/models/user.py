"""Accounts, roles and personal API tokens."""

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agora.extensions import db
from agora.i18n import N_
from agora.models._base import utcnow

CONSTITUENCIES = {
    "ngo": N_("NGO / civil society"),
    "private_sector": N_("Private sector"),
    "parliamentarian": N_("Parliamentarian"),
    "local_authority": N_("Local authority"),
    "indigenous_peoples": N_("Indigenous peoples"),
    "academia": N_("Academia and research"),
    "trade_union": N_("Trade union"),
    "youth": N_("Youth"),
    "womens_organisation": N_("Women's organisation"),
    "individual": N_("Individual"),
}
GENDERS = {
    "woman": N_("Woman"),
    "man": N_("Man"),
    "another": N_("Another gender"),
    "undisclosed": N_("Prefer not to say"),
}
ROLES = ("admin", "moderator", "chair", "facilitator")


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(80))
    # Imported participants (e.g. a Pol.is conversation) have no login.
    kind: Mapped[str] = mapped_column(String(16), default="account")
    external_ref: Mapped[str | None] = mapped_column(String(120), unique=True)
    is_admin: Mapped[bool] = mapped_column(default=False)
    constituency: Mapped[str | None] = mapped_column(String(32))
    country: Mapped[str | None] = mapped_column(String(2))
    gender: Mapped[str | None] = mapped_column(String(16))
    languages: Mapped[str | None] = mapped_column(String(120))
    locale: Mapped[str | None] = mapped_column(String(8))
    # Profiles are used in aggregate only; a participant may choose to show their constituency
    # (and region) next to their name on their views (agora.services.participation.submissions.shown_profile).
    show_constituency: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Security: lockout after repeated failures, "sign out everywhere", optional TOTP, deletion.
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    session_version: Mapped[int] = mapped_column(default=0)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    password_changed_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]

    roles: Mapped[list["RoleAssignment"]] = relationship(
        back_populates="user",
        cascade="all, delete-orphan",
        foreign_keys="RoleAssignment.user_id",
    )

    def get_id(self) -> str:
        """Flask-Login's session token: the id, the session version (bumping it signs out
        everywhere) and, once signed in, this browser's session id (signing out deletes it)."""
        sid = getattr(self, "session_id", None)
        return f"{self.id}:{self.session_version or 0}" + (f":{sid}" if sid else "")

    def __repr__(self) -> str:
        return f"<User {self.id} {self.display_name!r}>"


class RoleAssignment(db.Model):
    """A role, global (consultation_id NULL) or scoped to one consultation."""

    __tablename__ = "role_assignments"
    __table_args__ = (UniqueConstraint("user_id", "role", "consultation_id", "hearing_id", name="uq_role_scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    consultation_id: Mapped[int | None] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"))
    # A chair may be appointed for one hearing only.
    hearing_id: Mapped[int | None] = mapped_column(ForeignKey("hearings.id", ondelete="CASCADE"))
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="roles", foreign_keys=[user_id])


class ApiToken(db.Model):
    """A personal API token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class UserSession(db.Model):
    """One signed-in browser: sign-out deletes its row, so a copy of its cookie no longer works.

    Only the SHA-256 of the session's random id is stored; the id itself lives in the signed
    session (and remember-me) cookie, as part of Flask-Login's user id."""

    __tablename__ = "user_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
