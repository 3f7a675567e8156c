"""Rule signals for spam and shouting, and a per-author posting-flood tracker.

Rules, not a model: we have no labelled spam from civic platforms, and rules give reasons a
moderator (and the participant) can read.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from typing import Any

from .features import MAX_CHARS, URL_RE

LINK_FLOOD = 3  # this many links in one submission is a link flood
REPEAT_RUN = 6  # the same character this many times in a row
CAPS_MIN_LETTERS = 16
CAPS_RATIO = 0.8

_REPEAT_CHAR_RE = re.compile(rf"(\S)\1{{{REPEAT_RUN - 1},}}")
REPEAT_WORDS = 5  # the same word this many times in a row
_MARKUP_RE = re.compile(r"<\s*/?\s*(script|iframe|object|embed|style|img|svg|a)\b|javascript:|on\w+\s*=", re.I)
_PROMO_RES = [
    re.compile(p, re.I)
    for p in (
        r"\b(buy|order|shop) (now|today|online)\b",
        r"\bclick (here|the link|below)\b",
        r"\b(limited|special|exclusive) (time )?offer\b",
        r"\b(promo|coupon|discount) code\b",
        r"\b\d{1,2} ?% off\b",
        r"\b(free|cheap|discount(ed)?) (money|gift|iphone|pills|followers|likes|shipping|trial)\b",
        r"\b(earn|make) \$?\d[\d,]* ?(\$|dollars|usd|euros?)? ?(a|per|every) (day|week|hour|month)\b",
        r"\bwork(ing)? from home\b",
        r"\b(crypto|bitcoin|btc|forex|nft)s? (investment|trading|profit|signals|giveaway)\b",
        r"\b(viagra|cialis|casino bonus|payday loans?|escort)\b",
        r"\b(dm|message|text|whatsapp|telegram) me\b",
        r"\b(follow|subscribe to) (me|my|our)\b",
        r"\b(check out|visit) (my|our) (site|website|channel|page|store|shop)\b",
        r"\bcall now\b|\bact now\b|\b100% (free|guaranteed)\b",
        r"(\+?\d[\d\-\s().]{8,}\d)",
        r"\$\$+|€€+",
    )
]
# Words (or characters) one of the patterns needs: most texts contain none, and then no pattern runs.
_PROMO_TRIGGERS = frozenset(
    "buy order shop click offer promo coupon discount off free cheap discounted earn make work working "
    "crypto bitcoin btc forex nft viagra cialis casino payday loan loans escort dm message text whatsapp "
    "telegram follow subscribe check visit call act 100".split()
)
_WORDS_RE = re.compile(r"\w+")
_DIGITS_RE = re.compile(r"\d[\d\-\s().]{8,}\d|\$\$|€€")


def _promo_hits(text: str, words: list[str]) -> int:
    if not (_PROMO_TRIGGERS.intersection(words) or _DIGITS_RE.search(text)):
        return 0
    return sum(1 for r in _PROMO_RES if r.search(text))


def _repeated_words(words: list[str]) -> bool:
    run = 1
    for previous, word in zip(words, words[1:]):
        run = run + 1 if word == previous else 1
        if run >= REPEAT_WORDS:
            return True
    return False


@dataclass(frozen=True)
class Signals:
    """What the rules saw in one text: a spam strength in [0, 1] and machine-readable reasons."""

    spam: float
    reasons: tuple[str, ...]


def _noisy_or(weights: list[float]) -> float:
    """Independent pieces of evidence combine: 1 − Π(1 − w)."""
    p = 1.0
    for w in weights:
        p *= 1.0 - w
    return round(1.0 - p, 4)


def signals(text: str, original_length: int | None = None) -> Signals:
    """Spam evidence in an already cleaned text."""
    reasons: list[str] = []
    weights: list[float] = []
    if not text.strip():
        return Signals(0.0, ("empty",))
    words = _WORDS_RE.findall(text.lower())
    links = len(URL_RE.findall(text)) if ("." in text or "://" in text) else 0
    if links >= LINK_FLOOD:
        reasons.append("link_flood")
        weights.append(min(0.95, 0.55 + 0.1 * (links - LINK_FLOOD)))
    elif links:
        weights.append(0.15 * links)
    if _REPEAT_CHAR_RE.search(text) or _repeated_words(words):
        reasons.append("repeated_chars")
        weights.append(0.3)
    upper = sum(map(str.isupper, text))
    if upper >= CAPS_MIN_LETTERS * CAPS_RATIO:
        cased = upper + sum(map(str.islower, text))
        if cased >= CAPS_MIN_LETTERS and upper / cased >= CAPS_RATIO:
            reasons.append("all_caps")
            weights.append(0.25)
    promo = _promo_hits(text, words)
    if promo:
        reasons.append("promotional")
        weights.append(min(0.9, 0.3 + 0.25 * (promo - 1)))
    if ("<" in text or "=" in text or ":" in text) and _MARKUP_RE.search(text):
        reasons.append("markup")
        weights.append(0.35)
    if original_length is not None and original_length > MAX_CHARS:
        reasons.append("truncated")
    return Signals(_noisy_or(weights), tuple(reasons))


class FloodTracker:
    """Answers "is this author posting too much, too fast?" over a sliding time window.

    In memory and per process: the app keeps one per consultation or hearing (or rebuilds it
    from recent submissions). ``observe`` records the post and says whether it is a flood.
    """

    def __init__(self, max_posts: int = 5, window_seconds: float = 60.0, max_authors: int = 100_000):
        self.max_posts = max_posts
        self.window = window_seconds
        self.max_authors = max_authors
        self._times: dict[object, deque[float]] = {}

    def observe(self, author: object, timestamp: float) -> bool:
        """Record one post (timestamp in seconds, or a datetime); True when the author has more
        than ``max_posts`` in the window."""
        timestamp = _seconds(timestamp)
        times = self._times.get(author)
        if times is None:
            if len(self._times) >= self.max_authors:
                self.prune(timestamp)
            times = self._times[author] = deque()
        times.append(float(timestamp))
        while times and times[0] <= timestamp - self.window:
            times.popleft()
        return len(times) > self.max_posts

    def is_flooding(self, author: object, timestamp: float) -> bool:
        """Without recording: would the author be over the limit at ``timestamp``?"""
        timestamp = _seconds(timestamp)
        times = self._times.get(author, ())
        return sum(1 for t in times if t > timestamp - self.window) > self.max_posts

    def prune(self, now: float) -> None:
        """Forget authors with no post in the window, so memory stays bounded."""
        now = _seconds(now)
        for author in [a for a, t in self._times.items() if not t or t[-1] <= now - self.window]:
            del self._times[author]


def _seconds(timestamp: Any) -> float:
    """Seconds since the epoch from a number or a (timezone-aware) datetime."""
    return float(timestamp.timestamp()) if hasattr(timestamp, "timestamp") else float(timestamp)
