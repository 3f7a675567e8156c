"""Backup and restore of the embedded database: what was backed up comes back, damage is refused.
On PostgreSQL the commands refuse and point to pg_dump."""

from agora.extensions import db
from agora.models import Submission
from tests.conftest import civic_statements


def _dialect(app):
    with app.app_context():
        return db.engine.dialect.name


def test_backup_then_restore_brings_back_the_data(app, make, tmp_path):
    runner = app.test_cli_runner()
    backup = tmp_path / "agora-backup.sqlite3"
    if _dialect(app) != "sqlite":
        result = runner.invoke(args=["agora", "backup", str(backup)])
        assert result.exit_code != 0 and "pg_dump" in result.output
        return
    cid = make.consultation()
    texts = civic_statements(3)
    kept = [make.submission(cid, make.user(), t) for t in texts[:2]]
    result = runner.invoke(args=["agora", "backup", str(backup)])
    assert result.exit_code == 0 and "Backed up" in result.output
    make.submission(cid, make.user(), texts[2])  # written after the backup: gone after restore
    result = runner.invoke(args=["agora", "restore", str(backup), "--yes"])
    assert result.exit_code == 0, result.output
    assert "submissions 2" in result.output
    with app.app_context():
        assert sorted(s.id for s in db.session.query(Submission)) == kept


def test_restore_refuses_a_file_that_is_not_a_backup(app, tmp_path):
    bogus = tmp_path / "not-a-backup.sqlite3"
    bogus.write_bytes(b"this is not a database" * 100)
    result = app.test_cli_runner().invoke(args=["agora", "restore", str(bogus), "--yes"])
    assert result.exit_code == 1
    assert "nothing was restored" in result.output or "pg_dump" in result.output
