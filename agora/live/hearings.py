"""The /hearing namespace: participants follow and post in a live hearing; the chair runs it.

Every event is answered with an acknowledgement ``{"ok": true, ...}`` or
``{"ok": false, "error": "<message>", "code": "<code>"}``; the handlers are thin: they check the
payload and the connection's flood budget, then call ``agora.services.hearings``, which checks
roles, stores, and publishes to the rooms ``hearing:<id>`` (everyone) and ``hearing:<id>:chair``.
Connects are origin-checked by Engine.IO (same origin unless AGORA_CORS_ORIGINS says otherwise)
and CSRF-checked here when the user is signed in (the token travels in the connect ``auth``).
"""

import json
import logging
import threading
import time
from functools import wraps
from urllib.parse import urlsplit

from flask import current_app, request
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, Namespace, join_room, leave_room
from flask_wtf.csrf import ValidationError, validate_csrf

from agora import permissions
from agora.extensions import db, socketio
from agora.services import hearings, realtime
from agora.services.errors import AgoraError
from agora.services.sanitize import refuse_invalid_unicode
from agora.web.ratelimits import FLOOR_LIMIT, HEARING_MESSAGE_LIMIT, VOTE_LIMIT, spend

log = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES = 8 * 1024
MAX_JOINED = 5
FLOOD_BURST = 20  # events a connection may send at once ...
FLOOD_RATE = 5.0  # ... refilled at this many per second


class Connection:
    """Per-connection state kept by this process: its flood budget and the hearings it joined."""

    def __init__(self):
        self.tokens = float(FLOOD_BURST)
        self.stamp = time.monotonic()
        self.joined: set[int] = set()
        self.lock = threading.Lock()

    def spend(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(FLOOD_BURST, self.tokens + (now - self.stamp) * FLOOD_RATE)
            self.stamp = now
            if self.tokens < 1:
                return False
            self.tokens -= 1
            return True


_connections: dict[str, Connection] = {}


def _fail(message: str, code: str = "invalid") -> dict:
    return {"ok": False, "error": message, "code": code}


def _user():
    return current_user if getattr(current_user, "is_authenticated", False) else None


def event(
    *, fields: dict, required=("hearing_id",), joined: bool = True, limit: tuple | None = None, write: bool = True
):
    """Guard an event handler: flood budget, payload shape and size, joined hearing, rate limits,
    errors as acks.

    ``fields`` maps each allowed key to a type (or tuple of types); unknown keys are refused.
    Every ``write`` (all events but join and leave) spends the per-IP ceiling HTTP writes spend;
    ``limit`` is (the rate limit, the HTTP route's endpoint) of the same action done by a form:
    the event spends the user's budget of that route too (agora.web.ratelimits.spend).
    """

    def decorate(handler):
        @wraps(handler)
        def wrapped(self, data=None):
            name = handler.__name__[3:]
            conn = _connections.get(request.sid)
            if conn is None:
                return _fail("Not connected.", "not_connected")
            if current_app.config.get("RATELIMIT_ENABLED", True) and not conn.spend():
                socketio.emit(
                    "error", _fail("Too many events: slow down.", "flood"), to=request.sid, namespace=hearings.NAMESPACE
                )
                return _fail("Too many events: slow down.", "flood")
            if not isinstance(data, dict):
                return _fail(f"The payload of {name} must be an object.")
            try:
                size = len(json.dumps(data))
            except (TypeError, ValueError):
                return _fail("The payload is not plain JSON.")
            if size > MAX_PAYLOAD_BYTES:
                return _fail(f"The payload is too large (over {MAX_PAYLOAD_BYTES} bytes).", "too_large")
            try:
                refuse_invalid_unicode(data)
            except AgoraError as error:
                return _fail(error.message, error.code)
            unknown = set(data) - set(fields)
            if unknown:
                return _fail(f"Unknown field(s): {', '.join(sorted(map(str, unknown)))[:200]}.")
            for key in required:
                if data.get(key) is None:
                    return _fail(f"The field {key} is required.")
            for key, kind in fields.items():
                value = data.get(key)
                if value is not None and (
                    not isinstance(value, kind) or isinstance(value, bool) and bool not in _tuple(kind)
                ):
                    return _fail(f"The field {key} has the wrong type.")
            if joined and "hearing_id" in data and data["hearing_id"] not in conn.joined:
                return _fail("Join this hearing before sending events to it.", "not_joined")
            if write and not spend(
                *(limit if limit and _user() is not None else ())
            ):  # anonymous: no route budget (HTTP sends them to sign in first)
                return _fail("Too many requests. Please wait a moment and try again.", "rate_limited")
            try:
                hearing = hearings.get(data["hearing_id"]) if "hearing_id" in data else None
                result = handler(self, conn, hearing, data)
            except AgoraError as error:
                db.session.rollback()
                return _fail(error.message, error.code)
            except Exception:
                db.session.rollback()
                log.exception("hearing event %s failed", name)
                return _fail("Something went wrong on our side; nothing was saved.", "server_error")
            return {"ok": True, **(result or {})}

        return wrapped

    return decorate


def _tuple(kind):
    return kind if isinstance(kind, tuple) else (kind,)


def _origin_allowed() -> bool:
    """Same origin (or AGORA_CORS_ORIGINS), checked here too: Engine.IO skips its own check
    when given an empty list of origins."""
    origin = request.headers.get("Origin")
    if not origin:
        return True  # not a browser: cookies are not sent cross-site without one
    allowed = current_app.config.get("CORS_ORIGINS") or []
    # a header sent twice arrives joined by commas: every value must be allowed
    return all(o in allowed or urlsplit(o).netloc == request.host for o in (v.strip() for v in origin.split(",")))


class HearingNamespace(Namespace):
    def on_connect(self, auth=None):
        """Sent by a hearing page's script (or any Socket.IO client). Signed-in users must send
        the page's CSRF token as ``auth.csrf``; anonymous visitors may watch, not post."""
        if not _origin_allowed():
            raise ConnectionRefusedError("Connections from other sites are not allowed.")
        if _user() is not None:
            token = auth.get("csrf") if isinstance(auth, dict) else None
            try:
                validate_csrf(token)
            except ValidationError:
                raise ConnectionRefusedError("The CSRF token is missing or invalid; reload the page.") from None
            # Signing out (everywhere), a password change or deleting the account closes this socket.
            join_room(realtime.user_room(_user().id))
        _connections[request.sid] = Connection()

    def on_disconnect(self, reason=None):
        conn = _connections.pop(request.sid, None)
        for hearing_id in conn.joined if conn else ():
            hearings.presence.change(hearing_id, -1)

    def trigger_event(self, event, *args):
        if event not in ("connect", "disconnect") and not hasattr(self, "on_" + (event or "")):
            sid = args[0] if args else None
            answer = _fail(f"Unknown event {str(event)[:40]!r}.", "unknown_event")
            if sid:
                socketio.server.emit("error", answer, to=sid, namespace=self.namespace)
            return answer
        return super().trigger_event(event, *args)

    # -- everyone -------------------------------------------------------------------------

    @event(fields={"hearing_id": int, "last_id": int, "since": str}, joined=False, write=False)
    def on_join(self, conn, hearing, data):
        """Sent by a participant's page on connect and on every reconnect, with the last message
        id it saw; the ack carries the hearing's state and what was missed, in order."""
        if hearing.id not in conn.joined:
            if len(conn.joined) >= MAX_JOINED:
                raise AgoraError("Too many hearings on one connection.", code="too_many")
            join_room(realtime.hearing_room(hearing.id))
            conn.joined.add(hearing.id)
            hearings.presence.change(hearing.id, +1)
        chair = permissions.can_chair_hearing(_user(), hearing)
        if chair:
            join_room(realtime.chairs_room(hearing.id))
            hearings.refresh_summary(hearing, _user())
        user = _user()
        return {
            "state": hearings.state_payload(hearing),
            **hearings.replay(hearing, data.get("last_id") or 0, data.get("since")),
            "chair": chair,
            "user": {"id": user.id, "name": user.display_name, "constituency": user.constituency} if user else None,
        }

    @event(fields={"hearing_id": int}, write=False)
    def on_leave(self, conn, hearing, data):
        leave_room(realtime.hearing_room(hearing.id))
        leave_room(realtime.chairs_room(hearing.id))
        conn.joined.discard(hearing.id)
        hearings.presence.change(hearing.id, -1)

    @event(
        fields={"hearing_id": int, "text": str, "client_id": str},
        required=("hearing_id", "text"),
        limit=(HEARING_MESSAGE_LIMIT, "hearings.post_message"),
    )
    def on_post_message(self, conn, hearing, data):
        """A participant posts; the ack says published or held (held waits for a moderator)."""
        submission = hearings.post_message(hearing, _user(), data["text"], client_id=data.get("client_id"))
        return {"id": submission.id, "state": submission.state}

    @event(
        fields={"hearing_id": int, "id": int, "vote": str},
        required=("hearing_id", "id", "vote"),
        limit=(VOTE_LIMIT, "hearings.vote"),
    )
    def on_vote(self, conn, hearing, data):
        s = hearings.vote(hearing, _user(), data["id"], data["vote"])
        return {"id": s.id, "vote": data["vote"], "votes": [s.agree_count, s.disagree_count, s.pass_count]}

    @event(fields={"hearing_id": int, "constituency": str, "topic": str}, limit=(FLOOR_LIMIT, "hearings.request_floor"))
    def on_request_floor(self, conn, hearing, data):
        r = hearings.request_floor(hearing, _user(), data.get("constituency"), data.get("topic") or "")
        return {"request": hearings.request_payload(r)}

    @event(fields={"hearing_id": int})
    def on_withdraw_floor(self, conn, hearing, data):
        hearings.withdraw_floor(hearing, _user())

    # -- the chair (roles checked by the service) -----------------------------------------

    @event(fields={"hearing_id": int})
    def on_open_hearing(self, conn, hearing, data):
        hearings.open_hearing(hearing, _user())

    @event(fields={"hearing_id": int})
    def on_close_hearing(self, conn, hearing, data):
        hearings.close_hearing(hearing, _user())

    @event(fields={"hearing_id": int, "request_id": int})
    def on_grant_floor(self, conn, hearing, data):
        """The chair gives the floor to a request, or to the next one (rotation) without request_id."""
        r = hearings.grant_floor(hearing, _user(), data.get("request_id"))
        return {"speaker": hearings.request_payload(r) if r else None}

    @event(fields={"hearing_id": int})
    def on_end_turn(self, conn, hearing, data):
        hearings.end_turn(hearing, _user())

    @event(fields={"hearing_id": int, "request_id": int}, required=("hearing_id", "request_id"))
    def on_skip_speaker(self, conn, hearing, data):
        hearings.skip(hearing, _user(), data["request_id"])

    @event(fields={"hearing_id": int, "order": list}, required=("hearing_id", "order"))
    def on_reorder_queue(self, conn, hearing, data):
        hearings.reorder(hearing, _user(), data["order"])

    @event(fields={"hearing_id": int, "seconds": int}, required=("hearing_id", "seconds"))
    def on_set_slow_mode(self, conn, hearing, data):
        hearings.set_slow_mode(hearing, _user(), data["seconds"])

    @event(fields={"hearing_id": int, "seconds": int}, required=("hearing_id", "seconds"))
    def on_set_time_limit(self, conn, hearing, data):
        hearings.set_time_limit(hearing, _user(), data["seconds"])

    @event(fields={"hearing_id": int, "on": bool}, required=("hearing_id", "on"))
    def on_set_rotation(self, conn, hearing, data):
        hearings.set_rotation(hearing, _user(), data["on"])

    @event(fields={"hearing_id": int, "id": int})
    def on_pin_message(self, conn, hearing, data):
        hearings.pin(hearing, _user(), data.get("id"))

    @event(fields={"hearing_id": int, "text": str}, required=("hearing_id", "text"))
    def on_chair_summary(self, conn, hearing, data):
        s = hearings.post_chair_summary(hearing, _user(), data["text"])
        return {"id": s.id, "state": s.state}

    @event(fields={"hearing_id": int})
    def on_refresh_summary(self, conn, hearing, data):
        """The chair asks for the theme summary; it arrives as a `summary` event for chairs."""
        return {"scheduled": hearings.refresh_summary(hearing, _user())}


socketio.on_namespace(HearingNamespace(hearings.NAMESPACE))
