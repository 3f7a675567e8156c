"""The Socket.IO perimeter on a real server: a foreign Origin is refused on every namespace,
oversized messages are refused, the same origin gets in."""
import pytest
import socketio

from tests.live_server import LiveServer, separate_database


@pytest.fixture(scope="module")
def server():
    live = LiveServer(separate_database("perimeter")).wait()
    yield live
    live.stop()


@pytest.mark.parametrize("namespace", ["/", "/hearing"])
def test_foreign_origin_is_refused(server, namespace):
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(server.url, namespaces=[namespace], headers={"Origin": "https://evil.example"}, transports=["websocket"], wait_timeout=5)
    assert not client.connected


def test_same_origin_is_accepted_and_oversized_frames_are_refused(server):
    client = socketio.Client(reconnection=False)
    client.connect(server.url, namespaces=["/"], transports=["websocket"], wait_timeout=5)  # the client sends its own, same Origin
    assert client.connected
    answer = client.call("follow", {"consultation_id": 999999}, timeout=5)
    assert answer == {"ok": False, "error": "unknown consultation"}
    client.emit("follow", {"consultation_id": "x" * 200_000})  # over the 64 KB cap: the server drops the connection
    client.sleep(1.0)
    assert not client.connected
    client.disconnect()
