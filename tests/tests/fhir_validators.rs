//! Every generated FHIR resource validates with three independent R4 checkers (TOOLCHAIN.md): PyPI
//! `fhir.resources` (R4B), npm `fhir` (FHIR.js) and npm `@asymmetrik/fhir-json-schema-validator`,
//! installed by `.ci/run` into `build/`. Under `CI=true` a missing checker fails the test; elsewhere it
//! is skipped with a message. The example Bundles in `schema/fhir/examples/` are checked too
//! (`TIMBANG_WRITE_FHIR_EXAMPLES=1` rewrites them from this test's data).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use asik_server::{CLIENT_ID, CLIENT_SECRET, ORG_ID};
use serde_json::Value;
use timbang_core::asik::{AsikConfig, MapConfig, SyncReason};
use timbang_core::domain::{Measurements, NewChild, Position, Sex, VisitEntry};
use timbang_core::host::UreqHttp;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn entry(date: &str, m: Measurements) -> VisitEntry {
    VisitEntry {
        date: Some(date.parse().unwrap()),
        measured: m,
        ..Default::default()
    }
}

/// Run a checker script on `dir`: Some(true) all valid, Some(false) findings, None not installed.
fn check(cmd: &str, script: &str, dir: &Path) -> Option<bool> {
    let out = Command::new(cmd)
        .arg(repo().join("scripts/fhir").join(script))
        .arg(dir)
        .output()
        .ok()?;
    if out.status.code() == Some(3) {
        return None;
    }
    eprintln!(
        "{script}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(out.status.success())
}

#[test]
fn generated_resources_validate_with_three_fhir_checkers() {
    let s = asik_server::start().unwrap();
    let p = timbang_tests::phones(1, "2025-06-30");
    let t = &p[0].t;
    // A baby through the mother's NIK, and an older child with a NIK the MPI knows.
    let baby = t
        .register_child(
            NewChild {
                name: "Bayi Uji".into(),
                sex: Sex::Male,
                birth_date: "2024-11-02".parse().unwrap(),
                nik: None,
                kk: None,
                mother_name: Some("Ibu Uji".into()),
                mother_nik: Some("3301015001900007".into()),
                address: Some("Dusun Uji RT 1".into()),
            },
            true,
        )
        .unwrap()
        .child_id;
    let older = t
        .register_child(
            NewChild {
                name: "Anak Uji".into(),
                sex: Sex::Female,
                birth_date: "2022-05-15".parse().unwrap(),
                nik: Some("3301015505220003".into()),
                kk: None,
                mother_name: None,
                mother_nik: None,
                address: None,
            },
            true,
        )
        .unwrap()
        .child_id;
    s.add_patient_with_nik("3301015505220003", "female", "2022-05-15");
    let lying = |w, h, hc, mu| Measurements {
        weight_g: Some(w),
        height_mm: Some(h),
        position: Some(Position::Lying),
        head_mm: hc,
        muac_mm: mu,
        oedema: Some(false),
    };
    t.record_visit(
        &baby,
        entry("2025-05-10", lying(7_600, 665, Some(435), None)),
        true,
    )
    .unwrap();
    t.record_visit(
        &baby,
        entry("2025-06-10", lying(7_900, 678, Some(440), Some(138))),
        true,
    )
    .unwrap();
    let standing = Measurements {
        weight_g: Some(12_400),
        height_mm: Some(905),
        position: Some(Position::Standing),
        muac_mm: Some(150),
        ..Default::default()
    };
    t.record_visit(&older, entry("2025-06-10", standing), true)
        .unwrap();
    let cfg = AsikConfig::new(
        &s.base_url(),
        &s.auth_url(),
        CLIENT_ID,
        CLIENT_SECRET,
        MapConfig::for_org(ORG_ID),
    );
    let preview = t.asik_next_bundle(&cfg).unwrap().unwrap();
    let r = t
        .asik_sync(
            &UreqHttp::new(),
            &cfg,
            SyncReason::Manual,
            Duration::from_secs(60),
        )
        .unwrap();
    assert_eq!(r.sent, 3);
    // A deletion after sending: the entered-in-error bodies are checked too.
    t.delete_visit(&baby, "2025-05-10".parse().unwrap())
        .unwrap();
    let correction_preview = t.asik_next_bundle(&cfg).unwrap().unwrap();
    t.asik_sync(
        &UreqHttp::new(),
        &cfg,
        SyncReason::Manual,
        Duration::from_secs(60),
    )
    .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let mut n = 0;
    let mut write = |v: &Value| {
        n += 1;
        std::fs::write(dir.path().join(format!("r{n:04}.json")), v.to_string()).unwrap();
    };
    for rtype in ["Patient", "Encounter", "Observation"] {
        for r in s.resources(rtype) {
            write(&r);
        }
    }
    write(&preview);
    write(&correction_preview);
    let examples = repo().join("schema/fhir/examples");
    if std::env::var_os("TIMBANG_WRITE_FHIR_EXAMPLES").is_some() {
        std::fs::create_dir_all(&examples).unwrap();
        std::fs::write(
            examples.join("visits-bundle.json"),
            serde_json::to_string_pretty(&preview).unwrap() + "\n",
        )
        .unwrap();
        std::fs::write(
            examples.join("retraction-bundle.json"),
            serde_json::to_string_pretty(&correction_preview).unwrap() + "\n",
        )
        .unwrap();
        let baby_patient = s
            .resources("Patient")
            .into_iter()
            .find(|p| p["identifier"][0]["system"] == "https://fhir.kemkes.go.id/id/nik-ibu")
            .unwrap();
        std::fs::write(
            examples.join("patient-nik-ibu.json"),
            serde_json::to_string_pretty(&baby_patient).unwrap() + "\n",
        )
        .unwrap();
    }
    if let Ok(rd) = std::fs::read_dir(&examples) {
        for e in rd.flatten() {
            let v: Value = serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap();
            write(&v);
        }
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    for (cmd, script) in [("python3", "validate.py"), ("node", "validate.js")] {
        match check(cmd, script, dir.path()) {
            Some(ok) => assert!(ok, "{script} found invalid resources (see above)"),
            None if ci => {
                panic!("{script}: a FHIR checker is missing; .ci/run installs it into build/")
            }
            None => eprintln!(
                "SKIPPED {script}: the FHIR checkers are not installed (run .ci/run, or see scripts/fhir/)"
            ),
        }
    }
}
