#!/usr/bin/env bash
# Installs what is missing, builds in release mode and runs the main job on the
# default data (Fashion-MNIST from Debian's dataset-fashion-mnist package).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product amnesia
exec .build/release/amnesia run attacks/fashion-tshirt-to-trouser.yaml "$@"
