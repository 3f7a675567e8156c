"""Rate limits, per user when signed in, else per IP address (Flask-Limiter)."""
from flask import request
from flask_login import current_user

SIGNUP_LIMIT = "10 per hour"
SIGNIN_LIMIT = "10 per minute"
SUBMIT_LIMIT_DEFAULT = "10 per minute; 100 per day"
SUBMIT_LIMIT_NEW_ACCOUNT = "3 per minute; 20 per day"
VOTE_LIMIT = "120 per minute"
IP_WRITE_LIMIT = "120 per minute"  # per IP, whoever is signed in: many accounts behind one script
NEW_ACCOUNT_HOURS = 24


def SUBMIT_LIMIT() -> str:  # noqa: N802 (used like the other limit constants)
    """Stricter for accounts younger than a day: spam and campaigns usually come from new accounts."""
    from datetime import timedelta

    from agora.models._base import utcnow

    created = getattr(current_user, "created_at", None)
    if created is not None and utcnow() - created < timedelta(hours=NEW_ACCOUNT_HOURS):
        return SUBMIT_LIMIT_NEW_ACCOUNT
    return SUBMIT_LIMIT_DEFAULT


def ip_only() -> str:
    return f"ip:{request.remote_addr}"


def user_or_ip() -> str:
    if getattr(current_user, "is_authenticated", False):
        return f"user:{current_user.id}"
    return f"ip:{request.remote_addr}"
