//! The clinical rules as the CLI shows them (docs/CLINICAL.md): status gizi in `visit add --json`,
//! `child show --json` and `list --json`; confirmations of the service schedule and of ages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

const TODAY: &str = "2025-06-15";

struct Env {
    _dir: tempfile::TempDir,
    db: PathBuf,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("posyandu.db");
    Env { _dir: dir, db }
}

fn run(e: &Env, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_timbang"))
        .arg("--db")
        .arg(&e.db)
        .args(args)
        .env("TIMBANG_TODAY", TODAY)
        .env_remove("TIMBANG_KADER")
        .output()
        .unwrap()
}

fn ok(e: &Env, args: &[&str]) -> String {
    let o = run(e, args);
    assert!(
        o.status.success(),
        "{args:?}: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn json(e: &Env, args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&ok(e, args)).unwrap()
}

fn last_line(s: &str) -> String {
    s.trim_end().lines().last().unwrap().trim().to_owned()
}

fn child(e: &Env, name: &str, dob: &str) -> String {
    last_line(&ok(
        e,
        &["child", "add", "--name", name, "--sex", "L", "--dob", dob],
    ))
}

#[test]
fn lila_11_is_gizi_buruk_everywhere_it_is_shown() {
    let e = env();
    ok(&e, common::INIT);
    // 28 months on 2025-06-14.
    let id = child(&e, "Anak Satu", "2023-02-10");
    let v = json(
        &e,
        &[
            "visit",
            "add",
            &id,
            "--date",
            "2025-06-14",
            "--weight",
            "11,5",
            "--muac",
            "11,0",
            "--json",
        ],
    );
    assert_eq!(v["status_gizi"], "gizi_buruk", "{v}");
    assert!(
        v["referral"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "GIZI_BURUK")
    );
    assert!(
        v["referral_text"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t.as_str().unwrap().contains("LiLA 11,0 cm")),
        "{v}"
    );
    let shown = json(&e, &["child", "show", &id, "--json"]);
    assert_eq!(
        shown["visits"][0]["assessment"]["status_gizi"],
        "gizi_buruk"
    );
    let list = json(&e, &["list", "--json"]);
    assert_eq!(list[0]["status_gizi"], "gizi_buruk");
    // Oedema: gizi buruk too; without a measurement that supports one, null.
    let other = child(&e, "Bayu Dua", "2023-03-10");
    let v = json(
        &e,
        &[
            "visit",
            "add",
            &other,
            "--date",
            "2025-06-14",
            "--weight",
            "12",
            "--oedema",
            "--json",
        ],
    );
    assert_eq!(v["status_gizi"], "gizi_buruk");
    let third = child(&e, "Candra Tiga", "2023-04-10");
    let v = json(
        &e,
        &[
            "visit",
            "add",
            &third,
            "--date",
            "2025-06-14",
            "--weight",
            "12",
            "--json",
        ],
    );
    assert!(v["status_gizi"].is_null(), "{v}");
}
