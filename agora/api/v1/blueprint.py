"""The API v1 blueprint and how a caller is authenticated (the routes are in ``routes`` and ``reports``)."""

from flask import Blueprint, g, request
from flask_login import current_user

from agora.extensions import csrf
from agora.services.errors import AgoraError
from agora.web.ratelimits import principal

bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


class Unauthorized(AgoraError):
    status = 401
    code = "unauthorized"


@bp.before_request
def authenticate():
    """Bearer token first; else the browser session, which must then carry a CSRF token."""
    g.api_user = None
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Unauthorized("Use 'Authorization: Bearer <token>'.")
        user = principal()  # the token's owner, looked up once (the rate limiter asked first)
        if user is None:
            raise Unauthorized("This API token is unknown or revoked.")
        g.api_user = user
    elif getattr(current_user, "is_authenticated", False):
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            csrf.protect()
        g.api_user = current_user._get_current_object()


def require_user():
    if g.api_user is None:
        raise Unauthorized("Sign in or send a personal API token to do this.")
    return g.api_user
