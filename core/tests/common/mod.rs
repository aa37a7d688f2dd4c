//! Helpers shared by the integration tests: real files in a temporary folder, a fixed date.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use timbang_core::api::PeerRole;
use timbang_core::crypto::Key;
use timbang_core::domain::{NewChild, Position, Sex, VisitEntry};
use timbang_core::host::IoStream;
use timbang_core::{FixedDate, Timbang};

pub const TODAY: &str = "2025-06-15";

pub fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

pub struct Phone {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
    pub key: Key,
    pub t: Timbang,
}

pub fn open(path: &Path, key: &Key) -> Timbang {
    Timbang::open(path, key, Arc::new(FixedDate(d(TODAY)))).unwrap()
}

pub fn phone(name: &str) -> Phone {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("timbang.db");
    let key = Key::make_random().unwrap();
    let t = open(&path, &key);
    t.init("Posyandu Melati", "Sukamaju", name).unwrap();
    Phone { dir, path, key, t }
}

pub fn child(name: &str, sex: Sex, dob: &str) -> NewChild {
    NewChild {
        name: name.into(),
        sex,
        birth_date: d(dob),
        nik: None,
        kk: None,
        mother_name: None,
        mother_nik: None,
        address: None,
    }
}

pub fn weighing(date: &str, weight_g: u32, height_mm: Option<u32>) -> VisitEntry {
    VisitEntry {
        date: Some(d(date)),
        measured: timbang_core::domain::Measurements {
            weight_g: Some(weight_g),
            height_mm,
            position: height_mm.map(|_| Position::Lying),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// A digest of every row of every table: equal digests mean equal content (documents, projections,
/// outbox, settings, audit log).
pub fn content_digest(path: &Path) -> String {
    let conn = rusqlite_open(path);
    rows_of(&conn, &table_names(&conn))
}

/// The tables of a database, by name.
pub fn table_names(conn: &rusqlite::Connection) -> Vec<String> {
    let mut s = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap();
    s.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Every row of `tables`, in order, as text.
pub fn rows_of(conn: &rusqlite::Connection, tables: &[String]) -> String {
    let all: Vec<(String, String)> = tables.iter().map(|t| (t.clone(), "*".to_owned())).collect();
    rows_of_columns(conn, &all)
}

/// Every row of each (table, comma-separated columns), in order, as text.
pub fn rows_of_columns(conn: &rusqlite::Connection, tables: &[(String, String)]) -> String {
    let mut out = String::new();
    for (t, cols) in tables {
        let mut s = conn
            .prepare(&format!("SELECT {cols} FROM {t} ORDER BY 1, 2"))
            .unwrap();
        let n = s.column_count();
        let mut rows = s.query([]).unwrap();
        out.push_str(&format!("[{t}]\n"));
        while let Some(r) = rows.next().unwrap() {
            for i in 0..n {
                let v: rusqlite::types::Value = r.get(i).unwrap();
                out.push_str(&format!("{v:?}|"));
            }
            out.push('\n');
        }
    }
    out
}

pub fn rusqlite_open(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap()
}

/// One sync session between two phones over an in-memory pipe.
pub fn sync(a: &Timbang, b: &Timbang) {
    let (x, y) = timbang_core::peer::pipe::duplex();
    std::thread::scope(|s| {
        let h = s.spawn(|| b.peer_session(&IoStream::new(y), PeerRole::Accept));
        assert!(
            a.peer_session(&IoStream::new(x), PeerRole::Dial)
                .unwrap()
                .completed
        );
        assert!(h.join().unwrap().unwrap().completed);
    });
}
