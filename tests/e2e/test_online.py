#!/usr/bin/env python3
"""End to end: online mode (`--registry`) against the real registry
(docker-registry 2.8.2) three ways, each started once and shared by every case:

- anonymous over plain http; it is also the one the images are pushed through;
- basic auth (an htpasswd file) over TLS, with a CA and certificate made by `openssl`;
- token auth: RS256 JWTs from tests/lib/tokenserver.py under an ACL (alice: everything on
  team/*; bob: pull and push on every repository; both the catalog).

All three serve the same storage folder, and offline `ls --root` on that folder is the oracle:
online `ls` must say the same (but PUSHED, which the API does not have). Cases: ls equals
offline ls over each registry and credential source (REGISTRY_PASSWORD, --password-stdin,
Docker's config.json); paging with a small `n`; a Docker manifest list listed as an index (the
seed tool's Accept trap shown); a wrong password, an ACL that lacks `pull`, a token refused
mid-run (renewed), a TLS failure, an unreachable host, and commands refused online, each a
clear message, non-zero exit and no secret in the output. A scripted fake of the API
(tests/lib/fakeregistry.py) makes the faults the real registry does not: a Link that loops,
a body that does not match its digest, malformed JSON, 403, 404, 405, 429 and 5xx storms.

rm and restore (class Deleting) work on a storage of their own, served by an anonymous and a
token registry without blob descriptor cache: online `rm` leaves the repositories as offline
`rm` on a copy does (blobs untouched), by tag and by digest (with its cosign referrer); a tag
sharing the deleted digest is refused unless named; --untag is refused (2.8 has no DELETE by
tag); --dry-run deletes nothing; bob (pull, push) gets the `delete` permission message; rm then
restore makes every tag pull again with its digest; a restore after the registry's
garbage-collect is refused naming the swept blobs; no secret lands in the state folder. The fake
registry shows 405, 403 and 404 on DELETE, a tag moved since the plan, and counts that a dry run
sends no DELETE. The real registry with deletion disabled answers 405; the seed's Accept trap
shown and the index deleted, never its child; a killed run (left `running`) restored.

    REGSWEEP=build/regsweep python3 tests/e2e/test_online.py     # TAP on stdout

Every server runs with an environment built here (no AWS_*, no proxy, a HOME of its own), and
so does regsweep. Fails (TAP "Bail out!") when REGSWEEP, docker-registry, htpasswd, openssl or
python3-jwt is missing.
"""
from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))

import regtest as rt  # noqa: E402
import scenarios  # noqa: E402
import tap  # noqa: E402

log = tap.logger("e2e-online")
TIMEOUT = 60

PASSWORD = "Corr3ct-horse-online"      # basic auth: alice
ALICE_TOKEN_PW = "alice-token-pw-7f3a"  # token auth
BOB_TOKEN_PW = "bob-token-pw-91c2"
WRONG = "wrong-pass-ZZ9-plural-z"
SECRETS = (PASSWORD, ALICE_TOKEN_PW, BOB_TOKEN_PW, WRONG)

SAMPLE = scenarios.sample_images()["images"]


def web_images() -> dict:
    amd = rt.image([rt.layer({"web/amd64.txt": "web amd64\n"})], arch="amd64", docker=True, created="2024-06-01T00:00:00Z")
    arm = rt.image([rt.layer({"web/arm64.txt": "web arm64\n"})], arch="arm64", docker=True, created="2024-06-02T00:00:00Z")
    return {"amd64": amd, "arm64": arm, "multi": rt.index([amd, arm], docker=True)}


WEB = web_images()


class World:
    """The registries, started once for the whole suite."""
    dir: str
    root: str
    env: dict
    anon = basic = token = fake = None
    certs = None
    tokens = None


W = World()


def clean_env(extra: dict | None = None) -> dict:
    """An environment of our own: nothing of this machine's AWS_*, proxies or Docker config."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.path.join(W.dir, "home"),
           "DOCKER_CONFIG": os.path.join(W.dir, "docker-empty"), "LANG": "C.UTF-8", "NO_COLOR": "1"}
    for k in ("REGSWEEP_TEST_CLOCK_OFFSET", "TZ"):
        if k in os.environ:
            env[k] = os.environ[k]
    env.update(extra or {})
    return env


def setUpModule():
    W.dir = tempfile.mkdtemp(prefix="regsweep-online-")
    atexit.register(shutil.rmtree, W.dir, True)
    os.makedirs(os.path.join(W.dir, "home"))
    os.makedirs(os.path.join(W.dir, "docker-empty"))
    W.root = os.path.join(W.dir, "root")
    W.env = clean_env()
    t0 = time.monotonic()
    W.anon = rt.Registry(W.root, env=W.env).start()
    W.anon.push_manifest("team/app", SAMPLE["app_v1"], "v1")
    W.anon.push_manifest("team/app", SAMPLE["app_v0"], "v0")
    W.anon.push_manifest("team/app", SAMPLE["app_v1"], "latest")  # two tags on one digest
    W.anon.push_manifest("team/app", SAMPLE["app_v1_sig"], rt.cosign_tag(SAMPLE["app_v1"].digest))
    W.anon.push_manifest("library/alpine", SAMPLE["alpine"], "3.19")
    W.anon.push_manifest("team/web", WEB["multi"], "multi")
    W.anon.push_manifest("other/x", SAMPLE["sub_1"], "1")
    for i in range(5):
        W.anon.push_manifest("team/many", SAMPLE["app_tmp"], f"t{i}")
    W.certs = tls.make_certs(os.path.join(W.dir, "tls"))
    W.basic = SecuredRegistry(W.root, certs=W.certs, env=W.env,
                              extra_config=htpasswd.registry_auth(htpasswd.write(os.path.join(W.dir, "htpasswd"),
                                                                                {"alice": PASSWORD}))).start()
    W.tokens = tokenserver.TokenServer(os.path.join(W.dir, "tokens"), users={
        "alice": (ALICE_TOKEN_PW, [("repository", "team/*", "*"), ("registry", "catalog", "*")]),
        "bob": (BOB_TOKEN_PW, [("repository", "*", ["pull", "push"]), ("registry", "catalog", "*")]),
    }).start()
    W.token = SecuredRegistry(W.root, env=W.env, extra_config=W.tokens.registry_auth()).start()
    W.fake = FakeRegistry().start()
    log(f"three registries up and the images pushed in {time.monotonic() - t0:.1f}s")


def tearDownModule():
    for reg in (W.token, W.basic, W.anon):
        if reg:
            reg.cleanup()
    if W.tokens:
        W.tokens.stop()
    if W.fake:
        W.fake.stop()


def regsweep(*args: str, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    cmd = [os.environ["REGSWEEP"], *args]
    t0 = time.monotonic()
    kw = {"input": stdin.encode()} if stdin is not None else {"stdin": subprocess.DEVNULL}
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT, env=clean_env(env), **kw)
    p.stdout = p.stdout.decode("utf-8", "replace")
    p.stderr = p.stderr.decode("utf-8", "replace")
    log(f"{' '.join(args)} -> {p.returncode} in {time.monotonic() - t0:.2f}s")
    return p


def offline(*args: str) -> subprocess.CompletedProcess:
    return regsweep("--root", W.root, *args)


def comparable(doc: dict) -> dict:
    """An ls --json document without what only the storage knows (the push time, the root) and
    the per-repository counts of files the API cannot see (layer links, uploads)."""
    out = []
    for repo in doc["repositories"]:
        r = {k: v for k, v in repo.items() if k not in ("layer_links", "uploads")}
        r["tags"] = [{k: v for k, v in t.items() if k != "pushed"} for t in repo["tags"]]
        out.append(r)
    return {"repositories": out, "findings": doc["findings"]}


class OnlineCase(rt.RegsweepCase):
    def assertNoSecret(self, p: subprocess.CompletedProcess):
        for s in SECRETS + tuple(W.tokens.issued if W.tokens else ()):
            self.assertNotIn(s, p.stdout + p.stderr, "a secret was printed")

    def assertSameLs(self, online_args: list, ls_args: list, env: dict | None = None, stdin: str | None = None):
        on = regsweep(*online_args, "--json", "ls", *ls_args, env=env, stdin=stdin)
        self.assertExit(on, 0)
        self.assertNoSecret(on)
        off = offline("--json", "ls", *ls_args)
        self.assertExit(off, 0)
        on_doc, off_doc = comparable(json.loads(on.stdout)), comparable(json.loads(off.stdout))
        if ls_args:
            # Online `ls REPO` reads that repository alone (a user may pull only it): what no
            # other repository shares is unknown there, and said so (null), not made up.
            self.assertIsNone(on_doc["repositories"][0].pop("bytes_exclusive"))
            off_doc["repositories"][0].pop("bytes_exclusive")
        self.assertEqual(on_doc, off_doc)
        return json.loads(on.stdout)


class Anonymous(OnlineCase):
    def test_ls_equals_offline(self):
        doc = self.assertSameLs(["--registry", W.anon.url], [])
        self.assertEqual([r["name"] for r in doc["repositories"]], ["library/alpine", "other/x", "team/app", "team/many", "team/web"])
        self.assertEqual(doc["root"], W.anon.url)
        # The table of repositories has no push time: the same text, byte for byte.
        on, off = regsweep("--registry", W.anon.url, "ls"), offline("ls")
        self.assertEqual(on.stdout, off.stdout)

    def test_ls_of_each_repository_equals_offline(self):
        for repo in ("team/app", "library/alpine", "team/web", "team/app:latest"):
            with self.subTest(repo=repo):
                doc = self.assertSameLs(["--registry", W.anon.url], [repo])
                for t in doc["repositories"][0]["tags"]:
                    self.assertIsNone(t["pushed"])  # the API has no push time; never made up

    def test_paging_with_a_small_n(self):
        # n=2: five repositories take three catalog pages, team/many's five tags three pages.
        self.assertSameLs(["--registry", W.anon.url, "--page-size", "2"], [])
        doc = self.assertSameLs(["--registry", W.anon.url, "--page-size", "1"], ["team/many"])
        self.assertEqual([t["name"] for t in doc["repositories"][0]["tags"]], [f"t{i}" for i in range(5)])

    def test_a_manifest_list_is_listed_as_an_index(self):
        doc = self.assertSameLs(["--registry", W.anon.url], ["team/web:multi"])
        tag = doc["repositories"][0]["tags"][0]
        self.assertEqual(tag["digest"], WEB["multi"].digest)
        self.assertEqual(tag["media_type"], rt.DOCKER_LIST)
        self.assertEqual(tag["platforms"], ["linux/amd64", "linux/arm64"])
        # The seed tool's trap: with only the Docker v2 type in Accept, the registry answers the
        # list's tag with its linux/amd64 child, whose digest a delete would then break.
        r = rt.http("GET", W.anon.url + "/v2/team/web/manifests/multi",
                    headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
        self.assertEqual(r.header("Docker-Content-Digest"), WEB["amd64"].digest)

    def test_unknown_repository_and_tag(self):
        p = regsweep("--registry", W.anon.url, "ls", "team/nothing")
        self.assertExit(p, 1)
        self.assertIn("no such repository: team/nothing", p.stderr)
        self.assertIn(W.anon.url + "/v2/team/nothing/tags/list", p.stderr)
        p = regsweep("--registry", W.anon.url, "ls", "team/app:nope")
        self.assertExit(p, 1)
        self.assertIn("no such tag: team/app:nope", p.stderr)


    def test_report_estimate_equals_offline(self):
        """report REF... online: what deleting those lets the registry's GC free, from the
        manifests; on this storage (nothing untagged, no uploads) the storage's own report is
        the oracle, figure for figure."""
        for refs in (["team/app:v0"], ["team/app@" + SAMPLE["app_v1"].digest], ["library/alpine:3.19", "team/web:multi"]):
            with self.subTest(refs=refs):
                on = regsweep("--registry", W.anon.url, "--json", "report", *refs)
                self.assertExit(on, 0)
                off = offline("--json", "report", *refs)
                self.assertExit(off, 0)
                on_doc, off_doc = json.loads(on.stdout), json.loads(off.stdout)
                self.assertEqual(on_doc["estimate"], off_doc["estimate"])
                self.assertGreater(on_doc["estimate"]["bytes"], 0)
                self.assertTrue(on_doc["online"])
                self.assertEqual(on_doc["referenced_by_tags"], off_doc["referenced_by_tags"])
                self.assertEqual([(r["name"], r["tags"], r["bytes_referenced"]) for r in on_doc["repositories"]],
                                 [(r["name"], r["tags"], r["bytes_referenced"]) for r in off_doc["repositories"]])
                self.assertIn("docker-registry garbage-collect", on_doc["garbage_collect"])
                self.assertNotIn("delete-untagged", on_doc["garbage_collect"])  # it would take untagged manifests nobody chose
        # Text: an estimate, and the command that frees it.
        p = regsweep("--registry", W.anon.url, "report", "team/app:v0")
        self.assertExit(p, 0)
        self.assertIn("online: an estimate", p.stdout)
        self.assertIn("lets the registry's garbage-collect free", p.stdout)
        self.assertIn("then restart the registry", p.stdout)
        # Another registry's reference, an unknown tag: refused, nothing read as if it were here.
        p = regsweep("--registry", W.anon.url, "report", "elsewhere.example/team/app:v0")
        self.assertExit(p, 2)
        self.assertIn("elsewhere.example", p.stderr)
        p = regsweep("--registry", W.anon.url, "report", "team/app:nope")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("nope", p.stderr)


class BasicOverTls(OnlineCase):
    def args(self, *more: str) -> list:
        return ["--registry", W.basic.url, "--ca-cert", W.certs.ca, *more]

    def test_ls_equals_offline_with_each_credential_source(self):
        self.assertSameLs(self.args("-u", "alice"), [], env={"REGISTRY_PASSWORD": PASSWORD})
        self.assertSameLs(self.args("-u", "alice", "--password-stdin"), ["team/app"], stdin=PASSWORD + "\n")
        cfg = os.path.join(W.dir, "docker-basic")
        os.makedirs(cfg, exist_ok=True)
        import base64
        with open(os.path.join(cfg, "config.json"), "w") as f:
            json.dump({"auths": {W.basic.host: {"auth": base64.b64encode(f"alice:{PASSWORD}".encode()).decode()}}}, f)
        self.assertSameLs(self.args(), ["library/alpine"], env={"DOCKER_CONFIG": cfg})

    def test_wrong_password(self):
        for extra in ([], ["--json"], ["-v"]):
            p = regsweep(*self.args("-u", "alice", "--password-stdin", *extra), "ls", stdin=WRONG + "\n")
            self.assertExit(p, 1)
            self.assertNoSecret(p)
            self.assertIn("refused the credentials of user alice", p.stderr)
            self.assertIn(W.basic.url + "/v2/", p.stderr)

    def test_no_credentials(self):
        p = regsweep(*self.args(), "ls")
        self.assertExit(p, 1)
        self.assertIn("wants credentials (HTTP 401", p.stderr)
        self.assertIn("-u USER", p.stderr)

    def test_tls_failure_without_the_ca(self):
        p = regsweep("--registry", W.basic.url, "-u", "alice", "ls", env={"REGISTRY_PASSWORD": PASSWORD})
        self.assertExit(p, 1)
        self.assertNoSecret(p)
        self.assertIn("TLS failed", p.stderr)
        self.assertIn("--ca-cert", p.stderr)
        # --insecure only skips the check.
        p = regsweep("--registry", W.basic.url, "--insecure", "-u", "alice", "ls", env={"REGISTRY_PASSWORD": PASSWORD})
        self.assertExit(p, 0)
        # http:// to a TLS port is a failure too, not a hang.
        p = regsweep("--registry", "http://" + W.basic.host, "ls")
        self.assertExit(p, 1)
        self.assertIn("use https:// in --registry", p.stderr)


class Token(OnlineCase):
    def test_bob_lists_everything(self):
        before = len(W.tokens.requests)
        self.assertSameLs(["--registry", W.token.url, "-u", "bob"], [], env={"REGISTRY_PASSWORD": BOB_TOKEN_PW})
        # One token per scope (the catalog, then each repository's pull), not one per request.
        asked = [s for user, scopes, status in W.tokens.requests[before:] for s in scopes]
        self.assertIn("registry:catalog:*", asked)
        self.assertEqual(asked.count("repository:team/many:pull"), 1)

    def test_a_token_refused_mid_run_is_renewed(self):
        # The first token (the catalog's) grants nothing: /v2/ takes it, the catalog answers 401
        # insufficient_scope; regsweep asks for a new token once and goes on.
        before = len(W.tokens.requests)
        W.tokens.deny_next = 1
        self.assertSameLs(["--registry", W.token.url, "-u", "bob"], [], env={"REGISTRY_PASSWORD": BOB_TOKEN_PW})
        asked = [s for user, scopes, status in W.tokens.requests[before:] for s in scopes]
        self.assertEqual(asked.count("registry:catalog:*"), 2)

    def test_alice_lists_her_repository(self):
        self.assertSameLs(["--registry", W.token.url, "-u", "alice"], ["team/app"], env={"REGISTRY_PASSWORD": ALICE_TOKEN_PW})

    def test_alice_lacks_pull_elsewhere(self):
        p = regsweep("--registry", W.token.url, "-u", "alice", "ls", "library/alpine", env={"REGISTRY_PASSWORD": ALICE_TOKEN_PW})
        self.assertExit(p, 1)
        self.assertNoSecret(p)
        self.assertIn("user alice", p.stderr)
        self.assertIn("lacks the permission `pull` on library/alpine", p.stderr)

    def test_wrong_password(self):
        p = regsweep("--registry", W.token.url, "-u", "bob", "--json", "ls", env={"REGISTRY_PASSWORD": WRONG})
        self.assertExit(p, 1)
        self.assertNoSecret(p)
        self.assertIn("the token server refused the credentials of user bob", p.stderr)
        self.assertIn(W.tokens.realm, p.stderr)


class Deleting(OnlineCase):
    """rm and restore online, on a storage of their own (the shared one stays as ls expects it):
    an anonymous registry and a token one over it, both without a blob descriptor cache (so that
    a blob the registry's GC swept is not still reported), and a copy of it before each rm for
    the offline oracle."""

    @classmethod
    def setUpClass(cls):
        cls.root = os.path.join(W.dir, "rm-root")
        no_cache = {"storage": {"cache": None}}
        cls.reg = rt.Registry(cls.root, env=W.env, extra_config=no_cache).start()
        cls.tok = SecuredRegistry(cls.root, env=W.env, extra_config=rt.deep_merge(no_cache, W.tokens.registry_auth())).start()
        cls.state = os.path.join(W.dir, "rm-state")

    @classmethod
    def tearDownClass(cls):
        for reg in (cls.tok, cls.reg):
            reg.cleanup()

    def rm(self, *args: str, registry: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
        return regsweep("--registry", registry or self.reg.url, "--state-dir", self.state, *args, env=env)

    def repositories(self, root: str) -> dict:
        return rt.tree_snapshot(os.path.join(root, rt.REPOS_DIR))

    def blobs(self, root: str) -> dict:
        return rt.tree_snapshot(os.path.join(root, rt.V2, "blobs"))

    def test_rm_tag_equals_offline_rm_on_a_copy(self):
        self.reg.push_manifest("rm/app", SAMPLE["app_v1"], "v1")
        self.reg.push_manifest("rm/app", SAMPLE["app_v0"], "v0")
        self.reg.push_manifest("rm/app", SAMPLE["app_v1_sig"], rt.cosign_tag(SAMPLE["app_v1"].digest))
        copy = rt.copy_tree(self.root, os.path.join(W.dir, "rm-copy-1"))
        blobs_before = self.blobs(self.root)
        for ref in ("rm/app:v0", "rm/app@" + SAMPLE["app_v1"].digest):
            with self.subTest(ref=ref):
                on = self.rm("rm", "--yes", ref)
                self.assertExit(on, 0)
                self.assertIn("restore", on.stdout)
                off = regsweep("--root", copy, "rm", "--yes", ref)
                self.assertExit(off, 0)
                self.assertEqual(self.repositories(self.root), self.repositories(copy),
                                 rt.diff_text(self.repositories(copy), self.repositories(self.root)))
                self.assertEqual(self.blobs(self.root), blobs_before)  # blobs are the registry's GC's
        # By digest, its referrer (the cosign tag) went too, as offline.
        self.assertEqual(self.reg.tags("rm/app"), [])

    def data_bytes(self) -> tuple:
        """(count, bytes) of the blobs with data in the storage."""
        n = total = 0
        for d, _, files in os.walk(os.path.join(self.root, rt.V2, "blobs")):
            if "data" in files:
                n += 1
                total += os.path.getsize(os.path.join(d, "data"))
        return n, total

    def test_report_estimate_is_what_the_registry_gc_frees(self):
        own = rt.image([rt.layer({"est/own.txt": "only in est/app:old\n" * 40}), rt.layer({"est/shared.txt": "shared\n"})],
                       created="2024-03-01T00:00:00Z")
        keep = rt.image([rt.layer({"est/shared.txt": "shared\n"})], created="2024-03-02T00:00:00Z")
        self.reg.push_manifest("est/app", own, "old")
        self.reg.push_manifest("est/other", keep, "1")
        self.reg.garbage_collect(dry_run=False)  # what earlier cases left: swept before the count
        p = self.rm("--json", "report", "est/app:old")
        self.assertExit(p, 0)
        estimate = json.loads(p.stdout)["estimate"]
        self.assertEqual((estimate["tags"], estimate["manifests"]), (1, 1))
        before = self.data_bytes()
        self.assertExit(self.rm("rm", "--yes", "est/app:old"), 0)
        self.reg.garbage_collect(dry_run=False)
        after = self.data_bytes()
        # The manifest, its config and its own layer; not the layer est/other still uses.
        self.assertEqual((before[0] - after[0], before[1] - after[1]), (estimate["blobs"], estimate["bytes"]))
        self.assertEqual(estimate["blobs"], 3)
        self.assertEqual(self.reg.tags("est/other"), ["1"])

    def test_a_protected_image_is_not_deleted_online(self):
        self.reg.push_manifest("rm/prot", SAMPLE["alpine"], "1")
        pods = os.path.join(W.dir, "pods-online.txt")
        with open(pods, "w") as f:
            f.write(f"docker-pullable://{self.reg.url.split('://')[1]}/rm/prot@{SAMPLE['alpine'].digest}\n")
        before = self.repositories(self.root)
        for args in (["rm", "--yes", "rm/prot:1"], ["prune", "--yes", "--repo", "rm/prot", "--match", ".*", "--no-default-keep"]):
            with self.subTest(args=args):
                p = self.rm("--protect", pods, *args)
                self.assertExit(p, 3)
                self.assertIn(pods + ":1", p.stderr)
                self.assertEqual(self.repositories(self.root), before)
        self.assertEqual(self.reg.tags("rm/prot"), ["1"])

    def test_a_shared_digest_is_refused(self):
        self.reg.push_manifest("rm/shared", SAMPLE["alpine"], "a")
        self.reg.push_manifest("rm/shared", SAMPLE["alpine"], "b")
        p = self.rm("rm", "--yes", "rm/shared:a")
        self.assertExit(p, 3)
        self.assertIn("rm/shared:b", p.stderr)
        self.assertIn("nothing was deleted", p.stderr)
        self.assertEqual(self.reg.tags("rm/shared"), ["a", "b"])
        # A host in the reference must be --registry's.
        p = self.rm("rm", "--yes", "elsewhere.example:5000/rm/shared:a")
        self.assertExit(p, 2)
        self.assertIn("names the registry elsewhere.example:5000", p.stderr)
        p = self.rm("rm", "--dry-run", self.reg.host + "/rm/shared:a", "rm/shared:b")
        self.assertExit(p, 0)
        # --untag would need 3.x's DELETE by tag.
        p = self.rm("rm", "--yes", "--untag", "rm/shared:a")
        self.assertExit(p, 2)
        self.assertIn("registry 2.8 does not have", p.stderr)
        # Naming both tags says it is meant.
        p = self.rm("--json", "rm", "--yes", "rm/shared:a", "rm/shared:b")
        self.assertExit(p, 0)
        self.assertEqual(json.loads(p.stdout)["result"]["removed"], 3)
        self.assertEqual(self.reg.tags("rm/shared"), [])

    def test_dry_run_deletes_nothing(self):
        self.reg.push_manifest("rm/dry", SAMPLE["alpine"], "1")
        before = self.repositories(self.root)
        p = self.rm("rm", "--dry-run", "rm/dry:1")
        self.assertExit(p, 0)
        self.assertIn("would remove", p.stdout)
        self.assertEqual(self.repositories(self.root), before)

    def test_bob_lacks_delete(self):
        self.reg.push_manifest("rm/bob", SAMPLE["alpine"], "1")
        before = self.repositories(self.root)
        p = self.rm("-u", "bob", "rm", "--yes", "rm/bob:1", registry=self.tok.url, env={"REGISTRY_PASSWORD": BOB_TOKEN_PW})
        self.assertExit(p, 1)
        self.assertNotIn("rm/bob", self.rm("--json", "trash", "ls").stdout)  # a run that deleted nothing leaves no trace
        self.assertNoSecret(p)
        self.assertIn("user bob", p.stderr)
        self.assertIn("lacks the permission `delete` on rm/bob", p.stderr)
        self.assertIn("`push` is not enough", p.stderr)
        self.assertEqual(self.repositories(self.root), before)

    def test_rm_then_restore_pulls_every_tag_again(self):
        self.reg.push_manifest("rm/round", SAMPLE["app_v1"], "v1")
        self.reg.push_manifest("rm/round", SAMPLE["app_v0"], "v0")
        self.reg.push_manifest("rm/round", WEB["multi"], "multi")
        want = {t: self.reg.manifest_digest("rm/round", t) for t in ("v1", "v0", "multi")}
        p = self.rm("--json", "rm", "--yes", "rm/round:v1", "rm/round:v0", "rm/round:multi")
        self.assertExit(p, 0)
        run = json.loads(p.stdout)["result"]["run"]
        self.assertEqual(self.reg.tags("rm/round"), [])
        ls = self.rm("--json", "trash", "ls")
        self.assertExit(ls, 0)
        self.assertIn(run, ls.stdout)
        p = self.rm("restore", "--yes", run)
        self.assertExit(p, 0)
        self.assertEqual({t: self.reg.manifest_digest("rm/round", t) for t in want}, want)
        for t in want:
            self.assertEqual(self.reg.pull_all("rm/round", t), [], t)
        # A run killed mid-way stays `running` in its record: restore (holding the lock) takes it.
        p = self.rm("--json", "rm", "--yes", "rm/round:v0")
        self.assertExit(p, 0)
        killed = json.loads(p.stdout)["result"]["run"]
        record = os.path.join(self.state, ".regsweep", "trash", killed, "run.json")
        with open(record) as f:
            doc = json.load(f)
        doc["status"] = "running"
        with open(record, "w") as f:
            json.dump(doc, f)
        p = self.rm("restore", "--dry-run", killed)
        self.assertExit(p, 3)
        self.assertIn("still running (or was killed)", p.stderr)
        # v0 pushed again (another image) since the run: restore refuses, or keeps the newer.
        self.reg.push_manifest("rm/round", SAMPLE["alpine"], "v0")
        p = self.rm("restore", "--yes", killed)
        self.assertExit(p, 3)
        self.assertIn("rm/round:v0 (now " + SAMPLE["alpine"].digest, p.stderr)
        self.assertEqual(self.reg.manifest_digest("rm/round", "v0"), SAMPLE["alpine"].digest)
        p = self.rm("restore", "--yes", "--keep-newer", killed)
        self.assertExit(p, 0)
        self.assertEqual(self.reg.manifest_digest("rm/round", "v0"), SAMPLE["alpine"].digest)
        self.assertEqual(self.reg.manifest_digest("rm/round", want["v0"]), want["v0"])  # the manifest is back, untagged
        p = self.rm("restore", "--yes", run)
        self.assertExit(p, 3)
        self.assertIn("restored already", p.stderr)

    def test_restore_after_the_registry_gc_is_refused(self):
        img = rt.image([rt.layer({"only-here.txt": "swept by the registry's gc\n"})], created="2024-01-01T00:00:00Z")
        self.reg.push_manifest("rm/gone", img, "1")
        p = self.rm("--json", "rm", "--yes", "rm/gone:1")
        self.assertExit(p, 0)
        run = json.loads(p.stdout)["result"]["run"]
        self.reg.garbage_collect(dry_run=False)
        p = self.rm("restore", "--yes", run)
        self.assertExit(p, 3)
        for blob in [r.digest for r in img.refs]:
            self.assertIn(blob, p.stderr)
        self.assertIn("nothing was restored", p.stderr)
        self.assertEqual(self.reg.tags("rm/gone"), [])
        # trash empty covers online runs.
        p = self.rm("trash", "empty", "--yes", run)
        self.assertExit(p, 0)
        self.assertNotIn(run, self.rm("--json", "trash", "ls").stdout)

    def test_deletion_disabled_is_405(self):
        self.reg.push_manifest("rm/nodelete", SAMPLE["alpine"], "1")
        before = self.repositories(self.root)
        off = rt.Registry(self.root, env=W.env, extra_config={"storage": {"cache": None, "delete": {"enabled": False}}}).start()
        try:
            p = self.rm("rm", "--yes", "rm/nodelete:1", registry=off.url)
        finally:
            off.cleanup()
        self.assertExit(p, 1)
        self.assertIn("does not allow deleting (HTTP 405", p.stderr)
        self.assertIn("storage.delete.enabled", p.stderr)
        self.assertEqual(self.repositories(self.root), before)

    def test_the_index_is_deleted_never_its_child(self):
        # The seed's trap: with the Docker v2 type alone in Accept, the tag answers with the
        # linux/amd64 child, and deleting that digest would break the list. regsweep deletes
        # the list, and its children stay (as offline).
        self.reg.push_manifest("rm/trap", WEB["multi"], "multi")
        r = rt.http("GET", self.reg.url + "/v2/rm/trap/manifests/multi",
                    headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
        self.assertEqual(r.header("Docker-Content-Digest"), WEB["amd64"].digest)
        # A child of an index a staying tag names is refused, as offline.
        p = self.rm("rm", "--yes", "rm/trap@" + WEB["amd64"].digest)
        self.assertExit(p, 3)
        self.assertIn("refusing to delete a child of an index", p.stderr)
        self.assertEqual(self.reg.manifest_digest("rm/trap", "multi"), WEB["multi"].digest)
        p = self.rm("--json", "rm", "--yes", "rm/trap:multi")
        self.assertExit(p, 0)
        deleted = [a["digest"] for a in json.loads(p.stdout)["plan"]["actions"] if a["action"] == "remove-revision"]
        self.assertEqual(deleted, [WEB["multi"].digest])
        self.assertEqual(self.reg.tags("rm/trap"), [])
        for child in ("amd64", "arm64"):
            self.assertEqual(self.reg.manifest_digest("rm/trap", WEB[child].digest), WEB[child].digest)

    def test_no_secret_in_the_state_folder(self):
        self.reg.push_manifest("team/secret", SAMPLE["alpine"], "1")
        p = self.rm("-u", "alice", "rm", "--yes", "team/secret:1", registry=self.tok.url, env={"REGISTRY_PASSWORD": ALICE_TOKEN_PW})
        self.assertExit(p, 0)
        self.assertNoSecret(p)
        self.reg.push_manifest("rm/bob2", SAMPLE["alpine"], "1")
        p = self.rm("-u", "bob", "rm", "--yes", "rm/bob2@" + SAMPLE["alpine"].digest, registry=self.tok.url,
                    env={"REGISTRY_PASSWORD": BOB_TOKEN_PW})
        self.assertExit(p, 1)
        secrets = SECRETS + tuple(W.tokens.issued)
        for dirpath, _dirs, files in os.walk(self.state):
            for name in files:
                with open(os.path.join(dirpath, name), "rb") as f:
                    data = f.read().decode("utf-8", "replace")
                for secret in secrets:
                    self.assertNotIn(secret, data, os.path.join(dirpath, name))


    # prune online: the same planner on the model read over the API (same storage, same servers).

    def prune(self, *args: str, registry: str | None = None) -> subprocess.CompletedProcess:
        return self.rm(*args, registry=registry)

    def test_prune_equals_offline_prune_on_a_copy_then_restore(self):
        self.reg.push_manifest("prune/app", SAMPLE["app_v1"], "v1")
        self.reg.push_manifest("prune/app", SAMPLE["app_v1"], "latest")
        self.reg.push_manifest("prune/app", SAMPLE["app_v0"], "v0")
        self.reg.push_manifest("prune/app", rt.cosign_signature(SAMPLE["app_v0"], "registry.example/prune/app"),
                               rt.cosign_tag(SAMPLE["app_v0"].digest))  # goes with its subject
        self.reg.push_manifest("prune/app", SAMPLE["sub_1"], "tmp-1")
        want = {t: self.reg.manifest_digest("prune/app", t) for t in self.reg.tags("prune/app")}
        copy = rt.copy_tree(self.root, os.path.join(W.dir, "prune-copy-1"))
        blobs_before = self.blobs(self.root)
        rule = ("prune", "--repo", "prune/a*", "--match", "^(v|tmp)", "--keep", "^v1$")  # prune/app (and prune/age, nothing to match)
        on = self.prune("--json", *rule, "--yes")
        self.assertExit(on, 0)
        doc = json.loads(on.stdout)
        verdicts = {d["tag"]: d["verdict"] for d in doc["decisions"] if d["repository"] == "prune/app"}
        self.assertEqual({t: v for t, v in verdicts.items() if not t.startswith("sha256-")},
                         {"latest": "kept", "v1": "kept", "v0": "deleted", "tmp-1": "deleted"})
        off = regsweep("--root", copy, *rule, "--yes")
        self.assertExit(off, 0)
        self.assertEqual(self.repositories(self.root), self.repositories(copy),
                         rt.diff_text(self.repositories(copy), self.repositories(self.root)))
        self.assertEqual(self.blobs(self.root), blobs_before)  # blobs are the registry's GC's
        self.assertEqual(self.reg.tags("prune/app"), ["latest", "v1"])
        # restore RUN puts back every tag with its digest, and they pull.
        p = self.prune("restore", "--yes", doc["result"]["run"])
        self.assertExit(p, 0)
        self.assertEqual({t: self.reg.manifest_digest("prune/app", t) for t in want}, want)
        for t in want:
            self.assertEqual(self.reg.pull_all("prune/app", t), [], t)

    def test_prune_dry_run_changes_nothing(self):
        self.reg.push_manifest("prune/dry", SAMPLE["alpine"], "1")
        self.reg.push_manifest("prune/dry", SAMPLE["sub_1"], "2")
        before = self.repositories(self.root)
        p = self.prune("prune", "--dry-run", "--repo", "prune/dry", "--keep-last", "0", "--no-default-keep")
        self.assertExit(p, 0)
        self.assertIn("would remove", p.stdout)
        self.assertIn("dry run: nothing was deleted", p.stdout)
        self.assertEqual(self.repositories(self.root), before)

    def test_a_kept_tag_keeps_a_shared_digest(self):
        # b would go, but a (kept) names the same digest: registry 2.8 has no DELETE by tag, so
        # b is skipped and said so, never deleted by digest.
        self.reg.push_manifest("prune/shared", SAMPLE["alpine"], "a")
        self.reg.push_manifest("prune/shared", SAMPLE["alpine"], "b")
        self.reg.push_manifest("prune/shared", SAMPLE["sub_1"], "c")
        p = self.prune("--json", "prune", "--yes", "--repo", "prune/shared", "--keep", "^a$")
        self.assertExit(p, 0)
        doc = json.loads(p.stdout)
        self.assertEqual(doc["skipped_untag_only"], ["prune/shared:b"])
        reason = {d["tag"]: d["reason"] for d in doc["decisions"]}["b"]
        self.assertIn("no DELETE by tag", reason)
        self.assertEqual(self.reg.tags("prune/shared"), ["a", "b"])
        self.assertEqual(self.reg.manifest_digest("prune/shared", "a"), SAMPLE["alpine"].digest)
        p = self.prune("prune", "--dry-run", "--repo", "prune/shared", "--keep", "^a$")
        self.assertIn("skipped 1 tag(s)", p.stderr)
        self.assertIn("prune/shared:b", p.stderr)

    def test_age_rules_use_the_creation_time(self):
        # The API has no push time: the config's created, else the annotation; neither: kept.
        old = rt.image([rt.layer({"age/old.txt": "old\n"})], created="2024-01-01T00:00:00Z")
        ann = rt.image([rt.layer({"age/ann.txt": "annotated\n"})], created="",
                       annotations={"org.opencontainers.image.created": "2024-02-01T00:00:00Z"})
        none = rt.image([rt.layer({"age/none.txt": "no time\n"})], created="")
        for tag, img in (("old", old), ("ann", ann), ("none", none)):
            self.reg.push_manifest("prune/age", img, tag)
        p = self.prune("--json", "prune", "--dry-run", "--repo", "prune/age", "--older-than", "30d")
        self.assertExit(p, 0)
        decisions = {d["tag"]: d for d in json.loads(p.stdout)["decisions"]}
        self.assertEqual({t: d["verdict"] for t, d in decisions.items()}, {"old": "deleted", "ann": "deleted", "none": "kept"})
        self.assertIn("created more than 30d ago", decisions["old"]["reason"])
        self.assertEqual(decisions["ann"]["pushed"], "2024-02-01T00:00:00Z")
        self.assertIn("no creation time", decisions["none"]["reason"])
        p = self.prune("prune", "--dry-run", "--repo", "prune/age", "--keep-last", "1")
        self.assertExit(p, 0)
        self.assertIn("prune/age:none", p.stderr)  # listed, and the run goes on
        self.assertIn("CREATED", p.stdout)

    def test_plan_out_then_apply(self):
        self.reg.push_manifest("prune/plan", SAMPLE["sub_1"], "old1")
        self.reg.push_manifest("prune/plan", SAMPLE["app_tmp"], "old2")
        self.reg.push_manifest("prune/plan", SAMPLE["alpine"], "new")
        plan = os.path.join(W.dir, "prune-plan.json")
        rule = ("prune", "--repo", "prune/plan", "--match", "^old")
        before = self.repositories(self.root)
        p = self.prune(*rule, "--plan-out", plan)
        self.assertExit(p, 0)
        self.assertEqual(self.repositories(self.root), before)
        with open(plan) as f:
            self.assertEqual(json.load(f)["registry"], self.reg.url)
        # Not for another registry, nor for a storage.
        p = self.prune("apply", "--yes", plan, registry=self.tok.url)
        self.assertExit(p, 3)
        self.assertIn("made for the registry " + self.reg.url, p.stderr)
        p = regsweep("--root", self.root, "apply", "--dry-run", plan)
        self.assertExit(p, 3)
        self.assertIn("over the API", p.stderr)
        # A tag moved since: refused before the first DELETE, nothing deleted.
        self.reg.push_manifest("prune/plan", SAMPLE["alpine"], "old2")
        moved = self.repositories(self.root)
        p = self.prune("apply", "--yes", plan)
        self.assertExit(p, 3)
        self.assertIn("prune/plan:old2 now names " + SAMPLE["alpine"].digest, p.stderr)
        self.assertIn("nothing was deleted", p.stderr)
        self.assertEqual(self.repositories(self.root), moved)
        self.assertEqual(self.reg.tags("prune/plan"), ["new", "old1", "old2"])
        # Made again, it applies.
        self.reg.push_manifest("prune/plan", SAMPLE["app_tmp"], "old2")
        p = self.prune(*rule, "--plan-out", plan)
        self.assertExit(p, 0)
        p = self.prune("--json", "apply", "--yes", plan)
        self.assertExit(p, 0)
        self.assertEqual(json.loads(p.stdout)["result"]["removed"], 4)
        self.assertEqual(self.reg.tags("prune/plan"), ["new"])
        self.assertEqual(self.reg.pull_all("prune/plan", "new"), [])


class Failures(OnlineCase):
    def test_unreachable_host(self):
        port = rt.free_port()
        t0 = time.monotonic()
        p = regsweep("--registry", f"http://127.0.0.1:{port}", "ls")
        self.assertExit(p, 1)
        self.assertIn("cannot be reached", p.stderr)
        self.assertIn(f"http://127.0.0.1:{port}/v2/", p.stderr)
        self.assertLess(time.monotonic() - t0, 15)

    def test_refused_online(self):
        for args in (["gc"], ["-i"]):
            with self.subTest(args=args):
                p = regsweep("--registry", W.anon.url, *args)
                self.assertExit(p, 2)
                self.assertIn("does not work online yet", p.stderr)
        p = regsweep("--registry", W.anon.url, "--root", W.root, "ls")
        self.assertExit(p, 2)
        p = regsweep("--root", W.root, "-u", "alice", "ls")
        self.assertExit(p, 2)
        self.assertIn("goes with --registry", p.stderr)
        p = regsweep("--registry", "registry.example:5000", "ls")
        self.assertExit(p, 2)
        self.assertIn("https://", p.stderr)
        # prune online leaves the storage to the registry's own GC, and 2.8 lists no untagged manifest.
        for opt in ("--gc", "--untagged"):
            p = regsweep("--registry", W.anon.url, "prune", "--dry-run", opt)
            self.assertExit(p, 2)
        # Nothing was removed behind the refusal.
        self.assertEqual(W.anon.tags("team/app"), sorted(["latest", "v0", "v1", rt.cosign_tag(SAMPLE["app_v1"].digest)]))


class Faults(OnlineCase):
    """What the real registry does not do on demand, from tests/lib/fakeregistry.py."""

    def setUp(self):
        W.fake.reset()

    def ls(self, *args: str) -> subprocess.CompletedProcess:
        return regsweep("--registry", W.fake.url, *args)

    def one_repository(self, manifest_answer):
        W.fake.script("/v2/_catalog?n=1000", [Answer(json={"repositories": ["a"]})])
        W.fake.script("/v2/a/tags/list?n=1000", [Answer(json={"name": "a", "tags": ["v1"]})])
        W.fake.script("/v2/a/manifests/v1", [manifest_answer])

    def test_a_link_that_loops(self):
        W.fake.script("/v2/_catalog?n=2", [Answer(json={"repositories": ["a", "b"]},
                                                  headers={"Link": '</v2/_catalog?last=b&n=2>; rel="next"'})])
        W.fake.script("/v2/_catalog?last=b&n=2", [Answer(json={"repositories": ["c"]},
                                                         headers={"Link": '</v2/_catalog?n=2>; rel="next"'})])
        p = self.ls("--page-size", "2", "ls")
        self.assertExit(p, 1)
        self.assertIn("Link header loops", p.stderr)
        self.assertIn(W.fake.url + "/v2/_catalog?n=2", p.stderr)
        self.assertEqual(W.fake.count("/v2/_catalog?n=2"), 1)

    def test_a_link_to_another_server(self):
        W.fake.script("/v2/_catalog?n=1000", [Answer(json={"repositories": ["a"]},
                                                     headers={"Link": '<http://127.0.0.2:1/v2/_catalog?last=a>; rel="next"'})])
        p = self.ls("ls")
        self.assertExit(p, 1)
        self.assertIn("on another server", p.stderr)

    def test_a_body_that_does_not_match_its_digest(self):
        m = SAMPLE["app_v1"]
        self.one_repository(Answer(body=m.data, headers={"Content-Type": m.media_type,
                                                         "Docker-Content-Digest": SAMPLE["app_v0"].digest}))
        p = self.ls("ls")
        self.assertExit(p, 1)
        self.assertIn("Docker-Content-Digest says " + SAMPLE["app_v0"].digest, p.stderr)
        self.assertIn(W.fake.url + "/v2/a/manifests/v1", p.stderr)
        # The same body with its own digest is read.
        self.one_repository(Answer(body=m.data, headers={"Content-Type": m.media_type, "Docker-Content-Digest": m.digest}))
        p = self.ls("--json", "ls")
        self.assertExit(p, 0)
        self.assertEqual(json.loads(p.stdout)["repositories"][0]["tags"][0]["digest"], m.digest)

    def test_malformed_json(self):
        W.fake.script("/v2/_catalog?n=1000", [Answer(json={"repositories": ["a"]})])
        W.fake.script("/v2/a/tags/list?n=1000", [Answer(body=b'{"name": "a", "tags": [', headers={"Content-Type": "application/json"})])
        p = self.ls("ls")
        self.assertExit(p, 1)
        self.assertIn("something else than a JSON object", p.stderr)
        self.assertIn(W.fake.url + "/v2/a/tags/list?n=1000", p.stderr)

    def test_server_errors_are_retried(self):
        W.fake.script("/v2/_catalog?n=1000", [Answer(503), Answer(502), Answer(json={"repositories": []})])
        p = self.ls("ls")
        self.assertExit(p, 0)
        self.assertEqual(W.fake.count("/v2/_catalog?n=1000"), 3)
        for status, said in ((503, "the registry failed (HTTP 503"), (429, "kept answering Too Many Requests (HTTP 429")):
            with self.subTest(status=status):
                W.fake.reset()
                W.fake.script("/v2/_catalog?n=1000", [Answer(status)])
                p = self.ls("ls")
                self.assertExit(p, 1)
                self.assertIn(said, p.stderr)
                self.assertIn("tried 6 times", p.stderr)
                self.assertEqual(W.fake.count("/v2/_catalog?n=1000"), 6)

    def one_deletable(self, delete_answer):
        m = SAMPLE["app_v1"]
        W.fake.script("/v2/a/tags/list?n=1000", [Answer(json={"name": "a", "tags": ["v1"]})])
        for path in ("/v2/a/manifests/v1", "/v2/a/manifests/" + m.digest):
            W.fake.script(path, [Answer(body=m.data, headers={"Content-Type": m.media_type, "Docker-Content-Digest": m.digest})])
        W.fake.script("DELETE /v2/a/manifests/" + m.digest, [delete_answer])
        return m

    def rm(self, *args: str, state: str = "fake-state") -> subprocess.CompletedProcess:
        return regsweep("--registry", W.fake.url, "--state-dir", os.path.join(W.dir, state), "rm", *args)

    def test_rm_dry_run_sends_no_delete(self):
        self.one_deletable(Answer(202))
        p = self.rm("--dry-run", "a:v1", state="fake-dry")
        self.assertExit(p, 0)
        self.assertIn("would remove", p.stdout)
        self.assertEqual(W.fake.count_method("DELETE"), 0)
        self.assertFalse(os.path.exists(os.path.join(W.dir, "fake-dry")))  # nothing written either
        p = self.rm("--yes", "a:v1")
        self.assertExit(p, 0)
        self.assertEqual(W.fake.count_method("DELETE"), 1)

    def test_rm_statuses(self):
        for answer, code, said in (
                (Answer(405, json={"errors": [{"code": "UNSUPPORTED", "message": "The operation is unsupported."}]}), 1,
                 "does not allow deleting (HTTP 405"),
                (Answer(403), 1, "lacks the permission `delete` on a"),
                (Answer(404), 0, "nothing was deleted (2 items were already gone)")):
            with self.subTest(status=answer.status):
                W.fake.reset()
                self.one_deletable(answer)
                p = self.rm("--yes", "a:v1")
                self.assertExit(p, code)
                self.assertIn(said, p.stdout + p.stderr)
                if answer.status == 405:
                    self.assertIn("storage.delete.enabled", p.stderr)
                    self.assertIn(W.fake.url + "/v2/a/manifests/" + SAMPLE["app_v1"].digest, p.stderr)

    def test_a_tag_moved_since_the_plan_is_refused(self):
        m = self.one_deletable(Answer(202))
        # The plan reads v1 -> app_v1; the check just before the DELETE finds app_v0.
        W.fake.script("HEAD /v2/a/manifests/v1", [Answer(headers={"Docker-Content-Digest": SAMPLE["app_v0"].digest})])
        p = self.rm("--yes", "a:v1")
        self.assertExit(p, 3)
        self.assertIn("now names " + SAMPLE["app_v0"].digest, p.stderr)
        self.assertEqual(W.fake.count_method("DELETE"), 0)
        del m

    def test_statuses_each_say_what_they_mean(self):
        W.fake.script("/v2/_catalog?n=1000", [Answer(json={"repositories": ["a"]})])
        W.fake.script("/v2/a/tags/list?n=1000", [Answer(403, json={"errors": [{"code": "DENIED", "message": "requested access to the resource is denied"}]})])
        p = self.ls("ls")
        self.assertExit(p, 1)
        self.assertIn("denied: anonymous lacks the permission `pull` on a (HTTP 403, DENIED", p.stderr)
        W.fake.reset()  # no catalog: 404
        p = self.ls("ls")
        self.assertExit(p, 1)
        self.assertIn("the registry has no catalog (HTTP 404)", p.stderr)
        W.fake.script("/v2/_catalog?n=1000", [Answer(405)])
        p = self.ls("ls")
        self.assertExit(p, 1)
        self.assertIn("does not allow this method (HTTP 405)", p.stderr)
        self.assertIn("pull-through cache", p.stderr)


if __name__ == "__main__":
    rt.require_binary()
    for tool in ("htpasswd", "openssl", rt.registry_bin()):
        if not shutil.which(tool):
            tap.bail_out(f"{tool} not found (bash scripts/setup.sh test)")
    try:
        import htpasswd  # noqa: E402
        import tls  # noqa: E402
        import tokenserver  # noqa: E402
        from fakeregistry import Answer, FakeRegistry  # noqa: E402
        from registry_secured import SecuredRegistry  # noqa: E402
    except ImportError as e:
        tap.bail_out(f"{e} (bash scripts/setup.sh test: python3-jwt python3-cryptography)")
    tap.main()
