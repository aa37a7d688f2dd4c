//! Setting a database up as a posyandu phone, its settings, the KBM table, rebuilding projections.

use rusqlite::Transaction;

use super::{DeviceSettings, Timbang};
use crate::crypto;
use crate::domain;
use crate::error::{Error, Result};
use crate::growth::{self, KbmTable};
use crate::store::settings::{self, DeviceRow, MetaKey};
use crate::store::{Store, StoreError, outbox, projection};

/// Documents loaded at a time while rebuilding (memory stays bounded).
const REBUILD_BATCH: usize = 200;

pub(super) fn check_kbm_id(id: &str) -> Result<&'static KbmTable> {
    KbmTable::by_id(id).ok_or_else(|| {
        Error::invalid(
            "kbm_table",
            format!(
                "Tabel KBM '{id}' tidak dikenal; pilihan: {}.",
                KbmTable::ids().join(", ")
            ),
            format!("unknown KBM table '{id}'"),
        )
    })
}

/// A new device row with a fresh id and automerge actor.
pub(super) fn new_device(
    device_name: String,
    posyandu: Option<String>,
    village: Option<String>,
    kbm_table: &str,
) -> Result<DeviceRow> {
    Ok(DeviceRow {
        device_id: uuid::Uuid::now_v7().to_string(),
        device_name,
        posyandu,
        village,
        kbm_table: Some(kbm_table.to_owned()),
        actor: crypto::make_random_bytes::<16>()?.to_vec(),
    })
}

impl Timbang {
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
            check_kbm_id(id)?;
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
        let kbm_table = kbm_table.unwrap_or(KbmTable::default_table().id());
        let device = new_device(
            domain::clean_name("device", "Nama perangkat", device_name)?,
            Some(domain::clean_name("posyandu", "Nama posyandu", posyandu)?),
            Some(domain::clean_name("village", "Nama desa", village)?),
            kbm_table,
        )?;
        self.set_up(&device, |_| Ok(()), "init")?;
        self.settings()
    }

    /// Write a new device's settings (with `extra` in the same transaction), refusing a database that is
    /// set up already.
    pub(super) fn set_up(
        &self,
        device: &DeviceRow,
        extra: impl FnOnce(&Transaction<'_>) -> Result<(), StoreError>,
        action: &str,
    ) -> Result<()> {
        let kader = self.kader();
        self.store.write(|tx| {
            if settings::get(tx, MetaKey::DeviceId)?.is_some() {
                return Err(Error::AlreadyInitialized);
            }
            settings::set_device(tx, device)?;
            extra(tx)?;
            self.store.audit(
                tx,
                &device.device_name,
                kader.as_deref(),
                action,
                None,
                None,
            )?;
            Ok(())
        })?;
        self.forget_device();
        Ok(())
    }

    /// This device's settings; [`Error::NotInitialized`] before `init`.
    pub fn settings(&self) -> Result<DeviceSettings> {
        Ok(self.device()?.settings)
    }

    /// Choose the KBM table of this deployment (ids from [`KbmTable::ids`]) and reassess every visit
    /// with it. Only before other phones join: every phone of a team must use the same table, and the
    /// invite carries it.
    pub fn set_kbm_table(&self, id: &str) -> Result<()> {
        let kbm = check_kbm_id(id)?;
        let device = self.device()?.settings.device_name;
        if self.team().is_ok() {
            return Err(Error::invalid(
                "kbm_table",
                "Tabel KBM harus dipilih sebelum HP lain diundang ke tim.",
                "the KBM table must be chosen before other phones are invited",
            ));
        }
        let scope = self.interrupt.begin();
        // The setting and the reassessment of every visit commit together.
        self.store.write(|tx| {
            settings::set(tx, MetaKey::KbmTable, id.as_bytes())?;
            self.store.audit(
                tx,
                &device,
                self.kader().as_deref(),
                "set_kbm_table",
                None,
                Some(id),
            )?;
            self.rebuild_in(tx, kbm, &device, &scope, &[], "set_kbm_table")
        })?;
        self.forget_device();
        Ok(())
    }

    /// Whether stored assessments were computed with another growth standard or rules version than
    /// this build's ([`growth::STANDARD_VERSION`], [`growth::rules_version`]): then
    /// [`Timbang::recompute_assessments`] should run. False before `init`.
    pub fn assessments_outdated(&self) -> Result<bool> {
        let device = match self.device() {
            Ok(d) => d,
            Err(Error::NotInitialized) => return Ok(false),
            Err(e) => return Err(e),
        };
        let rules = growth::rules_version(device.kbm);
        Ok(self
            .store
            .read(|c| projection::any_other_version(c, growth::STANDARD_VERSION, &rules))?)
    }

    /// Recompute every stored assessment with this build's rules when they were computed with other
    /// ones (a database opened by a newer build): the projections are rebuilt from the documents in
    /// one transaction, the documents are only read. Interruptible through
    /// [`Timbang::interrupt_handle`] (checked after every batch of documents; an interrupted
    /// recomputation rolls back whole and runs again next time). Upload bookkeeping keeps its state for
    /// visits whose measurements did not change. Returns the number of documents, or 0 when nothing was
    /// outdated.
    pub fn recompute_assessments(&self) -> Result<usize> {
        if !self.assessments_outdated()? {
            return Ok(0);
        }
        let device = self.device()?;
        let scope = self.interrupt.begin();
        Ok(self.store.write(|tx| {
            self.rebuild_in(
                tx,
                device.kbm,
                &device.settings.device_name,
                &scope,
                &[],
                "recompute_assessments",
            )
        })?)
    }

    /// Rebuild every projection from the documents (after a projection change or a new KBM table, or to
    /// check that the projections agree with the documents). One transaction: on any failure, or an
    /// interrupt (checked after every batch of documents), the old projections stay as they were.
    /// Documents are loaded in batches so memory stays bounded. The upload outbox keeps its state for
    /// visits whose measurements did not change.
    pub fn rebuild_projections(&self) -> Result<usize> {
        let device = self.device()?;
        let scope = self.interrupt.begin();
        Ok(self.store.write(|tx| {
            self.rebuild_in(
                tx,
                device.kbm,
                &device.settings.device_name,
                &scope,
                &[],
                "rebuild_projections",
            )
        })?)
    }

    /// Rebuild every projection inside `tx` from the documents, leaving out the documents in `skip`
    /// (those that do not open, when `check --repair` saves what it can).
    pub(super) fn rebuild_in(
        &self,
        tx: &Transaction<'_>,
        kbm: &KbmTable,
        device: &str,
        scope: &crate::interrupt::InterruptScope,
        skip: &[String],
        action: &str,
    ) -> Result<usize, StoreError> {
        let ids: Vec<String> = Store::all_heads(tx)?
            .into_iter()
            .map(|(id, _)| id)
            .filter(|id| !skip.contains(id))
            .collect();
        outbox::keep_before_rebuild(tx)?;
        projection::clear_all(tx)?;
        for batch in ids.chunks(REBUILD_BATCH) {
            scope.check_store()?;
            let mut docs = Vec::with_capacity(batch.len());
            for id in batch {
                if let Some(d) = self.store.load_doc(tx, id)? {
                    docs.push((id.as_str(), d));
                }
            }
            let changed = docs
                .iter()
                .map(|(i, d)| projection::Changed::new(i, d))
                .collect();
            projection::apply_changed(&self.store, tx, changed, kbm)?;
        }
        outbox::restore_after_rebuild(tx)?;
        // Version pairs no assessment uses any more (a new KBM table, new rules) are forgotten, so
        // `assessments_outdated` stays a look at a tiny table.
        projection::drop_unused_versions(tx)?;
        self.store.audit(
            tx,
            device,
            self.kader().as_deref(),
            action,
            None,
            Some(&ids.len().to_string()),
        )?;
        Ok(ids.len())
    }
}
