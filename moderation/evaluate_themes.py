"""Measure themes and opinion groups against human labels: ``python -m moderation.evaluate_themes``.

- Themes across languages: the SIB-200 sentences (701, each with one of 7 human topics), each in
  ONE of the six UN languages, chosen by a hash of its id, so a consultation written in six
  languages; NMI of the themes with the topic (higher is better) and with the language (lower is
  better: a theme should hold every language that speaks of it), k chosen automatically and k=7.

- Themes vs the 20 human topic codes of 4,449 US bill titles (NMI, ARI), k chosen automatically
  and k=20 given; texts put at -1 (outliers) count as one extra cluster, which can only lower
  the scores.
- Opinion groups vs Pol.is's own groups on the Bowling Green conversation (ARI over the
  participants both place). Statements moderated out (``moderated == -1``) are dropped, as Pol.is
  drops them from its computation.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent.parent / "data"


def load_uscongress() -> tuple[list[str], list[int]]:
    """Bill titles and their major topic codes."""
    with gzip.open(DATA / "uscongress_cap" / "USCongress.csv.gz", "rt", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    return [r["text"] for r in rows], [int(r["major"]) for r in rows]


SIB_LANGUAGES = {
    "eng_Latn": "en",
    "fra_Latn": "fr",
    "spa_Latn": "es",
    "rus_Cyrl": "ru",
    "arb_Arab": "ar",
    "zho_Hans": "zh",
}


def load_sib200_mixed() -> tuple[list[str], list[str], list[str]]:
    """(texts, topics, languages): each SIB-200 sentence once, in the UN language a hash of its id
    picks (the same mix on every run and machine)."""
    import hashlib

    by_language = {}
    for name, code in SIB_LANGUAGES.items():
        with open(DATA / "sib200" / f"{name}.train.tsv", encoding="utf-8") as f:
            by_language[code] = {r["index_id"]: r for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)}
    codes = list(SIB_LANGUAGES.values())
    texts, topics, languages = [], [], []
    for index_id, row in sorted(by_language["en"].items(), key=lambda item: int(item[0])):
        code = codes[int(hashlib.sha256(index_id.encode()).hexdigest(), 16) % len(codes)]
        texts.append(by_language[code][index_id]["text"])
        topics.append(row["category"])
        languages.append(code)
    return texts, topics, languages


def load_polis_comments() -> list[str]:
    """Statements of the Pol.is conversation that were not moderated out."""
    with open(DATA / "polis" / "comments.csv", encoding="utf-8") as f:
        return [r["comment-body"] for r in csv.DictReader(f) if r["moderated"] != "-1"]


def load_polis_votes() -> tuple[list[tuple[int, int, int]], dict[int, int]]:
    """(votes, polis_groups): votes as (participant, comment, value) without moderated-out
    comments, and Pol.is's own group per placed participant."""
    with open(DATA / "polis" / "comments.csv", encoding="utf-8") as f:
        modded_out = {r["comment-id"] for r in csv.DictReader(f) if r["moderated"] == "-1"}
    votes: list[tuple[int, int, int]] = []
    groups: dict[int, int] = {}
    with open(DATA / "polis" / "participants-votes.csv", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        comment_cols = [(i, int(h)) for i, h in enumerate(header[6:], start=6) if h not in modded_out]
        for row in reader:
            pid = int(row[0])
            if row[1] != "":
                groups[pid] = int(float(row[1]))
            for i, cid in comment_cols:
                if row[i] != "":
                    votes.append((pid, cid, int(float(row[i]))))
    return votes, groups


def _status(value: float, goal: float) -> str:
    return "met" if value >= goal else "NOT met"


def evaluate(
    backends: Sequence[str] = ("tfidf",), parts: Sequence[str] = ("themes", "opinions")
) -> list[tuple[str, str, float, float | None, str]]:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from moderation import opinions, themes

    rows = []
    if "themes" in parts:
        texts, topics, languages = load_sib200_mixed()
        for backend in backends:
            for k in (None, 7):
                start = time.perf_counter()
                ts = themes.fit(texts, k=k, backend=backend, languages=languages)
                seconds = time.perf_counter() - start
                what = f"themes[{backend}] SIB-200, 6 languages, k={'auto' if k is None else k}"
                detail = f"{len(ts.themes)} themes, {seconds:.1f}s (with embedding); {ts.k_chosen_by[:60]}"
                goal = 0.32 if backend == "embeddings" and k == 7 else None  # the brief's measurement of USE + k-means
                rows.append((what, "NMI topic", normalized_mutual_info_score(topics, ts.assignments), goal, detail))
                rows.append(
                    (
                        what,
                        "NMI lang",
                        normalized_mutual_info_score(languages, ts.assignments),
                        None,
                        "lower is better: a theme holds every language",
                    )
                )
        statements = load_polis_comments()
        for backend in backends:  # no topic labels: what a secretariat sees, and how long it takes
            start = time.perf_counter()
            ts = themes.fit(statements, backend=backend)
            seconds = time.perf_counter() - start
            sizes = sorted((t.size for t in ts.themes), reverse=True)
            rows.append(
                (
                    f"themes[{backend}] Pol.is Bowling Green, k=auto",
                    "themes",
                    float(len(ts.themes)),
                    None,
                    f"{len(statements)} statements, {seconds:.1f}s; sizes {sizes[:8]}; first names: "
                    + " | ".join(t.label for t in ts.themes[:4]),
                )
            )
    texts, labels = load_uscongress() if "themes" in parts else ([], [])
    for backend in backends if "themes" in parts else ():
        goal = 0.26 if backend == "tfidf" else 0.31
        for k in (None, 20):
            start = time.perf_counter()
            ts = themes.fit(texts, k=k, backend=backend)
            seconds = time.perf_counter() - start
            nmi = normalized_mutual_info_score(labels, ts.assignments)
            ari = adjusted_rand_score(labels, ts.assignments)
            outliers = sum(a == -1 for a in ts.assignments) / len(texts)
            what = f"themes[{backend}] USCongress k={'auto' if k is None else k}"
            detail = f"{len(ts.themes)} themes, {outliers:.1%} at -1, {seconds:.1f}s; {ts.k_chosen_by}"
            rows.append((what, "NMI", nmi, goal if k is None else None, detail))
            rows.append((what, "ARI", ari, None, ""))

    if "opinions" not in parts:
        return rows
    votes, polis_groups = load_polis_votes()
    start = time.perf_counter()
    op = opinions.fit(votes)
    seconds = time.perf_counter() - start
    both = [p for p in op.groups if p in polis_groups]
    ari = adjusted_rand_score([polis_groups[p] for p in both], [op.groups[p] for p in both])
    detail = (
        f"{len(set(op.groups.values()))} groups, {len(op.groups)} placed (Pol.is {len(polis_groups)}), "
        f"{len(both)} in both, {seconds:.2f}s"
    )
    rows.append(("opinions vs Pol.is groups (Bowling Green)", "ARI", ari, 0.8, detail))
    # The boundary between the two groups runs through a dense region, where a random start could
    # move it: report the spread over seeds too, not only the default seed.
    spread = []
    for seed in range(1, 6):
        other = opinions.fit(votes, random_state=seed)
        common = [p for p in other.groups if p in polis_groups]
        spread.append(adjusted_rand_score([polis_groups[p] for p in common], [other.groups[p] for p in common]))
    rows.append(
        (
            "opinions vs Pol.is groups, seeds 1-5",
            "ARI",
            float(np.mean(spread)),
            None,
            f"mean; min {min(spread):.3f}, max {max(spread):.3f}",
        )
    )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--backends",
        default="embeddings,tfidf",
        help="comma-separated: embeddings (the default), tfidf (words), hybrid",
    )
    parser.add_argument(
        "--only",
        choices=("themes", "opinions"),
        help="evaluate only themes (bill titles) or only opinion groups (Pol.is)",
    )
    args = parser.parse_args(argv)
    backends = tuple(b for b in args.backends.split(",") if b)
    rows = evaluate(backends, parts=(args.only,) if args.only else ("themes", "opinions"))
    print(f"{'evaluation':52} {'metric':9} {'value':>6}  {'goal':>6}  {'status':8} detail")
    for what, metric, value, goal, detail in rows:
        goal_s = f"{goal:.2f}" if goal is not None else "-"
        status = _status(value, goal) if goal is not None else ""
        print(f"{what:52} {metric:9} {value:6.3f}  {goal_s:>6}  {status:8} {detail}")
    print(
        "\nSIB-200: each sentence in one of six languages; 'NMI lang' near 0 means themes mix languages\n"
        "as they should. Words (tfidf) group the same sentences by language instead.\n"
        "Baseline from the brief: TF-IDF+SVD+k-means with the true k=20 gives NMI 0.26.\n"
        "Outliers (-1) count as one extra cluster in NMI/ARI. NMI tends to rise with the number of\n"
        "clusters, so compare auto-k rows with the number of themes they chose in mind.\n"
        "Embedding goal on bill titles (NMI 0.31, what all-MiniLM-L6-v2 + k-means gave at the true\n"
        "k=20) is checked on the auto-k row. k over a grid 2..min(50, sqrt(n/2)): TF-IDF and hybrid\n"
        "take the smallest k within 5% of the best cosine silhouette; embeddings the gap statistic\n"
        "(1-SE rule; Tibshirani et al. 2001), as their silhouette is flat (stopped at k=12, NMI\n"
        "0.28). On these 4,449 titles both criteria keep improving up to the bound, so k=47\n"
        "there: compare with the k=20 rows (NMI favours more clusters; ARI does not).\n"
        "Opinion groups: Pol.is computes its groups incrementally, each update warm-started from the\n"
        "last, so they depend on the order votes arrived; one fit on the final votes cannot replay\n"
        "that. Ours are the lowest-inertia k-means groups, the same for every seed."
    )


if __name__ == "__main__":
    main()
