"""Serve the app with gevent's WSGI server, WebSockets included, with TCP_NODELAY on.

gevent's server does not set TCP_NODELAY, so Nagle's algorithm and delayed ACKs add ~40 ms
to every request on a kept-alive connection; we set it on each accepted socket.

What the app holds once started (modules, models, the ORM's registries: a few hundred thousand
objects) is frozen out of the garbage collector: a full collection walks every tracked object
with the event loop stopped, ~200 ms a time for this app, which every socket of the process felt.
"""

import gc
import logging
import socket

import gevent
from gevent.pywsgi import WSGIHandler, WSGIServer

log = logging.getLogger(__name__)


class NoDelayWSGIServer(WSGIServer):
    def handle(self, sock, address):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # not TCP (e.g. a Unix socket)
            pass
        return super().handle(sock, address)


class QuietHandler(WSGIHandler):
    """Access lines go through logging, not stderr; connections take turns."""

    def handle_one_request(self):
        # A kept-alive client's next request is often already in the buffer: read at once, it would
        # be served before other connections' waiting requests, again and again (under load a few
        # readers waited 1.6 s while most were served in 9 ms). Yield first: each takes its turn.
        # A timer, not sleep(0): sleep(0) only runs greenlets already ready, and the loop may not
        # poll the other sockets in between (tests/test_server.py fails with it).
        gevent.sleep(1e-6)
        return super().handle_one_request()

    def log_request(self):
        log.debug(self.format_request())


def warm_up(app) -> None:
    """Load before serving what first uses would load with the event loop stopped (seconds of CPU,
    felt by every connection of the process): the moderation model and language identifier, the
    libraries background theme refits import, the embedding model (in the embedding process, or
    here when that is off), and the locale data of the interface's languages."""
    try:
        with app.app_context():
            from agora.services import embeddings
            from agora.services.moderation import screening

            text = "Warming up the moderation model before the first view arrives."
            model = screening.moderator()
            if model is not None:  # starts the embedding process and waits for both its models
                screening.screen_many([(text, None, None)])
            else:
                embeddings.encode([text])
        # Imported by refits when they run in a native thread of the server (AGORA_JOBS=thread, the
        # chair's summary before a first snapshot): the GIL is held while importing.
        import sklearn.cluster  # noqa: F401
        import sklearn.decomposition  # noqa: F401
        import sklearn.metrics  # noqa: F401
        from babel import Locale
        from babel.numbers import format_decimal

        from moderation import opinions, themes  # noqa: F401

        for code in app.config.get("LANGUAGES", ()):
            format_decimal(1234.5, locale=Locale.parse(code))
    except Exception:  # the first request or job will try again
        log.exception("warming up before serving failed")


def serve(app, host: str = "127.0.0.1", port: int = 5000) -> None:
    server = NoDelayWSGIServer((host, port), app, handler_class=QuietHandler, log=None)
    warm_up(app)
    # Each greenlet (three per socket, and one per Engine.IO ping) would otherwise keep the stack
    # it was spawned from, for debugging: ~30 objects per client for the collector to walk.
    gevent.config.track_greenlet_tree = False
    gc.collect()
    gc.freeze()  # what exists now lives as long as the process: never walk it again
    log.info("Agora is serving on http://%s:%s/", host, port)
    print(f"Agora is running: open http://{host}:{port}/ (Ctrl+C to stop)", flush=True)
    server.serve_forever()
