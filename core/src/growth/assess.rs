//! Whole-visit assessment: z-scores, Permenkes classes, KMS status, 2T, BGM and referral reasons.
//! The one call the store makes per visit.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::classify::{GiziInput, GiziSign, StatusGizi, status_gizi};
use super::kms::{KbmTable, KmsStatus, NtRule, gain_grams, month_index};
use super::referral::{ReferralReason, not_weighed_referral};
use super::{
    Classes, HfaClass, Measurement, Position, RULES_VERSION, STANDARD_VERSION, Sex, ZScores,
    classify, zscores,
};
use crate::domain::{Measurements, completed_months};

/// What the growth engine needs to know about a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildInfo {
    pub sex: Sex,
    pub birth_date: NaiveDate,
}

/// The measurements of one visit (one child, one day).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitInput {
    pub date: NaiveDate,
    pub weight_kg: Option<f64>,
    pub height_cm: Option<f64>,
    pub position: Option<Position>,
    pub head_cm: Option<f64>,
    pub muac_cm: Option<f64>,
    pub oedema: bool,
}

impl VisitInput {
    /// The engine's input for measurements in exact units, dated `date`: the one conversion from grams
    /// and millimetres to the engine's kg and cm.
    pub fn new(date: NaiveDate, m: &Measurements) -> Self {
        Self {
            date,
            weight_kg: m.weight_kg(),
            height_cm: m.height_cm(),
            position: m.position,
            head_cm: m.head_cm(),
            muac_cm: m.muac_cm(),
            oedema: m.oedema.unwrap_or(false),
        }
    }

    /// The engine's view of this visit for a child.
    pub fn measurement(&self, child: &ChildInfo) -> Measurement {
        Measurement {
            sex: child.sex,
            age_days: age_days(child.birth_date, self.date),
            weight_kg: self.weight_kg,
            height_cm: self.height_cm,
            position: self.position,
            head_cm: self.head_cm,
            muac_cm: self.muac_cm,
            oedema: self.oedema,
        }
    }
}

/// Whole days from birth to `date` (negative when `date` is before birth).
pub fn age_days(birth: NaiveDate, date: NaiveDate) -> i64 {
    (date - birth).num_days()
}

/// Everything the engine concludes about one visit. Stored with the visit, with the versions it was
/// computed with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub age_days: i64,
    /// Completed calendar months ([`crate::domain::completed_months`]).
    pub age_months: u32,
    pub z: ZScores,
    pub classes: Classes,
    /// `None` when this visit has no weight.
    pub kms: Option<KmsStatus>,
    /// Bawah garis merah: weight-for-age z < -3.
    pub bgm: bool,
    /// This weighing T and the previous month's weighing T.
    pub two_t: bool,
    /// Gain in grams: since the previous month's weighing when the status is N or T, otherwise since the
    /// latest earlier weighing; `None` without a weight now or before.
    pub gain_g: Option<i64>,
    /// The one nutritional status of this visit ([`super::status_gizi`]); `None` when nothing measured
    /// at this visit supports one.
    pub status_gizi: Option<StatusGizi>,
    /// What decided `status_gizi` (the measurements a referral names).
    pub status_gizi_signs: Vec<GiziSign>,
    /// Most urgent first.
    pub referral: Vec<ReferralReason>,
    /// The referral reasons in Bahasa Indonesia for the bidan, in the same order, naming what
    /// triggered them ("Gizi buruk: LiLA 11,0 cm").
    pub referral_text: Vec<String>,
    /// Plain statements about what does not apply at this age, in Bahasa Indonesia
    /// ([`assessment_notes`]).
    pub notes: Vec<String>,
    pub standard_version: String,
    /// `<RULES_VERSION>+kbm:<table id>+nt:<N/T rule id>`.
    pub rules_version: String,
}

/// The full rules version for a KBM table: the rules release, the KBM table and the N/T rule.
pub fn rules_version(kbm: &KbmTable) -> String {
    format!(
        "{RULES_VERSION}+kbm:{}+nt:{}",
        kbm.id(),
        NtRule::current().id()
    )
}

/// KMS status of `current` (which has a weight and weight-for-age z `waz_now`), its comparator's index
/// in `history`, and the gain used for N/T. `waz_of(j)` is the weight-for-age z of `history[j]`.
fn kms_status(
    child: &ChildInfo,
    history: &[VisitInput],
    date: NaiveDate,
    weight: f64,
    waz_now: Option<f64>,
    waz_of: &dyn Fn(usize) -> Option<f64>,
    kbm: &KbmTable,
) -> (KmsStatus, Option<usize>, Option<i64>) {
    let weighed = |v: &VisitInput| v.weight_kg.is_some() && v.date < date;
    if !history.iter().any(weighed) {
        return (KmsStatus::B, None, None);
    }
    let prev_month = month_index(date) - 1;
    let comparator = history
        .iter()
        .rposition(|v| weighed(v) && month_index(v.date) == prev_month);
    let Some(j) = comparator else {
        return (KmsStatus::O, None, None);
    };
    let before = history[j].weight_kg.unwrap_or(f64::NAN);
    let gain = gain_grams(weight, before);
    let months = completed_months(child.birth_date, date);
    let status = NtRule::current().status(gain, kbm.min_gain_for_rule(months), waz_of(j), waz_now);
    (status, Some(j), Some(gain))
}

/// Assesses one visit. `history` holds the child's earlier visits sorted by date (all before
/// `current.date`); `previous` their assessments in the same order (used to look back for 2T and for
/// "newly pendek"; when it does not line up with `history`, the needed look-backs are recomputed).
pub fn assess_visit(
    child: &ChildInfo,
    history: &[VisitInput],
    previous: &[Assessment],
    current: &VisitInput,
    kbm: &KbmTable,
) -> Assessment {
    let m = current.measurement(child);
    let z = zscores(&m);
    let classes = classify(&z);
    let aligned = previous.len() == history.len();

    let last_weighing = history
        .iter()
        .rposition(|v| v.weight_kg.is_some() && v.date < current.date);

    // Weight-for-age z of an earlier visit: stored with its assessment, or recomputed.
    let waz_of = |j: usize| -> Option<f64> {
        if aligned {
            previous[j].z.waz
        } else {
            zscores(&history[j].measurement(child)).waz
        }
    };
    let (kms, two_t, gain_g) = match current.weight_kg {
        None => (None, false, None),
        Some(w) => {
            let (status, comparator, gain) =
                kms_status(child, history, current.date, w, z.waz, &waz_of, kbm);
            let two_t = status == KmsStatus::T
                && comparator.is_some_and(|j| {
                    let prev_status = if aligned {
                        previous[j].kms
                    } else {
                        history[j].weight_kg.map(|pw| {
                            kms_status(
                                child,
                                &history[..j],
                                history[j].date,
                                pw,
                                waz_of(j),
                                &waz_of,
                                kbm,
                            )
                            .0
                        })
                    };
                    prev_status == Some(KmsStatus::T)
                });
            let gain = gain.or_else(|| {
                last_weighing.and_then(|j| history[j].weight_kg.map(|pw| gain_grams(w, pw)))
            });
            (Some(status), two_t, gain)
        }
    };
    let bgm = z.waz.is_some_and(|v| v < -3.0);

    let mut referral = Vec::new();
    if two_t {
        referral.push(ReferralReason::TwoT);
    } else if kms == Some(KmsStatus::T) {
        referral.push(ReferralReason::T);
    }
    if bgm {
        referral.push(ReferralReason::Bgm);
    }
    if z.waz.is_some_and(|v| v > ORANGE_LINE_WAZ) {
        referral.push(ReferralReason::AboveOrange);
    }
    let age_months = completed_months(child.birth_date, current.date);
    let (status, signs) = status_gizi(&gizi_input(age_months, &z, current));
    referral.extend(super::referral::status_gizi_referral(status));
    if current.oedema {
        referral.push(ReferralReason::Oedema);
    }
    match classes.hfa {
        Some(HfaClass::SangatPendek) => referral.push(ReferralReason::SangatPendek),
        Some(HfaClass::Pendek) => {
            let before = previous_hfa(child, history, previous, aligned, current.date);
            if !matches!(before, Some(HfaClass::Pendek | HfaClass::SangatPendek)) {
                referral.push(ReferralReason::PendekBaru);
            }
        }
        _ => {}
    }
    if let (Some(w), Some(pw)) = (
        current.weight_kg,
        last_weighing.and_then(|j| history[j].weight_kg),
    ) {
        let loss_g = -gain_grams(w, pw);
        if loss_g as f64 > pw * 1000.0 * super::LOSS_CONFIRM_FRACTION {
            referral.push(ReferralReason::WeightLoss10);
        } else if loss_g > 0 {
            referral.push(ReferralReason::WeightLoss);
        }
    }
    if z.flag_waz || z.flag_haz || z.flag_whz || z.flag_baz || z.flag_hcz || z.flag_acz {
        referral.push(ReferralReason::Implausible);
    }
    if current.weight_kg.is_none()
        && let Some(r) = not_weighed_referral(
            last_weighing.map(|j| history[j].date),
            child.birth_date,
            current.date,
        )
    {
        referral.push(r);
    }
    super::referral::rank(&mut referral);

    Assessment {
        age_days: m.age_days,
        age_months,
        z,
        classes,
        kms,
        bgm,
        two_t,
        gain_g,
        status_gizi: status,
        referral_text: super::referral::texts(&referral, &signs),
        status_gizi_signs: signs,
        notes: assessment_notes(age_months),
        referral,
        standard_version: STANDARD_VERSION.to_owned(),
        rules_version: rules_version(kbm),
    }
}

/// The KMS orange line as a weight-for-age z: above it, a referral (Buku KIA 2023: "rujuk bila ... di
/// atas garis oranye"). NOT CONFIRMED: taken as +1 SD, Permenkes 2/2020's cut-off for "risiko berat
/// badan lebih" (the printed KMS page could not be read).
pub const ORANGE_LINE_WAZ: f64 = 1.0;

/// What an assessment at `age_months` completed months says plainly about the standards: from 60 months
/// the balita standards (WHO 2006 z-scores, KMS N/T with the KBM, LiLA cut-offs) no longer apply, and
/// Permenkes 2/2020's BMI-for-age for 5 to 18 years (WHO 2007) is not implemented in Timbang.
pub fn assessment_notes(age_months: u32) -> Vec<String> {
    if age_months >= crate::domain::BALITA_END_MONTHS {
        vec![format!(
            "Umur {age_months} bulan: standar balita (WHO 2006, KMS dan KBM, LiLA) tidak berlaku lagi; IMT/U 5-18 tahun (WHO 2007, Permenkes 2/2020) belum tersedia di Timbang, nilai gizi anak dinilai oleh tenaga kesehatan."
        )]
    } else {
        Vec::new()
    }
}

/// What the status gizi rule ([`super::status_gizi`]) needs from a visit and its z-scores: the one
/// conversion, used at assessment and when a stored assessment is read back.
pub fn gizi_input(age_months: u32, z: &ZScores, v: &VisitInput) -> GiziInput {
    GiziInput {
        age_months,
        whz: z.whz,
        baz: z.baz,
        muac_mm: v.muac_cm.map(|cm| (cm * 10.0).round() as u32),
        oedema: v.oedema,
    }
}

/// Length/height-for-age class at the latest earlier visit that has one.
fn previous_hfa(
    child: &ChildInfo,
    history: &[VisitInput],
    previous: &[Assessment],
    aligned: bool,
    date: NaiveDate,
) -> Option<HfaClass> {
    if aligned {
        previous
            .iter()
            .zip(history)
            .rev()
            .filter(|(_, v)| v.date < date)
            .find_map(|(a, _)| a.classes.hfa)
    } else {
        history
            .iter()
            .rev()
            .filter(|v| v.date < date && v.height_cm.is_some())
            .find_map(|v| classify(&zscores(&v.measurement(child))).hfa)
    }
}
