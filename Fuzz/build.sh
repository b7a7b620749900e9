#!/usr/bin/env bash
# Builds the libFuzzer targets with AddressSanitizer into Fuzz/.build/: safetensors, PNG
# and IDX compile their parsers' sources directly; spec, manifest and ONNX drive whole
# modules (Yams, swift-protobuf and the package's own), which SwiftPM builds instrumented
# into a build folder of their own. Neither is a package product, so `swift build` never
# needs the fuzzer runtime. Usage: Fuzz/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=Fuzz/.build
mkdir -p "$out"
flags=(-O -parse-as-library -sanitize=fuzzer,address -g)

# The JPEG decoder's C shim (Formats reads JPEG through it), instrumented, with a module map
# naming its header for the Swift compiles below.
mkdir -p "$out/CJPEGDecoder"
clang -O1 -g -fsanitize=fuzzer-no-link,address -I Sources/CJPEGDecoder/include -c Sources/CJPEGDecoder/jpeg_decoder.c \
    -o "$out/jpeg_decoder.o"
printf 'module CJPEGDecoder {\n  header "%s"\n  export *\n}\n' "$PWD/Sources/CJPEGDecoder/include/jpeg_decoder.h" \
    > "$out/CJPEGDecoder/module.modulemap"

# Formats as a static module the targets import.
swiftc "${flags[@]}" -module-name Formats -emit-module -emit-module-path "$out/Formats.swiftmodule" \
    -emit-library -static -o "$out/libFormats.a" -I Sources/CPNG -I "$out/CJPEGDecoder" Sources/Formats/*.swift
link=(-I "$out" -I Sources/CPNG -I Sources/CZlib -I "$out/CJPEGDecoder" -L "$out" -lFormats "$out/jpeg_decoder.o"
      -lpng16 -ljpeg -lz)

swiftc "${flags[@]}" -module-name FuzzSafeTensors Fuzz/SafeTensors/main.swift "${link[@]}" -o "$out/fuzz-safetensors"
swiftc "${flags[@]}" -module-name FuzzPNG Fuzz/PNG/main.swift "${link[@]}" -o "$out/fuzz-png"
# The IDX reader is compiled into its target (the Datasets module's other files need Autodiff).
swiftc "${flags[@]}" -module-name FuzzIDX Fuzz/IDX/main.swift Sources/Datasets/IDX.swift Sources/Datasets/Errors.swift \
    "${link[@]}" -o "$out/fuzz-idx"

# The package's modules up to Distillation (and everything below it), instrumented.
spm="$out/spm"
swift build -c release --build-path "$spm" --target Distillation \
    -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address
mapfile -t objects < <(find "$spm/release/" -path '*.build/*.o' | sort)
modules=(-I "$spm/release/Modules" -I Sources/CBLAS -I Sources/CMalloc -I Sources/CPNG -I Sources/CZlib -I Sources/CJPEG
         -I "$spm/checkouts/Yams/Sources/CYaml/include")
for map in "$spm"/release/*.build/module.modulemap; do modules+=(-Xcc -fmodule-map-file="$map"); done
for target in Spec Manifest ONNX; do
    name=$(echo "$target" | tr '[:upper:]' '[:lower:]')
    swiftc "${flags[@]}" -module-name "Fuzz$target" "Fuzz/$target/main.swift" "${modules[@]}" "${objects[@]}" \
        -lopenblas -lpng16 -ljpeg -lz -o "$out/fuzz-$name" 2>&1 | { grep -v "Cannot export local symbol '__asan" || true; }
done
echo "built: $(ls "$out"/fuzz-* | tr '\n' ' ')"
