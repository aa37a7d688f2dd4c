#!/usr/bin/env bash
# Build TimbangFFI.xcframework (static libtimbang_ffi for the device and both simulator
# architectures, with the generated C header and module map) and generate Sources/Timbang/Timbang.swift.
# Needs macOS with Xcode and the Rust targets (rustup target add aarch64-apple-ios aarch64-apple-ios-sim
# x86_64-apple-ios). Not runnable on the repository's Linux CI (see README.md).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/.."
cd "$root"
for t in aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios; do
    cargo build --release -p timbang-ffi --target "$t"
done
# The bindings (the API is the same on every target): Swift source and the FFI header + module map.
gen="$here/build/generated"
rm -rf "$gen" && mkdir -p "$gen/headers"
cargo build --release -p timbang-ffi
bindings/ffi/generate.sh "target/release/libtimbang_ffi.dylib" "$gen"
cp "$gen/swift/Timbang.swift" "$here/Sources/Timbang/Timbang.swift"
cp "$gen/swift/TimbangFFI.h" "$gen/headers/"
# SwiftPM wants the module map named module.modulemap inside the headers folder.
cp "$gen/swift/TimbangFFI.modulemap" "$gen/headers/module.modulemap"
# One fat library for the two simulator architectures.
mkdir -p target/ios-sim
lipo -create target/aarch64-apple-ios-sim/release/libtimbang_ffi.a \
    target/x86_64-apple-ios/release/libtimbang_ffi.a -output target/ios-sim/libtimbang_ffi.a
rm -rf "$here/build/TimbangFFI.xcframework"
xcodebuild -create-xcframework \
    -library target/aarch64-apple-ios/release/libtimbang_ffi.a -headers "$gen/headers" \
    -library target/ios-sim/libtimbang_ffi.a -headers "$gen/headers" \
    -output "$here/build/TimbangFFI.xcframework"
echo "$here/build/TimbangFFI.xcframework"
