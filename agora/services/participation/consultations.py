"""Consultations: creation and editing by the secretariat, listing for the public."""

import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from typing import Literal, TypeVar, cast

from flask import current_app
from sqlalchemy import case, event, func, select
from sqlalchemy.orm import Session

from agora.extensions import db
from agora.models import Consultation, ConsultationTranslation, Submission, Vote
from agora.models.consultation import STAGES, STATUSES
from agora.services.errors import Conflict, Invalid, NotFound
from agora.services.sanitize import clean_html, clean_line, clean_text


@dataclass(frozen=True)
class ConsultationInput:
    title: str
    summary: str = ""
    briefing_html: str = ""
    stage: str = "round_table"
    status: str = "draft"
    forum: str = ""
    languages: str = "en"
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    slug: str | None = None
    attribution: str | None = None
    # Moderation thresholds on the abuse probability; None keeps the model's defaults.
    hold_threshold: float | None = None
    reject_threshold: float | None = None


@dataclass(frozen=True)
class ConsultationCounts:
    views: int  # published outside hearings, as the consultation's page lists them
    participants: int
    votes: int


def slugify(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:80]
    return slug or "consultation"


def _validated(data: ConsultationInput) -> dict:
    if data.stage not in STAGES:
        raise Invalid(f"Unknown stage; choose one of {', '.join(STAGES)}.", field="stage")
    if data.status not in STATUSES:
        raise Invalid(f"Unknown status; choose one of {', '.join(STATUSES)}.", field="status")
    if data.opens_at and data.closes_at and data.closes_at <= data.opens_at:
        raise Invalid("The closing date must be after the opening date.", field="closes_at")
    for name in ("hold_threshold", "reject_threshold"):
        value = getattr(data, name)
        if value is not None and not 0.0 < value < 1.0:
            raise Invalid("A threshold is a probability between 0 and 1 (exclusive).", field=name)
    if (
        data.hold_threshold is not None
        and data.reject_threshold is not None
        and data.hold_threshold >= data.reject_threshold
    ):
        raise Invalid("The hold threshold must be below the likely-violation threshold.", field="hold_threshold")
    return {
        "title": clean_line(data.title, max_chars=200, field="title"),
        "summary": clean_line(data.summary, max_chars=500, field="summary") if data.summary else "",
        "briefing_html": clean_html(data.briefing_html or ""),
        "stage": data.stage,
        "status": data.status,
        "forum": clean_line(data.forum, max_chars=200, field="forum") if data.forum else "",
        "languages": (data.languages or "en").strip()[:80],
        "opens_at": data.opens_at,
        "closes_at": data.closes_at,
        "attribution": clean_text(data.attribution, max_chars=2000, field="attribution") if data.attribution else None,
        "hold_threshold": data.hold_threshold,
        "reject_threshold": data.reject_threshold,
    }


def create(data: ConsultationInput) -> Consultation:
    values = _validated(data)
    slug = slugify(data.slug or values["title"])
    base, n = slug, 2
    while db.session.scalar(select(Consultation.id).where(Consultation.slug == slug)):
        slug, n = f"{base}-{n}", n + 1
    consultation = Consultation(slug=slug, **values)
    db.session.add(consultation)
    db.session.commit()
    return consultation


def update(consultation: Consultation, data: ConsultationInput) -> Consultation:
    values = _validated(data)
    for key, value in values.items():
        setattr(consultation, key, value)
    db.session.commit()
    return consultation


def set_status(consultation: Consultation, status: str) -> Consultation:
    if status not in STATUSES:
        raise Invalid(f"Unknown status; choose one of {', '.join(STATUSES)}.", field="status")
    if consultation.status == "reported" and status != "reported":
        raise Conflict("A reported consultation cannot be reopened; create a new one.")
    consultation.status = status
    db.session.commit()
    return consultation


def get(consultation_id: int) -> Consultation:
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None:
        raise NotFound("There is no consultation with this number.")
    return consultation


def get_by_slug(slug: str) -> Consultation:
    consultation = db.session.scalar(select(Consultation).where(Consultation.slug == slug))
    if consultation is None:
        raise NotFound("There is no consultation at this address.")
    return consultation


def public_list(status: str | None = None, stage: str | None = None) -> list[Consultation]:
    """Everything but drafts, open ones first, then by closing date."""
    query = select(Consultation).where(Consultation.status != "draft")
    if status:
        if status not in STATUSES or status == "draft":
            raise Invalid("Unknown status filter.", field="status")
        query = query.where(Consultation.status == status)
    if stage:
        if stage not in STAGES:
            raise Invalid("Unknown stage filter.", field="stage")
        query = query.where(Consultation.stage == stage)
    order = {"open": 0, "closed": 1, "reported": 2}
    found = list(db.session.scalars(query))
    return sorted(found, key=lambda c: (order.get(c.status, 3), -(c.created_at.timestamp())))


def all_for_admin() -> list[Consultation]:
    return list(db.session.scalars(select(Consultation).order_by(Consultation.created_at.desc())))


_recent: dict[tuple[str, int], tuple[float, object]] = {}
_recent_lock = threading.Lock()


Figures = TypeVar("Figures")


def kept_briefly(
    what: str, consultation_ids: list[int], compute: Callable[[list[int]], dict[int, Figures]]
) -> dict[int, Figures]:
    """Per-consultation figures every public page shows, kept for COUNTS_CACHE_SECONDS: counting a
    large consultation's votes costs tens of milliseconds. A commit in this process that touches a
    consultation's views drops its entries at once (see _forget_touched_consultations); other
    processes see the change within COUNTS_CACHE_SECONDS."""
    ttl = current_app.config["COUNTS_CACHE_SECONDS"]
    now = time.monotonic()
    found: dict[int, Figures] = {}
    for cid in consultation_ids:
        hit = _recent.get((what, cid))
        if hit is not None and now - hit[0] < ttl:
            found[cid] = cast(Figures, hit[1])  # stored under the same `what` by this function
    missing = [cid for cid in consultation_ids if cid not in found]
    if missing:
        fresh = compute(missing)
        with _recent_lock:
            _recent.update(((what, cid), (now, value)) for cid, value in fresh.items())
        found.update(fresh)
    return {cid: found[cid] for cid in consultation_ids}


def counts(consultation_ids: list[int]) -> dict[int, ConsultationCounts]:
    """Published views, distinct participants (authors or voters) and votes (kept briefly)."""
    return kept_briefly("counts", consultation_ids, _count)


@event.listens_for(Session, "before_flush")
def _note_touched_consultations(session: Session, _context: object, _instances: object) -> None:
    touched = session.info.setdefault("touched_consultations", set())
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, Submission):
            touched.add(obj.consultation_id)


@event.listens_for(Session, "after_commit")
def _forget_touched_consultations(session: Session) -> None:
    touched = session.info.pop("touched_consultations", None)
    if touched:
        with _recent_lock:
            for key in [key for key in _recent if key[1] in touched]:
                _recent.pop(key, None)


@event.listens_for(Session, "after_rollback")
def _forget_touched(session: Session) -> None:
    session.info.pop("touched_consultations", None)


def _count(consultation_ids: list[int]) -> dict[int, ConsultationCounts]:
    """Published views, distinct participants and votes, in four queries.

    One definition everywhere (pages, opinion groups, reports): what counts is what the public
    record holds — published views and hearing messages (not a chair's summaries), the votes on
    them, and a participant is an account that wrote or voted on one, an SMS sender with a
    published message (one person however many) or a person whose published view was gathered
    offline (one per imported view). The views counted are those the consultation's page lists,
    outside hearings: the page calls them views, and a hearing's messages are read in its transcript."""
    if not consultation_ids:
        return {}
    in_record = (
        Submission.consultation_id.in_(consultation_ids),
        Submission.state == "published",
        Submission.kind != "chair_summary",
    )
    views = dict(
        db.session.execute(
            select(Submission.consultation_id, func.count(Submission.id))
            .where(*in_record, Submission.hearing_id.is_(None))
            .group_by(Submission.consultation_id)
        ).all()
    )
    votes = dict(
        db.session.execute(
            select(Submission.consultation_id, func.count(Vote.id))
            .join(Vote, Vote.submission_id == Submission.id)
            .where(*in_record)
            .group_by(Submission.consultation_id)
        ).all()
    )
    authors = select(Submission.consultation_id.label("cid"), Submission.author_id.label("uid")).where(
        *in_record, Submission.author_id.is_not(None)
    )
    voters = (
        select(Submission.consultation_id.label("cid"), Vote.user_id.label("uid"))
        .join(Vote, Vote.submission_id == Submission.id)
        .where(*in_record)
    )
    people = authors.union(voters).subquery()
    participants: dict[int, int] = dict(
        db.session.execute(select(people.c.cid, func.count()).group_by(people.c.cid)).all()
    )
    # People without an account: one per SMS sender, one per view imported from an offline gathering.
    without_account = {
        cid: (senders or 0) + int(offline or 0)
        for cid, senders, offline in db.session.execute(
            select(
                Submission.consultation_id,
                func.count(func.distinct(case((Submission.channel == "sms", Submission.sender_hash)))),
                func.sum(case((Submission.channel == "import", 1), else_=0)),
            )
            .where(*in_record, Submission.author_id.is_(None))
            .group_by(Submission.consultation_id)
        ).all()
    }
    return {
        cid: ConsultationCounts(
            views.get(cid, 0), participants.get(cid, 0) + without_account.get(cid, 0), votes.get(cid, 0)
        )
        for cid in consultation_ids
    }


# --- Translations of a consultation's title and briefing -------------------------------------


@dataclass(frozen=True)
class Localized:
    """What a page shows of a consultation in one language, and which language that text is in."""

    title: str
    summary: str
    briefing_html: str
    language: str  # of the text shown: the locale when translated, else the original's
    translated: bool


def original_language(consultation: Consultation) -> str:
    """The language the consultation was written in: the first of its languages (default en)."""
    codes = [code.strip() for code in (consultation.languages or "en").split(",") if code.strip()]
    return codes[0] if codes else "en"


def translation_for(consultation_id: int, language: str) -> ConsultationTranslation | None:
    return db.session.scalar(
        select(ConsultationTranslation).where(
            ConsultationTranslation.consultation_id == consultation_id,
            ConsultationTranslation.language == language,
        )
    )


def localized(
    consultation: Consultation, locale: str, translation: ConsultationTranslation | Literal[False] | None = None
) -> Localized:
    """The title, summary and briefing in ``locale`` when a translation exists, else the original."""
    original = original_language(consultation)
    if locale != original:
        # translation: the one already loaded, False when known to be missing, None to look it up
        found = translation_for(consultation.id, locale) if translation is None else translation
        if found:
            return Localized(found.title, found.summary or "", found.briefing_html or "", locale, True)
    return Localized(consultation.title, consultation.summary or "", consultation.briefing_html or "", original, False)


def translations_in(locale: str, consultation_ids: Iterable[int] | None = None) -> dict[int, ConsultationTranslation]:
    """consultation id -> its translation into ``locale``, in one query (for lists)."""
    query = select(ConsultationTranslation).where(ConsultationTranslation.language == locale)
    if consultation_ids is not None:
        query = query.where(ConsultationTranslation.consultation_id.in_(list(consultation_ids)))
    return {t.consultation_id: t for t in db.session.scalars(query)}


def translations_of(consultation: Consultation) -> list[ConsultationTranslation]:
    return list(
        db.session.scalars(
            select(ConsultationTranslation)
            .where(ConsultationTranslation.consultation_id == consultation.id)
            .order_by(ConsultationTranslation.language)
        )
    )


def save_translation(
    consultation: Consultation, language: str, title: str, summary: str = "", briefing_html: str = ""
) -> ConsultationTranslation:
    """Add or replace the consultation's translation into ``language`` (briefing sanitised)."""
    from babel import Locale, UnknownLocaleError

    language = (language or "").strip().replace("-", "_")
    try:
        Locale.parse(language)
    except (ValueError, UnknownLocaleError):
        raise Invalid("Unknown language code.", field="language") from None
    if len(language) > 8:
        raise Invalid("Unknown language code.", field="language")
    values = {
        "title": clean_line(title, max_chars=200, field="title"),
        "summary": clean_line(summary, max_chars=500, field="summary") if summary else "",
        "briefing_html": clean_html(briefing_html or ""),
    }
    translation = translation_for(consultation.id, language)
    if translation is None:
        translation = ConsultationTranslation(consultation_id=consultation.id, language=language, **values)
        db.session.add(translation)
    else:
        for key, value in values.items():
            setattr(translation, key, value)
    db.session.commit()
    return translation


def delete_translation(consultation: Consultation, language: str) -> None:
    translation = translation_for(consultation.id, language)
    if translation is None:
        raise NotFound("There is no translation into this language.")
    db.session.delete(translation)
    db.session.commit()


def published_languages(consultation_id: int) -> list[tuple[str, int]]:
    """The languages of a consultation's published views, with how many of each (most first; kept briefly)."""
    return kept_briefly("languages", [consultation_id], lambda ids: {ids[0]: _languages(ids[0])})[consultation_id]


def _languages(consultation_id: int) -> list[tuple[str, int]]:
    rows = db.session.execute(
        select(Submission.language, func.count(Submission.id))
        .where(
            Submission.consultation_id == consultation_id,
            Submission.state == "published",
            Submission.hearing_id.is_(None),
            Submission.language.is_not(None),
            Submission.language != "",
        )
        .group_by(Submission.language)
    ).all()
    return sorted(
        ((code or "", n) for code, n in rows), key=lambda row: (-row[1], row[0])
    )  # None is filtered out above
