//! The `timbang` binary as a person (or an outside test) drives it: real files, real exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
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
    run_on(e, TODAY, args)
}

/// Run with "today" fixed at `today`.
fn run_on(e: &Env, today: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_timbang"))
        .arg("--db")
        .arg(&e.db)
        .args(args)
        .env("TIMBANG_TODAY", today)
        .env_remove("TIMBANG_KADER")
        .output()
        .unwrap()
}

fn ok(e: &Env, args: &[&str]) -> String {
    ok_on(e, TODAY, args)
}

fn ok_on(e: &Env, today: &str, args: &[&str]) -> String {
    let o = run_on(e, today, args);
    assert!(
        o.status.success(),
        "{args:?}: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn last_line(s: &str) -> String {
    s.trim_end().lines().last().unwrap().trim().to_owned()
}

fn setup() -> (Env, String) {
    let e = env();
    ok(&e, common::INIT);
    let id = last_line(&ok(
        &e,
        &[
            "child",
            "add",
            "--name",
            "Budi Santoso",
            "--sex",
            "L",
            "--dob",
            "2024-01-10",
            "--mother",
            "Siti Aminah",
        ],
    ));
    ok(
        &e,
        &[
            "visit",
            "add",
            &id,
            "--date",
            "2024-06-10",
            "--weight",
            "7.4",
            "--height",
            "65.5",
            "--position",
            "lying",
        ],
    );
    (e, id)
}

/// Every row of every table, audit log included: equal digests mean equal content (documents,
/// projections, outbox, settings, audit).
fn digest(db: &Path) -> String {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let tables: Vec<String> = {
        let mut s = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .unwrap();
        s.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let mut out = String::new();
    for t in tables {
        let mut s = conn
            .prepare(&format!("SELECT * FROM {t} ORDER BY 1, 2"))
            .unwrap();
        let n = s.column_count();
        let mut rows = s.query([]).unwrap();
        out.push_str(&format!("[{t}]\n"));
        while let Some(r) = rows.next().unwrap() {
            for i in 0..n {
                let v: rusqlite::types::Value = r.get(i).unwrap();
                out.push_str(&format!("{v:?}|"));
            }
            out.push('\n');
        }
    }
    out
}

#[test]
fn the_happy_path_prints_what_the_contract_says() {
    let (e, id) = setup();
    assert_eq!(
        id.len(),
        36,
        "child add prints the id alone on its last line"
    );
    let out = ok(
        &e,
        &[
            "visit",
            "add",
            &id,
            "--date",
            "2024-07-10",
            "--weight",
            "7.9",
            "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    for k in ["waz", "haz", "whz", "baz", "hcz", "acz", "kms", "referral"] {
        assert!(v.get(k).is_some(), "visit add --json lacks {k}: {v}");
    }
    assert_eq!(v["kms"], "N");
    let list: serde_json::Value = serde_json::from_str(&ok(&e, &["list", "--json"])).unwrap();
    let row = &list[0];
    for k in [
        "child_id",
        "name",
        "sex",
        "birth_date",
        "age_months",
        "last_visit",
        "weight_kg",
        "height_cm",
        "waz",
        "haz",
        "whz",
        "kms",
        "referral",
    ] {
        assert!(row.get(k).is_some(), "list --json lacks {k}: {row}");
    }
    assert_eq!(row["child_id"], id.as_str());
    assert_eq!(row["sex"], "L");
    assert_eq!(row["weight_kg"], 7.9);
    assert!(row["referral"].is_array());
    let show: serde_json::Value =
        serde_json::from_str(&ok(&e, &["child", "show", &id, "--json"])).unwrap();
    assert_eq!(show["visits"].as_array().unwrap().len(), 2);
    assert_eq!(show["name"], "Budi Santoso");
}

#[test]
fn bad_input_exits_2_with_one_sentence_and_writes_nothing() {
    let (e, id) = setup();
    let add = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = ["child", "add"].iter().map(|s| s.to_string()).collect();
        let mut fields: Vec<(&str, String)> = vec![
            ("--name", "Ani Lestari".into()),
            ("--sex", "P".into()),
            ("--dob", "2024-03-01".into()),
        ];
        let mut rest = Vec::new();
        let mut i = 0;
        while i < extra.len() {
            if let Some(f) = fields.iter_mut().find(|f| f.0 == extra[i]) {
                f.1 = extra[i + 1].to_owned();
            } else {
                rest.push(extra[i].to_owned());
                rest.push(extra[i + 1].to_owned());
            }
            i += 2;
        }
        for (k, val) in fields {
            v.push(k.into());
            v.push(val);
        }
        v.extend(rest);
        v
    };
    let visit = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = ["visit", "add", &id, "--date", "2024-07-10"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let long_name = "A".repeat(101);
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("empty name", add(&["--name", ""])),
        ("name without letters", add(&["--name", "12345"])),
        ("name too long", add(&["--name", &long_name])),
        ("sex", add(&["--sex", "X"])),
        ("dob not a date", add(&["--dob", "2024-13-01"])),
        ("dob in the future", add(&["--dob", "2030-01-01"])),
        ("dob too old", add(&["--dob", "2010-01-01"])),
        ("nik too short", add(&["--nik", "320101520523001"])),
        ("nik letters", add(&["--nik", "32010152052300AB"])),
        ("nik province", add(&["--nik", "9901014103240001"])),
        ("nik day", add(&["--nik", "3201013203240001"])),
        ("nik month", add(&["--nik", "3201014113240001"])),
        ("nik serial", add(&["--nik", "3201014103240000"])),
        ("kk length", add(&["--kk", "32010120101500"])),
        ("kk province", add(&["--kk", "0001012010150003"])),
        ("mother nik", add(&["--mother-nik", "12"])),
        ("mother name without letters", add(&["--mother", "!!!"])),
        (
            "visit bad id",
            vec![
                "visit".into(),
                "add".into(),
                "not-an-id".into(),
                "--date".into(),
                "2024-07-10".into(),
                "--weight".into(),
                "8".into(),
            ],
        ),
        (
            "visit date invalid",
            vec![
                "visit".into(),
                "add".into(),
                id.clone(),
                "--date".into(),
                "2024-02-30".into(),
                "--weight".into(),
                "8".into(),
            ],
        ),
        (
            "visit date future",
            vec![
                "visit".into(),
                "add".into(),
                id.clone(),
                "--date".into(),
                "2025-07-01".into(),
                "--weight".into(),
                "8".into(),
            ],
        ),
        (
            "visit before birth",
            vec![
                "visit".into(),
                "add".into(),
                id.clone(),
                "--date".into(),
                "2023-12-01".into(),
                "--weight".into(),
                "3".into(),
            ],
        ),
        ("weight zero", visit(&["--weight", "0"])),
        ("weight negative", visit(&["--weight", "-3"])),
        ("weight text", visit(&["--weight", "abc"])),
        ("weight above 40", visit(&["--weight", "45"])),
        ("weight below 0.5", visit(&["--weight", "0.3"])),
        ("weight too precise", visit(&["--weight", "8.1234"])),
        (
            "height above 140",
            visit(&["--height", "150", "--position", "lying"]),
        ),
        (
            "height below 35",
            visit(&["--height", "30", "--position", "lying"]),
        ),
        (
            "height too precise",
            visit(&["--height", "66.25", "--position", "lying"]),
        ),
        ("height without position", visit(&["--height", "66"])),
        (
            "position unknown",
            visit(&["--height", "66", "--position", "sideways"]),
        ),
        ("head above 60", visit(&["--head", "70"])),
        ("muac below 5", visit(&["--muac", "3"])),
        ("muac above 30", visit(&["--muac", "35"])),
        ("no measurement", visit(&[])),
        (
            "position without height",
            visit(&["--weight", "9.5", "--position", "standing"]),
        ),
        ("oedema both ways", visit(&["--oedema", "--no-oedema"])),
        ("unknown service", visit(&["--service", "vitamin"])),
        (
            "show bad id",
            vec!["child".into(), "show".into(), "123".into()],
        ),
        (
            "merge bad id",
            vec!["child".into(), "merge".into(), id.clone(), "nope".into()],
        ),
        (
            "merge with itself",
            vec!["child".into(), "merge".into(), id.clone(), id.clone()],
        ),
    ];
    assert!(cases.len() >= 30);
    let before = digest(&e.db);
    for (what, args) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = run(&e, &args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{what}: exit {:?}, stderr {err}",
            o.status.code()
        );
        let text = err.trim();
        assert!(
            !text.is_empty() && text.lines().count() == 1,
            "{what}: one sentence, got {text:?}"
        );
        assert_eq!(digest(&e.db), before, "{what} changed the database");
    }
}

#[test]
fn values_needing_confirmation_exit_3_and_write_nothing_until_yes() {
    let (e, id) = setup();
    let before = digest(&e.db);
    // A weight typed ten times too large (7.4 kg last month, 74 would be refused; 40 kg is inside the
    // hard limits but absurd for a 6-month-old).
    let args = [
        "visit",
        "add",
        &id,
        "--date",
        "2024-07-10",
        "--weight",
        "39",
    ];
    let o = run(&e, &args);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("--yes"));
    assert_eq!(digest(&e.db), before);
    // A NIK whose birth date disagrees (born 1 March 2024 per NIK, 10 January per the register).
    let o = run(
        &e,
        &[
            "child",
            "add",
            "--name",
            "Citra",
            "--sex",
            "P",
            "--dob",
            "2024-01-10",
            "--nik",
            "3201014103240001",
        ],
    );
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(digest(&e.db), before);
    // A possible duplicate.
    let o = run(
        &e,
        &[
            "child",
            "add",
            "--name",
            "Boedi Santoso",
            "--sex",
            "L",
            "--dob",
            "2024-01-12",
            "--mother",
            "Siti Aminah",
        ],
    );
    assert_eq!(o.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(&id),
        "the candidate is listed"
    );
    assert_eq!(digest(&e.db), before);
    // With --yes it is stored, the confirmation recorded.
    let mut yes: Vec<&str> = args.to_vec();
    yes.extend(["--yes", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&ok(&e, &yes)).unwrap();
    assert!(!v["confirmed"].as_array().unwrap().is_empty());
}

#[test]
fn commands_on_a_missing_database_fail_without_creating_it() {
    let e = env();
    let o = run(&e, &["list"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!e.db.exists());
    // Bad input to the commands that create a database creates nothing either.
    for args in [
        vec![
            "init",
            "--posyandu",
            " ",
            "--village",
            "Sukamaju",
            "--device",
            "hp-1",
        ],
        vec![
            "init",
            "--posyandu",
            "Melati",
            "--village",
            "Sukamaju",
            "--device",
            "hp-1",
            "--kbm-table",
            "nope",
        ],
        vec!["team", "join", "NOT-A-CODE", "--device", "hp-2"],
    ] {
        let o = run(&e, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let files: Vec<_> = std::fs::read_dir(e.db.parent().unwrap()).unwrap().collect();
        assert!(files.is_empty(), "{args:?} left {files:?}");
    }
}

#[test]
fn child_add_json_is_json_and_oedema_can_be_corrected() {
    let (e, id) = setup();
    let out = ok(
        &e,
        &[
            "child",
            "add",
            "--name",
            "Sari Wulandari",
            "--sex",
            "P",
            "--dob",
            "2024-05-05",
            "--json",
        ],
    );
    let v: serde_json::Value =
        serde_json::from_str(&out).expect("child add --json prints JSON only");
    assert_eq!(v["child_id"].as_str().unwrap().len(), 36);
    let o = run(
        &e,
        &[
            "child",
            "add",
            "--name",
            "Boedi Santoso",
            "--sex",
            "L",
            "--dob",
            "2024-01-12",
            "--mother",
            "Siti Aminah",
            "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["possible_duplicates"][0]["child_id"], id.as_str());
    ok(
        &e,
        &[
            "visit",
            "add",
            &id,
            "--date",
            "2024-06-10",
            "--oedema",
            "--yes",
        ],
    );
    ok(
        &e,
        &["visit", "add", &id, "--date", "2024-06-10", "--no-oedema"],
    );
    // A height correction keeps the day's position.
    ok(
        &e,
        &[
            "visit",
            "add",
            &id,
            "--date",
            "2024-06-10",
            "--height",
            "65.8",
        ],
    );
    let show: serde_json::Value =
        serde_json::from_str(&ok(&e, &["child", "show", &id, "--json"])).unwrap();
    let v = &show["visits"][0];
    assert_eq!(
        (
            v["oedema"].clone(),
            v["height_cm"].clone(),
            v["position"].clone()
        ),
        (
            serde_json::json!(false),
            serde_json::json!(65.8),
            serde_json::json!("lying")
        )
    );
}

#[test]
fn anthro_reproduces_every_public_case_and_refuses_bad_rows_without_output() {
    let e = env();
    let cases = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../schema/who-2006/public_cases.csv"
    );
    let out = e.db.with_file_name("out.csv");
    ok(
        &e,
        &[
            "anthro",
            "--input",
            cases,
            "--output",
            out.to_str().unwrap(),
        ],
    );
    let mut expected = csv::Reader::from_path(cases).unwrap();
    let eh = expected.headers().unwrap().clone();
    let mut got = csv::Reader::from_path(&out).unwrap();
    let gh = got.headers().unwrap().clone();
    assert_eq!(
        gh.iter().collect::<Vec<_>>(),
        [
            "case_id", "waz", "haz", "whz", "baz", "hcz", "acz", "flag_waz", "flag_haz",
            "flag_whz", "flag_baz", "flag_hcz", "flag_acz", "clenhei"
        ]
    );
    let mut n = 0;
    for (x, g) in expected.records().zip(got.records()) {
        let (x, g) = (x.unwrap(), g.unwrap());
        for (i, col) in gh.iter().enumerate() {
            let xi = eh.iter().position(|h| h == col).unwrap();
            assert_eq!(&g[i], &x[xi], "case {} column {col}", &x[0]);
        }
        n += 1;
    }
    assert_eq!(n, 800);
    let bad = e.db.with_file_name("bad.csv");
    std::fs::write(&bad, "case_id,sex,birth_date,measure_date,weight_kg\nA,M,2024-01-01,2024-06-01,7.1\nB,X,2024-01-01,2024-06-01,7.1\n").unwrap();
    let out2 = e.db.with_file_name("out2.csv");
    let o = run(
        &e,
        &[
            "anthro",
            "--input",
            bad.to_str().unwrap(),
            "--output",
            out2.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("baris 3"));
    assert!(!out2.exists());
}

#[test]
fn the_deployment_chooses_the_kbm_table() {
    // A boy gaining 700 g in his third month: N under the 600 g table, T under the 800 g one.
    let run_with = |table: Option<&str>| -> String {
        let e = env();
        let mut init = vec![
            "init",
            "--posyandu",
            "Melati",
            "--village",
            "Sukamaju",
            "--device",
            "hp-1",
        ];
        if let Some(t) = table {
            init.extend(["--kbm-table", t]);
        }
        ok(&e, &init);
        let id = last_line(&ok(
            &e,
            &[
                "child",
                "add",
                "--name",
                "Bayu",
                "--sex",
                "L",
                "--dob",
                "2025-02-20",
            ],
        ));
        ok(
            &e,
            &[
                "visit",
                "add",
                &id,
                "--date",
                "2025-04-21",
                "--weight",
                "5.6",
            ],
        );
        let v: serde_json::Value = serde_json::from_str(&ok(
            &e,
            &[
                "visit",
                "add",
                &id,
                "--date",
                "2025-05-21",
                "--weight",
                "6.3",
                "--json",
            ],
        ))
        .unwrap();
        assert_eq!(v["age_months"], 3);
        assert!(
            v["rules_version"]
                .as_str()
                .unwrap()
                .contains(table.unwrap_or("kms-permenkes-155-2010"))
        );
        v["kms"].as_str().unwrap().to_owned()
    };
    assert_eq!(run_with(None), "T");
    assert_eq!(run_with(Some("kms-programme-file")), "N");
    let e = env();
    let o = run(
        &e,
        &[
            "init",
            "--posyandu",
            "M",
            "--village",
            "S",
            "--device",
            "hp",
            "--kbm-table",
            "nope",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn services_are_recorded_with_the_visit_and_checked_by_age() {
    let (e, id) = setup(); // born 2024-01-10
    // 17 months old on 2025-06-10: the red capsule is right, the blue one needs confirmation.
    let v: serde_json::Value = serde_json::from_str(&ok(
        &e,
        &[
            "visit",
            "add",
            &id,
            "--date",
            "2025-06-10",
            "--weight",
            "10.1",
            "--service",
            "vit_a_merah",
            "--service",
            "pmt",
            "--json",
        ],
    ))
    .unwrap();
    assert_eq!(v["age_months"], 17);
    let o = run(
        &e,
        &[
            "visit",
            "add",
            &id,
            "--date",
            "2025-06-11",
            "--service",
            "vit_a_biru",
        ],
    );
    assert_eq!(o.status.code(), Some(3));
    let o = run(
        &e,
        &[
            "visit",
            "add",
            &id,
            "--date",
            "2025-06-11",
            "--service",
            "vitamin",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    // A service alone is a visit too (meja 5).
    ok(
        &e,
        &[
            "visit",
            "add",
            &id,
            "--date",
            "2025-06-12",
            "--service",
            "obat_cacing",
        ],
    );
    let show: serde_json::Value =
        serde_json::from_str(&ok(&e, &["child", "show", &id, "--json"])).unwrap();
    let visits = show["visits"].as_array().unwrap();
    let june10 = visits.iter().find(|v| v["date"] == "2025-06-10").unwrap();
    assert_eq!(
        june10["services"],
        serde_json::json!(["vit_a_merah", "pmt"])
    );
    assert!(
        visits
            .iter()
            .any(|v| v["date"] == "2025-06-12"
                && v["services"] == serde_json::json!(["obat_cacing"]))
    );
}

/// One month rule everywhere: a child born on 31 January and weighed on 29 February is 1 month old in
/// the assessment, the child's detail and the village list alike.
#[test]
fn the_age_in_months_is_the_same_in_every_view_at_a_month_end() {
    let e = env();
    let at = |args: &[&str]| ok_on(&e, "2024-02-29", args);
    at(common::INIT);
    let id = last_line(&at(&[
        "child",
        "add",
        "--name",
        "Anak Akhir Bulan",
        "--sex",
        "P",
        "--dob",
        "2024-01-31",
    ]));
    let json = |s: String| serde_json::from_str::<serde_json::Value>(&s).unwrap();
    let visit = json(at(&[
        "visit",
        "add",
        &id,
        "--date",
        "2024-02-29",
        "--weight",
        "4.1",
        "--json",
    ]));
    let detail = json(at(&["child", "show", &id, "--json"]));
    let list = json(at(&["list", "--json"]));
    assert_eq!(visit["age_months"], 1, "{visit}");
    assert_eq!(detail["age_months"], 1, "{detail}");
    assert_eq!(
        detail["visits"][0]["assessment"]["age_months"], 1,
        "{detail}"
    );
    assert_eq!(list[0]["age_months"], 1, "{list}");
}

/// `backup` writes a copy that opens with the same key; `check` finds projections that disagree with
/// the documents (exit 1) and `check --repair` rebuilds them (exit 0).
#[test]
fn backup_and_check_from_the_command_line() {
    let (e, _) = setup();
    let copy = e.db.with_file_name("cadangan.db");
    ok(&e, &["backup", "--out", copy.to_str().unwrap()]);
    let key = format!("{}.key", e.db.display());
    let listed = |db: &Path| {
        let o = Command::new(env!("CARGO_BIN_EXE_timbang"))
            .arg("--db")
            .arg(db)
            .args(["--key-file", &key, "list", "--json"])
            .env("TIMBANG_TODAY", TODAY)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    assert_eq!(listed(&copy), listed(&e.db));
    let report: serde_json::Value = serde_json::from_str(&ok(&e, &["check", "--json"])).unwrap();
    assert_eq!(report["ok"], true, "{report}");
    rusqlite::Connection::open(&e.db)
        .unwrap()
        .execute("UPDATE child_status SET kms = 'T'", [])
        .unwrap();
    let o = run(&e, &["check"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let o = run(&e, &["check", "--repair", "--json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(ok(&e, &["check", "--json"]).contains("\"ok\": true"));
}

/// A malformed id and an id that names nothing here are both bad input: exit 2, one Bahasa sentence
/// naming the id, nothing written.
#[test]
fn unknown_and_malformed_ids_are_both_bad_input() {
    let (e, id) = setup();
    let unknown = "01890000-0000-7000-8000-000000000000";
    for bad in ["bukan-id", unknown] {
        for args in [
            vec!["child", "show", bad],
            vec![
                "visit",
                "add",
                bad,
                "--date",
                "2025-06-01",
                "--weight",
                "9.1",
            ],
            vec!["visit", "delete", bad, "--date", "2025-06-01"],
            vec!["child", "merge", &id, bad],
        ] {
            let o = run(&e, &args);
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
            assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
            assert!(err.contains(bad), "{args:?}: {err}");
        }
    }
    let o = run(&e, &["resolve", "abcdef123456", "7.4"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
