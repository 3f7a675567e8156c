"""SMS: a gateway posts a text message; its first word picks the consultation (its SMS keyword)
and the rest becomes a submission on channel "sms", through the same pipeline as every view.

The gateway signs a timestamp and the raw request body together with HMAC-SHA256 and a shared
secret (AGORA_SMS_SECRET); a request older (or newer) than REPLAY_WINDOW_SECONDS is refused, and
every message carries the gateway's id, stored with its view, so a captured request replayed
within the window adds nothing and one replayed later is refused.
The sender's number is never stored: only an HMAC of it with a server-side salt (AGORA_SMS_SALT,
or one derived from the secret key), so repeated messages from one phone can be counted and
flood-checked without anyone being able to read the number back.
"""

import hashlib
import hmac
import re
import time
from dataclasses import dataclass

from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from agora.extensions import db
from agora.i18n import N_
from agora.models import Consultation, Submission
from agora.services.errors import AgoraError, Forbidden, Invalid, Unavailable
from agora.services.participation import submissions

SIGNATURE_PREFIX = "sha256="
MAX_KEYWORD = 32
_KEYWORD = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class SmsReply:
    """The outcome and the short plain-text reply the gateway relays to the sender."""

    outcome: str  # accepted | unknown_keyword | closed | invalid
    reply: str
    submission_id: int | None = None


REPLAY_WINDOW_SECONDS = 300


def signature(secret: str, body: bytes, timestamp: str | int) -> str:
    """sha256=<hex of HMAC-SHA256(secret, "<timestamp>." + raw body)>."""
    signed = str(timestamp).encode("ascii") + b"." + body
    return SIGNATURE_PREFIX + hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str | None, body: bytes, header: str | None, timestamp: str | None, *, now: float | None = None
) -> None:
    """Raise unless the header is the HMAC-SHA256 of the timestamp and the raw body with the
    shared secret, and the timestamp (Unix seconds) is within REPLAY_WINDOW_SECONDS of now."""
    if not secret:
        raise Unavailable("The SMS gateway is not configured on this server.", code="sms_not_configured")
    stamp = (timestamp or "").strip()
    if not stamp.isdigit() or len(stamp) > 12:
        raise Forbidden("Bad or missing timestamp (X-Agora-Timestamp, Unix seconds).", code="bad_timestamp")
    if not header or not hmac.compare_digest(signature(secret, body, stamp), header.strip()):
        raise Forbidden("Bad or missing signature.", code="bad_signature")
    if abs((time.time() if now is None else now) - int(stamp)) > REPLAY_WINDOW_SECONDS:
        raise Forbidden("The request is too old (or its clock is wrong): refused as a possible replay.", code="stale")


def sender_hash(number: str, salt: str) -> str:
    """A salted HMAC of the normalised number (digits and a leading +); the number is not kept."""
    normal = re.sub(r"[^\d+]", "", number or "")
    return hmac.new(salt.encode("utf-8"), normal.encode("utf-8"), hashlib.sha256).hexdigest()


def salt_from(secret_key: str, configured: str | None) -> str:
    if configured:
        return configured
    return hmac.new(secret_key.encode("utf-8"), b"agora-sms-sender-salt", hashlib.sha256).hexdigest()


def normalise_keyword(keyword: str) -> str:
    value = (keyword or "").strip().lower()
    if not _KEYWORD.match(value):
        raise Invalid(
            "An SMS keyword is 1 to 32 letters, digits, - or _, starting with a letter or digit.", field="sms_keyword"
        )
    return value


def set_keyword(consultation: Consultation, keyword: str | None) -> Consultation:
    """Give a consultation its SMS keyword (or remove it with None); keywords are unique."""
    value = normalise_keyword(keyword) if keyword else None
    if value and db.session.scalar(
        select(Consultation.id).where(func.lower(Consultation.sms_keyword) == value, Consultation.id != consultation.id)
    ):
        raise Invalid("Another consultation already uses this SMS keyword.", field="sms_keyword", code="keyword_taken")
    consultation.sms_keyword = value
    db.session.commit()
    return consultation


def receive(
    sender: str | None, text: str | None, *, salt: str, max_chars: int, message_id: str | None = None
) -> SmsReply:
    """Turn one inbound message into a submission; the reply says what happened, in the language
    the message is written in when the interface speaks it (else English)."""
    status, template, params, submission_id = _receive(
        sender, text, salt=salt, max_chars=max_chars, message_id=message_id
    )
    with force_locale(_reply_language(text)):
        reply = gettext(template, **params)
    return SmsReply(status, reply, submission_id)


def _reply_language(text: str | None) -> str:
    from moderation.language import detect

    words = (text or "").strip().split(None, 1)
    code = detect(words[1]) if len(words) > 1 else None  # the view, without the keyword
    return code if code and code in current_app.config["LANGUAGES"] else "en"


def _receive(
    sender: str | None, text: str | None, *, salt: str, max_chars: int, message_id: str | None
) -> tuple[str, str, dict, int | None]:
    if not sender or not (sender := sender.strip()):
        raise Invalid("The message has no sender.", field="from")
    if not message_id or not (message_id := message_id.strip()) or len(message_id) > 200:
        raise Invalid("The message has no id (the gateway's message id, 1 to 200 characters).", field="id")
    words = (text or "").strip().split(None, 1)
    if not words:
        return "invalid", N_("Empty message. Send the consultation keyword followed by your view."), {}, None
    keyword, body = words[0].lower(), (words[1] if len(words) > 1 else "")
    consultation = db.session.scalar(
        select(Consultation).where(func.lower(Consultation.sms_keyword) == keyword[:MAX_KEYWORD])
    )
    if consultation is None or consultation.status == "draft":
        return (
            "unknown_keyword",
            N_("Unknown keyword %(keyword)s. Send the consultation keyword, a space, then your view."),
            {"keyword": keyword[:20].upper()},
            None,
        )
    name = {"keyword": consultation.sms_keyword.upper()}
    if not consultation.is_open:
        return "closed", N_("%(keyword)s: this consultation is closed and no longer accepts views."), name, None
    hashed = sender_hash(sender, salt)
    # Gateways retry, and a captured request may be replayed within the window: a message id is
    # stored once (kept with its view for good, longer than the window).
    external_ref = "sms:" + hashlib.sha256(message_id.encode("utf-8")).hexdigest()
    earlier = _earlier(consultation.id, external_ref)
    if earlier is not None:
        return "accepted", N_("Thank you: your view #%(n)s is received."), {"n": earlier}, earlier
    try:
        submission, _created = submissions.submit(
            consultation.id,
            None,
            body,
            channel="sms",
            max_chars=max_chars,
            sender_hash=hashed,
            external_ref=external_ref,
            profile={},
        )
    except IntegrityError:  # the gateway's retry of this message was stored a moment ago
        db.session.rollback()
        earlier = _earlier(consultation.id, external_ref)
        if earlier is None:
            raise
        return "accepted", N_("Thank you: your view #%(n)s is received."), {"n": earlier}, earlier
    except AgoraError as error:
        if error.code == "empty":
            return "invalid", N_("%(keyword)s: please write your view after the keyword."), name, None
        if error.status == 413:
            return "invalid", N_("Your message is too long; the limit is %(n)s characters."), {"n": max_chars}, None
        return "invalid", N_("Sorry, your message could not be received. Please try again later."), {}, None
    if submission.state == "published":
        return "accepted", N_("Thank you: your view #%(n)s is published."), {"n": submission.id}, submission.id
    return (
        "accepted",
        N_("Thank you: your view #%(n)s is received and will be published after review."),
        {"n": submission.id},
        submission.id,
    )


def _earlier(consultation_id: int, external_ref: str) -> int | None:
    return db.session.scalar(
        select(Submission.id).where(
            Submission.consultation_id == consultation_id, Submission.external_ref == external_ref
        )
    )
