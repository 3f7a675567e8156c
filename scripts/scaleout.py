"""Run the scaled-out deployment on one machine: N gevent servers, M RQ workers, PostgreSQL, Redis.

    python scripts/scaleout.py --servers 2 --workers 1

Needs AGORA_DATABASE_URL (PostgreSQL, psycopg 3) and AGORA_REDIS_URL in the environment (or
--database-url / --redis-url). It migrates the database once, starts the servers on consecutive
ports (--port, default 5001) and the workers (AGORA_JOBS=rq), prints the URLs, and stops
everything on Ctrl+C or SIGTERM. There is no proxy: the client chooses a port (N ports, each a
full server; Socket.IO clients that use the WebSocket transport need no stickiness, long-polling
ones must keep to one port, e.g. behind a load balancer hashing on the client address). A server
or worker that dies is restarted (at most --restarts times each) unless --no-restart is given.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class Child:
    """One server or worker process, in its own process group so it can be signalled alone."""

    def __init__(self, name: str, command: list[str], env: dict, log_dir: Path | None):
        self.name, self.command, self.env = name, command, env
        self.log_path = log_dir / f"{name}.log" if log_dir else None
        self.restarts = 0
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        out = open(self.log_path, "a") if self.log_path else None
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,
        )
        if out:
            out.close()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                pass


def migrate(env: dict) -> None:
    """Upgrade the database once, before any server starts (servers upgrade too: then a no-op)."""
    code = "from flask_migrate import upgrade\nfrom agora import create_app\napp = create_app()\nwith app.app_context(): upgrade()\n"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=300)


def wait_healthy(url: str, child: Child, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive():
            raise RuntimeError(
                f"{child.name} exited with {child.process.returncode}"
                + (f"; see {child.log_path}" if child.log_path else "")
            )
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{child.name} did not answer {url}/healthz within {timeout:.0f} s")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=2, help="gevent server processes (default 2)")
    parser.add_argument("--workers", type=int, default=1, help="RQ worker processes (default 1)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001, help="first port; servers take consecutive ports")
    parser.add_argument("--database-url", default=os.environ.get("AGORA_DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("AGORA_REDIS_URL"))
    parser.add_argument("--log-dir", help="write each process's output to DIR/<name>.log (default: this terminal)")
    parser.add_argument("--restarts", type=int, default=5, help="restart a process that dies, at most this many times")
    parser.add_argument("--no-restart", action="store_true", help="do not restart processes that die")
    parser.add_argument("--demo", action="store_true", help="load the demo data once before starting")
    args = parser.parse_args(argv)

    if not args.database_url or not args.database_url.startswith("postgresql"):
        parser.error(
            "set AGORA_DATABASE_URL (or --database-url) to a PostgreSQL URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/agora"
        )
    if not args.redis_url:
        parser.error("set AGORA_REDIS_URL (or --redis-url), e.g. redis://127.0.0.1:6379/0")
    if args.servers < 1 or args.workers < 0:
        parser.error("--servers must be at least 1 and --workers at least 0")

    env = {
        **os.environ,
        "AGORA_DATABASE_URL": args.database_url,
        "AGORA_REDIS_URL": args.redis_url,
        "AGORA_JOBS": "rq",
        "PYTHONUNBUFFERED": "1",
    }
    # Every process must sign sessions and CSRF tokens with the same key.
    env.setdefault("AGORA_SECRET_KEY", secrets.token_hex(32))
    log_dir = Path(args.log_dir) if args.log_dir else None
    if log_dir:
        log_dir.mkdir(parents=True, exist_ok=True)

    print(f"Migrating {args.database_url.rsplit('@', 1)[-1]} …", flush=True)
    migrate(env)
    if args.demo:
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "agora", "agora", "demo"], cwd=ROOT, env=env, check=True
        )

    children: list[Child] = []
    urls = []
    for i in range(args.servers):
        port = args.port + i
        url = f"http://{args.host}:{port}"
        urls.append(url)
        children.append(
            Child(
                f"server-{port}",
                [sys.executable, "-m", "agora", "serve", "--host", args.host, "--port", str(port)],
                env,
                log_dir,
            )
        )
    for i in range(args.workers):
        children.append(Child(f"worker-{i + 1}", [sys.executable, "-m", "agora.jobs.worker"], env, log_dir))

    stopping = False

    def stop(signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    try:
        for child in children:
            child.start()
        for url, child in zip(urls, children):
            wait_healthy(url, child, 120)
        print("Agora is running, scaled out:", flush=True)
        for url, child in zip(urls, children):
            print(f"  server  {url}/  (pid {child.process.pid}; readiness: {url}/readyz)", flush=True)
        for child in children[len(urls) :]:
            print(f"  worker  {child.name} (pid {child.process.pid})", flush=True)
        print("Ctrl+C or SIGTERM stops everything.", flush=True)
        while not stopping:
            for child in children:
                if not child.alive() and not stopping:
                    code = child.process.returncode
                    if args.no_restart or child.restarts >= args.restarts:
                        print(f"{child.name} exited ({code}); not restarting.", flush=True)
                        stopping = True
                        break
                    child.restarts += 1
                    print(f"{child.name} exited ({code}); restarting ({child.restarts}/{args.restarts}).", flush=True)
                    child.start()
            time.sleep(0.2)
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return_code = 1
    else:
        return_code = 0
    finally:
        for child in children:
            child.signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for child in children:
            while child.alive() and time.monotonic() < deadline:
                time.sleep(0.05)
            child.signal(signal.SIGKILL)
            if child.process is not None:
                child.process.wait()
        print("Stopped.", flush=True)
    return return_code


if __name__ == "__main__":
    sys.exit(main())
