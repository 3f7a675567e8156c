"""Anonymous readers of a public page share one rendering while nothing has been written.

A link shared in a forum's channels can bring thousands of readers to one consultation within
minutes. Rendering its page takes about fifteen queries and a large template (~10 ms here);
handing back a stored copy takes well under one. Only anonymous GETs without a session are
served from the store: a signed-in reader's page carries their votes, forms and CSRF token, and
a flash message lives in the session.

A stored page is used while no transaction has committed in this process since it was rendered
(every commit, ORM or not, bumps a counter), and for at most ``PAGE_CACHE_SECONDS``: writes made
by another process (a second server, a worker, the embedded job process) reach anonymous readers
within that time, like the participation counts (``COUNTS_CACHE_SECONDS``).
``AGORA_PAGE_CACHE_SECONDS=0`` turns it off.
"""

import threading
import time
from collections import OrderedDict
from functools import wraps

from flask import Flask, current_app, make_response, request, session
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy import event

from agora.extensions import db

MAX_PAGES = 256  # per process: a few MB of HTML, whatever query strings a crawler invents

_commits = [0]  # commits in this process so far; a lost increment in a race still changes it


def _committed(_connection) -> None:
    _commits[0] += 1


class _Store:
    def __init__(self):
        self.pages: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key, commits: int, ttl: float):
        with self.lock:
            hit = self.pages.get(key)
            if hit is None:
                return None
            if hit[0] != commits or time.monotonic() - hit[1] > ttl:
                del self.pages[key]
                return None
            self.pages.move_to_end(key)
            return hit

    def put(self, key, value) -> None:
        with self.lock:
            self.pages[key] = value
            self.pages.move_to_end(key)
            while len(self.pages) > MAX_PAGES:
                self.pages.popitem(last=False)


def init_app(app: Flask) -> None:
    app.extensions["agora_page_cache"] = _Store()
    with app.app_context():
        event.listen(db.engine, "commit", _committed)


def _shareable() -> bool:
    return (
        request.method in ("GET", "HEAD")
        and current_app.config.get("PAGE_CACHE_SECONDS", 0) > 0
        and not session
        and not getattr(current_user, "is_authenticated", False)
    )


def shared_with_anonymous_readers(view):
    """Serve this view's page from the store to anonymous readers (see the module's docstring)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not _shareable():
            return view(*args, **kwargs)
        store: _Store = current_app.extensions["agora_page_cache"]
        key = (request.endpoint, request.full_path, str(get_locale()))
        commits = _commits[0]
        hit = store.get(key, commits, current_app.config["PAGE_CACHE_SECONDS"])
        if hit is not None:
            return make_response(hit[2])  # text/html, Flask's default
        response = make_response(view(*args, **kwargs))
        if (
            response.status_code == 200
            and response.mimetype == "text/html"
            and not response.direct_passthrough
            and "Set-Cookie" not in response.headers
            and not session.modified
            and not session
        ):
            # stored under the count read before rendering: a commit meanwhile makes it stale at once
            store.put(key, (commits, time.monotonic(), response.get_data()))
        return response

    return wrapped
