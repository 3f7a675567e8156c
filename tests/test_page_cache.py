"""Anonymous readers share a rendering of public pages; nobody sees a page older than a write made here."""

import time
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, event, text

from agora.extensions import db
from agora.models import User
from agora.services import moderation
from tests.conftest import login

VIEW = "Small island states need direct access to adaptation finance, without intermediaries."


@contextmanager
def queries(app):
    """Counts the SQL statements the app runs inside the block."""
    seen = []
    with app.app_context():
        engine = db.engine

    def count(*_args):
        seen.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


@pytest.fixture
def page(make):
    cid = make.consultation()
    return cid, f"/consultations/{make.slug(cid)}"


def test_anonymous_readers_share_one_rendering_without_a_cookie(client, app, page):
    _cid, url = page
    first = client.get(url)
    assert first.status_code == 200 and "Set-Cookie" not in first.headers
    with queries(app) as seen:
        again = app.test_client().get(url)
    assert again.status_code == 200 and again.data == first.data
    assert not seen, "a second anonymous reader's page was rendered again"
    assert again.headers["Content-Security-Policy"] and again.headers["Cache-Control"] == "no-cache"


def test_a_view_published_here_reaches_anonymous_readers_at_once(client, app, make, page):
    cid, url = page
    assert VIEW not in client.get(url).get_data(as_text=True)
    author = make.user(email="author@example.org")
    writer = app.test_client()
    login(writer, "author@example.org")
    token = writer.get(url).get_data(as_text=True).split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert writer.post(f"{url}/submissions", data={"text": VIEW, "csrf_token": token}).status_code == 302
    assert VIEW in client.get(url).get_data(as_text=True)

    # flagged, then hidden by a moderator in this process: gone for anonymous readers at once
    moderator = make.user(email="moderator@example.org", role="moderator")
    with app.app_context():
        submission_id = db.session.scalar(text("SELECT id FROM submissions WHERE author_id = :a"), {"a": author})
        moderation.flag(db.session.get(User, moderator), submission_id, "abuse")
        moderation.decide(db.session.get(User, moderator), submission_id, "hide", "abuse")
    assert VIEW not in client.get(url).get_data(as_text=True)


def test_signed_in_readers_never_get_the_shared_page(client, app, make, page):
    _cid, url = page
    client.get(url)  # stored for anonymous readers
    make.user(email="reader@example.org")
    reader = app.test_client()
    login(reader, "reader@example.org")
    html = reader.get(url).get_data(as_text=True)
    assert 'name="csrf_token"' in html and "Sign out" in html


def test_each_language_has_its_own_page(client, page):
    _cid, url = page
    english = client.get(url, headers={"Accept-Language": "en"}).get_data(as_text=True)
    french = client.get(url, headers={"Accept-Language": "fr"}).get_data(as_text=True)
    arabic = client.get(url, headers={"Accept-Language": "ar"}).get_data(as_text=True)
    assert 'lang="en"' in english and 'lang="fr"' in french and 'dir="rtl"' in arabic


def test_a_write_by_another_process_shows_within_the_configured_time(client, app, make, page):
    cid, url = page
    author = make.user()
    make.submission(cid, author, VIEW)
    app.config["PAGE_CACHE_SECONDS"] = 1
    try:
        assert VIEW in client.get(url).get_data(as_text=True)
        other_process = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])  # its commits are not this process's
        with other_process.begin() as connection:
            connection.execute(text("UPDATE submissions SET state = 'hidden' WHERE consultation_id = :c"), {"c": cid})
        other_process.dispose()
        time.sleep(1.1)
        assert VIEW not in client.get(url).get_data(as_text=True)
    finally:
        app.config["PAGE_CACHE_SECONDS"] = 5


def test_turned_off_every_page_is_rendered(client, app, page):
    _cid, url = page
    app.config["PAGE_CACHE_SECONDS"] = 0
    try:
        client.get(url)
        with queries(app) as seen:
            client.get(url)
        assert seen
    finally:
        app.config["PAGE_CACHE_SECONDS"] = 5


def test_viewers_of_a_live_hearing_share_its_page_and_see_each_new_message(client, app, make):
    from agora.models import Hearing
    from agora.services import hearings

    chair = make.user(email="chair@example.org", name="Chair")
    speaker = make.user(email="speaker@example.org", name="Speaker")
    with app.app_context():
        hearing = hearings.create(make.consultation(), "Review of SDG 14")
        hearings.appoint_chair(hearing, db.session.get(User, chair), None)
        hearings.open_hearing(hearing, db.session.get(User, chair))
        hearing_id = hearing.id
    url = f"/hearings/{hearing_id}"
    first = client.get(url)
    assert first.status_code == 200 and "Set-Cookie" not in first.headers
    assert 'data-csrf=""' in first.get_data(as_text=True)  # nothing to post with before signing in
    with queries(app) as seen:
        assert app.test_client().get(url).data == first.data
    assert not seen

    message = "Fisheries subsidies reform must protect small-scale fishers first."
    with app.app_context():
        hearings.post_message(db.session.get(Hearing, hearing_id), db.session.get(User, speaker), message)
    assert message in client.get(url).get_data(as_text=True)

    # a signed-in participant's page has the message form and the token the socket connect needs
    participant = app.test_client()
    login(participant, "speaker@example.org")
    html = participant.get(url).get_data(as_text=True)
    assert 'id="message-form"' in html and 'data-csrf=""' not in html
