"""Rate limits, per user when signed in, else per IP address (Flask-Limiter)."""
from flask import request
from flask_login import current_user

SIGNUP_LIMIT = "10 per hour"
SIGNIN_LIMIT = "10 per minute"
SUBMIT_LIMIT = "10 per minute; 100 per day"
VOTE_LIMIT = "120 per minute"


def user_or_ip() -> str:
    if getattr(current_user, "is_authenticated", False):
        return f"user:{current_user.id}"
    return f"ip:{request.remote_addr}"
