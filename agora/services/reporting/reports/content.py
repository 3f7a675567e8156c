"""What a report says, built from the data: what was asked, who took part (with the balance
indicator), themes with quotes, opinion groups and common ground, the hearing's record, the
method and the moderation record; and its summary. Aggregates and verbatim quotes only."""

import dataclasses
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import select

from agora.extensions import db
from agora.i18n import N_
from agora.models import Consultation, Submission, User, Vote
from agora.models.consultation import STAGES
from agora.models.user import CONSTITUENCIES, GENDERS
from agora.services import moderation as moderation_service
from agora.services.errors import NotFound
from agora.services.moderation import screening
from agora.services.reporting import report_summary
from agora.services.reporting.reports.encoding import _chunks, _iso, canonical

SCHEMA = "agora.report/1"


DOMINANCE = 0.5  # one constituency above half of the participants is flagged


REGION_DOMINANCE = 0.6


NOT_STATED = "not_stated"


def _r(x: float) -> float:
    return round(float(x), 4)


def _breakdown(values: Iterable[object], labels: dict | None = None) -> list[dict]:
    counts = Counter(v if v not in (None, "") else NOT_STATED for v in values)
    total = sum(counts.values())
    rows = [
        {
            "key": k,
            "label": (labels or {}).get(k, "Not stated" if k == NOT_STATED else str(k)),
            "count": n,
            "share": _r(n / total) if total else 0.0,
        }
        for k, n in counts.items()
    ]
    rows.sort(key=lambda r: (r["key"] == NOT_STATED, -r["count"], str(r["key"])))
    return rows


def _published(consultation_id: int, hearing_id: int | None) -> list[Submission]:
    query = select(Submission).where(
        Submission.consultation_id == consultation_id,
        Submission.state == "published",
        Submission.kind != "chair_summary",
    )
    if hearing_id is not None:
        query = query.where(Submission.hearing_id == hearing_id)
    return list(db.session.scalars(query.order_by(Submission.id)))


def _balance(
    constituency_rows: list[dict],
    region_rows: list[dict],
    south_share: float | None,
    gender_rows: list[dict] | None = None,
) -> dict:
    """The balance verdict. When nobody declared a profile, the verdict is "unknown" (not an
    absence of warnings, which would read as balanced), and says how many declared each part."""
    stated = [r for r in constituency_rows if r["key"] != NOT_STATED]
    stated_regions = [r for r in region_rows if r["key"] != NOT_STATED]
    stated_genders = [r for r in gender_rows or [] if r["key"] != NOT_STATED]
    participants = sum(r["count"] for r in constituency_rows)
    declared = {
        "constituency": sum(r["count"] for r in stated),
        "country": sum(r["count"] for r in stated_regions),
        "gender": sum(r["count"] for r in stated_genders),
    }
    if participants and not any(declared.values()):
        return {
            "known": False,
            "verdict": "unknown",
            "declared": declared,
            "participants": participants,
            "largest_constituency": None,
            "largest_region": None,
            "global_south_share": None,
            "warnings": [
                f"Balance unknown: none of the {participants} participants declared a constituency, a country or a gender, so who took part cannot be told apart."
            ],
        }
    warnings = []
    top = None
    if stated:
        total = sum(r["count"] for r in stated)
        top_row = max(stated, key=lambda r: r["count"])
        top = {"key": top_row["key"], "label": top_row["label"], "share_of_stated": _r(top_row["count"] / total)}
        if top["share_of_stated"] > DOMINANCE:
            warnings.append(
                f"One constituency dominates: {top_row['label']} is {top['share_of_stated']:.0%} of participants who stated a constituency."
            )
        missing = [label for key, label in CONSTITUENCIES.items() if key not in {r["key"] for r in stated}]
        if missing:
            warnings.append("No participant stated these constituencies: " + ", ".join(missing) + ".")
    top_region = None
    if stated_regions:
        total = sum(r["count"] for r in stated_regions)
        row = max(stated_regions, key=lambda r: r["count"])
        top_region = {"key": row["key"], "label": row["label"], "share_of_stated": _r(row["count"] / total)}
        if top_region["share_of_stated"] > REGION_DOMINANCE:
            warnings.append(
                f"One region dominates: {row['label']} is {top_region['share_of_stated']:.0%} of participants who stated a country."
            )
    verdict = "dominated" if any(w.startswith("One ") for w in warnings) else "no_dominance"
    return {
        "known": bool(participants),
        "verdict": verdict if participants else "no_participants",
        "declared": declared,
        "participants": participants,
        "largest_constituency": top,
        "largest_region": top_region,
        "global_south_share": south_share,
        "warnings": warnings,
    }


@dataclass(frozen=True)
class _StatedProfile:
    """What someone without an account stated with their view (SMS, offline gathering)."""

    constituency: str | None
    country: str | None
    gender: str | None


def _participation(published: list[Submission], votes: list[tuple[int, int, int]]) -> dict:
    """Who took part: accounts that wrote or voted, and people without an account who wrote by SMS
    (one person per sender) or at an offline gathering (one person per imported view), each with
    the profile they declared (an account's, or the one stated with their view)."""
    authors = {s.author_id for s in published if s.author_id}
    voters = {user_id for user_id, _, _ in votes}
    people_ids = authors | voters
    people = {}
    if people_ids:
        for chunk in _chunks(sorted(people_ids), 5000):
            for user in db.session.scalars(select(User).where(User.id.in_(chunk))):
                people[user.id] = user
    without_account: dict[tuple, _StatedProfile] = {}
    for s in published:
        if s.author_id is None and s.channel in ("sms", "import"):  # (not the views of deleted accounts)
            key = ("sms", s.sender_hash) if s.channel == "sms" else ("offline", s.id)
            without_account.setdefault(key, _StatedProfile(s.constituency, s.country, s.gender))
    from agora.services import geography

    def region(user: User | _StatedProfile | None) -> str | None:
        country = geography.country(user.country) if user and user.country else None
        return country.region if country else None

    def south(user: User | _StatedProfile | None) -> str | None:
        country = geography.country(user.country) if user and user.country else None
        return None if country is None else ("global_south" if country.global_south else "global_north")

    participants = [people.get(i) for i in sorted(people_ids)] + list(without_account.values())
    south_values = [south(u) for u in participants]
    stated_south = [v for v in south_values if v]
    south_share = _r(stated_south.count("global_south") / len(stated_south)) if stated_south else None
    constituency_rows = _breakdown([u.constituency if u else None for u in participants], CONSTITUENCIES)
    region_rows = _breakdown([region(u) for u in participants])
    gender_rows = _breakdown([u.gender if u else None for u in participants], GENDERS)
    return {
        "participants": len(people_ids) + len(without_account),
        "submitters": len(authors) + len(without_account),
        "voters": len(voters),
        "submissions": len(published),
        "votes": len(votes),
        "participants_by": {
            "constituency": constituency_rows,
            "region": region_rows,
            "global_south": _breakdown(
                south_values, {"global_south": N_("Global South"), "global_north": N_("Global North")}
            ),
            "gender": gender_rows,
        },
        "submissions_by": {
            "constituency": _breakdown([s.constituency for s in published], CONSTITUENCIES),
            "region": _breakdown([s.region for s in published]),
            "global_south": _breakdown(
                [
                    None if s.global_south is None else ("global_south" if s.global_south else "global_north")
                    for s in published
                ],
                {"global_south": N_("Global South"), "global_north": N_("Global North")},
            ),
            "gender": _breakdown([s.gender for s in published], GENDERS),
            "language": _breakdown([s.language for s in published]),
            "channel": _breakdown(
                [s.channel for s in published],
                {
                    "web": N_("Web"),
                    "api": N_("API"),
                    "socket": N_("Live hearing"),
                    "import": N_("Imported offline or from another platform"),
                    "sms": N_("SMS"),
                },
            ),
        },
        "balance": _balance(constituency_rows, region_rows, south_share, gender_rows),
    }


def _themes(published: list[Submission], consultation_id: int, hearing_id: int | None) -> dict:
    """Themes fitted on exactly the report's views (reproducible: fixed seed), numbered like the
    public themes page's latest snapshot, so "theme 3" means the same thing in both."""
    from agora.services.analysis import themes as theme_service
    from moderation import themes as theme_lib

    if not published:
        return {"method": None, "items": [], "unassigned": 0, "map": []}
    from agora.services import embeddings

    texts = [s.text for s in published]
    snapshot = theme_service.latest_snapshot(consultation_id, hearing_id, "themes")
    previous = theme_service.themeset_of(snapshot) if snapshot is not None else None
    # by meaning, as the themes page: each view's stored multilingual embedding, and its language
    vectors = embeddings.vectors_for([s.id for s in published])
    fitted = theme_lib.fit(
        texts, random_state=0, previous=previous, vectors=vectors, languages=[s.language for s in published]
    )
    items = []
    for theme in sorted(fitted.themes, key=lambda t: -t.size):
        members = [s for s, a in zip(published, fitted.assignments) if a == theme.id]
        quotes = [
            {"submission_id": published[i].id, "text": published[i].text} for i in list(theme.representatives)[:3]
        ]
        items.append(
            {
                "id": theme.id,
                "label": theme.label,
                "terms": list(theme.terms)[:8],
                "size": theme.size,
                "share": _r(theme.size / len(published)),
                "quotes": quotes,
                "constituency": _breakdown([m.constituency for m in members], CONSTITUENCIES),
                "region": _breakdown([m.region for m in members]),
            }
        )
    coords = getattr(fitted, "coords", None) or []
    return {
        "method": {
            "library": "moderation.themes",
            "backend": "embeddings",
            "model": theme_service.EMBEDDING_MODEL,
            "k": len(fitted.themes),
            "k_chosen_by": str(getattr(fitted, "k_chosen_by", ""))[:300],
            "random_state": 0,
            "ids_matched_to_snapshot": snapshot.id if snapshot is not None and previous is not None else None,
        },
        "items": items,
        "unassigned": sum(1 for a in fitted.assignments if a == -1),
        "map": [[_r(x), _r(y), int(a)] for (x, y), a in zip(coords, fitted.assignments)],
    }


def _opinions(
    published: list[Submission], votes: list[tuple[int, int, int]], consultation_id: int | None = None
) -> dict:
    """Opinion groups from the votes, each named by its letter as on the opinions page (numbered
    like the page's latest snapshot), and every representative statement with its direction and
    the group's agree / disagree / pass shares beside everyone's, computed as the page computes
    them (agora.services.analysis.opinions)."""
    from agora.services.analysis import opinions as opinion_service
    from agora.services.analysis import themes as theme_service
    from moderation import opinions as opinion_lib

    texts = {s.id: s.text for s in published}
    empty: dict[str, object] = {
        "groups": [],
        "consensus": [],
        "divisive": [],
        "consensus_across_constituencies": [],
        "consensus_across_regions": [],
        "method": None,
    }
    if not votes:
        return empty
    previous, snapshot = None, None
    if consultation_id is not None:
        snapshot = theme_service.latest_snapshot(consultation_id, None, "opinions")
        if snapshot is not None and theme_service.snapshot_data(snapshot).get("vote"):
            previous = opinion_lib.OpinionGroups.from_dict(theme_service.snapshot_data(snapshot)["vote"])
    result = opinion_lib.fit(votes, previous=previous, random_state=0)
    voters = sorted({u for u, _, _ in votes})
    users = {}
    for chunk in _chunks(voters, 5000):
        for user in db.session.scalars(select(User).where(User.id.in_(chunk))):
            users[user.id] = user
    shown = (
        {sid for items in result.representative.values() for sid in items}
        | set(result.consensus)
        | set(result.divisive)
    )
    counts = opinion_service.tally(votes, result, shown)
    letters = {
        str(group): opinion_service.group_letter(group, i)
        for i, group in enumerate(sorted(set(result.groups.values())))
    }

    def shares(sid: int) -> dict:
        found = opinion_service.statement_shares(result, counts, sid)
        return {
            "everyone": {k: found[k] for k in ("votes", "agree", "disagree", "pass")},
            "groups": {letters.get(key, key): value for key, value in found["groups"].items()},
        }

    groups = []
    for group in sorted(set(result.groups.values())):
        members = [users.get(p) for p, g in result.groups.items() if g == group]
        letter = letters[str(group)]
        representative = []
        for item in result.representative_detail.get(group, [])[:5]:
            sid = item["statement"]
            if sid not in texts:
                continue
            found = shares(sid)
            representative.append(
                {
                    "submission_id": sid,
                    "text": texts[sid],
                    "direction": item["direction"],
                    "ratio": item["ratio"],
                    "group": found["groups"].get(letter),
                    **found,
                }
            )
        groups.append(
            {
                "id": int(group),
                "letter": letter,
                "name": f"Group {letter}",
                "size": len(members),
                "constituency": _breakdown([m.constituency if m else None for m in members], CONSTITUENCIES),
                "representative": representative,
            }
        )

    def statements(ids: Iterable[int], n: int = 10, with_shares: bool = True) -> list[dict]:
        return [
            {"submission_id": sid, "text": texts[sid], **(shares(sid) if with_shares else {})}
            for sid in list(ids)[:n]
            if sid in texts
        ]

    declared = {u: users[u].constituency for u in voters if u in users and users[u].constituency}
    from agora.services import geography

    regions = {}
    for u in voters:
        country = geography.country(users[u].country) if u in users else None
        if country:
            regions[u] = country.region
    across_constituencies = (
        opinion_lib.fit(votes, groups=declared, random_state=0).consensus if len(set(declared.values())) >= 2 else []
    )
    across_regions = (
        opinion_lib.fit(votes, groups=regions, random_state=0).consensus if len(set(regions.values())) >= 2 else []
    )
    return {
        "method": {
            "library": "moderation.opinions",
            "min_votes": 7,
            "random_state": 0,
            "groups_by": N_("votes (Pol.is method: PCA of the vote matrix, k-means, k by silhouette)"),
            "group_names": "letters by group number, as on the opinions page",
            "ids_matched_to_snapshot": snapshot.id if snapshot is not None and previous is not None else None,
        },
        "groups": groups,
        "consensus": statements(result.consensus),
        "divisive": statements(result.divisive),
        "consensus_across_constituencies": statements(across_constituencies, with_shares=False),
        "consensus_across_regions": statements(across_regions, with_shares=False),
        "declared_groups": {"constituencies": len(set(declared.values())), "regions": len(set(regions.values()))},
    }


def _hearing_record(hearing_id: int | None) -> dict | None:
    if hearing_id is None:
        return None
    from agora.services import hearings

    hearing = hearings.get(hearing_id)
    speakers = [
        {
            "order": i,
            "speaker": f"Speaker {i}",
            "constituency": record.constituency,
            "topic": record.topic,
            "duration_seconds": record.seconds,
        }
        for i, record in enumerate(hearings.speakers_record(hearing), start=1)
    ]
    summaries = db.session.scalars(
        select(Submission)
        .where(Submission.hearing_id == hearing_id, Submission.kind == "chair_summary", Submission.state == "published")
        .order_by(Submission.id)
    ).all()
    return {
        "title": hearing.title,
        "state": hearing.state,
        "started_at": _iso(hearing.started_at),
        "ended_at": _iso(hearing.ended_at),
        "speakers": speakers,
        "chair_summaries": [{"submission_id": s.id, "text": s.text, "at": _iso(s.created_at)} for s in summaries],
    }


def _method(published: list[Submission], model_version: str | None, thresholds: dict | None) -> dict:
    """Stored in English in the frozen report; pages show it in the reader's language while this
    exact text is in the catalogue (an older report's wording stays English, and the page says so)."""
    return {
        "text": N_(
            "Views were submitted on the Agora platform (and, where stated, imported from offline or other channels). "
            "Every submission was screened by a machine-learning model for abuse and spam; the model only publishes or holds, "
            "and people decided on every held or reported item against the published code of conduct. "
            "Themes were found by grouping the published views by meaning (multilingual sentence embeddings, so that views in "
            "different languages on the same subject fall together, then k-means, with the number of themes chosen by the gap "
            "statistic); representative quotes are the views closest to each theme's centre, chosen to be diverse. Opinion groups were found from agree/disagree/pass votes with the Pol.is method (principal "
            "components of the vote matrix, k-means); consensus statements are agreed in every group. "
            "Breakdowns use what participants declared about themselves; 'not stated' is shown. No participant is named."
        ),
        "moderation_model": model_version,
        "thresholds": thresholds,
        "items_analysed": len(published),
    }


def build(
    consultation_id: int, hearing_id: int | None = None, *, progress: Callable[[str], None] = lambda message: None
) -> dict:
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None:
        raise NotFound("There is no consultation with this number.")
    progress("Collecting published submissions and votes…")
    published = _published(consultation.id, hearing_id)
    ids = [s.id for s in published]
    votes: list[tuple[int, int, int]] = []
    for chunk in _chunks(ids, 5000):
        votes.extend(
            db.session.execute(
                select(Vote.user_id, Vote.submission_id, Vote.value).where(Vote.submission_id.in_(chunk))
            ).all()
        )
    votes = [
        (user_id, submission_id, value) for user_id, submission_id, value in sorted(votes)
    ]  # plain tuples, not Rows
    progress(f"{len(published)} published submissions, {len(votes)} votes.")
    model = screening.moderator()
    thresholds = screening.thresholds_for(model, consultation) if model else None
    progress("Participation and balance…")
    participation = _participation(published, votes)
    progress("Themes…")
    themes = _themes(published, consultation.id, hearing_id)
    progress("Opinion groups and consensus…")
    opinions = _opinions(published, votes, consultation.id if hearing_id is None else None)
    transparency = moderation_service.transparency(consultation.id)
    content = {
        "schema": SCHEMA,
        "consultation": {
            "id": consultation.id,
            "slug": consultation.slug,
            "title": consultation.title,
            "summary": consultation.summary,
            "question_html": consultation.briefing_html,
            "stage": consultation.stage,
            "stage_label": STAGES.get(consultation.stage),
            "status": consultation.status,
            "forum": consultation.forum,
            "languages": consultation.languages,
            "opens_at": _iso(consultation.opens_at),
            "closes_at": _iso(consultation.closes_at),
            "attribution": consultation.attribution,
        },
        "hearing": _hearing_record(hearing_id),
        "empty": not published,
        "participation": participation,
        "themes": themes,
        "opinions": opinions,
        "moderation": {
            "received": transparency.received,
            "screened": transparency.screened,
            "published_at_once": transparency.published_at_once,
            "held": transparency.held,
            "hidden_at_import": transparency.hidden_at_import,
            "unscreened": transparency.unscreened,
            "approved": transparency.approved,
            "hidden": transparency.hidden,
            "rejected": transparency.rejected,
            "after_reports": transparency.after_reports,
            "kept": transparency.kept,
            "waiting": transparency.waiting,
            "restored_on_appeal": transparency.restored_on_appeal,
            "by_reason": transparency.by_reason,
            "campaigns": [{"size": n} for _, n in transparency.campaigns],
        },
        "method": _method(
            published,
            getattr(model, "version", None),
            dataclasses.asdict(thresholds) if thresholds is not None else None,
        ),
    }
    content["summary"] = report_summary.summarise(content)  # frozen and hashed with the rest
    progress("Done.")
    return json.loads(canonical(content))  # normalise exactly as it will be frozen
