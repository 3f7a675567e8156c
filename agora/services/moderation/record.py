"""What moderation did, in public figures that add up (each consultation's page and report), and
the audit log as the secretariat reads and exports it."""

import io
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import func, select

from agora import permissions
from agora.extensions import db
from agora.models import ModerationDecision, Submission, User
from agora.services import csvfiles
from agora.services.errors import Forbidden
from agora.services.moderation.decisions import QUEUE_STATES
from agora.services.participation import consultations


@dataclass(frozen=True)
class Transparency:
    """What moderation did in a consultation, in figures that add up for a reader:
    received = screened + hidden_at_import (+ unscreened); of the held, moderators approved,
    hid or rejected them, or they still wait; reported published items were hidden, rejected or
    kept."""

    screened: int
    published_at_once: int
    held: int
    hidden: int  # by moderators (held items, or published ones after reports)
    rejected: int
    restored_on_appeal: int
    by_reason: dict
    campaigns: list
    hidden_at_import: int = 0  # arrived hidden by the moderators of the platform they came from
    approved: int = 0  # held, then approved by a moderator
    after_reports: int = 0  # of the hidden and rejected: published items reported by participants
    kept: int = 0  # reported, and kept published by a moderator
    waiting: int = 0  # held or unscreened now
    unscreened: int = 0

    @property
    def received(self) -> int:
        return self.screened + self.hidden_at_import + self.unscreened


def transparency(consultation_id: int) -> Transparency:
    """Public counts of what moderation did in a consultation, by reason."""
    base = (
        select(
            ModerationDecision.action,
            ModerationDecision.automatic,
            ModerationDecision.from_state,
            ModerationDecision.reason,
            func.count(),
        )
        .join(Submission, Submission.id == ModerationDecision.submission_id)
        .where(Submission.consultation_id == consultation_id)
        .group_by(
            ModerationDecision.action,
            ModerationDecision.automatic,
            ModerationDecision.from_state,
            ModerationDecision.reason,
        )
    )
    counts: dict[str, int] = {}
    by_reason: dict[str, dict[str, int]] = {}
    hidden_at_import = after_reports = 0
    for action, automatic, from_state, reason, n in db.session.execute(base):
        if action == "hide" and automatic:
            hidden_at_import += n
        else:
            counts[action] = counts.get(action, 0) + n
        if action in ("hide", "reject") and not automatic and from_state == "published":
            after_reports += n
        if action in ("hide", "reject", "hold"):
            key = reason if action != "hold" else ("automatic hold: " + (reason or "score"))
            by_reason.setdefault(action, {})
            by_reason[action][key] = by_reason[action].get(key, 0) + n
    waiting = dict(
        db.session.execute(
            select(Submission.state, func.count())
            .where(Submission.consultation_id == consultation_id, Submission.state.in_(QUEUE_STATES))
            .group_by(Submission.state)
        ).all()
    )
    unscreened = (
        db.session.scalar(
            select(func.count())
            .select_from(Submission)
            .where(
                Submission.consultation_id == consultation_id,
                Submission.state == "pending",
                ~select(ModerationDecision.id).where(ModerationDecision.submission_id == Submission.id).exists(),
            )
        )
        or 0
    )
    campaigns = db.session.execute(
        select(Submission.campaign_id, func.count())
        .where(Submission.consultation_id == consultation_id, Submission.campaign_id.is_not(None))
        .group_by(Submission.campaign_id)
        .having(func.count() > 1)
        .order_by(func.count().desc())
        .limit(10)
    ).all()
    return Transparency(
        screened=counts.get("publish", 0) + counts.get("hold", 0),
        published_at_once=counts.get("publish", 0),
        held=counts.get("hold", 0),
        hidden=counts.get("hide", 0),
        rejected=counts.get("reject", 0),
        restored_on_appeal=counts.get("restore", 0),
        by_reason=by_reason,
        campaigns=[(cid, n) for cid, n in campaigns],
        hidden_at_import=hidden_at_import,
        approved=counts.get("approve", 0),
        after_reports=after_reports,
        kept=counts.get("keep", 0),
        waiting=sum(waiting.values()),
        unscreened=unscreened,
    )


def recent_transparency(consultation_id: int) -> Transparency:
    """``transparency`` as a consultation's page shows it: kept briefly, like the page's counts (it
    counts every decision in the consultation: ~15 ms a page at 14,000 views). A commit in this
    process that changes the consultation's views drops it at once; reports count afresh."""
    return consultations.kept_briefly("transparency", [consultation_id], lambda ids: {ids[0]: transparency(ids[0])})[
        consultation_id
    ]


AUDIT_COLUMNS = (
    "id",
    "created_at",
    "submission_id",
    "consultation_id",
    "actor",
    "automatic",
    "action",
    "from_state",
    "to_state",
    "reason",
    "note",
    "model_version",
    "abuse_score",
    "spam_score",
    "entry_hash",
)


def audit_rows(user: User, limit: int | None = 500, before_id: int | None = None) -> Iterator[dict[str, object]]:
    if not permissions.is_admin(user):
        raise Forbidden("Only the secretariat sees the full audit log.")
    query = (
        select(ModerationDecision, Submission.consultation_id, User.display_name)
        .outerjoin(Submission, Submission.id == ModerationDecision.submission_id)  # forum responses concern none
        .outerjoin(User, User.id == ModerationDecision.actor_id)
        .order_by(ModerationDecision.id.desc())
    )
    if before_id:
        query = query.where(ModerationDecision.id < before_id)
    if limit:
        query = query.limit(limit)
    for decision, consultation_id, actor in db.session.execute(query):
        yield {
            "id": decision.id,
            "created_at": decision.created_at.isoformat() + "Z",
            "submission_id": decision.submission_id,
            "consultation_id": consultation_id,
            "actor": actor or ("model" if decision.automatic else ""),
            "automatic": decision.automatic,
            "action": decision.action,
            "from_state": decision.from_state or "",
            "to_state": decision.to_state,
            "reason": decision.reason,
            "note": decision.note or "",
            "model_version": decision.model_version or "",
            "abuse_score": decision.abuse_score,
            "spam_score": decision.spam_score,
            "entry_hash": decision.entry_hash,
        }


def audit_csv(user: User) -> Iterator[str]:
    """The whole audit log as CSV, streamed in chunks."""
    rows = audit_rows(user, limit=None)
    buffer = io.StringIO()
    writer = csvfiles.dict_writer(buffer, AUDIT_COLUMNS)  # cells neutralised: participants wrote notes and statements
    writer.writeheader()
    yield buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(row)
        yield buffer.getvalue()
