"""Background jobs: a job asked for while the Redis queue is unreachable still runs."""
import threading

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
