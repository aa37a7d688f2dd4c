//! `timbang dashboard` through the binary, and issue 18's acceptance scenario: a posyandu of 8 children
//! over September, October and November 2025 (today 20 November), 6 of 8 weighed in November, one child
//! gizi buruk in November (LiLA 11.0 cm).
//!
//! The dashboard is checked twice: as a file (no URL, no `src`, no `@import`, no `url(` at all) and in
//! a real browser, Debian's `chromium` headless:
//! * the rendered text (the page's `innerText` read from a frame 360 pixels wide) shows November's D/S
//!   "6 dari 8", the warning and the child's name in the list to visit;
//! * the page is no wider than that frame (nothing scrolls sideways but the tables' own boxes); a copy
//!   with those boxes removed is wider, so the measure can fail;
//! * Chromium's network log (`--log-net-log`) holds no request made by the page: every request a page
//!   makes carries the page as its initiator (a file page's opaque origin, `null`), while Chromium's own
//!   background requests carry "not an origin". A control page with one external image and one external
//!   style sheet shows exactly those two requests, so the check can fail. Name resolution is mapped to
//!   nothing (`--host-resolver-rules`), so no request of either kind leaves the machine.
//!
//! Without chromium the browser checks are skipped with a note, unless `TIMBANG_REQUIRE_EXTERNAL` is set
//! (`.ci/run` installs chromium and sets it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TODAY: &str = "2025-11-20";

fn run(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_timbang"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env("TIMBANG_TODAY", TODAY)
        .env_remove("TIMBANG_KADER")
        .env_remove("TIMBANG_ASIK_ORG")
        .output()
        .expect("run timbang")
}

fn ok(db: &Path, args: &[&str]) -> String {
    let o = run(db, args);
    assert!(
        o.status.success(),
        "{args:?}: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("utf-8 output")
}

/// One child of the scenario: name, KK, RT, and its visits (date, kg, cm, LiLA cm).
struct Kid {
    name: &'static str,
    kk: &'static str,
    rt: &'static str,
    visits: &'static [(
        &'static str,
        &'static str,
        &'static str,
        Option<&'static str>,
    )],
}

const SEP: &str = "2025-09-10";
const OCT: &str = "2025-10-10";
const NOV: &str = "2025-11-10";

/// Healthy growth: 300 g and 1 cm a month, 15 to 17 months old.
const HEALTHY: &[(&str, &str, &str, Option<&str>)] = &[
    (SEP, "10.2", "79", None),
    (OCT, "10.5", "80", None),
    (NOV, "10.8", "81", None),
];
/// Healthy, but not weighed in November.
const ABSENT: &[(&str, &str, &str, Option<&str>)] =
    &[(SEP, "10.2", "79", None), (OCT, "10.5", "80", None)];
/// Gizi buruk in November: LiLA 11.0 cm (below 11.5 cm).
const SICK: &[(&str, &str, &str, Option<&str>)] = &[
    (SEP, "10.2", "79", Some("14.0")),
    (OCT, "10.5", "80", Some("13.8")),
    (NOV, "10.8", "81", Some("11.0")),
];

const SICK_NAME: &str = "Rizki Pratama";
const SICK_KK: &str = "3273012010150001";

const KIDS: [Kid; 8] = [
    Kid {
        name: SICK_NAME,
        kk: SICK_KK,
        rt: "002",
        visits: SICK,
    },
    Kid {
        name: "Ayu Lestari",
        kk: "3273012010150002",
        rt: "001",
        visits: HEALTHY,
    },
    Kid {
        name: "Bagus Wibowo",
        kk: "3273012010150003",
        rt: "001",
        visits: HEALTHY,
    },
    Kid {
        name: "Citra Dewi",
        kk: "3273012010150004",
        rt: "002",
        visits: HEALTHY,
    },
    Kid {
        name: "Dimas Saputra",
        kk: "3273012010150005",
        rt: "003",
        visits: HEALTHY,
    },
    Kid {
        name: "Eka Putri",
        kk: "3273012010150006",
        rt: "003",
        visits: HEALTHY,
    },
    Kid {
        name: "Fajar Nugroho",
        kk: "3273012010150007",
        rt: "001",
        visits: ABSENT,
    },
    Kid {
        name: "Gita Maharani",
        kk: "3273012010150008",
        rt: "002",
        visits: ABSENT,
    },
];

/// The posyandu of the scenario; returns the database and the sick child's id.
fn posyandu(dir: &Path) -> (PathBuf, String) {
    let db = dir.join("posyandu.db");
    ok(&db, common::INIT);
    let mut sick = String::new();
    for k in &KIDS {
        let out = ok(
            &db,
            &[
                "child",
                "add",
                "--name",
                k.name,
                "--sex",
                "L",
                "--dob",
                "2024-06-01",
                "--kk",
                k.kk,
                "--mother",
                "Ibu Sintetis",
                "--rt",
                k.rt,
                "--rw",
                "005",
                "--yes",
            ],
        );
        let id = out.trim_end().lines().last().unwrap().trim().to_owned();
        for (date, kg, cm, muac) in k.visits {
            let mut args = vec![
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
            ];
            if let Some(m) = muac {
                args.extend(["--muac", m]);
            }
            ok(&db, &args);
        }
        if k.name == SICK_NAME {
            sick = id;
        }
    }
    (db, sick)
}

fn dashboard(db: &Path, out: &Path) -> String {
    ok(db, &["dashboard", "--out", out.to_str().unwrap()]);
    std::fs::read_to_string(out).unwrap()
}

/// What would make a browser load something from outside the file.
fn external_references(html: &str) -> Vec<&'static str> {
    let lower = html.to_ascii_lowercase();
    [
        "http:", "https:", "//", "@import", "url(", " src=", "<script", "<link", "<iframe",
        "<object", "<embed",
    ]
    .into_iter()
    .filter(|p| lower.contains(p))
    .collect()
}

/// Whether an outside tool is here. Without it the check is skipped with a note, unless
/// `TIMBANG_REQUIRE_EXTERNAL` is set (`.ci/run` sets it after installing the tools).
fn external(program: &str, probe: &[&str]) -> bool {
    let here = Command::new(program)
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

/// Chromium headless on `page` with its own profile in `dir`; `extra` flags; returns stdout.
/// `--no-sandbox`: the tests may run as root, where Chromium's sandbox refuses to start.
fn chromium(dir: &Path, tag: &str, page: &Path, extra: &[String]) -> String {
    let profile = dir.join(format!("profile-{tag}"));
    let o = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(
        o.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The URLs a page asked for, from Chromium's network log: requests whose initiator is the page (a file
/// page's origin is opaque: `null`) rather than the browser itself ("not an origin").
fn page_requests(net_log: &Path) -> Vec<String> {
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(net_log).unwrap()).unwrap();
    let start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
        .as_i64()
        .unwrap();
    let mut out = Vec::new();
    for e in log["events"].as_array().unwrap() {
        if e["type"].as_i64() != Some(start) {
            continue;
        }
        let p = &e["params"];
        let Some(url) = p["url"].as_str() else {
            continue;
        };
        let initiator = p["initiator"].as_str().unwrap_or("");
        let key = p["network_isolation_key"].as_str().unwrap_or("");
        if initiator != "not an origin" || key.contains("file://") {
            out.push(url.to_owned());
        }
    }
    out
}

/// Load `page` with a network log; the requests the page made.
fn requests_of(dir: &Path, tag: &str, page: &Path) -> Vec<String> {
    let log = dir.join(format!("net-{tag}.json"));
    chromium(
        dir,
        tag,
        page,
        &[
            format!("--log-net-log={}", log.display()),
            "--dump-dom".to_owned(),
        ],
    );
    page_requests(&log)
}

/// The dashboard in a frame `width` pixels wide: (the page's width, the frame's width, the rendered
/// text). The frame reads its file sibling, which Chromium allows only with
/// `--allow-file-access-from-files`.
fn rendered(dir: &Path, tag: &str, page: &Path, width: u32) -> (u32, u32, String) {
    let frame = dir.join(format!("frame-{tag}.html"));
    std::fs::write(
        &frame,
        format!(
            r#"<!DOCTYPE html><html><body style="margin:0"><iframe id="f" src="{}" style="width:{width}px;height:640px;border:0"></iframe><pre id="out"></pre><script>
window.addEventListener('load', function () {{
  var d = document.getElementById('f').contentDocument;
  document.getElementById('out').textContent =
    'WIDTHS ' + d.documentElement.scrollWidth + ' ' + d.documentElement.clientWidth + '\n' + d.body.innerText;
}});
</script></body></html>"#,
            page.file_name().unwrap().to_str().unwrap()
        ),
    )
    .unwrap();
    let dom = chromium(
        dir,
        tag,
        &frame,
        &[
            "--allow-file-access-from-files".to_owned(),
            "--dump-dom".to_owned(),
        ],
    );
    let start = dom.find("WIDTHS ").unwrap_or_else(|| panic!("{dom}"));
    let text = &dom[start..];
    let text = &text[..text.find("</pre>").unwrap()];
    let first = text.lines().next().unwrap();
    let w: Vec<u32> = first
        .split_whitespace()
        .skip(1)
        .map(|n| n.parse().unwrap())
        .collect();
    // The text came through the DOM serialiser: undo its escapes.
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    (w[0], w[1], text)
}

#[test]
fn the_dashboard_refers_to_nothing_outside_and_the_browser_loads_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = posyandu(dir.path());
    let out = dir.path().join("dasbor.html");
    let html = dashboard(&db, &out);
    assert_eq!(external_references(&html), Vec::<&str>::new());
    assert!(html.contains("@page{size:A4"), "printable on A4");
    assert!(html.contains(r#"name="viewport""#));

    if !external("chromium", &["--version"]) {
        return;
    }
    // The control: a page that does load from outside shows its two requests.
    let control = dir.path().join("kontrol.html");
    std::fs::write(
        &control,
        r#"<html><head><link rel="stylesheet" href="https://fonts.example.invalid/a.css"></head><body><img src="http://gambar.example.invalid/x.png">x</body></html>"#,
    )
    .unwrap();
    let mut seen = requests_of(dir.path(), "kontrol", &control);
    seen.sort();
    assert_eq!(
        seen,
        vec![
            "http://gambar.example.invalid/x.png".to_owned(),
            "https://fonts.example.invalid/a.css".to_owned()
        ]
    );
    assert_eq!(
        requests_of(dir.path(), "dasbor", &out),
        Vec::<String>::new()
    );
}

#[test]
fn on_a_360_pixel_screen_only_the_tables_scroll() {
    if !external("chromium", &["--version"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = posyandu(dir.path());
    let out = dir.path().join("dasbor.html");
    let html = dashboard(&db, &out);
    let (page, frame, text) = rendered(dir.path(), "360", &out, 360);
    assert!(page <= frame, "page {page} px wide in a {frame} px frame");
    assert!(text.contains("Anak yang perlu dikunjungi"), "{text}");
    // The same page without the tables' scrolling boxes is wider than the screen: the measure works.
    let wide = dir.path().join("lebar.html");
    std::fs::write(&wide, html.replace(r#"class="scroll""#, r#"class="x""#)).unwrap();
    let (page, frame, _) = rendered(dir.path(), "lebar", &wide, 360);
    assert!(page > frame, "page {page} px wide in a {frame} px frame");
}

#[test]
fn acceptance_issue_18_november_of_a_posyandu_of_eight() {
    let dir = tempfile::tempdir().unwrap();
    let (db, sick) = posyandu(dir.path());

    // The dashboard: November's D/S is 6 of 8.
    let out = dir.path().join("dasbor.html");
    let html = dashboard(&db, &out);
    assert!(
        html.contains(r#"Partisipasi D/S November 2025<b class="ds-now">6 dari 8 (75%)</b>"#),
        "{html}"
    );
    assert!(html.contains("6/8 (75%)"));
    if external("chromium", &["--version"]) {
        let (_, _, text) = rendered(dir.path(), "terima", &out, 360);
        assert!(
            text.contains("Partisipasi D/S November 2025\n6 dari 8 (75%)"),
            "{text}"
        );
        let warn = format!("{SICK_NAME}: Baru gizi buruk sejak 10 November 2025.");
        let warnings = &text[text.find("Peringatan bulan ini").unwrap()..];
        assert!(warnings.contains(&warn), "{text}");
        let visit = &text[text.find("Anak yang perlu dikunjungi").unwrap()..];
        assert!(visit.contains(SICK_NAME), "{text}");
        for k in KIDS.iter().filter(|k| k.name != SICK_NAME) {
            assert!(
                !visit.contains(k.name),
                "{} is not to visit: {visit}",
                k.name
            );
        }
    }

    // The warnings name the child who became gizi buruk.
    let json: serde_json::Value = serde_json::from_str(&ok(&db, &["warnings", "--json"])).unwrap();
    let all = json.as_array().unwrap();
    let buruk = all
        .iter()
        .find(|w| w["code"] == "GIZI_BURUK")
        .unwrap_or_else(|| panic!("{json:#}"));
    assert_eq!(buruk["child_id"], sick.as_str());
    assert_eq!(buruk["since"], NOV);
    assert!(
        all.iter()
            .all(|w| w["child_id"].is_null() || w["child_id"] == sick.as_str()),
        "only the sick child is warned about: {json:#}"
    );

    // The ELSIMIL hand-over lists that child's family by KK, and no healthy child.
    let csv_path = dir.path().join("elsimil.csv");
    ok(
        &db,
        &[
            "export",
            "elsimil",
            "--month",
            "2025-11",
            "--out",
            csv_path.to_str().unwrap(),
        ],
    );
    let mut r = csv::Reader::from_path(&csv_path).unwrap();
    let headers: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let kk = headers.iter().position(|h| h == "No. KK").unwrap();
    assert_eq!(&rows[0][kk], SICK_KK);
    let text = std::fs::read_to_string(&csv_path).unwrap();
    for k in KIDS.iter().filter(|k| k.name != SICK_NAME) {
        assert!(!text.contains(k.name) && !text.contains(k.kk), "{text}");
    }

    // The kohort has one row per child: the 8 children, each once, for the year 2025.
    let kohort_path = dir.path().join("kohort.csv");
    ok(
        &db,
        &[
            "export",
            "kohort",
            "--year",
            "2025",
            "--out",
            kohort_path.to_str().unwrap(),
        ],
    );
    let mut r = csv::Reader::from_path(&kohort_path).unwrap();
    let name = r
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "Nama Anak")
        .unwrap();
    let mut names: Vec<String> = r.records().map(|x| x.unwrap()[name].to_owned()).collect();
    names.sort();
    let mut expected: Vec<String> = KIDS.iter().map(|k| k.name.to_owned()).collect();
    expected.sort();
    assert_eq!(names, expected);
}

#[test]
fn a_wrong_file_name_or_month_count_exits_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("posyandu.db");
    ok(&db, common::INIT);
    let txt = dir.path().join("dasbor.txt");
    let o = run(&db, &["dashboard", "--out", txt.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains(".html"));
    assert!(!txt.exists());
    let html = dir.path().join("dasbor.html");
    for (flag, value, says) in [
        ("--months", "0", "Jumlah bulan"),
        ("--months", "61", "Jumlah bulan"),
        ("--posyandu", "Mawar", "Posyandu Mawar"),
    ] {
        let o = run(
            &db,
            &["dashboard", "--out", html.to_str().unwrap(), flag, value],
        );
        assert_eq!(o.status.code(), Some(2), "{flag} {value}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(says),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!html.exists());
    }
    // An empty posyandu still makes a page; --posyandu by its name, in any case.
    ok(
        &db,
        &[
            "dashboard",
            "--out",
            html.to_str().unwrap(),
            "--months",
            "3",
            "--posyandu",
            "melati",
        ],
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("Posyandu Melati"), "{page}");
    assert!(page.contains("Tidak ada anak yang perlu dikunjungi."));
}
