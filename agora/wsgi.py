"""The WSGI entry point: gevent's monkey-patching first, before anything imports socket or ssl."""

from gevent import monkey

monkey.patch_all()

from agora import create_app  # noqa: E402

app = create_app()
