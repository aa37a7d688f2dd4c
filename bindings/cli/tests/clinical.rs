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

#[test]
fn a_second_blue_capsule_in_february_needs_yes() {
    let e = env();
    ok(&e, common::INIT);
    // 8 months in February 2025.
    let id = child(&e, "Bayi Biru", "2024-06-01");
    let first = [
        "visit",
        "add",
        id.as_str(),
        "--date",
        "2025-02-03",
        "--weight",
        "8",
        "--service",
        "vit_a_biru",
    ];
    ok(&e, &first);
    let second = [
        "visit",
        "add",
        id.as_str(),
        "--date",
        "2025-02-20",
        "--weight",
        "8,2",
        "--service",
        "vit_a_biru",
    ];
    let o = run(&e, &second);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("vitamin A"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    let shown = json(&e, &["child", "show", &id, "--json"]);
    assert_eq!(
        shown["visits"].as_array().unwrap().len(),
        1,
        "nothing written"
    );
    let mut yes = second.to_vec();
    yes.push("--yes");
    ok(&e, &yes);
    let shown = json(&e, &["child", "show", &id, "--json"]);
    let visits = shown["visits"].as_array().unwrap();
    assert_eq!(visits.len(), 2);
    let confirmed: Vec<&str> = visits[1]["confirmed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(confirmed.contains(&"vit_a_biru_again"), "{confirmed:?}");
    assert!(
        confirmed.contains(&"vit_a_second_in_round"),
        "{confirmed:?}"
    );
}

#[test]
fn a_child_of_66_months_is_not_registered_without_yes() {
    let e = env();
    ok(&e, common::INIT);
    // 66 completed months on 2025-06-15.
    let add = [
        "child",
        "add",
        "--name",
        "Anak Besar",
        "--sex",
        "P",
        "--dob",
        "2019-12-10",
    ];
    let o = run(&e, &add);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("66 bulan"));
    let list = json(&e, &["list", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 0, "nothing registered");
    let mut yes = add.to_vec();
    yes.push("--yes");
    let id = last_line(&ok(&e, &yes));
    // Its visits say plainly that the balita standards no longer apply.
    let v = json(
        &e,
        &[
            "visit",
            "add",
            &id,
            "--date",
            "2025-06-14",
            "--weight",
            "19",
            "--json",
        ],
    );
    assert!(
        v["notes"][0].as_str().unwrap().contains("tidak berlaku"),
        "{v}"
    );
    assert!(v["waz"].is_null());
}
