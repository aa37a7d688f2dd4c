//! Edge cases of the WHO method that the 800 random public cases do not cover. Expected values are
//! computed by hand from the LMS rows quoted in the comments (not from the engine).
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use timbang_core::growth::{Measurement, Position, Sex, lms_value, weight_at_waz, zscores};

fn m(sex: Sex, age_days: i64) -> Measurement {
    Measurement {
        sex,
        age_days,
        weight_kg: None,
        height_cm: None,
        position: None,
        head_cm: None,
        muac_cm: None,
        oedema: false,
    }
}

fn with_len(age: i64, h: f64, pos: Option<Position>, w: Option<f64>) -> Measurement {
    Measurement {
        height_cm: Some(h),
        position: pos,
        weight_kg: w,
        ..m(Sex::Male, age)
    }
}

#[test]
fn age_zero_median_weight_is_zero() {
    // weianthro boy day 0: L 0.3487, M 3.3464, S 0.14602 -> weight = M gives z = 0.
    let z = zscores(&Measurement {
        weight_kg: Some(3.3464),
        ..m(Sex::Male, 0)
    });
    assert_eq!(z.waz, Some(0.0));
    assert!(!z.flag_waz);
    // Arm circumference starts at day 91.
    let z = zscores(&Measurement {
        muac_cm: Some(12.0),
        ..m(Sex::Male, 90)
    });
    assert_eq!(z.acz, None);
    let z = zscores(&Measurement {
        muac_cm: Some(13.4779),
        ..m(Sex::Male, 91)
    });
    assert_eq!(z.acz, Some(0.0)); // acanthro boy day 91: M 13.4779
}

#[test]
fn standing_under_nine_months_is_not_adjusted() {
    // Day 273 (months 8.97 < 9): standing is implausible in position, no +0.7.
    // lenanthro boy 273: L 1, M 71.9273, S 0.03117: (66.3/71.9273 - 1)/0.03117 = -2.50998
    let z = zscores(&with_len(273, 66.3, Some(Position::Standing), None));
    assert_eq!(z.clenhei, Some(66.3));
    assert_eq!(z.haz, Some(-2.51));
    // Day 274: adjusted to 67.0. Boy 274: M 71.9714, S 0.03117: (67.0/71.9714 - 1)/0.03117 = -2.21606
    let z = zscores(&with_len(274, 66.3, Some(Position::Standing), None));
    assert!((z.clenhei.unwrap() - 67.0).abs() < 1e-12);
    assert_eq!(z.haz, Some(-2.22));
}

#[test]
fn day_730_is_length_day_731_is_height() {
    // Day 730 standing 85.0 -> length 85.7; lenanthro boy 730: M 87.8018, S 0.03479 -> -0.68807
    let z = zscores(&with_len(730, 85.0, Some(Position::Standing), None));
    assert!((z.clenhei.unwrap() - 85.7).abs() < 1e-12);
    assert_eq!(z.haz, Some(-0.69));
    // Day 731 lying 85.7 -> height 85.0; boy 731: M 87.1303, S 0.03508 -> -0.69697
    let z = zscores(&with_len(731, 85.7, Some(Position::Lying), None));
    assert!((z.clenhei.unwrap() - 85.0).abs() < 1e-12);
    assert_eq!(z.haz, Some(-0.70));
    // No adjustment when measured the age-appropriate way or position unknown.
    assert_eq!(
        zscores(&with_len(730, 85.0, Some(Position::Lying), None)).clenhei,
        Some(85.0)
    );
    assert_eq!(
        zscores(&with_len(731, 85.0, Some(Position::Standing), None)).clenhei,
        Some(85.0)
    );
    assert_eq!(
        zscores(&with_len(731, 85.0, None, None)).clenhei,
        Some(85.0)
    );
    // Weight-for-length at 730 days: 45-110 cm; weight-for-height at 731: 65-120 cm. 50 cm is only in
    // the length table: defined at 730, undefined at 731 (no fall-back to the other table).
    assert!(
        zscores(&with_len(730, 50.0, Some(Position::Lying), Some(3.0)))
            .whz
            .is_some()
    );
    assert!(
        zscores(&with_len(731, 50.0, Some(Position::Standing), Some(3.0)))
            .whz
            .is_none()
    );
    // 115 cm only in the height table.
    assert!(
        zscores(&with_len(730, 115.0, Some(Position::Lying), Some(20.0)))
            .whz
            .is_none()
    );
    assert!(
        zscores(&with_len(731, 115.0, Some(Position::Standing), Some(20.0)))
            .whz
            .is_some()
    );
}

#[test]
fn day_1826_is_the_last_day() {
    // lenanthro boy 1826: M 109.9593 -> z = 0; weianthro boy 1826: M 18.3352.
    let mut x = with_len(1826, 109.9593, Some(Position::Standing), Some(18.3352));
    x.head_cm = Some(50.0);
    x.muac_cm = Some(16.0);
    let z = zscores(&x);
    assert_eq!((z.haz, z.waz), (Some(0.0), Some(0.0)));
    assert!(z.whz.is_some() && z.baz.is_some() && z.hcz.is_some() && z.acz.is_some());
    x.age_days = 1827;
    let z = zscores(&x);
    assert_eq!(
        [z.waz, z.haz, z.whz, z.baz, z.hcz, z.acz],
        [None, None, None, None, None, None]
    );
    assert_eq!(z.clenhei, Some(109.9593)); // still reported, as WHO Anthro does
    // Negative age: nothing.
    x.age_days = -1;
    assert_eq!(zscores(&x).waz, None);
}

#[test]
fn table_borders_with_the_07_shift() {
    // wflanthro boy 45.0: L -0.3521, M 2.441, S 0.09182 -> weight = M gives 0.
    // Day 500 standing 44.3 -> 45.0 (exactly, in doubles): defined.
    let z = zscores(&with_len(500, 44.3, Some(Position::Standing), Some(2.441)));
    assert_eq!(z.whz, Some(0.0));
    // 44.2 -> 44.9: below the length table.
    assert_eq!(
        zscores(&with_len(500, 44.2, Some(Position::Standing), Some(2.441))).whz,
        None
    );
    // Day 500 standing 109.3 -> 110.0: last row (M 18.2689) defined; 109.4 -> 110.1 undefined.
    let z = zscores(&with_len(
        500,
        109.3,
        Some(Position::Standing),
        Some(18.2689),
    ));
    assert_eq!(z.whz, Some(0.0));
    assert_eq!(
        zscores(&with_len(500, 109.4, Some(Position::Standing), Some(18.0))).whz,
        None
    );
    // Day 800 lying 65.7 -> 65.0: first row of the height table (M 7.4327). 65.6 -> 64.9: undefined.
    let z = zscores(&with_len(800, 65.7, Some(Position::Lying), Some(7.4327)));
    assert_eq!(z.whz, Some(0.0));
    assert_eq!(
        zscores(&with_len(800, 65.6, Some(Position::Lying), Some(7.4))).whz,
        None
    );
    // Day 800 lying 120.7 -> 120.0: last row (M 22.353); 120.8 -> 120.1: undefined.
    let z = zscores(&with_len(800, 120.7, Some(Position::Lying), Some(22.353)));
    assert_eq!(z.whz, Some(0.0));
    assert_eq!(
        zscores(&with_len(800, 120.8, Some(Position::Lying), Some(22.0))).whz,
        None
    );
}

#[test]
fn interpolated_height() {
    // Day 800 boy, 95.95 cm standing, 14.0 kg. wfhanthro boy 95.9: L -0.3521 M 14.279 S 0.08081;
    // 96.0: M 14.3037 S 0.08083. diff = (95.95 - 95.9)/0.1 = 0.5 -> M 14.29135, S 0.08082,
    // z = ((14/14.29135)^-0.3521 - 1)/(0.08082 * -0.3521) = -0.25578 -> -0.26.
    // Without interpolation (row 95.9 only) it would be -0.2473... -> -0.25.
    let z = zscores(&with_len(800, 95.95, Some(Position::Standing), Some(14.0)));
    assert_eq!(z.whz, Some(-0.26));
}

#[test]
fn oedema_removes_weight_based_scores_only() {
    let mut x = with_len(400, 75.0, Some(Position::Lying), Some(9.0));
    x.head_cm = Some(46.0);
    x.muac_cm = Some(14.0);
    x.oedema = true;
    let z = zscores(&x);
    assert_eq!((z.waz, z.whz, z.baz), (None, None, None));
    assert!(!z.flag_waz && !z.flag_whz && !z.flag_baz);
    assert!(z.haz.is_some() && z.hcz.is_some() && z.acz.is_some());
    // Oedema with an extreme weight still gives nothing weight-based, and no flag.
    x.weight_kg = Some(2.0);
    let z = zscores(&x);
    assert_eq!((z.waz, z.flag_waz), (None, false));
}

#[test]
fn restricted_rule_beyond_three() {
    // weianthro boy day 0: L 0.3487 M 3.3464 S 0.14602.
    // SD3neg = 2.08031, SD2neg = 2.45931; 1.5 kg: plain z -4.79, restricted -3 + (1.5-2.08031)/0.37900
    // = -4.53114.
    let z = zscores(&Measurement {
        weight_kg: Some(1.5),
        ..m(Sex::Male, 0)
    });
    assert_eq!(z.waz, Some(-4.53));
    // SD3 = 5.03064, SD2 = 4.41935; 6.0 kg: plain 4.43, restricted 3 + (6-5.03064)/0.61129 = 4.58577.
    let z = zscores(&Measurement {
        weight_kg: Some(6.0),
        ..m(Sex::Male, 0)
    });
    assert_eq!(z.waz, Some(4.59));
    // Length-for-age is not restricted: boy day 0 M 49.8842 S 0.03795; 40 cm ->
    // (40/49.8842 - 1)/0.03795 = -5.2213.
    let z = zscores(&with_len(0, 40.0, Some(Position::Lying), None));
    assert_eq!(z.haz, Some(-5.22));
}

/// Weight at restricted WAZ `z` (beyond -3) for boy day 0, from the LMS row by hand.
fn weight_at_restricted(z: f64) -> f64 {
    let (l, mm, s) = (0.3487, 3.3464, 0.14602);
    let sd = |k: f64| mm * (1.0 + l * s * k).powf(1.0 / l);
    if z < -3.0 {
        sd(-3.0) + (z + 3.0) * (sd(-2.0) - sd(-3.0))
    } else {
        sd(3.0) + (z - 3.0) * (sd(3.0) - sd(2.0))
    }
}

#[test]
fn flags_exactly_at_the_limits() {
    let waz = |z: f64| {
        zscores(&Measurement {
            weight_kg: Some(weight_at_restricted(z)),
            ..m(Sex::Male, 0)
        })
    };
    let z = waz(-6.0);
    assert_eq!((z.waz, z.flag_waz), (Some(-6.0), false));
    let z = waz(-6.01);
    assert_eq!((z.waz, z.flag_waz), (Some(-6.01), true));
    let z = waz(5.0);
    assert_eq!((z.waz, z.flag_waz), (Some(5.0), false));
    let z = waz(5.01);
    assert_eq!((z.waz, z.flag_waz), (Some(5.01), true));
    // A value that rounds to -6.00 from below -6 is not flagged (flags are on the rounded value).
    let z = waz(-6.004);
    assert_eq!((z.waz, z.flag_waz), (Some(-6.0), false));

    // HAZ flag at |z| > 6 (plain formula): boy day 0 M 49.8842 S 0.03795, L 1.
    let haz = |z: f64| zscores(&with_len(0, 49.8842 * (1.0 + 0.03795 * z), None, None));
    assert_eq!((haz(-6.0).haz, haz(-6.0).flag_haz), (Some(-6.0), false));
    assert_eq!((haz(-6.01).haz, haz(-6.01).flag_haz), (Some(-6.01), true));
    assert_eq!((haz(6.0).haz, haz(6.0).flag_haz), (Some(6.0), false));
    assert_eq!((haz(6.01).haz, haz(6.01).flag_haz), (Some(6.01), true));
    // HCZ flag at |z| > 5: hcanthro boy day 0 L 1 M 34.4618 S 0.03686.
    let hcz = |z: f64| {
        zscores(&Measurement {
            head_cm: Some(34.4618 * (1.0 + 0.03686 * z)),
            ..m(Sex::Male, 0)
        })
    };
    assert_eq!((hcz(5.0).hcz, hcz(5.0).flag_hcz), (Some(5.0), false));
    assert_eq!((hcz(-5.01).hcz, hcz(-5.01).flag_hcz), (Some(-5.01), true));
}

#[test]
fn zero_negative_and_non_finite_measurements_give_nothing() {
    for bad in [0.0, -3.0, f64::NAN, f64::INFINITY] {
        let z = zscores(&Measurement {
            weight_kg: Some(bad),
            height_cm: Some(bad),
            head_cm: Some(bad),
            muac_cm: Some(bad),
            ..m(Sex::Female, 400)
        });
        assert_eq!([z.waz, z.haz, z.whz, z.baz, z.hcz, z.acz], [None; 6]);
        assert!(!z.any_flag());
    }
}

proptest! {
    #[test]
    fn waz_increases_with_weight(age in 0i64..=1826, w in 1.0f64..30.0, dw in 0.05f64..5.0, girl: bool) {
        let sex = if girl { Sex::Female } else { Sex::Male };
        let a = zscores(&Measurement { weight_kg: Some(w), ..m(sex, age) }).waz.unwrap();
        let b = zscores(&Measurement { weight_kg: Some(w + dw), ..m(sex, age) }).waz.unwrap();
        prop_assert!(b >= a);
    }

    #[test]
    fn haz_and_whz_increase_with_their_measurement(
        age in 0i64..=1826, h in 66.0f64..105.0, dh in 0.1f64..5.0, w in 5.0f64..20.0, dw in 0.05f64..3.0
    ) {
        let a = zscores(&with_len(age, h, None, Some(w)));
        let b = zscores(&with_len(age, h + dh, None, Some(w)));
        prop_assert!(b.haz.unwrap() >= a.haz.unwrap());
        let c = zscores(&with_len(age, h, None, Some(w + dw)));
        prop_assert!(c.whz.unwrap() >= a.whz.unwrap());
        // and weight-for-height falls as height rises at a fixed weight
        prop_assert!(b.whz.unwrap() <= a.whz.unwrap());
    }

    #[test]
    fn inverse_lms_round_trips(age in 0i64..=1826, z in -2.99f64..2.99, girl: bool) {
        let sex = if girl { Sex::Female } else { Sex::Male };
        let w = weight_at_waz(sex, age, z).unwrap();
        let got = zscores(&Measurement { weight_kg: Some(w), ..m(sex, age) }).waz.unwrap();
        prop_assert!((got - z).abs() <= 0.005 + 1e-9, "z {} -> w {} -> {}", z, w, got);
        // lms_value with L = 1 is linear: M (1 + S z)
        let v = lms_value(z, 1.0, 50.0, 0.04);
        prop_assert!((v - 50.0 * (1.0 + 0.04 * z)).abs() < 1e-9);
    }
}
