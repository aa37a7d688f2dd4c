//! A phone that is paired (it holds the team code) but sends documents that are not what they claim:
//! the receiving phone refuses the batch as a protocol violation (not retryable) and keeps exactly what
//! it had.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use automerge::ActorId;
use automerge::transaction::Transactable;
use timbang_core::api::PeerRole;
use timbang_core::crdt;
use timbang_core::crypto::Key;
use timbang_core::domain::{ChildId, Measurements, NewChild, Sex, VisitEntry};
use timbang_core::host::IoStream;
use timbang_core::peer::memory::MemoryStore;
use timbang_core::peer::pipe::duplex;
use timbang_core::peer::{Role, SecureChannel, SessionConfig, parse_pairing_code, run_session};
use timbang_core::{Error, FixedDate, Timbang};

/// A phone holding a child with a visit, and its pairing code.
fn phone() -> (tempfile::TempDir, Timbang, String) {
    let dir = tempfile::tempdir().unwrap();
    let t = Timbang::open(
        &dir.path().join("hp.db"),
        &Key::make_random().unwrap(),
        Arc::new(FixedDate("2025-06-15".parse().unwrap())),
    )
    .unwrap();
    t.init("Melati", "Sukamaju", "hp-1").unwrap();
    let id = t.register_child(child(), false).unwrap().child_id;
    let entry = VisitEntry {
        date: Some("2025-06-14".parse().unwrap()),
        measured: Measurements {
            weight_g: Some(9_100),
            ..Default::default()
        },
        ..Default::default()
    };
    t.record_visit(&id, entry, false).unwrap();
    let code = t.team_invite().unwrap();
    (dir, t, code)
}

/// Everything the phone shows: the village list and each child's detail.
fn state(t: &Timbang) -> serde_json::Value {
    let list = t.village_list().unwrap();
    let details: Vec<_> = list.iter().map(|r| t.child(&r.child_id).unwrap()).collect();
    serde_json::json!({ "list": list, "details": details })
}

fn refused_as_protocol_violation(err: &Error) -> bool {
    matches!(
        err,
        Error::Sync {
            retryable: false,
            ..
        }
    )
}

fn child() -> NewChild {
    NewChild {
        name: "Anak Uji".into(),
        sex: Sex::Male,
        birth_date: "2024-01-01".parse().unwrap(),
        nik: None,
        kk: None,
        mother_name: None,
        mother_nik: None,
        address: None,
    }
}

/// Serve `bad` from an in-memory phone to the real one; returns the real phone's result.
fn push(t: &Timbang, code: &str, bad: MemoryStore) -> Result<(), Error> {
    let team = parse_pairing_code(code).unwrap();
    let (x, y) = duplex();
    std::thread::scope(|s| {
        s.spawn(move || {
            let mut bad = bad;
            let r = SecureChannel::accept(y, &team, "hostile").and_then(|(mut ch, peer)| {
                run_session(
                    &mut ch,
                    &mut bad,
                    &peer,
                    Role::Server,
                    &SessionConfig::default(),
                )
            });
            drop(r);
        });
        t.peer_session(&IoStream::new(x), PeerRole::Dial)
            .map(|_| ())
    })
}

#[test]
fn a_document_stored_under_another_childs_id_is_refused() {
    let (_d, t, code) = phone();
    let real = ChildId::make();
    let doc = crdt::new_child_doc(&real, &child(), &[], "x", ActorId::random(), 0).unwrap();
    let mut bad = MemoryStore::default();
    bad.put(ChildId::make().as_str(), &doc); // claims to be another child
    let before = state(&t);
    let err = push(&t, &code, bad).unwrap_err();
    assert!(refused_as_protocol_violation(&err), "{err:?}");
    assert_eq!(state(&t), before);
    assert_eq!(t.village_list().unwrap().len(), 1);
}

#[test]
fn a_document_that_is_not_a_child_is_refused() {
    let (_d, t, code) = phone();
    let mut doc = automerge::Automerge::new();
    let mut tx = doc.transaction();
    tx.put(automerge::ROOT, "hello", "world").unwrap();
    tx.commit();
    let mut bad = MemoryStore::default();
    bad.put(ChildId::make().as_str(), &doc);
    let before = state(&t);
    let err = push(&t, &code, bad).unwrap_err();
    assert!(refused_as_protocol_violation(&err), "{err:?}");
    assert_eq!(state(&t), before);
    // A good document still syncs afterwards.
    let id = ChildId::make();
    let good = crdt::new_child_doc(&id, &child(), &[], "x", ActorId::random(), 0).unwrap();
    let mut ok = MemoryStore::default();
    ok.put(id.as_str(), &good);
    push(&t, &code, ok).unwrap();
    assert_eq!(t.village_list().unwrap().len(), 2);
}
