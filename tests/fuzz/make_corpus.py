#!/usr/bin/env python3
"""Builds the seed corpora of the fuzz targets into OUT/<target>/ (git-ignored; scripts/fuzz.sh
puts it under build-fuzz/corpus): the committed hand seeds (tests/fuzz/seeds/<target>/) plus
what the fixture stores hold:
  link       every link file (tags' current/index links, revisions, layers; damaged ones too)
  manifest   every blob but the gzip layers (manifests, indexes, image configs, damaged ones)
  reference  repo:tag and repo@sha256:<hex> for every tag and revision, with and without a host
  duration   hand seeds only
Each input is stored under the sha1 of its bytes, as libFuzzer names its own."""
import hashlib
import pathlib
import shutil
import sys
import tarfile

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
TARGETS = ["link", "manifest", "reference", "duration"]


def put(out: pathlib.Path, target: str, data: bytes) -> None:
    d = out / target
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def from_fixture(out: pathlib.Path, archive: pathlib.Path) -> None:
    with tarfile.open(archive) as tar:
        for m in tar.getmembers():
            parts = m.name.split("/")
            if m.isfile() and parts[-1] == "link":
                put(out, "link", tar.extractfile(m).read())
            if m.isfile() and parts[-1] == "data" and "blobs" in parts:
                data = tar.extractfile(m).read()
                # Manifests, image configs and the damaged ones; not the gzip layers.
                if not data.startswith(b"\x1f\x8b") and len(data) <= 64 * 1024:
                    put(out, "manifest", data)
            if "repositories" in parts:
                rest = parts[parts.index("repositories") + 1:]
                for marker in ("_manifests",):
                    if marker not in rest:
                        continue
                    i = rest.index(marker)
                    repo, tail = "/".join(rest[:i]), rest[i + 1:]
                    refs = []
                    if len(tail) == 2 and tail[0] == "tags":
                        refs.append(f"{repo}:{tail[1]}")
                    if len(tail) == 4 and tail[0] == "revisions" and tail[1] == "sha256":
                        refs.append(f"{repo}@sha256:{tail[3]}")
                    for ref in refs:
                        put(out, "reference", ref.encode())
                        put(out, "reference", f"localhost:5000/{ref}".encode())


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: make_corpus.py OUT", file=sys.stderr)
        return 2
    out = pathlib.Path(sys.argv[1])
    for t in TARGETS:
        (out / t).mkdir(parents=True, exist_ok=True)
        for seed in sorted((HERE / "seeds" / t).iterdir()):
            put(out, t, seed.read_bytes())
    for archive in sorted((ROOT / "fixtures").glob("*.tar.gz")):
        from_fixture(out, archive)
    for t in TARGETS:
        print(f"{t}: {sum(1 for _ in (out / t).iterdir())} seeds in {out / t}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
