"""httpserver: the part the tests' small HTTP servers (fakeregistry.py, tokenserver.py) share: a
ThreadingHTTPServer on 127.0.0.1 at a free port, serving in a daemon thread of the test process,
stopped by stop() or at exit and on SIGTERM (lifetime.py, in the proxies' turn).

    class MyServer(httpserver.LocalHTTPServer):
        def start(self):
            self.serve(MyHandler)   # a BaseHTTPRequestHandler subclass
            return self
    s.base_url  # http://127.0.0.1:<port>

Standard library only.
"""
from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer

import lifetime

_LIVE: set = set()
lifetime.on_exit(lambda: lifetime.stop_each(_LIVE), order=lifetime.PROXIES)


class LocalHTTPServer:
    server = None  # the ThreadingHTTPServer while serving
    thread = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def serve(self, handler) -> None:
        """Listens on 127.0.0.1 at a port the kernel picks and answers with `handler` (a
        BaseHTTPRequestHandler class) in a thread until stop()."""
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        _LIVE.add(self)
        lifetime.arm()

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        _LIVE.discard(self)
