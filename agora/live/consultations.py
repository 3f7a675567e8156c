"""Followers of a consultation page get new views and vote tallies without reloading."""

from flask import request
from flask_socketio import Namespace, join_room

from agora.extensions import socketio
from agora.services import realtime
from agora.services.errors import AgoraError
from agora.services.participation import consultations


class ConsultationNamespace(Namespace):
    def on_follow(self, data):
        """Sent by a consultation page's script; joins its room (public, read-only)."""
        try:
            consultation_id = int((data or {}).get("consultation_id"))
            consultation = consultations.get(consultation_id)
        except (TypeError, ValueError, AgoraError):
            return {"ok": False, "error": "unknown consultation"}
        if consultation.status == "draft":
            return {"ok": False, "error": "unknown consultation"}
        join_room(realtime.consultation_room(consultation.id), sid=request.sid)
        return {"ok": True}


socketio.on_namespace(ConsultationNamespace("/"))
