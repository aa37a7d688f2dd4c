#!/usr/bin/env bash
# The bindings' size and per-call cost (docs/BENCHMARKS.md): builds the release cdylib, prints its
# size stripped, generates the bindings and runs scripts/bench_ffi/bench.py and Bench.kt against it.
# Kotlin needs what .ci/run installs (JNA, kotlinc in build/kotlin).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
cargo build --release -p timbang-ffi
lib=target/release/libtimbang_ffi.so
out=build/bench-ffi
rm -rf "$out" && mkdir -p "$out"
strip -o "$out/libtimbang_ffi.stripped.so" "$lib"
echo "libtimbang_ffi.so: $(stat -c %s "$lib") bytes as built, $(stat -c %s "$out/libtimbang_ffi.stripped.so") stripped"
bindings/ffi/generate.sh "$lib" "$out" >/dev/null
PYTHONPATH="$out/python" python3 scripts/bench_ffi/bench.py
K=build/kotlin/node_modules/kotlin-compiler
CP=/usr/share/java/jna.jar:$K/lib/kotlin-stdlib.jar
"$K/bin/kotlinc" -nowarn -cp "$CP" "$out/kotlin/org/timbang/core/timbang.kt" scripts/bench_ffi/Bench.kt -d "$out/bench.jar"
java -Djna.library.path=target/release -cp "$out/bench.jar:$CP" BenchKt
