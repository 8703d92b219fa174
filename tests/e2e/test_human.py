#!/usr/bin/env python3
"""Human output, as a user meets it: --version, sizes (--bytes), local-time dates, colour
(--color, NO_COLOR, only on a terminal), the error format, and the progress line, which a run
inside a real pseudo-terminal (`script`) must show and every other run must not.
TAP output; REGSWEEP = the binary (a test build: the progress test slows it down with
REGSWEEP_TEST_SLOW_PROGRESS_MS)."""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import clock  # noqa: E402
import regtest  # noqa: E402
import tap  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
BIN = os.environ.get("REGSWEEP", "")
ESC = "\x1b["
PROGRESS = re.compile(r"regsweep: ([a-z ]+): (\d+) items \((\d+)/s\)")


def base_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", regtest.CRASH_ENV)}
    env.setdefault("TERM", "xterm")
    env.update(extra)
    return env


def in_terminal(args, env=None, stderr_file=None, timeout=120):
    """Runs the binary inside `script`, i.e. on a pseudo-terminal: stdout and stderr are the
    terminal (unless stderr_file), stdin is /dev/null. Returns (exit code, what the terminal got)."""
    cmd = " ".join(shlex.quote(a) for a in [BIN, *args]) + " </dev/null"
    if stderr_file:
        cmd += " 2>" + shlex.quote(stderr_file)
    p = subprocess.run(["script", "-qfec", cmd, "/dev/null"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL, env=env or base_env(), timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace")


class Human(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="regsweep-human-")
        cls.root = clock.unpack_fixture(os.path.join(SRC, "fixtures", "sample.tar.gz"), os.path.join(cls.tmp, "sample"))
        listing = json.loads(cls.run_bin("ls", "--json").stdout)
        cls.repos = listing["repositories"]
        cls.repo = next(r["name"] for r in cls.repos if r["tags"])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def run_bin(cls, *args, env=None):
        return regtest.run_regsweep(cls.root, *args, env=env)

    # --- version ------------------------------------------------------------------------

    def test_version_names_project_version_and_git(self):
        """--version prints the meson project version and, in a git checkout, git describe of HEAD"""
        p = subprocess.run([BIN, "--version"], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        meson = open(os.path.join(SRC, "meson.build"), encoding="utf-8").read()
        version = re.search(r"version:\s*'([^']+)'", meson).group(1)
        self.assertTrue(p.stdout.startswith(f"regsweep {version}"), p.stdout)
        head = subprocess.run(["git", "-C", SRC, "rev-parse", "HEAD"], capture_output=True, text=True)
        if head.returncode != 0:
            self.assertNotIn("(git", p.stdout)
            return
        m = re.search(r"\(git (\S+)\)", p.stdout)
        self.assertIsNotNone(m, p.stdout)
        # describe: v1.2-3-gabcdef0[-dirty], or the abbreviated hash alone without tags
        short = re.sub(r"-dirty$", "", m.group(1)).split("-g")[-1]
        self.assertTrue(head.stdout.strip().startswith(short), (short, head.stdout))

    def test_version_of_a_source_tarball_names_no_commit(self):
        """a build from the source tree without .git (a release tarball), even unpacked inside another git checkout, names no commit"""
        if not shutil.which("meson") or not shutil.which("ninja"):
            self.skipTest("meson and ninja are needed to configure a copy of the source")
        work = tempfile.mkdtemp(prefix="regsweep-tarball-", dir=self.tmp)
        src = os.path.join(work, "regsweep-src")
        skip = shutil.ignore_patterns(".git", "build*", "__pycache__", "work")
        shutil.copytree(SRC, src, ignore=skip, symlinks=True)
        for outer_git in (False, True):
            with self.subTest(inside_another_checkout=outer_git):
                if outer_git:
                    subprocess.run(["git", "init", "-q", work], check=True)
                b = os.path.join(work, f"b{int(outer_git)}")
                for cmd in (["meson", "setup", b, src], ["ninja", "-C", b, "version.cc"]):
                    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
                    self.assertEqual(p.returncode, 0, p.stdout[-2000:] + p.stderr[-2000:])
                with open(os.path.join(b, "version.cc"), encoding="utf-8") as f:
                    self.assertIn('std::string describe = "";', f.read())

    # --- sizes and dates ----------------------------------------------------------------

    def test_sizes_human_by_default_exact_with_bytes(self):
        """ls: sizes read '12.3 KiB' by default and equal the JSON byte counts with --bytes"""
        tags = json.loads(self.run_bin("ls", self.repo, "--json").stdout)["repositories"][0]["tags"]
        human = self.run_bin("ls", self.repo)
        exact = self.run_bin("ls", self.repo, "--bytes")
        self.assertEqual((human.returncode, exact.returncode), (0, 0), human.stderr + exact.stderr)
        self.assertRegex(human.stdout, r"\d(\.\d)? (B|KiB|MiB|GiB)\b")
        for t in tags:
            row = next(l for l in exact.stdout.splitlines() if l.split()[:1] == [t["name"]])
            self.assertIn(f" {t['size']} ", row + " ", row)
            self.assertNotRegex(row, r"\b(KiB|MiB|GiB)\b")

    def test_dates_in_local_time(self):
        """ls REPO shows `pushed` in the local time zone: TZ=JST-9 is the JSON (UTC) time + 9 h"""
        import datetime
        tags = json.loads(self.run_bin("ls", self.repo, "--json").stdout)["repositories"][0]["tags"]
        t = next(t for t in tags if t["pushed"])
        utc = datetime.datetime.strptime(t["pushed"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
        for tz, hours, suffix in (("JST-9", 9, "+0900"), ("UTC0", 0, "+0000"), ("EST5", -5, "-0500")):
            p = self.run_bin("ls", self.repo, env={"TZ": tz})
            self.assertEqual(p.returncode, 0, p.stderr)
            want = (utc + datetime.timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M:%S") + " " + suffix
            row = next(l for l in p.stdout.splitlines() if l.split()[:1] == [t["name"]])
            self.assertIn(want, row, (tz, row))

    # --- colour -------------------------------------------------------------------------

    def test_no_colour_when_piped(self):
        """stdout to a pipe: no escape sequences (auto), even for errors on stderr"""
        p = self.run_bin("ls")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn(ESC, p.stdout + p.stderr)

    def test_colour_always_and_never(self):
        """--color=always colours the table header even into a pipe; --color=never never"""
        always = self.run_bin("ls", "--color=always")
        never = self.run_bin("ls", "--color=never")
        self.assertIn(ESC + "1m", always.stdout)
        self.assertNotIn(ESC, never.stdout)
        self.assertEqual(re.sub(r"\x1b\[[0-9;]*m", "", always.stdout), never.stdout)

    def test_colour_on_terminal_unless_no_color(self):
        """on a terminal colour is on; NO_COLOR=1 turns it off; --color=always wins over NO_COLOR"""
        rc, on = in_terminal(["--root", self.root, "ls"])
        self.assertEqual(rc, 0, on)
        self.assertIn(ESC + "1m", on)
        rc, off = in_terminal(["--root", self.root, "ls"], env=base_env(NO_COLOR="1"))
        self.assertEqual(rc, 0, off)
        self.assertNotIn(ESC, off)
        rc, forced = in_terminal(["--root", self.root, "ls", "--color=always"], env=base_env(NO_COLOR="1"))
        self.assertIn(ESC + "1m", forced)
        rc, dumb = in_terminal(["--root", self.root, "ls"], env=base_env(TERM="dumb"))
        self.assertNotIn(ESC, dumb)

    def test_bad_color_value_is_a_usage_error(self):
        """--color=purple: exit 2, `regsweep: error:` and a hint"""
        p = self.run_bin("ls", "--color=purple")
        self.assertEqual(p.returncode, 2, regtest.show_run(p))
        self.assertTrue(p.stderr.startswith("regsweep: error: "), p.stderr)
        self.assertIn("hint: ", p.stderr)

    # --- errors -------------------------------------------------------------------------

    def test_error_is_one_line_with_path_then_hint(self):
        """a root that is not there: `regsweep: error: <what> (<path>)`, a hint line, exit 1"""
        missing = os.path.join(self.tmp, "no-such-root")
        p = subprocess.run([BIN, "--root", missing, "report"], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 1, p.stderr)
        lines = p.stderr.splitlines()
        self.assertRegex(lines[0], r"^regsweep: error: .+ \(" + re.escape(missing) + r"\)$")
        self.assertTrue(all(l.startswith("hint: ") for l in lines[1:]) and len(lines) >= 2, lines)

    def test_usage_error_format(self):
        """an unknown option: exit 2, one `regsweep: error:` line naming it, then a hint naming --help"""
        p = self.run_bin("gc", "--no-such-option")
        self.assertEqual(p.returncode, 2, regtest.show_run(p))
        lines = p.stderr.splitlines()
        self.assertTrue(lines[0].startswith("regsweep: error: ") and "--no-such-option" in lines[0], lines)
        self.assertIn("--help", lines[1])

    def test_error_red_on_terminal(self):
        """on a terminal, `error` is coloured; the rest of the line is unchanged"""
        missing = os.path.join(self.tmp, "no-such-root")
        rc, out = in_terminal(["--root", missing, "report"])
        self.assertEqual(rc, 1, out)
        self.assertRegex(out, r"regsweep: \x1b\[[0-9;]*merror\x1b\[0m: ")

    # --- progress -----------------------------------------------------------------------

    def slow(self, **extra):
        return base_env(REGSWEEP_TEST_SLOW_PROGRESS_MS="60", **extra)

    def test_progress_in_a_terminal(self):
        """report in a terminal: a progress line per phase with a count and a rate, then cleared"""
        rc, out = in_terminal(["--root", self.root, "-j", "1", "report"], env=self.slow())
        self.assertEqual(rc, 0, out)
        seen = PROGRESS.findall(out)
        phases = {p for p, _, _ in seen}
        # phases shorter than half a second are not drawn: the sample has 4 repositories
        self.assertTrue({"walking blobs", "reading manifests"} <= phases, out[:2000])
        self.assertTrue(any(int(n) > 0 and int(rate) > 0 for _, n, rate in seen), seen)
        # each redraw starts by clearing the line, and the report itself follows the progress
        self.assertIn("\r\x1b[K", out)
        self.assertIn("Reclaimable now:", out.split("\r\x1b[K")[-1])

    def test_progress_while_removing(self):
        """gc -y in a terminal shows the removing phase with counts"""
        root = regtest.copy_tree(self.root, os.path.join(self.tmp, "gc-copy"))
        # 11 removals: at 60 ms each the phase outlasted the half second before its first line
        # by less than the 200 ms between redraws, and the line was missed at times.
        rc, out = in_terminal(["--root", root, "-j", "1", "gc", "-y", "--min-age", "0s"],
                              env=base_env(REGSWEEP_TEST_SLOW_PROGRESS_MS="100"))
        self.assertEqual(rc, 0, out)
        self.assertIn("removing", {p for p, _, _ in PROGRESS.findall(out)}, out[:2000])

    def test_no_progress_with_json_quiet_or_no_terminal(self):
        """--json, -q, or stderr that is not a terminal: no progress at all"""
        for args in (["report", "--json"], ["report", "-q"]):
            rc, out = in_terminal(["--root", self.root, "-j", "1", *args], env=self.slow())
            self.assertEqual(rc, 0, out)
            self.assertIsNone(PROGRESS.search(out), (args, out[:500]))
        err = os.path.join(self.tmp, "stderr.txt")
        rc, out = in_terminal(["--root", self.root, "-j", "1", "report"], env=self.slow(), stderr_file=err)
        self.assertEqual(rc, 0, out)
        with open(err, encoding="utf-8", errors="replace") as f:
            text = f.read()
        self.assertIsNone(PROGRESS.search(out + text), text[:500])
        self.assertIn("Reclaimable now:", out)


TAGS = os.path.join("docker", "registry", "v2", "repositories", "team", "app", "_manifests", "tags")


class Menu(unittest.TestCase):
    """The interactive menu, piped: a live registry refused before the first question, a wrong
    answer asked again, tags newest first, and a note that names only what the menu offers."""

    @classmethod
    def setUpClass(cls):
        cls.ws = regtest.Workspace("regsweep-menu-")
        cls.base = clock.unpack_fixture(os.path.join(SRC, "fixtures", "sample.tar.gz"), cls.ws.root)

    @classmethod
    def tearDownClass(cls):
        cls.ws.cleanup()

    def copy(self):
        return self.ws.copy("copy")

    def menu(self, root, answers):
        return regtest.run_regsweep(root, "interactive", stdin=answers)

    def repo_number(self, root, name):
        p = self.menu(root, "q\n")
        self.assertEqual(p.returncode, 0, regtest.show_run(p))
        for line in p.stdout.splitlines():
            cells = line.split()
            if len(cells) > 1 and cells[1] == name:
                return cells[0]
        self.fail(f"{name} not in the menu:\n{p.stdout}")

    def test_live_registry_refused_before_any_question(self):
        """a registry serving the root: exit 3 naming it, before the repository list is even asked about"""
        root = self.copy()
        reg = regtest.Registry(root)
        try:
            reg.start()
            pid = reg.proc.pid
            p = self.menu(root, "1\n1\ny\nq\n")
        finally:
            reg.cleanup()
        self.assertEqual(p.returncode, 3, regtest.show_run(p))
        self.assertIn(f"pid {pid}: ", p.stderr)
        self.assertNotIn("choose a repository number", p.stdout)
        self.assertNotIn("delete these?", p.stdout)

    def test_tags_newest_first_wrong_answer_asked_again_and_the_note(self):
        """team/app's tags pushed sig, then v1, then latest (newest first): listed in that order, grouped by
        digest; 99 at the tag prompt is asked again there; the plan's note names no --no-referrers option
        of the menu"""
        root = self.copy()
        now = clock.now()
        sig = next(t for t in os.listdir(os.path.join(root, TAGS)) if t.startswith("sha256-"))
        for tag, age in ((sig, 3600), ("v1", 7200), ("latest", 3 * 3600)):
            link = os.path.join(root, TAGS, tag, "current", "link")
            os.utime(link, (now - age, now - age))
        n = self.repo_number(root, "team/app")
        p = self.menu(root, f"{n}\n99\n2\nn\nq\n")
        self.assertEqual(p.returncode, 0, regtest.show_run(p))
        listing = p.stdout[p.stdout.find("\nteam/app:\n"):]
        lines = listing.splitlines()
        header = next(i for i, line in enumerate(lines) if line.startswith("#  TAG"))
        rows = [line.split() for line in lines[header + 1:header + 4]]
        self.assertEqual([r[:2] for r in rows], [["1", sig], ["2", "v1"], ["3", "latest"]], listing[:1500])
        self.assertIn("not a selection: 99", p.stdout)
        self.assertIn("delete these?", p.stdout, "the tag prompt was not asked again")
        self.assertIn("team/app:v1", p.stdout)
        self.assertIn("nothing was changed", p.stdout)
        self.assertNotIn("(use --no-referrers for that)", p.stdout)
        self.assertIn("the menu always deletes them", p.stdout)
        self.assertEqual(p.stdout.count("choose a repository number"), 2, p.stdout)
        self.assertFalse(os.path.exists(os.path.join(root, ".regsweep")), "answering no wrote something")


if __name__ == "__main__":
    tap.main()
