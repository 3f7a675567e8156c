"""How things reach a hearing's room: the people present, and frames batched per interval.

Bursts are coalesced: a per-process batcher flushes at most every ``batch_seconds()`` (0.3 s) one
``messages`` event per hearing, encoded once for the whole room, so nobody receives more than 4
frames a second however fast people post (the margin absorbs delivery jitter). A change in the
number of people present rides on the next frame, or goes alone after ``PRESENCE_SECONDS``: a crowd
(re)joining does not cost a frame per client every interval. Presence is a Redis hash across
processes when scaled out.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

from agora.models._base import utcnow
from agora.services import realtime

if TYPE_CHECKING:
    import redis
    from flask import Flask

log = logging.getLogger(__name__)

NAMESPACE = "/hearing"
PROCESS_ID = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
PRESENCE_SECONDS = 2.0  # a frame that would only carry the number of people present waits this long


def batch_seconds() -> float:
    """Coalescing interval; 0 emits at once (in-process unit tests)."""
    from flask import current_app

    value = current_app.config.get("HEARING_BATCH_SECONDS")
    if value is None:
        value = float(os.environ.get("AGORA_HEARING_BATCH_SECONDS", "0.3"))
    return float(value)


def cursor() -> str:
    """A server time a client hands back on reconnect; a few seconds early to absorb clock skew."""
    return (utcnow() - timedelta(seconds=5)).isoformat()


# ---------------------------------------------------------------------------------------------
# Presence: people with the page open (Redis hash across processes when scaled out)


class Presence:
    def __init__(self) -> None:
        self._local: Counter = Counter()
        self._redis: redis.Redis | None = None
        self._redis_url: str | None = None

    def _client(self) -> redis.Redis | None:
        from flask import current_app

        url = current_app.config.get("REDIS_URL")
        if not url:
            return None
        if self._redis is None or self._redis_url != url:
            import redis

            self._redis = redis.Redis.from_url(url, socket_timeout=1)
            self._redis_url = url
        return self._redis

    def change(self, hearing_id: int, delta: int) -> None:
        self._local[hearing_id] = max(0, self._local[hearing_id] + delta)
        try:
            client = self._client()
            if client is not None:
                client.hset(f"agora:presence:{hearing_id}", PROCESS_ID, self._local[hearing_id])
                client.expire(f"agora:presence:{hearing_id}", 24 * 3600)
        except Exception:  # presence is a nicety; never fail a join on it
            log.warning("presence not shared through Redis", exc_info=True)
        _batcher.mark_presence(hearing_id)

    def count(self, hearing_id: int) -> int:
        try:
            client = self._client()
            if client is not None:
                return sum(int(v) for v in client.hvals(f"agora:presence:{hearing_id}"))
        except Exception:
            log.warning("presence not read from Redis", exc_info=True)
        return self._local[hearing_id]


presence = Presence()


# ---------------------------------------------------------------------------------------------
# The batcher: one `messages` frame per hearing per interval, whatever the burst


class Batcher:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[int, dict] = {}
        self._flushing: dict[int, set] = {}
        self._inflight: Counter = Counter()
        self._running = False
        self._wake: threading.Event | None = None  # the loop's (a gevent Event under the server: the same calls)
        self._last: dict[int, float] = {}

    @contextmanager
    def in_flight(self, hearing_id: int) -> Iterator[None]:
        """Marks a post between its commit and its place in the batch (see ``coming``)."""
        with self._lock:
            self._inflight[hearing_id] += 1
        try:
            yield
        finally:
            with self._lock:
                self._inflight[hearing_id] -= 1

    def coming(self, hearing_id: int, wait: float = 1.0) -> set[int]:
        """Ids committed in this process that the room has not been sent yet. Waits (up to
        ``wait`` s) for posts in flight, so a message is either replayed or framed, never both."""
        from agora.extensions import socketio

        deadline = time.monotonic() + wait
        while self._inflight[hearing_id] > 0 and time.monotonic() < deadline:
            socketio.sleep(0.005)
        with self._lock:
            slot = self._pending.get(hearing_id) or {"messages": []}
            return {m["id"] for m in slot["messages"]} | set(self._flushing.get(hearing_id, ()))

    def _slot(self, hearing_id: int) -> dict:
        return self._pending.setdefault(hearing_id, {"messages": [], "votes": {}, "presence": False})

    def add_message(self, hearing_id: int, payload: dict) -> None:
        with self._lock:
            self._slot(hearing_id)["messages"].append(payload)
        self._kick()

    def add_votes(self, hearing_id: int, submission_id: int, tally: Iterable[int]) -> None:
        with self._lock:
            self._slot(hearing_id)["votes"][str(submission_id)] = list(tally)
        self._kick()

    def mark_presence(self, hearing_id: int) -> None:
        with self._lock:
            self._slot(hearing_id)["presence"] = True
        self._kick()

    def drop(self, hearing_id: int, submission_id: int) -> None:
        with self._lock:
            slot = self._pending.get(hearing_id)
            if slot:
                slot["messages"] = [m for m in slot["messages"] if m["id"] != submission_id]

    def _kick(self) -> None:
        """Leading edge: a hearing that had no frame in the last interval gets one at once; later
        items wait for the end of the interval, so a client never gets more than 1/interval
        frames a second and a lone message is not delayed."""
        from flask import current_app

        interval = batch_seconds()
        if interval <= 0:
            self.flush()
            return
        with self._lock:
            if self._running:
                if self._wake is not None:
                    self._wake.set()
                return
            self._running = True
            app = current_app._get_current_object()  # type: ignore[attr-defined]  # a proxy
        from agora.extensions import socketio

        self._wake = wake = socketio.server.eio.create_event()
        socketio.start_background_task(self._loop, interval, app, wake)

    def _due_at(self, hearing_id: int, interval: float) -> float:
        """When the hearing's pending frame may go (call with the lock held): messages and votes
        one interval after the last frame; a presence change alone, PRESENCE_SECONDS after it."""
        slot = self._pending[hearing_id]
        wait = interval if slot["messages"] or slot["votes"] else max(interval, PRESENCE_SECONDS)
        return self._last.get(hearing_id, 0.0) + wait

    def _loop(self, interval: float, app: Flask, wake: threading.Event) -> None:
        idle_since = time.monotonic()
        try:
            while True:
                now = time.monotonic()
                with self._lock:
                    when = {h: self._due_at(h, interval) for h in self._pending}
                    due = [h for h, at in when.items() if at <= now]
                    later = [at for h, at in when.items() if at > now]
                if due:
                    with app.app_context():
                        self.flush(due)
                    idle_since = time.monotonic()
                    continue
                if not later and now - idle_since > 10:
                    return
                wake.wait(timeout=(min(later) - now) if later else 1.0)
                wake.clear()
        except Exception:
            log.exception("the hearings batcher stopped")
        finally:
            with self._lock:
                self._running = False
            if self._pending:  # something arrived while stopping
                with app.app_context():
                    self._kick()

    def flush(self, hearing_ids: Sequence[int] | None = None) -> int:
        """Emit what is pending, one `messages` frame per hearing; returns the number of frames."""
        now = time.monotonic()
        with self._lock:
            chosen = list(self._pending) if hearing_ids is None else [h for h in hearing_ids if h in self._pending]
            pending = {h: self._pending.pop(h) for h in chosen}
            for hearing_id, slot in pending.items():
                self._flushing[hearing_id] = {m["id"] for m in slot["messages"]}
                self._last[hearing_id] = now
        frames = 0
        try:
            frames = self._emit(pending)
        finally:
            with self._lock:
                for hearing_id in pending:
                    self._flushing.pop(hearing_id, None)
        return frames

    def _emit(self, pending: dict) -> int:
        frames = 0
        for hearing_id, slot in pending.items():
            if not slot["messages"] and not slot["votes"] and not slot["presence"]:
                continue
            payload = {"hearing_id": hearing_id, "messages": slot["messages"], "cursor": cursor()}
            if slot["votes"]:
                payload["votes"] = slot["votes"]
            if slot["presence"]:
                payload["presence"] = presence.count(hearing_id)
            realtime.publish(realtime.hearing_room(hearing_id), "messages", payload, namespace=NAMESPACE)
            frames += 1
        return frames


_batcher = Batcher()


def flush() -> int:
    """Emit pending frames now (tests and shutdown)."""
    return _batcher.flush()
