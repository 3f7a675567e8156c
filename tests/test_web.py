"""The public's pages: browse, register, sign in, submit a view, vote; and their bad input."""

import re

from markupsafe import escape

from agora.extensions import db
from agora.models import Submission, User, Vote
from tests.conftest import civic_statements, csrf_from, login

CIVIC = "Our town needs safer bicycle lanes and more frequent buses to the hospital."


def test_home_lists_public_consultations_but_not_drafts(client, make):
    make.consultation("Ocean governance", status="open")
    make.consultation("Secret draft", status="draft")
    make.consultation("Finished review", status="closed")
    html = client.get("/").get_data(as_text=True)
    assert "Ocean governance" in html and "Finished review" in html
    assert "Secret draft" not in html


def test_consultation_list_filters_by_status(client, make):
    make.consultation("Ocean governance", status="open")
    make.consultation("Finished review", status="closed")
    html = client.get("/consultations/?status=closed").get_data(as_text=True)
    assert "Finished review" in html and "Ocean governance" not in html


def test_draft_and_unknown_consultations_are_404(client, make):
    cid = make.consultation("Secret draft", status="draft")
    assert client.get(f"/consultations/{make.slug(cid)}").status_code == 404
    response = client.get("/consultations/no-such-thing")
    assert response.status_code == 404
    assert "There is no consultation at this address." in response.get_data(as_text=True)


def test_register_sign_in_and_sign_out(client, app):
    token = csrf_from(client, "/account/register")
    response = client.post(
        "/account/register",
        data={
            "display_name": "Amina",
            "email": "Amina@Example.org",
            "password": "a long enough secret",
            "confirm": "a long enough secret",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    assert "Amina" in client.get("/account/profile").get_data(as_text=True)
    with app.app_context():
        user = db.session.query(User).filter_by(email="amina@example.org").one()
        assert user.password_hash.startswith("scrypt:") and "a long enough secret" not in user.password_hash
    client.post("/account/logout", data={"csrf_token": csrf_from(client, "/")})
    assert client.get("/account/profile").status_code == 302
    login(client, "amina@example.org", "a long enough secret")


def test_register_refuses_short_password_and_duplicate_email(client, make):
    make.user(email="taken@example.org")
    token = csrf_from(client, "/account/register")
    short = client.post(
        "/account/register",
        data={
            "display_name": "A",
            "email": "a@example.org",
            "password": "short",
            "confirm": "short",
            "csrf_token": token,
        },
    )
    assert short.status_code == 422
    taken = client.post(
        "/account/register",
        data={
            "display_name": "B",
            "email": "taken@example.org",
            "password": "another long secret",
            "confirm": "another long secret",
            "csrf_token": token,
        },
    )
    assert taken.status_code == 409
    assert "already exists" in taken.get_data(as_text=True)


def test_wrong_password_is_refused(client, make):
    make.user(email="p@example.org")
    token = csrf_from(client)
    response = client.post(
        "/account/login", data={"email": "p@example.org", "password": "wrong password!", "csrf_token": token}
    )
    assert response.status_code == 401
    assert "not right" in response.get_data(as_text=True)


def _submit(client, slug, text):
    token = csrf_from(client, f"/consultations/{slug}")
    return client.post(f"/consultations/{slug}/submissions", data={"text": text, "csrf_token": token})


def test_participant_submits_a_view_and_sees_it_published(signed_in, make, app):
    cid = make.consultation()
    slug = make.slug(cid)
    response = _submit(signed_in, slug, CIVIC)
    assert response.status_code == 302
    page = signed_in.get(f"/consultations/{slug}").get_data(as_text=True)
    assert "your view is published" in page
    assert CIVIC in page
    with app.app_context():
        submission = db.session.query(Submission).one()
        assert submission.state == "published" and submission.channel == "web"
        assert submission.abuse_score is not None and submission.model_version


def test_submitted_html_is_shown_as_text(signed_in, make):
    cid = make.consultation()
    slug = make.slug(cid)
    _submit(signed_in, slug, "Please fund libraries <script>alert('x')</script> <b>now</b>")
    page = signed_in.get(f"/consultations/{slug}").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;" in page


def test_profile_snapshot_is_kept_on_each_submission(signed_in, make, app):
    cid = make.consultation()
    token = csrf_from(signed_in, "/account/profile")
    signed_in.post(
        "/account/profile",
        data={
            "display_name": "P",
            "constituency": "ngo",
            "country": "KE",
            "gender": "woman",
            "languages": "sw, en",
            "locale": "",
            "csrf_token": token,
        },
    )
    _submit(signed_in, make.slug(cid), CIVIC)
    token = csrf_from(signed_in, "/account/profile")
    signed_in.post(
        "/account/profile",
        data={
            "display_name": "P",
            "constituency": "academia",
            "country": "FR",
            "gender": "",
            "languages": "",
            "locale": "",
            "csrf_token": token,
        },
    )
    with app.app_context():
        submission = db.session.query(Submission).one()
        assert (
            submission.constituency,
            submission.country,
            submission.region,
            submission.global_south,
            submission.gender,
        ) == ("ngo", "KE", "Africa", True, "woman")
        assert db.session.get(User, signed_in.user_id).constituency == "academia"


def test_unknown_country_in_profile_is_refused(signed_in):
    token = csrf_from(signed_in, "/account/profile")
    response = signed_in.post("/account/profile", data={"display_name": "P", "country": "XX", "csrf_token": token})
    assert response.status_code == 422


def test_bad_submissions_get_clear_errors_and_store_nothing(signed_in, make, app):
    cid = make.consultation()
    slug = make.slug(cid)
    empty = _submit(signed_in, slug, "   ")
    assert empty.status_code == 422 and "Please write something" in empty.get_data(as_text=True)
    huge = _submit(signed_in, slug, "word " * 1200)
    assert huge.status_code == 413 and "the limit is 5,000" in huge.get_data(as_text=True)
    no_csrf = signed_in.post(f"/consultations/{slug}/submissions", data={"text": CIVIC})
    assert no_csrf.status_code == 400 and "did not come from this site" in no_csrf.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Submission).count() == 0


def test_closed_consultation_refuses_views(signed_in, make, app):
    cid = make.consultation(status="closed")
    response = _submit(signed_in, make.slug(cid), CIVIC)
    assert response.status_code == 409
    assert "closed" in response.get_data(as_text=True)


def test_anonymous_visitor_is_sent_to_sign_in(client, make):
    cid = make.consultation()
    slug = make.slug(cid)
    token = csrf_from(client, "/account/login")
    response = client.post(f"/consultations/{slug}/submissions", data={"text": CIVIC, "csrf_token": token})
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]


def _vote(client, slug, submission_id, choice):
    token = csrf_from(client, f"/consultations/{slug}")
    return client.post(
        f"/consultations/{slug}/submissions/{submission_id}/vote", data={"vote": choice, "csrf_token": token}
    )


def test_voting_twice_changes_the_vote_and_never_duplicates(signed_in, make, app):
    cid = make.consultation()
    slug = make.slug(cid)
    author = make.user()
    sid = make.submission(cid, author, CIVIC)
    assert _vote(signed_in, slug, sid, "agree").status_code == 302
    assert _vote(signed_in, slug, sid, "disagree").status_code == 302
    with app.app_context():
        assert db.session.query(Vote).count() == 1
        submission = db.session.get(Submission, sid)
        assert (submission.agree_count, submission.disagree_count) == (0, 1)
    page = signed_in.get(f"/consultations/{slug}").get_data(as_text=True)
    assert re.search(r'value="disagree" class="vote disagree" aria-pressed="true"', page)


def test_bad_votes(signed_in, make, app):
    cid = make.consultation()
    slug = make.slug(cid)
    sid = make.submission(cid, make.user(), CIVIC)
    assert _vote(signed_in, slug, sid, "maybe").status_code == 422
    assert _vote(signed_in, slug, 999999, "agree").status_code == 404
    other = make.consultation("Another one")
    assert _vote(signed_in, make.slug(other), sid, "agree").status_code == 404
    with app.app_context():
        assert db.session.query(Vote).count() == 0


def test_views_paginate_and_sort_by_agreement(client, make, app):
    cid = make.consultation()
    slug = make.slug(cid)
    texts = civic_statements(25)
    ids = [make.submission(cid, make.user(), text) for text in texts]
    with app.app_context():
        # The screen may hold a civic statement (≤ 2 % are: here an all-caps one about immigrants);
        # this test is about pages and order, so every one is published.
        held = [s for s in db.session.query(Submission) if s.state != "published"]
        assert len(held) <= 1
        for submission in held:
            submission.state = "published"
        db.session.get(Submission, ids[3]).agree_count = 50
        db.session.commit()
    first = client.get(f"/consultations/{slug}").get_data(as_text=True)
    assert escape(texts[24]) in first and escape(texts[0]) not in first
    assert "Page 1 of 2" in first
    second = client.get(f"/consultations/{slug}?page=2").get_data(as_text=True)
    assert escape(texts[0]) in second
    agreed = client.get(f"/consultations/{slug}?sort=agreed").get_data(as_text=True)
    assert agreed.index(escape(texts[3])) < agreed.index(escape(texts[24]))


def test_pages_send_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_session_cookie_is_http_only(client, make):
    make.user(email="c@example.org")
    response = login(client, "c@example.org")
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_sign_in_is_rate_limited_per_ip(client, make):
    token = csrf_from(client)
    statuses = [
        client.post(
            "/account/login",
            data={"email": f"nobody{i}@example.org", "password": "wrong password!", "csrf_token": token},
        ).status_code
        for i in range(12)
    ]
    assert statuses[:10] == [401] * 10
    assert statuses[-1] == 429


def test_admin_pages_are_for_admins_only(client, make, app):
    make.user(email="someone@example.org")
    login(client, "someone@example.org")
    assert client.get("/admin/").status_code == 403
    assert client.get("/admin/consultations/new").status_code == 403


def test_admin_creates_a_consultation_and_assigns_a_moderator(client, make, app):
    make.user(email="admin@example.org", role="admin")
    make.user(email="mod@example.org")
    login(client, "admin@example.org")
    token = csrf_from(client, "/admin/consultations/new")
    response = client.post(
        "/admin/consultations/new",
        data={
            "title": "Deep-sea mining",
            "summary": "Should it be paused?",
            "briefing_html": "<p>Read <a href='https://isa.org.jm'>this</a></p><script>x</script>",
            "stage": "conference",
            "status": "open",
            "forum": "ISA Assembly",
            "languages": "en,fr",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    page = client.get("/consultations/deep-sea-mining").get_data(as_text=True)
    assert "Deep-sea mining" in page and "ISA Assembly" in page and "<script>x" not in page
    token = csrf_from(client, "/admin/roles")
    assert (
        client.post(
            "/admin/roles",
            data={"email": "mod@example.org", "role": "moderator", "consultation_id": "", "csrf_token": token},
        ).status_code
        == 302
    )
    from agora import permissions

    with app.app_context():
        assert permissions.can_moderate(db.session.query(User).filter_by(email="mod@example.org").one(), 1)


def test_admin_form_refuses_closing_before_opening(client, make):
    make.user(email="admin@example.org", role="admin")
    login(client, "admin@example.org")
    token = csrf_from(client, "/admin/consultations/new")
    response = client.post(
        "/admin/consultations/new",
        data={
            "title": "T",
            "stage": "conference",
            "status": "open",
            "opens_at": "2026-05-01T10:00",
            "closes_at": "2026-04-01T10:00",
            "csrf_token": token,
        },
    )
    assert response.status_code == 422 and "closing date must be after" in response.get_data(as_text=True)


def test_health_endpoints(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"]["database"] == "ok"


def test_a_consultation_closes_by_itself_on_its_closing_date_and_opens_on_its_opening_date(client, make, app):
    from datetime import datetime, timedelta

    from agora.services.accounts import accounts

    now = datetime.utcnow()
    past = make.consultation(
        title="Past its closing date", opens_at=now - timedelta(days=30), closes_at=now - timedelta(days=1)
    )
    future = make.consultation(
        title="Not open yet", opens_at=now + timedelta(days=2), closes_at=now + timedelta(days=30)
    )
    current = make.consultation(title="Open now", opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=30))
    with app.app_context():
        secret = accounts.create_token(db.session.get(User, make.user()), "tests")[1]
    headers = {"Authorization": f"Bearer {secret}"}
    answers = {
        cid: client.post(
            f"/api/v1/consultations/{cid}/submissions",
            json={"text": "Clean water for every school, please."},
            headers=headers,
        )
        for cid in (past, future, current)
    }
    assert answers[past].status_code == 409 and answers[past].get_json()["error"]["code"] == "closed"
    assert answers[future].status_code == 409 and "not open yet" in answers[future].get_json()["error"]["message"]
    assert answers[current].status_code == 201
    assert "Closed " in client.get(f"/consultations/{make.slug(past)}").get_data(as_text=True)
    assert "Opens " in client.get(f"/consultations/{make.slug(future)}").get_data(as_text=True)
    assert "Closes " in client.get(f"/consultations/{make.slug(current)}").get_data(as_text=True)


def test_a_consultation_not_yet_open_says_so_and_does_not_say_it_is_closed(client, make):
    """A participant who comes early is told when to come back, not that they missed it: on the
    page, on the voting card, in their language."""
    from datetime import datetime, timedelta

    now = datetime.utcnow()
    slug = make.slug(make.consultation(title="Not open yet", opens_at=now + timedelta(days=2)))
    for path in (f"/consultations/{slug}", f"/consultations/{slug}/vote"):
        html = client.get(path).get_data(as_text=True)
        assert "This consultation is not open yet" in html, path
        assert "This consultation is closed" not in html, path
        french = client.get(path + "?lang=fr").get_data(as_text=True)
        assert "pas encore ouverte" in french and "est close" not in french, path


def test_pages_may_open_websockets_to_this_site_only(client, app, monkeypatch):
    """connect-src allowed 'ws: wss:', i.e. a WebSocket to any host (a way out for injected script)."""

    def connect_src(response):
        directives = dict(d.strip().split(" ", 1) for d in response.headers["Content-Security-Policy"].split(";"))
        return directives["connect-src"].split()

    sources = connect_src(client.get("/"))
    assert "ws:" not in sources and "wss:" not in sources and "*" not in sources
    assert sources == ["'self'", "ws://localhost", "wss://localhost"]
    # A Host header that is not a host name adds nothing (it cannot inject directives).
    assert connect_src(client.get("/", headers={"Host": "x; script-src *"})) == ["'self'"]
    monkeypatch.setitem(app.config, "CORS_ORIGINS", ["https://hearings.example.org"])
    assert connect_src(client.get("/"))[3:] == ["https://hearings.example.org", "wss://hearings.example.org"]
