"""A write that cannot get its lock in time: a clean 503 with Retry-After, nothing stored, and the
same post stored once the lock is gone — on SQLite (busy budget) and PostgreSQL (lock_timeout)."""

import sqlite3

from sqlalchemy import text

from agora.extensions import db
from agora.models import Submission, User
from agora.services.accounts import accounts

VIEW = "Shore power for every port, so ships stop burning fuel at the quay."


def test_a_write_blocked_by_a_lock_gets_503_then_succeeds(app, make, client):
    cid = make.consultation()
    with app.app_context():
        secret = accounts.create_token(db.session.get(User, make.user()), "tests")[1]
        engine = db.engine
        if engine.dialect.name == "sqlite":
            holder = sqlite3.connect(engine.url.database, isolation_level=None)
            holder.execute("BEGIN EXCLUSIVE")
            release = lambda: holder.execute("ROLLBACK")  # noqa: E731
        else:
            holder = engine.connect()
            transaction = holder.begin()
            holder.execute(text("LOCK TABLE submissions IN EXCLUSIVE MODE"))
            release = transaction.rollback
    headers = {"Authorization": f"Bearer {secret}", "Idempotency-Key": "locked-1"}
    try:
        r = client.post(f"/api/v1/consultations/{cid}/submissions", json={"text": VIEW}, headers=headers)
        assert r.status_code == 503, r.get_data(as_text=True)[:300]
        assert r.headers["Retry-After"].isdigit() and r.get_json()["error"]["code"] == "unavailable"
    finally:
        release()
        holder.close()
    with app.app_context():
        assert db.session.query(Submission).count() == 0
    r = client.post(f"/api/v1/consultations/{cid}/submissions", json={"text": VIEW}, headers=headers)
    assert r.status_code == 201, r.get_data(as_text=True)[:300]
    with app.app_context():
        assert [s.text for s in db.session.query(Submission)] == [VIEW]
