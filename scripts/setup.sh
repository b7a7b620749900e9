#!/usr/bin/env bash
# Installs what Amnesia needs from Debian's packages, skipping what is already there.
# Runs as root (no sudo needed) or with sudo available.
set -euo pipefail

packages=(libopenblas-dev libpng-dev zlib1g-dev libjpeg62-turbo-dev pkg-config dataset-fashion-mnist)
missing=()
for pkg in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    run=()
    [ "$(id -u)" -eq 0 ] || run=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${run[@]}" apt-get update -qq
    "${run[@]}" apt-get install -y -qq "${missing[@]}"
else
    echo "setup: all packages present (${packages[*]})"
fi

if ! command -v swift >/dev/null 2>&1; then
    echo "setup: 'swift' is not on PATH; install Swift 6 (https://swift.org) and retry" >&2
    exit 1
fi
