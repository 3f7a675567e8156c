"""The gevent server's connection handling: kept-alive connections take turns."""

import gevent
from gevent import socket
from gevent.pywsgi import WSGIServer

from agora.server import NoDelayWSGIServer, QuietHandler


def _order_served(server_class, handler_class) -> list[str]:
    """One client pipelines 20 requests on a kept-alive connection; while the first is served, a
    second client sends one. Returns the paths in the order the server served them."""
    served = []
    sockets = {}

    def app(environ, start_response):
        served.append(environ["PATH_INFO"])
        if environ["PATH_INFO"] == "/busy/0":  # the other's request arrives while the pipeline runs
            sockets["other"].sendall(b"GET /other HTTP/1.1\r\nHost: x\r\n\r\n")
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    server = server_class(("127.0.0.1", 0), app, handler_class=handler_class, log=None)
    server.start()
    try:
        address = ("127.0.0.1", server.server_port)
        busy = socket.create_connection(address)
        other = sockets["other"] = socket.create_connection(address)
        gevent.sleep(0.2)  # both accepted and waiting for a request
        busy.sendall(b"".join(b"GET /busy/%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(20)))
        with gevent.Timeout(10):
            while len(served) < 21:
                gevent.sleep(0.01)
        busy.close()
        other.close()
        return served
    finally:
        server.stop(timeout=1)


def test_a_kept_alive_client_cannot_keep_the_others_waiting():
    served = _order_served(NoDelayWSGIServer, QuietHandler)
    assert served.index("/other") < 5, served


def test_the_plain_gevent_handler_would_serve_the_whole_pipeline_first():
    """What the test above guards against (so it can fail): gevent's own handler reads the next
    buffered request without yielding."""
    from gevent.pywsgi import WSGIHandler

    served = _order_served(WSGIServer, WSGIHandler)
    assert served.index("/other") == 20, served
