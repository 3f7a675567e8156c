"""Text normalisation and hashed n-gram features shared by training and scoring.

Hashing (no vocabulary) keeps the artefact to a weight vector and an IDF vector, and makes
featurising identical on every machine: MurmurHash3 in scikit-learn is fixed.
"""

from __future__ import annotations

import html
import re
import unicodedata

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer

MAX_CHARS = 5000  # what we featurise of a text; the rest cannot change the verdict much
CHAR_FEATURES = 2**18
WORD_FEATURES = 2**17
N_FEATURES = CHAR_FEATURES + WORD_FEATURES
EMBEDDING_DIMENSIONS = 512  # moderation.embeddings, appended to the n-grams in the linear part
EMBEDDING_MODEL = "use-multilingual-v3"
EMBEDDING_WEIGHT = 2.0  # the embedding's share beside the L2-normalised n-grams (measured: 1, 2, 4)

URL_RE = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+\.(?:com|net|org|io|ly|info|biz|xyz|co)(?:/\S*)?\b", re.I)
MENTION_RE = re.compile(r"@\w+")
RETWEET_RE = re.compile(r"(?<!\w)RT\b:?")
TAG_RE = re.compile(r"<[^>]{0,200}>")
REPEAT_RE = re.compile(r"(.)\1{2,}")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")
SPACE_RE = re.compile(r"\s+")


def clean(text: object) -> str:
    """Any input to a bounded, printable string: the one gate against odd payloads."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    text = text[: MAX_CHARS * 2]
    text = CONTROL_RE.sub(" ", text)
    # Lone surrogates would make every later encode() raise.
    text = text.encode("utf-8", "replace").decode("utf-8")
    return text[:MAX_CHARS]


def normalise(text: str) -> str:
    """Remove what is Twitter-specific in the training data so the model learns words, not format."""
    if "&" in text:
        text = html.unescape(text)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    if "<" in text:
        text = TAG_RE.sub(" ", text)
    text = URL_RE.sub(" _url_ ", text)
    text = MENTION_RE.sub(" _user_ ", text)
    text = RETWEET_RE.sub(" ", text)
    text = REPEAT_RE.sub(r"\1\1", text)
    text = text.lower()
    return SPACE_RE.sub(" ", text).strip()


_CHAR = HashingVectorizer(
    analyzer="char_wb",
    ngram_range=(3, 5),
    n_features=CHAR_FEATURES,
    alternate_sign=False,
    norm=None,
    lowercase=False,
    dtype=np.float32,
)
_WORD = HashingVectorizer(
    analyzer="word",
    ngram_range=(1, 2),
    n_features=WORD_FEATURES,
    token_pattern=r"(?u)\b\w+\b",
    alternate_sign=False,
    norm=None,
    lowercase=False,
    dtype=np.float32,
)


def counts(normalised: list[str]) -> sparse.csr_matrix:
    """Raw hashed n-gram counts: character 3–5-grams (spelling variants) and word 1–2-grams."""
    return sparse.hstack([_CHAR.transform(normalised), _WORD.transform(normalised)], format="csr")


def weigh(x: sparse.csr_matrix, idf: np.ndarray) -> sparse.csr_matrix:
    """Sublinear TF × IDF, then L2 per row (rows of zeros stay zero)."""
    x = x.astype(np.float32, copy=True).tocsr()
    data = np.log1p(x.data) * idf[x.indices]
    lengths = np.diff(x.indptr)
    rows = np.repeat(np.arange(x.shape[0]), lengths)
    norms = np.sqrt(np.bincount(rows, weights=data * data, minlength=x.shape[0]))
    norms[norms == 0] = 1.0
    x.data = (data / np.repeat(norms, lengths)).astype(np.float32)
    return x


def margins(normalised: list[str], idf: np.ndarray, coef: np.ndarray, intercept: float) -> np.ndarray:
    """Linear-model margins straight from the hashed blocks: same numbers as ``featurise(...) @ coef``
    without building the stacked matrix (half the per-call overhead for single texts)."""
    n = len(normalised)
    dots = np.zeros(n)
    squares = np.zeros(n)
    for vectoriser, offset in ((_CHAR, 0), (_WORD, CHAR_FEATURES)):
        x = vectoriser.transform(normalised)
        x.sum_duplicates()
        columns = x.indices + offset
        data = np.log1p(x.data.astype(np.float64)) * idf[columns]
        rows = np.repeat(np.arange(n), np.diff(x.indptr))
        dots += np.bincount(rows, weights=data * coef[columns], minlength=n)
        squares += np.bincount(rows, weights=data * data, minlength=n)
    norms = np.sqrt(squares)
    norms[norms == 0] = 1.0
    return dots / norms + intercept


def featurise(texts: list[str], idf: np.ndarray) -> sparse.csr_matrix:
    """Texts (already ``clean``) to the model's input matrix."""
    return weigh(counts([normalise(t) for t in texts]), idf)
