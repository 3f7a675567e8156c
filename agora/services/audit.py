"""The moderation audit log: append-only, each entry chained to the previous one by SHA-256.

An entry's hash covers its content and the previous entry's hash, so editing or deleting any
entry breaks every hash after it; `verify()` walks the chain and says where.
"""
import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import bindparam, select, text

from agora.extensions import db
from agora.models import ModerationDecision
from agora.models._base import utcnow

GENESIS = "0" * 64
_FIELDS = (
    "id", "submission_id", "actor_id", "automatic", "action", "from_state", "to_state",
    "reason", "note", "model_version", "abuse_score", "spam_score", "created_at",
)


def _canonical(entry: ModerationDecision) -> str:
    values = {}
    for field in _FIELDS:
        value = getattr(entry, field)
        if field == "created_at" and value is not None:
            value = value.replace(microsecond=0).isoformat()
        elif isinstance(value, float):
            value = round(value, 6)
        values[field] = value
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(entry: ModerationDecision, prev_hash: str) -> str:
    return hashlib.sha256((prev_hash + "\n" + _canonical(entry)).encode("utf-8")).hexdigest()


def _lock_chain() -> None:
    """Serialise writers of the chain. PostgreSQL: a transaction-level advisory lock.
    SQLite: the insert below takes the database's single write lock anyway."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(4242001)"))


def record(**fields) -> ModerationDecision:
    """Add one decision to the session (the caller commits, in the same transaction as the change)."""
    return record_many([fields])[0]


# Built once: every batch of posts runs it.
_PREVIOUS_HASH = (
    select(ModerationDecision.entry_hash)
    .where(ModerationDecision.id < bindparam("before"))
    .order_by(ModerationDecision.id.desc())
    .limit(1)
)


def record_many(rows: list[dict]) -> list[ModerationDecision]:
    if not rows:
        return []
    _lock_chain()
    now = utcnow().replace(microsecond=0)
    entries = [ModerationDecision(**{"created_at": now, **row}) for row in rows]
    db.session.add_all(entries)
    db.session.flush()  # ids, defaults and (on SQLite) the write lock
    first_id = min(entry.id for entry in entries)
    prev = db.session.scalar(_PREVIOUS_HASH, {"before": first_id}) or GENESIS
    for entry in sorted(entries, key=lambda e: e.id):
        entry.created_at = entry.created_at.replace(microsecond=0)
        entry.prev_hash = prev
        entry.entry_hash = prev = entry_hash(entry, prev)
    return entries


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    entries: int
    first_bad_id: int | None
    problem: str | None


def verify(batch: int = 5000) -> ChainCheck:
    prev, count, last_id = GENESIS, 0, 0
    while True:
        entries = db.session.scalars(
            select(ModerationDecision)
            .where(ModerationDecision.id > last_id)
            .order_by(ModerationDecision.id)
            .limit(batch)
            .execution_options(populate_existing=True)  # check what is stored, not copies in memory
        ).all()
        if not entries:
            return ChainCheck(True, count, None, None)
        for entry in entries:
            count += 1
            if entry.prev_hash != prev:
                return ChainCheck(False, count, entry.id, "does not point at the previous entry (one was removed or reordered)")
            if entry.entry_hash != entry_hash(entry, prev):
                return ChainCheck(False, count, entry.id, "its content does not match its hash (it was edited)")
            prev, last_id = entry.entry_hash, entry.id
        db.session.expunge_all()
