//! A table of cases per clinical rule (docs/CLINICAL.md), each covering both sides of every boundary:
//! status gizi (weight-for-length/height, LiLA, oedema), its referrals and their texts.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::NaiveDate;
use common::{TODAY, child, d, phone};
use timbang_core::domain::{Measurements, Sex, VisitEntry};
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
