#!/usr/bin/env python3
"""End to end: the S3 suites' own infrastructure (tests/lib/s3server.py, s3client.py,
s3proxy.py, registry_s3.py) on one shared Ceph RGW.

    python3 tests/e2e/test_s3_server.py     # TAP on stdout

- Server: the shared RGW takes keys in a fresh bucket and under a fresh prefix: put, list,
  get, head, copy, delete, through the key-level client; fresh prefixes and buckets differ.
- RegistryOnS3: the real registry on storage.s3 through an s3proxy: skopeo pushes two
  images (a shared base layer); both pull completely, blob GETs redirected (presigned) to the
  proxy; the registry's keys are under <prefix>/docker/registry/v2/ (blobs, repositories);
  v1's manifest deleted through the API, `garbage-collect -m` removes v1's own blobs from
  the bucket and v2 still pulls.
- Proxy: fail_next (an S3 error, then the next request passes), reset_next (before and after
  forwarding), delete_errors (the chosen key stays and is reported, the rest deleted), down /
  up, delay_ms, and the counts by kind.
- NothingLeftRunning (tests/lib/s3suite.py): nothing left running (registries, proxies; the RGW is stopped at exit).

Fails (TAP "Bail out!") when ceph-mon, ceph-osd, radosgw, ceph, docker-registry, skopeo or
boto3 is missing (bash scripts/setup.sh test installs them).
"""
from __future__ import annotations

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
import tap  # noqa: E402

REPO = "team/app"
BASE = rt.layer({"etc/os-release": b"ID=regtest\n"})
U1 = rt.layer({"app/v1": b"one\n"})
U2 = rt.layer({"app/v2": b"two\n"})
V1 = rt.image([BASE, U1])
V2 = rt.image([BASE, U2], created="2024-02-01T00:00:00Z")

log = tap.logger("s3_server")


def digests_in(keys: dict) -> set:
    """The sha256:<hex> of every blob's data key in a listing of the v2 tree."""
    return {"sha256:" + k.split("/")[-2] for k in keys if k.endswith("/data") and "/blobs/" in k}


class Server(unittest.TestCase):
    def setUp(self):
        self.s3 = s3server.shared_server()
        self.c = self.s3.client

    def test_keys_in_a_fresh_bucket_and_prefix(self):
        """put, list, get, head, copy, delete in a fresh bucket and under a fresh prefix"""
        for bucket in (self.s3.fresh_bucket("keys"), self.s3.bucket):
            p = self.s3.fresh_prefix("keys")
            with self.subTest(bucket=bucket):
                etag = self.c.put(bucket, f"{p}/a/1", b"one")
                self.c.put(bucket, f"{p}/a/2", b"")
                self.c.put(bucket, f"{p}/a10", b"ten")
                self.c.copy(bucket, f"{p}/a/1", f"{p}/b")
                keys = self.c.list_keys(bucket, p + "/")
                self.assertEqual(sorted(keys), [f"{p}/a/1", f"{p}/a/2", f"{p}/a10", f"{p}/b"])
                self.assertEqual(keys[f"{p}/a/1"][:2], (3, etag))
                self.assertEqual(keys[f"{p}/a/1"][1], "f97c5d29941bfb1b2fdab0874906ab82")
                self.assertEqual(sorted(self.c.list_keys(bucket, f"{p}/a/")), [f"{p}/a/1", f"{p}/a/2"])
                self.assertEqual(self.c.get(bucket, f"{p}/b"), b"one")
                self.assertEqual(self.c.head(bucket, f"{p}/a10")["ContentLength"], 3)
                self.assertIsNone(self.c.head(bucket, f"{p}/none"))
                self.assertEqual(self.c.delete(bucket, [f"{p}/a/1", f"{p}/b", f"{p}/none"]), {})
                self.assertEqual(sorted(self.c.list_keys(bucket, p)), [f"{p}/a/2", f"{p}/a10"])

    def test_fresh_names_differ(self):
        """fresh prefixes and buckets never repeat"""
        names = {self.s3.fresh_prefix("same label") for _ in range(50)}
        self.assertEqual(len(names), 50)
        self.assertTrue(all(n.startswith("same-label-") and "/" not in n for n in names))
        self.assertIs(s3server.shared_server(), self.s3)


class RegistryOnS3(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s3 = s3server.shared_server()
        cls.tmp = tempfile.mkdtemp(prefix="regtest-s3-")
        lifetime.on_exit(lambda: shutil.rmtree(cls.tmp, ignore_errors=True))  # SIGTERM too
        cls.layout = os.path.join(cls.tmp, "layout")
        rt.make_oci_layout(cls.layout, {"v1": V1, "v2": V2})

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_push_pull_gc_through_the_proxy(self):
        """skopeo push and full pulls through an s3proxy (presigned redirects too), the keys in
        the bucket, garbage-collect -m on S3"""
        prefix = self.s3.fresh_prefix("registry")
        with s3proxy.S3Proxy(self.s3.endpoint, client=self.s3.client) as proxy:
            with registry_s3.S3Registry(self.s3, self.s3.bucket, prefix, endpoint=proxy.endpoint) as reg:
                self.assertNotIn("AWS_CA_BUNDLE", reg.env)
                rt.push(self.layout, "v1", reg, REPO, "v1")
                rt.push(self.layout, "v2", reg, REPO, "v2")
                self.assertEqual(reg.tags(REPO), ["v1", "v2"])
                self.assertEqual(reg.get_blob(REPO, U1.digest).body, U1.data)
                self.assertEqual(rt.pull_every_tag(reg), {})
                presigned = [t for kind, _m, t, status in proxy.log
                             if kind == "GET" and "X-Amz-Signature=" in t and status == 200]
                self.assertTrue(presigned, "no presigned GET went through the proxy")
                self.assertGreater(proxy.counts["PUT"], 0)

                keys = reg.v2_keys()
                self.assertTrue(all(k.startswith(f"{prefix}/docker/registry/v2/") for k in keys))
                self.assertTrue(any(k.startswith(reg.v2_prefix + "blobs/sha256/") for k in keys))
                self.assertTrue(any(k.startswith(reg.v2_prefix + f"repositories/{REPO}/_manifests/tags/v1/")
                                    for k in keys))
                every = {*V1.all_blobs(), *V2.all_blobs()}
                self.assertEqual(digests_in(keys), every)
                self.assertEqual(reg.delete_manifest(REPO, V1.digest), 202)
            # the registry stopped; garbage-collect on its config (through the proxy)
            self.assertEqual(reg.garbage_collect(dry_run=True).eligible, set(V1.all_blobs()) - set(V2.all_blobs()))
            gc = reg.garbage_collect(dry_run=False, delete_untagged=True)
            self.assertEqual(gc.eligible, set(V1.all_blobs()) - set(V2.all_blobs()), gc.output)
            self.assertEqual(digests_in(reg.v2_keys()), every - gc.eligible)
        with registry_s3.S3Registry(self.s3, self.s3.bucket, prefix) as reg2:
            self.assertEqual(rt.pull_every_tag(reg2), {})
            self.assertEqual(reg2.tags(REPO), ["v2"])


class Proxy(unittest.TestCase):
    def setUp(self):
        self.s3 = s3server.shared_server()
        self.proxy = s3proxy.S3Proxy(self.s3.endpoint, client=self.s3.client).start()
        self.addCleanup(self.proxy.stop)
        self.c = self.s3.client_for(self.proxy.endpoint)
        self.b = self.s3.bucket
        self.p = self.s3.fresh_prefix("proxy")
        for i in range(4):
            self.s3.client.put(self.b, f"{self.p}/k{i}", b"x" * i)

    def test_fail_next(self):
        """fail_next answers the next requests (of a kind) with an S3 error, then passes them"""
        self.proxy.fail_next(1)
        with self.assertRaises(Exception) as e:
            self.c.get(self.b, f"{self.p}/k1")
        self.assertEqual(e.exception.response["Error"]["Code"], "SlowDown")
        self.assertEqual(e.exception.response["ResponseMetadata"]["HTTPStatusCode"], 503)
        self.proxy.fail_next(2, status=500, code="InternalError", kinds="LIST")
        self.assertEqual(self.c.get(self.b, f"{self.p}/k2"), b"xx")  # a GET is not a LIST
        for _ in range(2):
            with self.assertRaises(Exception) as e:
                self.c.list_keys(self.b, self.p)
            self.assertEqual(e.exception.response["Error"]["Code"], "InternalError")
        self.assertEqual(len(self.c.list_keys(self.b, self.p)), 4)
        self.assertEqual(self.proxy.faults["fail"], 3)
        self.assertEqual([s for _k, _m, _t, s in self.proxy.log], [503, 200, 500, 500, 200])

    def test_reset_next(self):
        """reset_next drops the connection without an answer; after_forward, once the server did it"""
        self.proxy.reset_next(1, kinds="PUT")
        with self.assertRaises(Exception):
            self.c.put(self.b, f"{self.p}/new", b"n")
        self.assertIsNone(self.s3.client.head(self.b, f"{self.p}/new"))
        self.proxy.reset_next(1, kinds="PUT", after_forward=True)
        with self.assertRaises(Exception):
            self.c.put(self.b, f"{self.p}/new", b"n")
        self.assertEqual(self.s3.client.get(self.b, f"{self.p}/new"), b"n")
        self.assertEqual(self.c.get(self.b, f"{self.p}/new"), b"n")
        self.assertEqual(self.proxy.faults["reset"], 2)

    def test_delete_errors(self):
        """a chosen key is reported as an error and kept; the others are deleted"""
        self.proxy.delete_errors({f"{self.p}/k1"})
        keys = [f"{self.p}/k{i}" for i in range(4)]
        self.assertEqual(self.c.delete(self.b, keys), {f"{self.p}/k1": "InternalError"})
        self.assertEqual(sorted(self.s3.client.list_keys(self.b, self.p)), [f"{self.p}/k1"])
        self.proxy.delete_errors(lambda k: k.endswith("1"), code="AccessDenied")
        r = self.c.s3.delete_objects(Bucket=self.b, Delete={"Objects": [{"Key": k} for k in keys]})
        self.assertEqual([d["Key"] for d in r["Deleted"]], [keys[0], keys[2], keys[3]])
        self.assertEqual([(e["Key"], e["Code"]) for e in r["Errors"]], [(keys[1], "AccessDenied")])
        self.proxy.delete_errors(None)
        self.assertEqual(self.c.delete(self.b, keys), {})
        self.assertEqual(self.s3.client.list_keys(self.b, self.p), {})
        self.assertEqual((self.proxy.counts["DELETE_BATCH"], self.proxy.counts["DELETE_BATCH_KEYS"]), (3, 12))

    def test_down_delay_and_counts(self):
        """down refuses connections, up listens again; delay_ms delays; requests counted by kind"""
        self.proxy.down()
        with self.assertRaises(Exception):
            self.c.get(self.b, f"{self.p}/k1")
        self.proxy.up()
        self.assertEqual(self.c.get(self.b, f"{self.p}/k1"), b"x")
        self.proxy.delay_ms = 50
        t0 = time.monotonic()
        self.c.head(self.b, f"{self.p}/k1")
        self.assertGreaterEqual(time.monotonic() - t0, 0.05)
        self.proxy.delay_ms = 0
        self.proxy.reset_counts()
        self.c.list_keys(self.b, self.p)
        self.c.get(self.b, f"{self.p}/k2")
        self.c.head(self.b, f"{self.p}/k2")
        self.c.put(self.b, f"{self.p}/k9", b"9")
        self.c.copy(self.b, f"{self.p}/k9", f"{self.p}/k10")
        self.c.s3.delete_object(Bucket=self.b, Key=f"{self.p}/k10")
        self.c.delete(self.b, [f"{self.p}/k9", f"{self.p}/k3"])
        self.assertEqual(dict(self.proxy.counts), {"LIST": 1, "GET": 1, "HEAD": 1, "PUT": 1, "COPY": 1, "DELETE": 1,
                                                   "DELETE_BATCH": 1, "DELETE_BATCH_KEYS": 2})


def main():
    rt.require_tools("ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "ceph", rt.registry_bin(),
                     rt.skopeo_bin())
    try:
        import boto3  # noqa: F401
    except ImportError:
        tap.bail_out("boto3 not found (bash scripts/setup.sh test: python3-boto3)")
    global s3server, s3proxy, registry_s3, s3suite
    import s3suite
    import registry_s3
    import s3proxy
    import s3server
    t0 = time.monotonic()
    s3server.shared_server()
    log(f"RGW started in {time.monotonic() - t0:.1f}s")
    tap.run_classes((Server, RegistryOnS3, Proxy, s3suite.NothingLeftRunning), only=sys.argv[1:],
                    cleanup=(rt.stop_all_registries, s3proxy.stop_all_proxies, s3server.stop_all_s3_servers))


if __name__ == "__main__":
    main()
