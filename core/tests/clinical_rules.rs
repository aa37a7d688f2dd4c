//! A table of cases per clinical rule (docs/CLINICAL.md), each covering both sides of every boundary:
//! status gizi (weight-for-length/height, LiLA, oedema), its referrals and their texts.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::NaiveDate;
use common::{TODAY, child, d, phone};
use timbang_core::domain::{Measurements, Service, Services, Sex, VisitEntry};
use timbang_core::growth::*;

fn g(age_months: u32, whz: Option<f64>, muac_mm: Option<u32>, oedema: bool) -> GiziInput {
    GiziInput {
        age_months,
        whz,
        baz: None,
        muac_mm,
        oedema,
    }
}

#[test]
fn status_gizi_table() {
    use StatusGizi as S;
    let cases: &[(GiziInput, Option<StatusGizi>, &str)] = &[
        // Weight-for-length/height alone: the Permenkes cut-offs, both sides.
        (
            g(24, Some(-3.01), None, false),
            Some(S::GiziBuruk),
            "whz -3.01",
        ),
        (
            g(24, Some(-3.00), None, false),
            Some(S::GiziKurang),
            "whz -3.00",
        ),
        (
            g(24, Some(-2.01), None, false),
            Some(S::GiziKurang),
            "whz -2.01",
        ),
        (
            g(24, Some(-2.00), None, false),
            Some(S::GiziBaik),
            "whz -2.00",
        ),
        (
            g(24, Some(1.00), None, false),
            Some(S::GiziBaik),
            "whz 1.00",
        ),
        (
            g(24, Some(1.01), None, false),
            Some(S::BerisikoGiziLebih),
            "whz 1.01",
        ),
        (
            g(24, Some(2.00), None, false),
            Some(S::BerisikoGiziLebih),
            "whz 2.00",
        ),
        (
            g(24, Some(2.01), None, false),
            Some(S::GiziLebih),
            "whz 2.01",
        ),
        (
            g(24, Some(3.00), None, false),
            Some(S::GiziLebih),
            "whz 3.00",
        ),
        (
            g(24, Some(3.01), None, false),
            Some(S::Obesitas),
            "whz 3.01",
        ),
        // LiLA alone at 6-59 months: < 11.5 buruk, 11.5 to < 12.5 kurang, 12.5 or more says nothing.
        (
            g(28, None, Some(114), false),
            Some(S::GiziBuruk),
            "lila 11.4",
        ),
        (
            g(28, None, Some(110), false),
            Some(S::GiziBuruk),
            "lila 11.0",
        ),
        (
            g(28, None, Some(115), false),
            Some(S::GiziKurang),
            "lila 11.5",
        ),
        (
            g(28, None, Some(124), false),
            Some(S::GiziKurang),
            "lila 12.4",
        ),
        (g(28, None, Some(125), false), None, "lila 12.5 alone"),
        // LiLA ages: 6 and 59 months apply, 5 and 60 do not.
        (
            g(6, None, Some(110), false),
            Some(S::GiziBuruk),
            "lila at 6 months",
        ),
        (g(5, None, Some(110), false), None, "lila at 5 months"),
        (
            g(59, None, Some(110), false),
            Some(S::GiziBuruk),
            "lila at 59 months",
        ),
        (g(60, None, Some(110), false), None, "lila at 60 months"),
        // Oedema is gizi buruk whatever else.
        (g(28, None, None, true), Some(S::GiziBuruk), "oedema alone"),
        (
            g(28, Some(0.5), Some(140), true),
            Some(S::GiziBuruk),
            "oedema, normal z",
        ),
        (
            g(3, None, None, true),
            Some(S::GiziBuruk),
            "oedema at 3 months",
        ),
        // Combined: the worst undernutrition sign decides; LiLA overrides a normal or high z.
        (
            g(28, Some(0.0), Some(120), false),
            Some(S::GiziKurang),
            "normal z, lila 12.0",
        ),
        (
            g(28, Some(2.5), Some(112), false),
            Some(S::GiziBuruk),
            "high z, lila 11.2",
        ),
        (
            g(28, Some(-2.5), Some(112), false),
            Some(S::GiziBuruk),
            "kurang z, lila 11.2",
        ),
        (
            g(28, Some(-3.5), Some(130), false),
            Some(S::GiziBuruk),
            "buruk z, lila 13.0",
        ),
        (
            g(28, Some(1.5), Some(130), false),
            Some(S::BerisikoGiziLebih),
            "z 1.5, lila 13.0",
        ),
        // Nothing that supports a status.
        (g(28, None, None, false), None, "nothing"),
    ];
    for (input, want, what) in cases {
        assert_eq!(status_gizi(input).0, *want, "{what}");
    }
    // BMI-for-age stands in when weight-for-length/height is undefined, not otherwise.
    let bfa = GiziInput {
        baz: Some(-3.2),
        ..g(30, None, None, false)
    };
    assert_eq!(status_gizi(&bfa).0, Some(S::GiziBuruk));
    assert_eq!(status_gizi(&bfa).1, vec![GiziSign::Bfa { z: -3.2 }]);
    let both = GiziInput {
        baz: Some(-3.2),
        ..g(30, Some(-1.0), None, false)
    };
    assert_eq!(status_gizi(&both).0, Some(S::GiziBaik));
}

#[test]
fn status_gizi_signs_name_the_trigger() {
    let (s, signs) = status_gizi(&g(28, Some(-3.4), Some(110), true));
    assert_eq!(s, Some(StatusGizi::GiziBuruk));
    assert_eq!(
        signs,
        vec![
            GiziSign::Oedema,
            GiziSign::Lila { mm: 110 },
            GiziSign::Wfh { z: -3.4 }
        ]
    );
    assert_eq!(
        referral_text(ReferralReason::GiziBuruk, &signs),
        "Gizi buruk: edema bilateral; LiLA 11,0 cm; BB/PB atau BB/TB -3,40 SD"
    );
    // A kurang status names only the signs that gave kurang.
    let (s, signs) = status_gizi(&g(28, Some(-2.5), Some(130), false));
    assert_eq!(s, Some(StatusGizi::GiziKurang));
    assert_eq!(signs, vec![GiziSign::Wfh { z: -2.5 }]);
    assert_eq!(
        serde_json::to_string(&StatusGizi::BerisikoGiziLebih).unwrap(),
        "\"berisiko_gizi_lebih\""
    );
    let codes: Vec<&str> = StatusGizi::ALL.iter().map(|s| s.code()).collect();
    assert_eq!(
        codes,
        [
            "gizi_buruk",
            "gizi_kurang",
            "gizi_baik",
            "berisiko_gizi_lebih",
            "gizi_lebih",
            "obesitas"
        ]
    );
}

fn boy_28_months() -> ChildInfo {
    ChildInfo {
        sex: Sex::Male,
        birth_date: d("2023-02-10"),
    }
}

fn visit(date: &str) -> VisitInput {
    VisitInput {
        date: d(date),
        weight_kg: None,
        height_cm: None,
        position: None,
        head_cm: None,
        muac_cm: None,
        oedema: false,
    }
}

#[test]
fn lila_11_at_28_months_is_gizi_buruk_with_a_referral_naming_lila() {
    let kbm = KbmTable::default_table();
    let v = VisitInput {
        weight_kg: Some(12.0),
        muac_cm: Some(11.0),
        ..visit("2025-06-14")
    };
    let a = assess_visit(&boy_28_months(), &[], &[], &v, kbm);
    assert_eq!(a.age_months, 28);
    assert_eq!(a.status_gizi, Some(StatusGizi::GiziBuruk));
    assert!(a.referral.contains(&ReferralReason::GiziBuruk));
    assert!(
        a.referral_text.iter().any(|t| t.contains("LiLA 11,0 cm")),
        "{:?}",
        a.referral_text
    );
    // 12.5 cm: no status from LiLA alone, no referral.
    let v = VisitInput {
        muac_cm: Some(12.5),
        ..v
    };
    let a = assess_visit(&boy_28_months(), &[], &[], &v, kbm);
    assert_eq!(a.status_gizi, None);
    assert!(!a.referral.contains(&ReferralReason::GiziBuruk));
    assert!(!a.referral.contains(&ReferralReason::GiziKurang));
}

#[test]
fn oedema_is_gizi_buruk() {
    let v = VisitInput {
        weight_kg: Some(12.0),
        height_cm: Some(88.0),
        position: Some(Position::Standing),
        oedema: true,
        ..visit("2025-06-14")
    };
    let a = assess_visit(&boy_28_months(), &[], &[], &v, KbmTable::default_table());
    assert_eq!(a.status_gizi, Some(StatusGizi::GiziBuruk));
    assert_eq!(a.referral.first(), Some(&ReferralReason::Oedema));
    assert!(a.referral.contains(&ReferralReason::GiziBuruk));
}

fn muac_entry(date: &str, muac_mm: u32) -> VisitEntry {
    VisitEntry {
        date: Some(d(date)),
        measured: Measurements {
            weight_g: Some(11_500),
            muac_mm: Some(muac_mm),
            ..Default::default()
        },
        services: Default::default(),
    }
}

/// Through the store: the stored assessment reads back with the same status gizi and texts, and the
/// village list keeps the latest status gizi (and its referral) when a later visit has only a weight.
#[test]
fn status_gizi_is_stored_shown_and_used_by_the_village_list() {
    assert_eq!(TODAY, "2025-06-15");
    let p = phone("hp-1");
    let id =
        p.t.register_child(child("Anak Satu", Sex::Male, "2023-02-10"), false)
            .unwrap()
            .child_id;
    let r =
        p.t.record_visit(&id, muac_entry("2025-05-14", 110), true)
            .unwrap();
    assert_eq!(r.assessment.status_gizi, Some(StatusGizi::GiziBuruk));
    let shown = p.t.child(&id).unwrap();
    let a = shown.visits[0].assessment.as_ref().unwrap();
    assert_eq!(a, &r.assessment);
    // A later weighing only: its own assessment has no status gizi, the list keeps May's.
    let later = VisitEntry {
        date: Some(d("2025-06-14")),
        measured: Measurements {
            weight_g: Some(11_800),
            ..Default::default()
        },
        services: Default::default(),
    };
    let r2 = p.t.record_visit(&id, later, true).unwrap();
    assert_eq!(r2.assessment.status_gizi, None);
    let list = p.t.village_list().unwrap();
    assert_eq!(list[0].status_gizi, Some(StatusGizi::GiziBuruk));
    assert_eq!(list[0].status_gizi_date, Some(d("2025-05-14")));
    assert_eq!(
        list[0].referral.first().map(String::as_str),
        Some("GIZI_BURUK")
    );
    assert!(list[0].referral_text[0].contains("LiLA 11,0 cm"));
    // Recovered: a new LiLA of 13.0 cm with a normal weight-for-height clears it.
    let recovered = VisitEntry {
        date: Some(d("2025-06-14")),
        measured: Measurements {
            muac_mm: Some(130),
            height_mm: Some(880),
            position: Some(timbang_core::domain::Position::Standing),
            ..Default::default()
        },
        services: Default::default(),
    };
    let r3 = p.t.record_visit(&id, recovered, true).unwrap();
    assert_eq!(r3.assessment.status_gizi, Some(StatusGizi::GiziBaik));
    let list = p.t.village_list().unwrap();
    assert_eq!(list[0].status_gizi, Some(StatusGizi::GiziBaik));
    assert!(!list[0].referral.iter().any(|r| r.starts_with("GIZI")));
    let _: NaiveDate = d(TODAY);
}

fn weighing(date: &str, kg: f64) -> VisitInput {
    VisitInput {
        weight_kg: Some(kg),
        ..visit(date)
    }
}

fn boy_44_months_in_feb_2025() -> ChildInfo {
    ChildInfo {
        sex: Sex::Male,
        birth_date: d("2021-06-10"),
    }
}

/// N/T by the Buku KIA 2023 rule: the line follows the curves (weight-for-age z not falling, with a
/// gain) or the gain reaches the KBM.
fn nt(before: f64, now: f64) -> Assessment {
    let c = boy_44_months_in_feb_2025();
    let kbm = KbmTable::default_table();
    let h = [weighing("2025-01-10", before)];
    let p = [assess_visit(&c, &[], &[], &h[0], kbm)];
    let a = assess_visit(&c, &h, &p, &weighing("2025-02-10", now), kbm);
    assert_eq!(a.age_months, 44);
    assert_eq!(kbm.min_gain_for_rule(44), Some(200));
    a
}

#[test]
fn n_t_follows_the_curve_or_reaches_the_kbm() {
    let waz = |a: &Assessment| a.z.waz.unwrap();
    let before = |kg: f64| {
        let c = boy_44_months_in_feb_2025();
        assess_visit(
            &c,
            &[],
            &[],
            &weighing("2025-01-10", kg),
            KbmTable::default_table(),
        )
    };
    // 150 g (below the 200 g KBM) while the weight-for-age z rises: N.
    let a = nt(12.0, 12.15);
    assert!(waz(&a) > waz(&before(12.0)), "z must rise");
    assert_eq!(a.gain_g, Some(150));
    assert_eq!(a.kms, Some(KmsStatus::N));
    // 100 g while it falls: T.
    let a = nt(16.0, 16.1);
    assert!(waz(&a) < waz(&before(16.0)), "z must fall");
    assert_eq!(a.kms, Some(KmsStatus::T));
    // The KBM settles it whatever the curve: 200 g is N, 199 g with a falling z is T.
    assert_eq!(nt(20.0, 20.2).kms, Some(KmsStatus::N));
    let a = nt(20.0, 20.199);
    assert!(waz(&a) < waz(&before(20.0)), "z must fall");
    assert_eq!(a.kms, Some(KmsStatus::T));
    // A flat or falling line is never N by the curve, even when the z does not fall (a light child).
    assert_eq!(nt(12.0, 12.0).kms, Some(KmsStatus::T));
    assert_eq!(nt(12.0, 11.9).kms, Some(KmsStatus::T));
    // The smallest real gain with an unchanged or rising z is N.
    let a = nt(10.0, 10.1);
    assert!(waz(&a) >= waz(&before(10.0)), "z must not fall");
    assert_eq!(a.kms, Some(KmsStatus::N));
    // 100 g from 12 kg lets the z fall: T.
    let a = nt(12.0, 12.1);
    assert!(waz(&a) < waz(&before(12.0)));
    assert_eq!(a.kms, Some(KmsStatus::T));
}

#[test]
fn n_t_rule_is_cited_data() {
    let r = NtRule::current();
    assert_eq!(r.id(), "garis-kms-2023");
    assert!(r.source().contains("Buku KIA"));
    assert_eq!(r.max_waz_fall, 0.0);
    assert_eq!(r.min_gain_g, 1);
    // Both sides of the tolerance, directly.
    assert_eq!(
        r.status(100, Some(200), Some(-1.00), Some(-1.00)),
        KmsStatus::N
    );
    assert_eq!(
        r.status(100, Some(200), Some(-1.00), Some(-1.01)),
        KmsStatus::T
    );
    assert_eq!(
        r.status(0, Some(200), Some(-1.00), Some(-0.90)),
        KmsStatus::T
    );
    assert_eq!(
        r.status(1, Some(200), Some(-1.00), Some(-0.90)),
        KmsStatus::N
    );
    // Without both z-scores (oedema), only the KBM decides.
    assert_eq!(r.status(199, Some(200), None, Some(-0.5)), KmsStatus::T);
    assert_eq!(r.status(200, Some(200), None, None), KmsStatus::N);
}

/// A comparator one day before the month boundary: the KMS plots each weighing in its calendar month's
/// column and compares consecutive columns, so 31 January against 1 February is a month's step. The
/// KBM is not prorated; the curve rule decides a real gain with the z kept, a flat line is T.
#[test]
fn comparator_one_day_before_the_month_boundary() {
    let c = boy_44_months_in_feb_2025();
    let kbm = KbmTable::default_table();
    let run = |before: f64, now: f64| {
        let h = [weighing("2025-01-31", before)];
        let p = [assess_visit(&c, &[], &[], &h[0], kbm)];
        assess_visit(&c, &h, &p, &weighing("2025-02-01", now), kbm)
    };
    assert_eq!(run(14.0, 14.0).kms, Some(KmsStatus::T));
    let a = run(14.0, 14.1);
    assert_eq!(a.kms, Some(KmsStatus::N));
    assert_eq!(a.gain_g, Some(100));
    // Weighed twice in February only: the earlier February weighing is no comparator (O).
    let h = [weighing("2025-02-01", 14.0)];
    let p = [assess_visit(&c, &[], &[], &h[0], kbm)];
    let a = assess_visit(&c, &h, &p, &weighing("2025-02-27", 14.3), kbm);
    assert_eq!(a.kms, Some(KmsStatus::O));
}

/// A database whose assessments were stored by an older rules version: opening it with this build
/// reports them outdated, and recomputing rewrites them in one transaction from the documents, which are
/// not touched; an interrupted recomputation leaves everything as it was.
#[test]
fn assessments_of_an_older_rules_version_are_recomputed() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let p = phone("hp-1");
    // Boy of 44 months in February 2025 (TODAY is 2025-06-15): 150 g with a rising z was T under the
    // KBM-only rules and is N now.
    let id =
        p.t.register_child(child("Anak Empat", Sex::Male, "2021-06-10"), true)
            .unwrap()
            .child_id;
    for (date, g) in [("2025-01-10", 12_000), ("2025-02-10", 12_150)] {
        let e = VisitEntry {
            date: Some(d(date)),
            measured: Measurements {
                weight_g: Some(g),
                ..Default::default()
            },
            services: Default::default(),
        };
        p.t.record_visit(&id, e, true).unwrap();
    }
    for extra in 0..40 {
        let c =
            p.t.register_child(
                child(&format!("Anak Lain {extra}"), Sex::Female, "2023-01-05"),
                true,
            )
            .unwrap()
            .child_id;
        p.t.record_visit(&c, muac_entry("2025-06-14", 120), true)
            .unwrap();
    }
    assert!(!p.t.assessments_outdated().unwrap());
    assert_eq!(p.t.recompute_assessments().unwrap(), 0);
    let current = p.t.child(&id).unwrap().visits[1]
        .assessment
        .clone()
        .unwrap();
    assert_eq!(current.kms, Some(KmsStatus::N));
    let path = p.path.clone();
    let key = p.key.clone();
    drop(p.t);
    // What an older build left: its version name and its T.
    let docs_before;
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "UPDATE assessment_versions SET rules = 'permenkes-2-2020+kbm:kms-permenkes-155-2010';
             UPDATE visits SET kms = 'T' WHERE kms = 'N';",
        )
        .unwrap();
        docs_before = docs(&c);
    }
    let t = common::open(&path, &key);
    assert!(t.assessments_outdated().unwrap());
    let old = t.child(&id).unwrap().visits[1].assessment.clone().unwrap();
    assert_eq!(old.kms, Some(KmsStatus::T));
    assert!(old.rules_version.starts_with("permenkes-2-2020+kbm"));
    // Interrupted: nothing changes.
    let before = timbang_core::testing::projection_dump(&t);
    let handle = t.interrupt_handle();
    let stop = AtomicBool::new(false);
    let r = std::thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(Ordering::SeqCst) {
                handle.interrupt();
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        });
        let r = t.recompute_assessments();
        stop.store(true, Ordering::SeqCst);
        r
    });
    if r.is_err() {
        assert!(matches!(r, Err(timbang_core::Error::Interrupted)), "{r:?}");
        assert_eq!(timbang_core::testing::projection_dump(&t), before);
        assert!(t.assessments_outdated().unwrap());
    }
    // Then completed.
    let n = t.recompute_assessments().unwrap();
    if r.is_err() {
        assert_eq!(n, 41);
    }
    assert!(!t.assessments_outdated().unwrap());
    let new = t.child(&id).unwrap().visits[1].assessment.clone().unwrap();
    assert_eq!(new, current);
    drop(t);
    let c = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(docs(&c), docs_before, "the documents are not touched");
    let versions: i64 = c
        .query_row("SELECT COUNT(*) FROM assessment_versions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(versions, 1, "the old version name is forgotten");
}

/// Choosing another KBM table reassesses everything at once: nothing is left outdated.
#[test]
fn a_new_kbm_table_leaves_nothing_outdated() {
    let p = phone("hp-1");
    let id =
        p.t.register_child(child("Anak Lima", Sex::Male, "2024-01-10"), false)
            .unwrap()
            .child_id;
    p.t.record_visit(&id, muac_entry("2025-06-14", 130), true)
        .unwrap();
    p.t.set_kbm_table("kms-programme-file").unwrap();
    assert!(!p.t.assessments_outdated().unwrap());
    let a = p.t.child(&id).unwrap().visits[0]
        .assessment
        .clone()
        .unwrap();
    assert!(a.rules_version.contains("kbm:kms-programme-file"));
}

fn docs(c: &rusqlite::Connection) -> Vec<(String, Vec<u8>)> {
    let mut s = c.prepare("SELECT * FROM doc_chunks ORDER BY 1, 2").unwrap();
    let n = s.column_count();
    s.query_map([], |r| {
        let mut key = String::new();
        let mut bytes = Vec::new();
        for i in 0..n {
            match r.get::<_, rusqlite::types::Value>(i)? {
                rusqlite::types::Value::Blob(b) => bytes.extend(b),
                v => key.push_str(&format!("{v:?};")),
            }
        }
        Ok((key, bytes))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

#[test]
fn nik_regency_code_00_is_refused_01_accepted() {
    use timbang_core::domain::{parse_kk, parse_nik};
    assert!(parse_nik("nik", "NIK anak", "3201014103240001").is_ok());
    let e = parse_nik("nik", "NIK anak", "3200014103240001").unwrap_err();
    assert_eq!(e.field(), Some("nik"));
    assert!(
        e.message_id().contains("kabupaten/kota 00"),
        "{}",
        e.message_id()
    );
    assert!(parse_kk("3201012010150001").is_ok());
    assert!(parse_kk("3200012010150001").is_err());
}

/// The posyandu serves children of 0-59 months: registering one of 60 months or more needs the
/// kader's confirmation (59 does not).
#[test]
fn registering_a_child_of_60_months_or_more_needs_confirmation() {
    // TODAY 2025-06-15.
    let p = phone("hp-1");
    let c59 = child("Anak Lima Sembilan", Sex::Male, "2020-06-16");
    assert!(p.t.register_child(c59, false).is_ok());
    for (name, dob) in [
        ("Anak Enam Puluh", "2020-06-15"),
        ("Anak Enam Enam", "2019-12-10"),
    ] {
        let r = p.t.register_child(child(name, Sex::Female, dob), false);
        match r {
            Err(timbang_core::Error::NeedsConfirmation { reasons }) => {
                assert_eq!(reasons[0].code, "age_over_59_months");
                assert!(reasons[0].message_id.contains("tidak berlaku"));
            }
            other => panic!("{dob}: {other:?}"),
        }
        let ok =
            p.t.register_child(child(name, Sex::Female, dob), true)
                .unwrap();
        assert_eq!(ok.confirmed[0].code, "age_over_59_months");
    }
    assert_eq!(p.t.village_list().unwrap().len(), 3);
}

#[test]
fn vitamin_a_round_calendar() {
    let cal = RoundCalendar::current();
    assert_eq!(cal.id(), "vit-a-pmk-21-2015");
    assert!(cal.source().contains("21 Tahun 2015"));
    let r = |s: &str| {
        let x = cal.round_of(d(s));
        (x.year, x.month)
    };
    assert_eq!(cal.months(2025), vec![2, 8]);
    assert_eq!(cal.months(2023), vec![2, 10]);
    assert_eq!(r("2025-01-31"), (2024, 8));
    assert_eq!(r("2025-02-01"), (2025, 2));
    assert_eq!(r("2025-07-31"), (2025, 2));
    assert_eq!(r("2025-08-01"), (2025, 8));
    assert_eq!(r("2025-12-31"), (2025, 8));
    // The moved August 2023 round: August and September 2023 still belong to February's.
    assert_eq!(r("2023-09-30"), (2023, 2));
    assert_eq!(r("2023-10-01"), (2023, 10));
    assert_eq!(r("2024-01-31"), (2023, 10));
    assert_eq!(cal.round_of(d("2025-02-14")).to_string(), "Februari 2025");
}

fn services(list: &[Service]) -> Services {
    let mut s = Services::default();
    for x in list {
        s.insert(*x);
    }
    s
}

#[test]
fn service_schedule_table() {
    use Service::*;
    let codes = |s: &[Service], date: &str, months: u32, earlier: &[(&str, &[Service])]| {
        let earlier: Vec<(NaiveDate, Services)> =
            earlier.iter().map(|(d0, x)| (d(d0), services(x))).collect();
        service_concerns(services(s), d(date), months, &earlier)
            .into_iter()
            .map(|c| c.code)
            .collect::<Vec<_>>()
    };
    let none: Vec<&str> = Vec::new();
    // Ages, both sides.
    assert_eq!(codes(&[VitABiru], "2025-02-14", 6, &[]), none);
    assert_eq!(codes(&[VitABiru], "2025-02-14", 11, &[]), none);
    assert_eq!(codes(&[VitABiru], "2025-02-14", 5, &[]), ["vit_a_biru_age"]);
    assert_eq!(
        codes(&[VitABiru], "2025-02-14", 12, &[]),
        ["vit_a_biru_age"]
    );
    assert_eq!(codes(&[VitAMerah], "2025-02-14", 12, &[]), none);
    assert_eq!(codes(&[VitAMerah], "2025-02-14", 59, &[]), none);
    assert_eq!(
        codes(&[VitAMerah], "2025-02-14", 11, &[]),
        ["vit_a_merah_age"]
    );
    assert_eq!(
        codes(&[VitAMerah], "2025-02-14", 60, &[]),
        ["vit_a_merah_age"]
    );
    assert_eq!(codes(&[ObatCacing], "2025-02-14", 12, &[]), none);
    assert_eq!(codes(&[ObatCacing], "2025-02-14", 59, &[]), none);
    assert_eq!(
        codes(&[ObatCacing], "2025-02-14", 11, &[]),
        ["obat_cacing_age"]
    );
    assert_eq!(
        codes(&[ObatCacing], "2025-02-14", 60, &[]),
        ["obat_cacing_age"]
    );
    // A second capsule in one round; the previous round does not count.
    assert_eq!(
        codes(
            &[VitAMerah],
            "2025-02-20",
            30,
            &[("2025-02-03", &[VitAMerah])]
        ),
        ["vit_a_second_in_round"]
    );
    assert_eq!(
        codes(
            &[VitAMerah],
            "2025-07-31",
            30,
            &[("2025-02-03", &[VitAMerah])]
        ),
        ["vit_a_second_in_round"]
    );
    assert_eq!(
        codes(
            &[VitAMerah],
            "2025-08-01",
            30,
            &[("2025-02-03", &[VitAMerah])]
        ),
        none
    );
    assert_eq!(
        codes(
            &[VitAMerah],
            "2025-02-03",
            30,
            &[("2025-01-31", &[VitAMerah])]
        ),
        none
    );
    // Other services of the same round do not count; the same day is the same visit.
    assert_eq!(
        codes(
            &[VitAMerah],
            "2025-02-20",
            30,
            &[("2025-02-03", &[Pmt, ObatCacing])]
        ),
        none
    );
    assert_eq!(
        codes(
            &[VitAMerah],
            "2025-02-03",
            30,
            &[("2025-02-03", &[VitAMerah])]
        ),
        none
    );
    // Blue and red on one visit.
    assert_eq!(
        codes(&[VitABiru, VitAMerah], "2025-02-14", 11, &[]),
        ["vit_a_merah_age", "vit_a_second_in_round"]
    );
    // A second blue capsule: in the same round, and in another round (blue is given once).
    assert_eq!(
        codes(&[VitABiru], "2025-02-20", 8, &[("2025-02-03", &[VitABiru])]),
        ["vit_a_second_in_round", "vit_a_biru_again"]
    );
    assert_eq!(
        codes(
            &[VitABiru],
            "2025-08-14",
            10,
            &[("2025-02-14", &[VitABiru])]
        ),
        ["vit_a_biru_again"]
    );
    // Blue then red at 12 months in the next round: the usual schedule.
    assert_eq!(
        codes(
            &[VitAMerah],
            "2025-08-14",
            12,
            &[("2025-02-14", &[VitABiru])]
        ),
        none
    );
}

#[test]
fn a_baby_under_9_months_measured_standing_is_asked_to_be_measured_lying() {
    let c = ChildInfo {
        sex: Sex::Female,
        birth_date: d("2024-09-14"),
    };
    let at = |date: &str, position: Position| {
        let v = VisitInput {
            weight_kg: Some(8.0),
            height_cm: Some(70.0),
            position: Some(position),
            ..visit(date)
        };
        plausibility(&c, &[], &v)
            .iter()
            .any(|x| x.code == "standing_under_9_months")
    };
    assert!(at("2025-06-13", Position::Standing)); // 8 completed months
    assert!(!at("2025-06-14", Position::Standing)); // 9 months
    assert!(!at("2025-06-13", Position::Lying));
}

#[test]
fn from_60_months_the_assessment_says_the_balita_standards_no_longer_apply() {
    let c = ChildInfo {
        sex: Sex::Male,
        birth_date: d("2020-06-14"),
    };
    let kbm = KbmTable::default_table();
    let a = assess_visit(&c, &[], &[], &weighing("2025-06-13", 18.0), kbm);
    assert_eq!(a.age_months, 59);
    assert!(a.notes.is_empty());
    let a = assess_visit(&c, &[], &[], &weighing("2025-06-14", 18.0), kbm);
    assert_eq!(a.age_months, 60);
    assert!(a.notes[0].contains("tidak berlaku"), "{:?}", a.notes);
}

#[test]
fn who_2009_weight_increment_tables_are_embedded_with_their_source() {
    let one = IncrementTable::one_month();
    let two = IncrementTable::two_month();
    assert_eq!(one.id(), "who-2009-weight-increments-1mon");
    assert_eq!(two.id(), "who-2009-weight-increments-2mon");
    assert!(one.source().contains("World Health Organization, 2009"));
    // 12 one-month rows and 23 two-month rows per sex.
    for sex in [Sex::Male, Sex::Female] {
        assert_eq!(one.rows().iter().filter(|r| r.sex == sex).count(), 12);
        assert_eq!(two.rows().iter().filter(|r| r.sex == sex).count(), 23);
    }
    // Cells as WHO publishes them (boys 0-4 weeks, girls 11-12 months, boys 22-24 months).
    let b0 = one.row(Sex::Male, 0).unwrap();
    assert_eq!(b0.interval, "0-4wks");
    assert_eq!(b0.sd, [-160, 321, 694, 1023, 1325, 1608, 1876]);
    assert_eq!(one.row(Sex::Male, 1).unwrap().sd[5], 1844); // the "1.9 kg" figure: +2 SD at 4 wks-2 mo
    assert_eq!(one.row(Sex::Female, 11).unwrap().median(), 232);
    assert_eq!(two.row(Sex::Male, 22).unwrap().sd3(), 1382);
    // Every row is ordered -3 SD < ... < +3 SD.
    for r in one.rows().iter().chain(two.rows()) {
        assert!(r.sd.windows(2).all(|w| w[0] < w[1]), "{r:?}");
    }
}

#[test]
fn weight_gain_limits_follow_who_2009_increments() {
    use Sex::*;
    // (sex, age at the earlier weighing in days, interval in days) -> limit in grams: the +3 SD
    // increment (99.87th percentile), scaled for a longer interval, plus 200 g.
    let cases: &[(Sex, i64, i64, f64, f64)] = &[
        // (sex, age, interval, the row's +3 SD, the row's interval in months)
        (Male, 0, 28, 1876.0, 1.0),    // 0-4 weeks
        (Male, 31, 30, 2189.0, 1.0),   // 4 weeks - 2 months
        (Female, 31, 30, 1880.0, 1.0), // girls
        (Male, 340, 30, 990.0, 1.0),   // 11-12 months
        (Male, 340, 45, 990.0, 1.0),   // 45 days: still the 1-month row, scaled by 45/30.4375
        (Male, 340, 46, 1459.0, 2.0),  // 46 days: the 2-month row (11-13 months)
        (Male, 400, 30, 1424.0, 2.0), // from 12 months only 2-month rows (13-15 months), never scaled down
        (Male, 700, 61, 1382.0, 2.0), // 23 months: the 22-24 months row
        (Male, 1300, 61, 1382.0, 2.0), // past 24 months: the 22-24 months row (no WHO standard)
    ];
    for (sex, age, days, sd3, nominal) in cases {
        let scale = (*days as f64 / 30.4375 / nominal).max(1.0);
        let want = (sd3 * scale).round() as i64 + 200;
        assert_eq!(
            max_gain_g(*sex, *age, *days).0,
            want,
            "{sex:?} {age} {days}"
        );
    }
    assert_eq!(max_gain_g(Male, 340, 30).0, 1190);
    // A 6-month interval at 30 months: three times the 2-month row.
    let (limit, row) = max_gain_g(Male, 900, 183);
    assert_eq!(row.unwrap().from_month, 22);
    assert_eq!(
        limit,
        (1382.0_f64 * (183.0 / 30.4375 / 2.0)).round() as i64 + 200
    );
    // Through the concern: both sides of the limit for a boy of 6 months (6-7 months +3 SD 1014 g).
    let c = ChildInfo {
        sex: Male,
        birth_date: d("2024-01-10"),
    };
    let h = [weighing("2024-07-12", 8.0)];
    let jump = |kg: f64| {
        plausibility(&c, &h, &weighing("2024-08-12", kg))
            .iter()
            .any(|x| x.code == "weight_jump")
    };
    let limit = max_gain_g(Male, 184, 31).0;
    assert_eq!(limit, (1014.0_f64 * 31.0 / 30.4375).round() as i64 + 200);
    assert!(!jump(8.0 + limit as f64 / 1000.0));
    assert!(jump(8.0 + (limit + 1) as f64 / 1000.0));
}

#[test]
fn a_loss_of_more_than_10_percent_is_a_referral_and_asks_to_weigh_again() {
    let c = boy_44_months_in_feb_2025();
    let kbm = KbmTable::default_table();
    let run = |now: f64| {
        let h = [weighing("2025-01-10", 15.0)];
        let p = [assess_visit(&c, &[], &[], &h[0], kbm)];
        (
            assess_visit(&c, &h, &p, &weighing("2025-02-10", now), kbm),
            plausibility(&c, &h, &weighing("2025-02-10", now)),
        )
    };
    // 10% exactly (1.5 kg): a loss, not the alarm.
    let (a, _) = run(13.5);
    assert!(a.referral.contains(&ReferralReason::WeightLoss));
    assert!(!a.referral.contains(&ReferralReason::WeightLoss10));
    // 1.501 kg: the alarm, ranked above BGM and 2T.
    let (a, concerns) = run(13.499);
    assert!(a.referral.contains(&ReferralReason::WeightLoss10));
    assert!(!a.referral.contains(&ReferralReason::WeightLoss));
    assert!(ReferralReason::WeightLoss10.urgency() > ReferralReason::Bgm.urgency());
    // The confirmation asks at more than 10% + 0.2 kg, and says to refer when real.
    assert!(concerns.iter().all(|x| x.code != "weight_jump"));
    let (_, concerns) = run(13.29);
    let j = concerns.iter().find(|x| x.code == "weight_jump").unwrap();
    assert!(j.message_id.contains("rujuk ke bidan"), "{}", j.message_id);
}

#[test]
fn t_and_the_orange_line_are_referrals_as_buku_kia_says() {
    let c = boy_44_months_in_feb_2025();
    let kbm = KbmTable::default_table();
    let h = [weighing("2025-01-10", 16.0)];
    let p = [assess_visit(&c, &[], &[], &h[0], kbm)];
    let a = assess_visit(&c, &h, &p, &weighing("2025-02-10", 16.1), kbm);
    assert_eq!(a.kms, Some(KmsStatus::T));
    assert!(a.referral.contains(&ReferralReason::T));
    // 2T replaces T.
    let h2 = [h[0].clone(), weighing("2025-02-10", 16.1)];
    let p2 = [p[0].clone(), a.clone()];
    let a2 = assess_visit(&c, &h2, &p2, &weighing("2025-03-10", 16.1), kbm);
    assert!(a2.two_t);
    assert!(a2.referral.contains(&ReferralReason::TwoT));
    assert!(!a2.referral.contains(&ReferralReason::T));
    // Above the orange line (weight-for-age z > +1), both sides.
    let waz = |kg: f64| {
        let a = assess_visit(&c, &[], &[], &weighing("2025-02-10", kg), kbm);
        (
            a.z.waz.unwrap(),
            a.referral.contains(&ReferralReason::AboveOrange),
        )
    };
    let mut kg = 17.0;
    let mut last_below = None;
    while kg < 25.0 {
        let (z, above) = waz(kg);
        assert_eq!(above, z > ORANGE_LINE_WAZ, "{kg} kg z {z}");
        if !above {
            last_below = Some(kg);
        }
        kg += 0.05;
    }
    assert!(last_below.is_some());
    assert!(waz(24.9).1);
}

#[test]
fn the_referral_reasons_table_has_one_cited_row_per_reason() {
    let rows = reason_rows();
    assert_eq!(rows.len(), ReferralReason::ALL.len());
    for r in ReferralReason::ALL {
        assert_eq!(r.row().code, r.code());
        assert!(!r.source().is_empty(), "{r:?}");
        assert!(!r.text_id().is_empty());
    }
    assert!(
        ReferralReason::GiziBuruk
            .text_id()
            .contains("LiLA < 11,5 cm")
    );
    assert_eq!(ReferralReason::Oedema.urgency(), 13);
}
