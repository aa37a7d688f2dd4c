//! `timbang warnings` through the binary on a real database: the child who became gizi buruk is named,
//! a healthy child is not, and the JSON carries code, child_id, since and text.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::ok;

fn child(db: &std::path::Path, name: &str, visits: &[(&str, &str, &str)]) -> String {
    let out = ok(
        db,
        &[
            "child",
            "add",
            "--name",
            name,
            "--sex",
            "L",
            "--dob",
            "2024-06-01",
            "--yes",
        ],
    );
    let id = out.trim_end().lines().last().unwrap().trim().to_owned();
    for (date, kg, cm) in visits {
        ok(
            db,
            &[
                "visit",
                "add",
                &id,
                "--date",
                date,
                "--weight",
                kg,
                "--height",
                cm,
                "--position",
                "lying",
                "--yes",
            ],
        );
    }
    id
}

#[test]
fn warnings_name_the_child_who_became_gizi_buruk_and_not_the_healthy_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("posyandu.db");
    ok(&db, common::INIT);
    let sick = child(
        &db,
        "Ahmad Sakit",
        &[
            ("2025-04-10", "9.0", "74"),
            ("2025-05-10", "9.1", "75"),
            ("2025-06-10", "7.4", "76"),
        ],
    );
    let healthy = child(
        &db,
        "Joko Sehat",
        &[
            ("2025-04-10", "9.0", "74"),
            ("2025-05-10", "9.3", "75"),
            ("2025-06-10", "9.6", "76"),
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&ok(&db, &["warnings", "--json"])).unwrap();
    let all = json.as_array().unwrap();
    let buruk = all
        .iter()
        .find(|w| w["code"] == "GIZI_BURUK")
        .unwrap_or_else(|| panic!("{json:#}"));
    assert_eq!(buruk["child_id"], sick.as_str());
    assert_eq!(buruk["since"], "2025-06-10");
    assert!(buruk["text"].as_str().unwrap().contains("Ahmad Sakit"));
    assert!(
        all.iter().all(|w| w["child_id"] != healthy.as_str()),
        "{json:#}"
    );
    for w in all {
        for key in ["code", "child_id", "since", "text"] {
            assert!(w.get(key).is_some(), "{key} missing: {w}");
        }
    }
    let text = ok(&db, &["warnings"]);
    assert!(
        text.contains("[GIZI_BURUK] Ahmad Sakit: Baru gizi buruk sejak 10 Juni 2025."),
        "{text}"
    );
    assert!(!text.contains("Joko"), "{text}");
}

#[test]
fn no_warnings_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("posyandu.db");
    ok(&db, common::INIT);
    assert_eq!(ok(&db, &["warnings", "--json"]).trim(), "[]");
    assert!(ok(&db, &["warnings"]).contains("Tidak ada peringatan."));
}
