"""Themes: group short texts by what they talk about, label the groups, keep their identities.

Default backend, ``"embeddings"``: multilingual sentence embeddings (``moderation.embeddings``,
USE multilingual v3, shipped in its wheel) -> k-means, with k chosen by the gap statistic (see
``_choose_k``). A view and its translation land close together, so one theme holds every language
that speaks of it (a six-language set: NMI with the topic 0.46, with the language 0.03; TF-IDF
0.01 / 0.74, see ``evaluate_themes``). The caller may pass the vectors it stored (``vectors=``):
a refit then embeds nothing. Each theme is named by a short phrase taken from its own views, the
one closest in meaning to the theme's centre, per language (``labels``), and its quotes cover
its languages.

``backend="tfidf"``: TF-IDF over words (and character bigrams for scripts written without
spaces) -> LSA (truncated SVD) -> k-means; no model at all, ~0.05 ms to place a text, but it
groups by language. Everything ``place`` needs (vocabulary, idf, SVD components, centroids,
thresholds) lives in the ``ThemeSet`` itself, so a snapshot stored as JSON can place new texts
without refitting and without pickle.

Choosing k (``_choose_k``): a geometric grid of k from 2 to min(50, sqrt(n/2)), k-means on a sample
of at most 5,000 texts; TF-IDF and hybrid take the smallest k within 5% of the best mean cosine
silhouette, embeddings the gap statistic's 1-standard-error rule (Tibshirani, Walther & Hastie
2001). On large corpora of short texts both criteria keep improving with k, so there the upper
bound sqrt(n/2) is what decides (bill titles: k=47).

Why one module of ~900 lines: one algorithm whose steps (vectorising, fitting, choosing k,
naming, placement) share the ThemeSet and its private helpers; the evaluation is apart
(``evaluate_themes``).
"""

from __future__ import annotations

import base64
import math
import re
import unicodedata
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from moderation.embeddings import DIMENSIONS

if TYPE_CHECKING:  # scipy is imported where used
    from scipy import sparse

__all__ = ["Theme", "ThemeSet", "fit", "place", "tokenize"]

# Scripts written without spaces between words: we index character bigrams for them.
_NO_SPACE = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x20000, 0x2FA1F),
)
_NO_SPACE_CLASS = "".join(f"{chr(a)}-{chr(b)}" for a, b in _NO_SPACE)
_EMOJI_CLASS = "\u2600-\u27bf\U0001f300-\U0001faff"
_WORD_RE = re.compile(rf"([{_EMOJI_CLASS}])|([{_NO_SPACE_CLASS}]+)|([^\W\d_]+(?:['’][^\W\d_]+)*)|\d+", re.UNICODE)

# English function words plus the boilerplate of petitions and bill titles; the idf cut-off
# (``max_df``) removes the rest of a corpus' own boilerplate.
_STOP = frozenset(
    """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it its
    itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them themselves
    then there these they this those through to too under until up very was we were what when where
    which while who whom why will with would you your yours yourself yourselves shall may might must
    etc e g ie us via per upon within without amend act purposes purpose provide certain other""".split()
)


def tokenize(text: str) -> list[str]:
    """Unicode-aware terms of a text: lower-cased words, word bigrams, and character bigrams
    (plus single characters) inside runs of CJK/Thai-like scripts that have no spaces."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    words: list[str] = []
    terms: list[str] = []
    stop = _STOP
    for emoji, run, word in _WORD_RE.findall(text):
        if word:
            if word in stop or len(word) < 2:
                words.append("")
            else:
                words.append(word)
                terms.append(word)
        elif run:
            terms.extend(run)
            terms.extend(run[i : i + 2] for i in range(len(run) - 1))
            words.append("")  # break word bigrams across such runs
        else:
            # emoji carry meaning in short texts (kept as single terms); digits break bigrams
            if emoji:
                terms.append(emoji)
            words.append("")
    prev = ""
    for word in words:
        if prev and word:
            terms.append(prev + " " + word)
        prev = word
    return terms


@dataclass(frozen=True)
class Theme:
    """One theme: a stable id, a short label, its key terms and the texts that best show it.

    ``labels``: the theme's name in each language it has views in (``label`` is the one of its
    most common language); ``languages``: how many of its views are in each language.
    """

    id: int
    label: str
    terms: tuple[str, ...]
    size: int
    share: float
    representatives: tuple[int, ...]
    labels: dict[str, str] = field(default_factory=dict)
    languages: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ThemeSet:
    """The result of one clustering run, and everything needed to place new texts into it."""

    assignments: list[int]
    themes: list[Theme]
    coords: list[tuple[float, float]]
    k_chosen_by: str
    next_id: int
    model: dict[str, Any] = field(repr=False)  # arrays, the vocabulary, the backend's name: see ``fit``

    def theme(self, theme_id: int) -> Theme:
        """The theme with this id; KeyError if absent."""
        for theme in self.themes:
            if theme.id == theme_id:
                return theme
        raise KeyError(theme_id)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (arrays as base64 float32) for storing a snapshot."""
        return {
            "version": 1,
            "assignments": list(self.assignments),
            "themes": [
                {
                    "id": t.id,
                    "label": t.label,
                    "terms": list(t.terms),
                    "size": t.size,
                    "share": t.share,
                    "representatives": list(t.representatives),
                    "labels": dict(t.labels),
                    "languages": dict(t.languages),
                }
                for t in self.themes
            ],
            "coords": [[x, y] for x, y in self.coords],
            "k_chosen_by": self.k_chosen_by,
            "next_id": self.next_id,
            "model": {
                key: (_encode(value) if isinstance(value, np.ndarray) else value) for key, value in self.model.items()
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ThemeSet:
        """Rebuild a ThemeSet stored with ``to_dict``; ``place`` works on it directly."""
        if data.get("version") != 1:
            raise ValueError(f"unknown ThemeSet version {data.get('version')!r}")
        model = {
            key: (_decode(value) if isinstance(value, dict) and "b64" in value else value)
            for key, value in data["model"].items()
        }
        themes = [
            Theme(
                id=int(t["id"]),
                label=t["label"],
                terms=tuple(t["terms"]),
                size=int(t["size"]),
                share=float(t["share"]),
                representatives=tuple(int(i) for i in t["representatives"]),
                labels=dict(t.get("labels", {})),
                languages={k: int(v) for k, v in t.get("languages", {}).items()},
            )
            for t in data["themes"]
        ]
        return cls(
            assignments=[int(a) for a in data["assignments"]],
            themes=themes,
            coords=[(float(x), float(y)) for x, y in data["coords"]],
            k_chosen_by=data["k_chosen_by"],
            next_id=int(data["next_id"]),
            model=model,
        )


def _encode(array: np.ndarray) -> dict[str, Any]:
    array = np.ascontiguousarray(array, dtype=np.float32)
    return {"b64": base64.b64encode(array.tobytes()).decode("ascii"), "shape": list(array.shape)}


def _decode(value: dict[str, Any]) -> np.ndarray:
    raw = base64.b64decode(value["b64"])
    return np.frombuffer(raw, dtype=np.float32).reshape(value["shape"]).copy()


# --------------------------------------------------------------------------- vectorising


class _Vectorizer:
    """TF-IDF (sublinear tf, smooth idf, l2) over ``tokenize`` terms; rebuildable from a dict."""

    def __init__(self, vocabulary: dict[str, int], idf: np.ndarray):
        self.vocabulary = vocabulary
        self.idf = idf

    @classmethod
    def fit_transform(
        cls, token_lists: Sequence[Sequence[str]], max_features: int, max_df: float = 0.5, min_df: int = 2
    ) -> tuple[_Vectorizer, sparse.csr_matrix]:
        """Learn vocabulary and idf, and return the TF-IDF matrix, in one counting pass."""
        from scipy import sparse

        n = len(token_lists)
        seen: dict[str, int] = {}
        indices: list[int] = []
        indptr = [0]
        for terms in token_lists:
            indices.extend(seen.setdefault(t, len(seen)) for t in terms)
            indptr.append(len(indices))
        counts = sparse.csr_matrix(
            (np.ones(len(indices)), np.asarray(indices, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
            shape=(n, len(seen)),
        )
        counts.sum_duplicates()
        df = np.bincount(counts.indices, minlength=len(seen))
        min_df = min_df if n >= 20 else 1
        limit = max(max_df * n, 2) if n >= 20 else n + 1
        names = np.array(list(seen), dtype=object)
        ok = np.flatnonzero((df >= min_df) & (df <= limit))
        if len(ok) > max_features:  # keep the most frequent terms, ties broken by the term
            order = sorted(ok, key=lambda j: (-df[j], names[j]))
            ok = np.array(order[:max_features])
        ok = ok[np.argsort(names[ok].astype(str), kind="stable")] if len(ok) else ok
        vocabulary = {str(names[j]): i for i, j in enumerate(ok)}
        idf = np.log((1 + n) / (1 + df[ok].astype(np.float64))) + 1.0
        vectorizer = cls(vocabulary, idf)
        return vectorizer, vectorizer._weigh(counts[:, ok].tocsr())

    def _weigh(self, matrix: sparse.csr_matrix) -> sparse.csr_matrix:
        """Counts -> l2-normalised sublinear TF-IDF."""
        from scipy import sparse

        matrix = matrix.astype(np.float64)
        if matrix.nnz:
            matrix.data = 1.0 + np.log(matrix.data)
            matrix = matrix.multiply(self.idf[np.newaxis, :]).tocsr()
            norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
            norms[norms == 0] = 1.0
            matrix = sparse.diags(1.0 / norms) @ matrix
        return matrix.tocsr()

    def transform(self, token_lists: Sequence[Sequence[str]]) -> sparse.csr_matrix:
        """CSR matrix (texts x terms) of l2-normalised sublinear TF-IDF."""
        from scipy import sparse

        indptr = [0]
        indices: list[int] = []
        data: list[float] = []
        vocab = self.vocabulary
        for terms in token_lists:
            counts = Counter(vocab[t] for t in terms if t in vocab)
            indices.extend(counts.keys())
            data.extend(counts.values())
            indptr.append(len(indices))
        matrix = sparse.csr_matrix(
            (np.asarray(data, dtype=np.float64), np.asarray(indices, dtype=np.int64), indptr),
            shape=(len(token_lists), len(vocab)),
        )
        return self._weigh(matrix)


def _strings(texts: Iterable[object]) -> list[str]:
    """The texts as strings, None as the empty text."""
    return ["" if t is None else str(t) for t in texts]


def _unit_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    unit: np.ndarray = x / norms
    return unit


# --------------------------------------------------------------------------- fitting


def fit(
    texts: Iterable[str | None],
    k: int | None = None,
    previous: ThemeSet | None = None,
    *,
    backend: str = "embeddings",
    max_k: int | None = None,
    random_state: int = 0,
    vectors: np.ndarray | None = None,
    languages: Sequence[str | None] | None = None,
) -> ThemeSet:
    """Cluster ``texts`` into themes (``k=None``: choose k automatically).

    ``previous``: an earlier ThemeSet; new themes are matched to its themes so ids stay stable,
    and unmatched themes get fresh ids that are never reused.
    ``backend="embeddings"`` (default) clusters multilingual sentence embeddings (k by the gap
    statistic); ``vectors``: their (n, 512) rows when the caller stored them (zero rows count
    as empty texts); ``languages``: each text's language code (or None), for per-language labels
    and quotes. ``"hybrid"`` clusters embeddings and LSA vectors side by side (0.7 / 0.3);
    ``"tfidf"`` words only (groups by language; no model).
    """
    texts = _strings(texts)
    if k is not None and (not isinstance(k, (int, np.integer)) or k < 1):
        raise ValueError(f"k must be a positive integer or None, got {k!r}")
    if backend not in ("tfidf", *_EMBEDDING_BACKENDS):
        raise ValueError(f"unknown backend {backend!r}: use 'tfidf', 'embeddings' or 'hybrid'")
    n = len(texts)
    next_id = previous.next_id if previous is not None else 0
    tokens = [tokenize(t) for t in texts]
    max_features = 20000 if n > 20000 else 12000
    vectorizer, tfidf = _Vectorizer.fit_transform(tokens, max_features=max_features)
    nonempty = np.asarray(tfidf.getnnz(axis=1) > 0)

    if backend == "embeddings":  # key terms still come from tf-idf; no LSA needed
        points, components = np.zeros((n, 0)), np.zeros((0, 0), dtype=np.float32)
    else:
        points, components = _lsa(tfidf, nonempty, random_state)
    if backend in _EMBEDDING_BACKENDS:
        embedded = _embedded(texts, vectors)
        if backend == "hybrid":
            points = _combine(points, embedded, nonempty)
        else:
            points = embedded
        nonempty = np.array([bool(t.strip()) for t in texts], dtype=bool) & (np.abs(embedded).sum(axis=1) > 0)

    idx = np.flatnonzero(nonempty)
    # Identical texts count once when choosing k: a pile of duplicates is one theme, not many.
    unique_count = len(set(texts[i] for i in idx)) if len(idx) <= 200000 else len(idx)
    if len(idx) == 0 or unique_count < 2:
        labels = np.full(n, -1, dtype=int)
        if len(idx):
            labels[idx] = 0
        centroids = _unit_rows(points[idx].mean(axis=0, keepdims=True)) if len(idx) else np.zeros((0, points.shape[1]))
        chosen_by = "trivial: fewer than two distinct non-empty texts"
    else:
        # Embeddings are clustered on their leading principal axes (512 -> 64 dimensions: k-means
        # costs a tenth, and the themes' structure lives there); centroids are then the members'
        # mean direction in the full space, where placement and outliers are measured.
        space = _principal_space(points[idx], random_state) if backend in _EMBEDDING_BACKENDS else points[idx]
        if k is not None:
            k_use = int(min(k, unique_count))
            chosen_by = f"given (k={k_use})"
        else:
            criterion = "gap" if backend == "embeddings" else "silhouette"
            k_use, chosen_by = _choose_k(space, unique_count, max_k, random_state, criterion)
        labels_idx, centroids = _kmeans(space, k_use, random_state)
        if space is not points[idx]:
            centroids = _unit_rows(
                np.vstack(
                    [
                        points[idx][labels_idx == c].mean(axis=0)
                        if np.any(labels_idx == c)
                        else np.zeros(points.shape[1])
                        for c in range(len(centroids))
                    ]
                )
            )
        labels = np.full(n, -1, dtype=int)
        labels[idx] = labels_idx

    # Outliers: texts far from their centroid go to -1 rather than blur a theme.
    sims = np.zeros(n)
    if len(centroids):
        assigned = labels >= 0
        sims[assigned] = np.einsum("ij,ij->i", points[assigned], centroids[labels[assigned]])
    thresholds = np.zeros(len(centroids))
    for c in range(len(centroids)):
        member_sims = sims[labels == c]
        if len(member_sims) >= 5:
            # Well below the theme's typical member, but never above an absolute floor.
            cut = float(np.median(member_sims) - 3.0 * _mad(member_sims))
            thresholds[c] = min(max(cut, 0.05), _ABS_FLOOR)
        else:
            thresholds[c] = 0.05
        labels[(labels == c) & (sims < thresholds[c])] = -1

    # Drop empty clusters (all members became outliers), keep the order of the rest.
    keep = [c for c in range(len(centroids)) if np.any(labels == c)]
    remap = {c: i for i, c in enumerate(keep)}
    labels = np.array([remap.get(int(label), -1) if label >= 0 else -1 for label in labels], dtype=int)
    centroids = centroids[keep] if len(keep) else np.zeros((0, points.shape[1]))
    thresholds = thresholds[keep]

    # Stable ids.
    ids, next_id = _match_ids(
        previous, texts, labels, len(keep), next_id, embedded if backend in _EMBEDDING_BACKENDS else None
    )

    themes = []
    terms_per_cluster = _key_terms(tfidf, labels, len(keep), vectorizer)
    langs = [(lang or "und") for lang in languages] if languages is not None else ["und"] * n
    phrase_names = (
        _phrase_labels(texts, langs, labels, centroids, points, tokens)
        if backend in _EMBEDDING_BACKENDS
        else [{} for _ in keep]
    )
    for c in range(len(keep)):
        members = np.flatnonzero(labels == c)
        terms = terms_per_cluster[c]
        counts = Counter(langs[i] for i in members)
        names = phrase_names[c]
        main = next((lang for lang, _ in counts.most_common() if lang in names), None)
        themes.append(
            Theme(
                id=ids[c],
                label=names[main] if main else _label(terms, texts, members),
                terms=tuple(terms),
                size=int(len(members)),
                share=round(len(members) / n, 6) if n else 0.0,
                representatives=tuple(_representatives(points, members, centroids[c], langs=langs)),
                labels=names,
                languages=dict(counts.most_common()),
            )
        )
    order = sorted(range(len(themes)), key=lambda c: -themes[c].size)
    themes = [themes[c] for c in order]
    assignments = [ids[label] if label >= 0 else -1 for label in labels]

    coords, projection = _coords(points, random_state)
    model = {
        "backend": backend,
        "vocabulary": sorted(vectorizer.vocabulary, key=vectorizer.vocabulary.__getitem__),
        "idf": vectorizer.idf.astype(np.float32),
        "components": components,
        "centroids": centroids.astype(np.float32),
        "theme_ids": [int(i) for i in ids],
        "thresholds": thresholds.astype(np.float32),
        "projection": projection.astype(np.float32),
    }
    return ThemeSet(
        assignments=assignments,
        themes=themes,
        coords=coords,
        k_chosen_by=chosen_by,
        next_id=next_id,
        model=model,
    )


_ABS_FLOOR = 0.25
_EMBEDDING_BACKENDS = ("embeddings", "hybrid")
_HYBRID_LSA_WEIGHT = 0.3  # share of squared norm given to LSA; measured on bill titles (evaluate_themes)
_SVD_SAMPLE = 10000
_K_FIT_SAMPLE = 5000
_K_SILHOUETTE_SAMPLE = 2500
_GAP_REFERENCES = 5
_GAP_SAMPLE = 1500  # texts, drawn at random
_GAP_DIMENSIONS = 32


def _combine(lsa: np.ndarray, embedded: np.ndarray, has_terms: np.ndarray) -> np.ndarray:
    """Hybrid space: LSA and embedding unit vectors side by side, weighted, renormalised."""
    lsa = np.where(has_terms[:, None], lsa, 0.0)
    both = np.hstack([math.sqrt(_HYBRID_LSA_WEIGHT) * lsa, math.sqrt(1 - _HYBRID_LSA_WEIGHT) * embedded])
    return _unit_rows(both)


def _mad(values: np.ndarray) -> float:
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def _lsa(tfidf: sparse.csr_matrix, nonempty: np.ndarray, random_state: int) -> tuple[np.ndarray, np.ndarray]:
    """Reduce TF-IDF to a dense semantic space; returns unit rows and the (terms x d) components."""
    from sklearn.decomposition import TruncatedSVD

    n_texts, n_terms = tfidf.shape
    dims = int(min(100, n_terms - 1, max(n_texts - 1, 1)))
    if dims < 2 or nonempty.sum() < 3:
        # Too little to reduce: the tf-idf space itself (identity components).
        components = np.eye(n_terms, dtype=np.float32)
        return _unit_rows(tfidf.toarray()), components
    svd = TruncatedSVD(n_components=dims, algorithm="randomized", n_iter=5, random_state=random_state)
    # Fit the axes on at most 20k texts (they settle long before that), then project everything.
    rows = np.flatnonzero(nonempty)
    if len(rows) > _SVD_SAMPLE:
        rows = np.sort(np.random.default_rng(random_state).choice(rows, _SVD_SAMPLE, replace=False))
    with warnings.catch_warnings():  # rank-deficient input (duplicates) warns about variance ratios
        warnings.simplefilter("ignore", RuntimeWarning)
        svd.fit(tfidf[rows])
    reduced = tfidf @ svd.components_.T
    components = np.ascontiguousarray(svd.components_.T, dtype=np.float32)  # terms x d
    return _unit_rows(reduced), components


def _kmeans(points: np.ndarray, k: int, random_state: int, n_init: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Spherical-ish k-means on unit vectors; MiniBatch for large inputs."""
    from sklearn.cluster import KMeans, MiniBatchKMeans

    k = max(1, min(k, len(points)))
    if len(points) > 20000:
        model = MiniBatchKMeans(
            n_clusters=k, random_state=random_state, batch_size=4096, n_init=n_init, max_no_improvement=20
        )
    else:
        model = KMeans(n_clusters=k, random_state=random_state, n_init=n_init)
    labels = model.fit_predict(points)
    return labels, _unit_rows(model.cluster_centers_)


def _choose_k(
    points: np.ndarray, unique_count: int, max_k: int | None, random_state: int, criterion: str = "silhouette"
) -> tuple[int, str]:
    """Pick k over a grid of candidate k, by the mean cosine silhouette or by the gap statistic.

    Candidates run from 2 to min(50, sqrt(n/2)): the classic rule of thumb k ~ sqrt(n/2) bounds
    the search, and more than 50 themes is unreadable on a dashboard. k-means runs on a sample of
    at most 5,000 texts.

    ``"silhouette"`` (TF-IDF, hybrid): the smallest k whose silhouette is within 5% of the best, so
    near-ties go to fewer, broader themes. Caveat, measured on bill titles: silhouette of short
    texts keeps rising slowly with k, so on large corpora the upper bound is often what decides.

    ``"gap"`` (embeddings): the gap statistic (Tibshirani, Walther & Hastie 2001). Gap(k) is how
    much lower log W_k (k-means' within-cluster sum of squares) is than on reference data drawn
    uniformly in the box of the sample's principal axes (5 draws, standard error s_k); k is the
    smallest candidate with Gap(k) >= Gap(k') - s_k' for the next candidate k', and the upper
    bound if Gap keeps rising. The silhouette does not work on sentence embeddings: every cosine
    between them is high, the curve is flat (bill titles: 0.11-0.12 from k=6 to 23) and the
    tie-break stops early; the reference draws share the embeddings' anisotropy, so the gap
    measures clustering beyond it.
    """
    from sklearn.metrics import silhouette_score

    n = len(points)
    upper = max_k or int(min(50, max(3, math.sqrt(n / 2))))
    upper = max(2, min(upper, unique_count - 1 if unique_count > 2 else 2, n - 1))
    if upper <= 2:
        return 2 if n > 2 else 1, "trivial: too few texts"
    grid = sorted(set(int(round(x)) for x in np.geomspace(2, upper, num=min(10, upper - 1))))
    rng = np.random.default_rng(random_state)
    sample_n = min(n, _K_SILHOUETTE_SAMPLE)
    fit_idx = rng.choice(n, size=_K_FIT_SAMPLE, replace=False) if n > _K_FIT_SAMPLE else np.arange(n)
    fit_points = points[fit_idx]
    if criterion == "gap":
        sample = fit_points[np.sort(rng.permutation(len(fit_points))[:_GAP_SAMPLE])]
        return _choose_k_by_gap(_principal(sample, _GAP_DIMENSIONS), grid, rng, random_state)
    sample = rng.choice(len(fit_points), size=min(len(fit_points), sample_n), replace=False)
    scores = {}
    distances = np.clip(1.0 - fit_points[sample] @ fit_points[sample].T, 0.0, 2.0)  # cosine, once
    np.fill_diagonal(distances, 0.0)
    for kk in grid:
        labels, _ = _kmeans(fit_points, kk, random_state, n_init=1)
        if len(set(labels[sample])) < 2:
            continue
        scores[kk] = float(silhouette_score(distances, labels[sample], metric="precomputed"))
    if not scores:
        return 2, "fallback k=2"
    best = max(scores.values())
    k = min(kk for kk, s in scores.items() if s >= best - 0.05 * abs(best))
    return k, (
        f"silhouette (cosine; k-means on {len(fit_points)} texts, scored on {sample_n}) "
        f"over k in {grid}: k={k}, score={scores[k]:.3f}, best={best:.3f}"
    )


_SPACE_DIMENSIONS = 64
_SPACE_SAMPLE = 5000


def _principal_space(points: np.ndarray, random_state: int) -> np.ndarray:
    """The points on their first 64 principal axes, the axes found on a sample of 5,000
    (randomised SVD): a few hundred milliseconds for 100,000 embeddings, not minutes."""
    if points.shape[1] <= _SPACE_DIMENSIONS or len(points) <= _SPACE_DIMENSIONS:
        return points
    from sklearn.utils.extmath import randomized_svd

    rng = np.random.default_rng(random_state)
    sample = points if len(points) <= _SPACE_SAMPLE else points[rng.choice(len(points), _SPACE_SAMPLE, replace=False)]
    mean = sample.mean(axis=0)
    _, _, vt = randomized_svd(sample - mean, n_components=_SPACE_DIMENSIONS, random_state=random_state)
    projected: np.ndarray = (points - mean) @ vt.T
    return projected


def _principal(points: np.ndarray, dims: int) -> np.ndarray:
    """The points on their first ``dims`` principal axes: choosing k on 512-d embeddings costs
    ten times what it costs there, and the clusters' structure lives in the leading axes."""
    if points.shape[1] <= dims or len(points) <= dims:
        return points
    centred = points - points.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    projected: np.ndarray = centred @ vt[:dims].T
    return projected


def _inertia(points: np.ndarray, k: int, random_state: int) -> float:
    """k-means' within-cluster sum of squares (one k-means++ start)."""
    from sklearn.cluster import KMeans

    return float(KMeans(n_clusters=k, n_init=1, random_state=random_state).fit(points).inertia_)


def _choose_k_by_gap(
    points: np.ndarray, grid: list[int], rng: np.random.Generator, random_state: int
) -> tuple[int, str]:
    """The gap statistic with the 1-standard-error rule over ``grid`` (see ``_choose_k``)."""
    mean = points.mean(axis=0)
    _, _, vt = np.linalg.svd(points - mean, full_matrices=False)
    rotated = (points - mean) @ vt.T
    low, high = rotated.min(axis=0), rotated.max(axis=0)
    references = [rng.uniform(low, high, size=rotated.shape) @ vt + mean for _ in range(_GAP_REFERENCES)]
    gap, spread = {}, {}
    for kk in grid:
        kk_fit = min(kk, len(points))
        observed = math.log(max(_inertia(points, kk_fit, random_state), 1e-12))
        expected = np.array(
            [math.log(max(_inertia(r, kk_fit, random_state + b), 1e-12)) for b, r in enumerate(references)]
        )
        gap[kk] = float(expected.mean() - observed)
        spread[kk] = float(expected.std() * math.sqrt(1 + 1 / _GAP_REFERENCES))
    k = next((a for a, b in zip(grid, grid[1:]) if gap[a] >= gap[b] - spread[b]), grid[-1])
    curve = ", ".join(f"{kk}: {gap[kk]:.3f}" for kk in grid)
    bound = " (still rising: the upper bound)" if k == grid[-1] else ""
    return (
        k,
        f"gap statistic (k-means on {len(points)} texts, {_GAP_REFERENCES} uniform references) {{{curve}}}: k={k}{bound}",
    )


def _match_ids(
    previous: ThemeSet | None,
    texts: list[str],
    labels: np.ndarray,
    n_clusters: int,
    next_id: int,
    vectors: np.ndarray | None = None,
) -> tuple[list[int], int]:
    """Theme ids: Hungarian matching to the previous snapshot, fresh ids for the rest.

    The similarity of a new theme and an old one is the Jaccard overlap between the new theme's
    members and the texts the old snapshot would place into the old theme (``place``), so the two
    runs need not share a vocabulary.
    """
    ids = [-1] * n_clusters
    if previous is not None and previous.themes and n_clusters:
        from scipy.optimize import linear_sum_assignment

        old_ids = [int(i) for i in previous.model["theme_ids"]]
        placed = np.asarray(place(previous, texts, vectors=vectors))
        overlap = np.zeros((n_clusters, len(old_ids)))
        for j, old in enumerate(old_ids):
            in_old = placed == old
            for c in range(n_clusters):
                in_new = labels == c
                inter = np.count_nonzero(in_old & in_new)
                union = np.count_nonzero(in_old | in_new)
                overlap[c, j] = inter / union if union else 0.0
        rows, cols = linear_sum_assignment(-overlap)
        for r, c in zip(rows, cols):
            if overlap[r, c] >= 0.2:
                ids[r] = old_ids[c]
    for c in range(n_clusters):
        if ids[c] < 0:
            ids[c] = next_id
            next_id += 1
    return ids, next_id


def _key_terms(
    tfidf: sparse.csr_matrix, labels: np.ndarray, n_clusters: int, vectorizer: _Vectorizer, top: int = 8
) -> list[list[str]]:
    """Class-based TF-IDF: terms frequent in a theme and rare in the others."""
    if n_clusters == 0:
        return []
    from scipy import sparse

    vocab = sorted(vectorizer.vocabulary, key=vectorizer.vocabulary.__getitem__)
    assigned = labels >= 0
    presence = tfidf[assigned].copy()
    presence.data = np.ones_like(presence.data)
    membership = sparse.csr_matrix(
        (np.ones(int(assigned.sum())), (labels[assigned], np.arange(int(assigned.sum())))),
        shape=(n_clusters, int(assigned.sum())),
    )
    class_counts = np.asarray((membership @ presence).todense())  # clusters x terms (doc freq)
    sizes = np.bincount(labels[assigned], minlength=n_clusters).astype(float)
    tf = class_counts / np.maximum(sizes[:, None], 1)
    totals = class_counts.sum(axis=0)
    mean_size = max(sizes.mean(), 1.0)
    idf = np.log(1 + mean_size / np.maximum(totals, 1))
    scores = tf * idf
    result = []
    for c in range(n_clusters):
        order = np.argsort(-scores[c])
        chosen: list[str] = []
        for t in order:
            if scores[c, t] <= 0 or len(chosen) >= top:
                break
            term = vocab[t]
            # Skip a unigram already inside a chosen bigram, and a bigram whose words are chosen.
            if any(term in other.split() for other in chosen if " " in other):
                continue
            if " " in term and all(w in chosen for w in term.split()):
                chosen = [w for w in chosen if w not in term.split()]
            chosen.append(term)
        result.append(chosen)
    return result


def _label(terms: Sequence[str], texts: list[str], members: np.ndarray) -> str:
    """A short readable label: the top two or three key terms."""
    if terms:
        words = 0
        parts = []
        for term in terms:
            parts.append(term)
            words += len(term.split())
            if words >= 3 or len(parts) == 3:
                break
        return " · ".join(parts)
    if len(members):
        text = " ".join(texts[members[0]].split())
        return text[:40] or "(empty)"
    return "(empty)"


def _representatives(
    points: np.ndarray,
    members: np.ndarray,
    centroid: np.ndarray,
    count: int = 5,
    lam: float = 0.7,
    langs: Sequence[str] | None = None,
) -> list[int]:
    """Central and diverse: maximal marginal relevance over the 50 most central members, then
    the most central member of each of the theme's other languages (up to 3 more), so a reader
    can find a quote in their own language and see the theme's range."""
    if len(members) == 0:
        return []
    sims = points[members] @ centroid
    by_centrality = members[np.argsort(-sims)]
    chosen_ids = _mmr(points, by_centrality[:50], centroid, count, lam)
    if langs is not None:
        have = {langs[i] for i in chosen_ids}
        for i in by_centrality:
            if len(chosen_ids) >= count + 3:
                break
            if langs[i] not in have:
                have.add(langs[i])
                chosen_ids.append(int(i))
    return chosen_ids


def _mmr(points: np.ndarray, pool: np.ndarray, centroid: np.ndarray, count: int, lam: float) -> list[int]:
    """Maximal marginal relevance: central members that do not repeat each other."""
    pool_sims = points[pool] @ centroid
    chosen = [0]
    pair = points[pool] @ points[pool].T
    while len(chosen) < min(count, len(pool)):
        redundancy = pair[:, chosen].max(axis=1)
        score = lam * pool_sims - (1 - lam) * redundancy
        score[chosen] = -np.inf
        nxt = int(np.argmax(score))
        if redundancy[nxt] > 0.999 and len(set(np.round(redundancy, 6))) == 1:
            break
        chosen.append(nxt)
    return [int(pool[i]) for i in chosen]


def _embedded(texts: Sequence[str], vectors: np.ndarray | None) -> np.ndarray:
    """The texts' embeddings: the caller's stored rows where given, else computed now."""
    if vectors is not None:
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.shape != (len(texts), DIMENSIONS):
            raise ValueError(f"vectors must have shape ({len(texts)}, {DIMENSIONS}), got {vectors.shape}")
        return _unit_rows(vectors)
    from moderation import embeddings

    return embeddings.encode(texts)


# --------------------------------------------------------------------------- naming


_CLAUSE_RE = re.compile(r"[.!?;:,()\[\]\"“”«»。！？；：，、（）\n]+")
_LABEL_MEMBERS = 12  # the most central views of each language give the candidate phrases
_LABEL_CANDIDATES = 24  # per theme and language: each costs an embedding (~1.5 ms)
_LABEL_CHARS = 48


def _phrase_labels(
    texts: list[str],
    langs: list[str],
    labels: np.ndarray,
    centroids: np.ndarray,
    points: np.ndarray,
    tokens: list[list[str]],
) -> list[dict[str, str]]:
    """Per theme, per language: the short phrase from the theme's own views closest in meaning
    to the theme's centre (not a bag of key words).

    Candidates are 2-6 word spans inside clauses (4-14 characters in scripts without spaces) of
    the theme's most central views in that language. A span may not begin or end with a filler
    word: one found in more than 8 % of all the texts (whatever the language: the corpus tells
    us its own function words) or an English stop word. A span of capitalised words only (a
    place or a name) is scored lower. Ties go to the shorter span. One batch of embeddings for
    every candidate of every theme.
    """
    n_clusters = len(centroids)
    if n_clusters == 0:
        return []
    df = Counter(w for terms in tokens for w in set(terms) if " " not in w)
    filler = {w for w, c in df.items() if c > 0.08 * len(texts) and len(texts) >= 25} | _STOP
    candidates: list[tuple[int, str, str, float]] = []  # (theme, language, phrase, penalty)
    for c in range(n_clusters):
        members = np.flatnonzero(labels == c)
        if not len(members):
            continue
        order = members[np.argsort(-(points[members] @ centroids[c]))]
        per_lang: dict[str, list[int]] = {}
        for i in order:
            bucket = per_lang.setdefault(langs[i], [])
            if len(bucket) < _LABEL_MEMBERS:
                bucket.append(int(i))
        for lang, rows in per_lang.items():
            seen: dict[str, float] = {}
            for i in rows:
                for phrase, penalty in _spans(texts[i], filler):
                    key = phrase.casefold()
                    if key not in seen:
                        seen[key] = penalty
                        candidates.append((c, lang, phrase, penalty))
                    if len(seen) >= _LABEL_CANDIDATES:
                        break
                if len(seen) >= _LABEL_CANDIDATES:
                    break
    names: list[dict[str, str]] = [{} for _ in range(n_clusters)]
    if not candidates:
        return names
    from moderation import embeddings

    vectors = embeddings.encode([phrase for _, _, phrase, _ in candidates])
    best: dict[tuple[int, str], tuple[float, str]] = {}
    for (c, lang, phrase, penalty), vector in zip(candidates, vectors):
        score = float(vector @ centroids[c]) - penalty - 0.002 * len(phrase)
        if (c, lang) not in best or score > best[(c, lang)][0]:
            best[(c, lang)] = (score, phrase)
    for (c, lang), (_, phrase) in best.items():
        names[c][lang] = phrase
    return names


def _spans(text: str, filler: set[str]) -> list[tuple[str, float]]:
    """Candidate name phrases of one text, with a penalty (see ``_phrase_labels``)."""
    out = []
    for clause in _CLAUSE_RE.split(unicodedata.normalize("NFC", text)):
        clause = clause.strip()
        if not clause:
            continue
        if re.search(f"[{_NO_SPACE_CLASS}]", clause) and " " not in clause.strip():
            run = clause[:60]
            for size in (4, 6, 8, 10, 14):
                for start in range(0, max(1, len(run) - size + 1), 2):
                    piece = run[start : start + size]
                    if len(piece) >= 2:
                        out.append((piece, 0.0))
            continue
        words = clause.split()
        for size in range(2, 7):
            for start in range(0, len(words) - size + 1):
                span = words[start : start + size]
                first = span[0].casefold().strip("'’-")
                last = span[-1].casefold().strip("'’-")
                if first in filler or last in filler or not any(ch.isalpha() for ch in first + last):
                    continue
                phrase = " ".join(span)
                if len(phrase) > _LABEL_CHARS:
                    break
                proper = all(w[:1].isupper() for w in span if w[:1].isalpha())
                # a phrase cut in the middle of its clause reads worse than the clause's own end
                cut = (0.0 if start + size == len(words) else 0.02) + (0.0 if start == 0 else 0.01)
                out.append((phrase, (0.08 if proper else 0.0) + cut))
    return out


def _coords(points: np.ndarray, random_state: int) -> tuple[list[tuple[float, float]], np.ndarray]:
    """2-D map: the first two principal axes of the unit vectors (found on a sample of 5,000 by
    randomised SVD); returns coords and axes."""
    if len(points) < 2 or points.shape[1] < 2:
        return [(0.0, 0.0)] * len(points), np.zeros((max(points.shape[1], 1) + 1, 2))
    from sklearn.utils.extmath import randomized_svd

    mean = points.mean(axis=0)
    sample = (
        points
        if len(points) <= _SPACE_SAMPLE
        else points[np.random.default_rng(random_state).choice(len(points), _SPACE_SAMPLE, replace=False)]
    )
    _, _, vt = randomized_svd(sample - mean, n_components=2, random_state=random_state)
    axes = vt[:2].T
    xy = (points - mean) @ axes
    coords = [(round(float(x), 4), round(float(y), 4)) for x, y in xy]
    return coords, np.vstack([mean, axes.T]).T  # d x 3: mean column then two axes


# --------------------------------------------------------------------------- placement


_CACHE: dict[int, tuple[ThemeSet, dict[str, Any]]] = {}


def _prepared(ts: ThemeSet) -> dict[str, Any]:
    """Per-snapshot lookup structures, built once per ThemeSet object."""
    key = id(ts)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is ts:
        return hit[1]
    model = ts.model
    prepared = {
        "vocab": {t: i for i, t in enumerate(model["vocabulary"])},
        "idf": np.asarray(model["idf"], dtype=np.float64),
        "components": np.asarray(model["components"], dtype=np.float64),
        "centroids": np.asarray(model["centroids"], dtype=np.float64),
        "ids": np.asarray(model["theme_ids"], dtype=int),
        "thresholds": np.asarray(model["thresholds"], dtype=np.float64),
    }
    if len(_CACHE) > 32:
        _CACHE.clear()
    _CACHE[key] = (ts, prepared)
    return prepared


def place(ts: ThemeSet, new_texts: Iterable[str | None], vectors: np.ndarray | None = None) -> list[int]:
    """Nearest theme id for each new text without refitting; -1 when far from every theme.

    ``vectors``: the texts' stored embeddings, for a snapshot of the embeddings backend (else
    they are computed, ~2 ms a text)."""
    new_texts = _strings(new_texts)
    if not new_texts:
        return []
    p = _prepared(ts)
    if len(p["ids"]) == 0:
        return [-1] * len(new_texts)
    backend = ts.model.get("backend", "tfidf")
    if backend == "embeddings":
        points = _embedded(new_texts, vectors)
        empty = np.array([not t.strip() for t in new_texts], dtype=bool) | (np.abs(points).sum(axis=1) == 0)
    else:
        vocab, idf, comps = p["vocab"], p["idf"], p["components"]
        points = np.zeros((len(new_texts), comps.shape[1]))
        empty = np.zeros(len(new_texts), dtype=bool)
        for row, text in enumerate(new_texts):
            counts = Counter(vocab[t] for t in tokenize(text) if t in vocab)
            if not counts:
                empty[row] = True
                continue
            index = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            weights = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))) * idf[index]
            weights /= np.linalg.norm(weights)
            points[row] = weights @ comps[index]
        points = _unit_rows(points)
        if backend == "hybrid":
            points = _combine(points, _embedded(new_texts, vectors), ~empty)
            empty = np.array([not t.strip() for t in new_texts])
    sims = points @ p["centroids"].T
    best = sims.argmax(axis=1)
    best_sim = sims[np.arange(len(new_texts)), best]
    ok = (~empty) & (best_sim >= p["thresholds"][best])
    return [int(p["ids"][b]) if good else -1 for b, good in zip(best, ok)]
