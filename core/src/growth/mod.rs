//! Growth engine: WHO 2006 z-scores, Permenkes 2/2020 classes, KMS N/T/O/B/2T/BGM, referral reasons and
//! plausibility at entry. Pure: no I/O, no clock (callers pass dates). It depends on [`crate::domain`]
//! (sex, position, measurements, services, ages) and nothing else of this crate; nothing below it
//! depends on growth.
//!
//! * [`zscores`]: the six WHO z-scores of one measurement, exactly as WHO Anthro (R package 1.1.0)
//!   computes them (tables embedded at build time; no allocation on this path).
//! * [`classify`]: Permenkes 2/2020 classes of those z-scores; [`status_gizi`]: the one nutritional
//!   status (weight-for-length/height, LiLA, oedema).
//! * [`assess_visit`]: the one call per visit: z-scores, classes, status gizi, KMS status by the
//!   [`NtRule`] against a [`KbmTable`], 2T, BGM and [`ReferralReason`]s, stamped with
//!   [`STANDARD_VERSION`] and the rules version.
//! * [`max_gain_g`]: the WHO 2009 weight-increment limit; [`RoundCalendar`]: vitamin A rounds.
//!
//! Every rule's source and what could not be confirmed: `docs/CLINICAL.md`.
//! * [`check_hard_limits`] and [`plausibility`]: the two tiers of checks at entry.
//! * [`anthro_csv::run_batch`]: the streaming back-end of `timbang anthro`.
//!
//! ```
//! use timbang_core::growth::{Measurement, Position, Sex, zscores};
//! let z = zscores(&Measurement {
//!     sex: Sex::Female, age_days: 1754, weight_kg: Some(9.8), height_cm: Some(95.95),
//!     position: Some(Position::Standing), head_cm: Some(50.6), muac_cm: Some(16.4), oedema: false,
//! });
//! assert_eq!(z.waz, Some(-4.24));
//! assert_eq!(z.whz, Some(-4.20));
//! ```

pub mod anthro_csv;
mod assess;
mod classify;
mod curves;
mod entry;
mod kms;
mod plausibility;
mod referral;
mod schedule;
mod tables;
mod velocity;
mod zscore;

pub use anthro_csv::{BatchError, BatchSummary, run_batch};
pub use assess::{
    Assessment, ChildInfo, ORANGE_LINE_WAZ, VisitInput, age_days, assess_visit, assessment_notes,
    gizi_input, rules_version,
};
pub use classify::{
    Classes, GiziInput, GiziSign, HfaClass, LILA_AGES_MONTHS, LILA_GIZI_BURUK_BELOW_MM,
    LILA_GIZI_KURANG_BELOW_MM, StatusGizi, WfaClass, WfhClass, classify, status_gizi,
};
pub use curves::{CURVE_Z, Curve, curve_values};
pub use entry::{CheckedEntry, check_entry, entry_concerns, service_ages, service_concerns};
pub use kms::{KbmTable, KmsStatus, NtRule};
pub use plausibility::{
    Concern, Field, HEAD_LIMITS_CM, HEIGHT_LIMITS_CM, HardLimitError, LOSS_CONFIRM_FRACTION,
    MUAC_LIMITS_CM, STANDING_FROM_MONTHS, WEIGHT_LIMITS_KG, check_hard_limits, check_visit_date,
    plausibility,
};
pub use referral::{
    ReasonRow, ReferralReason, not_weighed_referral, rank, reason_rows, referrals_as_of,
    status_gizi_referral, text as referral_text, texts as referral_texts, urgency_key,
};
pub use schedule::{Round, RoundCalendar};
pub use tables::warm_up;
pub use velocity::{
    IncrementRow, IncrementTable, ONE_MONTH_MAX_DAYS, SCALE_TOLERANCE_G, max_gain_g,
};
pub use zscore::{
    MAX_AGE_DAYS, adjusted_length, lms_value, median_head_cm, median_length_cm, median_muac_cm,
    median_weight_kg, weight_at_waz, zscores,
};

use serde::{Deserialize, Serialize};

pub use crate::domain::{Position, Sex};

/// Version tag of the growth standard, stored with every assessment.
pub const STANDARD_VERSION: &str = "WHO-2006";
/// Version tag of the Indonesian rules (Permenkes 2/2020 classes, status gizi, N/T rule, referral
/// reasons, service schedule). Bump it whenever a rule or table changes what an assessment says: a
/// database opened by a build with another version recomputes its stored assessments
/// (`Timbang::open`). History: `permenkes-2-2020` (KBM-only N/T, no status gizi); `permenkes-2-2020.r2`.
pub const RULES_VERSION: &str = "permenkes-2-2020.r2";

/// One measurement occasion, as the engine needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measurement {
    pub sex: Sex,
    pub age_days: i64,
    pub weight_kg: Option<f64>,
    pub height_cm: Option<f64>,
    pub position: Option<Position>,
    pub head_cm: Option<f64>,
    pub muac_cm: Option<f64>,
    pub oedema: bool,
}

/// z-scores rounded to 2 decimals (None when undefined) with WHO flags.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ZScores {
    pub waz: Option<f64>,
    pub haz: Option<f64>,
    pub whz: Option<f64>,
    pub baz: Option<f64>,
    pub hcz: Option<f64>,
    pub acz: Option<f64>,
    pub flag_waz: bool,
    pub flag_haz: bool,
    pub flag_whz: bool,
    pub flag_baz: bool,
    pub flag_hcz: bool,
    pub flag_acz: bool,
    /// The adjusted length/height actually used (cm).
    pub clenhei: Option<f64>,
}

impl ZScores {
    /// True when any z-score carries a WHO flag.
    pub fn any_flag(&self) -> bool {
        self.flag_waz
            || self.flag_haz
            || self.flag_whz
            || self.flag_baz
            || self.flag_hcz
            || self.flag_acz
    }
}
