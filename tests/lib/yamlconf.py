"""yamlconf: the registry's config.yml: registry_config() (the settings every test registry
runs with, plus what a test adds or removes), write_config(), and the small YAML writer under
them (to_yaml(), deep_merge()). Standard library only.
"""
from __future__ import annotations

import json
import os


def _yaml_scalar(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(str(v))  # a JSON string is a valid YAML double-quoted scalar


def to_yaml(obj, indent: int = 0) -> str:
    """Block-style YAML for nested dicts/lists of scalars (enough for a registry config)."""
    pad = "  " * indent
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, (dict, list)) and v:
                out.append(f"{pad}{k}:\n{to_yaml(v, indent + 1)}")
            elif isinstance(v, dict):
                out.append(f"{pad}{k}: {{}}\n")
            elif isinstance(v, list):
                out.append(f"{pad}{k}: []\n")
            else:
                out.append(f"{pad}{k}: {_yaml_scalar(v)}\n")
    elif isinstance(obj, list):
        for v in obj:
            if isinstance(v, (dict, list)):
                body = to_yaml(v, indent + 1).lstrip()
                out.append(f"{pad}- {body}")
            else:
                out.append(f"{pad}- {_yaml_scalar(v)}\n")
    return "".join(out)


def deep_merge(base: dict, extra: dict | None) -> dict:
    out = dict(base)
    for k, v in (extra or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def registry_config(root: str | None, port: int, readonly: bool = False, extra: dict | None = None) -> dict:
    """root None: no filesystem storage (extra gives the driver, e.g. {"storage": {"s3": ...}})."""
    cfg = {
        "version": "0.1",
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {
            **({"filesystem": {"rootdirectory": os.path.abspath(root)}} if root is not None else {}),
            "delete": {"enabled": True},
            "cache": {"blobdescriptor": "inmemory"},
            "maintenance": {
                # never let the purger touch the tree behind a test's back
                "uploadpurging": {"enabled": False},
                "readonly": {"enabled": bool(readonly)},
            },
        },
        "http": {"addr": f"127.0.0.1:{port}", "headers": {"X-Content-Type-Options": ["nosniff"]}},
    }
    cfg = deep_merge(cfg, extra)
    # extra may remove a setting by giving None (e.g. {"storage": {"cache": None}}: no cache)
    for section in (cfg, *[v for v in cfg.values() if isinstance(v, dict)]):
        for k in [k for k, v in section.items() if v is None]:
            del section[k]
    return cfg


def write_config(path: str, root: str | None, port: int = 5000, readonly: bool = False,
                 extra: dict | None = None) -> str:
    with open(path, "w") as f:
        f.write(to_yaml(registry_config(root, port, readonly, extra)))
    return path
