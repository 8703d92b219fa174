#!/usr/bin/env python3
"""End to end: every command of regsweep on a registry whose storage is S3 (issue #18), on one
shared Ceph RGW (tests/lib/s3server.py), a fresh prefix per case.

    REGSWEEP=build/regsweep python3 tests/e2e/test_s3.py [Class...]     # TAP on stdout

The base prefix is pushed once through the real registry on S3 (scenarios.populate_sample:
a multi-arch OCI index under two tags, a re-pushed tag leaving an untagged revision, an SBOM
referrer by subject, a cosign signature tag, Docker v2s2 images and a Docker list in a nested
repository, manifests deleted through the API, an abandoned upload); every case copies it
server-side to fresh prefixes (tests/lib/s3keys.py) and runs regsweep there
(tests/lib/regsweep_s3.py: a clean environment, the keys given explicitly).

- Oracle: the registry is the oracle. `gc` vs `garbage-collect` and `gc -m` vs
  `garbage-collect -m` on two copies: the same blobs left (gc -m: a superset, which keeps
  index children and the referrer, which 2.8.2 breaks), every other key the same but what
  regsweep removes by design (the _layers links of swept blobs, the abandoned upload); `rm`
  by tag and by digest vs the API's DELETE: identical keys. After every command the registry
  started on the prefix serves the same tags and pulls every one.
- Restore: rm, and gc -m --trash, then `restore RUN`: every key back with its bytes, the tag
  times regsweep reads (`ls --json`) as before (kept in x-amz-meta-regsweep-mtime-ns), the
  registry serves the restored tags.
- Torture: SIGKILL after the Nth mutation (REGSWEEP_TEST_CRASH_AFTER) of gc -m, gc -m --trash,
  rm and restore, at kill points spread over every phase of an item (tests/lib/s3crashloop.py):
  nothing the run keeps is lost, what is gone is in the trash, the re-run ends with the keys
  of an uninterrupted run; a DeleteObjects whose answer is lost is retried to a good end.
- Faults (tests/lib/s3proxy.py between regsweep and RGW): 503 SlowDown, 500s and connection
  resets retried; per-key DeleteObjects errors (exit 1 naming the key, nothing else lost, a
  re-run completes); wrong credentials, a missing bucket, the endpoint down: exit 1 naming
  bucket and endpoint, nothing changed, then the re-run completes.
- Hostile: "folder/" marker objects (among the layout, and inside a removed tag), keys
  outside the layout, a garbage tag link, a blob folder with extra keys.
- Commands: fsck, report and ls change nothing; prune removes what its dry run plans, no
  more; trash empty leaves the storage as it is.
- Stopped: a real gc without --registry-stopped exits 3 and changes nothing; a registry
  serving the prefix on this host refuses it (exit 3) even with the statement.

About 2.5 minutes on a two-core machine: 3 s to start RGW, 5 s to push the base, 32 kill
points (each a server-side copy of the prefix, the killed run, the re-run).

Fails (TAP "Bail out!") when REGSWEEP, ceph, docker-registry, skopeo or boto3 is missing.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))

import lifetime  # noqa: E402
import regtest as rt  # noqa: E402
import scenarios  # noqa: E402
import tap  # noqa: E402
import yamlconf  # noqa: E402
import cli  # noqa: E402

log = tap.logger("e2e-s3")

SAMPLE = scenarios.sample_images()["images"]
D = {k: v.digest for k, v in SAMPLE.items()}
STOPPED = "--registry-stopped"
SWEEP = ["--min-age", "0s", "--uploads-older-than", "0s"]
GC = ["gc", "-y", STOPPED, *SWEEP]
GC_M = [*GC, "-m"]
V2 = "docker/registry/v2/"
REFERRER = [("team/app", D["app_v1_sbom"])]
INDEX_TAGS = [("library/alpine", "3.19"), ("team/app/sub", "multi")]  # the Docker list is pushed as v2s2


def revision_key(repo: str, digest: str) -> str:
    return f"{V2}repositories/{repo}/_manifests/revisions/sha256/{digest.split(':')[1]}/link"


def tag_key(repo: str, tag: str) -> str:
    return f"{V2}repositories/{repo}/_manifests/tags/{tag}/current/link"


def blob_key(digest: str) -> str:
    h = digest.split(":")[1]
    return f"{V2}blobs/sha256/{h[:2]}/{h}/data"


def removed_by_design(key: str, blobs_left: set) -> bool:
    """What regsweep gc removes and the registry's garbage-collect leaves: an abandoned upload
    (--uploads-older-than), and the _layers link of a blob it swept."""
    parts = key[len(V2):].split("/")
    if "_uploads" in parts:
        return True
    if "_layers" in parts and parts[-1] == "link":
        return "sha256:" + parts[-2] not in blobs_left
    return False


class Base:
    """The base prefix, pushed once per process through the registry on S3."""
    _it = None

    @classmethod
    def get(cls) -> "Base":
        if cls._it is None:
            cls._it = cls()
        return cls._it

    def __init__(self):
        t0 = time.monotonic()
        self.s3 = s3server.shared_server()
        log(f"RGW up in {time.monotonic() - t0:.1f}s")
        t0 = time.monotonic()
        self.root = regsweep_s3.S3Root(self.s3, self.s3.bucket, self.s3.fresh_prefix("base"), log=log)
        scratch = tempfile.mkdtemp(prefix="regtest-s3e2e-")
        lifetime.on_exit(lambda: shutil.rmtree(scratch, ignore_errors=True))
        with self.root.registry() as reg:
            self.info = scenarios.populate_sample(reg, scratch)
            self.tags, self.broken = rt.serves(reg, REFERRER)
            # the children of the indexes, as pushed
            self.children = {(repo, json.loads(reg.get_manifest(repo, tag)[0])["manifests"][i]["digest"])
                             for repo, tag in INDEX_TAGS for i in (0, 1)}
        shutil.rmtree(scratch, ignore_errors=True)
        self.keys = self.root.keys()
        log(f"base prefix {self.root.prefix} pushed in {time.monotonic() - t0:.1f}s ({len(self.keys)} keys)")

    def copy(self, label: str):
        """A fresh prefix holding a copy of every key of the base."""
        return self.root.copy_to(self.s3.fresh_prefix(label))


def serves(root, extra=REFERRER) -> tuple:
    """What the registry started on the prefix serves: ({repo:tag: digest}, {ref: problems})."""
    with root.registry() as reg:
        return rt.serves(reg, extra)


def manifest_closure(root, digest: str) -> set:
    """A manifest's digest and those of its config and layers, read from the prefix."""
    m = json.loads(root.server.client.get(root.bucket, f"{root.prefix}/{blob_key(digest)}"))
    return {digest, *([m["config"]["digest"]] if m.get("config") else []), *(x["digest"] for x in m.get("layers", []))}


def registry_gc(root, delete_untagged: bool = False) -> rt.GCResult:
    """docker-registry garbage-collect [-m] on the prefix (its registry started and stopped
    first: the config is written at start)."""
    with root.registry() as reg:
        pass
    return reg.garbage_collect(dry_run=False, delete_untagged=delete_untagged)


def run_id(root) -> str:
    """The newest run of `trash ls --json`."""
    return rt.json_of(root.run("--json", "trash", "ls"))["runs"][-1]["run"]


class Case(rt.RegsweepCase):
    @classmethod
    def setUpClass(cls):
        cls.b = Base.get()

    def assertKeys(self, want: dict, got: dict, what: str):
        if want != got:
            self.fail(f"{what} ('-' only in the first, '+' only in the second):\n{s3keys.diff_text(want, got)}")

    def assertServes(self, root, tags: dict, what: str, extra=REFERRER):
        served, broken = serves(root, extra)
        self.assertEqual(broken, {}, f"{what}: what does not pull")
        self.assertEqual(served, tags, f"{what}: the tags served")


# ---------------------------------------------------------------------------------------------
# 1. The registry is the oracle
# ---------------------------------------------------------------------------------------------


class Oracle(Case):
    def test_a_gc_vs_garbage_collect(self):
        """gc vs garbage-collect: the same blobs left; every other key the same but the upload and the swept blobs' _layers links; served tags all pull"""
        a, b = self.b.copy("gc-a"), self.b.copy("gc-b")
        gc = registry_gc(a)
        self.assertExit(b.run(*GC), 0)
        ka, kb = a.keys(), b.keys()
        swept = s3keys.blobs(self.b.keys) - s3keys.blobs(kb)
        self.assertEqual(swept, gc.eligible, f"what regsweep gc swept vs what garbage-collect found:\n{gc.output}")
        self.assertLessEqual({SAMPLE[k].refs[-1].digest for k in ("app_tmp", "sub_old", "unused")}, swept,
                             "the deleted images' own layers")
        self.assertEqual(s3keys.blobs(ka), s3keys.blobs(kb), "blobs left: garbage-collect vs gc")
        by_design = {k for k in ka if k not in kb and removed_by_design(k, s3keys.blobs(kb))}
        self.assertTrue(any("/_uploads/" in k for k in by_design) and any("/_layers/" in k for k in by_design))
        self.assertKeys({k: v for k, v in ka.items() if k not in by_design}, kb, "garbage-collect vs gc")
        self.assertServes(b, self.b.tags, "after gc")

    def test_b_gc_m_vs_garbage_collect_m(self):
        """gc -m vs garbage-collect -m: a superset of its blobs, which keeps index children and the referrer (2.8.2 breaks the index); served tags all pull"""
        a, b = self.b.copy("gcm-a"), self.b.copy("gcm-b")
        registry_gc(a, delete_untagged=True)
        self.assertExit(b.run(*GC_M), 0)
        ka, kb = a.keys(), b.keys()
        blobs_a, blobs_b = s3keys.blobs(ka), s3keys.blobs(kb)
        # What gc -m keeps and registry 2.8.2's -m deletes (test_gc.py, Registry282BreaksMultiArch):
        # the children of the tagged indexes and the untagged referrer, with what they name.
        kept_manifests = self.b.children | set(REFERRER)
        revisions = {revision_key(repo, d) for repo, d in kept_manifests}
        kept_only_here = set()
        for _repo, d in kept_manifests:
            kept_only_here |= manifest_closure(b, d)
        self.assertLessEqual(blobs_a, blobs_b, "swept by gc -m, kept by garbage-collect -m")
        self.assertEqual(blobs_b - blobs_a, kept_only_here - blobs_a, "kept by gc -m only")
        self.assertEqual({k for k in kb if k not in ka and "/_manifests/" in k}, revisions,
                         "revisions kept by gc -m only")
        gone = [revision_key("team/app", D["app_v0"]),
                f"{V2}repositories/team/app/_manifests/tags/latest/index/sha256/{D['app_v0'].split(':')[1]}/link"]
        for k in gone:
            self.assertTrue(k in self.b.keys and k not in kb, f"{k}: the untagged old revision and its tag history entry")
        by_design = {k for k in ka if k not in kb and removed_by_design(k, blobs_b)}
        extra = revisions | {blob_key(d) for d in blobs_b - blobs_a}
        self.assertKeys({k: v for k, v in ka.items() if k not in by_design},
                        {k: v for k, v in kb.items() if k not in extra}, "garbage-collect -m vs gc -m")
        self.assertServes(b, self.b.tags, "after gc -m")
        _served, broken_a = serves(a)
        self.assertIn("library/alpine:3.19", broken_a, "(oracle) 2.8.2's -m leaves the index without its children")

    def check_rm(self, label: str, rm_args: list, api_refs: list, gone: set):
        a, b = self.b.copy(label + "-api"), self.b.copy(label + "-rm")
        with a.registry() as reg:
            statuses = rt.api_delete_refs(reg, api_refs)
        self.assertEqual([s for _r, _d, s in statuses], [202] * len(statuses))
        self.assertExit(b.run("rm", "-y", STOPPED, "--no-referrers", *rm_args), 0)
        self.assertKeys(a.keys(), b.keys(), "API DELETE vs rm")
        tags = {t: d for t, d in self.b.tags.items() if t not in gone}
        self.assertEqual(set(self.b.tags) - set(tags), gone)
        self.assertServes(b, tags, "after rm")

    def test_c_rm_tag_vs_api(self):
        """rm team/app:v1 vs the API's DELETE of its digest: identical keys (latest goes too); served tags all pull"""
        self.check_rm("rm-tag", ["team/app:v1"], [("team/app", "v1")], {"team/app:v1", "team/app:latest"})

    def test_d_rm_digest_vs_api(self):
        """rm library/alpine@<index> vs the API's DELETE: identical keys (both tags go, the children stay); served tags all pull"""
        self.check_rm("rm-digest", [f"library/alpine@{D['alpine']}"], [("library/alpine", D["alpine"])],
                      {"library/alpine:3.19", "library/alpine:latest"})


# ---------------------------------------------------------------------------------------------
# 2. Restore
# ---------------------------------------------------------------------------------------------


def pushed_times(root) -> dict:
    """{repo:tag: pushed} as regsweep reads it (ls --json, every repository)."""
    return {f"{repo['name']}:{t['name']}": t["pushed"]
            for repo in rt.json_of(root.run("--json", "ls"))["repositories"] for t in repo["tags"]}


class Restore(Case):
    def check_round_trip(self, label: str, args: list, gone_tags: set):
        r = self.b.copy(label)
        c = self.b.s3.client
        # every tag pushed 30 days ago, as a copy made by regsweep says (LastModified is now)
        month_ago = (int(time.time()) - 30 * 86400) * 1_000_000_000
        for t in self.b.tags:
            s3keys.set_kept_time(c, r.bucket, f"{r.prefix}/{tag_key(*t.split(':', 1))}", month_ago)
        before = s3keys.contents(c, r.bucket, r.prefix, r.keys())
        times = pushed_times(r)
        self.assertEqual(set(times.values()), {rt_time(month_ago)}, "the tags' times before")
        self.assertExit(r.run(*args), 0)
        rid = run_id(r)
        after = r.keys()
        self.assertTrue(set(before) - set(after), "the command removed nothing")
        self.assertEqual(gone_tags, {t for t in self.b.tags if tag_key(*t.split(":", 1)) not in after})
        trashed = {}
        for t in gone_tags:
            key = f".regsweep/trash/{rid}/{tag_key(*t.split(':', 1))}"
            trashed[t] = s3keys.kept_time_ns(c, r.bucket, f"{r.prefix}/{key}")
            self.assertIsNotNone(trashed[t], f"{key}: no x-amz-meta-{s3keys.TIME_META}")
            self.assertEqual(rt_time(trashed[t]), times[t], f"{t}: the time kept in the trash")
        self.assertExit(r.run("restore", rid, "-y", STOPPED), 0)
        now = r.keys()
        self.assertEqual(sorted(now), sorted(before), "the keys after restore")
        self.assertEqual(s3keys.contents(c, r.bucket, r.prefix, now), before, "the bytes after restore")
        self.assertEqual(pushed_times(r), times, "the tags' push times as regsweep reads them")
        for t, ns in trashed.items():
            self.assertEqual(s3keys.kept_time_ns(c, r.bucket, f"{r.prefix}/{tag_key(*t.split(':', 1))}"), ns)
        self.assertServes(r, self.b.tags, "after restore")

    def test_rm_then_restore(self):
        """rm team/app:v1 (and its referrers), then restore: every key back with its bytes, tag times kept, the tags served"""
        self.check_round_trip("restore-rm", ["rm", "-y", STOPPED, "team/app:v1"],
                              {"team/app:v1", "team/app:latest", "team/app:" + rt.cosign_tag(D["app_v1"])})

    def test_gc_m_trash_then_restore(self):
        """gc -m --trash, then restore: every key back (blobs, links, the upload) with its bytes; served tags all pull"""
        self.check_round_trip("restore-gc", [*GC_M, "--trash"], set())


def rt_time(ns: int) -> str:
    """An epoch time in ns as ls --json writes it (RFC 3339, seconds, UTC)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ns // 1_000_000_000))


# ---------------------------------------------------------------------------------------------
# 3. Crash torture
# ---------------------------------------------------------------------------------------------

MIN_KILL_POINTS = 30


class Torture(Case):
    results: list = []

    def torture(self, name, args, points, base=None, min_points=6, **kw):
        spec = s3crashloop.Spec(name, list(args), base or self.b.root, list(points), **kw)
        res = s3crashloop.run(spec, self.b.s3.fresh_prefix, log=log)
        Torture.results.append(res)
        self.assertFalse(res.failures, "\n".join(res.failures[:6]))
        self.assertIsNotNone(res.completed_at, f"{name}: still killed at N={max(points)}: give more points")
        self.assertGreaterEqual(res.tried, min_points, f"{name}: only {res.tried} kill points")
        self.assertEqual(res.passed, res.tried)
        return res

    # With windows of one action (REGSWEEP_TEST_WINDOW=1), per item: journal line, copy (to
    # the trash), "copied" line, delete, audit line; a blob deleted outright: journal line,
    # delete, audit line. The strides are prime to 3 and 5, so that the kill points fall on
    # every phase of an item. Measured: gc -m mutates 92 times (12 blobs, 8 _layers links, an
    # untagged revision and its tag history entry, an upload), gc -m --trash 115, rm
    # team/app:v1 32, the restore below 46. With regsweep's own windows the whole plan is one
    # window: each phase (journal lines, copies, "copied" lines, DeleteObjects, audit lines) is
    # one batch, and every one of those points is tried.

    def test_1_gc_m(self):
        """gc -m (blobs deleted outright) killed at every 13th mutation: the re-run ends as an uninterrupted run"""
        self.torture("gc-m", GC_M, range(1, 130, 13), purges_blobs=True, window=1)

    def test_2_gc_m_trash(self):
        """gc -m --trash killed at every 16th mutation, also between a copy and its delete"""
        res = self.torture("gc-m-trash", [*GC_M, "--trash"], range(2, 160, 16), window=1)
        self.assertGreater(res.between_copy_and_delete, 0)

    def test_3_rm(self):
        """rm team/app:v1 (its referrers too) killed at every 4th mutation, also between a copy and its delete"""
        res = self.torture("rm", ["rm", "-y", STOPPED, "team/app:v1"], range(1, 60, 4), window=1)
        self.assertGreater(res.between_copy_and_delete, 0)

    def test_3b_gc_m_trash_one_window(self):
        """gc -m --trash in one window of batches, killed after each batch (journal, copies, copied lines, delete, audit)"""
        res = self.torture("gc-m-trash-batched", [*GC_M, "--trash"], range(1, 12), min_points=5)
        self.assertGreater(res.between_copy_and_delete, 0)

    def test_4_restore(self):
        """restore of an rm run killed at every 6th mutation: the re-run gives back the keys"""
        base = self.b.copy("torture-restore-base")
        self.assertExit(base.run("rm", "-y", STOPPED, "team/app:v1", "library/alpine:3.19"), 0)
        self.torture("restore", ["restore", run_id(base), "-y", STOPPED], range(3, 80, 6), base=base)

    def test_5_delete_batch_answer_lost(self):
        """a DeleteObjects done by the server but its answer lost (connection reset): retried, gc -m ends as uninterrupted"""
        ref = self.b.copy("lost-answer-ref")
        self.assertExit(ref.run(*GC_M), 0)
        r = self.b.copy("lost-answer")
        with s3proxy.S3Proxy(self.b.s3.endpoint, client=self.b.s3.client) as proxy:
            proxy.reset_next(1, kinds="DELETE_BATCH", after_forward=True)
            p = r.through(proxy.endpoint).run(*GC_M)
            self.assertEqual(proxy.faults["reset"], 1)
        self.assertExit(p, 0)
        self.assertKeys(ref.keys(), r.keys(), "uninterrupted vs an answer lost")

    def test_6_total(self):
        """at least 30 kill points in all, each a real SIGKILL, all passed"""
        sys.stdout.write(s3crashloop.report(Torture.results) + "\n")
        tried = sum(r.tried for r in Torture.results)
        self.assertGreaterEqual(tried, MIN_KILL_POINTS)
        self.assertEqual(sum(r.passed for r in Torture.results), tried)


# ---------------------------------------------------------------------------------------------
# 4. Faults
# ---------------------------------------------------------------------------------------------


class Faults(Case):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        ref = cls.b.copy("faults-ref")
        p = ref.run(*GC_M)
        if p.returncode != 0:
            raise AssertionError(rt.show_run(p))
        cls.final = ref.keys()
        cls.proxy = s3proxy.S3Proxy(cls.b.s3.endpoint, client=cls.b.s3.client).start()

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()

    def setUp(self):
        self.proxy.clear_faults()
        self.proxy.up()
        self.proxy.reset_counts()
        self.r = self.b.copy(self.id().rsplit(".", 1)[-1][5:])
        self.via = self.r.through(self.proxy.endpoint)

    def assertCompletes(self, root=None):
        """gc -m (again) through the proxy without faults: exit 0 and the keys of an uninterrupted run"""
        self.proxy.clear_faults()
        self.assertExit((root or self.via).run(*GC_M), 0)
        self.assertKeys(self.final, self.r.keys(), "uninterrupted vs after the fault")

    def assertRetried(self, fault: str, n: int):
        p = self.via.run(*GC_M)
        self.assertExit(p, 0)
        self.assertEqual(self.proxy.faults[fault], n)
        self.assertKeys(self.final, self.r.keys(), "uninterrupted vs through the faults")

    def assertNothingChanged(self, p, before: dict, *named: str):
        self.assertExit(p, 1)
        for s in named:
            self.assertIn(s, p.stderr)
        self.assertKeys(before, self.r.keys(exclude=()), "changed by a run that failed")

    def test_slowdown(self):
        """3 x 503 SlowDown (the first requests): retried, gc -m completes"""
        self.proxy.fail_next(3)
        self.assertRetried("fail", 3)

    def test_internal_errors(self):
        """500 InternalError on two DeleteObjects and two copies: retried, gc -m completes"""
        self.proxy.fail_next(2, status=500, code="InternalError", kinds="DELETE_BATCH")
        self.proxy.fail_next(2, status=500, code="InternalError", kinds="COPY")
        self.assertRetried("fail", 4)

    def test_connection_resets(self):
        """connections reset before a LIST, a GET, a COPY and a DeleteObjects: retried, gc -m completes"""
        for kind in ("LIST", "GET", "COPY", "DELETE_BATCH"):
            self.proxy.reset_next(1, kinds=kind)
        self.assertRetried("reset", 4)

    def test_delete_errors(self):
        """DeleteObjects refuses one blob's key: exit 1 naming it, nothing else lost; the re-run completes"""
        victim = blob_key(SAMPLE["unused"].refs[-1].digest)  # its own layer: swept
        self.assertTrue(victim in self.b.keys and victim not in self.final, victim)
        self.proxy.delete_errors({f"{self.r.prefix}/{victim}"}, code="AccessDenied")
        p = self.via.run(*GC_M)
        self.assertExit(p, 1)
        self.assertIn(victim, p.stderr)
        self.assertIn("AccessDenied", p.stderr)
        now = self.r.keys()
        self.assertTrue(victim in now, f"{victim} deleted")
        kept = {k: v for k, v in self.b.keys.items() if self.final.get(k) == v}
        self.assertEqual({k for k in kept if now.get(k) != kept[k]}, set(), "lost by the failed run")
        self.assertCompletes()

    def test_wrong_credentials(self):
        """a wrong secret key: exit 1 naming bucket and endpoint, nothing changed; the right one completes"""
        before = self.r.keys(exclude=())
        p = self.r.through(self.proxy.endpoint, secret_key="0" * 40).run(*GC_M)
        self.assertNothingChanged(p, before, self.r.bucket, self.proxy.endpoint, "access denied")
        self.assertCompletes()

    def test_missing_bucket(self):
        """a bucket that does not exist: exit 1 naming it and the endpoint"""
        before = self.r.keys(exclude=())
        other = regsweep_s3.S3Root(self.b.s3, "no-such-bucket-" + self.r.prefix[-4:], self.r.prefix,
                                   endpoint=self.proxy.endpoint, log=log)
        p = other.run(*GC_M)
        self.assertNothingChanged(p, before, other.bucket, self.proxy.endpoint, "does not exist")
        self.assertCompletes()

    def test_endpoint_down(self):
        """the endpoint refuses connections: a clear error, exit 1, nothing changed; once up, the re-run completes"""
        before = self.r.keys(exclude=())
        self.proxy.down()
        p = self.via.run(*GC_M)
        self.assertNothingChanged(p, before, self.proxy.endpoint, "cannot be reached")
        self.proxy.up()
        self.assertCompletes()


# ---------------------------------------------------------------------------------------------
# 5. Hostile bucket contents
# ---------------------------------------------------------------------------------------------


def plan_of(root, *args) -> set:
    """(action, path) of every action in `gc --dry-run --json -v ARGS`'s plan."""
    doc = rt.json_of(root.run("--json", "-v", *args, "--dry-run"))
    return {(a.get("action"), a.get("path")) for a in (doc.get("plan") or {}).get("actions", [])}


class Hostile(Case):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.clean = cls.b.copy("hostile-clean")
        cls.clean_plan = plan_of(cls.clean, *GC_M)
        p = cls.clean.run(*GC_M)
        if p.returncode != 0:
            raise AssertionError(rt.show_run(p))
        cls.final = cls.clean.keys()

    def put(self, root, keys: dict):
        for k, data in keys.items():
            self.b.s3.client.put(root.bucket, f"{root.prefix}/{k}", data)

    def check_sweep_with(self, label: str, extra: dict):
        """gc -m with `extra` keys added: the same plan as without them, the same keys after but
        for them (they stay), and the registry serves what it served before"""
        r = self.b.copy(label)
        self.put(r, extra)
        served = serves(r)
        p = r.run("--json", *GC_M, "--dry-run")
        doc = rt.json_of(p)
        self.assertEqual(plan_of(r, *GC_M), self.clean_plan, "the plan")
        self.assertExit(r.run(*GC_M), 0)
        self.assertKeys({**self.final, **{k: r.keys()[k] for k in extra if k in r.keys()}}, r.keys(), "swept")
        self.assertEqual({k for k in extra}, set(extra) & set(r.keys()), "the extra keys are kept")
        self.assertEqual(serves(r), served, "what the registry serves")
        return doc

    def test_folder_markers(self):
        """zero-byte "folder/" markers among the layout (tags/, a blob prefix, a repository, a tag): the same plan and sweep, markers kept"""
        # (The registry itself lists the marker tags/ of team/app as a tag "", which does not pull.)
        self.check_sweep_with("markers", {
            f"{V2}repositories/team/app/_manifests/tags/": b"",
            f"{V2}repositories/team/app/_manifests/tags/v1/": b"",
            f"{V2}repositories/library/alpine/": b"",
            f"{V2}blobs/sha256/ab/": b"",
            f"{V2}blobs/sha256/": b"",
            f"{V2}": b"",
        })

    def test_folder_markers_inside_removed_items(self):
        """markers inside a removed tag's folder (tags/v1/, tags/v1/current/): rm moves them with it, restore brings them back"""
        r = self.b.copy("markers-rm")
        tags = f"{V2}repositories/team/app/_manifests/tags/"
        self.put(r, {tags + "v1/": b"", tags + "v1/current/": b""})
        before = r.keys()
        self.assertExit(r.run("rm", "-y", STOPPED, "--no-referrers", "team/app:v1"), 0)
        gone = (tags + "v1/", tags + "latest/", revision_key("team/app", D["app_v1"]))
        self.assertKeys({k: v for k, v in before.items() if not k.startswith(gone)}, r.keys(), "after rm")
        self.assertExit(r.run("restore", run_id(r), "-y", STOPPED), 0)
        self.assertKeys(before, r.keys(), "after restore")

    def test_keys_outside_the_layout(self):
        """keys outside the layout: findings name them, the plan and sweep are the same, they stay"""
        junk = {f"{V2}junk": b"junk\n", f"{V2}repositories/x/random": b"random\n",
                f"{V2}blobs/sha256/zz/notahex/data": b"?", f"{V2}repositories/team/app/_manifests/stray": b"s"}
        doc = self.check_sweep_with("outside", junk)
        paths = " ".join(f.get("path", "") for f in doc.get("findings", []))
        for k in (f"{V2}junk", f"{V2}blobs/sha256/zz", f"{V2}repositories/team/app/_manifests/stray"):
            self.assertIn(k.rstrip("/"), paths, f"no finding names {k}")

    def test_garbage_tag_link(self):
        """team/app:v1's current/link holds garbage: gc -m keeps every manifest of team/app; rm of it exits 1 naming the link"""
        r = self.b.copy("garbage-link")
        link = tag_key("team/app", "v1")
        self.put(r, {link: b"\x00\xffgarbage\x1b[31m\n"})
        before = r.keys()
        p = r.run("rm", "-y", STOPPED, "team/app:v1")
        self.assertExit(p, 1)
        self.assertIn("team/app/_manifests/tags/v1/current/link", p.stderr)
        self.assertKeys(before, r.keys(), "rm of a tag with a garbage link")
        self.assertExit(r.run(*GC_M), 0)
        after = r.keys()
        app = f"{V2}repositories/team/app/_manifests/"
        self.assertKeys({k: v for k, v in before.items() if k.startswith(app)},
                        {k: v for k, v in after.items() if k.startswith(app)}, "team/app's manifests after gc -m")
        self.assertTrue(blob_key(D["app_v0"]) in after, "the untagged revision's manifest blob is kept")

    def test_blob_folder_with_extra_keys(self):
        """extra keys in a swept blob's folder go to the trash with it and come back on restore; a kept blob's folder is untouched"""
        r = self.b.copy("blob-extra")
        swept = blob_key(SAMPLE["unused"].refs[-1].digest)
        kept = blob_key(SAMPLE["app_v1"].digest)
        extra = {swept[:-len("data")] + "extra": b"beside a swept blob\n", kept[:-len("data")] + "extra": b"beside a kept blob\n"}
        self.put(r, extra)
        before = r.keys()
        self.assertExit(r.run(*GC_M, "--trash"), 0)
        rid = run_id(r)
        after = r.keys(exclude=())
        for k in (swept, swept[:-len("data")] + "extra"):
            self.assertFalse(k in after, f"{k} is still in place")
            self.assertTrue(f".regsweep/trash/{rid}/{k}" in after, f"{k} is not in the trash")
        self.assertEqual(after[kept[:-len("data")] + "extra"], before[kept[:-len("data")] + "extra"])
        self.assertExit(r.run("restore", rid, "-y", STOPPED), 0)
        self.assertKeys(before, r.keys(), "after restore")


# ---------------------------------------------------------------------------------------------
# The read-only commands, prune, trash empty
# ---------------------------------------------------------------------------------------------


class Commands(Case):
    def test_read_only_prune_trash_empty(self):
        """fsck, report, ls change nothing; prune removes what its dry run planned, no more, the rest pulls; trash empty leaves the storage as it is"""
        r = self.b.copy("commands")
        c = self.b.s3.client
        s3keys.set_kept_time(c, r.bucket, f"{r.prefix}/{tag_key('team/app/sub', '1.0')}",
                             (int(time.time()) - 30 * 86400) * 1_000_000_000)
        before = r.keys(exclude=())
        self.assertIn("no problems", r.run("fsck").stdout)
        report = rt.json_of(r.run("--json", "report"))
        self.assertEqual(len(rt.json_of(r.run("--json", "ls"))["repositories"]), 4)
        self.assertKeys(before, r.keys(exclude=()), "changed by fsck, report, ls")
        planned = {(a, p) for a, p in plan_of(r, "prune", "--repo", "team/app/sub", "--keep-last", "1")}
        self.assertEqual(planned, {("remove-tag", tag_key("team/app/sub", "1.0")[:-len("/current/link")]),
                                   ("remove-revision", revision_key("team/app/sub", self.b.tags["team/app/sub:1.0"]))})
        self.assertEqual(report["unreferenced"]["count"], 9)
        self.assertExit(r.run("prune", "-y", STOPPED, "--repo", "team/app/sub", "--keep-last", "1"), 0)
        paths = {p for _a, p in planned}
        after = {k: v for k, v in before.items()
                 if k not in paths and not k.startswith(tuple(p + "/" for p in paths) + (s3keys.STATE,))}
        self.assertKeys(after, r.keys(), "prune removed what it planned, no more")
        self.assertServes(r, {t: d for t, d in self.b.tags.items() if t != "team/app/sub:1.0"}, "after prune")
        self.assertEqual(len(rt.json_of(r.run("--json", "trash", "ls"))["runs"]), 1)
        self.assertExit(r.run("trash", "empty", "-y", STOPPED), 0)
        self.assertEqual([k for k in r.keys(exclude=()) if k.startswith(s3keys.STATE + "trash/")], [])
        self.assertKeys(after, r.keys(), "changed by trash empty")


# ---------------------------------------------------------------------------------------------
# 6. --registry-stopped
# ---------------------------------------------------------------------------------------------


class Stopped(Case):
    def test_without_registry_stopped(self):
        """a real gc -m without --registry-stopped: exit 3, the message says why, nothing changed"""
        r = self.b.copy("not-stopped")
        before = r.keys(exclude=())
        p = r.run("gc", "-y", "-m", *SWEEP)
        self.assertExit(p, 3)
        self.assertIn("--registry-stopped", p.stderr)
        self.assertKeys(before, r.keys(exclude=()), "a refused gc")
        self.assertExit(r.run("gc", "-m", "--dry-run", *SWEEP), 0)  # a dry run needs no statement

    def test_live_registry_on_the_prefix(self):
        """a registry serving the same prefix on this host: gc refused (exit 3) even with --registry-stopped"""
        r = self.b.copy("live")
        before = r.keys(exclude=())
        with r.registry():
            p = r.run(*GC_M)
        self.assertExit(p, 3)
        self.assertKeys(before, r.keys(exclude=()), "a refused gc")


    def test_config_readonly_lets_rm_run(self):
        """--config with storage.maintenance.readonly (as the registries run): rm needs no
        --registry-stopped and removes the tag; without the readonly key it is refused (exit 3)"""
        r = self.b.copy("readonly-rm")
        storage = registry_s3.s3_storage(self.b.s3, r.bucket, r.prefix)
        folder = tempfile.mkdtemp(prefix="regtest-s3ro-")
        lifetime.on_exit(lambda: shutil.rmtree(folder, ignore_errors=True))
        plain = yamlconf.write_config(os.path.join(folder, "plain.yml"), None, extra={"storage": storage})
        storage["maintenance"] = {"readonly": {"enabled": True}}
        readonly = yamlconf.write_config(os.path.join(folder, "readonly.yml"), None, extra={"storage": storage})
        def rm(config):
            return cli.run_regsweep(r.url, "--config", config, "rm", "-y", "team/app:v1", base_env=r.env(), log=log)
        before = r.keys(exclude=())
        p = rm(plain)
        self.assertExit(p, 3)
        self.assertIn("--registry-stopped", p.stderr)
        self.assertKeys(before, r.keys(exclude=()), "a refused rm")
        self.assertExit(rm(readonly), 0)
        keys = r.keys()
        self.assertNotIn(tag_key("team/app", "v1"), keys, "the tag is still there")
        self.assertIn(blob_key(D["app_v1"]), keys, "rm removed a blob")


class ConfigWrites(Case):
    def test_config_multipart_copy_and_acl(self):
        """--config with storage.s3: a blob over multipartcopythresholdsize goes to the trash by a
        multipart copy (UploadPartCopy) and comes back byte for byte; copies carry objectacl"""
        r = self.b.copy("config-writes")
        c = self.b.s3.client
        data = os.urandom(6 * 1024 * 1024 + 1234)  # two parts of 5 MiB at most
        digest = hashlib.sha256(data).hexdigest()
        big = blob_key("sha256:" + digest)
        c.put(r.bucket, f"{r.prefix}/{big}", data)
        storage = registry_s3.s3_storage(self.b.s3, r.bucket, r.prefix)
        storage["s3"].update(multipartcopythresholdsize=5 * 1024 * 1024, multipartcopychunksize=5 * 1024 * 1024,
                             objectacl="public-read")
        folder = tempfile.mkdtemp(prefix="regtest-s3cfg-")
        lifetime.on_exit(lambda: shutil.rmtree(folder, ignore_errors=True))
        config = yamlconf.write_config(os.path.join(folder, "config.yml"), None, extra={"storage": storage})
        def run(*args):
            return cli.run_regsweep(r.url, "--config", config, *args, base_env=r.env(), log=log)
        with s3proxy.S3Proxy(self.b.s3.endpoint, client=c) as proxy:
            storage["s3"]["regionendpoint"] = proxy.endpoint
            yamlconf.write_config(config, None, extra={"storage": storage})
            self.assertExit(run("gc", "-y", STOPPED, "--trash", *SWEEP), 0)
            posts = [t for kind, method, t, status in proxy.log if "partNumber=" in t]
        storage["s3"]["regionendpoint"] = self.b.s3.endpoint  # the proxy is gone
        yamlconf.write_config(config, None, extra={"storage": storage})
        self.assertGreaterEqual(len(posts), 2, "the big blob was not copied in parts")
        self.assertNotIn(big, r.keys(), "the big blob is still in place")
        rid = run_id(r)
        trashed = f"{r.prefix}/.regsweep/trash/{rid}/{big}"
        self.assertEqual(c.get(r.bucket, trashed), data, "the multipart copy's bytes")
        grants = c.s3.get_object_acl(Bucket=r.bucket, Key=trashed)["Grants"]
        self.assertTrue(any(g["Grantee"].get("URI", "").endswith("/AllUsers") and g["Permission"] == "READ" for g in grants),
                        f"objectacl public-read not on the copy: {grants}")
        self.assertExit(run("restore", rid, "-y", STOPPED), 0)
        self.assertEqual(c.get(r.bucket, f"{r.prefix}/{big}"), data, "the restored bytes")


def main():
    rt.require_binary()
    rt.require_tools("ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "ceph", rt.registry_bin(),
                     rt.skopeo_bin())
    try:
        import boto3  # noqa: F401
    except ImportError:
        tap.bail_out("boto3 not found (bash scripts/setup.sh test: python3-boto3)")
    global s3server, s3proxy, s3keys, s3crashloop, regsweep_s3, registry_s3, s3suite
    import s3suite
    import registry_s3
    import regsweep_s3
    import s3crashloop
    import s3keys
    import s3proxy
    import s3server
    tmp = tempfile.mkdtemp(prefix="regtest-s3-bin-")
    lifetime.on_exit(lambda: shutil.rmtree(tmp, ignore_errors=True))
    rt.use_private_copy(tmp)
    t0 = time.monotonic()
    classes = (Oracle, Restore, Torture, Faults, Hostile, Commands, Stopped, ConfigWrites, s3suite.NothingLeftRunning)
    tap.run_classes(classes, only=sys.argv[1:],
                    cleanup=(rt.stop_all_registries, s3proxy.stop_all_proxies, s3server.stop_all_s3_servers,
                             lambda: log(f"suite ran in {time.monotonic() - t0:.1f}s")))


if __name__ == "__main__":
    main()
