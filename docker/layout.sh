#!/bin/sh
# Lays out the image's own files under OUT, from a compiled regsweep and this source tree:
# the Dockerfile's build stage calls it, and tests/image/build.sh --prebuilt for a host binary.
#
#   sh docker/layout.sh REGSWEEP_BINARY SOURCE_TREE OUT
set -eu
[ "$#" -eq 3 ] || { echo "usage: docker/layout.sh REGSWEEP_BINARY SOURCE_TREE OUT" >&2; exit 2; }
install -D -m 0755 "$1" "$3/usr/bin/regsweep"
strip "$3/usr/bin/regsweep"
install -D -m 0644 "$2/docker/config.yml" "$3/etc/docker/registry/config.yml"
install -D -m 0755 "$2/docker/entrypoint.sh" "$3/entrypoint.sh"
