//! Fuzz target bodies: one function per parser of bytes from outside the phone.
//!
//! Each `pub fn NAME(data: &[u8])` takes any input and must return: no panic, no hang, no allocation
//! without bound. The cargo-fuzz crate in `tests/fuzz/` (nightly, outside the workspace) calls them
//! from `fuzz_targets/NAME.rs`; `tests/tests/fuzz_corpus.rs` replays every saved corpus and regression
//! file through the same functions on stable, so `cargo test --workspace` keeps what the fuzzer learnt.
//! [`seeds`] makes the valid inputs the corpora start from.
//!
//! | target             | what the bytes are                                                       |
//! |--------------------|--------------------------------------------------------------------------|
//! | `pairing_code`     | a pairing or invite code typed or scanned (lossy UTF-8)                  |
//! | `handshake`        | what a stranger sends at the sealed channel's handshake (both sides)     |
//! | `session_messages` | sealed messages from a paired phone into a real sync session             |
//! | `document`         | a stored or received child document, as the store and projections read it |
//! | `anthro_csv`       | a CSV given to `timbang anthro`                                          |
//! | `register_csv`     | a posyandu register given to `timbang import`, into a real phone         |
//! | `asik_responses`   | what a SATUSEHAT server answers to a phone uploading (status, headers, body) |
//!
//! Every harness is deterministic given its input (the channel's nonces are random, but no path
//! depends on them) and single-threaded once the handshake is done.

pub mod seeds;

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};
use std::sync::{Mutex, Once, OnceLock};

use timbang_core::crdt;
use timbang_core::crypto::{Key, sha256};
use timbang_core::growth::{self, ChildInfo, KbmTable};
use timbang_core::peer::memory::MemoryStore;
use timbang_core::peer::pipe::{PipeEnd, duplex};
use timbang_core::peer::{
    PeerError, Role, SecureChannel, SessionConfig, SyncStats, TeamSecret, make_invite_code,
    make_pairing_code, parse_invite_code, parse_pairing_code, run_session,
};
use timbang_core::store::projection::{VisitRow, assess_all};

/// Names of every target, as the folders under `tests/fuzz/corpus/` and `tests/fuzz/regressions/`.
pub const TARGETS: &[&str] = &[
    "pairing_code",
    "handshake",
    "session_messages",
    "document",
    "anthro_csv",
    "register_csv",
    "asik_responses",
];

/// Run target `name` on `data`; false when there is no such target.
pub fn run(name: &str, data: &[u8]) -> bool {
    match name {
        "pairing_code" => pairing_code(data),
        "handshake" => handshake(data),
        "session_messages" => session_messages(data),
        "document" => document(data),
        "anthro_csv" => anthro_csv(data),
        "register_csv" => register_csv(data),
        "asik_responses" => asik_responses(data),
        _ => return false,
    }
    true
}

/// What a cargo-fuzz target runs: `target(data)`, where only a panic that escapes it counts.
///
/// libfuzzer-sys installs a panic hook that aborts the process on every panic, even one the core
/// catches on purpose (`crdt::catch_panic` around automerge). This replaces it, once, with a hook that
/// only remembers the message; a panic that escapes `target` prints that message and aborts, which
/// libFuzzer reports as a crash and saves the input.
pub fn fuzz_entry(target: fn(&[u8]), data: &[u8]) {
    static HOOK: Once = Once::new();
    static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            if let Ok(mut last) = LAST_PANIC.lock() {
                *last = Some(info.to_string());
            }
        }));
    });
    if std::panic::catch_unwind(|| target(data)).is_err() {
        let message = LAST_PANIC.lock().ok().and_then(|mut m| m.take());
        eprintln!(
            "the fuzz target panicked: {}",
            message.as_deref().unwrap_or("(no message)")
        );
        std::process::abort();
    }
}

/// The team every harness uses: fixed, so that saved inputs carry its id and reach past the checks.
pub fn team() -> TeamSecret {
    TeamSecret {
        team_id: *b"timbang-fuzzteam",
        secret: Key::from_bytes(&[0x5a; 32]).expect("32 bytes are a key"),
    }
}

/// 1. A pairing or invite code: refused with an error, or read into a team whose code reads back the
///    same.
pub fn pairing_code(data: &[u8]) {
    let code = String::from_utf8_lossy(data);
    let pairing = parse_pairing_code(&code);
    match parse_invite_code(&code) {
        Ok(invite) => {
            assert_eq!(pairing.ok().as_ref(), Some(&invite.team));
            let again = match invite.kbm_table {
                Some(table) => make_invite_code(&invite.team, table)
                    .expect("a table read from an invite can be named in one"),
                None => make_pairing_code(&invite.team),
            };
            assert_eq!(
                parse_invite_code(&again).ok(),
                Some(invite),
                "a code read does not read back the same"
            );
        }
        Err(_) => assert!(pairing.is_err()),
    }
}

/// A stream that yields `data` and swallows writes.
#[derive(Debug)]
pub struct Feed {
    data: Cursor<Vec<u8>>,
}

impl Feed {
    /// A stream reading `data`.
    pub fn new(data: &[u8]) -> Self {
        Self {
            data: Cursor::new(data.to_vec()),
        }
    }
}

impl Read for Feed {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.data.read(buf)
    }
}

impl Write for Feed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// 2. What a stranger sends at the handshake, to the side that accepts and to the side that dials.
///    Without the team secret no handshake can complete (the proofs cover our random nonce), so both
///    must return an error.
pub fn handshake(data: &[u8]) {
    let team = team();
    assert!(
        SecureChannel::accept(Feed::new(data), &team, "fuzz-phone").is_err(),
        "a stranger's bytes completed the handshake (accept)"
    );
    assert!(
        SecureChannel::connect(Feed::new(data), &team, "fuzz-phone").is_err(),
        "a stranger's bytes completed the handshake (connect)"
    );
}

/// The input of `session_messages`: a flags byte, then messages each as a big-endian `u16` length
/// and that many bytes (a last message cut short keeps what is there).
///
/// Flags: bit 0 set = this phone dialled (it runs the client side; the paired peer accepted), clear =
/// the peer dialled and this phone serves; bit 1 set = a small [`SessionConfig`] (one document per
/// batch and per sync window, 1 KiB frames), so that batching paths run on few documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInput {
    pub flags: u8,
    pub messages: Vec<Vec<u8>>,
}

impl SessionInput {
    /// Split fuzz bytes into flags and messages.
    pub fn decode(data: &[u8]) -> Self {
        let (flags, mut rest) = match data.split_first() {
            Some((&f, rest)) => (f, rest),
            None => (0, &[][..]),
        };
        let mut messages = Vec::new();
        while !rest.is_empty() {
            let (len, body) = match rest {
                [a, b, body @ ..] => (usize::from(u16::from_be_bytes([*a, *b])), body),
                _ => (rest.len(), rest),
            };
            let take = len.min(body.len());
            messages.push(body[..take].to_vec());
            rest = &body[take..];
        }
        Self { flags, messages }
    }

    /// The fuzz bytes of flags and messages (messages longer than 65,535 bytes are cut).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.flags];
        for m in &self.messages {
            let len = m.len().min(usize::from(u16::MAX));
            out.extend_from_slice(&(len as u16).to_be_bytes());
            out.extend_from_slice(&m[..len]);
        }
        out
    }

    /// The role this phone runs.
    pub fn role(&self) -> Role {
        if self.flags & 1 == 1 {
            Role::Client
        } else {
            Role::Server
        }
    }

    /// The session configuration this phone runs with.
    pub fn config(&self) -> SessionConfig {
        if self.flags & 2 == 2 {
            SessionConfig {
                batch_docs: 1,
                frame_budget: 1024,
                sync_window: 1,
                ..SessionConfig::default()
            }
        } else {
            SessionConfig::default()
        }
    }
}

/// The phone under test in `session_messages`: two registered children (the first weighed once).
/// Built once, the same in every process (fixed ids, actors and times), so saved inputs stay valid.
pub fn session_store() -> &'static MemoryStore {
    static STORE: OnceLock<MemoryStore> = OnceLock::new();
    STORE.get_or_init(|| {
        let f = seeds::Fixture::new();
        let mut store = MemoryStore::default();
        store.put(&f.id_a, &f.ours_a);
        store.put(&f.id_b, &f.b);
        store
    })
}

/// The handshake between this phone (`ours`, in `role`) and the paired peer (`theirs`, the other
/// role), each on its own thread. None when it failed (it cannot with the same team).
pub fn paired_channels(
    ours: PipeEnd,
    theirs: PipeEnd,
    role: Role,
) -> Option<(SecureChannel<PipeEnd>, String, SecureChannel<PipeEnd>)> {
    let team = team();
    std::thread::scope(|s| {
        let peer_team = team.clone();
        let peer = s.spawn(move || match role {
            Role::Client => SecureChannel::accept(theirs, &peer_team, "peer-phone"),
            Role::Server => SecureChannel::connect(theirs, &peer_team, "peer-phone"),
        });
        let mine = match role {
            Role::Client => SecureChannel::connect(ours, &team, "fuzz-phone"),
            Role::Server => SecureChannel::accept(ours, &team, "fuzz-phone"),
        };
        let peer = peer.join().ok()?.ok()?;
        let (mine, peer_id) = mine.ok()?;
        Some((mine, peer_id, peer.0))
    })
}

/// Run one session of this phone against a paired peer that sends `input`'s messages (all of them
/// at once, then closes its sending half; it reads nothing), on a copy of [`session_store`]. Returns
/// the session's result and the store after it.
pub fn run_session_input(input: &SessionInput) -> (Result<SyncStats, PeerError>, MemoryStore) {
    let mut store = session_store().clone();
    let (x, y) = duplex();
    let role = input.role();
    let Some((mut ours, peer_id, mut peer)) = paired_channels(x, y, role) else {
        return (Err(PeerError::NotPaired), store);
    };
    for m in &input.messages {
        if peer.send(&with_valid_batch_checksums(m)).is_err() {
            break;
        }
    }
    // The peer stops sending but keeps its end open, so what this phone writes never fails and the
    // path taken depends on the input alone.
    let mut peer_end = peer.into_inner();
    peer_end.shutdown_write();
    let result = run_session(&mut ours, &mut store, &peer_id, role, &input.config());
    drop(peer_end);
    (result, store)
}

fn leb_at(b: &[u8], p: &mut usize) -> Option<usize> {
    let mut v: u64 = 0;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*p)?;
        *p += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return usize::try_from(v).ok();
        }
    }
    None
}

/// The range of `n` bytes at `p` (moving past it), if there are that many.
fn take(b: &[u8], p: &mut usize, n: usize) -> Option<std::ops::Range<usize>> {
    let end = p.checked_add(n).filter(|&e| e <= b.len())?;
    let r = *p..end;
    *p = end;
    Some(r)
}

/// Make every chunk checksum right inside a session batch message (kind 6 or 7): the documents sent
/// whole and the changes inside automerge sync messages, in place (a checksum is fixed-size), so the
/// fuzzer's mutations of them reach automerge's parsers as a peer that computes its checksums would.
/// Anything else, and whatever does not parse, is left as it is.
pub fn with_valid_batch_checksums(msg: &[u8]) -> Vec<u8> {
    let mut out = msg.to_vec();
    if !matches!(out.first(), Some(6 | 7)) {
        return out;
    }
    let mut p = 1;
    while p < out.len() {
        let tag = out[p];
        p += 1;
        let Some(body) = leb_at(&out, &mut p)
            .and_then(|n| take(&out, &mut p, n))
            .and_then(|_| leb_at(&out, &mut p))
            .and_then(|n| take(&out, &mut p, n))
        else {
            break;
        };
        let fixed = match tag {
            1 => with_valid_checksums(&out[body.clone()]),
            2 => with_valid_sync_checksums(&out[body.clone()]),
            _ => continue,
        };
        out[body].copy_from_slice(&fixed);
    }
    out
}

/// The changes of an automerge sync message (heads, need, haves, then length-prefixed changes) with
/// their checksums made right.
fn with_valid_sync_checksums(msg: &[u8]) -> Vec<u8> {
    let mut out = msg.to_vec();
    let mut p = 1;
    let hashes = |b: &[u8], p: &mut usize| {
        leb_at(b, p)
            .and_then(|n| n.checked_mul(32))
            .and_then(|n| take(b, p, n))
    };
    let changes = (|| {
        hashes(&out, &mut p)?;
        hashes(&out, &mut p)?;
        for _ in 0..leb_at(&out, &mut p)? {
            hashes(&out, &mut p)?;
            let n = leb_at(&out, &mut p)?;
            take(&out, &mut p, n)?;
        }
        let mut ranges = Vec::new();
        for _ in 0..leb_at(&out, &mut p)? {
            let n = leb_at(&out, &mut p)?;
            ranges.push(take(&out, &mut p, n)?);
        }
        Some(ranges)
    })();
    for r in changes.unwrap_or_default() {
        let fixed = with_valid_checksums(&out[r.clone()]);
        out[r].copy_from_slice(&fixed);
    }
    out
}

/// 3. A paired phone (it holds the team secret) sending messages into a real sync session. The
///    session ends (it cannot wait: the peer has hung up) and every document it stored still loads.
pub fn session_messages(data: &[u8]) {
    let (_, store) = run_session_input(&SessionInput::decode(data));
    for id in store.ids() {
        assert!(
            store.get(&id).is_some(),
            "a document stored by a session does not load"
        );
    }
}

/// 4. A stored or received document, after opening: loading, reading the child, its conflicts, and
///    what the projections compute from it (the assessment of every visit). The bytes are tried as
///    they are and with every chunk's checksum made right (see [`with_valid_checksums`]), since a
///    peer that wants to send a malformed document computes its checksums.
pub fn document(data: &[u8]) {
    open_document(data);
    let fixed = with_valid_checksums(data);
    if fixed != data {
        open_document(&fixed);
    }
}

fn open_document(data: &[u8]) {
    // The core's guarded load (a panic inside automerge is an error: `crdt::catch_panic`).
    let Ok(mut doc) = crdt::load(data) else {
        return;
    };
    // What the core would store (`crdt::save_reopening`, checked before a session stores anything)
    // opens again reading the same child, alone and merged into one of ours (as a received document
    // is); so does the deflated save a later compaction writes.
    let child = crdt::read_child(&doc);
    let reopened = |doc: &automerge::Automerge, loaded_from: Option<&[u8]>| {
        let saved = crdt::save_reopening(doc, loaded_from)?;
        let again = crdt::load(&saved).expect("save_reopening, so it loads");
        let compacted =
            crdt::load(&doc.save()).expect("save_reopening, so its deflated save loads");
        Some((again, compacted))
    };
    for from in [None, Some(data)] {
        if let Some((again, compacted)) = reopened(&doc, from) {
            for d in [again, compacted] {
                assert_eq!(
                    crdt::read_child(&d).ok(),
                    child.as_ref().ok().cloned(),
                    "a document read differently once saved and opened again"
                );
            }
        }
    }
    let mut ours = crdt::load(fixture_doc()).expect("the fixture opens");
    if crdt::merge(&mut ours, &mut doc).is_ok()
        && let Some((again, compacted)) = reopened(&ours, None)
    {
        for d in [again, compacted] {
            assert_eq!(
                crdt::read_child(&d).ok(),
                crdt::read_child(&ours).ok(),
                "a merged document read differently once saved and opened again"
            );
        }
    }
    let _ = crdt::conflicts(&doc);
    let Ok(child) = child else {
        return;
    };
    let _ = serde_json::to_string(&(&child.identity, child.merged_into.as_ref(), child.deleted));
    let mut visits: BTreeMap<_, crdt::VisitFields> = BTreeMap::new();
    for (date, v) in &child.visits {
        if !v.deleted {
            visits.entry(*date).or_default().fill_from(v);
        }
    }
    visits.retain(|_, v| v.has_data());
    if let (Some(sex), Some(birth_date)) = (child.identity.sex, child.identity.birth_date) {
        let info = ChildInfo { sex, birth_date };
        let assessments = assess_all(&info, &visits, KbmTable::default_table());
        for ((date, v), a) in visits.iter().zip(&assessments) {
            let _ = VisitRow::build(*date, v, a, 1);
        }
    }
}

/// Child A as this phone holds it (the document fuzzed documents are merged into), saved.
fn fixture_doc() -> &'static [u8] {
    static DOC: OnceLock<Vec<u8>> = OnceLock::new();
    DOC.get_or_init(|| seeds::Fixture::new().ours_a.save())
}

const CHUNK_MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

/// `data` with the checksum of every automerge chunk (magic, checksum 4, type 1, LEB128 length,
/// data) set to the first 4 bytes of SHA-256 over the type, the length and the data, so that mutated
/// documents get past the checksum to the parsers behind it. Compressed chunks (type 2, whose
/// checksum covers the inflated change) and whatever does not parse as a chunk are left as they are.
pub fn with_valid_checksums(data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    let mut at = 0;
    while out.len() >= at + 9 && out[at..at + 4] == CHUNK_MAGIC {
        let kind = out[at + 8];
        let mut len: u64 = 0;
        let mut p = at + 9;
        let mut shift = 0;
        loop {
            let Some(&b) = out.get(p) else {
                return out;
            };
            p += 1;
            if shift < 64 {
                len |= u64::from(b & 0x7f) << shift;
            }
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        let Some(end) = usize::try_from(len).ok().and_then(|n| p.checked_add(n)) else {
            return out;
        };
        if end > out.len() {
            return out;
        }
        if kind != 2 {
            let mut hashed = vec![kind];
            let mut n = len;
            loop {
                let byte = (n & 0x7f) as u8;
                n >>= 7;
                if n == 0 {
                    hashed.push(byte);
                    break;
                }
                hashed.push(byte | 0x80);
            }
            hashed.extend_from_slice(&out[p..end]);
            let digest = sha256(&hashed);
            out[at + 4..at + 8].copy_from_slice(&digest[..4]);
        }
        at = end;
    }
    out
}

/// 5. A CSV given to `timbang anthro`, written into a sink.
pub fn anthro_csv(data: &[u8]) {
    let mut rows_seen = 0u64;
    let result = growth::run_batch(data, std::io::sink(), &mut |n| rows_seen = n);
    if let Ok(summary) = result {
        assert_eq!(summary.rows, rows_seen);
    }
}

/// The key of every phone the harnesses open: fixed, so the template phone can be copied.
fn phone_key() -> Key {
    Key::from_bytes(&sha256(b"timbang fuzz phone: synthetic key")).expect("32 bytes are a key")
}

/// Open (creating if need be) the phone at `path` on the fixed date of the harnesses.
pub fn open_phone(path: &std::path::Path) -> timbang_core::Timbang {
    timbang_core::Timbang::open(path, &phone_key(), crate::crash::clock())
        .expect("a phone in a fresh folder opens")
}

/// One phone the register harness imports into, renewed every [`REGISTER_INPUTS_PER_PHONE`] inputs so
/// the database stays small.
struct RegisterPhone {
    _dir: tempfile::TempDir,
    t: timbang_core::Timbang,
    inputs: usize,
}

const REGISTER_INPUTS_PER_PHONE: usize = 200;

/// 6. A register CSV given to `timbang import`, imported into a real phone (SQLite file, sealed
///    values): refused whole with an error naming the file, or imported with a report that adds up
///    (every row read is imported or skipped with its line and reason).
pub fn register_csv(data: &[u8]) {
    static PHONE: Mutex<Option<RegisterPhone>> = Mutex::new(None);
    let mut slot = PHONE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if slot
        .as_ref()
        .is_none_or(|p| p.inputs >= REGISTER_INPUTS_PER_PHONE)
    {
        *slot = None;
        let dir = tempfile::tempdir().expect("a temporary folder");
        let t = open_phone(&dir.path().join("hp.db"));
        t.init("Melati", "Sukamaju", "hp-fuzz")
            .expect("a new phone initialises");
        *slot = Some(RegisterPhone {
            _dir: dir,
            t,
            inputs: 0,
        });
    }
    let Some(phone) = slot.as_mut() else {
        return;
    };
    phone.inputs += 1;
    let mut calls = 0usize;
    match phone.t.import_register("fuzz.csv", data, &mut |done, all| {
        assert!(done <= all, "progress {done} of {all}");
        calls += 1;
    }) {
        Ok(r) => {
            assert_eq!(r.skipped, r.bad_rows.len(), "{r:?}");
            assert!(r.skipped <= r.rows, "{r:?}");
            assert!(r.bad_rows.iter().all(|b| b.line >= 2), "{r:?}");
        }
        Err(e) => assert!(
            e.field().is_some() || matches!(e, timbang_core::Error::Storage { .. }),
            "an import error names no field: {e}"
        ),
    }
}

/// The phone the ASIK harness uploads from: two babies found through their mothers' NIK and a child
/// with a NIK of its own, two visits each, nothing sent yet. Made once; every input gets a copy.
pub fn asik_template() -> &'static std::path::Path {
    static TEMPLATE: OnceLock<tempfile::TempDir> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            use timbang_core::domain::{Measurements, NewChild, Position, Sex, VisitEntry};
            let dir = tempfile::tempdir().expect("a temporary folder");
            let t = open_phone(&dir.path().join("hp.db"));
            t.init("Melati", "Sukamaju", "hp-fuzz")
                .expect("a new phone initialises");
            for i in 0..3u32 {
                let child = NewChild {
                    name: format!("Anak Uji {i}"),
                    sex: if i % 2 == 0 { Sex::Female } else { Sex::Male },
                    birth_date: chrono::NaiveDate::from_ymd_opt(2024, 1 + i, 10).expect("a date"),
                    nik: (i == 2).then(|| CHILD_NIK.to_owned()),
                    kk: None,
                    mother_name: Some(format!("Ibu Uji {i}")),
                    mother_nik: Some(format!("33010141019000{:02}", 10 + i)),
                    address: Some("Dusun Uji".into()),
                };
                let id = t.register_child(child, true).expect("a child").child_id;
                for m in 0..2u32 {
                    let entry = VisitEntry {
                        date: chrono::NaiveDate::from_ymd_opt(2025, 4 + m, 10),
                        measured: Measurements {
                            weight_g: Some(8_000 + 300 * m),
                            height_mm: Some(700 + 10 * m),
                            position: Some(Position::Lying),
                            muac_mm: Some(140),
                            ..Default::default()
                        },
                        ..Default::default()
                    };
                    t.record_visit(&id, entry, true).expect("a visit");
                }
            }
            drop(t);
            dir
        })
        .path()
}

/// The NIK of the template's third child (a girl born 2024-03-10), which the server must know.
pub const CHILD_NIK: &str = "3301015003240002";

/// Where the ASIK harness's phone thinks the server is; nothing listens (the answers come from the input).
pub const ASIK_BASE: &str = "http://127.0.0.1:9/fhir-r4/v1";
/// The OAuth base of [`ASIK_BASE`].
pub const ASIK_AUTH: &str = "http://127.0.0.1:9/oauth2/v1";

/// The configuration the ASIK harness uploads with (small Bundles, so several requests run).
pub fn asik_config(base: &str, auth: &str) -> timbang_core::asik::AsikConfig {
    let mut c = timbang_core::asik::AsikConfig::new(
        base,
        auth,
        asik_server::CLIENT_ID,
        asik_server::CLIENT_SECRET,
        timbang_core::asik::MapConfig::for_org(asik_server::ORG_ID),
    );
    c.max_visits_per_request = 2;
    c.request_timeout_ms = 1_000;
    c
}

/// One answer in an `asik_responses` input: `[u16 BE status][u8 Retry-After seconds, 0xFF for none]
/// [u16 BE body length][body]` (a last answer cut short keeps what is there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsikAnswer {
    pub status: u16,
    pub retry_after: Option<u8>,
    pub body: Vec<u8>,
}

/// The input of `asik_responses`: a flags byte (bit 0: once the answers run out the requests time out
/// instead of finding the server unreachable), then the server's answers in the order the phone asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsikInput {
    pub flags: u8,
    pub answers: Vec<AsikAnswer>,
}

impl AsikInput {
    /// Split fuzz bytes into flags and answers.
    pub fn decode(data: &[u8]) -> Self {
        let (flags, mut rest) = match data.split_first() {
            Some((f, r)) => (*f, r),
            None => (0, data),
        };
        let mut answers = Vec::new();
        while rest.len() >= 5 {
            let status = u16::from_be_bytes([rest[0], rest[1]]);
            let retry_after = (rest[2] != 0xFF).then_some(rest[2]);
            let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
            let body = &rest[5..];
            let take = len.min(body.len());
            answers.push(AsikAnswer {
                status,
                retry_after,
                body: body[..take].to_vec(),
            });
            rest = &body[take..];
        }
        Self { flags, answers }
    }

    /// The fuzz bytes of this input (bodies longer than 65,535 bytes are cut).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.flags];
        for a in &self.answers {
            let len = a.body.len().min(usize::from(u16::MAX));
            out.extend(a.status.to_be_bytes());
            out.push(a.retry_after.unwrap_or(0xFF));
            out.extend((len as u16).to_be_bytes());
            out.extend(&a.body[..len]);
        }
        out
    }
}

/// A server that answers from a script, then stops answering.
#[derive(Debug)]
struct Scripted {
    answers: Mutex<std::collections::VecDeque<AsikAnswer>>,
    time_out: bool,
}

impl timbang_core::host::HttpClient for Scripted {
    fn send(
        &self,
        _request: timbang_core::host::HttpRequest,
    ) -> Result<timbang_core::host::HttpResponse, timbang_core::host::HttpError> {
        use timbang_core::host::{HttpError, HttpHeader, HttpResponse};
        let next = self
            .answers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop_front();
        match next {
            Some(a) => {
                let mut headers = vec![HttpHeader::new("Content-Type", "application/json")];
                if let Some(s) = a.retry_after {
                    headers.push(HttpHeader::new("Retry-After", s.to_string()));
                }
                Ok(HttpResponse {
                    status: a.status,
                    headers,
                    body: a.body,
                })
            }
            None if self.time_out => Err(HttpError::TimedOut),
            None => Err(HttpError::Unreachable {
                message: "connection refused".into(),
            }),
        }
    }
}

/// 7. What a SATUSEHAT server answers a phone uploading (tokens, Patient searches and creations,
///    transaction-responses, OperationOutcomes, any status): the upload ends with a report or an
///    error, never a panic, and leaves the phone's database whole (`check` finds nothing wrong) with
///    its upload state readable.
pub fn asik_responses(data: &[u8]) {
    let _ = asik_replay(data);
}

/// The `asik_responses` harness: a copy of the template phone uploads to a server answering from
/// `data`. Returns the run's result and the upload state after it; panics when the database is not
/// whole afterwards.
pub fn asik_replay(
    data: &[u8],
) -> (
    timbang_core::Result<timbang_core::asik::SyncReport>,
    timbang_core::api::AsikStatus,
) {
    let input = AsikInput::decode(data);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let db = dir.path().join("hp.db");
    std::fs::copy(asik_template().join("hp.db"), &db).expect("the template copies");
    let t = open_phone(&db);
    let http = Scripted {
        answers: Mutex::new(input.answers.into()),
        time_out: input.flags & 1 == 1,
    };
    // A short budget: a backoff or Retry-After past it ends the run at once instead of sleeping.
    let result = t.asik_sync(
        &http,
        &asik_config(ASIK_BASE, ASIK_AUTH),
        timbang_core::asik::SyncReason::Manual,
        std::time::Duration::from_millis(300),
    );
    let status = t.asik_status().expect("the upload state reads");
    let report = t.check(false).expect("the check runs");
    assert!(
        report.ok,
        "the database is not whole after an upload: {report:?}"
    );
    (result, status)
}
