//! The change listener: told once after every commit of child documents (and only then), on the
//! committing thread, free to read the core from inside the call.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use common::*;
use timbang_core::domain::Sex;
use timbang_core::host::ChangeListener;
use timbang_core::{Error, Timbang};

/// Counts calls and, inside each, reads the village list through the core (as a Flow would).
#[derive(Debug, Default)]
struct Recorder {
    calls: AtomicUsize,
    /// Set after opening: the listener reads back through it.
    core: OnceLock<Arc<Timbang>>,
    /// The village list's length seen inside each call.
    seen: Mutex<Vec<usize>>,
}

impl ChangeListener for Recorder {
    fn changed(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if let Some(t) = self.core.get() {
            let n = t.village_list().unwrap().len();
            self.seen.lock().unwrap().push(n);
        }
    }
}

#[test]
fn told_after_each_commit_and_not_for_refused_or_read_only_calls() {
    let p = phone("hp-1");
    let t = Arc::new(p.t);
    let rec = Arc::new(Recorder::default());
    rec.core.set(t.clone()).unwrap();
    t.set_change_listener(Some(rec.clone()));

    let calls = || rec.calls.load(Ordering::SeqCst);
    let a = t
        .register_child(child("Sari Wulandari", Sex::Female, "2024-02-01"), false)
        .unwrap()
        .child_id;
    assert_eq!(calls(), 1);
    assert_eq!(
        *rec.seen.lock().unwrap(),
        vec![1],
        "the new child is visible inside the call"
    );

    t.record_visit(&a, weighing("2025-06-14", 9_100, Some(765)), false)
        .unwrap();
    assert_eq!(calls(), 2);

    // A value that needs confirmation writes nothing and tells no one; bad input neither.
    let implausible = t.record_visit(&a, weighing("2025-06-15", 30_000, None), false);
    assert!(matches!(implausible, Err(Error::NeedsConfirmation { .. })));
    let bad = t.record_visit(&a, weighing("2025-06-15", 100, None), false);
    assert!(matches!(bad, Err(Error::InvalidInput { .. })), "{bad:?}");
    // Reads tell no one.
    t.village_list().unwrap();
    t.child(&a).unwrap();
    assert_eq!(calls(), 2);

    let b = t
        .register_child(child("Sari Wulandari", Sex::Female, "2024-02-03"), true)
        .unwrap()
        .child_id;
    t.merge_children(&a, &b).unwrap();
    assert_eq!(calls(), 4);
    assert_eq!(*rec.seen.lock().unwrap(), vec![1, 1, 2, 1]);

    t.set_change_listener(None);
    t.delete_visit(&a, d("2025-06-14")).unwrap();
    assert_eq!(calls(), 4, "no longer told");
}

/// Phone A with three children, and a fresh phone B (in its own folder) that joined A's team.
fn three_children_and_a_fresh_phone() -> (Phone, tempfile::TempDir, Timbang) {
    let a = phone("hp-1");
    for i in 0..3 {
        a.t.register_child(
            child(&format!("Anak Uji {i}"), Sex::Male, "2024-03-01"),
            true,
        )
        .unwrap();
    }
    let code = a.t.team_invite().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let b = open(
        &dir.path().join("hp2.db"),
        &timbang_core::crypto::Key::make_random().unwrap(),
    );
    b.team_join(&code, "hp-2").unwrap();
    (a, dir, b)
}

#[test]
fn a_peer_session_tells_the_receiving_phone_for_the_batches_it_stores() {
    let (a, _dir, b) = three_children_and_a_fresh_phone();
    let on_b = Arc::new(Recorder::default());
    let on_a = Arc::new(Recorder::default());
    b.set_change_listener(Some(on_b.clone()));
    a.t.set_change_listener(Some(on_a.clone()));

    sync(&b, &a.t);
    assert!(on_b.calls.load(Ordering::SeqCst) >= 1, "B stored children");
    assert_eq!(
        on_a.calls.load(Ordering::SeqCst),
        0,
        "A received nothing new, so it committed nothing"
    );
    assert_eq!(b.village_list().unwrap().len(), 3);
}

/// Notes the thread of every call.
#[derive(Debug, Default)]
struct Threads(Mutex<Vec<std::thread::ThreadId>>);

impl ChangeListener for Threads {
    fn changed(&self) {
        self.0.lock().unwrap().push(std::thread::current().id());
    }
}

#[test]
fn a_receiving_phone_stores_on_a_writer_thread_while_the_session_reads_on() {
    let (a, _dir, b) = three_children_and_a_fresh_phone();
    let threads = Arc::new(Threads::default());
    b.set_change_listener(Some(threads.clone()));
    // B dials on this thread; its commits of what arrives are told on the thread that made them.
    sync(&b, &a.t);
    let seen = threads.0.lock().unwrap().clone();
    assert!(!seen.is_empty(), "B stored children");
    let session = std::thread::current().id();
    assert!(
        seen.iter().all(|t| *t != session),
        "received documents are written off the session's thread"
    );
    // Everything was written before the session reported completion.
    assert_eq!(b.village_list().unwrap().len(), 3);
}
