//! [`Timbang`]: the one entry point for the CLI and the bindings.
//!
//! Every write is one transaction: the document change, its sealed chunk, the projections and the audit
//! row commit together or not at all. Input is validated before anything is written; a value that needs
//! the kader's confirmation returns [`Error::NeedsConfirmation`] and writes nothing.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use automerge::Automerge;
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::crdt::{self, Chosen};
use crate::crypto::{self, Key};
use crate::domain::{self, ChildId, NewChild, Position, Sex, VisitEntry};
use crate::error::{Confirmation, Error, Result};
use crate::growth::{self, Assessment, ChildInfo, KbmTable, VisitInput};
use crate::store::projection;
use crate::store::{Store, StoreError};

/// The host's clock. The CLI uses the system clock; tests and the demo fix the date.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now, in UTC.
    fn now(&self) -> DateTime<Utc>;
    /// Today's date where the posyandu is.
    fn today(&self) -> NaiveDate;
}

/// The system clock; "today" is the local date.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    fn today(&self) -> NaiveDate {
        chrono::Local::now().date_naive()
    }
}

/// A clock fixed on one date (time still advances, for ordering).
#[derive(Debug, Clone, Copy)]
pub struct FixedDate(pub NaiveDate);

impl Clock for FixedDate {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    fn today(&self) -> NaiveDate {
        self.0
    }
}

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

/// A stored visit with its assessment.
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
    /// Reason codes, most urgent first.
    pub referral: Vec<String>,
    /// The same reasons in Bahasa Indonesia, for the bidan.
    pub referral_text: Vec<String>,
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

/// The core facade.
#[derive(Debug)]
pub struct Timbang {
    store: Store,
    clock: Arc<dyn Clock>,
    kader: Option<String>,
    /// This device's settings, read once (they change only through `init`, `team_join`, `set_kbm_table`).
    settings: std::sync::Mutex<Option<DeviceSettings>>,
}

fn store_err(e: StoreError) -> Error {
    e.into()
}

fn crdt_err(e: crdt::CrdtError) -> Error {
    Error::storage(e)
}

fn kg(g: Option<u32>) -> Option<f64> {
    g.map(|g| f64::from(g) / 1000.0)
}

fn cm(mm: Option<u32>) -> Option<f64> {
    mm.map(|mm| f64::from(mm) / 10.0)
}

fn parse_sex_code(s: Option<String>) -> Option<Sex> {
    s.and_then(|s| s.parse().ok())
}

fn parse_date_opt(s: Option<String>) -> Option<NaiveDate> {
    s.and_then(|s| s.parse().ok())
}

fn not_found_child() -> Error {
    Error::NotFound {
        what: "child".into(),
    }
}

impl Timbang {
    /// Open (or create) the database at `path` with the host's 32-byte key.
    pub fn open(path: &Path, key: &Key, clock: Arc<dyn Clock>) -> Result<Self> {
        let store = Store::open(path, key).map_err(store_err)?;
        Ok(Self {
            store,
            clock,
            kader: None,
            settings: std::sync::Mutex::new(None),
        })
    }

    /// Name the kader whose entries follow (recorded in the audit log).
    pub fn set_kader(&mut self, kader: Option<String>) {
        self.kader = kader;
    }

    /// The underlying store (for sync and reports inside the core).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Today, by the host's clock.
    pub fn today(&self) -> NaiveDate {
        self.clock.today()
    }

    /// Set up this database as the first phone of a posyandu.
    pub fn init(&self, posyandu: &str, village: &str, device_name: &str) -> Result<DeviceSettings> {
        self.init_with(posyandu, village, device_name, None)
    }

    /// Check what `init` would be given, without a database (so a caller can refuse bad input before
    /// creating any file).
    pub fn validate_init(
        posyandu: &str,
        village: &str,
        device_name: &str,
        kbm_table: Option<&str>,
    ) -> Result<()> {
        domain::clean_name("posyandu", "Nama posyandu", posyandu)?;
        domain::clean_name("village", "Nama desa", village)?;
        domain::clean_name("device", "Nama perangkat", device_name)?;
        if let Some(id) = kbm_table {
            Self::check_kbm_id(id)?;
        }
        Ok(())
    }

    /// Check what `team_join` would be given, without a database.
    pub fn validate_join(code: &str, device_name: &str) -> Result<()> {
        Self::parse_invite(code)?;
        domain::clean_name("device", "Nama perangkat", device_name)?;
        Ok(())
    }

    fn parse_invite(code: &str) -> Result<crate::peer::Invite> {
        crate::peer::parse_invite_code(code).map_err(|e| {
            Error::invalid(
                "code",
                "Kode pasangan tidak sah; periksa lagi hurufnya.",
                format!("pairing code: {e}"),
            )
        })
    }

    fn check_kbm_id(id: &str) -> Result<()> {
        if KbmTable::by_id(id).is_none() {
            return Err(Error::invalid(
                "kbm_table",
                format!(
                    "Tabel KBM '{id}' tidak dikenal; pilihan: {}.",
                    KbmTable::ids().join(", ")
                ),
                format!("unknown KBM table '{id}'"),
            ));
        }
        Ok(())
    }

    /// `init` with the deployment's KBM table (default: the cited one), all in one transaction.
    pub fn init_with(
        &self,
        posyandu: &str,
        village: &str,
        device_name: &str,
        kbm_table: Option<&str>,
    ) -> Result<DeviceSettings> {
        Self::validate_init(posyandu, village, device_name, kbm_table)?;
        let kbm_table = kbm_table
            .unwrap_or(KbmTable::default_table().id())
            .to_owned();
        let posyandu = domain::clean_name("posyandu", "Nama posyandu", posyandu)?;
        let village = domain::clean_name("village", "Nama desa", village)?;
        let device_name = domain::clean_name("device", "Nama perangkat", device_name)?;
        self.store
            .write(|tx| {
                if Store::meta_get(tx, "device_id")?.is_some() {
                    return Ok(Err(Error::AlreadyInitialized));
                }
                let device_id = uuid::Uuid::now_v7().to_string();
                let actor = crypto::make_random_bytes::<16>()?;
                Store::meta_set(tx, "device_id", device_id.as_bytes())?;
                Store::meta_set(tx, "device_name", device_name.as_bytes())?;
                Store::meta_set(tx, "posyandu", posyandu.as_bytes())?;
                Store::meta_set(tx, "village", village.as_bytes())?;
                Store::meta_set(tx, "actor", &actor)?;
                Store::meta_set(tx, "kbm_table", kbm_table.as_bytes())?;
                self.store
                    .audit(tx, &device_name, self.kader.as_deref(), "init", None, None)?;
                Ok(Ok(()))
            })
            .map_err(store_err)??;
        self.forget_settings();
        self.settings()
    }

    /// This device's settings; [`Error::NotInitialized`] before `init`.
    pub fn settings(&self) -> Result<DeviceSettings> {
        if let Ok(cached) = self.settings.lock()
            && let Some(s) = cached.as_ref()
        {
            return Ok(s.clone());
        }
        let s = self.read_settings()?;
        if let Ok(mut cached) = self.settings.lock() {
            *cached = Some(s.clone());
        }
        Ok(s)
    }

    fn forget_settings(&self) {
        if let Ok(mut cached) = self.settings.lock() {
            *cached = None;
        }
    }

    fn read_settings(&self) -> Result<DeviceSettings> {
        self.store
            .read(|c| {
                let get = |k: &str| Store::meta_text(c, k);
                Ok(match (get("device_id")?, get("device_name")?) {
                    (Some(device_id), Some(device_name)) => Some(DeviceSettings {
                        device_id,
                        device_name,
                        posyandu: get("posyandu")?.unwrap_or_default(),
                        village: get("village")?.unwrap_or_default(),
                        kbm_table: get("kbm_table")?
                            .unwrap_or_else(|| KbmTable::default_table().id().to_owned()),
                    }),
                    _ => None,
                })
            })
            .map_err(store_err)?
            .ok_or(Error::NotInitialized)
    }

    /// Choose the KBM table of this deployment (ids from [`KbmTable::ids`]) and reassess every visit
    /// with it. Only before other phones join: every phone of a team must use the same table, and the
    /// invite carries it.
    pub fn set_kbm_table(&self, id: &str) -> Result<()> {
        Self::check_kbm_id(id)?;
        let device = self.settings()?.device_name;
        if self.team().is_ok() {
            return Err(Error::invalid(
                "kbm_table",
                "Tabel KBM harus dipilih sebelum HP lain diundang ke tim.",
                "the KBM table must be chosen before other phones are invited",
            ));
        }
        let kbm = KbmTable::by_id(id).unwrap_or_else(KbmTable::default_table);
        // The setting and the reassessment of every visit commit together.
        self.store
            .write(|tx| {
                Store::meta_set(tx, "kbm_table", id.as_bytes())?;
                self.store.audit(
                    tx,
                    &device,
                    self.kader.as_deref(),
                    "set_kbm_table",
                    None,
                    Some(id),
                )?;
                self.rebuild_in(tx, kbm, &device)
            })
            .map_err(store_err)?;
        self.forget_settings();
        Ok(())
    }

    fn kbm(&self, settings: &DeviceSettings) -> &'static KbmTable {
        KbmTable::by_id(&settings.kbm_table).unwrap_or_else(KbmTable::default_table)
    }

    fn actor(&self) -> Result<automerge::ActorId> {
        let a = self
            .store
            .read(|c| Store::meta_get(c, "actor"))
            .map_err(store_err)?
            .ok_or(Error::NotInitialized)?;
        Ok(crdt::actor_for(&a))
    }

    fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    /// Children already registered who may be the same as `c`: the same NIK, or a similar name with a
    /// birth date within 31 days and a similar mother's name (when both have one). `c` is validated
    /// (and its NIK normalised) as registration would.
    pub fn possible_duplicates(&self, c: &NewChild) -> Result<Vec<DuplicateCandidate>> {
        let (c, _) = domain::validate_new_child(c, self.today())?;
        self.duplicates_of(&c)
    }

    /// [`Timbang::possible_duplicates`] for an already validated child.
    fn duplicates_of(&self, c: &NewChild) -> Result<Vec<DuplicateCandidate>> {
        let store = &self.store;
        store
            .read(|conn| {
                let mut out: BTreeMap<String, DuplicateCandidate> = BTreeMap::new();
                let row_to = |reason: &str, r: (String, Vec<u8>, Option<String>, Option<Vec<u8>>)| -> Result<DuplicateCandidate, StoreError> {
                    let (id, name, birth, mother) = r;
                    Ok(DuplicateCandidate {
                        child_id: ChildId::parse(&id).map_err(|_| StoreError::Other("bad child id".into()))?,
                        reason: reason.to_owned(),
                        name: store.open_sealed("name", &id, &name)?,
                        birth_date: parse_date_opt(birth),
                        mother_name: store.open_opt("mother_name", &id, mother)?,
                    })
                };
                if let Some(nik) = &c.nik {
                    let tag = store.blind_index("nik", nik);
                    let mut stmt = conn.prepare_cached(
                        "SELECT c.root_id, r.name, r.birth_date, r.mother_name FROM children c JOIN children r ON r.child_id = c.root_id
                         WHERE c.nik_tag = ?1 AND r.deleted = 0",
                    )?;
                    let rows = stmt.query_map(params![tag], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
                    for row in rows {
                        let cand = row_to("same_nik", row?)?;
                        out.insert(cand.child_id.to_string(), cand);
                    }
                }
                let lo = c.birth_date - chrono::Duration::days(31);
                let hi = c.birth_date + chrono::Duration::days(31);
                let mut stmt = conn.prepare_cached(
                    "SELECT child_id, name, birth_date, mother_name FROM children
                     WHERE birth_date BETWEEN ?1 AND ?2 AND deleted = 0 AND root_id = child_id",
                )?;
                let rows = stmt.query_map(params![lo.to_string(), hi.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
                for row in rows {
                    let cand = row_to("similar_name", row?)?;
                    if out.contains_key(cand.child_id.as_str()) {
                        continue;
                    }
                    let name_ok = domain::name_similarity(&cand.name, &c.name) >= domain::SIMILAR_NAME;
                    let mother_ok = match (&cand.mother_name, &c.mother_name) {
                        (Some(a), Some(b)) => domain::name_similarity(a, b) >= domain::SIMILAR_NAME,
                        _ => true,
                    };
                    if name_ok && mother_ok {
                        out.insert(cand.child_id.to_string(), cand);
                    }
                }
                Ok(out.into_values().collect())
            })
            .map_err(store_err)
    }

    /// Register a child. Needs `confirm` when the NIK disagrees with the birth date or sex, or when
    /// possible duplicates exist (listed by [`Timbang::possible_duplicates`]).
    pub fn register_child(&self, c: NewChild, confirm: bool) -> Result<Registered> {
        let settings = self.settings()?;
        let (c, mut confirmations) = domain::validate_new_child(&c, self.today())?;
        let dups = self.duplicates_of(&c)?;
        if !dups.is_empty() {
            let ids: Vec<String> = dups.iter().map(|d| d.child_id.to_string()).collect();
            confirmations.push(Confirmation {
                code: "possible_duplicate".into(),
                field: "name".into(),
                message_id: format!(
                    "Mungkin anak ini sudah terdaftar ({}); periksa dulu.",
                    ids.join(", ")
                ),
                message_en: format!("possible duplicate of {}", ids.join(", ")),
            });
        }
        if !confirmations.is_empty() && !confirm {
            return Err(Error::NeedsConfirmation {
                reasons: confirmations,
            });
        }
        let id = ChildId::make();
        let codes: Vec<String> = confirmations.iter().map(|c| c.code.clone()).collect();
        let doc = crdt::new_child_doc(
            &id,
            &c,
            &codes,
            &settings.device_name,
            self.actor()?,
            self.now_ms(),
        )
        .map_err(crdt_err)?;
        let kbm = self.kbm(&settings);
        self.store
            .write(|tx| {
                self.store.save_doc(tx, id.as_str(), &doc, None)?;
                projection::apply_changed(&self.store, tx, &[(id.as_str(), &doc)], kbm)?;
                let detail = if codes.is_empty() {
                    None
                } else {
                    Some(codes.join(","))
                };
                self.store.audit(
                    tx,
                    &settings.device_name,
                    self.kader.as_deref(),
                    "register_child",
                    Some(&id),
                    detail.as_deref(),
                )
            })
            .map_err(store_err)?;
        Ok(Registered {
            child_id: id,
            confirmed: confirmations,
        })
    }

    /// The kept child an id now stands for (itself, or the child it was merged into).
    pub fn resolve_id(&self, id: &ChildId) -> Result<ChildId> {
        let root: Option<String> = self
            .store
            .read(|c| {
                Ok(c.prepare_cached(
                    "SELECT root_id FROM children WHERE child_id = ?1 AND deleted = 0",
                )?
                .query_row(params![id.as_str()], |r| r.get(0))
                .optional()?)
            })
            .map_err(store_err)?;
        root.map(|r| ChildId::parse(&r))
            .transpose()?
            .ok_or_else(not_found_child)
    }

    fn child_info(&self, root: &ChildId) -> Result<ChildInfo> {
        let (sex, birth): (Option<String>, Option<String>) = self
            .store
            .read(|c| {
                Ok(
                    c.prepare_cached("SELECT sex, birth_date FROM children WHERE child_id = ?1")?
                        .query_row(params![root.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?,
                )
            })
            .map_err(store_err)?;
        match (parse_sex_code(sex), parse_date_opt(birth)) {
            (Some(sex), Some(birth_date)) => Ok(ChildInfo { sex, birth_date }),
            _ => Err(Error::storage("child has no sex or birth date")),
        }
    }

    fn visit_views(&self, root: &ChildId) -> Result<Vec<VisitView>> {
        self.store
            .read(|c| {
                let rows = projection::VisitRow::read_all(c, root.as_str())?;
                let mut versions: BTreeMap<i64, (String, String)> = BTreeMap::new();
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    if let std::collections::btree_map::Entry::Vacant(e) = versions.entry(r.version)
                    {
                        e.insert(projection::version_names(c, r.version)?);
                    }
                    let (standard, rules) = &versions[&r.version];
                    out.push(VisitView {
                        date: r.date,
                        weight_kg: kg(r.weight_g),
                        height_cm: cm(r.height_mm),
                        position: r.position,
                        head_circ_cm: cm(r.head_mm),
                        muac_cm: cm(r.muac_mm),
                        oedema: r.oedema,
                        assessment: Some(r.assessment(standard, rules)),
                        services: r.services,
                        confirmed: r.confirmed,
                    });
                }
                Ok(out)
            })
            .map_err(store_err)
    }

    /// The stored visit rows of a kept child (measurements only are needed for history).
    fn visit_rows(&self, root: &ChildId) -> Result<Vec<projection::VisitRow>> {
        self.store
            .read(|c| projection::VisitRow::read_all(c, root.as_str()))
            .map_err(store_err)
    }

    /// Record (add to or correct) the visit of `entry.date` for a child. Refuses values outside the hard
    /// limits (naming the field); asks for confirmation of implausible ones; stores confirmed ones with
    /// the confirmation recorded.
    pub fn record_visit(
        &self,
        id: &ChildId,
        entry: VisitEntry,
        confirm: bool,
    ) -> Result<VisitResult> {
        let settings = self.settings()?;
        let root = self.resolve_id(id)?;
        let date = entry.date.ok_or_else(|| {
            Error::invalid(
                "date",
                "Tanggal kunjungan wajib diisi.",
                "visit date is required",
            )
        })?;
        if entry.is_empty() {
            return Err(Error::invalid(
                "weight_kg",
                "Isi paling sedikit satu ukuran (berat, panjang/tinggi, lingkar kepala, LiLA atau edema).",
                "a visit needs at least one measurement",
            ));
        }
        if entry.position.is_some() && entry.height_mm.is_none() {
            return Err(Error::invalid(
                "position",
                "Cara ukur hanya diisi bersama panjang/tinggi badan.",
                "position is given without a height",
            ));
        }
        let child = self.child_info(&root)?;
        refuse_bad_entry(&entry, date, child.birth_date, self.today())?;
        // The visit as it will be (existing fields of the day overlaid by this entry) and its history.
        let rows = self.visit_rows(&root)?;
        let mut fields = crdt::VisitFields::default();
        let mut already_confirmed: Vec<String> = Vec::new();
        let mut history = Vec::new();
        for r in &rows {
            if r.date < date {
                history.push(r.input());
            } else if r.date == date {
                fields.weight_g = r.weight_g;
                fields.height_mm = r.height_mm;
                fields.position = r.position;
                fields.head_mm = r.head_mm;
                fields.muac_mm = r.muac_mm;
                fields.oedema = r.oedema;
                already_confirmed.clone_from(&r.confirmed);
            }
        }
        // A corrected height keeps the day's recorded position unless a new one is given.
        let mut entry = entry;
        if entry.height_mm.is_some() && entry.position.is_none() {
            entry.position = fields.position;
        }
        if entry.height_mm.is_some() && entry.position.is_none() {
            return Err(Error::invalid(
                "position",
                "Cara ukur wajib diisi bersama panjang/tinggi badan: lying (telentang) atau standing (berdiri).",
                "position (lying or standing) is required with a height",
            ));
        }
        fields.overlay(&entry);
        let current = projection::visit_input(date, &fields);
        // A confirmation covers the value that was confirmed: once this entry changes a field the
        // concern is about, the kader is asked again.
        let touches = |c: &growth::Concern| -> bool {
            let weight = entry.weight_g.is_some();
            let height = entry.height_mm.is_some();
            match c.code {
                "who_flag_whz" | "who_flag_baz" => weight || height,
                _ => match c.field.code() {
                    "weight_kg" => weight,
                    "height_cm" => height,
                    "head_circ_cm" => entry.head_mm.is_some(),
                    "muac_cm" => entry.muac_mm.is_some(),
                    _ => true,
                },
            }
        };
        let concerns: Vec<growth::Concern> = growth::plausibility(&child, &history, &current)
            .into_iter()
            .filter(|c| touches(c) || !already_confirmed.iter().any(|a| a == c.code))
            .collect();
        let mut confirmations: Vec<Confirmation> = concerns
            .iter()
            .map(|c| Confirmation {
                code: c.code.to_owned(),
                field: c.field.code().to_owned(),
                message_id: c.message_id.clone(),
                message_en: c.message_en.clone(),
            })
            .collect();
        // Vitamin A capsules by age: blue for 6 to 11 months, red for 12 to 59 months.
        let months = domain::completed_months(child.birth_date, date);
        for (service, range, colour) in [
            (domain::Service::VitABiru, 6..=11, "biru (6-11 bulan)"),
            (domain::Service::VitAMerah, 12..=59, "merah (12-59 bulan)"),
        ] {
            let code = format!("{}_age", service.code());
            if entry.services.contains(service)
                && !range.contains(&months)
                && !already_confirmed.contains(&code)
            {
                confirmations.push(Confirmation {
                    code,
                    field: "service".into(),
                    message_id: format!("Kapsul vitamin A {colour} untuk anak umur {months} bulan; periksa warnanya."),
                    message_en: format!("{} given at {months} months, outside its age range", service.code()),
                });
            }
        }
        if !confirmations.is_empty() && !confirm {
            return Err(Error::NeedsConfirmation {
                reasons: confirmations,
            });
        }
        let codes: Vec<String> = confirmations.iter().map(|c| c.code.clone()).collect();
        let kbm = self.kbm(&settings);
        let now = self.now_ms();
        self.store
            .write(|tx| {
                let mut doc: Automerge = self
                    .store
                    .load_doc(tx, root.as_str())?
                    .ok_or_else(|| StoreError::Other("child document missing".into()))?;
                doc.set_actor(self.actor_in(tx)?);
                let before = doc.get_heads();
                crdt::write_visit(&mut doc, date, &entry, &codes, &settings.device_name, now)?;
                self.store
                    .save_doc(tx, root.as_str(), &doc, Some(&before))?;
                projection::apply_changed(&self.store, tx, &[(root.as_str(), &doc)], kbm)?;
                self.store.audit(
                    tx,
                    &settings.device_name,
                    self.kader.as_deref(),
                    "record_visit",
                    Some(&root),
                    Some(&date.to_string()),
                )
            })
            .map_err(store_err)?;
        let assessment = self
            .store
            .read(|c| {
                let Some(row) = projection::VisitRow::read_one(c, root.as_str(), date)? else {
                    return Ok(None);
                };
                let (standard, rules) = projection::version_names(c, row.version)?;
                Ok(Some(row.assessment(&standard, &rules)))
            })
            .map_err(store_err)?
            .ok_or_else(|| Error::storage("assessment missing after write"))?;
        Ok(VisitResult {
            child_id: root,
            date,
            assessment,
            confirmed: codes,
        })
    }

    /// Soft-delete the visit of `date` (entered for the wrong child, say). The values stay in the
    /// document's history; recording that date again brings the visit back.
    pub fn delete_visit(&self, id: &ChildId, date: NaiveDate) -> Result<()> {
        let settings = self.settings()?;
        let root = self.resolve_id(id)?;
        if !self.visit_rows(&root)?.iter().any(|r| r.date == date) {
            return Err(Error::NotFound {
                what: "visit".into(),
            });
        }
        let kbm = self.kbm(&settings);
        let now = self.now_ms();
        self.store
            .write(|tx| {
                // The visit may come from a merged duplicate's document: mark it deleted in every
                // document of the group that has it.
                let members: Vec<String> = {
                    let mut stmt = tx.prepare_cached("SELECT child_id FROM children WHERE root_id = ?1")?;
                    let rows = stmt.query_map(params![root.as_str()], |r| r.get(0))?;
                    rows.collect::<Result<_, _>>()?
                };
                let actor = self.actor_in(tx)?;
                let mut changed = Vec::new();
                for m in members {
                    let Some(mut doc) = self.store.load_doc(tx, &m)? else { continue };
                    if !crdt::read_child(&doc)?.visits.contains_key(&date) {
                        continue;
                    }
                    doc.set_actor(actor.clone());
                    let before = doc.get_heads();
                    crdt::delete_visit(&mut doc, date, &settings.device_name, now)?;
                    self.store.save_doc(tx, &m, &doc, Some(&before))?;
                    changed.push((m, doc));
                }
                let refs: Vec<(&str, &Automerge)> = changed.iter().map(|(i, d)| (i.as_str(), d)).collect();
                projection::apply_changed(&self.store, tx, &refs, kbm)?;
                tx.prepare_cached("DELETE FROM outbox WHERE child_id = ?1 AND visit_date = ?2 AND state = 'pending'")?
                    .execute(params![root.as_str(), date.to_string()])?;
                self.store.audit(tx, &settings.device_name, self.kader.as_deref(), "delete_visit", Some(&root), Some(&date.to_string()))
            })
            .map_err(store_err)
    }

    fn actor_in(&self, conn: &rusqlite::Connection) -> Result<automerge::ActorId, StoreError> {
        Store::meta_get(conn, "actor")?
            .map(|a| crdt::actor_for(&a))
            .ok_or_else(|| StoreError::Other("device not initialised".into()))
    }

    /// Everything about one child (a merged duplicate's id shows the kept child).
    pub fn child(&self, id: &ChildId) -> Result<ChildDetail> {
        let root = self.resolve_id(id)?;
        let store = &self.store;
        type Row = (
            Option<String>,
            Option<String>,
            Vec<u8>,
            Option<Vec<u8>>,
            Option<Vec<u8>>,
            Option<Vec<u8>>,
            Option<Vec<u8>>,
            Option<Vec<u8>>,
        );
        let (detail_base, merged, other_niks) = store
            .read(|c| {
                let r: Row = c
                    .prepare_cached("SELECT sex, birth_date, name, nik, kk, mother_name, mother_nik, address FROM children WHERE child_id = ?1")?
                    .query_row(params![root.as_str()], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
                    })?;
                let id = root.as_str();
                let nik = store.open_opt("nik", id, r.3)?;
                let base = (
                    parse_sex_code(r.0),
                    parse_date_opt(r.1),
                    store.open_sealed("name", id, &r.2)?,
                    nik.clone(),
                    store.open_opt("kk", id, r.4)?,
                    store.open_opt("mother_name", id, r.5)?,
                    store.open_opt("mother_nik", id, r.6)?,
                    store.open_opt("address", id, r.7)?,
                );
                let mut stmt = c.prepare_cached("SELECT child_id, nik FROM children WHERE root_id = ?1 AND child_id != ?1 ORDER BY child_id")?;
                let rows = stmt.query_map(params![id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<Vec<u8>>>(1)?)))?;
                let mut merged = Vec::new();
                let mut others = Vec::new();
                for row in rows {
                    let (mid, mnik) = row?;
                    if let Some(n) = store.open_opt("nik", &mid, mnik)?
                        && Some(&n) != nik.as_ref() && !others.contains(&n) {
                            others.push(n);
                        }
                    merged.push(mid);
                }
                Ok((base, merged, others))
            })
            .map_err(store_err)?;
        let (sex, birth_date, name, nik, kk, mother_name, mother_nik, address) = detail_base;
        let conflicts = self
            .conflict_rows(Some(&root), None)?
            .into_iter()
            .map(|(c, _)| c)
            .collect();
        Ok(ChildDetail {
            age_months: birth_date.map(|b| domain::completed_months(b, self.today())),
            child_id: root.clone(),
            merged_ids: merged
                .iter()
                .filter_map(|m| ChildId::parse(m).ok())
                .collect(),
            name,
            sex,
            birth_date,
            nik,
            other_niks,
            kk,
            mother_name,
            mother_nik,
            address,
            visits: self.visit_views(&root)?,
            conflicts,
        })
    }

    /// The village list: every kept child with the latest status, most urgent first.
    pub fn village_list(&self) -> Result<Vec<VillageRow>> {
        let today = self.today();
        let store = &self.store;
        let mut rows = store
            .read(|c| {
                let mut stmt = c.prepare_cached(
                    "SELECT c.child_id, c.name, c.sex, c.birth_date, s.last_visit, s.last_weighing, s.weight_g, s.height_mm,
                            s.waz, s.haz, s.whz, s.kms, s.referral
                     FROM children c LEFT JOIN child_status s ON s.child_id = c.child_id
                     WHERE c.root_id = c.child_id AND c.deleted = 0",
                )?;
                let mut out = Vec::new();
                let mut q = stmt.query([])?;
                while let Some(r) = q.next()? {
                    let id: String = r.get(0)?;
                    let name: Vec<u8> = r.get(1)?;
                    let birth_date = parse_date_opt(r.get(3)?);
                    let last_weighing = parse_date_opt(r.get(5)?);
                    let referral_json: Option<String> = r.get(12)?;
                    let mut reasons: Vec<growth::ReferralReason> = referral_json
                        .as_deref()
                        .map(serde_json::from_str::<Vec<String>>)
                        .transpose()?
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|code| code.parse().ok())
                        .collect();
                    if let Some(b) = birth_date
                        && let Some(r) = growth::not_weighed_referral(last_weighing, b, today)
                            && !reasons.contains(&r) {
                                reasons.push(r);
                            }
                    reasons.sort_by_key(|r| std::cmp::Reverse(r.urgency()));
                    let urgency = (reasons.first().map_or(0, |r| r.urgency()), reasons.len());
                    out.push(VillageRow {
                        child_id: ChildId::parse(&id).map_err(|_| StoreError::Other("bad child id".into()))?,
                        name: store.open_sealed("name", &id, &name)?,
                        sex: parse_sex_code(r.get(2)?),
                        birth_date,
                        age_months: birth_date.map(|b| domain::completed_months(b, today)),
                        last_visit: parse_date_opt(r.get(4)?),
                        weight_kg: kg(r.get(6)?),
                        height_cm: cm(r.get(7)?),
                        waz: r.get(8)?,
                        haz: r.get(9)?,
                        whz: r.get(10)?,
                        kms: r.get(11)?,
                        referral: reasons.iter().map(|r| r.code().to_owned()).collect(),
                        referral_text: reasons.iter().map(|r| r.text_id().to_owned()).collect(),
                        urgency,
                    });
                }
                Ok(out)
            })
            .map_err(store_err)?;
        rows.sort_by(|a, b| {
            b.urgency
                .cmp(&a.urgency)
                .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
                .then_with(|| a.child_id.cmp(&b.child_id))
        });
        Ok(rows)
    }

    /// Every open conflict.
    pub fn conflicts(&self) -> Result<Vec<ConflictView>> {
        Ok(self
            .conflict_rows(None, None)?
            .into_iter()
            .map(|(c, _)| c)
            .collect())
    }

    /// Open conflicts with their document keys, all of them or only those of one kept child or one id.
    /// Only the matching rows are read and unsealed.
    fn conflict_rows(
        &self,
        root: Option<&ChildId>,
        id: Option<&str>,
    ) -> Result<Vec<(ConflictView, String)>> {
        let store = &self.store;
        store
            .read(|c| {
                let mut stmt = c.prepare_cached(
                    "SELECT k.conflict_id, ch.root_id, k.child_id, k.field, k.visit_date, k.payload, k.doc_key
                     FROM conflicts k JOIN children ch ON ch.child_id = k.child_id
                     WHERE (?1 IS NULL OR ch.root_id = ?1) AND (?2 IS NULL OR k.conflict_id = ?2)
                     ORDER BY ch.root_id, k.visit_date, k.field",
                )?;
                let mut q = stmt.query(params![root.map(ChildId::as_str), id])?;
                let mut out = Vec::new();
                while let Some(r) = q.next()? {
                    let cid: String = r.get(0)?;
                    let root: String = r.get(1)?;
                    let doc: String = r.get(2)?;
                    let payload: Vec<u8> = r.get(5)?;
                    let values: Vec<serde_json::Value> = serde_json::from_str(&store.open_sealed("conflicts", &cid, &payload)?)?;
                    let bad = |_| StoreError::Other("bad child id".into());
                    out.push((
                        ConflictView {
                            conflict_id: cid,
                            child_id: ChildId::parse(&root).map_err(bad)?,
                            doc_id: ChildId::parse(&doc).map_err(bad)?,
                            field: r.get(3)?,
                            visit_date: parse_date_opt(r.get(4)?),
                            values,
                        },
                        r.get(6)?,
                    ));
                }
                Ok(out)
            })
            .map_err(store_err)
    }

    /// Settle a conflict by keeping `value` (one of the conflicting values, typed as a person would).
    pub fn resolve(&self, conflict_id: &str, value: &str) -> Result<()> {
        let settings = self.settings()?;
        let (conflict, key) = self
            .conflict_rows(None, Some(conflict_id.trim()))?
            .into_iter()
            .next()
            .ok_or(Error::NotFound {
                what: "conflict".into(),
            })?;
        let (chosen, shown) = parse_choice(&conflict.field, value)?;
        let matches = conflict.values.iter().any(|v| match (v, &shown) {
            (serde_json::Value::Number(a), serde_json::Value::Number(b)) => {
                (a.as_f64().unwrap_or(f64::NAN) - b.as_f64().unwrap_or(f64::NAN)).abs() < 1e-9
            }
            (a, b) => a == b,
        });
        if !matches {
            let options: Vec<String> = conflict.values.iter().map(|v| v.to_string()).collect();
            return Err(Error::invalid(
                "value",
                format!(
                    "Nilai itu bukan salah satu pilihan yang bertentangan ({}).",
                    options.join(", ")
                ),
                format!(
                    "the value is not one of the conflicting values for {}",
                    conflict.field
                ),
            ));
        }

        let kbm = self.kbm(&settings);
        let now = self.now_ms();
        self.store
            .write(|tx| {
                let actor = self.actor_in(tx)?;
                // A conflict inside one document is settled in that document; a disagreement between
                // the documents of a merged group is settled in every member that has the field.
                let (targets, doc_key): (Vec<String>, String) = match key.strip_prefix("merge:") {
                    Some(rest) => {
                        let mut stmt =
                            tx.prepare_cached("SELECT child_id FROM children WHERE root_id = ?1")?;
                        let rows =
                            stmt.query_map(params![conflict.child_id.as_str()], |r| r.get(0))?;
                        (rows.collect::<Result<_, _>>()?, format!("visits.{rest}"))
                    }
                    None => (vec![conflict.doc_id.to_string()], key.clone()),
                };
                let mut changed: Vec<(String, Automerge)> = Vec::new();
                for id in targets {
                    let Some(mut doc) = self.store.load_doc(tx, &id)? else {
                        continue;
                    };
                    if key.starts_with("merge:") && !crdt::has_key(&doc, &doc_key)? {
                        continue;
                    }
                    doc.set_actor(actor.clone());
                    let before = doc.get_heads();
                    crdt::resolve(&mut doc, &doc_key, &chosen, now)?;
                    self.store.save_doc(tx, &id, &doc, Some(&before))?;
                    changed.push((id, doc));
                }
                let refs: Vec<(&str, &Automerge)> =
                    changed.iter().map(|(i, d)| (i.as_str(), d)).collect();
                projection::apply_changed(&self.store, tx, &refs, kbm)?;
                self.store.audit(
                    tx,
                    &settings.device_name,
                    self.kader.as_deref(),
                    "resolve_conflict",
                    Some(&conflict.child_id),
                    Some(&conflict.conflict_id),
                )
            })
            .map_err(store_err)
    }

    /// Merge `duplicate` into `keep`: a replicated operation; every phone ends with one child holding the
    /// visits and identifiers of both, and later edits to the duplicate still arrive at `keep`.
    pub fn merge_children(&self, keep: &ChildId, duplicate: &ChildId) -> Result<ChildId> {
        let settings = self.settings()?;
        let keep_root = self.resolve_id(keep)?;
        let dup_root = self.resolve_id(duplicate)?;
        if keep_root == dup_root {
            return Err(Error::invalid(
                "duplicate_id",
                "Kedua ID sudah menunjuk anak yang sama.",
                "both ids already refer to the same child",
            ));
        }
        let kbm = self.kbm(&settings);
        let now = self.now_ms();
        self.store
            .write(|tx| {
                let actor = self.actor_in(tx)?;
                let load = |id: &ChildId| -> Result<Automerge, StoreError> {
                    let mut d = self
                        .store
                        .load_doc(tx, id.as_str())?
                        .ok_or_else(|| StoreError::Other("document missing".into()))?;
                    d.set_actor(actor.clone());
                    Ok(d)
                };
                let mut dup_doc = load(&dup_root)?;
                let mut keep_doc = load(&keep_root)?;
                let (dup_before, keep_before) = (dup_doc.get_heads(), keep_doc.get_heads());
                crdt::mark_merged_into(&mut dup_doc, &keep_root, now)?;
                crdt::mark_merged_from(&mut keep_doc, &dup_root, now)?;
                self.store
                    .save_doc(tx, dup_root.as_str(), &dup_doc, Some(&dup_before))?;
                self.store
                    .save_doc(tx, keep_root.as_str(), &keep_doc, Some(&keep_before))?;
                projection::apply_changed(
                    &self.store,
                    tx,
                    &[
                        (dup_root.as_str(), &dup_doc),
                        (keep_root.as_str(), &keep_doc),
                    ],
                    kbm,
                )?;
                self.store.audit(
                    tx,
                    &settings.device_name,
                    self.kader.as_deref(),
                    "merge_children",
                    Some(&keep_root),
                    Some(dup_root.as_str()),
                )
            })
            .map_err(store_err)?;
        Ok(keep_root)
    }
}

/// Bad input in a visit entry: a date outside the child's life so far, or a value outside the hard limits
/// no child under five is outside. Refused whatever the kader confirms.
fn refuse_bad_entry(
    entry: &VisitEntry,
    date: NaiveDate,
    birth_date: NaiveDate,
    today: NaiveDate,
) -> Result<()> {
    domain::validate_visit_date(date, birth_date, today)?;
    growth::check_hard_limits(&entry.input(date))
        .map_err(|e| Error::invalid(e.field.code(), e.message_id(), e.to_string()))
}

fn parse_bool(field: &str, text: &str) -> Result<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "ya" | "y" | "yes" | "1" => Ok(true),
        "false" | "tidak" | "n" | "no" | "0" => Ok(false),
        _ => Err(Error::invalid(
            field,
            format!("Nilai '{text}' harus ya atau tidak."),
            format!("{field} must be true or false"),
        )),
    }
}

/// Parse the value a person typed to settle a conflict on `field`: the document value and how it is shown.
fn parse_choice(field: &str, text: &str) -> Result<(Chosen, serde_json::Value)> {
    Ok(match field {
        "weight_kg" => {
            let g = domain::parse_weight_kg(text)?;
            (
                Chosen::Int(i64::from(g)),
                serde_json::json!(f64::from(g) / 1000.0),
            )
        }
        "height_cm" | "head_circ_cm" | "muac_cm" => {
            let mm = domain::parse_height_cm(text).map_err(|_| {
                Error::invalid(
                    "value",
                    format!("Nilai '{text}' bukan ukuran cm yang sah."),
                    format!("'{text}' is not a valid cm value"),
                )
            })?;
            (
                Chosen::Int(i64::from(mm)),
                serde_json::json!(f64::from(mm) / 10.0),
            )
        }
        "position" => {
            let s = domain::parse_position(text)?.code();
            (Chosen::Str(s.into()), serde_json::json!(s))
        }
        "oedema" => {
            let b = parse_bool("oedema", text)?;
            (Chosen::Bool(b), serde_json::json!(b))
        }
        "sex" => {
            let s = domain::parse_sex(text)?.code();
            (Chosen::Str(s.into()), serde_json::json!(s))
        }
        "birth_date" => {
            let d = domain::parse_date("value", "Tanggal lahir", text)?.to_string();
            (Chosen::Str(d.clone()), serde_json::json!(d))
        }
        _ => {
            let t = text.trim().to_owned();
            (Chosen::Str(t.clone()), serde_json::json!(t))
        }
    })
}

impl Timbang {
    /// Rebuild every projection from the documents (after a projection change or a new KBM table, or to
    /// check that the projections agree with the documents). One transaction: on any failure the old
    /// projections stay as they were. Documents are loaded in batches of 200 so memory stays bounded. The
    /// upload outbox keeps its state for visits whose measurements did not change.
    pub fn rebuild_projections(&self) -> Result<usize> {
        let settings = self.settings()?;
        let kbm = self.kbm(&settings);
        self.store
            .write(|tx| self.rebuild_in(tx, kbm, &settings.device_name))
            .map_err(store_err)
    }

    fn rebuild_in(
        &self,
        tx: &rusqlite::Transaction<'_>,
        kbm: &KbmTable,
        device: &str,
    ) -> Result<usize, StoreError> {
        let ids: Vec<String> = Store::all_heads(tx)?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        // The outbox as it was: a visit whose measurements come out the same keeps its upload state,
        // even when a merged group's documents fall into different batches below.
        tx.execute_batch(
            "DROP TABLE IF EXISTS temp.outbox_before;
             CREATE TEMP TABLE outbox_before AS SELECT * FROM outbox;
             DELETE FROM visits; DELETE FROM child_status; DELETE FROM conflicts; DELETE FROM children;",
        )?;
        for batch in ids.chunks(200) {
            let mut docs = Vec::with_capacity(batch.len());
            for id in batch {
                if let Some(d) = self.store.load_doc(tx, id)? {
                    docs.push((id.as_str(), d));
                }
            }
            let refs: Vec<(&str, &Automerge)> = docs.iter().map(|(i, d)| (*i, d)).collect();
            projection::apply_changed(&self.store, tx, &refs, kbm)?;
        }
        tx.execute_batch(
            "UPDATE outbox SET state = b.state, attempts = b.attempts, last_error = b.last_error,
                 server_ids = b.server_ids, changed_at = b.changed_at
             FROM temp.outbox_before AS b
             WHERE b.child_id = outbox.child_id AND b.visit_date = outbox.visit_date AND b.content = outbox.content;
             DROP TABLE temp.outbox_before;",
        )?;
        self.store.audit(
            tx,
            device,
            self.kader.as_deref(),
            "rebuild_projections",
            None,
            Some(&ids.len().to_string()),
        )?;
        Ok(ids.len())
    }
}

impl Timbang {
    /// Register many children with their past visits in one transaction per call (bulk import of an
    /// existing register). Every child and visit is validated first (identity rules, visit dates, hard
    /// limits); any bad value refuses the whole batch with the field named, nothing written. Values
    /// that would need confirmation at the posyandu are stored with the concern recorded as confirmed
    /// by the import. No duplicate check: the caller decides what is the same child.
    pub fn import_batch(&self, items: &[(NewChild, Vec<VisitEntry>)]) -> Result<Vec<ChildId>> {
        let settings = self.settings()?;
        let today = self.today();
        let actor = self.actor()?;
        let kbm = self.kbm(&settings);
        let mut docs: Vec<(ChildId, Automerge)> = Vec::with_capacity(items.len());
        for (c, visits) in items {
            let (c, confirmations) = domain::validate_new_child(c, today)?;
            let codes: Vec<String> = confirmations.into_iter().map(|c| c.code).collect();
            let id = ChildId::make();
            let now = self.now_ms();
            let mut doc =
                crdt::new_child_doc(&id, &c, &codes, &settings.device_name, actor.clone(), now)
                    .map_err(crdt_err)?;
            let info = ChildInfo {
                sex: c.sex,
                birth_date: c.birth_date,
            };
            let mut history: Vec<VisitInput> = Vec::new();
            let mut visits = visits.clone();
            visits.sort_by_key(|v| v.date);
            for v in &visits {
                let date = v.date.ok_or_else(|| {
                    Error::invalid(
                        "date",
                        "Tanggal kunjungan wajib diisi.",
                        "visit date is required",
                    )
                })?;
                refuse_bad_entry(v, date, c.birth_date, today)?;
                let input = v.input(date);
                let concerns: Vec<String> = growth::plausibility(&info, &history, &input)
                    .into_iter()
                    .map(|c| c.code.to_owned())
                    .collect();
                crdt::write_visit(&mut doc, date, v, &concerns, &settings.device_name, now)
                    .map_err(crdt_err)?;
                history.push(input);
            }
            docs.push((id, doc));
        }
        self.store
            .write(|tx| {
                for (id, doc) in &docs {
                    self.store.save_doc(tx, id.as_str(), doc, None)?;
                }
                let refs: Vec<(&str, &Automerge)> =
                    docs.iter().map(|(i, d)| (i.as_str(), d)).collect();
                projection::apply_changed(&self.store, tx, &refs, kbm)?;
                self.store.audit(
                    tx,
                    &settings.device_name,
                    self.kader.as_deref(),
                    "import_batch",
                    None,
                    Some(&docs.len().to_string()),
                )
            })
            .map_err(store_err)?;
        Ok(docs.into_iter().map(|(id, _)| id).collect())
    }
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

impl Timbang {
    fn team(&self) -> Result<crate::peer::TeamSecret> {
        let (id, secret) = self
            .store
            .read(|c| {
                Ok((
                    Store::meta_get(c, "team_id")?,
                    self.store.meta_get_secret(c, "team_secret")?,
                ))
            })
            .map_err(store_err)?;
        match (id, secret) {
            (Some(id), Some(secret)) => Ok(crate::peer::TeamSecret {
                team_id: id
                    .as_slice()
                    .try_into()
                    .map_err(|_| Error::storage("bad team id"))?,
                secret: Key::from_bytes(&secret).map_err(Error::storage)?,
            }),
            _ => Err(Error::invalid(
                "team",
                "Perangkat ini belum punya tim: jalankan `timbang team invite` di HP pertama.",
                "this device has no team yet: run `team invite` on the first phone",
            )),
        }
    }

    /// Ok when this device belongs to a team (so it can sync), the team error otherwise.
    pub fn check_team(&self) -> Result<()> {
        self.team().map(|_| ())
    }

    /// The pairing code that lets another phone join this posyandu's team (made on first use).
    pub fn team_invite(&self) -> Result<String> {
        let settings = self.settings()?;
        let invite = |team: &crate::peer::TeamSecret| {
            crate::peer::make_invite_code(team, &settings.kbm_table).map_err(Error::storage)
        };
        if let Ok(team) = self.team() {
            return invite(&team);
        }
        let team = crate::peer::TeamSecret::make().map_err(Error::storage)?;
        self.store
            .write(|tx| {
                Store::meta_set(tx, "team_id", &team.team_id)?;
                self.store
                    .meta_set_secret(tx, "team_secret", team.secret.as_bytes())?;
                self.store.audit(
                    tx,
                    &settings.device_name,
                    self.kader.as_deref(),
                    "team_invite",
                    None,
                    None,
                )
            })
            .map_err(store_err)?;
        invite(&team)
    }

    /// Set up a fresh database as another phone of the team whose pairing code is `code`.
    pub fn team_join(&self, code: &str, device_name: &str) -> Result<DeviceSettings> {
        Self::validate_join(code, device_name)?;
        let invite = Self::parse_invite(code)?;
        let team = invite.team;
        let kbm_table = invite.kbm_table.unwrap_or(KbmTable::default_table().id());
        let device_name = domain::clean_name("device", "Nama perangkat", device_name)?;
        if self.settings().is_ok() {
            return Err(Error::AlreadyInitialized);
        }
        self.store
            .write(|tx| {
                let device_id = uuid::Uuid::now_v7().to_string();
                let actor = crypto::make_random_bytes::<16>()?;
                Store::meta_set(tx, "device_id", device_id.as_bytes())?;
                Store::meta_set(tx, "device_name", device_name.as_bytes())?;
                Store::meta_set(tx, "actor", &actor)?;
                Store::meta_set(tx, "kbm_table", kbm_table.as_bytes())?;
                Store::meta_set(tx, "team_id", &team.team_id)?;
                self.store
                    .meta_set_secret(tx, "team_secret", team.secret.as_bytes())?;
                self.store.audit(
                    tx,
                    &device_name,
                    self.kader.as_deref(),
                    "team_join",
                    None,
                    None,
                )
            })
            .map_err(store_err)?;
        self.forget_settings();
        self.settings()
    }

    fn peer_result(
        &self,
        r: std::result::Result<(String, crate::peer::SyncStats), crate::peer::PeerError>,
    ) -> Result<PeerReport> {
        use crate::peer::PeerError;
        let settings = self.settings()?;
        match r {
            Ok((peer, stats)) => {
                self.store
                    .write(|tx| {
                        tx.prepare_cached(
                            "INSERT INTO peers(peer_id, last_sync_at, sessions) VALUES (?1, ?2, 1)
                             ON CONFLICT(peer_id) DO UPDATE SET last_sync_at = excluded.last_sync_at, sessions = sessions + 1",
                        )?
                        .execute(params![peer, self.clock.now().to_rfc3339()])?;
                        self.store.audit(tx, &settings.device_name, self.kader.as_deref(), "peer_sync", None, Some(&peer))
                    })
                    .map_err(store_err)?;
                Ok(PeerReport {
                    peer_device: peer,
                    sent_bytes: stats.sent_bytes,
                    received_bytes: stats.received_bytes,
                    docs_sent: stats.docs_sent as u64,
                    docs_received: stats.docs_received as u64,
                    completed: stats.completed,
                })
            }
            Err(e) => {
                let retryable = matches!(e, PeerError::Io(_) | PeerError::Closed);
                let message = match e {
                    PeerError::NotPaired => {
                        "the other device is not paired with this team".to_owned()
                    }
                    PeerError::Tampered => {
                        "a frame failed authentication; the session was stopped".to_owned()
                    }
                    other => other.to_string(),
                };
                Err(Error::Sync { message, retryable })
            }
        }
    }

    /// One sync session as the dialling phone, over TCP.
    pub fn peer_sync_tcp(&self, addr: &str) -> Result<PeerReport> {
        let settings = self.settings()?;
        let team = self.team()?;
        let mut s = crate::store::sync::StoreSync::new(
            &self.store,
            self.kbm(&settings),
            &settings.device_name,
        );
        let r = crate::peer::tcp::sync_with(addr, &team, &settings.device_id, &mut s);
        self.peer_result(r)
    }

    /// Accept one sync session on `listener`.
    pub fn peer_serve_one(&self, listener: &std::net::TcpListener) -> Result<PeerReport> {
        let settings = self.settings()?;
        let team = self.team()?;
        let mut s = crate::store::sync::StoreSync::new(
            &self.store,
            self.kbm(&settings),
            &settings.device_name,
        );
        let r = crate::peer::tcp::serve_one(listener, &team, &settings.device_id, &mut s);
        self.peer_result(r)
    }

    /// One sync session over any byte pipe (Bluetooth, Wi-Fi Direct, a cable): `dial` is true on the
    /// phone that started it.
    pub fn peer_sync_over<S: std::io::Read + std::io::Write>(
        &self,
        stream: S,
        dial: bool,
    ) -> Result<PeerReport> {
        use crate::peer::{Role, SecureChannel, SessionConfig, run_session};
        let settings = self.settings()?;
        let team = self.team()?;
        let mut s = crate::store::sync::StoreSync::new(
            &self.store,
            self.kbm(&settings),
            &settings.device_name,
        );
        let r = (|| {
            let (mut ch, peer) = if dial {
                SecureChannel::connect(stream, &team, &settings.device_id)?
            } else {
                SecureChannel::accept(stream, &team, &settings.device_id)?
            };
            let role = if dial { Role::Client } else { Role::Server };
            let stats = run_session(&mut ch, &mut s, &peer, role, &SessionConfig::default())?;
            Ok((peer, stats))
        })();
        self.peer_result(r)
    }
}
