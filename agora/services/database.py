"""Database engine settings for both modes: SQLite (embedded, WAL) and PostgreSQL."""
import sqlite3

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from agora.extensions import db


def configure(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL lets readers run beside the one writer; a short busy timeout keeps gevent's loop moving."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=2000")
    cursor.close()


__all__ = ["configure", "Engine"]
