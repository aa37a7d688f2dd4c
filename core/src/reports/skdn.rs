//! SKDN for one posyandu and one month, with the identity D = N + T + O + B checked.
//!
//! * **S** (sasaran): every kept child who is a balita during the month: born on or before its last day
//!   and under 60 completed months on its first day ([`is_target`]).
//! * **K**: those of S with a KMS / Buku KIA (recorded at registration, default yes).
//! * **D**: those of S weighed in the month (a visit with a weight).
//! * **N, T, O, B**: D split by the KMS status of the month's last weighing (`growth::kms`: B first
//!   weighing ever, O not weighed the month before, N gain at least the KBM, T otherwise).
//! * **BGM**: of D, weight-for-age z below -3 at that weighing; **2T**: of D, the second T in a row.
//!
//! A weighing with no KMS status breaks the identity; it is counted and explained rather than hidden.

use chrono::NaiveDate;
use serde::Serialize;

use super::Month;
use crate::domain::completed_months;
use crate::growth::KmsStatus;

/// Children stop being balita at 60 completed months.
const BALITA_MONTHS: u32 = 60;

/// The month's last weighing of a child, as the projections stored its assessment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthWeighing {
    pub date: NaiveDate,
    pub kms: Option<KmsStatus>,
    pub bgm: bool,
    pub two_t: bool,
}

/// One kept child as SKDN needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkdnChild {
    pub birth_date: Option<NaiveDate>,
    /// Has a KMS / Buku KIA.
    pub has_kms: bool,
    /// The last weighing in the month, if weighed.
    pub weighing: Option<MonthWeighing>,
}

/// Why D differs from N + T + O + B, or why children were left out: a count, a stable code and the
/// sentence shown to the bidan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    pub code: String,
    pub count: u32,
    pub text: String,
}

/// The SKDN of one posyandu for one month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Skdn {
    pub month: Month,
    pub posyandu: String,
    pub village: String,
    pub s: u32,
    pub k: u32,
    pub d: u32,
    pub n: u32,
    pub t: u32,
    pub o: u32,
    pub b: u32,
    pub bgm: u32,
    pub two_t: u32,
    /// D = N + T + O + B.
    pub identity_holds: bool,
    /// What breaks the identity, and children left out of S (no birth date; weighed at 60 months or
    /// more). Empty when everything adds up.
    pub mismatch: Vec<Mismatch>,
    /// Participation D/S (None when S is 0).
    pub d_s: Option<f64>,
    /// Success N/D (None when D is 0).
    pub n_d: Option<f64>,
    /// Coverage K/S.
    pub k_s: Option<f64>,
    /// Continuity D/K.
    pub d_k: Option<f64>,
}

/// Whether a child born on `birth` is a target child (S) in `month`.
pub fn is_target(birth: NaiveDate, month: Month) -> bool {
    birth <= month.last_day() && completed_months(birth, month.first_day()) < BALITA_MONTHS
}

fn ratio(a: u32, b: u32) -> Option<f64> {
    (b > 0).then(|| f64::from(a) / f64::from(b))
}

/// SKDN of `children` (the kept children of one posyandu) for `month`.
pub fn skdn(month: Month, posyandu: &str, village: &str, children: &[SkdnChild]) -> Skdn {
    let (mut s, mut k, mut d, mut n, mut t, mut o, mut b, mut bgm, mut two_t) =
        (0u32, 0u32, 0u32, 0u32, 0u32, 0u32, 0u32, 0u32, 0u32);
    let (mut no_status, mut no_birth, mut too_old) = (0u32, 0u32, 0u32);
    for c in children {
        let Some(birth) = c.birth_date else {
            no_birth += 1;
            continue;
        };
        if !is_target(birth, month) {
            if birth <= month.last_day() && c.weighing.is_some() {
                too_old += 1;
            }
            continue;
        }
        s += 1;
        if c.has_kms {
            k += 1;
        }
        let Some(w) = c.weighing else {
            continue;
        };
        d += 1;
        match w.kms {
            Some(KmsStatus::N) => n += 1,
            Some(KmsStatus::T) => t += 1,
            Some(KmsStatus::O) => o += 1,
            Some(KmsStatus::B) => b += 1,
            None => no_status += 1,
        }
        if w.bgm {
            bgm += 1;
        }
        if w.two_t {
            two_t += 1;
        }
    }
    let mut mismatch = Vec::new();
    if no_status > 0 {
        mismatch.push(Mismatch {
            code: "weighed_without_kms_status".into(),
            count: no_status,
            text: format!(
                "{no_status} anak ditimbang tetapi tidak punya status N/T/O/B, jadi D ≠ N + T + O + B; periksa tanggal lahir dan hasil timbangnya."
            ),
        });
    }
    if no_birth > 0 {
        mismatch.push(Mismatch {
            code: "no_birth_date".into(),
            count: no_birth,
            text: format!(
                "{no_birth} anak tidak dihitung dalam S karena tanggal lahirnya tidak tercatat."
            ),
        });
    }
    if too_old > 0 {
        mismatch.push(Mismatch {
            code: "weighed_over_59_months".into(),
            count: too_old,
            text: format!(
                "{too_old} anak ditimbang bulan ini tetapi sudah berumur 60 bulan atau lebih, jadi tidak dihitung dalam S dan D."
            ),
        });
    }
    Skdn {
        month,
        posyandu: posyandu.to_owned(),
        village: village.to_owned(),
        s,
        k,
        d,
        n,
        t,
        o,
        b,
        bgm,
        two_t,
        identity_holds: d == n + t + o + b,
        mismatch,
        d_s: ratio(d, s),
        n_d: ratio(n, d),
        k_s: ratio(k, s),
        d_k: ratio(d, k),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn child(birth: &str, has_kms: bool, w: Option<(KmsStatus, bool, bool)>) -> SkdnChild {
        SkdnChild {
            birth_date: Some(d(birth)),
            has_kms,
            weighing: w.map(|(kms, bgm, two_t)| MonthWeighing {
                date: d("2025-06-14"),
                kms: Some(kms),
                bgm,
                two_t,
            }),
        }
    }

    #[test]
    fn targets_are_balita_during_the_month() {
        let june = Month::parse("2025-06").unwrap();
        assert!(is_target(d("2025-06-30"), june), "born on the last day");
        assert!(!is_target(d("2025-07-01"), june), "born after the month");
        assert!(is_target(d("2020-06-02"), june), "59 months on 1 June");
        assert!(!is_target(d("2020-06-01"), june), "60 months on 1 June");
    }

    #[test]
    fn hand_computed_posyandu() {
        use KmsStatus::*;
        let june = Month::parse("2025-06").unwrap();
        let kids = [
            child("2024-01-10", true, Some((N, false, false))),
            child("2024-02-10", true, Some((N, false, false))),
            child("2023-05-01", true, Some((T, false, true))),
            child("2023-05-02", false, Some((T, true, false))),
            child("2022-11-11", true, Some((O, false, false))),
            child("2025-05-20", true, Some((B, false, false))),
            child("2021-03-03", false, None),
            child("2024-09-09", true, None),
            // Not in S: 60 months on 1 June, weighed anyway; born after June.
            child("2020-05-15", true, Some((N, false, false))),
            child("2025-07-02", true, None),
        ];
        let r = skdn(june, "Mawar", "Sukamaju", &kids);
        assert_eq!(
            (r.s, r.k, r.d, r.n, r.t, r.o, r.b, r.bgm, r.two_t),
            (8, 6, 6, 2, 2, 1, 1, 1, 1)
        );
        assert!(r.identity_holds);
        assert_eq!(r.d_s, Some(6.0 / 8.0));
        assert_eq!(r.n_d, Some(2.0 / 6.0));
        assert_eq!(r.k_s, Some(6.0 / 8.0));
        assert_eq!(r.d_k, Some(1.0));
        assert_eq!(r.mismatch.len(), 1);
        assert_eq!(r.mismatch[0].code, "weighed_over_59_months");
        assert_eq!(r.mismatch[0].count, 1);
    }

    #[test]
    fn a_weighing_without_status_breaks_the_identity_and_is_explained() {
        let june = Month::parse("2025-06").unwrap();
        let mut kid = child("2024-01-10", true, Some((KmsStatus::N, false, false)));
        if let Some(w) = kid.weighing.as_mut() {
            w.kms = None;
        }
        let kids = [
            kid,
            child("2024-01-11", true, Some((KmsStatus::B, false, false))),
        ];
        let r = skdn(june, "Mawar", "Sukamaju", &kids);
        assert_eq!((r.d, r.n, r.t, r.o, r.b), (2, 0, 0, 0, 1));
        assert!(!r.identity_holds);
        assert_eq!(r.mismatch[0].code, "weighed_without_kms_status");
        assert_eq!(r.mismatch[0].count, 1);
        assert!(r.mismatch[0].text.contains("D ≠ N + T + O + B"));
    }

    #[test]
    fn empty_posyandu_has_no_ratios() {
        let r = skdn(Month::parse("2025-06").unwrap(), "Mawar", "Sukamaju", &[]);
        assert_eq!((r.s, r.d), (0, 0));
        assert!(r.identity_holds);
        assert_eq!((r.d_s, r.n_d), (None, None));
    }
}
