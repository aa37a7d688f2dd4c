//! `timbang asik sync|status|bundle` as DESIGN 6.2 writes them, against the SATUSEHAT test double on
//! 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{ok, run};

fn setup(dir: &Path) -> PathBuf {
    let db = dir.join("hp.db");
    ok(&db, common::INIT);
    for i in 1..=3 {
        let name = format!("Anak Uji {i}");
        let dob = format!("2024-03-0{i}");
        let mother_nik = format!("33010150019000{i:02}");
        let out = ok(
            &db,
            &[
                "child",
                "add",
                "--name",
                &name,
                "--sex",
                "P",
                "--dob",
                &dob,
                "--mother",
                "Ibu Uji",
                "--mother-nik",
                &mother_nik,
                "--yes",
            ],
        );
        let id = out.trim_end().lines().last().unwrap().trim().to_owned();
        ok(
            &db,
            &[
                "visit",
                "add",
                &id,
                "--date",
                "2025-06-14",
                "--weight",
                "8.1",
                "--height",
                "70.5",
                "--position",
                "lying",
            ],
        );
    }
    db
}

fn sync_args<'a>(
    s: &'a asik_server::AsikServer,
    base: &'a str,
    auth: &'a str,
    secret: &'a str,
) -> Vec<&'a str> {
    let _ = s;
    vec![
        "asik",
        "sync",
        "--base-url",
        base,
        "--auth-url",
        auth,
        "--client-id",
        asik_server::CLIENT_ID,
        "--client-secret-file",
        secret,
        "--json",
    ]
}

#[test]
fn sync_status_and_bundle_as_designed() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path());
    let s = asik_server::start().unwrap();
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, format!("{}\n", asik_server::CLIENT_SECRET)).unwrap();
    let (base, auth) = (s.base_url(), s.auth_url());
    let secret_s = secret.to_str().unwrap().to_owned();

    let st: serde_json::Value =
        serde_json::from_str(&ok(&db, &["asik", "status", "--json"])).unwrap();
    assert_eq!(
        (
            st["pending"].as_u64(),
            st["sent"].as_u64(),
            st["rejected"].as_u64(),
            st["held"].as_u64()
        ),
        (Some(3), Some(0), Some(0), Some(0))
    );
    let out = dir.path().join("next.json");
    ok(&db, &["asik", "bundle", "--out", out.to_str().unwrap()]);
    let b: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(b["type"], "transaction");
    assert!(b["entry"].as_array().unwrap().len() >= 9);

    let o = run(&db, &sync_args(&s, &base, &auth, &secret_s));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        !all.contains(asik_server::CLIENT_SECRET),
        "the secret is never printed"
    );
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["sent"], 3);
    let st: serde_json::Value =
        serde_json::from_str(&ok(&db, &["asik", "status", "--json"])).unwrap();
    assert_eq!(
        (st["pending"].as_u64(), st["sent"].as_u64()),
        (Some(0), Some(3))
    );
    // Nothing pending: exit 0, nothing sent.
    let r: serde_json::Value =
        serde_json::from_str(&ok(&db, &sync_args(&s, &base, &auth, &secret_s))).unwrap();
    assert_eq!(
        (r["sent"].as_u64(), r["created"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(s.resources("Encounter").len(), 3);
}

#[test]
fn bad_configuration_is_exit_2_and_an_unreachable_server_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path());
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "s3kr1t-uji\n").unwrap();
    let secret_s = secret.to_str().unwrap();
    let missing = dir.path().join("tidak-ada.txt");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}/fhir-r4/v1");
    let auth = format!("http://127.0.0.1:{port}/oauth2/v1");
    let cases: Vec<(Vec<&str>, i32)> = vec![
        (
            vec![
                "--base-url",
                &base,
                "--auth-url",
                &auth,
                "--client-id",
                "x",
                "--client-secret-file",
                missing.to_str().unwrap(),
            ],
            2,
        ),
        (
            vec![
                "--base-url",
                "bukan-url",
                "--auth-url",
                &auth,
                "--client-id",
                "x",
                "--client-secret-file",
                secret_s,
            ],
            2,
        ),
        (
            vec![
                "--base-url",
                &base,
                "--auth-url",
                "ftp://127.0.0.1/x",
                "--client-id",
                "x",
                "--client-secret-file",
                secret_s,
            ],
            2,
        ),
        (
            vec![
                "--base-url",
                &base,
                "--auth-url",
                &auth,
                "--client-id",
                "x",
                "--client-secret-file",
                secret_s,
            ],
            1,
        ),
    ];
    for (args, code) in cases {
        let mut a = vec!["asik", "sync"];
        a.extend(args);
        let o = run(&db, &a);
        assert_eq!(
            o.status.code(),
            Some(code),
            "{a:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.trim().lines().count(), 1, "one sentence: {err}");
        assert!(!err.contains("s3kr1t-uji"));
    }
    let st: serde_json::Value =
        serde_json::from_str(&ok(&db, &["asik", "status", "--json"])).unwrap();
    assert_eq!(st["pending"], 3, "nothing lost");
}
