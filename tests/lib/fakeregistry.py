"""fakeregistry: a scripted stand-in for the registry's API, for the faults the real one does
not make on demand: a Link header that loops, a manifest whose body does not match its digest,
malformed JSON, 403, 429 and 5xx storms. Each path answers from its script in order (the last
answer repeats); a path without one answers 404. Every request is recorded.

    fake = FakeRegistry().start()
    fake.script("/v2/_catalog?n=1000", [Answer(503), Answer(200, json={"repositories": ["a"]})])
    fake.url  # http://127.0.0.1:<port>

Runs in a thread of the test process; stopped at exit (httpserver.py). Standard library only.
"""
from __future__ import annotations

import json as jsonlib
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from httpserver import LocalHTTPServer


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    json: object = None  # when set: the body, as JSON, with Content-Type application/json


class FakeRegistry(LocalHTTPServer):
    def __init__(self):
        self.scripts: dict = {}
        self.requests: list = []  # (method, path)
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return self.base_url

    def script(self, path: str, answers: list) -> None:
        with self.lock:
            self.scripts[path] = list(answers)

    def reset(self) -> None:
        with self.lock:
            self.scripts.clear()
            self.requests.clear()
        self.script("/v2/", [Answer(200, json={})])

    def count(self, path: str) -> int:
        with self.lock:
            return sum(1 for _m, p in self.requests if p == path)

    def count_method(self, method: str) -> int:
        with self.lock:
            return sum(1 for m, _p in self.requests if m == method)

    def _next(self, method: str, path: str) -> Answer:
        """The answer scripted for "METHOD /path" if there is one, else for "/path"."""
        with self.lock:
            self.requests.append((method, path))
            answers = self.scripts.get(f"{method} {path}") or self.scripts.get(path)
            if not answers:
                return Answer(404, json={"errors": [{"code": "NOT_FOUND", "message": "not scripted"}]})
            return answers.pop(0) if len(answers) > 1 else answers[0]

    def start(self):
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def answer(self, method: str):
                if method in ("PUT", "POST"):
                    self.rfile.read(int(self.headers.get("Content-Length") or 0))
                a = owner._next(method, self.path)
                body = jsonlib.dumps(a.json).encode() if a.json is not None else a.body
                self.send_response(a.status)
                if a.json is not None:
                    self.send_header("Content-Type", "application/json")
                for k, v in a.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if method != "HEAD":  # a HEAD's answer has no body (its Content-Length is the GET's)
                    self.wfile.write(body)

            def do_GET(self):
                self.answer("GET")

            def do_HEAD(self):
                self.answer("HEAD")

            def do_DELETE(self):
                self.answer("DELETE")

            def do_PUT(self):
                self.answer("PUT")

        self.serve(Handler)
        self.reset()
        return self
