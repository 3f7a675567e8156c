"""Moderation end to end: screening, the queue, decisions, flags, appeals, campaigns,
transparency and the hash-chained audit log."""

import pytest
from sqlalchemy import text as sql

from agora.extensions import db
from agora.models import ModelVersion, ModerationDecision, Submission
from agora.services import audit
from agora.services.moderation import screening
from tests.conftest import civic_statements, csrf_from, login

ABUSIVE = "You are all worthless idiots and stupid bitches, shut up"
CIVIC = "The county should fund more after-school programmes for teenagers."


@pytest.fixture
def world(app, make):
    cid = make.consultation()
    ids = {
        "author": make.user(email="author@example.org"),
        "mod1": make.user(email="mod1@example.org", role="moderator"),
        "mod2": make.user(email="mod2@example.org", role="moderator"),
        "admin": make.user(email="admin@example.org", role="admin"),
        "other": make.user(email="other@example.org"),
    }
    return cid, make.slug(cid), ids


def _post(client, url, data, page="/account/profile"):
    return client.post(url, data={**data, "csrf_token": csrf_from(client, page)})


def _state(app, sid):
    with app.app_context():
        return db.session.get(Submission, sid).state


def test_abusive_view_is_held_then_approved_by_a_moderator(app, client, make, world):
    cid, slug, ids = world
    sid = make.submission(cid, ids["author"], ABUSIVE)
    assert _state(app, sid) == "held"
    assert ABUSIVE not in client.get(f"/consultations/{slug}").get_data(as_text=True)

    login(client, "author@example.org")
    assert "Waiting for a moderator" in client.get("/account/views").get_data(as_text=True)
    client.post("/account/logout", data={"csrf_token": csrf_from(client, "/")})

    login(client, "mod1@example.org")
    queue = client.get("/moderation/").get_data(as_text=True)
    assert f"#{sid}" in queue and "abuse" in queue
    response = _post(client, f"/moderation/items/{sid}/decide", {"action": "approve", "reason": "within_rules"})
    assert response.status_code == 302
    assert _state(app, sid) == "published"
    with app.app_context():
        actions = [
            (d.action, d.automatic)
            for d in db.session.query(ModerationDecision).filter_by(submission_id=sid).order_by(ModerationDecision.id)
        ]
    assert actions == [("hold", True), ("approve", False)]
    again = _post(client, f"/moderation/items/{sid}/decide", {"action": "approve", "reason": "within_rules"})
    assert again.status_code == 303 and _state(app, sid) == "published"


def test_reject_then_appeal_to_a_different_moderator_restores(app, client, make, world):
    cid, slug, ids = world
    sid = make.submission(cid, ids["author"], ABUSIVE)
    login(client, "mod1@example.org")
    _post(client, f"/moderation/items/{sid}/decide", {"action": "reject", "reason": "abuse"})
    assert _state(app, sid) == "rejected"
    client.post("/account/logout", data={"csrf_token": csrf_from(client, "/")})

    login(client, "author@example.org")
    page = client.get("/account/views").get_data(as_text=True)
    assert "Rejected by a moderator" in page and "Abuse: hate, harassment, threats or insults" in page
    assert (
        _post(client, f"/account/views/{sid}/appeal", {"statement": "I was quoting someone to condemn it."}).status_code
        == 302
    )
    twice = _post(client, f"/account/views/{sid}/appeal", {"statement": "Please!"})
    assert twice.status_code == 409
    client.post("/account/logout", data={"csrf_token": csrf_from(client, "/")})

    login(client, "mod1@example.org")
    appeal_id = 1 if app.extensions else None
    with app.app_context():
        from agora.models import Appeal

        appeal_id = db.session.query(Appeal).one().id
    same = _post(client, f"/moderation/appeals/{appeal_id}/decide", {"outcome": "restored", "reason": "within_rules"})
    assert same.status_code == 403
    client.post("/account/logout", data={"csrf_token": csrf_from(client, "/")})

    login(client, "mod2@example.org")
    assert (
        _post(
            client, f"/moderation/appeals/{appeal_id}/decide", {"outcome": "restored", "reason": "within_rules"}
        ).status_code
        == 302
    )
    assert _state(app, sid) == "published"
    final = _post(client, f"/moderation/appeals/{appeal_id}/decide", {"outcome": "upheld", "reason": "abuse"})
    assert final.status_code == 303 and _state(app, sid) == "published"
    assert ABUSIVE in client.get(f"/consultations/{slug}").get_data(as_text=True)
    transparency = client.get(f"/consultations/{slug}").get_data(as_text=True)
    assert "1 restored on appeal" in transparency and "1 rejected" in transparency


def test_the_moderation_record_on_the_page_counts_a_decision_at_once(app, client, make, world):
    """The page keeps its moderation record briefly (counting every decision is costly on large
    consultations): a moderator's decision made here still shows on the next view of the page."""
    cid, slug, ids = world
    sid = make.submission(cid, ids["author"], ABUSIVE)  # held by the screening
    before = client.get(f"/consultations/{slug}").get_data(as_text=True)
    assert "0 hidden" in before
    login(client, "mod1@example.org")
    _post(client, f"/moderation/items/{sid}/decide", {"action": "hide", "reason": "abuse"})
    assert _state(app, sid) == "hidden"
    after = client.get(f"/consultations/{slug}").get_data(as_text=True)
    assert "1 hidden" in after and "0 hidden" not in after


def test_participants_and_foreign_moderators_are_refused(app, client, make, world):
    cid, slug, ids = world
    sid = make.submission(cid, ids["author"], ABUSIVE)
    login(client, "other@example.org")
    assert client.get("/moderation/").status_code == 403
    assert client.get(f"/moderation/items/{sid}").status_code == 403
    assert (
        _post(client, f"/moderation/items/{sid}/decide", {"action": "approve", "reason": "within_rules"}).status_code
        == 403
    )
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit.csv").status_code == 403
    client.post("/account/logout", data={"csrf_token": csrf_from(client, "/")})

    other = make.consultation("Another consultation")
    make.user(email="scoped@example.org", role="moderator", scope=other)
    login(client, "scoped@example.org")
    assert client.get(f"/moderation/items/{sid}").status_code == 403
    assert f"#{sid}" not in client.get("/moderation/").get_data(as_text=True)
    assert _state(app, sid) == "held"


def test_hide_needs_a_broken_rule_and_unknown_reasons_are_refused(app, client, make, world):
    cid, slug, ids = world
    sid = make.submission(cid, ids["author"], ABUSIVE)
    login(client, "mod1@example.org")
    assert (
        _post(client, f"/moderation/items/{sid}/decide", {"action": "hide", "reason": "within_rules"}).status_code
        == 303
    )
    assert _post(client, f"/moderation/items/{sid}/decide", {"action": "hide", "reason": "because"}).status_code == 303
    assert _post(client, f"/moderation/items/{sid}/decide", {"action": "delete", "reason": "abuse"}).status_code == 303
    assert _state(app, sid) == "held"


def test_claimed_item_cannot_be_decided_by_another_moderator(app, client, make, world):
    cid, slug, ids = world
    sid = make.submission(cid, ids["author"], ABUSIVE)
    login(client, "mod1@example.org")
    _post(client, f"/moderation/items/{sid}/claim", {})
    client.post("/account/logout", data={"csrf_token": csrf_from(client, "/")})
    login(client, "mod2@example.org")
    assert "Being handled by" in client.get("/moderation/").get_data(as_text=True)
    response = _post(client, f"/moderation/items/{sid}/decide", {"action": "approve", "reason": "within_rules"})
    assert response.status_code == 303 and _state(app, sid) == "held"


def test_flagged_view_goes_to_the_queue_and_hiding_retracts_it(app, client, make, world):
    cid, slug, ids = world
    sid = make.submission(cid, ids["author"], CIVIC)
    assert _state(app, sid) == "published"
    login(client, "other@example.org")
    assert (
        _post(client, f"/submissions/{sid}/flag", {"reason": "off_topic"}, page=f"/consultations/{slug}").status_code
        == 302
    )
    assert (
        _post(client, f"/submissions/{sid}/flag", {"reason": "off_topic"}, page=f"/consultations/{slug}").status_code
        == 409
    )
    assert (
        _post(client, f"/submissions/{sid}/flag", {"reason": "nonsense"}, page=f"/consultations/{slug}").status_code
        == 422
    )
    client.post("/account/logout", data={"csrf_token": csrf_from(client, "/")})
    login(client, "mod1@example.org")
    assert "1 open reports" in client.get("/moderation/").get_data(as_text=True)
    assert (
        _post(client, f"/moderation/items/{sid}/decide", {"action": "hide", "reason": "off_topic"}).status_code == 302
    )
    assert _state(app, sid) == "hidden"
    assert CIVIC not in client.get(f"/consultations/{slug}").get_data(as_text=True)


def test_near_identical_campaign_is_disclosed_and_decided_in_bulk(app, client, make, world):
    cid, slug, ids = world
    base = "Stop the new highway through the wetlands now, sign our petition at savethewetlands dot org"
    sids = [make.submission(cid, make.user(), base + ending) for ending in ("", "!", "!!", " please", " today")]
    with app.app_context():
        campaign = {db.session.get(Submission, s).campaign_id for s in sids}
    assert len(campaign) == 1 and None not in campaign
    campaign_id = campaign.pop()
    page = client.get(f"/consultations/{slug}").get_data(as_text=True)
    assert "Campaign disclosed: 5 near-identical submissions." in page
    login(client, "mod1@example.org")
    assert "5 near-identical submissions" in client.get(f"/moderation/campaigns/{campaign_id}").get_data(as_text=True)


def test_bulk_decision_on_held_campaign(app, client, make, world):
    cid, slug, ids = world
    author = make.user()
    sids = [
        make.submission(
            cid, author, "BUY CHEAP PILLS http://spam.example http://spam.example/2 http://spam.example/3 " + str(i)
        )
        for i in range(4)
    ]
    with app.app_context():
        states = {db.session.get(Submission, s).state for s in sids}
        campaign_id = db.session.get(Submission, sids[0]).campaign_id
    assert states == {"held"} and campaign_id
    login(client, "mod1@example.org")
    response = _post(
        client,
        f"/moderation/campaigns/{campaign_id}/decide",
        {"action": "reject", "reason": "spam", "ids": [str(s) for s in sids]},
    )
    assert response.status_code == 302
    assert {_state(app, s) for s in sids} == {"rejected"}


def test_html_payload_is_stored_as_text_and_shown_escaped_to_moderators(app, client, make, world):
    cid, slug, ids = world
    payload = "<img src=x onerror=alert(1)> you idiots are stupid bitches"
    sid = make.submission(cid, ids["author"], payload)
    login(client, "mod1@example.org")
    page = client.get(f"/moderation/items/{sid}").get_data(as_text=True)
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_unloadable_model_keeps_submissions_pending_until_rescreened(app, client, make, world):
    cid, slug, ids = world
    with app.app_context():
        db.session.add(ModelVersion(version="broken", path="/nonexistent/model", active=True))
        db.session.commit()
        screening.reset()
    sid = make.submission(cid, ids["author"], CIVIC)
    assert _state(app, sid) == "pending"
    assert CIVIC not in client.get(f"/consultations/{slug}").get_data(as_text=True)
    login(client, "mod1@example.org")
    assert "Unscreened (pending): 1" in client.get("/moderation/").get_data(as_text=True)
    with app.app_context():
        db.session.query(ModelVersion).delete()
        db.session.commit()
        screening.reset()
        assert screening.rescreen_pending() == 1
    assert _state(app, sid) == "published"


def test_audit_chain_verifies_and_detects_tampering(app, make, world):
    cid, slug, ids = world
    for text in civic_statements(3) + [ABUSIVE]:
        make.submission(cid, make.user(), text)
    with app.app_context():
        check = audit.verify()
        assert check.ok and check.entries == 4
        db.session.execute(
            sql(
                "UPDATE moderation_decisions SET reason = 'nothing to see' WHERE id = (SELECT MIN(id) FROM moderation_decisions)"
            )
        )
        db.session.commit()
        broken = audit.verify()
        assert not broken.ok and "edited" in broken.problem


def test_audit_log_export_for_admins(app, client, make, world):
    cid, slug, ids = world
    make.submission(cid, ids["author"], ABUSIVE)
    login(client, "admin@example.org")
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "hold" in page
    csv_text = client.get("/admin/audit.csv").get_data(as_text=True)
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("id,created_at,submission_id") and len(lines) == 2


def test_cli_verifies_the_audit_log(app, make, world):
    cid, slug, ids = world
    make.submission(cid, ids["author"], CIVIC)
    result = app.test_cli_runner().invoke(args=["agora", "moderation", "verify-audit"])
    assert result.exit_code == 0 and "intact: 1 entries" in result.output


def test_a_consultation_can_hold_more_strictly_than_the_default(app, client, make):
    """Per-consultation thresholds: a strict consultation holds what the default would publish."""
    from agora.services.moderation import screening

    make.user(email="admin@example.org", role="admin")
    login(client, "admin@example.org")
    token = csrf_from(client, "/admin/consultations/new")
    base = {"stage": "conference", "status": "open", "csrf_token": token}
    bad = client.post(
        "/admin/consultations/new", data={**base, "title": "Bad", "hold_threshold": "0.9", "reject_threshold": "0.5"}
    )
    assert bad.status_code == 422 and "must be below" in bad.get_data(as_text=True)
    assert (
        client.post(
            "/admin/consultations/new",
            data={**base, "title": "Strict", "hold_threshold": "0.01", "reject_threshold": "0.99"},
        ).status_code
        == 302
    )
    assert client.post("/admin/consultations/new", data={**base, "title": "Default"}).status_code == 302
    with app.app_context():
        from agora.models import Consultation

        strict = db.session.query(Consultation).filter_by(title="Strict").one()
        default = db.session.query(Consultation).filter_by(title="Default").one()
        assert (strict.hold_threshold, default.hold_threshold) == (0.01, None)
        text = "Honestly the council has been stupid about parking downtown."
        probability = screening.moderator().score([text])[0].abuse
        assert 0.01 < probability < screening.moderator().thresholds.hold
        strict_id, default_id = strict.id, default.id
    author = make.user()
    assert _state(app, make.submission(strict_id, author, text)) == "held"
    assert _state(app, make.submission(default_id, make.user(), text)) == "published"


def test_retrain_from_moderators_decisions_reports_and_promotes_only_without_regression(app, make, world, tmp_path):
    from agora.models import ModelVersion, User
    from agora.services import moderation

    cid, slug, ids = world
    texts = civic_statements(6)
    with app.app_context():
        mod = db.session.get(User, ids["mod1"])
        for text in texts[:3]:
            sid = make.submission(cid, make.user(), text + " You idiot.")
            if _state(app, sid) == "held":
                moderation.decide(mod, sid, "approve", "within_rules")
        held = make.submission(cid, make.user(), ABUSIVE)
        moderation.decide(mod, held, "reject", "abuse")
        labels = moderation.training_labels()
        assert (ABUSIVE, 1) in labels
    result = app.test_cli_runner().invoke(args=["agora", "moderation", "retrain"])
    assert result.exit_code == 0, result.output
    assert (
        "labelled decisions from moderators" in result.output
        and "before:" in result.output
        and "after:" in result.output
    )
    with app.app_context():
        active = db.session.query(ModelVersion).filter_by(active=True).all()
        if "PROMOTED" in result.output:
            assert len(active) == 1 and screening.model_version() == active[0].version
        else:
            assert "NOT promoted" in result.output and active == []
