"""Reports of aggregated opinion: build, review, freeze (canonical JSON + SHA-256), export,
verify and transmit to forums.

A frozen report never changes; a correction is a new version that supersedes it. Reports hold
aggregates and verbatim quotes only: no participant's name, account or id.
"""
import dataclasses
import hashlib
import hmac
import io
import json
import logging
import re
import struct
import time
import unicodedata
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import func, select

from agora.extensions import db
from agora.jobs import off_loop
from agora.models import Consultation, Forum, Report, Submission, Transmission, User, Vote
from agora.models._base import utcnow
from agora.i18n import N_
from agora.models.consultation import STAGES
from agora.models.user import CONSTITUENCIES, GENDERS
from agora.services import archives, audit, csvfiles, report_summary, screening
from agora.services import moderation as moderation_service
from agora.services.errors import Conflict, Invalid, NotFound
from agora.services.sanitize import clean_line

log = logging.getLogger(__name__)
SCHEMA = "agora.report/1"
DOMINANCE = 0.5  # one constituency above half of the participants is flagged
REGION_DOMINANCE = 0.6
NOT_STATED = "not_stated"
PACKAGE_EPOCH = (2020, 1, 1, 0, 0, 0)  # fixed zip timestamps: the same report gives the same bytes
WEBHOOK_ATTEMPTS = 5


# --- building ---------------------------------------------------------------------------

def _r(x: float) -> float:
    return round(float(x), 4)


def _breakdown(values, labels: dict | None = None) -> list[dict]:
    counts = Counter(v if v not in (None, "") else NOT_STATED for v in values)
    total = sum(counts.values())
    rows = [
        {"key": k, "label": (labels or {}).get(k, "Not stated" if k == NOT_STATED else str(k)), "count": n, "share": _r(n / total) if total else 0.0}
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


def _balance(constituency_rows: list[dict], region_rows: list[dict], south_share: float | None, gender_rows: list[dict] | None = None) -> dict:
    """The balance verdict. When nobody declared a profile, the verdict is "unknown" (not an
    absence of warnings, which would read as balanced), and says how many declared each part."""
    stated = [r for r in constituency_rows if r["key"] != NOT_STATED]
    stated_regions = [r for r in region_rows if r["key"] != NOT_STATED]
    stated_genders = [r for r in gender_rows or [] if r["key"] != NOT_STATED]
    participants = sum(r["count"] for r in constituency_rows)
    declared = {
        "constituency": sum(r["count"] for r in stated), "country": sum(r["count"] for r in stated_regions),
        "gender": sum(r["count"] for r in stated_genders),
    }
    if participants and not any(declared.values()):
        return {
            "known": False, "verdict": "unknown", "declared": declared, "participants": participants,
            "largest_constituency": None, "largest_region": None, "global_south_share": None,
            "warnings": [f"Balance unknown: none of the {participants} participants declared a constituency, a country or a gender, so who took part cannot be told apart."],
        }
    warnings = []
    top = None
    if stated:
        total = sum(r["count"] for r in stated)
        top_row = max(stated, key=lambda r: r["count"])
        top = {"key": top_row["key"], "label": top_row["label"], "share_of_stated": _r(top_row["count"] / total)}
        if top["share_of_stated"] > DOMINANCE:
            warnings.append(f"One constituency dominates: {top_row['label']} is {top['share_of_stated']:.0%} of participants who stated a constituency.")
        missing = [label for key, label in CONSTITUENCIES.items() if key not in {r["key"] for r in stated}]
        if missing:
            warnings.append("No participant stated these constituencies: " + ", ".join(missing) + ".")
    top_region = None
    if stated_regions:
        total = sum(r["count"] for r in stated_regions)
        row = max(stated_regions, key=lambda r: r["count"])
        top_region = {"key": row["key"], "label": row["label"], "share_of_stated": _r(row["count"] / total)}
        if top_region["share_of_stated"] > REGION_DOMINANCE:
            warnings.append(f"One region dominates: {row['label']} is {top_region['share_of_stated']:.0%} of participants who stated a country.")
    verdict = "dominated" if any(w.startswith("One ") for w in warnings) else "no_dominance"
    return {
        "known": bool(participants), "verdict": verdict if participants else "no_participants", "declared": declared, "participants": participants,
        "largest_constituency": top, "largest_region": top_region, "global_south_share": south_share, "warnings": warnings,
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

    def region(user):
        country = geography.country(user.country) if user and user.country else None
        return country.region if country else None

    def south(user):
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
            "global_south": _breakdown(south_values, {"global_south": N_("Global South"), "global_north": N_("Global North")}),
            "gender": gender_rows,
        },
        "submissions_by": {
            "constituency": _breakdown([s.constituency for s in published], CONSTITUENCIES),
            "region": _breakdown([s.region for s in published]),
            "global_south": _breakdown(
                [None if s.global_south is None else ("global_south" if s.global_south else "global_north") for s in published],
                {"global_south": N_("Global South"), "global_north": N_("Global North")},
            ),
            "gender": _breakdown([s.gender for s in published], GENDERS),
            "language": _breakdown([s.language for s in published]),
            "channel": _breakdown([s.channel for s in published], {"web": N_("Web"), "api": N_("API"), "socket": N_("Live hearing"), "import": N_("Imported offline or from another platform"), "sms": N_("SMS")}),
        },
        "balance": _balance(constituency_rows, region_rows, south_share, gender_rows),
    }


def _themes(published: list[Submission], consultation_id: int, hearing_id: int | None) -> dict:
    """Themes fitted on exactly the report's views (reproducible: fixed seed), numbered like the
    public themes page's latest snapshot, so "theme 3" means the same thing in both."""
    from moderation import themes as theme_lib

    from agora.services import themes as theme_service

    if not published:
        return {"method": None, "items": [], "unassigned": 0, "map": []}
    from agora.services import embeddings

    texts = [s.text for s in published]
    snapshot = theme_service.latest_snapshot(consultation_id, hearing_id, "themes")
    previous = theme_service.themeset_of(snapshot) if snapshot is not None else None
    # by meaning, as the themes page: each view's stored multilingual embedding, and its language
    vectors = embeddings.vectors_for([s.id for s in published])
    fitted = theme_lib.fit(texts, random_state=0, previous=previous, vectors=vectors, languages=[s.language for s in published])
    items = []
    for theme in sorted(fitted.themes, key=lambda t: -t.size):
        members = [s for s, a in zip(published, fitted.assignments) if a == theme.id]
        quotes = [{"submission_id": published[i].id, "text": published[i].text} for i in list(theme.representatives)[:3]]
        items.append({
            "id": theme.id, "label": theme.label, "terms": list(theme.terms)[:8], "size": theme.size,
            "share": _r(theme.size / len(published)), "quotes": quotes,
            "constituency": _breakdown([m.constituency for m in members], CONSTITUENCIES),
            "region": _breakdown([m.region for m in members]),
        })
    coords = getattr(fitted, "coords", None) or []
    return {
        "method": {"library": "moderation.themes", "backend": "embeddings", "model": theme_service.EMBEDDING_MODEL, "k": len(fitted.themes), "k_chosen_by": str(getattr(fitted, "k_chosen_by", ""))[:300], "random_state": 0,
                   "ids_matched_to_snapshot": snapshot.id if previous is not None else None},
        "items": items,
        "unassigned": sum(1 for a in fitted.assignments if a == -1),
        "map": [[_r(x), _r(y), int(a)] for (x, y), a in zip(coords, fitted.assignments)],
    }


def _opinions(published: list[Submission], votes: list[tuple[int, int, int]], consultation_id: int | None = None) -> dict:
    """Opinion groups from the votes, each named by its letter as on the opinions page (numbered
    like the page's latest snapshot), and every representative statement with its direction and
    the group's agree / disagree / pass shares beside everyone's, computed as the page computes
    them (agora.services.opinions)."""
    from moderation import opinions as opinion_lib

    from agora.services import opinions as opinion_service
    from agora.services import themes as theme_service

    texts = {s.id: s.text for s in published}
    empty = {"groups": [], "consensus": [], "divisive": [], "consensus_across_constituencies": [], "consensus_across_regions": [], "method": None}
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
    shown = {sid for items in result.representative.values() for sid in items} | set(result.consensus) | set(result.divisive)
    counts = opinion_service.tally(votes, result, shown)
    letters = {str(group): opinion_service.group_letter(group, i) for i, group in enumerate(sorted(set(result.groups.values())))}

    def shares(sid):
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
            representative.append({
                "submission_id": sid, "text": texts[sid], "direction": item["direction"], "ratio": item["ratio"],
                "group": found["groups"].get(letter), **found,
            })
        groups.append({
            "id": int(group), "letter": letter, "name": f"Group {letter}", "size": len(members),
            "constituency": _breakdown([m.constituency if m else None for m in members], CONSTITUENCIES),
            "representative": representative,
        })

    def statements(ids, n=10, with_shares=True):
        return [{"submission_id": sid, "text": texts[sid], **(shares(sid) if with_shares else {})} for sid in list(ids)[:n] if sid in texts]

    declared = {u: users[u].constituency for u in voters if u in users and users[u].constituency}
    from agora.services import geography

    regions = {}
    for u in voters:
        country = geography.country(users[u].country) if u in users else None
        if country:
            regions[u] = country.region
    across_constituencies = opinion_lib.fit(votes, groups=declared, random_state=0).consensus if len(set(declared.values())) >= 2 else []
    across_regions = opinion_lib.fit(votes, groups=regions, random_state=0).consensus if len(set(regions.values())) >= 2 else []
    return {
        "method": {"library": "moderation.opinions", "min_votes": 7, "random_state": 0, "groups_by": N_("votes (Pol.is method: PCA of the vote matrix, k-means, k by silhouette)"),
                   "group_names": "letters by group number, as on the opinions page", "ids_matched_to_snapshot": snapshot.id if previous is not None else None},
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
    speakers = []
    for i, record in enumerate(hearings.speakers_record(hearing), start=1):
        data = record.__dict__ if hasattr(record, "__dict__") else dict(record)
        speakers.append({
            "order": i,
            "speaker": f"Speaker {i}",
            "constituency": data.get("constituency"),
            "topic": data.get("topic"),
            "duration_seconds": data.get("duration_seconds"),
        })
    summaries = db.session.scalars(
        select(Submission).where(Submission.hearing_id == hearing_id, Submission.kind == "chair_summary", Submission.state == "published").order_by(Submission.id)
    ).all()
    return {
        "title": hearing.title, "state": hearing.state,
        "started_at": _iso(hearing.started_at), "ended_at": _iso(hearing.ended_at),
        "speakers": speakers,
        "chair_summaries": [{"submission_id": s.id, "text": s.text, "at": _iso(s.created_at)} for s in summaries],
    }


def _method(published, model_version, thresholds) -> dict:
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


def build(consultation_id: int, hearing_id: int | None = None, *, progress=lambda message: None) -> dict:
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None:
        raise NotFound("There is no consultation with this number.")
    progress("Collecting published submissions and votes…")
    published = _published(consultation.id, hearing_id)
    ids = [s.id for s in published]
    votes: list[tuple[int, int, int]] = []
    for chunk in _chunks(ids, 5000):
        votes.extend(db.session.execute(select(Vote.user_id, Vote.submission_id, Vote.value).where(Vote.submission_id.in_(chunk))).all())
    votes = [tuple(v) for v in sorted(votes)]
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
            "id": consultation.id, "slug": consultation.slug, "title": consultation.title, "summary": consultation.summary,
            "question_html": consultation.briefing_html, "stage": consultation.stage, "stage_label": STAGES.get(consultation.stage),
            "status": consultation.status, "forum": consultation.forum, "languages": consultation.languages,
            "opens_at": _iso(consultation.opens_at), "closes_at": _iso(consultation.closes_at), "attribution": consultation.attribution,
        },
        "hearing": _hearing_record(hearing_id),
        "empty": not published,
        "participation": participation,
        "themes": themes,
        "opinions": opinions,
        "moderation": {
            "received": transparency.received, "screened": transparency.screened, "published_at_once": transparency.published_at_once,
            "held": transparency.held, "hidden_at_import": transparency.hidden_at_import, "unscreened": transparency.unscreened,
            "approved": transparency.approved, "hidden": transparency.hidden, "rejected": transparency.rejected,
            "after_reports": transparency.after_reports, "kept": transparency.kept, "waiting": transparency.waiting,
            "restored_on_appeal": transparency.restored_on_appeal,
            "by_reason": transparency.by_reason, "campaigns": [{"size": n} for _, n in transparency.campaigns],
        },
        "method": _method(published, getattr(model, "version", None), dataclasses.asdict(thresholds) if thresholds is not None else None),
    }
    content["summary"] = report_summary.summarise(content)  # frozen and hashed with the rest
    progress("Done.")
    return json.loads(canonical(content))  # normalise exactly as it will be frozen


# --- lifecycle --------------------------------------------------------------------------

def canonical(content: dict) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default).encode("utf-8")


def digest(content_bytes: bytes) -> str:
    return hashlib.sha256(content_bytes).hexdigest()


def create_draft(consultation_id: int, user: User | None, hearing_id: int | None = None, *, supersedes_id: int | None = None, progress=lambda m: None) -> Report:
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None:
        raise NotFound("There is no consultation with this number.")
    if hearing_id is not None:
        from agora.services import hearings

        hearing = hearings.get(hearing_id)
        if hearing.consultation_id != consultation.id:
            raise Invalid("This hearing belongs to another consultation.", field="hearing_id")
        if hearing.state != "ended":
            raise Conflict("This hearing has not ended yet: a report is made once it is over.", code="still_live")
    elif consultation.status in ("draft", "open"):
        raise Conflict("This consultation is still open (or a draft): close it before reporting, so the report covers everything.", code="still_open")
    content = build(consultation.id, hearing_id, progress=progress)
    latest = db.session.scalar(
        select(func.max(Report.version)).where(Report.consultation_id == consultation.id, (Report.hearing_id == hearing_id) if hearing_id else Report.hearing_id.is_(None))
    ) or 0
    title = f"Report on “{consultation.title}”" + (f" — {content['hearing']['title']}" if content.get("hearing") else "")
    content["report"] = {"title": title, "version": latest + 1, "supersedes": supersedes_id, "generated_at": _iso(utcnow())}
    report = Report(
        consultation_id=consultation.id, hearing_id=hearing_id, version=latest + 1, supersedes_id=supersedes_id,
        state="draft", title=title, content_json=canonical(content).decode("utf-8"), created_by_id=user.id if user else None,
    )
    db.session.add(report)
    db.session.commit()
    return report


def get(report_id: int) -> Report:
    report = db.session.get(Report, report_id)
    if report is None:
        raise NotFound("There is no report with this number.")
    return report


MAX_PACKAGE_BYTES = 50 * 1024 * 1024  # the largest package accepted for verification


def readable(report_id: int, viewer: User | None = None) -> Report:
    """Frozen reports are public; a draft only for the secretariat; anything else is not found."""
    from agora import permissions

    report = db.session.get(Report, report_id)
    if report is None or (report.state != "frozen" and not permissions.is_admin(viewer)):
        raise NotFound("There is no frozen report with this number.")
    return report


def content_of(report: Report) -> dict:
    return json.loads(report.content_json)


def freeze(report_id: int, user: User | None) -> Report:
    """Freeze: the canonical JSON, its SHA-256 and the package are fixed for good."""
    report = get(report_id)
    if report.state == "frozen":
        raise Conflict("This report is already frozen; make a new version to correct it.", code="frozen")
    content = content_of(report)
    content["report"]["frozen_at"] = _iso(utcnow())
    # The moderation audit chain's length and head as of now, frozen with the report: deleting the
    # log's last entries later shows against it (agora.services.audit.verify).
    content["audit_anchor"] = audit.head().as_dict()
    body = canonical(content)
    report.content_json = body.decode("utf-8")
    report.sha256 = digest(body)
    report.state = "frozen"
    report.frozen_at = utcnow()
    report.package, report.manifest_sha256 = build_package(report)
    consultation = report.consultation
    if report.hearing_id is None and consultation.status == "closed":
        consultation.status = "reported"
    db.session.commit()
    try:
        audit.checkpoint()  # and a signed checkpoint in the instance folder
    except OSError as error:
        log.warning("audit checkpoint not written: %s", error)
    return report


def new_version(report_id: int, user: User | None) -> Report:
    """A correction: a fresh draft from today's data that supersedes the given frozen report."""
    earlier = get(report_id)
    if earlier.state != "frozen":
        raise Conflict("Only a frozen report can be superseded; edit the draft instead.", code="not_frozen")
    return create_draft(earlier.consultation_id, user, earlier.hearing_id, supersedes_id=earlier.id)


def regenerate(report_id: int, user: User | None) -> Report:
    report = get(report_id)
    if report.state == "frozen":
        raise Conflict("A frozen report never changes; make a new version instead.", code="frozen")
    content = build(report.consultation_id, report.hearing_id)
    content["report"] = {**content_of(report)["report"], "generated_at": _iso(utcnow())}
    report.content_json = canonical(content).decode("utf-8")
    db.session.commit()
    return report


def public_list(consultation_id: int | None = None) -> list[Report]:
    query = select(Report).where(Report.state == "frozen").order_by(Report.frozen_at.desc())
    if consultation_id is not None:
        query = query.where(Report.consultation_id == consultation_id)
    return list(db.session.scalars(query))


def all_for_admin() -> list[Report]:
    return list(db.session.scalars(select(Report).order_by(Report.created_at.desc())))


# --- exports ----------------------------------------------------------------------------

def csv_tables(content: dict) -> dict[str, str]:
    tables = {}

    def write(name, header, rows):
        buffer = io.StringIO()
        writer = csvfiles.writer(buffer, lineterminator="\n")  # cells neutralised: participants wrote the texts
        writer.writerow(header)
        writer.writerows(rows)
        tables[name] = buffer.getvalue()

    participation = content["participation"]
    for scope in ("participants_by", "submissions_by"):
        for dimension, rows in participation[scope].items():
            write(f"{scope.replace('_by', '')}_by_{dimension}.csv", ["key", "label", "count", "share"], [[r["key"], r["label"], r["count"], r["share"]] for r in rows])
    write("themes.csv", ["theme_id", "label", "size", "share", "terms", "quote_submission_ids"],
          [[t["id"], t["label"], t["size"], t["share"], " ".join(t["terms"]), " ".join(str(q["submission_id"]) for q in t["quotes"])] for t in content["themes"]["items"]])
    write("theme_breakdowns.csv", ["theme_id", "dimension", "key", "count", "share"],
          [[t["id"], dim, r["key"], r["count"], r["share"]] for t in content["themes"]["items"] for dim in ("constituency", "region") for r in t[dim]])
    groups = content["opinions"]["groups"]
    write("opinion_groups.csv", ["group", "size", "constituency", "count", "share"],
          [[g.get("letter", g["id"]), g["size"], r["key"], r["count"], r["share"]] for g in groups for r in g["constituency"]])

    def shares(found):
        found = found or {}
        return [found.get("votes"), found.get("agree"), found.get("disagree"), found.get("pass")]

    write("opinion_group_statements.csv",
          ["group", "submission_id", "direction", "group_votes", "group_agree", "group_disagree", "group_pass",
           "everyone_votes", "everyone_agree", "everyone_disagree", "everyone_pass", "text"],
          [[g.get("letter", g["id"]), s["submission_id"], s.get("direction"), *shares(s.get("group")), *shares(s.get("everyone")), s["text"]]
           for g in groups for s in g["representative"]])
    statements = []
    for kind in ("consensus", "divisive", "consensus_across_constituencies", "consensus_across_regions"):
        statements += [[kind, s["submission_id"], s["text"]] for s in content["opinions"][kind]]
    write("statements.csv", ["kind", "submission_id", "text"], statements)
    # Each agreed and divisive statement's shares, everyone's and each group's (what the summary cites)
    write("statement_shares.csv", ["kind", "submission_id", "who", "votes", "agree", "disagree", "pass"],
          [[kind, s["submission_id"], who, *shares(found)]
           for kind in ("consensus", "divisive") for s in content["opinions"][kind] if s.get("everyone")
           for who, found in [("everyone", s["everyone"]), *sorted((s.get("groups") or {}).items())]])
    if content.get("summary"):
        write("summary.csv", ["section", "kind", "text", "statement_ids"],
              [[c["section"], c["kind"], c["text"], " ".join(str(i) for i in c["statements"])] for c in content["summary"]["claims"]])
    moderation = content["moderation"]
    measures = ("received", "screened", "published_at_once", "held", "hidden_at_import", "unscreened", "approved", "hidden", "rejected",
                "after_reports", "kept", "waiting", "restored_on_appeal")
    write("moderation.csv", ["measure", "value"], [[k, moderation[k]] for k in measures if k in moderation])
    return tables


def render_html(report: Report, *, standalone: bool = True) -> str:
    from pathlib import Path

    from flask import current_app, has_request_context, render_template

    css = (Path(current_app.static_folder) / "css" / "report.css").read_text("utf-8") if standalone else ""
    if not has_request_context():  # freezing from the CLI or a job: render as an anonymous reader
        with current_app.test_request_context("/", headers={"Accept-Language": "en"}):
            return render_html(report, standalone=standalone)
    return render_template("reports/report.html", report=report, standalone=standalone, report_css=css, **template_context(report))


def template_context(report: Report) -> dict:
    """What the report template needs beside the report: its content, and its summary worded in
    the reader's language with the anchors of the statements it cites."""
    content = content_of(report)
    return {
        "content": content, "summary": report_summary.for_reader(content.get("summary")),
        "summary_statements": (content.get("summary") or {}).get("statements") or {}, "anchor": report_summary.statement_anchor,
    }


def render_pdf(report: Report) -> bytes:
    from weasyprint import HTML

    return HTML(string=render_html(report, standalone=True)).write_pdf()


def _zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=PACKAGE_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    return buffer.getvalue()


def build_package(report: Report) -> tuple[bytes, str]:
    """The transmission package: JSON, HTML, PDF, CSV tables and a manifest of their hashes."""
    files: dict[str, bytes] = {"report.json": report.content_json.encode("utf-8")}
    files["report.html"] = render_html(report, standalone=True).encode("utf-8")
    files["report.pdf"] = render_pdf(report)
    for name, text in csv_tables(content_of(report)).items():
        files[f"tables/{name}"] = text.encode("utf-8")
    manifest = {
        "schema": "agora.package/1",
        "report_id": report.id,
        "report_sha256": report.sha256,
        "title": report.title,
        "version": report.version,
        "files": {name: digest(data) for name, data in sorted(files.items())},
    }
    manifest_bytes = canonical(manifest)
    files["manifest.json"] = manifest_bytes
    return _zip_bytes(files), digest(manifest_bytes)


# --- verification -----------------------------------------------------------------------

@dataclass(frozen=True)
class Verification:
    ok: bool
    report_id: int | None
    message: str
    problems: tuple[str, ...] = field(default=())
    checked: tuple[str, ...] = field(default=())


def package_sha256(report: Report) -> str | None:
    """The frozen transmission package's own SHA-256 (what an uploaded package must equal)."""
    return digest(report.package) if report.package else None


def verify_report(report_id: int) -> Verification:
    report = db.session.get(Report, report_id, populate_existing=True)  # what is stored now, not a copy in memory
    if report is None or report.state != "frozen":
        return Verification(False, report_id, "There is no frozen report with this number.")
    actual = digest(report.content_json.encode("utf-8"))
    if actual != report.sha256:
        return Verification(False, report.id, "The stored report does not match its frozen hash.", (f"report.json: expected {report.sha256}, found {actual}",))
    return Verification(True, report.id, f"Report {report.id} matches its frozen SHA-256 {report.sha256}.", (), ("report.json",))


@dataclass(frozen=True)
class PackageContents:
    """What verification needs from an uploaded package: its manifest, every entry's SHA-256,
    the package's own SHA-256 and what is wrong with its layout."""

    manifest_bytes: bytes
    digests: dict[str, str]  # every entry but manifest.json
    sha256: str = ""
    layout_problems: tuple[str, ...] = ()


MAX_MANIFEST_BYTES = 1024 * 1024
# The only names a package holds (build_package); anything else is refused, look-alikes included.
PACKAGE_NAME = re.compile(r"(?:manifest\.json|report\.(?:json|html|pdf)|tables/[a-z0-9_]+\.csv)\Z")


def read_package(data: bytes) -> PackageContents:
    """Open an uploaded package with the archive caps and hash its entries in chunks (no
    database, no application context: it runs in a native thread, off the event loop)."""
    archive = archives.SafeZip(data)
    manifest_bytes = archive.read("manifest.json", max_bytes=MAX_MANIFEST_BYTES)
    digests = {name: archive.sha256(name) for name in archive.names() if name != "manifest.json"}
    return PackageContents(manifest_bytes, digests, digest(data), tuple(_layout_problems(data)))


def _lookalike_key(name: str) -> str:
    """What a name looks like to a reader: compatibility forms folded, case ignored, invisible
    and space characters dropped, backslashes as slashes, empty and "." path parts removed."""
    text = unicodedata.normalize("NFKC", name).replace("\\", "/").casefold()
    text = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf", "Zs", "Zl", "Zp"))
    return "/".join(part for part in text.split("/") if part not in ("", "."))


def _layout_problems(data: bytes) -> list[str]:
    """A package is its entries one after another from byte 0, then its directory, then the end
    record, nothing else: data before, between or after them (a polyglot, a hidden entry, a
    comment) is named. The directory was already checked by archives.SafeZip."""
    problems = []
    end = len(data) - 22
    if end < 0 or data[end:end + 4] != b"PK\x05\x06" or data[-2:] != b"\x00\x00":
        problems.append("the package: data after the end of the archive (or an archive comment)")
        return problems
    _sig, _disk, _cd_disk, _here, _total, cd_size, cd_offset, _comment = struct.unpack("<4s4H2LH", data[end:])
    if cd_offset + cd_size != end:
        problems.append("the package: data before the archive, or between its entries and its directory")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        position = 0
        for info in sorted(archive.infolist(), key=lambda i: i.header_offset):
            if info.header_offset != position:
                problems.append("the package: data before the archive" if position == 0 else f"the package: data hidden before {info.filename!r}")
            header = data[info.header_offset:info.header_offset + 30]
            if len(header) < 30 or header[:4] != b"PK\x03\x04":
                problems.append(f"{info.filename!r}: no entry where the directory says")
                return problems
            name_length, extra_length = struct.unpack("<2H", header[26:30])
            position = info.header_offset + 30 + name_length + extra_length + info.compress_size
            if info.flag_bits & 0x8:  # a data descriptor follows the entry's data
                position += 16 if data[position:position + 4] == b"PK\x07\x08" else 12
        if position != min(cd_offset, end) and not problems:
            problems.append("the package: data hidden after the last entry")
    return list(dict.fromkeys(problems))


def _name_problems(names: set[str], expected: set[str]) -> list[str]:
    """Entry names a package never holds, named as look-alikes of a genuine one when they are."""
    problems = []
    genuine = {_lookalike_key(name): name for name in expected | {"manifest.json"}}
    seen: dict[str, str] = {}
    for name in sorted(names):
        key = _lookalike_key(name)
        if key in seen:
            problems.append(f"{name!r}: looks like {seen[key]!r}, another entry of this package")
        seen.setdefault(key, name)
        if not PACKAGE_NAME.match(name):
            if key in genuine:
                problems.append(f"{name!r}: looks like {genuine[key]!r} but is not that name")
            else:
                problems.append(f"{name!r}: not a name a report package holds")
    return problems


def verify_package(data: bytes) -> Verification:
    """Check an uploaded package against what was frozen: manifest, then every file.

    :raise TooLarge, Invalid: an archive over the caps of agora.services.archives (a zip bomb),
        or one compressed other than stored/deflate, encrypted or damaged."""
    not_a_package = Verification(False, None, "This is not an Agora report package (no readable manifest.json in a zip file).")
    try:
        contents = off_loop(read_package, data)
    except archives.ArchiveRefused as error:
        if error.code == "not_a_zip":
            return not_a_package
        raise
    except KeyError:  # no manifest.json
        return not_a_package
    try:
        manifest = json.loads(contents.manifest_bytes)
        report_id = int(manifest["report_id"])
    except (KeyError, ValueError, TypeError):
        return not_a_package
    manifest_bytes, digests, names = contents.manifest_bytes, contents.digests, set(contents.digests) | {"manifest.json"}
    report = db.session.get(Report, report_id, populate_existing=True)
    if report is None or report.state != "frozen":
        return Verification(False, report_id, "The package names a report that was never frozen here.")
    problems = list(contents.layout_problems)
    listed = manifest.get("files") if isinstance(manifest.get("files"), dict) else {}
    problems += _name_problems(names, set(listed))
    frozen_sha256 = package_sha256(report)
    if frozen_sha256 and contents.sha256 != frozen_sha256:
        problems.append(f"the package: its SHA-256 {contents.sha256[:12]}… is not the frozen package's {frozen_sha256[:12]}…")
    if digest(manifest_bytes) != report.manifest_sha256:
        problems.append("manifest.json: changed since the report was frozen")
    if manifest.get("report_sha256") != report.sha256:
        problems.append("manifest.json: names another report hash")
    checked = []
    for name, expected in sorted(listed.items()):
        if name not in names:
            problems.append(f"{name}: missing")
            continue
        found = digests[name]
        checked.append(name)
        if found != expected:
            problems.append(f"{name}: changed (expected {expected[:12]}…, found {found[:12]}…)")
    if "report.json" in names and digests["report.json"] != report.sha256:
        problems.append("report.json: does not match the frozen report")
    extra = sorted(names - set(listed) - {"manifest.json"})
    problems += [f"{name!r}: not part of the frozen package (not in its manifest)" for name in extra]
    if problems:
        return Verification(False, report.id, f"This package does NOT match report {report.id} as frozen.", tuple(dict.fromkeys(problems)), tuple(checked))
    return Verification(
        True, report.id,
        f"This package matches report {report.id} as frozen (SHA-256 {report.sha256}; package SHA-256 {contents.sha256}).",
        (), tuple(checked),
    )


# --- forums and transmission ------------------------------------------------------------

def forums() -> list[Forum]:
    return list(db.session.scalars(select(Forum).order_by(Forum.name)))


def create_forum(name, webhook_url: str | None = None, webhook_secret: str | None = None) -> Forum:
    clean = clean_line(name, max_chars=200, field="name")
    if db.session.scalar(select(Forum.id).where(Forum.name == clean)):
        raise Conflict("A forum with this name exists already.", field="name")
    url = (webhook_url or "").strip() or None
    if url and not (url.startswith("https://") or url.startswith("http://")):
        raise Invalid("The webhook must be an http(s) URL.", field="webhook_url")
    forum = Forum(name=clean, webhook_url=url, webhook_secret=(webhook_secret or "").strip() or None)
    db.session.add(forum)
    db.session.commit()
    return forum


def transmit(report_id: int, forum_id: int, user: User | None) -> Transmission:
    report = get(report_id)
    if report.state != "frozen":
        raise Conflict("Only a frozen report can be transmitted.", code="not_frozen")
    forum = db.session.get(Forum, forum_id)
    if forum is None:
        raise NotFound("There is no forum with this number.")
    transmission = Transmission(
        report_id=report.id, forum_id=forum.id, state="pending" if forum.webhook_url else "recorded",
        recorded_by_id=user.id if user else None,
        log=f"{_iso(utcnow())} recorded by the secretariat\n",
    )
    db.session.add(transmission)
    db.session.commit()
    from agora.services import notifications

    notifications.announce_to_participants("report_transmitted", report.consultation_id, {"report_id": report.id, "forum": forum.name})
    if forum.webhook_url:
        from agora import jobs

        jobs.submit("agora.services.reports.deliver", transmission.id)
    return transmission


def signature(secret: str, body: bytes) -> str:
    """HMAC-SHA256 of the body with the forum's shared secret (header X-Agora-Signature)."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def deliver(transmission_id: int, *, backoff: float | None = None) -> Transmission:
    """POST the report's summary to the forum's webhook; retry with exponential backoff, then mark failed."""
    import requests
    from flask import current_app

    transmission = db.session.get(Transmission, transmission_id)
    if transmission is None or transmission.state not in ("pending", "failed"):
        return transmission
    report, forum = transmission.report, transmission.forum
    base = current_app.config.get("WEBHOOK_BACKOFF_SECONDS", 2.0) if backoff is None else backoff
    timeout = current_app.config.get("WEBHOOK_TIMEOUT_SECONDS", 10)
    body = canonical({
        "event": "report.transmitted", "report_id": report.id, "title": report.title, "version": report.version,
        "sha256": report.sha256, "manifest_sha256": report.manifest_sha256, "consultation": report.consultation.slug,
        "frozen_at": _iso(report.frozen_at), "package_path": f"/api/v1/reports/{report.id}/package",
    })
    headers = {"Content-Type": "application/json", "X-Agora-Delivery": str(transmission.id)}
    if forum.webhook_secret:
        headers["X-Agora-Signature"] = signature(forum.webhook_secret, body)
    for attempt in range(transmission.attempts + 1, WEBHOOK_ATTEMPTS + 1):
        transmission.attempts = attempt
        try:
            response = requests.post(forum.webhook_url, data=body, headers=headers, timeout=timeout)
            outcome = f"HTTP {response.status_code}"
            ok = 200 <= response.status_code < 300
        except requests.RequestException as error:
            outcome, ok = f"{error.__class__.__name__}: {str(error)[:200]}", False
        transmission.log += f"{_iso(utcnow())} attempt {attempt}: {outcome}\n"
        if ok:
            transmission.state, transmission.delivered_at, transmission.last_error = "delivered", utcnow(), None
            db.session.commit()
            log.info("report %s delivered to %s", report.id, forum.name)
            return transmission
        transmission.last_error = outcome
        db.session.commit()
        log.warning("report %s delivery to %s failed (attempt %s): %s", report.id, forum.name, attempt, outcome)
        if attempt < WEBHOOK_ATTEMPTS:
            time.sleep(base * 2 ** (attempt - 1))
    transmission.state = "failed"
    db.session.commit()
    return transmission


def transmissions_of(consultation_id: int) -> list[Transmission]:
    return list(db.session.scalars(
        select(Transmission).join(Report, Report.id == Transmission.report_id)
        .where(Report.consultation_id == consultation_id).order_by(Transmission.created_at.desc())
    ))


# --- helpers ----------------------------------------------------------------------------

def _iso(value):
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _json_default(value):
    if isinstance(value, datetime):
        return _iso(value)
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _chunks(items, n):
    items = list(items)
    for i in range(0, len(items), n):
        yield items[i : i + n]
