"""Metrics of a moderation model on every labelled set we ship, printed as tables.

``python -m moderation.evaluate [model_dir]``. Held-out sets only: Davidson's test split, the
held-out half of accepted Pol.is statements (the other half is used in training and calibration),
Pol.is rejected statements and US bill titles (never trained on); then per language (the six UN
languages): the MLMA test split (en, fr, ar), the held-out half of the SIB-200 sentences (ordinary
text in each language) and the test split of our contrast set, reported apart, per category.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import brier_score_loss, roc_auc_score

from . import data
from .classify import Moderator, Score
from .data import Example


@dataclass(frozen=True)
class Row:
    """One line of the evaluation table; ``met`` is None when the line has no goal."""

    metric: str
    dataset: str
    value: float
    goal: str = ""
    met: bool | None = None


def _texts(examples: Sequence[Example]) -> list[str]:
    return [e.text for e in examples]


def evaluate(moderator: Moderator) -> list[Row]:
    """Compute every metric; decisions use the model's default thresholds."""
    t = moderator.thresholds
    dav = data.davidson()["test"]
    pol = data.polis()
    bills = data.bill_titles()

    y = np.array([e.label for e in dav])
    hate = np.array([e.group == "hate" for e in dav])
    p = moderator.abuse_probabilities(_texts(dav), _vectors(dav))
    dav_scores = moderator.score(_texts(dav), vectors=_vectors(dav))
    held_e2e = np.array([s.decision != "publish" for s in dav_scores])

    civic = pol["test"]
    civic_scores = moderator.score(_texts(civic), vectors=_vectors(civic))
    p_civic = np.array([s.abuse for s in civic_scores])
    rejected_scores = moderator.score(_texts(pol["rejected"]), vectors=_vectors(pol["rejected"]))
    bill_scores = moderator.score(_texts(bills), vectors=_vectors(bills))
    p_bills = np.array([s.abuse for s in bill_scores])

    def held(scores: Sequence[Score]) -> float:
        return float(np.mean([s.decision != "publish" for s in scores]))

    def rejected(scores: Sequence[Score]) -> float:
        return float(np.mean([s.decision == "reject" for s in scores]))

    t = moderator.thresholds_for("en")
    recall = float(np.mean(p[y == 1] >= t.hold))
    civic_fh = held(civic_scores)
    n_civic = len(civic_scores)
    dt = f"Davidson test (n={len(dav)})"
    ct = f"Pol.is accepted, held-out (n={n_civic})"
    rows = [
        Row("recall hate+offensive, abuse ≥ hold", dt, recall, "≥ 0.90", recall >= 0.90),
        Row("recall hate only, abuse ≥ hold", dt, float(np.mean(p[hate] >= t.hold))),
        Row("held or rejected, hate+offensive (end to end)", dt, float(np.mean(held_e2e[y == 1]))),
        Row("held or rejected, 'neither'", dt, float(np.mean(held_e2e[y == 0]))),
        Row("false-hold rate", ct, civic_fh, "≤ 0.02", civic_fh <= 0.02),
        Row("false-hold rate, 95 % upper bound (Wilson)", ct, _wilson_upper(round(civic_fh * n_civic), n_civic)),
        Row("false-reject rate", ct, rejected(civic_scores), "0", rejected(civic_scores) == 0),
        Row(
            "held or rejected (curated out, not abusive)",
            f"Pol.is rejected (n={len(rejected_scores)})",
            held(rejected_scores),
        ),
        Row(
            "false-hold rate (cross-domain)",
            f"US bill titles (n={len(bill_scores)})",
            held(bill_scores),
            "≤ 0.02",
            held(bill_scores) <= 0.02,
        ),
        Row("ROC-AUC abusive vs neither", dt, float(roc_auc_score(y, p))),
        Row("ROC-AUC hate vs neither", dt, float(roc_auc_score(y[hate | (y == 0)], p[hate | (y == 0)]))),
        Row("ROC-AUC Davidson abusive vs civic", "Davidson test × Pol.is held-out", _auc(p[y == 1], p_civic)),
        Row("ROC-AUC Davidson abusive vs bill titles", "Davidson test × US bills", _auc(p[y == 1], p_bills)),
        Row("Brier score (calibration)", dt, float(brier_score_loss(y, p))),
        Row("expected calibration error", dt, _ece(y, p)),
    ]
    return rows


def _vectors(examples: Sequence[Example]) -> np.ndarray:
    from .train import embeddings_of

    return embeddings_of(_texts(examples))


@dataclass(frozen=True)
class LanguageRow:
    """One language's line: recall on abusive text, false holds on ordinary text, ROC-AUC, and the
    contrast set (abuse vs talk about hate), all held-out and under that language's thresholds."""

    language: str
    hold: float
    recall: float | None
    n_abusive: int
    false_hold: float | None
    false_hold_upper: float | None
    n_ordinary: int
    auc: float | None
    contrast_auc: float | None
    contrast_recall: float | None
    contrast_false_hold: float | None
    n_contrast: int
    civic_false_hold: float | None = None
    n_civic: int = 0


def evaluate_languages(moderator: Moderator) -> tuple[list[LanguageRow], dict[tuple[str, str, int], tuple[float, int]]]:
    """Per language rows, and per (language, contrast category) the share held."""
    from .train import language_of

    test = (
        data.mlma()["test"]
        + data.davidson()["test"]
        + data.polis()["test"]
        + data.sib200()["test"]
        + data.civic()["test"]
        + data.contrast()["test"]
    )
    scores = moderator.score(_texts(test), vectors=_vectors(test))
    p = np.array([s.abuse for s in scores])
    held = np.array([s.decision != "publish" for s in scores])
    y = np.array([e.label for e in test])
    langs = np.array([language_of(e) for e in test])
    ordinary = np.array([e.group in ("sib200", "polis_accepted", "civic") for e in test])
    civic = np.array([e.group in ("polis_accepted", "civic") for e in test])
    contrast = np.array([e.group.startswith("contrast:") for e in test])
    rows: list[LanguageRow] = []
    categories: dict[tuple[str, str, int], list[bool]] = {}
    for lang in data.LANGUAGES:
        mine = langs == lang
        abusive, calm, con = mine & (y == 1), mine & ordinary, mine & contrast
        n_calm = int(calm.sum())
        fh = float(held[calm].mean()) if n_calm else None
        rows.append(
            LanguageRow(
                lang,
                moderator.thresholds_for(lang).hold,
                float(held[abusive].mean()) if abusive.any() else None,
                int(abusive.sum()),
                fh,
                _wilson_upper(round(fh * n_calm), n_calm) if fh is not None else None,
                n_calm,
                float(roc_auc_score(y[mine], p[mine])) if len(set(y[mine])) == 2 else None,
                float(roc_auc_score(y[con], p[con])) if len(set(y[con])) == 2 else None,
                float(held[con & (y == 1)].mean()) if (con & (y == 1)).any() else None,
                float(held[con & (y == 0)].mean()) if (con & (y == 0)).any() else None,
                int(con.sum()),
                float(held[mine & civic].mean()) if (mine & civic).any() else None,
                int((mine & civic).sum()),
            )
        )
        for e, h in zip((e for e, m in zip(test, con) if m), held[con]):
            categories.setdefault((lang, e.group.split(":", 1)[1], e.label), []).append(bool(h))
    return rows, {k: (float(np.mean(v)), len(v)) for k, v in sorted(categories.items())}


def format_languages(rows: list[LanguageRow], categories: dict[tuple[str, str, int], tuple[float, int]]) -> str:
    """Markdown tables: per language, then the contrast set's categories (share held)."""

    def f(x: float | None) -> str:
        return "–" if x is None else f"{x:.3f}"

    lines = [
        "| language | hold | recall, abusive (n) | false holds, ordinary (n) | 95 % upper | of which civic statements (n) | ROC-AUC | contrast ROC-AUC | contrast: abuse held | contrast: talk about hate held (n) |",
        "| --- | ---: | --- | --- | ---: | --- | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r.language} | {r.hold:.3f} | {f(r.recall)} ({r.n_abusive}) | {f(r.false_hold)} ({r.n_ordinary}) | "
            f"{f(r.false_hold_upper)} | {f(r.civic_false_hold)} ({r.n_civic}) | {f(r.auc)} | {f(r.contrast_auc)} | {f(r.contrast_recall)} | "
            f"{f(r.contrast_false_hold)} ({r.n_contrast}) |"
        )
    names = sorted({c for _, c, _ in categories})
    lines += [
        "",
        "Contrast set (held-out split), share held per category (label 1 should be held, label 0 not):",
        "",
        "| category | label | " + " | ".join(data.LANGUAGES) + " |",
        "| --- | ---: | " + " | ".join("---:" for _ in data.LANGUAGES) + " |",
    ]
    for name in names:
        label = next(lab for (_, c, lab) in categories if c == name)
        cells = [categories.get((lang, name, label)) for lang in data.LANGUAGES]
        lines.append(
            f"| {name} | {label} | " + " | ".join("–" if c is None else f"{c[0]:.2f} ({c[1]})" for c in cells) + " |"
        )
    return "\n".join(lines)


def _wilson_upper(k: int, n: int, z: float = 1.96) -> float:
    """Upper end of the Wilson score interval: 0 holds in a few hundred texts is not a 0 % rate."""
    if n == 0:
        return 1.0
    p = k / n
    centre = p + z * z / (2 * n)
    spread = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return float((centre + spread) / (1 + z * z / n))


def _auc(pos: np.ndarray, neg: np.ndarray) -> float:
    labels = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    return float(roc_auc_score(labels, np.r_[pos, neg]))


def _ece(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Mean |accuracy − confidence| over equal-width probability bins, weighted by bin size."""
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(p, edges) - 1, 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = idx == b
        if mask.any():
            total += mask.mean() * abs(y[mask].mean() - p[mask].mean())
    return float(total)


def format_table(rows: list[Row], moderator: Moderator) -> str:
    """A Markdown table, with the model version and thresholds above it."""
    t = moderator.thresholds
    lines = [
        f"model {moderator.version}; thresholds hold={t.hold} reject={t.reject} "
        f"spam_hold={t.spam_hold} spam_reject={t.spam_reject}",
        "",
        "| metric | data | value | goal | met |",
        "| --- | --- | ---: | --- | --- |",
    ]
    for r in rows:
        met = "" if r.met is None else ("yes" if r.met else "**NO**")
        lines.append(f"| {r.metric} | {r.dataset} | {r.value:.4f} | {r.goal} | {met} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    moderator = Moderator.load(argv[0] if argv else None)
    print(format_table(evaluate(moderator), moderator))
    print("\nPer language (each under its own thresholds; recall and false holds end to end, rules included):\n")
    print(format_languages(*evaluate_languages(moderator)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
