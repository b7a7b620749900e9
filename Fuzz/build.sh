#!/usr/bin/env bash
# Builds the libFuzzer targets (safetensors, PNG, IDX) with AddressSanitizer into
# Fuzz/.build/, compiling the parsers' sources directly (not a package target, so
# `swift build` never needs the fuzzer runtime). Usage: Fuzz/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=Fuzz/.build
mkdir -p "$out"
flags=(-O -parse-as-library -sanitize=fuzzer,address -g)

# Formats as a static module the targets import.
swiftc "${flags[@]}" -module-name Formats -emit-module -emit-module-path "$out/Formats.swiftmodule" \
    -emit-library -static -o "$out/libFormats.a" -I Sources/CPNG Sources/Formats/*.swift
link=(-I "$out" -I Sources/CPNG -I Sources/CZlib -L "$out" -lFormats -lpng16 -lz)

swiftc "${flags[@]}" -module-name FuzzSafeTensors Fuzz/SafeTensors/main.swift "${link[@]}" -o "$out/fuzz-safetensors"
swiftc "${flags[@]}" -module-name FuzzPNG Fuzz/PNG/main.swift "${link[@]}" -o "$out/fuzz-png"
# The IDX reader is compiled into its target (the Datasets module's other files need Autodiff).
swiftc "${flags[@]}" -module-name FuzzIDX Fuzz/IDX/main.swift Sources/Datasets/IDX.swift Sources/Datasets/Errors.swift \
    "${link[@]}" -o "$out/fuzz-idx"
echo "built: $(ls "$out"/fuzz-* | tr '\n' ' ')"
