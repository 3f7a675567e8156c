"""Screening: ask the moderation library for a score and turn it into a state.

The ML never deletes: it publishes, or holds for a person to decide. If the model cannot be
loaded or scoring fails, the submission stays "pending" and nothing unscreened is published.
Near-duplicates (campaigns) are found per consultation in a MinHash index kept in memory and
rebuilt from the database on first use; posting floods are tracked per author in memory.
"""

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

import numpy as np
from sqlalchemy import select

from agora.extensions import db
from agora.jobs import off_loop
from agora.models import Consultation, ModelVersion, Submission
from agora.services import embeddings

if TYPE_CHECKING:  # imported on first use: loading the model library is slow
    from moderation.classify import Moderator, Score, Thresholds
    from moderation.neardup import NearDuplicateIndex
    from moderation.rules import FloodTracker

log = logging.getLogger(__name__)

_lock = threading.RLock()
_moderator: "Moderator | None" = None
_moderator_source: str | None = None
_load_failed_at: float | None = None
_checked_at = 0.0
_indexes: dict[int, "NearDuplicateIndex"] = {}
_flood: "FloodTracker | None" = None
RELOAD_CHECK_SECONDS = 30
RETRY_FAILED_LOAD_SECONDS = 60


@dataclass(frozen=True)
class Screening:
    state: str  # published | held | pending
    abuse: float | None
    spam: float | None
    language: str | None
    reasons: tuple[str, ...]
    model_version: str | None
    likely_violation: bool
    near_duplicate_of: tuple[int, ...] = field(default=())
    near_in_batch: tuple[int, ...] = field(default=())  # positions of earlier items in the same batch
    signature: np.ndarray | None = field(default=None, repr=False, compare=False)  # MinHash, indexed once stored
    # the text's sentence embedding, which the model read: stored with the submission, so it is
    # computed once for moderation, themes, placement and search
    vector: np.ndarray | None = field(default=None, repr=False, compare=False)


def _active_model_path() -> str | None:
    try:
        return db.session.scalar(select(ModelVersion.path).where(ModelVersion.active.is_(True)).limit(1))
    except Exception:  # a database without the table (very old) or unavailable: use the shipped model
        db.session.rollback()
        return None


def moderator() -> "Moderator | None":
    """The active model (retrained and promoted, else the shipped one); None if it cannot load."""
    global _moderator, _moderator_source, _load_failed_at, _checked_at
    now = time.monotonic()
    if _moderator is not None and now - _checked_at < RELOAD_CHECK_SECONDS:
        return _moderator
    if _moderator is None and _load_failed_at is not None and now - _load_failed_at < RETRY_FAILED_LOAD_SECONDS:
        return None
    with _lock:
        _checked_at = now
        source = _active_model_path()
        if _moderator is not None and source == _moderator_source:
            return _moderator
        try:
            from moderation.classify import Moderator

            loaded = Moderator.load(source or None)
        except Exception:
            _load_failed_at = now
            log.exception("moderation model %s could not be loaded", source or "(shipped)")
            return _moderator  # keep the previous model if there was one
        _moderator, _moderator_source, _load_failed_at = loaded, source, None
        log.info("moderation model %s in use", loaded.version)
        return _moderator


def model_version() -> str | None:
    model = moderator()
    return getattr(model, "version", None) if model else None


def reset() -> None:
    """Forget cached models and indexes (after a retrain, or between tests)."""
    global _moderator, _moderator_source, _load_failed_at, _checked_at, _flood
    with _lock:
        _moderator = _moderator_source = _load_failed_at = None
        _checked_at = 0.0
        _indexes.clear()
        _flood = None


def thresholds_for(model: "Moderator", consultation: Consultation | None) -> "Thresholds":
    from moderation.classify import Thresholds

    default = model.thresholds
    if consultation is None or (consultation.hold_threshold is None and consultation.reject_threshold is None):
        return default
    return Thresholds(
        hold=consultation.hold_threshold if consultation.hold_threshold is not None else default.hold,
        reject=consultation.reject_threshold if consultation.reject_threshold is not None else default.reject,
        spam_hold=default.spam_hold,
        spam_reject=default.spam_reject,
    )


def _index_for(consultation_id: int) -> "NearDuplicateIndex":
    """The consultation's near-duplicate index, built from its stored texts on first use."""
    with _lock:
        index = _indexes.get(consultation_id)
        if index is None:
            rows = db.session.execute(
                select(Submission.id, Submission.text)
                .where(Submission.consultation_id == consultation_id)
                .order_by(Submission.id)
            ).all()
            # ~0.2 ms a text: a large consultation's first post after a start would stop the event
            # loop for seconds; built in a native thread, only posts to this consultation wait.
            index = off_loop(_build_index, [(submission_id, text) for submission_id, text in rows])
            _indexes[consultation_id] = index
        return index


def _build_index(rows: list[tuple[int, str]]) -> "NearDuplicateIndex":
    from moderation.neardup import NearDuplicateIndex

    index = NearDuplicateIndex()
    for submission_id, text in rows:
        index.add(submission_id, text)
    return index


def _flood_tracker() -> "FloodTracker":
    global _flood
    with _lock:
        if _flood is None:
            from moderation.rules import FloodTracker

            _flood = FloodTracker()
        return _flood


def screen(text: str, consultation: Consultation | None, author_key: object = None) -> Screening:
    return screen_many([(text, consultation, author_key)])[0]


@dataclass(frozen=True)
class Scored:
    """A batch's embeddings and abuse scores, before thresholds, near-duplicates and floods: the
    part of screening that reads nothing of the database's state, so the group commit's writer
    has it computed (``score_batch``) while it stores the batch before."""

    model: "Moderator | None"
    vectors: np.ndarray | None = None
    scores: "list[Score] | None" = None
    problem: str | None = None  # scoring_unavailable | scoring_failed: every item stays pending

    def take(self, positions: Sequence[int]) -> "Scored":
        """The same for some of the texts (the others were refused before screening)."""
        if self.problem is not None or self.vectors is None or self.scores is None:
            return self
        scores = self.scores
        return Scored(self.model, self.vectors[list(positions)], [scores[i] for i in positions])


def score_batch(texts: list[str]) -> Scored:
    """Embed and score texts with the active model, off the event loop: the embedding is most of
    a score's cost (~1.5 ms a text), the model's features ~0.4 ms, both in the embedding process
    (or the embedding in a native thread), so the event loop keeps serving while a batch is read."""
    model = moderator()
    if model is None:
        return Scored(None, problem="scoring_unavailable")
    try:
        vectors, scored = embeddings.encode_and_score(texts, model, _moderator_source)
        scores = scored if scored is not None else model.score(texts, vectors=vectors)
    except Exception:
        log.exception("scoring failed; %d submission(s) kept pending", len(texts))
        return Scored(model, problem="scoring_failed")
    return Scored(model, vectors, list(scores))


def screen_many(items: list[tuple], scored: Scored | None = None) -> list[Screening]:
    """Screen (text, consultation, author_key) items in one batch: the model scores them together
    (much cheaper per text than one by one), and an item that nearly repeats an earlier item of
    the same batch counts as a near-duplicate just as if that item were already stored.
    ``scored``: the items' ``score_batch``, if it was computed ahead."""
    if scored is None:
        scored = score_batch([text for text, _c, _a in items])
    model, vectors, scores = scored.model, scored.vectors, scored.scores
    if scored.problem is not None or model is None or vectors is None or scores is None:
        version = model.version if model is not None else None
        reason = scored.problem or "scoring_failed"
        return [Screening("pending", None, None, None, (reason,), version, False) for _ in items]
    if len(scores) != len(items):  # computed ahead for other items: the group commit then stores
        # the batch draft by draft, each scored afresh (before any flood is counted)
        raise ValueError(f"{len(scores)} scores for {len(items)} items")
    out = []
    earlier: list[tuple[int | None, np.ndarray | None]] = []  # (consultation id, signature) of this batch's items
    for position, ((text, consultation, author_key), score) in enumerate(zip(items, scores)):
        try:
            thresholds = thresholds_for(model, consultation)
            if thresholds is not model.thresholds:
                score = model.rescore(score, thresholds)
            near: tuple[int, ...] = ()
            in_batch: tuple[int, ...] = ()
            signature: np.ndarray | None = None
            if consultation is not None:
                index = _index_for(consultation.id)
                signature = index.signature(text)
                near = tuple(
                    sorted(cast(list[int], index.query_signature(signature)))
                )  # the index holds submission ids
                in_batch = tuple(
                    index.similar_among(
                        signature, [other if cid == consultation.id else None for cid, other in earlier]
                    )
                )
            earlier.append((consultation.id if consultation is not None else None, signature))
            flood = author_key is not None and _flood_tracker().observe(author_key, time.time())
            if near or in_batch or flood:
                score = model.assess(score, near_duplicate_of=near + in_batch, flood=flood, thresholds=thresholds)
        except Exception:
            log.exception("screening item %d of a batch failed; kept pending", position)
            earlier.append((None, None))
            out.append(Screening("pending", None, None, None, ("scoring_failed",), model.version, False))
            continue
        out.append(
            Screening(
                state="published" if score.decision == "publish" else "held",
                abuse=float(score.abuse),
                spam=float(score.spam),
                language=score.language,
                reasons=tuple(score.reasons),
                model_version=model.version,
                likely_violation=score.decision == "reject",
                near_duplicate_of=near,
                near_in_batch=in_batch,
                signature=signature,
                vector=vectors[position],
            )
        )
    return out


def link_near_duplicates(submission: Submission, verdict: Screening, batch: Sequence[Submission] = ()) -> None:
    """After the insert: index the text and join the campaign of its earliest near-duplicate
    (stored earlier, or earlier in the same batch: ``batch`` holds that batch's submissions)."""
    try:
        index = _index_for(submission.consultation_id)
        if verdict.signature is not None:
            # found while screening: stored ones, then the batch's earlier items (indexed just before)
            found = verdict.near_duplicate_of + tuple(batch[j].id for j in verdict.near_in_batch)
            index.add_signature(submission.id, verdict.signature, matches=found)
        else:
            index.add(submission.id, submission.text)
    except Exception:
        log.exception("near-duplicate index update failed for submission %s", submission.id)
    if verdict.near_duplicate_of:
        first = db.session.get(Submission, verdict.near_duplicate_of[0])
    elif verdict.near_in_batch:
        first = batch[verdict.near_in_batch[0]]
    else:
        return
    if first is None:
        return
    if first.campaign_id is None:
        first.campaign_id = first.id
    submission.campaign_id = first.campaign_id


def rescreen_pending(limit: int = 1000) -> int:
    """Screen submissions left pending while the model was unavailable; returns how many."""
    from agora.services import audit
    from agora.services.accounts import notifications

    model = moderator()
    if model is None:
        return 0
    pending = db.session.scalars(
        select(Submission).where(Submission.state == "pending").order_by(Submission.id).limit(limit)
    ).all()
    for submission in pending:
        verdict = screen(submission.text, submission.consultation)
        submission.state = verdict.state
        submission.abuse_score, submission.spam_score = verdict.abuse, verdict.spam
        submission.language = submission.language or verdict.language
        submission.reasons = ",".join(verdict.reasons)
        submission.model_version = verdict.model_version
        audit.record(
            submission_id=submission.id,
            automatic=True,
            action="publish" if verdict.state == "published" else "hold",
            from_state="pending",
            to_state=verdict.state,
            reason=",".join(verdict.reasons),
            model_version=verdict.model_version,
            abuse_score=verdict.abuse,
            spam_score=verdict.spam,
        )
        if verdict.state in ("published", "held"):  # its author waited: tell them
            notifications.for_moderation(submission, "publish" if verdict.state == "published" else "hold")
    db.session.commit()
    notifications.after_commit()
    return len(pending)
