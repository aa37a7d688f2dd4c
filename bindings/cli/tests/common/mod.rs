//! What the CLI test files share.
#![allow(dead_code)]

/// `init` of the first phone of posyandu Melati.
pub const INIT: &[&str] = &[
    "init",
    "--posyandu",
    "Melati",
    "--village",
    "Sukamaju",
    "--device",
    "hp-1",
];

/// The date the CLI tests run on (`TIMBANG_TODAY`).
pub const TODAY: &str = "2025-06-15";

/// `timbang --db DB ARGS` on [`TODAY`], with no kader or ASIK organisation from the environment.
pub fn run(db: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_timbang"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env("TIMBANG_TODAY", TODAY)
        .env_remove("TIMBANG_KADER")
        .env_remove("TIMBANG_ASIK_ORG")
        .output()
        .expect("run timbang")
}

/// [`run`], which must succeed; its stdout.
pub fn ok(db: &std::path::Path, args: &[&str]) -> String {
    let o = run(db, args);
    assert!(
        o.status.success(),
        "{args:?}: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("utf-8 output")
}
