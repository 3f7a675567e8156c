"""Opinion-group snapshots, consensus across constituencies and regions, and constituency balance.

An opinions snapshot is one run of ``moderation.opinions.fit`` over the agree / disagree / pass
votes on a consultation's published views: vote-derived groups (as in Pol.is), plus the same
group-aware statistics over the groups people declared (constituency) and over their regions.
Only aggregates are shown; a participant's identity never leaves this module.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from agora.extensions import db
from agora.models import Submission, ThemeSnapshot, User, Vote
from agora.models._base import utcnow
from agora.services import geography
from agora.services.analysis.themes import (
    FAILED_BACKOFF,
    NOT_STATED,
    STALE_RUNNING,
    _consultation,
    auto_refit,
    dominance,
    fail_snapshot,
    finish_snapshot,
    latest_snapshot,
    params,
    published_filter,
    snapshot_data,
    start_snapshot,
    status,
)

if TYPE_CHECKING:  # imported where used: the library loads on first use
    from moderation.opinions import OpinionGroups

log = logging.getLogger(__name__)

REFIT_MIN_NEW_VOTES = 200
REFIT_VOTE_FRACTION = 0.10
CHECK_SECONDS = 60
QUOTE_CHARS = 400
_CHECKED: dict[int, float] = {}


def _votes(consultation_id: int) -> list[tuple[int, int, int]]:
    return [
        (user_id, submission_id, value)
        for user_id, submission_id, value in db.session.execute(
            select(Vote.user_id, Vote.submission_id, Vote.value)
            .join(Submission, Submission.id == Vote.submission_id)
            .where(*published_filter(consultation_id, None))
            .order_by(Vote.id)
        ).all()
    ]


def _profiles(consultation_id: int) -> dict[int, dict]:
    """Declared constituency, region and gender of everyone who voted (never names)."""
    voters = (
        select(Vote.user_id)
        .join(Submission, Submission.id == Vote.submission_id)
        .where(*published_filter(consultation_id, None))
        .distinct()
        .subquery()
    )
    out = {}
    for user_id, constituency, country, gender in db.session.execute(
        select(User.id, User.constituency, User.country, User.gender).where(User.id.in_(select(voters.c.user_id)))
    ).all():
        place = geography.country(country)
        out[user_id] = {
            "constituency": constituency or None,
            "region": place.region if place else None,
            "global_south": place.global_south if place else None,
            "gender": gender or None,
        }
    return out


def refit(
    consultation_id: int, *, progress: Callable[[str], None] = lambda message: None, force: bool = False
) -> ThemeSnapshot | None:
    """Compute and store an opinions snapshot; returns it, or None (no votes, or a run is going)."""
    from moderation import opinions as opinion_lib

    _consultation(consultation_id, None)
    votes = _votes(consultation_id)
    if not votes:
        progress("No votes yet: no opinion groups to compute.")
        return None
    snapshot = start_snapshot(consultation_id, None, "opinions", force=force)
    if snapshot is None:
        progress("An opinion-group computation is already running; nothing started.")
        return None
    snapshot_id = snapshot.id
    try:
        previous_row = latest_snapshot(consultation_id, None, "opinions")
        previous = None
        if previous_row is not None and snapshot_data(previous_row).get("vote"):
            previous = opinion_lib.OpinionGroups.from_dict(snapshot_data(previous_row)["vote"])
        started = time.perf_counter()
        progress(f"Finding opinion groups in {len(votes):,} votes…")
        derived = opinion_lib.fit(votes, previous=previous)
        profiles = _profiles(consultation_id)
        declared = {}
        for dimension in ("constituency", "region"):
            groups = {p: v[dimension] for p, v in profiles.items() if v[dimension]}
            if len(set(groups.values())) >= 2:
                declared[dimension] = opinion_lib.fit(votes, groups=groups)
        seconds = time.perf_counter() - started
        progress(
            f"{len(derived.group_sizes)} opinion groups among {len(derived.groups):,} placed participants; "
            f"declared groups: {', '.join(declared) or 'none (too few declared profiles)'} ({seconds:.1f} s)."
        )
        summary = _summarise(consultation_id, votes, derived, declared, profiles)
        finish_snapshot(
            snapshot,
            n_items=len(votes),
            params={
                "method": "Pol.is-style PCA + k-means of the vote matrix (moderation.opinions)",
                "k_chosen_by": derived.k_chosen_by,
                "last_vote_id": db.session.scalar(
                    select(func.max(Vote.id))
                    .join(Submission, Submission.id == Vote.submission_id)
                    .where(*published_filter(consultation_id, None))
                ),
                "seconds": round(seconds, 2),
            },
            data={"summary": summary, "vote": derived.to_dict()},
        )
        progress(f"Stored opinions snapshot #{snapshot.id}.")
        return snapshot
    except Exception as error:
        log.exception("opinion groups failed for consultation %s", consultation_id)
        fail_snapshot(snapshot_id, error)
        progress(f"Opinion groups failed: {type(error).__name__}: {error}. The previous snapshot stays in use.")
        return db.session.get(ThemeSnapshot, snapshot_id)


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1].rstrip() + "…"


def _summarise(
    consultation_id: int,
    votes: list[tuple[int, int, int]],
    derived: OpinionGroups,
    declared: dict[str, OpinionGroups],
    profiles: dict[int, dict],
) -> dict:
    """Aggregates only: group sizes and compositions, statements with their shares per group."""
    results = {"vote": derived, **declared}
    wanted = set()
    for result in results.values():
        wanted.update(result.consensus)
        wanted.update(result.divisive)
        for statements in result.representative.values():
            wanted.update(statements)
    texts: dict[int, str] = {}
    wanted_list = sorted(wanted)
    for start in range(0, len(wanted_list), 500):
        texts.update(
            db.session.execute(
                select(Submission.id, Submission.text).where(Submission.id.in_(wanted_list[start : start + 500]))
            ).all()
        )
    tallies = {name: tally(votes, result, wanted) for name, result in results.items()}

    def statement(result_name: str, s: int) -> dict:
        return {
            "id": s,
            "text": _quote(texts.get(s, "")),
            **statement_shares(results[result_name], tallies[result_name], s),
        }

    out: dict[str, Any] = {"participants": len({p for p, _, _ in votes}), "votes": len(votes)}
    for name, result in results.items():
        members = defaultdict(list)
        for participant, group in result.groups.items():
            members[group].append(participants_profile(profiles, participant))
        groups = []
        for group, size in sorted(result.group_sizes.items(), key=lambda item: (-item[1], str(item[0]))):
            composition = [m for m in members.get(group, [])]
            groups.append(
                {
                    "key": str(group),
                    "size": size,
                    "constituency": dict(Counter(m["constituency"] or NOT_STATED for m in composition).most_common()),
                    "region": dict(Counter(m["region"] or NOT_STATED for m in composition).most_common()),
                    "representative": [
                        {
                            **statement(name, item["statement"]),
                            "own": str(group),
                            "direction": item["direction"],
                            "ratio": item["ratio"],
                        }
                        for item in result.representative_detail.get(group, [])
                    ],
                }
            )
        out[name] = {
            "k_chosen_by": result.k_chosen_by,
            "placed": len(result.groups),
            "groups": groups,
            "consensus": [statement(name, s) for s in result.consensus],
            "divisive": [statement(name, s) for s in result.divisive],
        }
    out["declared_available"] = sorted(declared)
    out["declared_profiles"] = {
        "constituency": sum(1 for v in profiles.values() if v["constituency"]),
        "region": sum(1 for v in profiles.values() if v["region"]),
    }
    return out


def tally(votes: Iterable[tuple[int, int, int]], result: OpinionGroups, statements: set[int]) -> dict:
    """Per (group, statement): [agree, disagree, pass] counts of the group's members, for
    ``statements`` (the ones shown)."""
    counts: defaultdict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    for participant, statement, value in votes:
        if statement in statements:
            group = result.groups.get(participant)
            if group is not None:
                counts[(group, statement)][0 if value == 1 else 1 if value == -1 else 2] += 1
    return counts


def _share(n: float, total: float) -> float | None:
    return round(n / total, 4) if total else None


def statement_shares(result: OpinionGroups, counts: dict, statement: int) -> dict:
    """A statement's agree / disagree / pass shares among everyone who voted on it and within
    each group (keyed by the group's key as text): what the opinions page and the reports show."""
    per_group = {}
    for group in result.group_sizes:
        a, d, p = counts.get((group, statement), (0, 0, 0))
        n = a + d + p
        per_group[str(group)] = {"votes": n, "agree": _share(a, n), "disagree": _share(d, n), "pass": _share(p, n)}
    stats = result.statement_stats.get(statement, {})
    n = stats.get("votes", 0)
    agree, disagree = stats.get("agree", 0), stats.get("disagree", 0)
    return {
        "votes": n,
        "agree": _share(agree, n),
        "disagree": _share(disagree, n),
        "pass": _share(n - agree - disagree, n),
        "groups": per_group,
    }


def group_letter(key: int | str, index: int = 0) -> str:
    """A vote-derived group's name everywhere (page, report, tables): lettered by its number,
    A, B, …, which stays stable across snapshots."""
    number = int(key) if str(key).lstrip("-").isdigit() else index
    return chr(ord("A") + number) if 0 <= number < 26 else str(number + 1)


def participants_profile(profiles: dict, participant: int) -> dict:
    return profiles.get(participant) or {"constituency": None, "region": None, "global_south": None, "gender": None}


def refit_due(consultation_id: int) -> tuple[bool, str]:
    """Votes since the last snapshot ≥ 200 or ≥ 10 % of its votes (none running, no recent failure)."""
    now = utcnow()
    newest = latest_snapshot(consultation_id, None, "opinions", status=None)
    if newest is not None and newest.status == "running" and now - newest.created_at <= STALE_RUNNING:
        return False, "a computation is running"
    if (
        newest is not None
        and newest.status == "failed"
        and now - (newest.finished_at or newest.created_at) < FAILED_BACKOFF
    ):
        return False, "the last computation failed less than 5 minutes ago"
    ready = latest_snapshot(consultation_id, None, "opinions")
    last = params(ready).get("last_vote_id") or 0 if ready is not None else 0
    new = (
        db.session.scalar(
            select(func.count(Vote.id))
            .join(Submission, Submission.id == Vote.submission_id)
            .where(*published_filter(consultation_id, None), Vote.id > last)
        )
        or 0
    )
    if ready is None:
        return new >= 1, f"{new} votes, no snapshot yet"
    needed = max(1, min(REFIT_MIN_NEW_VOTES, math.ceil(REFIT_VOTE_FRACTION * ready.n_items)))
    return new >= needed, f"{new} new votes since snapshot #{ready.id}, refit at {needed}"


def maybe_schedule(consultation_id: int) -> bool:
    """Checked when the opinions page is read (at most once a minute per process): refit if due."""
    from flask import current_app

    from agora import jobs

    if not auto_refit():
        return False
    now = time.monotonic()
    wait = current_app.config.get("OPINIONS_CHECK_SECONDS", CHECK_SECONDS)
    if consultation_id in _CHECKED and now - _CHECKED[consultation_id] < wait:
        return False
    _CHECKED[consultation_id] = now
    due, _why = refit_due(consultation_id)
    if due:
        jobs.submit("agora.jobs.themes.refit_opinions", consultation_id)
    return due


def page(consultation_id: int) -> dict:
    """The opinions page: the latest ready snapshot's summary and whether a newer run is going."""
    _consultation(consultation_id, None)
    state = status(consultation_id, None, "opinions")
    summary = snapshot_data(state["ready"]).get("summary") if state["ready"] is not None else None
    return {**state, "summary": summary}


# --------------------------------------------------------------------------- balance


def _shares(counts: Counter) -> list[dict]:
    total = sum(counts.values())
    return [
        {"key": key, "n": n, "share": (n / total) if total else 0.0}
        for key, n in sorted(counts.items(), key=lambda item: (item[0] == NOT_STATED, -item[1], item[0]))
    ]


def balance(consultation_id: int) -> dict:
    """Who took part, by constituency, region, Global South and gender: submitters, voters, everyone.

    A submitter is counted with the profile snapshot of their latest published view; a voter with
    their current profile. ``dominant``: a constituency holding more than half of those who
    declared one (with at least 5 declared).
    """
    _consultation(consultation_id, None)
    submitters: dict[object, dict] = {}  # keyed by user id, or ("sms", sender) / ("offline", view id)
    for author_id, constituency, region, south, gender in db.session.execute(
        select(
            Submission.author_id, Submission.constituency, Submission.region, Submission.global_south, Submission.gender
        )
        .where(*published_filter(consultation_id, None), Submission.author_id.is_not(None))
        .order_by(Submission.id)
    ).all():
        submitters[author_id] = {
            "constituency": constituency,
            "region": region,
            "global_south": south,
            "gender": gender,
        }
    # People without an account count as the report counts them: one per SMS sender, one per view
    # gathered offline, with the profile stated with their view.
    for submission_id, channel, sender, constituency, region, south, gender in db.session.execute(
        select(
            Submission.id,
            Submission.channel,
            Submission.sender_hash,
            Submission.constituency,
            Submission.region,
            Submission.global_south,
            Submission.gender,
        )
        .where(
            *published_filter(consultation_id, None),
            Submission.author_id.is_(None),
            Submission.channel.in_(("sms", "import")),
        )
        .order_by(Submission.id)
    ).all():
        key = ("sms", sender) if channel == "sms" else ("offline", submission_id)
        submitters.setdefault(
            key, {"constituency": constituency, "region": region, "global_south": south, "gender": gender}
        )
    voters = _profiles(consultation_id)
    everyone: dict[Any, dict] = {**voters, **submitters}
    groups: dict[str, Mapping[Any, dict]] = {"submitters": submitters, "voters": voters, "everyone": everyone}
    table: dict[str, dict] = {}
    for dimension in ("constituency", "region", "global_south", "gender"):
        table[dimension] = {}
        for name, people in groups.items():
            if dimension == "global_south":
                counts = Counter(
                    NOT_STATED if p["global_south"] is None else ("south" if p["global_south"] else "north")
                    for p in people.values()
                )
            else:
                counts = Counter(p[dimension] or NOT_STATED for p in people.values())
            table[dimension][name] = counts
    rows = {}
    for dimension, by_group in table.items():
        keys = sorted(
            set().union(*(set(c) for c in by_group.values())),
            key=lambda k: (k == NOT_STATED, -by_group["everyone"].get(k, 0), k),
        )
        totals = {name: sum(c.values()) for name, c in by_group.items()}
        rows[dimension] = [
            {
                "key": key,
                **{
                    name: {
                        "n": by_group[name].get(key, 0),
                        "share": by_group[name].get(key, 0) / totals[name] if totals[name] else 0.0,
                    }
                    for name in groups
                },
            }
            for key in keys
        ]
    warnings = []
    for name in groups:
        found = dominance(table["constituency"][name])
        if found:
            warnings.append({"among": name, "constituency": found[0], "share": found[1]})
    return {
        "totals": {name: len(people) for name, people in groups.items()},
        "rows": rows,
        "warnings": warnings,
        "declared": {name: sum(1 for p in people.values() if p["constituency"]) for name, people in groups.items()},
    }
