"""Background work. Jobs take ids, open their own session and call services.

Embedded (default, ``AGORA_JOBS=process``): one child process of the server runs them
(`agora.jobs.process`): CPU-heavy scikit-learn work must never run on the event loop, nor hold
the server's GIL. ``AGORA_JOBS=thread``: a native thread of the server instead (gevent's thread
pool when the server is gevent-patched), as do databases a child cannot open (in-memory SQLite).
Scaled out (`AGORA_REDIS_URL` set and `AGORA_JOBS=rq`): an RQ queue on Redis, run by
`python -m agora.jobs.worker` processes, which emit through the Socket.IO message queue.
"""

import logging
import threading
from importlib import import_module

from flask import current_app

log = logging.getLogger(__name__)
QUEUE_NAME = "agora"


def _resolve(path: str):
    module, _, name = path.rpartition(".")
    return getattr(import_module(module), name)


def run_job(app, path: str, args: tuple) -> None:
    """Run one job inside an application context, logging (never raising) its failure."""
    with app.app_context():
        from agora.extensions import db

        try:
            _resolve(path)(*args)
        except Exception:
            log.exception("job %s%r failed", path, args)
            db.session.rollback()
        finally:
            db.session.remove()


def gevent_patched() -> bool:
    """Whether this process serves under gevent (threads are then greenlets on the event loop)."""
    try:
        from gevent import monkey

        return monkey.is_module_patched("threading")
    except ImportError:
        return False


def off_loop(fn, *args):
    """Call ``fn(*args)`` and return its result; under gevent, in its native thread pool, so the
    event loop (every other request and socket) keeps turning while CPU work runs. No session
    objects should cross: the thread has no application context of its own."""
    if gevent_patched():
        import gevent

        return gevent.get_hub().threadpool.apply(fn, args)
    return fn(*args)


def submit(path: str, *args) -> None:
    """Run `path(*args)` in the background; `path` is a dotted name of a function taking ids."""
    app = current_app._get_current_object()
    if app.config.get("JOBS_BACKEND") == "rq":
        from redis import Redis
        from redis.exceptions import RedisError
        from rq import Queue

        try:
            Queue(QUEUE_NAME, connection=Redis.from_url(app.config["REDIS_URL"])).enqueue(
                "agora.jobs.worker.execute", path, list(args), job_timeout=1800, retry=_retry()
            )
            return
        except RedisError:
            # The caller has committed its work already (a report asked for, an import stored):
            # with the queue unreachable, run the job here rather than fail the request or drop it.
            log.warning("job queue unreachable; running %s%r in this process", path, args, exc_info=True)
    if app.config.get("JOBS_BACKEND") == "inline":  # tests that want the result before they go on
        run_job(app, path, args)
        return
    if app.config.get("JOBS_BACKEND") == "process" and ":memory:" not in app.config["SQLALCHEMY_DATABASE_URI"]:
        _job_process(app).submit(path, args)
        return
    in_thread(app, path, args)


def in_thread(app, path: str, args: tuple) -> None:
    """Run the job in a native thread of this process (never on gevent's loop)."""
    if gevent_patched():
        import gevent

        gevent.get_hub().threadpool.spawn(run_job, app, path, args)
    else:
        threading.Thread(target=run_job, args=(app, path, args), daemon=True, name=f"job:{path}").start()


_processes: dict = {}
_processes_lock = threading.Lock()


def _job_process(app):
    """The app's job process (one per app per server process), made on first use."""
    from agora.jobs.process import JobProcess

    with _processes_lock:
        if app not in _processes:
            _processes[app] = JobProcess(app, in_thread)
        return _processes[app]


def _retry():
    from rq import Retry

    return Retry(max=3, interval=[10, 60, 300])
