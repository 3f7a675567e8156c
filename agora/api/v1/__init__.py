"""JSON API v1 over the same services as the pages. Errors: {"error": {"code", "message"}}.

The blueprint and its authentication are in ``blueprint``; the route modules register on it when
imported here (they import the blueprint, never this package, so nothing imports in a circle).
"""

from agora.api.v1 import reports, routes  # noqa: F401  (registers the routes)
from agora.api.v1.blueprint import bp, require_user
from agora.services.errors import Forbidden

__all__ = ["Forbidden", "bp", "require_user"]
