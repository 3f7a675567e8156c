"""What participants do about moderation: report a published view, see each outcome of their own
views with its reason, appeal once; a different moderator decides the appeal, finally."""

from dataclasses import dataclass

from sqlalchemy import select

from agora import permissions
from agora.extensions import db
from agora.models import Appeal, Flag, ModerationDecision, Submission, User
from agora.models._base import utcnow
from agora.services import audit, realtime
from agora.services.accounts import notifications
from agora.services.errors import Conflict, Forbidden, Invalid, NotFound
from agora.services.moderation.decisions import (
    FLAG_REASONS,
    OWN_APPEAL,
    _announce_change,
    _check_reason,
    _in_scope,
    _require_moderator,
    _submission,
    is_own_appeal,
)
from agora.services.sanitize import clean_text


def flag(user: User, submission_id: int, reason: str, note: str | None = None) -> Flag:
    if reason not in FLAG_REASONS:
        raise Invalid("Choose which rule of the code of conduct this breaks.", field="reason")
    submission = _submission(submission_id)
    if submission.state != "published":
        raise NotFound("There is no published view with this number.")
    if db.session.scalar(select(Flag.id).where(Flag.submission_id == submission.id, Flag.user_id == user.id)):
        raise Conflict("You have already reported this view; moderators will look at it.", code="already_flagged")
    flag = Flag(
        submission_id=submission.id,
        user_id=user.id,
        reason=reason,
        note=clean_text(note, max_chars=1000, field="note") if note and note.strip() else None,
    )
    db.session.add(flag)
    submission.flag_count = (submission.flag_count or 0) + 1
    db.session.commit()
    realtime.notify_moderators({"id": submission.id, "consultation_id": submission.consultation_id, "state": "flagged"})
    return flag


@dataclass(frozen=True)
class Outcome:
    submission: Submission
    decision: ModerationDecision | None
    appeal: Appeal | None

    @property
    def can_appeal(self) -> bool:
        return (
            self.submission.state in ("hidden", "rejected")
            and self.appeal is None
            and self.decision is not None
            and not self.decision.automatic
        )


def outcomes_for(user: User) -> list[Outcome]:
    """The author's own submissions with the latest decision and any appeal: authors are told why."""
    submissions = db.session.scalars(
        select(Submission).where(Submission.author_id == user.id).order_by(Submission.id.desc()).limit(200)
    ).all()
    ids = [s.id for s in submissions]
    latest = {}
    if ids:
        for decision in db.session.scalars(
            select(ModerationDecision).where(ModerationDecision.submission_id.in_(ids)).order_by(ModerationDecision.id)
        ):
            latest[decision.submission_id] = decision
    appeals = {
        a.submission_id: a for a in db.session.scalars(select(Appeal).where(Appeal.submission_id.in_(ids or [-1])))
    }
    return [Outcome(s, latest.get(s.id), appeals.get(s.id)) for s in submissions]


def appeal(user: User, submission_id: int, statement: object) -> Appeal:
    submission = _submission(submission_id)
    if submission.author_id != user.id:
        raise Forbidden("Only the author of a view can appeal its moderation.")
    if db.session.scalar(select(Appeal.id).where(Appeal.submission_id == submission.id)):
        raise Conflict("You have already appealed this decision; an appeal can be made once.", code="already_appealed")
    if submission.state not in ("hidden", "rejected"):
        raise Conflict("Only a hidden or rejected view can be appealed.", code="not_appealable")
    last_human = db.session.scalar(
        select(ModerationDecision)
        .where(ModerationDecision.submission_id == submission.id, ModerationDecision.automatic.is_(False))
        .order_by(ModerationDecision.id.desc())
        .limit(1)
    )
    text = clean_text(statement, max_chars=2000, field="statement")
    record = Appeal(
        submission_id=submission.id,
        author_id=user.id,
        statement=text,
        original_moderator_id=last_human.actor_id if last_human else None,
    )
    db.session.add(record)
    audit.record(
        submission_id=submission.id,
        actor_id=user.id,
        automatic=False,
        action="appeal",
        from_state=submission.state,
        to_state=submission.state,
        reason="appeal",
        note=text,
    )
    db.session.commit()
    realtime.notify_moderators(
        {"id": submission.id, "consultation_id": submission.consultation_id, "state": "appealed"}
    )
    return record


def open_appeals(user: User) -> list[Appeal]:
    if not permissions.can_moderate_anywhere(user):
        raise Forbidden("Only moderators see appeals.")
    query = (
        select(Appeal)
        .join(Submission, Submission.id == Appeal.submission_id)
        .where(Appeal.decided_at.is_(None))
        .order_by(Appeal.id)
    )
    scope = _in_scope(user)
    if scope is not None:
        query = query.where(scope)
    return list(db.session.scalars(query))


def decide_appeal(user: User, appeal_id: int, outcome: str, reason: str, note: str | None = None) -> Appeal:
    """Restore or uphold; by a moderator other than the one who decided first. Final."""
    record = db.session.get(Appeal, appeal_id)
    if record is None:
        raise NotFound("There is no appeal with this number.")
    submission = record.submission
    _require_moderator(user, submission.consultation_id)
    if record.decided_at is not None:
        raise Conflict("This appeal has already been decided; the decision is final.", code="already_decided")
    if is_own_appeal(user, record):
        raise Forbidden(OWN_APPEAL, code="own_content")
    if record.original_moderator_id == user.id:
        raise Forbidden("An appeal must be decided by a different moderator from the one who made the first decision.")
    if outcome not in ("restored", "upheld"):
        raise Invalid("The outcome is restored or upheld.", field="outcome")
    _check_reason(outcome, reason)
    before = submission.state
    if outcome == "restored":
        submission.state = "published"
    record.outcome, record.reason, record.decided_by_id, record.decided_at = outcome, reason, user.id, utcnow()
    audit.record(
        submission_id=submission.id,
        actor_id=user.id,
        automatic=False,
        action="restore" if outcome == "restored" else "uphold",
        from_state=before,
        to_state=submission.state,
        reason=reason,
        note=clean_text(note, max_chars=2000, field="note") if note and note.strip() else None,
        model_version=submission.model_version,
        abuse_score=submission.abuse_score,
        spam_score=submission.spam_score,
    )
    notifications.for_moderation(submission, "restore" if outcome == "restored" else "uphold", reason)
    db.session.commit()
    notifications.after_commit()
    _announce_change(submission, before)
    return record
