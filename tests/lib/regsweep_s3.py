"""regsweep_s3: regsweep ($REGSWEEP) run on a registry's storage in the test S3 server.

    root = S3Root(s3, s3.bucket, prefix)                  # or endpoint=proxy.endpoint
    p = root.run("gc", "-y", "--registry-stopped")        # --root s3://bucket/prefix --s3-endpoint ...
    root.keys()                                           # s3keys.snapshot of the prefix
    root.other(prefix2) / root.through(proxy.endpoint)    # the same server, another prefix / endpoint

Every run gets an environment built from nothing (s3server.clean_env: no AWS_CA_BUNDLE, no
proxy, no AWS_* of ours) with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY given explicitly (the
server's, or those of the S3Root), and REGSWEEP_TEST_CLOCK_OFFSET passed on when it is set.
"""
from __future__ import annotations

import os
import shutil
import tempfile

import lifetime
import s3keys
from cli import run_regsweep
from registry_s3 import S3Registry
from s3server import S3Server, clean_env

CLOCK_ENV = "REGSWEEP_TEST_CLOCK_OFFSET"
_HOME: list = []


def _home() -> str:
    """One HOME (and TMPDIR) for every regsweep run of this process, removed at exit."""
    if not _HOME:
        _HOME.append(tempfile.mkdtemp(prefix="regtest-s3-home-"))
        lifetime.on_exit(lambda: shutil.rmtree(_HOME[0], ignore_errors=True))
    return _HOME[0]


class S3Root:
    """One prefix of a bucket on the test server, as regsweep's --root s3://BUCKET/PREFIX."""

    def __init__(self, server: S3Server, bucket: str, prefix: str, endpoint: str | None = None,
                 access_key: str | None = None, secret_key: str | None = None, log=None,
                 timeout: float = 60):
        self.server, self.bucket, self.prefix = server, bucket, prefix.strip("/")
        self.endpoint = endpoint or server.endpoint
        self.access_key = access_key if access_key is not None else server.access_key
        self.secret_key = secret_key if secret_key is not None else server.secret_key
        self.log, self.timeout = log, timeout

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def other(self, prefix: str) -> "S3Root":
        """The same bucket, endpoint and keys, another prefix."""
        return S3Root(self.server, self.bucket, prefix, self.endpoint, self.access_key, self.secret_key,
                      self.log, self.timeout)

    def through(self, endpoint: str, **kw) -> "S3Root":
        """The same prefix through another endpoint (a proxy), or with other keys (kw)."""
        args = dict(endpoint=endpoint, access_key=self.access_key, secret_key=self.secret_key, log=self.log,
                    timeout=self.timeout)
        args.update(kw)
        return S3Root(self.server, self.bucket, self.prefix, **args)

    def env(self) -> dict:
        extra = {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}
        if os.environ.get(CLOCK_ENV):
            extra[CLOCK_ENV] = os.environ[CLOCK_ENV]
        return clean_env(_home(), **extra)

    def run(self, *args: str, env: dict | None = None, timeout: float | None = None):
        """`$REGSWEEP --root s3://BUCKET/PREFIX --s3-endpoint ENDPOINT ARGS...` (cli.run_regsweep:
        no terminal, text output); env: added to the clean environment (the crash hook)."""
        return run_regsweep(self.url, "--s3-endpoint", self.endpoint, *args, env=env,
                            timeout=timeout or self.timeout, log=self.log, base_env=self.env())

    def keys(self, under: str = "", exclude=(s3keys.STATE,)) -> dict:
        """s3keys.snapshot of this prefix (read straight from the server)."""
        return s3keys.snapshot(self.server.client, self.bucket, self.prefix, under, exclude)

    def copy_to(self, prefix: str) -> "S3Root":
        """Every key of this prefix copied below `prefix`; returns that prefix's S3Root."""
        s3keys.copy_prefix(self.server.client, self.bucket, self.prefix, prefix)
        return self.other(prefix)

    def registry(self, **kwargs) -> S3Registry:
        """The real registry on this prefix (straight to the server); kwargs: S3Registry's."""
        return S3Registry(self.server, self.bucket, self.prefix, **kwargs)
