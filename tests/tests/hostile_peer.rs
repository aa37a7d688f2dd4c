//! A phone that is paired (it holds the team code) but sends documents that are not what they claim:
//! the receiving phone refuses the batch as a protocol violation (not retryable) and keeps exactly what
//! it had.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use automerge::ActorId;
use automerge::transaction::Transactable;
use timbang_core::api::PeerRole;
use timbang_core::crdt;
use timbang_core::domain::{ChildId, Sex};
use timbang_core::host::IoStream;
use timbang_core::peer::memory::MemoryStore;
use timbang_core::peer::pipe::duplex;
use timbang_core::peer::{Role, SecureChannel, SessionConfig, parse_pairing_code, run_session};
use timbang_core::{Error, Timbang};
use timbang_tests::{child, phone_with_a_visit, state};

fn phone() -> (tempfile::TempDir, Timbang, String) {
    let dir = tempfile::tempdir().unwrap();
    let (t, code) = phone_with_a_visit(dir.path());
    (dir, t, code)
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
    let doc = crdt::new_child_doc(
        &real,
        &child("Anak Uji", Sex::Male, "2024-01-01"),
        &[],
        "x",
        ActorId::random(),
        0,
    )
    .unwrap();
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
    let good = crdt::new_child_doc(
        &id,
        &child("Anak Uji", Sex::Male, "2024-01-01"),
        &[],
        "x",
        ActorId::random(),
        0,
    )
    .unwrap();
    let mut ok = MemoryStore::default();
    ok.put(id.as_str(), &good);
    push(&t, &code, ok).unwrap();
    assert_eq!(t.village_list().unwrap().len(), 2);
}

/// A refused document in the middle of a long first sync: what came in the frames before it stays
/// (the receiving phone writes on a thread of its own while it reads on), and nothing that came after
/// it is written, although the writer had it queued.
#[test]
fn after_a_refused_document_nothing_later_is_written() {
    let (_d, t, code) = phone();
    let mut ids: Vec<ChildId> = (0..1500).map(|_| ChildId::make()).collect();
    ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    let bad_at = ids[500].clone();
    let mut bad = MemoryStore::default();
    for id in &ids {
        let claimed = id == &bad_at;
        let real = if claimed { ChildId::make() } else { id.clone() };
        let doc = crdt::new_child_doc(
            &real,
            &child("Anak Uji", Sex::Female, "2024-02-01"),
            &[],
            "x",
            ActorId::random(),
            0,
        )
        .unwrap();
        bad.put(id.as_str(), &doc);
    }
    let err = push(&t, &code, bad).unwrap_err();
    assert!(refused_as_protocol_violation(&err), "{err:?}");
    let listed = t.village_list().unwrap();
    let received: Vec<&str> = listed
        .iter()
        .map(|r| r.child_id.as_str())
        .filter(|id| ids.iter().any(|i| i.as_str() == *id))
        .collect();
    // Documents travel in id order: earlier frames were written, none past the refused one.
    assert!(
        !received.is_empty(),
        "the frames before the refused one stay"
    );
    assert!(
        received.iter().all(|id| *id < bad_at.as_str()),
        "a document after the refused one was written"
    );
    assert!(state_is_consistent(&t));
}

/// `timbang check`'s promise after the failure: projections equal a rebuild from the documents.
fn state_is_consistent(t: &Timbang) -> bool {
    t.check(false).map(|r| r.ok).unwrap_or(false)
}
