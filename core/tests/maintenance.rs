//! Backup and `check`: a copy that opens with the same key; damage to projections, documents or the
//! audit log found and named; projections repaired from the documents.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use timbang_core::domain::{ChildId, Sex};
use timbang_core::{Error, Timbang};

/// A phone with two children, a few weighings each, and a merge.
fn busy_phone() -> (Phone, ChildId, ChildId) {
    let p = phone("hp-1");
    let a =
        p.t.register_child(child("Anak Satu", Sex::Male, "2024-01-10"), false)
            .unwrap()
            .child_id;
    let b =
        p.t.register_child(child("Anak Dua", Sex::Female, "2023-11-02"), false)
            .unwrap()
            .child_id;
    for (m, w) in [("2024-06-10", 7_400), ("2024-07-12", 7_700)] {
        p.t.record_visit(&a, weighing(m, w, Some(660)), true)
            .unwrap();
        p.t.record_visit(&b, weighing(m, w + 300, None), true)
            .unwrap();
    }
    (p, a, b)
}

fn raw(p: &Phone) -> rusqlite::Connection {
    rusqlite::Connection::open(&p.path).unwrap()
}

#[test]
fn a_backup_opens_with_the_same_key_and_shows_the_same_posyandu() {
    let (p, a, _) = busy_phone();
    let out = p.dir.path().join("cadangan.db");
    p.t.backup(&out).unwrap();
    let copy = open(&out, &p.key);
    assert_eq!(
        serde_json::to_value(copy.village_list().unwrap()).unwrap(),
        serde_json::to_value(p.t.village_list().unwrap()).unwrap()
    );
    assert_eq!(
        serde_json::to_value(copy.child(&a).unwrap()).unwrap(),
        serde_json::to_value(p.t.child(&a).unwrap()).unwrap()
    );
    assert!(copy.check(false).unwrap().ok);
    // Still sealed: a wrong key does not open it.
    let wrong = Timbang::open(
        &out,
        &timbang_core::crypto::Key::make_random().unwrap(),
        std::sync::Arc::new(timbang_core::FixedDate(d(TODAY))),
    );
    assert!(matches!(wrong, Err(Error::WrongKey)), "{wrong:?}");
    // Never over the database itself.
    let err = p.t.backup(&p.path).unwrap_err();
    assert_eq!(err.field(), Some("output"), "{err:?}");
}

#[test]
fn a_healthy_database_checks_clean() {
    let (p, _, _) = busy_phone();
    let r = p.t.check(false).unwrap();
    assert!(r.ok, "{r:?}");
    assert!(r.integrity.is_empty() && r.unreadable_documents.is_empty() && r.projections_match);
    assert!(r.audit.rows >= 6 && r.audit.first_bad.is_none(), "{r:?}");
    assert!(!r.repaired);
}

#[test]
fn projections_that_disagree_with_the_documents_are_found_and_rebuilt() {
    let (p, a, _) = busy_phone();
    let before = timbang_core::testing::projection_dump(&p.t);
    raw(&p)
        .execute(
            "UPDATE child_status SET kms = 'T' WHERE child_id = ?1",
            [a.as_str()],
        )
        .unwrap();
    raw(&p)
        .execute("DELETE FROM visits WHERE child_id = ?1", [a.as_str()])
        .unwrap();
    let r = p.t.check(false).unwrap();
    assert!(!r.projections_match && !r.ok && !r.repaired, "{r:?}");
    // The check itself changed nothing.
    assert_ne!(timbang_core::testing::projection_dump(&p.t), before);
    let r = p.t.check(true).unwrap();
    assert!(r.repaired && r.ok, "{r:?}");
    assert_eq!(timbang_core::testing::projection_dump(&p.t), before);
    assert!(p.t.check(false).unwrap().projections_match);
}

#[test]
fn a_document_that_does_not_open_is_named_and_the_rest_is_saved() {
    let (p, a, b) = busy_phone();
    raw(&p)
        .execute(
            "UPDATE doc_chunks SET data = randomblob(length(data)) WHERE child_id = ?1",
            [a.as_str()],
        )
        .unwrap();
    // A fresh handle: nothing of the damaged document is cached.
    drop(p.t);
    let t = open(&p.path, &p.key);
    let r = t.check(true).unwrap();
    assert_eq!(r.unreadable_documents, vec![a.to_string()], "{r:?}");
    assert!(!r.ok);
    let list = t.village_list().unwrap();
    assert_eq!(
        list.len(),
        1,
        "the child whose document opens is still there"
    );
    assert_eq!(list[0].child_id, b);
}

/// Drop the append-only triggers, as someone holding the file (not the key) could, and run `sql`.
fn tamper(p: &Phone, sql: &str) {
    let c = raw(p);
    c.execute_batch("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;")
        .unwrap();
    c.execute_batch(sql).unwrap();
}

fn first_bad(t: &Timbang) -> (i64, String) {
    t.check(false)
        .unwrap()
        .audit
        .first_bad
        .expect("the damage is found")
}

#[test]
fn an_altered_audit_row_is_named() {
    let (p, _, _) = busy_phone();
    tamper(&p, "UPDATE audit SET child_id = NULL WHERE seq = 3");
    assert_eq!(first_bad(&p.t).0, 3);
}

#[test]
fn a_deleted_audit_row_is_named_by_the_row_after_it() {
    let (p, _, _) = busy_phone();
    tamper(&p, "DELETE FROM audit WHERE seq = 3");
    assert_eq!(first_bad(&p.t).0, 4);
}

#[test]
fn deleted_last_audit_rows_are_found() {
    let (p, _, _) = busy_phone();
    let last: i64 = raw(&p)
        .query_row("SELECT max(seq) FROM audit", [], |r| r.get(0))
        .unwrap();
    tamper(&p, &format!("DELETE FROM audit WHERE seq >= {}", last - 1));
    let (seq, why) = first_bad(&p.t);
    assert_eq!(seq, last - 2);
    assert!(why.contains("deleted"), "{why}");
}

#[test]
fn an_inserted_audit_row_is_named() {
    let (p, _, _) = busy_phone();
    tamper(
        &p,
        "INSERT INTO audit(seq, at, device, action) SELECT seq + 1000, at, device, 'register_child' FROM audit WHERE seq = 2;
         UPDATE audit SET seq = seq + 2000 WHERE seq > 2 AND seq < 1000;
         UPDATE audit SET seq = 3 WHERE seq = 1002;",
    );
    assert_eq!(first_bad(&p.t).0, 3);
}
