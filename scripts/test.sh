#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (release mode:
# the numerical kernels are too slow unoptimized for the end-to-end tests).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --build-tests
swift test -c release --skip-build "$@"
