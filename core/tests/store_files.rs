//! The database files themselves: what a copy of the `.db` holds, whose file it is, and damage.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::*;
use timbang_core::crypto::Key;
use timbang_core::domain::Sex;
use timbang_core::{Error, Timbang};

/// "TMBG": the application id of a Timbang database (`store::migrations::APPLICATION_ID`).
const TMBG: i32 = 0x544D_4247;

fn try_open(path: &Path, key: &Key) -> Result<Timbang, Error> {
    Timbang::open(
        path,
        key,
        std::sync::Arc::new(timbang_core::FixedDate(d(TODAY))),
    )
}

fn application_id(path: &Path) -> i32 {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    conn.query_row("PRAGMA application_id", [], |r| r.get(0))
        .unwrap()
}

/// Every file in `dir` with the SHA-256 of its bytes.
fn snapshot(dir: &Path) -> Vec<(String, String)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                timbang_core::crypto::sha256(&std::fs::read(e.path()).unwrap())
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn after_the_store_is_dropped_the_db_file_alone_holds_everything() {
    let p = phone("hp-1");
    let id =
        p.t.register_child(child("Anak Satu", Sex::Male, "2024-01-01"), false)
            .unwrap()
            .child_id;
    drop(p.t);
    // Copy only the .db, as a person backing up "the database" would.
    let other = tempfile::tempdir().unwrap();
    let copy = other.path().join("copy.db");
    std::fs::copy(&p.path, &copy).unwrap();
    let t = open(&copy, &p.key);
    let list = t.village_list().unwrap();
    assert_eq!(list.len(), 1, "the copy holds the child");
    assert_eq!(t.child(&id).unwrap().name, "Anak Satu");
}

#[test]
fn a_new_database_is_marked_as_timbang_s() {
    let p = phone("hp-1");
    drop(p.t);
    assert_eq!(application_id(&p.path), TMBG);
}

#[test]
fn a_database_made_before_the_application_id_still_opens_and_gets_it() {
    let p = phone("hp-1");
    p.t.register_child(child("Anak Satu", Sex::Male, "2024-01-01"), false)
        .unwrap();
    drop(p.t);
    // As the code before the application id made it: id 0, a `meta` table with the canary.
    let conn = rusqlite::Connection::open(&p.path).unwrap();
    conn.pragma_update(None, "application_id", 0).unwrap();
    drop(conn);
    assert_eq!(application_id(&p.path), 0);
    // A wrong key neither opens it nor marks it.
    let err = try_open(&p.path, &Key::make_random().unwrap()).unwrap_err();
    assert!(matches!(err, Error::WrongKey), "{err:?}");
    assert_eq!(application_id(&p.path), 0);
    let t = open(&p.path, &p.key);
    assert_eq!(t.village_list().unwrap().len(), 1);
    drop(t);
    assert_eq!(application_id(&p.path), TMBG);
}

#[test]
fn another_program_s_sqlite_file_is_refused_and_left_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let key = Key::make_random().unwrap();
    // Application id 0, tables of its own (rollback journal, as most programs leave it).
    let notes = dir.path().join("notes.db");
    let conn = rusqlite::Connection::open(&notes).unwrap();
    conn.execute_batch("CREATE TABLE notes(id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes(text) VALUES ('keep me');")
        .unwrap();
    drop(conn);
    // Another program's application id, in WAL mode, no tables yet.
    let marked = dir.path().join("marked.db");
    let conn = rusqlite::Connection::open(&marked).unwrap();
    conn.execute_batch("PRAGMA application_id = 1234; PRAGMA journal_mode = WAL;")
        .unwrap();
    drop(conn);
    // A table called `meta` is not enough.
    let meta = dir.path().join("meta.db");
    let conn = rusqlite::Connection::open(&meta).unwrap();
    conn.execute_batch("CREATE TABLE meta(k TEXT, v TEXT); PRAGMA user_version = 1;")
        .unwrap();
    drop(conn);
    let before = snapshot(dir.path());
    for path in [&notes, &marked, &meta] {
        let err = try_open(path, &key).unwrap_err();
        let Error::NotOurs { path: named } = &err else {
            panic!("{path:?}: {err:?}")
        };
        assert!(named.ends_with(path.file_name().unwrap().to_str().unwrap()));
        assert!(err.message_id().contains(named.as_str()));
    }
    assert_eq!(
        snapshot(dir.path()),
        before,
        "nothing added, changed or left beside"
    );
}
