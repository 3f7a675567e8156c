"""SMS gateway: signed form posts become views; the number is never stored in clear."""

import itertools
import time
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select, text

from agora.extensions import db
from agora.models import Consultation, ModerationDecision, Submission
from agora.services.participation import sms

SECRET = "gateway-shared-secret"
NUMBER = "+254 712 345 678"
VIEW = "Our clinic has no water in the dry season; fund boreholes before new buildings."


@pytest.fixture
def gateway(app, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_SECRET", SECRET)
    monkeypatch.setitem(app.config, "SMS_SALT", None)
    return app


def _keyword(app, cid, keyword):
    with app.app_context():
        sms.set_keyword(db.session.get(Consultation, cid), keyword)


_ids = itertools.count(1)


def _post(client, fields, secret=SECRET, signature=None, timestamp=None, with_id=True):
    """A gateway's request: a message id unless told otherwise, signed with a timestamp."""
    if with_id and "id" not in fields:
        fields = {**fields, "id": f"gw-{next(_ids)}"}
    body = urlencode(fields).encode("utf-8")
    stamp = str(int(time.time())) if timestamp is None else str(timestamp)
    header = signature if signature is not None else sms.signature(secret, body, stamp)
    return client.post(
        "/sms/inbound",
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers={"X-Agora-Signature": header, "X-Agora-Timestamp": stamp},
    )


def _submissions(app):
    with app.app_context():
        return db.session.scalars(select(Submission)).all()


def test_signed_message_with_keyword_becomes_a_screened_sms_view(client, make, gateway):
    cid = make.consultation()
    _keyword(gateway, cid, "Water")
    response = _post(client, {"from": NUMBER, "text": f"water {VIEW}"})
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.headers["X-Agora-Outcome"] == "accepted"
    body = response.get_data(as_text=True)
    [submission] = _submissions(gateway)
    assert body.startswith(f"Thank you: your view #{submission.id} is")
    assert submission.consultation_id == cid and submission.channel == "sms" and submission.text == VIEW
    assert submission.author_id is None and submission.state == "published"
    assert len(submission.sender_hash) == 64
    with gateway.app_context():
        assert (
            db.session.scalar(
                select(func.count(ModerationDecision.id)).where(ModerationDecision.submission_id == submission.id)
            )
            == 1
        )


def test_the_number_is_stored_only_as_a_salted_hash(client, make, gateway):
    cid = make.consultation()
    _keyword(gateway, cid, "water")
    assert _post(client, {"from": NUMBER, "text": f"WATER {VIEW}"}).status_code == 200
    assert (
        _post(
            client, {"from": "+254712345678", "text": "water Schools need clean latrines and handwashing stations."}
        ).status_code
        == 200
    )
    first, second = _submissions(gateway)
    assert first.sender_hash == second.sender_hash  # the same phone, however the gateway formats it
    import hashlib

    assert first.sender_hash != hashlib.sha256(b"+254712345678").hexdigest()  # salted, not a bare hash
    with gateway.app_context():
        rows = db.session.execute(text("SELECT * FROM submissions")).all()
    dump = repr(rows)
    for form in ("712345678", "712 345 678", "+254712345678"):
        assert form not in dump


def test_forged_or_missing_signature_is_refused_and_nothing_is_stored(client, make, gateway):
    cid = make.consultation()
    _keyword(gateway, cid, "water")
    forged = _post(client, {"from": NUMBER, "text": f"water {VIEW}"}, secret="guessed-secret")
    assert forged.status_code == 403 and "Bad or missing signature." in forged.get_data(as_text=True)
    missing = _post(client, {"from": NUMBER, "text": f"water {VIEW}"}, signature="")
    assert missing.status_code == 403
    # A valid signature of another body does not authorise this one.
    other = sms.signature(SECRET, b"from=1&text=water+hello", int(time.time()))
    tampered = _post(client, {"from": NUMBER, "text": f"water {VIEW}"}, signature=other)
    assert tampered.status_code == 403
    assert _submissions(gateway) == []


def test_without_a_configured_secret_the_endpoint_refuses_everything(client, make, app, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_SECRET", None)
    cid = make.consultation()
    _keyword(app, cid, "water")
    response = _post(client, {"from": NUMBER, "text": f"water {VIEW}"}, secret="anything")
    assert response.status_code == 503
    assert _submissions(app) == []


def test_unknown_keyword_gets_a_helpful_reply_and_stores_nothing(client, make, gateway):
    cid = make.consultation()
    _keyword(gateway, cid, "water")
    response = _post(client, {"from": NUMBER, "text": f"fish {VIEW}"})
    assert response.status_code == 200
    assert response.headers["X-Agora-Outcome"] == "unknown_keyword"
    assert response.get_data(as_text=True).startswith("Unknown keyword FISH.")
    assert _submissions(gateway) == []


def test_closed_consultation_replies_closed(client, make, gateway):
    cid = make.consultation(status="closed")
    _keyword(gateway, cid, "water")
    response = _post(client, {"from": NUMBER, "text": f"water {VIEW}"})
    assert response.status_code == 200 and response.headers["X-Agora-Outcome"] == "closed"
    assert "WATER: this consultation is closed" in response.get_data(as_text=True)
    assert _submissions(gateway) == []


def test_keyword_alone_or_missing_sender_is_an_error(client, make, gateway):
    cid = make.consultation()
    _keyword(gateway, cid, "water")
    alone = _post(client, {"from": NUMBER, "text": "water"})
    assert alone.status_code == 200 and alone.headers["X-Agora-Outcome"] == "invalid"
    assert "please write your view after the keyword" in alone.get_data(as_text=True)
    nobody = _post(client, {"text": f"water {VIEW}"})
    assert nobody.status_code == 422
    assert _submissions(gateway) == []


def test_gateway_retries_with_the_same_message_id_store_once(client, make, gateway):
    cid = make.consultation()
    _keyword(gateway, cid, "water")
    fields = {"from": NUMBER, "text": f"water {VIEW}", "id": "msg-123"}
    first = _post(client, fields)
    second = _post(client, fields)
    assert first.status_code == second.status_code == 200
    assert len(_submissions(gateway)) == 1


def test_the_endpoint_needs_no_csrf_token_but_is_rate_limited(client, make, gateway):
    cid = make.consultation()
    _keyword(gateway, cid, "water")
    statuses = [_post(client, {"from": NUMBER, "text": "fish hello"}).status_code for _ in range(125)]
    assert statuses[0] == 200  # no CSRF token, yet accepted: the signature authenticates
    assert statuses[-1] == 429


def test_keywords_are_unique_and_well_formed(app, make, ctx):
    from agora.services.errors import Invalid

    first, second = make.consultation(), make.consultation("Another")
    sms.set_keyword(db.session.get(Consultation, first), "Water")
    assert db.session.get(Consultation, first).sms_keyword == "water"
    with pytest.raises(Invalid, match="already uses"):
        sms.set_keyword(db.session.get(Consultation, second), "WATER")
    with pytest.raises(Invalid, match="1 to 32 letters"):
        sms.set_keyword(db.session.get(Consultation, second), "two words")


def test_secretariat_sets_keywords_on_a_page_participants_cannot(client, make, app):
    from tests.conftest import csrf_from, login

    cid = make.consultation()
    make.user(email="someone@example.org")
    make.user(email="secretariat@example.org", role="admin")
    login(client, "someone@example.org")
    assert client.get("/sms/keywords").status_code == 403
    assert (
        client.post(
            "/sms/keywords", data={"consultation_id": str(cid), "keyword": "x", "csrf_token": csrf_from(client, "/")}
        ).status_code
        == 403
    )
    client.post("/account/logout", data={"csrf_token": csrf_from(client, "/")})
    login(client, "secretariat@example.org")
    token = csrf_from(client, "/sms/keywords")
    assert (
        client.post(
            "/sms/keywords", data={"consultation_id": str(cid), "keyword": "Ocean", "csrf_token": token}
        ).status_code
        == 302
    )
    bad = client.post("/sms/keywords", data={"consultation_id": str(cid), "keyword": "two words", "csrf_token": token})
    assert bad.status_code == 422 and f'aria-describedby="keyword-{cid}-error"' in bad.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Consultation, cid).sms_keyword == "ocean"


def test_the_reply_speaks_the_language_of_the_message(client, make, gateway):
    cid = make.consultation()
    _keyword(gateway, cid, "Eau")
    french = "Il faut des puits et des pompes dans chaque village, et former les jeunes à les réparer."
    response = _post(client, {"from": NUMBER, "text": f"eau {french}"})
    [submission] = _submissions(gateway)
    assert response.get_data(as_text=True).startswith(f"Merci : votre avis n° {submission.id} est"), response.get_data(
        as_text=True
    )
    unknown = _post(
        client, {"from": NUMBER, "text": "pluie Les enfants marchent deux heures pour aller chercher de l'eau potable."}
    )
    assert unknown.get_data(as_text=True).startswith("Mot-clé inconnu : PLUIE."), unknown.get_data(as_text=True)


def test_a_replayed_request_adds_nothing(client, make, gateway):
    """The red team replayed one signed body without an id three times: three views."""
    cid = make.consultation()
    _keyword(gateway, cid, "water")
    fields = {"from": NUMBER, "text": f"water {VIEW}"}
    without_id = [_post(client, fields, with_id=False) for _ in range(3)]
    assert [r.status_code for r in without_id] == [422] * 3
    assert "no id" in without_id[0].get_data(as_text=True)
    body = urlencode({**fields, "id": "gw-777"}).encode()
    stamp = str(int(time.time()))
    headers = {"X-Agora-Signature": sms.signature(SECRET, body, stamp), "X-Agora-Timestamp": stamp}
    replays = [
        client.post("/sms/inbound", data=body, content_type="application/x-www-form-urlencoded", headers=headers)
        for _ in range(3)
    ]
    assert [r.status_code for r in replays] == [200] * 3
    assert len(_submissions(gateway)) == 1


def test_the_timestamp_is_signed_and_a_stale_one_is_refused(client, make, gateway):
    cid = make.consultation()
    _keyword(gateway, cid, "water")
    fields = {"from": NUMBER, "text": f"water {VIEW}", "id": "gw-stale"}
    stale = _post(client, fields, timestamp=int(time.time()) - sms.REPLAY_WINDOW_SECONDS - 60)
    assert stale.status_code == 403 and stale.headers["X-Agora-Outcome"] == "stale"
    future = _post(client, fields, timestamp=int(time.time()) + sms.REPLAY_WINDOW_SECONDS + 60)
    assert future.status_code == 403
    # An old capture with a fresh timestamp: the signature no longer matches.
    body = urlencode(fields).encode()
    old_stamp = str(int(time.time()) - 3600)
    moved = client.post(
        "/sms/inbound",
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers={
            "X-Agora-Signature": sms.signature(SECRET, body, old_stamp),
            "X-Agora-Timestamp": str(int(time.time())),
        },
    )
    assert moved.status_code == 403 and moved.headers["X-Agora-Outcome"] == "bad_signature"
    # The body alone signed (the old contract) and no timestamp at all are refused too.
    import hashlib
    import hmac

    body_only = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert (
        client.post(
            "/sms/inbound",
            data=body,
            content_type="application/x-www-form-urlencoded",
            headers={"X-Agora-Signature": body_only},
        ).status_code
        == 403
    )
    assert _submissions(gateway) == []
    assert _post(client, fields).status_code == 200 and len(_submissions(gateway)) == 1
