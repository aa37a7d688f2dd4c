//! The generated bindings, driven from another language: builds the cdylib and `uniffi-bindgen`
//! (`cargo build`, a no-op when they are fresh), generates the Python and Kotlin bindings with
//! `generate.sh`, then runs the Python story (`tests/python/`), the Kotlin/JUnit story
//! (`tests/kotlin/`) and the JVM half of the Android library (`android/timbang/src/test/`) against
//! real SQLite files, and checks the Swift side's C header with gcc.
//!
//! What they need beyond Rust: `python3`; for Kotlin a JDK, JNA and JUnit 4 (Debian `libjna-java`,
//! `junit4`) and `kotlinc` (npm `kotlin-compiler`, installed by `.ci/run` into `build/kotlin`; or
//! `KOTLINC`). When one is missing the test fails under `CI=true` and otherwise passes saying what it
//! skipped, so a Rust-only machine can still run `cargo test --workspace`. The Python relay sync
//! needs OpenStack Swift (`scripts/s3_swift.sh`, as the core's relay tests); without it only its
//! Swift-free half runs (the typed errors), unless `CI=true` or `TIMBANG_REQUIRE_EXTERNAL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "../../../core/tests/relay_common/mod.rs"]
mod relay_common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `target/<profile>`, where this test binary lives (`.../deps/bindings-*`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

/// Either skip (a developer's machine without the tool) or fail (CI).
fn missing(what: &str) {
    let msg = format!("{what}: not found; skipping the bindings test that needs it");
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{msg} (CI=true: .ci/run installs it)");
    }
    eprintln!("SKIPPED: {msg}");
}

/// The generated bindings (built once per test run): `OUT/python` (with the library), `OUT/kotlin`.
fn generated() -> &'static Path {
    static OUT: OnceLock<PathBuf> = OnceLock::new();
    OUT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let profile = profile_dir();
        let mut build = Command::new(cargo);
        build
            .current_dir(root())
            .args(["build", "-p", "timbang-ffi", "-p", "uniffi-bindgen"]);
        if profile.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        let status = build.status().unwrap();
        assert!(status.success(), "cargo build of the library failed");
        let out = profile.join("bindings-test");
        let _ = std::fs::remove_dir_all(&out);
        let status = Command::new(root().join("bindings/ffi/generate.sh"))
            .arg(profile.join(format!(
                "{}timbang_ffi{}",
                std::env::consts::DLL_PREFIX,
                std::env::consts::DLL_SUFFIX
            )))
            .arg(&out)
            .env("UNIFFI_BINDGEN", profile.join("uniffi-bindgen"))
            .status()
            .unwrap();
        assert!(status.success(), "generate.sh failed");
        out
    })
}

fn found(cmd: &str, arg: &str) -> bool {
    Command::new(cmd)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn python_story() {
    if !found("python3", "--version") {
        return missing("python3");
    }
    let out = generated();
    // The SATUSEHAT test double for `test_asik.py` (an HTTP client written in Python).
    let server = asik_server::start().unwrap();
    let mut python = Command::new("python3");
    // The object store for `test_relay.py`'s sync (its error tests need none): a fresh bucket.
    match relay_common::swift() {
        Some(swift) => {
            let bucket = swift.new_bucket();
            python
                .env("RELAY_URL", &swift.url)
                .env("RELAY_BUCKET", &bucket.bucket)
                .env("RELAY_ACCESS_KEY", &swift.access_key)
                .env("RELAY_SECRET", &swift.secret);
        }
        None => {
            assert!(
                std::env::var_os("TIMBANG_REQUIRE_EXTERNAL").is_none(),
                "OpenStack Swift is required for the Python relay sync (TIMBANG_REQUIRE_EXTERNAL is set)"
            );
            eprintln!("SKIPPED: the Python relay sync through Swift (its error tests still run)");
        }
    }
    let status = python
        .args([
            "-m",
            "unittest",
            "-v",
            "test_story",
            "test_asik",
            "test_reports",
            "test_relay",
        ])
        .current_dir(root().join("bindings/ffi/tests/python"))
        .env("PYTHONPATH", out.join("python"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("ASIK_BASE_URL", server.base_url())
        .env("ASIK_AUTH_URL", server.auth_url())
        .env("ASIK_CLIENT_ID", asik_server::CLIENT_ID)
        .env("ASIK_CLIENT_SECRET", asik_server::CLIENT_SECRET)
        .env("ASIK_ORG_ID", asik_server::ORG_ID)
        .status()
        .unwrap();
    assert!(status.success(), "the Python tests failed (output above)");
    // What the server holds, seen from its side: the three visits of test_asik.py, once each.
    assert_eq!(
        server.resources("Encounter").len(),
        3,
        "one Encounter per visit"
    );
    assert!(server.resources("Observation").len() >= 6);
}

/// `kotlinc`: `KOTLINC`, else the npm package `.ci/run` installs into `build/kotlin`.
fn kotlin_home() -> Option<PathBuf> {
    if let Ok(k) = std::env::var("KOTLINC") {
        return Path::new(&k)
            .parent()
            .and_then(Path::parent)
            .map(Path::to_path_buf);
    }
    let home = root().join("build/kotlin/node_modules/kotlin-compiler");
    home.join("bin/kotlinc").exists().then_some(home)
}

#[test]
fn kotlin_story_and_android_library_on_the_jvm() {
    let Some(k) = kotlin_home() else {
        return missing("kotlinc (npm kotlin-compiler in build/kotlin)");
    };
    let jars = [
        "/usr/share/java/jna.jar",
        "/usr/share/java/junit4.jar",
        "/usr/share/java/hamcrest-core.jar",
    ];
    if let Some(j) = jars.iter().find(|j| !Path::new(j).exists()) {
        return missing(j);
    }
    if !found("java", "-version") {
        return missing("java");
    }
    let out = generated();
    let lib = |name: &str| k.join("lib").join(name).display().to_string();
    let mut cp: Vec<String> = jars.iter().map(|j| j.to_string()).collect();
    cp.push(lib("kotlinx-coroutines-core-jvm.jar"));
    cp.push(lib("kotlin-test.jar"));
    cp.push(lib("kotlin-test-junit.jar"));
    let cp = cp.join(":");
    let jar = out.join("story.jar");
    let generated_kt = out.join("kotlin/org/timbang/core/timbang.kt");
    // With the Android library's JVM half (everything but `platform/`, which needs the SDK) and its
    // tests, compiled in the same run.
    let android = root().join("android/timbang/src");
    let kt_in = |dir: PathBuf| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "kt"))
            .collect();
        v.sort();
        v
    };
    let status = Command::new(k.join("bin/kotlinc"))
        .args(["-nowarn", "-cp", &cp])
        .arg(&generated_kt)
        .arg(root().join("bindings/ffi/tests/kotlin/StoryTest.kt"))
        .arg(root().join("bindings/ffi/tests/kotlin/AsikTest.kt"))
        .args(kt_in(android.join("main/kotlin/org/timbang/android")))
        .args(kt_in(android.join("test/kotlin/org/timbang/android")))
        .arg("-d")
        .arg(&jar)
        .status()
        .unwrap();
    assert!(status.success(), "kotlinc failed");
    // The SATUSEHAT test double for `AsikTest.kt` and the sync job of `ClientTest.kt` (an HTTP client
    // written in Kotlin).
    let server = asik_server::start().unwrap();
    let status = Command::new("java")
        .env("ASIK_BASE_URL", server.base_url())
        .env("ASIK_AUTH_URL", server.auth_url())
        .env("ASIK_CLIENT_ID", asik_server::CLIENT_ID)
        .env("ASIK_CLIENT_SECRET", asik_server::CLIENT_SECRET)
        .env("ASIK_ORG_ID", asik_server::ORG_ID)
        .arg(format!("-Djna.library.path={}", profile_dir().display()))
        .arg("-cp")
        .arg(format!(
            "{}:{cp}:{}",
            jar.display(),
            lib("kotlin-stdlib.jar")
        ))
        .args([
            "org.junit.runner.JUnitCore",
            "org.timbang.core.StoryTest",
            "org.timbang.core.AsikTest",
            "org.timbang.android.ClientTest",
        ])
        .status()
        .unwrap();
    assert!(status.success(), "the Kotlin tests failed (output above)");
    // Seen from the server: AsikTest's four visits and the sync job's one, once each.
    assert_eq!(
        server.resources("Encounter").len(),
        5,
        "one Encounter per visit"
    );
}

/// The Swift side as far as this machine can check it (no Swift compiler here): the generated C header
/// compiles with gcc, and a C program linked against the library makes the same load-time checks the
/// generated Swift makes (the contract version and every function's checksum, taken from
/// `Timbang.swift` itself), so header, Swift and library agree.
#[test]
fn swift_header_compiles_and_its_checks_pass_in_c() {
    if !found("gcc", "--version") {
        return missing("gcc");
    }
    let out = generated();
    let swift = std::fs::read_to_string(out.join("swift/Timbang.swift")).unwrap();
    let mut checks = Vec::new();
    for line in swift.lines() {
        let line = line.trim();
        if let Some(v) = line.strip_prefix("let bindings_contract_version = ") {
            checks.push(format!("ffi_timbang_ffi_uniffi_contract_version() != {v}"));
        } else if let Some(rest) = line.strip_prefix("if (uniffi_timbang_ffi_checksum_") {
            checks.push(format!(
                "uniffi_timbang_ffi_checksum_{}",
                rest.trim_end_matches('{').trim().trim_end_matches(')')
            ));
        }
    }
    assert!(
        checks.len() > 20,
        "the checks were not found in Timbang.swift"
    );
    let mut c = String::from(
        "#include <stdio.h>\n#include \"TimbangFFI.h\"\nint main(void) {\n int bad = 0;\n",
    );
    for check in &checks {
        c.push_str(&format!(
            " if ({check}) {{ printf(\"mismatch: %s\\n\", \"{check}\"); bad++; }}\n"
        ));
    }
    c.push_str(" return bad;\n}\n");
    let src = out.join("swift/check.c");
    std::fs::write(&src, c).unwrap();
    let exe = out.join("swift/check");
    let profile = profile_dir();
    let status = Command::new("gcc")
        .args([
            "-std=c11",
            "-Wall",
            "-Werror",
            "-D_Nonnull=",
            "-D_Nullable=",
        ])
        .arg(format!("-I{}", out.join("swift").display()))
        .arg(&src)
        .arg(format!("-L{}", profile.display()))
        .args(["-ltimbang_ffi", "-o"])
        .arg(&exe)
        .status()
        .unwrap();
    assert!(status.success(), "the generated header did not compile");
    let run = Command::new(&exe)
        .env("LD_LIBRARY_PATH", &profile)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stdout)
    );
}
