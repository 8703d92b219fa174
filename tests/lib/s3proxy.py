"""s3proxy: an HTTP/1.1 reverse proxy in front of a test S3 server, with faults to switch on,
and a count of the requests it saw by kind.

    with S3Proxy(s3.endpoint, client=s3.client) as proxy:    # 127.0.0.1:<free port>
        proxy.endpoint                 # give this to the registry / regsweep instead of s3's
        proxy.delay_ms = 20            # every request waits 20 ms before it is forwarded
        proxy.fail_next(2)             # the next 2 get 503 SlowDown (an S3 XML error body)
        proxy.reset_next(1)            # the next one: the connection closed (RST), no answer
        proxy.delete_errors({"p/k1"})  # DeleteObjects reports p/k1 as InternalError, keeps it
        proxy.down(); proxy.up()       # refuse connections; listen again on the same port
        proxy.counts["LIST"], proxy.counts["DELETE_BATCH_KEYS"]; proxy.reset_counts()

Kinds (counts, and the `kinds` filter of fail_next / reset_next): LIST (GET on a bucket, or
with list-type), GET, HEAD, PUT, COPY (PUT with x-amz-copy-source), DELETE, DELETE_BATCH (POST
?delete; DELETE_BATCH_KEYS adds its number of keys), POST (multipart uploads), OTHER. Every
request received is counted, also one a fault answered; `faults` counts the faults injected;
`log` lists (kind, method, target, status) of every request, status 0 for a reset.

Requests are forwarded as they came (method, target, headers, Host included, so the
client's signature and presigned URLs stay valid: the registry's redirects work through the
proxy) on one upstream connection per client connection. Bodies are read whole: a chunked
request is forwarded chunked (in one chunk: RGW, as AWS, refuses a chunked PUT with 411
MissingContentLength, and so does it through the proxy), answers are sent on with a
Content-Length. `Expect: 100-continue` is answered by the proxy at once and the header
passed on, the server's interim 100 dropped. Keep-alive on both sides. Path-style only.

delete_errors: RGW checks x-amz-content-sha256 against the body, and signed clients (curl's
--aws-sigv4, the registry's SDK, boto3 over HTTP) send the hash of the body, so a
DeleteObjects cannot be forwarded with keys taken out of it. A batch naming a chosen key is
answered by the proxy: the other keys are deleted with its own client (a DeleteObjects signed
with the server's keys; the client's own signature is not checked for that batch), and the
answer lists them as Deleted (or as the error the server gave), the chosen keys as <Error>
with the code given (not deleted), in the batch's order; Quiet mode lists only the errors.
A batch of more than 1000 keys, or one whose XML does not parse, is forwarded unchanged.

Standard library only (the client for delete_errors is an s3client.S3Client, passed in).
"""
from __future__ import annotations

import asyncio
import collections
import socket
import struct
import sys
import threading
import urllib.parse
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

import lifetime

KINDS = ("LIST", "GET", "HEAD", "PUT", "COPY", "DELETE", "DELETE_BATCH", "POST", "OTHER")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
              "upgrade", "trailer", "trailers", "content-length"}
MAX_BATCH = 1000

_LIVE: set = set()


def stop_all_proxies():
    lifetime.stop_each(_LIVE)


lifetime.on_exit(stop_all_proxies, order=lifetime.PROXIES)


class ProxyError(RuntimeError):
    pass


# --------------------------------------------------------------------------------------------
# HTTP/1.1 messages
# --------------------------------------------------------------------------------------------

class Message:
    """A request or response: its first line, headers (in order, as sent) and whole body."""

    def __init__(self, first: str, headers: list, body: bytes = b""):
        self.first, self.headers, self.body = first, headers, body

    def header(self, name: str, default: str | None = None) -> str | None:
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    @property
    def chunked(self) -> bool:
        return (self.header("Transfer-Encoding") or "").lower().endswith("chunked")

    def wire(self, extra: list = (), chunked: bool = False) -> bytes:
        """The message as sent on: no hop-by-hop headers but `extra`; the body in one chunk
        when `chunked`."""
        lines = [self.first] + [f"{k}: {v}" for k, v in self.headers
                                if k.lower() not in HOP_BY_HOP] + [f"{k}: {v}" for k, v in extra]
        body = self.body
        if chunked:
            lines.append("Transfer-Encoding: chunked")
            body = (f"{len(body):x}\r\n".encode() + body + b"\r\n" if body else b"") + b"0\r\n\r\n"
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _read_head(reader: asyncio.StreamReader) -> tuple | None:
    """(first line, headers) or None at a clean end of the stream."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if not e.partial.strip():
            return None
        raise
    lines = raw.decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        if line:
            k, _, v = line.partition(":")
            headers.append((k.strip(), v.strip()))
    return lines[0], headers


async def _read_body(reader: asyncio.StreamReader, msg: Message, until_eof: bool) -> bytes:
    if msg.chunked:
        out = bytearray()
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                    pass
                return bytes(out)
            out += await reader.readexactly(size)
            await reader.readexactly(2)
    n = msg.header("Content-Length")
    if n is not None:
        return await reader.readexactly(int(n))
    return await reader.read() if until_eof else b""


def _classify(method: str, target: str, req: Message) -> str:
    path, _, query = target.partition("?")
    params = urllib.parse.parse_qs(query, keep_blank_values=True)
    has_key = "/" in path.strip("/")
    if method == "GET":
        return "LIST" if not has_key or "list-type" in params else "GET"
    if method == "HEAD":
        return "HEAD"
    if method == "PUT":
        return "COPY" if req.header("x-amz-copy-source") else "PUT"
    if method == "DELETE":
        return "DELETE"
    if method == "POST":
        return "DELETE_BATCH" if "delete" in params else "POST"
    return "OTHER"


def _error_body(code: str, message: str, resource: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?><Error>'
            f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
            f"<Resource>{escape(resource)}</Resource><RequestId>s3proxy</RequestId></Error>").encode()


def _delete_keys(body: bytes) -> tuple | None:
    """(keys, quiet) of a DeleteObjects body, None when it does not parse."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    keys, quiet = [], False
    for el in root:
        tag = el.tag.rsplit("}", 1)[-1]
        if tag == "Object":
            k = next((c.text or "" for c in el if c.tag.rsplit("}", 1)[-1] == "Key"), None)
            if k is None:
                return None
            keys.append(k)
        elif tag == "Quiet":
            quiet = (el.text or "").strip().lower() == "true"
    return keys, quiet


# --------------------------------------------------------------------------------------------
# The proxy
# --------------------------------------------------------------------------------------------

class _Fault:
    def __init__(self, n: int, kinds, action: str, **args):
        self.n, self.action, self.args = n, action, args
        self.kinds = {kinds} if isinstance(kinds, str) else set(kinds) if kinds else None

    def takes(self, kind: str) -> bool:
        return self.n > 0 and (self.kinds is None or kind in self.kinds)


class S3Proxy:
    def __init__(self, upstream: str, client=None, port: int = 0):
        """upstream: the server's http://host:port. client: an S3Client on the server (needed
        by delete_errors). port: 0 for a free one."""
        u = urllib.parse.urlsplit(upstream)
        self.upstream = (u.hostname, u.port or 80)
        self.client = client
        self.port = port
        self.delay_ms = 0
        self.counts: collections.Counter = collections.Counter()
        self.faults: collections.Counter = collections.Counter()
        self.log: list = []
        self._pending: list = []
        self._delete_error = None  # (predicate, code)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server = None
        self._thread: threading.Thread | None = None
        self._conns: dict = {}  # the client connections' writers, and their tasks

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        lifetime.arm()
        ready = threading.Event()
        failed: list = []

        def main():
            self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(self._listen())
            except Exception as e:
                failed.append(e)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()
            self._loop.close()

        self._thread = threading.Thread(target=main, name="s3proxy", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failed:
            raise ProxyError(f"s3proxy cannot listen: {failed[0]}")
        _LIVE.add(self)
        return self

    async def _listen(self):
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port,
                                                  limit=1 << 20, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    def _call(self, coro_fn, timeout: float = 10):
        return asyncio.run_coroutine_threadsafe(coro_fn(), self._loop).result(timeout)

    async def _close(self):
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for w, _task in list(self._conns.items()):
            w.transport.abort()
        tasks = [t for t in self._conns.values() if t is not asyncio.current_task()]
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=5)
            for t in pending:
                t.cancel()
        self._conns.clear()

    def down(self):
        """Stop listening and drop every open connection: connections are refused."""
        self._call(self._close)

    def up(self):
        """Listen again, on the same port."""
        if self._server is None:
            self._call(self._listen)

    def stop(self):
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            try:
                self._call(self._close)
            finally:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join(10)
        self._thread = None
        _LIVE.discard(self)

    # -- faults and counts ----------------------------------------------------------------

    def fail_next(self, n: int = 1, status: int = 503, code: str = "SlowDown", kinds=None,
                  message: str = "injected by s3proxy"):
        """Answer the next n requests (of `kinds`: a kind or a set of them; None: any) with
        status and an S3 XML error; they are not forwarded."""
        with self._lock:
            self._pending.append(_Fault(n, kinds, "fail", status=status, code=code, message=message))

    def reset_next(self, n: int = 1, kinds=None, after_forward: bool = False):
        """Close the connection (RST) instead of answering the next n requests (of `kinds`).
        after_forward: forward it first (the server did it; the client never hears)."""
        with self._lock:
            self._pending.append(_Fault(n, kinds, "reset", after_forward=after_forward))

    def delete_errors(self, keys, code: str = "InternalError"):
        """Keys (a collection, or a predicate on the key) that DeleteObjects reports as not
        deleted, with `code`, and does not delete; None: no more. Needs the client."""
        if keys is not None and self.client is None:
            raise ProxyError("delete_errors needs S3Proxy(client=...)")
        pred = None if keys is None else keys if callable(keys) else frozenset(keys).__contains__
        with self._lock:
            self._delete_error = None if pred is None else (pred, code)

    def clear_faults(self):
        with self._lock:
            self._pending.clear()
            self._delete_error = None
        self.delay_ms = 0

    def reset_counts(self):
        with self._lock:
            self.counts.clear()
            self.faults.clear()
            self.log.clear()

    def _take_fault(self, kind: str) -> _Fault | None:
        with self._lock:
            for f in self._pending:
                if f.takes(kind):
                    f.n -= 1
                    self.faults[f.action] += 1
                    self._pending = [p for p in self._pending if p.n > 0]
                    return f
        return None

    def _record(self, kind: str, method: str, target: str, status: int):
        with self._lock:
            self.log.append((kind, method, target, status))

    # -- serving --------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self._conns[writer] = asyncio.current_task()
        up: list = [None, None]  # the upstream connection: reader, writer
        try:
            while True:
                head = await _read_head(reader)
                if head is None:
                    break
                req = Message(*head)
                if (req.header("Expect") or "").lower() == "100-continue":
                    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                req.body = await _read_body(reader, req, until_eof=False)
                if not await self._handle(req, writer, up):
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        except Exception as e:  # a bug, or the client of delete_errors failing: say so
            print(f"s3proxy: {type(e).__name__}: {e}", file=sys.stderr)
        finally:
            self._conns.pop(writer, None)
            if up[1] is not None:
                up[1].transport.abort()
            writer.close()  # after what was written is sent (a reset has aborted already)
            try:
                await asyncio.wait_for(writer.wait_closed(), 5)
            except (Exception, asyncio.TimeoutError):
                writer.transport.abort()

    async def _handle(self, req: Message, writer: asyncio.StreamWriter, up: list) -> bool:
        """Answer one request; False when the client connection is to be closed."""
        method, target, version = (req.first.split(" ") + ["", ""])[:3]
        kind = _classify(method, target, req)
        batch = _delete_keys(req.body) if kind == "DELETE_BATCH" else None
        with self._lock:
            self.counts[kind] += 1
            if batch:
                self.counts["DELETE_BATCH_KEYS"] += len(batch[0])
        fault = self._take_fault(kind)
        if self.delay_ms:
            await asyncio.sleep(self.delay_ms / 1000)
        if fault is not None and fault.action == "reset" and not fault.args["after_forward"]:
            self._record(kind, method, target, 0)
            _reset(writer)
            return False
        if fault is not None and fault.action == "fail":
            a = fault.args
            body = b"" if method == "HEAD" else _error_body(a["code"], a["message"], target)
            resp = Message(f"HTTP/1.1 {a['status']} {a['code']}",
                           [("Content-Type", "application/xml"), ("x-amz-request-id", "s3proxy")], body)
        else:
            resp = None
            if batch is not None and self._delete_error is not None and len(batch[0]) <= MAX_BATCH:
                resp = await self._partial_delete(target, *batch)
            if resp is None:
                resp = await self._forward(req, up)
        status = int(resp.first.split(" ")[1])
        if fault is not None and fault.action == "reset":  # after_forward
            self._record(kind, method, target, 0)
            _reset(writer)
            return False
        self._record(kind, method, target, status)
        close = version == "HTTP/1.0" or (req.header("Connection") or "").lower() == "close"
        extra = [("Connection", "close")] if close else []
        if method == "HEAD" or status in (204, 304):
            n = resp.header("Content-Length")
            extra += [("Content-Length", n)] if method == "HEAD" and n is not None else []
            resp.body = b""
        else:
            extra.append(("Content-Length", str(len(resp.body))))
        writer.write(resp.wire(extra))
        await writer.drain()
        return not close

    async def _forward(self, req: Message, up: list) -> Message:
        method = req.first.split(" ")[0]
        if req.chunked:  # as it came (S3 refuses a PUT without a Content-Length: 411)
            data = req.wire(chunked=True)
        else:
            data = req.wire([("Content-Length", str(len(req.body)))]
                            if req.body or method in ("PUT", "POST") or req.header("Content-Length") else [])
        for attempt in (0, 1):  # once more on a fresh connection if a kept-alive one was closed
            if up[1] is None:
                up[0], up[1] = await asyncio.open_connection(*self.upstream, limit=1 << 20)
            try:
                up[1].write(data)
                await up[1].drain()
                while True:
                    head = await _read_head(up[0])
                    if head is None:
                        raise ConnectionResetError("upstream closed the connection")
                    resp = Message(*head)
                    if not resp.first.split(" ")[1].startswith("1"):
                        break
                status = int(resp.first.split(" ")[1])
                if method != "HEAD" and status not in (204, 304):
                    resp.body = await _read_body(up[0], resp, until_eof=True)
                if (resp.header("Connection") or "").lower() == "close" or (
                        resp.header("Content-Length") is None and method != "HEAD"
                        and not resp.chunked
                        and status not in (204, 304)):
                    up[1].transport.abort()
                    up[0] = up[1] = None
                return resp
            except (ConnectionError, asyncio.IncompleteReadError):
                up[1].transport.abort()
                up[0] = up[1] = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def _partial_delete(self, target: str, keys: list, quiet: bool) -> Message | None:
        pred, code = self._delete_error
        chosen = [k for k in keys if pred(k)]
        if not chosen:
            return None
        bucket = urllib.parse.unquote(target.split("?")[0].strip("/").split("/")[0])
        rest = [k for k in keys if not pred(k)]
        failed = {}
        if rest:
            loop = asyncio.get_running_loop()
            failed = await loop.run_in_executor(None, self.client.delete, bucket, rest)
        errors = dict.fromkeys(chosen, code) | failed
        parts = []
        for k in keys:
            if k in errors:
                parts.append(f"<Error><Key>{escape(k)}</Key><Code>{escape(errors[k])}</Code>"
                             f"<Message>injected by s3proxy</Message></Error>")
            elif not quiet:
                parts.append(f"<Deleted><Key>{escape(k)}</Key></Deleted>")
        body = ('<?xml version="1.0" encoding="UTF-8"?>'
                '<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                + "".join(parts) + "</DeleteResult>").encode()
        return Message("HTTP/1.1 200 OK", [("Content-Type", "application/xml"),
                                           ("x-amz-request-id", "s3proxy")], body)


def _reset(writer: asyncio.StreamWriter):
    """Close with a TCP RST (SO_LINGER 0), as a connection dropped by a load balancer."""
    sock = writer.get_extra_info("socket")
    try:
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    writer.transport.abort()
