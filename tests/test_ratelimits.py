"""Rate limits follow the principal, however it authenticated (bearer token or session), and socket
events spend the same per-user budgets as the HTTP routes that do the same thing."""

import re
import time

from agora.extensions import db, socketio
from agora.models import User
from agora.services import hearings
from agora.services.accounts import accounts
from tests.conftest import civic_statements, csrf_from, login

NS = "/hearing"


def _token(app, user_id):
    with app.app_context():
        return accounts.create_token(db.session.get(User, user_id), "tests")[1]


def _post(client, cid, secret, text):
    return client.post(
        f"/api/v1/consultations/{cid}/submissions", json={"text": text}, headers={"Authorization": f"Bearer {secret}"}
    )


def test_token_users_behind_one_address_each_have_their_own_budget(app, client, make):
    """Two token users on one IP: the first spends the new-account limit (3 a minute, as on the
    form), the second's first post still goes through."""
    cid = make.consultation()
    first, second = _token(app, make.user()), _token(app, make.user())
    texts = civic_statements(13)
    statuses = []
    for text in texts[:12]:  # until refused (the red team's case: by then the address is spent)
        statuses.append(_post(client, cid, first, text).status_code)
        if statuses[-1] == 429:
            break
    assert _post(client, cid, second, texts[12]).status_code == 201  # a never-used token's first post
    assert statuses == [201, 201, 201, 429]


def test_a_token_and_the_same_users_session_share_one_budget(app, make):
    cid = make.consultation()
    user_id = make.user(email="both@example.org")
    secret = _token(app, user_id)
    browser = app.test_client()
    login(browser, "both@example.org")
    slug = make.slug(cid)
    texts = civic_statements(4)
    assert [_post(browser, cid, secret, t).status_code for t in texts[:3]] == [201, 201, 201]
    token = csrf_from(browser, f"/consultations/{slug}")
    assert (
        browser.post(f"/consultations/{slug}/submissions", data={"text": texts[3], "csrf_token": token}).status_code
        == 429
    )


def _hearing(app, make):
    consultation_id = make.consultation()
    chair_id = make.user(email="chair@example.org", name="Chair")
    with app.app_context():
        hearing = hearings.create(consultation_id, "Review of SDG 14")
        hearings.appoint_chair(hearing, db.session.get(User, chair_id), None)
        hearings.open_hearing(hearing, db.session.get(User, chair_id))
        return hearing.id


def test_socket_messages_spend_the_hearing_form_limit(app, client, make):
    """The red team sent 45 messages in 5.6 s over the socket; the form allows 30 a minute."""
    hearing_id = _hearing(app, make)
    make.user(email="talker@example.org")
    login(client, "talker@example.org")
    html = client.get(f"/hearings/{hearing_id}").get_data(as_text=True)
    csrf = re.search(r'data-csrf="([^"]*)"', html).group(1)
    sock = socketio.test_client(app, namespace=NS, flask_test_client=client, auth={"csrf": csrf})
    assert sock.emit("join", {"hearing_id": hearing_id}, namespace=NS, callback=True)["ok"]
    acks = []
    for n in range(31):
        if n == 15:
            time.sleep(3.5)  # the connection's flood budget (20 at once, 5 a second) refills
        acks.append(
            sock.emit(
                "post_message",
                {"hearing_id": hearing_id, "text": f"Point number {n} on fisheries."},
                namespace=NS,
                callback=True,
            )
        )
    assert [a["ok"] for a in acks[:30]] == [True] * 30, [a for a in acks if not a["ok"]][:1]
    assert acks[30] == {"ok": False, "error": acks[30]["error"], "code": "rate_limited"}
    # The budget is the form's own: the page refuses the next message too.
    token = csrf_from(client, f"/hearings/{hearing_id}")
    assert (
        client.post(f"/hearings/{hearing_id}/messages", data={"text": "One more.", "csrf_token": token}).status_code
        == 429
    )
    sock.disconnect(namespace=NS)


def test_behind_a_configured_proxy_the_forwarded_address_is_the_client():
    """create_app's register_proxy, on a bare app (a second create_app would rebind the socket server)."""
    from flask import Flask, request

    from agora import register_proxy

    for hops, expected in ((1, "203.0.113.9"), (0, "127.0.0.1")):
        other = Flask("proxied")
        other.config["PROXY_HOPS"] = hops
        register_proxy(other)
        other.add_url_rule("/_address", "address", lambda: f"{request.remote_addr} {request.host}")
        # The client's own X-Forwarded-For (first) is not believed; the proxy's entry (last) is.
        headers = {"X-Forwarded-For": "198.51.100.1, 203.0.113.9", "X-Forwarded-Host": "evil.example"}
        response = other.test_client().get("/_address", headers=headers, environ_base={"REMOTE_ADDR": "127.0.0.1"})
        assert response.get_data(as_text=True) == f"{expected} localhost"
