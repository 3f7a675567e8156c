"""Language detection with py3langid's embedded model (numpy arrays, no pickle, no download).

Short or symbol-only texts are hard to identify, so below a confidence floor we say ``None``
rather than guess: a wrong "unsupported language" would switch off the abuse model.
"""
from __future__ import annotations

import re
from functools import lru_cache

MIN_LETTERS = 12  # fewer letters than this: too little evidence, answer None
MIN_CONFIDENCE = 0.80
NOT_A_LANGUAGE = {"zxx", "und", "mis", "mul"}
_LETTER_RE = re.compile(r"[^\W\d_]", re.UNICODE)


@lru_cache(maxsize=1)
def _identifier():
    """Loaded once per process (~50 ms)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect(text: str) -> str | None:
    """ISO 639 code (two letters where one exists) of ``text``, or None when unsure."""
    if len(_LETTER_RE.findall(text[:400])) < MIN_LETTERS:
        return None
    try:
        code, confidence = _identifier().classify(text)
    except Exception:  # a detector failure must never block a submission
        return None
    if confidence < MIN_CONFIDENCE or code in NOT_A_LANGUAGE:
        return None
    return str(code)
