"""Benchmark opinion groups: ``python bench/opinions.py [--quick]``.

Synthetic vote matrices with planted groups (not real data): three groups of equal size, each
with its own agree probability per statement (0.8, 0.2 or 0.5, drawn per group and statement);
each participant votes on a random subset of statements; 10% of votes are passes. Each case runs
in its own subprocess so peak memory (ru_maxrss) belongs to it alone. Votes are handed over as a
list of (participant, statement, value) tuples, as the app would read them from the database
("tuples"), and, for the largest case, also as an (n, 3) integer NumPy array ("array"). Times are
printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CASES = [
    # name, participants, statements, votes per participant, goal seconds, goal MB
    ("10k x 1k", 10_000, 1_000, 100, 5.0, None),
    ("100k x 2k", 100_000, 2_000, 50, 60.0, 4096.0),
]


def planted(n_p: int, n_s: int, per: int, seed: int = 0):
    """(votes array (n, 3) of int64, true group per participant)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    truth = np.arange(n_p) % 3
    stance = rng.choice([0.8, 0.2, 0.5], size=(3, n_s))
    pids = np.repeat(np.arange(n_p), per)
    sids = rng.integers(0, n_s, size=n_p * per)  # duplicates possible: the last vote wins
    p_agree = stance[truth[pids], sids]
    values = np.where(rng.random(len(pids)) < p_agree, 1, -1)
    values[rng.random(len(pids)) < 0.1] = 0
    return np.column_stack([pids, sids, values]).astype(np.int64), truth


def child(n_p: int, n_s: int, per: int, form: str) -> None:
    import numpy as np
    from sklearn.metrics import adjusted_rand_score

    from moderation import opinions

    votes, truth = planted(n_p, n_s, per)
    n_votes = len(votes)
    if form == "tuples":
        votes = list(zip(votes[:, 0].tolist(), votes[:, 1].tolist(), votes[:, 2].tolist()))
    start = time.perf_counter()
    op = opinions.fit(votes)
    seconds = time.perf_counter() - start
    placed = np.array(list(op.groups))
    ari = adjusted_rand_score(truth[placed], [op.groups[p] for p in placed]) if len(placed) else 0.0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "votes": n_votes,
                "seconds": seconds,
                "peak_mb": peak_mb,
                "groups": len(set(op.groups.values())),
                "placed": len(op.groups),
                "ari": ari,
                "consensus": len(op.consensus),
                "divisive": len(op.divisive),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="opinion groups benchmark")
    parser.add_argument("--quick", action="store_true", help="only 10k participants x 1k statements")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        n_p, n_s, per, form = args.child
        child(int(n_p), int(n_s), int(per), form)
        return
    runs = []
    for name, n_p, n_s, per, goal_s, goal_mb in CASES[:1] if args.quick else CASES:
        runs.append((name, n_p, n_s, per, "tuples", goal_s, goal_mb))
        if n_p >= 100_000:
            runs.append((name, n_p, n_s, per, "array", goal_s, goal_mb))
    print(f"{os.cpu_count()} CPUs; synthetic votes, 3 planted groups (see docstring)")
    print(
        f"{'case':10} {'input':6} {'votes':>9} {'fit s':>7} {'peak MB':>8} {'groups':>6} {'placed':>7} {'ARI':>5} {'goal':>16} status"
    )
    for name, n_p, n_s, per, form, goal_s, goal_mb in runs:
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(n_p), str(n_s), str(per), form],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        ok = r["seconds"] <= goal_s and (goal_mb is None or r["peak_mb"] <= goal_mb)
        goal = f"<={goal_s:g}s" + (f", <={goal_mb:g}MB" if goal_mb else "")
        print(
            f"{name:10} {form:6} {r['votes']:>9} {r['seconds']:>7.2f} {r['peak_mb']:>8.0f} {r['groups']:>6} "
            f"{r['placed']:>7} {r['ari']:>5.2f} {goal:>16} {'met' if ok else 'NOT met'}",
            flush=True,
        )
    print("\npeak MB includes the Python interpreter, NumPy/scikit-learn and the generated votes.")


if __name__ == "__main__":
    main()
