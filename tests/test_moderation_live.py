"""The moderators' room: only moderators get in, and a held submission reaches them at once."""

import pytest

from agora.extensions import socketio
from tests.conftest import csrf_from, login

ABUSIVE = "You worthless idiots, shut up and go away you stupid bitches"


def _socket(app, client, token):
    return socketio.test_client(app, namespace="/moderation", flask_test_client=client, auth={"csrf": token})


def test_moderator_is_told_when_a_view_is_held(app, make):
    cid = make.consultation()
    make.user(email="mod@example.org", role="moderator")
    http = app.test_client()
    login(http, "mod@example.org")
    live = _socket(app, http, csrf_from(http, "/moderation/"))
    assert live.is_connected("/moderation")
    make.submission(cid, make.user(), ABUSIVE)
    events = [e for e in live.get_received("/moderation") if e["name"] == "queue_changed"]
    assert events and events[0]["args"][0]["consultation_id"] == cid
    live.disconnect("/moderation")


@pytest.mark.parametrize("who", ["anonymous", "participant"])
def test_others_cannot_join_the_moderators_room(app, make, who):
    http = app.test_client()
    if who == "participant":
        make.user(email="p@example.org")
        login(http, "p@example.org")
    live = _socket(app, http, csrf_from(http, "/account/login"))
    assert not live.is_connected("/moderation")


def test_moderator_without_csrf_token_is_refused(app, make):
    make.user(email="mod@example.org", role="moderator")
    http = app.test_client()
    login(http, "mod@example.org")
    live = socketio.test_client(app, namespace="/moderation", flask_test_client=http, auth={"csrf": "forged"})
    assert not live.is_connected("/moderation")


def test_signing_out_everywhere_disconnects_the_moderators_socket(app, make):
    make.user(email="mod@example.org", role="moderator")
    http = app.test_client()
    login(http, "mod@example.org")
    live = _socket(app, http, csrf_from(http, "/moderation/"))
    assert live.is_connected("/moderation")
    http.post("/account/security/sign-out-everywhere", data={"csrf_token": csrf_from(http, "/account/security")})
    assert not live.is_connected("/moderation")


def test_a_scoped_moderator_hears_only_of_their_consultation(app, make):
    """The red team's scoped moderator received every consultation's queue events."""
    from agora.services import realtime

    mine, other = make.consultation(title="Mine"), make.consultation(title="Someone else's")
    make.user(email="scoped@example.org", role="moderator", scope=mine)
    make.user(email="everywhere@example.org", role="moderator")
    sockets = {}
    for email in ("scoped@example.org", "everywhere@example.org"):
        http = app.test_client()
        login(http, email)
        sockets[email] = _socket(app, http, csrf_from(http, "/moderation/"))
        assert sockets[email].is_connected("/moderation")
    with app.app_context():
        realtime.notify_moderators({"consultation_id": other, "submission_id": 1, "state": "held"})
        realtime.notify_moderators({"consultation_id": mine, "submission_id": 2, "state": "held"})
    heard = {
        email: [
            e["args"][0]["consultation_id"] for e in live.get_received("/moderation") if e["name"] == "queue_changed"
        ]
        for email, live in sockets.items()
    }
    assert heard == {"scoped@example.org": [mine], "everywhere@example.org": [other, mine]}
    for live in sockets.values():
        live.disconnect("/moderation")
