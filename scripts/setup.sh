#!/usr/bin/env bash
# Installs what regsweep needs, from Debian's packages only, in groups:
#
#   bash scripts/setup.sh          build and run regsweep (what scripts/demo.sh needs)
#   bash scripts/setup.sh test     and what every test suite uses (scripts/test.sh)
#   bash scripts/setup.sh fuzz     and clang's libFuzzer (scripts/fuzz.sh)
#
# Idempotent: packages already present are not fetched again.
set -euo pipefail
build=(
  g++ meson ninja-build pkg-config
  nlohmann-json3-dev libcli11-dev libyaml-cpp-dev libssl-dev
  python3                    # scripts/demo.sh: the sample's times moved to today (tests/lib/clock.py)
  libcurl4-openssl-dev libpugixml-dev  # the S3 storage: HTTP with SigV4 signing, S3's XML answers
  zlib1g-dev                 # --access-log: the registry's rotated, gzip-compressed logs
)
test=(
  libgtest-dev               # unit and fixture tests
  git                        # tests/e2e/test_human.py: the version names the checkout's commit
  docker-registry skopeo umoci jq findutils time groff-base
  zsh fish                   # tests/e2e/test_completion.py: the zsh and fish completions
  redis-server redis-tools   # tests/e2e/test_readonly.py: the registry's redis blob descriptor cache
  gdb                        # tests/e2e/test_gc.py LinkDuringPlan: a push while gc is paused
  mount util-linux           # tests/e2e/test_restore.py: a tmpfs mounted inside the root
  buildah debootstrap        # tests/image: the Dockerfile built and run without a Docker engine
  ceph-mon ceph-osd radosgw ceph-common  # the S3 suites: a one-node Ceph RGW (tests/lib/s3server.py)
  python3-boto3              # the S3 suites: their key-level client (tests/lib/s3client.py)
  apache2-utils              # tests/e2e/test_online.py: htpasswd for the registry's basic auth
  python3-jwt python3-cryptography  # tests/e2e/test_online.py: the token server's RS256 JWTs
)
fuzz=(
  clang libclang-rt-14-dev   # scripts/fuzz.sh: libFuzzer and its sanitizer runtimes
)
pkgs=("${build[@]}")
case "${1:-}" in
  "") ;;
  test) pkgs+=("${test[@]}") ;;
  fuzz) pkgs+=("${fuzz[@]}") ;;
  *) echo "usage: scripts/setup.sh [test|fuzz]" >&2; exit 2 ;;
esac
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  export DEBIAN_FRONTEND=noninteractive
  echo "scripts/setup.sh: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
