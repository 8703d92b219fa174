"""regtest: the one import of the e2e suites (`import regtest as rt`): the names of the modules
below, re-exported. Each idea is defined once, in the module that says what it is:

- oci.py: media types, digests (sha256_digest, DIGEST_RE), platform_string
- storage.py: the registry's storage as files: where things are below a root (V2, tag_dir,
  revision_link, blob_data_path, ...) and what is there (blobs_on_disk, tags_on_disk, ...)
- yamlconf.py: the registry's config.yml (registry_config, write_config, to_yaml)
- httpclient.py: loopback HTTP (http, Response, next_link)
- registry.py: the real registry run and driven (Registry, RegistryError, garbage_collect,
  pull_every_tag, served_tags, api_delete_refs; every registry stopped at exit)
- images.py: deterministic images, indexes, artifacts, signatures; OCI image layouts
- skopeo.py: push an image from an OCI layout into a registry
- trees.py: snapshots and diffs of folders, copy/pack/unpack, Workspace (a suite's base tree
  and its copies)
- cli.py: running regsweep ($REGSWEEP) and reading what it records
- cases.py: RegsweepCase, the base of the suites' test classes (assertExit, assertSameTree)

Binaries can be overridden with the environment: REGISTRY_BIN (default docker-registry) and
SKOPEO_BIN (default skopeo). Standard library only.
"""
from __future__ import annotations

from cases import RegsweepCase
from cli import (CRASH_ENV, json_of, read_audit, require_binary, require_root, require_tools, run_regsweep,
                 show_run, trash_runs, use_private_copy)
from httpclient import Response, http, next_link
from images import (EMPTY_CONFIG, FIXED_MTIME, Blob, Layer, Manifest, artifact, canonical_json,
                    cosign_signature, cosign_tag, image, index, layer, make_oci_layout,
                    ordered_json, tar_bytes)
from oci import (ACCEPT_ALL, COSIGN_SIMPLESIGNING, DIGEST_RE, DOCKER_CONFIG, DOCKER_LAYER_GZIP,
                 DOCKER_LIST, DOCKER_MANIFEST, INDEX_TYPES, MANIFEST_TYPES, OCI_CONFIG, OCI_EMPTY,
                 OCI_INDEX, OCI_LAYER_GZIP, OCI_LAYER_TAR, OCI_MANIFEST, SCHEMA1, SCHEMA1_SIGNED,
                 platform_string, sha256_digest)
from registry import (_LIVE, GCResult, Registry, RegistryError, _die_with_parent, api_delete_refs,
                      free_port, garbage_collect, pull_every_tag, registries_running, registry_bin,
                      serve, served_tags, serves, stop_all_registries)
from skopeo import push, skopeo_bin
from storage import (REPOS_DIR, V2, blob_data, blob_data_path, blob_dir, blobs_on_disk, dangling_tags, hexof,
                     layer_dir, layer_link, repo_dir, repositories_on_disk, revision_dir,
                     revision_link, revisions_on_disk, set_blob_mtimes, tag_dir, tag_link,
                     tags_on_disk, uploads_on_disk)
from trees import (Workspace, copy_tree, diff_snapshots, diff_text, format_diff, pack_tree,
                   tree_snapshot, tree_snapshot_excluding, tree_snapshot_ignoring_lock,
                   tree_snapshot_with_mtimes, unpack_tree)
from yamlconf import deep_merge, registry_config, to_yaml, write_config
