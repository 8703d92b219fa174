#!/usr/bin/env bash
# Regenerates fixtures/ from the real registry; see fixtures/README.md.
set -euo pipefail
exec python3 "$(dirname "$0")/make-fixtures.py" "$@"
