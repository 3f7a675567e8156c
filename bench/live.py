"""Live hearing fan-out benchmark: one hearing, N viewers, messages posted at a fixed rate.

    python bench/live.py --viewers 1000 --rate 1 --seconds 30
    python bench/live.py --viewers 1000 --rate 20 --seconds 15
    python bench/live.py --quick            # 200 viewers, 10 s

The audience are light raw Engine.IO v4 / Socket.IO v5 websocket clients (gevent, a few hundred per
process, spread over several processes); a few full python-socketio clients watch too; signed-in
python-socketio clients post (round robin over several accounts, because the screening holds more
than five posts a minute from one person). The same load then runs against a bare python-socketio
broadcast server (no app, no database, no coalescing) and the ratios are printed.

Reported: time from post until the last viewer has the message (p50/p95/p99), delivered frames/s,
frames per client per second (mean and the worst second of the worst client), server CPU µs per
delivered frame and per delivered message, server memory per client, lost and duplicated messages.
Never asserted in tests. Rate limits are turned off for the run (AGORA_RATELIMIT_ENABLED=0).
"""
from __future__ import annotations

import sys

# bench/ holds scripts named like stdlib modules (http.py, …): keep it off the import path.
if sys.path and sys.path[0] and __import__("os").path.samefile(sys.path[0], __import__("os").path.dirname(__file__) or "."):
    sys.path.pop(0)

import argparse
import json
import math
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NS = "/hearing"
PASSWORD = "bench passphrase 123"
WORDS = (
    "ocean reef coral fish quota port ship plastic river delta mangrove storm coast island harbour "
    "science data monitor finance fund grant loan youth women union farmer village city region nation "
    "treaty review target progress report forum council secretariat budget climate heat drought flood "
    "salt water energy solar wind grid school clinic road market trade tax debt audit rights land seed"
).split()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
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
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def sentence(seq: int) -> str:
    rng = random.Random(seq * 7919)
    return f"[{seq}] " + " ".join(rng.sample(WORDS, 12)) + "."


# ---------------------------------------------------------------------------------------------
# Servers


SEED = r"""
import json, sys
from flask_migrate import upgrade
from agora import create_app
from agora.extensions import db
from agora.services import accounts, consultations, hearings
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
sio = socketio.Server(async_mode="gevent", cors_allowed_origins=None)
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


class Server:
    def __init__(self, kind: str, posters: int):
        self.kind = kind
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.tmp = tempfile.mkdtemp(prefix=f"agora-bench-{kind}-")
        self.hearing_id = 1
        env = {
            **os.environ,
            "AGORA_DATABASE_URL": f"sqlite:///{self.tmp}/bench.sqlite3",
            "AGORA_INSTANCE_PATH": self.tmp,
            "AGORA_SECRET_KEY": "bench-secret",
            "AGORA_RATELIMIT_ENABLED": "0",
        }
        env.pop("AGORA_REDIS_URL", None)
        if kind.startswith("agora"):
            out = subprocess.run([sys.executable, "-c", SEED, PASSWORD, str(posters)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
            if out.returncode:
                raise RuntimeError(out.stderr[-2000:])
            self.hearing_id = json.loads(out.stdout.strip().splitlines()[-1])["hearing_id"]
            command = [sys.executable, "-m", "agora", "serve", "--port", str(self.port)]
            if kind == "agora-norefit":
                command = [sys.executable, "-c", SERVE_WITHOUT_REFITS, str(self.port)]
        else:
            command = [sys.executable, "-c", BARE, str(self.port)]
        self.log = open(Path(self.tmp) / "server.log", "w")
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            wait_http(self.url + ("/healthz" if kind.startswith("agora") else "/socket.io/?EIO=4&transport=polling"))
        except BaseException:
            self.stop()
            raise

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


# ---------------------------------------------------------------------------------------------
# Viewers: a child process of light websocket clients (run with --viewer-worker)


def viewer_worker(url: str, hearing_id: int, count: int, stop_after: float) -> None:
    from gevent import monkey

    monkey.patch_all()
    import gevent
    import websocket

    ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    received: list[dict] = []  # per viewer: {seq: [times]}, frames: [times]
    joined = [0]

    def viewer(index):
        got: dict[int, list[float]] = {}
        frames: list[float] = []
        received.append({"got": got, "frames": frames})
        for attempt in range(20):
            try:
                ws = websocket.create_connection(ws_url, timeout=60, origin=url)
                break
            except Exception:
                gevent.sleep(0.2 + attempt * 0.2)
        else:
            return
        ws.recv()  # the open packet
        ws.send(f"40{NS},")
        while not ws.recv().startswith(f"40{NS}"):
            pass
        ws.send(f'42{NS},1["join",{{"hearing_id":{hearing_id},"last_id":0}}]')
        while not ws.recv().startswith(f"43{NS},1"):
            pass
        joined[0] += 1
        prefix = f'42{NS},["messages",'
        deadline = time.monotonic() + stop_after
        ws.settimeout(1)
        while time.monotonic() < deadline:
            try:
                packet = ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except Exception:
                break
            now = time.time()
            if packet == "2":
                ws.send("3")
            elif packet.startswith(prefix):
                frame = json.loads(packet[len(f"42{NS},"):])[1]
                frames.append(now)
                for m in frame.get("messages", []):
                    match = re.match(r"\[(\d+)\]", m["text"])
                    if match:
                        got.setdefault(int(match.group(1)), []).append(now)
        ws.close()

    greenlets = []
    for i in range(count):
        greenlets.append(gevent.spawn(viewer, i))
        if i % 25 == 24:
            gevent.sleep(0.05)
    while joined[0] < count:
        gevent.sleep(0.1)
    print("READY", flush=True)
    gevent.joinall(greenlets)
    # compact summary: per seq -> [first receipt per viewer max, viewers, duplicates]
    latest: dict[int, float] = {}
    viewers_per_seq: dict[int, int] = {}
    duplicates = 0
    worst_second = 0
    per_second: dict[int, int] = {}
    for r in received:
        buckets: dict[int, int] = {}
        for t in r["frames"]:
            buckets[int(t)] = buckets.get(int(t), 0) + 1
            per_second[int(t)] = per_second.get(int(t), 0) + 1
        worst_second = max([worst_second, *buckets.values()])
        for seq, times in r["got"].items():
            duplicates += len(times) - 1
            latest[seq] = max(latest.get(seq, 0), times[0])
            viewers_per_seq[seq] = viewers_per_seq.get(seq, 0) + 1
    print(json.dumps({"latest": latest, "viewers": viewers_per_seq, "duplicates": duplicates, "per_second": per_second, "worst_second": worst_second, "clients": len(received)}), flush=True)


# ---------------------------------------------------------------------------------------------
# One run


def signed_in_client(url: str, email: str | None):
    import requests
    import socketio

    http = requests.Session()
    auth = {}
    if email:
        html = http.get(url + "/account/login").text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
        r = http.post(url + "/account/login", data={"email": email, "password": PASSWORD, "csrf_token": token}, allow_redirects=False)
        if r.status_code != 302:
            raise RuntimeError(f"login failed for {email}")
        page = http.get(url + "/hearings/1").text
        auth = {"csrf": re.search(r'data-csrf="([^"]+)"', page).group(1)}
    client = socketio.Client(reconnection=False)
    cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
    client.connect(url, namespaces=[NS], headers={"Cookie": cookie, "User-Agent": http.headers["User-Agent"]}, auth=auth, transports=["websocket"], wait_timeout=20)
    return client


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    k = max(0, min(len(values) - 1, math.ceil(p / 100 * len(values)) - 1))
    return values[k]


def run(kind: str, viewers: int, rate: float, seconds: float, processes: int, full_clients: int) -> dict:
    total = int(rate * seconds)
    posters_needed = max(2, math.ceil(total / 5) + 1) if kind.startswith("agora") else 2
    server = Server(kind, posters_needed)
    try:
        posters = [signed_in_client(server.url, f"poster{i}@bench.example" if kind.startswith("agora") else None) for i in range(posters_needed)]
        for p in posters:
            p.call("join", {"hearing_id": server.hearing_id, "last_id": 0}, namespace=NS, timeout=30)
        # warm up (the screening model loads on first use), then measure
        warm = posters[0].call("post_message", {"hearing_id": server.hearing_id, "text": "Warm-up: " + sentence(10**6)}, namespace=NS, timeout=60)
        if not warm.get("ok"):
            raise RuntimeError(f"warm-up post refused: {warm}")
        time.sleep(2.0)
        cpu0, rss0 = proc_cpu_seconds(server.process.pid), proc_rss_kb(server.process.pid)
        per = [viewers // processes + (1 if i < viewers % processes else 0) for i in range(processes)]
        stop_after = seconds + 30 + viewers / 100
        children = [
            subprocess.Popen(
                [sys.executable, __file__, "--viewer-worker", server.url, str(server.hearing_id), str(n), str(stop_after)],
                stdout=subprocess.PIPE, text=True, cwd=ROOT,
            )
            for n in per if n
        ]
        for child in children:
            line = child.stdout.readline()
            if not line.startswith("READY"):
                raise RuntimeError("a viewer process failed to start")
        # a few full python-socketio viewers measure latency too
        full_latest: dict[int, float] = {}
        full_lock = threading.Lock()
        fulls = []
        for _ in range(full_clients):
            c = signed_in_client(server.url, None)

            def on_messages(frame, _c=c):
                now = time.time()
                with full_lock:
                    for m in frame.get("messages", []):
                        match = re.match(r"\[(\d+)\]", m["text"])
                        if match:
                            seq = int(match.group(1))
                            full_latest[seq] = max(full_latest.get(seq, 0), now)

            c.on("messages", on_messages, namespace=NS)
            c.call("join", {"hearing_id": server.hearing_id, "last_id": 0}, namespace=NS, timeout=30)
            fulls.append(c)
        time.sleep(2.0)
        rss1 = proc_rss_kb(server.process.pid)
        cpu1 = proc_cpu_seconds(server.process.pid)
        sent: dict[int, float] = {}
        states: dict[int, str] = {}
        start = time.time()
        for seq in range(total):
            target = start + seq / rate
            delay = target - time.time()
            if delay > 0:
                time.sleep(delay)
            sent[seq] = time.time()

            def ack(answer, seq=seq):
                states[seq] = answer.get("state") if answer.get("ok") else "error:" + str(answer.get("error"))

            try:
                posters[seq % len(posters)].emit("post_message", {"hearing_id": server.hearing_id, "text": sentence(seq)}, namespace=NS, callback=ack)
            except Exception as error:  # a poster's connection dropped under load: count it, go on
                states[seq] = f"error:{error}"
        post_time = time.time() - start
        time.sleep(3.0)
        cpu2 = proc_cpu_seconds(server.process.pid)
        for c in fulls + posters:
            try:
                c.disconnect()
            except Exception:
                pass
        results = []
        for child in children:
            out, _ = child.communicate(timeout=stop_after + 60)
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        server.stop()

    published = [s for s in sent if states.get(s) == "published"]
    latest: dict[int, float] = {}
    reached: dict[int, int] = {}
    for r in results:
        for seq, t in r["latest"].items():
            latest[int(seq)] = max(latest.get(int(seq), 0), t)
        for seq, n in r["viewers"].items():
            reached[int(seq)] = reached.get(int(seq), 0) + n
    for seq, t in full_latest.items():
        latest[seq] = max(latest.get(seq, 0), t)
    raw_clients = sum(r["clients"] for r in results)
    lat = [(latest[s] - sent[s]) * 1000 for s in published if s in latest]
    lost = sum(raw_clients - reached.get(s, 0) for s in published)
    duration = post_time + 3.0
    first, last = int(start), int(start + duration)
    frames = sum(n for r in results for sec, n in r["per_second"].items() if first <= int(sec) <= last)
    duration = last - first + 1
    clients = raw_clients + full_clients + posters_needed
    return {
        "kind": kind,
        "viewers": raw_clients,
        "posted": total,
        "published": len(published),
        "held": sum(1 for s in sent if states.get(s) not in (None, "published")),
        "failed": sum(1 for s in sent if str(states.get(s, "error")).startswith("error")),
        "p50": percentile(lat, 50),
        "p95": percentile(lat, 95),
        "p99": percentile(lat, 99),
        "frames_per_s": frames / duration,
        "frames_per_client_s": frames / duration / max(1, raw_clients),
        "worst_client_second": max((r["worst_second"] for r in results), default=0),
        "cpu_us_per_frame": (cpu2 - cpu1) * 1e6 / max(1, frames),
        "cpu_us_per_message_delivery": (cpu2 - cpu1) * 1e6 / max(1, sum(reached.values())),
        "kb_per_client": (rss1 - rss0) / max(1, raw_clients + full_clients),
        "lost": lost,
        "duplicated": sum(r["duplicates"] for r in results),
    }


def table(rows: list[dict]) -> str:
    head = ["server", "viewers", "posted", "published", "p50 ms", "p95 ms", "p99 ms", "frames/s", "frames/client/s", "worst client s", "CPU µs/frame", "CPU µs/msg", "KB/client", "lost", "dup"]
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for r in rows:
        lines.append(" | ".join([
            r["kind"], str(r["viewers"]), str(r["posted"]), str(r["published"]),
            f"{r['p50']:.0f}", f"{r['p95']:.0f}", f"{r['p99']:.0f}", f"{r['frames_per_s']:.0f}",
            f"{r['frames_per_client_s']:.2f}", str(r["worst_client_second"]), f"{r['cpu_us_per_frame']:.0f}",
            f"{r['cpu_us_per_message_delivery']:.0f}", f"{r['kb_per_client']:.0f}", str(r["lost"]), str(r["duplicated"]),
        ]))
    return "\n".join(lines)


def main(argv=None) -> None:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--viewer-worker":
        url, hearing_id, count, stop_after = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
        viewer_worker(url, hearing_id, count, stop_after)
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--viewers", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=1.0, help="messages posted per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--processes", type=int, default=4, help="viewer processes")
    parser.add_argument("--full-clients", type=int, default=3, help="full python-socketio viewers")
    parser.add_argument("--quick", action="store_true", help="200 viewers for 10 s")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare python-socketio server")
    parser.add_argument("--without-refits", action="store_true", help="also run Agora with the themes service's background refits off")
    args = parser.parse_args(argv)
    if args.quick:
        args.viewers, args.seconds = 200, 10.0
    rows = [run("agora", args.viewers, args.rate, args.seconds, args.processes, args.full_clients)]
    if args.without_refits:
        rows.append(run("agora-norefit", args.viewers, args.rate, args.seconds, args.processes, args.full_clients))
    if not args.no_bare:
        rows.append(run("bare", args.viewers, args.rate, args.seconds, args.processes, args.full_clients))
    print(f"\nOne hearing, {args.viewers} viewers, {args.rate:g} msg/s for {args.seconds:g} s ({os.cpu_count()} cores, SQLite, one process)\n")
    print(table(rows))
    bare = [r for r in rows if r["kind"] == "bare"]
    for a in [r for r in rows if r["kind"] != "bare"] if bare else []:
        b = bare[0]
        print(
            f"\nratios {a['kind']}/bare: CPU per frame {a['cpu_us_per_frame'] / b['cpu_us_per_frame']:.2f}×, "
            f"CPU per delivered message {a['cpu_us_per_message_delivery'] / max(1e-9, b['cpu_us_per_message_delivery']):.2f}×, "
            f"memory per client {a['kb_per_client'] / max(1e-9, b['kb_per_client']):.2f}×, "
            f"p99 {a['p99'] / max(1e-9, b['p99']):.2f}×"
        )


if __name__ == "__main__":
    main()
