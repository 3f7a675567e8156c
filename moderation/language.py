"""Language detection with py3langid's embedded model (numpy arrays, no pickle, no download).

Short or symbol-only texts are hard to identify, so below a confidence floor we say ``None``
rather than guess: a wrong "unsupported language" would switch off the abuse model.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

MIN_LETTERS = 12  # fewer letters than this: too little evidence, answer None (a CJK character counts 3)
MIN_CONFIDENCE = 0.80
NOT_A_LANGUAGE = {"zxx", "und", "mis", "mul"}
# The six official languages of the UN, which most views on Agora are written in: a short text
# the open detector is unsure of is asked again among these alone (see ``detect``).
UN_LANGUAGES = ("ar", "en", "es", "fr", "ru", "zh")
UN_CONFIDENCE = 0.99
UN_OPEN_FLOOR = 0.30
_SAME_AS = {"wuu": "zh", "yue": "zh", "cmn": "zh", "arz": "ar", "ary": "ar", "apc": "ar"}
_LETTER_RE = re.compile(r"[^\W\d_]", re.UNICODE)
_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@lru_cache(maxsize=2)
def _identifier(only_un: bool = False) -> Any:
    """Loaded once per process (~50 ms each)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    if only_un:
        identifier.set_languages(list(UN_LANGUAGES))
    return identifier


def detect(text: str) -> str | None:
    """ISO 639 code (two letters where one exists) of ``text``, or None when unsure.

    Short sentences often leave the open detector (~100 languages) unsure between neighbours
    ("Las cuotas de pesca deben seguir a la ciencia.": es 0.76; a Chinese sentence: Wu 0.58).
    When its best guess is a UN language (or a variety of one) and the same text asked among the
    six UN languages alone is that language with ≥ 0.99, we take it; otherwise None."""
    head = text[:400]
    if len(_LETTER_RE.findall(head)) + 2 * len(_CJK_RE.findall(head)) < MIN_LETTERS:
        return None
    try:
        code, confidence = _identifier().classify(text)
        if confidence >= MIN_CONFIDENCE and code not in NOT_A_LANGUAGE:
            return str(code)
        guess = _SAME_AS.get(code, code)
        if confidence < UN_OPEN_FLOOR or guess not in UN_LANGUAGES:
            return None
        un_code, un_confidence = _identifier(True).classify(text)
    except Exception:  # a detector failure must never block a submission
        return None
    return str(un_code) if un_code == guess and un_confidence >= UN_CONFIDENCE else None
