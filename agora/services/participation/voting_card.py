"""The voting card: one view at a time, routed to the views that most need this person's vote.

Routing starts from Pol.is' ``priority-metric`` (``math/src/polismath/math/conversation.clj``)
and keeps its two ideas: a view with few votes comes first, by the factor 1 + 8 x 2^(-S/5) (9x
at no vote, 1.1x at 30), and a view that tells the opinion groups apart comes next, by (E + 1)
where E is its extremity in the groups' projection (``moderation.opinions.extremity``: how far
agreeing with it moves a participant on the map; a view newer than the groups gets the
average). Pol.is also multiplies by the smoothed agree
share, so a view few people agree with sinks however few votes it has; here that factor is the
vote's variance instead, 4 x a(1 - a) with a = (A + 1) / (A + D + 2): a split view is worth a
vote, a view everyone agrees (or disagrees) with tells little. Views most people pass on sink
by (1 - p) as in Pol.is, but with p = (P + 1) / (S + 4), a prior of one pass in four rather than
Pol.is' one in two, so a view nobody has seen yet is not taken for one half the room passes on::

    priority = (1 + 8 x 2^(-S/5)) x (1 - p) x 4a(1 - a) x (E + 1)

Pol.is samples by priority; here the highest priority wins (ties broken per person, so two
people starting together do not see the same view), which is predictable and testable.

The ranking is cheap: the vote counts are kept on each view, the extremity is read once per
opinions snapshot, and the ranking is kept per consultation for a few seconds and dropped by any
commit in this process that touches the consultation's views (a vote recounts its view), like the
page counts (``consultations.kept_briefly``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from agora.extensions import db
from agora.models import Consultation, Submission, User, Vote
from agora.services.analysis import themes
from agora.services.errors import NotFound
from agora.services.participation import consultations

MAX_SKIPPED = 200  # a skip list longer than this forgets its oldest entries (it travels in the URL)
_EXTREMITY: dict[int, dict] = {}


@dataclass(frozen=True)
class Card:
    """What the card page shows: the next view (None when there is nothing left to vote on) and
    the person's progress through the views they can vote on."""

    statement: Submission | None
    voted: int
    total: int
    skipped: tuple[int, ...]

    @property
    def remaining(self) -> int:
        return max(0, self.total - self.voted)


def _listed(consultation_id: int) -> list:
    """The views a card may show: what the consultation page lists (published, not a hearing's)."""
    return [
        Submission.consultation_id == consultation_id,
        Submission.state == "published",
        Submission.hearing_id.is_(None),
        Submission.kind != "chair_summary",
    ]


def _extremity(consultation_id: int) -> tuple[int | None, dict]:
    """The latest opinions snapshot's extremity per view (kept per snapshot: snapshots never change)."""
    snapshot = themes.latest_snapshot(consultation_id, None, "opinions")
    if snapshot is None:
        return None, {}
    if snapshot.id not in _EXTREMITY:
        from moderation import opinions as opinion_lib

        vote = themes.snapshot_data(snapshot).get("vote") or {}
        axes = opinion_lib.OpinionGroups.from_dict(vote).axes if vote else {}
        _EXTREMITY[snapshot.id] = opinion_lib.extremity(axes) if axes else {}
        while len(_EXTREMITY) > 16:
            _EXTREMITY.pop(next(iter(_EXTREMITY)))
    return snapshot.id, _EXTREMITY[snapshot.id]


def priority(agree: int, disagree: int, passed: int, extremity: float = 0.0) -> float:
    """How much a view needs the next vote (see the module docstring)."""
    seen = agree + disagree + passed
    newness = 1 + 8 * 2 ** (-seen / 5)
    engaged = 1 - (passed + 1) / (seen + 4)
    a = (agree + 1) / (agree + disagree + 2)
    return newness * engaged * 4 * a * (1 - a) * (extremity + 1)


def ranking(consultation_id: int) -> list[tuple[int, int | None, float]]:
    """Every listed view as (id, author id, priority), highest priority first."""
    snapshot_id, extremity = _extremity(consultation_id)

    def compute(ids: list[int]) -> dict[int, list[tuple[int, int | None, float]]]:
        rows = db.session.execute(
            select(
                Submission.id,
                Submission.author_id,
                Submission.agree_count,
                Submission.disagree_count,
                Submission.pass_count,
            ).where(*_listed(ids[0]))
        ).all()
        # a view newer than the snapshot has no extremity yet: expect the average one, not none
        prior = sum(extremity.values()) / len(extremity) if extremity else 0.0
        ranked = sorted(
            (
                (sid, author, priority(a or 0, d or 0, p or 0, extremity.get(sid, prior)))
                for sid, author, a, d, p in rows
            ),
            key=lambda row: (-row[2], row[0]),
        )
        return {ids[0]: ranked}

    return consultations.kept_briefly(f"card-ranking:{snapshot_id}", [consultation_id], compute)[consultation_id]


def _tie_break(user_id: int | None, submission_id: int) -> bytes:
    return hashlib.blake2b(f"{user_id}:{submission_id}".encode(), digest_size=8).digest()


def voted_ids(consultation_id: int, user: User | None) -> set[int]:
    """The listed views of this consultation the person has voted on (a pass is a vote). Read by
    the voter's index alone and kept to the ranked views, with no join on the views."""
    if user is None or not getattr(user, "is_authenticated", False):
        return set()
    listed = {sid for sid, _author, _score in ranking(consultation_id)}
    return listed.intersection(db.session.scalars(select(Vote.submission_id).where(Vote.user_id == user.id)))


def parse_skipped(raw: object) -> tuple[int, ...]:
    """The views skipped with "next" in this round, from the form or the URL ("12,40,7"); junk is
    ignored (it only orders the cards), and the list is capped."""
    out: list[int] = []
    for part in str(raw or "").split(","):
        part = part.strip()
        if part.isdigit() and len(part) <= 12 and int(part) not in out:
            out.append(int(part))
    return tuple(out[-MAX_SKIPPED:])


def next_card(consultation: Consultation | None, user: User | None, skipped: Iterable[int] = ()) -> Card:
    """The view this person should vote on next: never one they voted on (a pass counts) or
    wrote, only published ones; views skipped this round come last, oldest skip first."""
    if consultation is None or consultation.status == "draft":
        raise NotFound("There is no consultation with this number.")
    ranked = ranking(consultation.id)
    user_id = user.id if user is not None and getattr(user, "is_authenticated", False) else None
    voted = voted_ids(consultation.id, user)
    eligible = [
        (sid, score) for sid, author, score in ranked if sid not in voted and (user_id is None or author != user_id)
    ]
    skipped = tuple(s for s in skipped if any(s == sid for sid, _ in eligible))
    skip_set = set(skipped)
    fresh = [(sid, score) for sid, score in eligible if sid not in skip_set]
    candidates: list[int] = []
    if fresh:
        top = fresh[0][1]
        tied = sorted(
            (sid for sid, score in fresh if score >= top * (1 - 1e-9)), key=lambda sid: _tie_break(user_id, sid)
        )
        first = set(tied)
        candidates = tied + [sid for sid, _score in fresh if sid not in first]
    elif skipped:  # everything left was skipped: start the round again from the oldest skip
        candidates, skipped = list(skipped), ()
    own = {sid for sid, author, _ in ranked if user_id is not None and author == user_id}
    total = len(ranked) - len(own)
    statement = None
    for sid in candidates:  # the ranking is kept briefly: a view hidden since then is not shown
        found = db.session.get(Submission, sid)
        if found is not None and found.state == "published" and found.hearing_id is None:
            statement = found
            break
    return Card(statement=statement, voted=len(voted - own), total=total, skipped=skipped)
