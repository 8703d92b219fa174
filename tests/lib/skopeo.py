"""skopeo: push() copies an image (or a whole index, all=True) from an OCI image layout
(images.make_oci_layout) into a running registry, as a real client pushes it.

The binary can be overridden with the environment: SKOPEO_BIN (default skopeo).
"""
from __future__ import annotations

import os
import subprocess

from registry import Registry, RegistryError


def skopeo_bin() -> str:
    return os.environ.get("SKOPEO_BIN", "skopeo")


def push(layout_dir: str, ref_in_layout: str, registry: Registry, repo: str, tag: str,
         all: bool = False, fmt: str | None = None, timeout: float = 120) -> str:
    """skopeo copy oci:<layout>:<ref> docker://<host>/<repo>:<tag>. Returns skopeo's output."""
    cmd = [skopeo_bin(), "--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false",
           "--dest-no-creds"]
    if all:
        cmd.append("--all")
    if fmt:
        cmd += ["--format", fmt]
    cmd += [f"oci:{layout_dir}:{ref_in_layout}", f"docker://{registry.host}/{repo}:{tag}"]
    env = dict(os.environ)
    for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(k, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout, env=env, start_new_session=True)
    out = p.stdout.decode("utf-8", "replace")
    if p.returncode != 0:
        raise RegistryError(f"{' '.join(cmd)} failed ({p.returncode}):\n{out}")
    return out
