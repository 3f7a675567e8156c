"""The speakers' queue: ask for the floor, withdraw, grant (by rotation when on), skip, reorder;
and the record of who spoke."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from agora.extensions import db
from agora.models import Hearing, SpeakerRequest, User
from agora.models._base import utcnow
from agora.models.user import CONSTITUENCIES
from agora.services.errors import Conflict, Forbidden, Invalid, NotFound
from agora.services.hearings.lifecycle import _require_live, require_chair
from agora.services.hearings.live_themes import _themes
from agora.services.hearings.payloads import _next_by_rotation, _requests, publish_state
from agora.services.sanitize import clean_line

TOPIC_MAX_CHARS = 200


def request_floor(
    hearing: Hearing, user: User | None, constituency: object = None, topic: object = ""
) -> SpeakerRequest:
    """Ask for the floor, stating a constituency and a topic; one open request per person."""
    if user is None or not getattr(user, "is_authenticated", False):
        raise Forbidden("Sign in to ask for the floor.")
    _require_live(hearing)
    constituency = constituency or user.constituency
    if constituency not in CONSTITUENCIES:
        raise Invalid("Choose the constituency you speak for.", field="constituency")
    topic = clean_line(topic or "", max_chars=TOPIC_MAX_CHARS, field="topic") if topic else ""
    open_ = db.session.scalar(
        select(SpeakerRequest).where(
            SpeakerRequest.hearing_id == hearing.id,
            SpeakerRequest.user_id == user.id,
            SpeakerRequest.state.in_(("queued", "speaking")),
        )
    )
    if open_ is not None:
        raise Conflict("You have already asked for the floor in this hearing.", code="already_queued")
    last = db.session.scalar(select(func.max(SpeakerRequest.position)).where(SpeakerRequest.hearing_id == hearing.id))
    request = SpeakerRequest(
        hearing_id=hearing.id, user_id=user.id, constituency=constituency, topic=topic, position=(last or 0) + 1
    )
    db.session.add(request)
    db.session.commit()
    publish_state(hearing)
    return request


def withdraw_floor(hearing: Hearing, user: User) -> None:
    if user is None or not getattr(user, "is_authenticated", False):
        raise Forbidden("Sign in first.")
    request = db.session.scalar(
        select(SpeakerRequest).where(
            SpeakerRequest.hearing_id == hearing.id, SpeakerRequest.user_id == user.id, SpeakerRequest.state == "queued"
        )
    )
    if request is None:
        raise NotFound("You have no request for the floor in this hearing.")
    request.state = "withdrawn"
    db.session.commit()
    publish_state(hearing)


def grant_floor(hearing: Hearing, chair: User, request_id: int | str | None = None) -> SpeakerRequest | None:
    """Give the floor to a request (or the next one: by rotation when on); the current turn ends."""
    require_chair(hearing, chair)
    _require_live(hearing)
    queued = _requests(hearing.id, ("queued",))
    if request_id is None:
        chosen = _next_by_rotation(hearing, queued)
        if chosen is None:
            _end_current(hearing.id)
            db.session.commit()
            publish_state(hearing)
            return None
    else:
        chosen = next((r for r in queued if r.id == _as_id(request_id)), None)
        if chosen is None:
            raise NotFound("There is no queued request with this number in this hearing.")
    _end_current(hearing.id)
    chosen.state = "speaking"
    chosen.started_at = utcnow()
    chosen.time_limit_seconds = hearing.speaker_time_limit_seconds
    db.session.commit()
    publish_state(hearing)
    _themes.schedule(hearing.id)  # the chair's balance of speakers changed
    return chosen


def _end_current(hearing_id: int) -> None:
    for current in _requests(hearing_id, ("speaking",)):
        current.state = "done"
        current.ended_at = utcnow()


def end_turn(hearing: Hearing, chair: User) -> None:
    require_chair(hearing, chair)
    _end_current(hearing.id)
    db.session.commit()
    publish_state(hearing)


def skip(hearing: Hearing, chair: User, request_id: int | str) -> None:
    """Take a request out of the queue without giving it the floor."""
    require_chair(hearing, chair)
    request = db.session.get(SpeakerRequest, _as_id(request_id))
    if request is None or request.hearing_id != hearing.id or request.state != "queued":
        raise NotFound("There is no queued request with this number in this hearing.")
    request.state = "skipped"
    db.session.commit()
    publish_state(hearing)


def reorder(hearing: Hearing, chair: User, order: object) -> None:
    """Put the queue in this order (a list of every queued request id)."""
    require_chair(hearing, chair)
    if (
        not isinstance(order, list)
        or len(order) > 1000
        or not all(isinstance(i, int) and not isinstance(i, bool) for i in order)
    ):
        raise Invalid("order must be a list of request numbers.", field="order")
    queued = _requests(hearing.id, ("queued",))
    if sorted(order) != sorted(r.id for r in queued):
        raise Conflict("The queue has changed; reload it and reorder again.", code="stale_queue")
    by_id = {r.id: r for r in queued}
    for position, request_id in enumerate(order, start=1):
        by_id[request_id].position = position
    db.session.commit()
    publish_state(hearing)


def _as_id(value: int | str) -> int:
    """A request number from a socket event (whatever the client sent: anything else is Invalid)."""
    if isinstance(value, bool):
        raise Invalid("A request number is expected.", field="id")
    try:
        value = int(value)
    except (TypeError, ValueError):
        raise Invalid("A request number is expected.", field="id") from None
    if not 0 < value < 2**31:
        raise NotFound("There is no request with this number in this hearing.")
    return value


@dataclass(frozen=True)
class SpeakerRecord:
    order: int
    name: str
    constituency: str | None
    topic: str
    started_at: datetime
    ended_at: datetime | None
    seconds: int | None


def speakers_record(hearing: Hearing) -> list[SpeakerRecord]:
    """Who spoke, for which constituency, in which order and for how long."""
    turns = list(
        db.session.scalars(
            select(SpeakerRequest)
            .where(SpeakerRequest.hearing_id == hearing.id, SpeakerRequest.started_at.is_not(None))
            .order_by(SpeakerRequest.started_at, SpeakerRequest.id)
        )
    )
    return [
        SpeakerRecord(
            order=n,
            name=t.user.display_name if t.user else "—",
            constituency=t.constituency,
            topic=t.topic,
            started_at=t.started_at,
            ended_at=t.ended_at,
            seconds=int((t.ended_at - t.started_at).total_seconds()) if t.ended_at else None,
        )
        for n, t in enumerate(turns, start=1)
        if t.started_at is not None  # the query's own condition, said again for the type checker
    ]
