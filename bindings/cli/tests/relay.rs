//! `timbang relay sync` as separate processes against a real S3-compatible store (OpenStack Swift with
//! s3api on 127.0.0.1, started by `scripts/s3_swift.sh`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "../../../core/tests/relay_common/mod.rs"]
mod relay_common;

use std::path::PathBuf;
use std::process::{Command, Output};

use relay_common::swift;
use timbang_core::relay::S3Config;

struct Phone {
    dir: tempfile::TempDir,
    db: PathBuf,
}

fn phone() -> Phone {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hp.db");
    Phone { dir, db }
}

fn run(p: &Phone, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_timbang"))
        .arg("--db")
        .arg(&p.db)
        .args(args)
        .env("TIMBANG_TODAY", "2025-06-15")
        .output()
        .unwrap()
}

fn ok(p: &Phone, args: &[&str]) -> String {
    let o = run(p, args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn last(s: &str) -> String {
    s.trim_end().lines().last().unwrap().trim().to_owned()
}

/// `relay sync` arguments for `config`, the secret written to a file in the phone's folder.
fn relay_args(p: &Phone, config: &S3Config, secret: &str) -> Vec<String> {
    let file = p.dir.path().join("s3.secret");
    std::fs::write(&file, format!("{secret}\n")).unwrap();
    [
        "relay",
        "sync",
        "--url",
        &config.url,
        "--bucket",
        &config.bucket,
        "--access-key",
        &config.access_key,
        "--secret-key-file",
        file.to_str().unwrap(),
        "--json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn relay(p: &Phone, config: &S3Config, secret: &str) -> Output {
    let args = relay_args(p, config, secret);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(p, &args)
}

fn team() -> (Phone, Phone) {
    let a = phone();
    ok(&a, common::INIT);
    let code = last(&ok(&a, &["team", "invite"]));
    let b = phone();
    ok(&b, &["team", "join", &code, "--device", "hp-2"]);
    (a, b)
}

#[test]
fn relay_sync_carries_a_child_between_two_phones_and_reports_json() {
    let Some(sw) = swift() else { return };
    let bucket = sw.new_bucket();
    let (a, b) = team();
    let id = last(&ok(
        &a,
        &[
            "child",
            "add",
            "--name",
            "Sari Wulandari",
            "--sex",
            "P",
            "--dob",
            "2024-09-01",
        ],
    ));
    ok(
        &a,
        &[
            "visit",
            "add",
            &id,
            "--date",
            "2025-06-01",
            "--weight",
            "7.4",
        ],
    );
    let o = relay(&a, &bucket, &sw.secret);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["pushed"], 1, "{r}");
    assert_eq!(r["pulled"], 0);
    assert_eq!(r["objects"], 1);
    assert!(r["bytes"].as_u64().unwrap() > 0);
    let o = relay(&b, &bucket, &sw.secret);
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (r["pushed"].as_u64(), r["pulled"].as_u64()),
        (Some(0), Some(1)),
        "{r}"
    );
    let list: serde_json::Value = serde_json::from_str(&ok(&b, &["list", "--json"])).unwrap();
    assert_eq!(list[0]["child_id"], id.as_str());
    assert_eq!(list[0]["weight_kg"], 7.4);
    // The secret appears nowhere in what was printed.
    for out in [&o.stdout, &o.stderr] {
        assert!(!String::from_utf8_lossy(out).contains(&sw.secret));
    }
}

#[test]
fn relay_sync_failures_are_one_sentence_with_the_right_exit_code() {
    let Some(sw) = swift() else { return };
    let bucket = sw.new_bucket();
    let (a, _b) = team();
    ok(
        &a,
        &[
            "child",
            "add",
            "--name",
            "Sari Wulandari",
            "--sex",
            "P",
            "--dob",
            "2024-09-01",
        ],
    );
    let one_sentence = |o: &Output, code: i32, needle: &str| {
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert_eq!(o.status.code(), Some(code), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{err}");
        assert!(o.stdout.is_empty());
        assert!(!err.contains(&sw.secret));
    };
    // Wrong secret, missing bucket, a closed port on 127.0.0.1: exit 1.
    one_sentence(&relay(&a, &bucket, "wrong-secret"), 1, "kunci akses");
    one_sentence(
        &relay(&a, &sw.config("no-such-bucket"), &sw.secret),
        1,
        "Bucket",
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut closed = bucket.clone();
    closed.url = format!("http://127.0.0.1:{port}");
    one_sentence(&relay(&a, &closed, &sw.secret), 1, "tidak bisa dihubungi");
    // A missing or empty secret file, a URL that is not one: bad input, exit 2.
    let mut args = relay_args(&a, &bucket, &sw.secret);
    let i = args.iter().position(|s| s == "--secret-key-file").unwrap();
    args[i + 1] = a.dir.path().join("absent.secret").display().to_string();
    let o = run(&a, &args.iter().map(String::as_str).collect::<Vec<_>>());
    one_sentence(&o, 2, "Berkas kunci rahasia");
    std::fs::write(a.dir.path().join("s3.secret"), "\n").unwrap();
    args[i + 1] = a.dir.path().join("s3.secret").display().to_string();
    let o = run(&a, &args.iter().map(String::as_str).collect::<Vec<_>>());
    one_sentence(&o, 2, "satu baris");
    let mut bad_url = bucket.clone();
    bad_url.url = "ftp://127.0.0.1:1".into();
    one_sentence(&relay(&a, &bad_url, &sw.secret), 2, "--url");
    // Nothing was lost: the right settings push the child.
    let o = relay(&a, &bucket, &sw.secret);
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["pushed"], 1, "{r}");
}
