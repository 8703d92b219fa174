"""httpclient: plain HTTP to the registry on the loopback interface, never through a proxy.

http() returns a Response (status, headers, body; header() looks a name up without regard to
case, json() parses the body) for every status, errors included. next_link() follows the
registry's pagination (the Link header). Standard library only.
"""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

# Loopback only: never through a proxy, whatever the environment says.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes

    def header(self, name: str, default=None):
        for k, v in self.headers.items():
            if k.lower() == name.lower():
                return v
        return default

    def json(self):
        return json.loads(self.body)


def http(method: str, url: str, data: bytes | None = None, headers: dict | None = None,
         timeout: float = 30) -> Response:
    host = urllib.parse.urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise RuntimeError(f"refusing non-loopback URL {url}")
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with _OPENER.open(req, timeout=timeout) as r:
            return Response(r.status, dict(r.headers.items()), r.read())
    except urllib.error.HTTPError as e:
        body = e.read() if e.fp else b""
        return Response(e.code, dict(e.headers.items()) if e.headers else {}, body)


def next_link(r: Response) -> str | None:
    link = r.header("Link")
    if not link:
        return None
    m = re.match(r"<([^>]+)>", link)
    return m.group(1) if m else None
