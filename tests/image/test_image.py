#!/usr/bin/env python3
"""The container image (Dockerfile), built from this working tree and run with buildah: no
Docker engine is needed, only Debian's buildah and debootstrap, as root.

    REGSWEEP=build/regsweep python3 tests/image/test_image.py     # TAP on stdout

Before any test, tests/image/build.sh makes the base docker.io/library/debian:bookworm once
(debootstrap) and builds the Dockerfile as regsweep:test (unchanged layers come from buildah's
cache), with $REGSWEEP as the image's regsweep (--prebuilt: CI compiles once); with
REGSWEEP_IMAGE_BUILD=full the Dockerfile's own build stage compiles and unit-tests it.
One working container of the image is made; every command below runs in it with
`buildah run --isolation chroot`, through the image's own ENTRYPOINT, with a host folder
mounted at /var/lib/registry; the container is removed at the end (also on SIGTERM).
`buildah run` shares the host's network, so a registry served in the image on 127.0.0.1 is
reachable from the host. Chroot isolation would also share the host's processes; each run gets
a PID namespace of its own instead (`unshare --pid --fork --mount-proc`), as under a container
engine: regsweep in the image sees the registries it should see, not the other suites' on the
host, and when a run ends, every process it started ends with it (the host checks that none
is left).

- Image: the config (entrypoint, cmd, volume, port), the contents (regsweep, docker-registry and
  its `registry` link, the config with root /var/lib/registry; no compiler, headers or apt
  lists), every library of regsweep resolves, and the size (printed) stays small.
- Cli: `--version` and `report --json` on fixtures against the host binary ($REGSWEEP), the
  README's `gc --dry-run`, exit codes through the entrypoint, `garbage-collect` passed to the
  registry.
- ServeRmGc, in order: `serve` on a free port (REGISTRY_HTTP_ADDR), images pushed with skopeo
  and through the API, pulled with skopeo; stopped (no process left); regsweep refuses to
  mutate while the registry serves the volume in the same PID namespace (a pod, or
  `--pid container:...`); `rm`, `gc`, `gc -m --registry-bin /usr/bin/registry` in the image;
  served again: deleted tags gone, every remaining tag pulls.

Fails (TAP "Bail out!") when REGSWEEP is not an executable, buildah or skopeo is missing, or the
image cannot be built; the failure says why.
"""
from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))

import clock  # noqa: E402
import gctest as gt  # noqa: E402
import regtest as rt  # noqa: E402
import scenarios  # noqa: E402
import tap  # noqa: E402

TAG = "regsweep:test"
BUILDAH = ["buildah", "--storage-driver", os.environ.get("STORAGE_DRIVER", "vfs")]
CONTAINER_PREFIX = "regsweep-image-test-"
VOLUME = "/var/lib/registry"
CONFIG = "/etc/docker/registry/config.yml"
MARK = "REGSWEEP_IMAGE_TEST_MARK"  # set in the environment of every process run in the image
# A PID namespace per run, as a container engine gives; the run's processes die with it.
UNSHARE = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"]
BUILD_TIMEOUT = 1500
RUN_TIMEOUT = 180
# The final stage holds Debian's minimal base (~120 MB), docker-registry (~20 MB) and regsweep
# (~2 MB): a build tool or an apt cache left in it would cross this line.
MAX_IMAGE_MB = 200
FIXTURES = os.path.join(REPO, "fixtures")


log = tap.logger("image")


# ---------------------------------------------------------------------------------------------
# buildah
# ---------------------------------------------------------------------------------------------


class State:
    container: str | None = None
    mount: str | None = None
    entrypoint: list = []
    cmd: list = []
    config: dict = {}
    size: str = ""
    marks = 0


def buildah(*args: str, timeout: float = RUN_TIMEOUT, check: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run(BUILDAH + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout, text=True, errors="replace")
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(BUILDAH + list(args))} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    return p


def new_mark() -> str:
    State.marks += 1
    return f"{os.getpid()}-{State.marks}"


def run_argv(args: list, root: str | None = None, env: dict | None = None, mark: str | None = None,
             entrypoint: bool = True) -> list:
    """The `buildah run` command line for ARGS in the image (after its ENTRYPOINT by default)."""
    cmd = UNSHARE + BUILDAH + ["run", "--isolation", "chroot"]
    if root:
        cmd += ["-v", f"{root}:{VOLUME}"]
    for k, v in {**(env or {}), MARK: mark or new_mark()}.items():
        cmd += ["--env", f"{k}={v}"]
    cmd += [State.container, "--"] + (State.entrypoint if entrypoint else []) + list(args)
    return cmd


def in_image(*args: str, root: str | None = None, env: dict | None = None, entrypoint: bool = True,
             timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess:
    """Run ARGS in the image (stdin /dev/null: no terminal); text output."""
    cmd = run_argv(list(args), root, env, entrypoint=entrypoint)
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, text=True, errors="replace")
    log(f"in image: {' '.join(args)} -> {p.returncode} in {time.monotonic() - t0:.1f}s")
    return p


def marked_processes(mark: str | None = None) -> list:
    """[(pid, argv)] of the processes run in the image by this test (with `mark`, by one call)."""
    want = f"{MARK}={mark}".encode() if mark else None
    prefix = f"{MARK}={os.getpid()}-".encode()
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                env = f.read().split(b"\0")
            with open(f"/proc/{name}/cmdline", "rb") as f:
                argv = [a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a]
        except OSError:
            continue
        if (want in env) if want else any(e.startswith(prefix) for e in env):
            out.append((int(name), argv))
    return out


def kill_marked(mark: str | None = None, timeout: float = 10) -> list:
    """SIGKILL what is left of the processes run in the image; returns what had to be killed."""
    left = marked_processes(mark)
    for pid, _ in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while marked_processes(mark) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def pgrep_registry() -> list:
    """pgrep's view: docker-registry processes serving the image's config path."""
    p = subprocess.run(["pgrep", "-a", "-f", f"docker-registry serve {CONFIG}"], stdout=subprocess.PIPE,
                       text=True)
    return [line for line in p.stdout.splitlines() if line.strip()]


class ImageRegistry(rt.Registry):
    """`IMAGE serve` in the working container, on 127.0.0.1:<free port> over `root` (mounted
    at /var/lib/registry). The API helpers of regtest.Registry work on it."""

    def __init__(self, root: str, env: dict | None = None):
        super().__init__(root, start_timeout=60)
        self.env = dict(env or {})
        self.mark = None

    start_attempts = 3

    def serve_command(self) -> tuple:
        self.mark = new_mark()
        env = {"REGISTRY_HTTP_ADDR": f"127.0.0.1:{self.port}", **self.env}
        return run_argv(["serve"], self.root, env, mark=self.mark), {}

    def stop(self):
        super().stop()  # SIGTERM, then SIGKILL, to the process group of unshare and buildah
        if self.mark:
            left = kill_marked(self.mark)
            if left:
                log(f"had to SIGKILL what buildah left running: {left}")


# ---------------------------------------------------------------------------------------------
# Setup and cleanup of the module
# ---------------------------------------------------------------------------------------------


def remove_stale_containers() -> None:
    """Working containers of earlier runs that were killed before their cleanup."""
    p = buildah("containers", "--format", "{{.ContainerName}}", check=False)
    for name in p.stdout.split():
        if not name.startswith(CONTAINER_PREFIX):
            continue
        pid = name[len(CONTAINER_PREFIX):]
        if pid.isdigit() and int(pid) != os.getpid() and not os.path.exists(f"/proc/{pid}"):
            buildah("rm", name, check=False)


def cleanup() -> None:
    for reg in [r for r in list(rt._LIVE) if isinstance(r, ImageRegistry)]:
        try:
            reg.stop()
        except Exception:
            pass
    kill_marked()
    if State.container:
        if State.mount:
            buildah("umount", State.container, check=False)
        buildah("rm", State.container, check=False)
        State.container = None


def setup() -> None:
    exe = rt.require_binary()
    rt.require_tools("buildah", "skopeo", "pgrep", "unshare")
    rt.require_root("the image suite needs root (buildah with chroot isolation, debootstrap)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # atexit cleanup runs on SIGTERM too
    atexit.register(cleanup)
    remove_stale_containers()

    t0 = time.monotonic()
    log(f"building {TAG} with tests/image/build.sh (the first time also the debian base)")
    # CI puts the binary it has just compiled into the image (build.sh --prebuilt) rather than
    # compile it again in the Dockerfile's build stage; REGSWEEP_IMAGE_BUILD=full builds the
    # Dockerfile exactly as a user does (tests/README.md).
    full = os.environ.get("REGSWEEP_IMAGE_BUILD") == "full"
    argv = ["bash", os.path.join(HERE, "build.sh")] + ([] if full else ["--prebuilt", exe]) + [TAG]
    log("the Dockerfile's build stage compiles regsweep" if full else f"regsweep in the image: {exe} (--prebuilt)")
    p = subprocess.run(argv, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace",
                       timeout=BUILD_TIMEOUT)
    sys.stderr.write(p.stderr)
    if p.returncode != 0:
        tap.bail_out(f"the image could not be built (tests/image/build.sh exit {p.returncode}): "
                     + " | ".join(p.stderr.strip().splitlines()[-3:]))
    m = re.search(r"^image \S+ (.+)$", p.stdout, re.M)
    State.size = m.group(1).strip() if m else ""
    log(f"image built in {time.monotonic() - t0:.1f}s, size {State.size}")

    cfg = json.loads(buildah("inspect", "--type", "image", TAG).stdout)
    State.config = (cfg.get("OCIv1") or {}).get("config") or {}
    State.entrypoint = State.config.get("Entrypoint") or []
    State.cmd = State.config.get("Cmd") or []
    name = f"{CONTAINER_PREFIX}{os.getpid()}"
    buildah("from", "--pull=never", "--name", name, TAG)
    State.container = name


def copy_fixture(name: str, dst: str) -> str:
    return clock.unpack_fixture(os.path.join(FIXTURES, name + ".tar.gz"), dst)


def normalized_json(text: str, root: str) -> dict:
    return json.loads(text.replace(json.dumps(root)[1:-1], "<root>"))


def skopeo_pull(reg: rt.Registry, repo: str, tag: str, dest: str, all_: bool = False) -> str:
    """skopeo copy docker://<reg>/<repo>:<tag> oci:<dest>:<tag>; returns the digest the OCI
    layout records for it."""
    cmd = [rt.skopeo_bin(), "--insecure-policy", "copy", "--quiet", "--src-tls-verify=false",
           "--src-no-creds"] + (["--all"] if all_ else []) + \
          [f"docker://{reg.host}/{repo}:{tag}", f"oci:{dest}:{tag}"]
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=120, env=env, text=True)
    if p.returncode != 0:
        raise rt.RegistryError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout}")
    with open(os.path.join(dest, "index.json")) as f:
        index = json.load(f)
    for m in index.get("manifests") or []:
        if (m.get("annotations") or {}).get("org.opencontainers.image.ref.name") == tag:
            return m["digest"]
    raise rt.RegistryError(f"{dest}/index.json has no entry for {tag}")


# ---------------------------------------------------------------------------------------------
# The image itself
# ---------------------------------------------------------------------------------------------


class Image(unittest.TestCase):
    def rootfs(self) -> str:
        if State.mount is None:
            State.mount = buildah("mount", State.container).stdout.strip()
        return State.mount

    def test_config(self):
        """ENTRYPOINT /entrypoint.sh, VOLUME /var/lib/registry, EXPOSE 5000, CMD --help"""
        self.assertEqual(State.entrypoint, ["/entrypoint.sh"])
        self.assertEqual(State.cmd, ["--help"])
        self.assertEqual(list((State.config.get("Volumes") or {}).keys()), [VOLUME])
        self.assertEqual(list((State.config.get("ExposedPorts") or {}).keys()), ["5000/tcp"])

    def test_contents(self):
        """regsweep, docker-registry (and `registry` -> it), the config; no build tools, no apt lists"""
        r = self.rootfs()
        for path in ("usr/bin/regsweep", "usr/bin/docker-registry", "entrypoint.sh"):
            self.assertTrue(os.access(os.path.join(r, path), os.X_OK), path)
        self.assertEqual(os.readlink(os.path.join(r, "usr/bin/registry")), "docker-registry")
        with open(os.path.join(r, CONFIG.lstrip("/"))) as f:
            config = f.read()
        self.assertRegex(config, r"(?m)^\s+rootdirectory: /var/lib/registry\s*$")
        self.assertRegex(config, r"(?m)^\s+addr: :5000\s*$")
        for path in ("usr/bin/g++", "usr/bin/c++", "usr/bin/meson", "usr/bin/ninja", "usr/bin/ld",
                     "usr/include/yaml-cpp", "usr/include/CLI", "usr/include/gtest", "src", "build"):
            self.assertFalse(os.path.lexists(os.path.join(r, path)), f"{path} is in the final image")
        lists = os.path.join(r, "var/lib/apt/lists")
        self.assertEqual([n for n in os.listdir(lists) if n not in ("partial", "lock")] if os.path.isdir(lists) else [], [])
        debs = os.path.join(r, "var/cache/apt/archives")
        self.assertEqual([n for n in os.listdir(debs) if n.endswith(".deb")] if os.path.isdir(debs) else [], [])

    def test_libraries_resolve(self):
        """ldd /usr/bin/regsweep in the image: every library found (libyaml-cpp, libcrypto, libstdc++)"""
        p = in_image("ldd", "/usr/bin/regsweep", entrypoint=False)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("not found", p.stdout)
        for lib in ("libyaml-cpp.so.0.7", "libcrypto.so.3", "libstdc++.so.6"):
            self.assertIn(lib, p.stdout)

    def test_size(self):
        """the final image is below MAX_IMAGE_MB (its size is printed)"""
        print(f"# image {TAG} size {State.size}", flush=True)
        m = re.fullmatch(r"([0-9.]+)\s*([kMG]?B)", State.size)
        self.assertIsNotNone(m, f"size {State.size!r}")
        mb = float(m.group(1)) * {"B": 1e-6, "kB": 1e-3, "MB": 1, "GB": 1e3}[m.group(2)]
        self.assertLess(mb, MAX_IMAGE_MB, f"{TAG} is {State.size}")


# ---------------------------------------------------------------------------------------------
# Commands through the entrypoint
# ---------------------------------------------------------------------------------------------


class Cli(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="regsweep-image-", dir=gt.fast_tmpdir())

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_version(self):
        """`IMAGE --version` is the host binary's version (the git description aside: the image's
        context has no .git)"""
        host = subprocess.run([os.environ["REGSWEEP"], "--version"], capture_output=True, text=True)
        img = in_image("--version")
        self.assertEqual((img.returncode, host.returncode), (0, 0), img.stderr)

        def project_version(s: str) -> str:
            return re.sub(r" \(git [^)]*\)$", "", s.strip())

        self.assertRegex(project_version(img.stdout), r"^regsweep \d+\.\d+\.\d+$")
        self.assertEqual(project_version(img.stdout), project_version(host.stdout))

    def test_default_cmd(self):
        """the image's CMD (no arguments) prints regsweep's help and exits 0"""
        p = in_image(*State.cmd)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("Subcommands:", p.stdout)

    def test_report_json_like_host(self):
        """`IMAGE report --json` on a fixture at /var/lib/registry = the host binary's, and reads only"""
        for fixture in ("sample", "garbage", "damaged-link-garbage", "damaged-manifest-unparsable"):
            with self.subTest(fixture=fixture):
                root = copy_fixture(fixture, os.path.join(self.tmp, fixture))
                before = rt.tree_snapshot(root)
                host = rt.run_regsweep(root, "report", "--json")
                img = in_image("report", "--json", root=root)
                self.assertEqual(img.returncode, host.returncode, img.stderr)
                self.assertEqual(normalized_json(img.stdout, VOLUME), normalized_json(host.stdout, root))
                self.assertEqual(img.stderr.replace(VOLUME, "<root>"), host.stderr.replace(root, "<root>"))
                self.assertEqual(rt.tree_snapshot(root), before)

    def test_gc_dry_run(self):
        """the README's `IMAGE gc --dry-run` prints the host's plan and changes nothing"""
        root = copy_fixture("sample", os.path.join(self.tmp, "sample"))
        before = rt.tree_snapshot(root)
        host = rt.run_regsweep(root, "gc", "--dry-run", "--min-age", "0s", "--json")
        img = in_image("gc", "--dry-run", "--min-age", "0s", "--json", root=root)
        self.assertEqual((img.returncode, host.returncode), (0, 0), img.stderr)
        docs = [normalized_json(img.stdout, VOLUME), normalized_json(host.stdout, root)]
        for d in docs:
            d["result"].pop("run")  # <time>-<pid>
        self.assertEqual(docs[0], docs[1])
        self.assertGreater(json.loads(img.stdout)["summary"]["blobs"]["count"], 0, img.stdout)
        text = in_image("gc", "--dry-run", root=root)
        self.assertEqual(text.returncode, 0, text.stderr)
        self.assertEqual(rt.tree_snapshot(root), before)
        self.assertFalse(os.path.exists(os.path.join(root, ".regsweep")))

    def test_exit_codes(self):
        """exit codes and messages come through the entrypoint: 2 without a terminal, 1 on an empty volume"""
        root = copy_fixture("sample", os.path.join(self.tmp, "sample"))
        before = rt.tree_snapshot(root)
        p = in_image("rm", "team/app:v1", root=root)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertEqual(rt.tree_snapshot(root), before)
        empty = os.path.join(self.tmp, "empty")
        os.makedirs(empty)
        p = in_image("report", root=empty)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn(VOLUME, p.stderr)

    def test_registry_garbage_collect(self):
        """`IMAGE garbage-collect --dry-run` is the registry's, on /var/lib/registry: it would delete
        exactly the blobs `report` calls unreferenced"""
        root = copy_fixture("sample", os.path.join(self.tmp, "sample"))
        before = rt.tree_snapshot(root)
        p = in_image("garbage-collect", "--dry-run", root=root)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        eligible = set(re.findall(r"blob eligible for deletion: (sha256:[0-9a-f]{64})", p.stdout + p.stderr))
        report = json.loads(rt.run_regsweep(root, "report", "--json").stdout)
        self.assertEqual(eligible, set(report["unreferenced"]["digests"]))
        self.assertGreater(len(eligible), 0)
        self.assertEqual(rt.tree_snapshot(root), before)


# ---------------------------------------------------------------------------------------------
# serve, push, pull, stop, rm, gc, serve again
# ---------------------------------------------------------------------------------------------


SAMPLE = scenarios.sample_images()["images"]
SERVE_ENV = {"REGISTRY_STORAGE_DELETE_ENABLED": "true", "REGISTRY_LOG_LEVEL": "warn",
             "REGISTRY_LOG_ACCESSLOG_DISABLED": "true"}


class ServeRmGc(unittest.TestCase):
    """One storage, served by the image, then cleaned by the image's regsweep (steps in order)."""

    done: set = set()
    tmp = ""
    root = ""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="regsweep-image-serve-", dir=gt.fast_tmpdir())
        cls.root = os.path.join(cls.tmp, "root")
        cls.scratch = os.path.join(cls.tmp, "scratch")
        os.makedirs(cls.scratch)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def needs(self, step: str):
        if step not in self.done:
            self.skipTest(f"needs step {step}, which failed")

    def assert_nothing_left(self, reg: ImageRegistry):
        self.assertEqual(marked_processes(reg.mark), [])
        self.assertEqual(pgrep_registry(), [])

    def test_1_serve_push_pull(self):
        """`IMAGE serve` (REGISTRY_* overrides) takes pushes (skopeo, API) and pulls; exec'd; stopped cleanly"""
        reg = ImageRegistry(self.root, SERVE_ENV)
        try:
            reg.start()
            r = reg.request("GET", "/v2/")
            self.assertEqual(r.status, 200)
            self.assertEqual(r.header("X-Content-Type-Options"), "nosniff")  # from the image's config
            procs = marked_processes(reg.mark)
            self.assertEqual([a for _, a in procs], [["/usr/bin/docker-registry", "serve", CONFIG]],
                             "the entrypoint execs the registry (no shell left in between)")
            t0 = time.monotonic()
            info = scenarios.populate_sample(reg, self.scratch)
            log(f"sample pushed in {time.monotonic() - t0:.1f}s")
            self.assertEqual(len(info["deleted"]), 3)
            self.assertEqual(rt.pull_every_tag(reg), {})
            d = skopeo_pull(reg, "library/alpine", "3.19", os.path.join(self.scratch, "pull"), all_=True)
            self.assertEqual(d, SAMPLE["alpine"].digest)
            d = skopeo_pull(reg, "team/app", "v1", os.path.join(self.scratch, "pull"))
            self.assertEqual(d, SAMPLE["app_v1"].digest)
            self.assertEqual(reg.tags("library/alpine"), ["3.19", "latest"])
        finally:
            reg.stop()
            reg.cleanup()
        self.assert_nothing_left(reg)
        self.done.add("1")

    def test_2_refuses_while_served(self):
        """with `IMAGE serve` running beside it (one PID namespace), `IMAGE rm --yes` refuses (exit 3), changes nothing"""
        self.needs("1")
        before = rt.tree_snapshot_excluding(self.root)
        ep = " ".join(State.entrypoint)
        script = (f"{ep} serve >/dev/null 2>&1 & "  # wait until the entrypoint has exec'd the registry:
                  "n=0; until ls -l /proc/[0-9]*/exe 2>/dev/null | grep -q ' -> /usr/bin/docker-registry$' "
                  "|| [ $n -ge 100 ]; do sleep 0.1; n=$((n+1)); done; "
                  f"{ep} rm --yes library/alpine:latest; rc=$?; kill $!; wait; exit $rc")
        p = in_image("sh", "-c", script, root=self.root, entrypoint=False,
                     env={"REGISTRY_HTTP_ADDR": f"127.0.0.1:{rt.free_port()}"})
        self.assertEqual(p.returncode, 3, p.stdout + p.stderr)
        self.assertIn(f"docker-registry serve {CONFIG}", p.stderr)  # it names the registry
        self.assertEqual(rt.tree_snapshot_excluding(self.root), before)
        self.assertEqual(marked_processes(), [])
        self.done.add("2")

    def test_3_rm(self):
        """`IMAGE rm --yes`: a tag untagged, a manifest deleted (with every tag on it)"""
        self.needs("2")
        p = in_image("rm", "--yes", "--untag", "library/alpine:latest", root=self.root)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        p = in_image("rm", "--yes", "team/app/sub:1.0", root=self.root)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        tags = rt.tags_on_disk(self.root)
        self.assertEqual(sorted(tags["library/alpine"]), ["3.19"])
        self.assertEqual(sorted(tags["team/app/sub"]), ["multi"])
        self.assertEqual(rt.dangling_tags(self.root), [])
        self.done.add("3")

    def test_4_gc(self):
        """`IMAGE gc --yes --min-age 0s --uploads-older-than 0s` sweeps exactly what the host's report calls unreferenced"""
        self.needs("3")
        report = json.loads(rt.run_regsweep(self.root, "report", "--json").stdout)
        unreferenced = set(report["unreferenced"]["digests"])
        self.assertGreater(len(unreferenced), 0)
        blobs = set(rt.blobs_on_disk(self.root))
        # nothing pushes here: no grace for young blobs, nor for those linked beside an open upload
        p = in_image("gc", "--yes", "--min-age", "0s", "--uploads-older-than", "0s", root=self.root)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(set(rt.blobs_on_disk(self.root)), blobs - unreferenced)
        after = json.loads(rt.run_regsweep(self.root, "report", "--json").stdout)
        self.assertEqual(after["unreferenced"]["count"], 0)
        self.done.add("4")

    def test_5_gc_registry_bin(self):
        """`IMAGE gc -m --registry-bin /usr/bin/registry`: untagged manifests go, the image's registry sweeps their blobs"""
        self.needs("4")
        report = json.loads(rt.run_regsweep(self.root, "report", "--json").stdout)
        expect = report["reclaimable"]["with_untagged"]
        self.assertGreater(expect, 0)
        blobs = set(rt.blobs_on_disk(self.root))
        p = in_image("gc", "--yes", "-m", "--min-age", "0s", "--uploads-older-than", "0s", "--registry-bin", "/usr/bin/registry", "--json",
                     root=self.root)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        doc = json.loads(p.stdout)
        self.assertEqual(doc["registry_gc"]["bytes_freed"], expect, p.stdout)
        self.assertLess(len(rt.blobs_on_disk(self.root)), len(blobs))
        after = json.loads(rt.run_regsweep(self.root, "report", "--json").stdout)
        self.assertEqual((after["unreferenced"]["count"], after["reclaimable"]["with_untagged"]), (0, 0))
        self.assertEqual(rt.dangling_tags(self.root), [])
        self.done.add("5")

    def test_6_serve_again(self):
        """served again: the deleted tags are gone, every remaining tag pulls (API and skopeo)"""
        self.needs("5")
        reg = ImageRegistry(self.root, SERVE_ENV)
        try:
            reg.start()
            self.assertEqual(reg.tags("library/alpine"), ["3.19"])
            self.assertEqual(reg.tags("team/app/sub"), ["multi"])
            self.assertIsNone(reg.manifest_digest("library/alpine", "latest"))
            self.assertIsNone(reg.manifest_digest("team/app/sub", "1.0"))
            self.assertIn("latest", reg.tags("team/app"))
            self.assertEqual(rt.pull_every_tag(reg), {})
            d = skopeo_pull(reg, "library/alpine", "3.19", os.path.join(self.scratch, "pull2"), all_=True)
            self.assertEqual(d, SAMPLE["alpine"].digest)
            self.assertEqual(reg.pull_all("team/app", SAMPLE["app_v1_sbom"].digest), [])  # the referrer stays
        finally:
            reg.stop()
            reg.cleanup()
        self.assert_nothing_left(reg)


if __name__ == "__main__":
    setup()
    tap.main()
