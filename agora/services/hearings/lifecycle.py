"""A hearing's life: create, find, appoint chairs, open and close, and the chair's settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from agora import permissions
from agora.extensions import db
from agora.models import Consultation, Hearing, RoleAssignment, User
from agora.models._base import utcnow
from agora.services.errors import Closed, Forbidden, Invalid, NotFound
from agora.services.hearings.payloads import _requests, publish_state
from agora.services.sanitize import clean_line

SLOW_MODE_MAX = 3600
TIME_LIMIT_RANGE = (15, 3600)


def create(consultation_id: int, title: object, scheduled_at: datetime | None = None) -> Hearing:
    """Secretariat: a new hearing of a consultation, scheduled (not yet live)."""
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None:
        raise NotFound("There is no consultation with this number.")
    hearing = Hearing(
        consultation_id=consultation.id,
        title=clean_line(title, max_chars=200, field="title"),
        scheduled_at=scheduled_at,
    )
    db.session.add(hearing)
    db.session.commit()
    return hearing


_HEARING_WITH_CONSULTATION = (
    select(Hearing).options(joinedload(Hearing.consultation)).where(Hearing.id == bindparam("id"))
)


def get(hearing_id: int | str) -> Hearing:
    """:raise NotFound: unknown hearing, or one whose consultation is still a draft (or not a
    number: a socket event's id is whatever the client sent)."""
    try:
        hearing_id = int(hearing_id)
    except (TypeError, ValueError):
        raise NotFound("There is no hearing with this number.") from None
    if not 0 < hearing_id < 2**31:  # beyond PostgreSQL's integer: no such row
        raise NotFound("There is no hearing with this number.")
    # one query for both, built once (every socket event of a hearing starts here)
    hearing = db.session.scalars(_HEARING_WITH_CONSULTATION, {"id": hearing_id}).first()
    if hearing is None or hearing.consultation is None or hearing.consultation.status == "draft":
        raise NotFound("There is no hearing with this number.")
    return hearing


def public_list() -> list[Hearing]:
    return list(
        db.session.scalars(
            select(Hearing)
            .join(Consultation, Consultation.id == Hearing.consultation_id)
            .where(Consultation.status != "draft")
            .order_by(Hearing.state != "live", Hearing.scheduled_at.desc().nulls_last(), Hearing.id.desc())
        )
    )


@dataclass(frozen=True)
class ConsultationHearings:
    """A consultation's hearings as its page lists them."""

    live: list[Hearing]  # live now: the page invites people to join
    upcoming: list[Hearing]  # scheduled, soonest first (those without a date last)
    past: list[Hearing]  # ended, latest first, each with its transcript

    def __bool__(self) -> bool:
        return bool(self.live or self.upcoming or self.past)


def of_consultation(consultation_id: int) -> ConsultationHearings:
    """Every hearing of one consultation, by state (one query)."""
    found = list(
        db.session.scalars(select(Hearing).where(Hearing.consultation_id == consultation_id).order_by(Hearing.id))
    )
    far = datetime.max
    return ConsultationHearings(
        live=[h for h in found if h.state == "live"],
        upcoming=sorted((h for h in found if h.state == "scheduled"), key=lambda h: (h.scheduled_at or far, h.id)),
        past=sorted((h for h in found if h.state == "ended"), key=lambda h: h.ended_at or h.created_at, reverse=True),
    )


def live_now(limit: int = 5) -> list[Hearing]:
    """Hearings live now in public consultations, for the home page (the most recently opened first)."""
    return list(
        db.session.scalars(
            select(Hearing)
            .options(joinedload(Hearing.consultation))
            .join(Consultation, Consultation.id == Hearing.consultation_id)
            .where(Hearing.state == "live", Consultation.status != "draft")
            .order_by(Hearing.started_at.desc().nulls_last(), Hearing.id.desc())
            .limit(limit)
        )
    )


def appoint_chair(hearing: Hearing, user: User, granted_by: User | None) -> RoleAssignment:
    """Secretariat: make a user the chair of this one hearing."""
    existing = db.session.scalar(
        select(RoleAssignment).where(
            RoleAssignment.user_id == user.id, RoleAssignment.role == "chair", RoleAssignment.hearing_id == hearing.id
        )
    )
    if existing:
        return existing
    assignment = RoleAssignment(
        user_id=user.id,
        role="chair",
        consultation_id=hearing.consultation_id,
        hearing_id=hearing.id,
        granted_by_id=granted_by.id if granted_by else None,
    )
    db.session.add(assignment)
    db.session.commit()
    db.session.refresh(user)
    return assignment


def chairs_of(hearing: Hearing) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(RoleAssignment.role == "chair", RoleAssignment.hearing_id == hearing.id)
        )
    )


def require_chair(hearing: Hearing, user: User | None) -> None:
    if not permissions.can_chair_hearing(user, hearing):
        raise Forbidden("Only the hearing's chair can do this.")


def open_hearing(hearing: Hearing, chair: User) -> Hearing:
    require_chair(hearing, chair)
    if hearing.state == "ended":
        raise Closed("This hearing has ended; it cannot be reopened.")
    if hearing.state != "live":
        hearing.state = "live"
        hearing.started_at = hearing.started_at or utcnow()
        db.session.commit()
    publish_state(hearing)
    return hearing


def close_hearing(hearing: Hearing, chair: User) -> Hearing:
    """End the hearing: the current speaker's turn ends, requests still queued are marked skipped;
    the transcript and the speakers' record stay."""
    require_chair(hearing, chair)
    if hearing.state == "ended":
        return hearing
    now = utcnow()
    for request in _requests(hearing.id, ("speaking", "queued")):
        if request.state == "speaking":
            request.state, request.ended_at = "done", now
        else:
            request.state = "skipped"
    hearing.state = "ended"
    hearing.ended_at = now
    db.session.commit()
    publish_state(hearing)
    return hearing


def _require_live(hearing: Hearing) -> None:
    if hearing.state == "scheduled":
        raise Closed("This hearing has not started yet.")
    if hearing.state != "live":
        raise Closed("This hearing has ended: it no longer accepts messages.")


# ---------------------------------------------------------------------------------------------
# The chair's settings: slow mode, speakers' time limit, rotation of constituencies


def set_slow_mode(hearing: Hearing, chair: User, seconds: object) -> Hearing:
    require_chair(hearing, chair)
    seconds = _int_in(seconds, 0, SLOW_MODE_MAX, "seconds")
    hearing.slow_mode_seconds = seconds
    db.session.commit()
    publish_state(hearing)
    return hearing


def set_time_limit(hearing: Hearing, chair: User, seconds: object) -> Hearing:
    require_chair(hearing, chair)
    hearing.speaker_time_limit_seconds = _int_in(seconds, *TIME_LIMIT_RANGE, "seconds")
    db.session.commit()
    publish_state(hearing)
    return hearing


def set_rotation(hearing: Hearing, chair: User, on: object) -> Hearing:
    require_chair(hearing, chair)
    if not isinstance(on, bool):
        raise Invalid("rotation is true or false.", field="on")
    hearing.rotation = on
    db.session.commit()
    publish_state(hearing)
    return hearing


def _int_in(value: object, low: int, high: int, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise Invalid(f"{field} must be a whole number from {low} to {high}.", field=field)
    try:
        value = int(value)
    except ValueError:
        raise Invalid(f"{field} must be a whole number from {low} to {high}.", field=field) from None
    if not low <= value <= high:
        raise Invalid(f"{field} must be a whole number from {low} to {high}.", field=field)
    return value
