"""s3client: a small key-level S3 client for the tests (boto3), what a test needs to set up and
inspect a bucket: list_keys, get, head, put, copy, delete, create_bucket.

    c = S3Client(endpoint, access_key, secret_key)
    c.put("b", "p/k", b"x"); c.list_keys("b", "p/") == {"p/k": (1, "9dd4...", datetime)}

Its configuration is explicit and owes nothing to the environment: the endpoint, the keys and
the region are given; path-style addressing; no proxy; no CA bundle (verify off; the test
servers speak plain HTTP); no config or credentials file (AWS_CONFIG_FILE, ~/.aws); no retries
(a fault injected by s3proxy.py is seen, not retried away); checksums only where S3 requires
them (botocore 1.36 and later add CRC32 trailers by default, which RGW 16 does not take).
ETags are given without their quotes, times as UTC datetimes.

Needs boto3 (Debian's python3-boto3: scripts/setup.sh test).
"""
from __future__ import annotations

import os
from datetime import timezone

import boto3
import botocore.config
import botocore.session

DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys


def _unquote(etag: str | None) -> str:
    return (etag or "").strip('"')


class S3Client:
    def __init__(self, endpoint: str, access_key: str, secret_key: str, region: str = "us-east-1",
                 timeout: float = 30, attempts: int = 1):
        self.endpoint = endpoint
        core = botocore.session.Session()
        # the environment's AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE / AWS_CA_BUNDLE /
        # AWS_PROFILE / AWS_DEFAULT_REGION are not read
        for name, value in (("config_file", os.devnull), ("credentials_file", os.devnull),
                            ("ca_bundle", None), ("profile", None), ("region", region)):
            core.set_config_variable(name, value)
        options = dict(
            region_name=region, signature_version="s3v4", s3={"addressing_style": "path"},
            proxies={}, connect_timeout=timeout, read_timeout=timeout,
            retries={"total_max_attempts": attempts, "mode": "standard"})
        if "request_checksum_calculation" in botocore.config.Config.OPTION_DEFAULTS:
            options.update(request_checksum_calculation="when_required",
                           response_checksum_validation="when_required")
        session = boto3.session.Session(botocore_session=core)
        self.s3 = session.client(
            "s3", endpoint_url=endpoint, aws_access_key_id=access_key,
            aws_secret_access_key=secret_key, region_name=region, verify=False,
            config=botocore.config.Config(**options))

    def create_bucket(self, bucket: str) -> str:
        self.s3.create_bucket(Bucket=bucket)
        return bucket

    def list_keys(self, bucket: str, prefix: str = "") -> dict:
        """{key: (size, etag, last_modified)} of every key under prefix (ListObjectsV2, all pages)."""
        out = {}
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for o in page.get("Contents") or []:
                out[o["Key"]] = (o["Size"], _unquote(o.get("ETag")),
                                 o["LastModified"].astimezone(timezone.utc))
        return out

    def get(self, bucket: str, key: str) -> bytes:
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    def head(self, bucket: str, key: str) -> dict | None:
        """HeadObject's answer, or None when the key does not exist."""
        try:
            return self.s3.head_object(Bucket=bucket, Key=key)
        except self.s3.exceptions.ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def put(self, bucket: str, key: str, data: bytes, **kwargs) -> str:
        """PutObject (kwargs: boto3's, e.g. ContentType); returns the ETag."""
        return _unquote(self.s3.put_object(Bucket=bucket, Key=key, Body=data, **kwargs).get("ETag"))

    def copy(self, bucket: str, source: str, dest: str) -> None:
        self.s3.copy_object(Bucket=bucket, Key=dest, CopySource={"Bucket": bucket, "Key": source})

    def delete(self, bucket: str, keys) -> dict:
        """DeleteObjects in batches of 1000; returns {key: error code} for the keys S3 reported
        as not deleted ({} = all deleted; a missing key counts as deleted, as on AWS)."""
        keys = list(keys)
        failed = {}
        for i in range(0, len(keys), DELETE_BATCH):
            batch = keys[i:i + DELETE_BATCH]
            r = self.s3.delete_objects(Bucket=bucket, Delete={
                "Objects": [{"Key": k} for k in batch], "Quiet": True})
            for e in r.get("Errors") or []:
                failed[e["Key"]] = e.get("Code", "")
        return failed
