"""An AWS-compatible server on loopback (moto's, in this process) and, in front of it, a proxy
that answers `Throttling` on demand, as AWS does when a quota is exceeded."""

import http.client
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import boto3
import pytest
import requests

from mlplatform_tests.loopback import loopback_server, serving

REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


def _cbor_text(text: str) -> bytes:
    data = text.encode()
    assert len(data) < 24  # a one-byte length is all these messages need
    return bytes([0x60 + len(data)]) + data


# CloudWatch speaks Smithy RPC v2 CBOR: an error is a CBOR map with `__type` and `message`.
THROTTLING_CBOR = (
    bytes([0xA2])
    + _cbor_text("__type")
    + _cbor_text("Throttling")
    + _cbor_text("message")
    + _cbor_text("Rate exceeded")
)
SLOW_DOWN_XML = (
    b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
)


@dataclass
class ThrottlingProxy:
    endpoint: str
    upstream: tuple[str, int]
    to_throttle: int = 0
    throttled: int = 0
    forwarded: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def upstream_url(self) -> str:
        return f"http://{self.upstream[0]}:{self.upstream[1]}"

    def throttle_next(self, requests_count: int) -> None:
        with self.lock:
            self.to_throttle = requests_count

    def take_throttle(self) -> bool:
        with self.lock:
            if self.to_throttle:
                self.to_throttle -= 1
                self.throttled += 1
                return True
            self.forwarded += 1
            return False


def _handler(proxy: ThrottlingProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # one line per request otherwise
            pass

        def _relay(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if proxy.take_throttle():
                cbor = "smithy-protocol" in self.headers
                self.send_response(400 if cbor else 503)
                payload = THROTTLING_CBOR if cbor else SLOW_DOWN_XML
                if cbor:
                    self.send_header("smithy-protocol", "rpc-v2-cbor")
                    self.send_header("Content-Type", "application/cbor")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            conn = http.client.HTTPConnection(*proxy.upstream, timeout=30)
            conn.request(self.command, self.path, body=body, headers=dict(self.headers))
            answer = conn.getresponse()
            payload = answer.read()
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            conn.close()

        do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _relay

    return Handler


@pytest.fixture
def aws_endpoint() -> Iterator[str]:
    """moto's server on 127.0.0.1 with empty backends."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
    try:
        yield endpoint
    finally:
        server.stop()


@pytest.fixture
def throttling_proxy(aws_endpoint: str) -> Iterator[ThrottlingProxy]:
    host, port = aws_endpoint.removeprefix("http://").split(":")
    server = loopback_server()
    proxy = ThrottlingProxy(f"http://127.0.0.1:{server.server_port}", (host, int(port)))
    server.RequestHandlerClass = _handler(proxy)
    with serving(server):
        yield proxy


def aws_client(service: str, endpoint: str):
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, **CREDENTIALS)
