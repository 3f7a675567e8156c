"""Serve the app with gevent's WSGI server, WebSockets included, with TCP_NODELAY on.

gevent's server does not set TCP_NODELAY, so Nagle's algorithm and delayed ACKs add ~40 ms
to every request on a kept-alive connection; we set it on each accepted socket.
"""
import logging
import socket

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
    """Access lines go through logging, not stderr."""

    def log_request(self):
        log.debug(self.format_request())


def serve(app, host: str = "127.0.0.1", port: int = 5000) -> None:
    server = NoDelayWSGIServer((host, port), app, handler_class=QuietHandler, log=None)
    log.info("Agora is serving on http://%s:%s/", host, port)
    print(f"Agora is running: open http://{host}:{port}/ (Ctrl+C to stop)", flush=True)
    server.serve_forever()
