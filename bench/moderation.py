"""Moderation scoring speed on one core, per language: batch throughput and single-text latency.

python bench/moderation.py [--n 4000] [--pin]
One thread (BLAS threads set to 1; the scorer itself is single-threaded). Goals (issue #16):
≥ 2,000 texts/s batched and p99 ≤ 5 ms for one text, with the embedding already computed (the
app embeds each text once, when screening it, and reuses the vector); the cost with the embedding
included is printed beside. Printed, not asserted.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one core, as in a single web worker; set before numpy loads

import argparse  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from moderation import Moderator, data  # noqa: E402
from moderation.neardup import NearDuplicateIndex  # noqa: E402


def texts_of(language: str, n: int) -> list[str]:
    """n real texts in one language: tweets (Davidson, MLMA) and Pol.is statements where the
    language has them, SIB-200 sentences and the contrast set everywhere; fixed shuffle."""
    from moderation.train import base_sets, language_of

    pool = [e.text for split in base_sets().values() for e in split if language_of(e) == language]
    random.Random(0).shuffle(pool)
    return (pool * (n // len(pool) + 1))[:n]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=4_000, help="texts per language")
    parser.add_argument("--single", type=int, default=500, help="one-text calls per language")
    parser.add_argument("--pin", action="store_true", help="pin to the first CPU (worse on a busy machine)")
    args = parser.parse_args()
    if args.pin:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    from moderation import embeddings

    start = time.perf_counter()
    moderator = Moderator.load()
    embeddings.warm_up()
    load_ms = (time.perf_counter() - start) * 1000
    moderator.score(["warm-up text for the language detector"])

    rows = []
    for language in data.LANGUAGES:
        texts = texts_of(language, args.n)
        vectors = embeddings.encode(texts)  # computed once, as screening does, then reused
        rates = []
        for _ in range(3):  # the machine is shared: report the median of three runs
            start = time.perf_counter()
            for i in range(0, len(texts), 1000):
                moderator.score(texts[i : i + 1000], vectors=vectors[i : i + 1000])
            rates.append(len(texts) / (time.perf_counter() - start))
        rate = float(np.median(rates))
        start = time.perf_counter()
        for i in range(0, 1000, 16):  # a group commit's batch, embedding included
            moderator.score(texts[i : i + 16])
        with_embedding = 1000 / (time.perf_counter() - start)
        latencies, whole = [], []
        for i, text in enumerate(texts[: args.single]):
            t0 = time.perf_counter()
            moderator.score([text], vectors=vectors[i : i + 1])
            t1 = time.perf_counter()
            moderator.score([text])
            whole.append((time.perf_counter() - t1) * 1000)
            latencies.append((t1 - t0) * 1000)
        p99 = float(np.percentile(latencies, 99))
        rows.append(
            (language, rate, with_embedding, float(np.percentile(latencies, 50)), p99, float(np.percentile(whole, 99)))
        )

    index = NearDuplicateIndex()
    texts = texts_of("en", args.n)
    start = time.perf_counter()
    for i, text in enumerate(texts):
        index.add(i, text)
    neardup = len(texts) / (time.perf_counter() - start)

    load = os.getloadavg()[0]
    print(
        f"model {moderator.version}; {args.n:,} real texts per language; one thread{' pinned to one CPU' if args.pin else ''}; "
        f"machine load average {load:.1f} over {os.cpu_count()} CPUs (other work on the machine slows this)"
    )
    print()
    print(
        "| language | batched, embeddings computed (texts/s) | batches of 16, embedding included (texts/s) | "
        "one text p50 / p99, embedding computed (ms) | one text p99, embedding included (ms) |"
    )
    print("| --- | ---: | ---: | ---: | ---: |")
    for language, rate, with_embedding, p50, p99, whole in rows:
        print(
            f"| {language} | {rate:,.0f} {'(goal ≥ 2,000: met)' if rate >= 2000 else '(goal ≥ 2,000: **NOT met**)'} | "
            f"{with_embedding:,.0f} | {p50:.2f} / {p99:.2f} {'(≤ 5: met)' if p99 <= 5 else '(≤ 5: **NOT met**)'} | {whole:.2f} |"
        )
    print()
    print(
        f"near-duplicate index add ({len(texts):,} texts): {neardup:,.0f} texts/s; model and embedding model load: {load_ms:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
