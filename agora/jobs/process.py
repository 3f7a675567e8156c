"""The embedded mode's job process: background jobs run in one child process, not in the server.

A theme refit is seconds of scikit-learn and NumPy holding the GIL: run in a native thread of the
server it took the interpreter away from the event loop that serves every socket (16–24 % of the
server's CPU in bench/live.py, and the loop waited for each GIL switch). Here the server starts
one child (``python -m agora.jobs.child``, at a lower CPU priority) on the first job, sends it
jobs as JSON lines and reads back when each starts and ends. The child builds the same app (the
database URL and instance folder are passed on) and runs each job in a thread of its own, so a
slow webhook delivery never holds up a refit.

If the child dies, the server starts a new one on the next job and sends it again what the dead
one had not finished; a job that was running is first cleaned up by its module's
``interrupted(name, *args)`` hook (as with RQ's dead work horses) and tried at most three times.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import subprocess
import sys
import threading

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3
NICENESS = 10


class JobProcess:
    """The server's side: one child process and the jobs it has not finished."""

    def __init__(self, app, run_here):
        """``run_here(app, path, args)`` runs a job in this process when no child can start
        (``agora.jobs.in_thread``, handed in so this module never imports the package that uses it)."""
        self._app = app
        self._run_here = run_here
        self._lock = threading.Lock()
        self._child: subprocess.Popen | None = None
        self._ids = itertools.count(1)
        self._unfinished: dict[int, dict] = {}  # id -> {"path", "args", "attempts", "started", "child"}

    def submit(self, path: str, args: tuple) -> None:
        with self._lock:
            job_id = next(self._ids)
            self._unfinished[job_id] = {
                "path": path,
                "args": list(args),
                "attempts": 0,
                "started": False,
                "child": None,
            }
            self._send(job_id)

    # -- the child

    def _send(self, job_id: int) -> None:
        """Hand one job to the child, starting a child first if there is none (lock held)."""
        job = self._unfinished[job_id]
        job["attempts"] += 1
        job["started"] = False
        if self._child is None or self._child.poll() is not None:
            self._child = self._start()
        job["child"] = self._child
        try:
            self._child.stdin.write(json.dumps({"id": job_id, "path": job["path"], "args": job["args"]}) + "\n")
            self._child.stdin.flush()
        except (BrokenPipeError, OSError):
            log.warning("the job process is gone; job %s will go to the next one", job["path"])

    def _start(self) -> subprocess.Popen:
        env = {
            **os.environ,
            "AGORA_DATABASE_URL": self._app.config["SQLALCHEMY_DATABASE_URI"],
            "AGORA_INSTANCE_PATH": self._app.instance_path,
            "AGORA_SECRET_KEY": self._app.config["SECRET_KEY"],
            "AGORA_JOBS": "inline",  # what a job asks for in the child runs there and then
        }
        child = subprocess.Popen(
            [sys.executable, "-m", "agora.jobs.child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
            bufsize=1,
        )
        log.info("started the job process (pid %s)", child.pid)
        threading.Thread(target=self._read, args=(child,), daemon=True, name="job-process-reader").start()
        return child

    def _read(self, child: subprocess.Popen) -> None:
        """Follow what the child says; when it ends, give its unfinished jobs to a new one."""
        for line in child.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            with self._lock:
                job = self._unfinished.get(event.get("id"))
                if job is None:
                    continue
                if event.get("event") == "started":
                    job["started"] = True
                elif event.get("event") == "finished":
                    del self._unfinished[event["id"]]
        code = child.wait()
        with self._lock:
            left = {i: j for i, j in self._unfinished.items() if j["child"] is child}
        if left:
            log.warning("the job process (pid %s) ended with %s before finishing %d job(s)", child.pid, code, len(left))
            self._recover(left)

    def _recover(self, left: dict) -> None:
        """Clean up after the jobs a dead child was running, then send them all to a new child;
        a job tried MAX_ATTEMPTS times is dropped if it ever started (it may be what kills the
        child), else run in a thread here (no child could be started)."""
        for job in left.values():
            if job["started"]:
                clean_up_interrupted(self._app, job["path"], job["args"])
        with self._lock:
            for job_id, job in left.items():
                if job["attempts"] < MAX_ATTEMPTS:
                    self._send(job_id)
                    continue
                del self._unfinished[job_id]
                if job["started"]:
                    log.error("job %s%r gave up after %d attempts", job["path"], tuple(job["args"]), job["attempts"])
                else:
                    log.error(
                        "no job process could start; running %s%r in this process", job["path"], tuple(job["args"])
                    )
                    self._run_here(self._app, job["path"], tuple(job["args"]))

    def stop(self) -> None:
        """Close the child's input: it finishes what it has and exits."""
        with self._lock:
            child, self._child = self._child, None
        if child is not None and child.poll() is None:
            try:
                child.stdin.close()
            except OSError:
                pass


def clean_up_interrupted(app, path: str, args) -> None:
    """Run the job module's ``interrupted(name, *args)`` hook, if it has one; never raises."""
    from importlib import import_module

    from agora.extensions import db

    module, _, name = path.rpartition(".")
    try:
        hook = getattr(import_module(module), "interrupted", None)
        if hook is not None:
            with app.app_context():
                try:
                    hook(name, *args)
                finally:
                    db.session.remove()
    except Exception:
        log.exception("cleaning up after the interrupted job %s failed", path)
