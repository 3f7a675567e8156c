"""The Socket.IO perimeter on a real server, for anonymous and signed-in clients on every namespace:
a foreign Origin is refused (even with the victim's cookie and a valid CSRF token: cross-site
WebSocket hijacking), a signed-in connect without the page's CSRF token is refused, only moderators
get into /moderation, oversized messages are refused, the same origin gets in."""

import pytest
import socketio

from tests.live_server import LiveServer, separate_database
from tests.test_hearings_live import Client, seed

NAMESPACES = ["/", "/hearing", "/moderation"]
EVIL = {"Origin": "https://evil.example"}


@pytest.fixture(scope="module")
def server():
    url = separate_database("perimeter")
    ids = seed(url)
    live = LiveServer(url).wait()
    live.hearing_id = ids["hearing_id"]
    live.browsers = {}  # one sign-in per person: the sign-in form allows 10 a minute per address
    yield live
    live.stop()


def _connects(server, namespace, *, who=None, headers=None, csrf="page") -> bool:
    """Whether a python-socketio client gets into ``namespace``: anonymous, or signed in as ``who``
    (through the real sign-in form, its cookie sent), with the page's CSRF token unless told."""
    headers = dict(headers or {})
    auth = None
    if who is not None:
        if who not in server.browsers:
            server.browsers[who] = Client(server.url, server.hearing_id, who, autoconnect=False)
        browser = server.browsers[who]
        headers["Cookie"] = "; ".join(f"{c.name}={c.value}" for c in browser.http.cookies)
        auth = {"csrf": browser.page_csrf if csrf == "page" else csrf}
    client = socketio.Client(reconnection=False)
    try:
        client.connect(
            server.url, namespaces=[namespace], headers=headers, auth=auth, transports=["websocket"], wait_timeout=5
        )
    except socketio.exceptions.ConnectionError:
        return False
    connected = namespace in client.namespaces
    client.disconnect()
    return connected


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_foreign_origin_is_refused_signed_in_or_not(server, namespace):
    assert not _connects(server, namespace, headers=EVIL)
    assert not _connects(server, namespace, who="admin@example.org", headers=EVIL)  # the cookie and token do not help


@pytest.mark.parametrize("namespace", ["/hearing", "/moderation"])
def test_a_signed_in_connect_needs_the_pages_csrf_token(server, namespace):
    assert not _connects(server, namespace, who="admin@example.org", csrf=None)
    assert not _connects(server, namespace, who="admin@example.org", csrf="forged-token")
    assert _connects(server, namespace, who="admin@example.org")


def test_who_gets_into_each_namespace_from_this_site(server):
    got = {
        (ns, who): _connects(server, ns, who=who)
        for ns in NAMESPACES
        for who in (None, "p1@example.org", "chair@example.org", "admin@example.org")
    }
    assert got == {
        **{("/", who): True for who in (None, "p1@example.org", "chair@example.org", "admin@example.org")},
        **{("/hearing", who): True for who in (None, "p1@example.org", "chair@example.org", "admin@example.org")},
        ("/moderation", None): False,
        ("/moderation", "p1@example.org"): False,
        ("/moderation", "chair@example.org"): False,
        ("/moderation", "admin@example.org"): True,
    }


def test_same_origin_is_accepted_and_oversized_frames_are_refused(server):
    client = socketio.Client(reconnection=False)
    client.connect(
        server.url, namespaces=["/"], transports=["websocket"], wait_timeout=5
    )  # the client sends its own, same Origin
    assert client.connected
    answer = client.call("follow", {"consultation_id": 999999}, timeout=5)
    assert answer == {"ok": False, "error": "unknown consultation"}
    client.emit("follow", {"consultation_id": "x" * 200_000})  # over the 64 KB cap: the server drops the connection
    client.sleep(1.0)
    assert not client.connected
    client.disconnect()


def test_a_hearing_payload_over_8_kb_and_an_unknown_event_are_refused(server):
    client = Client(server.url, server.hearing_id, "p2@example.org")
    client.join()
    assert client.call("post_message", text="x" * 9000)["code"] == "too_large"
    assert client.call("become_chair")["code"] == "unknown_event"
    assert client.call("post_message", text="Small islands need adaptation finance.")["ok"]
    client.close()
