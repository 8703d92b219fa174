#!/bin/sh
# Interleaved timing of regsweep vs the registry's garbage-collect and find.
# Usage: bench/run.sh [--preset 100k|wide|small] [--runs N] [--regsweep PATH]
#                     [--root DIR] [--timeout SECONDS] [--json]   (see --help)
exec python3 "$(dirname "$0")/run.py" "$@"
