"""Moderation scoring speed on one core: batch throughput and single-text latency. Prints a table.

python bench/moderation.py [--n 10000] [--pin]
One thread (BLAS threads set to 1; the scorer itself is single-threaded).
Goals: ≥ 5,000 texts/s in batches; p99 ≤ 5 ms for one text. Printed, not asserted.
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


def real_texts(n: int) -> list[str]:
    """n real texts: Davidson tweets and Pol.is statements, shuffled with a fixed seed."""
    dav = data.davidson()
    pool = [e.text for split in dav.values() for e in split] + [e.text for e in data.polis()["test"]]
    random.Random(0).shuffle(pool)
    return (pool * (n // len(pool) + 1))[:n]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--single", type=int, default=2_000)
    parser.add_argument("--pin", action="store_true", help="pin to the first CPU (worse on a busy machine)")
    args = parser.parse_args()
    if args.pin:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    start = time.perf_counter()
    moderator = Moderator.load()
    load_ms = (time.perf_counter() - start) * 1000
    moderator.score(["warm-up text for the language detector"])
    texts = real_texts(args.n)

    rows = []
    for batch in (100, 1000, 10_000):
        chunks = [texts[i:i + batch] for i in range(0, len(texts), batch)]
        rates, cpu_rates = [], []
        for _ in range(3):  # the machine is shared: report the median of three runs
            start, cpu = time.perf_counter(), time.process_time()
            for chunk in chunks:
                moderator.score(chunk)
            rates.append(len(texts) / (time.perf_counter() - start))
            cpu_rates.append(len(texts) / (time.process_time() - cpu))
        rate, cpu_rate = float(np.median(rates)), float(np.median(cpu_rates))
        rows.append((f"batch score, batches of {batch:,}, wall clock (median of 3)", f"{rate:,.0f} texts/s",
                     "≥ 5,000 texts/s", rate >= 5000))
        rows.append((f"batch score, batches of {batch:,}, per CPU-second (median of 3)", f"{cpu_rate:,.0f} texts/s",
                     "", None))

    latencies = []
    for text in texts[:args.single]:
        t0 = time.perf_counter()
        moderator.score([text])
        latencies.append((time.perf_counter() - t0) * 1000)
    p50, p99 = np.percentile(latencies, [50, 99])
    rows.append(("single text latency p50", f"{p50:.2f} ms", "", None))
    rows.append(("single text latency p99", f"{p99:.2f} ms", "≤ 5 ms", p99 <= 5))

    index = NearDuplicateIndex()
    start = time.perf_counter()
    for i, text in enumerate(texts):
        index.add(i, text)
    elapsed = time.perf_counter() - start
    rows.append((f"near-duplicate index add ({len(texts):,} texts)", f"{len(texts) / elapsed:,.0f} texts/s", "", None))
    rows.append(("model load", f"{load_ms:.0f} ms", "", None))

    load = os.getloadavg()[0]
    print(f"model {moderator.version}; {len(texts):,} real texts (Davidson + Pol.is); one thread{' pinned to one CPU' if args.pin else ''}; "
          f"machine load average {load:.1f} over {os.cpu_count()} CPUs (other work on the machine slows this)")
    print()
    print("| measure | value | goal | met |")
    print("| --- | ---: | --- | --- |")
    for name, value, goal, met in rows:
        print(f"| {name} | {value} | {goal} | {'' if met is None else ('yes' if met else '**NO**')} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
