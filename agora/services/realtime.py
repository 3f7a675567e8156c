"""publish(room, event, payload): the only caller of socketio.emit.

In the web process it emits directly; with AGORA_REDIS_URL set, Flask-SocketIO routes the
emit through the Redis message queue, so workers and other processes reach the same rooms.
"""

import logging

from agora.extensions import socketio

log = logging.getLogger(__name__)


def publish(room: str, event: str, payload: dict, *, namespace: str = "/") -> None:
    try:
        socketio.emit(event, payload, to=room, namespace=namespace)
    except Exception:  # delivery is best effort: the data is already committed
        log.exception("could not publish %s to %s", event, room)


def consultation_room(consultation_id: int) -> str:
    return f"consultation:{consultation_id}"


def hearing_room(hearing_id: int) -> str:
    return f"hearing:{hearing_id}"


def chairs_room(hearing_id: int) -> str:
    return f"hearing:{hearing_id}:chair"


MODERATORS_ROOM = "moderators"  # moderators everywhere and the secretariat
MODERATION_NAMESPACE = "/moderation"


def moderators_room(consultation_id: int) -> str:
    """Moderators scoped to one consultation: they hear of its queue only."""
    return f"moderators:{consultation_id}"


def notify_moderators(payload: dict) -> None:
    """The moderators' queue changed (new, held, flagged, appealed or decided item): told to
    moderators everywhere, and to the consultation's own moderators."""
    publish(MODERATORS_ROOM, "queue_changed", payload, namespace=MODERATION_NAMESPACE)
    if payload.get("consultation_id") is not None:
        publish(moderators_room(payload["consultation_id"]), "queue_changed", payload, namespace=MODERATION_NAMESPACE)


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


def disconnect_user(user_id: int) -> None:
    """Tell every socket of this user to go (all processes, through the message queue), then
    close the ones this process holds. Live handlers also re-check the session on every write."""
    publish(user_room(user_id), "signed_out", {"reason": "signed out"})
    try:
        server = socketio.server
        for namespace in list(server.manager.rooms.keys()):
            for sid, _eio_sid in list(server.manager.get_participants(namespace, user_room(user_id))):
                server.disconnect(sid, namespace=namespace)
    except Exception:  # best effort: the session check on each event closes the rest
        log.exception("could not disconnect the sockets of user %s", user_id)
