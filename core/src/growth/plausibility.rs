//! Plausibility at entry, in two tiers (DESIGN section 3).
//!
//! 1. **Hard limits** ([`check_hard_limits`]): values no child under five can have, and zero, negative,
//!    NaN or infinite values. Refused with the field named, even when the kader confirms.
//! 2. **Concerns** ([`plausibility`]): inside the hard limits, values that ask the kader to confirm.
//!    Nothing is changed or dropped; a confirmed value is stored with the confirmation.
//!
//! Concern codes and thresholds:
//!
//! * `who_flag_waz` .. `who_flag_acz`: the WHO flag of the current z-score.
//! * `standing_under_9_months`: a length/height measured standing before 9 completed months.
//! * `height_shrank`: the adjusted length/height is more than 1.5 cm below the child's latest earlier
//!   one (both after the lying/standing 0.7 cm adjustment for their own age).
//! * `weight_jump`: the weight changed more than WHO growth velocity allows for the interval. Gain
//!   limit: the +3 SD (99.87th percentile) weight increment of the WHO 2009 Growth Velocity Standards
//!   for the sex, the age at the earlier weighing and the interval, plus 0.2 kg for dacin resolution
//!   ([`super::velocity::max_gain_g`], tables in `schema/who-2009/`; past 24 months, where WHO has no
//!   velocity standard, the 22-24 months row per 2 months). Loss limit: more than 10% of the earlier
//!   weight plus 0.2 kg; a real loss of more than 10% is also a referral for the bidan
//!   (`BB_TURUN_10_PERSEN`).
//! * `ten_times`: a value at least 5 times, or at most a fifth of, the reference: the child's latest
//!   earlier value of the same field if it is at most 6 months old, otherwise the WHO median for sex and
//!   age. Catches a decimal point typed in the wrong place (1.2 for 12 kg).

use chrono::NaiveDate;
use serde::Serialize;

use super::assess::{ChildInfo, VisitInput, age_days};
use super::zscore::{adjusted_length, median_head_cm, median_length_cm, median_muac_cm};
use super::zscore::{median_weight_kg, zscores};

/// A field to check for a ten-times slip: the field, its value now, how to read it from an earlier
/// visit, and the WHO median for age.
type TenTimesCheck = (
    Field,
    Option<f64>,
    fn(&VisitInput) -> Option<f64>,
    Option<f64>,
);

/// A measured field, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Weight,
    Height,
    Head,
    Muac,
    Date,
    /// A service given at the visit (vitamin A, deworming, ...).
    Service,
}

impl Field {
    /// Stable code (the input field's name).
    pub fn code(&self) -> &'static str {
        match self {
            Field::Weight => "weight_kg",
            Field::Height => "height_cm",
            Field::Head => "head_circ_cm",
            Field::Muac => "muac_cm",
            Field::Date => "date",
            Field::Service => "service",
        }
    }

    /// Name in Bahasa Indonesia (lower case).
    pub fn label_id(&self) -> &'static str {
        match self {
            Field::Weight => "berat badan",
            Field::Height => "panjang/tinggi badan",
            Field::Head => "lingkar kepala",
            Field::Muac => "LiLA",
            Field::Date => "tanggal kunjungan",
            Field::Service => "layanan",
        }
    }

    fn label_en(&self) -> &'static str {
        match self {
            Field::Weight => "weight",
            Field::Height => "length/height",
            Field::Head => "head circumference",
            Field::Muac => "mid-upper arm circumference",
            Field::Date => "visit date",
            Field::Service => "service",
        }
    }

    fn unit(&self) -> &'static str {
        match self {
            Field::Weight => "kg",
            Field::Date => "hari",
            _ => "cm",
        }
    }

    fn unit_en(&self) -> &'static str {
        match self {
            Field::Weight => "kg",
            Field::Date => "days",
            _ => "cm",
        }
    }
}

/// Below this many completed months a length measured standing asks to be measured lying
/// (`standing_under_9_months`; WHO Anthro treats a standing length under 9 months as implausible in
/// position).
pub const STANDING_FROM_MONTHS: u32 = 9;

/// A loss of more than this fraction of the earlier weight (plus 0.2 kg) asks the kader to confirm;
/// a stored loss of more than it is a referral ([`crate::growth::ReferralReason::WeightLoss10`]).
pub const LOSS_CONFIRM_FRACTION: f64 = 0.10;

/// Hard limits (inclusive): weight 0.5-40 kg, length/height 35-140 cm, head 20-60 cm, MUAC 5-30 cm.
pub const WEIGHT_LIMITS_KG: (f64, f64) = (0.5, 40.0);
pub const HEIGHT_LIMITS_CM: (f64, f64) = (35.0, 140.0);
pub const HEAD_LIMITS_CM: (f64, f64) = (20.0, 60.0);
pub const MUAC_LIMITS_CM: (f64, f64) = (5.0, 30.0);

/// A value outside the hard limits: bad input, refused even when confirmed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HardLimitError {
    pub field: Field,
    pub value: f64,
    pub min: f64,
    pub max: f64,
}

/// A number as Indonesians write it: decimal comma, no trailing zeros.
fn num_id(x: f64) -> String {
    num_en(x).replace('.', ",")
}

fn num_en(x: f64) -> String {
    let r = (x * 1000.0).round() / 1000.0;
    if r == 0.0 {
        "0".to_owned()
    } else {
        format!("{r}")
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

impl std::fmt::Display for HardLimitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = capitalise(self.field.label_en());
        let unit = self.field.unit_en();
        if self.field == Field::Date {
            return write!(f, "The visit date is before the child's birth date.");
        }
        if self.value.is_finite() {
            write!(
                f,
                "{name} {} {unit} is outside the allowed range {}-{} {unit}.",
                num_en(self.value),
                num_en(self.min),
                num_en(self.max)
            )
        } else {
            write!(
                f,
                "{name} is not a valid number (allowed range {}-{} {unit}).",
                num_en(self.min),
                num_en(self.max)
            )
        }
    }
}

impl std::error::Error for HardLimitError {}

impl HardLimitError {
    /// One sentence in Bahasa Indonesia for the kader.
    pub fn message_id(&self) -> String {
        let name = capitalise(self.field.label_id());
        let unit = self.field.unit();
        if self.field == Field::Date {
            return "Tanggal kunjungan sebelum tanggal lahir anak; periksa kembali.".to_owned();
        }
        if self.value.is_finite() {
            format!(
                "{name} {} {unit} di luar batas {}–{} {unit}; periksa kembali.",
                num_id(self.value),
                num_id(self.min),
                num_id(self.max)
            )
        } else {
            format!(
                "{name} bukan angka yang sah (batas {}–{} {unit}); periksa kembali.",
                num_id(self.min),
                num_id(self.max)
            )
        }
    }
}

fn limit(field: Field, v: Option<f64>, (min, max): (f64, f64)) -> Result<(), HardLimitError> {
    match v {
        Some(value) if !(value.is_finite() && value >= min && value <= max) => {
            Err(HardLimitError {
                field,
                value,
                min,
                max,
            })
        }
        _ => Ok(()),
    }
}

/// Refuses values outside the hard limits (and zero, negative, NaN, infinite). Fields are checked in
/// the order weight, height, head, MUAC; the first failure is returned.
pub fn check_hard_limits(v: &VisitInput) -> Result<(), HardLimitError> {
    limit(Field::Weight, v.weight_kg, WEIGHT_LIMITS_KG)?;
    limit(Field::Height, v.height_cm, HEIGHT_LIMITS_CM)?;
    limit(Field::Head, v.head_cm, HEAD_LIMITS_CM)?;
    limit(Field::Muac, v.muac_cm, MUAC_LIMITS_CM)?;
    Ok(())
}

/// Refuses a visit date before the birth date (`Field::Date`, value = age in days).
pub fn check_visit_date(child: &ChildInfo, date: NaiveDate) -> Result<(), HardLimitError> {
    let age = age_days(child.birth_date, date);
    if age < 0 {
        return Err(HardLimitError {
            field: Field::Date,
            value: age as f64,
            min: 0.0,
            max: f64::INFINITY,
        });
    }
    Ok(())
}

/// A value inside the hard limits that the kader should confirm.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Concern {
    pub field: Field,
    /// `who_flag_waz` .. `who_flag_acz`, `height_shrank`, `weight_jump`, `ten_times`.
    pub code: &'static str,
    pub message_id: String,
    pub message_en: String,
}

impl Concern {
    pub(crate) fn new(
        field: Field,
        code: &'static str,
        message_id: String,
        message_en: String,
    ) -> Self {
        Concern {
            field,
            code,
            message_id,
            message_en,
        }
    }
}

/// Concerns about `current` given the child's earlier visits (`history`, sorted by date, all before
/// `current.date`). Assumes the hard limits passed.
pub fn plausibility(
    child: &ChildInfo,
    history: &[VisitInput],
    current: &VisitInput,
) -> Vec<Concern> {
    let mut out = Vec::new();
    let age = age_days(child.birth_date, current.date);
    let z = zscores(&current.measurement(child));

    let flags = [
        (
            z.flag_waz,
            z.waz,
            Field::Weight,
            "who_flag_waz",
            "BB/U",
            "weight-for-age",
        ),
        (
            z.flag_haz,
            z.haz,
            Field::Height,
            "who_flag_haz",
            "PB/U atau TB/U",
            "length/height-for-age",
        ),
        (
            z.flag_whz,
            z.whz,
            Field::Weight,
            "who_flag_whz",
            "BB/PB atau BB/TB",
            "weight-for-length/height",
        ),
        (
            z.flag_baz,
            z.baz,
            Field::Weight,
            "who_flag_baz",
            "IMT/U",
            "BMI-for-age",
        ),
        (
            z.flag_hcz,
            z.hcz,
            Field::Head,
            "who_flag_hcz",
            "lingkar kepala/U",
            "head circumference-for-age",
        ),
        (
            z.flag_acz,
            z.acz,
            Field::Muac,
            "who_flag_acz",
            "LiLA/U",
            "arm circumference-for-age",
        ),
    ];
    for (flag, value, field, code, idx_id, idx_en) in flags {
        if flag {
            let v = value.unwrap_or(f64::NAN);
            out.push(Concern::new(
                field,
                code,
                format!(
                    "Z-skor {idx_id} {} sangat tidak wajar; periksa kembali {} dan ukur ulang.",
                    format!("{v:.2}").replace('.', ","),
                    field.label_id()
                ),
                format!(
                    "The {idx_en} z-score {v:.2} is outside WHO's plausible range; check the {}.",
                    field.label_en()
                ),
            ));
        }
    }

    let earlier = |f: fn(&VisitInput) -> Option<f64>| {
        history
            .iter()
            .rev()
            .filter(|v| v.date < current.date)
            .find_map(|v| f(v).map(|x| (v, x)))
    };

    // A baby under 9 months is measured lying (WHO: a standing length below 9 months is implausible in
    // position and is not adjusted).
    if current.height_cm.is_some()
        && current.position == Some(super::Position::Standing)
        && crate::domain::completed_months(child.birth_date, current.date) < STANDING_FROM_MONTHS
    {
        let months = crate::domain::completed_months(child.birth_date, current.date);
        out.push(Concern::new(
            Field::Height,
            "standing_under_9_months",
            format!(
                "Bayi umur {months} bulan diukur berdiri; bayi di bawah 9 bulan diukur panjang badannya sambil telentang. Ukur ulang telentang."
            ),
            format!(
                "a baby of {months} months was measured standing; under 9 months measure the length lying"
            ),
        ));
    }

    // Height shrinking (after the lying/standing adjustment of each visit for its own age).
    if let (Some(h), Some((pv, ph))) = (current.height_cm, earlier(|v| v.height_cm)) {
        let now = adjusted_length(age, h, current.position);
        let before = adjusted_length(age_days(child.birth_date, pv.date), ph, pv.position);
        let shrink = before - now;
        if shrink > 1.5 + 1e-9 {
            out.push(Concern::new(
                Field::Height,
                "height_shrank",
                format!(
                    "Panjang/tinggi badan {} cm lebih pendek dari pengukuran sebelumnya ({} cm); periksa kembali.",
                    num_id(shrink),
                    num_id(ph)
                ),
                format!(
                    "The length/height is {} cm shorter than at the previous measurement ({} cm); check it.",
                    num_en(shrink),
                    num_en(ph)
                ),
            ));
        }
    }

    // Weight change beyond WHO velocity for the interval.
    if let (Some(w), Some((pv, pw))) = (current.weight_kg, earlier(|v| v.weight_kg)) {
        let prev_age = age_days(child.birth_date, pv.date);
        let (max_gain_g, _) =
            super::velocity::max_gain_g(child.sex, prev_age, (current.date - pv.date).num_days());
        let max_loss = pw * LOSS_CONFIRM_FRACTION + 0.2;
        let change = w - pw;
        let change_g = (change * 1000.0).round() as i64;
        if change_g > max_gain_g || -change > max_loss + 1e-9 {
            let verb_en = if change > 0.0 { "gain" } else { "loss" };
            out.push(Concern::new(
                Field::Weight,
                "weight_jump",
                if change > 0.0 {
                    format!(
                        "Berat badan naik {} kg sejak penimbangan sebelumnya ({} kg); terlalu cepat, periksa kembali.",
                        num_id(change.abs()),
                        num_id(pw)
                    )
                } else {
                    format!(
                        "Berat badan turun {} kg sejak penimbangan sebelumnya ({} kg), lebih dari 10%; timbang ulang, dan bila benar, rujuk ke bidan hari ini.",
                        num_id(change.abs()),
                        num_id(pw)
                    )
                },
                format!(
                    "A weight {verb_en} of {} kg since the previous weighing ({} kg) is faster than children grow; check it.",
                    num_en(change.abs()),
                    num_en(pw)
                ),
            ));
        }
    }

    // A value about 10 times (or a tenth of) what is expected.
    let checks: [TenTimesCheck; 4] = [
        (
            Field::Weight,
            current.weight_kg,
            |v| v.weight_kg,
            median_weight_kg(child.sex, age),
        ),
        (
            Field::Height,
            current.height_cm,
            |v| v.height_cm,
            median_length_cm(child.sex, age),
        ),
        (
            Field::Head,
            current.head_cm,
            |v| v.head_cm,
            median_head_cm(child.sex, age),
        ),
        (
            Field::Muac,
            current.muac_cm,
            |v| v.muac_cm,
            median_muac_cm(child.sex, age),
        ),
    ];
    for (field, value, get, median) in checks {
        let Some(value) = value else { continue };
        let reference = match earlier(get) {
            Some((pv, x)) if (current.date - pv.date).num_days() <= 183 => Some(x),
            _ => median,
        };
        let Some(reference) = reference.filter(|r| *r > 0.0) else {
            continue;
        };
        let ratio = value / reference;
        if ratio >= 5.0 || ratio <= 0.2 {
            let unit = field.unit();
            out.push(Concern::new(
                field,
                "ten_times",
                format!(
                    "{} {} {unit} jauh dari perkiraan sekitar {} {unit}; mungkin salah letak koma, periksa kembali.",
                    capitalise(field.label_id()),
                    num_id(value),
                    num_id(reference)
                ),
                format!(
                    "The {} {} {unit} is about ten times off the expected {} {unit}; check the decimal point.",
                    field.label_en(),
                    num_en(value),
                    num_en(reference)
                ),
            ));
        }
    }
    out
}
