//! The records the apps see, and their conversions from and to the core's. Field for field what the
//! core returns, in types every target language has: dates as `YYYY-MM-DD` text, ids as text, codes as
//! the core's stable codes. What the kader typed goes in as text and is parsed by the core's own
//! parsers (a comma decimal, more decimals than a scale shows, a negative value are the core's
//! decisions, with the field named), so nothing is decided here.

use chrono::NaiveDate;
use timbang_core::api;
use timbang_core::domain::{self, ChildId};
use timbang_core::growth::Assessment as CoreAssessment;
use timbang_core::reports::chart;
use timbang_core::reports::export::Table;
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
    /// The child has a KMS / Buku KIA (the K of SKDN).
    #[uniffi(default = true)]
    pub has_kms: bool,
    /// RT and RW as typed (`2`, `02`, `RT 02`).
    #[uniffi(default = None)]
    pub rt: Option<String>,
    #[uniffi(default = None)]
    pub rw: Option<String>,
    /// The posyandu the child is registered in, by name: needed on a phone in several teams (a
    /// bidan's), where it picks the team; a phone in one team needs none.
    #[uniffi(default = None)]
    pub posyandu: Option<String>,
}

impl NewChild {
    /// What registration records beside the identity.
    pub(crate) fn registration(&self) -> domain::Registration {
        domain::Registration {
            has_kms: self.has_kms,
            rt: self.rt.clone(),
            rw: self.rw.clone(),
            posyandu: self.posyandu.clone(),
        }
    }
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

/// Why D differs from N + T + O + B, or why children were left out of S.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SkdnMismatch {
    /// Stable code.
    pub code: String,
    pub count: u32,
    /// The sentence for the bidan (Bahasa Indonesia).
    pub text: String,
}

/// The SKDN of one posyandu for one month.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Skdn {
    /// `YYYY-MM`.
    pub month: String,
    /// The month as the report prints it (`Juni 2025`).
    pub month_label: String,
    pub posyandu: String,
    pub village: String,
    /// Target children (balita during the month).
    pub s: u32,
    /// Of S, with a KMS / Buku KIA.
    pub k: u32,
    /// Of S, weighed in the month.
    pub d: u32,
    /// Of D, by the KMS status of the month's last weighing: naik, tidak naik, not weighed the month
    /// before, first weighing.
    pub n: u32,
    pub t: u32,
    pub o: u32,
    pub b: u32,
    /// Of D, below the red line; the second T in a row.
    pub bgm: u32,
    pub two_t: u32,
    /// D = N + T + O + B.
    pub identity_holds: bool,
    /// What breaks the identity, and children left out of S; empty when everything adds up.
    pub mismatch: Vec<SkdnMismatch>,
    /// D/S, N/D, K/S, D/K (absent when the divisor is 0).
    pub d_s: Option<f64>,
    pub n_d: Option<f64>,
    pub k_s: Option<f64>,
    pub d_k: Option<f64>,
}

impl From<timbang_core::reports::Skdn> for Skdn {
    fn from(s: timbang_core::reports::Skdn) -> Self {
        Self {
            month: s.month.to_string(),
            month_label: s.month.label_id(),
            posyandu: s.posyandu,
            village: s.village,
            s: s.s,
            k: s.k,
            d: s.d,
            n: s.n,
            t: s.t,
            o: s.o,
            b: s.b,
            bgm: s.bgm,
            two_t: s.two_t,
            identity_holds: s.identity_holds,
            mismatch: s
                .mismatch
                .into_iter()
                .map(|m| SkdnMismatch {
                    code: m.code,
                    count: m.count,
                    text: m.text,
                })
                .collect(),
            d_s: s.d_s,
            n_d: s.n_d,
            k_s: s.k_s,
            d_k: s.d_k,
        }
    }
}

/// One early warning (`schema/id/warning-rules.csv`): about a child, or about a posyandu.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct EarlyWarning {
    /// The rule's code (`GIZI_BURUK`, `2T`, `BGM`, ...).
    pub code: String,
    /// Absent for a posyandu warning.
    pub child_id: Option<String>,
    pub name: Option<String>,
    pub posyandu: String,
    /// When the condition began, `YYYY-MM-DD`.
    pub since: String,
    /// The sentence for the kader (Bahasa Indonesia).
    pub text: String,
}

impl From<timbang_core::reports::warnings::Warning> for EarlyWarning {
    fn from(w: timbang_core::reports::warnings::Warning) -> Self {
        Self {
            code: w.code,
            child_id: w.child_id,
            name: w.name,
            posyandu: w.posyandu,
            since: date_text(w.since),
            text: w.text,
        }
    }
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ExportSummary {
    /// The file written (xlsx or CSV, by its extension).
    pub path: String,
    /// `YYYY-MM` (the year `YYYY` for the kohort).
    pub month: String,
    /// Data rows and columns (the header and the xlsx title lines not counted).
    pub rows: u32,
    pub columns: u32,
}

impl ExportSummary {
    pub(crate) fn of(path: String, month: timbang_core::reports::Month, table: &Table) -> Self {
        Self::of_period(path, month.to_string(), table)
    }

    pub(crate) fn of_period(path: String, month: String, table: &Table) -> Self {
        Self {
            path,
            month,
            rows: u32::try_from(table.rows.len()).unwrap_or(u32::MAX),
            columns: u32::try_from(table.headers.len()).unwrap_or(u32::MAX),
        }
    }
}

/// A WHO growth curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum GrowthCurve {
    /// Weight (kg) for age (days, 0 to 1856).
    WeightForAge,
    /// Length (under 731 days) or height (cm) for age (days).
    LengthHeightForAge,
    /// Weight (kg) for length lying (cm, 45 to 110).
    WeightForLength,
    /// Weight (kg) for height standing (cm, 65 to 120).
    WeightForHeight,
}

impl From<GrowthCurve> for timbang_core::growth::Curve {
    fn from(c: GrowthCurve) -> Self {
        use timbang_core::growth::Curve;
        match c {
            GrowthCurve::WeightForAge => Curve::WeightForAge,
            GrowthCurve::LengthHeightForAge => Curve::LengthHeightForAge,
            GrowthCurve::WeightForLength => Curve::WeightForLength,
            GrowthCurve::WeightForHeight => Curve::WeightForHeight,
        }
    }
}

impl From<timbang_core::growth::Curve> for GrowthCurve {
    fn from(c: timbang_core::growth::Curve) -> Self {
        use timbang_core::growth::Curve;
        match c {
            Curve::WeightForAge => GrowthCurve::WeightForAge,
            Curve::LengthHeightForAge => GrowthCurve::LengthHeightForAge,
            Curve::WeightForLength => GrowthCurve::WeightForLength,
            Curve::WeightForHeight => GrowthCurve::WeightForHeight,
        }
    }
}

/// The WHO lines of a curve at one x (days or cm): the values at z = -3, -2, -1, 0, 1, 2, 3.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CurvePoint {
    pub x: f64,
    pub sd_minus3: f64,
    pub sd_minus2: f64,
    pub sd_minus1: f64,
    pub median: f64,
    pub sd1: f64,
    pub sd2: f64,
    pub sd3: f64,
}

impl CurvePoint {
    pub(crate) fn of(x: f64, v: [f64; 7]) -> Self {
        let [sd_minus3, sd_minus2, sd_minus1, median, sd1, sd2, sd3] = v;
        Self {
            x,
            sd_minus3,
            sd_minus2,
            sd_minus1,
            median,
            sd1,
            sd2,
            sd3,
        }
    }
}

/// A panel of the growth chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ChartPanelKind {
    WeightForAge,
    HeightForAge,
    WeightForHeight,
}

impl From<chart::PanelKind> for ChartPanelKind {
    fn from(k: chart::PanelKind) -> Self {
        match k {
            chart::PanelKind::WeightForAge => Self::WeightForAge,
            chart::PanelKind::HeightForAge => Self::HeightForAge,
            chart::PanelKind::WeightForHeight => Self::WeightForHeight,
        }
    }
}

/// Where a panel sits in the SVG and the data ranges it shows (x in days or cm; y in kg or cm).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ChartPanel {
    pub kind: ChartPanelKind,
    /// The WHO curve it draws (for weight-for-height: length under 2 years, else height).
    pub curve: GrowthCurve,
    /// Top of the panel in the picture.
    pub top: f64,
    pub x_min: f64,
    pub x_max: f64,
    pub y_min: f64,
    pub y_max: f64,
}

/// A point as drawn in the SVG (picture units).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ChartMark {
    pub panel: ChartPanelKind,
    pub date: String,
    pub x: f64,
    pub y: f64,
}

/// One measurement of the child as the chart plots it, for an app that draws its own chart (with
/// `growth_curve` for the WHO lines).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ChartPoint {
    pub date: String,
    pub age_days: i64,
    pub weight_kg: Option<f64>,
    /// Length/height as WHO uses it (adjusted for the measuring position).
    pub height_cm: Option<f64>,
}

impl From<chart::ChartPoint> for ChartPoint {
    fn from(p: chart::ChartPoint) -> Self {
        Self {
            date: date_text(p.date),
            age_days: p.age_days,
            weight_kg: p.weight_kg,
            height_cm: p.height_cm,
        }
    }
}

/// A child's growth chart: the SVG (360 units wide, three panels), where everything was drawn, and
/// the child's measurements as data.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct GrowthChart {
    pub svg: String,
    pub width: f64,
    pub height: f64,
    pub panels: Vec<ChartPanel>,
    pub marks: Vec<ChartMark>,
    pub points: Vec<ChartPoint>,
}

impl GrowthChart {
    pub(crate) fn of(c: chart::GrowthChart, points: Vec<chart::ChartPoint>) -> Self {
        Self {
            svg: c.svg,
            width: c.width,
            height: c.height,
            panels: c
                .panels
                .into_iter()
                .map(|p| ChartPanel {
                    kind: p.kind.into(),
                    curve: p.curve.into(),
                    top: p.top,
                    x_min: p.x_min,
                    x_max: p.x_max,
                    y_min: p.y_min,
                    y_max: p.y_max,
                })
                .collect(),
            marks: c
                .marks
                .into_iter()
                .map(|m| ChartMark {
                    panel: m.panel.into(),
                    date: date_text(m.date),
                    x: m.x,
                    y: m.y,
                })
                .collect(),
            points: points.into_iter().map(Into::into).collect(),
        }
    }
}

/// A register row that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BadRow {
    /// Line in the file (the header is line 1).
    pub line: u64,
    pub field: Option<String>,
    /// One sentence in Bahasa Indonesia naming the field.
    pub reason: String,
}

/// What a register import did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ImportReport {
    /// Children registered by this import.
    pub children: u64,
    /// Children of the file already stored (they got only what they lacked).
    pub existing_children: u64,
    /// Visits written.
    pub visits: u64,
    /// Rows skipped as bad, and the data rows read.
    pub skipped: u64,
    pub rows: u64,
    pub bad_rows: Vec<BadRow>,
}

impl From<api::ImportReport> for ImportReport {
    fn from(r: api::ImportReport) -> Self {
        Self {
            children: r.children as u64,
            existing_children: r.existing_children as u64,
            visits: r.visits as u64,
            skipped: r.skipped as u64,
            rows: r.rows as u64,
            bad_rows: r
                .bad_rows
                .into_iter()
                .map(|b| BadRow {
                    line: b.line,
                    field: b.field,
                    reason: b.reason,
                })
                .collect(),
        }
    }
}

/// One team of this phone (a bidan's phone is in one team per posyandu); no secret.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TeamInfo {
    /// The first 8 hex digits of the team id (None: the first team before `team_invite`).
    pub team: Option<String>,
    /// The posyandu's name once known (from `init` or the team's documents).
    pub posyandu: Option<String>,
    pub village: Option<String>,
    /// Children registered in this team.
    pub children: u64,
}

impl From<timbang_core::api::TeamInfo> for TeamInfo {
    fn from(t: timbang_core::api::TeamInfo) -> Self {
        Self {
            team: t.team,
            posyandu: t.posyandu,
            village: t.village,
            children: u64::try_from(t.children).unwrap_or(0),
        }
    }
}

/// Which children the village list shows (every child when all are absent).
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct VillageFilter {
    /// Only the children of this posyandu (by name, any case).
    #[uniffi(default = None)]
    pub posyandu: Option<String>,
    /// Only this RT / RW (as typed: `2`, `02`, `RT 02`).
    #[uniffi(default = None)]
    pub rt: Option<String>,
    #[uniffi(default = None)]
    pub rw: Option<String>,
    /// Only children not weighed in this month (`YYYY-MM`) who were balita in it.
    #[uniffi(default = None)]
    pub not_weighed_in: Option<String>,
}

impl TryFrom<VillageFilter> for timbang_core::api::ListFilter {
    type Error = Error;
    fn try_from(f: VillageFilter) -> Result<Self, Error> {
        Ok(Self {
            posyandu: f.posyandu,
            rt: f.rt,
            rw: f.rw,
            not_weighed_in: f
                .not_weighed_in
                .map(|m| timbang_core::reports::Month::parse(&m))
                .transpose()?,
        })
    }
}

/// A dashboard written to a file.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DashboardSummary {
    pub path: String,
    /// The posyandu it shows, one section each (None: a section of every posyandu together).
    pub sections: Vec<Option<String>>,
}
