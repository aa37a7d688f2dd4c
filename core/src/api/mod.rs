//! [`Timbang`]: the one entry point for the CLI and the bindings, one room per capability.
//!
//! * [`setup`]: open, `init`, settings, the KBM table, rebuilding projections.
//! * [`children`]: registration with the duplicate check, a child's detail, the village list, merging
//!   duplicates, batch import.
//! * [`visits`]: recording and deleting visits.
//! * [`conflicts`]: open conflicts and their resolution.
//! * [`maintenance`]: backup, and the check (and repair) of everything the store promises.
//! * [`import`]: importing an existing register (CSV), row by row through the entry checks.
//! * [`asik`]: upload to ASIK/SATUSEHAT (status, the next Bundle, `asik_sync`).
//! * [`team`]: pairing codes and phone-to-phone sessions over a host [`crate::host::ByteStream`].
//! * [`reports`]: SKDN per posyandu and month, the KMS card flag, the posyandu names a joined phone
//!   learns.
//! * [`dashboard`]: the bidan's dashboard (one self-contained HTML page) from SKDN, warnings and the
//!   village list.
//! * [`relay`]: sync through an S3-compatible object store, sent through a host [`crate::host::HttpClient`].
//!
//! Every change to child documents goes through [`Timbang::commit`]: load the documents, set this
//! device's actor, change them, save what changed, update the projections and append the audit row, in
//! one transaction. Input is validated before anything is written; a value that needs the kader's
//! confirmation returns [`Error::NeedsConfirmation`] and writes nothing. After each commit the host's
//! [`crate::host::ChangeListener`] is told ([`Timbang::set_change_listener`]). Every method takes
//! `&self`.

mod asik;
mod children;
mod conflicts;
mod dashboard;
mod import;
mod maintenance;
mod peer_adapter;
mod relay;
mod reports;
mod setup;
mod team;
mod types;
mod visits;

pub use asik::{AsikStatus, AsikVisitState};
pub use dashboard::MAX_MONTHS as DASHBOARD_MAX_MONTHS;
pub use import::{BadRow, ImportReport, REGISTER_COLUMNS};
pub use maintenance::{ChainReport, CheckReport};
pub use relay::{COMPACT_AT, RelayReport};
pub use team::TeamInfo;
pub use types::{
    ChildDetail, ConflictView, DeviceSettings, DuplicateCandidate, ListFilter, PeerReport,
    PeerRole, Registered, VillageRow, VisitResult, VisitView,
};

use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use automerge::{ActorId, Automerge};
use chrono::NaiveDate;
use rusqlite::Transaction;

use crate::crdt::{self, CrdtError};
use crate::crypto::Key;
use crate::domain::ChildId;
use crate::error::{Error, Result};
use crate::growth::KbmTable;
use crate::host::{ChangeListener, Clock};
use crate::interrupt::InterruptHandle;
use crate::store::{Store, StoreError, projection, settings};

/// The core facade.
#[derive(Debug)]
pub struct Timbang {
    pub(crate) store: Store,
    clock: Arc<dyn Clock>,
    kader: RwLock<Option<String>>,
    /// This device's settings, read once (they change only through `init`, `team_join`,
    /// `set_kbm_table`).
    device: Mutex<Option<Device>>,
    interrupt: InterruptHandle,
    /// Told after every commit ([`Timbang::set_change_listener`]).
    listener: RwLock<Option<Arc<dyn ChangeListener>>>,
}

/// This device as every write needs it.
#[derive(Debug, Clone)]
struct Device {
    settings: DeviceSettings,
    actor: ActorId,
    kbm: &'static KbmTable,
}

impl Timbang {
    /// Open (or create) the database at `path` with the host's 32-byte key.
    pub fn open(path: &Path, key: &Key, clock: Arc<dyn Clock>) -> Result<Self> {
        let store = Store::open(path, key)?;
        let interrupt = InterruptHandle::new(store.sqlite_interrupt_handle()?);
        let t = Self {
            store,
            clock,
            kader: RwLock::new(None),
            device: Mutex::new(None),
            interrupt,
            listener: RwLock::new(None),
        };
        t.rebuild_if_stale()?;
        Ok(t)
    }

    /// After a migration added columns to `children` (4, 6: [`settings::MetaKey::ProjectionsStale`]),
    /// fill them from the documents once (documents received from a phone with newer code may carry
    /// them already), in one transaction with removing the mark. Nothing else is rewritten.
    fn rebuild_if_stale(&self) -> Result<()> {
        use settings::MetaKey;
        if self
            .store
            .read(|c| settings::get(c, MetaKey::ProjectionsStale))?
            .is_none()
        {
            return Ok(());
        }
        self.store.write(|tx| {
            for (id, _) in Store::all_heads(tx)? {
                if let Ok(Some(doc)) = self.store.load_doc(tx, &id) {
                    // A document that does not open is named by `check`, not here.
                    let _ = projection::refresh_added_columns(&self.store, tx, &doc);
                }
            }
            settings::remove(tx, MetaKey::ProjectionsStale)?;
            Ok::<_, Error>(())
        })
    }

    /// Name the kader whose entries follow (recorded, sealed, in the audit log).
    pub fn set_kader(&self, kader: Option<String>) {
        if let Ok(mut k) = self.kader.write() {
            *k = kader;
        }
    }

    /// Tell `listener` after every commit of child documents from now on (`None`: stop telling).
    pub fn set_change_listener(&self, listener: Option<Arc<dyn ChangeListener>>) {
        if let Ok(mut l) = self.listener.write() {
            *l = listener;
        }
    }

    /// Today, by the host's clock.
    pub fn today(&self) -> NaiveDate {
        self.clock.today()
    }

    /// The handle that stops long work (rebuild, import, peer sessions) from another thread.
    pub fn interrupt_handle(&self) -> InterruptHandle {
        self.interrupt.clone()
    }

    fn kader(&self) -> Option<String> {
        self.kader.read().ok().and_then(|k| k.clone())
    }

    fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    /// This device, from the cache or the store; [`Error::NotInitialized`] before `init`.
    fn device(&self) -> Result<Device> {
        if let Ok(cached) = self.device.lock()
            && let Some(d) = cached.as_ref()
        {
            return Ok(d.clone());
        }
        let row = self
            .store
            .read(settings::device)?
            .ok_or(Error::NotInitialized)?;
        let kbm_table = row
            .kbm_table
            .unwrap_or_else(|| KbmTable::default_table().id().to_owned());
        let d = Device {
            kbm: KbmTable::by_id(&kbm_table).unwrap_or_else(KbmTable::default_table),
            actor: crdt::actor_for(&row.actor),
            settings: DeviceSettings {
                device_id: row.device_id,
                device_name: row.device_name,
                posyandu: row.posyandu.unwrap_or_default(),
                village: row.village.unwrap_or_default(),
                kbm_table,
            },
        };
        if let Ok(mut cached) = self.device.lock() {
            *cached = Some(d.clone());
        }
        Ok(d)
    }

    fn forget_device(&self) {
        if let Ok(mut cached) = self.device.lock() {
            *cached = None;
        }
    }

    /// The one write sequence for child documents: `change` loads, creates or merges documents through
    /// the [`Edit`]; then the documents it changed are projected and one audit row (`action`, with the
    /// child and detail the edit names) is appended, all in one transaction. A check made inside
    /// `change` (through `Edit::tx`) cannot race another writer; an error from it writes nothing.
    fn commit<T>(
        &self,
        action: &str,
        change: impl FnOnce(&mut Edit<'_, '_>) -> Result<T>,
    ) -> Result<T> {
        self.commit_with(action, false, change)
    }

    /// [`Timbang::commit`] for documents that can be fetched again (received from another phone): not
    /// synced to storage on its own commit ([`Store::write_bulk`]).
    fn commit_bulk<T>(
        &self,
        action: &str,
        change: impl FnOnce(&mut Edit<'_, '_>) -> Result<T>,
    ) -> Result<T> {
        self.commit_with(action, true, change)
    }

    fn commit_with<T>(
        &self,
        action: &str,
        bulk: bool,
        change: impl FnOnce(&mut Edit<'_, '_>) -> Result<T>,
    ) -> Result<T> {
        let device = self.device()?;
        let kader = self.kader();
        let now_ms = self.now_ms();
        let run = |tx: &Transaction<'_>| -> Result<T> {
            let mut edit = Edit {
                tx,
                store: &self.store,
                actor: &device.actor,
                now_ms,
                device: &device.settings.device_name,
                changed: Vec::new(),
                child: None,
                detail: None,
                team: crate::store::teams::FIRST,
                kbm: device.kbm,
            };
            let out = change(&mut edit)?;
            edit.project()?;
            self.store.audit(
                tx,
                &device.settings.device_name,
                kader.as_deref(),
                action,
                edit.child.as_ref(),
                edit.detail.as_deref(),
            )?;
            Ok(out)
        };
        let out = if bulk {
            self.store.write_bulk(run)
        } else {
            self.store.write(run)
        }?;
        // Cloned out of the lock first, so the listener may call back into the core.
        let listener = self.listener.read().ok().and_then(|l| l.clone());
        if let Some(listener) = listener {
            listener.changed();
        }
        Ok(out)
    }
}

/// Changes to child documents inside [`Timbang::commit`].
struct Edit<'a, 'c> {
    tx: &'a Transaction<'c>,
    store: &'a Store,
    actor: &'a ActorId,
    now_ms: i64,
    /// This device's name (recorded in the documents).
    device: &'a str,
    /// Documents saved and not yet projected, with what `read_child` made of each if known.
    changed: Vec<(String, Automerge, Option<crdt::ChildDoc>)>,
    /// The child the audit row names.
    child: Option<ChildId>,
    /// The audit row's detail (ids, dates, counts; never personal data).
    detail: Option<String>,
    /// The team new documents belong to, and the only team received documents may be merged into.
    team: crate::store::teams::TeamNo,
    /// The device's KBM table, for the projections.
    kbm: &'static KbmTable,
}

impl Edit<'_, '_> {
    /// Update the projections for the documents changed so far (the commit does it for the rest).
    /// A long edit that stops early (a sync yielding to a waiting writer) calls it after each
    /// document, so what it commits is always projected.
    fn project(&mut self) -> Result<(), StoreError> {
        if self.changed.is_empty() {
            return Ok(());
        }
        let changed = self
            .changed
            .iter_mut()
            .map(|(id, doc, read)| projection::Changed {
                id,
                doc,
                read: read.take(),
            })
            .collect();
        projection::apply_changed(self.store, self.tx, changed, self.kbm)?;
        self.changed.clear();
        Ok(())
    }

    /// Change the stored document `id` as this device. `change` returns false when it had nothing to
    /// change (the document is then left alone). Returns whether it changed.
    fn change(
        &mut self,
        id: &str,
        change: impl FnOnce(&mut Automerge) -> Result<bool, CrdtError>,
    ) -> Result<bool, StoreError> {
        let mut doc = self
            .store
            .load_doc(self.tx, id)?
            .ok_or_else(|| StoreError::Other("a child document is missing".into()))?;
        doc.set_actor(self.actor.clone());
        let before = doc.get_heads();
        if !change(&mut doc)? {
            return Ok(false);
        }
        self.store.save_doc(self.tx, id, &doc, Some(&before))?;
        self.changed.push((id.to_owned(), doc, None));
        Ok(true)
    }

    /// Store a new document.
    fn create(&mut self, id: &ChildId, doc: Automerge) -> Result<(), StoreError> {
        self.store.save_doc(self.tx, id.as_str(), &doc, None)?;
        crate::store::teams::set_doc_team(self.tx, id.as_str(), self.team)?;
        self.changed.push((id.as_str().to_owned(), doc, None));
        Ok(())
    }

    /// Merge a document received from another device into what is stored now (a local edit may have
    /// landed since the session loaded it), appending only what is new. `incoming` is taken.
    /// `saved` is its full save, checked to open again; `read` what `read_child` made of it.
    fn merge_in(
        &mut self,
        id: &str,
        incoming: &mut Automerge,
        saved: &[u8],
        read: crdt::ChildDoc,
    ) -> Result<(), StoreError> {
        let team = crate::store::teams::of_doc(self.tx, id)?;
        if team.is_some_and(|t| t != self.team) {
            // Documents travel only within their team; this one arrived through another.
            return Err(StoreError::Other(
                "a received document belongs to another team of this device".into(),
            ));
        }
        let (doc, read) = match self.store.load_doc(self.tx, id)? {
            Some(mut current) => {
                let before = current.get_heads();
                // What another phone sent: a panic inside automerge is an error that rolls the
                // transaction back (`crdt::catch_panic`).
                crate::crdt::merge(&mut current, incoming)?;
                // Nothing of ours was new to it: the merge is what arrived, and so is its save.
                let same = current.get_heads() == incoming.get_heads();
                let full = same.then_some(saved);
                self.store
                    .save_doc_known(self.tx, id, &current, Some(&before), full)?;
                (current, same.then_some(read))
            }
            None => {
                self.store
                    .save_doc_known(self.tx, id, incoming, None, Some(saved))?;
                crate::store::teams::set_doc_team(self.tx, id, self.team)?;
                (std::mem::take(incoming), Some(read))
            }
        };
        self.changed.push((id.to_owned(), doc, read));
        Ok(())
    }
}
