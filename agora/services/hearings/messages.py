"""A hearing's thread: messages, the chair's summaries, votes, pins; replay and transcript.

Messages go through ``submissions.submit`` like any view (validated, sanitised, screened,
committed) and only then reach the hearing's room, batched (``delivery``). Clients that reconnect
call ``replay`` with the last id they saw and get what they missed, in order.

``retract(submission)`` and ``announce(submission)`` are called by the moderation service when a
moderator hides a hearing message or approves a held one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, select

from agora import permissions
from agora.extensions import db
from agora.i18n import N_
from agora.models import Hearing, IdempotencyRecord, ModerationDecision, Submission, User
from agora.models._base import utcnow
from agora.services import realtime
from agora.services.errors import Closed, Conflict, Forbidden, Invalid, NotFound
from agora.services.hearings.delivery import NAMESPACE, _batcher, cursor
from agora.services.hearings.lifecycle import _require_live, require_chair
from agora.services.hearings.live_themes import _themes_dirty
from agora.services.hearings.payloads import (
    _MESSAGE_ROWS,
    _row_payload,
    _visible_messages,
    message_payload,
    publish_state,
)
from agora.services.participation import submissions

MESSAGE_MAX_CHARS = 2000
SUMMARY_MAX_CHARS = 5000
REPLAY_LIMIT = 1000


def _last_post_at(hearing_id: int, user_id: int) -> datetime | None:
    return db.session.scalar(
        select(func.max(Submission.created_at)).where(
            Submission.hearing_id == hearing_id, Submission.author_id == user_id, Submission.kind == "message"
        )
    )


def _already_posted(user: User, key: str | None) -> bool:
    if key is None:
        return False
    return bool(
        db.session.scalar(
            select(func.count(IdempotencyRecord.id)).where(
                IdempotencyRecord.user_id == user.id, IdempotencyRecord.key == key
            )
        )
    )


def post_message(
    hearing: Hearing, user: User | None, text: object, *, client_id: str | None = None, channel: str = "socket"
) -> Submission:
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
    if (
        hearing.slow_mode_seconds
        and not _already_posted(user, key)
        and not permissions.can_chair_hearing(user, hearing)
    ):
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


def post_chair_summary(hearing: Hearing, chair: User, text: object) -> Submission:
    """The chair's summary, shown in the thread like a message but marked as the chair's."""
    require_chair(hearing, chair)
    if hearing.state == "scheduled":
        raise Closed("This hearing has not started yet.")
    with _batcher.in_flight(hearing.id):
        submission, created = submissions.submit(
            hearing.consultation_id,
            chair,
            text,
            channel="socket",
            max_chars=SUMMARY_MAX_CHARS,
            hearing_id=hearing.id,
            kind="chair_summary",
        )
        if created and submission.state == "published":
            _batcher.add_message(hearing.id, message_payload(submission))
    return submission


def _published_message(hearing: Hearing, submission_id: int | str, bad_id_message: str) -> Submission:
    """The published message ``submission_id`` of this hearing, from an id a client sent."""
    try:
        submission_id = int(submission_id)
    except (TypeError, ValueError):
        raise Invalid(bad_id_message, field="id") from None
    target = db.session.get(Submission, submission_id) if 0 < submission_id < 2**31 else None
    if target is None or target.hearing_id != hearing.id or target.state != "published":
        raise NotFound("There is no published message with this number in this hearing.")
    return target


def vote(hearing: Hearing, user: User | None, submission_id: int | str, choice: object) -> Submission:
    if user is None or not getattr(user, "is_authenticated", False):
        raise Forbidden("Sign in to vote.")
    submission_id = _published_message(hearing, submission_id, N_("id must be a message number.")).id
    submission = submissions.vote(submission_id, user, choice, consultation_id=hearing.consultation_id)
    _batcher.add_votes(
        hearing.id, submission.id, (submission.agree_count, submission.disagree_count, submission.pass_count)
    )
    return submission


def pin(hearing: Hearing, chair: User, submission_id: int | str | None) -> Hearing:
    """Pin a published message above the thread (None unpins)."""
    require_chair(hearing, chair)
    if submission_id is not None:
        submission_id = _published_message(hearing, submission_id, N_("id must be a message number or null.")).id
    hearing.pinned_submission_id = submission_id
    db.session.commit()
    publish_state(hearing)
    return hearing


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
    realtime.publish(
        realtime.hearing_room(submission.hearing_id), "message_retracted", {"id": submission.id}, namespace=NAMESPACE
    )


def announce(submission: Submission) -> None:
    """Called by moderation when a held hearing message is approved: every client shows it."""
    if submission is None or submission.hearing_id is None or submission.state != "published":
        return
    realtime.publish(
        realtime.hearing_room(submission.hearing_id),
        "message_published",
        message_payload(submission),
        namespace=NAMESPACE,
    )
    _themes_dirty(submission.hearing_id)


# ---------------------------------------------------------------------------------------------
# Replay and transcript


_MISSED = (
    _MESSAGE_ROWS.where(
        Submission.hearing_id == bindparam("hearing_id"), Submission.id > bindparam("last_id"), *_visible_messages()
    )
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


def replay(hearing: Hearing, last_id: int | str | None = 0, since: str | None = None) -> dict:
    """What a (re)joining client missed after ``last_id``: published messages in order, the ids it
    may have shown that are no longer visible, and messages approved late (after ``since``)."""
    try:
        last_id = max(0, int(last_id or 0))
    except (TypeError, ValueError):
        raise Invalid("last_id must be a message number.", field="last_id") from None
    if last_id >= 2**31:  # beyond PostgreSQL's integer: nothing is newer
        last_id = 2**31 - 1
    where = {"hearing_id": hearing.id, "last_id": last_id}
    messages = list(db.session.execute(_MISSED, where).all())
    retracted: list[int] = []
    late: list = []
    if last_id:
        retracted = list(db.session.scalars(_RETRACTED, where))
        since_at = _parse_cursor(since)
        if since_at is not None:
            late = list(db.session.execute(_APPROVED_LATE, {**where, "since": since_at}).all())
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


def _parse_cursor(value: object) -> datetime | None:
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
