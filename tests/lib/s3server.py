"""s3server: a real S3 server for the tests: Ceph's radosgw on one node, on 127.0.0.1.

    with S3Server() as s3:                      # or shared_server(): one per process, reused
        bucket = s3.fresh_bucket("gc")          # or s3.bucket + s3.fresh_prefix("gc")
        s3.client.put(bucket, "a/b", b"x")      # an s3client.S3Client on s3.endpoint
        s3.endpoint, s3.access_key, s3.secret_key, s3.region

One monitor, one OSD keeping its data in memory (memstore) and radosgw with the beast
frontend; cephx off, no mgr. Every file (config, data, logs, sockets, pid files) is under one
temporary folder, removed at stop. Each daemon runs in the foreground in its own session
(setsid) with an environment built here (clean_env: nothing of ours, so no AWS_* and no
proxy), and gets SIGTERM if this process dies first (lifetime.die_with_parent). stop()
stops them one after the other, radosgw, then the OSD, then the monitor (radosgw hangs if
its OSD is gone; an OSD whose monitor is gone waits 5 s), each by PID after checking the
PID is still that daemon. Every server still running is stopped at exit and on SIGTERM
(lifetime.py, after the registries and proxies that use it).

Ports: the monitor and radosgw take free ports (start() tries again on a port taken in
between); the OSD binds in 6800-7300 (Ceph's default, outside the kernel's range for free
ports, so never one a registry was given).

Signing: RGW takes any region in a SigV4 credential scope; REGION ("us-east-1") is the one a
bucket is created in without a LocationConstraint. RGW requires x-amz-content-sha256 (403
without it) and checks it against the body (400 XAmzContentSHA256Mismatch; UNSIGNED-PAYLOAD
is taken); it does not check Content-MD5 on DeleteObjects, nor require it. With curl 7.88's
--aws-sigv4 (which signs the headers given with -H, that one included): write `?delete=`,
not `?delete`, and give the query's parameters sorted and percent-encoded (prefix=a%2Fb):
curl signs the query as written, RGW its canonical form (403 SignatureDoesNotMatch).

Measured on this project's two-core machine (Debian 12, Ceph 16.2.15), `python3
tests/lib/s3server.py`: start 2.6 to 3.7 s (monitor 0.3-0.6 s, OSD up 0.8-1.3 s, user and
pools 1.0 s, radosgw answering 0.1-0.2 s, the bucket), stop 0.35 to 0.6 s (radosgw 0.2-0.3 s,
OSD and monitor under 0.2 s each); about 135 MB of memory idle.

Needs ceph-mon, ceph-osd, radosgw, ceph-common (scripts/setup.sh test) and boto3 (the client).
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import uuid

import lifetime
from httpclient import http
from registry import free_port
from s3client import S3Client

REGION = "us-east-1"
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
OSD_PORTS = (6800, 7300)


class S3ServerError(RuntimeError):
    pass


def clean_env(home: str, **extra: str) -> dict:
    """An environment built from nothing, for a process that talks to the test S3 server: the
    system PATH (Debian's python for the ceph tools, not a pyenv one), a UTF-8 locale, HOME,
    and `extra`; none of ours (AWS_CA_BUNDLE makes the registry's S3 driver panic, AWS_* keys
    or a proxy would be used instead of what the test gives)."""
    env = {"PATH": SYSTEM_PATH, "LANG": "C.UTF-8", "HOME": home, "TMPDIR": home}
    env.update(extra)
    return env


_LIVE: set = set()


def stop_all_s3_servers():
    lifetime.stop_each(_LIVE)


lifetime.on_exit(stop_all_s3_servers, order=lifetime.S3_SERVERS)


def s3_servers_running() -> list:
    return [s for s in _LIVE if s.daemons]


def _comm(pid: int) -> str | None:
    """The process name of pid (None when there is no such process, or only its zombie)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    name, state = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:][:1]
    return None if state in ("Z", "X") else name


def _stop_daemon(proc: subprocess.Popen, name: str, wait: float = 10) -> None:
    """SIGTERM, then SIGKILL, to proc's PID while it is still `name`; reaps it."""
    for sig, timeout in ((signal.SIGTERM, wait), (signal.SIGKILL, 5)):
        if proc.poll() is not None or _comm(proc.pid) != name[:15]:
            break
        try:
            os.kill(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout)
            break
        except subprocess.TimeoutExpired:
            continue
    try:
        proc.wait(1)
    except subprocess.TimeoutExpired:
        pass


CEPH_CONF = """\
[global]
fsid = {fsid}
mon_host = [v2:127.0.0.1:{mon_port}]
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_msgr1 = false
ms_bind_port_min = {osd_min}
ms_bind_port_max = {osd_max}
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
mon_max_pg_per_osd = 1000
# one map commit per RGW pool: 13 s to start without it
paxos_propose_interval = 0.1
run_dir = {dir}/run
pid_file = {dir}/run/$name.pid
log_file = {dir}/log/$name.log
admin_socket = {dir}/run/$name.asok
keyring = {dir}/keyring
mon_data = {dir}/mon.$id
[osd]
osd_data = {dir}/osd.$id
osd_objectstore = memstore
memstore_device_bytes = 4294967296
[client.rgw.a]
# without tcp_nodelay every GET takes about 45 ms
rgw_frontends = beast endpoint=127.0.0.1:{rgw_port} tcp_nodelay=1
# radosgw's default "secure" mode cannot work with auth none: it hangs
ms_mon_client_mode = crc
rgw_gc_obj_min_wait = 5
rgw_gc_processor_period = 5
"""


class S3Server:
    """radosgw on one node; see the module's documentation."""

    start_attempts = 3  # on a free port taken before a daemon bound it

    def __init__(self, start_timeout: float = 60, bucket: str = "regtest"):
        """bucket: created at start, shared by the cases that each use a fresh prefix in it."""
        self.start_timeout = start_timeout
        self.bucket = bucket
        self.access_key = "RT" + secrets.token_hex(9).upper()
        self.secret_key = secrets.token_hex(20)
        self.region = REGION
        self.dir: str | None = None
        self.port: int | None = None
        self.daemons: list = []  # [(name, Popen)] in start order
        self.timings: dict = {}  # step -> seconds, of the last start and stop
        self._client: S3Client | None = None
        self._serial = 0
        self._lock = threading.Lock()

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
        last = None
        for _attempt in range(self.start_attempts):
            try:
                self._start_once()
                return self
            except S3ServerError as e:
                last = e
                logs = self.logs()
                self.stop()
                if "already in use" not in logs:
                    break
        raise last  # type: ignore[misc]

    def _start_once(self):
        lifetime.arm()
        _LIVE.add(self)
        self.dir = tempfile.mkdtemp(prefix="regtest-rgw-")
        for sub in ("run", "log", "osd.0"):
            os.makedirs(os.path.join(self.dir, sub))
        self.env = clean_env(self.dir)
        self.conf = os.path.join(self.dir, "ceph.conf")
        self.port = free_port()
        mon_port = free_port()
        fsid = str(uuid.uuid4())
        with open(self.conf, "w") as f:
            f.write(CEPH_CONF.format(fsid=fsid, mon_port=mon_port, rgw_port=self.port, dir=self.dir,
                                     osd_min=OSD_PORTS[0], osd_max=OSD_PORTS[1]))
        t0 = step = time.monotonic()
        deadline = t0 + self.start_timeout

        def lap(name):
            nonlocal step
            now = time.monotonic()
            self.timings[name] = round(now - step, 3)
            step = now

        monmap = os.path.join(self.dir, "monmap")
        self._run(["monmaptool", "--create", "--fsid", fsid, "--addv", "a",
                   f"[v2:127.0.0.1:{mon_port}]", monmap])
        self._run(["ceph-mon", "--mkfs", "-i", "a", "--monmap", monmap])
        self._spawn("ceph-mon", ["-f", "-i", "a"])
        self._run(["ceph", "--connect-timeout", "15", "mon", "stat"], deadline)
        lap("monitor")

        osd_uuid = str(uuid.uuid4())
        osd_id = self._run(["ceph", "osd", "new", osd_uuid], deadline).strip()
        self._run(["ceph-osd", "-i", osd_id, "--mkfs", "--osd-uuid", osd_uuid], deadline)
        self._spawn("ceph-osd", ["-f", "-i", osd_id])
        while True:
            dump = json.loads(self._run(["ceph", "osd", "dump", "--format", "json"], deadline))
            if any(o.get("up") == 1 for o in dump.get("osds", [])):
                break
            self._check(deadline, "the OSD is not up")
            time.sleep(0.1)
        lap("osd")

        self._run(["radosgw-admin", "user", "create", "--uid=regtest", "--display-name=regtest",
                   f"--access-key={self.access_key}", f"--secret-key={self.secret_key}"], deadline)
        lap("user")
        self._spawn("radosgw", ["-f", "-n", "client.rgw.a"])
        while True:
            try:
                if http("GET", self.endpoint + "/", timeout=2).status == 200:
                    break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            self._check(deadline, "radosgw does not answer")
            time.sleep(0.05)
        lap("radosgw")
        if self.bucket:
            self.create_bucket(self.bucket)
        self.timings["start"] = round(time.monotonic() - t0, 3)

    def _spawn(self, name: str, args: list):
        log = open(os.path.join(self.dir, "log", f"{name}.out"), "ab")
        try:
            p = subprocess.Popen(
                [name, "-c", self.conf, *args], cwd=self.dir, env=self.env,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # setsid: a session and process group of its own
                # dies with us, unless started from a thread other than the main one (the
                # death signal fires when the starting thread ends)
                preexec_fn=lifetime.die_with_parent
                if threading.current_thread() is threading.main_thread() else None)
        finally:
            log.close()
        self.daemons.append((name, p))

    def _check(self, deadline: float, what: str):
        for name, p in self.daemons:
            if p.poll() is not None:
                raise S3ServerError(f"{name} exited with {p.returncode}:\n{self.logs()}")
        if time.monotonic() > deadline:
            raise S3ServerError(f"{what} after {self.start_timeout}s:\n{self.logs()}")

    def _run(self, argv: list, deadline: float | None = None) -> str:
        timeout = max(1.0, deadline - time.monotonic()) if deadline else 30
        self._check(deadline or time.monotonic() + timeout, argv[0])
        try:
            p = subprocess.run([argv[0], "-c", self.conf, *argv[1:]], cwd=self.dir, env=self.env,
                               stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
                               start_new_session=True)
        except subprocess.TimeoutExpired:
            raise S3ServerError(f"{' '.join(argv)}: no answer after {timeout:.0f}s:\n{self.logs()}")
        if p.returncode != 0:
            raise S3ServerError(f"{' '.join(argv)} failed ({p.returncode}):\n"
                                f"{p.stderr.decode(errors='replace')}\n{self.logs()}")
        return p.stdout.decode(errors="replace")

    def stop(self):
        """Stop radosgw, then the OSD, then the monitor, and remove the folder."""
        t0 = time.monotonic()
        for name, p in reversed(self.daemons):
            t = time.monotonic()
            _stop_daemon(p, name)
            self.timings[f"stop {name}"] = round(time.monotonic() - t, 3)
        self.daemons = []
        self.timings["stop"] = round(time.monotonic() - t0, 3)
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        self._client = None
        _LIVE.discard(self)

    def logs(self, tail: int = 40) -> str:
        """The last lines of every daemon's log (for a failure's message)."""
        out = []
        logdir = os.path.join(self.dir or "", "log")
        for name in sorted(os.listdir(logdir)) if os.path.isdir(logdir) else []:
            with open(os.path.join(logdir, name), "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()[-tail:]
            out.append(f"== {name}\n" + "\n".join(lines))
        return "\n".join(out)

    # -- use ------------------------------------------------------------------------------

    @property
    def client(self) -> S3Client:
        """A key-level client straight to radosgw (not through a proxy)."""
        if self._client is None:
            self._client = self.client_for(self.endpoint)
        return self._client

    def client_for(self, endpoint: str, **kwargs) -> S3Client:
        """A client with this server's keys on another endpoint (an s3proxy in front of it)."""
        return S3Client(endpoint, self.access_key, self.secret_key, self.region, **kwargs)

    def create_bucket(self, name: str) -> str:
        return self.client.create_bucket(name)

    def _unique(self, label: str) -> str:
        with self._lock:
            self._serial += 1
            n = self._serial
        label = re.sub(r"[^a-z0-9-]+", "-", label.lower()).strip("-")[:30] or "case"
        return f"{label}-{os.getpid()}-{n}-{secrets.token_hex(2)}"

    def fresh_prefix(self, label: str) -> str:
        """A prefix no case has used (no slashes at either end): '<label>-<pid>-<n>-<hex>'."""
        return self._unique(label)

    def fresh_bucket(self, label: str) -> str:
        """A new, empty bucket with a name no case has used."""
        return self.create_bucket(self._unique(label)[:63])


_SHARED: list = []
_SHARED_LOCK = threading.Lock()


def shared_server() -> S3Server:
    """The one S3Server of this process, started at the first call (the S3 suites share one;
    each case uses a fresh prefix or bucket). Stopped at exit."""
    with _SHARED_LOCK:
        if not _SHARED or not _SHARED[0].daemons:
            _SHARED[:] = [S3Server().start()]
        return _SHARED[0]


if __name__ == "__main__":  # python3 tests/lib/s3server.py: start, time, stop
    s = S3Server().start()
    c = s.client
    c.put(s.bucket, "k", b"v")
    assert c.get(s.bucket, "k") == b"v"
    s.stop()
    print(json.dumps(s.timings, indent=1))
