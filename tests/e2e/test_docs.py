#!/usr/bin/env python3
"""The man page stays true to the binary: it renders without warnings, and every command and
every long option that `--help` lists appears in it. TAP output; REGSWEEP = the binary."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tap  # noqa: E402
import unittest  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MAN = os.path.join(HERE, "..", "..", "docs", "regsweep.1")
BIN = os.environ.get("REGSWEEP", "")


def helptext(*args):
    p = subprocess.run([BIN, *args, "--help"], capture_output=True, text=True, timeout=30)
    return p.stdout + p.stderr


def commands():
    # CLI11 lists subcommands under "Subcommands:" as indented names.
    text = helptext()
    part = text.split("Subcommands:", 1)[1] if "Subcommands:" in text else ""
    return sorted(set(re.findall(r"^\s+([a-z][a-z-]*)\s", part, re.M)))


def man_text():
    with open(MAN, encoding="utf-8") as f:
        return f.read().replace("\\-", "-")


class Docs(unittest.TestCase):
    def test_binary_given(self):
        """REGSWEEP names an executable"""
        self.assertTrue(BIN and os.access(BIN, os.X_OK), f"REGSWEEP={BIN!r}")

    def test_renders_without_warnings(self):
        """groff -ww -z -man docs/regsweep.1 prints nothing and exits 0"""
        p = subprocess.run(["groff", "-ww", "-z", "-man", MAN], capture_output=True, text=True)
        self.assertEqual((p.returncode, p.stderr), (0, ""))

    def test_every_command_in_man(self):
        """every command `regsweep --help` lists has a section in the man page"""
        cmds = commands()
        self.assertGreaterEqual(len(cmds), 7, cmds)
        man = man_text()
        missing = [c for c in cmds if not re.search(r'^\.SS "' + re.escape(c) + r"\b", man, re.M)]
        self.assertEqual(missing, [])

    def test_every_long_option_in_man(self):
        """every long option of the top level and of each command appears in the man page"""
        man = man_text()
        missing = []
        for args in [()] + [(c,) for c in commands()]:
            for opt in sorted(set(re.findall(r"--[a-z][a-z-]+", helptext(*args)))):
                if opt not in man:
                    missing.append(" ".join(args) + " " + opt)
        self.assertEqual(missing, [])

    def test_exit_codes_documented(self):
        """the exit codes 0..3 are in the man page's EXIT STATUS"""
        man = man_text()
        section = man.split(".SH EXIT STATUS", 1)[1].split(".SH", 1)[0]
        for code in "0123":
            self.assertIn(".B " + code, section)


if __name__ == "__main__":
    tap.main()
