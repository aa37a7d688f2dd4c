#!/usr/bin/env bash
# Generate the Kotlin, Swift and Python bindings from the built library.
#   bindings/ffi/generate.sh [LIB] [OUT]
# LIB: the built cdylib (default target/debug/libtimbang_ffi.so; `cargo build -p timbang-ffi` first,
# or --release for the apps). OUT: where to write (default build/bindings): OUT/kotlin, OUT/swift,
# OUT/python (with the library copied beside timbang.py, which loads it from its own folder).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
lib="${1:-$root/target/debug/libtimbang_ffi.so}"
out="${2:-$root/build/bindings}"
bindgen="${UNIFFI_BINDGEN:-}"
if [ -z "$bindgen" ]; then
    cargo build --quiet --manifest-path "$root/Cargo.toml" -p uniffi-bindgen
    bindgen="$root/target/debug/uniffi-bindgen"
fi
for lang in kotlin swift python; do
    mkdir -p "$out/$lang"
    "$bindgen" generate "$lib" --language "$lang" --out-dir "$out/$lang" --no-format
done
cp "$lib" "$out/python/"
echo "$out"
