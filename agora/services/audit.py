"""The moderation audit log: append-only, each entry chained to the previous one by HMAC-SHA256.

An entry's hash is an HMAC, under a key kept outside the database (``AGORA_AUDIT_KEY`` or the
instance folder's ``audit_key``), of its content and the previous entry's hash: editing or
deleting an entry breaks every hash after it, and whoever can write the database but not read the
key cannot recompute them. The chain's head and length are anchored outside it too — in every
frozen report and in signed checkpoints (``checkpoint()``, appended to a file the secretariat can
publish) — so removing the last entries shows. ``verify()`` walks the chain, checks every anchor
and compares each submission's state with the last decision recorded for it, and names what is
wrong.
"""

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import and_, bindparam, func, or_, select, text

from agora.extensions import db
from agora.models import ModerationDecision, Submission
from agora.models._base import utcnow

GENESIS = "0" * 64
MAX_PROBLEMS = 50
_FIELDS = (
    "id",
    "submission_id",
    "actor_id",
    "automatic",
    "action",
    "from_state",
    "to_state",
    "reason",
    "note",
    "model_version",
    "abuse_score",
    "spam_score",
    "created_at",
)


def _canonical(entry: ModerationDecision) -> str:
    values = {}
    for name in _FIELDS:
        value = getattr(entry, name)
        if name == "created_at" and value is not None:
            value = value.replace(microsecond=0).isoformat()
        elif isinstance(value, float):
            value = round(value, 6)
        values[name] = value
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _key() -> bytes:
    from flask import current_app

    return current_app.config["AUDIT_KEY"].encode("utf-8")


def entry_hash(entry: ModerationDecision, prev_hash: str, key: bytes | None = None) -> str:
    """HMAC-SHA256, under the audit key, of the previous hash and the entry's content."""
    return hmac.new(key or _key(), (prev_hash + "\n" + _canonical(entry)).encode("utf-8"), hashlib.sha256).hexdigest()


def legacy_hash(entry: ModerationDecision, prev_hash: str) -> str:
    """The unkeyed SHA-256 the chain used before it was keyed (``seal`` re-keys such a chain)."""
    return hashlib.sha256((prev_hash + "\n" + _canonical(entry)).encode("utf-8")).hexdigest()


def _lock_chain() -> None:
    """Serialise writers of the chain. PostgreSQL: a transaction-level advisory lock.
    SQLite: the insert below takes the database's single write lock anyway."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(4242001)"))


def record(**fields: object) -> ModerationDecision:
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
    key = _key()
    now = utcnow().replace(microsecond=0)
    entries = [ModerationDecision(**{"created_at": now, **row}) for row in rows]
    db.session.add_all(entries)
    db.session.flush()  # ids, defaults and (on SQLite) the write lock
    first_id = min(entry.id for entry in entries)
    prev = db.session.scalar(_PREVIOUS_HASH, {"before": first_id}) or GENESIS
    for entry in sorted(entries, key=lambda e: e.id):
        entry.created_at = entry.created_at.replace(microsecond=0)
        entry.prev_hash = prev
        entry.entry_hash = prev = entry_hash(entry, prev, key)
    return entries


# --- anchors outside the chain ----------------------------------------------------------


@dataclass(frozen=True)
class Head:
    """The chain's length, last entry and that entry's hash: what an anchor records."""

    entries: int
    last_id: int | None
    head: str

    def as_dict(self) -> dict:
        return {"entries": self.entries, "last_id": self.last_id, "head": self.head}


def head() -> Head:
    last = db.session.execute(
        select(ModerationDecision.id, ModerationDecision.entry_hash).order_by(ModerationDecision.id.desc()).limit(1)
    ).first()
    count = db.session.scalar(select(func.count(ModerationDecision.id))) or 0
    return Head(count, last[0] if last else None, (last[1] if last else None) or GENESIS)


def _checkpoint_mac(values: dict, key: bytes) -> str:
    body = json.dumps(
        {k: values[k] for k in ("at", "entries", "last_id", "head")}, sort_keys=True, separators=(",", ":")
    )
    return hmac.new(key, ("checkpoint\n" + body).encode("utf-8"), hashlib.sha256).hexdigest()


def _checkpoint_path() -> Path:
    from flask import current_app

    return Path(current_app.config["AUDIT_CHECKPOINTS"])


def checkpoint() -> dict:
    """Append the chain's head and length, signed with the audit key, to the checkpoint file, and
    return the line (the secretariat publishes it: anyone holding one can show later deletions)."""
    state = head()
    values = {"at": utcnow().replace(microsecond=0).isoformat() + "Z", **state.as_dict()}
    values["mac"] = _checkpoint_mac(values, _key())
    path = _checkpoint_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(values, sort_keys=True) + "\n")
    return values


def _anchors(problems: list) -> list[tuple[str, dict]]:
    """Every anchor of the chain: signed checkpoints, then each frozen report's."""
    from agora.models import Report

    found, key = [], _key()
    path = _checkpoint_path()
    if path.exists():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                values = json.loads(line)
                valid = hmac.compare_digest(str(values.get("mac", "")), _checkpoint_mac(values, key))
            except (ValueError, KeyError, TypeError, AttributeError):
                valid = False
            if not valid:
                problems.append(
                    (
                        None,
                        f"checkpoint line {number} of {path.name} is not signed with the audit key (altered or forged)",
                    )
                )
                continue
            found.append((f"the checkpoint of {values['at']}", values))
    for report_id, content in db.session.execute(
        select(Report.id, Report.content_json).where(Report.state == "frozen").order_by(Report.id)
    ):
        try:
            anchor = json.loads(content).get("audit_anchor")
        except ValueError:
            anchor = None
        if anchor:
            found.append((f"frozen report {report_id}", anchor))
    return found


# --- verification -----------------------------------------------------------------------


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    entries: int
    first_bad_id: int | None
    problem: str | None
    problems: tuple = field(default=())  # (entry or submission id or None, what is wrong), in order found
    anchors: int = 0
    head: str | None = None


def _walk(
    batch: int, key: bytes, problems: list, wanted: set
) -> tuple[int, int | None, str | None, dict[int, tuple[int, str | None]]]:
    """Walk the chain in id order; returns its length, last entry id and hash, and for the ids in
    ``wanted`` (the anchors' heads) their (position, stored hash). A stored hash may be NULL (cleared):
    that entry is named, and the walk goes on."""
    prev: str | None = GENESIS
    count, last_id = 0, 0
    positions: dict[int, tuple[int, str | None]] = {}
    legacy: list[int] = []  # a run of unkeyed entries from the start: a chain written before the key
    while True:
        entries = db.session.scalars(
            select(ModerationDecision)
            .where(ModerationDecision.id > last_id)
            .order_by(ModerationDecision.id)
            .limit(batch)
            .execution_options(populate_existing=True)  # check what is stored, not copies in memory
        ).all()
        if not entries:
            if legacy:
                problems.insert(
                    0,
                    (
                        legacy[0],
                        f"entries #{legacy[0]} to #{legacy[-1]} ({len(legacy)}) still carry the unkeyed hashes of before the chain was keyed: "
                        "if this database was written before the chain was keyed, run `flask --app agora agora moderation seal-audit` once",
                    ),
                )
            return count, (last_id or None), prev, positions
        for entry in entries:
            count += 1
            if (
                prev is not None
                and entry.prev_hash == prev
                and len(legacy) == count - 1
                and entry.entry_hash == legacy_hash(entry, prev) != entry_hash(entry, prev, key)
            ):
                legacy.append(entry.id)
            elif len(problems) >= MAX_PROBLEMS:
                pass  # enough named: keep walking for the length and the anchors
            elif entry.prev_hash != prev:
                problems.append(
                    (entry.id, f"entry #{entry.id} does not point at the previous entry (one was removed or reordered)")
                )
            elif (
                prev is None
            ):  # its link and the previous entry's hash are both NULL (hashing None raised TypeError here)
                problems.append(
                    (
                        entry.id,
                        f"entry #{entry.id}: its link and the previous entry's hash are empty (they were cleared)",
                    )
                )
            elif entry.entry_hash != entry_hash(entry, prev, key):
                problems.append(
                    (
                        entry.id,
                        f"entry #{entry.id}: its content does not match its keyed hash (it was edited, or its hash recomputed without the key)",
                    )
                )
            if entry.id in wanted:
                positions[entry.id] = (count, entry.entry_hash)
            prev, last_id = entry.entry_hash, entry.id
        db.session.expunge_all()


def _check_anchors(anchors: list, count: int, last_id: int | None, positions: dict, problems: list) -> None:
    for name, anchor in anchors:
        expected_id, expected_count, expected_head = anchor.get("last_id"), anchor.get("entries"), anchor.get("head")
        if expected_id is None:
            continue
        found = positions.get(expected_id)
        if found is None:
            if last_id is None or expected_id > last_id:
                problems.append(
                    (
                        expected_id,
                        f"the last entries were removed: {name} recorded {expected_count} entries ending at #{expected_id}, "
                        f"the chain now ends at #{last_id if last_id is not None else '—'} with {count}",
                    )
                )
            else:
                problems.append(
                    (expected_id, f"entry #{expected_id}, the head recorded by {name}, is missing (removed)")
                )
        elif found[1] != expected_head:
            problems.append(
                (expected_id, f"entry #{expected_id} is not the head recorded by {name} (its hash changed: rewritten)")
            )
        elif found[0] != expected_count:
            problems.append(
                (
                    expected_id,
                    f"{name} recorded {expected_count} entries up to #{expected_id}, the chain holds {found[0]} (entries removed)",
                )
            )


def _check_states(problems: list) -> None:
    """Each submission's state must be the one its last recorded decision left it in (a submission
    with no decision is unscreened, pending)."""
    last = (
        select(ModerationDecision.submission_id, func.max(ModerationDecision.id).label("last_id"))
        .group_by(ModerationDecision.submission_id)
        .subquery()
    )
    rows = db.session.execute(
        select(
            Submission.id,
            Submission.state,
            ModerationDecision.id,
            ModerationDecision.action,
            ModerationDecision.to_state,
        )
        .outerjoin(last, last.c.submission_id == Submission.id)
        .outerjoin(ModerationDecision, ModerationDecision.id == last.c.last_id)
        .where(
            or_(
                and_(ModerationDecision.id.is_(None), Submission.state != "pending"),
                ModerationDecision.to_state != Submission.state,
            )
        )
        .order_by(Submission.id)
        .limit(MAX_PROBLEMS)
        .execution_options(populate_existing=True)
    ).all()
    for submission_id, state, decision_id, action, to_state in rows:
        if decision_id is None:
            problems.append(
                (
                    submission_id,
                    f"submission #{submission_id} is {state} but no decision about it is recorded (its state was set outside the moderation record)",
                )
            )
        else:
            problems.append(
                (
                    submission_id,
                    f"submission #{submission_id} is {state} but its last recorded decision, entry #{decision_id} ({action}), left it {to_state} "
                    "(its state was changed outside the moderation record)",
                )
            )


def verify(batch: int = 5000) -> ChainCheck:
    """The chain, its anchors and the submissions' states; every problem named."""
    problems: list = []
    anchors = _anchors(problems)
    wanted = {anchor.get("last_id") for _name, anchor in anchors if isinstance(anchor.get("last_id"), int)}
    count, last_id, last_hash, positions = _walk(batch, _key(), problems, wanted)
    _check_anchors(anchors, count, last_id, positions, problems)
    _check_states(problems)
    if problems:
        first_id, first = problems[0]
        return ChainCheck(False, count, first_id, first, tuple(problems[:MAX_PROBLEMS]), len(anchors), last_hash)
    return ChainCheck(True, count, None, None, (), len(anchors), last_hash)


def seal(batch: int = 5000) -> int:
    """Key a chain written before the audit key existed: check that every entry matches its
    unkeyed (or keyed) hash and points at the previous one, and that the chain matches every
    anchor (so a chain recomputed wholesale by a forger is not blessed), then rewrite the hashes
    as HMACs in one transaction. Refuses otherwise. Returns how many entries it re-keyed."""
    from agora.services.errors import Conflict

    _lock_chain()
    anchor_problems: list = []
    anchors = _anchors(anchor_problems)
    wanted = {anchor.get("last_id") for _name, anchor in anchors if isinstance(anchor.get("last_id"), int)}
    count, last_id, _head, positions = _walk(batch, _key(), [], wanted)
    _check_anchors(anchors, count, last_id, positions, anchor_problems)
    if anchor_problems:
        raise Conflict(
            f"The audit log does not match its checkpoints or frozen reports ({anchor_problems[0][1]}): it is not sealed.",
            code="broken_chain",
        )
    key, prev, new_prev, last_id, changed = _key(), GENESIS, GENESIS, 0, 0
    while True:
        entries = db.session.scalars(
            select(ModerationDecision)
            .where(ModerationDecision.id > last_id)
            .order_by(ModerationDecision.id)
            .limit(batch)
        ).all()
        if not entries:
            break
        for entry in entries:
            if entry.prev_hash != prev or entry.entry_hash not in (
                legacy_hash(entry, prev),
                entry_hash(entry, prev, key),
            ):
                db.session.rollback()
                raise Conflict(
                    f"The audit log is broken at entry #{entry.id}: it is not sealed; verify-audit says why.",
                    code="broken_chain",
                )
            prev, last_id = entry.entry_hash, entry.id
            sealed = entry_hash(entry, new_prev, key)
            if (entry.prev_hash, entry.entry_hash) != (new_prev, sealed):
                entry.prev_hash, entry.entry_hash = new_prev, sealed
                changed += 1
            new_prev = sealed
        db.session.flush()
    db.session.commit()
    return changed
