//! Growth engine: WHO 2006 z-scores, Permenkes 2/2020 classes, KMS N/T/O/B/2T/BGM, referral reasons and
//! plausibility at entry. Pure: no I/O, no clock (callers pass dates), no dependency on other modules of
//! this crate.
//!
//! INTERFACE CONTRACT (the rest of the crate codes against exactly these names; bodies are being
//! written in a separate branch).

use serde::{Deserialize, Serialize};

/// Version tag of the growth standard, stored with every assessment.
pub const STANDARD_VERSION: &str = "WHO-2006";
/// Version tag of the Indonesian rule tables (Permenkes classes + default KBM table).
pub const RULES_VERSION: &str = "permenkes-2-2020";

/// Sex of a child (L = laki-laki, P = perempuan).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Sex {
    #[serde(rename = "L")]
    Male,
    #[serde(rename = "P")]
    Female,
}

/// How a length/height was measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Position {
    Lying,
    Standing,
}

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

pub fn zscores(_m: &Measurement) -> ZScores {
    unimplemented!("growth engine branch")
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
