"""Helpers for the fault and scale-out tests: a dedicated redis-server, seeding a server's database
with API tokens, posting with retries across servers, reading rows back, and test-only jobs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

from tests.live_server import ROOT, free_port

PASSWORD = "correct horse battery"

SEED = r"""
import json, sys
from flask_migrate import upgrade
from agora import create_app
from agora.extensions import db
from agora.services import hearings
from agora.services.accounts import accounts
from agora.services.participation import consultations
n_users, password = int(sys.argv[1]), sys.argv[2]
app = create_app()
with app.app_context():
    upgrade()
    c = consultations.create(consultations.ConsultationInput(title="Oceans and plastics", status="open"))
    tokens = []
    for i in range(n_users):
        u = accounts.register(f"poster{i}@example.org", password, f"Poster {i}")
        tokens.append(accounts.create_token(u, "faults")[1])
    admin = accounts.register("admin@example.org", password, "Secretariat")
    accounts.assign_role(admin, "admin", None, None)
    accounts.register("p1@example.org", password, "Kofi")
    h = hearings.create(c.id, "Ocean commitments: progress review")
    h.state = "live"
    db.session.commit()
    print(json.dumps({"consultation_id": c.id, "hearing_id": h.id, "tokens": tokens}))
"""


def seed(database_url: str, n_users: int = 4) -> dict:
    """Migrate a server's own database and create an open consultation, a live hearing and
    `n_users` participants with personal API tokens (through the services, in a subprocess)."""
    env = {**os.environ, "AGORA_DATABASE_URL": database_url, "AGORA_SECRET_KEY": "live-test-secret"}
    env.pop("AGORA_REDIS_URL", None)
    env.pop("AGORA_JOBS", None)
    out = subprocess.run(
        [sys.executable, "-c", SEED, str(n_users), PASSWORD],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


class RedisServer:
    """A redis-server of our own on a free port (no persistence), started and killed by the test."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_timeout=0.5).ping():
                    return self
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


class Poster(threading.Thread):
    """A client posting views through the API: on a connection error or a 5xx it retries the same
    view (same Idempotency-Key) on the next server, so nothing is stored twice. Records what was
    acknowledged (201, or 200 for a replay) and every status it saw."""

    def __init__(
        self,
        servers: list[str],
        consultation_id: int,
        token: str,
        texts: list[str],
        *,
        first: int = 0,
        pause: float = 0.0,
    ):
        super().__init__(daemon=True)
        self.servers, self.cid, self.token, self.texts = servers, consultation_id, token, texts
        self.current = first
        self.pause = pause
        self.acked: dict[int, str] = {}  # submission id -> text
        self.statuses: list[int] = []
        self.errors: list[str] = []
        self.session = requests.Session()

    def run(self) -> None:
        for view in self.texts:
            key = uuid.uuid4().hex
            for _attempt in range(12):
                base = self.servers[self.current % len(self.servers)]
                try:
                    r = self.session.post(
                        f"{base}/api/v1/consultations/{self.cid}/submissions",
                        json={"text": view},
                        headers={**bearer(self.token), "Idempotency-Key": key},
                        timeout=15,
                    )
                except requests.RequestException as error:
                    self.errors.append(type(error).__name__)
                    self.current += 1  # that server is gone: the client chooses another
                    self.session = requests.Session()
                    continue
                self.statuses.append(r.status_code)
                if r.status_code in (200, 201):
                    self.acked[r.json()["id"]] = view
                    break
                if r.status_code >= 500:
                    self.current += 1
                    time.sleep(0.1)
                    continue
                break
            if self.pause:
                time.sleep(self.pause)


def stored_texts(database_url: str, ids) -> dict[int, str]:
    """The rows the database holds for these submission ids (read directly, not through a server)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, text FROM submissions")).all()
    finally:
        engine.dispose()
    wanted = set(ids)
    return {i: t for i, t in rows if i in wanted}


def count_rows(database_url: str, *tables: str) -> dict[str, int]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}
    finally:
        engine.dispose()


def views(prefix: str, n: int) -> list[str]:
    """Distinct, ordinary civic statements (published by the screening, not held as a flood)."""
    topics = [
        "public transport in rural areas",
        "clean water for schools",
        "coastal mangrove restoration",
        "open data on fisheries",
        "youth seats on regional councils",
        "shore power for ports",
        "funding for marine rangers",
        "recycling of fishing nets",
        "plastic pellet spills",
        "local languages in public hearings",
    ]
    return [f"{prefix} {i}: we should invest more in {topics[i % len(topics)]} (point {i})." for i in range(n)]


# ------------------------------------------------------------------ test-only jobs (dotted names)


def slow_refit(consultation_id: int, flag_path: str) -> None:
    """A theme refit that is slow the first time: it claims a snapshot run as the real refit does,
    then sleeps (the test kills the process running it); a retry runs the real refit job."""
    from agora.jobs.themes import refit_consultation
    from agora.services.analysis import themes

    flag = Path(flag_path)
    if not flag.exists():
        snapshot = themes.start_snapshot(consultation_id, None, "themes")
        flag.write_text(f"{os.getpid()} {snapshot.id if snapshot else ''}")
        time.sleep(300)
        return
    refit_consultation(consultation_id)
    Path(flag_path + ".done").write_text("done")


def sleep_then_write(path: str, seconds: float) -> None:
    """A plain slow job: announce the pid running it, sleep, then write a file."""
    Path(path + ".pid").write_text(str(os.getpid()))
    time.sleep(seconds)
    Path(path).write_text("done")


def interrupted(name: str, *args) -> None:
    """The worker's clean-up hook for the jobs above: slow_refit stands for the real refit."""
    if name == "slow_refit":
        from agora.jobs.themes import interrupted as themes_interrupted

        themes_interrupted("refit_consultation", args[0])
