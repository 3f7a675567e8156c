"""Live hearing fan-out benchmark: one hearing, N viewers, messages posted at a fixed rate.

    python bench/live.py --viewers 1000 --rate 1 --seconds 30
    python bench/live.py --viewers 1000 --rate 20 --seconds 15
    python bench/live.py --viewers 2000 --restart        # kill and restart the server mid-run
    python bench/live.py --viewers 1000 --scaled         # 2 server processes + Redis message queue
    python bench/live.py --quick                         # 200 viewers, 10 s

The audience are light raw Engine.IO v4 / Socket.IO v5 websocket clients (gevent, a few hundred per
process, spread over several processes); a few full python-socketio clients watch too; signed-in
python-socketio clients post (round robin over several accounts, because the screening holds more
than five posts a minute from one person). The same load then runs against a bare python-socketio
broadcast server (no app, no database, no coalescing) and the ratios are printed.

Reported: time from post until the last viewer has the message (p50/p95/p99), delivered frames/s
(every event frame any client got, presence and state included), frames per client per second
(mean, and the worst second of the worst client), server CPU µs per delivered frame and per
delivered message, server memory per client, lost and duplicated messages. Theme refits run in the
server's job process (AGORA_JOBS=process, the embedded default): its CPU is the "jobs CPU %" column,
apart from the server's (AGORA_JOBS=thread puts them back in the server).

``--restart`` kills the server(s) a third of the way into the posting (SIGTERM) and starts them
again on the same port and database; the viewers reconnect with the hearing page's back-off
(1 s doubling to 5 s, ±50 % jitter) and join with the last id they saw. Reported: when the server
listened again, when every viewer had reconnected and received its replay (resynced), counted
from the kill, and lost or duplicated messages across the restart (posts refused while the server
is down are counted as failed, not lost: the poster was told).

``--scaled`` runs two server processes sharing the database, with the Socket.IO message queue on
Redis; posters use the first process, viewers are spread over both; CPU and memory are the two
processes' sum (Redis's CPU is printed apart). By default a redis-server of the run's own on a free
port: Redis pub/sub channels are not per database number, so on a shared Redis the bench's
broadcasts would reach any other Agora (a test run) on the same channel. ``--redis URL`` uses
another (its database is flushed before each run).

``--pin`` puts the server(s) on CPU 0 and every client process on CPU 1 (taskset), so that the
clients do not steal the server's core; without it they share both cores.
Never asserted in tests. Rate limits are turned off for the run (AGORA_RATELIMIT_ENABLED=0).

Why one file of ~900 lines: it starts its viewer processes from this same file
(``--viewer-worker``) and holds the code its other subprocesses run, so one command is the
whole experiment.
"""

from __future__ import annotations

import sys

# bench/ holds scripts named like stdlib modules (http.py, …): keep it off the import path.
if (
    sys.path
    and sys.path[0]
    and __import__("os").path.samefile(sys.path[0], __import__("os").path.dirname(__file__) or ".")
):
    sys.path.pop(0)

import argparse
import json
import math
import os
import random
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NS = "/hearing"
PASSWORD = "bench passphrase 123"
SERVER_CPU, CLIENT_CPU = "0", "1"
WARM_UP_POSTS = 6  # the themes service fits a hearing's first snapshot at 5 published messages
WORDS = (
    "ocean reef coral fish quota port ship plastic river delta mangrove storm coast island harbour "
    "science data monitor finance fund grant loan youth women union farmer village city region nation "
    "treaty review target progress report forum council secretariat budget climate heat drought flood "
    "salt water energy solar wind grid school clinic road market trade tax debt audit rights land seed"
).split()
SEQ = re.compile(r"\[(\d+)\]")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_pids(pid: int) -> list[int]:
    """The processes a server started (the embedded job process that runs theme refits)."""
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def proc_rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def wait_http(url: str, timeout: float = 60) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def sentence(seq: int) -> str:
    rng = random.Random(seq * 7919)
    return f"[{seq}] " + " ".join(rng.sample(WORDS, 12)) + "."


def pinned(command: list[str], cpu: str | None) -> list[str]:
    return ["taskset", "-c", cpu, *command] if cpu is not None else command


# ---------------------------------------------------------------------------------------------
# Servers


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
    c = consultations.create(consultations.ConsultationInput(title="Bench consultation", status="open"))
    for i in range(int(sys.argv[2])):
        accounts.register(f"poster{i}@bench.example", sys.argv[1], f"Poster {i}")
    h = hearings.create(c.id, "Bench hearing")
    h.state = "live"; db.session.commit()
    print(json.dumps({"hearing_id": h.id}))
"""

BARE = r"""
from gevent import monkey; monkey.patch_all()
import socket, sys, itertools
import socketio
from gevent.pywsgi import WSGIServer
class NoDelay(WSGIServer):
    def handle(self, sock, address):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return super().handle(sock, address)
manager = socketio.RedisManager(sys.argv[2]) if len(sys.argv) > 2 else None
sio = socketio.Server(async_mode="gevent", cors_allowed_origins=None, client_manager=manager)
ids = itertools.count(1)
@sio.on("join", namespace="/hearing")
def join(sid, data):
    sio.enter_room(sid, "hearing:1", namespace="/hearing")
    return {"ok": True, "messages": []}
@sio.on("post_message", namespace="/hearing")
def post(sid, data):
    i = next(ids)
    sio.emit("messages", {"hearing_id": 1, "messages": [{"id": i, "text": data["text"], "kind": "message"}]}, to="hearing:1", namespace="/hearing")
    return {"ok": True, "id": i, "state": "published"}
app = socketio.WSGIApp(sio)
NoDelay(("127.0.0.1", int(sys.argv[1])), app, log=None).serve_forever()
"""


SERVE_WITHOUT_REFITS = r"""
from gevent import monkey; monkey.patch_all()
import sys
from agora import create_app
from agora.server import serve
app = create_app()
app.config["THEMES_AUTO_REFIT"] = False  # the themes service's background refits, off
serve(app, "127.0.0.1", int(sys.argv[1]))
"""


class RedisServer:
    """A redis-server of the run's own on a free port, without persistence."""

    def __init__(self):
        import redis

        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while True:
            try:
                if redis.Redis(port=self.port, socket_timeout=0.5).ping():
                    return
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


class Server:
    """One or more server processes of one kind (agora, agora-norefit, bare) on one database."""

    def __init__(
        self, kind: str, posters: int, *, processes: int = 1, redis_url: str | None = None, cpu: str | None = None
    ):
        self.kind = kind
        self.agora = kind.startswith("agora")
        self.ports = [free_port() for _ in range(processes)]
        self.urls = [f"http://127.0.0.1:{p}" for p in self.ports]
        self.url = self.urls[0]
        self.redis_url = redis_url
        self.cpu = cpu
        self.tmp = tempfile.mkdtemp(prefix=f"agora-bench-{kind}-")
        self.hearing_id = 1
        self.env = {
            **os.environ,
            "AGORA_DATABASE_URL": f"sqlite:///{self.tmp}/bench.sqlite3",
            "AGORA_INSTANCE_PATH": self.tmp,
            "AGORA_SECRET_KEY": "bench-secret",
            "AGORA_RATELIMIT_ENABLED": "0",
        }
        self.env.pop("AGORA_REDIS_URL", None)
        if redis_url:
            import redis

            redis.Redis.from_url(redis_url).flushdb()  # our own database number: stale presence out
        if self.agora:
            out = subprocess.run(
                [sys.executable, "-c", SEED, PASSWORD, str(posters)],
                cwd=ROOT,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            if out.returncode:
                raise RuntimeError(out.stderr[-2000:])
            self.hearing_id = json.loads(out.stdout.strip().splitlines()[-1])["hearing_id"]
        if redis_url and self.agora:
            self.env["AGORA_REDIS_URL"] = redis_url
        self.log = open(Path(self.tmp) / "server.log", "a")
        self.processes: list[subprocess.Popen] = []
        self.cpu_retired = 0.0
        self.start()

    def command(self, port: int) -> list[str]:
        if self.kind == "agora":
            return [sys.executable, "-m", "agora", "serve", "--port", str(port)]
        if self.kind == "agora-norefit":
            return [sys.executable, "-c", SERVE_WITHOUT_REFITS, str(port)]
        return [sys.executable, "-c", BARE, str(port), *([self.redis_url] if self.redis_url else [])]

    def start(self) -> None:
        self.processes = []
        try:
            for port, url in zip(self.ports, self.urls):
                self.processes.append(
                    subprocess.Popen(
                        pinned(self.command(port), self.cpu),
                        cwd=ROOT,
                        env=self.env,
                        stdout=self.log,
                        stderr=subprocess.STDOUT,
                    )
                )
                wait_http(url + ("/healthz" if self.agora else "/socket.io/?EIO=4&transport=polling"))
        except BaseException:
            self.stop()
            raise

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def cpu_seconds(self) -> float:
        """CPU seconds of the server processes, those stopped by a restart included."""
        return self.cpu_retired + sum(proc_cpu_seconds(pid) for pid in self.pids)

    def jobs_cpu_seconds(self) -> float:
        """CPU seconds of the servers' job processes (theme refits), apart from the servers'."""
        return sum(proc_cpu_seconds(child) for pid in self.pids for child in child_pids(pid))

    def rss_kb(self) -> int:
        return sum(proc_rss_kb(pid) for pid in self.pids)

    def kill(self) -> None:
        """A restart's first half: SIGTERM (gevent's server exits at once, closing every socket)."""
        self.cpu_retired = self.cpu_seconds()
        for p in self.processes:
            p.send_signal(signal.SIGTERM)
        for p in self.processes:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def stop(self) -> None:
        for p in self.processes:
            p.terminate()
        for p in self.processes:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        self.log.flush()


# ---------------------------------------------------------------------------------------------
# Viewers: a child process of light websocket clients (run with --viewer-worker CONFIG_JSON)
#
# Protocol with the parent: the child prints READY when all its viewers have joined, then
# "PROGRESS <resynced>" lines while it runs; the parent writes "STOP <t1> <t2>" (the measuring
# window) on its stdin; the child prints one JSON line of results and exits.


def viewer_worker(config: dict) -> None:
    from gevent import monkey

    monkey.patch_all()
    import gevent
    import websocket
    from gevent.fileobject import FileObject

    urls, hearing_id, count, offset = config["urls"], config["hearing_id"], config["count"], config["offset"]
    reconnect = config.get("reconnect", False)
    viewers: list[dict] = []
    joined = [0]
    stopping = [False]
    prefix_event = f"42{NS},"
    prefix_ack = f"43{NS},"

    def handle(state, packet, now):
        """An event frame: count it; a `messages` frame's messages are recorded by sequence."""
        if not packet.startswith(prefix_event):
            return
        name, *args = json.loads(packet[len(prefix_event) :])
        state["frames"].append(now)
        if name == "messages":
            messages = args[0].get("messages", [])
        elif name == "message_published":
            messages = [args[0]]
        else:
            return
        record(state, messages, now)

    def record(state, messages, now):
        for m in messages:
            state["last_id"] = max(state["last_id"], m.get("id") or 0)
            match = SEQ.match(m.get("text", ""))
            if match:
                state["got"].setdefault(int(match.group(1)), []).append(now)

    def connect(state):
        """Connect, open the namespace, join with the last id seen; replayed messages count as
        received. Returns the websocket, or None on failure."""
        url = urls[state["url"]]
        ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        try:
            # No UTF-8 validation of every received frame in pure Python (websocket-client without
            # wsaccel): it was 85 % of the viewers' CPU at 20 messages/s, and the clients share
            # the cores with the server. The server sends JSON it encoded itself.
            ws = websocket.create_connection(ws_url, timeout=15, origin=url, skip_utf8_validation=True)
            ws.recv()  # the open packet
            ws.send(f"40{NS},")
            while True:
                packet = ws.recv()
                if packet.startswith(f"40{NS}"):
                    break
                if packet.startswith(f"44{NS}"):
                    raise ConnectionError(packet)
            state["ack"] += 1
            ack = state["ack"]
            join = {"hearing_id": hearing_id, "last_id": state["last_id"]}
            if state["since"]:
                join["since"] = state["since"]
            ws.send(f"42{NS},{ack}" + json.dumps(["join", join]))
            while True:
                packet = ws.recv()
                now = time.time()
                if packet == "2":
                    ws.send("3")
                elif packet.startswith(f"{prefix_ack}{ack}["):
                    answer = json.loads(packet[len(f"{prefix_ack}{ack}") :])[0]
                    if not answer.get("ok"):
                        raise ConnectionError(str(answer))
                    record(state, answer.get("late", []) + answer.get("messages", []), now)
                    state["since"] = answer.get("cursor")
                    break
                else:  # a frame may come between entering the room and the ack
                    handle(state, packet, now)
            # Block in recv: a timeout to poll `stopping` woke each viewer twice a second with an
            # exception (4,000 a second for 2,000 viewers: most of the clients' CPU, which shares
            # the cores with the server). The end of the run kills the greenlets instead.
            ws.settimeout(None)
            return ws
        except Exception:
            try:
                ws.close()
            except Exception:
                pass
            return None

    def viewer(index):
        state = {
            "url": (offset + index) % len(urls),
            "got": {},
            "frames": [],
            "last_id": 0,
            "since": None,
            "ack": 0,
            "lost_at": [],
            "resynced_at": [],
            "failed": False,
        }
        viewers.append(state)
        ws = None
        for attempt in range(20):
            ws = connect(state)
            if ws is not None:
                break
            gevent.sleep(0.2 + attempt * 0.2)
        if ws is None:
            state["failed"] = True
            return
        joined[0] += 1
        while not stopping[0]:
            try:
                packet = ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except Exception:
                if stopping[0] or not reconnect:
                    break
                state["lost_at"].append(time.time())
                ws = None
                attempt = 0
                while ws is None and not stopping[0]:  # the hearing page's back-off
                    gevent.sleep(min(1.0 * 2**attempt, 5.0) * random.uniform(0.5, 1.5))
                    attempt += 1
                    ws = connect(state)
                if ws is None:
                    break
                state["resynced_at"].append(time.time())
                continue
            now = time.time()
            if packet == "2":
                ws.send("3")
            else:
                handle(state, packet, now)
        if ws is not None:
            ws.close()

    greenlets = []
    for i in range(count):
        greenlets.append(gevent.spawn(viewer, i))
        if i % 25 == 24:
            gevent.sleep(0.05)
    while joined[0] + sum(v["failed"] for v in viewers) < count:
        gevent.sleep(0.1)
    print("READY", flush=True)

    def progress():
        while not stopping[0]:
            print(f"PROGRESS {sum(1 for v in viewers if v['resynced_at'])}", flush=True)
            gevent.sleep(0.25)

    gevent.spawn(progress)
    line = FileObject(sys.stdin, "r").readline().split()
    t1, t2 = (float(line[1]), float(line[2])) if len(line) == 3 else (0.0, float("inf"))
    stopping[0] = True
    gevent.killall(greenlets, timeout=5)
    # compact summary for the parent
    latest: dict[int, float] = {}
    reached: dict[int, int] = {}
    duplicates = frames = worst_second = over_4 = seconds = 0
    for v in viewers:
        buckets: dict[int, int] = {}
        for t in v["frames"]:
            if t1 <= t < t2:
                frames += 1
                buckets[int(t)] = buckets.get(int(t), 0) + 1
        worst_second = max([worst_second, *buckets.values()])
        over_4 += sum(1 for n in buckets.values() if n > 4)
        seconds += int(t2) - int(t1) + 1 if t2 != float("inf") else 0
        for seq, times in v["got"].items():
            duplicates += len(times) - 1
            latest[seq] = max(latest.get(seq, 0), times[0])
            reached[seq] = reached.get(seq, 0) + 1
    print(
        json.dumps(
            {
                "latest": latest,
                "reached": reached,
                "duplicates": duplicates,
                "frames": frames,
                "worst_second": worst_second,
                "over_4": over_4,
                "seconds": seconds,
                "clients": sum(1 for v in viewers if not v["failed"]),
                "failed": sum(v["failed"] for v in viewers),
                "lost_at": [v["lost_at"][0] for v in viewers if v["lost_at"]],
                "resynced_at": [v["resynced_at"][0] for v in viewers if v["resynced_at"]],
            }
        ),
        flush=True,
    )


class ViewerProcess:
    def __init__(self, config: dict, cpu: str | None):
        self.process = subprocess.Popen(
            pinned([sys.executable, __file__, "--viewer-worker", json.dumps(config)], cpu),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        self.ready = threading.Event()
        self.resynced = 0
        self.result: dict | None = None
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            if line.startswith("READY"):
                self.ready.set()
            elif line.startswith("PROGRESS"):
                self.resynced = int(line.split()[1])
            elif line.startswith("{"):
                self.result = json.loads(line)
        self.ready.set()

    def stop(self, t1: float, t2: float) -> dict:
        try:
            self.process.stdin.write(f"STOP {t1} {t2}\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            pass
        self.process.wait(60)
        self.reader.join(10)
        if self.result is None:
            raise RuntimeError("a viewer process died")
        return self.result


# ---------------------------------------------------------------------------------------------
# Posters and full clients: python-socketio clients in this process


class Client:
    """A python-socketio client that joins the hearing and counts the event frames it gets;
    signed in when given an email (a poster). ``ensure`` reconnects it after a restart."""

    def __init__(self, url: str, hearing_id: int, email: str | None, on_messages=None):
        self.url, self.hearing_id, self.email, self.on_messages = url, hearing_id, email, on_messages
        self.frames: list[float] = []
        self.client = None
        self.http, self.auth = None, {}
        self.lock = threading.Lock()
        self.connect()

    def connect(self) -> None:
        import requests
        import socketio

        if self.http is None:
            self.http, self.auth = self.sign_in(requests.Session())
        http, auth = self.http, self.auth  # a reconnect reuses the session cookie, as a browser does
        client = socketio.Client(reconnection=False)
        cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies)

        def any_event(event, *args):
            now = time.time()
            self.frames.append(now)
            if event == "messages" and self.on_messages:
                self.on_messages(args[0], now)

        client.on("*", any_event, namespace=NS)
        client.connect(
            self.url,
            namespaces=[NS],
            headers={"Cookie": cookie, "User-Agent": http.headers["User-Agent"]},
            auth=auth,
            transports=["websocket"],
            wait_timeout=20,
        )
        client.call("join", {"hearing_id": self.hearing_id, "last_id": 0}, namespace=NS, timeout=30)
        self.client = client

    def sign_in(self, http):
        """Sign in once (posters), as a browser would: reconnects reuse the session cookie."""
        auth = {}
        if self.email:
            html = http.get(self.url + "/account/login", timeout=30).text
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
            r = http.post(
                self.url + "/account/login",
                data={"email": self.email, "password": PASSWORD, "csrf_token": token},
                allow_redirects=False,
                timeout=30,
            )
            if r.status_code != 302:
                raise RuntimeError(f"login failed for {self.email}")
            page = http.get(self.url + f"/hearings/{self.hearing_id}", timeout=30).text
            auth = {"csrf": re.search(r'data-csrf="([^"]+)"', page).group(1)}
        return http, auth

    @property
    def connected(self) -> bool:
        return self.client is not None and self.client.connected

    def ensure(self, deadline: float) -> None:
        """Reconnect in the background (at most one attempt loop at a time)."""
        if not self.lock.acquire(blocking=False):
            return

        def work():
            try:
                while not self.connected and time.time() < deadline:
                    try:
                        self.connect()
                    except Exception:
                        time.sleep(0.5)
            finally:
                self.lock.release()

        threading.Thread(target=work, daemon=True).start()

    def close(self) -> None:
        try:
            self.client.disconnect()
        except Exception:
            pass


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    k = max(0, min(len(values) - 1, math.ceil(p / 100 * len(values)) - 1))
    return values[k]


# ---------------------------------------------------------------------------------------------
# One run


def run(kind: str, args, *, scaled: bool = False, restart: bool = False) -> dict:
    viewers, rate, seconds = args.viewers, args.rate, args.seconds
    total = int(rate * seconds)
    agora = kind.startswith("agora")
    posters_needed = max(2, math.ceil(total / 5) + 1) if agora else 2
    cpu_server = SERVER_CPU if args.pin else None
    cpu_clients = CLIENT_CPU if args.pin else None
    own_redis = RedisServer() if scaled and args.redis == "own" else None
    redis_url = (own_redis.url if own_redis else args.redis) if scaled else None
    try:
        server = Server(
            kind, posters_needed + WARM_UP_POSTS, processes=2 if scaled else 1, redis_url=redis_url, cpu=cpu_server
        )
    except BaseException:
        if own_redis:
            own_redis.stop()
        raise
    label = kind + (" ×2 + Redis" if scaled else "")
    full_latest: dict[int, float] = {}
    full_lock = threading.Lock()

    def on_full_messages(frame, now):
        with full_lock:
            for m in frame.get("messages", []):
                match = SEQ.match(m["text"])
                if match:
                    seq = int(match.group(1))
                    full_latest.setdefault(seq, now)  # first receipt; the max over clients below
                    full_latest[seq] = max(full_latest[seq], now)

    children: list[ViewerProcess] = []
    clients: list[Client] = []
    profiler = None
    try:
        posters = [
            Client(server.url, server.hearing_id, f"poster{i}@bench.example" if agora else None)
            for i in range(posters_needed)
        ]
        clients += posters
        # Warm up, then measure: the screening model and the themes library load on first use, so a
        # few posts from accounts of their own (the screening holds more than five posts a minute
        # from one person) and the first theme refit they trigger happen before the measurement.
        for i in range(WARM_UP_POSTS if agora else 1):
            warm_up = Client(
                server.url, server.hearing_id, f"poster{posters_needed + i}@bench.example" if agora else None
            )
            warm = warm_up.client.call(
                "post_message",
                {"hearing_id": server.hearing_id, "text": "Warm-up: " + sentence(10**6 + i)},
                namespace=NS,
                timeout=60,
            )
            warm_up.close()
            if not warm.get("ok"):
                raise RuntimeError(f"warm-up post refused: {warm}")
        time.sleep(5.0 if agora else 2.0)
        rss0 = server.rss_kb()
        processes = max(1, min(args.processes, math.ceil(viewers / 100)))
        per = [viewers // processes + (1 if i < viewers % processes else 0) for i in range(processes)]
        offsets = [sum(per[:i]) for i in range(processes)]
        for n, offset in zip(per, offsets):
            if n:
                config = {
                    "urls": server.urls,
                    "hearing_id": server.hearing_id,
                    "count": n,
                    "offset": offset,
                    "reconnect": restart,
                }
                children.append(ViewerProcess(config, cpu_clients))
        for child in children:
            child.ready.wait(300)
            if child.process.poll() is not None:
                raise RuntimeError("a viewer process failed to start")
        # a few full python-socketio viewers measure latency too (not across a restart)
        for i in range(0 if restart else args.full_clients):
            clients.append(Client(server.urls[i % len(server.urls)], server.hearing_id, None, on_full_messages))
        time.sleep(2.0)
        rss1, cpu1, jobs_cpu1 = server.rss_kb(), server.cpu_seconds(), server.jobs_cpu_seconds()
        redis_cpu1 = proc_cpu_seconds(own_redis.process.pid) if own_redis else 0.0
        clients_cpu1 = sum(proc_cpu_seconds(c.process.pid) for c in children) + proc_cpu_seconds(os.getpid())
        if args.py_spy and not restart:
            profiler = subprocess.Popen(
                [
                    "py-spy",
                    "record",
                    "--pid",
                    str(server.pids[0]),
                    "--duration",
                    str(int(seconds)),
                    "--rate",
                    "250",
                    "--format",
                    "raw",
                    "--nonblocking",
                    "-o",
                    args.py_spy,
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        sent: dict[int, float] = {}
        states: dict[int, str] = {}
        acked: dict[int, float] = {}
        kill_at = None
        killed = None
        start = t1 = time.time()
        if restart:
            kill_at = start + max(2.0, seconds / 3)
            back_at: list = []

            def restart_server():
                server.start()
                back_at.append((time.time(), server.cpu_seconds()))
                if args.py_spy:
                    back_at.append(
                        subprocess.Popen(
                            [
                                "py-spy",
                                "record",
                                "--pid",
                                str(server.pids[0]),
                                "--duration",
                                "10",
                                "--rate",
                                "250",
                                "--format",
                                "raw",
                                "--nonblocking",
                                "-o",
                                args.py_spy,
                            ],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                        )
                    )

        for seq in range(total):
            target = start + seq / rate
            if kill_at and killed is None and target >= kill_at:
                while time.time() < kill_at:
                    time.sleep(0.01)
                killed = time.time()
                server.kill()
                restarter = threading.Thread(target=restart_server)
                restarter.start()
            delay = target - time.time()
            if delay > 0:
                time.sleep(delay)
            sent[seq] = time.time()
            poster = posters[seq % len(posters)]

            def ack(answer, seq=seq):
                acked[seq] = time.time()
                states[seq] = answer.get("state") if answer.get("ok") else "error:" + str(answer.get("error"))

            try:
                if not poster.connected:
                    raise ConnectionError("not connected")
                poster.client.emit(
                    "post_message", {"hearing_id": server.hearing_id, "text": sentence(seq)}, namespace=NS, callback=ack
                )
            except (
                Exception
            ) as error:  # the server is down, or a poster's connection dropped under load: count it, go on
                states[seq] = f"error:{error}"
                if restart:
                    poster.ensure(time.time() + 60)
        post_time = time.time() - start
        if restart:
            if killed is None:
                raise RuntimeError("the run was too short to restart the server")
            restarter.join()
            back, resync_cpu = back_at[0]
            resync_cpu = (back, resync_cpu)
            if len(back_at) > 1:
                profiler = back_at[1]
            deadline = killed + 90
            while sum(c.resynced for c in children) < viewers and time.time() < deadline:
                time.sleep(0.1)
            resync_cpu = server.cpu_seconds() - resync_cpu[1]
        time.sleep(3.0)
        t2 = time.time()
        cpu2, jobs_cpu2 = server.cpu_seconds(), server.jobs_cpu_seconds()
        redis_cpu2 = proc_cpu_seconds(own_redis.process.pid) if own_redis else 0.0
        clients_cpu2 = sum(proc_cpu_seconds(c.process.pid) for c in children) + proc_cpu_seconds(os.getpid())
        if profiler is not None:
            profiler.wait(60)
        for c in clients:
            c.close()
        results = [child.stop(t1, t2) for child in children]
    finally:
        for child in children:
            if child.process.poll() is None:
                child.process.kill()
        server.stop()
        if own_redis:
            own_redis.stop()
        if profiler is not None and profiler.poll() is None:
            profiler.kill()

    published = [s for s in sent if states.get(s) == "published"]
    latest: dict[int, float] = {}
    reached: dict[int, int] = {}
    for r in results:
        for seq, t in r["latest"].items():
            latest[int(seq)] = max(latest.get(int(seq), 0), t)
        for seq, n in r["reached"].items():
            reached[int(seq)] = reached.get(int(seq), 0) + n
    for seq, t in full_latest.items():
        latest[seq] = max(latest.get(seq, 0), t)
    raw_clients = sum(r["clients"] for r in results)
    lat = [(latest[s] - sent[s]) * 1000 for s in published if s in latest]
    lost = sum(raw_clients - reached.get(s, 0) for s in published)
    frames_viewers = sum(r["frames"] for r in results)
    frames_others = sum(1 for c in clients for t in c.frames if t1 <= t < t2)
    frames = frames_viewers + frames_others
    duration = t2 - t1
    row = {
        "kind": label,
        "viewers": raw_clients,
        "failed_viewers": sum(r["failed"] for r in results),
        "posted": total,
        "published": len(published),
        "held": sum(
            1 for s in sent if states.get(s) not in (None, "published") and not str(states.get(s)).startswith("error")
        ),
        "failed": sum(1 for s in sent if str(states.get(s, "error")).startswith("error")),
        "p50": percentile(lat, 50),
        "p95": percentile(lat, 95),
        "p99": percentile(lat, 99),
        "frames_per_s": frames / duration,
        "frames_per_client_s": frames_viewers / duration / max(1, raw_clients),
        "worst_client_second": max((r["worst_second"] for r in results), default=0),
        "seconds_over_4": sum(r["over_4"] for r in results),
        "client_seconds": sum(r["seconds"] for r in results),
        "cpu_us_per_frame": (cpu2 - cpu1) * 1e6 / max(1, frames),
        "cpu_us_per_message_delivery": (cpu2 - cpu1) * 1e6 / max(1, sum(reached.values())),
        "kb_per_client": (rss1 - rss0) / max(1, raw_clients + (0 if restart else args.full_clients)),
        "lost": lost,
        "duplicated": sum(r["duplicates"] for r in results),
        "post_time": post_time,
        "ack_p95": percentile([(acked[s] - sent[s]) * 1000 for s in published if s in acked], 95),
        "server_cpu": (cpu2 - cpu1) / duration,
        "jobs_cpu": max(0.0, jobs_cpu2 - jobs_cpu1) / duration,
        "clients_cpu": (clients_cpu2 - clients_cpu1) / duration,
        "redis_cpu": (redis_cpu2 - redis_cpu1) / duration if own_redis else None,
    }
    if restart:
        lost_at = [t for r in results for t in r["lost_at"]]
        resynced_at = sorted(t for r in results for t in r["resynced_at"])
        row.update(
            {
                "back_after": back - killed,
                "disconnected": len(lost_at),
                "resynced": len(resynced_at),
                "resync_p50": percentile([t - killed for t in resynced_at], 50),
                "resync_all": (resynced_at[-1] - killed) if resynced_at else float("nan"),
                "resync_after_back": (resynced_at[-1] - back) if resynced_at else float("nan"),
                "resync_cpu": resync_cpu,
            }
        )
    return row


def table(rows: list[dict]) -> str:
    head = [
        "server",
        "viewers",
        "posted",
        "published",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "frames/s",
        "frames/client/s",
        "worst client s",
        "CPU µs/frame",
        "CPU µs/msg",
        "KB/client",
        "lost",
        "dup",
        "ack p95 ms",
        "server CPU %",
        "jobs CPU %",
        "clients CPU %",
    ]
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for r in rows:
        lines.append(
            " | ".join(
                [
                    r["kind"],
                    str(r["viewers"]),
                    str(r["posted"]),
                    str(r["published"]),
                    f"{r['p50']:.0f}",
                    f"{r['p95']:.0f}",
                    f"{r['p99']:.0f}",
                    f"{r['frames_per_s']:.0f}",
                    f"{r['frames_per_client_s']:.2f}",
                    str(r["worst_client_second"]),
                    f"{r['cpu_us_per_frame']:.0f}",
                    f"{r['cpu_us_per_message_delivery']:.0f}",
                    f"{r['kb_per_client']:.0f}",
                    str(r["lost"]),
                    str(r["duplicated"]),
                    f"{r['ack_p95']:.0f}",
                    f"{100 * r['server_cpu']:.0f}",
                    f"{100 * r['jobs_cpu']:.0f}",
                    f"{100 * r['clients_cpu']:.0f}",
                ]
            )
        )
    return "\n".join(lines)


def restart_table(rows: list[dict]) -> str:
    head = [
        "server",
        "viewers",
        "disconnected",
        "resynced",
        "listening again s",
        "p50 resynced s",
        "all resynced s",
        "after listening s",
        "server CPU s",
        "posted",
        "published",
        "refused while down",
        "lost",
        "dup",
    ]
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for r in rows:
        lines.append(
            " | ".join(
                [
                    r["kind"],
                    str(r["viewers"]),
                    str(r["disconnected"]),
                    str(r["resynced"]),
                    f"{r['back_after']:.1f}",
                    f"{r['resync_p50']:.1f}",
                    f"{r['resync_all']:.1f}",
                    f"{r['resync_after_back']:.1f}",
                    f"{r['resync_cpu']:.1f}",
                    str(r["posted"]),
                    str(r["published"]),
                    str(r["failed"]),
                    str(r["lost"]),
                    str(r["duplicated"]),
                ]
            )
        )
    return "\n".join(lines)


def main(argv=None) -> None:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--viewer-worker":
        viewer_worker(json.loads(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--viewers", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=1.0, help="messages posted per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--processes", type=int, default=4, help="viewer processes (at most one per 100 viewers)")
    parser.add_argument("--full-clients", type=int, default=3, help="full python-socketio viewers")
    parser.add_argument("--quick", action="store_true", help="200 viewers for 10 s")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare python-socketio server")
    parser.add_argument(
        "--without-refits", action="store_true", help="also run Agora with the themes service's background refits off"
    )
    parser.add_argument(
        "--restart", action="store_true", help="kill and restart the server a third of the way in; report the resync"
    )
    parser.add_argument("--scaled", action="store_true", help="two server processes and the Redis message queue")
    parser.add_argument(
        "--redis",
        default="own",
        help="the message queue for --scaled: 'own' (a redis-server of the run's own) or a URL (its database is flushed)",
    )
    parser.add_argument(
        "--pin", action="store_true", help=f"server(s) on CPU {SERVER_CPU}, clients on CPU {CLIENT_CPU} (taskset)"
    )
    parser.add_argument(
        "--py-spy", metavar="FILE", help="record the (first) Agora server with py-spy while posting (raw stacks)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.viewers, args.seconds = 200, 10.0
    if args.pin:
        os.sched_setaffinity(0, {int(CLIENT_CPU)})  # the posters and full clients live here
    kinds = ["agora"] + (["agora-norefit"] if args.without_refits else []) + ([] if args.no_bare else ["bare"])
    rows = []
    for kind in kinds:
        spy, args.py_spy = args.py_spy, args.py_spy if kind == "agora" else None
        rows.append(run(kind, args, scaled=args.scaled, restart=args.restart))
        args.py_spy = spy
    mode = "2 server processes + Redis message queue, SQLite" if args.scaled else "SQLite, one server process"
    pin = (
        f"server on CPU {SERVER_CPU}, clients on CPU {CLIENT_CPU}" if args.pin else "server and clients share the cores"
    )
    what = "restart a third of the way in" if args.restart else f"{args.seconds:g} s"
    print(
        f"\nOne hearing, {args.viewers} viewers, {args.rate:g} msg/s, {what} ({os.cpu_count()} cores, {mode}; {pin})\n"
    )
    print(table(rows))
    for r in rows:
        if r["seconds_over_4"]:
            print(
                f"\n{r['kind']}: {r['seconds_over_4']} of {r['client_seconds']} client-seconds had more than 4 frames"
            )
    if args.restart:
        print("\nRestart (seconds counted from the kill):\n")
        print(restart_table(rows))
    for r in rows:
        if r.get("redis_cpu") is not None:
            print(f"\nRedis (the run's own redis-server) for {r['kind']}: {100 * r['redis_cpu']:.1f} % of a core")
    bare = [r for r in rows if r["kind"].startswith("bare")]
    for a in [r for r in rows if not r["kind"].startswith("bare")] if bare else []:
        b = bare[0]
        print(
            f"\nratios {a['kind']}/{b['kind']}: CPU per frame {a['cpu_us_per_frame'] / b['cpu_us_per_frame']:.2f}×, "
            f"CPU per delivered message {a['cpu_us_per_message_delivery'] / max(1e-9, b['cpu_us_per_message_delivery']):.2f}×, "
            f"memory per client {a['kb_per_client'] / max(1e-9, b['kb_per_client']):.2f}×, "
            f"p99 {a['p99'] / max(1e-9, b['p99']):.2f}×"
            + (f", all resynced {a['resync_all'] / max(1e-9, b['resync_all']):.2f}×" if args.restart else "")
        )


if __name__ == "__main__":
    main()
