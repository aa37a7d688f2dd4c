//! `timbang import register` on a generated register of 40 children with 3 bad rows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use common::{ok, run};

const HEADER: &str = "name,sex,birth_date,nik,kk,mother_name,mother_nik,address,visit_date,weight_kg,height_cm,measured,head_circ_cm,muac_cm";

/// 40 children, two weighings each (April and May 2025), every other one with a NIK; and three bad
/// rows at known lines. Returns the file and the bad lines.
fn register(dir: &Path) -> (PathBuf, Vec<u64>) {
    let first = [
        "Adi", "Bunga", "Citra", "Dimas", "Eka", "Fajar", "Gita", "Hana",
    ];
    let last = ["Saputra", "Lestari", "Wibowo", "Pratama", "Kusuma"];
    let mut text = format!("{HEADER}\n");
    let mut line = 1u64;
    let mut bad = Vec::new();
    for i in 0..40u32 {
        let name = format!("{} {}", first[(i % 8) as usize], last[(i / 8) as usize]);
        let girl = i % 2 == 1;
        let (day, month) = (1 + i % 27, 1 + i % 12);
        let birth = format!("2023-{month:02}-{day:02}");
        let nik = if i % 2 == 0 {
            let dd = if girl { day + 40 } else { day };
            format!("327301{dd:02}{month:02}23{:04}", i + 1)
        } else {
            String::new()
        };
        let sex = if girl { "P" } else { "L" };
        let mother = format!("Ibu {name}");
        for (date, kg, cm) in [("2025-04-10", 9.0, 76.0), ("2025-05-10", 9.3, 77.0)] {
            let kg = kg + f64::from(i % 5) * 0.2;
            writeln!(
                text,
                "{name},{sex},{birth},{nik},,{mother},,RT 01 RW 02,{date},{kg:.1},{cm:.1},lying,,"
            )
            .unwrap();
            line += 1;
        }
        if [5, 17, 33].contains(&i) {
            let row = match i {
                5 => format!("{name},{sex},{birth},{nik},,{mother},,,2025-06-10,abc,,,,"),
                17 => format!("{name},{sex},{birth},{nik},,{mother},,,2025-06-10,9.5,200,lying,,"),
                _ => format!("{name},{sex},{birth},{nik},,{mother},,,2025-07-01,9.5,,,,"),
            };
            text.push_str(&row);
            text.push('\n');
            line += 1;
            bad.push(line);
        }
    }
    let path = dir.join("register.csv");
    std::fs::write(&path, text).unwrap();
    (path, bad)
}

#[test]
fn a_register_of_40_with_3_bad_rows_imports_40_and_names_the_lines_and_twice_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("posyandu.db");
    ok(&db, common::INIT);
    let (file, bad) = register(dir.path());
    let o = run(
        &db,
        &["import", "register", file.to_str().unwrap(), "--json"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["children"], 40, "{r}");
    assert_eq!(r["visits"], 80, "{r}");
    assert_eq!(r["skipped"], 3, "{r}");
    let lines: Vec<u64> = r["bad_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, bad);
    let fields: Vec<&str> = r["bad_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["weight_kg", "height_cm", "date"]);
    let err = String::from_utf8_lossy(&o.stderr);
    for l in &bad {
        assert!(err.contains(&format!("Baris {l} dilewati")), "{err}");
    }
    let list: serde_json::Value = serde_json::from_str(&ok(&db, &["list", "--json"])).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 40);
    // May's weighing made each child N or T (April was their first: B).
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|c| c["kms"] == "N" || c["kms"] == "T")
    );
    let before = std::fs::read(&db).unwrap().len();

    // Twice: nothing added.
    let again: serde_json::Value = serde_json::from_str(&ok(
        &db,
        &["import", "register", file.to_str().unwrap(), "--json"],
    ))
    .unwrap();
    assert_eq!(again["children"], 0, "{again}");
    assert_eq!(again["existing_children"], 40, "{again}");
    assert_eq!(again["visits"], 0, "{again}");
    assert_eq!(again["skipped"], 3);
    let list: serde_json::Value = serde_json::from_str(&ok(&db, &["list", "--json"])).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 40);
    assert_eq!(ok(&db, &["conflicts", "--json"]).trim(), "[]");
    let _ = before;

    // A June row for a stored child adds just that visit.
    let june = dir.path().join("june.csv");
    std::fs::write(
        &june,
        format!("{HEADER}\nAdi Saputra,L,2023-01-01,3273010101230001,,Ibu Adi Saputra,,,2025-06-10,9.8,78,lying,,\n"),
    )
    .unwrap();
    let r: serde_json::Value = serde_json::from_str(&ok(
        &db,
        &["import", "register", june.to_str().unwrap(), "--json"],
    ))
    .unwrap();
    assert_eq!(
        (r["children"].as_u64(), r["visits"].as_u64()),
        (Some(0), Some(1)),
        "{r}"
    );
}

#[test]
fn a_file_that_is_not_a_register_is_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("posyandu.db");
    ok(&db, common::INIT);
    let f = dir.path().join("x.csv");
    std::fs::write(&f, "name,sex,birth_date\nAdi,L,2024-01-01\n").unwrap();
    let o = run(&db, &["import", "register", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("x.csv") && err.contains("visit_date"), "{err}");
    let list: serde_json::Value = serde_json::from_str(&ok(&db, &["list", "--json"])).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 0);
    let o = run(&db, &["import", "register", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&db, &["import", "register", "/no/such/file.csv"]);
    assert_eq!(o.status.code(), Some(2));
}
