//! The records the apps see, and their conversions from and to the core's. Field for field what the
//! core returns, in types every target language has: dates as `YYYY-MM-DD` text, ids as text, codes as
//! the core's stable codes. What the kader typed goes in as text and is parsed by the core's own
//! parsers (a comma decimal, more decimals than a scale shows, a negative value are the core's
//! decisions, with the field named), so nothing is decided here.

use chrono::NaiveDate;
use timbang_core::api;
use timbang_core::domain::{self, ChildId};
use timbang_core::growth::Assessment as CoreAssessment;
use timbang_core::{Confirmation as CoreConfirmation, Error};

fn date_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn opt_date(d: Option<NaiveDate>) -> Option<String> {
    d.map(date_text)
}

/// A child id given by the app: the core's parser (bad input names `field`).
pub(crate) fn child_id(field: &str, text: &str) -> Result<ChildId, Error> {
    ChildId::parse(text).map_err(|e| match e {
        Error::InvalidInput {
            message_id,
            message_en,
            ..
        } => Error::InvalidInput {
            field: field.to_owned(),
            message_id,
            message_en,
        },
        other => other,
    })
}

/// `L` (laki-laki) or `P` (perempuan).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Sex {
    Male,
    Female,
}

impl From<Sex> for domain::Sex {
    fn from(s: Sex) -> Self {
        match s {
            Sex::Male => domain::Sex::Male,
            Sex::Female => domain::Sex::Female,
        }
    }
}

impl From<domain::Sex> for Sex {
    fn from(s: domain::Sex) -> Self {
        match s {
            domain::Sex::Male => Sex::Male,
            domain::Sex::Female => Sex::Female,
        }
    }
}

/// How a length or height was measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Position {
    /// Length, lying (under 2 years).
    Lying,
    /// Height, standing.
    Standing,
}

impl From<Position> for domain::Position {
    fn from(p: Position) -> Self {
        match p {
            Position::Lying => domain::Position::Lying,
            Position::Standing => domain::Position::Standing,
        }
    }
}

impl From<domain::Position> for Position {
    fn from(p: domain::Position) -> Self {
        match p {
            domain::Position::Lying => Position::Lying,
            domain::Position::Standing => Position::Standing,
        }
    }
}

/// Which end of a peer session this phone is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PeerRole {
    /// The phone that opened the connection.
    Dial,
    /// The phone that accepted it.
    Accept,
}

impl From<PeerRole> for api::PeerRole {
    fn from(r: PeerRole) -> Self {
        match r {
            PeerRole::Dial => api::PeerRole::Dial,
            PeerRole::Accept => api::PeerRole::Accept,
        }
    }
}

/// Something the kader must confirm (then repeat the call with `confirm = true`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Confirmation {
    /// Stable code: `who_flag_waz`, `nik_birth_date`, `possible_duplicate`, ...
    pub code: String,
    /// The field concerned: `weight_kg`, `nik`, `name`, ...
    pub field: String,
    /// One sentence in Bahasa Indonesia for the kader.
    pub message_id: String,
    /// The same in English, for logs.
    pub message_en: String,
}

impl From<CoreConfirmation> for Confirmation {
    fn from(c: CoreConfirmation) -> Self {
        Self {
            code: c.code,
            field: c.field,
            message_id: c.message_id,
            message_en: c.message_en,
        }
    }
}

/// This device's settings.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DeviceSettings {
    pub device_id: String,
    pub device_name: String,
    pub posyandu: String,
    pub village: String,
    pub kbm_table: String,
}

impl From<api::DeviceSettings> for DeviceSettings {
    fn from(s: api::DeviceSettings) -> Self {
        Self {
            device_id: s.device_id,
            device_name: s.device_name,
            posyandu: s.posyandu,
            village: s.village,
            kbm_table: s.kbm_table,
        }
    }
}

/// A child to register, as typed at meja 1.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NewChild {
    pub name: String,
    pub sex: Sex,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    #[uniffi(default = None)]
    pub nik: Option<String>,
    #[uniffi(default = None)]
    pub kk: Option<String>,
    #[uniffi(default = None)]
    pub mother_name: Option<String>,
    #[uniffi(default = None)]
    pub mother_nik: Option<String>,
    #[uniffi(default = None)]
    pub address: Option<String>,
}

impl TryFrom<NewChild> for domain::NewChild {
    type Error = Error;
    fn try_from(c: NewChild) -> Result<Self, Error> {
        Ok(Self {
            birth_date: domain::parse_date("birth_date", "Tanggal lahir", &c.birth_date)?,
            name: c.name,
            sex: c.sex.into(),
            nik: c.nik,
            kk: c.kk,
            mother_name: c.mother_name,
            mother_nik: c.mother_nik,
            address: c.address,
        })
    }
}

/// A possible duplicate found at registration.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DuplicateCandidate {
    pub child_id: String,
    /// `same_nik` or `similar_name`.
    pub reason: String,
    pub name: String,
    pub birth_date: Option<String>,
    pub mother_name: Option<String>,
}

impl From<api::DuplicateCandidate> for DuplicateCandidate {
    fn from(d: api::DuplicateCandidate) -> Self {
        Self {
            child_id: d.child_id.to_string(),
            reason: d.reason,
            name: d.name,
            birth_date: opt_date(d.birth_date),
            mother_name: d.mother_name,
        }
    }
}

/// A registered child and what the kader confirmed.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Registered {
    pub child_id: String,
    pub confirmed: Vec<Confirmation>,
}

impl From<api::Registered> for Registered {
    fn from(r: api::Registered) -> Self {
        Self {
            child_id: r.child_id.to_string(),
            confirmed: r.confirmed.into_iter().map(Into::into).collect(),
        }
    }
}

/// One visit as typed at meja 2 and 5: the measurements as the kader typed them (`"9,1"` or `"9.1"`
/// kg; cm to one decimal), absent when not measured. Adds to or corrects that day's visit.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VisitEntry {
    /// `YYYY-MM-DD`.
    pub date: String,
    #[uniffi(default = None)]
    pub weight_kg: Option<String>,
    #[uniffi(default = None)]
    pub height_cm: Option<String>,
    #[uniffi(default = None)]
    pub position: Option<Position>,
    #[uniffi(default = None)]
    pub head_circ_cm: Option<String>,
    #[uniffi(default = None)]
    pub muac_cm: Option<String>,
    /// Bilateral pitting oedema: `true` seen, `false` corrects an earlier `true`.
    #[uniffi(default = None)]
    pub oedema: Option<bool>,
    /// Service codes: `vit_a_biru`, `vit_a_merah`, `pmt`, `oralit`, `zinc`, `obat_cacing`.
    #[uniffi(default = [])]
    pub services: Vec<String>,
}

impl TryFrom<VisitEntry> for domain::VisitEntry {
    type Error = Error;
    fn try_from(v: VisitEntry) -> Result<Self, Error> {
        let mut services = domain::Services::default();
        for s in &v.services {
            services.insert(domain::Service::parse(s)?);
        }
        Ok(Self {
            date: Some(domain::parse_date("date", "Tanggal kunjungan", &v.date)?),
            measured: domain::Measurements {
                weight_g: v
                    .weight_kg
                    .as_deref()
                    .map(domain::parse_weight_kg)
                    .transpose()?,
                height_mm: v
                    .height_cm
                    .as_deref()
                    .map(domain::parse_height_cm)
                    .transpose()?,
                position: v.position.map(Into::into),
                head_mm: v
                    .head_circ_cm
                    .as_deref()
                    .map(domain::parse_head_cm)
                    .transpose()?,
                muac_mm: v
                    .muac_cm
                    .as_deref()
                    .map(domain::parse_muac_cm)
                    .transpose()?,
                oedema: v.oedema,
            },
            services,
        })
    }
}

/// What the growth engine concluded about a visit.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Assessment {
    pub age_days: i64,
    /// Completed calendar months.
    pub age_months: u32,
    /// WHO 2006 z-scores (2 decimals), absent when undefined.
    pub waz: Option<f64>,
    pub haz: Option<f64>,
    pub whz: Option<f64>,
    pub baz: Option<f64>,
    pub hcz: Option<f64>,
    pub acz: Option<f64>,
    /// The z-scores WHO flags as implausible (`waz`, `haz`, ...).
    pub flagged: Vec<String>,
    /// Permenkes 2/2020 class codes (`berat_badan_normal`, `gizi_buruk`, ...).
    pub class_wfa: Option<String>,
    pub class_hfa: Option<String>,
    pub class_wfh: Option<String>,
    pub class_bfa: Option<String>,
    /// KMS status `N`, `T`, `O` or `B`; absent without a weight.
    pub kms: Option<String>,
    /// Below the red line.
    pub bgm: bool,
    pub two_t: bool,
    pub gain_g: Option<i64>,
    /// Referral reason codes, most urgent first, and the same in Bahasa Indonesia.
    pub referral: Vec<String>,
    pub referral_text: Vec<String>,
    pub standard_version: String,
    pub rules_version: String,
}

impl From<CoreAssessment> for Assessment {
    fn from(a: CoreAssessment) -> Self {
        let z = a.z;
        let flagged = [
            ("waz", z.flag_waz),
            ("haz", z.flag_haz),
            ("whz", z.flag_whz),
            ("baz", z.flag_baz),
            ("hcz", z.flag_hcz),
            ("acz", z.flag_acz),
        ]
        .into_iter()
        .filter(|(_, f)| *f)
        .map(|(n, _)| n.to_owned())
        .collect();
        Self {
            age_days: a.age_days,
            age_months: a.age_months,
            waz: z.waz,
            haz: z.haz,
            whz: z.whz,
            baz: z.baz,
            hcz: z.hcz,
            acz: z.acz,
            flagged,
            class_wfa: a.classes.wfa.map(|c| c.code().to_owned()),
            class_hfa: a.classes.hfa.map(|c| c.code().to_owned()),
            class_wfh: a.classes.wfh.map(|c| c.code().to_owned()),
            class_bfa: a.classes.bfa.map(|c| c.code().to_owned()),
            kms: a.kms.map(|k| k.as_str().to_owned()),
            bgm: a.bgm,
            two_t: a.two_t,
            gain_g: a.gain_g,
            referral: a.referral.iter().map(|r| r.code().to_owned()).collect(),
            referral_text: a.referral.iter().map(|r| r.text_id().to_owned()).collect(),
            standard_version: a.standard_version,
            rules_version: a.rules_version,
        }
    }
}

/// A recorded visit's assessment, as shown after entry.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct VisitResult {
    pub child_id: String,
    pub date: String,
    pub assessment: Assessment,
    /// Codes of what the kader confirmed for this visit.
    pub confirmed: Vec<String>,
}

impl From<api::VisitResult> for VisitResult {
    fn from(r: api::VisitResult) -> Self {
        Self {
            child_id: r.child_id.to_string(),
            date: date_text(r.date),
            assessment: r.assessment.into(),
            confirmed: r.confirmed,
        }
    }
}

/// A stored visit, in kg and cm.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Visit {
    pub date: String,
    pub weight_kg: Option<f64>,
    pub height_cm: Option<f64>,
    pub position: Option<Position>,
    pub head_circ_cm: Option<f64>,
    pub muac_cm: Option<f64>,
    pub oedema: Option<bool>,
    pub services: Vec<String>,
    pub confirmed: Vec<String>,
    pub assessment: Option<Assessment>,
}

impl From<api::VisitView> for Visit {
    fn from(v: api::VisitView) -> Self {
        Self {
            date: date_text(v.date),
            weight_kg: v.weight_kg,
            height_cm: v.height_cm,
            position: v.position.map(Into::into),
            head_circ_cm: v.head_circ_cm,
            muac_cm: v.muac_cm,
            oedema: v.oedema,
            services: v.services,
            confirmed: v.confirmed,
            assessment: v.assessment.map(Into::into),
        }
    }
}

/// An open conflict: one field with concurrent different values, for the bidan to settle with
/// `resolve(conflict_id, one of values)`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Conflict {
    pub conflict_id: String,
    /// The kept child it belongs to.
    pub child_id: String,
    /// The document holding it (differs from `child_id` for a merged duplicate).
    pub doc_id: String,
    /// `weight_kg`, `height_cm`, `name`, ...
    pub field: String,
    pub visit_date: Option<String>,
    /// Each value as it can be typed back to `resolve` (`7.4`, `lying`, `Budi`).
    pub values: Vec<String>,
}

impl From<api::ConflictView> for Conflict {
    fn from(c: api::ConflictView) -> Self {
        Self {
            conflict_id: c.conflict_id,
            child_id: c.child_id.to_string(),
            doc_id: c.doc_id.to_string(),
            field: c.field,
            visit_date: opt_date(c.visit_date),
            values: c
                .values
                .into_iter()
                .map(|v| match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                })
                .collect(),
        }
    }
}

/// Everything about one child.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ChildDetail {
    pub child_id: String,
    /// Duplicates merged into this child.
    pub merged_ids: Vec<String>,
    pub name: String,
    pub sex: Option<Sex>,
    pub birth_date: Option<String>,
    pub age_months: Option<u32>,
    pub nik: Option<String>,
    pub other_niks: Vec<String>,
    pub kk: Option<String>,
    pub mother_name: Option<String>,
    pub mother_nik: Option<String>,
    pub address: Option<String>,
    /// By date.
    pub visits: Vec<Visit>,
    pub conflicts: Vec<Conflict>,
}

impl From<api::ChildDetail> for ChildDetail {
    fn from(c: api::ChildDetail) -> Self {
        Self {
            child_id: c.child_id.to_string(),
            merged_ids: c.merged_ids.iter().map(ToString::to_string).collect(),
            name: c.name,
            sex: c.sex.map(Into::into),
            birth_date: opt_date(c.birth_date),
            age_months: c.age_months,
            nik: c.nik,
            other_niks: c.other_niks,
            kk: c.kk,
            mother_name: c.mother_name,
            mother_nik: c.mother_nik,
            address: c.address,
            visits: c.visits.into_iter().map(Into::into).collect(),
            conflicts: c.conflicts.into_iter().map(Into::into).collect(),
        }
    }
}

/// One row of the village list (the list comes most urgent first).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct VillageRow {
    pub child_id: String,
    pub name: String,
    pub sex: Option<Sex>,
    pub birth_date: Option<String>,
    pub age_months: Option<u32>,
    pub last_visit: Option<String>,
    pub weight_kg: Option<f64>,
    pub height_cm: Option<f64>,
    pub waz: Option<f64>,
    pub haz: Option<f64>,
    pub whz: Option<f64>,
    pub kms: Option<String>,
    /// Reason codes, most urgent first, and the same in Bahasa Indonesia.
    pub referral: Vec<String>,
    pub referral_text: Vec<String>,
}

impl From<api::VillageRow> for VillageRow {
    fn from(r: api::VillageRow) -> Self {
        Self {
            child_id: r.child_id.to_string(),
            name: r.name,
            sex: r.sex.map(Into::into),
            birth_date: opt_date(r.birth_date),
            age_months: r.age_months,
            last_visit: opt_date(r.last_visit),
            weight_kg: r.weight_kg,
            height_cm: r.height_cm,
            waz: r.waz,
            haz: r.haz,
            whz: r.whz,
            kms: r.kms,
            referral: r.referral,
            referral_text: r.referral_text,
        }
    }
}

/// What one phone-to-phone session did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PeerReport {
    pub peer_device: String,
    pub sent_bytes: u64,
    pub received_bytes: u64,
    pub docs_sent: u64,
    pub docs_received: u64,
    pub completed: bool,
}

impl From<api::PeerReport> for PeerReport {
    fn from(r: api::PeerReport) -> Self {
        Self {
            peer_device: r.peer_device,
            sent_bytes: r.sent_bytes,
            received_bytes: r.received_bytes,
            docs_sent: r.docs_sent,
            docs_received: r.docs_received,
            completed: r.completed,
        }
    }
}
