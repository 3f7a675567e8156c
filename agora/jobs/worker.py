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
    from agora.jobs import _resolve
    from agora.extensions import db

    with _application().app_context():
        try:
            _resolve(path)(*args)
        finally:
            db.session.remove()


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
    Worker([Queue(QUEUE_NAME, connection=connection)], connection=connection).work(with_scheduler=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
