//! Linker settings for the phone library alone (the cdylib; nothing else in the workspace).
//!
//! On Linux with glibc, relative relocations are packed (`DT_RELR`, glibc 2.36 and later): the library's
//! `.rela.dyn` was about 440 KB of its 6 MB aim (docs/BENCHMARKS.md). Android's linker reads `DT_RELR`
//! from API level 28; the Android build sets its own flags (android/README.md), so this is Linux only.

fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.ends_with("-linux-gnu") {
        println!("cargo::rustc-cdylib-link-arg=-Wl,-z,pack-relative-relocs");
    }
    println!("cargo::rerun-if-changed=build.rs");
}
