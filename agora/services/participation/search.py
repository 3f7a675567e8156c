"""Search a consultation's or hearing's published views by meaning and by words, in any language.

Two rankings, fused: views whose stored embedding (``services.embeddings``) is close to the
query's, whatever their language ("water for villages" finds "agua potable para cada aldea"),
and views that contain the query's words: SQLite FTS5 with the trigram tokenizer embedded (any
script, Chinese and Arabic included, no word segmentation needed), PostgreSQL full-text search
(the ``simple`` configuration, any language) scaled out, and a plain substring match for queries
too short for either (two Chinese characters). Each list is ranked on its own, then fused by
reciprocal rank (Cormack et al. 2009): a view found both ways comes first. "Views like this one"
is the meaning ranking alone, from the view's own vector.
"""

from __future__ import annotations

import threading
import time
from typing import cast

import numpy as np
from sqlalchemy import CursorResult, column, func, select, table, text

from agora.extensions import db
from agora.jobs import off_loop
from agora.models import Submission, SubmissionVector
from agora.services.errors import Invalid, NotFound, TooLarge
from agora.services.participation.submissions import Page
from agora.services.sanitize import clean_line

MAX_QUERY = 200
CANDIDATES = 200  # per ranking
MIN_SIMILARITY = 0.25  # cosine; 99 % of SIB-200 sentence pairs on different topics are below 0.24
RRF_K = 60
CACHE_SECONDS = 10


def _scope(consultation_id: int, hearing_id: int | None) -> list:
    return [
        Submission.consultation_id == consultation_id,
        Submission.hearing_id.is_(None) if hearing_id is None else Submission.hearing_id == hearing_id,
        Submission.state == "published",
        Submission.kind != "chair_summary",
    ]


def clean_query(query: object) -> str:
    """The query as searched: one line, 1-200 characters, or Invalid (422)."""
    if not isinstance(query, str) or not query.strip():
        raise Invalid("Type some words to search for.", field="q")
    try:
        return clean_line(query, max_chars=MAX_QUERY, field="q")
    except TooLarge:
        raise Invalid("A search is at most 200 characters.", field="q") from None


def search(
    consultation_id: int, query: str, *, hearing_id: int | None = None, page: int = 1, per_page: int = 20
) -> Page:
    """Published views that mean the same as ``query`` or contain its words, best first."""
    query = clean_query(query)
    if page < 1 or not 1 <= per_page <= 100:
        raise Invalid("page must be ≥ 1 and per_page between 1 and 100.", field="page")
    from agora.services import embeddings

    vector = embeddings.encode([query])[0]
    meaning = _by_meaning(consultation_id, hearing_id, vector)
    words = _by_words(consultation_id, hearing_id, query)
    return _page(_fuse(meaning, words), page, per_page)


def similar(submission_id: int, *, per_page: int = 10) -> Page:
    """Published views closest in meaning to this one (in any language), itself excluded."""
    from agora.services import embeddings

    source = db.session.get(Submission, submission_id)
    if source is None or source.state != "published":
        raise NotFound("There is no published view with this number.")
    vector = embeddings.stored_vectors([source.id])[0][0]
    if not vector.any():
        vector = embeddings.encode([source.text])[0]
    ranked = [i for i in _by_meaning(source.consultation_id, source.hearing_id, vector) if i != source.id]
    return _page(ranked, 1, per_page)


# --------------------------------------------------------------------------- by meaning


_index_lock = threading.Lock()
_INDEX: dict[tuple, tuple] = {}  # scope -> (built at, last vector id, ids array, float16 matrix)


def _vector_index(consultation_id: int, hearing_id: int | None) -> tuple[np.ndarray, np.ndarray]:
    """The scope's stored vectors (published or not: states are checked on the results),
    read once and then only what was added since, kept at most CACHE_SECONDS between checks."""
    from moderation.embeddings import MODEL, from_bytes

    key = (consultation_id, hearing_id)
    now = time.monotonic()
    with _index_lock:
        hit = _INDEX.get(key)
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return hit[2], hit[3]
    after = hit[1] if hit is not None else 0
    query = (
        select(SubmissionVector.submission_id, SubmissionVector.vector)
        .join(Submission, Submission.id == SubmissionVector.submission_id)
        .where(
            SubmissionVector.consultation_id == consultation_id,
            SubmissionVector.model == MODEL,
            SubmissionVector.submission_id > after,
            Submission.hearing_id.is_(None) if hearing_id is None else Submission.hearing_id == hearing_id,
        )
        .order_by(SubmissionVector.submission_id)
    )
    rows = db.session.execute(query).all()
    ids = np.fromiter((r.submission_id for r in rows), dtype=np.int64, count=len(rows))
    matrix = from_bytes([r.vector for r in rows]).astype(np.float16) if rows else np.zeros((0, 512), np.float16)
    if hit is not None:
        ids, matrix = np.concatenate([hit[2], ids]), np.vstack([hit[3], matrix])
    last = int(ids[-1]) if len(ids) else after
    with _index_lock:
        _INDEX[key] = (now, last, ids, matrix)
    return ids, matrix


def _by_meaning(consultation_id: int, hearing_id: int | None, vector: np.ndarray) -> list[int]:
    ids, matrix = _vector_index(consultation_id, hearing_id)
    if not len(ids) or not vector.any():
        return []
    sims = off_loop(_similarities, matrix, vector.astype(np.float32))
    top = np.argsort(-sims)[:CANDIDATES]
    candidates = [int(ids[i]) for i in top if sims[i] >= MIN_SIMILARITY]
    if not candidates:
        return []
    published = set(
        db.session.scalars(
            select(Submission.id).where(
                Submission.id.in_(candidates), Submission.state == "published", Submission.kind != "chair_summary"
            )
        )
    )
    return [i for i in candidates if i in published]


def _similarities(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    return matrix.astype(np.float32) @ vector


# --------------------------------------------------------------------------- by words


_FTS = table("submissions_fts", column("rowid"))  # SQLite only (migration 0008)


def _by_words(consultation_id: int, hearing_id: int | None, query: str) -> list[int]:
    dialect = db.engine.dialect.name
    if dialect == "sqlite" and len(query) >= 3:
        sync_word_index()
        phrase = '"' + query.replace('"', '""') + '"'
        rows = (
            db.session.execute(
                select(Submission.id)
                .join(_FTS, _FTS.c.rowid == Submission.id)
                .where(text("submissions_fts MATCH :phrase"), *_scope(consultation_id, hearing_id))
                .order_by(text("bm25(submissions_fts)"))
                .limit(CANDIDATES),
                {"phrase": phrase},
            )
            .scalars()
            .all()
        )
        return list(rows)
    if dialect == "postgresql" and any(ch.isalnum() for ch in query) and not _has_cjk(query):
        document = func.to_tsvector("simple", Submission.text)
        wanted = func.plainto_tsquery("simple", query)
        return list(
            db.session.scalars(
                select(Submission.id)
                .where(document.op("@@")(wanted), *_scope(consultation_id, hearing_id))
                .order_by(func.ts_rank(document, wanted).desc(), Submission.id.desc())
                .limit(CANDIDATES)
            )
        )
    # too short for trigrams, or a script PostgreSQL's parser does not split into words
    pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return list(
        db.session.scalars(
            select(Submission.id)
            .where(Submission.text.ilike(pattern, escape="\\"), *_scope(consultation_id, hearing_id))
            .order_by(Submission.id.desc())
            .limit(CANDIDATES)
        )
    )


def _has_cjk(value: str) -> bool:
    return any("\u3040" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af" for ch in value)


def sync_word_index() -> int:
    """SQLite: add the submissions stored since the last sync to the FTS5 index (submissions
    never change their text; a deleted one is dropped by the join). Returns how many."""
    if db.engine.dialect.name != "sqlite":
        return 0
    added = cast(
        CursorResult,
        db.session.execute(
            text(
                "INSERT INTO submissions_fts(rowid, text) SELECT id, text FROM submissions "
                "WHERE id > (SELECT coalesce(max(rowid), 0) FROM submissions_fts)"
            )
        ),
    ).rowcount  # an INSERT's result is a CursorResult
    db.session.commit()
    return added or 0


# --------------------------------------------------------------------------- fusing


def _fuse(*rankings: list[int]) -> list[int]:
    """Reciprocal rank fusion: each view scores the sum of 1 / (60 + its rank) in each list."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, submission_id in enumerate(ranking):
            scores[submission_id] = scores.get(submission_id, 0.0) + 1.0 / (RRF_K + rank + 1)
    return sorted(scores, key=lambda i: (-scores[i], -i))


def _page(ranked: list[int], page: int, per_page: int) -> Page:
    from sqlalchemy.orm import selectinload

    chosen = ranked[(page - 1) * per_page : page * per_page]
    found = (
        {
            s.id: s
            for s in db.session.scalars(
                select(Submission).options(selectinload(Submission.author)).where(Submission.id.in_(chosen))
            )
        }
        if chosen
        else {}
    )
    return Page(items=[found[i] for i in chosen if i in found], page=page, per_page=per_page, total=len(ranked))


def reset() -> None:
    """Forget the vector indexes (tests; a process that changed databases)."""
    with _index_lock:
        _INDEX.clear()
