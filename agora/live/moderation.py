"""The /moderation namespace: moderators' queue pages learn at once that the queue changed.

Sent by the queue page's script on connect (with the page's CSRF token in ``auth``); only
moderators (of any consultation) and the secretariat get in. The server pushes
``queue_changed`` {consultation_id, submission_id | id, state} to the room; the page offers a reload.
"""
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, Namespace, join_room
from flask_wtf.csrf import ValidationError, validate_csrf

from agora import permissions
from agora.extensions import socketio
from agora.live.hearings import _origin_allowed
from agora.services import realtime


class ModerationNamespace(Namespace):
    def on_connect(self, auth=None):
        if not _origin_allowed():
            raise ConnectionRefusedError("Connections from other sites are not allowed.")
        if not permissions.can_moderate_anywhere(current_user):
            raise ConnectionRefusedError("Only moderators follow the moderation queue.")
        try:
            validate_csrf(auth.get("csrf") if isinstance(auth, dict) else None)
        except ValidationError:
            raise ConnectionRefusedError("The CSRF token is missing or invalid; reload the page.") from None
        join_room(realtime.MODERATORS_ROOM)
        join_room(realtime.user_room(current_user.id))


socketio.on_namespace(ModerationNamespace(realtime.MODERATION_NAMESPACE))
