"""The audit chain detects what it missed: it is keyed with a secret kept outside the database
(HMAC), anchored outside it (frozen reports, signed checkpoints), and verification compares every
submission's state with its last recorded decision; ``verify-audit`` names what is wrong."""

import hashlib
import json

import pytest
from sqlalchemy import text as sql

from agora.extensions import db
from agora.models import Consultation, ModerationDecision, User
from agora.services import audit, moderation
from agora.services.reporting import reports
from tests.conftest import civic_statements

ABUSIVE = "You are all worthless idiots and stupid bitches, shut up"


@pytest.fixture
def decided(app, make):
    """Four screened views, one held then hidden by a moderator: five entries."""
    cid = make.consultation()
    mod = make.user(email="mod@example.org", role="moderator")
    for text in civic_statements(3):
        make.submission(cid, make.user(), text)
    held = make.submission(cid, make.user(), ABUSIVE)
    with app.app_context():
        moderation.decide(db.session.get(User, mod), held, "hide", "abuse")
        assert audit.verify().ok
    return cid, held


def _verify_cli(app):
    return app.test_cli_runner().invoke(args=["agora", "moderation", "verify-audit"])


def test_the_chain_is_keyed_outside_the_database(app, decided):
    with app.app_context():
        entry = db.session.query(ModerationDecision).order_by(ModerationDecision.id).first()
        assert entry.entry_hash != hashlib.sha256((audit.GENESIS + "\n" + audit._canonical(entry)).encode()).hexdigest()
        saved = app.config["AUDIT_KEY"]
        app.config["AUDIT_KEY"] = "another key"
        try:
            assert not audit.verify().ok  # the chain only verifies under its own key
        finally:
            app.config["AUDIT_KEY"] = saved
    result = _verify_cli(app)
    assert result.exit_code == 0 and "intact: 5 entries" in result.output


def test_deleting_the_last_entries_is_detected_against_a_checkpoint(app, decided):
    with app.app_context():
        anchor = audit.checkpoint()
        assert anchor["entries"] == 5
        db.session.execute(
            sql("DELETE FROM moderation_decisions WHERE id > (SELECT MAX(id) - 2 FROM moderation_decisions)")
        )
        db.session.commit()
        check = audit.verify()
    assert not check.ok
    assert any(
        f"the last entries were removed: the checkpoint of {anchor['at']} recorded 5 entries ending at #{anchor['last_id']}"
        in p
        for _, p in check.problems
    )
    result = _verify_cli(app)
    assert result.exit_code != 0 and "the last entries were removed" in result.output


def test_a_forged_checkpoint_is_named(app, decided):
    with app.app_context():
        audit.checkpoint()
        path = app.config["AUDIT_CHECKPOINTS"]
        line = json.loads(open(path).read().splitlines()[0])
        line["entries"] = 4
        with open(path, "w") as handle:
            handle.write(json.dumps(line) + "\n")
        check = audit.verify()
    assert not check.ok and any(
        "checkpoint line 1" in p and "not signed with the audit key" in p for _, p in check.problems
    )


def test_deleting_entries_before_a_frozen_report_is_detected_by_its_anchor(app, decided):
    cid, held = decided
    with app.app_context():
        db.session.get(Consultation, cid).status = "closed"
        db.session.commit()
        report = reports.freeze(reports.create_draft(cid, None).id, None)
        anchor = json.loads(report.content_json)["audit_anchor"]
        assert anchor["entries"] == 5
        import os

        os.unlink(app.config["AUDIT_CHECKPOINTS"])  # only the report's anchor is left
        db.session.execute(sql("DELETE FROM moderation_decisions WHERE id = :id"), {"id": anchor["last_id"]})
        db.session.commit()
        check = audit.verify()
    assert not check.ok and any(f"frozen report {report.id} recorded 5 entries" in p for _, p in check.problems)


def test_a_state_changed_outside_the_moderation_record_is_named(app, decided):
    cid, held = decided
    with app.app_context():
        db.session.execute(sql("UPDATE submissions SET state = 'published' WHERE id = :id"), {"id": held})
        db.session.commit()
        check = audit.verify()
    assert not check.ok
    assert any(
        f"submission #{held} is published but its last recorded decision" in p and "(hide), left it hidden" in p
        for _, p in check.problems
    )
    result = _verify_cli(app)
    assert result.exit_code != 0 and f"submission #{held} is published" in result.output


def test_a_rewritten_entry_with_recomputed_hashes_is_detected(app, decided):
    cid, held = decided
    with app.app_context():
        entries = db.session.query(ModerationDecision).order_by(ModerationDecision.id).all()
        target = next(e for e in entries if e.action == "hide")
        target.reason = "spam"  # the forger rewrites the reason and recomputes every later hash
        prev = audit.GENESIS
        for entry in entries:
            if entry.id >= target.id:
                entry.prev_hash = prev
                entry.entry_hash = hashlib.sha256((prev + "\n" + audit._canonical(entry)).encode()).hexdigest()
            prev = entry.entry_hash
        db.session.commit()
        check = audit.verify()
    assert not check.ok and check.first_bad_id == target.id
    assert "does not match its keyed hash" in check.problem and "edited" in check.problem


def test_cleared_hashes_are_named_not_a_crash(app, decided):
    with app.app_context():
        first, second = db.session.query(ModerationDecision).order_by(ModerationDecision.id).limit(2).all()
        first.entry_hash = second.prev_hash = None  # a cleared hash and the next entry's link to it
        db.session.commit()
        check = audit.verify()
    assert not check.ok and check.first_bad_id == first.id
    assert f"entry #{second.id}: its link and the previous entry's hash are empty" in [p for _, p in check.problems][1]


def test_a_chain_written_before_the_key_is_sealed_once_then_verifies(app, decided):
    with app.app_context():
        prev = audit.GENESIS
        for entry in db.session.query(ModerationDecision).order_by(
            ModerationDecision.id
        ):  # as an old database holds it
            entry.prev_hash, entry.entry_hash = prev, audit.legacy_hash(entry, prev)
            prev = entry.entry_hash
        db.session.commit()
        check = audit.verify()
        assert not check.ok and "seal-audit" in check.problem
    result = app.test_cli_runner().invoke(args=["agora", "moderation", "seal-audit"])
    assert result.exit_code == 0 and "5 entries re-keyed" in result.output, result.output
    with app.app_context():
        assert audit.verify().ok
        db.session.execute(
            sql("UPDATE moderation_decisions SET reason = 'x' WHERE id = (SELECT MIN(id) FROM moderation_decisions)")
        )
        db.session.commit()
    refused = app.test_cli_runner().invoke(args=["agora", "moderation", "seal-audit"])
    assert refused.exit_code != 0 and "broken at entry" in refused.output


def test_sealing_refuses_a_chain_that_does_not_match_its_anchors(app, decided):
    """A forger who recomputes the whole chain without the key gets "unkeyed" entries; sealing them
    would bless the forgery, so seal-audit refuses a chain its checkpoints contradict."""
    with app.app_context():
        audit.checkpoint()
        entries = db.session.query(ModerationDecision).order_by(ModerationDecision.id).all()
        entries[1].reason = "rewritten"
        prev = audit.GENESIS
        for entry in entries:
            entry.prev_hash, entry.entry_hash = prev, audit.legacy_hash(entry, prev)
            prev = entry.entry_hash
        db.session.commit()
        check = audit.verify()
        assert not check.ok and any("is not the head recorded by the checkpoint" in p for _, p in check.problems)
    refused = app.test_cli_runner().invoke(args=["agora", "moderation", "seal-audit"])
    assert refused.exit_code != 0 and "does not match its checkpoints or frozen reports" in refused.output
