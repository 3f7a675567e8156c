"""The job process's own side: ``python -m agora.jobs.child``, started by ``agora.jobs.process``.

It builds the app (its own entry point, so the server-side modules never import the factory),
reads jobs as JSON lines on standard input, runs each in a thread and says on standard output when
each starts and ends.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading

from agora.jobs.process import NICENESS

log = logging.getLogger(__name__)


def main() -> int:
    """Read jobs from standard input until it closes; run each in a thread; say when each starts and ends."""
    try:
        os.nice(NICENESS)
    except OSError:
        pass
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s job-process %(name)s: %(message)s")
    from agora import create_app
    from agora.jobs import run_job

    # Our standard output is the server's line to us: anything else printed goes to stderr.
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    app = create_app()
    say_lock = threading.Lock()

    def say(event: str, job_id) -> None:
        with say_lock:
            try:
                channel.write(json.dumps({"event": event, "id": job_id}) + "\n")
                channel.flush()
            except (BrokenPipeError, ValueError):  # ValueError: closed after an earlier broken pipe
                # The server stopped: our input closes too, so we finish the jobs we were given
                # (nobody is left to hear about them) and exit.
                log.info("the server is gone; job %s %s not reported", job_id, event)

    def work(job: dict) -> None:
        say("started", job["id"])
        try:
            run_job(app, job["path"], tuple(job["args"]))
        finally:
            say("finished", job["id"])

    workers = []
    for line in sys.stdin:
        try:
            job = json.loads(line)
            job["path"], job["args"]  # noqa: B018  (both must be there)
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed job line: %r", line[:200])
            continue
        thread = threading.Thread(target=work, args=(job,), name=f"job:{job['path']}")
        thread.start()
        workers = [w for w in workers if w.is_alive()] + [thread]
    for thread in workers:  # the server closed our input: finish what was asked, then exit
        thread.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
