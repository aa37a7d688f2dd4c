//! Reports through the facade on real SQLite files: the growth chart rendered with an independent
//! SVG renderer (resvg) and checked by what it drew.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{child, d, phone, weighing};
use timbang_core::domain::Sex;
use timbang_core::growth::{CURVE_Z, curve_values};
use timbang_core::reports::chart::{GrowthChart, POINT_COLOUR, PanelKind};

fn render(c: &GrowthChart) -> resvg::tiny_skia::Pixmap {
    let mut opt = resvg::usvg::Options::default();
    opt.fontdb_mut().load_system_fonts();
    let tree = resvg::usvg::Tree::from_str(&c.svg, &opt).expect("the chart is valid SVG");
    let size = tree.size().to_int_size();
    assert_eq!(
        (size.width(), size.height()),
        (c.width as u32, c.height as u32)
    );
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height()).unwrap();
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::identity(),
        &mut pixmap.as_mut(),
    );
    pixmap
}

fn hex(c: &str) -> [u8; 3] {
    let v = u32::from_str_radix(c.trim_start_matches('#'), 16).unwrap();
    [(v >> 16) as u8, (v >> 8) as u8, v as u8]
}

fn pixel(p: &resvg::tiny_skia::Pixmap, x: f64, y: f64) -> [u8; 3] {
    let c = p.pixel(x.round() as u32, y.round() as u32).unwrap();
    [c.red(), c.green(), c.blue()]
}

fn close(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 6)
}

#[test]
fn the_growth_chart_draws_the_points_the_bands_and_the_labels() {
    let p = phone("hp-1");
    let id =
        p.t.register_child(child("Sari Wulandari", Sex::Female, "2024-01-10"), true)
            .unwrap()
            .child_id;
    // Five months of weighings with length; the last one low.
    for (date, g, mm) in [
        ("2025-01-12", 8200, 720),
        ("2025-02-11", 8500, 735),
        ("2025-03-10", 8700, 745),
        ("2025-04-10", 8800, 752),
        ("2025-05-12", 8100, 758),
    ] {
        p.t.record_visit(&id, weighing(date, g, Some(mm)), true)
            .unwrap();
    }
    let c = p.t.growth_chart(&id).unwrap();
    assert_eq!(c.width, 360.0);
    assert_eq!(c.panels.len(), 3);
    for kind in [
        PanelKind::WeightForAge,
        PanelKind::HeightForAge,
        PanelKind::WeightForHeight,
    ] {
        assert_eq!(
            c.marks.iter().filter(|m| m.panel == kind).count(),
            5,
            "{kind:?}"
        );
    }
    for label in [
        "Berat badan menurut umur (BB/U)",
        "Panjang/tinggi badan menurut umur",
        "Berat badan menurut panjang badan (BB/PB)",
        "Umur (bulan)",
        "Gizi buruk",
        "BB sangat kurang",
        "Sangat pendek",
        "Sari Wulandari",
    ] {
        assert!(c.svg.contains(label), "{label}");
    }

    let px = render(&c);
    // CHART_PNG=/tmp/chart.png keeps the rendering, to look at it.
    if let Ok(p) = std::env::var("CHART_PNG") {
        px.save_png(p).unwrap();
    }
    // Every point is drawn where the chart says, in the point colour.
    for m in &c.marks {
        assert!(
            close(pixel(&px, m.x, m.y), hex(POINT_COLOUR)),
            "{:?} {} at ({:.1},{:.1}): {:?}",
            m.panel,
            m.date,
            m.x,
            m.y,
            pixel(&px, m.x, m.y)
        );
    }
    // The bands: in the weight-for-age panel at 3 months (no point there), the colour between the
    // WHO lines is the Permenkes class of that z range.
    let wfa = c.panels[0];
    let day = 91.0;
    let v = curve_values(wfa.curve, Sex::Female, day).unwrap();
    let at_z = |lo: usize, hi: usize| (v[lo] + v[hi]) / 2.0;
    let z = |x: f64| CURVE_Z.iter().position(|c| (*c - x).abs() < 1e-9).unwrap();
    for (value, band) in [
        (at_z(z(-2.0), z(-1.0)), 2), // between -2 and -1: normal
        (at_z(z(-3.0), z(-2.0)), 1), // kurang
        (at_z(z(1.0), z(2.0)), 3),   // risiko berat badan lebih
    ] {
        let (x, y) = wfa.to_px(day, value);
        assert!(
            close(pixel(&px, x, y), hex(wfa.bands()[band].colour)),
            "band {} at ({x:.1},{y:.1}): {:?}",
            wfa.bands()[band].label,
            pixel(&px, x, y)
        );
    }
    // Below -3 in weight-for-length: gizi buruk.
    let wfl = c.panels[2];
    let v = curve_values(wfl.curve, Sex::Female, 75.0).unwrap();
    let (x, y) = wfl.to_px(75.0, (v[0] + wfl.y_min.max(v[0] - 1.0)) / 2.0);
    if y < wfl.top + 264.0 - 2.0 {
        assert!(
            close(pixel(&px, x, y), hex(wfl.bands()[0].colour)),
            "gizi buruk at ({x:.1},{y:.1}): {:?}",
            pixel(&px, x, y)
        );
    }
    // Text was drawn (with a system font): the title row has dark pixels.
    let dark = (0..360u32)
        .flat_map(|x| (4..20u32).map(move |y| (x, y)))
        .filter(|(x, y)| {
            let c = px.pixel(*x, *y).unwrap();
            c.red() < 80 && c.green() < 80 && c.blue() < 80
        })
        .count();
    assert!(dark > 100, "title text drawn: {dark} dark pixels");
}

#[test]
fn the_chart_is_written_through_output_file_and_never_over_the_database() {
    let p = phone("hp-1");
    let id =
        p.t.register_child(child("Budi Santoso", Sex::Male, "2023-03-01"), true)
            .unwrap()
            .child_id;
    p.t.record_visit(&id, weighing("2025-06-01", 12500, Some(900)), true)
        .unwrap();
    let out = p.dir.path().join("grafik.svg");
    let c = p.t.write_growth_chart(&id, &out).unwrap();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), c.svg);
    // Over two years: weight-for-height.
    assert!(c.svg.contains("BB/TB"));
    let before = std::fs::read(&p.path).unwrap();
    let e = p.t.write_growth_chart(&id, &p.path).unwrap_err();
    assert_eq!(e.field(), Some("output"), "{e:?}");
    assert_eq!(std::fs::read(&p.path).unwrap(), before);
    let _ = d("2025-01-01");
}

#[test]
fn an_interrupted_register_import_keeps_whole_batches_and_the_next_run_adds_the_rest() {
    let p = phone("hp-1");
    let mut text = String::from(
        "name,sex,birth_date,nik,kk,mother_name,mother_nik,address,visit_date,weight_kg,height_cm,measured,head_circ_cm,muac_cm\n",
    );
    let names = [
        "Adi", "Bunga", "Citra", "Dimas", "Eka", "Fajar", "Gita", "Hana", "Indah", "Joko",
    ];
    let surnames = ["Saputra", "Lestari", "Wibowo", "Pratama", "Kusuma"];
    for i in 0..250usize {
        // Distinct names (no NIK): name, surname and a third name by hundreds.
        let name = format!(
            "{} {} {}",
            names[i % 10],
            surnames[(i / 10) % 5],
            ["Putra", "Putri", "Jaya", "Sari", "Wati"][i / 50]
        );
        text.push_str(&format!(
            "{name},L,2023-0{}-1{},,,,,,2025-05-10,10.{},,,,\n",
            1 + i % 9,
            i % 10,
            i % 10
        ));
    }
    let handle = p.t.interrupt_handle();
    let mut calls = Vec::new();
    let err =
        p.t.import_register("register.csv", text.as_bytes(), &mut |done, total| {
            calls.push((done, total));
            if done == 100 {
                handle.interrupt();
            }
        })
        .unwrap_err();
    assert!(matches!(err, timbang_core::Error::Interrupted), "{err:?}");
    assert_eq!(calls, [(0, 250), (100, 250)]);
    assert_eq!(
        p.t.village_list().unwrap().len(),
        100,
        "the first batch stays whole"
    );
    let r =
        p.t.import_register("register.csv", text.as_bytes(), &mut |_, _| {})
            .unwrap();
    assert_eq!((r.children, r.existing_children, r.skipped), (150, 100, 0));
    assert_eq!(p.t.village_list().unwrap().len(), 250);
}

#[test]
fn a_joined_phone_learns_the_posyandu_names_from_the_synced_children_and_reports_with_them() {
    use timbang_core::reports::Month;
    let a = phone("hp-1");
    let id =
        a.t.register_child(child("Sari Wulandari", Sex::Female, "2024-01-10"), true)
            .unwrap()
            .child_id;
    a.t.record_visit(&id, weighing("2025-06-10", 8800, None), true)
        .unwrap();
    let code = a.t.team_invite().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let b = common::open(
        &dir.path().join("hp2.db"),
        &timbang_core::crypto::Key::make_random().unwrap(),
    );
    let joined = b.team_join(&code, "hp-2").unwrap();
    assert_eq!(
        (joined.posyandu.as_str(), joined.village.as_str()),
        ("", "")
    );
    common::sync(&a.t, &b);
    let s = b.settings().unwrap();
    assert_eq!(
        (s.posyandu.as_str(), s.village.as_str()),
        ("Posyandu Melati", "Sukamaju")
    );
    // The names are in the child's document, so every report on the joined phone carries them.
    let skdn = b.skdn(Month::parse("2025-06").unwrap(), None).unwrap();
    assert_eq!(
        (skdn.posyandu.as_str(), skdn.village.as_str()),
        ("Posyandu Melati", "Sukamaju")
    );
    assert_eq!((skdn.s, skdn.d, skdn.b), (1, 1, 1));
    // A child the joined phone registers carries them on to the next phone.
    let other = b
        .register_child(child("Budi Santoso", Sex::Male, "2024-02-01"), true)
        .unwrap()
        .child_id;
    assert_eq!(
        b.child(&other).unwrap().posyandu.as_deref(),
        Some("Posyandu Melati")
    );
    // K changed on one phone reaches the other.
    b.set_has_kms(&id, false).unwrap();
    common::sync(&a.t, &b);
    assert!(!a.t.child(&id).unwrap().has_kms);
    assert_eq!(
        a.t.skdn(Month::parse("2025-06").unwrap(), None).unwrap().k,
        1
    );
}

/// Whether an outside tool is here. Without it the check is skipped with a note, unless
/// `TIMBANG_REQUIRE_EXTERNAL` is set (`.ci/run` sets it after installing the tools).
fn external(program: &str, probe: &[&str]) -> bool {
    let here = std::process::Command::new(program)
        .args(probe)
        .output()
        .is_ok_and(|o| o.status.success());
    if !here {
        assert!(
            std::env::var_os("TIMBANG_REQUIRE_EXTERNAL").is_none(),
            "{program} is required (TIMBANG_REQUIRE_EXTERNAL is set)"
        );
        eprintln!("skipped: {program} is not installed");
    }
    here
}

#[test]
fn an_independent_renderer_draws_the_chart_the_same_rsvg_convert() {
    if !external("rsvg-convert", &["--version"]) {
        return;
    }
    let p = phone("hp-1");
    let id =
        p.t.register_child(child("Sari Wulandari", Sex::Female, "2024-01-10"), true)
            .unwrap()
            .child_id;
    for (date, g, mm) in [
        ("2025-02-11", 8500, 735),
        ("2025-03-10", 8700, 745),
        ("2025-04-10", 8800, 752),
    ] {
        p.t.record_visit(&id, weighing(date, g, Some(mm)), true)
            .unwrap();
    }
    let svg = p.dir.path().join("grafik.svg");
    let c = p.t.write_growth_chart(&id, &svg).unwrap();
    let png = p.dir.path().join("grafik.png");
    let o = std::process::Command::new("rsvg-convert")
        .arg("-o")
        .arg(&png)
        .arg(&svg)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let px = resvg::tiny_skia::Pixmap::load_png(&png).unwrap();
    assert_eq!((px.width(), px.height()), (c.width as u32, c.height as u32));
    assert_eq!(c.marks.len(), 9);
    for m in &c.marks {
        assert!(
            close(pixel(&px, m.x, m.y), hex(POINT_COLOUR)),
            "{:?} at ({:.1},{:.1}): {:?}",
            m.panel,
            m.x,
            m.y,
            pixel(&px, m.x, m.y)
        );
    }
}

#[test]
fn an_independent_reader_opens_the_eppgbm_xlsx_openpyxl() {
    if !external("python3", &["-c", "import openpyxl"]) {
        return;
    }
    let p = phone("hp-1");
    let mut nik_child = child("Sari Wulandari", Sex::Female, "2024-01-10");
    nik_child.nik = Some("3273015001240001".into());
    nik_child.kk = Some("3273012010150003".into());
    let sari = p.t.register_child(nik_child, true).unwrap().child_id;
    let budi =
        p.t.register_child(child("Budi Santoso", Sex::Male, "2024-02-01"), true)
            .unwrap()
            .child_id;
    p.t.register_child(child("Cici Paramita", Sex::Female, "2023-09-09"), true)
        .unwrap();
    p.t.record_visit(&sari, weighing("2025-06-10", 8800, Some(765)), true)
        .unwrap();
    p.t.record_visit(&budi, weighing("2025-06-11", 9100, None), true)
        .unwrap();
    let month = timbang_core::reports::Month::parse("2025-06").unwrap();
    let table = p.t.eppgbm_export(month, None).unwrap();
    let out = p.dir.path().join("eppgbm.xlsx");
    p.t.write_table(&table, &out).unwrap();
    let script = r#"
import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
ws = wb.worksheets[0]
rows = [[{"v": c.value, "t": type(c.value).__name__, "fmt": c.number_format} for c in r] for r in ws.iter_rows()]
print(json.dumps(rows, default=str))
"#;
    let o = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    let header: Vec<&str> = rows[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["v"].as_str().unwrap())
        .collect();
    let want: Vec<&str> = table.headers.iter().map(String::as_str).collect();
    assert_eq!(header, want);
    assert_eq!(rows.len(), 3, "one row per child weighed in June");
    let col = |h: &str| header.iter().position(|x| *x == h).unwrap();
    let sari_row = rows[2].as_array().unwrap();
    let nik = &sari_row[col("NIK Anak")];
    assert_eq!(nik["v"], "3273015001240001");
    assert_eq!(nik["t"], "str");
    assert_eq!(nik["fmt"], "@");
    assert_eq!(sari_row[col("No. KK")]["t"], "str");
    assert_eq!(sari_row[col("Tanggal Pengukuran")]["v"], "2025-06-10");
    assert_eq!(sari_row[col("Tanggal Pengukuran")]["t"], "str");
    assert_eq!(sari_row[col("Berat Badan (kg)")]["t"], "float");
}
