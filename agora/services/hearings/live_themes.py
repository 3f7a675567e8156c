"""The chair's live summary: the balance of speakers and posters, and themes (off the event loop).

A chair connected to a process asks for it; new messages mark a hearing dirty and a ticker
refreshes it at most every ``THEMES_MIN_INTERVAL`` seconds, one computation per hearing at a time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from typing import TYPE_CHECKING

from sqlalchemy import Row, func, select

from agora.extensions import db
from agora.jobs import off_loop
from agora.models import Hearing, SpeakerRequest, Submission, User
from agora.models._base import utcnow
from agora.models.user import CONSTITUENCIES
from agora.services import geography, realtime
from agora.services.hearings.delivery import NAMESPACE, batch_seconds
from agora.services.hearings.lifecycle import require_chair

if TYPE_CHECKING:  # imported where used: numpy and the themes library load on first use
    import numpy as np

    from moderation.themes import ThemeSet

log = logging.getLogger(__name__)

THEMES_MIN_TEXTS = 6
THEMES_MIN_INTERVAL = 20.0  # while a chair watches, refresh at most this often (seconds): a refit costs CPU


def balance(hearing: Hearing) -> dict:
    """Constituency and region of the speakers so far and of the people who posted."""
    speakers = list(
        db.session.scalars(
            select(SpeakerRequest).where(
                SpeakerRequest.hearing_id == hearing.id, SpeakerRequest.state.in_(("speaking", "done"))
            )
        )
    )
    speaker_constituencies = Counter(s.constituency or "unstated" for s in speakers)
    speaker_regions = Counter(_region_of(s.user) for s in speakers)
    posters = db.session.execute(
        select(Submission.author_id, Submission.constituency, Submission.region)
        .where(Submission.hearing_id == hearing.id, Submission.kind == "message", Submission.state == "published")
        .distinct()
    ).all()
    seen: dict = {}
    for author_id, constituency, region in posters:
        seen.setdefault(author_id, (constituency or "unstated", region or "unstated"))
    return {
        "speakers": {
            "constituency": dict(speaker_constituencies),
            "region": dict(speaker_regions),
            "total": len(speakers),
        },
        "posters": {
            "constituency": dict(Counter(c for c, _ in seen.values())),
            "region": dict(Counter(r for _, r in seen.values())),
            "total": len(seen),
        },
        "labels": {**CONSTITUENCIES, "unstated": "Not stated"},
    }


def _region_of(user: User | None) -> str:
    country = geography.country(user.country) if user is not None else None
    return country.region if country else "unstated"


THEME_QUOTES = 4


def compute_themes(
    rows: list[Row], vectors: np.ndarray, previous: ThemeSet | None = None, since: int = 0
) -> tuple[dict, ThemeSet | None]:
    """The chair's themes from the hearing's messages (``theme_inputs``) and their vectors.

    Pure and CPU-heavy: run it in a native thread, never on the event loop. Vectors not stored
    yet (zero rows) are embedded here. Per theme: its name in each language it has messages in,
    how the room leans on its messages (the votes on them), which constituencies and regions of
    the room speak in it and which do not, how many of its messages are new since ``since`` (the
    last message of the previous summary), and quotes across its languages. ``previous``: the
    last summary's ThemeSet, so a theme keeps its id (and "new" means new) from one summary to
    the next. Returns (summary, ThemeSet)."""
    import numpy as np

    if len(rows) < THEMES_MIN_TEXTS:
        return {"status": "too_few", "needed": THEMES_MIN_TEXTS, "n": len(rows), "themes": []}, previous
    from moderation import embeddings as model
    from moderation import themes as theme_lib

    texts = [r.text for r in rows]
    missing = np.flatnonzero(~np.abs(vectors).any(axis=1))
    if len(missing):
        vectors[missing] = model.encode([texts[i] for i in missing])
    result = theme_lib.fit(
        texts,
        max_k=min(8, max(2, len(texts) // 3)),
        vectors=vectors,
        languages=[r.language for r in rows],
        previous=previous,
    )
    room_constituencies = {r.constituency or "unstated" for r in rows}
    room_regions = {r.region or "unstated" for r in rows}
    out = []
    for theme in sorted(result.themes, key=lambda t: -t.size):
        members = [rows[i] for i, a in enumerate(result.assignments) if a == theme.id]
        agree = sum(r.agree_count for r in members)
        disagree = sum(r.disagree_count for r in members)
        passed = sum(r.pass_count for r in members)
        constituencies = Counter(r.constituency or "unstated" for r in members)
        regions = Counter(r.region or "unstated" for r in members)
        out.append(
            {
                "id": theme.id,
                "label": theme.label,
                "labels": dict(theme.labels),
                "size": theme.size,
                "share": round(theme.share, 3),
                "new": sum(1 for r in members if r.id > since),
                "languages": dict(theme.languages),
                "lean": {"agree": agree, "disagree": disagree, "pass": passed, "votes": agree + disagree + passed},
                "constituencies": {
                    "present": dict(constituencies.most_common()),
                    "absent": sorted(room_constituencies - set(constituencies)),
                },
                "regions": {"present": dict(regions.most_common()), "absent": sorted(room_regions - set(regions))},
                "quotes": [
                    {"id": rows[i].id, "text": texts[i][:280], "language": rows[i].language}
                    for i in list(theme.representatives)[: THEME_QUOTES + 3]
                ],
            }
        )
    return {"status": "ok", "n": len(rows), "new": sum(1 for r in rows if r.id > since), "themes": out}, result


def theme_inputs(hearing: Hearing, limit: int = 5000) -> list[Row]:
    """The hearing's published messages (newest ``limit``), oldest first, with what the summary
    shows about each: language, the author's declared constituency and region, its votes."""
    rows = db.session.execute(
        select(
            Submission.id,
            Submission.text,
            Submission.language,
            Submission.constituency,
            Submission.region,
            Submission.agree_count,
            Submission.disagree_count,
            Submission.pass_count,
        )
        .where(Submission.hearing_id == hearing.id, Submission.kind == "message", Submission.state == "published")
        .order_by(Submission.id.desc())
        .limit(limit)
    ).all()
    return list(reversed(rows))


def _stored_themes(hearing: Hearing) -> dict | None:
    """The latest theme snapshot the themes service computed for this hearing in the background
    (it refits as messages arrive: a hearing too large to cluster at each summary), in the
    panel's shape; None when there is none yet."""
    from agora.services.analysis import themes as theme_service

    latest = theme_service.latest_summary(hearing.consultation_id, hearing.id)
    if latest.get("status") != "ready" or not latest.get("themes") or latest.get("n", 0) < LIVE_THEMES_UP_TO:
        return None
    return {
        "status": "ok",
        "n": latest.get("n", 0),
        "computed_at": latest.get("computed_at"),
        "themes": [
            {
                "id": t["id"],
                "label": t["label"],
                "labels": t.get("labels", {}),
                "size": t["size"],
                "share": round(float(t["share"]), 3),
                "languages": t.get("languages", {}),
                "quotes": [
                    {"id": q.get("id"), "text": str(q.get("text", ""))[:280], "language": q.get("language")}
                    for q in t.get("quotes", [])[:THEME_QUOTES]
                ],
            }
            for t in sorted(latest["themes"], key=lambda t: -t["size"])
        ],
    }


LIVE_THEMES_UP_TO = 5000  # messages: up to this many, each summary clusters them afresh (< 1 s)
_previous_themes: dict[int, tuple] = {}  # hearing id -> (ThemeSet, last message id) of the last summary


def summary(hearing: Hearing) -> dict:
    """The chair's panel: balance now, themes computed in a native thread."""
    from agora.services import embeddings

    themes = _stored_themes(hearing)
    if themes is None:
        rows = theme_inputs(hearing, LIVE_THEMES_UP_TO)
        previous, since = _previous_themes.get(hearing.id, (None, 0))
        try:
            stored, _missing = embeddings.stored_vectors([r.id for r in rows])
            themes, fitted = off_loop(compute_themes, rows, stored, previous, since)
            if rows and themes.get("status") == "ok":
                _previous_themes[hearing.id] = (fitted, rows[-1].id)
        except Exception:
            log.exception("themes failed for hearing %s", hearing.id)
            themes = {"status": "failed", "n": len(rows), "themes": []}
    return {
        "hearing_id": hearing.id,
        "balance": balance(hearing),
        "themes": themes,
        "computed_at": utcnow().isoformat() + "Z",
    }


class _ThemeScheduler:
    """At most one computation per hearing at a time; new messages mark it dirty."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._new: Counter = Counter()
        self._busy: set[int] = set()
        self._again: set[int] = set()
        self._last: dict[int, float] = {}
        self._watched: set[int] = set()

    def dirty(self, hearing_id: int) -> None:
        with self._lock:
            self._new[hearing_id] += 1

    def watch(self, hearing_id: int) -> None:
        """While a chair of this hearing is connected to this process, refresh the summary every
        THEMES_MIN_INTERVAL seconds if messages arrived (on any process: it asks the database).
        Nobody watching, nothing computed."""
        from flask import current_app

        from agora.extensions import socketio

        with self._lock:
            if hearing_id in self._watched or batch_seconds() <= 0:
                return
            self._watched.add(hearing_id)
        app = current_app._get_current_object()  # type: ignore[attr-defined]  # a proxy

        def tick() -> None:
            seen = None
            try:
                while True:
                    socketio.sleep(THEMES_MIN_INTERVAL)
                    if not any(
                        True
                        for _ in socketio.server.manager.get_participants(NAMESPACE, realtime.chairs_room(hearing_id))
                    ):
                        return
                    with app.app_context():
                        newest = db.session.scalar(
                            select(func.max(Submission.id)).where(
                                Submission.hearing_id == hearing_id, Submission.state == "published"
                            )
                        )
                        db.session.remove()
                        if seen is not None and newest != seen:
                            self.schedule(hearing_id)
                        seen = newest
            except Exception:
                log.exception("summary ticker of hearing %s stopped", hearing_id)
            finally:
                with self._lock:
                    self._watched.discard(hearing_id)

        socketio.start_background_task(tick)

    def schedule(self, hearing_id: int) -> bool:
        from flask import current_app

        from agora.extensions import socketio

        with self._lock:
            if hearing_id in self._busy:
                self._again.add(hearing_id)  # run once more when the current run ends
                return False
            self._busy.add(hearing_id)
            self._new[hearing_id] = 0
            self._last[hearing_id] = time.monotonic()
        app = current_app._get_current_object()  # type: ignore[attr-defined]  # a proxy

        def work() -> None:
            try:
                with app.app_context():
                    hearing = db.session.get(Hearing, hearing_id)
                    if hearing is not None:
                        realtime.publish(
                            realtime.chairs_room(hearing_id), "summary", summary(hearing), namespace=NAMESPACE
                        )
                    db.session.remove()
            except Exception:
                log.exception("could not compute the summary of hearing %s", hearing_id)
            finally:
                with self._lock:
                    self._busy.discard(hearing_id)
                    again = hearing_id in self._again
                    self._again.discard(hearing_id)
                if again:
                    with app.app_context():
                        self.schedule(hearing_id)

        if batch_seconds() <= 0:
            work()
        else:
            socketio.start_background_task(work)
        return True


_themes = _ThemeScheduler()


def _themes_dirty(hearing_id: int) -> None:
    _themes.dirty(hearing_id)


def refresh_summary(hearing: Hearing, chair: User) -> bool:
    """The chair asks for a fresh summary; it arrives as a `summary` event in the chairs' room."""
    require_chair(hearing, chair)
    _themes.watch(hearing.id)
    return _themes.schedule(hearing.id)
