"""The background worker for the scaled-out mode: `python -m agora.jobs.worker`.

One entry point that builds the app once (never at import time in a job module) and runs an
RQ worker on the `agora` queue; jobs emit to clients through the Socket.IO message queue.
"""

import logging
import sys

_app = None


def _application():
    global _app
    if _app is None:
        from agora import create_app

        _app = create_app()
    return _app


def execute(path: str, args: list) -> None:
    """What RQ runs: the job by its dotted name, inside the worker's app context; errors propagate so RQ retries."""
    from agora.extensions import db
    from agora.jobs import _resolve

    with _application().app_context():
        try:
            _resolve(path)(*args)
        finally:
            db.session.remove()


def horse_killed(job, retpid, ret_val, rusage) -> None:
    """RQ calls this in the worker when the process running a job died (SIGKILL, OOM killer).

    RQ itself then retries the job or moves it to the failed registry; here the job's module may
    undo what a dead run left behind (e.g. a snapshot marked running) through an optional
    ``interrupted(name, *args)`` function. Never raises: the worker must go on.
    """
    log = logging.getLogger(__name__)
    try:
        path, args = job.args[0], list(job.args[1])
    except (IndexError, TypeError, ValueError):
        return
    log.warning("job %s%r was interrupted: the process running it died (%s)", path, tuple(args), ret_val)
    from agora.jobs.process import clean_up_interrupted

    clean_up_interrupted(_application(), path, args)


def main() -> int:
    from redis import Redis
    from rq import Queue, Worker

    from agora.jobs import QUEUE_NAME

    app = _application()
    url = app.config.get("REDIS_URL")
    if not url:
        print("AGORA_REDIS_URL is not set: the embedded mode runs jobs in the server process.", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO)
    connection = Redis.from_url(url)
    Worker(
        [Queue(QUEUE_NAME, connection=connection)], connection=connection, work_horse_killed_handler=horse_killed
    ).work(with_scheduler=True)
    return 0


if __name__ == "__main__":
    # Run as the imported module, not __main__: RQ runs "agora.jobs.worker.execute", so the app
    # built here is the one the forked job processes inherit (not one more per job).
    from agora.jobs import worker

    sys.exit(worker.main())
