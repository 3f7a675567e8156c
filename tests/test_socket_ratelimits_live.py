"""Socket writes spend the same rate limits as HTTP writes, on a real server with real python-socketio
clients: the per-IP ceiling every write from one address shares (AGORA_IP_WRITE_LIMIT), and each route's
per-user limit across all of a user's connections. Behind a configured proxy the address is the
forwarded client's for sockets too (ProxyFix wraps the Socket.IO middleware)."""

import pytest
import requests
import socketio

from tests.live_server import LiveServer, separate_database
from tests.test_hearings_live import NS, Client, seed

pytestmark = pytest.mark.server
CEILING = 60  # AGORA_IP_WRITE_LIMIT for this server (240 a minute by default)


@pytest.fixture(scope="module")
def live():
    url = separate_database("socketlimits")
    ids = seed(url)
    server = LiveServer(url, env={"AGORA_PROXY_HOPS": "1", "AGORA_IP_WRITE_LIMIT": f"{CEILING} per minute"}).wait()
    yield server, ids["hearing_id"]
    server.stop()


def _sockets(client: Client, n: int, address: str) -> list[socketio.Client]:
    """``n`` more connections of the signed-in ``client``'s browser, seen as coming from ``address``
    (one sign-in: the sign-in route has its own limit)."""
    cookie = "; ".join(f"{c.name}={c.value}" for c in client.http.cookies)
    sockets = []
    for _ in range(n):
        sio = socketio.Client(reconnection=False)
        sio.connect(
            client.base,
            namespaces=[NS],
            headers={"Cookie": cookie, "User-Agent": client.http.headers["User-Agent"], "X-Forwarded-For": address},
            auth={"csrf": client.page_csrf},
            transports=["websocket"],
            wait_timeout=10,
        )
        assert sio.call("join", {"hearing_id": client.hearing_id}, namespace=NS, timeout=10)["ok"]
        sockets.append(sio)
    return sockets


def _verify(server, address) -> int:
    """An anonymous write over HTTP (a report package to verify) from ``address``."""
    return requests.post(
        server.url + "/api/v1/reports/verify",
        data=b"not a zip",
        headers={"X-Forwarded-For": address, "Content-Type": "application/zip"},
    ).status_code


def test_socket_writes_spend_the_per_ip_ceiling_that_http_writes_spend(live):
    server, hearing_id = live
    busy, other = (
        Client(server.url, hearing_id, "p1@example.org", autoconnect=False),
        Client(server.url, hearing_id, "p2@example.org", autoconnect=False),
    )
    sockets = _sockets(
        busy, 4, "203.0.113.10"
    )  # 4 connections × 19 events: the flood bucket (20 at once) is per connection
    codes = []
    for sio in sockets:
        for _ in range(19):
            # withdraw_floor: a write whose route has no limit of its own, so only the ceiling counts
            ack = sio.call("withdraw_floor", {"hearing_id": hearing_id}, namespace=NS, timeout=10)
            codes.append("rate_limited" if ack.get("code") == "rate_limited" else "counted")
    assert codes[:CEILING] == ["counted"] * CEILING
    assert set(codes[CEILING:]) == {"rate_limited"}
    # The budget is the one HTTP writes spend: an upload from that address is refused too ...
    assert _verify(server, "203.0.113.10") == 429
    assert _verify(server, "192.0.2.99") == 200  # (the same upload from elsewhere: answered)
    # ... while someone at another address (behind the same proxy) is not slowed.
    [elsewhere] = _sockets(other, 1, "198.51.100.20")
    ack = elsewhere.call("withdraw_floor", {"hearing_id": hearing_id}, namespace=NS, timeout=10)
    assert ack.get("code") != "rate_limited", ack
    for sio in [*sockets, elsewhere]:
        sio.disconnect()


def test_a_users_message_budget_is_shared_by_all_their_connections(live):
    """30 hearing messages a minute, as on the form, however many sockets the user opens."""
    server, hearing_id = live
    client = Client(server.url, hearing_id, "chair@example.org", autoconnect=False)
    first, second = _sockets(client, 2, "192.0.2.30")
    acks = [
        sio.call(
            "post_message",
            {"hearing_id": hearing_id, "text": f"Point {n} on fisheries and quotas."},
            namespace=NS,
            timeout=10,
        )
        for n, sio in enumerate([first, second] * 16)
    ]
    assert [a["ok"] for a in acks[:30]] == [True] * 30, [a for a in acks[:30] if not a["ok"]][:1]
    assert [a.get("code") for a in acks[30:]] == ["rate_limited", "rate_limited"]
    first.disconnect()
    second.disconnect()
