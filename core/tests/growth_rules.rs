//! Permenkes classes, KMS status, referral reasons, hard limits, concerns and batch errors.
#![allow(
    clippy::unwrap_used,
    clippy::disallowed_names,
    clippy::type_complexity,
    clippy::cloned_ref_to_slice_refs
)]

use chrono::NaiveDate;
use timbang_core::growth::*;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn zs(waz: Option<f64>, haz: Option<f64>, whz: Option<f64>, baz: Option<f64>) -> ZScores {
    ZScores {
        waz,
        haz,
        whz,
        baz,
        ..ZScores::default()
    }
}

#[test]
fn permenkes_boundaries_both_sides() {
    use HfaClass as H;
    use WfaClass as A;
    use WfhClass as W;
    let wfa = |z| classify(&zs(Some(z), None, None, None)).wfa.unwrap();
    for (z, c) in [
        (-3.01, A::SangatKurang),
        (-3.00, A::Kurang),
        (-2.01, A::Kurang),
        (-2.00, A::Normal),
        (1.00, A::Normal),
        (1.01, A::RisikoLebih),
    ] {
        assert_eq!(wfa(z), c, "wfa {z}");
    }
    let hfa = |z| classify(&zs(None, Some(z), None, None)).hfa.unwrap();
    for (z, c) in [
        (-3.01, H::SangatPendek),
        (-3.00, H::Pendek),
        (-2.01, H::Pendek),
        (-2.00, H::Normal),
        (3.00, H::Normal),
        (3.01, H::Tinggi),
    ] {
        assert_eq!(hfa(z), c, "hfa {z}");
    }
    for (z, c) in [
        (-3.01, W::GiziBuruk),
        (-3.00, W::GiziKurang),
        (-2.01, W::GiziKurang),
        (-2.00, W::GiziBaik),
        (1.00, W::GiziBaik),
        (1.01, W::BerisikoGiziLebih),
        (2.00, W::BerisikoGiziLebih),
        (2.01, W::GiziLebih),
        (3.00, W::GiziLebih),
        (3.01, W::Obesitas),
    ] {
        let cl = classify(&zs(None, None, Some(z), Some(z)));
        assert_eq!((cl.wfh, cl.bfa), (Some(c), Some(c)), "wfh/bfa {z}");
    }
    assert_eq!(classify(&ZScores::default()), Classes::default());
}

#[test]
fn class_codes_labels_and_serde() {
    assert_eq!(WfhClass::GiziBuruk.code(), "gizi_buruk");
    assert_eq!(WfhClass::GiziBuruk.label_id(), "Gizi buruk");
    assert_eq!(
        serde_json::to_string(&HfaClass::SangatPendek).unwrap(),
        "\"sangat_pendek\""
    );
    let back: WfaClass = serde_json::from_str("\"risiko_berat_badan_lebih\"").unwrap();
    assert_eq!(back, WfaClass::RisikoLebih);
    assert!(serde_json::from_str::<WfaClass>("\"nope\"").is_err());
    assert_eq!(serde_json::to_string(&KmsStatus::O).unwrap(), "\"O\"");
    assert_eq!(KmsStatus::T.to_string(), "T");
    assert_eq!(serde_json::to_string(&Sex::Female).unwrap(), "\"P\"");
    assert_eq!(
        serde_json::to_string(&Position::Lying).unwrap(),
        "\"lying\""
    );
    for (s, sex) in [
        ("L", Sex::Male),
        ("m", Sex::Male),
        ("p", Sex::Female),
        ("F", Sex::Female),
    ] {
        assert_eq!(s.parse::<Sex>(), Ok(sex));
    }
    assert_eq!("X".parse::<Sex>(), Err(()));
}

#[test]
fn kbm_tables() {
    let def = KbmTable::default_table();
    assert_eq!(def.id(), "kms-permenkes-155-2010");
    assert_eq!(def.min_gain_g(3), Some(800));
    assert_eq!(def.min_gain_g(1), Some(800));
    assert_eq!(def.min_gain_g(2), Some(900));
    assert_eq!(def.min_gain_g(12), Some(200));
    assert_eq!(def.min_gain_g(60), Some(200));
    assert_eq!(def.min_gain_g(0), None);
    assert_eq!(def.min_gain_g(61), None);
    assert!(def.source().contains("155"));
    let prog = KbmTable::by_id("kms-programme-file").unwrap();
    assert_eq!(prog.min_gain_g(3), Some(600));
    assert!(prog.source().contains("doubtful"));
    assert_eq!(
        KbmTable::ids(),
        vec!["kms-permenkes-155-2010", "kms-programme-file"]
    );
    assert!(KbmTable::by_id("nope").is_none());
}

/// The one month rule (docs/adr/0001-completed-months.md): a month is completed on the monthly
/// birthday, or on the last day of a month that has no such day.
#[test]
fn completed_months_are_calendar_based() {
    use timbang_core::domain::completed_months;
    // Month ends: born on the 31st, February (leap and common years), a 30-day month.
    assert_eq!(completed_months(d("2024-01-31"), d("2024-02-28")), 0);
    assert_eq!(completed_months(d("2024-01-31"), d("2024-02-29")), 1);
    assert_eq!(completed_months(d("2023-01-31"), d("2023-02-27")), 0);
    assert_eq!(completed_months(d("2023-01-31"), d("2023-02-28")), 1);
    assert_eq!(completed_months(d("2024-01-31"), d("2024-03-01")), 1);
    assert_eq!(completed_months(d("2024-01-31"), d("2024-03-30")), 1);
    assert_eq!(completed_months(d("2024-01-31"), d("2024-03-31")), 2);
    assert_eq!(completed_months(d("2024-03-31"), d("2024-04-29")), 0);
    assert_eq!(completed_months(d("2024-03-31"), d("2024-04-30")), 1);
    // Born on the 30th: February's last day completes the month.
    assert_eq!(completed_months(d("2023-01-30"), d("2023-02-28")), 1);
    // Ordinary days.
    assert_eq!(completed_months(d("2024-01-15"), d("2024-02-14")), 0);
    assert_eq!(completed_months(d("2024-01-15"), d("2024-02-15")), 1);
    // A leap-day child completes 60 months on 28 February of a common year.
    assert_eq!(completed_months(d("2020-02-29"), d("2025-02-27")), 59);
    assert_eq!(completed_months(d("2020-02-29"), d("2025-02-28")), 60);
    assert_eq!(completed_months(d("2024-05-01"), d("2024-04-01")), 0);
}

fn child() -> ChildInfo {
    ChildInfo {
        sex: Sex::Male,
        birth_date: d("2024-01-10"),
    }
}

fn visit(date: &str, w: Option<f64>) -> VisitInput {
    VisitInput {
        date: d(date),
        weight_kg: w,
        height_cm: None,
        position: None,
        head_cm: None,
        muac_cm: None,
        oedema: false,
    }
}

/// Assesses a whole history in order, as the store does.
fn run(visits: &[VisitInput], kbm: &KbmTable) -> Vec<Assessment> {
    let mut out: Vec<Assessment> = Vec::new();
    for (i, v) in visits.iter().enumerate() {
        let a = assess_visit(&child(), &visits[..i], &out, v, kbm);
        out.push(a);
    }
    out
}

#[test]
fn kms_n_t_o_b_and_2t() {
    let kbm = KbmTable::default_table();
    // Born 2024-01-10. 2024-04-12 is 3 completed months: KBM 800 (default) / 600 (programme file).
    let v = [
        visit("2024-02-12", Some(4.5)), // B
        visit("2024-03-12", Some(5.4)), // 2 months, +900 >= 900: N
        visit("2024-04-12", Some(6.1)), // 3 months, +700 < 800: T (N with the programme file)
        visit("2024-05-12", Some(6.5)), // 4 months, +400 < 600: T, previous T: 2T
        visit("2024-07-12", Some(7.5)), // no June weighing: O
        visit("2024-08-12", None),      // no weight: no status
        visit("2024-09-12", Some(7.9)), // no August weighing: O
        visit("2024-10-12", Some(8.2)), // 9 months, +300 >= 300: N
    ];
    let a = run(&v, kbm);
    let st: Vec<Option<KmsStatus>> = a.iter().map(|x| x.kms).collect();
    use KmsStatus::*;
    assert_eq!(
        st,
        vec![
            Some(B),
            Some(N),
            Some(T),
            Some(T),
            Some(O),
            None,
            Some(O),
            Some(N)
        ]
    );
    let two_t: Vec<bool> = a.iter().map(|x| x.two_t).collect();
    assert_eq!(
        two_t,
        vec![false, false, false, true, false, false, false, false]
    );
    assert!(a[3].referral.contains(&ReferralReason::TwoT));
    assert_eq!(a[1].gain_g, Some(900));
    assert_eq!(a[2].gain_g, Some(700));
    assert_eq!(a[4].gain_g, Some(1000)); // O: since the latest weighing
    assert_eq!(a[0].gain_g, None);
    assert_eq!(a[2].age_months, 3);
    assert_eq!(
        a[0].rules_version,
        "permenkes-2-2020.r2+kbm:kms-permenkes-155-2010+nt:garis-kms-2023"
    );
    assert_eq!(a[0].standard_version, "WHO-2006");

    let prog = KbmTable::by_id("kms-programme-file").unwrap();
    let b = run(&v, prog);
    assert_eq!(b[2].kms, Some(N));
    assert_eq!(b[3].kms, Some(T));
    assert!(!b[3].two_t);
    assert_eq!(
        b[2].rules_version,
        "permenkes-2-2020.r2+kbm:kms-programme-file+nt:garis-kms-2023"
    );

    // Exactly the KBM is N; one gram less is T when the weight-for-age z falls (a heavy baby whose
    // line does not follow the curves). The same gain by a small baby whose z rises is N by the curve.
    let edge = [
        visit("2024-03-12", Some(7.4)),
        visit("2024-04-12", Some(8.2)),
    ];
    assert_eq!(run(&edge, kbm)[1].kms, Some(N));
    let edge = [
        visit("2024-03-12", Some(7.4)),
        visit("2024-04-12", Some(8.199)),
    ];
    let e = run(&edge, kbm);
    assert!(e[1].z.waz < e[0].z.waz, "{:?} {:?}", e[0].z.waz, e[1].z.waz);
    assert_eq!(e[1].kms, Some(T));
    let small = [
        visit("2024-03-12", Some(5.0)),
        visit("2024-04-12", Some(5.799)),
    ];
    let e = run(&small, kbm);
    assert!(e[1].z.waz > e[0].z.waz);
    assert_eq!(e[1].kms, Some(N));

    // 2T also found without the previous assessments (recomputed).
    let hist = &v[..3];
    let a3 = assess_visit(&child(), hist, &[], &v[3], kbm);
    assert!(a3.two_t);
}

#[test]
fn bgm_and_weight_referrals() {
    let kbm = KbmTable::default_table();
    // Boy 2024-01-10, visit 2024-07-10 (day 182): weianthro boy 182 M ~7.9; 5.0 kg is far below -3.
    let v = [
        visit("2024-06-10", Some(5.4)),
        visit("2024-07-10", Some(5.0)),
    ];
    let a = run(&v, kbm);
    assert!(a[1].bgm);
    assert!(a[1].z.waz.unwrap() < -3.0);
    assert!(a[1].referral.contains(&ReferralReason::Bgm));
    assert!(a[1].referral.contains(&ReferralReason::WeightLoss));
    assert_eq!(a[1].kms, Some(KmsStatus::T));
    // Sorted by urgency: BGM (8) before weight loss (5).
    let urg: Vec<u8> = a[1].referral.iter().map(ReferralReason::urgency).collect();
    assert!(urg.windows(2).all(|w| w[0] >= w[1]));
}

fn hv(date: &str, w: Option<f64>, h: Option<f64>) -> VisitInput {
    VisitInput {
        height_cm: h,
        position: Some(Position::Lying),
        ..visit(date, w)
    }
}

#[test]
fn gizi_oedema_and_stunting_referrals() {
    let kbm = KbmTable::default_table();
    let c = child();
    // Day 366 (2025-01-10), 75 cm lying: wflanthro boy 75.0 M ~9.5; 6.5 kg -> gizi buruk.
    let v = hv("2025-01-10", Some(6.5), Some(75.0));
    let a = assess_visit(&c, &[], &[], &v, kbm);
    assert_eq!(a.classes.wfh, Some(WfhClass::GiziBuruk));
    assert!(a.referral.contains(&ReferralReason::GiziBuruk));
    // 7.7 kg -> gizi kurang (between -3 and -2).
    let a = assess_visit(&c, &[], &[], &hv("2025-01-10", Some(7.7), Some(75.0)), kbm);
    assert_eq!(a.classes.wfh, Some(WfhClass::GiziKurang));
    assert!(a.referral.contains(&ReferralReason::GiziKurang));
    // Oedema.
    let mut v = hv("2025-01-10", Some(9.0), Some(75.0));
    v.oedema = true;
    let a = assess_visit(&c, &[], &[], &v, kbm);
    assert_eq!(a.referral.first(), Some(&ReferralReason::Oedema));
    assert_eq!(a.z.waz, None);
    // Sangat pendek: lenanthro boy 366 M ~75.7, S ~0.032: 65 cm is below -3.
    let a = assess_visit(&c, &[], &[], &hv("2025-01-10", Some(8.0), Some(65.0)), kbm);
    assert_eq!(a.classes.hfa, Some(HfaClass::SangatPendek));
    assert!(a.referral.contains(&ReferralReason::SangatPendek));
    // Newly pendek: normal at the previous height, pendek now. 70.0 cm at day 366 -> about -2.35.
    let prev = hv("2024-12-10", Some(8.5), Some(74.0));
    let now = hv("2025-01-10", Some(8.6), Some(70.0));
    let hist = [prev.clone()];
    let pa = [assess_visit(&c, &[], &[], &prev, kbm)];
    assert_eq!(pa[0].classes.hfa, Some(HfaClass::Normal));
    let a = assess_visit(&c, &hist, &pa, &now, kbm);
    assert_eq!(a.classes.hfa, Some(HfaClass::Pendek));
    assert!(a.referral.contains(&ReferralReason::PendekBaru));
    // Already pendek before: not new.
    let prev2 = hv("2024-12-10", Some(8.5), Some(69.0));
    let pa2 = [assess_visit(&c, &[], &[], &prev2, kbm)];
    assert_eq!(pa2[0].classes.hfa, Some(HfaClass::Pendek));
    let a = assess_visit(&c, &[prev2], &pa2, &now, kbm);
    assert!(!a.referral.contains(&ReferralReason::PendekBaru));
    // Implausible (flagged) value.
    let a = assess_visit(&c, &[], &[], &hv("2025-01-10", Some(30.0), Some(75.0)), kbm);
    assert!(a.z.any_flag());
    assert!(a.referral.contains(&ReferralReason::Implausible));
    // A visit without weight, 3 months after the last weighing.
    let hist = [visit("2024-09-10", Some(8.0))];
    let pa = run(&hist, kbm);
    let a = assess_visit(&c, &hist, &pa, &hv("2024-12-10", None, Some(74.0)), kbm);
    assert_eq!(a.kms, None);
    assert!(a.referral.contains(&ReferralReason::NotWeighed3Months));
}

#[test]
fn referral_codes_round_trip() {
    for r in ReferralReason::ALL {
        assert_eq!(r.code().parse::<ReferralReason>(), Ok(*r));
        let j = serde_json::to_string(r).unwrap();
        assert_eq!(j, format!("\"{}\"", r.code()));
        assert_eq!(serde_json::from_str::<ReferralReason>(&j).unwrap(), *r);
        assert!(!r.text_id().is_empty());
    }
    assert_eq!(ReferralReason::TwoT.code(), "2T");
    assert_eq!(ReferralReason::Oedema.code(), "EDEMA");
    assert_eq!("X".parse::<ReferralReason>(), Err(()));
    let mut urg: Vec<u8> = ReferralReason::ALL.iter().map(|r| r.urgency()).collect();
    urg.sort_unstable();
    urg.dedup();
    assert_eq!(urg.len(), ReferralReason::ALL.len());
}

#[test]
fn not_weighed_three_months() {
    let birth = d("2024-01-20");
    let f = not_weighed_referral;
    let nw = Some(ReferralReason::NotWeighed3Months);
    // Weighed in May: June and July missed is 2 calendar months, no referral before August.
    assert_eq!(f(Some(d("2024-05-01")), birth, d("2024-07-31")), None);
    assert_eq!(f(Some(d("2024-05-31")), birth, d("2024-08-01")), nw);
    assert_eq!(f(Some(d("2024-12-15")), birth, d("2025-02-28")), None);
    assert_eq!(f(Some(d("2024-12-15")), birth, d("2025-03-01")), nw);
    // Never weighed: from birth, only once 3 completed months old.
    assert_eq!(f(None, birth, d("2024-04-19")), None);
    assert_eq!(f(None, birth, d("2024-04-20")), nw);
}

fn vi(w: Option<f64>, h: Option<f64>, hc: Option<f64>, muac: Option<f64>) -> VisitInput {
    VisitInput {
        date: d("2025-01-10"),
        weight_kg: w,
        height_cm: h,
        position: Some(Position::Lying),
        head_cm: hc,
        muac_cm: muac,
        oedema: false,
    }
}

#[test]
fn hard_limits_both_sides() {
    assert!(check_hard_limits(&vi(None, None, None, None)).is_ok());
    let cases: [(fn(f64) -> VisitInput, Field, f64, f64); 4] = [
        (|x| vi(Some(x), None, None, None), Field::Weight, 0.5, 40.0),
        (
            |x| vi(None, Some(x), None, None),
            Field::Height,
            35.0,
            140.0,
        ),
        (|x| vi(None, None, Some(x), None), Field::Head, 20.0, 60.0),
        (|x| vi(None, None, None, Some(x)), Field::Muac, 5.0, 30.0),
    ];
    for (make, field, lo, hi) in cases {
        assert!(check_hard_limits(&make(lo)).is_ok(), "{field:?} {lo}");
        assert!(check_hard_limits(&make(hi)).is_ok(), "{field:?} {hi}");
        for bad in [lo - 0.01, hi + 0.01, 0.0, -1.0, f64::NAN, f64::INFINITY] {
            let e = check_hard_limits(&make(bad)).unwrap_err();
            assert_eq!((e.field, e.min, e.max), (field, lo, hi), "{field:?} {bad}");
            assert!(e.to_string().ends_with('.'));
        }
    }
    let e = check_hard_limits(&vi(Some(45.0), None, None, None)).unwrap_err();
    assert_eq!(
        e.message_id(),
        "Berat badan 45 kg di luar batas 0,5–40 kg; periksa kembali."
    );
    assert_eq!(
        e.to_string(),
        "Weight 45 kg is outside the allowed range 0.5-40 kg."
    );
    let e = check_hard_limits(&vi(None, Some(f64::NAN), None, None)).unwrap_err();
    assert!(
        e.message_id()
            .starts_with("Panjang/tinggi badan bukan angka")
    );
    assert_eq!(Field::Head.code(), "head_circ_cm");
    assert_eq!(Field::Muac.label_id(), "LiLA");
    let c = child();
    assert!(check_visit_date(&c, c.birth_date).is_ok());
    let e = check_visit_date(&c, d("2024-01-09")).unwrap_err();
    assert_eq!(e.field, Field::Date);
}

#[test]
fn concerns() {
    let c = child(); // boy born 2024-01-10; 2025-01-10 is day 366
    let codes = |hist: &[VisitInput], v: &VisitInput| -> Vec<&'static str> {
        plausibility(&c, hist, v).iter().map(|x| x.code).collect()
    };
    // Nothing odd.
    let ok = vi(Some(9.6), Some(75.5), Some(46.0), Some(14.5));
    assert!(codes(&[], &ok).is_empty());
    // WHO flag: 30 kg at one year (WAZ > 5).
    let cs = plausibility(&c, &[], &vi(Some(30.0), None, None, None));
    assert!(
        cs.iter()
            .any(|x| x.code == "who_flag_waz" && x.field == Field::Weight)
    );
    assert!(
        cs.iter()
            .all(|x| !x.message_id.is_empty() && !x.message_en.is_empty())
    );
    // Height shrank more than 1.5 cm (both lying, same age band).
    let prev = VisitInput {
        date: d("2024-12-10"),
        ..vi(Some(9.4), Some(76.0), None, None)
    };
    assert!(
        codes(&[prev.clone()], &vi(Some(9.6), Some(74.4), None, None)).contains(&"height_shrank")
    );
    assert!(
        !codes(&[prev.clone()], &vi(Some(9.6), Some(74.5), None, None)).contains(&"height_shrank")
    );
    // After the adjustment: lying 88.0 at 23 months vs standing 86.6 at 24 months = 87.3 - 86.6 is
    // 0.7 cm shorter after adjustment... standing 86.6 at day >= 731 is 86.6; lying 88.0 at day < 731 is
    // 88.0: 1.4 cm, not a concern; standing 86.4: 1.6 cm, a concern.
    let young = VisitInput {
        date: d("2025-12-10"),
        position: Some(Position::Lying),
        ..vi(None, Some(88.0), None, None)
    };
    let older = |h: f64| VisitInput {
        date: d("2026-01-20"),
        position: Some(Position::Standing),
        ..vi(None, Some(h), None, None)
    };
    assert!(!codes(&[young.clone()], &older(86.6)).contains(&"height_shrank"));
    assert!(codes(&[young], &older(86.4)).contains(&"height_shrank"));
    // Weight jump: one month, from 9.4 kg at 11 months: limit 1.0 kg/month + 0.2.
    assert!(codes(&[prev.clone()], &vi(Some(10.8), None, None, None)).contains(&"weight_jump"));
    assert!(!codes(&[prev.clone()], &vi(Some(10.5), None, None, None)).contains(&"weight_jump"));
    // Loss of more than 10% + 0.2 kg.
    assert!(codes(&[prev.clone()], &vi(Some(8.2), None, None, None)).contains(&"weight_jump"));
    assert!(!codes(&[prev.clone()], &vi(Some(8.8), None, None, None)).contains(&"weight_jump"));
    // Ten times: 0.96 kg typed for 9.6 kg.
    let cs = codes(&[prev.clone()], &vi(Some(0.96), None, None, None));
    assert!(cs.contains(&"ten_times"));
    // Without history, against the WHO median (about 9.6 kg at one year).
    assert!(codes(&[], &vi(Some(1.0), None, None, None)).contains(&"ten_times"));
    assert!(!codes(&[], &vi(Some(7.0), None, None, None)).contains(&"ten_times"));
}

#[test]
fn batch_errors_name_line_and_column() {
    let head = "case_id,sex,birth_date,measure_date,weight_kg,height_cm,measured,head_circ_cm,muac_cm,oedema\n";
    let good = "A,M,2020-01-01,2021-01-01,9.5,75,lying,46,14,n\n";
    let run = |body: &str| {
        let mut out = Vec::new();
        let r = run_batch(format!("{head}{body}").as_bytes(), &mut out, &mut |_| {});
        (r, String::from_utf8(out).unwrap())
    };
    let (r, _) = run(good);
    assert_eq!(r.unwrap().rows, 1);
    for (row, col) in [
        ("B,X,2020-01-01,2021-01-01,9.5,75,lying,46,14,n\n", "sex"),
        (
            "B,F,2020-13-01,2021-01-01,9.5,75,lying,46,14,n\n",
            "birth_date",
        ),
        (
            "B,F,2020-01-01,2019-01-01,9.5,75,lying,46,14,n\n",
            "measure_date",
        ),
        (
            "B,F,2020-01-01,2021-01-01,abc,75,lying,46,14,n\n",
            "weight_kg",
        ),
        (
            "B,F,2020-01-01,2021-01-01,9.5,75,sitting,46,14,n\n",
            "measured",
        ),
        (
            "B,F,2020-01-01,2021-01-01,9.5,75,lying,46,14,maybe\n",
            "oedema",
        ),
    ] {
        let (r, out) = run(&format!("{good}{row}"));
        let e = r.unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("line 3") && msg.contains(col), "{msg}");
        // The good row before it was written whole, nothing of the bad one.
        assert_eq!(out.lines().count(), 2, "{out}");
    }
    // Missing column.
    let mut out = Vec::new();
    let e = run_batch(
        "case_id,birth_date,measure_date\n".as_bytes(),
        &mut out,
        &mut |_| {},
    );
    assert!(e.unwrap_err().to_string().contains("sex"));
    // Alternative spellings: L/P, H/L, 1/0, empty, decimal comma in quotes, extra columns.
    let (r, out) =
        run("C,P,2020-01-01,2021-01-01,\"9,5\",75,L,,,1\nD,L,2020-01-01,2021-01-01,,,,,,\n");
    assert_eq!(r.unwrap().rows, 2);
    let lines: Vec<&str> = out.lines().collect();
    // Girl, oedema: no weight-based z-scores; length-for-age present, not flagged; no head, no MUAC.
    let f: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(f.len(), 14);
    assert_eq!(
        (f[0], f[1], f[3], f[4], f[5], f[6]),
        ("C", "", "", "", "", "")
    );
    assert!(f[2].parse::<f64>().is_ok());
    assert_eq!((f[8], f[13]), ("0", "75"));
    assert_eq!(lines[2], "D,,,,,,,,,,,,,");
}

/// A reader that serves `data` and then fails.
struct FailsAtEnd(std::io::Cursor<Vec<u8>>);

impl std::io::Read for FailsAtEnd {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.0.read(buf)? {
            0 => Err(std::io::Error::other("disk gone")),
            n => Ok(n),
        }
    }
}

#[test]
fn a_read_error_after_a_whole_batch_of_rows_is_reported_not_taken_for_the_end() {
    use timbang_core::growth::anthro_csv::{BatchError, run_batch};
    for rows in [1000usize, 1024, 2048] {
        let mut input = String::from("case_id,sex,birth_date,measure_date,weight_kg\n");
        for i in 0..rows {
            input.push_str(&format!("C{i},M,2024-01-01,2024-06-01,7.5\n"));
        }
        let mut out = Vec::new();
        let r = run_batch(
            FailsAtEnd(std::io::Cursor::new(input.into_bytes())),
            &mut out,
            &mut |_| {},
        );
        assert!(matches!(r, Err(BatchError::Io(_))), "{rows} rows: {r:?}");
    }
}
