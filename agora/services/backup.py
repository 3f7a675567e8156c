"""Backups of the embedded SQLite database through SQLite's online backup API.

PostgreSQL is backed up with its own tools (pg_dump / pg_restore), documented in docs/operations/backups.md.
"""

import sqlite3
from pathlib import Path

from sqlalchemy import inspect, text

from agora.extensions import db
from agora.services.errors import Invalid

KEY_TABLES = ("users", "consultations", "submissions", "votes", "moderation_decisions", "reports")


def _sqlite_path() -> str:
    url = db.engine.url
    if url.get_backend_name() != "sqlite" or not url.database:
        raise Invalid("Backups by this command are for the embedded SQLite database; use pg_dump for PostgreSQL.")
    return url.database


def backup_sqlite(destination: str) -> int:
    """A consistent copy even while others write (the backup API copies page by page under a lock)."""
    source = sqlite3.connect(_sqlite_path())
    target = sqlite3.connect(destination)
    try:
        with target:
            source.backup(target)
    finally:
        target.close()
        source.close()
    return Path(destination).stat().st_size


def restore_sqlite(backup_path: str) -> dict[str, int]:
    _sqlite_path()
    check = sqlite3.connect(f"file:{backup_path}?mode=ro", uri=True)
    try:
        if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise Invalid("The backup file is damaged (integrity check failed); nothing was restored.")
        tables = {row[0] for row in check.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not {"alembic_version", "submissions"} <= tables:
            raise Invalid("This file is not an Agora database backup; nothing was restored.")
    except sqlite3.DatabaseError as error:
        raise Invalid(f"This file is not an SQLite database ({error}); nothing was restored.") from None
    finally:
        check.close()
    db.session.remove()
    db.engine.dispose()
    source = sqlite3.connect(backup_path)
    target = sqlite3.connect(_sqlite_path())
    try:
        with target:
            source.backup(target)
    finally:
        target.close()
        source.close()
    db.engine.dispose()
    present = set(inspect(db.engine).get_table_names())
    with db.engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in KEY_TABLES if t in present}
