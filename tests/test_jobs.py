"""Background jobs: they run in a child process in the embedded mode, and still run when the Redis
queue is unreachable or the process running them dies."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from agora import jobs

RAN: dict = {}
DONE = threading.Event()


def record(value):
    """A job: remembers what it was given."""
    RAN["value"] = value
    DONE.set()


def test_a_job_runs_in_the_process_when_the_queue_is_unreachable(app, caplog):
    saved = app.config["JOBS_BACKEND"], app.config["REDIS_URL"]
    app.config["JOBS_BACKEND"], app.config["REDIS_URL"] = "rq", "redis://127.0.0.1:1/0"  # nothing listens on port 1
    DONE.clear()
    try:
        with app.app_context():
            jobs.submit("tests.test_jobs.record", 42)  # must not raise
        assert DONE.wait(30), "the job did not run"
    finally:
        app.config["JOBS_BACKEND"], app.config["REDIS_URL"] = saved
    assert RAN["value"] == 42
    assert "job queue unreachable" in caplog.text


def hang_once(folder):
    """A job: the first run says it started and hangs (to be killed); the next one finishes."""
    folder = Path(folder)
    first = not (folder / "started").exists()
    (folder / "started").write_text(str(os.getpid()))
    if first:
        time.sleep(60)
    (folder / "done").write_text(str(os.getpid()))


def interrupted(name, *args):
    """This module's clean-up hook, called by the server when a child died running one of its jobs."""
    (Path(args[0]) / "interrupted").write_text(name)


def _wait_for(path: Path, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return path.read_text()
        time.sleep(0.05)
    raise AssertionError(f"{path.name} never appeared")


def test_jobs_run_in_a_child_process_and_survive_its_death(app, tmp_path):
    """Embedded default: jobs run in a child process (refits never hold the server's GIL); when the
    child is killed mid-job, the module's clean-up hook runs and the job runs again in a new child."""
    saved = app.config["JOBS_BACKEND"]
    app.config["JOBS_BACKEND"] = "process"
    try:
        with app.app_context():
            jobs.submit("tests.test_jobs.hang_once", str(tmp_path))
        first = int(_wait_for(tmp_path / "started"))
        assert first != os.getpid(), "the job ran in the server's own process"
        os.kill(first, signal.SIGKILL)
        second = int(_wait_for(tmp_path / "done"))
        assert second not in (first, os.getpid())
        assert (tmp_path / "interrupted").read_text() == "hang_once"
    finally:
        app.config["JOBS_BACKEND"] = saved
        jobs._job_process(app).stop()


def write_file(path):
    """A job: writes its process id to a file."""
    Path(path).write_text(str(os.getpid()))


def test_the_job_process_finishes_its_job_and_ends_quietly_when_the_server_is_gone(app, tmp_path):
    """A server stopped while its job process runs a job: the job still ends, and the child exits
    without a traceback for the start/end messages nobody reads any more."""
    env = {
        **os.environ,
        "AGORA_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "AGORA_INSTANCE_PATH": app.instance_path,
        "AGORA_SECRET_KEY": "test",
    }
    child = subprocess.Popen(
        [sys.executable, "-m", "agora.jobs.child"],
        cwd=Path(__file__).resolve().parent.parent,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    child.stdout.close()  # the server is gone: nobody reads what the child says
    job = {"id": 1, "path": "tests.test_jobs.write_file", "args": [str(tmp_path / "done")]}
    child.stdin.write(json.dumps(job) + "\n")
    child.stdin.close()
    stderr = child.stderr.read()
    assert child.wait(60) == 0
    assert (tmp_path / "done").read_text() == str(child.pid)
    assert "Traceback" not in stderr, stderr
    assert "the server is gone" in stderr
