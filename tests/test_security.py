"""Account security and privacy: sessions, lockout, weak passwords, two-factor, export, deletion."""

import time

import pyotp

from agora.extensions import db
from agora.models import Submission, User, Vote
from tests.conftest import civic_statements, csrf_from, login


def _post(client, url, data=None, page="/account/security"):
    return client.post(url, data={**(data or {}), "csrf_token": csrf_from(client, page)})


def test_sign_in_starts_a_fresh_session(app, client, make):
    make.user(email="f@example.org")
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
    login(client, "f@example.org")
    with client.session_transaction() as sess:
        assert "planted" not in sess and sess.permanent


def test_sign_out_everywhere_ends_other_sessions(app, make):
    make.user(email="e@example.org")
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, "e@example.org")
    login(phone, "e@example.org")
    assert phone.get("/account/profile").status_code == 200
    assert _post(laptop, "/account/security/sign-out-everywhere").status_code == 302
    assert phone.get("/account/profile").status_code == 302
    assert laptop.get("/account/profile").status_code == 302


def test_password_change_ends_other_sessions_but_keeps_this_one(app, make):
    make.user(email="p@example.org")
    here, elsewhere = app.test_client(), app.test_client()
    login(here, "p@example.org")
    login(elsewhere, "p@example.org")
    response = _post(
        here,
        "/account/security/password",
        {"current_password": "correct horse battery", "new_password": "violet lantern orbit 42"},
    )
    assert response.status_code == 303
    assert here.get("/account/profile").status_code == 200
    assert elsewhere.get("/account/profile").status_code == 302
    login(app.test_client(), "p@example.org", "violet lantern orbit 42")


def test_weak_and_common_passwords_are_refused(client):
    token = csrf_from(client, "/account/register")
    for weak in ("password123", "qwertyuiop12", "aaaaaaaaaaaa"):
        response = client.post(
            "/account/register",
            data={
                "display_name": "W",
                "email": "w@example.org",
                "password": weak,
                "confirm": weak,
                "csrf_token": token,
            },
        )
        assert response.status_code == 422, weak
    with client.application.app_context():
        assert db.session.query(User).count() == 0


def test_idle_session_expires(app, make):
    make.user(email="idle@example.org")
    client = app.test_client()
    login(client, "idle@example.org")
    lifetime = app.permanent_session_lifetime
    app.permanent_session_lifetime = 1
    try:
        time.sleep(2.1)
        assert client.get("/account/profile").status_code == 302
    finally:
        app.permanent_session_lifetime = lifetime


def test_two_factor_setup_and_sign_in(app, client, make):
    make.user(email="mod@example.org", role="moderator")
    login(client, "mod@example.org")
    page = client.get("/account/security/two-factor").get_data(as_text=True)
    assert "<svg" in page
    with client.session_transaction() as sess:
        secret = sess["totp_setup"]
    wrong = _post(client, "/account/security/two-factor", {"code": "000000"}, page="/account/security/two-factor")
    assert wrong.status_code == 422
    assert (
        _post(
            client,
            "/account/security/two-factor",
            {"code": pyotp.TOTP(secret).now()},
            page="/account/security/two-factor",
        ).status_code
        == 302
    )

    fresh = app.test_client()
    token = csrf_from(fresh)
    step_one = fresh.post(
        "/account/login", data={"email": "mod@example.org", "password": "correct horse battery", "csrf_token": token}
    )
    assert step_one.status_code == 302 and step_one.headers["Location"].endswith("/account/login/code")
    assert fresh.get("/moderation/").status_code == 302  # not signed in yet
    bad = fresh.post(
        "/account/login/code", data={"code": "123456", "csrf_token": csrf_from(fresh, "/account/login/code")}
    )
    assert bad.status_code == 401
    good = fresh.post(
        "/account/login/code",
        data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_from(fresh, "/account/login/code")},
    )
    assert good.status_code == 302
    assert fresh.get("/moderation/").status_code == 200


def test_export_contains_my_data(app, signed_in, make):
    cid = make.consultation()
    text = civic_statements(1)[0]
    make.submission(cid, signed_in.user_id, text)
    data = signed_in.get("/account/security/export").get_json()
    assert data["account"]["email"] == "participant@example.org"
    assert [s["text"] for s in data["submissions"]] == [text]


def test_deleted_account_is_anonymised_and_its_views_and_votes_stay(app, signed_in, make):
    cid = make.consultation()
    texts = civic_statements(2)
    mine = make.submission(cid, signed_in.user_id, texts[0])
    other = make.submission(cid, make.user(), texts[1])
    from agora.services.participation import submissions

    with app.app_context():
        submissions.vote(other, db.session.get(User, signed_in.user_id), "agree")
    refused = _post(signed_in, "/account/security/delete", {"password": "wrong one", "confirm": "y"})
    assert refused.status_code == 303
    assert (
        _post(signed_in, "/account/security/delete", {"password": "correct horse battery", "confirm": "y"}).status_code
        == 302
    )
    with app.app_context():
        user = db.session.get(User, signed_in.user_id)
        assert user.email is None and user.password_hash is None and user.display_name == "Deleted participant"
        assert db.session.get(Submission, mine).author_id is None
        assert db.session.get(Submission, mine).state == "published"
        assert db.session.get(Submission, other).agree_count == 1 and db.session.query(Vote).count() == 1
    token = csrf_from(signed_in)
    response = signed_in.post(
        "/account/login",
        data={"email": "participant@example.org", "password": "correct horse battery", "csrf_token": token},
    )
    assert response.status_code == 401


def test_new_accounts_have_a_stricter_submission_limit(app, signed_in, make):
    cid = make.consultation()
    slug = make.slug(cid)
    statuses = []
    for text in civic_statements(4):
        token = csrf_from(signed_in, f"/consultations/{slug}")
        statuses.append(
            signed_in.post(f"/consultations/{slug}/submissions", data={"text": text, "csrf_token": token}).status_code
        )
    assert statuses == [302, 302, 302, 429]


def _copy_cookies(source, names=("session", "remember_token")):
    """A second browser holding copies of the first one's cookies (as a thief would)."""
    thief = source.application.test_client()
    for name in names:
        cookie = source.get_cookie(name)
        if cookie is not None:
            thief.set_cookie(name, cookie.value)
    return thief


def test_sign_out_ends_the_session_on_the_server(app, make):
    """A copy of the session cookie taken before signing out must not work afterwards."""
    make.user(email="copy@example.org")
    browser = app.test_client()
    login(browser, "copy@example.org")
    thief = _copy_cookies(browser, ("session",))
    assert thief.get("/account/profile").status_code == 200  # the copy works while signed in
    assert browser.post("/account/logout", data={"csrf_token": csrf_from(browser, "/")}).status_code == 302
    assert thief.get("/account/profile").status_code == 302
    assert browser.get("/account/profile").status_code == 302


def test_sign_out_ends_a_copied_remember_me_cookie_and_only_this_session(app, make):
    make.user(email="remember@example.org")
    browser, phone = app.test_client(), app.test_client()
    token = csrf_from(browser, "/account/login")
    browser.post(
        "/account/login",
        data={
            "email": "remember@example.org",
            "password": "correct horse battery",
            "remember": "y",
            "csrf_token": token,
        },
    )
    login(phone, "remember@example.org")
    assert browser.get_cookie("remember_token") is not None
    thief = _copy_cookies(browser, ("remember_token",))  # no session cookie: remember-me signs in
    assert thief.get("/account/profile").status_code == 200
    thief = _copy_cookies(browser, ("remember_token",))
    browser.post("/account/logout", data={"csrf_token": csrf_from(browser, "/")})
    assert thief.get("/account/profile").status_code == 302
    assert phone.get("/account/profile").status_code == 200  # signing out here is not signing out everywhere


def _attempt(client, email, password, address):
    token = csrf_from(client, "/account/login")
    return client.post(
        "/account/login",
        data={"email": email, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
    )


def _error_text(response):
    import re

    return re.findall(r'class="[^"]*error[^"]*"[^>]*>([^<]+)<', response.get_data(as_text=True))


def test_failed_sign_ins_answer_alike_for_known_and_unknown_accounts(app, make):
    """The lockout was an oracle: a real account answered 429 "locked", an unknown email 401."""
    make.user(email="real@example.org")
    answers = {}
    for n, email in enumerate(("real@example.org", "nobody-here@example.org")):
        client = app.test_client()
        address = f"198.51.100.{n + 1}"
        statuses = [_attempt(client, email, "wrong password!", address).status_code for _ in range(5)]
        last = _attempt(client, email, "wrong password!", address)
        answers[email] = (statuses, last.status_code, _error_text(last))
    assert answers["real@example.org"] == answers["nobody-here@example.org"]
    assert answers["real@example.org"][:2] == ([401] * 5, 429)


def test_an_attacker_cannot_keep_the_owner_out(app, make):
    """Failures from one address throttle that address for that account, not the account."""
    make.user(email="secretariat@example.org")
    attacker, owner = app.test_client(), app.test_client()
    assert [
        _attempt(attacker, "secretariat@example.org", "guess number one", "203.0.113.66").status_code for _ in range(5)
    ] == [401] * 5
    assert _attempt(attacker, "secretariat@example.org", "correct horse battery", "203.0.113.66").status_code == 429
    assert _attempt(owner, "secretariat@example.org", "correct horse battery", "192.0.2.10").status_code == 302
    # The owner's own mistakes are forgiven by signing in: the count starts afresh.
    owner = app.test_client()
    assert [
        _attempt(owner, "secretariat@example.org", "typo typo typo", "192.0.2.10").status_code for _ in range(4)
    ] == [401] * 4
    assert _attempt(owner, "secretariat@example.org", "correct horse battery", "192.0.2.10").status_code == 302
    assert _attempt(app.test_client(), "secretariat@example.org", "typo typo typo", "192.0.2.10").status_code == 401


def test_one_address_trying_many_accounts_is_throttled(app):
    from agora.services.accounts import accounts

    with app.test_request_context("/account/login"):
        for n in range(30):
            assert accounts.authenticate(f"spray{n}@example.org", "Summer2026!", client="203.0.113.7") is None
        try:
            accounts.authenticate("spray-last@example.org", "Summer2026!", client="203.0.113.7")
        except accounts.AgoraError as error:
            assert error.status == 429
        else:
            raise AssertionError("the 31st failure from one address in an hour was not throttled")
        assert accounts.authenticate("spray-last@example.org", "Summer2026!", client="192.0.2.99") is None


def test_new_accounts_have_the_stricter_limit_through_the_api_too(app, make):
    """The red team's case: bearer-token calls counted as anonymous, so the new-account limit never
    applied to the API. A day-old account's token gets 3 views a minute; an older account's 10."""
    from datetime import timedelta

    from agora.models._base import utcnow
    from agora.services.accounts import accounts

    cid = make.consultation()
    new_id, old_id = make.user(email="new@example.org"), make.user(email="old@example.org")
    with app.app_context():
        db.session.get(User, old_id).created_at = utcnow() - timedelta(days=2)
        db.session.commit()
        secrets = {
            name: accounts.create_token(db.session.get(User, uid), "api")[1]
            for name, uid in (("new", new_id), ("old", old_id))
        }
    texts = iter(civic_statements(10))
    statuses = {}
    for name, secret in secrets.items():
        client = app.test_client()
        statuses[name] = [
            client.post(
                f"/api/v1/consultations/{cid}/submissions",
                json={"text": next(texts)},
                headers={"Authorization": f"Bearer {secret}"},
            ).status_code
            for _ in range(4 if name == "new" else 5)
        ]
    assert statuses == {"new": [201, 201, 201, 429], "old": [201] * 5}
