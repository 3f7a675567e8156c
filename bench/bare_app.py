"""The bare baseline for bench/http.py: a tiny Flask app whose one endpoint inserts one row into
SQLite (WAL, like Agora's embedded mode) and answers 201, served the same way as Agora (gevent's
WSGI server with TCP_NODELAY). Run: python bench/bare_app.py PORT DATABASE_FILE"""

import os as _os
import sys as _sys

# bench/ holds http.py: drop bench/ from the import path so the standard library's `http`
# package is the one imported (by urllib, requests, flask).
_here = _os.path.dirname(_os.path.abspath(__file__))
_sys.path[:] = [p for p in _sys.path if _os.path.abspath(p or ".") != _here]
_sys.path.insert(0, _os.path.dirname(_here))  # the repository, for agora.server

from gevent import monkey  # noqa: E402

monkey.patch_all()

import sqlite3  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402

from flask import Flask, request  # noqa: E402

app = Flask(__name__)
_local = threading.local()


def connection() -> sqlite3.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(app.config["DATABASE"], timeout=2, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        _local.conn = conn
    return conn


@app.post("/insert")
def insert():
    text = (request.get_json(silent=True) or {}).get("text", "")
    conn = connection()
    with conn:
        row = conn.execute("INSERT INTO views (text) VALUES (?)", (text,)).lastrowid
    return {"id": row}, 201


def main() -> None:
    port, database = int(sys.argv[1]), sys.argv[2]
    app.config["DATABASE"] = database
    with sqlite3.connect(database) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE IF NOT EXISTS views (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")
    from agora.server import serve

    serve(app, "127.0.0.1", port)


if __name__ == "__main__":
    main()
