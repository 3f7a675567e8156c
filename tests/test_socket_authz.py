"""Every /hearing socket event against every role, with the expected outcome written down: ok, or
the refusal's code. A refusal for lack of rights ("forbidden") is told apart from one for a missing
item ("not_found") or a state ("closed"), so a check done in the wrong order shows; and a
deliberately broken permission is shown to make this matrix fail."""

import re

import pytest

from agora.extensions import db, socketio
from agora.models import User
from agora.services import hearings
from tests.conftest import civic_statements, csrf_from, login

NS = "/hearing"
ROLES = ("anonymous", "participant", "moderator", "chair_elsewhere", "chair", "admin")
CHAIRS = {"chair", "admin"}

# In this order, on a fresh open hearing per role, with one message and one speaker's request by
# someone else. Each event: (name, payload, outcome for the hearing's chairs, for other signed-in
# users); anonymous visitors may join and leave, nothing else (they are refused as "forbidden").
EVENTS = [
    ("join", {}, None, None),
    ("post_message", {"text": "Coastal voices matter in this review."}, None, None),
    ("vote", {"id": "message", "vote": "agree"}, None, None),
    ("request_floor", {"constituency": "ngo", "topic": "oceans"}, None, None),
    ("withdraw_floor", {}, None, None),
    ("pin_message", {"id": "message"}, None, "forbidden"),
    ("chair_summary", {"text": "Summary so far: quotas and funding."}, None, "forbidden"),
    ("refresh_summary", {}, None, "forbidden"),
    ("set_slow_mode", {"seconds": 0}, None, "forbidden"),
    ("set_time_limit", {"seconds": 120}, None, "forbidden"),
    ("set_rotation", {"on": True}, None, "forbidden"),
    ("reorder_queue", {"order": ["request"]}, None, "forbidden"),
    ("skip_speaker", {"request_id": 999_999}, "not_found", "forbidden"),  # rights are checked before the look-up
    ("grant_floor", {}, None, "forbidden"),
    ("end_turn", {}, None, "forbidden"),
    ("close_hearing", {}, None, "forbidden"),
    ("open_hearing", {}, "closed", "forbidden"),  # a closed hearing does not reopen; others learn nothing of its state
    ("leave", {}, None, None),
]
ANONYMOUS_ALLOWED = {"join", "leave"}


def expected(role: str, event: str, chairs_outcome, others_outcome):
    if role == "anonymous":
        return None if event in ANONYMOUS_ALLOWED else "forbidden"
    return chairs_outcome if role in CHAIRS else others_outcome


@pytest.fixture(autouse=True)
def _emit_at_once(app):
    app.config["HEARING_BATCH_SECONDS"] = 0
    yield
    app.config.pop("HEARING_BATCH_SECONDS", None)
    hearings.presence._local.clear()


def _people(make):
    return {
        "participant": make.user(email="participant@example.org"),
        "moderator": make.user(email="moderator@example.org", role="moderator"),
        "chair_elsewhere": make.user(email="elsewhere@example.org"),
        "chair": make.user(email="chair@example.org"),
        "admin": make.user(email="admin@example.org", role="admin"),
        # One speaker per hearing: one person's several messages in a row would be held as a flood.
        **{f"speaker{n}": make.user(email=f"speaker{n}@example.org", constituency="youth") for n in range(len(ROLES))},
    }


def _hearing(app, consultation_id, people, n):
    """An open hearing chaired by "chair", with a message and a speaker's request by someone else."""
    with app.app_context():
        get = lambda key: db.session.get(User, people[key])  # noqa: E731
        hearing = hearings.create(consultation_id, "Review of SDG 14")
        hearings.appoint_chair(hearing, get("chair"), None)
        elsewhere = hearings.create(consultation_id, "Another hearing")
        hearings.appoint_chair(elsewhere, get("chair_elsewhere"), None)
        hearings.open_hearing(hearing, get("chair"))
        # A different text each time: near-duplicates are held.
        message = hearings.post_message(hearing, get(f"speaker{n}"), civic_statements(len(ROLES))[n])
        assert message.state == "published"
        request = hearings.request_floor(hearing, get(f"speaker{n}"), "youth", "quotas")
        return hearing.id, message.id, request.id


def _outcomes(app, make) -> list[tuple]:
    """(role, event, expected, got) for every disagreement."""
    consultation_id = make.consultation()
    people = _people(make)
    emails = {
        "participant": "participant@example.org",
        "moderator": "moderator@example.org",
        "chair_elsewhere": "elsewhere@example.org",
        "chair": "chair@example.org",
        "admin": "admin@example.org",
    }
    wrong = []
    for n, role in enumerate(ROLES):
        hearing_id, message_id, request_id = _hearing(app, consultation_id, people, n)
        http = app.test_client()
        if role != "anonymous":
            login(http, emails[role])
        token = re.search(r'data-csrf="([^"]*)"', http.get(f"/hearings/{hearing_id}").get_data(as_text=True)).group(1)
        sock = socketio.test_client(app, namespace=NS, flask_test_client=http, auth={"csrf": token})
        assert sock.is_connected(NS), role
        for event, payload, chairs_outcome, others_outcome in EVENTS:
            placeholders = {"message": message_id}
            data = {
                "hearing_id": hearing_id,
                **{k: placeholders.get(v, v) if isinstance(v, str) else v for k, v in payload.items()},
            }
            if data.get("order") == ["request"]:
                data["order"] = [request_id]
            ack = sock.emit(event, data, namespace=NS, callback=True)
            got = None if ack.get("ok") else ack.get("code")
            want = expected(role, event, chairs_outcome, others_outcome)
            if got != want:
                wrong.append((role, event, want, got))
        sock.disconnect(namespace=NS)
    return wrong


def test_every_hearing_event_answers_every_role_as_written_down(app, make):
    wrong = _outcomes(app, make)
    assert wrong == [], wrong


def test_a_broken_permission_check_makes_the_matrix_fail(app, make, monkeypatch):
    """The matrix has teeth: let every signed-in user chair, and it names what went wrong."""
    from agora import permissions

    monkeypatch.setattr(
        permissions, "can_chair_hearing", lambda user, hearing: bool(getattr(user, "is_authenticated", False))
    )
    wrong = _outcomes(app, make)
    assert ("participant", "close_hearing", "forbidden", None) in wrong
    assert ("moderator", "skip_speaker", "forbidden", "not_found") in wrong
    assert all(role != "anonymous" for role, *_ in wrong)


# Every namespace's events, with the matrix that covers them: a new event without a line fails here.
NAMESPACE_EVENTS = {"/hearing": {event for event, *_ in EVENTS}, "/": {"follow"}, "/moderation": set()}


def test_every_event_of_every_namespace_is_in_a_matrix():
    handlers = socketio.server.namespace_handlers
    assert set(handlers) == set(NAMESPACE_EVENTS)
    for namespace, handler in handlers.items():
        events = {
            name[3:] for name in dir(handler) if name.startswith("on_") and name not in ("on_connect", "on_disconnect")
        }
        assert events == NAMESPACE_EVENTS[namespace], namespace


# /moderation: who may connect (it has no events: the server pushes queue changes); "/": follow a
# consultation's page, public and read-only, the same for everyone; a draft is unknown to all.
MODERATION_CONNECT = {
    "anonymous": False,
    "participant": False,
    "moderator": True,
    "chair_elsewhere": False,
    "chair": False,
    "admin": True,
}


def test_who_may_connect_to_moderation_and_follow_a_consultation(app, make):
    consultation_id, draft_id = make.consultation(), make.consultation("A draft", status="draft")
    people = _people(make)
    emails = {
        "participant": "participant@example.org",
        "moderator": "moderator@example.org",
        "chair_elsewhere": "elsewhere@example.org",
        "chair": "chair@example.org",
        "admin": "admin@example.org",
    }
    with app.app_context():
        hearing = hearings.create(consultation_id, "Review of SDG 14")
        hearings.appoint_chair(hearing, db.session.get(User, people["chair"]), None)
        hearings.appoint_chair(
            hearings.create(consultation_id, "Another"), db.session.get(User, people["chair_elsewhere"]), None
        )
    wrong = []
    for role in ROLES:
        http = app.test_client()
        if role != "anonymous":
            login(http, emails[role])
        token = csrf_from(http, "/account/login")
        sock = socketio.test_client(app, namespace="/moderation", flask_test_client=http, auth={"csrf": token})
        if sock.is_connected("/moderation") != MODERATION_CONNECT[role]:
            wrong.append((role, "/moderation connect", MODERATION_CONNECT[role]))
        if sock.is_connected("/moderation"):
            sock.disconnect(namespace="/moderation")
        follower = socketio.test_client(app, namespace="/", flask_test_client=http)
        answers = [
            follower.emit("follow", {"consultation_id": cid}, namespace="/", callback=True)
            for cid in (consultation_id, draft_id, 999_999)
        ]
        if answers != [
            {"ok": True},
            {"ok": False, "error": "unknown consultation"},
            {"ok": False, "error": "unknown consultation"},
        ]:
            wrong.append((role, "follow", answers))
        follower.disconnect(namespace="/")
    assert wrong == [], wrong
