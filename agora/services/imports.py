"""Importing a Pol.is open-data conversation (comments.csv + participants-votes.csv).

Statements become submissions, participants become imported (login-less) users, votes are
kept as cast. Pol.is moderation is carried over and recorded in the moderation log.
"""
import csv
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import func, insert, select, update

from agora.extensions import db
from agora.models import Consultation, Submission, User, Vote
from agora.services import audit, screening
from agora.services.errors import Invalid

REQUIRED_COMMENT_COLUMNS = {"comment-id", "author-id", "moderated", "comment-body", "timestamp"}


@dataclass(frozen=True)
class ImportResult:
    statements: int
    participants: int
    votes: int
    skipped_rows: tuple[str, ...]


def _read_csv(path: Path) -> list[dict]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    except UnicodeDecodeError as error:
        raise Invalid(f"{path.name} is not UTF-8 text ({error.reason} at byte {error.start}).") from None


def import_polis(consultation: Consultation, folder: Path, *, prefix: str, progress=lambda message: None) -> ImportResult:
    comments = _read_csv(folder / "comments.csv")
    if not comments or not REQUIRED_COMMENT_COLUMNS <= set(comments[0]):
        raise Invalid(f"comments.csv needs the columns {', '.join(sorted(REQUIRED_COMMENT_COLUMNS))}.")
    skipped: list[str] = []
    statements = []
    for line, row in enumerate(comments, start=2):
        body = (row.get("comment-body") or "").strip()
        if not body or not row["comment-id"].isdigit():
            skipped.append(f"comments.csv line {line}: empty text or bad id")
            continue
        statements.append(row)
    statements.sort(key=lambda row: int(row["timestamp"] or 0))
    progress(f"Read {len(statements)} statements ({len(skipped)} skipped).")

    participants_rows = _read_csv(folder / "participants-votes.csv")
    authors = {row["author-id"] for row in statements}
    participant_ids = sorted({row["participant"] for row in participants_rows} | authors, key=int)
    users = [
        {"display_name": f"Participant {pid}", "kind": "imported", "external_ref": f"{prefix}:p{pid}"}
        for pid in participant_ids
    ]
    db.session.execute(insert(User), users)
    user_ids = dict(
        db.session.execute(
            select(User.external_ref, User.id).where(User.external_ref.like(f"{prefix}:p%"))
        ).all()
    )
    progress(f"Created {len(users)} imported participants.")

    texts = [row["comment-body"].strip() for row in statements]
    model = screening.moderator()
    scores = model.score(texts) if model else [None] * len(texts)
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
        created = datetime.fromtimestamp(int(row["timestamp"]) / 1000, timezone.utc).replace(tzinfo=None)
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
