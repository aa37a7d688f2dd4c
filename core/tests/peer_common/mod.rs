//! Shared fixtures of the peer tests and benchmarks: realistic child documents, pipes and a session
//! runner. Included with `#[path]` from `core/benches/peer.rs` too.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use automerge::transaction::Transactable;
use automerge::{Automerge, ObjType, ROOT, ReadDoc};
use std::io::{Read, Write};
use timbang_core::peer::memory::MemoryStore;
use timbang_core::peer::{
    PeerError, SecureChannel, SyncStats, TeamSecret, pipe, sync_as_client, sync_as_server,
};

/// A child document as the app writes it: identity, then one change per visit.
pub fn child_doc(n: usize, visits: usize) -> Automerge {
    let mut doc = Automerge::new();
    let mut tx = doc.transaction();
    tx.put(ROOT, "child_id", child_id(n)).unwrap();
    let ident = tx.put_object(ROOT, "identity", ObjType::Map).unwrap();
    tx.put(&ident, "name", format!("Anak {n}")).unwrap();
    tx.put(&ident, "sex", if n.is_multiple_of(2) { "L" } else { "P" })
        .unwrap();
    tx.put(&ident, "birth_date", "2023-04-17").unwrap();
    tx.put(&ident, "nik", format!("3201{:012}", n)).unwrap();
    tx.put(&ident, "mother_name", format!("Ibu {n}")).unwrap();
    tx.put(&ident, "mother_nik", format!("3201{:012}", n + 1_000_000))
        .unwrap();
    tx.put_object(ROOT, "visits", ObjType::Map).unwrap();
    tx.commit();
    for v in 0..visits {
        add_visit(
            &mut doc,
            &visit_date(v),
            7_000 + 150 * v as i64 + n as i64 % 100,
        );
    }
    doc
}

pub fn child_id(n: usize) -> String {
    format!("0190f3a2-7c1e-7000-8000-{n:012}")
}

/// The date of the `v`-th monthly visit, from January 2021.
pub fn visit_date(v: usize) -> String {
    format!("{:04}-{:02}-15", 2021 + v / 12, 1 + v % 12)
}

/// Record (or correct) the visit of `date` with a weight in grams.
pub fn add_visit(doc: &mut Automerge, date: &str, weight_g: i64) {
    let visits = match doc.get(ROOT, "visits").unwrap() {
        Some((_, id)) => id,
        None => panic!("child doc without visits"),
    };
    let mut tx = doc.transaction();
    let visit = match tx.get(&visits, date).unwrap() {
        Some((_, id)) => id,
        None => tx.put_object(&visits, date, ObjType::Map).unwrap(),
    };
    tx.put(&visit, "weight_g", weight_g).unwrap();
    tx.put(&visit, "height_mm", 650 + weight_g / 20).unwrap();
    tx.put(&visit, "position", "lying").unwrap();
    tx.put(&visit, "head_mm", 420).unwrap();
    tx.put(&visit, "muac_mm", 140).unwrap();
    tx.put(&visit, "oedema", false).unwrap();
    tx.commit();
}

/// The contents of a document as JSON, for comparing replicas.
pub fn json(doc: &Automerge) -> String {
    serde_json::to_string(&automerge::AutoSerde::from(doc)).unwrap()
}

/// A store with children `range`, each with `visits` visits.
pub fn store_with(range: std::ops::Range<usize>, visits: usize) -> MemoryStore {
    let mut s = MemoryStore::default();
    for n in range {
        s.put(&child_id(n), &child_doc(n, visits));
    }
    s
}

/// Run one session between two stores over `client_pipe` / `server_pipe` (client in this thread).
pub fn session_over<A, B>(
    client: &mut MemoryStore,
    server: &mut MemoryStore,
    client_pipe: A,
    server_pipe: B,
    team: &TeamSecret,
) -> (Result<SyncStats, PeerError>, Result<SyncStats, PeerError>)
where
    A: Read + Write,
    B: Read + Write + Send,
{
    std::thread::scope(|scope| {
        let srv = scope.spawn(move || {
            let (mut ch, peer) = SecureChannel::accept(server_pipe, team, "phone-server")?;
            sync_as_server(&mut ch, server, &peer)
        });
        let cl = (|| {
            let (mut ch, peer) = SecureChannel::connect(client_pipe, team, "phone-client")?;
            sync_as_client(&mut ch, client, &peer)
        })();
        (cl, srv.join().unwrap())
    })
}

/// Run one session between two stores over an in-memory duplex pipe; both sides must succeed.
pub fn sync_pair(
    client: &mut MemoryStore,
    server: &mut MemoryStore,
    team: &TeamSecret,
) -> (SyncStats, SyncStats) {
    let (a, b) = pipe::duplex();
    let (c, s) = session_over(client, server, a, b, team);
    (c.unwrap(), s.unwrap())
}

/// Both stores hold the same documents with the same heads and contents.
pub fn assert_converged(a: &MemoryStore, b: &MemoryStore) {
    assert_eq!(a.all_heads(), b.all_heads());
    for id in a.ids() {
        assert_eq!(
            json(&a.get(&id).unwrap()),
            json(&b.get(&id).unwrap()),
            "contents of {id}"
        );
    }
}
