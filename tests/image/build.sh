#!/usr/bin/env bash
# Builds the container image from the working tree with buildah, without a Docker engine.
#
#   bash tests/image/build.sh [--prebuilt REGSWEEP_BINARY] [TAG]     # default regsweep:test
#
# --prebuilt: the image's regsweep is that binary (laid out by docker/layout.sh into the
# context's docker/prebuilt/, built with --build-arg REGSWEEP_FROM=prebuilt) instead of one the
# Dockerfile's build stage compiles: the test suite passes the binary it has just compiled, so
# that CI compiles regsweep once. Without it, the Dockerfile is built exactly as a user builds it.
#
# 1. The base `docker.io/library/debian:bookworm`: when buildah's storage does not have it, it
#    is made once with `debootstrap --variant=minbase` from the Debian mirror this machine's apt
#    uses, straight into a scratch container, and committed under that name. Its apt sources
#    (deb822, like the official image's) point at the same mirrors.
# 2. `buildah bud --layers` of the Dockerfile (chroot isolation, vfs storage, --pull=never) on a
#    snapshot of the tree: unchanged steps come from the layer cache, and an image already built
#    from the same contents (a label records their digest) is not built again. Images of earlier
#    builds that this one did not use are removed, so the storage does not grow per run.
#
# Needs root, buildah and debootstrap (bash scripts/setup.sh installs them). Prints the steps'
# times on stderr and, last on stdout, "image TAG SIZE" (as `buildah images` shows it).
# BUILD_LOG=FILE keeps buildah's output (with seconds since each build's start) in FILE.
set -euo pipefail

PREBUILT=
if [ "${1:-}" = --prebuilt ]; then
  PREBUILT=$(realpath -e "${2:?--prebuilt needs a binary}") || exit 1
  shift 2
fi
TAG=${1:-regsweep:test}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BASE=docker.io/library/debian:bookworm
SUITE=bookworm
B=(buildah --storage-driver "${STORAGE_DRIVER:-vfs}")

say() { printf '[image-build] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

command -v buildah >/dev/null || die "buildah is not installed (bash scripts/setup.sh installs it)"
[ "$(id -u)" -eq 0 ] || die "run as root: buildah with chroot isolation and debootstrap need it"
# Fails here, with buildah's own message, when it cannot work at all on this machine.
"${B[@]}" images >/dev/null || die "buildah cannot use its storage (see its message above)"

# "URI SUITE" for every enabled `deb` source of this machine's apt (one-line and deb822 files).
apt_sources() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" { print $2, $3 }'
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && enabled !~ /^(no|false|0)$/)
          for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++) print u[i], s[j]
        types = ""; enabled = ""; nu = 0; ns = 0
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      {
        key = tolower($1); sub(/:$/, "", key)
        if (key == "types") { types = ""; for (i = 2; i <= NF; i++) types = types " " $i; sub(/^ /, "", types) }
        else if (key == "enabled") enabled = tolower($2)
        else if (key == "uris") { nu = 0; for (i = 2; i <= NF; i++) u[++nu] = $i }
        else if (key == "suites") { ns = 0; for (i = 2; i <= NF; i++) s[++ns] = $i }
      }
      END { flush() }' "$f"
  done
}

mirror_for() {  # the first URI apt uses for suite $1, or $2
  local uri
  uri=$(apt_sources | awk -v s="$1" '$2 == s && !found { print $1; found = 1 }')
  echo "${uri:-$2}"
}

make_base() {
  local t0 ctr mnt mirror security log
  t0=$(now)
  mirror=$(mirror_for "$SUITE" http://deb.debian.org/debian)
  security=$(mirror_for "$SUITE-security" http://deb.debian.org/debian-security)
  command -v debootstrap >/dev/null || die "debootstrap is not installed (bash scripts/setup.sh installs it)"
  say "making the base $BASE: debootstrap --variant=minbase $SUITE from $mirror"
  ctr=$("${B[@]}" from --pull=never --name "regsweep-base-$$" scratch)
  # shellcheck disable=SC2064
  trap "'${B[0]}' ${B[*]:1} rm '$ctr' >/dev/null 2>&1 || true" EXIT
  mnt=$("${B[@]}" mount "$ctr")
  log=$(mktemp)
  if ! debootstrap --variant=minbase "$SUITE" "$mnt" "$mirror" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    rm -f "$log"
    die "debootstrap $SUITE from $mirror failed"
  fi
  rm -f "$log"
  # apt sources as in the official image (deb822), on this machine's mirrors
  rm -f "$mnt/etc/apt/sources.list"
  cat >"$mnt/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  # what this machine's apt needs to reach its mirror (a snapshot's old Release files, a proxy)
  local conf="" v
  v=$(apt-config dump Acquire::Check-Valid-Until 2>/dev/null | awk '{ print $2 }' | tr -d '";')
  [ "$v" = "false" ] && conf+='Acquire::Check-Valid-Until "false";'$'\n'
  v=$(apt-config dump Acquire::http::Proxy 2>/dev/null | awk 'NR == 1 && $1 == "Acquire::http::Proxy" { print $2 }' | tr -d '";')
  [ -n "$v" ] && conf+="Acquire::http::Proxy \"$v\";"$'\n'
  [ -z "$conf" ] || printf '%s' "$conf" >"$mnt/etc/apt/apt.conf.d/90host-mirror"
  rm -rf "$mnt"/var/cache/apt/archives/*.deb "$mnt"/var/lib/apt/lists/* "$mnt"/var/log/bootstrap.log
  "${B[@]}" umount "$ctr" >/dev/null
  "${B[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd bash --created-by debootstrap "$ctr"
  "${B[@]}" commit --quiet --rm "$ctr" "$BASE" >/dev/null
  trap - EXIT
  say "base made in $(since "$t0")"
}

if "${B[@]}" inspect --type image "$BASE" >/dev/null 2>&1; then
  say "base $BASE is in buildah's storage"
else
  make_base
fi

# The context: a snapshot of the tree without what .dockerignore names, so that the build sees
# one state of the files even while the tree is being edited.
ctx=$(mktemp -d -t regsweep-image-context.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
excludes=()
while IFS= read -r p || [ -n "$p" ]; do
  p=${p%%#*}
  p=$(printf '%s' "$p" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//')
  case "$p" in
    '') ;;
    '**/'*) excludes+=("--exclude=${p#\*\*/}") ;;
    *) excludes+=("--exclude=./$p") ;;
  esac
done <"$SRC/.dockerignore"
tar -C "$SRC" "${excludes[@]}" -cf - . | tar -C "$ctx" -xf -
build_args=()
if [ -n "$PREBUILT" ]; then
  rm -rf "$ctx/docker/prebuilt"
  sh "$SRC/docker/layout.sh" "$PREBUILT" "$SRC" "$ctx/docker/prebuilt"
  build_args=(--build-arg REGSWEEP_FROM=prebuilt)
  say "regsweep in the image: $PREBUILT (--prebuilt; the Dockerfile's build stage is not built)"
fi

# What the image is made of: the base and the context's contents (not their times). An image
# already built from exactly that is not built again (with vfs, even a build that takes every
# step from the cache copies the build stage's whole tree: minutes on a busy machine). A second
# tag, REPO:context-<digest>, records it.
base_id=$("${B[@]}" inspect --type image --format '{{.FromImageID}}' "$BASE")
fingerprint=$({
  printf '%s\n' "$base_id"
  tar -C "$ctx" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - .
} | sha256sum | cut -c1-16)
repo=${TAG%:*}
done_tag="$repo:context-$fingerprint"
image_id() { "${B[@]}" inspect --type image --format '{{.FromImageID}}' "$1" 2>/dev/null || true; }
if [ -n "$(image_id "$TAG")" ] && [ "$(image_id "$TAG")" = "$(image_id "$done_tag")" ]; then
  say "$TAG is already built from this tree ($done_tag): not built again"
else
  buildlog=${BUILD_LOG:-$(mktemp -t regsweep-image-build.XXXXXX)}
  t0=$(now)
  say "building $TAG from $SRC"
  set +e
  "${B[@]}" bud --pull=never --isolation chroot --layers --force-rm --jobs 2 -f "$ctx/Dockerfile" \
    "${build_args[@]}" -t "$TAG" "$ctx" 2>&1 |
    awk -v t0="$(date +%s)" '{ printf "[%4ds] %s\n", systime() - t0, $0; fflush() }' >"$buildlog"
  rc=${PIPESTATUS[0]}
  set -e
  if [ "$rc" -ne 0 ]; then
    tail -n 60 "$buildlog" >&2
    die "buildah bud failed (exit $rc; whole log: $buildlog)"
  fi
  say "built $TAG in $(since "$t0")"
  for old in $("${B[@]}" images --format '{{.Name}}:{{.Tag}}' 2>/dev/null | grep -F "$repo:context-" || true); do
    "${B[@]}" rmi "$old" >/dev/null 2>&1 || true
  done
  "${B[@]}" tag "$TAG" "$done_tag"

  # Images of earlier builds that this one did not use (each is a full copy of its tree with
  # vfs): the untagged images no other image is built on, except those this build made or took
  # from the cache (the build stage's, for the next build). Removing one also removes the
  # parents it leaves without children, down to the layers this build shares.
  t0=$(now)
  used=$(sed -n 's/^\[ *[0-9]*s\] --> \(Using cache \)\{0,1\}\([0-9a-f]\{11,64\}\)$/\2/p' "$buildlog" | cut -c1-11 | sort -u)
  stale=()
  for id in $("${B[@]}" images --quiet --no-trunc --filter dangling=true 2>/dev/null | sed 's/^sha256://'); do
    grep -qx "${id:0:11}" <<<"$used" || stale+=("$id")
  done
  if [ "${#stale[@]}" -gt 0 ]; then
    "${B[@]}" rmi "${stale[@]}" >/dev/null 2>&1 || say "warning: could not remove some old images: ${stale[*]}"
  fi
  say "removed ${#stale[@]} old images (and their unshared parents) in $(since "$t0")"
  [ -n "${BUILD_LOG:-}" ] || rm -f "$buildlog"
fi

size=$("${B[@]}" images --format '{{.Size}}' --filter reference="$TAG" 2>/dev/null | awk 'NR == 1')
echo "image $TAG ${size:-unknown}"
