#!/usr/bin/env bash
# Build and install under a lock, so several people (or agents) working in one
# tree never interleave two builds or replace the library mid-install.
set -euo pipefail
cd "$(dirname "$0")/.."
exec flock /tmp/insight_keys.build.lock make -j2 install "$@"
