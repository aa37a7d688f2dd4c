//! `timbang export kohort` and `timbang export agregat` through the binary, on a posyandu of eight
//! balita (and one child past five) weighed in April, May and June 2025. All names, NIKs, KKs and
//! addresses are synthetic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{ok, run};

/// A synthetic child: name, sex, birth date, NIK, KK, mother, mother's NIK, address.
struct Kid {
    name: &'static str,
    sex: &'static str,
    dob: &'static str,
    nik: &'static str,
    kk: &'static str,
    mother: &'static str,
    mother_nik: &'static str,
    address: &'static str,
    no_kms: bool,
    /// (date, kg, services)
    visits: &'static [(&'static str, &'static str, &'static [&'static str])],
}

const KIDS: &[Kid] = &[
    // B in April, N in May, N in June; vitamin A biru in the February round (given in April).
    Kid {
        name: "Bagas Percobaan",
        sex: "L",
        dob: "2024-06-01",
        nik: "3273010106240011",
        kk: "3273012010150111",
        mother: "Wulan Contohsari",
        mother_nik: "3273014408950012",
        address: "Jl. Kenanga Uji 3, RT 01/RW 02",
        no_kms: false,
        visits: &[
            ("2025-04-10", "8.0", &["vit_a_biru"]),
            ("2025-05-10", "8.4", &[]),
            ("2025-06-10", "8.8", &[]),
        ],
    },
    // B, T, T (2T).
    Kid {
        name: "Citra Fiktifa",
        sex: "P",
        dob: "2024-05-01",
        nik: "3273014105240021",
        kk: "3273012010150222",
        mother: "Ratih Rekaan",
        mother_nik: "3273014509940022",
        address: "Gg. Dahlia Sintetis 7, RT 03/RW 02",
        no_kms: true,
        visits: &[
            ("2025-04-10", "8.0", &[]),
            ("2025-05-10", "7.8", &[]),
            ("2025-06-10", "7.6", &[]),
        ],
    },
    // B in April, not weighed in May, O in June.
    Kid {
        name: "Dimas Tiruan",
        sex: "L",
        dob: "2024-03-01",
        nik: "3273010103240031",
        kk: "3273012010150333",
        mother: "Sekar Khayalan",
        mother_nik: "3273014610930032",
        address: "Jl. Flamboyan Dummy 11, RT 04/RW 01",
        no_kms: false,
        visits: &[("2025-04-10", "9.0", &[]), ("2025-06-10", "9.5", &[])],
    },
    // Born in May: B in June, nothing before.
    Kid {
        name: "Eka Buatan",
        sex: "P",
        dob: "2025-05-20",
        nik: "3273016005250041",
        kk: "3273012010150444",
        mother: "Laras Karangan",
        mother_nik: "3273014711960042",
        address: "Jl. Cempaka Contoh 5, RT 01/RW 03",
        no_kms: false,
        visits: &[("2025-06-10", "3.9", &[])],
    },
    // Registered, never weighed: a row with every month empty.
    Kid {
        name: "Fajar Sampelan",
        sex: "L",
        dob: "2023-01-10",
        nik: "3273011001230051",
        kk: "3273012010150555",
        mother: "Nuri Andaian",
        mother_nik: "3273015202920052",
        address: "Jl. Teratai Palsu 9, RT 02/RW 03",
        no_kms: false,
        visits: &[],
    },
    // B, N, N; vitamin A merah in April.
    Kid {
        name: "Gita Simulasi",
        sex: "P",
        dob: "2022-06-15",
        nik: "3273015506220061",
        kk: "3273012010150666",
        mother: "Melur Rekayasa",
        mother_nik: "3273015303910062",
        address: "Jl. Anggrek Maya 2, RT 05/RW 01",
        no_kms: false,
        visits: &[
            ("2025-04-10", "11.0", &["vit_a_merah"]),
            ("2025-05-10", "11.5", &[]),
            ("2025-06-10", "12.0", &[]),
        ],
    },
    // B, N, N.
    Kid {
        name: "Hadi Eksperimen",
        sex: "L",
        dob: "2024-09-01",
        nik: "3273010109240071",
        kk: "3273012010150777",
        mother: "Kinan Ilustrasi",
        mother_nik: "3273015404900072",
        address: "Jl. Bougenville Semu 4, RT 03/RW 03",
        no_kms: false,
        visits: &[
            ("2025-04-10", "7.5", &[]),
            ("2025-05-10", "7.9", &[]),
            ("2025-06-10", "8.3", &[]),
        ],
    },
    // B, N, not weighed in June.
    Kid {
        name: "Indah Percontohan",
        sex: "P",
        dob: "2023-08-01",
        nik: "3273014108230081",
        kk: "3273012010150888",
        mother: "Puspa Dugaan",
        mother_nik: "3273015505890082",
        address: "Jl. Mawar Rekaan 8, RT 04/RW 04",
        no_kms: false,
        visits: &[("2025-04-10", "10.0", &[]), ("2025-05-10", "10.5", &[])],
    },
];

/// Past five all of 2025 (61 months on 1 January): not in the 2025 kohort.
const OLD: Kid = Kid {
    name: "Joko Kadaluwarsa",
    sex: "L",
    dob: "2019-12-01",
    nik: "3273010112190091",
    kk: "3273012010150999",
    mother: "Sari Lampau",
    mother_nik: "3273015606880092",
    address: "Jl. Kamboja Lama 1, RT 01/RW 01",
    no_kms: false,
    visits: &[("2025-04-10", "17.0", &[])],
};

fn add(db: &Path, k: &Kid) -> String {
    let mut args = vec![
        "child",
        "add",
        "--name",
        k.name,
        "--sex",
        k.sex,
        "--dob",
        k.dob,
        "--nik",
        k.nik,
        "--kk",
        k.kk,
        "--mother",
        k.mother,
        "--mother-nik",
        k.mother_nik,
        "--address",
        k.address,
        "--yes",
    ];
    if k.no_kms {
        args.push("--no-kms");
    }
    let out = ok(db, &args);
    let id = out.trim_end().lines().last().unwrap().trim().to_owned();
    for (date, kg, services) in k.visits {
        let mut v = vec!["visit", "add", &id, "--date", date, "--weight", kg, "--yes"];
        for s in *services {
            v.push("--service");
            v.push(s);
        }
        ok(db, &v);
    }
    id
}

/// The posyandu; returns the database and the child ids.
fn setup(dir: &Path) -> (PathBuf, Vec<String>) {
    let db = dir.join("posyandu.db");
    ok(&db, common::INIT);
    let mut ids: Vec<String> = KIDS.iter().map(|k| add(&db, k)).collect();
    ids.push(add(&db, &OLD));
    (db, ids)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("posyandu.db"))
        .collect();
    v.sort();
    v
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
fn the_kohort_has_one_row_per_child_with_the_months_letters_as_csv_and_xlsx() {
    use calamine::Reader;
    let dir = tempfile::tempdir().unwrap();
    let (db, ids) = setup(dir.path());
    ok(
        &db,
        &[
            "visit",
            "add",
            &ids[0],
            "--date",
            "2025-06-10",
            "--height",
            "69",
            "--position",
            "lying",
            "--yes",
        ],
    );

    let csv_path = dir.path().join("kohort.csv");
    ok(
        &db,
        &["export", "kohort", "--year", "2025", "--out", s(&csv_path)],
    );
    let mut r = csv::Reader::from_path(&csv_path).unwrap();
    let headers: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), KIDS.len(), "one row per balita: {rows:?}");
    let col = |h: &str| {
        headers
            .iter()
            .position(|x| x == h)
            .unwrap_or_else(|| panic!("{h} in {headers:?}"))
    };
    let mut names: Vec<&str> = rows.iter().map(|r| &r[col("Nama Anak")]).collect();
    names.sort_unstable();
    let mut want: Vec<&str> = KIDS.iter().map(|k| k.name).collect();
    want.sort_unstable();
    assert_eq!(names, want, "each child once, the one past five left out");
    let row = |name: &str| rows.iter().find(|r| &r[col("Nama Anak")] == name).unwrap();
    let letters = |name: &str| {
        let r = row(name);
        ["Apr", "Mei", "Jun"].map(|m| r[col(&format!("N/T/O/B {m}"))].to_owned())
    };
    assert_eq!(letters("Bagas Percobaan"), ["B", "N", "N"]);
    assert_eq!(letters("Citra Fiktifa"), ["B", "T", "T"]);
    assert_eq!(letters("Dimas Tiruan"), ["B", "", "O"]);
    assert_eq!(letters("Eka Buatan"), ["", "", "B"]);
    assert_eq!(letters("Fajar Sampelan"), ["", "", ""]);
    assert_eq!(letters("Indah Percontohan"), ["B", "N", ""]);
    let bagas = row("Bagas Percobaan");
    assert_eq!(&bagas[col("BB Jun (kg)")], "8.8");
    assert_eq!(&bagas[col("BB Mar (kg)")], "");
    assert_eq!(&bagas[col("NIK Anak")], "3273010106240011");
    assert_eq!(&bagas[col("Vitamin A Feb 2025")], "2025-04-10 biru");
    assert_eq!(&bagas[col("Vitamin A Agu 2025")], "");
    assert_eq!(&bagas[col("Kunjungan terakhir")], "2025-06-10");
    assert_eq!(
        &row("Gita Simulasi")[col("Vitamin A Feb 2025")],
        "2025-04-10 merah"
    );
    assert_eq!(&row("Citra Fiktifa")[col("Buku KIA")], "tidak");
    assert_eq!(&row("Dimas Tiruan")[col("Buku KIA")], "ya");
    assert!(!row("Citra Fiktifa")[col("BB/U terakhir")].is_empty());
    assert_eq!(
        &row("Citra Fiktifa")[col("TB/U terakhir")],
        "",
        "no length measured"
    );
    assert_eq!(&row("Fajar Sampelan")[col("BB/U terakhir")], "");
    assert_eq!(&row("Fajar Sampelan")[col("Kunjungan terakhir")], "");
    // Bagas's June length (69 cm at 12 months, below -2 SD of WHO 2006) makes him pendek.
    assert_eq!(&bagas[col("TB/U terakhir")], "Pendek");
    assert_eq!(&bagas[col("Stunting")], "ya");
    assert!(!bagas[col("Status Gizi terakhir")].is_empty());

    let xlsx = dir.path().join("kohort.xlsx");
    ok(
        &db,
        &["export", "kohort", "--year", "2025", "--out", s(&xlsx)],
    );
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    let sheet = wb.sheet_names()[0].clone();
    assert_eq!(sheet, "Kohort 2025");
    let range = wb.worksheet_range(&sheet).unwrap();
    let cells: Vec<Vec<String>> = range
        .rows()
        .map(|r| r.iter().map(cell_text).collect())
        .collect();
    let header_at = cells
        .iter()
        .position(|r| r.first().is_some_and(|c| c == "No"))
        .expect("a header row");
    assert_eq!(cells[header_at], headers, "the same columns as the CSV");
    let data: Vec<&Vec<String>> = cells[header_at + 1..]
        .iter()
        .filter(|r| r.iter().any(|c| !c.is_empty()))
        .collect();
    assert_eq!(data.len(), KIDS.len());
    let citra = data
        .iter()
        .find(|r| r[col("Nama Anak")] == "Citra Fiktifa")
        .unwrap();
    assert_eq!(citra[col("N/T/O/B Jun")], "T");
    assert_eq!(citra[col("BB Jun (kg)")], "7.6");
    assert_eq!(
        citra[col("NIK Anak")],
        "3273014105240021",
        "the NIK is a text cell"
    );
}

/// Every string value in a JSON document, and every key.
fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                out.push(k.clone());
                strings(x, out);
            }
        }
        _ => {}
    }
}

/// Every `{"n": …}` count object in the document.
fn counts<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a serde_json::Value>) {
    match v {
        serde_json::Value::Array(a) => a.iter().for_each(|x| counts(x, out)),
        serde_json::Value::Object(o) => {
            let is_count = o.contains_key("n")
                && o.keys()
                    .all(|k| ["n", "suppressed", "min", "max"].contains(&k.as_str()));
            if is_count {
                out.push(v);
            } else {
                o.values().for_each(|x| counts(x, out));
            }
        }
        _ => {}
    }
}

#[test]
fn the_aggregate_holds_no_personal_data_and_suppresses_small_cells() {
    let dir = tempfile::tempdir().unwrap();
    let (db, ids) = setup(dir.path());
    let out = dir.path().join("agregat-2025-06.json");
    ok(
        &db,
        &[
            "export",
            "agregat",
            "--month",
            "2025-06",
            "--out",
            s(&out),
            "--kode-wilayah",
            "32.73.01.1001",
        ],
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let lower = text.to_lowercase();

    // Nothing it was made from that names or identifies anyone, nor the posyandu's name.
    let mut personal: Vec<String> = ids.clone();
    for k in KIDS.iter().chain([&OLD]) {
        for v in [
            k.name,
            k.nik,
            k.kk,
            k.mother,
            k.mother_nik,
            k.address,
            k.dob,
        ] {
            personal.push(v.to_owned());
        }
        for word in [k.name, k.mother, k.address]
            .iter()
            .flat_map(|v| v.split([' ', ',', '/']))
            .filter(|w| w.len() >= 4)
        {
            personal.push(word.to_owned());
        }
    }
    personal.extend(["Melati", "Sukamaju", "hp-1"].map(String::from));
    for p in &personal {
        assert!(
            !lower.contains(&p.to_lowercase()),
            "the aggregate holds '{p}':\n{text}"
        );
    }
    // No NIK- or KK-like digit run either (16 digits).
    let digits_run = text
        .split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0);
    assert!(digits_run < 16, "a 16-digit number in the aggregate");

    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["format"], "timbang-agregat");
    assert_eq!(v["version"], 1);
    assert_eq!(v["month"], "2025-06");
    assert_eq!(v["region_code"], "3273011001");
    assert_eq!(v["suppression"]["min_shown"], 3);
    // The only strings are codes of the format.
    let mut all = Vec::new();
    strings(&v, &mut all);
    for s in &all {
        assert!(
            s.chars()
                .all(|c| c.is_ascii_alphanumeric() || " _-.+:,".contains(c)),
            "unexpected string '{s}'"
        );
    }

    // June: S 8 (every balita), D 6: N 3 (Bagas, Gita, Hadi), T 1, O 1, B 1.
    let skdn = &v["skdn"];
    assert_eq!(skdn["s"]["n"], 8);
    assert_eq!(skdn["k"]["n"], 7, "Citra has no Buku KIA");
    assert_eq!(skdn["n"]["n"], 3);
    for small in ["t", "o", "b", "two_t"] {
        assert_eq!(skdn[small]["n"], serde_json::Value::Null, "{small}");
        assert_eq!(skdn[small]["suppressed"], true, "{small}");
        assert_eq!(
            (skdn[small]["min"].as_u64(), skdn[small]["max"].as_u64()),
            (Some(1), Some(2))
        );
    }
    // D = N + T + O + B would give the small ones away: suppressed, with the parts' range.
    assert_eq!(skdn["d"]["suppressed"], true);
    assert_eq!(
        (skdn["d"]["min"].as_u64(), skdn["d"]["max"].as_u64()),
        (Some(6), Some(9))
    );
    // No count from 1 to 2 anywhere, and every suppressed one says so.
    let mut cs = Vec::new();
    counts(&v, &mut cs);
    assert!(cs.len() > 50, "{}", cs.len());
    let mut suppressed = 0;
    for c in &cs {
        match c["n"].as_u64() {
            Some(n) => assert!(n == 0 || n >= 3, "a small count shown: {c}"),
            None => {
                assert_eq!(c["suppressed"], true, "{c}");
                suppressed += 1;
            }
        }
    }
    assert!(suppressed >= 5, "{suppressed}");
    let status: Vec<&str> = v["status"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["index"].as_str().unwrap())
        .collect();
    assert_eq!(status, ["status_gizi", "bb_u", "tb_u", "bb_tb"]);

    // --posyandu: the same children by name (any case); another posyandu's month is all zeros.
    let same = dir.path().join("melati.json");
    let other = dir.path().join("mawar.json");
    for (name, path) in [("melati", &same), ("Mawar", &other)] {
        ok(
            &db,
            &[
                "export",
                "agregat",
                "--month",
                "2025-06",
                "--out",
                s(path),
                "--kode-wilayah",
                "3273011001",
                "--posyandu",
                name,
            ],
        );
    }
    assert_eq!(std::fs::read_to_string(&same).unwrap(), text);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&other).unwrap()).unwrap();
    let mut cs = Vec::new();
    counts(&v, &mut cs);
    assert!(cs.iter().all(|c| c["n"] == 0), "{v}");
}

fn refused(o: &std::process::Output, words: &[&str]) {
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one sentence: {err}");
    for w in words {
        assert!(lines[0].contains(w), "'{w}' in '{}'", lines[0]);
    }
    assert!(
        o.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn bad_input_names_the_field_exits_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("posyandu.db");
    ok(&db, common::INIT);
    add(&db, &KIDS[0]);
    let before = names_in(dir.path());
    let csv = dir.path().join("k.csv");
    let json = dir.path().join("a.json");
    let nowhere = dir.path().join("nowhere");

    for year in ["25", "2025-06", "tahun", "1800"] {
        let o = run(&db, &["export", "kohort", "--year", year, "--out", s(&csv)]);
        refused(&o, &["Tahun", year]);
    }
    let o = run(
        &db,
        &[
            "export",
            "kohort",
            "--year",
            "2025",
            "--out",
            s(&dir.path().join("k.txt")),
        ],
    );
    refused(&o, &["k.txt", ".xlsx"]);
    let o = run(
        &db,
        &[
            "export",
            "kohort",
            "--year",
            "2025",
            "--out",
            s(&nowhere.join("k.xlsx")),
        ],
    );
    refused(&o, &["Folder", "k.xlsx"]);

    for month in ["2025-13", "2025-6", "Juni"] {
        let o = run(
            &db,
            &["export", "agregat", "--month", month, "--out", s(&json)],
        );
        refused(&o, &["Bulan", month]);
    }
    let o = run(
        &db,
        &[
            "export",
            "agregat",
            "--month",
            "2025-06",
            "--out",
            s(&dir.path().join("a.csv")),
        ],
    );
    refused(&o, &["a.csv", ".json"]);
    let o = run(
        &db,
        &[
            "export",
            "agregat",
            "--month",
            "2025-06",
            "--out",
            s(&nowhere.join("a.json")),
        ],
    );
    refused(&o, &["Folder", "a.json"]);
    let o = run(
        &db,
        &[
            "export",
            "agregat",
            "--month",
            "2025-06",
            "--out",
            s(&json),
            "--kode-wilayah",
            "Sukamaju",
        ],
    );
    refused(&o, &["Kode wilayah", "Sukamaju"]);

    assert_eq!(names_in(dir.path()), before, "nothing written");
}
