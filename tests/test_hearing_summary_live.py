"""The chair's live summary on a real server with real Socket.IO clients: twelve participants post
one message each, on two concerns, in the six UN languages; within seconds the chair's `summary`
event groups them by meaning (each theme in every language, named in each), with how the room
leans on each theme and which constituencies speak in it and which do not."""

import pytest

from tests.hearing_messages import MESSAGES
from tests.live_server import LiveServer, separate_database
from tests.test_hearings_live import Client, seed

pytestmark = pytest.mark.server

PARTICIPANTS = [
    (f"p{i}@example.org", f"Speaker {i}", "ngo" if i < 6 else "youth", "SN" if i < 6 else "FR") for i in range(12)
]
PARTICIPANTS.append(("voter@example.org", "Voter", None, None))


@pytest.fixture(scope="module")
def live():
    url = separate_database("summary")
    hearing_id = seed(url, PARTICIPANTS)["hearing_id"]
    # fourteen people sign in from one address within seconds: the sign-in limit is not under test
    server = LiveServer(url, env={"AGORA_RATELIMIT_ENABLED": "0"}).wait()
    yield server, hearing_id
    server.stop()


def test_the_chair_sees_themes_by_meaning_how_the_room_leans_and_who_is_absent(live):
    server, hid = live
    chair = Client(server.url, hid, "chair@example.org")
    clients = [chair]
    try:
        chair.join()
        posted = {}
        for i, (concern, _language, text) in enumerate(MESSAGES):
            poster = Client(server.url, hid, f"p{i}@example.org")
            clients.append(poster)
            poster.join()
            answer = poster.call("post_message", text=text)
            assert answer["ok"] and answer["state"] == "published", answer
            posted[answer["id"]] = concern
        voter = Client(server.url, hid, "voter@example.org")
        clients.append(voter)
        voter.join()
        fish_ids = [i for i, c in posted.items() if c == "fish"]
        for message_id in fish_ids[:2]:
            assert voter.call("vote", id=message_id, vote="agree")["ok"]
        assert chair.call("refresh_summary")["ok"]

        def ready():
            return any(s["themes"].get("status") == "ok" and s["themes"]["n"] == 12 for s in chair.received("summary"))

        chair.wait_for(ready, timeout=30)
        themes = next(s for s in reversed(chair.received("summary")) if s["themes"].get("n") == 12)["themes"]
        assert len(themes["themes"]) == 2, themes
        by_concern = {}
        for theme in themes["themes"]:
            concerns = {posted[q["id"]] for q in theme["quotes"]}
            assert len(concerns) == 1, theme  # one concern a theme, in every language
            by_concern[concerns.pop()] = theme
            assert set(theme["languages"]) == set(theme["labels"]) == {"ar", "en", "es", "fr", "ru", "zh"}
        assert by_concern["fish"]["lean"]["agree"] == 2 and by_concern["plastic"]["lean"]["votes"] == 0
        assert by_concern["fish"]["constituencies"] == {"present": {"ngo": 6}, "absent": ["youth"]}
        assert by_concern["plastic"]["constituencies"]["absent"] == ["ngo"]
    finally:
        for client in clients:
            client.close()
