"""Profiles are used in aggregate only: no page or API response shows a participant's
constituency next to their name unless they chose "Show my constituency with my views"; the
speakers' queue, where a speaker states the constituency they speak for, is unchanged."""

import pytest

from agora.extensions import db
from agora.models import Hearing, User
from agora.services import hearings
from tests.conftest import csrf_from, login

PRIVATE = "The fisheries quota should be shared with coastal communities first."
PUBLIC = "Workers on the boats need a say in how the quota is enforced."
PRIVATE_MSG = "Our communities depend on these reefs for food, not for tourism."
PUBLIC_MSG = "Union members will help monitor the closed seasons."


@pytest.fixture
def world(app, make):
    cid = make.consultation()
    private = make.user(email="amina@example.org", name="Amina W.", constituency="indigenous_peoples", country="KE")
    public = make.user(email="joe@example.org", name="Joe T.", constituency="trade_union", country="FR")
    chair = make.user(email="chair@example.org", name="Chair")
    with app.app_context():
        db.session.get(User, public).show_constituency = True
        db.session.commit()
        hearing = hearings.create(cid, "Review of SDG 14")
        hearings.appoint_chair(hearing, db.session.get(User, chair), None)
        hearings.open_hearing(hearing, db.session.get(User, chair))
        hearing_id = hearing.id
    make.submission(cid, private, PRIVATE)
    make.submission(cid, public, PUBLIC)
    with app.app_context():
        hearing = db.session.get(Hearing, hearing_id)
        hearings.post_message(hearing, db.session.get(User, private), PRIVATE_MSG)
        hearings.post_message(hearing, db.session.get(User, public), PUBLIC_MSG)
    return cid, make.slug(cid), hearing_id


def _meta_of(html: str, text: str) -> str:
    """The view or message's own list item (its text and the line naming its author)."""
    start = html.rindex("<li", 0, html.index(text))
    return html[start : html.index("</li>", start)]


def test_pages_show_a_constituency_only_where_its_author_chose_so(app, client, world):
    cid, slug, hearing_id = world
    consultation = client.get(f"/consultations/{slug}").get_data(as_text=True)
    private, public = _meta_of(consultation, PRIVATE), _meta_of(consultation, PUBLIC)
    assert "Amina W." in private and "Indigenous peoples" not in private
    assert "Joe T." in public and "Trade union" in public
    for url in (f"/hearings/{hearing_id}", f"/hearings/{hearing_id}/transcript"):
        page = client.get(url).get_data(as_text=True)
        private, public = _meta_of(page, PRIVATE_MSG), _meta_of(page, PUBLIC_MSG)
        assert "Amina W." in private and "Indigenous peoples" not in private, url
        assert "Joe T." in public and "Trade union" in public, url


def test_the_api_and_live_messages_show_a_constituency_only_where_its_author_chose_so(app, client, world):
    cid, slug, hearing_id = world
    items = client.get(f"/api/v1/consultations/{cid}/submissions").get_json()["items"]
    by_author = {i["author"]: i for i in items}
    assert (by_author["Amina W."]["constituency"], by_author["Amina W."]["region"]) == (None, None)
    assert (by_author["Joe T."]["constituency"], by_author["Joe T."]["region"]) == ("trade_union", "Europe")
    # filtering by a constituency cannot single out those who did not show theirs
    hidden = client.get(f"/api/v1/consultations/{cid}/submissions?constituency=indigenous_peoples").get_json()["items"]
    shown = client.get(f"/api/v1/consultations/{cid}/submissions?constituency=trade_union").get_json()["items"]
    assert hidden == [] and [i["author"] for i in shown] == ["Joe T."]
    with app.app_context():
        hearing = db.session.get(Hearing, hearing_id)
        # what a (re)joining client is sent (hearings.replay reads these rows)
        rows = db.session.execute(hearings.messages._MISSED, {"hearing_id": hearing.id, "last_id": 0}).all()
        messages = {m["author"]: m for m in map(hearings.payloads._row_payload, rows)}
        from agora.models import Submission

        live = [hearings.message_payload(s) for s in db.session.query(Submission).filter_by(hearing_id=hearing_id)]
    assert (messages["Amina W."]["constituency"], messages["Amina W."]["constituency_label"]) == (None, None)
    assert messages["Joe T."]["constituency"] == "trade_union"
    assert {m["author"]: m["constituency"] for m in live} == {"Amina W.": None, "Joe T.": "trade_union"}


def test_the_choice_is_made_in_the_profile_and_the_speakers_queue_is_unchanged(app, client, world):
    cid, slug, hearing_id = world
    login(client, "amina@example.org")
    profile = client.get("/account/profile").get_data(as_text=True)
    assert (
        'name="show_constituency"' in profile and "checked" not in profile.split('name="show_constituency"')[0][-200:]
    )
    data = {
        "display_name": "Amina W.",
        "constituency": "indigenous_peoples",
        "country": "KE",
        "show_constituency": "y",
        "csrf_token": csrf_from(client, "/account/profile"),
    }
    assert client.post("/account/profile", data=data).status_code == 302
    assert "Indigenous peoples" in _meta_of(client.get(f"/consultations/{slug}").get_data(as_text=True), PRIVATE)
    del data["show_constituency"]
    data["csrf_token"] = csrf_from(client, "/account/profile")
    assert client.post("/account/profile", data=data).status_code == 302
    assert "Indigenous peoples" not in _meta_of(client.get(f"/consultations/{slug}").get_data(as_text=True), PRIVATE)
    with app.app_context():  # a speaker states the constituency they speak for: shown in the queue as before
        hearing = db.session.get(Hearing, hearing_id)
        hearings.request_floor(
            hearing,
            db.session.get(User, db.session.query(User).filter_by(display_name="Amina W.").one().id),
            "indigenous_peoples",
            "reefs",
        )
        queue = hearings.state_payload(hearing)["queue"]
    assert [(r["name"], r["constituency"]) for r in queue] == [("Amina W.", "indigenous_peoples")]
