"""htpasswd: a password file for the registry's `auth.htpasswd` (bcrypt, as the registry
requires), written by the `htpasswd` program of apache2-utils.

    path = htpasswd.write(folder, {"alice": "secret"})
    extra_config = htpasswd.registry_auth(path)
"""
from __future__ import annotations

import os
import subprocess


def write(folder: str, users: dict) -> str:
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "htpasswd")
    lines = []
    for user, password in users.items():
        p = subprocess.run(["htpasswd", "-nbB", user, password], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, check=True)
        lines.append(p.stdout.strip())
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def registry_auth(path: str, realm: str = "regsweep-test") -> dict:
    """The registry's config section (extra_config) for basic auth from `path`."""
    return {"auth": {"htpasswd": {"realm": realm, "path": path}}}
