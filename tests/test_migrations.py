"""The schema comes from migrations: one head, and the migrated database matches the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from agora.extensions import db


def _script(app):
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config(app.extensions["migrate"].directory)
        return ScriptDirectory.from_config(config)


def test_one_head(app):
    heads = _script(app).get_heads()
    assert len(heads) == 1, f"several migration heads: {heads}"


def test_migrated_schema_matches_models(app):
    with app.app_context():
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    # the word-search index (migration 0008) is not a model: SQLite's FTS5 table and
                    # its shadow tables, PostgreSQL's expression index
                    "include_name": lambda name, kind, parent: (
                        not (name or "").startswith(("submissions_fts", "ix_submissions_text_search"))
                    ),
                },
            )
            diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"


def test_database_is_at_head(app):
    head = _script(app).get_current_head()
    with app.app_context(), db.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head


UPGRADE_WITH_DATA = """
import json, sys
from flask_migrate import upgrade
from sqlalchemy import text
from agora import create_app
from agora.config import TestConfig
from agora.extensions import db

app = create_app(TestConfig, instance_path=sys.argv[1])
with app.app_context():
    upgrade(revision="0001_foundation")
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO users (id, display_name, kind, is_admin, created_at) VALUES (1, 'A', 'account', false, CURRENT_TIMESTAMP)"))
        conn.execute(text("INSERT INTO consultations (id, slug, title, summary, briefing_html, stage, status, forum, languages, created_at, updated_at) VALUES (1, 'c', 'C', '', '', 'round_table', 'open', '', 'en', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        conn.execute(text("INSERT INTO submissions (id, consultation_id, author_id, text, channel, state, reasons, agree_count, disagree_count, pass_count, created_at) VALUES (1, 1, 1, 'Keep me', 'web', 'published', '', 0, 0, 0, CURRENT_TIMESTAMP)"))
        conn.execute(text("INSERT INTO votes (id, submission_id, user_id, value, created_at, updated_at) VALUES (1, 1, 1, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        conn.execute(text("INSERT INTO moderation_decisions (id, submission_id, automatic, action, to_state, reason, created_at) VALUES (1, 1, true, 'publish', 'published', '', CURRENT_TIMESTAMP)"))
    upgrade()
    with db.engine.connect() as conn:
        counts = {t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar() for t in ("users", "consultations", "submissions", "votes", "moderation_decisions")}
        fk = conn.execute(text("PRAGMA foreign_keys")).scalar() if db.engine.dialect.name == "sqlite" else 1
print(json.dumps({"counts": counts, "fk": fk}))
"""


def test_upgrading_a_database_with_data_keeps_every_row(tmp_path):
    """Each migration runs on a database that already holds data, and loses none of it
    (SQLite rebuilds tables in batch migrations: foreign keys must not cascade then).
    In a process of its own: a second app in this one would rebind the global extensions."""
    import json
    import os
    import subprocess
    import sys

    from tests.live_server import ROOT, separate_database

    base = os.environ["AGORA_DATABASE_URL"]
    url = separate_database("upgrade") if base.startswith("postgresql") else f"sqlite:///{tmp_path}/upgrade.sqlite3"
    env = {**os.environ, "AGORA_DATABASE_URL": url}
    done = subprocess.run(
        [sys.executable, "-c", UPGRADE_WITH_DATA, str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["counts"] == {"users": 1, "consultations": 1, "submissions": 1, "votes": 1, "moderation_decisions": 1}
    assert result["fk"] == 1  # foreign keys are back on for the app's connections
