//! The database files themselves: what a copy of the `.db` holds, whose file it is, and damage.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

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

fn side(path: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", path.display()))
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

/// A database with data in both the `.db` and the `-wal`, copied into `to` while a connection is open
/// (so the copy has its `-wal`), then the copy's `.db` cut to half its length.
fn truncated_copy(db: &Path, to: &Path) -> PathBuf {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch(
        "PRAGMA wal_autocheckpoint = 0; INSERT INTO meta(key, value) VALUES ('test-only', randomblob(50));",
    )
    .unwrap();
    let copy = to.join("timbang.db");
    std::fs::copy(db, &copy).unwrap();
    std::fs::copy(side(db, "-wal"), side(&copy, "-wal")).unwrap();
    drop(conn);
    let len = std::fs::metadata(&copy).unwrap().len();
    assert!(len > 8 * 4096, "data in the .db file");
    assert!(std::fs::metadata(side(&copy, "-wal")).unwrap().len() > 0);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&copy)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    copy
}

#[test]
fn a_database_cut_short_under_its_wal_is_moved_aside_with_the_wal() {
    let p = phone("hp-1");
    for i in 0..40 {
        p.t.register_child(
            child(&format!("Anak Nomor {i}"), Sex::Female, "2024-01-01"),
            true,
        )
        .unwrap();
    }
    drop(p.t);
    let dir = tempfile::tempdir().unwrap();
    let copy = truncated_copy(&p.path, dir.path());
    let db_bytes = std::fs::read(&copy).unwrap();
    let wal_bytes = std::fs::read(side(&copy, "-wal")).unwrap();
    let err = try_open(&copy, &p.key).unwrap_err();
    let Error::Corrupt { moved_to } = &err else {
        panic!("{err:?}")
    };
    let moved = PathBuf::from(moved_to);
    assert!(
        moved
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("timbang.db.corrupt-")
    );
    assert!(!copy.exists() && !side(&copy, "-wal").exists());
    // Moved exactly as they were: the log was not folded into the damaged file.
    assert_eq!(std::fs::read(&moved).unwrap(), db_bytes);
    assert_eq!(std::fs::read(side(&moved, "-wal")).unwrap(), wal_bytes);
    // The next open starts a fresh database beside them.
    let t = open(&copy, &p.key);
    assert!(t.village_list().unwrap().is_empty());
}

#[test]
fn a_second_damaged_file_in_the_same_second_does_not_replace_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("timbang.db");
    let key = Key::make_random().unwrap();
    let mut moved = Vec::new();
    for i in 0..2 {
        std::fs::write(&path, format!("not a database, number {i}").repeat(200)).unwrap();
        let Err(Error::Corrupt { moved_to }) = try_open(&path, &key) else {
            panic!("refused")
        };
        moved.push(moved_to);
    }
    assert_ne!(moved[0], moved[1]);
    for (i, m) in moved.iter().enumerate() {
        let text = std::fs::read_to_string(m).unwrap();
        assert!(text.starts_with(&format!("not a database, number {i}")));
    }
}
