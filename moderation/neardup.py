"""Near-duplicate detection with banded MinHash (LSH): sub-linear, no all-pairs comparison.

Campaigns (the same text with small edits, from one or many accounts) are grouped so the app can
disclose "412 near-identical submissions" instead of silently deleting them. The index is
plain data (``to_dict`` / ``from_dict``), so it can be stored or rebuilt from texts at start-up.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.utils import murmurhash3_32

from .features import clean, normalise

_WORD_RE = re.compile(r"\w+", re.UNICODE)


def shingles(text: str, k: int = 5) -> np.ndarray:
    """Hashed character k-grams of the normalised words: robust to punctuation, case and small edits."""
    words = " ".join(_WORD_RE.findall(normalise(clean(text))))
    if not words:
        return np.zeros(0, dtype=np.uint64)
    grams = {words[i : i + k] for i in range(max(1, len(words) - k + 1))}
    return np.fromiter((murmurhash3_32(g, seed=17, positive=True) for g in grams), dtype=np.uint64, count=len(grams))


class NearDuplicateIndex:
    """MinHash signatures bucketed by band; candidates are confirmed by estimated Jaccard.

    With 20 bands of 6 rows a pair at Jaccard 0.8 is found with probability > 0.99 and a pair
    at 0.3 with probability < 0.02; ``threshold`` then filters the candidates.
    """

    def __init__(self, threshold: float = 0.7, bands: int = 20, rows: int = 6, seed: int = 1):
        self.threshold = threshold
        self.bands = bands
        self.rows = rows
        self.seed = seed
        rng = np.random.default_rng(seed)
        n = bands * rows
        # Multiply-shift hashing: (a·x + b) mod 2^64 with odd a, keep the top 32 bits.
        self._a = rng.integers(0, 2**64 - 1, size=n, dtype=np.uint64, endpoint=True) | np.uint64(1)
        self._b = rng.integers(0, 2**64 - 1, size=n, dtype=np.uint64, endpoint=True)
        self._signatures: dict[object, np.ndarray] = {}
        self._buckets: dict[tuple[int, bytes], list[object]] = defaultdict(list)
        self._parent: dict[object, object] = {}
        self._order: dict[object, int] = {}
        self.comparisons = 0  # signatures compared so far: shows the index avoids all-pairs work

    def __len__(self) -> int:
        return len(self._signatures)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._signatures

    def signature(self, text: str) -> np.ndarray:
        """MinHash signature (uint32 per permutation) of a text; all-max for an empty text."""
        sh = shingles(text)
        if sh.size == 0:
            return np.full(self.bands * self.rows, 0xFFFFFFFF, dtype=np.uint32)
        with np.errstate(over="ignore"):
            h = (self._a * sh[:, None] + self._b) >> np.uint64(32)
        signature: np.ndarray = h.min(axis=0).astype(np.uint32)
        return signature

    def add(self, item_id: object, text: str) -> list[object]:
        """Index a text; return ids of earlier items that are near-duplicates of it (oldest first)."""
        return self.add_signature(item_id, self.signature(text))

    def add_signature(self, item_id: object, sig: np.ndarray, matches: Sequence[object] | None = None) -> list[object]:
        """Index a stored signature (cheap start-up rebuild); same answer as ``add``.

        ``matches``: its near-duplicates already in the index, if the caller has just looked them up
        (``query_signature``), so they are not looked up twice."""
        sig = np.asarray(sig, dtype=np.uint32)
        matches = self._query(sig, exclude=item_id) if matches is None else list(matches)
        if item_id in self._signatures:
            return matches
        self._signatures[item_id] = sig
        self._parent[item_id] = item_id
        self._order[item_id] = len(self._order)
        empty = bool((sig == 0xFFFFFFFF).all())
        if not empty:
            for band, key in enumerate(self._band_keys(sig)):
                self._buckets[(band, key)].append(item_id)
        for other in matches:
            self._union(item_id, other)
        return matches

    def query(self, text: str) -> list[object]:
        """Near-duplicates of a text already in the index, without adding it."""
        return self._query(self.signature(text), exclude=None)

    def query_signature(self, sig: np.ndarray) -> list[object]:
        """``query`` for a signature already computed (``signature``)."""
        return self._query(np.asarray(sig, dtype=np.uint32), exclude=None)

    def similar_among(self, sig: np.ndarray, others: Sequence[np.ndarray | None]) -> list[int]:
        """Positions in ``others`` of near-duplicates of ``sig`` (estimated Jaccard ≥ threshold),
        compared in one array operation; empty texts and None never match."""
        positions = [i for i, other in enumerate(others) if other is not None]
        if not positions or bool((sig == 0xFFFFFFFF).all()):
            return []
        agreement = (np.stack([other for other in others if other is not None]) == sig).mean(axis=1)
        return [i for i, share in zip(positions, agreement) if share >= self.threshold]

    def campaigns(self, min_size: int = 2) -> list[tuple[object, ...]]:
        """Groups of near-identical items (transitively linked), largest first, ids in insertion order."""
        groups: dict[object, list[object]] = defaultdict(list)
        for item_id in self._signatures:
            groups[self._find(item_id)].append(item_id)
        out = [tuple(g) for g in groups.values() if len(g) >= min_size]
        out.sort(key=len, reverse=True)
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data: parameters and signatures in insertion order."""
        return {
            "threshold": self.threshold,
            "bands": self.bands,
            "rows": self.rows,
            "seed": self.seed,
            "items": [[item_id, sig.tolist()] for item_id, sig in self._signatures.items()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NearDuplicateIndex:
        """Rebuild an index from ``to_dict`` output; groups are recomputed as items are re-added."""
        index = cls(data["threshold"], data["bands"], data["rows"], data["seed"])
        for item_id, sig in data["items"]:
            index.add_signature(item_id if not isinstance(item_id, list) else tuple(item_id), sig)
        return index

    def _band_keys(self, sig: np.ndarray) -> list[bytes]:
        return [sig[b * self.rows : (b + 1) * self.rows].tobytes() for b in range(self.bands)]

    def _query(self, sig: np.ndarray, exclude: object) -> list[object]:
        if bool((sig == 0xFFFFFFFF).all()):
            return []
        candidates: dict[object, None] = {}
        for band, key in enumerate(self._band_keys(sig)):
            for other in self._buckets.get((band, key), ()):
                if other != exclude:
                    candidates[other] = None
        if not candidates:
            return []
        self.comparisons += len(candidates)
        # one array operation for all candidates: a letter-writing campaign brings hundreds of them
        others = list(candidates)
        agreement = (np.stack([self._signatures[other] for other in others]) == sig).mean(axis=1)
        out = [other for other, share in zip(others, agreement) if share >= self.threshold]
        return sorted(out, key=self._order.__getitem__)

    def _find(self, item_id: object) -> object:
        root = item_id
        while self._parent[root] != root:
            root = self._parent[root]
        while self._parent[item_id] != root:
            self._parent[item_id], item_id = root, self._parent[item_id]
        return root

    def _union(self, a: object, b: object) -> None:
        ra, rb = self._find(a), self._find(b)
        if ra != rb:
            self._parent[ra] = rb
