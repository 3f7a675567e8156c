"""The /moderation namespace: moderators' queue pages learn at once that the queue changed.

Sent by the queue page's script on connect (with the page's CSRF token in ``auth``); only
moderators (of any consultation) and the secretariat get in. The server pushes
``queue_changed`` {consultation_id, submission_id | id, state}: to the room of moderators
everywhere (and the secretariat), and to the room of that consultation's scoped moderators, so a
moderator of one consultation hears nothing of the others. The page offers a reload.
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
        scope = permissions.moderated_consultations(current_user)
        if scope is None:  # the secretariat and moderators everywhere
            join_room(realtime.MODERATORS_ROOM)
        for consultation_id in sorted(scope or ()):  # a scoped moderator hears of their consultations only
            join_room(realtime.moderators_room(consultation_id))
        join_room(realtime.user_room(current_user.id))


socketio.on_namespace(ModerationNamespace(realtime.MODERATION_NAMESPACE))
