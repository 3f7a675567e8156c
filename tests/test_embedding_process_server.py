"""A real server embeds in its embedding process: views are screened with the vector that process
computed (abuse in Arabic is held, a Chinese proposal is published), each view's vector is stored,
and a killed embedding process is replaced without a view lost or left unscreened."""

import os
import signal
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.live_server import LiveServer, separate_database
from tests.scaleout_support import bearer, seed

pytestmark = pytest.mark.server

ARABIC_ABUSE = "أنت حمار وحقير، اخرس يا كلب، لا أحد يريد سماع كلامك القذر"
CHINESE_PROPOSAL = "我们建议在每个村庄的学校修建安全的饮用水设施，并由地方议会每年公布水质检测结果。"
FRENCH_PROPOSAL = "Nous proposons que chaque école rurale publie chaque année les analyses de son eau potable."


def embedding_children(server_pid: int) -> list[int]:
    """The server's child processes running the embedding process."""
    found = []
    for task in Path(f"/proc/{server_pid}/task").iterdir():
        for pid in (task / "children").read_text().split():
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except FileNotFoundError:
                continue
            if b"moderation.embedding_process" in command:
                found.append(int(pid))
    return found


def stored(database_url: str, submission_id: int) -> tuple[str, int]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            state = conn.execute(text("SELECT state FROM submissions WHERE id = :i"), {"i": submission_id}).scalar_one()
            vectors = conn.execute(
                text("SELECT count(*) FROM submission_vectors WHERE submission_id = :i"), {"i": submission_id}
            ).scalar_one()
    finally:
        engine.dispose()
    return state, vectors


def test_views_are_screened_with_the_embedding_process_and_survive_its_death():
    database_url = separate_database("embedding-process")
    world = seed(database_url, n_users=1)
    server = LiveServer(database_url).wait()
    try:
        cid, token = world["consultation_id"], world["tokens"][0]

        def post(view: str) -> int:
            r = requests.post(
                f"{server.url}/api/v1/consultations/{cid}/submissions",
                json={"text": view},
                headers=bearer(token),
                timeout=30,
            )
            assert r.status_code == 201, r.text
            return r.json()["id"]

        children = embedding_children(server.process.pid)
        assert len(children) == 1, "the server starts its embedding process before it serves"
        abuse, proposal = post(ARABIC_ABUSE), post(CHINESE_PROPOSAL)
        assert stored(database_url, abuse) == ("held", 1)
        assert stored(database_url, proposal) == ("published", 1)

        os.kill(children[0], signal.SIGKILL)
        after = post(FRENCH_PROPOSAL)
        assert stored(database_url, after) == ("published", 1)
        replaced = embedding_children(server.process.pid)
        assert len(replaced) == 1 and replaced != children
    finally:
        server.stop()
