"""Database engine settings for both modes: SQLite (embedded, WAL) and PostgreSQL."""

import sqlite3
import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from agora.extensions import db


def configure(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "do_execute", _execute_yielding_while_locked)
            event.listen(engine, "do_executemany", _executemany_yielding_while_locked)


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    """WAL lets readers run beside the one writer; a short busy timeout keeps gevent's loop moving."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_SLICE_MS}")
    cursor.close()


# sqlite3 waits for a lock inside C, freezing gevent's event loop (every connection of the
# process). So SQLite itself waits only a short slice; between slices we sleep cooperatively
# (time.sleep is gevent's under the server), up to BUSY_BUDGET in all; then the
# OperationalError becomes a 503 with Retry-After. Five seconds outlast a backup's or another
# process's short exclusive lock, so posts made meanwhile are stored late rather than refused.
BUSY_SLICE_MS = 20
BUSY_BUDGET = 5.0


# The parameters are the DBAPI's (a sequence, a mapping, or a list of them for executemany),
# passed on unchanged: typed Any as SQLAlchemy's do_execute event hands them.
def _execute_yielding_while_locked(cursor: sqlite3.Cursor, statement: str, parameters: Any, context: object) -> bool:
    """Execute one statement, retrying a bounded number of times while the database is locked."""
    return _retry_while_locked(cursor.execute, statement, parameters)


def _executemany_yielding_while_locked(
    cursor: sqlite3.Cursor, statement: str, parameters: Any, context: object
) -> bool:
    return _retry_while_locked(cursor.executemany, statement, parameters)


def _retry_while_locked(run: Callable[[str, Any], object], statement: str, parameters: Any) -> bool:
    deadline = time.monotonic() + BUSY_BUDGET
    pause = 0.005
    while True:
        try:
            run(statement, parameters)
            return True
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.1)


__all__ = ["configure", "Engine"]
