"""Moderation: the queue, decisions, flags, appeals, transparency and retraining.

People decide; the model only ranks and holds. Every decision is written to the audit log in
the same transaction as the change it records.
"""
import io
import json
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, case, func, or_, select

from agora import permissions
from agora.extensions import db
from agora.i18n import N_
from agora.models import Appeal, Flag, ModelVersion, ModerationDecision, Submission, User
from agora.models._base import utcnow
from agora.models.moderation import CODE_OF_CONDUCT
from agora.services import audit, consultations, csvfiles, notifications, realtime, screening
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
    "approve": ("within_rules",), "keep": ("within_rules",), "restored": ("within_rules",),
    "hide": VIOLATIONS, "reject": VIOLATIONS, "upheld": VIOLATIONS,
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
    author_recent: list
    near_duplicates: list
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
    return is_own(user, record.submission) or (record.author_id is not None and record.author_id == getattr(user, "id", None))


def _require_not_own(user: User, submission: Submission) -> None:
    if is_own(user, submission):
        raise Forbidden(OWN_ITEM, code="own_content")


def _submission(submission_id: int) -> Submission:
    submission = db.session.get(Submission, submission_id)
    if submission is None:
        raise NotFound("There is no submission with this number.")
    return submission


def _in_scope(user: User):
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
    priority = unscreened_first + func.coalesce(Submission.abuse_score, 0.0) + func.coalesce(Submission.spam_score, 0.0) + 0.2 * flags
    rows = db.session.execute(
        select(Submission, priority.label("priority"), flags.label("flags"))
        .outerjoin(open_flags, open_flags.c.submission_id == Submission.id)
        .where(*conditions)
        .order_by(priority.desc(), Submission.id)
        .limit(limit)
    ).all()
    campaigns = _campaign_sizes({s.campaign_id for s, _, _ in rows if s.campaign_id})
    claimers = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_({s.claimed_by_id for s, _, _ in rows if s.claimed_by_id})))}
    now = utcnow()
    return [
        QueueItem(
            submission=s,
            priority=float(p),
            campaign_size=campaigns.get(s.campaign_id, 0),
            open_flags=int(f),
            claimed_by=claimers.get(s.claimed_by_id) if s.claimed_at and now - s.claimed_at < timedelta(minutes=CLAIM_MINUTES) else None,
            own=is_own(user, s),
        )
        for s, p, f in rows
    ]


def backlog(user: User) -> dict[str, int]:
    """How many items wait, by state: moderators see the backlog, unscreened items included."""
    conditions = [Submission.state.in_(QUEUE_STATES)]
    scope = _in_scope(user)
    if scope is not None:
        conditions.append(scope)
    return dict(db.session.execute(select(Submission.state, func.count()).where(*conditions).group_by(Submission.state)).all())


def _campaign_sizes(campaign_ids: set[int]) -> dict[int, int]:
    if not campaign_ids:
        return {}
    return dict(
        db.session.execute(
            select(Submission.campaign_id, func.count()).where(Submission.campaign_id.in_(campaign_ids)).group_by(Submission.campaign_id)
        ).all()
    )


def context(user: User, submission_id: int) -> ItemContext:
    submission = _submission(submission_id)
    _require_moderator(user, submission.consultation_id)
    decisions = db.session.scalars(
        select(ModerationDecision).where(ModerationDecision.submission_id == submission.id).order_by(ModerationDecision.id)
    ).all()
    flags = db.session.scalars(select(Flag).where(Flag.submission_id == submission.id).order_by(Flag.id)).all()
    recent = []
    if submission.author_id:
        recent = db.session.scalars(
            select(Submission).where(Submission.author_id == submission.author_id, Submission.id != submission.id)
            .order_by(Submission.id.desc()).limit(5)
        ).all()
    near = []
    if submission.campaign_id:
        near = db.session.scalars(
            select(Submission).where(Submission.campaign_id == submission.campaign_id, Submission.id != submission.id)
            .order_by(Submission.id).limit(10)
        ).all()
    appeal = db.session.scalar(select(Appeal).where(Appeal.submission_id == submission.id))
    size = _campaign_sizes({submission.campaign_id}).get(submission.campaign_id, 0) if submission.campaign_id else 0
    return ItemContext(submission, list(decisions), list(flags), list(recent), list(near), size, appeal, is_own(user, submission))


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
        raise Invalid("Publishing or keeping an item says it is within the code of conduct: choose that reason.", field="reason")


def decide(user: User, submission_id: int, action: str, reason: str, note: str | None = None, *, commit: bool = True) -> Submission:
    """approve / hide / reject an item in the queue, or hide / keep a flagged published one."""
    submission = _submission(submission_id)
    _require_moderator(user, submission.consultation_id)  # who may act comes before what they sent
    _require_not_own(user, submission)  # their held views and reports on their views go to another moderator
    if action not in ACTIONS and action != "keep":
        raise Invalid("The action is approve, hide, reject or keep.", field="action")
    _check_reason(action, reason)
    open_flags = db.session.scalars(select(Flag).where(Flag.submission_id == submission.id, Flag.resolved_at.is_(None))).all()
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
        submission_id=submission.id, actor_id=user.id, automatic=False, action=action,
        from_state=before, to_state=after, reason=reason, note=note_text,
        model_version=submission.model_version, abuse_score=submission.abuse_score, spam_score=submission.spam_score,
    )
    notifications.for_moderation(submission, action, reason)  # the author is told, in the same transaction
    if commit:
        db.session.commit()
        notifications.after_commit()
        _announce_change(submission, before)
    return submission


def decide_many(user: User, submission_ids: list[int], action: str, reason: str, note: str | None = None) -> list[Submission]:
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
    members = db.session.scalars(select(Submission).where(Submission.campaign_id == campaign_id).order_by(Submission.id)).all()
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
        realtime.publish(realtime.consultation_room(submission.consultation_id), "submission_retracted", {"id": submission.id})
    elif before != "published" and submission.state == "published":
        if submission.hearing_id:
            from agora.services import hearings

            hearings.announce(submission)
        else:
            realtime.publish(realtime.consultation_room(submission.consultation_id), "submission_published", {"id": submission.id, "consultation_id": submission.consultation_id})


# --- participants: flags, outcomes, appeals ---------------------------------------------

def flag(user: User, submission_id: int, reason: str, note: str | None = None) -> Flag:
    if reason not in FLAG_REASONS:
        raise Invalid("Choose which rule of the code of conduct this breaks.", field="reason")
    submission = _submission(submission_id)
    if submission.state != "published":
        raise NotFound("There is no published view with this number.")
    if db.session.scalar(select(Flag.id).where(Flag.submission_id == submission.id, Flag.user_id == user.id)):
        raise Conflict("You have already reported this view; moderators will look at it.", code="already_flagged")
    flag = Flag(
        submission_id=submission.id, user_id=user.id, reason=reason,
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
        return self.submission.state in ("hidden", "rejected") and self.appeal is None and self.decision is not None and not self.decision.automatic


def outcomes_for(user: User) -> list[Outcome]:
    """The author's own submissions with the latest decision and any appeal: authors are told why."""
    submissions = db.session.scalars(select(Submission).where(Submission.author_id == user.id).order_by(Submission.id.desc()).limit(200)).all()
    ids = [s.id for s in submissions]
    latest = {}
    if ids:
        for decision in db.session.scalars(select(ModerationDecision).where(ModerationDecision.submission_id.in_(ids)).order_by(ModerationDecision.id)):
            latest[decision.submission_id] = decision
    appeals = {a.submission_id: a for a in db.session.scalars(select(Appeal).where(Appeal.submission_id.in_(ids or [-1])))}
    return [Outcome(s, latest.get(s.id), appeals.get(s.id)) for s in submissions]


def appeal(user: User, submission_id: int, statement) -> Appeal:
    submission = _submission(submission_id)
    if submission.author_id != user.id:
        raise Forbidden("Only the author of a view can appeal its moderation.")
    if db.session.scalar(select(Appeal.id).where(Appeal.submission_id == submission.id)):
        raise Conflict("You have already appealed this decision; an appeal can be made once.", code="already_appealed")
    if submission.state not in ("hidden", "rejected"):
        raise Conflict("Only a hidden or rejected view can be appealed.", code="not_appealable")
    last_human = db.session.scalar(
        select(ModerationDecision).where(ModerationDecision.submission_id == submission.id, ModerationDecision.automatic.is_(False))
        .order_by(ModerationDecision.id.desc()).limit(1)
    )
    text = clean_text(statement, max_chars=2000, field="statement")
    record = Appeal(submission_id=submission.id, author_id=user.id, statement=text, original_moderator_id=last_human.actor_id if last_human else None)
    db.session.add(record)
    audit.record(
        submission_id=submission.id, actor_id=user.id, automatic=False, action="appeal",
        from_state=submission.state, to_state=submission.state, reason="appeal", note=text,
    )
    db.session.commit()
    realtime.notify_moderators({"id": submission.id, "consultation_id": submission.consultation_id, "state": "appealed"})
    return record


def open_appeals(user: User) -> list[Appeal]:
    if not permissions.can_moderate_anywhere(user):
        raise Forbidden("Only moderators see appeals.")
    query = select(Appeal).join(Submission, Submission.id == Appeal.submission_id).where(Appeal.decided_at.is_(None)).order_by(Appeal.id)
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
        submission_id=submission.id, actor_id=user.id, automatic=False,
        action="restore" if outcome == "restored" else "uphold",
        from_state=before, to_state=submission.state, reason=reason,
        note=clean_text(note, max_chars=2000, field="note") if note and note.strip() else None,
        model_version=submission.model_version, abuse_score=submission.abuse_score, spam_score=submission.spam_score,
    )
    notifications.for_moderation(submission, "restore" if outcome == "restored" else "uphold", reason)
    db.session.commit()
    notifications.after_commit()
    _announce_change(submission, before)
    return record


# --- transparency and the audit log -----------------------------------------------------

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
    base = select(
        ModerationDecision.action, ModerationDecision.automatic, ModerationDecision.from_state, ModerationDecision.reason, func.count()
    ).join(Submission, Submission.id == ModerationDecision.submission_id).where(Submission.consultation_id == consultation_id).group_by(
        ModerationDecision.action, ModerationDecision.automatic, ModerationDecision.from_state, ModerationDecision.reason
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
    waiting = dict(db.session.execute(
        select(Submission.state, func.count()).where(Submission.consultation_id == consultation_id, Submission.state.in_(QUEUE_STATES))
        .group_by(Submission.state)
    ).all())
    unscreened = db.session.scalar(
        select(func.count()).select_from(Submission).where(
            Submission.consultation_id == consultation_id, Submission.state == "pending",
            ~select(ModerationDecision.id).where(ModerationDecision.submission_id == Submission.id).exists(),
        )
    ) or 0
    campaigns = db.session.execute(
        select(Submission.campaign_id, func.count()).where(Submission.consultation_id == consultation_id, Submission.campaign_id.is_not(None))
        .group_by(Submission.campaign_id).having(func.count() > 1).order_by(func.count().desc()).limit(10)
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
    return consultations.kept_briefly("transparency", [consultation_id], lambda ids: {ids[0]: transparency(ids[0])})[consultation_id]


AUDIT_COLUMNS = ("id", "created_at", "submission_id", "consultation_id", "actor", "automatic", "action", "from_state", "to_state", "reason", "note", "model_version", "abuse_score", "spam_score", "entry_hash")


def audit_rows(user: User, limit: int | None = 500, before_id: int | None = None):
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
            "id": decision.id, "created_at": decision.created_at.isoformat() + "Z", "submission_id": decision.submission_id,
            "consultation_id": consultation_id, "actor": actor or ("model" if decision.automatic else ""),
            "automatic": decision.automatic, "action": decision.action, "from_state": decision.from_state or "",
            "to_state": decision.to_state, "reason": decision.reason, "note": decision.note or "",
            "model_version": decision.model_version or "", "abuse_score": decision.abuse_score, "spam_score": decision.spam_score,
            "entry_hash": decision.entry_hash,
        }


def audit_csv(user: User):
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


# --- learning from moderators -----------------------------------------------------------

def training_labels() -> list[tuple[str, int]]:
    """Human decisions as labels: hidden/rejected for abuse → 1; approved/restored as within the rules → 0."""
    rows = db.session.execute(
        select(Submission.text, ModerationDecision.action, ModerationDecision.reason)
        .join(Submission, Submission.id == ModerationDecision.submission_id)
        .where(ModerationDecision.automatic.is_(False), ModerationDecision.action.in_(("approve", "hide", "reject", "restore", "keep")))
        .order_by(ModerationDecision.id)
    ).all()
    labels: dict[str, int] = {}
    for text, action, reason in rows:
        if action in ("hide", "reject") and reason == "abuse":
            labels[text] = 1
        elif action in ("approve", "restore", "keep"):
            labels[text] = 0
    return list(labels.items())


def retrain(models_dir: str, progress=lambda message: None):
    """Retrain on base data + local decisions; promote only without regression."""
    from pathlib import Path

    from moderation.train import retrain as retrain_model

    labels = training_labels()
    progress(f"{len(labels)} labelled decisions from moderators ({sum(label for _, label in labels)} abusive).")
    current = db.session.scalar(select(ModelVersion).where(ModelVersion.active.is_(True)))
    stamp = utcnow().strftime("%Y%m%dT%H%M%S")
    out = Path(models_dir) / f"model-{stamp}"
    result = retrain_model(labels, out, base_dir=current.path if current else None)
    metrics = {"before": result.before.__dict__, "after": result.after.__dict__, "reason": result.reason, "labels": len(labels)}
    if result.promoted:
        if current:
            current.active = False
        db.session.add(ModelVersion(version=result.version_after, path=str(out), metrics_json=json.dumps(metrics), active=True))
        db.session.commit()
        screening.reset()
    return result


def active_model_version() -> str | None:
    return screening.model_version()


def reliability(language: str | None) -> dict | None:
    """How the active model does in this language on held-out data (its training report): what a
    moderator weighs a score by. None for a language it does not read (or none detected)."""
    model = screening.moderator()
    figures = (model.meta.get("languages") or {}).get(language or "") if model is not None else None
    if not figures:
        return None
    return {**figures, "hold": model.thresholds_for(language).hold, "few_examples": figures.get("n_abusive", 0) < 20}


def code_of_conduct() -> dict[str, str]:
    return dict(CODE_OF_CONDUCT)


def decision_reasons() -> dict[str, dict[str, str]]:
    """Each decision's fitting reasons, for the forms: ``{"approve": {"within_rules": …}, …}``."""
    return {action: reasons_for(action) for action in REASONS_FOR}


def flag_reasons() -> dict[str, str]:
    """What a participant may report a view for: the rules of the code that can be broken."""
    return {key: CODE_OF_CONDUCT[key] for key in FLAG_REASONS}

