#!/usr/bin/env bash
# Installs what regsweep needs to build and test, from Debian's packages only.
# Idempotent: packages already present are not fetched again.
set -euo pipefail
pkgs=(
  g++ meson ninja-build pkg-config
  nlohmann-json3-dev libcli11-dev libyaml-cpp-dev libssl-dev libfmt-dev libgtest-dev
  docker-registry skopeo umoci jq python3 findutils time groff-base zsh fish
  redis-server redis-tools   # tests/e2e/test_readonly.py: the registry's redis blob descriptor cache
  buildah debootstrap
  clang libclang-rt-14-dev   # scripts/fuzz.sh: libFuzzer and its sanitizer runtimes
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
