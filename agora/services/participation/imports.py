"""Importing a Pol.is open-data conversation (comments.csv + participants-votes.csv).

Statements become submissions, participants become imported (login-less) users, votes are
kept as cast. Pol.is moderation is carried over and recorded in the moderation log.
"""

import csv
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import func, insert, select, update

from agora.extensions import db
from agora.models import Consultation, Submission, User, Vote
from agora.services import audit, csvfiles, embeddings
from agora.services.errors import AgoraError, Invalid
from agora.services.moderation import screening
from agora.services.participation.submissions import MAX_CHARS_DEFAULT
from agora.services.sanitize import clean_text

REQUIRED_COMMENT_COLUMNS = {"comment-id", "author-id", "moderated", "comment-body", "timestamp"}


@dataclass(frozen=True)
class ImportResult:
    statements: int
    participants: int
    votes: int
    skipped_rows: tuple[str, ...]


def _read_csv(path: Path) -> list[dict]:
    """The rows of a UTF-8 CSV file. Bytes that are not UTF-8 are kept as lone surrogates
    (surrogateescape), so only the rows holding them are refused (by clean_text and the id
    checks), not the whole file."""
    with path.open(newline="", encoding="utf-8", errors="surrogateescape") as handle:
        # an export of Agora's own had its cells neutralised (csvfiles): read them as they were
        return [
            {key: csvfiles.restore_cell(value) if isinstance(value, str) else value for key, value in row.items()}
            for row in csv.DictReader(handle)
        ]


def _number(value: object) -> bool:
    """A Pol.is id or timestamp: ASCII digits only (str.isdigit also accepts '²', which int() refuses)."""
    return isinstance(value, str) and value.isascii() and value.isdigit()


def import_polis(
    consultation: Consultation, folder: Path, *, prefix: str, progress: Callable[[str], None] = lambda message: None
) -> ImportResult:
    comments = _read_csv(folder / "comments.csv")
    if not comments or not REQUIRED_COMMENT_COLUMNS <= set(comments[0]):
        raise Invalid(f"comments.csv needs the columns {', '.join(sorted(REQUIRED_COMMENT_COLUMNS))}.")
    skipped: list[str] = []
    statements = []
    for line, row in enumerate(comments, start=2):
        if not (_number(row["comment-id"]) and _number(row["author-id"]) and _number(row["timestamp"] or "0")):
            skipped.append(f"comments.csv line {line}: bad id or timestamp")
            continue
        try:  # the sanitiser every text goes through: invalid Unicode, control characters, length
            row["comment-body"] = clean_text(row.get("comment-body"), max_chars=MAX_CHARS_DEFAULT, field="comment-body")
        except AgoraError as error:
            skipped.append(f"comments.csv line {line}: {error.english}")
            continue
        statements.append(row)
    statements.sort(key=lambda row: int(row["timestamp"] or 0))
    progress(f"Read {len(statements)} statements ({len(skipped)} skipped).")

    participants_rows = []
    for line, row in enumerate(_read_csv(folder / "participants-votes.csv"), start=2):
        if _number(row.get("participant")):
            participants_rows.append(row)
        else:
            skipped.append(f"participants-votes.csv line {line}: bad participant id")
    authors = {row["author-id"] for row in statements}
    participant_ids = sorted({row["participant"] for row in participants_rows} | authors, key=int)
    users = [
        {"display_name": f"Participant {pid}", "kind": "imported", "external_ref": f"{prefix}:p{pid}"}
        for pid in participant_ids
    ]
    db.session.execute(insert(User), users)
    user_ids = dict(
        db.session.execute(select(User.external_ref, User.id).where(User.external_ref.like(f"{prefix}:p%"))).all()
    )
    progress(f"Created {len(users)} imported participants.")

    texts = [row["comment-body"] for row in statements]
    model = screening.moderator()
    vectors = None
    if model:  # embedded once: the score reads the vectors, and they are stored with the views
        from moderation import embeddings as embedding_model

        chunks = []
        for start in range(0, len(texts), 256):
            chunks.append(embedding_model.encode(texts[start : start + 256]))
            progress(f"Embedded {min(start + 256, len(texts)):,} / {len(texts):,} statements")
        vectors = [vector for chunk in chunks for vector in chunk]
    scores = model.score(texts, vectors=np.asarray(vectors)) if model else [None] * len(texts)
    version = screening.model_version()
    submission_rows = []
    for row, text, score in zip(statements, texts, scores):
        moderated = row.get("moderated", "0").strip()
        if moderated == "-1":
            state = "hidden"
        elif moderated == "1" or score is None or score.decision == "publish":
            state = "published"
        else:
            state = "held"
        created = datetime.fromtimestamp(int(row["timestamp"]) / 1000, UTC).replace(tzinfo=None)
        submission_rows.append(
            {
                "consultation_id": consultation.id,
                "author_id": user_ids[f"{prefix}:p{row['author-id']}"],
                "text": text,
                "language": getattr(score, "language", None) or "en",
                "channel": "import",
                "state": state,
                "abuse_score": getattr(score, "abuse", None),
                "spam_score": getattr(score, "spam", None),
                "reasons": ",".join(getattr(score, "reasons", ()) or ()),
                "model_version": version,
                "external_ref": f"{prefix}:c{row['comment-id']}",
                "created_at": created,
            }
        )
    db.session.execute(insert(Submission), submission_rows)
    submission_ids = dict(
        db.session.execute(
            select(Submission.external_ref, Submission.id).where(Submission.consultation_id == consultation.id)
        ).all()
    )
    audit.record_many(
        [
            {
                "submission_id": submission_ids[row["external_ref"]],
                "automatic": True,
                "action": {"hidden": "hide", "held": "hold"}.get(row["state"], "publish"),
                "to_state": row["state"],
                "reason": "imported: Pol.is moderation" if row["state"] == "hidden" else "imported",
                "model_version": version,
                "abuse_score": row["abuse_score"],
                "spam_score": row["spam_score"],
            }
            for row in submission_rows
        ]
    )
    if vectors:
        stored = {row["external_ref"]: vector for row, vector in zip(submission_rows, vectors)}
        embeddings.store_screened(
            [(_Stored(submission_ids[ref], consultation.id), vector) for ref, vector in stored.items()]
        )
    progress(f"Stored {len(submission_rows)} submissions with their moderation record.")

    votes = []
    comment_columns = [c for c in (participants_rows[0].keys() if participants_rows else []) if c.isdigit()]
    for row in participants_rows:
        user_id = user_ids[f"{prefix}:p{row['participant']}"]
        for column in comment_columns:
            value = row[column]
            submission_id = submission_ids.get(f"{prefix}:c{column}")
            if value in ("1", "-1", "0") and submission_id:
                votes.append({"submission_id": submission_id, "user_id": user_id, "value": int(value)})
    for start in range(0, len(votes), 20000):
        db.session.execute(insert(Vote), votes[start : start + 20000])
        progress(f"Votes: {min(start + 20000, len(votes)):,} / {len(votes):,}")
    _recount_all(consultation.id)
    db.session.commit()
    return ImportResult(len(submission_rows), len(users), len(votes), tuple(skipped))


class _Stored:
    """What ``embeddings.store_screened`` reads of a submission inserted in bulk."""

    def __init__(self, id: int, consultation_id: int):
        self.id, self.consultation_id = id, consultation_id


def _recount_all(consultation_id: int) -> None:
    for value, column in ((1, "agree_count"), (-1, "disagree_count"), (0, "pass_count")):
        tally = (
            select(func.count(Vote.id))
            .where(Vote.submission_id == Submission.id, Vote.value == value)
            .scalar_subquery()
        )
        db.session.execute(
            update(Submission).where(Submission.consultation_id == consultation_id).values({column: tally})
        )


@dataclass(frozen=True)
class ExportResult:
    statements: int
    participants: int
    votes: int


POLIS_COMMENT_COLUMNS = [
    "timestamp",
    "datetime",
    "comment-id",
    "author-id",
    "agrees",
    "disagrees",
    "moderated",
    "comment-body",
]
POLIS_PARTICIPANT_COLUMNS = ["participant", "group-id", "n-comments", "n-votes", "n-agree", "n-disagree"]


def _polis_numbers(refs: list[tuple[int, str | None]], marker: str) -> dict[int, int]:
    """Pol.is numbers for our ids: an imported row keeps its original number, others get fresh ones."""
    numbers: dict[int, int] = {}
    for our_id, ref in refs:
        tail = (ref or "").rpartition(":")[2]
        if tail.startswith(marker) and tail[1:].isdigit():
            numbers[our_id] = int(tail[1:])
    taken = set(numbers.values())
    if len(taken) != len(numbers):  # two imports collide: number everything afresh
        numbers, taken = {}, set()
    fresh = (max(taken) + 1) if taken else 0
    for our_id, _ref in refs:
        if our_id not in numbers:
            numbers[our_id] = fresh
            fresh += 1
    return numbers


def export_polis(consultation_id: int, folder: str | Path, *, include_moderated: bool = False) -> ExportResult:
    """Write a consultation as a Pol.is open-data export: comments.csv + participants-votes.csv.

    Statements are the published views (with ``include_moderated``, hidden and rejected ones too,
    marked moderated = -1, as Pol.is does); participants are numbered, never named: imported ones
    keep their Pol.is numbers, others get new numbers. group-id is the opinion group of the latest
    opinions snapshot, empty when none. Hearing messages are not exported.
    """
    import json
    from collections import Counter

    from agora.models import ThemeSnapshot

    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None:
        raise Invalid("There is no consultation with this number.")
    states = ["published", "hidden", "rejected"] if include_moderated else ["published"]
    rows = db.session.execute(
        select(
            Submission.id,
            Submission.author_id,
            Submission.text,
            Submission.state,
            Submission.created_at,
            Submission.agree_count,
            Submission.disagree_count,
            Submission.external_ref,
        )
        .where(
            Submission.consultation_id == consultation_id,
            Submission.hearing_id.is_(None),
            Submission.state.in_(states),
        )
        .order_by(Submission.created_at, Submission.id)
    ).all()
    comment_no = _polis_numbers([(r.id, r.external_ref) for r in rows], "c")
    votes = db.session.execute(
        select(Vote.user_id, Vote.submission_id, Vote.value)
        .join(Submission, Submission.id == Vote.submission_id)
        .where(
            Submission.id.in_(
                select(Submission.id).where(
                    Submission.consultation_id == consultation_id,
                    Submission.hearing_id.is_(None),
                    Submission.state.in_(states),
                )
            )
        )
        .order_by(Vote.user_id, Vote.submission_id)
    ).all()
    people = sorted({r.author_id for r in rows if r.author_id is not None} | {v.user_id for v in votes})
    refs = (
        dict(db.session.execute(select(User.id, User.external_ref).where(User.id.in_(people))).all()) if people else {}
    )
    person_no = _polis_numbers([(p, refs.get(p)) for p in people], "p")
    snapshot = db.session.scalar(
        select(ThemeSnapshot.data_json)
        .where(
            ThemeSnapshot.consultation_id == consultation_id,
            ThemeSnapshot.hearing_id.is_(None),
            ThemeSnapshot.kind == "opinions",
            ThemeSnapshot.status == "ready",
        )
        .order_by(ThemeSnapshot.id.desc())
        .limit(1)
    )
    groups = {}
    if snapshot:
        groups = {p: g for p, g in json.loads(snapshot).get("vote", {}).get("groups", [])}

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "comments.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csvfiles.writer(handle)
        writer.writerow(POLIS_COMMENT_COLUMNS)
        for r in sorted(rows, key=lambda r: (r.created_at, r.id), reverse=True):  # newest first, as Pol.is
            moment = r.created_at.replace(tzinfo=UTC)
            writer.writerow(
                [
                    int(moment.timestamp() * 1000),
                    moment.strftime("%a %b %d %H:%M:%S UTC %Y"),
                    comment_no[r.id],
                    person_no.get(r.author_id, ""),
                    r.agree_count,
                    r.disagree_count,
                    1 if r.state == "published" else -1,
                    r.text,
                ]
            )
    by_person: dict[int, dict[int, int]] = {}
    for user_id, submission_id, value in votes:
        by_person.setdefault(user_id, {})[comment_no[submission_id]] = value
    authored = Counter(r.author_id for r in rows if r.author_id is not None)
    columns = sorted(comment_no.values())
    with (folder / "participants-votes.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csvfiles.writer(handle)
        writer.writerow(POLIS_PARTICIPANT_COLUMNS + [str(c) for c in columns])
        for person in sorted(people, key=lambda p: person_no[p]):
            cast = by_person.get(person, {})
            values = list(cast.values())
            writer.writerow(
                [
                    person_no[person],
                    groups.get(person, ""),
                    authored.get(person, 0),
                    len(values),
                    values.count(1),
                    values.count(-1),
                ]
                + [cast.get(c, "") for c in columns]
            )
    return ExportResult(len(rows), len(people), len(votes))


def import_polis_consultation(
    folder: str | Path,
    *,
    title: str,
    slug: str | None = None,
    status: str = "open",
    attribution: str | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> tuple[Consultation, ImportResult]:
    """Create a consultation and import a Pol.is export folder into it; nothing is kept on failure."""
    from agora.services.participation import consultations

    folder = Path(folder)
    for name in ("comments.csv", "participants-votes.csv"):
        if not (folder / name).is_file():
            raise Invalid(f"{folder} has no {name}: a Pol.is export has comments.csv and participants-votes.csv.")
    consultation = consultations.create(
        consultations.ConsultationInput(title=title, slug=slug, status="draft", attribution=attribution)
    )
    try:
        result = import_polis(consultation, folder, prefix=f"polis-{consultation.slug}", progress=progress)
    except Exception:
        db.session.rollback()
        db.session.delete(db.session.get(Consultation, consultation.id))
        db.session.commit()
        raise
    consultations.set_status(consultation, status)
    return consultation, result
