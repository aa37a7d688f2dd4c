//! The SQLite store as the peer protocol's [`SyncStore`]. It sits above both: the store offers
//! documents, heads and per-peer state and knows nothing of the protocol; the protocol knows nothing of
//! SQLite. Incoming documents go through [`Timbang::commit`] like any local edit (merged into what is
//! stored now, projected and audited, in transactions of one time slice, cut short when another writer
//! waits). The interrupt scope is checked after every document. See `docs/adr/0002-peer-adapter.md`.
//!
//! In a session ([`PipelinedStore`]) received documents are written on a thread of their own while the
//! session reads, opens and checks the next frame: a first sync keeps both cores busy instead of one.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::Scope;
use std::time::{Duration, Instant};

use automerge::{Automerge, ChangeHash};

use super::Timbang;
use crate::interrupt::InterruptScope;
use crate::peer::{Checkpoint, Heads, Mark, PeerError, Received, SyncStore};
use crate::store::peers;
use crate::store::teams::{self, TeamNo};

/// How long one write transaction of received documents may grow before it is committed. A transaction
/// is committed sooner, after the document in hand, when another writer (a kader recording a visit)
/// waits for the connection: she waits for at most one document's write and the commit. Fewer, larger
/// transactions write each shared page once (the indexes, the audit chain, the sequence row) instead of
/// once per document (docs/BENCHMARKS.md, the peer benchmark; the load bench has the `record_visit` p99).
const WRITE_SLICE: Duration = Duration::from_millis(25);

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

    /// `read` of document `doc_id` when it belongs to the session's team; a document of another team
    /// is not there for this session.
    fn read_own<T>(
        &self,
        doc_id: &str,
        read: impl FnOnce(&rusqlite::Connection) -> Result<Option<T>, crate::store::StoreError>,
    ) -> Result<Option<T>, PeerError> {
        self.api
            .store
            .read(|c| match teams::of_doc(c, doc_id)? {
                Some(t) if t == self.team => read(c),
                _ => Ok(None),
            })
            .map_err(store_err)
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
        self.read_own(doc_id, |c| self.api.store.load_doc(c, doc_id))
    }

    fn stored_save(&mut self, doc_id: &str) -> Result<Option<Vec<u8>>, PeerError> {
        self.read_own(doc_id, |c| self.api.store.stored_full_save(c, doc_id))
    }

    fn store(&mut self, docs: &mut [Received]) -> Result<(), PeerError> {
        self.check()?;
        // Refuse documents that are not child documents, or not the child they claim to be, before
        // anything is written: the other phone broke the protocol. What was read is projected.
        let mut read = Vec::with_capacity(docs.len());
        for r in docs.iter() {
            match crate::crdt::read_child(&r.doc) {
                Ok(child) if child.id.as_str() == r.id => read.push(child),
                _ => {
                    return Err(PeerError::Protocol(
                        "a received document does not match its id",
                    ));
                }
            }
        }
        let mut read = read.into_iter();
        // Stored in transactions of at most one time slice, each ended early when another writer
        // waits, which then gets the connection first: a kader recording a visit on this phone during
        // a long sync waits for one document, not for a batch.
        let mut rest = &mut docs[..];
        while !rest.is_empty() {
            self.check()?;
            let started = Instant::now();
            let store = &self.api.store;
            let scope = &self.scope;
            let team = self.team;
            let stored = self
                .api
                .commit_bulk("sync_received", |e| {
                    e.team = team;
                    let mut n = 0;
                    for (r, child) in rest.iter_mut().zip(read.by_ref()) {
                        e.merge_in(&r.id, &mut r.doc, &r.saved, child)?;
                        e.project()?;
                        n += 1;
                        if store.writer_waiting()
                            || started.elapsed() >= WRITE_SLICE
                            || scope.was_interrupted()
                        {
                            break;
                        }
                    }
                    e.detail = Some(n.to_string());
                    Ok(n)
                })
                .map_err(store_err)?;
            rest = &mut rest[stored..];
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

/// Batches of received documents waiting for the writer thread: one being read while one is written.
const QUEUED_BATCHES: usize = 2;

/// The batches between the session and the writer thread. A mutex and a condition variable rather
/// than `std::sync::mpsc`, whose three channel kinds per message type cost the phone library 23 KB.
#[derive(Default)]
struct Queue {
    state: Mutex<Waiting>,
    changed: Condvar,
}

#[derive(Default)]
struct Waiting {
    batches: VecDeque<Vec<Received>>,
    /// The writer holds a batch it has not finished writing.
    writing: bool,
    /// The session is over: the writer writes what is queued and ends.
    closed: bool,
    /// A write failed: nothing more is written, and the session ends with `failed`.
    stopped: bool,
    failed: Option<PeerError>,
}

impl Waiting {
    /// The failure that stopped the writer, once: the session ends with it.
    fn failure(&mut self) -> Result<(), PeerError> {
        if !self.stopped {
            return Ok(());
        }
        Err(self
            .failed
            .take()
            .unwrap_or_else(|| PeerError::Store("a write of received documents failed".into())))
    }
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, Waiting> {
        // Nothing panics while holding the lock; a poisoned one still holds consistent state.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wait<'g>(&self, guard: MutexGuard<'g, Waiting>) -> MutexGuard<'g, Waiting> {
        self.changed
            .wait(guard)
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The writer thread: each batch in turn until the session closes the queue.
    fn write_all(&self, store: &mut PeerStore<'_>) {
        loop {
            let mut batch = {
                let mut w = self.lock();
                loop {
                    if let Some(b) = w.batches.pop_front().filter(|_| !w.stopped) {
                        w.writing = true;
                        break b;
                    }
                    if w.closed {
                        return;
                    }
                    w = self.wait(w);
                }
            };
            // A panic here would leave the session waiting for this batch for ever: it is a failure.
            let result =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| store.store(&mut batch)))
                    .unwrap_or_else(|_| {
                        Err(PeerError::Store(
                            "writing received documents panicked".into(),
                        ))
                    });
            drop(batch);
            let mut w = self.lock();
            w.writing = false;
            if let Err(e) = result {
                w.batches.clear();
                w.stopped = true;
                w.failed.get_or_insert(e);
            }
            self.changed.notify_all();
        }
    }
}

/// [`PeerStore`] for one session, writing received documents on a writer thread of `scope` (started
/// with the first batch). [`SyncStore::store`] queues a batch and returns; [`SyncStore::stored`] waits
/// for the queue and returns the first failure of its writes, after which nothing more is written.
/// Everything else reads on the session's thread, through the store's read connection; a document read
/// while its newer version waits in the queue is merged into what is stored when it is written, so
/// nothing is lost. Dropped with a failed session, the queue is still written: what arrived stays.
pub(super) struct PipelinedStore<'a, 'scope, 'env> {
    reads: PeerStore<'a>,
    scope: &'scope Scope<'scope, 'env>,
    queue: Arc<Queue>,
    started: bool,
}

impl<'a: 'scope, 'scope, 'env> PipelinedStore<'a, 'scope, 'env> {
    pub(super) fn new(scope: &'scope Scope<'scope, 'env>, store: PeerStore<'a>) -> Self {
        Self {
            reads: store,
            scope,
            queue: Arc::default(),
            started: false,
        }
    }
}

impl Drop for PipelinedStore<'_, '_, '_> {
    fn drop(&mut self) {
        self.queue.lock().closed = true;
        self.queue.changed.notify_all();
    }
}

impl<'a: 'scope, 'scope, 'env> SyncStore for PipelinedStore<'a, 'scope, 'env> {
    fn heads(&mut self) -> Result<Vec<(String, Vec<ChangeHash>)>, PeerError> {
        self.reads.heads()
    }

    fn load(&mut self, doc_id: &str) -> Result<Option<Automerge>, PeerError> {
        self.reads.load(doc_id)
    }

    fn stored_save(&mut self, doc_id: &str) -> Result<Option<Vec<u8>>, PeerError> {
        self.reads.stored_save(doc_id)
    }

    fn store(&mut self, docs: &mut [Received]) -> Result<(), PeerError> {
        self.reads.check()?;
        if !self.started {
            self.started = true;
            let mut store =
                PeerStore::new(self.reads.api, self.reads.scope.clone(), self.reads.team);
            let queue = Arc::clone(&self.queue);
            self.scope.spawn(move || queue.write_all(&mut store));
        }
        let batch: Vec<Received> = docs
            .iter_mut()
            .map(|r| Received {
                id: std::mem::take(&mut r.id),
                doc: std::mem::take(&mut r.doc),
                saved: std::mem::take(&mut r.saved),
            })
            .collect();
        let mut w = self.queue.lock();
        while w.batches.len() >= QUEUED_BATCHES && !w.stopped {
            w = self.queue.wait(w);
        }
        w.failure()?;
        w.batches.push_back(batch);
        self.queue.changed.notify_all();
        Ok(())
    }

    fn stored(&mut self) -> Result<(), PeerError> {
        let mut w = self.queue.lock();
        while (!w.batches.is_empty() || w.writing) && !w.stopped {
            w = self.queue.wait(w);
        }
        w.failure()
    }

    fn load_peer_state(&mut self, peer: &str, doc_id: &str) -> Result<Option<Vec<u8>>, PeerError> {
        self.reads.load_peer_state(peer, doc_id)
    }

    fn save_peer_states(
        &mut self,
        peer: &str,
        states: &[(String, Vec<u8>)],
    ) -> Result<(), PeerError> {
        self.reads.save_peer_states(peer, states)
    }

    fn snapshot(&mut self) -> Result<(Heads, Option<Mark>), PeerError> {
        self.reads.snapshot()
    }

    fn changed_since(&mut self, seq: u64) -> Result<Option<Vec<String>>, PeerError> {
        self.reads.changed_since(seq)
    }

    fn checkpoint(&mut self, peer: &str) -> Result<Option<Checkpoint>, PeerError> {
        self.reads.checkpoint(peer)
    }

    fn set_checkpoint(
        &mut self,
        peer: &str,
        checkpoint: Option<Checkpoint>,
    ) -> Result<(), PeerError> {
        self.reads.set_checkpoint(peer, checkpoint)
    }
}
