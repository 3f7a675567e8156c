"""The scaled-out deployment, run for real by its one command (scripts/scaleout.py): two gevent
servers and an RQ worker on PostgreSQL and Redis; a view posted on one server is read on the
other, a theme refit is queued by a server and done by the worker, and SIGTERM stops everything."""

import os
import re
import signal
import subprocess
import sys
import time

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import civic_statements
from tests.live_server import ROOT, free_port
from tests.scaleout_support import RedisServer, bearer, seed

pytestmark = pytest.mark.server

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_database(suffix: str) -> str:
    """The scaled-out mode is PostgreSQL whatever the suite runs on: a database of its own."""
    base = os.environ.get("AGORA_DATABASE_URL", "")
    url = make_url(base if base.startswith("postgresql") else DEFAULT_POSTGRES)
    name = f"{url.database}_{suffix}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_scaleout_command_runs_servers_and_workers_and_stops_them(tmp_path):
    url = postgres_database("scaleout")
    ids = seed(url, n_users=3)
    cid, tokens = ids["consultation_id"], ids["tokens"]
    redis_server = RedisServer().start()
    first_port = free_port()
    while free_port() == first_port + 1:  # rarely matters; ports are checked by the command itself
        pass
    env = {
        **os.environ,
        "AGORA_DATABASE_URL": url,
        "AGORA_REDIS_URL": redis_server.url,
        "AGORA_SECRET_KEY": "live-test-secret",
        "AGORA_RATELIMIT_ENABLED": "0",
    }  # limits are tested elsewhere; here: posting fast enough for a refit
    out_path = tmp_path / "scaleout.out"
    process = subprocess.Popen(
        [
            sys.executable,
            "scripts/scaleout.py",
            "--servers",
            "2",
            "--workers",
            "1",
            "--port",
            str(first_port),
            "--log-dir",
            str(tmp_path / "logs"),
            "--no-restart",
        ],
        cwd=ROOT,
        env=env,
        stdout=open(out_path, "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    pids: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while "Ctrl+C" not in out_path.read_text():
            assert process.poll() is None, out_path.read_text()[-3000:]
            assert time.monotonic() < deadline, "scaleout did not start:\n" + out_path.read_text()[-3000:]
            time.sleep(0.2)
        printed = out_path.read_text()
        urls = re.findall(r"server  (http://127\.0\.0\.1:\d+)/", printed)
        pids = [int(p) for p in re.findall(r"pid (\d+)", printed)]
        assert urls == [f"http://127.0.0.1:{first_port}", f"http://127.0.0.1:{first_port + 1}"], printed
        assert len(pids) == 3, printed

        for base in urls:  # each server sees the database, Redis and the worker
            deadline = time.monotonic() + 30
            while True:
                body = requests.get(base + "/readyz", timeout=10).json()
                if body["status"] == "ok" or time.monotonic() > deadline:
                    break
                time.sleep(0.3)
            assert body == {"status": "ok", "checks": {"database": "ok", "redis": "ok", "workers": "ok (1)"}}, body

        # Posted on one server, read on the other (one database).
        r = requests.post(
            f"{urls[0]}/api/v1/consultations/{cid}/submissions",
            json={"text": civic_statements(1)[0]},
            headers=bearer(tokens[0]),
            timeout=30,
        )
        assert r.status_code == 201, r.text[:300]
        read = requests.get(f"{urls[1]}/api/v1/submissions/{r.json()['id']}", headers=bearer(tokens[0]), timeout=30)
        assert read.status_code == 200 and read.json()["text"] == civic_statements(1)[0]

        # Enough views for themes: the servers queue the refit on Redis, the worker computes it.
        statements = civic_statements(40)[1:]
        engine = create_engine(url)
        ready = None
        deadline = time.monotonic() + 90
        n = 0
        while ready is None and time.monotonic() < deadline:
            posted = requests.post(
                f"{urls[n % 2]}/api/v1/consultations/{cid}/submissions",
                json={"text": statements[n % len(statements)]},
                headers=bearer(tokens[n % 3]),
                timeout=30,
            )
            assert posted.status_code == 201, posted.text[:300]
            n += 1
            with engine.connect() as conn:
                ready = conn.execute(
                    text("SELECT id FROM theme_snapshots WHERE kind = 'themes' AND status = 'ready'")
                ).first()
            time.sleep(1.0 if n > 8 else 0.1)
        engine.dispose()
        assert ready is not None, (
            "no theme snapshot was computed by the worker:\n" + (tmp_path / "logs" / "worker-1.log").read_text()[-3000:]
        )
        assert "refit_consultation" in (tmp_path / "logs" / "worker-1.log").read_text()

        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0, out_path.read_text()[-3000:]
        assert "Stopped." in out_path.read_text()
        deadline = time.monotonic() + 10
        while any(alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(alive(p) for p in pids), "a server or worker outlived the command"
        for base in urls:
            with pytest.raises(requests.ConnectionError):
                requests.get(base + "/healthz", timeout=2)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        for pid in pids:
            if alive(pid):
                os.killpg(pid, signal.SIGKILL)
        redis_server.kill()
