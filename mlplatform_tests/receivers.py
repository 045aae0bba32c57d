"""Local receivers for the alert channels: an SMTP server (aiosmtpd) and an HTTP server
that records what it is sent, both on 127.0.0.1."""

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import pytest

from mlplatform_tests.loopback import loopback_server, serving


@dataclass
class HttpReceiver:
    url: str
    bodies: list[dict] = field(default_factory=list)
    fail_next: int = 0  # answer 503 to this many requests
    lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self) -> list[dict]:
        with self.lock:
            return list(self.bodies)


@dataclass
class SmtpReceiver:
    host: str
    port: int
    messages: list = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        from email import message_from_bytes

        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    server = loopback_server()
    receiver = HttpReceiver(f"http://127.0.0.1:{server.server_port}")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with receiver.lock:
                failing = receiver.fail_next > 0
                if failing:
                    receiver.fail_next -= 1
                else:
                    receiver.bodies.append({"path": self.path, **json.loads(body)})
            self.send_response(503 if failing else 200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    server.RequestHandlerClass = Handler
    with serving(server):
        yield receiver


@pytest.fixture
def smtp_receiver() -> Iterator[SmtpReceiver]:
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:  # aiosmtpd's start-up check cannot use port 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    receiver = SmtpReceiver("127.0.0.1", port)
    controller = Controller(receiver, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield receiver
    finally:
        controller.stop()
