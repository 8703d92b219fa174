#!/usr/bin/env python3
"""End to end: `regsweep gc` while a read-only registry (distribution 2.8.2) serves the root.

    REGSWEEP=build/regsweep python3 tests/e2e/test_readonly.py     # TAP on stdout

Why: the registry caches blob descriptors (in memory, or in redis with
`storage.cache.blobdescriptor: redis`). Blobs swept under a read-only registry are still
"known" to that cache; with redis the cache outlives a restart, so once the registry is
read-write again a push of the same layer is skipped (HEAD answers 200 from the cache), the
manifest is accepted (its blobs are checked through the same cache), and the image is broken:
GET of the layer answers 200 with a Content-Length and no bytes (distribution #4569, #4702).

The storage: team/app:v1 and :v2 pushed with skopeo (a shared base layer, one own layer each);
`regsweep rm team/app:v1` (registry stopped) leaves v1's layer u1, its config and its manifest
unreferenced. Every test works on a copy (copy_tree keeps mtimes); blobs are minutes old, so
gc runs with --min-age 0s where it should sweep.

- RedisCache (ordered steps, one storage, one redis-server on a free port in a temp dir):
  1 a read-write registry with the redis cache HEADs u1 (cached), then a read-only one serves
    the root: `gc -y` refuses (exit 3, storage unchanged), `--dry-run` and `--plan-out` work;
  2 `gc -y --i-will-restart-the-registry` sweeps; the last stdout line says to restart and
    names `redis-cli -h 127.0.0.1 -p PORT -n 3 FLUSHDB`; the read-only registry still answers
    HEAD u1 with 200;
  3 the registry restarted read-write with the same, unflushed redis: skopeo pushes v1 again
    "successfully", but u1 is still not on disk and a full pull fails (the broken push);
  4 the printed redis-cli command run, the registry restarted, v1 pushed again: it pulls.
- InMemoryCache: refusal, the flag, the last line without redis-cli; the read-only registry
  answers HEAD 200 for a swept blob until restarted, then 404. --json: the advice is in the
  document and is stderr's last line. The rule does not depend on the plan: with nothing to
  sweep the flag is still asked for, and the last line says no restart is needed.
- ReadWrite: a read-write registry is refused even with the flag (only --force overrides).
- Detection: a real registry serving s3 is not counted; with the real registry and processes
  that only look like one (python under the name docker-registry) running, the refusal names
  every one serving this root (a config naming it through a symbolic link included), each
  with why, and none serving another root.

Fails (TAP "Bail out!") when REGSWEEP is unset, or docker-registry, skopeo, redis-server or
redis-cli is missing (bash scripts/setup.sh installs them).
"""
from __future__ import annotations

import atexit
import functools
import http.client
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))

import clock  # noqa: E402
import regtest as rt  # noqa: E402
import tap  # noqa: E402

FLAG = "--i-will-restart-the-registry"
REPO = "team/app"
REDIS_DB = 3


log = tap.logger("e2e-readonly")


# ---------------------------------------------------------------------------------------------
# The images and the base storage
# ---------------------------------------------------------------------------------------------

BASE = rt.layer({"ro/base.txt": "regsweep readonly e2e: base layer\n"})
U1 = rt.layer({"ro/u1.txt": "regsweep readonly e2e: v1's own layer\n"})
U2 = rt.layer({"ro/u2.txt": "regsweep readonly e2e: v2's own layer\n"})
V1 = rt.image([BASE, U1], created="2024-06-01T00:00:00Z")
V2 = rt.image([BASE, U2], created="2024-06-02T00:00:00Z")
V1_CONFIG = V1.refs[0].digest
# what `gc` sweeps once v1 is deleted: v1's own layer, its config and its manifest
SWEPT = {U1.digest, V1_CONFIG, V1.digest}


regsweep = functools.partial(rt.run_regsweep, timeout=120, log=log)


def last_line(text: str) -> str:
    lines = [l for l in text.splitlines() if l.strip()]
    return lines[-1] if lines else ""


def blob_on_disk(root: str, digest: str) -> bool:
    return os.path.isfile(rt.blob_data_path(root, digest))


def raw_get(reg: rt.Registry, path: str) -> tuple:
    """(status, Content-Length header, bytes actually received) of GET path; a body cut short
    is what it is, not an exception."""
    c = http.client.HTTPConnection("127.0.0.1", reg.port, timeout=30)
    try:
        c.request("GET", path)
        r = c.getresponse()
        length = r.getheader("Content-Length")
        try:
            body = r.read()
        except http.client.IncompleteRead as e:
            body = e.partial
        return r.status, int(length) if length is not None else None, body
    finally:
        c.close()


def pull_problems(reg: rt.Registry, repo: str, tag: str) -> list:
    """regtest's full, verified pull; a body cut short by the registry is one more problem."""
    try:
        return reg.pull_all(repo, tag)
    except (http.client.IncompleteRead, ConnectionError, OSError) as e:
        return [f"pull of {repo}:{tag} broke off: {type(e).__name__}: {e}"]


class Base(rt.Workspace):
    """team/app:v1 and :v2 pushed, then v1 removed with regsweep rm while no registry runs."""

    def __init__(self):
        super().__init__("regsweep-e2e-readonly-")
        self.layout = os.path.join(self.tmp, "layout")
        rt.make_oci_layout(self.layout, {"v1": V1, "v2": V2})
        with rt.Registry(self.root) as reg:
            rt.push(self.layout, "v1", reg, REPO, "v1")
            rt.push(self.layout, "v2", reg, REPO, "v2")
        p = regsweep(self.root, "rm", "--yes", f"{REPO}:v1")
        if p.returncode != 0:
            raise RuntimeError("regsweep rm failed:\n" + rt.show_run(p))
        self.snapshot = rt.tree_snapshot(self.root)


# ---------------------------------------------------------------------------------------------
# redis-server, started on a free port in a temp dir, always stopped
# ---------------------------------------------------------------------------------------------

_REDIS: set = set()


class Redis:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="regsweep-e2e-redis-")
        self.port = None
        self.proc = None

    def start(self):
        for _attempt in range(5):
            self.port = rt.free_port()
            self.proc = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", self.dir, "--daemonize", "no",
                 "--logfile", os.path.join(self.dir, "redis.log")],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=rt._die_with_parent)
            _REDIS.add(self)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.proc.poll() is None:
                if self.cli("PING").strip() == "PONG":
                    return self
                time.sleep(0.05)
            self.stop()
        raise RuntimeError(f"redis-server did not start:\n{self.log()}")

    def cli(self, *args: str, db: int = REDIS_DB) -> str:
        p = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), "-n", str(db), *args],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=10)
        return p.stdout

    def keys(self) -> list:
        return sorted(k for k in self.cli("--raw", "KEYS", "*").splitlines() if k)

    def log(self) -> str:
        try:
            with open(os.path.join(self.dir, "redis.log")) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        p, self.proc = self.proc, None
        if p is not None and p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait(5)
        _REDIS.discard(self)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@atexit.register
def _stop_redis():
    for r in list(_REDIS):
        r.cleanup()


def redis_config(r: Redis) -> dict:
    return {"storage": {"cache": {"blobdescriptor": "redis"}},
            "redis": {"addr": f"127.0.0.1:{r.port}", "db": REDIS_DB}}


class Case(rt.RegsweepCase):
    pass


# ---------------------------------------------------------------------------------------------
# 1-4: the redis cache, the broken push, and the clean one after a flush and restart
# ---------------------------------------------------------------------------------------------

class RedisCache(Case):
    """Ordered steps on one storage; a step is skipped when the one before did not finish."""

    done: set = set()

    @classmethod
    def setUpClass(cls):
        cls.b = Base.get()
        cls.root = cls.b.copy("redis")
        cls.redis = Redis().start()
        cls.reg = None
        cls.advice = None

    @classmethod
    def tearDownClass(cls):
        if cls.reg is not None:
            cls.reg.cleanup()
        cls.redis.cleanup()

    def need(self, step):
        if step not in self.done:
            self.skipTest(f"step {step} did not finish")

    def serve(self, readonly: bool) -> rt.Registry:
        cls = type(self)
        if cls.reg is not None:
            cls.reg.cleanup()
        cls.reg = rt.Registry(self.root, readonly=readonly, extra_config=redis_config(self.redis)).start()
        return cls.reg

    def test_1_refused_under_readonly_registry(self):
        """read-only registry with the redis cache: gc -y refuses (3, unchanged); --dry-run and --plan-out work"""
        reg = self.serve(readonly=False)
        for d in (U1.digest, V1_CONFIG):  # still linked in team/app: the registry caches them
            self.assertTrue(reg.blob_exists(REPO, d), d)
        keys = self.redis.keys()
        self.assertIn("blobs::" + U1.digest, keys, "the registry did not cache u1's descriptor in redis")
        self.assertIn(f"repository::{REPO}::blobs", keys)
        reg = self.serve(readonly=True)
        before = rt.tree_snapshot_excluding(self.root)
        audit = rt.read_audit(self.root)  # the rm of the base storage's making

        p = regsweep(self.root, "gc", "--yes", "--min-age", "0s")
        self.assertExit(p, 3)
        self.assertIn("read-only registry", p.stderr)
        self.assertIn(FLAG, p.stderr, "the refusal must name the flag")
        self.assertIn(str(reg.proc.pid), p.stderr, "the refusal must name the registry")
        self.assertSameTree(before, rt.tree_snapshot_excluding(self.root), "a refused gc changed the storage")
        self.assertEqual(rt.read_audit(self.root), audit, "a refused gc wrote to the audit log")

        p = regsweep(self.root, "gc", "--dry-run", "--json", "--min-age", "0s")
        self.assertExit(p, 0)
        self.assertEqual(json.loads(p.stdout)["summary"]["blobs"]["count"], len(SWEPT), p.stdout)
        self.assertIn(FLAG, p.stderr, "--dry-run should say what a real sweep needs")
        plan_file = os.path.join(self.b.tmp, "redis-plan.json")
        p = regsweep(self.root, "gc", "--plan-out", plan_file, "--min-age", "0s")
        self.assertExit(p, 0)
        with open(plan_file) as f:
            planned = {a.get("digest") for a in json.load(f)["actions"] if a.get("action") == "remove-blob"}
        self.assertEqual(planned, SWEPT)
        self.assertSameTree(before, rt.tree_snapshot_excluding(self.root), "--dry-run/--plan-out changed the storage")
        for d in SWEPT:
            self.assertTrue(blob_on_disk(self.root, d))
        self.done.add(1)

    def test_2_flag_sweeps_and_says_restart(self):
        """with --i-will-restart-the-registry: swept; last line = restart + redis-cli -p PORT -n 3 FLUSHDB"""
        self.need(1)
        p = regsweep(self.root, "gc", "--yes", "--min-age", "0s", FLAG)
        self.assertExit(p, 0)
        for d in SWEPT:
            self.assertFalse(blob_on_disk(self.root, d), f"{d} was not swept")
        for d in (BASE.digest, U2.digest, V2.digest):
            self.assertTrue(blob_on_disk(self.root, d), f"{d} should stay")
        last = last_line(p.stdout)
        self.assertIn("restart", last)
        want = f"redis-cli -h 127.0.0.1 -p {self.redis.port} -n {REDIS_DB} FLUSHDB"
        self.assertIn(f"`{want}`", last, p.stdout)
        self.assertIn(str(self.reg.proc.pid), last)
        self.assertIn(f"{len(SWEPT)} swept blobs", last)
        self.assertTrue(p.stdout.endswith(last + "\n"), "the advice must be the very last line")
        # what the cache does meanwhile: the read-only registry still answers for u1
        self.assertTrue(self.reg.blob_exists(REPO, U1.digest), "HEAD u1: the stale cache should still answer 200")
        type(self).advice = want
        self.done.add(2)

    def test_3_unflushed_cache_breaks_the_push(self):
        """read-write again with the same unflushed redis: the push 'succeeds', the image does not pull"""
        self.need(2)
        reg = self.serve(readonly=False)
        rt.push(self.b.layout, "v1", reg, REPO, "v1")  # raises when skopeo fails: it does not
        self.assertEqual(reg.manifest_digest(REPO, "v1"), V1.digest, "the registry accepted the manifest")
        self.assertFalse(blob_on_disk(self.root, U1.digest), "u1 was uploaded: the push was not skipped")
        status, length, body = raw_get(reg, f"/v2/{REPO}/blobs/{U1.digest}")
        self.assertEqual((status, length, len(body)), (200, U1.size, 0),
                         "GET u1: 200 with the layer's length and no bytes, from the stale cache")
        problems = pull_problems(reg, REPO, "v1")
        self.assertTrue(problems, "v1 pulled completely: the broken push did not happen")
        log(f"broken push reproduced: {problems}")
        self.done.add(3)

    def test_4_flush_restart_and_push_again(self):
        """the printed redis-cli command, a restart, the same push: v1 pulls completely"""
        self.need(3)
        self.reg.stop()
        p = subprocess.run(shlex.split(self.advice), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
        self.assertEqual((p.returncode, p.stdout.strip()), (0, "OK"), p.stderr)
        self.assertEqual(self.redis.keys(), [], "FLUSHDB left keys in the registry's database")
        reg = self.serve(readonly=False)
        self.assertFalse(reg.blob_exists(REPO, U1.digest), "after the flush the registry knows u1 is gone")
        rt.push(self.b.layout, "v1", reg, REPO, "v1")
        self.assertTrue(blob_on_disk(self.root, U1.digest), "u1 was not uploaded again")
        self.assertEqual(pull_problems(reg, REPO, "v1"), [])
        self.assertEqual(pull_problems(reg, REPO, "v2"), [])


# ---------------------------------------------------------------------------------------------
# the in-memory cache, --json, and nothing to sweep
# ---------------------------------------------------------------------------------------------

class InMemoryCache(Case):
    @classmethod
    def setUpClass(cls):
        cls.b = Base.get()

    def test_refusal_flag_and_last_line(self):
        """in-memory cache: refused without the flag; with it the last line says restart, no redis-cli; stale until restarted"""
        root = self.b.copy("inmemory")
        with rt.serve(root, readonly=True) as reg:
            self.assertTrue(reg.blob_exists(REPO, U1.digest))  # cached in its memory
            before = rt.tree_snapshot_excluding(root)
            p = regsweep(root, "gc", "--yes", "--min-age", "0s")
            self.assertExit(p, 3)
            self.assertIn(FLAG, p.stderr)
            self.assertSameTree(before, rt.tree_snapshot_excluding(root), "a refused gc changed the storage")
            p = regsweep(root, "gc", "--yes", "--min-age", "0s", FLAG)
            self.assertExit(p, 0)
            self.assertFalse(blob_on_disk(root, U1.digest))
            last = last_line(p.stdout)
            self.assertIn("restart", last)
            self.assertIn(str(reg.proc.pid), last)
            self.assertNotIn("redis-cli", p.stdout + p.stderr)
            self.assertTrue(p.stdout.endswith(last + "\n"))
            self.assertTrue(reg.blob_exists(REPO, U1.digest), "the in-memory cache should still answer for u1")
            reg.stop()
            reg.start()
            self.assertFalse(reg.blob_exists(REPO, U1.digest), "after a restart u1 is unknown")
            self.assertEqual(pull_problems(reg, REPO, "v2"), [])

    def test_interactive_menu_does_not_sweep(self):
        """the interactive menu's gc (g) does not sweep under a read-only registry; stopped, it does"""
        root = self.b.copy("interactive")
        old = clock.now() - 7200  # older than the menu's 1h minimum age
        for d, _, fs in os.walk(os.path.join(root, "docker/registry/v2/blobs")):
            for f in fs:
                os.utime(os.path.join(d, f), (old, old))
        with rt.serve(root, readonly=True) as reg:
            before = rt.tree_snapshot_excluding(root)
            p = rt.run_regsweep(root, "interactive", stdin="g\ny\nq\n", timeout=120, log=log)
            self.assertExit(p, 0)
            self.assertIn("read-only registry", p.stderr)
            self.assertSameTree(before, rt.tree_snapshot_excluding(root), "the menu swept under a read-only registry")
            self.assertTrue(blob_on_disk(root, U1.digest))
            reg.stop()
            p = rt.run_regsweep(root, "interactive", stdin="g\ny\nq\n", timeout=120, log=log)
            self.assertExit(p, 0)
            self.assertFalse(blob_on_disk(root, U1.digest), "stopped, the menu's gc sweeps")

    def test_json_document_and_stderr_last(self):
        """--json: registry_restart in the document; the advice is stderr's last line"""
        root = self.b.copy("json")
        with rt.serve(root, readonly=True) as reg:
            p = regsweep(root, "--json", "gc", "--yes", "--min-age", "0s", FLAG)
            self.assertExit(p, 0)
            doc = json.loads(p.stdout)
            r = doc["registry_restart"]
            self.assertTrue(r["required"])
            self.assertIn("restart", r["message"])
            self.assertEqual([x["pid"] for x in r["registries"]], [reg.proc.pid])
            self.assertEqual(r["registries"][0]["blobdescriptor_cache"], "inmemory")
            self.assertIsNone(r["registries"][0]["redis_flush"])
            self.assertEqual(last_line(p.stderr), r["message"])
            self.assertFalse(blob_on_disk(root, U1.digest))

    def test_nothing_to_sweep_still_needs_the_flag(self):
        """the rule does not depend on the plan: nothing to sweep still needs the flag; then no restart needed"""
        root = self.b.copy("young")
        with rt.serve(root, readonly=True):
            before = rt.tree_snapshot_excluding(root)
            p = regsweep(root, "gc", "--yes")  # --min-age 1h: every blob is younger
            self.assertExit(p, 3)
            p = regsweep(root, "gc", "--yes", FLAG)
            self.assertExit(p, 0)
            self.assertSameTree(before, rt.tree_snapshot_excluding(root), "nothing old enough, yet the storage changed")
            last = last_line(p.stdout)
            self.assertIn("no blob was swept", last)
            self.assertIn("need not be restarted", last)


class ReadWrite(Case):
    def test_readwrite_registry_refused_even_with_the_flag(self):
        """a read-write registry: refused with the flag too (exit 3, unchanged); --force overrides"""
        b = Base.get()
        root = b.copy("readwrite")
        with rt.serve(root) as reg:
            before = rt.tree_snapshot_excluding(root)
            p = regsweep(root, "gc", "--yes", "--min-age", "0s", FLAG)
            self.assertExit(p, 3)
            self.assertIn(str(reg.proc.pid), p.stderr)
            self.assertSameTree(before, rt.tree_snapshot_excluding(root), "a refused gc changed the storage")
            p = regsweep(root, "gc", "--yes", "--min-age", "0s", "--force")
            self.assertExit(p, 0)
            self.assertFalse(blob_on_disk(root, U1.digest))
            self.assertNotIn("restart the read-only", p.stdout)


class FakeRegistry:
    """A process that /proc shows as `docker-registry -c ... serve CONFIG`: python under that
    name, sleeping. What an operator's false positive looks like."""

    def __init__(self, config: str):
        self.proc = subprocess.Popen(["docker-registry", "-c", "import time; time.sleep(600)", "serve", config],
                                     executable=sys.executable, stdin=subprocess.DEVNULL,
                                     start_new_session=True, preexec_fn=rt._die_with_parent)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # until /proc shows the name it was given
            with open(f"/proc/{self.proc.pid}/cmdline", "rb") as f:
                if f.read().startswith(b"docker-registry\0"):
                    return
            time.sleep(0.02)
        raise RuntimeError("the fake registry did not start")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


class Detection(Case):
    def test_registry_on_another_driver_is_not_counted(self):
        """a real docker-registry serving s3 (its config readable): not taken to serve this root; rm proceeds"""
        b = Base.get()
        root = b.copy("s3")
        s3 = {"filesystem": None, "s3": {"region": "us-east-1", "bucket": "regsweep-none", "accesskey": "x",
                                         "secretkey": "y", "regionendpoint": "http://127.0.0.1:1"}}
        reg = rt.Registry(os.path.join(b.tmp, "s3-unused"), extra_config={"storage": s3})
        saved = os.environ.pop("AWS_CA_BUNDLE", None)  # the s3 driver refuses to start with one
        try:
            reg.start()
            with open(reg.config_path) as f:
                self.assertNotIn("filesystem", f.read())
            p = regsweep(root, "rm", "--yes", f"{REPO}:v2")
            self.assertExit(p, 0)
            self.assertNotIn(str(reg.proc.pid), p.stderr)
            self.assertNotIn("could not be read", p.stderr)
            self.assertFalse(os.path.exists(os.path.join(root, rt.V2, "repositories", REPO, "_manifests", "tags", "v2")))
        finally:
            if saved is not None:
                os.environ["AWS_CA_BUNDLE"] = saved
            reg.cleanup()

    def test_every_registry_named_with_why(self):
        """the real registry, a fake naming the root through a symbolic link, a fake naming another root: exit 3
        naming the first two (pid, config, rootdirectory; the fake's executable), not the third; --force goes on"""
        b = Base.get()
        root = b.copy("named")
        other = b.copy("other-root")
        alias = os.path.join(b.tmp, "alias-of-named")
        os.symlink(root, alias)
        work = tempfile.mkdtemp(dir=b.tmp)
        fake_config = rt.write_config(os.path.join(work, "fake.yml"), alias, rt.free_port())
        other_config = rt.write_config(os.path.join(work, "other.yml"), other, rt.free_port())
        reg = rt.Registry(root)
        fakes = []
        try:
            fakes.append(FakeRegistry(fake_config))  # started first: the lower pid, named first before
            reg.start()
            fakes.append(FakeRegistry(other_config))
            before = rt.tree_snapshot_excluding(root)
            p = regsweep(root, "rm", "--yes", f"{REPO}:v2")
            self.assertExit(p, 3)
            err = p.stderr
            self.assertIn("2 registries appear to be serving this storage", err)
            self.assertIn(f"pid {reg.proc.pid}: ", err)
            self.assertIn(f"its config {reg.config_path} sets rootdirectory {os.path.abspath(root)}", err)
            self.assertIn(f"pid {fakes[0].pid}: docker-registry -c", err)
            self.assertIn(f"its config {fake_config} sets rootdirectory {alias})", err)
            self.assertIn("[executable ", err)
            self.assertNotIn(f"pid {fakes[1].pid}", err)
            self.assertIn("use --force", err)
            self.assertSameTree(before, rt.tree_snapshot_excluding(root), "a refused rm changed the storage")
            p = regsweep(root, "rm", "--yes", "--force", f"{REPO}:v2")
            self.assertExit(p, 0)
        finally:
            for f in fakes:
                f.stop()
            reg.cleanup()


class ZZ(Case):
    def test_nothing_left_running(self):
        """every registry and redis-server started was stopped; the base storage was never written"""
        self.assertFalse(rt.registries_running())
        self.assertFalse(_REDIS)
        b = Base.get()
        self.assertSameTree(b.snapshot, rt.tree_snapshot(b.root), "the base storage changed")


def main():
    rt.require_binary()
    rt.require_tools(rt.registry_bin(), rt.skopeo_bin(), "redis-server", "redis-cli")
    bin_dir = tempfile.mkdtemp(prefix="regsweep-e2e-readonly-bin-")
    rt.use_private_copy(bin_dir)
    tap.run_classes((RedisCache, InMemoryCache, ReadWrite, Detection, ZZ), only=sys.argv[1:],
                    cleanup=(rt.stop_all_registries, _stop_redis, Base.cleanup_instance,
                             lambda: shutil.rmtree(bin_dir, ignore_errors=True)))


if __name__ == "__main__":
    main()
