//! Linker settings for the phone library alone (the cdylib; nothing else in the workspace).
//!
//! On x86_64 Linux with glibc (linked by LLD, rustc's default there): relative relocations are packed
//! (`DT_RELR`, glibc 2.36 and later; the library's `.rela.dyn` was about 440 KB of its 6 MB aim,
//! docs/BENCHMARKS.md), identical functions are folded into one (`--icf=all`: Rust promises no
//! distinct addresses for distinct functions), and `-O2` merges string tails. Android's linker reads
//! `DT_RELR` only from API level 28 and the NDK build cannot be tried here, so this is Linux only.

fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    if target == "x86_64-unknown-linux-gnu" {
        for arg in ["-Wl,-z,pack-relative-relocs", "-Wl,--icf=all", "-Wl,-O2"] {
            println!("cargo::rustc-cdylib-link-arg={arg}");
        }
    }
    println!("cargo::rerun-if-changed=build.rs");
}
