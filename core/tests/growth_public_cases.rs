//! The 800 public WHO cases (`schema/who-2006/public_cases.csv`, computed by WHO's `anthro` R package):
//! every z-score at 2 decimals, every flag and `clenhei` must match, both through `zscores` and through
//! `run_batch` end to end.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use timbang_core::growth::{Measurement, Position, Sex, run_batch, zscores};

const CASES: &str = include_str!("../../schema/who-2006/public_cases.csv");

fn cases() -> Vec<HashMap<String, String>> {
    let mut rdr = csv::Reader::from_reader(CASES.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

fn num(s: &str) -> Option<f64> {
    (!s.is_empty()).then(|| s.parse().unwrap())
}

fn fmt_z(z: Option<f64>) -> String {
    z.map(|v| format!("{v:.2}")).unwrap_or_default()
}

fn fmt_flag(z: Option<f64>, f: bool) -> String {
    match z {
        None => String::new(),
        Some(_) => if f { "1" } else { "0" }.to_owned(),
    }
}

#[test]
fn all_800_cases_match_via_zscores() {
    let cases = cases();
    assert_eq!(cases.len(), 800);
    let mut failures = Vec::new();
    for c in &cases {
        let m = Measurement {
            sex: c["sex"].parse::<Sex>().unwrap(),
            age_days: c["age_days"].parse().unwrap(),
            weight_kg: num(&c["weight_kg"]),
            height_cm: num(&c["height_cm"]),
            position: match c["measured"].as_str() {
                "" => None,
                p => Some(p.parse::<Position>().unwrap()),
            },
            head_cm: num(&c["head_circ_cm"]),
            muac_cm: num(&c["muac_cm"]),
            oedema: c["oedema"] == "y",
        };
        let z = zscores(&m);
        let got = [
            ("waz", fmt_z(z.waz)),
            ("haz", fmt_z(z.haz)),
            ("whz", fmt_z(z.whz)),
            ("baz", fmt_z(z.baz)),
            ("hcz", fmt_z(z.hcz)),
            ("acz", fmt_z(z.acz)),
            ("flag_waz", fmt_flag(z.waz, z.flag_waz)),
            ("flag_haz", fmt_flag(z.haz, z.flag_haz)),
            ("flag_whz", fmt_flag(z.whz, z.flag_whz)),
            ("flag_baz", fmt_flag(z.baz, z.flag_baz)),
            ("flag_hcz", fmt_flag(z.hcz, z.flag_hcz)),
            ("flag_acz", fmt_flag(z.acz, z.flag_acz)),
        ];
        for (k, v) in got {
            if c[k] != v {
                failures.push(format!(
                    "{} {k}: expected {:?} got {v:?}",
                    c["case_id"], c[k]
                ));
            }
        }
        let want_len = num(&c["clenhei"]);
        match (want_len, z.clenhei) {
            (Some(a), Some(b)) if (a - b).abs() < 1e-9 => {}
            (None, None) => {}
            (a, b) => failures.push(format!("{} clenhei: {a:?} vs {b:?}", c["case_id"])),
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn all_800_cases_match_via_run_batch() {
    let mut out = Vec::new();
    let mut calls = Vec::new();
    let summary = run_batch(CASES.as_bytes(), &mut out, &mut |n| calls.push(n)).unwrap();
    assert_eq!(summary.rows, 800);
    assert_eq!(calls.last(), Some(&800));
    let out = String::from_utf8(out).unwrap();
    let mut lines = out.lines();
    assert_eq!(
        lines.next().unwrap(),
        "case_id,waz,haz,whz,baz,hcz,acz,flag_waz,flag_haz,flag_whz,flag_baz,flag_hcz,flag_acz,clenhei"
    );
    let cols = [
        "case_id", "waz", "haz", "whz", "baz", "hcz", "acz", "flag_waz", "flag_haz", "flag_whz",
        "flag_baz", "flag_hcz", "flag_acz", "clenhei",
    ];
    let mut failures = Vec::new();
    for (c, line) in cases().iter().zip(lines.by_ref()) {
        let expected: Vec<&str> = cols.iter().map(|k| c[*k].as_str()).collect();
        let got: Vec<&str> = line.split(',').collect();
        if expected != got {
            failures.push(format!("expected {}\n     got {line}", expected.join(",")));
        }
    }
    assert!(lines.next().is_none());
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
