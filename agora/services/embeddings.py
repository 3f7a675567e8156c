"""Each submission's sentence embedding: computed once, off the event loop, kept, reused.

Screening embeds every new submission, since the abuse model reads the embedding
(``screening.screen_many``, in a native thread), and the vector is stored in the same transaction
(``store_screened``: ``submission_vectors``, float16). Right after the commit ``schedule`` asks
for a background job (the job process embedded, an RQ worker scaled out) when a view was stored
without one (unscreened, while the model could not run); it embeds whatever has no vector yet, in
batches, and places the published views in their consultation's or hearing's latest themes.
Pol.is imports store the vectors their scoring computed; views from before this table are
embedded by ``flask agora embeddings backfill`` or by the next refit. Theme refits, the chair's
live summary and search read the stored vectors (``vectors_for``) and embed only what is missing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np
from sqlalchemy import Row, select

from agora.extensions import db
from agora.models import Submission, SubmissionVector

if TYPE_CHECKING:  # the library loads on first use
    from flask import Flask

    from moderation.classify import Moderator, Score
    from moderation.embedding_process import EmbeddingProcess

Progress = Callable[[int, int], None]  # (done, total): the CLI's progress bar

log = logging.getLogger(__name__)

BATCH = 256
DEBOUNCE_SECONDS = 0.5  # at most two embedding jobs a second per process, the last one always sent


def _model() -> str:
    from moderation.embeddings import MODEL

    return MODEL


_process: EmbeddingProcess | None = None
_process_lock = threading.Lock()


def _process_in_use() -> EmbeddingProcess | None:
    """The embedding process, under the gevent server when ``EMBEDDINGS_PROCESS`` is on (the
    default); None elsewhere (tests, the CLI, the job process): they embed in a native thread."""
    from flask import current_app

    from agora.jobs import gevent_patched

    if gevent_patched() and current_app.config.get("EMBEDDINGS_PROCESS", True):
        return embedding_process()
    return None


def encode(texts: Sequence[str | None]) -> np.ndarray:
    """The texts' embeddings, never computed on the event loop: under the gevent server, by the
    embedding process (``EMBEDDINGS_PROCESS``, on by default), so this process's core only waits;
    elsewhere, or if that process cannot answer, in a native thread of this process."""
    from agora.jobs import off_loop
    from moderation import embeddings as model
    from moderation.embedding_process import EmbeddingUnavailable

    process = _process_in_use()
    if process is not None:
        try:
            return process.encode(texts)
        except EmbeddingUnavailable:
            log.error("the embedding process is unavailable; embedding in this process", exc_info=True)
    return off_loop(model.encode, list(texts))


def encode_and_score(
    texts: list[str], model: Moderator, model_source: str | None
) -> tuple[np.ndarray, list[Score] | None]:
    """The texts' embeddings and, where the embedding process can give them, the abuse model's
    scores: under the gevent server the process scores too (``model_source``: the model's
    directory, None for the shipped one), so neither costs this process's core; its scores are
    used only if that process's model is ``model``'s version. Otherwise (no process, a model it
    could not load, another version, or it cannot answer) the scores are None: the caller scores
    here."""
    from agora.jobs import off_loop
    from moderation import embeddings as embedding_model
    from moderation.embedding_process import EmbeddingUnavailable

    process = _process_in_use()
    if process is None or not texts:
        return encode(texts), None
    try:
        vectors, scores, version = process.screen(texts, model_source)
    except EmbeddingUnavailable:  # already asked twice: embed here, without asking a third time
        log.error("the embedding process is unavailable; embedding and scoring in this process", exc_info=True)
        return off_loop(embedding_model.encode, list(texts)), None
    if scores is None or version != model.version:
        log.warning("the embedding process scored with model %s, not %s; scoring here", version, model.version)
        return vectors, None
    return vectors, scores


def embedding_process() -> EmbeddingProcess:
    """This server process's embedding process (started on first use, one per process)."""
    global _process
    with _process_lock:
        if _process is None:
            from moderation.embedding_process import EmbeddingProcess

            _process = EmbeddingProcess()
        return _process


def _missing(limit: int, consultation_id: int | None = None) -> Sequence[Row]:
    """Submissions without a vector of the current model, oldest first."""
    query = (
        select(Submission.id, Submission.consultation_id, Submission.text)
        .outerjoin(
            SubmissionVector, (SubmissionVector.submission_id == Submission.id) & (SubmissionVector.model == _model())
        )
        .where(SubmissionVector.submission_id.is_(None))
        .order_by(Submission.id)
        .limit(limit)
    )
    if consultation_id is not None:
        query = query.where(Submission.consultation_id == consultation_id)
    return db.session.execute(query).all()


def _store(rows: Sequence[Row], vectors: np.ndarray) -> None:
    """Write vectors (replacing one of an older model); the caller commits."""
    from moderation.embeddings import to_bytes

    model = _model()
    ids = [r.id for r in rows]
    db.session.execute(SubmissionVector.__table__.delete().where(SubmissionVector.submission_id.in_(ids)))
    db.session.execute(
        SubmissionVector.__table__.insert(),
        [
            {"submission_id": r.id, "consultation_id": r.consultation_id, "model": model, "vector": to_bytes(v)}
            for r, v in zip(rows, vectors)
        ],
    )


class StoredView(Protocol):
    """What ``store_screened`` reads of a stored view: a Submission, or a row inserted in bulk."""

    @property
    def id(self) -> int: ...

    @property
    def consultation_id(self) -> int: ...


def store_screened(pairs: Iterable[tuple[StoredView, np.ndarray | None]]) -> None:
    """In the storing transaction: the vectors screening computed for (submission, vector)
    pairs (None where scoring did not run); the embedding job then has nothing left to do."""
    from moderation.embeddings import to_bytes

    rows = [
        {"submission_id": s.id, "consultation_id": s.consultation_id, "model": _model(), "vector": to_bytes(v)}
        for s, v in pairs
        if v is not None
    ]
    if rows:
        db.session.execute(SubmissionVector.__table__.insert(), rows)


def embed_pending(
    consultation_id: int | None = None,
    *,
    progress: Progress | None = None,
    then: Callable[[list[int], np.ndarray], None] | None = None,
    batch: int = BATCH,
) -> int:
    """Embed every submission still without a vector (of one consultation, or all), in batches,
    committing each. Returns how many.

    ``then(ids, vectors)``: called after each batch's commit (the themes service places the newly
    embedded published views: ``themes.place_newly_embedded``); ``progress(done, total)``: after
    each batch (the CLI's progress bar)."""
    from moderation import embeddings as model

    total = None
    if progress is not None:
        from sqlalchemy import func

        total = db.session.scalar(
            select(func.count(Submission.id))
            .outerjoin(
                SubmissionVector,
                (SubmissionVector.submission_id == Submission.id) & (SubmissionVector.model == _model()),
            )
            .where(
                SubmissionVector.submission_id.is_(None),
                *(() if consultation_id is None else (Submission.consultation_id == consultation_id,)),
            )
        )
    done = 0
    while True:
        rows = _missing(batch, consultation_id)
        if not rows:
            break
        vectors = model.encode([r.text for r in rows])
        _store(rows, vectors)
        db.session.commit()
        if then is not None:
            then([r.id for r in rows], vectors)
        done += len(rows)
        if progress is not None:
            progress(done, max(total or 0, done))
        if len(rows) < batch:
            break
    return done


def stored_vectors(ids: list[int]) -> tuple[np.ndarray, list[int]]:
    """The stored vectors of these submissions as a (n, 512) float32 matrix, in order, with zero
    rows for those not embedded yet, and the positions of those. Reads only: fine anywhere."""
    from moderation import embeddings as model

    out = np.zeros((len(ids), model.DIMENSIONS), dtype=np.float32)
    position = {submission_id: i for i, submission_id in enumerate(ids)}
    found = set()
    for start in range(0, len(ids), 5000):
        rows = db.session.execute(
            select(SubmissionVector.submission_id, SubmissionVector.vector).where(
                SubmissionVector.submission_id.in_(ids[start : start + 5000]), SubmissionVector.model == _model()
            )
        ).all()
        if rows:
            for r, vector in zip(rows, model.from_bytes([r.vector for r in rows])):
                out[position[r.submission_id]] = vector
                found.add(r.submission_id)
    return out, [position[i] for i in ids if i not in found]


def vectors_for(ids: list[int], *, progress: Progress | None = None) -> np.ndarray:
    """Like ``stored_vectors``, but the missing ones are embedded now and stored: call it from a
    job, never the event loop, when many may be missing."""
    from moderation import embeddings as model

    out, missing = stored_vectors(ids)
    position = {submission_id: i for i, submission_id in enumerate(ids)}
    step = BATCH * 4
    for start in range(0, len(missing), step):
        chunk = [ids[i] for i in missing[start : start + step]]
        rows = db.session.execute(
            select(Submission.id, Submission.consultation_id, Submission.text).where(Submission.id.in_(chunk))
        ).all()
        vectors = model.encode([r.text for r in rows])
        for r, vector in zip(rows, vectors):
            out[position[r.id]] = vector
        try:
            _store(rows, vectors)
            db.session.commit()
        except Exception:  # a concurrent job stored them first: they are the same vectors
            db.session.rollback()
            log.info("vectors of %s submissions were stored meanwhile", len(rows), exc_info=True)
        if progress is not None:
            progress(min(start + step, len(missing)), len(missing))
    return out


# --------------------------------------------------------------------------- scheduling


_lock = threading.Lock()
_last_sent = 0.0
_trailing = False


def schedule() -> None:
    """After a commit: make sure an embedding job runs soon (debounced; never raises).

    A burst of posts sends one job at once and one more at the end of the burst, so the last
    view of a burst is never left waiting for the next post."""
    global _last_sent, _trailing
    from flask import current_app

    try:
        if not current_app.config.get("EMBEDDINGS_AUTO", True):
            return
        app = current_app._get_current_object()  # type: ignore[attr-defined]  # a werkzeug proxy, typed as Flask
        now = time.monotonic()
        with _lock:
            wait = app.config.get("EMBEDDINGS_DEBOUNCE_SECONDS", DEBOUNCE_SECONDS) - (now - _last_sent)
            if wait <= 0:
                _last_sent = now
                send_now = True
            elif _trailing:
                return
            else:
                _trailing = True
                send_now = False
        if send_now:
            _submit(app)
        else:
            timer = threading.Timer(wait, _send_trailing, args=(app,))
            timer.daemon = True
            timer.start()
    except Exception:
        log.exception("scheduling the embedding of new submissions failed")


def _send_trailing(app: Flask) -> None:
    global _last_sent, _trailing
    with _lock:
        _trailing = False
        _last_sent = time.monotonic()
    with app.app_context():
        _submit(app)


def _submit(app: Flask) -> None:
    from agora import jobs

    try:
        jobs.submit("agora.jobs.embeddings.embed_pending")
    except Exception:
        log.exception("could not start the embedding job; the next refit embeds what is missing")
