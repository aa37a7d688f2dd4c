//! The database files themselves: what a copy of the `.db` holds, whose file it is, and damage.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use timbang_core::domain::Sex;

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
