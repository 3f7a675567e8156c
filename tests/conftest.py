"""Fixtures: an app on a migrated database (SQLite by default, PostgreSQL when
AGORA_DATABASE_URL says so), a clean database per test, clients and factories."""

import os
import re
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import text

from agora import create_app
from agora.config import TestConfig
from agora.extensions import db, limiter

_TMP = tempfile.mkdtemp(prefix="agora-tests-")
if not os.environ.get("AGORA_DATABASE_URL"):
    os.environ["AGORA_DATABASE_URL"] = f"sqlite:///{_TMP}/test.sqlite3"
BASE_DATABASE_URL = os.environ["AGORA_DATABASE_URL"]


def _private_postgres_database(url: str) -> str:
    """A database of this test run's own on the PostgreSQL server, so runs never collide."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = f"{parsed.database}_run_{os.getpid()}"
    admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


if BASE_DATABASE_URL.startswith("postgresql") and not os.environ.get("AGORA_TEST_DATABASE_READY"):
    os.environ["AGORA_DATABASE_URL"] = _private_postgres_database(BASE_DATABASE_URL)
    os.environ["AGORA_TEST_DATABASE_READY"] = "1"
DATABASE_URL = os.environ["AGORA_DATABASE_URL"]


def pytest_sessionfinish(session, exitstatus):
    """Drop the PostgreSQL databases this run created (its own and its servers')."""
    if DATABASE_URL == BASE_DATABASE_URL:
        return
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from tests.live_server import CREATED_DATABASES

    admin = create_engine(make_url(BASE_DATABASE_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in [make_url(DATABASE_URL).database, *CREATED_DATABASES]:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _reset_schema(app):
    """Drop everything, then build the schema from the migrations (never create_all)."""
    from flask_migrate import upgrade

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        else:
            db.drop_all()
            with db.engine.begin() as conn:
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
                conn.execute(text("DROP TABLE IF EXISTS submissions_fts"))
        upgrade()


@pytest.fixture(scope="session")
def app():
    app = create_app(TestConfig, instance_path=_TMP)
    _reset_schema(app)
    yield app


@pytest.fixture(autouse=True)
def _clean_database(request):
    """Empty every table after each test that used the app."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if db.engine.dialect.name == "postgresql":
                conn.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    conn.execute(text(f"DELETE FROM {table}"))
                conn.execute(text("DELETE FROM submissions_fts"))
        limiter.reset()
        # the audit chain's checkpoints describe the database just emptied
        Path(app.config["AUDIT_CHECKPOINTS"]).unlink(missing_ok=True)
    from agora.services.moderation import screening
    from agora.services.participation import search

    screening.reset()
    search.reset()
    # Hearing ids start again at 1 in the emptied database: what the live services remember per
    # hearing (the last summary's themes, when it was made, frames being batched) must go too.
    from agora.services.hearings import delivery, live_themes

    live_themes._previous_themes.clear()
    for kept in (
        live_themes._themes._new,
        live_themes._themes._busy,
        live_themes._themes._again,
        live_themes._themes._last,
        live_themes._themes._watched,
        delivery._batcher._last,
    ):
        kept.clear()


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_from(client, url="/account/login") -> str:
    html = client.get(url).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token on {url}"
    return match.group(1) or match.group(2)


class Factory:
    """Small factories that go through the services, like CTFd's gen_* helpers."""

    def __init__(self, app):
        self.app = app
        self.n = 0

    def user(self, email=None, password="correct horse battery", name=None, role=None, scope=None, **profile):
        from agora.services.accounts import accounts

        self.n += 1
        with self.app.app_context():
            user = accounts.register(email or f"user{self.n}@example.org", password, name or f"User {self.n}")
            if profile:
                accounts.update_profile(
                    user,
                    accounts.Profile(
                        display_name=user.display_name,
                        constituency=profile.get("constituency"),
                        country=profile.get("country"),
                        gender=profile.get("gender"),
                        languages=None,
                        locale=None,
                    ),
                )
            if role:
                accounts.assign_role(user, role, scope, None)
            return user.id

    def consultation(self, title="Oceans and plastics", status="open", **kwargs):
        from agora.services.participation import consultations

        with self.app.app_context():
            return consultations.create(consultations.ConsultationInput(title=title, status=status, **kwargs)).id

    def slug(self, consultation_id):
        from agora.services.participation import consultations

        with self.app.app_context():
            return consultations.get(consultation_id).slug

    def submission(self, consultation_id, user_id, text="We need more public transport in rural areas."):
        from agora.extensions import db as _db
        from agora.models import User
        from agora.services.participation import submissions

        with self.app.app_context():
            submission, _ = submissions.submit(consultation_id, _db.session.get(User, user_id), text)
            return submission.id


def civic_statements(n: int) -> list[str]:
    """Real civic statements (Pol.is, accepted by its moderators), distinct, for realistic fixtures."""
    import csv
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "data" / "polis" / "comments.csv"
    with path.open(encoding="utf-8") as handle:
        rows = [r["comment-body"].strip() for r in csv.DictReader(handle) if r["moderated"] == "1"]
    return sorted(set(rows), key=rows.index)[:n]


@pytest.fixture
def make(app):
    return Factory(app)


def login(client, email, password="correct horse battery"):
    token = csrf_from(client, "/account/login")
    response = client.post("/account/login", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


@pytest.fixture
def signed_in(client, make, app):
    """A participant signed in through the real login form."""
    user_id = make.user(email="participant@example.org")
    login(client, "participant@example.org")
    client.user_id = user_id
    return client
