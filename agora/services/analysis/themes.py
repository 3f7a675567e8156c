"""Theme snapshots: compute them (in a job), store them whole, place new views at once, read them.

A snapshot is one run of ``moderation.themes.fit`` over a consultation's published views (or a
hearing's messages), stored in ``theme_snapshots`` with what the pages need already summarised
(sizes, key terms, quotes, weekly trend, breakdowns by constituency, region and gender, a map).
The previous ready snapshot stays in use until a new one is ready; a failed run is kept with its
error and the previous one is still shown.

When to recompute (documented in docs/method/index.md): the first snapshot once ``MIN_TEXTS`` views are
published; then when the views published since the last snapshot reach ``REFIT_MIN_NEW`` (20) or
``REFIT_FRACTION`` (10 %) of the last snapshot's size, whichever comes first. Checks are debounced
(at most one every ``THEMES_DEBOUNCE_SECONDS`` per consultation and process), a run already going
is never doubled, and after a failure we wait ``FAILED_BACKOFF`` before trying again. Between
runs each new view is placed in the nearest theme at once (~0.05 ms) with the snapshot's
placement model, kept in memory per consultation.

Why one module of ~650 lines: every function reads or writes the same snapshots and shares this
process's placement models and debounce state; split, each part would reach into the others'.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, Row, func, select
from sqlalchemy.orm import defer

from agora.extensions import db
from agora.jobs import off_loop
from agora.models import Consultation, Hearing, Submission, ThemeSnapshot
from agora.models._base import utcnow
from agora.services import embeddings
from agora.services.errors import NotFound
from moderation.embeddings import MODEL as EMBEDDING_MODEL

if TYPE_CHECKING:  # imported where used: numpy and the themes library load on first use
    import numpy as np

    from moderation.themes import ThemeSet

log = logging.getLogger(__name__)

MIN_TEXTS = 5
REFIT_MIN_NEW = 20
REFIT_FRACTION = 0.10
DEBOUNCE_SECONDS = 10
MIN_INTERVAL_SECONDS = 30  # between two refits of the same consultation or hearing
PLACEMENT_RECHECK_SECONDS = 5
STALE_RUNNING = timedelta(minutes=30)
LARGE = 1000  # above this many views, refits are spaced by at least LARGE_MIN_INTERVAL
LARGE_MIN_INTERVAL = timedelta(minutes=2)
KEEP_MODELS = 3  # older snapshots keep their summary (reports cite it) but drop the placement model
FAILED_BACKOFF = timedelta(minutes=5)
MAX_TEXTS = 100_000  # the most recent; beyond that a snapshot samples the latest views
MAP_POINTS = 2000
QUOTES = 3
QUOTE_CHARS = 400
NOT_STATED = "not_stated"
TRENDS = ("rising", "falling", "steady", "new", "unknown")


# --------------------------------------------------------------------------- snapshots (shared)


def _scope_filter(
    model: type[Submission] | type[ThemeSnapshot], consultation_id: int, hearing_id: int | None
) -> list[ColumnElement[bool]]:
    conditions = [model.consultation_id == consultation_id]
    conditions.append(model.hearing_id.is_(None) if hearing_id is None else model.hearing_id == hearing_id)
    return conditions


def published_filter(consultation_id: int, hearing_id: int | None = None) -> list:
    """The submissions a theme or opinion analysis covers: published views (or hearing messages)."""
    return [
        *_scope_filter(Submission, consultation_id, hearing_id),
        Submission.state == "published",
        Submission.kind != "chair_summary",
    ]


def latest_snapshot(
    consultation_id: int, hearing_id: int | None, kind: str, status: str | None = "ready"
) -> ThemeSnapshot | None:
    """The newest snapshot of this kind and scope (data not loaded), optionally of one status."""
    query = (
        select(ThemeSnapshot)
        .options(defer(ThemeSnapshot.data_json))
        .where(*_scope_filter(ThemeSnapshot, consultation_id, hearing_id), ThemeSnapshot.kind == kind)
    )
    if status:
        query = query.where(ThemeSnapshot.status == status)
    return db.session.scalar(query.order_by(ThemeSnapshot.id.desc()).limit(1))


def start_snapshot(
    consultation_id: int, hearing_id: int | None, kind: str, *, force: bool = False
) -> ThemeSnapshot | None:
    """Claim a run: a ``running`` row, or None when a fresh run of this scope is already going."""
    now = utcnow()
    running = list(
        db.session.scalars(
            select(ThemeSnapshot)
            .options(defer(ThemeSnapshot.data_json))
            .where(
                *_scope_filter(ThemeSnapshot, consultation_id, hearing_id),
                ThemeSnapshot.kind == kind,
                ThemeSnapshot.status == "running",
            )
        )
    )
    for row in running:
        if now - row.created_at > STALE_RUNNING:  # its process died: say so, free the scope
            row.status, row.error, row.finished_at = "failed", "interrupted (no result after 30 minutes)", now
    if any(now - row.created_at <= STALE_RUNNING for row in running) and not force:
        db.session.commit()
        return None
    snapshot = ThemeSnapshot(
        consultation_id=consultation_id, hearing_id=hearing_id, kind=kind, status="running", created_at=now
    )
    db.session.add(snapshot)
    db.session.commit()
    return snapshot


def finish_snapshot(snapshot: ThemeSnapshot, *, n_items: int, params: dict, data: dict) -> None:
    snapshot.n_items = n_items
    snapshot.params_json = json.dumps(params, sort_keys=True)
    snapshot.data_json = json.dumps(data, separators=(",", ":"))
    snapshot.status = "ready"
    snapshot.finished_at = utcnow()
    db.session.commit()


def fail_snapshot(snapshot_id: int, error: BaseException) -> None:
    """Record a failed run; the previous ready snapshot stays in use."""
    db.session.rollback()
    snapshot = db.session.get(ThemeSnapshot, snapshot_id)
    if snapshot is not None:
        snapshot.status = "failed"
        snapshot.error = f"{type(error).__name__}: {error}"[:2000]
        snapshot.finished_at = utcnow()
        db.session.commit()


_DATA: OrderedDict[tuple, dict] = OrderedDict()


def snapshot_data(snapshot: ThemeSnapshot) -> dict:
    """The parsed data of a ready snapshot, cached per process (ready snapshots never change)."""
    key = (snapshot.id, snapshot.created_at)
    hit = _DATA.get(key)
    if hit is not None:
        _DATA.move_to_end(key)
        return hit
    raw = db.session.scalar(select(ThemeSnapshot.data_json).where(ThemeSnapshot.id == snapshot.id))
    data = off_loop(json.loads, raw or "{}")
    _DATA[key] = data
    while len(_DATA) > 16:
        _DATA.popitem(last=False)
    return data


def params(snapshot: ThemeSnapshot | None) -> dict:
    try:
        return json.loads(snapshot.params_json or "{}") if snapshot is not None else {}
    except ValueError:
        return {}


def reset_caches() -> None:
    """Forget cached snapshots and debounce timers (tests; a process that changed databases)."""
    _DATA.clear()
    _PLACEMENT.clear()
    _CHECKED.clear()


def _consultation(consultation_id: int, hearing_id: int | None) -> Consultation:
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None:
        raise NotFound("There is no consultation with this number.")
    if hearing_id is not None:
        if not 0 < hearing_id < 2**31:  # beyond an INTEGER column: PostgreSQL would refuse the query
            raise NotFound("There is no hearing with this number in this consultation.")
        hearing = db.session.get(Hearing, hearing_id)
        if hearing is None or hearing.consultation_id != consultation_id:
            raise NotFound("There is no hearing with this number in this consultation.")
    return consultation


# --------------------------------------------------------------------------- computing


def refit(
    consultation_id: int,
    hearing_id: int | None = None,
    *,
    progress: Callable[[str], None] = lambda message: None,
    force: bool = False,
) -> ThemeSnapshot | None:
    """Cluster the published views into themes and store a snapshot; returns it (or None).

    None when there is nothing to cluster or another run of this scope is going. CPU-heavy:
    call it from a job or the command line, never on the event loop.
    """
    from moderation import themes as theme_lib

    _consultation(consultation_id, hearing_id)
    rows = list(
        reversed(
            db.session.execute(  # the newest MAX_TEXTS, oldest first
                select(
                    Submission.id,
                    Submission.text,
                    Submission.created_at,
                    Submission.constituency,
                    Submission.region,
                    Submission.global_south,
                    Submission.gender,
                    Submission.language,
                )
                .where(*published_filter(consultation_id, hearing_id))
                .order_by(Submission.id.desc())
                .limit(MAX_TEXTS)
            ).all()
        )
    )
    if not rows:
        progress("No published views: no themes to compute.")
        return None
    snapshot = start_snapshot(consultation_id, hearing_id, "themes", force=force)
    if snapshot is None:
        progress("A theme computation is already running for this consultation; nothing started.")
        return None
    snapshot_id = snapshot.id
    try:
        previous_row = latest_snapshot(consultation_id, hearing_id, "themes")
        previous = themeset_of(previous_row) if previous_row is not None else None
        progress(
            f"Clustering {len(rows):,} views"
            + (f" (ids kept from snapshot #{previous_row.id})" if previous and previous_row is not None else "")
            + "…"
        )
        started = time.perf_counter()
        vectors = embeddings.vectors_for([r.id for r in rows])  # stored once per view; missing ones now
        embedded = time.perf_counter() - started
        ts = theme_lib.fit(
            [r.text for r in rows], previous=previous, vectors=vectors, languages=[r.language for r in rows]
        )
        seconds = time.perf_counter() - started
        progress(f"Found {len(ts.themes)} themes in {seconds:.1f} s ({ts.k_chosen_by}).")
        summary = _summarise(ts, rows, previous)
        ids = [r.id for r in rows]
        _store_assignments(ids, ts.assignments)
        finish_snapshot(
            snapshot,
            n_items=len(rows),
            params={
                "method": f"multilingual sentence embeddings ({EMBEDDING_MODEL}) + k-means (moderation.themes)",
                "backend": "embeddings",
                "embedding_seconds": round(embedded, 2),
                "k_chosen_by": ts.k_chosen_by,
                "last_id": ids[-1],
                "previous_id": previous_row.id if previous_row is not None else None,
                "seconds": round(seconds, 2),
            },
            data={"summary": summary, "submission_ids": ids, "themeset": ts.to_dict()},
        )
        _PLACEMENT[(consultation_id, hearing_id)] = ((snapshot.id, snapshot.created_at), ts, time.monotonic())
        prune(consultation_id, hearing_id)
        progress(f"Stored theme snapshot #{snapshot.id}; {summary['other']} views left as 'other'.")
        return snapshot
    except Exception as error:
        log.exception("theme computation failed for consultation %s hearing %s", consultation_id, hearing_id)
        fail_snapshot(snapshot_id, error)
        progress(f"Theme computation failed: {type(error).__name__}: {error}. The previous snapshot stays in use.")
        return db.session.get(ThemeSnapshot, snapshot_id)


def prune(consultation_id: int, hearing_id: int | None = None, keep: int = KEEP_MODELS) -> int:
    """Drop the placement model (megabytes) from all but the newest ``keep`` ready snapshots.

    Their summaries stay, so a report that cites an older snapshot can still be checked.
    """
    older = db.session.scalars(
        select(ThemeSnapshot)
        .options(defer(ThemeSnapshot.data_json))
        .where(
            *_scope_filter(ThemeSnapshot, consultation_id, hearing_id),
            ThemeSnapshot.kind == "themes",
            ThemeSnapshot.status == "ready",
        )
        .order_by(ThemeSnapshot.id.desc())
        .offset(keep)
    ).all()
    pruned = 0
    for snapshot in older:
        settings = params(snapshot)
        if settings.get("pruned"):
            continue
        raw = db.session.scalar(select(ThemeSnapshot.data_json).where(ThemeSnapshot.id == snapshot.id))
        data = json.loads(raw or "{}")
        data.pop("themeset", None)
        snapshot.data_json = json.dumps(data, separators=(",", ":"))
        snapshot.params_json = json.dumps({**settings, "pruned": True}, sort_keys=True)
        pruned += 1
    if pruned:
        db.session.commit()
    return pruned


def themeset_of(snapshot: ThemeSnapshot) -> ThemeSet | None:
    """The snapshot's ThemeSet (to place texts or to number a new fit like it), or None when the
    snapshot no longer keeps its model."""
    from moderation.themes import ThemeSet

    data = snapshot_data(snapshot)
    return off_loop(ThemeSet.from_dict, data["themeset"]) if data.get("themeset") else None


def _store_assignments(ids: list[int], assignments: list[int]) -> None:
    """Write each view's theme (-1: other) in batches, by primary key."""
    from sqlalchemy import update

    values = [{"id": i, "theme_id": int(t)} for i, t in zip(ids, assignments)]
    for start in range(0, len(values), 5000):
        db.session.execute(update(Submission), values[start : start + 5000])


def _bucket(value: str | None) -> str:
    return value if value else NOT_STATED


def _south(value: bool | None) -> str:
    return NOT_STATED if value is None else ("south" if value else "north")


def breakdown(rows: Sequence[Row]) -> dict:
    """Counts by constituency, region, Global South and gender; 'not_stated' included."""
    return {
        "constituency": dict(Counter(_bucket(r.constituency) for r in rows).most_common()),
        "region": dict(Counter(_bucket(r.region) for r in rows).most_common()),
        "global_south": dict(Counter(_south(r.global_south) for r in rows).most_common()),
        "gender": dict(Counter(_bucket(r.gender) for r in rows).most_common()),
    }


def _week(moment: datetime) -> str:
    day = moment.date()
    return (day - timedelta(days=day.weekday())).isoformat()


def _summarise(ts: ThemeSet, rows: Sequence[Row], previous: ThemeSet | None) -> dict:
    """What the pages and the chair's summary need, computed once per snapshot."""
    n = len(rows)
    by_theme: dict[int, list[int]] = {}
    for index, theme_id in enumerate(ts.assignments):
        by_theme.setdefault(int(theme_id), []).append(index)
    weeks = sorted({_week(r.created_at) for r in rows})[-52:]
    # Trend: the theme's share among the most recent quarter of views against the rest.
    order = sorted(range(n), key=lambda i: (rows[i].created_at, rows[i].id))
    recent = set(order[n - max(1, n // 4) :]) if n >= 8 else set()
    previous_ids = {t.id for t in previous.themes} if previous is not None else None
    themes = []
    for theme in ts.themes:
        members = by_theme.get(theme.id, [])
        weekly = Counter(_week(rows[i].created_at) for i in members)
        themes.append(
            {
                "id": theme.id,
                "label": theme.label,
                "labels": dict(theme.labels),
                "languages": dict(theme.languages),
                "terms": list(theme.terms),
                "size": theme.size,
                "share": theme.share,
                # central and diverse first, then one of each of the theme's other languages:
                # each reader sees those in their own language first (``quotes_for``)
                "quotes": [
                    {"id": rows[i].id, "text": _quote(rows[i].text), "language": rows[i].language}
                    for i in list(theme.representatives)[: QUOTES + 3]
                ],
                "trend": _trend(members, recent, n, previous_ids, theme.id),
                "weekly": [weekly.get(w, 0) for w in weeks],
                "breakdown": breakdown([rows[i] for i in members]),
            }
        )
    step = max(1, math.ceil(n / MAP_POINTS))
    points = [[round(x, 4), round(y, 4), int(t)] for (x, y), t in list(zip(ts.coords, ts.assignments))[::step]]
    return {
        "n": n,
        "other": len(by_theme.get(-1, [])),
        "first": rows[order[0]].created_at.isoformat(),
        "last": rows[order[-1]].created_at.isoformat(),
        "weeks": weeks,
        "themes": themes,
        "overall": breakdown(rows),
        "points": points,
        "k_chosen_by": ts.k_chosen_by,
    }


def label_for(theme: dict, language: str | None) -> str:
    """The theme's name in the reader's language when it has views in it, else its main name."""
    return (theme.get("labels") or {}).get(language or "", theme["label"])


def quotes_for(theme: dict, language: str | None, count: int = QUOTES) -> list[dict]:
    """``count`` quotes of a theme, those in the reader's language first (the order within each
    group kept: central, then diverse)."""
    quotes = list(theme.get("quotes") or [])
    mine = [q for q in quotes if language and q.get("language") == language]
    return (mine + [q for q in quotes if q not in mine])[:count]


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1].rstrip() + "…"


def _trend(members: list[int], recent: set[int], n: int, previous_ids: set[int] | None, theme_id: int) -> str:
    if previous_ids is not None and theme_id not in previous_ids:
        return "new"
    if not recent or len(members) < 4:
        return "unknown"
    in_recent = sum(1 for i in members if i in recent)
    recent_share = in_recent / len(recent)
    earlier_share = (len(members) - in_recent) / max(1, n - len(recent))
    if recent_share >= 1.25 * earlier_share and in_recent >= 2:
        return "rising"
    if recent_share <= 0.75 * earlier_share and len(members) - in_recent >= 2:
        return "falling"
    return "steady"


# --------------------------------------------------------------------------- placing and scheduling


_PLACEMENT: dict[tuple, tuple] = {}  # scope -> ((snapshot id, created_at) | None, ThemeSet | None, checked at)
_CHECKED: dict[tuple, float] = {}


def _placement_model(consultation_id: int, hearing_id: int | None) -> ThemeSet | None:
    """The latest snapshot's ThemeSet for placing, re-read only when a newer snapshot exists."""
    key = (consultation_id, hearing_id)
    now = time.monotonic()
    hit = _PLACEMENT.get(key)
    if hit is not None and now - hit[2] < PLACEMENT_RECHECK_SECONDS:
        return hit[1]
    latest = db.session.execute(
        select(ThemeSnapshot.id, ThemeSnapshot.created_at)
        .where(
            *_scope_filter(ThemeSnapshot, consultation_id, hearing_id),
            ThemeSnapshot.kind == "themes",
            ThemeSnapshot.status == "ready",
        )
        .order_by(ThemeSnapshot.id.desc())
        .limit(1)
    ).first()
    identity = (latest.id, latest.created_at) if latest is not None else None
    if hit is not None and hit[0] == identity:
        _PLACEMENT[key] = (identity, hit[1], now)
        return hit[1]
    snapshot = latest_snapshot(consultation_id, hearing_id, "themes") if latest is not None else None
    ts = themeset_of(snapshot) if snapshot is not None else None
    _PLACEMENT[key] = (identity, ts, now)
    return ts


def place_new(submission: Submission, vector: np.ndarray | None = None) -> None:
    """Before the commit: put a published view in its nearest theme, in the same transaction
    (~0.02 ms with its embedding, which screening computed; ~0.05 ms for themes that read words).
    Without a vector, themes that read meaning wait for the embedding job, which places the view
    (``place_embedded``): no post waits for an embedding. Never raises."""
    try:
        if submission.state != "published" or submission.kind == "chair_summary" or submission.theme_id is not None:
            return
        from moderation import themes as theme_lib

        ts = _placement_model(submission.consultation_id, submission.hearing_id)
        if ts is None:
            return
        if ts.model.get("backend", "tfidf") == "tfidf":
            submission.theme_id = theme_lib.place(ts, [submission.text])[0]
        elif vector is not None:
            submission.theme_id = theme_lib.place(ts, [submission.text], vectors=vector[None, :])[0]
    except Exception:
        log.exception("placing submission %s in a theme failed", getattr(submission, "id", None))


def place_embedded(rows: Sequence[Row], vectors: np.ndarray) -> int:
    """Place views whose vectors just became ready (rows: id, consultation_id, hearing_id, text)
    in their scope's latest themes; the caller commits. Returns how many were placed."""
    from sqlalchemy import update

    from moderation import themes as theme_lib

    scopes: dict[tuple, list[int]] = {}
    for i, row in enumerate(rows):
        scopes.setdefault((row.consultation_id, row.hearing_id), []).append(i)
    placed = 0
    for (consultation_id, hearing_id), indexes in scopes.items():
        ts = _placement_model(consultation_id, hearing_id)
        if ts is None:
            continue
        theme_ids = theme_lib.place(ts, [rows[i].text for i in indexes], vectors=vectors[indexes])
        db.session.execute(
            update(Submission),
            [{"id": rows[i].id, "theme_id": int(t)} for i, t in zip(indexes, theme_ids)],
        )
        placed += len(indexes)
    return placed


def place_newly_embedded(ids: list[int], vectors: np.ndarray) -> None:
    """After the embedding job stored a batch's vectors (``embeddings.embed_pending(then=…)``):
    put those of its views that are published and without a theme in their scope's latest themes."""
    import numpy as np

    rows = db.session.execute(
        select(Submission.id, Submission.consultation_id, Submission.hearing_id, Submission.text).where(
            Submission.id.in_(ids),
            Submission.state == "published",
            Submission.theme_id.is_(None),
            Submission.kind != "chair_summary",
        )
    ).all()
    if not rows:
        return
    position = {submission_id: i for i, submission_id in enumerate(ids)}
    if place_embedded(rows, np.vstack([vectors[position[r.id]] for r in rows])):
        db.session.commit()


def after_submission(submission: Submission) -> None:
    """Once a submission is committed: schedule a refit if enough new views have arrived.

    Never raises: a failure here is logged and the submission stands.
    """
    try:
        if submission.state == "pending":  # stored unscreened, so without its embedding
            embeddings.schedule()
        if submission.state != "published" or submission.kind == "chair_summary":
            return
        maybe_schedule(submission.consultation_id, submission.hearing_id)
    except Exception:
        db.session.rollback()
        log.exception("scheduling a theme refit after submission %s failed", getattr(submission, "id", None))


def refit_due(consultation_id: int, hearing_id: int | None = None) -> tuple[bool, str]:
    """Whether enough new views arrived for a new snapshot, and why (see the module docstring)."""
    now = utcnow()
    newest = latest_snapshot(consultation_id, hearing_id, "themes", status=None)
    if newest is not None and newest.status == "running" and now - newest.created_at <= STALE_RUNNING:
        return False, "a computation is running"
    if (
        newest is not None
        and newest.status == "failed"
        and now - (newest.finished_at or newest.created_at) < FAILED_BACKOFF
    ):
        return False, "the last computation failed less than 5 minutes ago"
    ready = latest_snapshot(consultation_id, hearing_id, "themes")
    if ready is None:
        count = (
            db.session.scalar(select(func.count(Submission.id)).where(*published_filter(consultation_id, hearing_id)))
            or 0
        )
        return (count >= MIN_TEXTS, f"{count} published views, first snapshot at {MIN_TEXTS}")
    if ready.n_items >= LARGE and now - (ready.finished_at or ready.created_at) < LARGE_MIN_INTERVAL:
        return False, "a large consultation is refitted at most every 2 minutes"
    if now - (ready.finished_at or ready.created_at) < _min_interval():
        # A refit holds the GIL for a while even in a native thread: in a busy live hearing,
        # new messages are placed at once and the themes themselves are refitted at this pace.
        return False, "refitted less than MIN_INTERVAL ago"
    last_id = params(ready).get("last_id", 0)
    new = (
        db.session.scalar(
            select(func.count(Submission.id)).where(
                *published_filter(consultation_id, hearing_id), Submission.id > last_id
            )
        )
        or 0
    )
    needed = max(1, min(REFIT_MIN_NEW, math.ceil(REFIT_FRACTION * ready.n_items)))
    return new >= needed, f"{new} new views since snapshot #{ready.id}, refit at {needed}"


def _min_interval() -> timedelta:
    from flask import current_app

    return timedelta(seconds=current_app.config.get("THEMES_MIN_INTERVAL_SECONDS", MIN_INTERVAL_SECONDS))


def auto_refit() -> bool:
    """Background refits on (the default), or off (``THEMES_AUTO_REFIT``; off by default in tests)."""
    from flask import current_app

    return bool(current_app.config.get("THEMES_AUTO_REFIT", not current_app.testing))


def maybe_schedule(consultation_id: int, hearing_id: int | None = None) -> bool:
    """Debounced: start a background refit when one is due. Returns whether one was started."""
    from flask import current_app

    from agora import jobs

    if not auto_refit():
        return False
    key = (consultation_id, hearing_id)
    now = time.monotonic()
    debounce = current_app.config.get("THEMES_DEBOUNCE_SECONDS", DEBOUNCE_SECONDS)
    if key in _CHECKED and now - _CHECKED[key] < debounce:
        return False
    _CHECKED[key] = now
    due, _why = refit_due(consultation_id, hearing_id)
    if not due:
        return False
    if hearing_id is None:
        jobs.submit("agora.jobs.themes.refit_consultation", consultation_id)
    else:
        jobs.submit("agora.jobs.themes.refit_hearing", hearing_id)
    return True


# --------------------------------------------------------------------------- reading


def latest_summary(consultation_id: int, hearing_id: int | None = None) -> dict:
    """Plain data for a chair's live summary or a report: the latest ready themes.

    ``{"status": "ready" | "none", "snapshot_id", "computed_at", "n", "other",
    "themes": [{"id", "label", "terms", "size", "share", "quotes": [{"id", "text"}], "trend"}]}``
    """
    snapshot = latest_snapshot(consultation_id, hearing_id, "themes")
    if snapshot is None:
        return {"status": "none", "snapshot_id": None, "computed_at": None, "n": 0, "other": 0, "themes": []}
    summary = snapshot_data(snapshot).get("summary", {})
    return {
        "status": "ready",
        "snapshot_id": snapshot.id,
        "computed_at": (snapshot.finished_at or snapshot.created_at).isoformat() + "Z",
        "n": summary.get("n", 0),
        "other": summary.get("other", 0),
        "themes": [
            {
                "id": t["id"],
                "label": t["label"],
                "labels": dict(t.get("labels", {})),
                "languages": dict(t.get("languages", {})),
                "terms": list(t["terms"]),
                "size": t["size"],
                "share": t["share"],
                "quotes": [dict(q) for q in t["quotes"]],
                "trend": t["trend"],
            }
            for t in summary.get("themes", [])
        ],
    }


def dominance(counts: dict[str, int], threshold: float = 0.5, min_declared: int = 5) -> tuple[str, float] | None:
    """(group, share) when one declared group is more than ``threshold`` of those who declared one."""
    declared = {k: v for k, v in counts.items() if k != NOT_STATED and v}
    total = sum(declared.values())
    if total < min_declared:
        return None
    key, top = max(declared.items(), key=lambda item: (item[1], item[0]))
    share = top / total
    return (key, share) if share > threshold else None


def status(consultation_id: int, hearing_id: int | None, kind: str) -> dict:
    """The ready snapshot shown, and whether a newer run is going or failed."""
    ready = latest_snapshot(consultation_id, hearing_id, kind)
    newest = latest_snapshot(consultation_id, hearing_id, kind, status=None)
    newer = newest if newest is not None and (ready is None or newest.id > ready.id) else None
    return {
        "ready": ready,
        "running": newer is not None and newer.status == "running",
        "failed_at": (newer.finished_at or newer.created_at)
        if newer is not None and newer.status == "failed"
        else None,
    }


def page(consultation_id: int, hearing_id: int | None = None) -> dict:
    """Everything the themes page shows: the snapshot summary, its status, what arrived since."""
    _consultation(consultation_id, hearing_id)
    state = status(consultation_id, hearing_id, "themes")
    published = db.session.scalar(
        select(func.count(Submission.id)).where(*published_filter(consultation_id, hearing_id))
    )
    result = {**state, "published": published or 0, "summary": None, "placed_since": {}, "new_since": 0}
    ready = state["ready"]
    if ready is None:
        return result
    result["summary"] = snapshot_data(ready).get("summary")
    # snapshots made before themes read meaning say "tf-idf" in their method
    result["ready_method"] = "meaning" if params(ready).get("backend") == "embeddings" else "words"
    last_id = params(ready).get("last_id", 0)
    placed = dict(
        db.session.execute(
            select(Submission.theme_id, func.count(Submission.id))
            .where(*published_filter(consultation_id, hearing_id), Submission.id > last_id)
            .group_by(Submission.theme_id)
        ).all()
    )
    result["placed_since"] = {(-1 if k is None else k): v for k, v in placed.items()}
    result["new_since"] = sum(placed.values())
    return result


def listing_page(submission_id: int, consultation_id: int, per_page: int) -> int:
    """The page of the consultation's newest-first listing on which a published view appears."""
    row = db.session.execute(select(Submission.created_at, Submission.id).where(Submission.id == submission_id)).first()
    if row is None:
        return 1
    newer = db.session.scalar(
        select(func.count(Submission.id)).where(
            *published_filter(consultation_id, None),
            (Submission.created_at > row.created_at)
            | ((Submission.created_at == row.created_at) & (Submission.id > row.id)),
        )
    )
    return (newer or 0) // max(1, per_page) + 1
