"""A real local SMTP server (aiosmtpd) that keeps what it receives: for the in-process email
tests and for the browser test whose server process sends the mail."""

import email
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import policy

from aiosmtpd.controller import Controller

from tests.live_server import free_port


class Inbox:
    """aiosmtpd handler: keeps every message; can refuse the next few with a temporary error."""

    def __init__(self):
        self.messages = []
        self.refuse = 0
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        with self.arrived:
            if self.refuse:
                self.refuse -= 1
                return "451 4.3.0 Try again later"
            self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=policy.default)))
            self.arrived.notify_all()
        return "250 OK"

    def to(self, address):
        return [m for rcpt, m in self.messages if address in rcpt]

    def wait_for(self, address, timeout: float):
        """The messages to ``address`` once at least one has arrived (another process sends
        them, in its own time), or none after ``timeout`` seconds."""
        with self.arrived:
            self.arrived.wait_for(lambda: self.to(address), timeout)
            return self.to(address)


@contextmanager
def smtp_server(handler: Inbox) -> Iterator[int]:
    """aiosmtpd on a free local port, without TLS or login (SMTP_SECURITY=none); yields the port."""
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()
