"""Live hearings: the session, its thread, the speakers' queue, the chair's controls and summaries.

Messages go through ``submissions.submit`` like any view (validated, sanitised, screened,
committed) and only then reach the hearing's room. Bursts are coalesced: a per-process batcher
flushes at most every ``batch_seconds()`` (0.3 s) one ``messages`` event per hearing, encoded once
for the whole room, so nobody receives more than 4 frames a second however fast people post (the
margin absorbs delivery jitter). A change in the number of people present rides on the next frame,
or goes alone after ``PRESENCE_SECONDS``: a crowd (re)joining does not cost a frame per client every
interval. Clients that reconnect call ``replay`` with the last id they saw and get what they
missed, in order.

``retract(submission)`` and ``announce(submission)`` are called by the moderation service when a
moderator hides a hearing message or approves a held one.
"""
from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import joinedload

from agora import permissions
from agora.extensions import db
from agora.jobs import off_loop
from agora.i18n import N_
from agora.models import (
    Consultation,
    Hearing,
    IdempotencyRecord,
    ModerationDecision,
    RoleAssignment,
    SpeakerRequest,
    Submission,
    User,
)
from agora.models._base import utcnow
from agora.models.user import CONSTITUENCIES
from agora.services import geography, realtime, submissions
from agora.services.errors import Closed, Conflict, Forbidden, Invalid, NotFound
from agora.services.sanitize import clean_line

log = logging.getLogger(__name__)

NAMESPACE = "/hearing"
MESSAGE_MAX_CHARS = 2000
TOPIC_MAX_CHARS = 200
SUMMARY_MAX_CHARS = 5000
REPLAY_LIMIT = 1000
SLOW_MODE_MAX = 3600
TIME_LIMIT_RANGE = (15, 3600)
THEMES_MIN_TEXTS = 6
THEMES_EVERY = 10  # recompute the chair's themes after this many new messages ...
THEMES_MIN_INTERVAL = 20.0  # ... but not more often than this (seconds): a refit costs CPU
PROCESS_ID = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
PRESENCE_SECONDS = 2.0  # a frame that would only carry the number of people present waits this long


def batch_seconds() -> float:
    """Coalescing interval; 0 emits at once (in-process unit tests)."""
    from flask import current_app

    value = current_app.config.get("HEARING_BATCH_SECONDS")
    if value is None:
        value = float(os.environ.get("AGORA_HEARING_BATCH_SECONDS", "0.3"))
    return float(value)


# ---------------------------------------------------------------------------------------------
# Hearings: create, find, appoint chairs, open and close


def create(consultation_id: int, title, scheduled_at: datetime | None = None) -> Hearing:
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


_HEARING_WITH_CONSULTATION = select(Hearing).options(joinedload(Hearing.consultation)).where(Hearing.id == bindparam("id"))


def get(hearing_id) -> Hearing:
    """:raise NotFound: unknown hearing, or one whose consultation is still a draft."""
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


def require_chair(hearing: Hearing, user) -> None:
    if not permissions.can_chair_hearing(user, hearing):
        raise Forbidden("Only the hearing's chair can do this.")


def open_hearing(hearing: Hearing, chair) -> Hearing:
    require_chair(hearing, chair)
    if hearing.state == "ended":
        raise Closed("This hearing has ended; it cannot be reopened.")
    if hearing.state != "live":
        hearing.state = "live"
        hearing.started_at = hearing.started_at or utcnow()
        db.session.commit()
    publish_state(hearing)
    return hearing


def close_hearing(hearing: Hearing, chair) -> Hearing:
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
# The thread: messages, chair's summaries, votes, pins


def _last_post_at(hearing_id: int, user_id: int) -> datetime | None:
    return db.session.scalar(
        select(func.max(Submission.created_at)).where(
            Submission.hearing_id == hearing_id, Submission.author_id == user_id, Submission.kind == "message"
        )
    )


def _already_posted(user: User, key: str | None) -> bool:
    if key is None:
        return False
    return db.session.scalar(
        select(func.count(IdempotencyRecord.id)).where(IdempotencyRecord.user_id == user.id, IdempotencyRecord.key == key)
    ) > 0


def post_message(hearing: Hearing, user: User, text, *, client_id: str | None = None, channel: str = "socket") -> Submission:
    """A participant's message: slow mode, then the submissions pipeline, then the room.

    ``client_id`` makes a retry after a lost acknowledgement return the first message instead of
    storing it twice. Returns the submission; its state says published or held.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        raise Forbidden("Sign in to post in this hearing.")
    _require_live(hearing)
    key = None
    if client_id is not None:
        if not isinstance(client_id, str) or not 1 <= len(client_id) <= 64:
            raise Invalid("client_id must be a string of 1 to 64 characters.", field="client_id")
        key = f"hearing:{hearing.id}:{client_id}"
    if hearing.slow_mode_seconds and not _already_posted(user, key) and not permissions.can_chair_hearing(user, hearing):
        last = _last_post_at(hearing.id, user.id)
        if last is not None:
            wait = hearing.slow_mode_seconds - (utcnow() - last).total_seconds()
            if wait > 0:
                raise Conflict(
                    f"Slow mode: one message every {hearing.slow_mode_seconds} seconds. Try again in {int(wait) + 1} s.",
                    code="slow_mode",
                )
    with _batcher.in_flight(hearing.id):
        submission, created = submissions.submit(
            hearing.consultation_id,
            user,
            text,
            channel=channel,
            max_chars=MESSAGE_MAX_CHARS,
            idempotency_key=key,
            hearing_id=hearing.id,
            kind="message",
        )
        if submission.hearing_id != hearing.id:
            raise Conflict("This client_id was already used for another message.", code="idempotency_conflict")
        if created and submission.state == "published":
            _batcher.add_message(hearing.id, message_payload(submission))
    if created and submission.state == "published":
        _themes_dirty(hearing.id)
    return submission


def post_chair_summary(hearing: Hearing, chair: User, text) -> Submission:
    """The chair's summary, shown in the thread like a message but marked as the chair's."""
    require_chair(hearing, chair)
    if hearing.state == "scheduled":
        raise Closed("This hearing has not started yet.")
    with _batcher.in_flight(hearing.id):
        submission, created = submissions.submit(
            hearing.consultation_id, chair, text, channel="socket", max_chars=SUMMARY_MAX_CHARS,
            hearing_id=hearing.id, kind="chair_summary",
        )
        if created and submission.state == "published":
            _batcher.add_message(hearing.id, message_payload(submission))
    return submission


def _published_message(hearing: Hearing, submission_id, bad_id_message: str) -> Submission:
    """The published message ``submission_id`` of this hearing, from an id a client sent."""
    try:
        submission_id = int(submission_id)
    except (TypeError, ValueError):
        raise Invalid(bad_id_message, field="id") from None
    target = db.session.get(Submission, submission_id) if 0 < submission_id < 2**31 else None
    if target is None or target.hearing_id != hearing.id or target.state != "published":
        raise NotFound("There is no published message with this number in this hearing.")
    return target


def vote(hearing: Hearing, user: User, submission_id, choice) -> Submission:
    if user is None or not getattr(user, "is_authenticated", False):
        raise Forbidden("Sign in to vote.")
    submission_id = _published_message(hearing, submission_id, N_("id must be a message number.")).id
    submission = submissions.vote(submission_id, user, choice, consultation_id=hearing.consultation_id)
    _batcher.add_votes(hearing.id, submission.id, (submission.agree_count, submission.disagree_count, submission.pass_count))
    return submission


def pin(hearing: Hearing, chair: User, submission_id) -> Hearing:
    """Pin a published message above the thread (None unpins)."""
    require_chair(hearing, chair)
    if submission_id is not None:
        submission_id = _published_message(hearing, submission_id, N_("id must be a message number or null.")).id
    hearing.pinned_submission_id = submission_id
    db.session.commit()
    publish_state(hearing)
    return hearing


def set_slow_mode(hearing: Hearing, chair: User, seconds) -> Hearing:
    require_chair(hearing, chair)
    seconds = _int_in(seconds, 0, SLOW_MODE_MAX, "seconds")
    hearing.slow_mode_seconds = seconds
    db.session.commit()
    publish_state(hearing)
    return hearing


def set_time_limit(hearing: Hearing, chair: User, seconds) -> Hearing:
    require_chair(hearing, chair)
    hearing.speaker_time_limit_seconds = _int_in(seconds, *TIME_LIMIT_RANGE, "seconds")
    db.session.commit()
    publish_state(hearing)
    return hearing


def set_rotation(hearing: Hearing, chair: User, on) -> Hearing:
    require_chair(hearing, chair)
    if not isinstance(on, bool):
        raise Invalid("rotation is true or false.", field="on")
    hearing.rotation = on
    db.session.commit()
    publish_state(hearing)
    return hearing


def _int_in(value, low: int, high: int, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise Invalid(f"{field} must be a whole number from {low} to {high}.", field=field)
    try:
        value = int(value)
    except ValueError:
        raise Invalid(f"{field} must be a whole number from {low} to {high}.", field=field) from None
    if not low <= value <= high:
        raise Invalid(f"{field} must be a whole number from {low} to {high}.", field=field)
    return value


def retract(submission: Submission) -> None:
    """Called by moderation when a hearing message is hidden: every client removes it."""
    if submission is None or submission.hearing_id is None:
        return
    _batcher.drop(submission.hearing_id, submission.id)
    hearing = db.session.get(Hearing, submission.hearing_id)
    if hearing is not None and hearing.pinned_submission_id == submission.id:
        hearing.pinned_submission_id = None
        db.session.commit()
        publish_state(hearing)
    realtime.publish(realtime.hearing_room(submission.hearing_id), "message_retracted", {"id": submission.id}, namespace=NAMESPACE)


def announce(submission: Submission) -> None:
    """Called by moderation when a held hearing message is approved: every client shows it."""
    if submission is None or submission.hearing_id is None or submission.state != "published":
        return
    realtime.publish(
        realtime.hearing_room(submission.hearing_id), "message_published", message_payload(submission), namespace=NAMESPACE
    )
    _themes_dirty(submission.hearing_id)


# ---------------------------------------------------------------------------------------------
# Replay and transcript


def _visible_messages():
    return (
        Submission.kind.in_(("message", "chair_summary")),
        Submission.state == "published",
    )


# A crowd rejoins at once after a restart or a network blip, each with a join that reads the
# hearing's state and replay: these statements are built once (building and keying a statement
# cost more than running it on SQLite), and read plain rows, not ORM objects.
_MESSAGE_ROWS = select(
    Submission.id,
    Submission.kind,
    Submission.text,
    Submission.language,
    Submission.constituency,
    Submission.created_at,
    Submission.agree_count,
    Submission.disagree_count,
    Submission.pass_count,
    User.display_name.label("author_name"),
    User.kind.label("author_kind"),
    User.show_constituency.label("author_shows_constituency"),
).outerjoin(User, User.id == Submission.author_id)
_MISSED = (
    _MESSAGE_ROWS.where(Submission.hearing_id == bindparam("hearing_id"), Submission.id > bindparam("last_id"), *_visible_messages())
    .order_by(Submission.id)
    .limit(REPLAY_LIMIT)
)
_RETRACTED = (
    select(Submission.id)
    .where(
        Submission.hearing_id == bindparam("hearing_id"),
        Submission.id <= bindparam("last_id"),
        Submission.state.in_(("hidden", "rejected")),
    )
    .order_by(Submission.id)
)
_APPROVED_LATE = (
    _MESSAGE_ROWS.join(ModerationDecision, ModerationDecision.submission_id == Submission.id)
    .where(
        Submission.hearing_id == bindparam("hearing_id"),
        Submission.id <= bindparam("last_id"),
        *_visible_messages(),
        ModerationDecision.to_state == "published",
        ModerationDecision.automatic.is_(False),
        ModerationDecision.created_at >= bindparam("since"),
    )
    .order_by(Submission.id)
    .distinct()
)
_PUBLISHED_MESSAGE = _MESSAGE_ROWS.where(Submission.id == bindparam("id"), *_visible_messages())


def replay(hearing: Hearing, last_id=0, since: str | None = None) -> dict:
    """What a (re)joining client missed after ``last_id``: published messages in order, the ids it
    may have shown that are no longer visible, and messages approved late (after ``since``)."""
    try:
        last_id = max(0, int(last_id or 0))
    except (TypeError, ValueError):
        raise Invalid("last_id must be a message number.", field="last_id") from None
    if last_id >= 2**31:  # beyond PostgreSQL's integer: nothing is newer
        last_id = 2**31 - 1
    where = {"hearing_id": hearing.id, "last_id": last_id}
    messages = db.session.execute(_MISSED, where).all()
    retracted: list[int] = []
    late = []
    if last_id:
        retracted = list(db.session.scalars(_RETRACTED, where))
        since_at = _parse_cursor(since)
        if since_at is not None:
            late = db.session.execute(_APPROVED_LATE, {**where, "since": since_at}).all()
    # Messages committed here but not yet broadcast will reach this client in the next frame
    # (it is already in the room): leave them out so nothing arrives twice.
    coming = _batcher.coming(hearing.id)
    return {
        "messages": [_row_payload(row) for row in messages if row.id not in coming],
        "late": [_row_payload(row) for row in late],
        "retracted": retracted,
        "more": len(messages) == REPLAY_LIMIT,
        "cursor": cursor(),
    }


def cursor() -> str:
    """A server time a client hands back on reconnect; a few seconds early to absorb clock skew."""
    return (utcnow() - timedelta(seconds=5)).isoformat()


def _parse_cursor(value) -> datetime | None:
    if not value or not isinstance(value, str) or len(value) > 40:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=None)
    except ValueError:
        return None


def thread(hearing: Hearing, limit: int = 200) -> list[Submission]:
    """The latest published messages, oldest first (the page without JavaScript)."""
    latest = list(
        db.session.scalars(
            select(Submission)
            .where(Submission.hearing_id == hearing.id, *_visible_messages())
            .order_by(Submission.id.desc())
            .limit(limit)
        )
    )
    return latest[::-1]


def transcript(hearing: Hearing) -> list[Submission]:
    return list(
        db.session.scalars(
            select(Submission).where(Submission.hearing_id == hearing.id, *_visible_messages()).order_by(Submission.id)
        )
    )


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
    ]


# ---------------------------------------------------------------------------------------------
# The speakers' queue


_REQUESTS_IN_STATES = (  # built once, like the replay's statements: every join reads the queue
    select(SpeakerRequest)
    .options(joinedload(SpeakerRequest.user))  # the payloads show each requester's name
    .where(SpeakerRequest.hearing_id == bindparam("hearing_id"), SpeakerRequest.state.in_(bindparam("states", expanding=True)))
    .order_by(SpeakerRequest.position, SpeakerRequest.id)
)


def _requests(hearing_id: int, states) -> list[SpeakerRequest]:
    return list(db.session.scalars(_REQUESTS_IN_STATES, {"hearing_id": hearing_id, "states": list(states)}))


def request_floor(hearing: Hearing, user: User, constituency=None, topic="") -> SpeakerRequest:
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


_SPOKEN_CONSTITUENCIES = select(SpeakerRequest.constituency).where(
    SpeakerRequest.hearing_id == bindparam("hearing_id"), SpeakerRequest.state.in_(("speaking", "done"))
)


def _next_by_rotation(hearing: Hearing, queued: list[SpeakerRequest]) -> SpeakerRequest | None:
    """With rotation on, the first queued request whose constituency has spoken least so far,
    so no constituency speaks twice before every other waiting one has spoken."""
    if not queued:
        return None
    if not hearing.rotation or len(queued) == 1:
        return queued[0]
    spoken = Counter(db.session.scalars(_SPOKEN_CONSTITUENCIES, {"hearing_id": hearing.id}))
    return min(queued, key=lambda r: (spoken.get(r.constituency, 0), r.position, r.id))


def grant_floor(hearing: Hearing, chair: User, request_id=None) -> SpeakerRequest | None:
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


def skip(hearing: Hearing, chair: User, request_id) -> None:
    """Take a request out of the queue without giving it the floor."""
    require_chair(hearing, chair)
    request = db.session.get(SpeakerRequest, _as_id(request_id))
    if request is None or request.hearing_id != hearing.id or request.state != "queued":
        raise NotFound("There is no queued request with this number in this hearing.")
    request.state = "skipped"
    db.session.commit()
    publish_state(hearing)


def reorder(hearing: Hearing, chair: User, order) -> None:
    """Put the queue in this order (a list of every queued request id)."""
    require_chair(hearing, chair)
    if not isinstance(order, list) or len(order) > 1000 or not all(isinstance(i, int) and not isinstance(i, bool) for i in order):
        raise Invalid("order must be a list of request numbers.", field="order")
    queued = _requests(hearing.id, ("queued",))
    if sorted(order) != sorted(r.id for r in queued):
        raise Conflict("The queue has changed; reload it and reorder again.", code="stale_queue")
    by_id = {r.id: r for r in queued}
    for position, request_id in enumerate(order, start=1):
        by_id[request_id].position = position
    db.session.commit()
    publish_state(hearing)


def _as_id(value) -> int:
    if isinstance(value, bool):
        raise Invalid("A request number is expected.", field="id")
    try:
        value = int(value)
    except (TypeError, ValueError):
        raise Invalid("A request number is expected.", field="id") from None
    if not 0 < value < 2**31:
        raise NotFound("There is no request with this number in this hearing.")
    return value


# ---------------------------------------------------------------------------------------------
# Payloads and state


def message_payload(s: Submission) -> dict:
    author = s.author
    return _payload(s, author.display_name if author is not None and author.kind == "account" else None, submissions.shows_profile(author))


def _row_payload(row) -> dict:
    """A row of ``_MESSAGE_ROWS`` as sent to pages."""
    return _payload(row, row.author_name if row.author_kind == "account" else None,
                    row.author_kind == "account" and bool(row.author_shows_constituency))


def _payload(s, author_name: str | None, shows_constituency: bool = False) -> dict:
    # profiles are used in aggregate only: a constituency next to a name only if its author chose so
    constituency = s.constituency if shows_constituency else None
    return {
        "id": s.id,
        "kind": s.kind,
        "text": s.text,
        "language": s.language,
        "author": author_name,
        "constituency": constituency,
        "constituency_label": CONSTITUENCIES.get(constituency) if constituency else None,
        "created_at": s.created_at.isoformat() + "Z",
        "votes": [s.agree_count, s.disagree_count, s.pass_count],
    }


def request_payload(r: SpeakerRequest) -> dict:
    ends_at = None
    if r.state == "speaking" and r.started_at and r.time_limit_seconds:
        ends_at = (r.started_at + timedelta(seconds=r.time_limit_seconds)).isoformat() + "Z"
    return {
        "id": r.id,
        "name": r.user.display_name if r.user else None,
        "user_id": r.user_id,
        "constituency": r.constituency,
        "constituency_label": CONSTITUENCIES.get(r.constituency, r.constituency),
        "topic": r.topic,
        "state": r.state,
        "position": r.position,
        "started_at": r.started_at.isoformat() + "Z" if r.started_at else None,
        "ends_at": ends_at,
        "time_limit": r.time_limit_seconds,
    }


def state_payload(hearing: Hearing) -> dict:
    """Everything a page needs to draw the hearing's current state."""
    open_requests = _requests(hearing.id, ("speaking", "queued"))
    speaking = [r for r in open_requests if r.state == "speaking"]
    queued = [r for r in open_requests if r.state == "queued"]
    pinned = None
    if hearing.pinned_submission_id:
        row = db.session.execute(_PUBLISHED_MESSAGE, {"id": hearing.pinned_submission_id}).first()
        pinned = _row_payload(row) if row is not None else None
    return {
        "id": hearing.id,
        "state": hearing.state,
        "slow_mode": hearing.slow_mode_seconds,
        "time_limit": hearing.speaker_time_limit_seconds,
        "rotation": hearing.rotation,
        "pinned": pinned,
        "speaker": request_payload(speaking[0]) if speaking else None,
        "queue": [request_payload(r) for r in queued],
        "next_id": (_next_by_rotation(hearing, queued).id if queued else None),
        "presence": presence.count(hearing.id),
        "server_time": utcnow().isoformat() + "Z",
    }


def publish_state(hearing: Hearing) -> None:
    realtime.publish(realtime.hearing_room(hearing.id), "state", state_payload(hearing), namespace=NAMESPACE)


# ---------------------------------------------------------------------------------------------
# Presence: people with the page open (Redis hash across processes when scaled out)


class Presence:
    def __init__(self):
        self._local: Counter = Counter()
        self._redis = None
        self._redis_url = None

    def _client(self):
        from flask import current_app

        url = current_app.config.get("REDIS_URL")
        if not url:
            return None
        if self._redis is None or self._redis_url != url:
            import redis

            self._redis = redis.Redis.from_url(url, socket_timeout=1)
            self._redis_url = url
        return self._redis

    def change(self, hearing_id: int, delta: int) -> None:
        self._local[hearing_id] = max(0, self._local[hearing_id] + delta)
        try:
            client = self._client()
            if client is not None:
                client.hset(f"agora:presence:{hearing_id}", PROCESS_ID, self._local[hearing_id])
                client.expire(f"agora:presence:{hearing_id}", 24 * 3600)
        except Exception:  # presence is a nicety; never fail a join on it
            log.warning("presence not shared through Redis", exc_info=True)
        _batcher.mark_presence(hearing_id)

    def count(self, hearing_id: int) -> int:
        try:
            client = self._client()
            if client is not None:
                return sum(int(v) for v in client.hvals(f"agora:presence:{hearing_id}"))
        except Exception:
            log.warning("presence not read from Redis", exc_info=True)
        return self._local[hearing_id]


presence = Presence()


# ---------------------------------------------------------------------------------------------
# The batcher: one `messages` frame per hearing per interval, whatever the burst


class Batcher:
    def __init__(self):
        self._lock = threading.Lock()
        self._pending: dict[int, dict] = {}
        self._flushing: dict[int, set] = {}
        self._inflight: Counter = Counter()
        self._running = False
        self._app = None
        self._wake = None
        self._last: dict[int, float] = {}

    @contextmanager
    def in_flight(self, hearing_id: int):
        """Marks a post between its commit and its place in the batch (see ``coming``)."""
        with self._lock:
            self._inflight[hearing_id] += 1
        try:
            yield
        finally:
            with self._lock:
                self._inflight[hearing_id] -= 1

    def coming(self, hearing_id: int, wait: float = 1.0) -> set[int]:
        """Ids committed in this process that the room has not been sent yet. Waits (up to
        ``wait`` s) for posts in flight, so a message is either replayed or framed, never both."""
        from agora.extensions import socketio

        deadline = time.monotonic() + wait
        while self._inflight[hearing_id] > 0 and time.monotonic() < deadline:
            socketio.sleep(0.005)
        with self._lock:
            slot = self._pending.get(hearing_id) or {"messages": []}
            return {m["id"] for m in slot["messages"]} | set(self._flushing.get(hearing_id, ()))

    def _slot(self, hearing_id: int) -> dict:
        return self._pending.setdefault(hearing_id, {"messages": [], "votes": {}, "presence": False})

    def add_message(self, hearing_id: int, payload: dict) -> None:
        with self._lock:
            self._slot(hearing_id)["messages"].append(payload)
        self._kick()

    def add_votes(self, hearing_id: int, submission_id: int, tally) -> None:
        with self._lock:
            self._slot(hearing_id)["votes"][str(submission_id)] = list(tally)
        self._kick()

    def mark_presence(self, hearing_id: int) -> None:
        with self._lock:
            self._slot(hearing_id)["presence"] = True
        self._kick()

    def drop(self, hearing_id: int, submission_id: int) -> None:
        with self._lock:
            slot = self._pending.get(hearing_id)
            if slot:
                slot["messages"] = [m for m in slot["messages"] if m["id"] != submission_id]

    def _kick(self) -> None:
        """Leading edge: a hearing that had no frame in the last interval gets one at once; later
        items wait for the end of the interval, so a client never gets more than 1/interval
        frames a second and a lone message is not delayed."""
        from flask import current_app

        interval = batch_seconds()
        if interval <= 0:
            self.flush()
            return
        with self._lock:
            if self._running:
                if self._wake is not None:
                    self._wake.set()
                return
            self._running = True
            self._app = current_app._get_current_object()
        from agora.extensions import socketio

        self._wake = socketio.server.eio.create_event()
        socketio.start_background_task(self._loop, interval)

    def _due_at(self, hearing_id: int, interval: float) -> float:
        """When the hearing's pending frame may go (call with the lock held): messages and votes
        one interval after the last frame; a presence change alone, PRESENCE_SECONDS after it."""
        slot = self._pending[hearing_id]
        wait = interval if slot["messages"] or slot["votes"] else max(interval, PRESENCE_SECONDS)
        return self._last.get(hearing_id, 0.0) + wait

    def _loop(self, interval: float) -> None:
        idle_since = time.monotonic()
        try:
            while True:
                now = time.monotonic()
                with self._lock:
                    when = {h: self._due_at(h, interval) for h in self._pending}
                    due = [h for h, at in when.items() if at <= now]
                    later = [at for h, at in when.items() if at > now]
                if due:
                    with self._app.app_context():
                        self.flush(due)
                    idle_since = time.monotonic()
                    continue
                if not later and now - idle_since > 10:
                    return
                self._wake.wait(timeout=(min(later) - now) if later else 1.0)
                self._wake.clear()
        except Exception:
            log.exception("the hearings batcher stopped")
        finally:
            with self._lock:
                self._running = False
            if self._pending:  # something arrived while stopping
                with self._app.app_context():
                    self._kick()

    def flush(self, hearing_ids=None) -> int:
        """Emit what is pending, one `messages` frame per hearing; returns the number of frames."""
        now = time.monotonic()
        with self._lock:
            chosen = list(self._pending) if hearing_ids is None else [h for h in hearing_ids if h in self._pending]
            pending = {h: self._pending.pop(h) for h in chosen}
            for hearing_id, slot in pending.items():
                self._flushing[hearing_id] = {m["id"] for m in slot["messages"]}
                self._last[hearing_id] = now
        frames = 0
        try:
            frames = self._emit(pending)
        finally:
            with self._lock:
                for hearing_id in pending:
                    self._flushing.pop(hearing_id, None)
        return frames

    def _emit(self, pending: dict) -> int:
        frames = 0
        for hearing_id, slot in pending.items():
            if not slot["messages"] and not slot["votes"] and not slot["presence"]:
                continue
            payload = {"hearing_id": hearing_id, "messages": slot["messages"], "cursor": cursor()}
            if slot["votes"]:
                payload["votes"] = slot["votes"]
            if slot["presence"]:
                payload["presence"] = presence.count(hearing_id)
            realtime.publish(realtime.hearing_room(hearing_id), "messages", payload, namespace=NAMESPACE)
            frames += 1
        return frames


_batcher = Batcher()


def flush() -> int:
    """Emit pending frames now (tests and shutdown)."""
    return _batcher.flush()


# ---------------------------------------------------------------------------------------------
# The chair's live summary: speakers' and posters' balance, and themes (off the event loop)


def balance(hearing: Hearing) -> dict:
    """Constituency and region of the speakers so far and of the people who posted."""
    speakers = list(
        db.session.scalars(
            select(SpeakerRequest).where(
                SpeakerRequest.hearing_id == hearing.id, SpeakerRequest.state.in_(("speaking", "done"))
            )
        )
    )
    speaker_constituencies = Counter(s.constituency or "unstated" for s in speakers)
    speaker_regions = Counter(_region_of(s.user) for s in speakers)
    posters = db.session.execute(
        select(Submission.author_id, Submission.constituency, Submission.region)
        .where(Submission.hearing_id == hearing.id, Submission.kind == "message", Submission.state == "published")
        .distinct()
    ).all()
    seen: dict = {}
    for author_id, constituency, region in posters:
        seen.setdefault(author_id, (constituency or "unstated", region or "unstated"))
    return {
        "speakers": {"constituency": dict(speaker_constituencies), "region": dict(speaker_regions), "total": len(speakers)},
        "posters": {
            "constituency": dict(Counter(c for c, _ in seen.values())),
            "region": dict(Counter(r for _, r in seen.values())),
            "total": len(seen),
        },
        "labels": {**CONSTITUENCIES, "unstated": "Not stated"},
    }


def _region_of(user) -> str:
    country = geography.country(user.country) if user is not None else None
    return country.region if country else "unstated"


THEME_QUOTES = 4


def compute_themes(rows: list, vectors, previous=None, since: int = 0) -> dict:
    """The chair's themes from the hearing's messages (``theme_inputs``) and their vectors.

    Pure and CPU-heavy: run it in a native thread, never on the event loop. Vectors not stored
    yet (zero rows) are embedded here. Per theme: its name in each language it has messages in,
    how the room leans on its messages (the votes on them), which constituencies and regions of
    the room speak in it and which do not, how many of its messages are new since ``since`` (the
    last message of the previous summary), and quotes across its languages. ``previous``: the
    last summary's ThemeSet, so a theme keeps its id (and "new" means new) from one summary to
    the next. Returns (summary, ThemeSet)."""
    import numpy as np

    if len(rows) < THEMES_MIN_TEXTS:
        return {"status": "too_few", "needed": THEMES_MIN_TEXTS, "n": len(rows), "themes": []}, previous
    from moderation import embeddings as model
    from moderation import themes as theme_lib

    texts = [r.text for r in rows]
    missing = np.flatnonzero(~np.abs(vectors).any(axis=1))
    if len(missing):
        vectors[missing] = model.encode([texts[i] for i in missing])
    result = theme_lib.fit(
        texts, max_k=min(8, max(2, len(texts) // 3)), vectors=vectors,
        languages=[r.language for r in rows], previous=previous,
    )
    room_constituencies = {r.constituency or "unstated" for r in rows}
    room_regions = {r.region or "unstated" for r in rows}
    out = []
    for theme in sorted(result.themes, key=lambda t: -t.size):
        members = [rows[i] for i, a in enumerate(result.assignments) if a == theme.id]
        agree = sum(r.agree_count for r in members)
        disagree = sum(r.disagree_count for r in members)
        passed = sum(r.pass_count for r in members)
        constituencies = Counter(r.constituency or "unstated" for r in members)
        regions = Counter(r.region or "unstated" for r in members)
        out.append({
            "id": theme.id,
            "label": theme.label,
            "labels": dict(theme.labels),
            "size": theme.size,
            "share": round(theme.share, 3),
            "new": sum(1 for r in members if r.id > since),
            "languages": dict(theme.languages),
            "lean": {"agree": agree, "disagree": disagree, "pass": passed, "votes": agree + disagree + passed},
            "constituencies": {"present": dict(constituencies.most_common()),
                               "absent": sorted(room_constituencies - set(constituencies))},
            "regions": {"present": dict(regions.most_common()), "absent": sorted(room_regions - set(regions))},
            "quotes": [
                {"id": rows[i].id, "text": texts[i][:280], "language": rows[i].language}
                for i in list(theme.representatives)[: THEME_QUOTES + 3]
            ],
        })
    return {"status": "ok", "n": len(rows), "new": sum(1 for r in rows if r.id > since), "themes": out}, result


def theme_inputs(hearing: Hearing, limit: int = 5000) -> list:
    """The hearing's published messages (newest ``limit``), oldest first, with what the summary
    shows about each: language, the author's declared constituency and region, its votes."""
    rows = db.session.execute(
        select(Submission.id, Submission.text, Submission.language, Submission.constituency, Submission.region,
               Submission.agree_count, Submission.disagree_count, Submission.pass_count)
        .where(Submission.hearing_id == hearing.id, Submission.kind == "message", Submission.state == "published")
        .order_by(Submission.id.desc())
        .limit(limit)
    ).all()
    rows.reverse()
    return rows


def _stored_themes(hearing: Hearing) -> dict | None:
    """The latest theme snapshot the themes service computed for this hearing in the background
    (it refits as messages arrive: a hearing too large to cluster at each summary), in the
    panel's shape; None when there is none yet."""
    from agora.services import themes as theme_service

    latest = theme_service.latest_summary(hearing.consultation_id, hearing.id)
    if latest.get("status") != "ready" or not latest.get("themes") or latest.get("n", 0) < LIVE_THEMES_UP_TO:
        return None
    return {
        "status": "ok",
        "n": latest.get("n", 0),
        "computed_at": latest.get("computed_at"),
        "themes": [
            {"id": t["id"], "label": t["label"], "labels": t.get("labels", {}), "size": t["size"],
             "share": round(float(t["share"]), 3), "languages": t.get("languages", {}),
             "quotes": [{"id": q.get("id"), "text": str(q.get("text", ""))[:280], "language": q.get("language")}
                        for q in t.get("quotes", [])[:THEME_QUOTES]]}
            for t in sorted(latest["themes"], key=lambda t: -t["size"])
        ],
    }


LIVE_THEMES_UP_TO = 5000  # messages: up to this many, each summary clusters them afresh (< 1 s)
_previous_themes: dict[int, tuple] = {}  # hearing id -> (ThemeSet, last message id) of the last summary


def summary(hearing: Hearing) -> dict:
    """The chair's panel: balance now, themes computed in a native thread."""
    from agora.services import embeddings

    themes = _stored_themes(hearing)
    if themes is None:
        rows = theme_inputs(hearing, LIVE_THEMES_UP_TO)
        previous, since = _previous_themes.get(hearing.id, (None, 0))
        try:
            stored, _missing = embeddings.stored_vectors([r.id for r in rows])
            themes, fitted = off_loop(compute_themes, rows, stored, previous, since)
            if rows and themes.get("status") == "ok":
                _previous_themes[hearing.id] = (fitted, rows[-1].id)
        except Exception:
            log.exception("themes failed for hearing %s", hearing.id)
            themes = {"status": "failed", "n": len(rows), "themes": []}
    return {"hearing_id": hearing.id, "balance": balance(hearing), "themes": themes, "computed_at": utcnow().isoformat() + "Z"}


class _ThemeScheduler:
    """At most one computation per hearing at a time; new messages mark it dirty."""

    def __init__(self):
        self._lock = threading.Lock()
        self._new: Counter = Counter()
        self._busy: set[int] = set()
        self._again: set[int] = set()
        self._last: dict[int, float] = {}
        self._watched: set[int] = set()

    def dirty(self, hearing_id: int) -> None:
        with self._lock:
            self._new[hearing_id] += 1

    def watch(self, hearing_id: int) -> None:
        """While a chair of this hearing is connected to this process, refresh the summary every
        THEMES_MIN_INTERVAL seconds if messages arrived (on any process: it asks the database).
        Nobody watching, nothing computed."""
        from flask import current_app

        from agora.extensions import socketio

        with self._lock:
            if hearing_id in self._watched or batch_seconds() <= 0:
                return
            self._watched.add(hearing_id)
        app = current_app._get_current_object()

        def tick():
            seen = None
            try:
                while True:
                    socketio.sleep(THEMES_MIN_INTERVAL)
                    if not any(True for _ in socketio.server.manager.get_participants(NAMESPACE, realtime.chairs_room(hearing_id))):
                        return
                    with app.app_context():
                        newest = db.session.scalar(
                            select(func.max(Submission.id)).where(Submission.hearing_id == hearing_id, Submission.state == "published")
                        )
                        db.session.remove()
                        if seen is not None and newest != seen:
                            self.schedule(hearing_id)
                        seen = newest
            except Exception:
                log.exception("summary ticker of hearing %s stopped", hearing_id)
            finally:
                with self._lock:
                    self._watched.discard(hearing_id)

        socketio.start_background_task(tick)

    def schedule(self, hearing_id: int) -> bool:
        from flask import current_app

        from agora.extensions import socketio

        with self._lock:
            if hearing_id in self._busy:
                self._again.add(hearing_id)  # run once more when the current run ends
                return False
            self._busy.add(hearing_id)
            self._new[hearing_id] = 0
            self._last[hearing_id] = time.monotonic()
        app = current_app._get_current_object()

        def work():
            try:
                with app.app_context():
                    hearing = db.session.get(Hearing, hearing_id)
                    if hearing is not None:
                        realtime.publish(realtime.chairs_room(hearing_id), "summary", summary(hearing), namespace=NAMESPACE)
                    db.session.remove()
            except Exception:
                log.exception("could not compute the summary of hearing %s", hearing_id)
            finally:
                with self._lock:
                    self._busy.discard(hearing_id)
                    again = hearing_id in self._again
                    self._again.discard(hearing_id)
                if again:
                    with app.app_context():
                        self.schedule(hearing_id)

        if batch_seconds() <= 0:
            work()
        else:
            socketio.start_background_task(work)
        return True


_themes = _ThemeScheduler()


def _themes_dirty(hearing_id: int) -> None:
    _themes.dirty(hearing_id)


def refresh_summary(hearing: Hearing, chair: User) -> bool:
    """The chair asks for a fresh summary; it arrives as a `summary` event in the chairs' room."""
    require_chair(hearing, chair)
    _themes.watch(hearing.id)
    return _themes.schedule(hearing.id)


__all__ = [
    "announce",
    "appoint_chair",
    "close_hearing",
    "create",
    "get",
    "grant_floor",
    "open_hearing",
    "post_chair_summary",
    "post_message",
    "replay",
    "request_floor",
    "retract",
    "summary",
]
