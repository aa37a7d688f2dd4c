//! Reports through the `timbang` binary: SKDN with hand-computed expectations on a small posyandu.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

const TODAY: &str = "2025-06-15";

#[derive(Debug)]
pub struct Env {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
}

pub fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("posyandu.db");
    Env { dir, db }
}

pub fn run(e: &Env, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_timbang"))
        .arg("--db")
        .arg(&e.db)
        .args(args)
        .env("TIMBANG_TODAY", TODAY)
        .env_remove("TIMBANG_KADER")
        .output()
        .unwrap()
}

pub fn ok(e: &Env, args: &[&str]) -> String {
    let o = run(e, args);
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

fn child(e: &Env, name: &str, sex: &str, dob: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "child", "add", "--name", name, "--sex", sex, "--dob", dob, "--yes",
    ];
    args.extend_from_slice(extra);
    last_line(&ok(e, &args))
}

fn weigh(e: &Env, id: &str, date: &str, kg: &str) {
    ok(
        e,
        &["visit", "add", id, "--date", date, "--weight", kg, "--yes"],
    );
}

/// The small posyandu of the SKDN test; returns the id of the child without a KMS.
fn posyandu(e: &Env) -> String {
    ok(e, common::INIT);
    // A: N in June (8.5 -> 8.8 kg at 16 months, KBM 200 g); N in May.
    let a = child(e, "Adi Saputra", "L", "2024-01-10", &[]);
    weigh(e, &a, "2025-04-10", "8.0");
    weigh(e, &a, "2025-05-10", "8.5");
    weigh(e, &a, "2025-06-10", "8.8");
    // B: first weighing in May (B), T in June (+100 g).
    let b = child(e, "Bunga Lestari", "P", "2024-01-12", &[]);
    weigh(e, &b, "2025-05-12", "8.0");
    weigh(e, &b, "2025-06-12", "8.1");
    // C: O in June (weighed in March, not in May).
    let c = child(e, "Citra Dewi", "P", "2023-06-01", &[]);
    weigh(e, &c, "2025-03-05", "9.0");
    weigh(e, &c, "2025-06-05", "9.5");
    // D: B in June (first weighing).
    let d = child(e, "Dimas Pratama", "L", "2025-03-01", &[]);
    weigh(e, &d, "2025-06-01", "5.5");
    // E: no KMS; T in May and T again in June: 2T.
    let k = child(e, "Eko Wibowo", "L", "2024-06-01", &["--no-kms"]);
    weigh(e, &k, "2025-04-01", "9.0");
    weigh(e, &k, "2025-05-01", "8.8");
    weigh(e, &k, "2025-06-01", "8.7");
    // F: weighed in May only (B in May; in S but not D in June).
    let f = child(e, "Fitri Handayani", "P", "2024-08-01", &[]);
    weigh(e, &f, "2025-05-20", "8.0");
    // G: first weighing in June, far below the red line: B and BGM.
    let g = child(e, "Gita Permata", "P", "2024-06-15", &[]);
    weigh(e, &g, "2025-06-14", "6.0");
    // H: 60 months on 1 May: not a balita in May or June, weighed in June anyway.
    let h = child(e, "Hadi Kusuma", "L", "2020-05-01", &[]);
    weigh(e, &h, "2025-06-03", "16.0");
    k
}

fn skdn(e: &Env, month: &str) -> serde_json::Value {
    serde_json::from_str(&ok(e, &["report", "skdn", "--month", month, "--json"])).unwrap()
}

fn counts(v: &serde_json::Value) -> Vec<u64> {
    ["s", "k", "d", "n", "t", "o", "b", "bgm", "two_t"]
        .iter()
        .map(|k| v[*k].as_u64().unwrap_or_else(|| panic!("{k} in {v}")))
        .collect()
}

#[test]
fn skdn_of_a_small_posyandu_matches_the_hand_count() {
    let e = env();
    let no_kms = posyandu(&e);

    let june = skdn(&e, "2025-06");
    //                       S  K  D  N  T  O  B  BGM 2T
    assert_eq!(counts(&june), [7, 6, 6, 1, 2, 1, 2, 1, 1], "{june}");
    assert_eq!(june["identity_holds"], true);
    assert_eq!(june["posyandu"], "Melati");
    assert_eq!(june["village"], "Sukamaju");
    assert!((june["d_s"].as_f64().unwrap() - 6.0 / 7.0).abs() < 1e-9);
    assert!((june["n_d"].as_f64().unwrap() - 1.0 / 6.0).abs() < 1e-9);
    // H was weighed but is 60 months old: left out of S and D, and said so.
    let notes = june["mismatch"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{june}");
    assert_eq!(notes[0]["code"], "weighed_over_59_months");

    let may = skdn(&e, "2025-05");
    assert_eq!(counts(&may), [7, 6, 4, 1, 1, 0, 2, 0, 0], "{may}");

    // Nobody weighed yet in July. In April all eight were balita (H 59 months on 1 April) and A and
    // E were weighed for the first time (B).
    assert_eq!(counts(&skdn(&e, "2025-07")), [7, 6, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(counts(&skdn(&e, "2025-04")), [8, 7, 2, 0, 0, 0, 2, 0, 0]);

    // The card can be recorded later: K counts the child from then on.
    ok(&e, &["child", "kms", &no_kms, "ya"]);
    assert_eq!(skdn(&e, "2025-06")["k"], 7);
    let shown: serde_json::Value =
        serde_json::from_str(&ok(&e, &["child", "show", &no_kms, "--json"])).unwrap();
    assert_eq!(shown["has_kms"], true);
    assert_eq!(shown["posyandu"], "Melati");

    // The text report says the same.
    let text = ok(&e, &["report", "skdn", "--month", "2025-06"]);
    assert!(text.contains("Juni 2025"), "{text}");
    assert!(text.contains("6 = 6 (cocok)"), "{text}");
}

#[test]
fn skdn_refuses_a_bad_month_naming_it() {
    let e = env();
    ok(&e, common::INIT);
    for bad in ["2025-13", "06-2025", "2025-6", "juni"] {
        let o = run(&e, &["report", "skdn", "--month", bad, "--json"]);
        assert_eq!(o.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("Bulan"), "{bad}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    let o = run(&e, &["child", "kms", "not-an-id", "ya"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn chart_writes_an_svg_and_refuses_other_names() {
    let e = env();
    ok(&e, common::INIT);
    let id = child(&e, "Sari Wulandari", "P", "2024-01-10", &[]);
    ok(
        &e,
        &[
            "visit",
            "add",
            &id,
            "--date",
            "2025-06-10",
            "--weight",
            "9.1",
            "--height",
            "76",
            "--position",
            "lying",
            "--yes",
        ],
    );
    let out = e.dir.path().join("grafik.svg");
    let printed = ok(&e, &["chart", &id, "--out", out.to_str().unwrap()]);
    assert!(printed.contains(out.to_str().unwrap()), "{printed}");
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("BB/U"),
        "{svg:.200}"
    );
    // Not an .svg name, or the database itself: exit 2, nothing written.
    let png = e.dir.path().join("grafik.png");
    let o = run(&e, &["chart", &id, "--out", png.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!png.exists());
    let before = std::fs::read(&e.db).unwrap();
    let o = run(&e, &["chart", &id, "--out", e.db.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(std::fs::read(&e.db).unwrap(), before);
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
fn exports_read_back_with_nik_kk_and_dates_as_text() {
    use calamine::Reader;
    let e = env();
    ok(&e, common::INIT);
    let sari = child(
        &e,
        "Sari Wulandari",
        "P",
        "2024-01-10",
        &[
            "--nik",
            "3273015001240001",
            "--kk",
            "3273012010150003",
            "--mother",
            "Dewi Lestari",
            "--mother-nik",
            "3273016408950002",
        ],
    );
    let budi = child(
        &e,
        "Budi Santoso",
        "L",
        "2024-01-12",
        &["--nik", "3273011201240002"],
    );
    let _cici = child(&e, "Cici Paramita", "P", "2023-09-09", &[]);
    ok(
        &e,
        &[
            "visit",
            "add",
            &sari,
            "--date",
            "2025-06-10",
            "--weight",
            "8.8",
            "--height",
            "76.5",
            "--position",
            "lying",
            "--service",
            "vit_a_merah",
            "--yes",
        ],
    );
    weigh(&e, &budi, "2025-05-12", "8.0");
    weigh(&e, &budi, "2025-06-12", "8.1");

    // e-PPGBM as xlsx: one row per child weighed in June, NIK and dates as text cells.
    let xlsx = e.dir.path().join("eppgbm-2025-06.xlsx");
    let shown: serde_json::Value = serde_json::from_str(&ok(
        &e,
        &[
            "export",
            "eppgbm",
            "--month",
            "2025-06",
            "--out",
            xlsx.to_str().unwrap(),
            "--json",
        ],
    ))
    .unwrap();
    assert_eq!(shown["rows"], 2);
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    let sheet = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&sheet).unwrap();
    let rows: Vec<Vec<calamine::Data>> = range.rows().map(|r| r.to_vec()).collect();
    let header: Vec<String> = rows[0].iter().map(cell_text).collect();
    let expected: Vec<String> = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../schema/id/eppgbm-columns.csv"
    ))
    .unwrap()
    .lines()
    .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    .skip(1)
    .map(|l| l.rsplit_once(',').unwrap().0.to_owned())
    .collect();
    assert_eq!(header, expected);
    assert_eq!(rows.len(), 3, "header and two children");
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    // Ordered by name: Budi, then Sari.
    let sari_row = &rows[2];
    assert_eq!(
        sari_row[col("NIK Anak")],
        calamine::Data::String("3273015001240001".into())
    );
    assert_eq!(
        sari_row[col("No. KK")],
        calamine::Data::String("3273012010150003".into())
    );
    assert_eq!(
        sari_row[col("NIK Ibu")],
        calamine::Data::String("3273016408950002".into())
    );
    assert_eq!(
        sari_row[col("Tanggal Lahir")],
        calamine::Data::String("2024-01-10".into())
    );
    assert_eq!(
        sari_row[col("Tanggal Pengukuran")],
        calamine::Data::String("2025-06-10".into())
    );
    assert_eq!(
        sari_row[col("Berat Badan (kg)")],
        calamine::Data::Float(8.8)
    );
    assert_eq!(
        sari_row[col("Tinggi Badan (cm)")],
        calamine::Data::Float(76.5)
    );
    assert_eq!(
        sari_row[col("Cara Ukur")],
        calamine::Data::String("telentang".into())
    );
    assert_eq!(
        sari_row[col("Jenis Kelamin")],
        calamine::Data::String("P".into())
    );
    assert_eq!(cell_text(&rows[1][col("Nama Anak")]), "Budi Santoso");
    assert!(matches!(rows[1][col("ZS BB/U")], calamine::Data::Float(_)));

    // The same as CSV.
    let csv_path = e.dir.path().join("eppgbm.csv");
    ok(
        &e,
        &[
            "export",
            "eppgbm",
            "--month",
            "2025-06",
            "--out",
            csv_path.to_str().unwrap(),
        ],
    );
    let mut r = csv::Reader::from_path(&csv_path).unwrap();
    assert_eq!(r.headers().unwrap().iter().collect::<Vec<_>>(), expected);
    let recs: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(recs.len(), 2);
    assert_eq!(&recs[1][col("NIK Anak")], "3273015001240001");

    // A district's own columns.
    let cols = e.dir.path().join("kolom.csv");
    std::fs::write(&cols, "header,field\nNIK,nik\nBB,weight_kg\n").unwrap();
    let small = e.dir.path().join("small.csv");
    ok(
        &e,
        &[
            "export",
            "eppgbm",
            "--month",
            "2025-06",
            "--out",
            small.to_str().unwrap(),
            "--columns",
            cols.to_str().unwrap(),
        ],
    );
    assert_eq!(
        std::fs::read_to_string(&small).unwrap(),
        "NIK,BB\n3273011201240002,8.1\n3273015001240001,8.8\n"
    );
    std::fs::write(&cols, "header,field\nNIK,nik\nBB,berat\n").unwrap();
    let o = run(
        &e,
        &[
            "export",
            "eppgbm",
            "--month",
            "2025-06",
            "--out",
            small.to_str().unwrap(),
            "--columns",
            cols.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("baris 3"));

    // The register of June (SIP format 2): every target child, weights month by month.
    let reg = e.dir.path().join("register.xlsx");
    ok(
        &e,
        &[
            "export",
            "register",
            "--month",
            "2025-06",
            "--out",
            reg.to_str().unwrap(),
        ],
    );
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(&reg).unwrap();
    let range = wb.worksheet_range("Register").unwrap();
    let rows: Vec<Vec<String>> = range
        .rows()
        .map(|r| r.iter().map(cell_text).collect())
        .collect();
    let h = rows.iter().position(|r| r[0] == "No").unwrap();
    assert_eq!(rows.len() - h - 1, 3, "three children in S");
    let budi_row = rows.iter().find(|r| r[1] == "Budi Santoso").unwrap();
    let hcol = |name: &str| rows[h].iter().position(|x| x == name).unwrap();
    assert_eq!(budi_row[hcol("BB Mei 2025 (kg)")], "8");
    assert_eq!(budi_row[hcol("BB Jun 2025 (kg)")], "8.1");
    assert_eq!(budi_row[hcol("N/T/O/B bulan ini")], "T");
    let sari_row = rows.iter().find(|r| r[1] == "Sari Wulandari").unwrap();
    assert_eq!(sari_row[hcol("Vitamin A bulan ini")], "merah");
    assert_eq!(sari_row[hcol("NIK")], "3273015001240001");

    // SIP format 6: S, K, D, N, BGM and the services.
    let sip = e.dir.path().join("sip6.csv");
    ok(
        &e,
        &[
            "export",
            "sip6",
            "--month",
            "2025-06",
            "--out",
            sip.to_str().unwrap(),
        ],
    );
    let mut r = csv::Reader::from_path(&sip).unwrap();
    let got: Vec<(String, String)> = r
        .records()
        .map(|x| {
            let x = x.unwrap();
            (x[1].to_owned(), x[2].to_owned())
        })
        .collect();
    let get = |k: &str| {
        got.iter()
            .find(|(a, _)| a.starts_with(k))
            .unwrap()
            .1
            .clone()
    };
    assert_eq!(get("S:"), "3");
    assert_eq!(get("K:"), "3");
    assert_eq!(get("D:"), "2");
    assert_eq!(get("N:"), "0");
    assert_eq!(get("T:"), "1");
    assert_eq!(get("B:"), "1");
    assert_eq!(get("Yang BGM"), "0");
    assert_eq!(get("Balita 12-59 bulan"), "1");

    // Bad names: exit 2, nothing written.
    let txt = e.dir.path().join("x.txt");
    let o = run(
        &e,
        &[
            "export",
            "eppgbm",
            "--month",
            "2025-06",
            "--out",
            txt.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(!txt.exists());
}

fn names(e: &Env, args: &[&str]) -> Vec<String> {
    let mut all = vec!["list", "--json"];
    all.extend_from_slice(args);
    let v: serde_json::Value = serde_json::from_str(&ok(e, &all)).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["name"]
                .as_str()
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[test]
fn the_village_list_orders_by_urgency_and_filters_by_rt_rw_and_not_weighed() {
    let e = env();
    ok(&e, common::INIT);
    // Ani: T in June (a referral reason, urgency 7: schema/id/referral-reasons.csv).
    let ani = child(
        &e,
        "Ani Lestari",
        "P",
        "2024-01-10",
        &["--rt", "1", "--rw", "1"],
    );
    weigh(&e, &ani, "2025-05-10", "8.0");
    weigh(&e, &ani, "2025-06-10", "8.1");
    // Bayu: below the red line in June (BGM, urgency 8).
    let bayu = child(
        &e,
        "Bayu Pratama",
        "L",
        "2024-06-15",
        &["--rt", "RT 02", "--rw", "01"],
    );
    weigh(&e, &bayu, "2025-06-14", "6.0");
    // Cinta: last weighed in March: not weighed for 3 months (urgency 1).
    let cinta = child(
        &e,
        "Cinta Dewi",
        "P",
        "2023-06-01",
        &["--rt", "001", "--rw", "1"],
    );
    weigh(&e, &cinta, "2025-03-05", "9.0");
    // Dodi: N in June, nothing to refer.
    let dodi = child(
        &e,
        "Dodi Saputra",
        "L",
        "2024-01-12",
        &["--rt", "1", "--rw", "2"],
    );
    weigh(&e, &dodi, "2025-05-12", "9.0");
    weigh(&e, &dodi, "2025-06-12", "9.4");
    // Eka: never weighed, 9 months old: not weighed for 3 months (urgency 1).
    child(
        &e,
        "Eka Putri",
        "P",
        "2024-09-09",
        &["--rt", "2", "--rw", "1"],
    );

    // Most urgent first (BGM 10, T 7, not weighed for 3 months 1, nothing), then by name.
    assert_eq!(names(&e, &[]), ["Bayu", "Ani", "Cinta", "Eka", "Dodi"]);
    assert_eq!(names(&e, &["--rt", "1"]), ["Ani", "Cinta", "Dodi"]);
    assert_eq!(
        names(&e, &["--rt", "001", "--rw", "RW 01"]),
        ["Ani", "Cinta"]
    );
    assert_eq!(names(&e, &["--rw", "1"]), ["Bayu", "Ani", "Cinta", "Eka"]);
    assert_eq!(names(&e, &["--not-weighed"]), ["Cinta", "Eka"]);
    assert_eq!(
        names(&e, &["--not-weighed", "--month", "2025-05"]),
        ["Bayu", "Cinta", "Eka"]
    );
    assert_eq!(names(&e, &["--not-weighed", "--rt", "2"]), ["Eka"]);
    assert_eq!(names(&e, &["--posyandu", "melati"]).len(), 5);
    assert!(names(&e, &["--posyandu", "Mawar"]).is_empty());
    let shown: serde_json::Value =
        serde_json::from_str(&ok(&e, &["child", "show", &bayu, "--json"])).unwrap();
    assert_eq!(
        (shown["rt"].as_str(), shown["rw"].as_str()),
        (Some("002"), Some("001"))
    );

    for bad in [
        &["--rt", "satu"][..],
        &["--rw", "0"],
        &["--not-weighed", "--month", "2025-13"],
    ] {
        let mut args = vec!["list", "--json"];
        args.extend_from_slice(bad);
        assert_eq!(run(&e, &args).status.code(), Some(2), "{bad:?}");
    }
    let o = run(
        &e,
        &[
            "child",
            "add",
            "--name",
            "Fani",
            "--sex",
            "P",
            "--dob",
            "2024-01-01",
            "--rt",
            "x",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("RT"));
    assert_eq!(names(&e, &[]).len(), 5, "nothing registered");
}
