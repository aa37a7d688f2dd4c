//! The records the apps and the CLI see. Plain data with public fields; no behaviour. (The uniffi derives
//! of the bindings go here.)

use chrono::NaiveDate;
use serde::Serialize;

use crate::domain::{ChildId, Position, Sex};
use crate::error::Confirmation;
use crate::growth::{Assessment, StatusGizi};

/// This device's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceSettings {
    pub device_id: String,
    pub device_name: String,
    pub posyandu: String,
    pub village: String,
    pub kbm_table: String,
}

/// A registered child's id and what the kader confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Registered {
    pub child_id: ChildId,
    pub confirmed: Vec<Confirmation>,
}

/// A possible duplicate found at registration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DuplicateCandidate {
    pub child_id: ChildId,
    /// `same_nik` or `similar_name`.
    pub reason: String,
    pub name: String,
    pub birth_date: Option<NaiveDate>,
    pub mother_name: Option<String>,
}

/// The assessment of a visit as shown after entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VisitResult {
    pub child_id: ChildId,
    pub date: NaiveDate,
    pub assessment: Assessment,
    pub confirmed: Vec<String>,
}

/// A stored visit with its assessment, in the units a person reads (kg, cm).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VisitView {
    pub date: NaiveDate,
    pub weight_kg: Option<f64>,
    pub height_cm: Option<f64>,
    pub position: Option<Position>,
    pub head_circ_cm: Option<f64>,
    pub muac_cm: Option<f64>,
    pub oedema: Option<bool>,
    /// Service codes given at this visit (`vit_a_merah`, `pmt`, ...).
    pub services: Vec<String>,
    pub confirmed: Vec<String>,
    pub assessment: Option<Assessment>,
}

/// Everything about one child.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChildDetail {
    pub child_id: ChildId,
    /// Duplicates merged into this child.
    pub merged_ids: Vec<ChildId>,
    pub name: String,
    pub sex: Option<Sex>,
    pub birth_date: Option<NaiveDate>,
    pub age_months: Option<u32>,
    pub nik: Option<String>,
    /// NIKs of merged duplicates that differ from this child's.
    pub other_niks: Vec<String>,
    pub kk: Option<String>,
    pub mother_name: Option<String>,
    pub mother_nik: Option<String>,
    pub address: Option<String>,
    /// Has a KMS / Buku KIA (K in SKDN; yes unless recorded otherwise).
    pub has_kms: bool,
    /// The posyandu and village that registered the child, when its document carries them.
    pub posyandu: Option<String>,
    pub village: Option<String>,
    /// RT and RW (three digits) when recorded.
    pub rt: Option<String>,
    pub rw: Option<String>,
    pub visits: Vec<VisitView>,
    pub conflicts: Vec<ConflictView>,
}

/// One row of the village list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VillageRow {
    pub child_id: ChildId,
    pub name: String,
    pub sex: Option<Sex>,
    pub birth_date: Option<NaiveDate>,
    pub age_months: Option<u32>,
    pub last_visit: Option<NaiveDate>,
    pub weight_kg: Option<f64>,
    pub height_cm: Option<f64>,
    pub waz: Option<f64>,
    pub haz: Option<f64>,
    pub whz: Option<f64>,
    pub kms: Option<String>,
    /// The status gizi of the latest visit that had one (see `status_gizi_date`).
    pub status_gizi: Option<StatusGizi>,
    /// The date of the visit `status_gizi` comes from.
    pub status_gizi_date: Option<NaiveDate>,
    /// Reason codes, most urgent first.
    pub referral: Vec<String>,
    /// The same reasons in Bahasa Indonesia, for the bidan.
    pub referral_text: Vec<String>,
    /// The posyandu the child's document names (None: registered before names travelled).
    pub posyandu: Option<String>,
    /// RT and RW (three digits) when recorded.
    pub rt: Option<String>,
    pub rw: Option<String>,
    /// The order of the list (most urgent reason, number of reasons); higher first.
    #[serde(skip)]
    pub urgency: (u8, usize),
}

/// An open conflict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConflictView {
    pub conflict_id: String,
    /// The kept child the conflict belongs to.
    pub child_id: ChildId,
    /// The document holding it (differs from `child_id` for a merged duplicate).
    pub doc_id: ChildId,
    pub field: String,
    pub visit_date: Option<NaiveDate>,
    pub values: Vec<serde_json::Value>,
}

/// What one phone-to-phone session did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerReport {
    pub peer_device: String,
    pub sent_bytes: u64,
    pub received_bytes: u64,
    pub docs_sent: u64,
    pub docs_received: u64,
    pub completed: bool,
}

/// Which end of a peer session this phone is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerRole {
    /// The phone that started the session (dialled, or opened the Bluetooth socket).
    Dial,
    /// The phone that accepted it.
    Accept,
}

/// Which children the village list shows (all when every field is `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Only the children of this posyandu (by name; children whose document names none belong to this
    /// device's posyandu).
    pub posyandu: Option<String>,
    /// Only this RT / RW (as typed: `2`, `02`, `RT 02`).
    pub rt: Option<String>,
    pub rw: Option<String>,
    /// Only children not weighed in this month (`YYYY-MM`) who were balita in it.
    pub not_weighed_in: Option<crate::reports::Month>,
}
