#!/bin/sh
# The regsweep image's entrypoint.
#
#   IMAGE serve [CONFIG]        the registry (Debian's docker-registry), as registry:2 runs it:
#                               CONFIG defaults to /etc/docker/registry/config.yml, and the
#                               registry reads REGISTRY_* environment overrides itself
#   IMAGE CONFIG.yml|.yaml      the same as `serve CONFIG` (registry:2 accepts this too)
#   IMAGE garbage-collect [-m] [--dry-run] [CONFIG]
#                               the registry's own garbage-collect (CONFIG as for serve)
#   IMAGE ARGS...               regsweep ARGS (its default root is /var/lib/registry)
#
# Every branch execs, so the process gets the container's signals (docker stop) directly.
set -e

CONFIG=/etc/docker/registry/config.yml

case "${1:-}" in
  serve)
    shift
    [ "$#" -gt 0 ] || set -- "$CONFIG"
    exec /usr/bin/docker-registry serve "$@"
    ;;
  *.yml | *.yaml)
    exec /usr/bin/docker-registry serve "$@"
    ;;
  garbage-collect)
    for last in "$@"; do :; done
    case "$last" in
      *.yml | *.yaml) ;;
      *) set -- "$@" "$CONFIG" ;;
    esac
    exec /usr/bin/docker-registry "$@"
    ;;
  *)
    exec /usr/bin/regsweep "$@"
    ;;
esac
