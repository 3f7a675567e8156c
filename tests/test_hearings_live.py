"""Live hearings against real server processes with real python-socketio clients: delivery,
coalescing, retraction when a moderator hides a message, reconnect-and-replay without loss or
duplicates, chair controls with role checks, origin and CSRF checks, and two processes sharing
rooms through Redis."""

import json
import os
import re
import subprocess
import sys
import threading
import time

import pytest
import redis
import requests
import socketio

from tests.live_server import ROOT, LiveServer, separate_database

pytestmark = pytest.mark.server
NS = "/hearing"
PASSWORD = "correct horse battery"

SENTENCES = [
    "Fishing quotas should follow the scientific advice every single year.",
    "Small island states need direct access to adaptation finance.",
    "Plastic pellets spilled from ships must be treated as hazardous cargo.",
    "Coral reef monitoring data should be published openly and promptly.",
    "Indigenous coastal knowledge belongs in every national ocean plan.",
    "Port authorities can cut emissions with shore power for berthed vessels.",
    "Deep sea mining needs a moratorium until the impacts are understood.",
    "Women who process fish are missing from most fisheries statistics.",
    "Marine protected areas fail without money for rangers and patrol boats.",
    "Youth delegates want a seat on regional fisheries management councils.",
    "Mangrove restoration protects villages from storm surges and floods.",
    "Illegal fishing vessels change flags to escape sanctions and inspections.",
]

SEED = r"""
import json, sys
from flask_migrate import upgrade
from agora import create_app
from agora.extensions import db
from agora.services import hearings
from agora.services.accounts import accounts
from agora.services.participation import consultations
app = create_app()
with app.app_context():
    upgrade()
    c = consultations.create(consultations.ConsultationInput(title="Oceans review", status="open"))
    def user(email, name, constituency=None, country=None):
        u = accounts.register(email, sys.argv[1], name)
        if constituency:
            accounts.update_profile(u, accounts.Profile(display_name=name, constituency=constituency, country=country, gender=None, languages=None, locale=None))
        return u
    admin = user("admin@example.org", "Secretariat"); accounts.assign_role(admin, "admin", None, None)
    chair = user("chair@example.org", "Chair Amina")
    for email, name, constituency, country in json.loads(sys.argv[2]):
        user(email, name, constituency, country)
    h = hearings.create(c.id, "Ocean commitments: progress review")
    hearings.appoint_chair(h, chair, admin)
    h.state = "live"; db.session.commit()
    print(json.dumps({"hearing_id": h.id}))
"""


PARTICIPANTS = [("p1@example.org", "Kofi", "ngo", "GH"), ("p2@example.org", "Lucia", "youth", "BR")]


def seed(database_url: str, participants=PARTICIPANTS) -> dict:
    """A live hearing with its chair, the secretariat and these (email, name, constituency, country)."""
    env = {**os.environ, "AGORA_DATABASE_URL": database_url, "AGORA_SECRET_KEY": "live-test-secret"}
    env.pop("AGORA_REDIS_URL", None)
    out = subprocess.run(
        [sys.executable, "-c", SEED, PASSWORD, json.dumps(participants)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def live():
    url = separate_database("hearings")
    ids = seed(url)
    server = LiveServer(url).wait()
    yield server, ids["hearing_id"]
    server.stop()


class Client:
    """A python-socketio client, signed in through the real login form when an email is given."""

    def __init__(self, base_url: str, hearing_id: int, email: str | None = None, **connect):
        self.base, self.hearing_id = base_url, hearing_id
        self.http = requests.Session()
        if email:
            token = self._csrf("/account/login")
            r = self.http.post(
                base_url + "/account/login",
                data={"email": email, "password": PASSWORD, "csrf_token": token},
                allow_redirects=False,
            )
            assert r.status_code == 302, r.text[:300]
        self.page_csrf = re.search(
            r'data-csrf="([^"]*)"', self.http.get(f"{base_url}/hearings/{hearing_id}").text
        ).group(1)
        self.events: list[tuple[str, dict]] = []
        self.lock = threading.Lock()
        self.sio = socketio.Client(reconnection=False)
        for name in ("messages", "message_retracted", "message_published", "state", "summary", "error"):
            self.sio.on(name, self._recorder(name), namespace=NS)
        self.last_id = 0
        if connect.pop("autoconnect", True):
            self.connect(**connect)

    def _csrf(self, path):
        html = self.http.get(self.base + path).text
        return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)

    def _recorder(self, name):
        def record(data):
            with self.lock:
                self.events.append((name, data))
                for m in (data or {}).get("messages", []) if name == "messages" else []:
                    self.last_id = max(self.last_id, m["id"])

        return record

    def connect(self, headers=None, auth=None):
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)
        h = {"Cookie": cookie, "User-Agent": self.http.headers["User-Agent"], **(headers or {})}
        self.sio.connect(
            self.base,
            namespaces=[NS],
            headers=h,
            auth=auth if auth is not None else {"csrf": self.page_csrf},
            transports=["websocket"],
            wait_timeout=10,
        )

    def call(self, event, **payload):
        payload.setdefault("hearing_id", self.hearing_id)
        return self.sio.call(event, payload, namespace=NS, timeout=10)

    def join(self, last_id=0, since=None):
        answer = self.call("join", last_id=last_id, **({"since": since} if since else {}))
        assert answer["ok"], answer
        for m in answer["messages"]:
            self.last_id = max(self.last_id, m["id"])
        return answer

    def received(self, name):
        with self.lock:
            return [d for n, d in self.events if n == name]

    def texts(self):
        return [m["text"] for f in self.received("messages") for m in f["messages"]]

    def wait_for(self, predicate, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.02)
        raise AssertionError(f"condition not met; events: {self.events[-5:]}")

    def close(self):
        if self.sio.connected:
            self.sio.disconnect()


def test_delivery_is_coalesced_and_a_hidden_message_is_retracted_everywhere(live):
    server, hid = live
    poster, watcher, admin = (
        Client(server.url, hid, "p1@example.org"),
        Client(server.url, hid),
        Client(server.url, hid, "admin@example.org"),
    )
    try:
        for c in (poster, watcher, admin):
            c.join()
        burst = SENTENCES[:10]
        # two authors: the screening holds more than five posts a minute from one person
        acks = [(poster if i % 2 else admin).call("post_message", text=t) for i, t in enumerate(burst)]
        assert all(a["ok"] and a["state"] == "published" for a in acks), acks
        watcher.wait_for(lambda: len([t for t in watcher.texts() if t in burst]) == 10)
        assert [t for t in watcher.texts() if t in burst] == burst  # in order, once each
        frames = [f for f in watcher.received("messages") if f["messages"]]
        assert len(frames) < len(burst)  # coalesced: fewer frames than messages

        # A participant flags one; a moderator (the secretariat) hides it: every client drops it.
        target = acks[3]["id"]
        flagged = poster.http.post(
            f"{server.url}/submissions/{target}/flag", data={"reason": "abuse", "csrf_token": poster.page_csrf}
        )
        assert flagged.status_code in (200, 302), flagged.text[:300]
        hidden = admin.http.post(
            f"{server.url}/moderation/items/{target}/decide",
            data={"action": "hide", "reason": "abuse", "csrf_token": admin.page_csrf},
            allow_redirects=False,
        )
        assert hidden.status_code in (302, 303), hidden.text[:300]
        for c in (watcher, poster):
            c.wait_for(lambda c=c: {"id": target} in c.received("message_retracted"))
    finally:
        for c in (poster, watcher, admin):
            c.close()


def test_reconnect_replays_what_was_missed_in_order_without_duplicates(live):
    server, hid = live
    poster, watcher, chair = (
        Client(server.url, hid, "p2@example.org"),
        Client(server.url, hid),
        Client(server.url, hid, "chair@example.org"),
    )
    try:
        chair.join()
        poster.join()
        first = watcher.join()
        before = [m["id"] for m in first["messages"]]
        seen = watcher.last_id
        cursor = first["cursor"]
        watcher.sio.disconnect()  # the network drops

        texts = ["While you were away: " + t.lower() for t in reversed(SENTENCES)][:5]
        missed = [poster.call("post_message", text=t) for t in texts]
        assert all(a["ok"] and a["state"] == "published" for a in missed), missed
        # once the room has been sent them (the poster sees them), they can only come by replay
        poster.wait_for(lambda: set(texts) <= set(poster.texts()))
        watcher.sio = socketio.Client(reconnection=False)
        for name in ("messages", "message_retracted", "state"):
            watcher.sio.on(name, watcher._recorder(name), namespace=NS)
        watcher.connect()
        again = watcher.join(last_id=seen, since=cursor)
        replayed = [m["id"] for m in again["messages"]]
        assert replayed == [a["id"] for a in missed]  # all of them, in order
        assert not set(replayed) & set(before)  # nothing twice
        after = chair.call("post_message", text="And one after the reconnect.")
        watcher.wait_for(lambda: "And one after the reconnect." in watcher.texts())
        ids = replayed + [m["id"] for f in watcher.received("messages") for m in f["messages"]]
        assert len(ids) == len(set(ids)) and after["id"] in ids
    finally:
        for c in (poster, watcher, chair):
            c.close()


def test_chair_controls_are_for_the_chair_and_reach_participants(live):
    server, hid = live
    chair, speaker, other = (
        Client(server.url, hid, "chair@example.org"),
        Client(server.url, hid, "p2@example.org"),
        Client(server.url, hid, "p1@example.org"),
    )
    try:
        assert chair.join()["chair"] is True
        speaker.join()
        assert other.join()["chair"] is False
        asked = speaker.call("request_floor", constituency="youth", topic="Youth in fisheries councils")
        assert asked["ok"], asked
        refused = other.call("grant_floor", request_id=asked["request"]["id"])
        assert refused == {"ok": False, "error": "Only the hearing's chair can do this.", "code": "forbidden"}
        assert other.call("set_slow_mode", seconds=30)["code"] == "forbidden"
        granted = chair.call("grant_floor")
        assert granted["ok"] and granted["speaker"]["topic"] == "Youth in fisheries councils"
        other.wait_for(
            lambda: any(s["speaker"] and s["speaker"]["id"] == asked["request"]["id"] for s in other.received("state"))
        )
        assert chair.call("set_time_limit", seconds=120)["ok"]
        assert chair.call("set_slow_mode", seconds=2)["ok"]
        first = other.call("post_message", text="Slow mode lets everyone read.")
        assert first["ok"]
        second = other.call("post_message", text="Too fast.")
        assert second["ok"] is False and second["code"] == "slow_mode"
        assert chair.call("set_slow_mode", seconds=0)["ok"]
        chair.wait_for(lambda: len(chair.received("summary")) >= 1)  # sent when the chair joined
        assert chair.call("refresh_summary")["ok"]  # and again on request (or when the floor changes)
        chair.wait_for(
            lambda: any(s["balance"]["speakers"]["constituency"].get("youth") == 1 for s in chair.received("summary"))
        )
        summary = chair.received("summary")[-1]
        assert summary["themes"]["status"] in ("ok", "too_few", "unavailable")
        assert not other.received("summary")  # participants do not get the chair's panel
    finally:
        for c in (chair, speaker, other):
            c.close()


def test_foreign_origin_and_bad_csrf_are_refused(live):
    server, hid = live
    foreign = Client(server.url, hid, autoconnect=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        foreign.connect(headers={"Origin": "https://evil.example"})
    signed_in = Client(server.url, hid, "p1@example.org", autoconnect=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        signed_in.connect(auth={"csrf": "forged"})
    same_origin = Client(server.url, hid, autoconnect=False)
    same_origin.connect()  # the client sends its own Origin: the same one
    assert same_origin.join()["state"]["state"] == "live"
    same_origin.close()


def test_two_processes_share_rooms_through_redis(tmp_path):
    # a Redis database of our own (runs on SQLite and PostgreSQL may go side by side)
    redis_url = f"redis://127.0.0.1:6379/{2 + os.getpid() % 14}"
    database = redis.Redis.from_url(redis_url)
    database.delete(*database.keys("agora:presence:*") or ["agora:presence:none"])
    url = separate_database("hearings_redis")
    hid = seed(url)["hearing_id"]
    env = {"AGORA_REDIS_URL": redis_url}
    one = LiveServer(url, env=env).wait()  # one after the other: they migrate the same database
    two = LiveServer(url, env=env).wait()
    clients = []
    try:
        poster, watcher = Client(one.url, hid, "p1@example.org"), Client(two.url, hid)
        clients = [poster, watcher]
        poster.join()
        watcher.join()
        sent = poster.call("post_message", text="Posted on process one, read on process two.")
        assert sent["ok"]
        watcher.wait_for(lambda: "Posted on process one, read on process two." in watcher.texts())
        assert watcher.texts().count("Posted on process one, read on process two.") == 1
        # presence is counted across both processes (a Redis hash)
        watcher.wait_for(lambda: any(f.get("presence") == 2 for f in watcher.received("messages")))
    finally:
        for c in clients:
            c.close()
        one.stop()
        two.stop()
        database.delete(*database.keys("agora:presence:*") or ["agora:presence:none"])


def test_signing_out_everywhere_closes_the_users_live_sockets(live):
    server, hid = live
    participant = Client(server.url, hid, "p1@example.org")
    watcher = Client(server.url, hid)
    participant.join()
    assert participant.sio.connected
    token = participant._csrf("/account/security")
    participant.http.post(server.url + "/account/security/sign-out-everywhere", data={"csrf_token": token})
    deadline = time.monotonic() + 5
    while participant.sio.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not participant.sio.connected
    assert watcher.sio.connected  # other people's sockets stay
    watcher.close()
