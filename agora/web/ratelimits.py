"""Rate limits (Flask-Limiter), keyed by the principal: the signed-in user however they signed in
(session cookie or API bearer token), else the IP address. On top, every write from one IP counts
against one looser shared budget (``application_limits`` in agora/extensions.py), so many
accounts behind one script are slowed too. Socket writes spend the same per-user budgets as their
HTTP routes and the same per-IP ceiling (``spend``)."""

from flask import g, request
from flask_login import current_user

SIGNUP_LIMIT = "10 per hour"
SIGNIN_LIMIT = "10 per minute"
SUBMIT_LIMIT_DEFAULT = "10 per minute; 100 per day"
SUBMIT_LIMIT_NEW_ACCOUNT = "3 per minute; 20 per day"
VOTE_LIMIT = "120 per minute"
HEARING_MESSAGE_LIMIT = "30 per minute; 500 per day"
FLOOR_LIMIT = "10 per minute"
# Per IP, whoever is signed in (many accounts behind one script): AGORA_IP_WRITE_LIMIT, 240 a minute by default.
NEW_ACCOUNT_HOURS = 24
# Budgets shared by routes that do the same thing (a view posted by the form or the API, a vote
# by either): one user has one budget, however many ways in (Flask-Limiter shared limits).
VIEWS_SCOPE = "views"
VOTES_SCOPE = "votes"


def principal():
    """The user this request acts for: an API bearer token's owner (the API's own rule: a token
    is read before the session), else the session's user; None when anonymous. Looked up once
    per request (the limiter asks before the API's own authentication runs)."""
    if "agora_principal" in g:
        return g.agora_principal
    user = None
    header = request.headers.get("Authorization", "") if request.path.startswith("/api/") else ""
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() == "bearer" and secret.strip():
            from agora.services.accounts import accounts

            user = accounts.user_for_token(secret.strip())
    elif getattr(current_user, "is_authenticated", False):
        user = current_user._get_current_object()
    g.agora_principal = user
    return user


def SUBMIT_LIMIT() -> str:  # noqa: N802 (used like the other limit constants)
    """Stricter for accounts younger than a day: spam and campaigns usually come from new accounts."""
    from datetime import timedelta

    from agora.models._base import utcnow

    created = getattr(principal(), "created_at", None)
    if created is not None and utcnow() - created < timedelta(hours=NEW_ACCOUNT_HOURS):
        return SUBMIT_LIMIT_NEW_ACCOUNT
    return SUBMIT_LIMIT_DEFAULT


def ip_only() -> str:
    return f"ip:{request.remote_addr}"


def user_or_ip() -> str:
    user = principal()
    if user is not None:
        return f"user:{user.id}"
    return f"ip:{request.remote_addr}"


def _counter_keys(key: str, scope: str) -> tuple:
    """The identifiers Flask-Limiter counts a limit under (its key prefix, if one is configured)."""
    from agora.extensions import limiter

    prefix = getattr(limiter, "_key_prefix", "")
    return (prefix, key, scope) if prefix else (key, scope)


def ip_ceiling() -> list:
    """The per-IP ceiling's counters (``application_limits``), exactly as Flask-Limiter keeps them
    for a POST from this address: a socket write spends the budget HTTP writes spend."""
    from agora.extensions import limiter

    return [
        (lim.limit, _counter_keys(lim.key_func(), lim.scope_for(request.endpoint or "", "POST")))
        for lim in limiter.limit_manager.application_limits
    ]


def spend(limit=None, scope: str | None = None) -> bool:
    """Count one socket write against the per-IP ceiling every write from this address shares,
    and, when its HTTP route has one, that route's limit, in the very counters Flask-Limiter keeps
    (the same key, and the same scope: the route's endpoint, or a shared limit's scope), so a form
    post and a socket event share one budget. False (nothing counted) when any window is full."""
    from agora.services import throttle

    counters = ip_ceiling()
    if limit is not None:
        key = user_or_ip()
        counters += [
            (item, _counter_keys(key, scope)) for item in throttle.limits_of(limit() if callable(limit) else limit)
        ]
    if not throttle.allowed(counters):
        return False
    throttle.spend(counters)
    return True
