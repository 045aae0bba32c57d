"""HTTP servers on 127.0.0.1 for tests, served from a thread."""

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def loopback_server() -> ThreadingHTTPServer:
    """A server on a free port; set its RequestHandlerClass, then `serving` it."""
    return ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)


@contextlib.contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[None]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
