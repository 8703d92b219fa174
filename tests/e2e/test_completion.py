#!/usr/bin/env python3
"""The bash completion, sourced in a real bash with COMP_WORDS set: commands, options,
repository names and repo:tag references of a fixture; and its option lists match --help.
TAP output; REGSWEEP = the binary."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import clock  # noqa: E402
import tap  # noqa: E402

TOP = os.path.normpath(os.path.join(HERE, "..", ".."))
SCRIPT = os.path.join(TOP, "scripts", "completions", "regsweep.bash")
BIN = os.environ.get("REGSWEEP", "")
COMMANDS = ["ls", "report", "rm", "gc", "prune", "apply", "interactive"]


def complete(words, wordbreak_colon=True):
    """COMPREPLY for the command line `words` (the last one being completed)."""
    if wordbreak_colon:  # what bash itself does with the default COMP_WORDBREAKS
        split = []
        for w in words:
            parts = w.split(":")
            for k, part in enumerate(parts):
                if k:
                    split.append(":")
                if part or k == len(parts) - 1:
                    split.append(part)
        words = split
    quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    breaks = 'COMP_WORDBREAKS=" :"' if wordbreak_colon else 'COMP_WORDBREAKS=" "'
    script = (f'{breaks}; export PATH="{os.path.dirname(os.path.abspath(BIN))}:$PATH"; source "{SCRIPT}"; '
              f"COMP_WORDS=({quoted}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); COMPREPLY=(); _regsweep; "
              'printf "%s\\n" "${COMPREPLY[@]}"')
    p = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        raise AssertionError(p.stderr)
    return [line for line in p.stdout.splitlines() if line]


class Completion(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        base = "/dev/shm" if os.path.isdir("/dev/shm") else None
        cls.tmp = tempfile.mkdtemp(prefix="regsweep-completion-", dir=base)
        clock.unpack_fixture(os.path.join(TOP, "fixtures", "sample.tar.gz"), cls.tmp)
        with open(os.path.join(TOP, "fixtures", "sample.expected.json")) as f:
            import json
            cls.expected = json.load(f)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_commands(self):
        """an empty word after regsweep offers every command"""
        got = complete(["regsweep", ""])
        for c in COMMANDS:
            self.assertIn(c, got)

    def test_options_of_a_command(self):
        """gc --de offers --delete-untagged; prune --keep offers --keep and --keep-last"""
        self.assertEqual(complete(["regsweep", "gc", "--de"]), ["--delete-untagged"])
        self.assertEqual(sorted(complete(["regsweep", "prune", "--keep"])), ["--keep", "--keep-last"])

    def test_repository_names(self):
        """rm team offers the fixture's repositories starting with team (from the storage)"""
        want = sorted(r for r in self.expected["api"]["catalog"] if r.startswith("team"))
        self.assertEqual(sorted(complete(["regsweep", "--root", self.tmp, "rm", "team"])), want)

    def test_tags_after_colon(self):
        """ls team/app:v offers the tags of team/app starting with v, as bash splits at ':'"""
        names = list(self.expected["api"]["repositories"]["team/app"]["tags"])
        want = sorted(t for t in names if t.startswith("v"))
        self.assertTrue(want)
        self.assertEqual(sorted(complete(["regsweep", "--root", self.tmp, "ls", "team/app:v"])), want)
        # where ':' does not break words, the whole reference is the word to replace
        self.assertEqual(sorted(complete(["regsweep", "--root", self.tmp, "ls", "team/app:v"], wordbreak_colon=False)),
                         sorted("team/app:" + t for t in want))

    def test_zsh_script_parses(self):
        """zsh -n accepts the zsh completion"""
        if not shutil.which("zsh"):
            self.skipTest("zsh is not installed")
        p = subprocess.run(["zsh", "-n", os.path.join(TOP, "scripts", "completions", "_regsweep")], capture_output=True, text=True)
        self.assertEqual((p.returncode, p.stderr), (0, ""))

    def test_fish_offers_repositories(self):
        """fish, with the fish completion sourced, offers the fixture's team repositories after rm"""
        if not shutil.which("fish"):
            self.skipTest("fish is not installed")
        script = (f"set PATH {os.path.dirname(os.path.abspath(BIN))} $PATH; "
                  f"source {os.path.join(TOP, 'scripts', 'completions', 'regsweep.fish')}; "
                  f"complete -C 'regsweep --root {self.tmp} rm team'")
        p = subprocess.run(["fish", "-c", script], capture_output=True, text=True, timeout=30)
        got = sorted(line.split("\t")[0] for line in p.stdout.splitlines() if line)
        want = sorted(r for r in self.expected["api"]["catalog"] if r.startswith("team"))
        self.assertEqual(got, want, p.stderr)

    def test_option_lists_match_help(self):
        """every long option each command's --help lists is in that command's completion list"""
        with open(SCRIPT) as f:
            text = f.read()
        missing = []
        for c in COMMANDS:
            m = re.search(r'^_regsweep_opts_' + c + r'="([^"]*)"', text, re.M)
            offered = set((m.group(1) if m else "").split())
            help_text = subprocess.run([BIN, c, "--help"], capture_output=True, text=True).stdout
            top = subprocess.run([BIN, "--help"], capture_output=True, text=True).stdout
            for opt in set(re.findall(r"--[a-z][a-z-]+", help_text)) - set(re.findall(r"--[a-z][a-z-]+", top)):
                if opt not in offered:
                    missing.append(f"{c} {opt}")
        self.assertEqual(missing, [])


if __name__ == "__main__":
    if not (BIN and os.access(BIN, os.X_OK)):
        tap.bail_out(f"REGSWEEP={BIN!r} is not an executable")
    tap.main()
