//! One sync session between two paired devices: both stores end with the same documents.
//!
//! Messages travel sealed over a [`SecureChannel`], strictly taking turns (so no pipe can deadlock with
//! both sides writing). Each message starts with a kind byte:
//!
//! | kind | name      | from   | body                                                              |
//! |------|-----------|--------|-------------------------------------------------------------------|
//! | 1    | summary   | client | version u8, doc count, SHA-256 over every sorted (id, heads); from version 4 a checkpoint flag, then the server's mark (epoch, seq) and (id, heads) of the client's docs written since |
//! | 2    | in sync   | server | nothing (from version 4: a mark flag and the server's mark): the summaries agree, the session is over once acked |
//! | 13   | changed   | server | from a checkpoint: ids of the server's docs written since that the client did not list |
//! | 14   | its heads | client | for each of them in order, the first 8 bytes of each of the client's heads (none: it lacks the doc) |
//! | 15   | verify    | client | after the transfer (version 4; answers the server's finish in place of the ack): doc count and summary hash again |
//! | 16   | verified  | server | the server's mark: the stores agree, the client keeps a checkpoint |
//! | 17   | unverified| server | the stores still differ (a write during the session): no checkpoint |
//! | 3    | buckets   | server | bucket count n (power of two), n truncated bucket hashes (8 bytes) |
//! | 11   | differ    | client | indices of the buckets whose hashes differ                        |
//! | 12   | fine      | server | for each of them, the hashes of its 16 finer buckets (index b + n j) |
//! | 4    | heads     | client | indices of differing fine buckets, then (id, heads) of the client's docs in them |
//! | 5    | plan      | server | ids the server lacks (client sends them whole), ids both hold but differ |
//! | 6/7  | batch     | both   | items: 1 = whole doc (id, `save()`), 2 = sync message (id, automerge sync message), 3 = changes (id, the server's changes the client lacks); 7 = more frames of this turn follow |
//! | 8    | finish    | both   | nothing: I have nothing more and stored everything                 |
//! | 9    | ack       | both   | nothing: I stored everything too; the session completed            |
//! | 10   | abort     | both   | nothing (a server that does not speak the client's version), or from version 4 the byte 1: the sender failed; no detail crosses |
//!
//! From version 4 a session can start from a checkpoint. Every store numbers its document writes (a
//! [`Mark`]: a random epoch naming the store and the last number given out). A session that ends
//! with the client's summary equal to the server's (the verify) leaves the client a [`Checkpoint`]:
//! the server's mark and its own number at that moment. The next session's summary carries it with
//! the heads of the client's documents written since; the server lists its own documents written
//! since (by number, not by buckets), asks for the client's heads of those, and plans over the two
//! lists. What a checkpoint promises is checked, never trusted: after the transfer the stores are
//! compared whole again, and when they differ (a store restored from a copy, a write during the
//! session) the session goes on through buckets, once. After 50 of 1,000 children changed on one
//! phone this costs by the 50, not by the fine hashes of every bucket they fall in.
//!
//! A client offers [`SessionConfig::version`] (the newest by default). A server refuses a version it
//! does not speak by aborting, and a client whose summary is answered so returns
//! [`PeerError::SessionRefused`]: it may dial again offering an older version, which every server
//! since version 1 serves.
//!
//! From version 3 (the client's summary says which), any message after the summary may travel deflated:
//! bit 7 of its kind byte set and its body raw DEFLATE, sent so whenever that is shorter. It is inflated
//! to at most [`MAX_MESSAGE`] bytes, the bound of a plain message, before it is read. The client deflates
//! only once the server has answered (a server older than the client refuses its summary); a server
//! deflates only for a client of version 3 or later. Deflating under the channel's encryption lets an eavesdropper
//! see compressed sizes; what is compressed comes from the two paired phones, never from them.
//!
//! The summary costs a few hundred bytes whatever the size of the stores, so phones that agree are
//! done in one round trip. Otherwise the server sends bucket hashes (documents spread over buckets by
//! the hash of their id), the client names the buckets that differ, the server splits each into finer
//! buckets, the client answers with its heads in the fine buckets that differ, and the server
//! plans: documents one side lacks travel whole (compact `save()`); a document where the server holds
//! every head the client sent (the client is only behind, the usual case after a posyandu morning)
//! gets the changes the client lacks in the server's first turn, with no further round; other
//! documents both hold but that differ run automerge's sync protocol, many per frame, a window of them
//! at a time, until a turn from each side carries nothing. Then one side sends finish, the other acks; each stores everything before
//! sending, so both know the session completed with everything stored.
//!
//! Received documents are stored in batches (at most [`SessionConfig::batch_docs`], and whatever a
//! frame brought before the next frame is read), so a dropped connection keeps what arrived and the next session's summary finds only the rest;
//! at most a window of documents is held in memory at a time.

use super::channel::{MAX_MESSAGE, SecureChannel};
use super::wire::{Reader, Writer};
use super::{Checkpoint, Mark, PeerError, Received, SyncStore};
use crate::{crdt, crypto};
use automerge::sync::{self, SyncDoc};
use automerge::{Automerge, ChangeHash, ReadDoc};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::io::{Read, Write};

const M_SUMMARY: u8 = 1;
const M_IN_SYNC: u8 = 2;
const M_BUCKETS: u8 = 3;
const M_HEADS: u8 = 4;
const M_PLAN: u8 = 5;
const M_BATCH_LAST: u8 = 6;
const M_BATCH_MORE: u8 = 7;
const M_FINISH: u8 = 8;
const M_ACK: u8 = 9;
const M_ABORT: u8 = 10;
const M_DIFFER: u8 = 11;
const M_FINE: u8 = 12;
const M_CHANGED: u8 = 13;
const M_DELTA_HEADS: u8 = 14;
const M_VERIFY: u8 = 15;
const M_VERIFIED: u8 = 16;
const M_UNVERIFIED: u8 = 17;
/// The byte after [`M_ABORT`] from version 4: the sender failed (not "I do not speak your version").
const ABORT_FAILED: u8 = 1;
const ITEM_DOC: u8 = 1;
const ITEM_SYNC: u8 = 2;
const ITEM_CHANGES: u8 = 3;
/// 2: the server sends changes directly where the client is only behind (item 3).
/// 3: messages after the summary may travel deflated (kind byte with [`DEFLATED`] set).
/// The newest session version this code speaks (a client sends it unless told
/// [`SessionConfig::version`]; a server serves it and every older one).
pub const SESSION_VERSION: u8 = 4;
/// First version whose messages may be deflated.
const DEFLATE_VERSION: u8 = 3;
/// Set in the kind byte of a message whose body (everything after the kind byte) is raw DEFLATE.
const DEFLATED: u8 = 0x80;
/// Messages shorter than this travel as they are: deflate would gain a few bytes at best.
const DEFLATE_MIN: usize = 256;
/// The oldest client a server still serves (version 1: one level of buckets, no changes item).
const OLDEST_SESSION_VERSION: u8 = 1;
/// From this version the client sends its checkpoint and the session ends with a verify.
const CHECKPOINT_VERSION: u8 = 4;
/// Most documents listed by number from a checkpoint; more are compared by buckets.
const MAX_DELTA: usize = 4096;
/// Bytes of each head the client answers with from a checkpoint (the server resolves them against
/// its own changes; a wrong match can only leave the stores different, which the verify catches).
const HEAD_PREFIX: usize = 8;
const MAX_BUCKETS: usize = 4096;
const DOCS_PER_BUCKET: usize = 32;
/// Each differing bucket is split in this many finer ones (about two documents each) before the client
/// lists its heads: after a posyandu morning it lists few more documents than changed.
const FINE_SPLIT: usize = 16;
const MAX_TURNS: u64 = 100_000;

/// Which end of the channel this device is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The device that dialled (`peer sync --connect`).
    Client,
    /// The device that listened (`peer serve`).
    Server,
}

/// Tuning of a session. The defaults suit phones with 5,000 children.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Store received documents once this many are waiting (and after every frame).
    pub batch_docs: usize,
    /// Target size of one batch frame in bytes (a single larger document gets a frame of its own).
    pub frame_budget: usize,
    /// How many documents may run automerge sync at the same time (bounds memory).
    pub sync_window: usize,
    /// How many bytes automerge may inflate from one received frame before the session refuses it
    /// ([`crate::inflate`]: a compressed chunk can inflate about 1,000 times).
    pub inflate_budget: u64,
    /// The session version this side speaks at most: a client offers it, a server refuses a client
    /// offering more. A client whose offer is refused ([`PeerError::SessionRefused`]) can dial again
    /// offering less (an older phone of the team).
    pub version: u8,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            batch_docs: 200,
            frame_budget: 256 * 1024,
            sync_window: 100,
            inflate_budget: crate::inflate::DEFAULT_BUDGET,
            version: SESSION_VERSION,
        }
    }
}

/// What a session did, as seen from this device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncStats {
    /// Bytes this device wrote on the channel, handshake and framing included.
    pub sent_bytes: u64,
    /// Bytes this device read from the channel, handshake and framing included.
    pub received_bytes: u64,
    /// Documents sent whole or with changes in a sync message.
    pub docs_sent: usize,
    /// Documents that received changes here (whole or through sync).
    pub docs_received: usize,
    /// Documents written to the store.
    pub docs_stored: usize,
    /// Calls to [`SyncStore::store`].
    pub store_batches: usize,
    /// Turns this device sent (summary exchange included).
    pub rounds: u64,
    /// Whether the session completed on both sides (always true in an `Ok`).
    pub completed: bool,
    /// Whether the documents to compare came from the checkpoint of the last verified session
    /// (listed by number) rather than from buckets.
    pub used_checkpoint: bool,
    /// Whether a session from a checkpoint found the stores still different and compared buckets.
    pub fell_back: bool,
    /// Whether the session ended with both stores verified the same (and a checkpoint kept).
    pub verified: bool,
}

/// Run a session as the device that dialled.
pub fn sync_as_client<S: Read + Write>(
    channel: &mut SecureChannel<S>,
    store: &mut dyn SyncStore,
    peer_id: &str,
) -> Result<SyncStats, PeerError> {
    run_session(
        channel,
        store,
        peer_id,
        Role::Client,
        &SessionConfig::default(),
    )
}

/// Run a session as the device that was dialled.
pub fn sync_as_server<S: Read + Write>(
    channel: &mut SecureChannel<S>,
    store: &mut dyn SyncStore,
    peer_id: &str,
) -> Result<SyncStats, PeerError> {
    run_session(
        channel,
        store,
        peer_id,
        Role::Server,
        &SessionConfig::default(),
    )
}

/// Run a session in `role` with `config`. Returns once both sides stored everything.
pub fn run_session<S: Read + Write>(
    channel: &mut SecureChannel<S>,
    store: &mut dyn SyncStore,
    peer_id: &str,
    role: Role,
    config: &SessionConfig,
) -> Result<SyncStats, PeerError> {
    // One copy of the session's code whatever the stream (a host's Bluetooth, TCP, a pipe): the phone
    // library carries it once, not once per stream type.
    run(channel, store, peer_id, role, config)
}

/// The sealed channel as the session sees it.
trait Messages {
    fn send(&mut self, message: &[u8]) -> Result<(), PeerError>;
    fn recv(&mut self) -> Result<Vec<u8>, PeerError>;
    fn bytes_sent(&self) -> u64;
    fn bytes_received(&self) -> u64;
}

impl<S: Read + Write> Messages for SecureChannel<S> {
    fn send(&mut self, message: &[u8]) -> Result<(), PeerError> {
        SecureChannel::send(self, message)
    }
    fn recv(&mut self) -> Result<Vec<u8>, PeerError> {
        SecureChannel::recv(self)
    }
    fn bytes_sent(&self) -> u64 {
        SecureChannel::bytes_sent(self)
    }
    fn bytes_received(&self) -> u64 {
        SecureChannel::bytes_received(self)
    }
}

fn run(
    channel: &mut dyn Messages,
    store: &mut dyn SyncStore,
    peer_id: &str,
    role: Role,
    config: &SessionConfig,
) -> Result<SyncStats, PeerError> {
    let mut s = Session {
        ch: channel,
        store,
        peer: peer_id,
        cfg: config.clone(),
        active: BTreeMap::new(),
        dirty: HashMap::new(),
        states: HashMap::new(),
        pending_states: Vec::new(),
        sync_queue: VecDeque::new(),
        full_queue: VecDeque::new(),
        push_queue: VecDeque::new(),
        sent_changes: HashSet::new(),
        received_changes: HashSet::new(),
        stats: SyncStats::default(),
        role,
        version: config
            .version
            .clamp(OLDEST_SESSION_VERSION, SESSION_VERSION),
        refused_version: false,
        // A client of version 3 or later reads deflated messages from the start, and deflates its
        // own once the server has answered (a server older than the client refuses the summary).
        inflate_in: role == Role::Client && config.version >= DEFLATE_VERSION,
        deflate_out: false,
    };
    let result = match role {
        Role::Client => s.client(),
        Role::Server => s.server(),
    };
    if let Err(e) = &result
        && matches!(
            e,
            PeerError::Store(_)
                | PeerError::Document(_)
                | PeerError::Interrupted
                | PeerError::Protocol(_)
        )
    {
        // A bare abort answering the summary is what every version sends when it does not speak
        // the client's; from version 4 any other failure says so with one more byte, so a client
        // dials again with an older version only when that can help.
        if s.refused_version {
            let _ = s.ch.send(&[M_ABORT]);
        } else {
            let _ = s.ch.send(&[M_ABORT, ABORT_FAILED]);
        }
    }
    result?;
    s.stats.sent_bytes = s.ch.bytes_sent();
    s.stats.received_bytes = s.ch.bytes_received();
    s.stats.docs_sent += s.sent_changes.len();
    s.stats.docs_received += s.received_changes.len();
    s.stats.completed = true;
    Ok(s.stats)
}

/// The heads of every document, sorted, with the hashes the summary needs.
struct Summary {
    entries: Vec<(String, Vec<ChangeHash>)>,
}

impl Summary {
    fn new(mut entries: Vec<(String, Vec<ChangeHash>)>) -> Self {
        for (_, h) in &mut entries {
            h.sort();
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Self { entries }
    }

    /// The entry of `id`.
    fn get(&self, id: &str) -> Option<&(String, Vec<ChangeHash>)> {
        self.entries
            .binary_search_by(|e| e.0.as_str().cmp(id))
            .ok()
            .map(|i| &self.entries[i])
    }

    fn entry_bytes(out: &mut Vec<u8>, id: &str, heads: &[ChangeHash]) {
        out.extend_from_slice(&(id.len() as u32).to_be_bytes());
        out.extend_from_slice(id.as_bytes());
        out.extend_from_slice(&(heads.len() as u32).to_be_bytes());
        for h in heads {
            out.extend_from_slice(&h.0);
        }
    }

    fn total(&self) -> [u8; 32] {
        let mut data = Vec::with_capacity(self.entries.len() * 80);
        for (id, heads) in &self.entries {
            Self::entry_bytes(&mut data, id, heads);
        }
        crypto::sha256(&data)
    }

    fn bucket_of(id: &str, n: usize) -> usize {
        let h = crypto::sha256(id.as_bytes());
        let mut b = [0u8; 8];
        b.copy_from_slice(&h[..8]);
        (u64::from_be_bytes(b) % n as u64) as usize
    }

    /// Entry indices per bucket.
    fn buckets(&self, n: usize) -> Vec<Vec<usize>> {
        let mut out = vec![Vec::new(); n];
        for (i, (id, _)) in self.entries.iter().enumerate() {
            out[Self::bucket_of(id, n)].push(i);
        }
        out
    }

    fn bucket_hashes(&self, buckets: &[Vec<usize>]) -> Vec<[u8; 8]> {
        buckets
            .iter()
            .map(|idx| {
                if idx.is_empty() {
                    return [0u8; 8];
                }
                let mut data = Vec::new();
                for &i in idx {
                    let (id, heads) = &self.entries[i];
                    Self::entry_bytes(&mut data, id, heads);
                }
                let h = crypto::sha256(&data);
                let mut out = [0u8; 8];
                out.copy_from_slice(&h[..8]);
                out
            })
            .collect()
    }
}

/// The fine buckets of coarse buckets `coarse` out of `n`: a document in coarse bucket `b` is in fine
/// bucket `b + n j` for one `j` below [`FINE_SPLIT`] (both are its id's hash modulo a power of two).
fn fine_of(coarse: &[usize], n: usize) -> Vec<usize> {
    coarse
        .iter()
        .flat_map(|&b| (0..FINE_SPLIT).map(move |j| b + n * j))
        .collect()
}

/// `msg` with its body deflated and [`DEFLATED`] set in its kind byte. (The same encoder automerge
/// uses for its columns: no second copy of the code in the phone library.)
fn deflate(msg: &[u8]) -> Option<Vec<u8>> {
    let (&kind, body) = msg.split_first()?;
    let mut out = Vec::with_capacity(body.len() / 2 + 64);
    out.push(kind | DEFLATED);
    flate2::bufread::DeflateEncoder::new(body, flate2::Compression::default())
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}

/// A deflated message's kind byte and inflated body, refused past [`MAX_MESSAGE`].
fn inflate(kind: u8, body: &[u8]) -> Result<Vec<u8>, PeerError> {
    let mut out = Vec::with_capacity(body.len().saturating_mul(3).min(MAX_MESSAGE));
    out.push(kind);
    flate2::bufread::DeflateDecoder::new(body)
        .take(MAX_MESSAGE as u64)
        .read_to_end(&mut out)
        .map_err(|_| PeerError::Protocol("a deflated message does not inflate"))?;
    if out.len() > MAX_MESSAGE {
        return Err(PeerError::Protocol(
            "a deflated message inflates past the largest message",
        ));
    }
    Ok(out)
}

/// A mark: its epoch and sequence number.
fn read_mark_body(r: &mut Reader<'_>) -> Result<Mark, PeerError> {
    let mut epoch = [0u8; 16];
    epoch.copy_from_slice(r.raw(16)?);
    Ok(Mark {
        epoch,
        seq: r.uint()?,
    })
}

/// A mark that may be absent: a flag byte, then the mark.
fn read_mark(r: &mut Reader<'_>) -> Result<Option<Mark>, PeerError> {
    match r.u8() {
        // Version 4 always sends the flag; a session that knew no marks sent nothing.
        Ok(0) => Ok(None),
        Ok(1) => read_mark_body(r).map(Some),
        _ => Err(PeerError::Protocol("bad mark")),
    }
}

fn write_mark(w: &mut Writer, mark: Option<Mark>) {
    match mark {
        None => w.raw(&[0]),
        Some(m) => {
            w.raw(&[1]);
            w.raw(&m.epoch);
            w.uint(m.seq);
        }
    }
}

fn bucket_count(docs: usize) -> usize {
    (docs / DOCS_PER_BUCKET)
        .next_power_of_two()
        .clamp(1, MAX_BUCKETS)
}

struct Active {
    doc: Automerge,
    changed: bool,
}

enum TurnEnd {
    Turn { empty: bool },
    Finished,
}

struct Session<'a> {
    ch: &'a mut dyn Messages,
    store: &'a mut dyn SyncStore,
    peer: &'a str,
    cfg: SessionConfig,
    /// Documents running automerge sync now.
    active: BTreeMap<String, Active>,
    /// Documents with received changes waiting to be stored, each with the bytes it was loaded from
    /// when it is exactly what the other phone sent whole.
    dirty: HashMap<String, (Automerge, Option<Vec<u8>>)>,
    /// Sync states of every document synced in this session.
    states: HashMap<String, sync::State>,
    /// Encoded sync states waiting to be saved (after `dirty` is stored).
    pending_states: Vec<(String, Vec<u8>)>,
    sync_queue: VecDeque<String>,
    full_queue: VecDeque<String>,
    /// Documents whose changes since the client's heads the server sends directly.
    push_queue: VecDeque<(String, Vec<ChangeHash>)>,
    sent_changes: HashSet<String>,
    received_changes: HashSet<String>,
    stats: SyncStats,
    role: Role,
    /// The server refused the client's session version (it aborts with a bare abort).
    refused_version: bool,
    /// The session version both sides speak (the client's).
    version: u8,
    /// The other side may send deflated messages (both speak version 3).
    inflate_in: bool,
    /// This side deflates the messages it sends where that makes them shorter.
    deflate_out: bool,
}

fn unexpected(kind: Option<&u8>) -> PeerError {
    match kind {
        Some(&M_ABORT) => PeerError::Protocol("the other device aborted the session"),
        _ => PeerError::Protocol("unexpected session message"),
    }
}

impl Session<'_> {
    /// Send one message, deflated when both sides speak version 3 and that makes it shorter.
    fn send(&mut self, msg: &[u8]) -> Result<(), PeerError> {
        if self.deflate_out
            && msg.len() >= DEFLATE_MIN
            && let Some(z) = deflate(msg)
            && z.len() < msg.len()
        {
            return self.ch.send(&z);
        }
        self.ch.send(msg)
    }

    /// Receive one message, inflated when it came deflated (at most [`MAX_MESSAGE`] bytes, as a
    /// message sent as it is).
    fn recv(&mut self) -> Result<Vec<u8>, PeerError> {
        let msg = self.ch.recv()?;
        match msg.first() {
            Some(&kind) if kind & DEFLATED != 0 => {
                if !self.inflate_in {
                    return Err(PeerError::Protocol("unexpected deflated message"));
                }
                inflate(kind & !DEFLATED, &msg[1..])
            }
            _ => Ok(msg),
        }
    }

    fn client(&mut self) -> Result<(), PeerError> {
        let (entries, mark) = self.store.snapshot()?;
        let summary = Summary::new(entries);
        let delta = if self.version >= CHECKPOINT_VERSION {
            self.client_checkpoint(mark)?
        } else {
            None
        };
        let mut w = Writer::new(M_SUMMARY);
        w.raw(&[self.version]);
        w.uint(summary.entries.len() as u64);
        w.raw(&summary.total());
        match &delta {
            None if self.version < CHECKPOINT_VERSION => {}
            None => w.raw(&[0]),
            Some((cp, changed)) => {
                w.raw(&[1]);
                w.raw(&cp.theirs.epoch);
                w.uint(cp.theirs.seq);
                let listed: Vec<_> = changed.iter().filter_map(|id| summary.get(id)).collect();
                w.uint(listed.len() as u64);
                for (id, heads) in listed {
                    w.bytes(id.as_bytes());
                    w.hashes(heads);
                }
            }
        }
        self.send(&w.buf)?;
        self.stats.rounds += 1;

        let msg = self.recv()?;
        // An answer means the server took our version.
        self.deflate_out = self.version >= DEFLATE_VERSION;
        let mut r = Reader::new(&msg);
        match r.u8()? {
            M_IN_SYNC if self.version < CHECKPOINT_VERSION => {
                r.end()?;
                return self.send(&[M_ACK]);
            }
            M_IN_SYNC => {
                let theirs = read_mark(&mut r)?;
                r.end()?;
                self.send(&[M_ACK])?;
                return self.keep_checkpoint(theirs, mark);
            }
            // The server could not take the summary: an older phone refuses a version it does not
            // know (and aborts), so the caller may dial again offering an older one.
            M_ABORT if msg.len() == 1 => return Err(PeerError::SessionRefused(self.version)),
            M_ABORT => return Err(unexpected(Some(&M_ABORT))),
            M_BUCKETS => self.client_buckets(&summary, &mut r)?,
            M_CHANGED if delta.is_some() => {
                self.stats.used_checkpoint = true;
                self.client_changed(&summary, &mut r)?;
            }
            M_PLAN if delta.is_some() => {
                self.stats.used_checkpoint = true;
                self.client_plan(&mut r)?;
            }
            k => return Err(unexpected(Some(&k))),
        }
        drop(summary);
        if self.version < CHECKPOINT_VERSION {
            return Ok(());
        }
        let used = self.stats.used_checkpoint;
        self.client_verify(used)
    }

    /// The checkpoint of the last verified session with this peer and the ids of the documents
    /// written here since, when there is one and they are few enough to list.
    fn client_checkpoint(
        &mut self,
        mark: Option<Mark>,
    ) -> Result<Option<(Checkpoint, Vec<String>)>, PeerError> {
        if mark.is_none() {
            return Ok(None);
        }
        let Some(cp) = self.store.checkpoint(self.peer)? else {
            return Ok(None);
        };
        Ok(self
            .store
            .changed_since(cp.own_seq)?
            .filter(|changed| changed.len() <= MAX_DELTA)
            .map(|changed| (cp, changed)))
    }

    /// Keep the checkpoint of a session that ended with both stores the same (forget it when
    /// either store counts no writes).
    fn keep_checkpoint(
        &mut self,
        theirs: Option<Mark>,
        mine: Option<Mark>,
    ) -> Result<(), PeerError> {
        let checkpoint = theirs.zip(mine).map(|(theirs, mine)| Checkpoint {
            theirs,
            own_seq: mine.seq,
        });
        self.stats.verified = checkpoint.is_some();
        self.store.set_checkpoint(self.peer, checkpoint)
    }

    /// Buckets, then the hashes of the finer buckets of those that differ, then our heads in the
    /// fine buckets that differ; the server's plan; the transfer.
    fn client_buckets(&mut self, summary: &Summary, r: &mut Reader<'_>) -> Result<(), PeerError> {
        let n = usize::try_from(r.uint()?).map_err(|_| PeerError::Protocol("bucket count"))?;
        if n == 0 || n > MAX_BUCKETS || !n.is_power_of_two() {
            return Err(PeerError::Protocol("bad bucket count"));
        }
        let theirs = r.raw(n * 8)?;
        r.end()?;
        let coarse = summary.bucket_hashes(&summary.buckets(n));
        let differ_coarse: Vec<usize> = (0..n)
            .filter(|&b| coarse[b] != theirs[b * 8..b * 8 + 8])
            .collect();
        if self.version == 1 {
            // Version 1 has no finer buckets: the heads in the coarse buckets that differ at once.
            let buckets = summary.buckets(n);
            self.send_heads(summary, &differ_coarse, &buckets)?;
            return self.recv_plan();
        }
        let mut w = Writer::new(M_DIFFER);
        w.uint(differ_coarse.len() as u64);
        for &b in &differ_coarse {
            w.uint(b as u64);
        }
        self.send(&w.buf)?;
        self.stats.rounds += 1;

        let msg = self.expect(M_FINE)?;
        let mut r = Reader::new(&msg[1..]);
        let theirs = r.raw(differ_coarse.len() * FINE_SPLIT * 8)?;
        r.end()?;
        let buckets = summary.buckets(n * FINE_SPLIT);
        let fine = fine_of(&differ_coarse, n);
        let ours =
            summary.bucket_hashes(&fine.iter().map(|&f| buckets[f].clone()).collect::<Vec<_>>());
        let differing: Vec<usize> = fine
            .iter()
            .enumerate()
            .filter(|&(k, _)| ours[k] != theirs[k * 8..k * 8 + 8])
            .map(|(_, &f)| f)
            .collect();
        self.send_heads(summary, &differing, &buckets)?;
        self.recv_plan()
    }

    /// The buckets that differ and our (id, heads) in them.
    fn send_heads(
        &mut self,
        summary: &Summary,
        differing: &[usize],
        buckets: &[Vec<usize>],
    ) -> Result<(), PeerError> {
        let mut w = Writer::new(M_HEADS);
        w.uint(differing.len() as u64);
        for &b in differing {
            w.uint(b as u64);
        }
        let count: usize = differing.iter().map(|&b| buckets[b].len()).sum();
        w.uint(count as u64);
        for &b in differing {
            for &i in &buckets[b] {
                let (id, heads) = &summary.entries[i];
                w.bytes(id.as_bytes());
                w.hashes(heads);
            }
        }
        self.send(&w.buf)?;
        self.stats.rounds += 1;
        Ok(())
    }

    /// The server named the documents written there since the checkpoint: our heads of those we
    /// hold, then its plan and the transfer.
    fn client_changed(&mut self, summary: &Summary, r: &mut Reader<'_>) -> Result<(), PeerError> {
        // In the order asked, the first bytes of our heads of each (none when we do not hold it):
        // the ids need not travel back, and the server holds every change the prefixes name in the
        // usual case, only being ahead.
        let mut w = Writer::new(M_DELTA_HEADS);
        for _ in 0..r.count(1)? {
            let id = r.string()?;
            let heads = summary.get(&id).map_or(&[][..], |(_, heads)| heads);
            w.uint(heads.len() as u64);
            for h in heads {
                w.raw(&h.0[..HEAD_PREFIX]);
            }
        }
        r.end()?;
        self.send(&w.buf)?;
        self.stats.rounds += 1;
        self.recv_plan()
    }

    fn recv_plan(&mut self) -> Result<(), PeerError> {
        let msg = self.expect(M_PLAN)?;
        self.client_plan(&mut Reader::new(&msg[1..]))
    }

    /// The server's plan: documents to send whole, documents to run automerge sync on; then the
    /// transfer, which this side starts.
    fn client_plan(&mut self, r: &mut Reader<'_>) -> Result<(), PeerError> {
        for _ in 0..r.count(1)? {
            self.full_queue.push_back(r.string()?);
        }
        for _ in 0..r.count(1)? {
            self.sync_queue.push_back(r.string()?);
        }
        r.end()?;
        self.transfer(true)
    }

    /// After the transfer: both stores must now be the same. The server answers with its mark
    /// (kept as the checkpoint), or, when a session from a checkpoint left them different (a
    /// store restored from a copy, a write during the session), with buckets: the session goes
    /// on as if there were no checkpoint, once.
    fn client_verify(&mut self, may_fall_back: bool) -> Result<(), PeerError> {
        let (entries, mark) = self.store.snapshot()?;
        let summary = Summary::new(entries);
        let mut w = Writer::new(M_VERIFY);
        w.uint(summary.entries.len() as u64);
        w.raw(&summary.total());
        self.send(&w.buf)?;
        self.stats.rounds += 1;
        let msg = self.recv()?;
        let mut r = Reader::new(&msg);
        match r.u8()? {
            M_VERIFIED => {
                let theirs = read_mark_body(&mut r)?;
                r.end()?;
                self.keep_checkpoint(Some(theirs), mark)
            }
            M_UNVERIFIED => {
                r.end()?;
                self.keep_checkpoint(None, mark)
            }
            M_BUCKETS if may_fall_back => {
                self.stats.fell_back = true;
                self.states.clear();
                self.client_buckets(&summary, &mut r)?;
                drop(summary);
                self.client_verify(false)
            }
            k => Err(unexpected(Some(&k))),
        }
    }

    fn server(&mut self) -> Result<(), PeerError> {
        let msg = self.expect(M_SUMMARY)?;
        let mut r = Reader::new(&msg[1..]);
        let version = r.u8()?;
        if !(OLDEST_SESSION_VERSION..=self.version).contains(&version) {
            self.refused_version = true;
            return Err(PeerError::Protocol("unknown session version"));
        }
        let their_count = usize::try_from(r.uint()?).map_err(|_| PeerError::Protocol("count"))?;
        let their_total = r.raw(32)?;
        let mut delta = None;
        if version >= CHECKPOINT_VERSION {
            match r.u8()? {
                0 => {}
                1 => {
                    let theirs = read_mark_body(&mut r)?;
                    let mut listed = BTreeMap::new();
                    let n = r.count(2)?;
                    if n > MAX_DELTA {
                        return Err(PeerError::Protocol("too many documents listed"));
                    }
                    for _ in 0..n {
                        let id = r.string()?;
                        let heads = r.hashes()?;
                        listed.insert(id, heads);
                    }
                    delta = Some((theirs, listed));
                }
                _ => return Err(PeerError::Protocol("bad checkpoint flag")),
            }
        }
        r.end()?;
        self.version = version;
        self.inflate_in = version >= DEFLATE_VERSION;
        self.deflate_out = version >= DEFLATE_VERSION;
        let (entries, mark) = self.store.snapshot()?;
        let summary = Summary::new(entries);
        if summary.entries.len() == their_count && summary.total() == their_total {
            let mut w = Writer::new(M_IN_SYNC);
            if version >= CHECKPOINT_VERSION {
                write_mark(&mut w, mark);
            }
            self.send(&w.buf)?;
            self.stats.rounds += 1;
            self.stats.verified = mark.is_some() && version >= CHECKPOINT_VERSION;
            return self.expect_ack();
        }
        // Our mark must be in the same sequence as the checkpoint (same store, not rolled back
        // past it); what was written here since is then listed by number, not found by buckets.
        if let Some((theirs, listed)) = delta
            && let Some(mine) = mark
            && theirs.epoch == mine.epoch
            && theirs.seq <= mine.seq
            && let Some(changed) = self.store.changed_since(theirs.seq)?
            && changed.len() <= MAX_DELTA
        {
            self.stats.used_checkpoint = true;
            self.server_changed(&summary, changed, listed)?;
            drop(summary);
            return self.server_verify(true);
        }
        self.server_buckets(&summary, their_count)?;
        drop(summary);
        if version >= CHECKPOINT_VERSION {
            self.server_verify(false)
        } else {
            Ok(())
        }
    }

    /// Bucket hashes, the finer ones of those that differ (from version 2), the client's heads in
    /// those, our plan, the transfer.
    fn server_buckets(&mut self, summary: &Summary, their_count: usize) -> Result<(), PeerError> {
        let n = bucket_count(their_count.max(summary.entries.len()));
        let mut w = Writer::new(M_BUCKETS);
        w.uint(n as u64);
        for h in summary.bucket_hashes(&summary.buckets(n)) {
            w.raw(&h);
        }
        self.send(&w.buf)?;
        self.stats.rounds += 1;
        // A client of version 1 lists its heads in the buckets that differ at once and knows no
        // changes item.
        let (n, buckets) = if self.version == 1 {
            (n, summary.buckets(n))
        } else {
            self.fine_buckets(summary, n)?
        };

        let msg = self.expect(M_HEADS)?;
        let mut r = Reader::new(&msg[1..]);
        let mut differing = Vec::new();
        for _ in 0..r.count(1)? {
            let b = usize::try_from(r.uint()?).map_err(|_| PeerError::Protocol("bucket"))?;
            if b >= n {
                return Err(PeerError::Protocol("bucket index out of range"));
            }
            differing.push(b);
        }
        let mut theirs: BTreeMap<String, Vec<ChangeHash>> = BTreeMap::new();
        for _ in 0..r.count(2)? {
            let id = r.string()?;
            let heads = r.hashes()?;
            theirs.insert(id, heads);
        }
        r.end()?;
        let mine: Vec<_> = differing
            .iter()
            .flat_map(|&b| buckets[b].iter().map(|&i| &summary.entries[i]))
            .collect();
        self.send_plan(&mine, &theirs, Vec::new())?;
        self.transfer(false)
    }

    /// From a checkpoint: ask for the client's heads of the documents written here since that the
    /// client did not list itself (skipped when there are none), then plan over both lists.
    fn server_changed(
        &mut self,
        summary: &Summary,
        changed: Vec<String>,
        mut theirs: BTreeMap<String, Vec<ChangeHash>>,
    ) -> Result<(), PeerError> {
        let mut unresolved = Vec::new();
        let ask: BTreeSet<String> = changed
            .into_iter()
            .filter(|id| !theirs.contains_key(id))
            .collect();
        if !ask.is_empty() {
            let mut w = Writer::new(M_CHANGED);
            w.uint(ask.len() as u64);
            for id in &ask {
                w.bytes(id.as_bytes());
            }
            self.send(&w.buf)?;
            self.stats.rounds += 1;
            let msg = self.expect(M_DELTA_HEADS)?;
            let mut r = Reader::new(&msg[1..]);
            let mut prefixes = Vec::with_capacity(ask.len());
            for _ in &ask {
                let n = r.count(HEAD_PREFIX)?;
                prefixes.push(r.raw(n * HEAD_PREFIX)?);
            }
            r.end()?;
            for (id, prefixes) in ask.iter().zip(prefixes) {
                // Every stored document has heads: none means the client does not hold it.
                if prefixes.is_empty() {
                    continue;
                }
                match self.resolve_heads(id, prefixes)? {
                    Some(heads) => {
                        theirs.insert(id.clone(), heads);
                    }
                    // Heads we do not hold: automerge sync finds what each side lacks.
                    None => unresolved.push(id.clone()),
                }
            }
        }
        let candidates: BTreeSet<&str> = ask
            .iter()
            .chain(theirs.keys())
            .map(String::as_str)
            .filter(|id| !unresolved.iter().any(|u| u == id))
            .collect();
        let mine: Vec<_> = candidates
            .into_iter()
            .filter_map(|id| summary.get(id))
            .collect();
        self.send_plan(&mine, &theirs, unresolved)?;
        self.transfer(false)
    }

    /// The full hashes of the changes of our `id` whose first bytes are `prefixes`
    /// ([`HEAD_PREFIX`] each); None when one names no change of ours or more than one.
    fn resolve_heads(
        &mut self,
        id: &str,
        prefixes: &[u8],
    ) -> Result<Option<Vec<ChangeHash>>, PeerError> {
        let Some(doc) = self.store.load(id)? else {
            return Ok(None);
        };
        let mut found: Vec<Option<ChangeHash>> = vec![None; prefixes.len() / HEAD_PREFIX];
        for change in doc.get_changes(&[]) {
            let hash = change.hash();
            for (k, p) in prefixes.chunks_exact(HEAD_PREFIX).enumerate() {
                if hash.0[..HEAD_PREFIX] == *p {
                    if found[k].is_some() {
                        return Ok(None);
                    }
                    found[k] = Some(hash);
                }
            }
        }
        let mut heads: Option<Vec<ChangeHash>> = found.into_iter().collect();
        if let Some(h) = &mut heads {
            h.sort();
        }
        Ok(heads)
    }

    /// Plan over our documents `mine` and the client's heads `theirs` of the same candidates: what
    /// each side lacks travels whole, changes for a client only behind, automerge sync for the rest.
    fn send_plan(
        &mut self,
        mine: &[&(String, Vec<ChangeHash>)],
        theirs: &BTreeMap<String, Vec<ChangeHash>>,
        mut both: Vec<String>,
    ) -> Result<(), PeerError> {
        let mut want = Vec::new();
        let mut held = BTreeSet::new();
        for &(id, heads) in mine {
            held.insert(id.as_str());
            match theirs.get(id) {
                None => self.full_queue.push_back(id.clone()),
                Some(h) if h != heads => {
                    if self.version > 1 && self.holds_all(id, h)? {
                        self.push_queue.push_back((id.clone(), h.clone()));
                    } else {
                        both.push(id.clone());
                    }
                }
                Some(_) => {}
            }
        }
        // Sent in id order (the buckets scatter them), as `want` is: a phone receiving many new
        // documents then appends to the end of each table and index it writes, instead of touching
        // one page per document in each of them in every transaction.
        self.full_queue.make_contiguous().sort();
        for id in theirs.keys() {
            if !held.contains(id.as_str()) {
                want.push(id.clone());
            }
        }
        both.sort();
        let mut w = Writer::new(M_PLAN);
        w.uint(want.len() as u64);
        for id in &want {
            w.bytes(id.as_bytes());
        }
        w.uint(both.len() as u64);
        for id in &both {
            w.bytes(id.as_bytes());
        }
        self.send(&w.buf)?;
        self.stats.rounds += 1;
        self.sync_queue.extend(both);
        Ok(())
    }

    /// The client's stores after the transfer against ours: the same gives it our mark; different
    /// after a session from a checkpoint falls back to buckets once.
    fn server_verify(&mut self, may_fall_back: bool) -> Result<(), PeerError> {
        let msg = self.expect(M_VERIFY)?;
        let mut r = Reader::new(&msg[1..]);
        let their_count = usize::try_from(r.uint()?).map_err(|_| PeerError::Protocol("count"))?;
        let their_total = r.raw(32)?;
        r.end()?;
        let (entries, mark) = self.store.snapshot()?;
        let summary = Summary::new(entries);
        if summary.entries.len() == their_count && summary.total() == their_total {
            let mut w = Writer::new(M_UNVERIFIED);
            if let Some(m) = mark {
                w = Writer::new(M_VERIFIED);
                w.raw(&m.epoch);
                w.uint(m.seq);
                self.stats.verified = true;
            }
            return self.send(&w.buf);
        }
        if may_fall_back {
            self.stats.fell_back = true;
            self.states.clear();
            self.server_buckets(&summary, their_count)?;
            drop(summary);
            return self.server_verify(false);
        }
        self.send(&[M_UNVERIFIED])
    }

    /// Version 2: the client names the differing buckets; answer with the hashes of their fine
    /// buckets. Returns the fine bucket count and our documents per fine bucket.
    fn fine_buckets(
        &mut self,
        summary: &Summary,
        n: usize,
    ) -> Result<(usize, Vec<Vec<usize>>), PeerError> {
        let msg = self.expect(M_DIFFER)?;
        let mut r = Reader::new(&msg[1..]);
        let mut differ_coarse = Vec::new();
        for _ in 0..r.count(1)? {
            let b = usize::try_from(r.uint()?).map_err(|_| PeerError::Protocol("bucket"))?;
            if b >= n || differ_coarse.last().is_some_and(|&last| b <= last) {
                return Err(PeerError::Protocol("bucket index out of order"));
            }
            differ_coarse.push(b);
        }
        r.end()?;
        let n = n * FINE_SPLIT;
        let buckets = summary.buckets(n);
        let fine = fine_of(&differ_coarse, n / FINE_SPLIT);
        let mut w = Writer::new(M_FINE);
        for h in
            summary.bucket_hashes(&fine.iter().map(|&f| buckets[f].clone()).collect::<Vec<_>>())
        {
            w.raw(&h);
        }
        self.send(&w.buf)?;
        self.stats.rounds += 1;
        Ok((n, buckets))
    }

    /// True when our copy of `id` holds every change in `heads` (the other side is only behind).
    fn holds_all(&mut self, id: &str, heads: &[ChangeHash]) -> Result<bool, PeerError> {
        Ok(self
            .store
            .load(id)?
            .is_some_and(|doc| doc.get_missing_deps(heads).is_empty()))
    }

    /// This side is a client of version 4: its verify answers the server's finish.
    fn verify_follows_finish(&self) -> bool {
        self.role == Role::Client && self.version >= CHECKPOINT_VERSION
    }

    /// Receive one message that must be of `kind` (its body starts after the kind byte).
    fn expect(&mut self, kind: u8) -> Result<Vec<u8>, PeerError> {
        let msg = self.recv()?;
        match msg.first() {
            Some(&k) if k == kind => Ok(msg),
            k => Err(unexpected(k)),
        }
    }

    fn expect_ack(&mut self) -> Result<(), PeerError> {
        let msg = self.recv()?;
        match msg.first() {
            Some(&M_ACK) if msg.len() == 1 => Ok(()),
            k => Err(unexpected(k)),
        }
    }

    fn transfer(&mut self, i_start: bool) -> Result<(), PeerError> {
        let mut peer_empty = false;
        if !i_start {
            match self.recv_turn()? {
                TurnEnd::Finished => return Ok(()),
                TurnEnd::Turn { empty } => peer_empty = empty,
            }
        }
        loop {
            if self.stats.rounds > MAX_TURNS {
                return Err(PeerError::Protocol("the session did not settle"));
            }
            if self.send_turn(peer_empty)? {
                return Ok(());
            }
            match self.recv_turn()? {
                TurnEnd::Finished => return Ok(()),
                TurnEnd::Turn { empty } => peer_empty = empty,
            }
        }
    }

    /// Take a document out of the session's buffers or the store.
    fn take_doc(&mut self, id: &str) -> Result<Option<(Automerge, bool)>, PeerError> {
        if let Some((doc, _)) = self.dirty.remove(id) {
            return Ok(Some((doc, true)));
        }
        Ok(self.store.load(id)?.map(|d| (d, false)))
    }

    fn state_for(&mut self, id: &str) -> Result<sync::State, PeerError> {
        if let Some(s) = self.states.remove(id) {
            return Ok(s);
        }
        Ok(match self.store.load_peer_state(self.peer, id)? {
            // A state that does not decode only costs a longer sync: start afresh.
            Some(bytes) => sync::State::decode(&bytes).unwrap_or_default(),
            None => sync::State::new(),
        })
    }

    fn activate(&mut self, id: &str) -> Result<(), PeerError> {
        if self.active.contains_key(id) {
            return Ok(());
        }
        let (doc, changed) = self
            .take_doc(id)?
            .unwrap_or_else(|| (Automerge::new(), false));
        let state = self.state_for(id)?;
        self.states.insert(id.to_string(), state);
        self.active.insert(id.to_string(), Active { doc, changed });
        Ok(())
    }

    fn deactivate(&mut self, id: &str) {
        if let Some(a) = self.active.remove(id) {
            if a.changed {
                self.dirty.insert(id.to_string(), (a.doc, None));
            }
            if let Some(st) = self.states.get(id) {
                self.pending_states.push((id.to_string(), st.encode()));
            }
        }
    }

    /// Store waiting documents, then the sync states (a state never claims changes not yet stored).
    /// With `all`, documents still syncing are stored too.
    fn flush(&mut self, all: bool) -> Result<(), PeerError> {
        if all {
            let ids: Vec<String> = self.active.keys().cloned().collect();
            for id in ids {
                self.deactivate(&id);
            }
        }
        if !self.dirty.is_empty() {
            // Nothing is stored that would not open again: automerge accepts some documents from
            // another phone whose save does not load (`crdt::reopens`); merged into ours and stored,
            // one would make the child's document unopenable, our own weighings with it. The checked
            // save is what the store writes.
            let mut docs = Vec::with_capacity(self.dirty.len());
            for (id, (doc, loaded_from)) in self.dirty.drain() {
                let Some(saved) = crdt::save_reopening(&doc, loaded_from.as_deref()) else {
                    return Err(PeerError::Document(
                        "a received document would not open again once stored".into(),
                    ));
                };
                docs.push(Received { id, doc, saved });
            }
            docs.sort_by(|a, b| a.id.cmp(&b.id));
            self.store.store(&mut docs)?;
            self.stats.docs_stored += docs.len();
            self.stats.store_batches += 1;
        }
        if all || !self.pending_states.is_empty() {
            // Everything handed to the store is written before a sync state that may claim it is.
            self.store.stored()?;
        }
        if !self.pending_states.is_empty() {
            let states = std::mem::take(&mut self.pending_states);
            self.store.save_peer_states(self.peer, &states)?;
        }
        Ok(())
    }

    fn receive_doc(&mut self, id: String, bytes: &[u8]) -> Result<(), PeerError> {
        // Bytes from the other phone: a panic inside automerge is an error too (`crdt::catch_panic`);
        // a document it left half merged is dropped with the session, never stored.
        let mut incoming = crdt::load(bytes)
            .map_err(|_| PeerError::Document("a received document could not be loaded".into()))?;
        let merge_err = |_| PeerError::Document("a received document could not be merged".into());
        if let Some(a) = self.active.get_mut(&id) {
            let before = a.doc.get_heads();
            crdt::merge(&mut a.doc, &mut incoming).map_err(merge_err)?;
            if a.doc.get_heads() != before {
                a.changed = true;
                self.received_changes.insert(id);
            }
            return Ok(());
        }
        match self.take_doc(&id)? {
            Some((mut local, changed)) => {
                let before = local.get_heads();
                crdt::merge(&mut local, &mut incoming).map_err(merge_err)?;
                if changed || local.get_heads() != before {
                    if local.get_heads() != before {
                        self.received_changes.insert(id.clone());
                    }
                    self.dirty.insert(id, (local, None));
                }
            }
            None => {
                self.received_changes.insert(id.clone());
                self.dirty.insert(id, (incoming, Some(bytes.to_vec())));
            }
        }
        Ok(())
    }

    /// Changes the server sent because this side was only behind: applied to our copy, which must
    /// then miss nothing.
    fn receive_changes(&mut self, id: String, bytes: &[u8]) -> Result<(), PeerError> {
        let apply = |doc: &mut Automerge| -> Result<bool, PeerError> {
            let before = doc.get_heads();
            // As in `receive_doc`: a document left half changed by a panic is never stored.
            crdt::catch_panic(|| doc.load_incremental(bytes))
                .and_then(Result::ok)
                .ok_or_else(|| {
                    PeerError::Document("received changes could not be applied".into())
                })?;
            if !doc.get_missing_deps(&[]).is_empty() {
                return Err(PeerError::Document(
                    "received changes depend on changes that were not sent".into(),
                ));
            }
            Ok(doc.get_heads() != before)
        };
        if let Some(a) = self.active.get_mut(&id) {
            if apply(&mut a.doc)? {
                a.changed = true;
                self.received_changes.insert(id);
            }
            return Ok(());
        }
        let Some((mut local, changed)) = self.take_doc(&id)? else {
            return Err(PeerError::Document(
                "changes arrived for a document this device does not hold".into(),
            ));
        };
        let grew = apply(&mut local)?;
        if grew {
            self.received_changes.insert(id.clone());
        }
        if grew || changed {
            self.dirty.insert(id, (local, None));
        }
        Ok(())
    }

    fn receive_sync(&mut self, id: String, bytes: &[u8]) -> Result<(), PeerError> {
        let msg = crdt::catch_panic(|| sync::Message::decode(bytes))
            .and_then(Result::ok)
            .ok_or_else(|| PeerError::Document("a sync message could not be decoded".into()))?;
        self.activate(&id)?;
        let state = self.states.entry(id.clone()).or_default();
        if let Some(a) = self.active.get_mut(&id) {
            let before = a.doc.get_heads();
            // As in `receive_doc`: a document left half changed by a panic is never stored.
            crdt::catch_panic(|| a.doc.receive_sync_message(state, msg))
                .and_then(Result::ok)
                .ok_or_else(|| PeerError::Document("a sync message could not be applied".into()))?;
            if a.doc.get_heads() != before {
                a.changed = true;
                self.received_changes.insert(id);
            }
        }
        Ok(())
    }

    /// Read one turn of the other side (one or more batch frames), or its finish.
    fn recv_turn(&mut self) -> Result<TurnEnd, PeerError> {
        let mut items = 0usize;
        loop {
            let msg = self.recv()?;
            let mut r = Reader::new(&msg);
            let kind = r.u8()?;
            match kind {
                M_BATCH_LAST | M_BATCH_MORE => {
                    // Before automerge sees any of it: what the frame's chunks inflate to, bounded.
                    crate::inflate::check(&msg, self.cfg.inflate_budget)
                        .map_err(|e| PeerError::Document(e.to_string()))?;
                }
                M_FINISH => {
                    r.end()?;
                    self.flush(true)?;
                    // From version 4 a client answers a finish with its verify (which says it stored
                    // everything too), so the two sides still take strict turns.
                    if !self.verify_follows_finish() {
                        self.send(&[M_ACK])?;
                    }
                    return Ok(TurnEnd::Finished);
                }
                k => return Err(unexpected(Some(&k))),
            }
            while let Ok(tag) = r.u8() {
                let id = r.string()?;
                let body = r.bytes()?;
                match tag {
                    ITEM_DOC => self.receive_doc(id, body)?,
                    ITEM_SYNC => self.receive_sync(id, body)?,
                    ITEM_CHANGES => self.receive_changes(id, body)?,
                    _ => return Err(PeerError::Protocol("unknown batch item")),
                }
                items += 1;
                if self.dirty.len() >= self.cfg.batch_docs {
                    self.flush(false)?;
                }
            }
            // What arrived in this frame is stored before the next is read: a dropped link loses at
            // most one frame.
            self.flush(false)?;
            if kind == M_BATCH_LAST {
                return Ok(TurnEnd::Turn { empty: items == 0 });
            }
        }
    }

    /// Send one turn. Returns true when it was the finish (acknowledged): the session is over.
    fn send_turn(&mut self, peer_empty: bool) -> Result<bool, PeerError> {
        let mut syncs: Vec<(String, Vec<u8>)> = Vec::new();
        let ids: Vec<String> = self.active.keys().cloned().collect();
        for id in ids {
            match self.generate(&id)? {
                Some(m) => syncs.push((id, m)),
                None => self.deactivate(&id),
            }
        }
        while self.active.len() < self.cfg.sync_window.max(1) {
            let Some(id) = self.sync_queue.pop_front() else {
                break;
            };
            if self.states.contains_key(&id) {
                continue; // already synced in this session, on the other side's initiative
            }
            self.activate(&id)?;
            match self.generate(&id)? {
                Some(m) => syncs.push((id, m)),
                None => self.deactivate(&id),
            }
        }
        self.stats.rounds += 1;
        if syncs.is_empty()
            && self.full_queue.is_empty()
            && self.sync_queue.is_empty()
            && self.push_queue.is_empty()
            && peer_empty
        {
            self.flush(true)?;
            self.send(&[M_FINISH])?;
            // A client of version 4 answers with its verify, which the server reads next.
            if !(self.role == Role::Server && self.version >= CHECKPOINT_VERSION) {
                self.expect_ack()?;
            }
            return Ok(true);
        }
        let budget = self.cfg.frame_budget.clamp(1024, MAX_MESSAGE);
        let mut frame = Writer::new(M_BATCH_LAST);
        for (id, m) in syncs {
            self.push_item(&mut frame, ITEM_SYNC, &id, &m, budget)?;
        }
        while let Some(id) = self.full_queue.pop_front() {
            let bytes = match self.store.stored_save(&id)? {
                Some(bytes) => bytes,
                None => match self.store.load(&id)? {
                    Some(doc) => doc.save(),
                    None => continue,
                },
            };
            self.push_item(&mut frame, ITEM_DOC, &id, &bytes, budget)?;
            self.stats.docs_sent += 1;
        }
        while let Some((id, their_heads)) = self.push_queue.pop_front() {
            let Some(doc) = self.store.load(&id)? else {
                continue;
            };
            let changes = doc.get_changes(&their_heads);
            let mut bytes = Vec::with_capacity(changes.iter().map(|c| c.raw_bytes().len()).sum());
            for c in &changes {
                bytes.extend_from_slice(c.raw_bytes());
            }
            drop(changes);
            if bytes.len() + id.len() + 32 > MAX_MESSAGE {
                // Very many changes: the whole document, compact, merges the same.
                let whole = doc.save();
                self.push_item(&mut frame, ITEM_DOC, &id, &whole, budget)?;
            } else {
                self.push_item(&mut frame, ITEM_CHANGES, &id, &bytes, budget)?;
            }
            self.sent_changes.insert(id);
        }
        self.send(&frame.buf)?;
        Ok(false)
    }

    /// The next sync message for `id`, if any. A sync state the other phone's messages made
    /// inconsistent can make automerge panic here: that is an error ending the session.
    fn generate(&mut self, id: &str) -> Result<Option<Vec<u8>>, PeerError> {
        let Some(a) = self.active.get(id) else {
            return Ok(None);
        };
        let st = self.states.entry(id.to_string()).or_default();
        let m = crdt::catch_panic(|| {
            a.doc
                .generate_sync_message(st)
                .map(|m| (!m.changes.is_empty(), m.encode()))
        })
        .ok_or_else(|| PeerError::Document("a sync message could not be made".into()))?;
        Ok(m.map(|(with_changes, bytes)| {
            if with_changes {
                self.sent_changes.insert(id.to_string());
            }
            bytes
        }))
    }

    /// Add one item to the frame being built, sending the frame first when the item would overflow it.
    fn push_item(
        &mut self,
        frame: &mut Writer,
        tag: u8,
        id: &str,
        body: &[u8],
        budget: usize,
    ) -> Result<(), PeerError> {
        let size = 1 + 10 + id.len() + 10 + body.len();
        if 1 + size > MAX_MESSAGE {
            return Err(PeerError::Document(
                "a document is larger than the largest frame".into(),
            ));
        }
        if frame.len() > 1 && frame.len() + size > budget {
            frame.buf[0] = M_BATCH_MORE;
            self.send(&frame.buf)?;
            *frame = Writer::new(M_BATCH_LAST);
        }
        frame.raw(&[tag]);
        frame.bytes(id.as_bytes());
        frame.bytes(body);
        Ok(())
    }
}
