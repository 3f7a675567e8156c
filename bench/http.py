"""HTTP benchmark: posting a view and reading a consultation page, embedded and scaled out.

    python bench/http.py [--seconds 10] [--connections 20] [--skip-scaled]

Uses wrk (Debian: apt-get install wrk) with a Lua script for the POSTs, pinned with taskset
away from the server (server on CPU 0, wrk on CPU 1 when there are two). Prints a table:
requests/s, p50 and p99 latency, non-2xx answers, and the gevent event-loop blocks over 100 ms
reported by gevent's monitor thread in the server's stderr. The monitor traces every greenlet
switch (a Python callback each time), which costs a busy server much of its throughput: rates and
latencies are measured with it off, as in production, and the posting load is run once more with it
on, for the blocks (the "blocks" rows; their rates are the monitor's, not the product's). Rows:

- post a view (API, personal token): validation, sanitising, embedding, moderation scoring,
  commit; three times: the server's helper processes (the embedding process, and the job process
  that refits themes) on the other CPU (beside wrk), on the server's own CPU, and the embedding in
  a native thread of the server (AGORA_EMBEDDINGS_PROCESS=0), with the CPU time each process spent
  per post. Each is measured in the steady state: after the warm-up, the job process its posts
  started has finished starting (imports, models) and its first refit;
- with the monitor on: posting, posting while another process holds the SQLite write lock for 3 s,
  and reading the page;
- read a consultation page, kept alive, with and without TCP_NODELAY (the 40 ms Nagle floor),
  also from a single kept-alive client (latency rather than throughput); wrk reads anonymously, so
  its readers share one rendering (agora/web/page_cache.py): rows with every page rendered
  (AGORA_PAGE_CACHE_SECONDS=0) give the cost of a signed-in reader's page;
- a bare Flask endpoint inserting one row into SQLite (bench/bare_app.py), for the ratio;
- the same post and read scaled out (PostgreSQL + Redis, N server processes, wrk split across them).

Rate limits are off (AGORA_RATELIMIT_ENABLED=0). Never asserted in tests: numbers depend on the machine.
"""

from __future__ import annotations

import os as _os
import sys as _sys

# This file is bench/http.py: drop bench/ from the import path so the standard library's `http`
# package is the one imported (by urllib, requests, flask).
_here = _os.path.dirname(_os.path.abspath(__file__))
_sys.path[:] = [p for p in _sys.path if _os.path.abspath(p or ".") != _here]

import argparse
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS_DEFAULT = "redis://127.0.0.1:6379/11"

SERVE = r"""
import sys
from gevent import monkey
monkey.patch_all()
from flask_migrate import upgrade
from agora import create_app
app = create_app()
with app.app_context():
    upgrade()
port, nodelay = int(sys.argv[1]), sys.argv[2] == "1"
if nodelay:
    from agora.server import serve
    serve(app, "127.0.0.1", port)
else:  # gevent's own server, without TCP_NODELAY: to show the Nagle + delayed-ACK floor
    from gevent.pywsgi import WSGIServer
    print("serving without TCP_NODELAY", flush=True)
    WSGIServer(("127.0.0.1", port), app, log=None).serve_forever()
"""

SEED = r"""
import json, sys
from flask_migrate import upgrade
from agora import create_app
from agora.extensions import db
from agora.models import User
from agora.services.accounts import accounts
from agora.services.participation import consultations, submissions
app = create_app()
with app.app_context():
    upgrade()
    c = consultations.create(consultations.ConsultationInput(title="Benchmark consultation", status="open"))
    users = [accounts.register(f"bench{i}@example.org", "correct horse battery", f"Bench {i}") for i in range(8)]
    token = accounts.create_token(users[0], "bench")[1]
    for i, text in enumerate(json.loads(sys.argv[1])):
        submissions.submit(c.id, users[i % len(users)], text)
    print(json.dumps({"consultation_id": c.id, "slug": c.slug, "token": token}))
"""

POST_LUA = r"""
local counter = 0
local threads = 0
local words = {"water", "schools", "fisheries", "transport", "mangroves", "finance", "youth",
  "councils", "rangers", "ports", "data", "languages", "farmers", "clinics", "forests", "cities"}
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function init(args)
  math.randomseed(tid * 7919 + os.time())
  wrk.method = "POST"
  wrk.path = os.getenv("BENCH_PATH")
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
end
function request()
  counter = counter + 1
  local a = words[math.random(#words)]
  local b = words[math.random(#words)]
  local c = words[math.random(#words)]
  local body = string.format('{"text": "View %d-%d: invest in %s and %s, and ask %s what works (%d)."}',
    tid, counter, a, b, c, math.random(1000000))
  return wrk.format(nil, nil, nil, body)
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpus() -> tuple[str, str]:
    n = os.cpu_count() or 1
    return ("0", "1") if n >= 2 else ("0", "0")


def statements(n: int) -> list[str]:
    import csv

    with (ROOT / "data" / "polis" / "comments.csv").open(encoding="utf-8") as handle:
        rows = [r["comment-body"].strip() for r in csv.DictReader(handle) if r["moderated"] == "1"]
    return sorted(set(rows), key=rows.index)[:n]


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time a process has used so far (0 if it is gone)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    def __init__(
        self,
        env: dict,
        *,
        nodelay: bool = True,
        bare_db: str | None = None,
        cpu: str = "0",
        monitor: bool = False,
        helpers_cpu: str | None = None,
    ):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.monitor = monitor
        self.log = open(Path(tempfile.mkdtemp(prefix="agora-httpbench-")) / "server.log", "w+")
        env = {**env, "AGORA_RATELIMIT_ENABLED": "0"}
        if monitor:  # gevent's monitor thread: reports each block of the event loop over 100 ms
            env.update(GEVENT_MONITOR_THREAD_ENABLE="1", GEVENT_MAX_BLOCKING_TIME="0.1")
        if bare_db:
            command = [sys.executable, str(ROOT / "bench" / "bare_app.py"), str(self.port), bare_db]
        else:
            command = [sys.executable, "-c", SERVE, str(self.port), "1" if nodelay else "0"]
        self.process = subprocess.Popen(
            ["taskset", "-c", cpu, *command], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        self.wait(path="/insert" if bare_db else "/healthz")
        self.helpers_cpu = helpers_cpu
        self.embedder = self._child(b"moderation.embedding_process")
        self.jobs: int | None = None  # the job process: started by the first job (see settle)
        self._place(self.embedder)

    def _child(self, module: bytes) -> int | None:
        """The pid of the server's child process running ``module``, if there is one."""
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            for pid in (task / "children").read_text().split():
                try:
                    if module in Path(f"/proc/{pid}/cmdline").read_bytes():
                        return int(pid)
                except FileNotFoundError:
                    continue
        return None

    def _place(self, pid: int | None) -> None:
        """A child inherits the server's CPU: move it to the helpers' CPU, if the row says one."""
        if pid is not None and self.helpers_cpu is not None:
            subprocess.run(["taskset", "-p", "-c", self.helpers_cpu, str(pid)], check=True, capture_output=True)

    def settle(self, seconds: float = 120) -> None:
        """After the warm-up's posts: place the job process they started (theme refits; older
        trees also embed there) and wait until it is idle, so the measured window is the steady
        state, not that process importing its libraries and loading its models."""
        self.jobs = self.jobs or self._child(b"agora.jobs")
        self._place(self.jobs)
        deadline, used = time.monotonic() + seconds, -1.0
        while self.jobs is not None and time.monotonic() < deadline:
            now = cpu_seconds(self.jobs)
            if now - used < 0.02:
                return
            used = now
            time.sleep(1)

    def cpu(self) -> tuple[float, float, float]:
        """CPU seconds used so far by the server, its embedding process and its job process."""
        return cpu_seconds(self.process.pid), cpu_seconds(self.embedder), cpu_seconds(self.jobs)

    def wait(self, path: str) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(Path(self.log.name).read_text()[-3000:])
            try:
                if path == "/insert":
                    request = urllib.request.Request(
                        self.url + path, data=b'{"text": "warm"}', headers={"Content-Type": "application/json"}
                    )
                else:
                    request = self.url + path
                urllib.request.urlopen(request, timeout=1)
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("server did not start:\n" + Path(self.log.name).read_text()[-3000:])

    def blocks(self) -> int | None:
        """gevent's reports of a blocked event loop so far. Not counted: reports whose blocked
        stack is the monitor thread's own sleep (gevent watches every thread's hub, and the
        monitor's thread gets one: those reports come every period, whatever the server does)."""
        if not self.monitor:
            return None
        reports = Path(self.log.name).read_text(errors="replace").split("appears to be blocked")[1:]
        return sum(1 for report in reports if not _monitor_own(report))

    def stop(self) -> None:
        self.jobs = self.jobs or self._child(b"agora.jobs")
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        # Its helpers would finish their work (a refit; in older trees, embedding a backlog of
        # views) on the next row's CPU time: stop them with it.
        for pid in (self.embedder, self.jobs):
            if pid is not None:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def _monitor_own(report: str) -> bool:
    """Whether a gevent blocking report's blocked stack is the monitor thread sleeping."""
    blocked = report.split("Blocked Stack", 1)[-1].split("\nInfo:", 1)[0]
    frames = re.findall(r'File "([^"]+)", line \d+, in (\S+)', blocked)
    return bool(frames) and frames[-1][0].endswith("gevent/_monitor.py")


def wrk(
    urls: list[str],
    path: str,
    *,
    seconds: int,
    connections: int,
    lua: str | None = None,
    env: dict | None = None,
    cpu: str = "1",
) -> dict:
    """Run wrk (one process per URL, connections split between them) and merge the results."""
    procs = []
    share = max(1, connections // len(urls))
    for url in urls:
        command = [
            "taskset",
            "-c",
            cpu,
            "wrk",
            "-t",
            "2" if share >= 2 else "1",
            "-c",
            str(share),
            "-d",
            f"{seconds}s",
            "--latency",
            "--timeout",
            "10s",
        ]
        if lua:
            command += ["-s", lua]
        command.append(url + path)
        procs.append(
            subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, **(env or {})}
            )
        )
    outputs = [p.communicate()[0] for p in procs]
    rates, p50s, p99s, non2xx, errors = [], [], [], 0, 0
    for out in outputs:
        match = re.search(r"Requests/sec:\s+([\d.]+)", out)
        if not match:
            raise RuntimeError("wrk failed:\n" + out)
        rates.append(float(match.group(1)))
        p50s.append(_ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)))
        p99s.append(_ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)))
        m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
        non2xx += int(m.group(1)) if m else 0
        m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
        errors += sum(int(x) for x in m.groups()) if m else 0
    return {"rps": sum(rates), "p50": max(p50s), "p99": max(p99s), "non2xx": non2xx, "errors": errors}


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def hold_sqlite_lock(path: str, after: float, seconds: float) -> threading.Thread:
    """Another process holds the SQLite write lock (BEGIN EXCLUSIVE) for `seconds`."""
    code = f"import sqlite3, time\ntime.sleep({after})\nc = sqlite3.connect({path!r}, isolation_level=None)\nc.execute('BEGIN EXCLUSIVE')\ntime.sleep({seconds})\nc.execute('ROLLBACK')\n"
    thread = threading.Thread(target=subprocess.run, args=([sys.executable, "-c", code],), daemon=True)
    thread.start()
    return thread


def first_post(url: str, post_env: dict) -> None:
    body = json.dumps({"text": "The first view after a start: clean water for every school, please."}).encode()
    headers = {"Content-Type": "application/json", "Authorization": "Bearer " + post_env["BENCH_TOKEN"]}
    urllib.request.urlopen(
        urllib.request.Request(url + post_env["BENCH_PATH"], data=body, headers=headers), timeout=120
    )


def warm(url: str, post_env: dict | None, page: str, lua: str) -> None:
    """Load the moderation model, templates and caches before measuring (2 s of each load)."""
    if post_env:
        first_post(url, post_env)
        wrk([url], "", lua=lua, env=post_env, seconds=2, connections=4)
    wrk([url], page, seconds=2, connections=4)


def seed(env: dict) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", SEED, json.dumps(statements(60))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def postgres_database(base: str, name: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(base)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--servers", type=int, default=2, help="server processes in the scaled-out rows")
    parser.add_argument("--skip-scaled", action="store_true")
    parser.add_argument(
        "--only", choices=("post", "read", "bare"), help="only these embedded rows (and no scaled-out rows)"
    )
    parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES", PG_DEFAULT))
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS", REDIS_DEFAULT))
    args = parser.parse_args(argv)
    server_cpu, client_cpu = cpus()
    lua = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    lua.write(POST_LUA)
    lua.close()
    rows: list[tuple[str, dict, int | None]] = []
    cpu_notes: list[tuple[str, float, float, float]] = []  # (row, CPU ms a post: server, embedding process, jobs)
    run = dict(seconds=args.seconds, connections=args.connections, cpu=client_cpu)
    one = dict(seconds=max(3, args.seconds // 2), connections=1, cpu=client_cpu)  # latency of one kept-alive client

    # ---- embedded: SQLite, one process
    folder = tempfile.mkdtemp(prefix="agora-httpbench-")
    database = f"{folder}/agora.sqlite3"
    env = {
        **os.environ,
        "AGORA_DATABASE_URL": f"sqlite:///{database}",
        "AGORA_INSTANCE_PATH": folder,
        "AGORA_SECRET_KEY": "bench",
    }
    env.pop("AGORA_REDIS_URL", None)
    env.pop("AGORA_JOBS", None)
    ids = seed(env)
    post_env = {
        "BENCH_PATH": f"/api/v1/consultations/{ids['consultation_id']}/submissions",
        "BENCH_TOKEN": ids["token"],
    }
    page = f"/consultations/{ids['slug']}"

    def want(kind: str) -> bool:
        return args.only in (None, kind)

    # Reads first (before the posts grow the consultation and start background theme refits).
    if want("read"):
        nagle = Server(env, nodelay=False, cpu=server_cpu)
        try:
            warm(nagle.url, None, page, lua.name)
            rows.append(("embedded: read the page, without TCP_NODELAY", wrk([nagle.url], page, **run), None))
            rows.append(
                ("embedded: read the page, 1 connection, without TCP_NODELAY", wrk([nagle.url], page, **one), None)
            )
            rows.append(
                ("embedded: GET /healthz, 1 connection, without TCP_NODELAY", wrk([nagle.url], "/healthz", **one), None)
            )
        finally:
            nagle.stop()
        # Anonymous readers share a rendering (agora/web/page_cache.py); what rendering every page costs:
        rendered = Server({**env, "AGORA_PAGE_CACHE_SECONDS": "0"}, cpu=server_cpu)
        try:
            warm(rendered.url, None, page, lua.name)
            rows.append(
                ("embedded: read the page, every page rendered (no sharing)", wrk([rendered.url], page, **run), None)
            )
            rows.append(
                ("embedded: read the page, 1 connection, every page rendered", wrk([rendered.url], page, **one), None)
            )
        finally:
            rendered.stop()
    if want("read"):
        server = Server(env, cpu=server_cpu)
        try:
            warm(server.url, None, page, lua.name)
            rows.insert(0, ("embedded: read the consultation page", wrk([server.url], page, **run), None))
            rows.append(("embedded: read the page, 1 connection (TCP_NODELAY)", wrk([server.url], page, **one), None))
            rows.append(
                ("embedded: GET /healthz, 1 connection (TCP_NODELAY)", wrk([server.url], "/healthz", **one), None)
            )
        finally:
            server.stop()
    if want("post"):
        # Where the embedding (~1.5 ms of CPU a view) and the job process (theme refits, niced)
        # run: on the other core (the placement an OS would choose on an idle machine; there they
        # share it with wrk), on the server's core (one core for everything), or the embedding in
        # a native thread of the server (AGORA_EMBEDDINGS_PROCESS=0, as before the embedding process).
        placements = [
            ("embedded: post a view (API)", {}, client_cpu),
            ("embedded: post, helper processes on the server's CPU", {}, server_cpu),
            ("embedded: post, embedding in a thread of the server", {"AGORA_EMBEDDINGS_PROCESS": "0"}, None),
        ]
        for position, (label, extra, helpers_cpu) in enumerate(placements):
            server = Server({**env, **extra}, cpu=server_cpu, helpers_cpu=helpers_cpu)
            try:
                warm(server.url, post_env, page, lua.name)
                server.settle()
                before = server.cpu()
                result = wrk([server.url], "", lua=lua.name, env=post_env, **run)
                after = server.cpu()
                posts = result["rps"] * args.seconds
                cpu_notes.append((label, *(1000 * (b - a) / posts for a, b in zip(before, after))))
                rows.insert(position, (label, result, None))
            finally:
                server.stop()
    if want("post"):
        watched = Server(env, cpu=server_cpu, monitor=True, helpers_cpu=client_cpu)
        try:
            # A new process indexes a consultation's stored views for near-duplicates on its first
            # post there (seconds for thousands): the loop must keep answering meanwhile.
            stored = sqlite3.connect(database).execute("SELECT count(*) FROM submissions").fetchone()[0]
            before = watched.blocks()
            first = threading.Thread(target=first_post, args=(watched.url, post_env))
            first.start()
            healthz = wrk([watched.url], "/healthz", **one)
            first.join(120)
            rows.append(
                (
                    f"blocks: GET /healthz, 1 conn, while the first post indexes {stored:,} views",
                    healthz,
                    watched.blocks() - before,
                )
            )
            warm(watched.url, post_env, page, lua.name)
            watched.settle()
            before = watched.blocks()
            rows.append(
                (
                    "blocks: post, gevent's monitor thread on",
                    wrk([watched.url], "", lua=lua.name, env=post_env, **run),
                    watched.blocks() - before,
                )
            )
            before = watched.blocks()
            locker = hold_sqlite_lock(database, after=min(3, args.seconds / 3), seconds=3)
            rows.append(
                (
                    "blocks: post, SQLite locked 3 s by another process",
                    wrk([watched.url], "", lua=lua.name, env=post_env, **run),
                    watched.blocks() - before,
                )
            )
            locker.join(30)
            warm(watched.url, None, page, lua.name)
            before = watched.blocks()
            rows.append(
                (
                    "blocks: read the page, gevent's monitor thread on",
                    wrk([watched.url], page, **run),
                    watched.blocks() - before,
                )
            )
        finally:
            watched.stop()

    if want("bare"):
        bare_db = f"{folder}/bare.sqlite3"
        bare = Server(env, bare_db=bare_db, cpu=server_cpu)
        try:
            bare_env = {"BENCH_PATH": "/insert", "BENCH_TOKEN": "none"}
            rows.append(
                ("bare Flask: insert one row into SQLite", wrk([bare.url], "", lua=lua.name, env=bare_env, **run), None)
            )
        finally:
            bare.stop()

    # ---- scaled out: PostgreSQL + Redis, N server processes
    if not args.skip_scaled and not args.only:
        url = postgres_database(args.postgres, "agora_bench_scaled")
        scaled_env = {
            **os.environ,
            "AGORA_DATABASE_URL": url,
            "AGORA_REDIS_URL": args.redis,
            "AGORA_SECRET_KEY": "bench",
            "AGORA_INSTANCE_PATH": folder,
        }
        scaled_env.pop("AGORA_JOBS", None)
        seed_env = {k: v for k, v in scaled_env.items() if k != "AGORA_REDIS_URL"}
        ids = seed(seed_env)
        post_env = {
            "BENCH_PATH": f"/api/v1/consultations/{ids['consultation_id']}/submissions",
            "BENCH_TOKEN": ids["token"],
        }
        page = f"/consultations/{ids['slug']}"
        servers = []
        try:
            for _ in range(args.servers):
                servers.append(
                    Server(
                        scaled_env, cpu=server_cpu if args.servers == 1 else f"0-{max(0, (os.cpu_count() or 1) - 1)}"
                    )
                )
            urls = [s.url for s in servers]
            for u in urls:
                warm(u, post_env, page, lua.name)
            label = f"scaled out ({args.servers} servers, PostgreSQL, Redis)"
            rows.append((f"{label}: read the page", wrk(urls, page, **run), None))
            rows.append((f"{label}: post a view", wrk(urls, "", lua=lua.name, env=post_env, **run), None))
        finally:
            for s in servers:
                s.stop()

    print()
    print(
        f"{args.connections} concurrent kept-alive connections unless the row says 1, {args.seconds} s per row, server on CPU {server_cpu}, wrk on CPU {client_cpu}; rate limits off"
    )
    print(f"{'what':<62} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'errors':>7} {'blocks>100ms':>13}")
    for name, r, blocks in rows:
        print(
            f"{name:<62} {r['rps']:>8.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} {r['non2xx']:>8} {r['errors']:>7} {blocks if blocks is not None else '-':>13}"
        )
    if cpu_notes:
        print(f"\n{'CPU time a post (ms)':<62} {'server':>8} {'embedder':>9} {'jobs':>6}")
        for name, server_ms, embedder_ms, jobs_ms in cpu_notes:
            print(f"{name:<62} {server_ms:>8.2f} {embedder_ms:>9.2f} {jobs_ms:>6.2f}")
    bare_rps = next((r["rps"] for n, r, _ in rows if n.startswith("bare")), None)
    post_rps = next((r["rps"] for n, r, _ in rows if n == "embedded: post a view (API)"), None)
    if bare_rps and post_rps:
        print(f"\nembedded posting runs at {100 * post_rps / bare_rps:.0f} % of the bare insert endpoint's rate")
    return 0


if __name__ == "__main__":
    sys.exit(main())
