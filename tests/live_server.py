"""A real Agora server process (gevent, WebSockets) on a free port, for browser and socket tests."""

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CREATED_DATABASES: list[str] = []


def separate_database(suffix: str) -> str:
    """A database of its own for a server process, so it never races the in-process tests."""
    base = os.environ.get("AGORA_DATABASE_URL", "")
    if base.startswith("postgresql"):
        url = make_url(base)
        name = f"{url.database}_{suffix}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        CREATED_DATABASES.append(name)
        return url.set(database=name).render_as_string(hide_password=False)
    folder = tempfile.mkdtemp(prefix=f"agora-{suffix}-")
    return f"sqlite:///{folder}/agora.sqlite3"


class LiveServer:
    def __init__(self, database_url: str, *, demo: bool = False, env: dict | None = None, port: int | None = None):
        """``port``: one chosen beforehand, for settings that name the server's own address (AGORA_PUBLIC_URL)."""
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.instance = tempfile.mkdtemp(prefix="agora-instance-")
        self.log_path = Path(self.instance) / "server.log"
        environment = {
            **os.environ,
            "AGORA_DATABASE_URL": database_url,
            "AGORA_INSTANCE_PATH": self.instance,
            "AGORA_SECRET_KEY": "live-test-secret",
            **(env or {}),
        }
        command = [sys.executable, "-m", "agora", "serve", "--port", str(self.port)]
        if demo:
            command.append("--demo")
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=self.log, stderr=subprocess.STDOUT)

    def wait(self, timeout: float = 120) -> "LiveServer":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server did not start:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
