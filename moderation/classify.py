"""Abuse and spam scoring: the public face of the moderation library.

``Moderator.load()`` reads the shipped artefact (``model/model.json`` + ``model/weights.npz``,
no pickle); ``score`` turns texts into frozen ``Score`` records; ``decide`` re-applies other
thresholds without re-scoring, so each consultation can be stricter or looser.

The abuse model reads the six UN languages. Two parts, stacked: a logistic regression over hashed
character and word n-grams plus the text's multilingual sentence embedding
(``moderation.embeddings``), and a small neural network (one hidden layer) over the embedding
alone, which carries meaning across languages and tells "calling refugees vermin is disgusting"
from the insult itself better than words do; a two-input Platt scaling turns both margins into one
calibrated probability. Thresholds are chosen per language (``language_thresholds``) so that
ordinary text in each language is almost never held.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from . import features, language, rules

MODEL_DIR = Path(__file__).resolve().parent / "model"
SUPPORTED_LANGUAGES = frozenset({"ar", "en", "es", "fr", "ru", "zh"})  # what the abuse model was trained on
DECISIONS = ("publish", "hold", "reject")
CHUNK = 1000
LANGUAGE_CHARS = 600  # enough to identify a language; detection cost grows with length


@dataclass(frozen=True)
class Thresholds:
    """Cut-offs on the calibrated abuse probability and the spam signal.

    ``hold`` sends a text to the moderation queue; ``reject`` refuses it outright. The abuse cut-offs
    apply only to supported languages; spam cut-offs apply to every text.
    """

    hold: float = 0.5
    reject: float = 0.99
    spam_hold: float = 0.5
    spam_reject: float = 0.9

    def __post_init__(self) -> None:
        for name in ("hold", "reject", "spam_hold", "spam_reject"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value!r}")
        if self.reject < self.hold or self.spam_reject < self.spam_hold:
            raise ValueError("a reject threshold must not be below its hold threshold")


@dataclass(frozen=True)
class Score:
    """The verdict on one text: scores, detected language, reasons and the resulting decision."""

    abuse: float
    spam: float
    language: str | None
    reasons: tuple[str, ...]
    decision: str

    @property
    def supported(self) -> bool:
        """Whether the abuse model may decide on this text (its language is one it was trained on)."""
        return "unsupported_language" not in self.reasons


def decide(score: Score, thresholds: Thresholds) -> str:
    """publish / hold / reject for a score: never rejects on abuse in an unsupported language."""
    return _decision(score.abuse, score.spam, score.reasons, thresholds)


def _decision(abuse: float, spam: float, reasons: tuple[str, ...], thresholds: Thresholds) -> str:
    supported = "unsupported_language" not in reasons
    if "empty" in reasons:
        return "reject"
    if spam >= thresholds.spam_reject:
        return "reject"
    if supported and abuse >= thresholds.reject:
        return "reject"
    if spam >= thresholds.spam_hold or "flood" in reasons:
        return "hold"
    if supported and abuse >= thresholds.hold:
        return "hold"
    return "publish"


def _reasons(abuse: float, supported: bool, spam_reasons: tuple[str, ...], thresholds: Thresholds) -> tuple[str, ...]:
    out = []
    if supported and abuse >= thresholds.hold:
        out.append("abuse")
    if not supported:
        out.append("unsupported_language")
    out.extend(spam_reasons)
    return tuple(out)


class Moderator:
    """A loaded abuse model plus the spam rules. Thread-safe for scoring (read-only state).

    ``coef``: the n-gram weights then the embedding weights (``features.N_FEATURES + 512``);
    ``network``: the embedding network's arrays ``w1`` (512 x h), ``b1``, ``w2`` (h), ``b2``;
    ``platt``: (a_linear, a_network, b). ``language_thresholds``: per language, the thresholds
    the model's defaults stand for there."""

    def __init__(
        self,
        coef: np.ndarray,
        intercept: float,
        idf: np.ndarray,
        platt: tuple[float, ...],
        thresholds: Thresholds,
        version: str,
        meta: dict[str, Any] | None = None,
        *,
        network: dict[str, np.ndarray] | None = None,
        language_thresholds: dict[str, Thresholds] | None = None,
    ):
        if coef.shape != (features.N_FEATURES + features.EMBEDDING_DIMENSIONS,) or idf.shape != (features.N_FEATURES,):
            raise ValueError("model does not match the feature layout of this library version")
        self.coef = coef.astype(np.float32)
        self.intercept = float(intercept)
        self.idf = idf.astype(np.float32)
        self.network = {k: np.asarray(v, dtype=np.float32) for k, v in (network or {}).items()}
        if set(self.network) != {"w1", "b1", "w2", "b2"}:
            raise ValueError("the embedding network needs w1, b1, w2 and b2")
        self.platt = tuple(float(x) for x in platt)
        if len(self.platt) != 3:
            raise ValueError("platt is (a_linear, a_network, b)")
        self.thresholds = thresholds
        self.language_thresholds = dict(language_thresholds or {})
        self.version = version
        self.meta = dict(meta or {})

    def thresholds_for(self, language: str | None) -> Thresholds:
        """The model's default thresholds for a text in this language (its own where calibrated)."""
        found: Thresholds = self.language_thresholds.get(language or "", self.thresholds)
        return found

    @classmethod
    def load(cls, path: str | Path | None = None) -> Moderator:
        """Load a model directory (default: the one shipped in the package). Never unpickles."""
        directory = Path(path) if path is not None else MODEL_DIR
        meta = json.loads((directory / "model.json").read_text(encoding="utf-8"))
        weights_path = directory / "weights.npz"
        digest = hashlib.sha256(weights_path.read_bytes()).hexdigest()
        if digest != meta["weights_sha256"]:
            raise ValueError(f"{weights_path} does not match model.json (sha256 differs)")
        with np.load(weights_path, allow_pickle=False) as npz:
            coef, idf = npz["coef"], npz["idf"]
            network = {k: npz[k] for k in ("w1", "b1", "w2", "b2")}
        t = meta["thresholds"]
        per_language = {lang: Thresholds(**v) for lang, v in meta.get("language_thresholds", {}).items()}
        return cls(
            coef,
            meta["intercept"],
            idf,
            tuple(meta["platt"]),
            Thresholds(**t),
            meta["version"],
            meta,
            network=network,
            language_thresholds=per_language,
        )

    def save(self, directory: str | Path, extra_meta: dict[str, Any] | None = None) -> Path:
        """Write ``model.json`` + ``weights.npz`` (no pickle); the version carries the weights' hash."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        weights_path = directory / "weights.npz"
        with open(weights_path, "wb") as f:
            n = {k: v.astype(np.float32) for k, v in self.network.items()}  # exactly w1, b1, w2, b2 (__init__)
            np.savez_compressed(
                f,
                coef=self.coef.astype(np.float32),
                idf=self.idf.astype(np.float32),
                w1=n["w1"],
                b1=n["b1"],
                w2=n["w2"],
                b2=n["b2"],
            )
        digest = hashlib.sha256(weights_path.read_bytes()).hexdigest()
        meta = dict(self.meta)
        meta.update(extra_meta or {})
        stem = self.version.rsplit("-", 1)[0] if self.version.count("-") >= 3 else self.version
        self.version = f"{stem}-{digest[:8]}"
        meta.update(
            {
                "version": self.version,
                "weights_sha256": digest,
                "intercept": self.intercept,
                "platt": list(self.platt),
                "thresholds": self.thresholds.__dict__.copy(),
                "language_thresholds": {k: v.__dict__.copy() for k, v in sorted(self.language_thresholds.items())},
                "features": {
                    "char_wb": [3, 5],
                    "char_features": features.CHAR_FEATURES,
                    "word": [1, 2],
                    "word_features": features.WORD_FEATURES,
                    "embedding": features.EMBEDDING_MODEL,
                    "embedding_dimensions": features.EMBEDDING_DIMENSIONS,
                    "embedding_weight": features.EMBEDDING_WEIGHT,
                    "max_chars": features.MAX_CHARS,
                },
            }
        )
        (directory / "model.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        self.meta = meta
        return directory

    def margins(self, texts: Sequence[str], vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The two parts' margins for (cleaned) texts and their embeddings."""
        n_grams = features.margins(
            [features.normalise(t) for t in texts], self.idf, self.coef[: features.N_FEATURES], self.intercept
        )
        linear = n_grams + features.EMBEDDING_WEIGHT * (vectors @ self.coef[features.N_FEATURES :])
        net = self.network
        hidden = np.maximum(vectors @ net["w1"] + net["b1"], 0.0)
        return linear, hidden @ net["w2"] + net["b2"]

    def abuse_probabilities(self, texts: Sequence[str], vectors: np.ndarray | None = None) -> np.ndarray:
        """Calibrated abuse probability per (cleaned) text, ignoring language: for evaluation.
        ``vectors``: the texts' embeddings when the caller has them (else computed, ~1.6 ms a text)."""
        if not len(texts):
            return np.zeros(0)
        if vectors is None:
            vectors = embed(texts)
        linear, network = self.margins(texts, np.asarray(vectors, dtype=np.float32))
        a1, a2, b = self.platt
        return 1.0 / (1.0 + np.exp(-(a1 * linear + a2 * network + b)))

    def score(
        self, texts: Iterable[object], thresholds: Thresholds | None = None, vectors: np.ndarray | None = None
    ) -> list[Score]:
        """Score texts in one batch (same order). Never raises on odd input.

        ``thresholds``: applied to every text (a consultation's own); None: each text's language's.
        ``vectors``: the texts' embeddings if already computed (``moderation.embeddings.encode``)."""
        if isinstance(texts, (str, bytes)):
            raise TypeError("score() takes a list of texts; wrap a single text in a list")
        raw = list(texts)
        cleaned = [features.clean(t) for t in raw]
        if vectors is None:
            vectors = embed(cleaned)
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(cleaned), features.EMBEDDING_DIMENSIONS)
        # Chunks keep the sparse matrices in cache: 10k texts at once is ~15 % slower than 10 × 1k.
        probs = np.concatenate(
            [np.zeros(0)]
            + [
                self.abuse_probabilities(cleaned[i : i + CHUNK], vectors[i : i + CHUNK])
                for i in range(0, len(cleaned), CHUNK)
            ]
        )
        out = []
        for text, original, p in zip(cleaned, raw, probs):
            sig = rules.signals(text, len(original) if isinstance(original, str) else None)
            lang = language.detect(_language_view(text)) if "empty" not in sig.reasons else None
            supported = lang is None or lang in SUPPORTED_LANGUAGES
            abuse = round(float(p), 4) if "empty" not in sig.reasons else 0.0
            chosen = thresholds or self.thresholds_for(lang)
            reasons = _reasons(abuse, supported, sig.reasons, chosen)
            out.append(Score(abuse, sig.spam, lang, reasons, _decision(abuse, sig.spam, reasons, chosen)))
        return out

    def decide(self, score: Score, thresholds: Thresholds | None = None) -> str:
        """Re-decide a stored score under other (e.g. per-consultation) thresholds."""
        return decide(score, thresholds or self.thresholds_for(score.language))

    def rescore(self, score: Score, thresholds: Thresholds | None = None) -> Score:
        """The same score with reasons and decision recomputed under other thresholds."""
        thresholds = thresholds or self.thresholds_for(score.language)
        spam_reasons = tuple(r for r in score.reasons if r not in ("abuse", "unsupported_language"))
        s = replace(score, reasons=_reasons(score.abuse, score.supported, spam_reasons, thresholds))
        return replace(s, decision=decide(s, thresholds))

    def assess(
        self,
        score: Score,
        *,
        near_duplicate_of: Sequence[object] = (),
        flood: bool = False,
        thresholds: Thresholds | None = None,
    ) -> Score:
        """Add context the app knows (near-duplicates found by ``NearDuplicateIndex``, a posting
        flood from ``FloodTracker``) to a score and re-decide.

        A near-duplicate alone is disclosed, not held (a petition-like campaign is legitimate);
        a flood holds for review.
        """
        thresholds = thresholds or self.thresholds_for(score.language)
        reasons = list(score.reasons)
        spam = score.spam
        if near_duplicate_of and "near_duplicate" not in reasons:
            reasons.append("near_duplicate")
            spam = 1.0 - (1.0 - spam) * 0.7
        if flood and "flood" not in reasons:
            reasons.append("flood")
            spam = 1.0 - (1.0 - spam) * 0.5
        s = replace(score, spam=round(spam, 4), reasons=tuple(reasons))
        return replace(s, decision=decide(s, thresholds))


def embed(texts: Sequence[str]) -> np.ndarray:
    """The texts' sentence embeddings, as the model reads them."""
    from . import embeddings

    return embeddings.encode(list(texts))


def _language_view(text: str) -> str:
    """The text without links, mentions and markup, which would only confuse the detector."""
    text = text[:LANGUAGE_CHARS]
    if "&" in text:
        text = html.unescape(text)
    text = features.URL_RE.sub(" ", text)
    text = features.MENTION_RE.sub(" ", text)
    text = features.TAG_RE.sub(" ", text)
    return text
