"""What pages and sockets are sent: a message, a request for the floor, the hearing's state.

The reads a state needs live here too, built once: the message rows (a crowd rejoining reads them
all at once), the open requests for the floor, and who is next by rotation (the state shows it;
``speakers.grant_floor`` gives the floor by it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import ColumnElement, Row, bindparam, select
from sqlalchemy.orm import joinedload

from agora.extensions import db
from agora.models import Hearing, SpeakerRequest, Submission, User
from agora.models._base import utcnow
from agora.models.user import CONSTITUENCIES
from agora.services import realtime
from agora.services.hearings.delivery import NAMESPACE, presence
from agora.services.participation import submissions


def _visible_messages() -> tuple[ColumnElement[bool], ...]:
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
_PUBLISHED_MESSAGE = _MESSAGE_ROWS.where(Submission.id == bindparam("id"), *_visible_messages())


_REQUESTS_IN_STATES = (  # built once, like the replay's statements: every join reads the queue
    select(SpeakerRequest)
    .options(joinedload(SpeakerRequest.user))  # the payloads show each requester's name
    .where(
        SpeakerRequest.hearing_id == bindparam("hearing_id"),
        SpeakerRequest.state.in_(bindparam("states", expanding=True)),
    )
    .order_by(SpeakerRequest.position, SpeakerRequest.id)
)


def _requests(hearing_id: int, states: Iterable[str]) -> list[SpeakerRequest]:
    return list(db.session.scalars(_REQUESTS_IN_STATES, {"hearing_id": hearing_id, "states": list(states)}))


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


def message_payload(s: Submission) -> dict:
    author = s.author
    return _payload(
        s,
        author.display_name if author is not None and author.kind == "account" else None,
        submissions.shows_profile(author),
    )


def _row_payload(row: Row) -> dict:
    """A row of ``_MESSAGE_ROWS`` as sent to pages."""
    return _payload(
        row,
        row.author_name if row.author_kind == "account" else None,
        row.author_kind == "account" and bool(row.author_shows_constituency),
    )


def _payload(s: Submission | Row, author_name: str | None, shows_constituency: bool = False) -> dict:
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
        "constituency_label": CONSTITUENCIES.get(r.constituency, r.constituency) if r.constituency else None,
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
        "next_id": next_up.id if (next_up := _next_by_rotation(hearing, queued)) is not None else None,
        "presence": presence.count(hearing.id),
        "server_time": utcnow().isoformat() + "Z",
    }


def publish_state(hearing: Hearing) -> None:
    realtime.publish(realtime.hearing_room(hearing.id), "state", state_payload(hearing), namespace=NAMESPACE)
