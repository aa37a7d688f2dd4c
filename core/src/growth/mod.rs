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

// ---- contract stubs, replaced by the growth branch ----
use chrono::NaiveDate;
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KmsStatus {
    N,
    T,
    O,
    B,
}
impl std::fmt::Display for KmsStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReferralReason {
    TwoT,
    Bgm,
    GiziBuruk,
    GiziKurang,
    Oedema,
    SangatPendek,
    PendekBaru,
    WeightLoss,
    Implausible,
    NotWeighed3Months,
}
impl ReferralReason {
    pub fn code(&self) -> &'static str {
        unimplemented!()
    }
    pub fn text_id(&self) -> &'static str {
        unimplemented!()
    }
    pub fn urgency(&self) -> u8 {
        unimplemented!()
    }
}
impl std::str::FromStr for ReferralReason {
    type Err = ();
    fn from_str(_s: &str) -> Result<Self, ()> {
        unimplemented!()
    }
}
#[derive(Debug)]
pub struct KbmTable;
impl KbmTable {
    pub fn default_table() -> &'static KbmTable {
        &KbmTable
    }
    pub fn by_id(_id: &str) -> Option<&'static KbmTable> {
        unimplemented!()
    }
    pub fn ids() -> Vec<&'static str> {
        unimplemented!()
    }
    pub fn id(&self) -> &str {
        unimplemented!()
    }
}
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChildInfo {
    pub sex: Sex,
    pub birth_date: NaiveDate,
}
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Classes {
    pub wfa: Option<Lbl>,
    pub hfa: Option<Lbl>,
    pub wfh: Option<Lbl>,
}
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Lbl;
impl Lbl {
    pub fn label_id(&self) -> &'static str {
        unimplemented!()
    }
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub age_days: i64,
    pub age_months: u32,
    pub z: ZScores,
    pub classes: Classes,
    pub kms: Option<KmsStatus>,
    pub bgm: bool,
    pub two_t: bool,
    pub gain_g: Option<i64>,
    pub referral: Vec<ReferralReason>,
    pub standard_version: String,
    pub rules_version: String,
}
pub fn assess_visit(
    _c: &ChildInfo,
    _h: &[VisitInput],
    _p: &[Assessment],
    _cur: &VisitInput,
    _k: &KbmTable,
) -> Assessment {
    unimplemented!()
}
pub fn not_weighed_referral(
    _l: Option<NaiveDate>,
    _b: NaiveDate,
    _t: NaiveDate,
) -> Option<ReferralReason> {
    unimplemented!()
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Weight,
    Height,
    Head,
    Muac,
    Date,
}
impl Field {
    pub fn code(&self) -> &'static str {
        unimplemented!()
    }
    pub fn label_id(&self) -> &'static str {
        unimplemented!()
    }
}
#[derive(Debug)]
pub struct HardLimitError {
    pub field: Field,
    pub value: f64,
    pub min: f64,
    pub max: f64,
}
impl HardLimitError {
    pub fn message_id(&self) -> String {
        unimplemented!()
    }
}
impl std::fmt::Display for HardLimitError {
    fn fmt(&self, _f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        unimplemented!()
    }
}
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Concern {
    pub field: Field,
    pub code: &'static str,
    pub message_id: String,
    pub message_en: String,
}
impl Serialize for Field {
    fn serialize<S: serde::Serializer>(&self, _s: S) -> Result<S::Ok, S::Error> {
        unimplemented!()
    }
}
pub fn check_hard_limits(_v: &VisitInput) -> Result<(), HardLimitError> {
    unimplemented!()
}
pub fn plausibility(_c: &ChildInfo, _h: &[VisitInput], _cur: &VisitInput) -> Vec<Concern> {
    unimplemented!()
}
