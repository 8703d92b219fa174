"""registry_s3: the real registry (docker-registry 2.8.2, its s3-aws driver) on the test S3
server: a Registry whose storage is storage.s3.

    s3 = s3server.shared_server()
    with S3Registry(s3, s3.bucket, s3.fresh_prefix("push"), endpoint=proxy.endpoint) as reg:
        skopeo.push(layout, "v1", reg, "team/app", "v1"); reg.pull_all("team/app", "v1")
        reg.v2_keys("blobs/")                   # {key: (size, etag, last_modified)}
    reg.garbage_collect(dry_run=False, delete_untagged=True)   # on its config, in its env

s3_storage(): the storage.s3 section: bucket, region, regionendpoint (the server, or a proxy
in front of it), rootdirectory (/<prefix>; "" for the bucket root), the keys, v4auth, secure
false on http. Everything else is Registry's (process, API helpers, garbage_collect),
with root=None (no filesystem storage) and an environment built from nothing
(s3server.clean_env: the machine's AWS_CA_BUNDLE makes the S3 driver panic at start).
"""
from __future__ import annotations

from registry import Registry
from s3server import S3Server, clean_env
from yamlconf import deep_merge

V2 = "docker/registry/v2"


def s3_storage(server: S3Server, bucket: str, prefix: str, endpoint: str | None = None,
               redirect: bool = True) -> dict:
    """The registry's `storage` settings for the s3 driver (with no filesystem section).
    endpoint: where the registry sends its requests and its presigned redirects point (default:
    the server). redirect False: blobs are served through the registry, not redirected."""
    endpoint = endpoint or server.endpoint
    s3 = {
        "bucket": bucket,
        "region": server.region,
        "regionendpoint": endpoint,
        "accesskey": server.access_key,
        "secretkey": server.secret_key,
        "secure": not endpoint.startswith("http://"),
        "v4auth": True,
    }
    if prefix.strip("/"):
        s3["rootdirectory"] = "/" + prefix.strip("/")
    storage = {"s3": s3}
    if not redirect:
        storage["redirect"] = {"disable": True}
    return storage


class S3Registry(Registry):
    """`docker-registry serve` on storage.s3 in `bucket` under `prefix` (see s3_storage)."""

    def __init__(self, server: S3Server, bucket: str, prefix: str, endpoint: str | None = None,
                 redirect: bool = True, extra_config: dict | None = None, env: dict | None = None,
                 **kwargs):
        """kwargs: Registry's (port, readonly, start_timeout, uid)."""
        storage = s3_storage(server, bucket, prefix, endpoint, redirect)
        super().__init__(None, extra_config=deep_merge({"storage": storage}, extra_config),
                         **kwargs)
        self.server, self.bucket, self.prefix = server, bucket, prefix.strip("/")
        self.env = env if env is not None else clean_env(self.workdir)

    @property
    def v2_prefix(self) -> str:
        """The key prefix of the registry's tree: '<prefix>/docker/registry/v2/'."""
        return f"{self.prefix}/{V2}/" if self.prefix else f"{V2}/"

    def v2_keys(self, under: str = "") -> dict:
        """{key: (size, etag, last_modified)} below v2_prefix + under, read straight from the
        server (not through a proxy)."""
        return self.server.client.list_keys(self.bucket, self.v2_prefix + under)
