"""Benchmark theme fitting and placement: ``python bench/themes.py [--quick]``.

Corpus: real texts only — 4,449 US bill titles and the 607 published Pol.is statements. For
sizes beyond the ~5k originals, each text is a real text followed by the first half of another
random real text (seeded), so vocabulary and length stay realistic while texts stay distinct.
Each size runs in its own subprocess so peak memory (ru_maxrss) belongs to that size alone.
Placement latency: ``place`` on one text at a time, 1,000 held-out texts. Fit time excludes the
one-off import of scikit-learn/SciPy (about 2 s cold). Times are printed, never asserted.
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

GOALS = {"fit_s": 30.0, "peak_mb": 1536.0, "p99_ms": 2.0}  # goals stated for 100k texts


def corpus(n: int, seed: int = 0) -> list[str]:
    """n texts built from the real ones (see module docstring)."""
    import numpy as np

    from moderation.evaluate_themes import load_polis_comments, load_uscongress

    base = load_uscongress()[0] + load_polis_comments()
    if n <= len(base):
        rng = np.random.default_rng(seed)
        return [base[i] for i in rng.permutation(len(base))[:n]]
    rng = np.random.default_rng(seed)
    first = rng.integers(0, len(base), n)
    second = rng.integers(0, len(base), n)
    out = []
    for a, b in zip(first, second):
        words = base[b].split()
        out.append(base[a] + " " + " ".join(words[: max(1, len(words) // 2)]))
    return out


def child(n: int) -> None:
    """Fit and time one size; print one JSON line."""
    import numpy as np

    from moderation import themes

    import scipy.optimize  # noqa: F401  imported before timing: an app pays this once, not per fit
    import sklearn.cluster  # noqa: F401
    import sklearn.decomposition  # noqa: F401
    import sklearn.metrics  # noqa: F401

    texts = corpus(n)
    held_out = corpus(1000, seed=99)
    start = time.perf_counter()
    ts = themes.fit(texts)
    fit_s = time.perf_counter() - start
    themes.place(ts, held_out[:10])  # warm the per-snapshot lookup cache
    lat = []
    for text in held_out:
        t0 = time.perf_counter()
        themes.place(ts, [text])
        lat.append((time.perf_counter() - t0) * 1000)
    snapshot = json.dumps(ts.to_dict())
    start = time.perf_counter()
    restored = themes.ThemeSet.from_dict(json.loads(snapshot))
    themes.place(restored, held_out[:1])
    restore_s = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "n": n, "fit_s": fit_s, "themes": len(ts.themes), "peak_mb": peak_mb,
        "p50_ms": float(np.percentile(lat, 50)), "p99_ms": float(np.percentile(lat, 99)),
        "snapshot_mb": len(snapshot) / 1e6, "restore_s": restore_s,
        "outliers": sum(a == -1 for a in ts.assignments) / n,
    }))


def main() -> None:
    parser = argparse.ArgumentParser(description="theme fitting and placement benchmark")
    parser.add_argument("--quick", action="store_true", help="only 1k and 10k texts")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    print(f"{os.cpu_count()} CPUs; corpus: real US bill titles + Pol.is statements, recombined beyond 5k")
    header = f"{'texts':>8} {'fit s':>7} {'themes':>6} {'peak MB':>8} {'place p50 ms':>12} {'p99 ms':>7} {'snapshot MB':>11} {'load+place s':>12} {'at -1':>6}"
    print(header)
    rows = []
    for n in sizes:
        out = subprocess.run([sys.executable, __file__, "--child", str(n)], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(r)
        print(f"{r['n']:>8} {r['fit_s']:>7.2f} {r['themes']:>6} {r['peak_mb']:>8.0f} {r['p50_ms']:>12.3f} "
              f"{r['p99_ms']:>7.3f} {r['snapshot_mb']:>11.1f} {r['restore_s']:>12.2f} {r['outliers']:>6.1%}", flush=True)
    last = rows[-1]
    print(f"\ngoals at 100k texts: fit <= {GOALS['fit_s']:.0f} s, peak <= {GOALS['peak_mb']:.0f} MB, place p99 <= {GOALS['p99_ms']} ms")
    if last["n"] == 100_000:
        for key, unit in (("fit_s", "s"), ("peak_mb", "MB"), ("p99_ms", "ms")):
            status = "met" if last[key] <= GOALS[key] else "NOT met"
            print(f"  {key:8} {last[key]:9.2f} {unit:3} goal {GOALS[key]:g}: {status}")
    else:
        print("  (--quick: 100k not run)")


if __name__ == "__main__":
    main()
