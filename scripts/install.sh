#!/usr/bin/env bash
# Installs `amnesia` so it runs from any folder: installs the Debian packages it needs
# (scripts/setup.sh), builds in release mode and copies the binary to PREFIX/bin (default
# /usr/local), with bash completion in PREFIX/share/bash-completion/completions.
# The binary carries its specs (`amnesia specs list`) and the commit it was built from
# (`amnesia --version`); zoos and reports go to ~/.local/share/amnesia (see `amnesia --help`).
# Usage: scripts/install.sh [PREFIX]
set -euo pipefail
prefix=${1:-/usr/local}
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product amnesia
binary=$(swift build -c release --show-bin-path)/amnesia

run=()
if ! mkdir -p "$prefix/bin" 2>/dev/null || [ ! -w "$prefix/bin" ]; then
    [ "$(id -u)" -eq 0 ] || run=(sudo)
fi
"${run[@]}" mkdir -p "$prefix/bin" "$prefix/share/bash-completion/completions"
"${run[@]}" install -m 755 "$binary" "$prefix/bin/amnesia"
completion=$(mktemp)
trap 'rm -f "$completion"' EXIT
"$binary" --generate-completion-script bash > "$completion"
"${run[@]}" install -m 644 "$completion" "$prefix/share/bash-completion/completions/amnesia"

echo "installed $("$prefix/bin/amnesia" --version | head -1) to $prefix/bin/amnesia"
case ":$PATH:" in
    *":$prefix/bin:"*) ;;
    *) echo "add $prefix/bin to PATH to run it as \`amnesia\`" ;;
esac
