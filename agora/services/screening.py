"""Screening: ask the moderation library for a score and turn it into a state.

The ML never deletes: it publishes, or holds for a person to decide. If the model cannot be
loaded or scoring fails, the submission stays "pending" and nothing unscreened is published.
"""
import logging
import threading
from dataclasses import dataclass

log = logging.getLogger(__name__)

_lock = threading.Lock()
_moderator = None
_load_failed = False


@dataclass(frozen=True)
class Screening:
    state: str  # published | held | pending
    abuse: float | None
    spam: float | None
    language: str | None
    reasons: tuple[str, ...]
    model_version: str | None
    likely_violation: bool


def moderator():
    """The loaded model, shared by the process; None when it cannot be loaded."""
    global _moderator, _load_failed
    if _moderator is None and not _load_failed:
        with _lock:
            if _moderator is None and not _load_failed:
                try:
                    from moderation import Moderator

                    _moderator = Moderator.load()
                except Exception:
                    _load_failed = True
                    log.exception("moderation model could not be loaded; submissions stay pending")
    return _moderator


def model_version() -> str | None:
    model = moderator()
    return getattr(model, "version", None) if model else None


def screen(text: str, hold_threshold: float | None = None, reject_threshold: float | None = None) -> Screening:
    model = moderator()
    if model is None:
        return Screening("pending", None, None, None, ("scoring_unavailable",), None, False)
    try:
        thresholds = _thresholds(model, hold_threshold, reject_threshold)
        score = model.score([text], thresholds=thresholds)[0] if thresholds else model.score([text])[0]
    except Exception:
        log.exception("scoring failed; submission kept pending")
        return Screening("pending", None, None, None, ("scoring_failed",), model_version(), False)
    state = "published" if score.decision == "publish" else "held"
    return Screening(
        state=state,
        abuse=float(score.abuse),
        spam=float(score.spam),
        language=score.language,
        reasons=tuple(score.reasons),
        model_version=getattr(model, "version", None),
        likely_violation=score.decision == "reject",
    )


def _thresholds(model, hold, reject):
    if hold is None and reject is None:
        return None
    from moderation.classify import Thresholds

    default = model.thresholds
    return Thresholds(
        hold=hold if hold is not None else default.hold,
        reject=reject if reject is not None else default.reject,
    )
