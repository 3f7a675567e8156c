"""Submitting views, listing them and voting on them."""

import hashlib
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from agora.extensions import db
from agora.models import Consultation, IdempotencyRecord, Submission, User, Vote
from agora.models.submission import CHANNELS, VOTE_VALUES
from agora.services import audit, embeddings, geography, realtime
from agora.services.accounts import notifications
from agora.services.analysis import themes
from agora.services.errors import AgoraError, Closed, Conflict, Invalid, NotFound
from agora.services.moderation import screening
from agora.services.participation import group_commit
from agora.services.sanitize import clean_text

MAX_CHARS_DEFAULT = 5000
SORTS = ("newest", "agreed")


@dataclass(frozen=True)
class Page:
    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_prev(self) -> bool:
        return self.page > 1


def _open_consultation(consultation_id: int) -> Consultation:
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None or consultation.status == "draft":
        raise NotFound("There is no consultation with this number.")
    if consultation.not_yet_open:
        raise Closed("This consultation is not open yet: it accepts views and votes from its opening date.")
    if not consultation.is_open:
        raise Closed("This consultation is closed: it no longer accepts views or votes.")
    return consultation


def request_fingerprint(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()


def submit(
    consultation_id: int,
    author: User | None,
    text: object,
    *,
    channel: str = "web",
    max_chars: int = MAX_CHARS_DEFAULT,
    idempotency_key: str | None = None,
    hearing_id: int | None = None,
    kind: str = "view",
    organisation_id: int | None = None,
    origin: str | None = None,
    facilitator_note: str | None = None,
    import_batch_id: int | None = None,
    sender_hash: str | None = None,
    external_ref: str | None = None,
    created_at: datetime | None = None,
    language: str | None = None,
    profile: dict | None = None,
    commit: bool = True,
    group: bool = False,
) -> tuple[Submission, bool]:
    """Validate, screen and store a view. Returns (submission, created).

    With an idempotency key, a retry of the same request returns the first submission
    (created=False) instead of storing it twice; the same key with another text is a conflict.

    Offline and SMS channels pass what they know instead of an author's profile: ``profile``
    (constituency, country, gender as stated on a paper form), ``language`` as stated, the
    gathering's ``created_at``; callers have checked the organisation, origin and note.
    With ``commit=False`` nothing is committed or announced: the caller commits the whole
    batch (all or nothing), then calls ``announce_committed`` for each submission.
    With ``group=True`` (the busy paths: the API and the form) the view shares one transaction with
    whatever other submissions arrive at the same moment (see ``group_commit``); the caller's own
    transaction is committed first, separately.
    """
    if channel not in CHANNELS:
        raise Invalid("Unknown channel.", field="channel")
    grouped = group and commit and current_app.config["GROUP_COMMIT"]
    if not grouped:  # else the writer checks it, once for its batch, in the transaction that stores
        _open_consultation(consultation_id)
    clean = clean_text(text, max_chars=max_chars)
    idempotency = None
    if idempotency_key is not None:
        if author is None:
            raise Invalid("Idempotency keys need a signed-in user.")
        if not 1 <= len(idempotency_key) <= 200:
            raise Invalid("The Idempotency-Key header must be 1 to 200 characters.", field="Idempotency-Key")
        idempotency = (idempotency_key, request_fingerprint(consultation_id, clean))
        earlier = replay(author.id, *idempotency)
        if earlier is not None:
            return earlier, False

    stated = (
        profile
        if profile is not None
        else (
            {"constituency": author.constituency, "country": author.country, "gender": author.gender} if author else {}
        )
    )
    country = geography.country(stated.get("country"))
    draft = Draft(
        consultation_id=consultation_id,
        author_id=author.id if author else None,
        text=clean,
        flood_key=author.id if author else sender_hash,
        language=language,
        idempotency=idempotency,
        values=dict(
            hearing_id=hearing_id,
            kind=kind,
            channel=channel,
            constituency=stated.get("constituency"),
            country=country.code if country else None,
            region=country.region if country else None,
            global_south=country.global_south if country else None,
            gender=stated.get("gender"),
            organisation_id=organisation_id,
            origin=origin,
            facilitator_note=facilitator_note,
            import_batch_id=import_batch_id,
            sender_hash=sender_hash,
            external_ref=external_ref,
            **({"created_at": created_at} if created_at is not None else {}),
        ),
    )
    if grouped:
        # End this request's transaction (it has only read) so that it holds no connection while it
        # waits: twenty waiting requests would otherwise drain the pool the writer needs.
        db.session.commit()
        outcome = group_commit.submit(draft, STORAGE)
        return db.session.merge(outcome.submission, load=False), outcome.created
    [stored] = store([draft])
    if isinstance(stored, Exception):
        raise stored
    if not commit:
        return stored, True
    try:
        db.session.commit()
    except IntegrityError:
        # A concurrent retry with the same key won the race: answer with its submission.
        db.session.rollback()
        earlier = (
            replay(author.id, *idempotency) if idempotency and author is not None else None
        )  # a key always has its author
        if earlier is None:
            raise
        return earlier, False
    announce_committed(stored)
    return stored, True


def shows_profile(author: User | None) -> bool:
    """Whether a view's author chose to show their constituency with their views (profiles are
    used in aggregate only otherwise; people without an account never chose, so never)."""
    return author is not None and author.kind == "account" and bool(getattr(author, "show_constituency", False))


def shown_profile(submission: Submission) -> tuple[str | None, str | None]:
    """The constituency and region that pages and the API may show next to a view's author: the
    ones stated with the view, only if the author chose to show them; else (None, None)."""
    if shows_profile(submission.author):
        return submission.constituency, submission.region
    return None, None


@dataclass(frozen=True)
class Draft:
    """A validated submission waiting to be screened and stored: plain values, no session objects,
    so another session (the group commit's writer) can store it."""

    consultation_id: int
    author_id: int | None
    text: str
    flood_key: object  # whose posting rate is tracked: the author, or an SMS sender's hash
    language: str | None
    idempotency: tuple[str, str] | None  # (Idempotency-Key, request fingerprint)
    values: dict  # the submission's other columns


def score(drafts: list[Draft]) -> screening.Scored:
    """The drafts' embeddings and abuse scores (``screening.score_batch``): what ``store`` would
    compute first, which reads no stored state, so the writer has it computed ahead."""
    return screening.score_batch([draft.text for draft in drafts])


def store(drafts: list[Draft], scored: screening.Scored | None = None) -> list[Submission | AgoraError]:
    """Screen drafts in one batch and add them, with their audit entries, to the session (flushed,
    not committed). One result per draft, in order: the submission, or the error that refused it
    (its consultation closed meanwhile). ``scored``: the drafts' ``score``, if computed ahead."""
    refused: dict[int, AgoraError] = {}
    open_ones: dict[int, Consultation] = {}
    for i, draft in enumerate(drafts):
        try:
            if draft.consultation_id not in open_ones:
                open_ones[draft.consultation_id] = _open_consultation(draft.consultation_id)
        except AgoraError as error:
            refused[i] = error
    accepted = [i for i in range(len(drafts)) if i not in refused]
    verdicts = screening.screen_many(
        [(drafts[i].text, open_ones[drafts[i].consultation_id], drafts[i].flood_key) for i in accepted],
        scored.take(accepted) if scored is not None and refused else scored,
    )
    batch = []
    stored: dict[int, Submission] = {}
    for i, verdict in zip(accepted, verdicts):
        draft = drafts[i]
        submission = Submission(
            consultation_id=draft.consultation_id,
            author_id=draft.author_id,
            text=draft.text,
            language=draft.language or verdict.language,
            state=verdict.state,
            abuse_score=verdict.abuse,
            spam_score=verdict.spam,
            reasons=",".join(verdict.reasons),
            model_version=verdict.model_version,
            **draft.values,
        )
        themes.place_new(submission, verdict.vector)  # before the insert: the theme goes in with the row
        batch.append(submission)
        stored[i] = submission
    db.session.add_all(batch)
    db.session.flush()
    embeddings.store_screened([(s, v.vector) for s, v in zip(batch, verdicts)])
    for submission, verdict in zip(batch, verdicts):
        screening.link_near_duplicates(submission, verdict, batch)
    audit.record_many(
        [
            dict(
                submission_id=submission.id,
                automatic=True,
                action="publish" if verdict.state == "published" else "hold",
                from_state=None,
                to_state=verdict.state,
                reason=",".join((("likely_violation",) if verdict.likely_violation else ()) + verdict.reasons),
                model_version=verdict.model_version,
                abuse_score=verdict.abuse,
                spam_score=verdict.spam,
            )
            for submission, verdict in zip(batch, verdicts)
            if verdict.state != "pending"
        ]
    )
    # the authors of held views are told each waits for a person (one look-up for the batch: a
    # flood held from one author would otherwise cost a query and a flush a view)
    notifications.for_moderation_many([s for s in batch if s.state == "held"], "hold")
    for i in accepted:
        idempotency = drafts[i].idempotency
        if idempotency is not None:
            key, fingerprint = idempotency
            db.session.add(
                IdempotencyRecord(
                    user_id=drafts[i].author_id, key=key, request_hash=fingerprint, submission_id=stored[i].id
                )
            )
    if any(d.idempotency for d in drafts):
        db.session.flush()
    return [refused[i] if i in refused else stored[i] for i in range(len(drafts))]


def announce_committed(submission: Submission) -> None:
    """After the commit: tell the rooms, and maybe schedule a theme refit (never raises)."""
    _announce(submission)
    notifications.after_commit()
    themes.after_submission(submission)


def _replay_draft(draft: Draft) -> Submission | None:
    return (
        replay(draft.author_id, *draft.idempotency) if draft.idempotency and draft.author_id is not None else None
    )  # a key always has its author


def replay(user_id: int, key: str, fingerprint: str) -> Submission | None:
    record = db.session.scalar(
        select(IdempotencyRecord).where(IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key)
    )
    if record is None:
        return None
    if record.request_hash != fingerprint:
        raise Conflict("This Idempotency-Key was already used for a different request.", code="idempotency_conflict")
    return db.session.get(Submission, record.submission_id)


# How the group commit's writer stores, announces and replays submissions (group_commit.py).
STORAGE: group_commit.Storage[Draft, Submission] = group_commit.Storage(
    store=store, committed=announce_committed, replay=_replay_draft, prepare=score
)


def _announce(submission: Submission) -> None:
    """Tell the consultation's room about a published view, and moderators about a held one.

    Hearing messages are announced by the hearings service, which owns their live payload.
    """
    if submission.state == "published" and submission.hearing_id is None:
        realtime.publish(
            realtime.consultation_room(submission.consultation_id),
            "submission_published",
            {"id": submission.id, "consultation_id": submission.consultation_id},
        )
    elif submission.state in ("held", "pending"):
        realtime.notify_moderators({"consultation_id": submission.consultation_id, "submission_id": submission.id})


def get_published(submission_id: int) -> Submission:
    submission = db.session.get(Submission, submission_id)
    if submission is None or submission.state != "published":
        raise NotFound("There is no published view with this number.")
    return submission


def get_visible(submission_id: int, viewer: User | None) -> Submission:
    """A published view, or the viewer's own view in any state."""
    submission = db.session.get(Submission, submission_id)
    if submission is None or (
        submission.state != "published" and (viewer is None or submission.author_id != viewer.id)
    ):
        raise NotFound("There is no published view with this number.")
    return submission


def list_published(
    consultation_id: int,
    *,
    sort: str = "newest",
    page: int = 1,
    per_page: int = 20,
    language: str | None = None,
    constituency: str | None = None,
) -> Page:
    if sort not in SORTS:
        raise Invalid(f"Unknown sort; choose one of {', '.join(SORTS)}.", field="sort")
    if page < 1 or not 1 <= per_page <= 100:
        raise Invalid("page must be ≥ 1 and per_page between 1 and 100.", field="page")
    conditions = [
        Submission.consultation_id == consultation_id,
        Submission.state == "published",
        Submission.hearing_id.is_(None),
    ]
    if language:
        conditions.append(Submission.language == language)
    if constituency:  # among the authors who chose to show theirs: a filter must not single out the others
        conditions.append(Submission.constituency == constituency)
        conditions.append(
            Submission.author_id.in_(select(User.id).where(User.kind == "account", User.show_constituency.is_(True)))
        )
    total = db.session.scalar(select(func.count(Submission.id)).where(*conditions))
    order = (
        (Submission.created_at.desc(), Submission.id.desc())
        if sort == "newest"
        else (
            (Submission.agree_count - Submission.disagree_count).desc(),
            Submission.agree_count.desc(),
            Submission.id.desc(),
        )
    )
    items = list(
        db.session.scalars(
            select(Submission)
            .options(selectinload(Submission.author))  # pages show each author: one query, not one per view
            .where(*conditions)
            .order_by(*order)
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
    )
    return Page(items=items, page=page, per_page=per_page, total=total or 0)


def votes_of(user: User | None, submission_ids: list[int]) -> dict[int, int]:
    if user is None or not getattr(user, "is_authenticated", False) or not submission_ids:
        return {}
    return dict(
        db.session.execute(
            select(Vote.submission_id, Vote.value).where(
                Vote.user_id == user.id, Vote.submission_id.in_(submission_ids)
            )
        ).all()
    )


def vote(submission_id: int, user: User, choice: object, *, consultation_id: int | None = None) -> Submission:
    """Record or change the user's vote; one vote per person per view."""
    if not isinstance(choice, str) or choice not in VOTE_VALUES:
        raise Invalid("A vote is agree, disagree or pass.", field="vote")
    value = VOTE_VALUES[choice]
    submission = get_published(submission_id)
    if consultation_id is not None and submission.consultation_id != consultation_id:
        raise NotFound("There is no published view with this number in this consultation.")
    _open_consultation(submission.consultation_id)
    for attempt in range(2):
        existing = db.session.scalar(select(Vote).where(Vote.submission_id == submission.id, Vote.user_id == user.id))
        if existing is None:
            db.session.add(Vote(submission_id=submission.id, user_id=user.id, value=value))
        else:
            existing.value = value
        try:
            db.session.flush()
            break
        except IntegrityError:  # the same user voted concurrently; update instead
            db.session.rollback()
            if attempt:
                raise
    _recount(submission)
    db.session.commit()
    realtime.publish(
        realtime.consultation_room(submission.consultation_id),
        "votes_changed",
        {
            "id": submission.id,
            "agree": submission.agree_count,
            "disagree": submission.disagree_count,
            "pass": submission.pass_count,
        },
    )
    return submission


def _recount(submission: Submission) -> None:
    tallies = dict(
        db.session.execute(
            select(Vote.value, func.count()).where(Vote.submission_id == submission.id).group_by(Vote.value)
        ).all()
    )
    submission.agree_count = tallies.get(1, 0)
    submission.disagree_count = tallies.get(-1, 0)
    submission.pass_count = tallies.get(0, 0)
