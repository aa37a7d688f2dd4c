//! The SQLite store as the peer protocol's [`SyncStore`]. It sits above both: the store offers
//! documents, heads and per-peer state and knows nothing of the protocol; the protocol knows nothing of
//! SQLite. Incoming documents go through [`Timbang::commit`] like any local edit (merged into what is
//! stored now, projected and audited, in transactions of a few documents). The interrupt scope is checked
//! before every batch. See `docs/adr/0002-peer-adapter.md`.

use automerge::{Automerge, ChangeHash};

use super::Timbang;
use crate::interrupt::InterruptScope;
use crate::peer::{Checkpoint, Heads, Mark, PeerError, SyncStore};
use crate::store::peers;
use crate::store::teams::{self, TeamNo};

/// Received documents stored per write transaction. One: a kader recording a visit during a long sync
/// waits for at most one document's write (`cargo bench -p timbang-core --bench load`, 5,000 children
/// of 60 visits: `record_visit` p99 19 ms at 1 against 35 ms at 4, the sync as fast; docs/BENCHMARKS.md).
const WRITE_CHUNK_DOCS: usize = 1;

/// The facade's store seen by one sync session.
pub(super) struct PeerStore<'a> {
    api: &'a Timbang,
    scope: InterruptScope,
    /// The team of the session: only its documents are offered, loaded or written.
    team: TeamNo,
}

impl<'a> PeerStore<'a> {
    pub(super) fn new(api: &'a Timbang, scope: InterruptScope, team: TeamNo) -> Self {
        Self { api, scope, team }
    }

    fn check(&self) -> Result<(), PeerError> {
        if self.scope.was_interrupted() {
            Err(PeerError::Interrupted)
        } else {
            Ok(())
        }
    }
}

fn store_err(e: impl std::error::Error + Send + Sync + 'static) -> PeerError {
    PeerError::Store(Box::new(e))
}

impl SyncStore for PeerStore<'_> {
    fn heads(&mut self) -> Result<Vec<(String, Vec<ChangeHash>)>, PeerError> {
        self.check()?;
        self.api
            .store
            .read(|c| teams::heads(c, self.team))
            .map_err(store_err)
    }

    fn load(&mut self, doc_id: &str) -> Result<Option<Automerge>, PeerError> {
        // A document of another team is not there for this session.
        self.api
            .store
            .read(|c| match teams::of_doc(c, doc_id)? {
                Some(t) if t == self.team => self.api.store.load_doc(c, doc_id),
                _ => Ok(None),
            })
            .map_err(store_err)
    }

    fn store(&mut self, docs: &mut [(String, Automerge)]) -> Result<(), PeerError> {
        self.check()?;
        // Refuse documents that are not child documents, or not the child they claim to be, before
        // anything is written: the other phone broke the protocol.
        for (id, incoming) in docs.iter() {
            match crate::crdt::read_child(incoming) {
                Ok(child) if child.id.as_str() == id => {}
                _ => {
                    return Err(PeerError::Protocol(
                        "a received document does not match its id",
                    ));
                }
            }
        }
        // Stored in small transactions, letting a waiting writer in between them, so a kader recording a
        // visit on this phone during a long sync waits for one small batch, not for a large one.
        for chunk in docs.chunks_mut(WRITE_CHUNK_DOCS) {
            self.check()?;
            let n = chunk.len();
            self.api
                .commit_bulk("sync_received", |e| {
                    e.detail = Some(n.to_string());
                    e.team = self.team;
                    for (id, incoming) in chunk.iter_mut() {
                        e.merge_in(id, incoming)?;
                    }
                    Ok(())
                })
                .map_err(store_err)?;
            self.api.store.yield_to_waiting_writers();
        }
        Ok(())
    }

    fn load_peer_state(&mut self, peer: &str, doc_id: &str) -> Result<Option<Vec<u8>>, PeerError> {
        self.api
            .store
            .read(|c| peers::sync_state(c, peer, doc_id))
            .map_err(store_err)
    }

    fn save_peer_states(
        &mut self,
        peer: &str,
        states: &[(String, Vec<u8>)],
    ) -> Result<(), PeerError> {
        self.api
            .store
            .write(|tx| peers::set_sync_states(tx, peer, states))
            .map_err(store_err)
    }

    fn snapshot(&mut self) -> Result<(Heads, Option<Mark>), PeerError> {
        self.check()?;
        // One read transaction: the mark counts exactly the writes the heads show.
        self.api
            .store
            .read(|c| {
                let tx = c.unchecked_transaction()?;
                let heads = teams::heads(&tx, self.team)?;
                let (epoch, seq) = peers::doc_mark(&tx)?;
                tx.finish()?;
                Ok((heads, Some(Mark { epoch, seq })))
            })
            .map_err(store_err)
    }

    fn changed_since(&mut self, seq: u64) -> Result<Option<Vec<String>>, PeerError> {
        self.api
            .store
            .read(|c| peers::written_since(c, self.team, seq))
            .map(Some)
            .map_err(store_err)
    }

    fn checkpoint(&mut self, peer: &str) -> Result<Option<Checkpoint>, PeerError> {
        let row = self
            .api
            .store
            .read(|c| peers::checkpoint(c, peer, self.team))
            .map_err(store_err)?;
        // A row that does not read as a checkpoint costs one session by buckets, nothing more.
        Ok(row.and_then(|(epoch, seq, own_seq)| {
            Some(Checkpoint {
                theirs: Mark {
                    epoch: epoch.try_into().ok()?,
                    seq,
                },
                own_seq,
            })
        }))
    }

    fn set_checkpoint(
        &mut self,
        peer: &str,
        checkpoint: Option<Checkpoint>,
    ) -> Result<(), PeerError> {
        let row = checkpoint
            .as_ref()
            .map(|c| (&c.theirs.epoch[..], c.theirs.seq, c.own_seq));
        self.api
            .store
            .write(|tx| peers::set_checkpoint(tx, peer, self.team, row))
            .map_err(store_err)
    }
}
