"""Moderation's queue and decisions: what waits, claims, approve / hide / reject with a reason
from the code of conduct, campaigns in bulk; the reasons each action may cite.

People decide; the model only ranks and holds. Every decision is written to the audit log in
the same transaction as the change it records.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import ColumnElement, and_, case, func, or_, select

from agora import permissions
from agora.extensions import db
from agora.i18n import N_
from agora.models import Appeal, Flag, ModerationDecision, Submission, User
from agora.models._base import utcnow
from agora.models.moderation import CODE_OF_CONDUCT
from agora.services import audit, realtime
from agora.services.accounts import notifications
from agora.services.errors import Conflict, Forbidden, Invalid, NotFound
from agora.services.sanitize import clean_text

CLAIM_MINUTES = 10
QUEUE_STATES = ("pending", "held")
ACTIONS = {"approve": "published", "hide": "hidden", "reject": "rejected"}
VIOLATIONS = tuple(k for k in CODE_OF_CONDUCT if k != "within_rules")  # in the code's order
FLAG_REASONS = VIOLATIONS
# The reasons that fit each decision: publishing or keeping says the item is within the code of
# conduct; hiding, rejecting or upholding names the rule that was broken. Forms offer only these.
REASONS_FOR = {
    "approve": ("within_rules",),
    "keep": ("within_rules",),
    "restored": ("within_rules",),
    "hide": VIOLATIONS,
    "reject": VIOLATIONS,
    "upheld": VIOLATIONS,
}


@dataclass(frozen=True)
class QueueItem:
    submission: Submission
    priority: float
    campaign_size: int
    open_flags: int
    claimed_by: User | None
    own: bool = False  # the viewing moderator wrote it: another moderator decides


@dataclass(frozen=True)
class ItemContext:
    submission: Submission
    decisions: list
    flags: list
    author_recent: Sequence[Submission]
    near_duplicates: Sequence[Submission]
    campaign_size: int
    appeal: Appeal | None
    own: bool = False  # the viewing moderator wrote it: another moderator decides


def _require_moderator(user: User, consultation_id: int) -> None:
    if not permissions.can_moderate(user, consultation_id):
        raise Forbidden("You are not a moderator of this consultation.")


OWN_ITEM = N_("You wrote this item: another moderator decides it.")
OWN_APPEAL = N_("This appeal is on your own view: another moderator decides it.")


def is_own(user: User, submission: Submission) -> bool:
    """Whether ``user`` wrote ``submission``: nobody decides on their own content."""
    return submission.author_id is not None and submission.author_id == getattr(user, "id", None)


def is_own_appeal(user: User, record: Appeal) -> bool:
    """Whether ``record`` is an appeal on ``user``'s own view."""
    return is_own(user, record.submission) or (
        record.author_id is not None and record.author_id == getattr(user, "id", None)
    )


def _require_not_own(user: User, submission: Submission) -> None:
    if is_own(user, submission):
        raise Forbidden(OWN_ITEM, code="own_content")


def _submission(submission_id: int) -> Submission:
    submission = db.session.get(Submission, submission_id)
    if submission is None:
        raise NotFound("There is no submission with this number.")
    return submission


def _in_scope(user: User) -> ColumnElement[bool] | None:
    scope = permissions.scoped_consultations(user, "moderator")
    return None if scope is None else Submission.consultation_id.in_(scope or {-1})


def queue(user: User, consultation_id: int | None = None, limit: int = 100) -> list[QueueItem]:
    """Held and pending items, plus published items with open flags, ranked by risk."""
    if not permissions.can_moderate_anywhere(user):
        raise Forbidden("Only moderators see the moderation queue.")
    open_flags = (
        select(Flag.submission_id, func.count(Flag.id).label("n"))
        .where(Flag.resolved_at.is_(None))
        .group_by(Flag.submission_id)
        .subquery()
    )
    flags = func.coalesce(open_flags.c.n, 0)
    conditions = [or_(Submission.state.in_(QUEUE_STATES), and_(Submission.state == "published", flags > 0))]
    scope = _in_scope(user)
    if scope is not None:
        conditions.append(scope)
    if consultation_id is not None:
        conditions.append(Submission.consultation_id == consultation_id)
    unscreened_first = case((Submission.state == "pending", 2.0), else_=0.0)
    priority = (
        unscreened_first
        + func.coalesce(Submission.abuse_score, 0.0)
        + func.coalesce(Submission.spam_score, 0.0)
        + 0.2 * flags
    )
    rows = db.session.execute(
        select(Submission, priority.label("priority"), flags.label("flags"))
        .outerjoin(open_flags, open_flags.c.submission_id == Submission.id)
        .where(*conditions)
        .order_by(priority.desc(), Submission.id)
        .limit(limit)
    ).all()
    campaigns = _campaign_sizes({s.campaign_id for s, _, _ in rows if s.campaign_id})
    claimers = {
        u.id: u
        for u in db.session.scalars(
            select(User).where(User.id.in_({s.claimed_by_id for s, _, _ in rows if s.claimed_by_id}))
        )
    }
    now = utcnow()
    return [
        QueueItem(
            submission=s,
            priority=float(p),
            campaign_size=campaigns.get(s.campaign_id, 0),
            open_flags=int(f),
            claimed_by=claimers.get(s.claimed_by_id)
            if s.claimed_at and now - s.claimed_at < timedelta(minutes=CLAIM_MINUTES)
            else None,
            own=is_own(user, s),
        )
        for s, p, f in rows
    ]


def backlog(user: User) -> dict[str, int]:
    """How many items wait, by state: moderators see the backlog, unscreened items included."""
    conditions: list[ColumnElement[bool]] = [Submission.state.in_(QUEUE_STATES)]
    scope = _in_scope(user)
    if scope is not None:
        conditions.append(scope)
    return dict(
        db.session.execute(select(Submission.state, func.count()).where(*conditions).group_by(Submission.state)).all()
    )


def _campaign_sizes(campaign_ids: set[int]) -> dict[int, int]:
    if not campaign_ids:
        return {}
    rows = db.session.execute(
        select(Submission.campaign_id, func.count())
        .where(Submission.campaign_id.in_(campaign_ids))
        .group_by(Submission.campaign_id)
    ).all()
    return {campaign_id: n for campaign_id, n in rows if campaign_id is not None}  # never None: filtered by in_


def context(user: User, submission_id: int) -> ItemContext:
    submission = _submission(submission_id)
    _require_moderator(user, submission.consultation_id)
    decisions = db.session.scalars(
        select(ModerationDecision)
        .where(ModerationDecision.submission_id == submission.id)
        .order_by(ModerationDecision.id)
    ).all()
    flags = db.session.scalars(select(Flag).where(Flag.submission_id == submission.id).order_by(Flag.id)).all()
    recent: Sequence[Submission] = []
    if submission.author_id:
        recent = db.session.scalars(
            select(Submission)
            .where(Submission.author_id == submission.author_id, Submission.id != submission.id)
            .order_by(Submission.id.desc())
            .limit(5)
        ).all()
    near: Sequence[Submission] = []
    if submission.campaign_id:
        near = db.session.scalars(
            select(Submission)
            .where(Submission.campaign_id == submission.campaign_id, Submission.id != submission.id)
            .order_by(Submission.id)
            .limit(10)
        ).all()
    appeal = db.session.scalar(select(Appeal).where(Appeal.submission_id == submission.id))
    size = _campaign_sizes({submission.campaign_id}).get(submission.campaign_id, 0) if submission.campaign_id else 0
    return ItemContext(
        submission, list(decisions), list(flags), list(recent), list(near), size, appeal, is_own(user, submission)
    )


def claim(user: User, submission_id: int) -> Submission:
    """Mark an item as being worked on, so two moderators don't decide it at once."""
    submission = _submission(submission_id)
    _require_moderator(user, submission.consultation_id)
    _require_not_own(user, submission)
    now = utcnow()
    if (
        submission.claimed_by_id not in (None, user.id)
        and submission.claimed_at
        and now - submission.claimed_at < timedelta(minutes=CLAIM_MINUTES)
    ):
        raise Conflict("Another moderator is working on this item.", code="claimed")
    submission.claimed_by_id, submission.claimed_at = user.id, now
    db.session.commit()
    return submission


def reasons_for(action: str) -> dict[str, str]:
    """The code of conduct's reasons that fit ``action`` (approve, keep, hide, reject, restored,
    upheld), in the code's order: what a decision form offers."""
    return {key: CODE_OF_CONDUCT[key] for key in REASONS_FOR[action]}


def _check_reason(action: str, reason: str) -> None:
    if reason not in CODE_OF_CONDUCT:
        raise Invalid("Choose a reason from the code of conduct.", field="reason")
    if reason not in REASONS_FOR[action]:
        if reason == "within_rules":
            raise Invalid("Hiding or rejecting needs the rule that was broken.", field="reason")
        raise Invalid(
            "Publishing or keeping an item says it is within the code of conduct: choose that reason.", field="reason"
        )


def decide(
    user: User, submission_id: int, action: str, reason: str, note: str | None = None, *, commit: bool = True
) -> Submission:
    """approve / hide / reject an item in the queue, or hide / keep a flagged published one."""
    submission = _submission(submission_id)
    _require_moderator(user, submission.consultation_id)  # who may act comes before what they sent
    _require_not_own(user, submission)  # their held views and reports on their views go to another moderator
    if action not in ACTIONS and action != "keep":
        raise Invalid("The action is approve, hide, reject or keep.", field="action")
    _check_reason(action, reason)
    open_flags = db.session.scalars(
        select(Flag).where(Flag.submission_id == submission.id, Flag.resolved_at.is_(None))
    ).all()
    decidable = submission.state in QUEUE_STATES or (submission.state == "published" and open_flags)
    if not decidable or (action == "approve" and submission.state == "published"):
        raise Conflict(f"This item was already decided (it is {submission.state}).", code="already_decided")
    if (
        submission.claimed_by_id not in (None, user.id)
        and submission.claimed_at
        and utcnow() - submission.claimed_at < timedelta(minutes=CLAIM_MINUTES)
    ):
        raise Conflict("Another moderator is working on this item.", code="claimed")
    before = submission.state
    after = submission.state if action == "keep" else ACTIONS[action]
    submission.state = after
    submission.claimed_by_id = submission.claimed_at = None
    for flag in open_flags:
        flag.resolved_at = utcnow()
    note_text = clean_text(note, max_chars=2000, field="note") if note and note.strip() else None
    audit.record(
        submission_id=submission.id,
        actor_id=user.id,
        automatic=False,
        action=action,
        from_state=before,
        to_state=after,
        reason=reason,
        note=note_text,
        model_version=submission.model_version,
        abuse_score=submission.abuse_score,
        spam_score=submission.spam_score,
    )
    notifications.for_moderation(submission, action, reason)  # the author is told, in the same transaction
    if commit:
        db.session.commit()
        notifications.after_commit()
        _announce_change(submission, before)
    return submission


def decide_many(
    user: User, submission_ids: list[int], action: str, reason: str, note: str | None = None
) -> list[Submission]:
    """A bulk decision (e.g. on a campaign); all or nothing."""
    if not permissions.can_moderate_anywhere(user):
        raise Forbidden("Only moderators decide on submissions.")
    if not submission_ids:
        raise Invalid("Select at least one item.", field="ids")
    if len(submission_ids) > 5000:
        raise Invalid("At most 5,000 items at once.", field="ids")
    before = {}
    decided = []
    for submission_id in sorted(set(submission_ids)):
        submission = _submission(submission_id)
        before[submission.id] = submission.state
        decided.append(decide(user, submission_id, action, reason, note, commit=False))
    db.session.commit()
    notifications.after_commit()
    for submission in decided:
        _announce_change(submission, before[submission.id])
    return decided


def campaign_members(user: User, campaign_id: int) -> list[Submission]:
    members = db.session.scalars(
        select(Submission).where(Submission.campaign_id == campaign_id).order_by(Submission.id)
    ).all()
    if not members:
        raise NotFound("There is no campaign with this number.")
    _require_moderator(user, members[0].consultation_id)
    return list(members)


def _announce_change(submission: Submission, before: str) -> None:
    """Live updates: retract what is no longer public, show what became public."""
    payload = {"id": submission.id, "consultation_id": submission.consultation_id, "state": submission.state}
    realtime.notify_moderators(payload)
    if before == "published" and submission.state != "published":
        if submission.hearing_id:
            from agora.services import hearings

            hearings.retract(submission)
        realtime.publish(
            realtime.consultation_room(submission.consultation_id), "submission_retracted", {"id": submission.id}
        )
    elif before != "published" and submission.state == "published":
        if submission.hearing_id:
            from agora.services import hearings

            hearings.announce(submission)
        else:
            realtime.publish(
                realtime.consultation_room(submission.consultation_id),
                "submission_published",
                {"id": submission.id, "consultation_id": submission.consultation_id},
            )


def code_of_conduct() -> dict[str, str]:
    return dict(CODE_OF_CONDUCT)


def decision_reasons() -> dict[str, dict[str, str]]:
    """Each decision's fitting reasons, for the forms: ``{"approve": {"within_rules": …}, …}``."""
    return {action: reasons_for(action) for action in REASONS_FOR}


def flag_reasons() -> dict[str, str]:
    """What a participant may report a view for: the rules of the code that can be broken."""
    return {key: CODE_OF_CONDUCT[key] for key in FLAG_REASONS}
