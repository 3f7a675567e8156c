"""Live hearings in-process: the service (queue, rotation, slow mode, replay, retract), the socket
namespace through Flask-SocketIO's test client (auth, CSRF, roles, bad input), and the pages
without JavaScript."""

import re
from datetime import timedelta

import pytest

from agora.extensions import db, socketio
from agora.models import Hearing, SpeakerRequest, Submission, User
from agora.services import hearings
from agora.services.reporting import reports
from tests.conftest import csrf_from, login
from tests.hearing_messages import MESSAGES as HEARING_MESSAGES

NS = "/hearing"


@pytest.fixture(autouse=True)
def _emit_at_once(app):
    """Frames are emitted at once in-process (the batcher's timing is tested on a real server)."""
    app.config["HEARING_BATCH_SECONDS"] = 0
    yield
    app.config.pop("HEARING_BATCH_SECONDS", None)
    hearings.presence._local.clear()


@pytest.fixture
def setup(app, make):
    consultation_id = make.consultation()
    chair_id = make.user(email="chair@example.org", name="Chair")
    with app.app_context():
        hearing = hearings.create(consultation_id, "Review of SDG 14")
        hearings.appoint_chair(hearing, db.session.get(User, chair_id), None)
        hearing_id = hearing.id
    return {"consultation_id": consultation_id, "hearing_id": hearing_id, "chair_id": chair_id}


def _open(app, hearing_id, chair_id):
    with app.app_context():
        hearings.open_hearing(db.session.get(Hearing, hearing_id), db.session.get(User, chair_id))


def _sock(app, client, hearing_id):
    """A socket client sharing the HTTP client's cookies, with the page's CSRF token."""
    html = client.get(f"/hearings/{hearing_id}").get_data(as_text=True)
    token = re.search(r'data-csrf="([^"]*)"', html).group(1)
    return socketio.test_client(app, namespace=NS, flask_test_client=client, auth={"csrf": token})


def _events(sock, name):
    return [e["args"][0] for e in sock.get_received(NS) if e["name"] == name]


# --- service ------------------------------------------------------------------------------


def test_rotation_gives_each_constituency_a_turn_before_any_speaks_twice(app, make, setup):
    _open(app, setup["hearing_id"], setup["chair_id"])
    people = [make.user(email=f"s{i}@example.org", name=f"S{i}") for i in range(4)]
    with app.app_context():
        hearing = db.session.get(Hearing, setup["hearing_id"])
        chair = db.session.get(User, setup["chair_id"])
        for user_id, constituency in zip(people, ["ngo", "ngo", "private_sector", "youth"]):
            hearings.request_floor(hearing, db.session.get(User, user_id), constituency, "oceans")
        order = []
        while True:
            turn = hearings.grant_floor(hearing, chair)
            if turn is None:
                break
            order.append(turn.constituency)
        assert order == ["ngo", "private_sector", "youth", "ngo"]
        record = hearings.speakers_record(hearing)
        assert [r.order for r in record] == [1, 2, 3, 4]
        assert all(r.seconds is not None for r in record)  # the last turn ended with an empty queue

        hearings.set_rotation(hearing, chair, False)
        for user_id, constituency in zip(people[:2], ["ngo", "ngo"]):
            hearings.request_floor(hearing, db.session.get(User, user_id), constituency, "")
        hearings.request_floor(hearing, db.session.get(User, people[2]), "youth", "")
        assert hearings.grant_floor(hearing, chair).user_id == people[0]  # first come, first served


def test_a_hearing_report_gives_each_speaker_turn_its_duration(app, make, setup):
    _open(app, setup["hearing_id"], setup["chair_id"])
    speaker = make.user(email="speaker@example.org", name="Speaker")
    with app.app_context():
        hearing = db.session.get(Hearing, setup["hearing_id"])
        chair = db.session.get(User, setup["chair_id"])
        hearings.request_floor(hearing, db.session.get(User, speaker), "youth", "oceans")
        turn = hearings.grant_floor(hearing, chair)
        turn.started_at -= timedelta(seconds=95)
        db.session.commit()
        hearings.close_hearing(hearing, chair)
        report = reports.create_draft(setup["consultation_id"], None, hearing.id)
        speakers = reports.content_of(report)["hearing"]["speakers"]
    assert [{**s, "duration_seconds": None} for s in speakers] == [
        {"order": 1, "speaker": "Speaker 1", "constituency": "youth", "topic": "oceans", "duration_seconds": None}
    ]
    assert 95 <= speakers[0]["duration_seconds"] < 100  # the turn began 95 s before the chair closed the hearing


def test_queue_reorder_skip_withdraw_and_one_request_per_person(app, make, setup):
    _open(app, setup["hearing_id"], setup["chair_id"])
    a, b, c = (make.user(email=f"q{i}@example.org") for i in range(3))
    with app.app_context():
        hearing = db.session.get(Hearing, setup["hearing_id"])
        chair = db.session.get(User, setup["chair_id"])
        ra = hearings.request_floor(hearing, db.session.get(User, a), "ngo", "")
        with pytest.raises(hearings.Conflict):
            hearings.request_floor(hearing, db.session.get(User, a), "ngo", "")
        rb = hearings.request_floor(hearing, db.session.get(User, b), "academia", "")
        rc = hearings.request_floor(hearing, db.session.get(User, c), "youth", "")
        hearings.reorder(hearing, chair, [rc.id, ra.id, rb.id])
        assert [r["id"] for r in hearings.state_payload(hearing)["queue"]] == [rc.id, ra.id, rb.id]
        with pytest.raises(hearings.Conflict):  # a stale order is refused, nothing changes
            hearings.reorder(hearing, chair, [ra.id, rb.id])
        hearings.skip(hearing, chair, ra.id)
        hearings.withdraw_floor(hearing, db.session.get(User, b))
        assert [r["id"] for r in hearings.state_payload(hearing)["queue"]] == [rc.id]
        speaker = hearings.grant_floor(hearing, chair, rc.id)
        payload = hearings.state_payload(hearing)
        assert payload["speaker"]["id"] == speaker.id and payload["speaker"]["ends_at"].endswith("Z")
        hearings.close_hearing(hearing, chair)
        assert db.session.get(SpeakerRequest, rc.id).state == "done"


def test_slow_mode_replay_and_retract(app, make, setup):
    _open(app, setup["hearing_id"], setup["chair_id"])
    poster = make.user(email="poster@example.org", constituency="ngo", country="KE")
    with app.app_context():
        hearing = db.session.get(Hearing, setup["hearing_id"])
        chair = db.session.get(User, setup["chair_id"])
        user = db.session.get(User, poster)
        first = hearings.post_message(hearing, user, "Fishing quotas must follow the science.", client_id="c1")
        again = hearings.post_message(hearing, user, "Fishing quotas must follow the science.", client_id="c1")
        assert again.id == first.id  # a retry with the same client id stores nothing new
        hearings.set_slow_mode(hearing, chair, 60)
        with pytest.raises(hearings.Conflict, match="Slow mode"):
            hearings.post_message(hearing, user, "A second message too soon.")
        hearings.set_slow_mode(hearing, chair, 0)
        second = hearings.post_message(hearing, user, "Marine protected areas need funding.")
        third = hearings.post_message(hearing, user, "Coastal communities should be consulted first.")
        assert hearings.replay(hearing, first.id)["messages"] == [
            hearings.message_payload(second),
            hearings.message_payload(third),
        ]

        second.state = "hidden"
        db.session.commit()
        hearings.retract(second)
        missed = hearings.replay(hearing, third.id)
        assert missed["messages"] == [] and missed["retracted"] == [second.id]
        assert [m["id"] for m in hearings.replay(hearing, 0)["messages"]] == [first.id, third.id]
        balance = hearings.balance(hearing)
        assert balance["posters"]["constituency"] == {"ngo": 1}
        assert balance["posters"]["region"] and balance["posters"]["total"] == 1


def test_theme_summary_says_when_there_are_too_few_messages(app, setup):
    with app.app_context():
        hearing = db.session.get(Hearing, setup["hearing_id"])
        assert hearings.summary(hearing)["themes"]["status"] == "too_few"


def test_chairs_summary_groups_a_short_six_language_hearing_by_meaning(app, make, setup):
    """Twelve messages, two concerns, six languages: two themes, each holding every language,
    named in each, with how the room leans on it, who speaks in it and who does not."""
    _open(app, setup["hearing_id"], setup["chair_id"])
    # one message a person (a sixth message within a minute from one person is held as a flood)
    authors = [
        make.user(
            email=f"h{i}@example.org",
            constituency="ngo" if concern == "fish" else "youth",
            country="SN" if concern == "fish" else "FR",
        )
        for i, (concern, _, _) in enumerate(HEARING_MESSAGES)
    ]
    voter = make.user(email="voter@example.org")
    with app.app_context():
        hearing = db.session.get(Hearing, setup["hearing_id"])
        ids = {}
        for author_id, (_concern, language, text) in zip(authors, HEARING_MESSAGES):
            author = db.session.get(User, author_id)
            message = hearings.post_message(hearing, author, text)
            assert message.state == "published" and message.language == language, (text, message.language)
            ids[text] = message.id
        for text in [t for c, _, t in HEARING_MESSAGES if c == "fish"][:3]:
            hearings.vote(hearing, db.session.get(User, voter), ids[text], "agree")
        themes = hearings.summary(hearing)["themes"]
        assert themes["status"] == "ok" and themes["n"] == 12 and themes["new"] == 12
        assert len(themes["themes"]) == 2
        by_concern = {}
        for theme in themes["themes"]:
            members = {c for c, _, t in HEARING_MESSAGES if any(q["id"] == ids[t] for q in theme["quotes"])}
            assert len(members) == 1, theme  # one concern a theme
            by_concern[members.pop()] = theme
            assert theme["size"] == 6 and set(theme["languages"]) == {"en", "fr", "es", "ru", "ar", "zh"}
            assert set(theme["labels"]) == set(theme["languages"]) and " · " not in theme["label"]
            assert {q["language"] for q in theme["quotes"]} == set(theme["languages"])
        fish, plastic = by_concern["fish"], by_concern["plastic"]
        assert fish["lean"] == {"agree": 3, "disagree": 0, "pass": 0, "votes": 3}
        assert plastic["lean"]["votes"] == 0
        assert fish["constituencies"] == {"present": {"ngo": 6}, "absent": ["youth"]}
        assert plastic["constituencies"]["absent"] == ["ngo"]
        assert "捕鱼" in fish["labels"]["zh"] or "配额" in fish["labels"]["zh"]

        # the next summary keeps the themes' ids and says what is new since the last one
        late = hearings.post_message(hearing, db.session.get(User, voter), "La pesca ilegal vacía nuestros mares.")
        again = hearings.summary(hearing)["themes"]
        assert again["new"] == 1
        assert {t["id"] for t in again["themes"]} == {fish["id"], plastic["id"]}
        fish_again = next(t for t in again["themes"] if t["id"] == fish["id"])
        assert fish_again["new"] == 1 and fish_again["size"] == 7, late.language


# --- socket namespace -----------------------------------------------------------------------


def test_socket_post_is_acknowledged_and_broadcast_to_the_room(app, make, setup):
    _open(app, setup["hearing_id"], setup["chair_id"])
    make.user(email="p@example.org", constituency="youth")
    participant, watcher = app.test_client(), app.test_client()
    login(participant, "p@example.org")
    sp, sw = _sock(app, participant, setup["hearing_id"]), _sock(app, watcher, setup["hearing_id"])
    assert sp.is_connected(NS) and sw.is_connected(NS)
    joined = sw.emit("join", {"hearing_id": setup["hearing_id"], "last_id": 0}, namespace=NS, callback=True)
    assert joined["ok"] and joined["state"]["state"] == "live" and joined["user"] is None and not joined["chair"]
    assert sp.emit("join", {"hearing_id": setup["hearing_id"]}, namespace=NS, callback=True)["ok"]
    sw.get_received(NS)

    ack = sp.emit(
        "post_message",
        {"hearing_id": setup["hearing_id"], "text": "Youth need a seat at the table."},
        namespace=NS,
        callback=True,
    )
    assert ack["ok"] and ack["state"] == "published"
    frames = _events(sw, "messages")
    assert [m["text"] for f in frames for m in f["messages"]] == ["Youth need a seat at the table."]
    assert frames[0]["messages"][0]["constituency"] is None  # not chosen to be shown (tests/test_privacy.py)

    vote = sp.emit(
        "vote", {"hearing_id": setup["hearing_id"], "id": ack["id"], "vote": "agree"}, namespace=NS, callback=True
    )
    assert vote["ok"] and vote["votes"] == [1, 0, 0]
    assert any(f.get("votes") == {str(ack["id"]): [1, 0, 0]} for f in _events(sw, "messages"))

    # an anonymous watcher may not post
    refused = sw.emit("post_message", {"hearing_id": setup["hearing_id"], "text": "hello"}, namespace=NS, callback=True)
    assert refused == {"ok": False, "error": "Sign in to post in this hearing.", "code": "forbidden"}
    with app.app_context():
        assert db.session.query(Submission).count() == 1


def test_connect_refused_with_bad_csrf_when_signed_in(app, make, setup):
    make.user(email="p@example.org")
    client = app.test_client()
    login(client, "p@example.org")
    bad = socketio.test_client(app, namespace=NS, flask_test_client=client, auth={"csrf": "forged"})
    assert not bad.is_connected(NS)
    none = socketio.test_client(app, namespace=NS, flask_test_client=client)
    assert not none.is_connected(NS)
    anonymous = socketio.test_client(app, namespace=NS)  # watching needs no token
    assert anonymous.is_connected(NS)


def test_chair_events_need_the_chair_role(app, make, setup):
    make.user(email="p@example.org")
    participant, chair = app.test_client(), app.test_client()
    login(participant, "p@example.org")
    login(chair, "chair@example.org")
    sp, sc = _sock(app, participant, setup["hearing_id"]), _sock(app, chair, setup["hearing_id"])
    hid = setup["hearing_id"]
    for s in (sp, sc):
        assert s.emit("join", {"hearing_id": hid}, namespace=NS, callback=True)["ok"]
    for name, payload in [
        ("open_hearing", {}),
        ("set_slow_mode", {"seconds": 5}),
        ("grant_floor", {}),
        ("close_hearing", {}),
        ("pin_message", {"id": None}),
        ("chair_summary", {"text": "x"}),
    ]:
        ack = sp.emit(name, {"hearing_id": hid, **payload}, namespace=NS, callback=True)
        assert ack["ok"] is False and ack["code"] == "forbidden", name
    closed = sp.emit("post_message", {"hearing_id": hid, "text": "too early"}, namespace=NS, callback=True)
    assert closed["ok"] is False and "not started" in closed["error"]

    assert sc.emit("open_hearing", {"hearing_id": hid}, namespace=NS, callback=True) == {"ok": True}
    assert sc.emit("set_slow_mode", {"hearing_id": hid, "seconds": 5}, namespace=NS, callback=True)["ok"]
    states = _events(sp, "state")
    assert states[-1]["state"] == "live" and states[-1]["slow_mode"] == 5
    asked = sp.emit(
        "request_floor",
        {"hearing_id": hid, "constituency": "academia", "topic": "data gaps"},
        namespace=NS,
        callback=True,
    )
    assert asked["ok"] and asked["request"]["constituency"] == "academia"
    granted = sc.emit("grant_floor", {"hearing_id": hid}, namespace=NS, callback=True)
    assert granted["ok"] and granted["speaker"]["id"] == asked["request"]["id"]
    summary = sc.emit(
        "chair_summary", {"hearing_id": hid, "text": "We heard three proposals on data."}, namespace=NS, callback=True
    )
    assert summary["ok"]
    assert any(m["kind"] == "chair_summary" for f in _events(sp, "messages") for m in f["messages"])
    assert any(e["name"] == "summary" for e in sc.get_received(NS))  # the chair's panel, not the participant's
    assert sc.emit("close_hearing", {"hearing_id": hid}, namespace=NS, callback=True)["ok"]
    after = sp.emit("post_message", {"hearing_id": hid, "text": "after the end"}, namespace=NS, callback=True)
    assert after["ok"] is False and "ended" in after["error"]


@pytest.mark.parametrize(
    "event,payload,code",
    [
        ("post_message", "not an object", "invalid"),
        ("post_message", {"hearing_id": "1", "text": "x"}, "invalid"),
        ("post_message", {"hearing_id": 1, "text": "x", "extra": 1}, "invalid"),
        ("post_message", {"hearing_id": 1}, "invalid"),
        ("post_message", {"hearing_id": 1, "text": "x" * 9000}, "too_large"),
        ("vote", {"hearing_id": 1, "id": True, "vote": "agree"}, "invalid"),
        ("reorder_queue", {"hearing_id": 1, "order": "1,2"}, "invalid"),
        ("no_such_event", {"hearing_id": 1}, "unknown_event"),
    ],
)
def test_malformed_payloads_are_refused_with_a_reason(app, make, setup, event, payload, code):
    _open(app, setup["hearing_id"], setup["chair_id"])
    make.user(email="p@example.org")
    client = app.test_client()
    login(client, "p@example.org")
    sock = _sock(app, client, setup["hearing_id"])
    sock.emit("join", {"hearing_id": setup["hearing_id"]}, namespace=NS, callback=True)
    if isinstance(payload, dict) and payload.get("hearing_id") == 1:
        payload = {**payload, "hearing_id": setup["hearing_id"]}
    ack = sock.emit(event, payload, namespace=NS, callback=True)
    assert ack["ok"] is False and ack["code"] == code and ack["error"]
    assert sock.is_connected(NS)
    with app.app_context():
        assert db.session.query(Submission).count() == 0


def test_events_for_a_hearing_not_joined_and_floods_are_refused(app, make, setup):
    _open(app, setup["hearing_id"], setup["chair_id"])
    make.user(email="p@example.org")
    client = app.test_client()
    login(client, "p@example.org")
    sock = _sock(app, client, setup["hearing_id"])
    other = sock.emit(
        "post_message", {"hearing_id": setup["hearing_id"], "text": "not joined"}, namespace=NS, callback=True
    )
    assert other["code"] == "not_joined"
    missing = sock.emit("join", {"hearing_id": 999999}, namespace=NS, callback=True)
    assert missing["ok"] is False and missing["code"] == "not_found"
    answers = [sock.emit("join", {"hearing_id": setup["hearing_id"]}, namespace=NS, callback=True) for _ in range(40)]
    assert answers[0]["ok"] and any(a["code"] == "flood" for a in answers if not a["ok"])
    assert any(e["name"] == "error" for e in sock.get_received(NS))
    assert sock.is_connected(NS)


# --- pages without JavaScript ---------------------------------------------------------------


def test_pages_work_without_javascript(app, make, setup, client):
    hid = setup["hearing_id"]
    page = client.get(f"/hearings/{hid}")
    assert page.status_code == 200 and b"Review of SDG 14" in page.data and b'http-equiv="refresh"' not in page.data
    latest = client.get(f"/hearings/{hid}/latest")  # the no-JS frame refreshes; the page with the form never does
    assert (
        f"/hearings/{hid}/latest".encode() in page.data
        and b'http-equiv="refresh"' in latest.data
        and b"<form" not in latest.data
    )
    assert (
        latest.headers["X-Frame-Options"] == "SAMEORIGIN"
        and "frame-ancestors 'self'" in latest.headers["Content-Security-Policy"]
    )
    assert b"socket.io.min.js" in page.data and b"cdn" not in page.data.lower()
    make.user(email="p@example.org", constituency="ngo")
    login(client, "p@example.org")
    token = csrf_from(client, f"/hearings/{hid}")
    early = client.post(f"/hearings/{hid}/messages", data={"csrf_token": token, "text": "Hello"})
    assert early.status_code == 409
    _open(app, hid, setup["chair_id"])
    no_csrf = client.post(f"/hearings/{hid}/messages", data={"text": "Hello"})
    assert no_csrf.status_code == 400
    posted = client.post(
        f"/hearings/{hid}/messages",
        data={"csrf_token": token, "text": "Coral reefs are dying; we must act now."},
        follow_redirects=True,
    )
    assert posted.status_code == 200 and b"Coral reefs are dying; we must act now." in posted.data
    floor = client.post(
        f"/hearings/{hid}/floor",
        data={"csrf_token": token, "constituency": "ngo", "topic": "reefs"},
        follow_redirects=True,
    )
    assert b"You are in the speakers" in floor.data and b"reefs" in floor.data
    assert client.post(f"/hearings/{hid}/chair/close", data={"csrf_token": token}).status_code == 403
    transcript = client.get(f"/hearings/{hid}/transcript")
    assert b"Coral reefs are dying" in transcript.data


def test_secretariat_creates_a_hearing_and_appoints_a_chair(app, make, client):
    consultation_id = make.consultation(title="Biodiversity")
    make.user(email="admin@example.org", role="admin")
    make.user(email="newchair@example.org", name="New Chair")
    login(client, "admin@example.org")
    token = csrf_from(client, "/hearings/new")
    created = client.post(
        "/hearings/new", data={"csrf_token": token, "consultation_id": str(consultation_id), "title": "Mid-term review"}
    )
    assert created.status_code == 302
    hid = int(created.headers["Location"].rsplit("/", 1)[1])
    appointed = client.post(
        f"/hearings/{hid}/chairs", data={"csrf_token": token, "email": "newchair@example.org"}, follow_redirects=True
    )
    assert b"New Chair chairs this hearing" in appointed.data
    with app.app_context():
        from agora import permissions

        chair = db.session.query(User).filter_by(email="newchair@example.org").one()
        hearing = db.session.get(Hearing, hid)
        assert permissions.can_chair_hearing(chair, hearing)
        assert not permissions.can_chair(chair, consultation_id)  # one hearing, not the consultation
    participant = app.test_client()
    make.user(email="p@example.org")
    login(participant, "p@example.org")
    assert participant.get("/hearings/new").status_code == 403
