//! An in-memory [`SyncStore`] for tests, benchmarks and the demo. Documents are kept as their compact
//! `save()` bytes with their heads beside them, as the SQLite store keeps them, so `heads()` loads
//! nothing.

use super::{Checkpoint, Heads, Mark, PeerError, Received, SyncStore};
use automerge::{Automerge, ChangeHash};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Clone)]
struct Stored {
    bytes: Vec<u8>,
    heads: Vec<ChangeHash>,
    /// The write's sequence number.
    seq: u64,
}

/// Documents and per-peer sync states in memory. A clone keeps the original's epoch, as a database
/// restored from a copy would.
#[derive(Debug, Clone)]
pub struct MemoryStore {
    docs: BTreeMap<String, Stored>,
    peer_states: HashMap<(String, String), Vec<u8>>,
    checkpoints: HashMap<String, Checkpoint>,
    mark: Mark,
    /// Calls to [`SyncStore::store`] so far.
    pub store_calls: usize,
    /// Calls to [`SyncStore::load`] so far.
    pub load_calls: usize,
    /// Most documents passed to one [`SyncStore::store`] call.
    pub largest_store_batch: usize,
    /// The ids passed to [`SyncStore::store`], in the order they came.
    pub stored_order: Vec<String>,
}

impl Default for MemoryStore {
    /// An empty store with an epoch of its own.
    fn default() -> Self {
        static STORES: AtomicU64 = AtomicU64::new(1);
        let mut epoch = [0u8; 16];
        epoch[..8].copy_from_slice(&STORES.fetch_add(1, Ordering::Relaxed).to_be_bytes());
        epoch[8..].copy_from_slice(&std::process::id().to_be_bytes().repeat(2));
        Self {
            docs: BTreeMap::new(),
            peer_states: HashMap::new(),
            checkpoints: HashMap::new(),
            mark: Mark { epoch, seq: 0 },
            store_calls: 0,
            load_calls: 0,
            largest_store_batch: 0,
            stored_order: Vec::new(),
        }
    }
}

fn sorted_heads(doc: &Automerge) -> Vec<ChangeHash> {
    let mut h = doc.get_heads();
    h.sort();
    h
}

impl MemoryStore {
    /// Put (replace) a document.
    pub fn put(&mut self, doc_id: &str, doc: &Automerge) {
        self.put_saved(doc_id, doc, doc.save());
    }

    fn put_saved(&mut self, doc_id: &str, doc: &Automerge, bytes: Vec<u8>) {
        self.mark.seq += 1;
        self.docs.insert(
            doc_id.to_string(),
            Stored {
                bytes,
                heads: sorted_heads(doc),
                seq: self.mark.seq,
            },
        );
    }

    /// The checkpoint kept for `peer`.
    pub fn checkpoint_of(&self, peer: &str) -> Option<Checkpoint> {
        self.checkpoints.get(peer).copied()
    }

    /// A copy of a document.
    pub fn get(&self, doc_id: &str) -> Option<Automerge> {
        self.docs
            .get(doc_id)
            .and_then(|s| Automerge::load(&s.bytes).ok())
    }

    /// Heads of one document, sorted.
    pub fn heads_of(&self, doc_id: &str) -> Option<Vec<ChangeHash>> {
        self.docs.get(doc_id).map(|s| s.heads.clone())
    }

    /// Every (doc id, heads) pair, sorted by id.
    pub fn all_heads(&self) -> Vec<(String, Vec<ChangeHash>)> {
        self.docs
            .iter()
            .map(|(k, v)| (k.clone(), v.heads.clone()))
            .collect()
    }

    /// Ids of every document, sorted.
    pub fn ids(&self) -> Vec<String> {
        self.docs.keys().cloned().collect()
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// Whether the store holds no document.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// The bytes stored for `doc_id`.
    pub fn bytes_of(&self, doc_id: &str) -> Option<&[u8]> {
        self.docs.get(doc_id).map(|s| s.bytes.as_slice())
    }

    /// Sum of the stored sizes of every document (`save()` for those put by hand).
    pub fn saved_bytes(&self) -> usize {
        self.docs.values().map(|s| s.bytes.len()).sum()
    }

    /// Number of per-peer sync states kept.
    pub fn peer_state_count(&self) -> usize {
        self.peer_states.len()
    }
}

impl SyncStore for MemoryStore {
    fn heads(&mut self) -> Result<Vec<(String, Vec<ChangeHash>)>, PeerError> {
        Ok(self.all_heads())
    }

    fn load(&mut self, doc_id: &str) -> Result<Option<Automerge>, PeerError> {
        self.load_calls += 1;
        match self.docs.get(doc_id) {
            None => Ok(None),
            Some(s) => Automerge::load(&s.bytes)
                .map(Some)
                .map_err(|_| PeerError::Store("a stored document could not be loaded".into())),
        }
    }

    fn stored_save(&mut self, doc_id: &str) -> Result<Option<Vec<u8>>, PeerError> {
        Ok(self.docs.get(doc_id).map(|s| s.bytes.clone()))
    }

    fn store(&mut self, docs: &mut [Received]) -> Result<(), PeerError> {
        self.store_calls += 1;
        self.largest_store_batch = self.largest_store_batch.max(docs.len());
        for r in docs.iter() {
            self.put_saved(&r.id, &r.doc, r.saved.clone());
            self.stored_order.push(r.id.clone());
        }
        Ok(())
    }

    fn load_peer_state(&mut self, peer: &str, doc_id: &str) -> Result<Option<Vec<u8>>, PeerError> {
        Ok(self
            .peer_states
            .get(&(peer.to_string(), doc_id.to_string()))
            .cloned())
    }

    fn save_peer_states(
        &mut self,
        peer: &str,
        states: &[(String, Vec<u8>)],
    ) -> Result<(), PeerError> {
        for (id, s) in states {
            self.peer_states
                .insert((peer.to_string(), id.clone()), s.clone());
        }
        Ok(())
    }

    fn snapshot(&mut self) -> Result<(Heads, Option<Mark>), PeerError> {
        Ok((self.all_heads(), Some(self.mark)))
    }

    fn changed_since(&mut self, seq: u64) -> Result<Option<Vec<String>>, PeerError> {
        Ok(Some(
            self.docs
                .iter()
                .filter(|(_, s)| s.seq > seq)
                .map(|(id, _)| id.clone())
                .collect(),
        ))
    }

    fn checkpoint(&mut self, peer: &str) -> Result<Option<Checkpoint>, PeerError> {
        Ok(self.checkpoints.get(peer).copied())
    }

    fn set_checkpoint(
        &mut self,
        peer: &str,
        checkpoint: Option<Checkpoint>,
    ) -> Result<(), PeerError> {
        match checkpoint {
            Some(c) => self.checkpoints.insert(peer.to_string(), c),
            None => self.checkpoints.remove(peer),
        };
        Ok(())
    }
}
