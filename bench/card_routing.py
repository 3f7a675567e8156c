"""Benchmark the voting card's routing and the opinion map: ``python bench/card_routing.py``.

Data: the demo's real Pol.is conversation (``data/polis``: 896 statements, of which the published
ones are those its moderators accepted, and the votes of its 2,031 participants), written straight
into a fresh database (SQLite in a temporary folder, or ``AGORA_DATABASE_URL``) with bulk inserts,
then one opinions snapshot computed as the app does (``opinions.refit``). Timed, in one process:

- ranking: the per-consultation ranking from the views' vote counts and the snapshot's extremity
  (cold: after a commit dropped it, as after a vote; warm: kept);
- next card: what one request does for one participant (their votes read, the ranking walked);
- after a vote: a vote through the vote service, then the next card (the ranking recomputed);
- map: the opinion map with the reader placed from their votes, and its SVG drawn.

Times are printed (median and 95th percentile over sampled participants), never asserted.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/http.py would shadow the standard library's http when this folder leads sys.path
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
POLIS = ROOT / "data" / "polis"


def _load(app, progress=print) -> int:
    """The Pol.is conversation as one consultation; returns its id."""
    from sqlalchemy import insert

    from agora.extensions import db
    from agora.models import Submission, User, Vote
    from agora.services.participation import consultations

    with (POLIS / "comments.csv").open(encoding="utf-8") as handle:
        comments = list(csv.DictReader(handle))
    with (POLIS / "participants-votes.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with app.app_context():
        consultation = consultations.create(
            consultations.ConsultationInput(title="Bench: Bowling Green", status="open")
        )
        db.session.execute(
            insert(User),
            [
                {
                    "id": 10_000 + int(r["participant"]),
                    "email": f"p{r['participant']}@bench.invalid",
                    "display_name": f"P{r['participant']}",
                }
                for r in rows
            ],
        )
        participants = {r["participant"] for r in rows}
        tallies = {c["comment-id"]: [0, 0, 0] for c in comments}
        votes = []
        for r in rows:
            for cid in tallies:
                value = r.get(cid)
                if value in ("1", "-1", "0"):
                    votes.append(
                        {
                            "user_id": 10_000 + int(r["participant"]),
                            "submission_id": 100_000 + int(cid),
                            "value": int(value),
                        }
                    )
                    tallies[cid][{"1": 0, "-1": 1, "0": 2}[value]] += 1
        db.session.execute(
            insert(Submission),
            [
                {
                    "id": 100_000 + int(c["comment-id"]),
                    "consultation_id": consultation.id,
                    "text": c["comment-body"],
                    "author_id": 10_000 + int(c["author-id"]) if c["author-id"] in participants else None,
                    "state": "published" if c["moderated"] == "1" else "hidden",
                    "channel": "import",
                    "language": "en",
                    "agree_count": tallies[c["comment-id"]][0],
                    "disagree_count": tallies[c["comment-id"]][1],
                    "pass_count": tallies[c["comment-id"]][2],
                }
                for c in comments
            ],
        )
        for start in range(0, len(votes), 20_000):
            db.session.execute(insert(Vote), votes[start : start + 20_000])
        db.session.commit()
        progress(f"loaded {len(comments)} statements, {len(rows)} participants, {len(votes):,} votes")
        return consultation.id


def _timed(samples: list[float]) -> str:
    ms = sorted(1000 * s for s in samples)
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    return f"{statistics.median(ms):8.2f} {p95:8.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100, help="participants sampled per measurement")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="agora-bench-card-")
    os.environ.setdefault("AGORA_DATABASE_URL", f"sqlite:///{folder}/bench.sqlite3")
    os.environ.setdefault("AGORA_INSTANCE_PATH", folder)
    os.environ.setdefault("AGORA_SECRET_KEY", "bench")
    from flask_migrate import upgrade

    from agora import create_app
    from agora.extensions import db
    from agora.models import Consultation, Submission, User
    from agora.services.analysis import opinion_map, opinions, themes
    from agora.services.participation import consultations, submissions, voting_card

    app = create_app()
    with app.app_context():
        upgrade()
    cid = _load(app)
    with app.app_context():
        started = time.perf_counter()
        opinions.refit(cid)
        print(f"opinions snapshot: {time.perf_counter() - started:.1f} s")
        from sqlalchemy import select

        people = list(db.session.scalars(select(User).order_by(User.id).limit(args.people * 5)))[::5][: args.people]
        consultation = db.session.get(Consultation, cid)
        results = {}

        def drop_ranking():
            consultations._recent.clear()

        samples = []
        for _ in people:
            drop_ranking()
            t = time.perf_counter()
            voting_card.ranking(cid)
            samples.append(time.perf_counter() - t)
        results["ranking, cold"] = samples
        voting_card.ranking(cid)
        results["next card (warm ranking)"] = []
        for person in people:
            t = time.perf_counter()
            voting_card.next_card(consultation, person)
            results["next card (warm ranking)"].append(time.perf_counter() - t)
        results["vote + next card (ranking recomputed)"] = []
        for person in people:
            card = voting_card.next_card(consultation, person)
            if card.statement is None:
                continue
            t = time.perf_counter()
            submissions.vote(card.statement.id, person, "pass")
            voting_card.next_card(consultation, person)
            results["vote + next card (ranking recomputed)"].append(time.perf_counter() - t)
        with app.test_request_context():
            from agora.web import opinion_map as map_view

            opinion_map._AREAS.clear()
            map_view._STATIC.clear()
            t = time.perf_counter()
            first = opinion_map.opinion_map(cid, people[0])
            map_view.svg(first)
            results["map + SVG, cold (hulls, dots)"] = [time.perf_counter() - t]
            results["map + SVG, warm (reader placed)"] = []
            for person in people:
                t = time.perf_counter()
                omap = opinion_map.opinion_map(cid, person)
                svg = map_view.svg(omap)
                results["map + SVG, warm (reader placed)"].append(time.perf_counter() - t)
            print(f"map SVG: {len(svg):,} characters, {len(omap.points):,} participants, {len(omap.groups)} groups")
        published = db.session.scalar(
            select(db.func.count(Submission.id)).where(
                Submission.consultation_id == cid, Submission.state == "published"
            )
        )
        print(f"\n{published} published statements; {db.engine.dialect.name}; {len(people)} participants sampled")
        print(f"{'measurement':42} {'median ms':>8} {'p95 ms':>8}")
        for name, samples in results.items():
            if samples:
                print(f"{name:42} {_timed(samples)}")
        themes.reset_caches()


if __name__ == "__main__":
    main()
