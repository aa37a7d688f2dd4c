//! `timbang export elsimil` through the binary: the child at risk is listed with the family's KK, the
//! mother's name and NIK and the reasons; the healthy child is not. Read back as xlsx and as CSV.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{ok, run};

fn child(db: &Path, name: &str, extra: &[&str], visits: &[(&str, &str, &str)]) -> String {
    let mut args = vec![
        "child",
        "add",
        "--name",
        name,
        "--sex",
        "L",
        "--dob",
        "2024-06-01",
        "--yes",
    ];
    args.extend_from_slice(extra);
    let out = ok(db, &args);
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

fn setup(dir: &Path) -> PathBuf {
    let db = dir.join("posyandu.db");
    ok(&db, common::INIT);
    child(
        &db,
        "Ahmad Sakit",
        &[
            "--nik",
            "3273010106240001",
            "--kk",
            "3273012010150003",
            "--mother",
            "Dewi Lestari",
            "--mother-nik",
            "3273016408950002",
            "--address",
            "Jl. Melati 3, RT 02/RW 05",
        ],
        &[
            ("2025-04-10", "9.0", "74"),
            ("2025-05-10", "9.1", "75"),
            ("2025-06-10", "7.4", "76"),
        ],
    );
    child(
        &db,
        "Joko Sehat",
        &["--kk", "3273012010150099", "--mother", "Sri Rahayu"],
        &[
            ("2025-04-10", "9.0", "74"),
            ("2025-05-10", "9.3", "75"),
            ("2025-06-10", "9.6", "76"),
        ],
    );
    db
}

fn cell_text(c: &calamine::Data) -> String {
    match c {
        calamine::Data::String(s) => s.clone(),
        calamine::Data::Float(f) => f.to_string(),
        calamine::Data::Int(i) => i.to_string(),
        calamine::Data::Empty => String::new(),
        other => format!("{other:?}"),
    }
}

#[test]
fn elsimil_lists_the_family_of_the_child_at_risk_and_no_healthy_child() {
    use calamine::Reader;
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path());

    let csv_path = dir.path().join("elsimil.csv");
    ok(
        &db,
        &[
            "export",
            "elsimil",
            "--month",
            "2025-06",
            "--out",
            csv_path.to_str().unwrap(),
        ],
    );
    let mut r = csv::Reader::from_path(&csv_path).unwrap();
    let headers: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let col = |h: &str| {
        headers
            .iter()
            .position(|x| x == h)
            .unwrap_or_else(|| panic!("{h}"))
    };
    let row = &rows[0];
    assert_eq!(&row[col("No. KK")], "3273012010150003");
    assert_eq!(&row[col("Nama Ibu")], "Dewi Lestari");
    assert_eq!(&row[col("NIK Ibu")], "3273016408950002");
    assert!(row[col("Alamat (RT/RW)")].contains("RT 02/RW 05"));
    assert_eq!(&row[col("Nama Anak")], "Ahmad Sakit");
    assert_eq!(&row[col("Tanggal Ukur")], "2025-06-10");
    assert_eq!(&row[col("Berat Badan (kg)")], "7.4");
    assert_eq!(&row[col("Status Gizi")], "Gizi buruk");
    let why = &row[col("Alasan Risiko")];
    assert!(
        why.contains("Gizi buruk") && why.contains("turun lebih dari 10%"),
        "{why}"
    );
    assert!(!std::fs::read_to_string(&csv_path).unwrap().contains("Joko"));

    let xlsx = dir.path().join("elsimil.xlsx");
    ok(
        &db,
        &[
            "export",
            "elsimil",
            "--month",
            "2025-06",
            "--out",
            xlsx.to_str().unwrap(),
        ],
    );
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    let sheet = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&sheet).unwrap();
    let cells: Vec<Vec<String>> = range
        .rows()
        .map(|r| r.iter().map(cell_text).collect())
        .collect();
    let kk = cells
        .iter()
        .flatten()
        .find(|c| c.as_str() == "3273012010150003");
    assert!(kk.is_some(), "the KK is a text cell: {cells:?}");
    assert!(cells.iter().flatten().all(|c| !c.contains("Joko")));
    assert!(cells.iter().flatten().any(|c| c == "Ahmad Sakit"));
}

#[test]
fn a_month_before_any_risk_has_no_rows_and_a_bad_month_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path());
    let out = dir.path().join("mei.csv");
    ok(
        &db,
        &[
            "export",
            "elsimil",
            "--month",
            "2025-05",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let mut r = csv::Reader::from_path(&out).unwrap();
    assert_eq!(r.records().count(), 0);
    let o = run(
        &db,
        &[
            "export",
            "elsimil",
            "--month",
            "2025-13",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("2025-13"));
}
