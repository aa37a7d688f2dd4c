//! Device-to-device sync over any byte pipe.
//!
//! This module owns everything two phones of one team need to exchange child documents with no server
//! and no signal: the pairing code that carries the team secret ([`pairing`]), the authenticated and
//! encrypted frame channel over any `Read + Write` ([`channel`]), and the sync session that brings two
//! stores to the same documents in one conversation ([`session`]). Storage is reached only through
//! [`SyncStore`], so the SQLite store (through the adapter in `api::peer_adapter`, which sits above both
//! the store and this module), the in-memory store of tests ([`memory::MemoryStore`]) and any future
//! relay share one protocol. This module knows nothing of SQLite.
//!
//! ```
//! # #![allow(clippy::unwrap_used)]
//! use timbang_core::peer::{self, memory::MemoryStore, pairing::TeamSecret, pipe, SecureChannel};
//!
//! let team = TeamSecret::make().unwrap();
//! let (a, b) = pipe::duplex();
//! let team_b = team.clone();
//! let server = std::thread::spawn(move || {
//!     let mut store = MemoryStore::default();
//!     let (mut ch, peer_id) = SecureChannel::accept(b, &team_b, "phone-b").unwrap();
//!     peer::sync_as_server(&mut ch, &mut store, &peer_id).unwrap()
//! });
//! let mut store = MemoryStore::default();
//! let (mut ch, peer_id) = SecureChannel::connect(a, &team, "phone-a").unwrap();
//! assert_eq!(peer_id, "phone-b");
//! let stats = peer::sync_as_client(&mut ch, &mut store, &peer_id).unwrap();
//! assert!(stats.completed);
//! server.join().unwrap();
//! ```

pub mod channel;
pub mod memory;
pub mod pairing;
pub mod pipe;
pub mod session;
mod wire;

pub use channel::SecureChannel;
pub use pairing::{
    Invite, TeamSecret, make_invite_code, make_pairing_code, parse_invite_code, parse_pairing_code,
};
pub use session::{
    Role, SESSION_VERSION, SessionConfig, SyncStats, run_session, sync_as_client, sync_as_server,
};

use automerge::{Automerge, ChangeHash};

/// Errors of device-to-device sync. Messages carry no personal data and no key material.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// The byte pipe failed (connection refused, reset, timed out...).
    #[error("the connection failed: {0}")]
    Io(#[from] std::io::Error),
    /// The other side closed the connection before the session completed.
    #[error("the connection closed before the session completed")]
    Closed,
    /// The other phone is not paired with this team (other team or wrong secret).
    #[error("the other device is not paired with this team")]
    NotPaired,
    /// A frame failed authentication: altered, replayed, reordered or cut in transit.
    #[error("a frame failed authentication (altered, replayed or reordered in transit)")]
    Tampered,
    /// A frame larger than the channel accepts.
    #[error("a frame of {0} bytes exceeds the limit of {max} bytes", max = channel::MAX_FRAME)]
    FrameTooLarge(usize),
    /// The other side broke the protocol (unexpected or malformed message).
    #[error("protocol error: {0}")]
    Protocol(&'static str),
    /// The other side speaks a protocol version we do not.
    #[error("the other device speaks peer protocol version {0}, this one speaks {v}", v = channel::PROTOCOL_VERSION)]
    Version(u8),
    /// The other device refused the session version this one offered (it may run an older Timbang);
    /// dialling again offering an older version can succeed.
    #[error("the other device refused session version {0} (it may run an older Timbang)")]
    SessionRefused(u8),
    /// The pairing code could not be read.
    #[error("the pairing code is not valid: {0}")]
    PairingCode(&'static str),
    /// A document or sync message could not be decoded or applied.
    #[error("a document could not be merged: {0}")]
    Document(String),
    /// The store failed; its error is kept (it names the operation, never the data).
    #[error("the store failed: {0}")]
    Store(Box<dyn std::error::Error + Send + Sync + 'static>),
    /// The host asked the work to stop (interrupt handle); what was stored so far stays.
    #[error("the session was interrupted")]
    Interrupted,
    /// A cryptographic primitive failed (random source).
    #[error("cryptography failed: {0}")]
    Crypto(#[from] crate::crypto::CryptoError),
}

/// A point in one store's history of document writes: which store (`epoch`, 16 random bytes made with
/// it) and how many document writes it had counted (`seq`). Every write of a document (local or
/// received) takes the next number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    /// Names the store's sequence of numbers.
    pub epoch: [u8; 16],
    /// The last number given out.
    pub seq: u64,
}

/// Where the last verified session with one peer left this device (kept by the device that dialled):
/// both stores held the same documents when the peer was at `theirs` and this device at `own_seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// The peer's mark at that moment.
    pub theirs: Mark,
    /// This device's sequence number at that moment.
    pub own_seq: u64,
}

/// A document a session hands to [`SyncStore::store`].
#[derive(Debug)]
pub struct Received {
    pub id: String,
    pub doc: Automerge,
    /// `doc`'s full save, checked to open again ([`crate::crdt::save_reopening`]): what the store
    /// writes when it writes the document whole, so it need not save it again.
    pub saved: Vec<u8>,
}

/// Every document's id and sorted heads, sorted by id.
pub type Heads = Vec<(String, Vec<ChangeHash>)>;

/// What a sync session needs from storage. The SQLite store implements it; [`memory::MemoryStore`] is
/// the in-memory one for tests and benchmarks.
pub trait SyncStore {
    /// Every document this device holds: (doc id, its current heads sorted). Cheap: served from a table,
    /// no document loads.
    fn heads(&mut self) -> Result<Vec<(String, Vec<ChangeHash>)>, PeerError>;
    /// Load one document; None when absent.
    fn load(&mut self, doc_id: &str) -> Result<Option<Automerge>, PeerError>;
    /// The document's full save as stored, when the store keeps it as one (no incremental changes
    /// after it): sent whole without loading and saving it again. None: the session loads and saves.
    fn stored_save(&mut self, _doc_id: &str) -> Result<Option<Vec<u8>>, PeerError> {
        Ok(None)
    }
    /// Persist documents that received changes (called once per batch, with each document after the
    /// incoming changes were applied). A document is written whole or not at all, with its
    /// projections; the store may split the batch into several transactions, and may take each
    /// document out of `docs` (the session does not use them after).
    fn store(&mut self, docs: &mut [Received]) -> Result<(), PeerError>;
    /// Wait until every document handed to [`SyncStore::store`] is written, and fail with the first
    /// failure among those writes. A store that writes in `store` itself has nothing to wait for; one
    /// that writes on a thread of its own (so that the session reads the next frame meanwhile) waits
    /// here. The session calls it before it tells the other phone that it stored everything.
    fn stored(&mut self) -> Result<(), PeerError> {
        Ok(())
    }
    /// Per-peer, per-document automerge sync state (sync::State::encode / decode) to resume cheaply.
    fn load_peer_state(&mut self, peer: &str, doc_id: &str) -> Result<Option<Vec<u8>>, PeerError>;
    /// Save per-peer, per-document sync states (one transaction).
    fn save_peer_states(
        &mut self,
        peer: &str,
        states: &[(String, Vec<u8>)],
    ) -> Result<(), PeerError>;

    /// [`SyncStore::heads`] with this store's [`Mark`] read in the same snapshot. A store that counts
    /// no writes answers None, and its sessions compare buckets every time.
    fn snapshot(&mut self) -> Result<(Heads, Option<Mark>), PeerError> {
        Ok((self.heads()?, None))
    }
    /// Ids of the documents written after sequence number `seq` (sorted); None when not known.
    fn changed_since(&mut self, _seq: u64) -> Result<Option<Vec<String>>, PeerError> {
        Ok(None)
    }
    /// The checkpoint kept for `peer`, if any.
    fn checkpoint(&mut self, _peer: &str) -> Result<Option<Checkpoint>, PeerError> {
        Ok(None)
    }
    /// Keep (or, with None, forget) the checkpoint of `peer`.
    fn set_checkpoint(
        &mut self,
        _peer: &str,
        _checkpoint: Option<Checkpoint>,
    ) -> Result<(), PeerError> {
        Ok(())
    }
}
