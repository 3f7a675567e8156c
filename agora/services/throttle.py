"""Counters for limits checked by hand rather than by a route decorator (failed sign-ins, socket
events), kept where Flask-Limiter keeps its own: the same storage (memory, or Redis when scaled
out) through the same `limits` library. If that storage fails, this process counts in memory
until it answers again, as Flask-Limiter does; with rate limiting turned off nothing is counted."""

import logging

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter, RateLimiter

log = logging.getLogger(__name__)
_fallback = FixedWindowRateLimiter(MemoryStorage())


def _strategy() -> RateLimiter | None:
    from flask import current_app

    from agora.extensions import limiter

    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return None
    return limiter.limiter


def _call(method: str, item: RateLimitItem, keys: tuple) -> bool:
    strategy = _strategy()
    if strategy is None:
        return True
    try:
        return getattr(strategy, method)(item, *keys)
    except Exception:  # the storage is down (Redis): count in this process meanwhile
        log.warning("rate-limit storage unavailable; counting in memory", exc_info=True)
        return getattr(_fallback, method)(item, *keys)


def allowed(counters: list[tuple[RateLimitItem, tuple]]) -> bool:
    """Whether one more event fits every (limit, identifiers) counter; counts nothing."""
    return all(_call("test", item, keys) for item, keys in counters)


def spend(counters: list[tuple[RateLimitItem, tuple]]) -> None:
    for item, keys in counters:
        _call("hit", item, keys)


def clear(item: RateLimitItem, keys: tuple) -> None:
    strategy = _strategy()
    if strategy is None:
        return
    try:
        strategy.clear(item, *keys)
    except Exception:
        log.warning("rate-limit storage unavailable; counter not cleared", exc_info=True)
    _fallback.clear(item, *keys)


def limits_of(limit: str) -> list[RateLimitItem]:
    """'10 per minute; 100 per day' as limit items."""
    return parse_many(limit)
