//! The SQLite store as a [`SyncStore`] for phone-to-phone sync: heads from the `docs` table, incoming
//! documents merged into the stored ones and saved with their projections in one transaction, automerge
//! sync state per peer and document in `peer_docs`.

use automerge::{Automerge, ChangeHash};
use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError, projection};
use crate::growth::KbmTable;
use crate::peer::{PeerError, SyncStore};

/// A [`Store`] seen by the sync session.
#[derive(Debug)]
pub struct StoreSync<'a> {
    store: &'a Store,
    kbm: &'static KbmTable,
    device: String,
    /// Documents stored during this session.
    pub stored_docs: usize,
}

impl<'a> StoreSync<'a> {
    /// Wrap `store`; `kbm` is the deployment's KBM table for the projections, `device` the name for the
    /// audit log.
    pub fn new(store: &'a Store, kbm: &'static KbmTable, device: &str) -> Self {
        Self {
            store,
            kbm,
            device: device.to_owned(),
            stored_docs: 0,
        }
    }
}

fn store_err(e: StoreError) -> PeerError {
    PeerError::Store(e.to_string())
}

impl SyncStore for StoreSync<'_> {
    fn heads(&mut self) -> Result<Vec<(String, Vec<ChangeHash>)>, PeerError> {
        self.store.read(Store::all_heads).map_err(store_err)
    }

    fn load(&mut self, doc_id: &str) -> Result<Option<Automerge>, PeerError> {
        self.store
            .read(|c| self.store.load_doc(c, doc_id))
            .map_err(store_err)
    }

    fn store(&mut self, docs: &mut [(String, Automerge)]) -> Result<(), PeerError> {
        let n = docs.len();
        self.store
            .write(|tx| {
                // Merge into what is stored now (a local edit may have landed since the session loaded
                // the document), then append only what is new.
                let mut merged: Vec<(String, Automerge)> = Vec::with_capacity(docs.len());
                for (id, incoming) in docs.iter_mut() {
                    // Refuse documents that are not child documents, or not the child they claim to
                    // be, before anything is written.
                    let child = crate::crdt::read_child(incoming).map_err(StoreError::from)?;
                    if child.id.as_str() != id {
                        return Err(StoreError::Other(
                            "a received document does not match its id".into(),
                        ));
                    }
                    match self.store.load_doc(tx, id)? {
                        Some(mut current) => {
                            let before = current.get_heads();
                            current.merge(incoming)?;
                            self.store.save_doc(tx, id, &current, Some(&before))?;
                            merged.push((id.clone(), current));
                        }
                        None => {
                            self.store.save_doc(tx, id, incoming, None)?;
                            merged.push((id.clone(), incoming.clone()));
                        }
                    }
                }
                let refs: Vec<(&str, &Automerge)> =
                    merged.iter().map(|(i, d)| (i.as_str(), d)).collect();
                projection::apply_changed(self.store, tx, &refs, self.kbm)?;
                self.store.audit(
                    tx,
                    &self.device,
                    None,
                    "sync_received",
                    None,
                    Some(&n.to_string()),
                )
            })
            .map_err(store_err)?;
        self.stored_docs += n;
        Ok(())
    }

    fn load_peer_state(&mut self, peer: &str, doc_id: &str) -> Result<Option<Vec<u8>>, PeerError> {
        self.store
            .read(|c| {
                Ok(c.prepare_cached(
                    "SELECT state FROM peer_docs WHERE peer_id = ?1 AND child_id = ?2",
                )?
                .query_row(params![peer, doc_id], |r| r.get(0))
                .optional()?)
            })
            .map_err(store_err)
    }

    fn save_peer_states(
        &mut self,
        peer: &str,
        states: &[(String, Vec<u8>)],
    ) -> Result<(), PeerError> {
        self.store
            .write(|tx| {
                for (doc, state) in states {
                    tx.prepare_cached(
                        "INSERT INTO peer_docs(peer_id, child_id, state) VALUES (?1, ?2, ?3)
                         ON CONFLICT(peer_id, child_id) DO UPDATE SET state = excluded.state",
                    )?
                    .execute(params![peer, doc, state])?;
                }
                Ok(())
            })
            .map_err(store_err)
    }
}
