"""s3suite: what every S3 suite ends with (imported once boto3 is known to be there)."""
from __future__ import annotations

import unittest

import registry as rt
import s3proxy
import s3server


class NothingLeftRunning(unittest.TestCase):
    def test_nothing_left_running(self):
        """no registry or proxy is left running; the shared RGW is the only S3 server"""
        self.assertFalse(rt.registries_running())
        self.assertFalse(s3proxy._LIVE)
        self.assertLessEqual(len(s3server.s3_servers_running()), 1)
