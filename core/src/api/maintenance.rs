//! Keeping the database sound: a consistent backup, and a check of everything the store promises
//! (SQLite's integrity, every sealed document opens, the projections equal a rebuild from the documents,
//! the audit chain is whole), with a repair that rebuilds the projections from the documents.

use std::path::Path;

use serde::Serialize;

use super::Timbang;
use crate::error::Result;
use crate::output_file::OutputFile;
pub use crate::store::audit::ChainReport;
use crate::store::{Store, projection};

/// What `check` found (and, with `repair`, did).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// SQLite's `integrity_check` messages; empty when the file is sound.
    pub integrity: Vec<String>,
    /// Documents (child ids) that do not open: damaged or sealed with another key. They cannot be
    /// repaired here; another phone of the team still has them (sync again) or a backup does.
    pub unreadable_documents: Vec<String>,
    /// Whether the projections (children, visits, statuses, conflicts) equal a rebuild from the
    /// documents, sealed values opened, before any repair.
    pub projections_match: bool,
    /// The audit chain.
    pub audit: ChainReport,
    /// True when `repair` rebuilt the projections.
    pub repaired: bool,
    /// Nothing wrong (after the repair, when one was made).
    pub ok: bool,
}

impl Timbang {
    /// Write a consistent, still sealed copy of the whole database to `out` (it opens with the same
    /// key). Written beside `out` and renamed into place; never over the database itself.
    pub fn backup(&self, out: &Path) -> Result<()> {
        let db = self.store.path();
        let side = |suffix: &str| std::path::PathBuf::from(format!("{}{suffix}", db.display()));
        let (wal, shm) = (side("-wal"), side("-shm"));
        let file = OutputFile::create(out, &[db, &wal, &shm])?;
        self.store.backup_to(file.temp_path())?;
        Ok(file.commit()?)
    }

    /// Check the database. With `repair`, rebuild the projections from the documents (the documents
    /// are the truth) leaving out documents that do not open, which the report lists. The check itself
    /// changes nothing. Interruptible (the rebuild checks the handle after every batch).
    pub fn check(&self, repair: bool) -> Result<CheckReport> {
        let device = self.device()?;
        let scope = self.interrupt.begin();
        let (integrity, unreadable_documents, audit) = self.store.read(|c| {
            let integrity = Store::integrity(c)?;
            let unreadable: Vec<String> = Store::all_heads(c)?
                .into_iter()
                .map(|(id, _)| id)
                .filter(|id| !self.store.document_opens(c, id))
                .collect();
            Ok((integrity, unreadable, self.store.verify_audit(c)?))
        })?;
        let rebuild = |tx: &rusqlite::Transaction<'_>| {
            let name = &device.settings.device_name;
            self.rebuild_in(
                tx,
                device.kbm,
                name,
                &scope,
                &unreadable_documents,
                "rebuild_projections",
            )
        };
        let projections_match = self.store.dry_run(|tx| -> Result<bool> {
            // Projections that do not even open differ from any rebuild.
            let before = projection::dump(&self.store, tx).ok();
            rebuild(tx)?;
            Ok(before == Some(projection::dump(&self.store, tx)?))
        })?;
        let repaired = repair && !projections_match;
        if repaired {
            self.store.write(rebuild)?;
        }
        let ok = integrity.is_empty()
            && unreadable_documents.is_empty()
            && (projections_match || repaired)
            && audit.first_bad.is_none();
        Ok(CheckReport {
            integrity,
            unreadable_documents,
            projections_match,
            audit,
            repaired,
            ok,
        })
    }
}
