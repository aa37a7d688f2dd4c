//! The encrypted store end to end through the facade, on real SQLite files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use timbang_core::crypto::Key;
use timbang_core::domain::{ChildId, NewChild, Sex};
use timbang_core::store::migrations;
use timbang_core::{Error, Timbang};

const NAME: &str = "Zulaikha Kartosoewirjo";
const NIK: &str = "3273015705230007"; // girl, born 17 May 2023
const KK: &str = "3273012010150003";
const MOTHER: &str = "Wilhelmina Sastrodiharjo";
const MOTHER_NIK: &str = "3273016408950002";
const ADDRESS: &str = "Gang Kenari Lestari 17";

fn distinctive() -> NewChild {
    NewChild {
        name: NAME.into(),
        sex: Sex::Female,
        birth_date: d("2023-05-17"),
        nik: Some(NIK.into()),
        kk: Some(KK.into()),
        mother_name: Some(MOTHER.into()),
        mother_nik: Some(MOTHER_NIK.into()),
        address: Some(ADDRESS.into()),
    }
}

fn file_bytes(p: &std::path::Path) -> Vec<u8> {
    let mut all = std::fs::read(p).unwrap();
    for s in ["-wal", "-shm"] {
        if let Ok(b) = std::fs::read(format!("{}{s}", p.display())) {
            all.extend(b);
        }
    }
    all
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn personal_data_never_reaches_the_files_in_plain_text() {
    let p = phone("hp-1");
    p.t.set_kader(Some("Kartini Suryaningsih".into()));
    let id = p.t.register_child(distinctive(), false).unwrap().child_id;
    // Read back through the facade: it is all there.
    let c = p.t.child(&id).unwrap();
    assert_eq!((c.name.as_str(), c.nik.as_deref()), (NAME, Some(NIK)));
    assert_eq!(c.address.as_deref(), Some(ADDRESS));
    // The database file and its WAL (not yet checkpointed) hold none of it.
    let bytes = file_bytes(&p.path);
    for needle in [
        NAME, "Zulaikha", NIK, KK, MOTHER, MOTHER_NIK, ADDRESS, "Kenari",
    ] {
        assert!(
            !contains(&bytes, needle),
            "{needle} found in the database files"
        );
    }
    // And after a checkpoint, on the main file alone.
    drop(p.t);
    let conn = rusqlite::Connection::open(&p.path).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    drop(conn);
    let bytes = file_bytes(&p.path);
    for needle in [NAME, NIK, KK, MOTHER, MOTHER_NIK, ADDRESS] {
        assert!(!contains(&bytes, needle), "{needle} found after checkpoint");
    }
}

#[test]
fn a_wrong_key_is_reported_as_such() {
    let p = phone("hp-1");
    p.t.register_child(child("Anak Satu", Sex::Male, "2024-01-01"), false)
        .unwrap();
    drop(p.t);
    let other = Key::make_random().unwrap();
    let err = Timbang::open(
        &p.path,
        &other,
        std::sync::Arc::new(timbang_core::FixedDate(d(TODAY))),
    )
    .unwrap_err();
    assert!(matches!(err, Error::WrongKey), "{err:?}");
    // The right key still opens it.
    let t = open(&p.path, &p.key);
    assert_eq!(t.village_list().unwrap().len(), 1);
}

#[test]
fn a_damaged_file_is_moved_aside_not_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("timbang.db");
    std::fs::write(
        &path,
        b"this is not a database, but someone's data may be in it".repeat(100),
    )
    .unwrap();
    let err = Timbang::open(
        &path,
        &Key::make_random().unwrap(),
        std::sync::Arc::new(timbang_core::FixedDate(d(TODAY))),
    )
    .unwrap_err();
    let Error::Corrupt { moved_to } = err else {
        panic!("{err:?}")
    };
    assert!(std::path::Path::new(&moved_to).exists());
    assert!(!path.exists());
}

#[test]
fn a_wrong_key_changes_nothing_not_even_an_old_schema() {
    let p = phone("hp-1");
    drop(p.t);
    // Make it look like a database of schema 1 (before the sync bookkeeping migration).
    let conn = rusqlite::Connection::open(&p.path).unwrap();
    conn.execute_batch(
        "DROP TABLE peer_checkpoints; DROP INDEX docs_by_seq; ALTER TABLE docs DROP COLUMN seq;
         DELETE FROM meta WHERE key IN ('store_epoch', 'doc_seq');
         DROP TABLE teams; DROP INDEX docs_by_team; ALTER TABLE docs DROP COLUMN team; DROP TABLE relay_self; DROP TABLE relay_docs; DROP TABLE relay_cursor; DROP TABLE asik_attempts; DROP TABLE outbox; DROP TABLE peer_docs; DROP TABLE peers; ALTER TABLE audit DROP COLUMN mac; DROP INDEX children_by_merged_into;
         ALTER TABLE children DROP COLUMN has_kms; ALTER TABLE children DROP COLUMN posyandu; ALTER TABLE children DROP COLUMN village;
         ALTER TABLE children DROP COLUMN rt; ALTER TABLE children DROP COLUMN rw;
         DELETE FROM meta WHERE key = 'audit_head'; PRAGMA user_version = 1;",
    )
    .unwrap();
    drop(conn);
    let err = Timbang::open(
        &p.path,
        &Key::make_random().unwrap(),
        std::sync::Arc::new(timbang_core::FixedDate(d(TODAY))),
    )
    .unwrap_err();
    assert!(matches!(err, Error::WrongKey), "{err:?}");
    let conn = rusqlite::Connection::open(&p.path).unwrap();
    assert_eq!(
        migrations::version(&conn).unwrap(),
        1,
        "not migrated under a wrong key"
    );
    drop(conn);
    // The right key migrates it.
    let t = open(&p.path, &p.key);
    drop(t);
    let conn = rusqlite::Connection::open(&p.path).unwrap();
    assert_eq!(migrations::version(&conn).unwrap(), migrations::LATEST);
}

#[test]
fn a_newer_schema_is_refused_untouched() {
    let p = phone("hp-1");
    drop(p.t);
    let conn = rusqlite::Connection::open(&p.path).unwrap();
    conn.pragma_update(None, "user_version", migrations::LATEST + 1)
        .unwrap();
    drop(conn);
    let before = std::fs::read(&p.path).unwrap();
    let err = Timbang::open(
        &p.path,
        &p.key,
        std::sync::Arc::new(timbang_core::FixedDate(d(TODAY))),
    )
    .unwrap_err();
    assert!(matches!(err, Error::TooNew { .. }), "{err:?}");
    assert_eq!(std::fs::read(&p.path).unwrap(), before);
}

fn schema_of(conn: &rusqlite::Connection) -> Vec<(String, String)> {
    let mut s = conn
        .prepare("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
        .unwrap();
    s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn every_older_schema_upgrades_to_the_fresh_one() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = rusqlite::Connection::open(dir.path().join("fresh.db")).unwrap();
    migrations::migrate(&fresh).unwrap();
    let want = schema_of(&fresh);
    for old in 0..migrations::LATEST {
        let path = dir.path().join(format!("v{old}.db"));
        let conn = rusqlite::Connection::open(&path).unwrap();
        migrations::migrate_to(&conn, old).unwrap();
        assert_eq!(migrations::version(&conn).unwrap(), old);
        drop(conn);
        // Opening through the store upgrades it.
        let key = Key::make_random().unwrap();
        let t = open(&path, &key);
        t.init("P", "D", "hp").unwrap();
        drop(t);
        let conn = rusqlite::Connection::open(&path).unwrap();
        assert_eq!(migrations::version(&conn).unwrap(), migrations::LATEST);
        assert_eq!(schema_of(&conn), want, "upgrade from v{old}");
    }
}

/// A schema-1 database holding rows (made with the first migration's SQL and filled with what a phone
/// wrote: settings, sealed documents, projections, conflicts, the audit log) opens with today's code:
/// the schema is upgraded, every row survives unchanged and everything reads back.
#[test]
fn a_schema_1_database_with_rows_upgrades_keeping_every_row() {
    let source = phone("hp-1");
    let a = source
        .t
        .register_child(distinctive(), true)
        .unwrap()
        .child_id;
    let b = source
        .t
        .register_child(child("Anak Dua", Sex::Male, "2024-02-01"), false)
        .unwrap()
        .child_id;
    for (m, w) in [("2024-06-10", 7_400), ("2024-07-12", 7_700)] {
        source
            .t
            .record_visit(&a, weighing(m, w, Some(660)), true)
            .unwrap();
        source
            .t
            .record_visit(&b, weighing(m, w - 900, None), true)
            .unwrap();
    }
    source.t.merge_children(&a, &b).unwrap();
    source.t.team_invite().unwrap();
    let want_list = serde_json::to_value(source.t.village_list().unwrap()).unwrap();
    let want_child = serde_json::to_value(source.t.child(&a).unwrap()).unwrap();
    drop(source.t);

    // The schema-1 file: migration 1's SQL, then the rows of every table it has.
    let v1 = source.dir.path().join("v1.db");
    let conn = rusqlite::Connection::open(&v1).unwrap();
    migrations::migrate_to(&conn, 1).unwrap();
    conn.pragma_update(None, "foreign_keys", "OFF").unwrap();
    let tables = table_names(&conn);
    // The schema-1 columns of each table (later migrations may add columns; these must survive).
    let columns: Vec<(String, String)> = tables
        .iter()
        .map(|t| {
            let mut s = conn.prepare(&format!("PRAGMA table_info({t})")).unwrap();
            let cols: Vec<String> = s
                .query_map([], |r| r.get::<_, String>(1))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            (t.clone(), cols.join(", "))
        })
        .collect();
    conn.execute("ATTACH DATABASE ?1 AS src", [source.path.to_str().unwrap()])
        .unwrap();
    for (t, cols) in &columns {
        conn.execute_batch(&format!(
            "INSERT INTO main.{t}({cols}) SELECT {cols} FROM src.{t}"
        ))
        .unwrap();
    }
    // Before schema 8 the team lived in `meta` (sealed the same way): put it there, as an old file has it.
    conn.execute_batch(
        "INSERT INTO main.meta(key, value) SELECT 'team_id', team_id FROM src.teams WHERE team_no = 1;
         INSERT INTO main.meta(key, value) SELECT 'team_secret', secret FROM src.teams WHERE team_no = 1;",
    )
    .unwrap();
    conn.execute_batch("DETACH DATABASE src; DELETE FROM meta WHERE key = 'audit_head';")
        .unwrap();
    assert_eq!(migrations::version(&conn).unwrap(), 1);
    let rows_v1 = rows_of_columns(&conn, &columns);
    assert!(rows_v1.matches('\n').count() > 20, "the fixture holds rows");
    drop(conn);

    let t = open(&v1, &source.key);
    assert_eq!(
        serde_json::to_value(t.village_list().unwrap()).unwrap(),
        want_list
    );
    assert_eq!(
        serde_json::to_value(t.child(&a).unwrap()).unwrap(),
        want_child
    );
    assert!(t.check_team().is_ok());
    // The log written before the chain existed stays, unchained; what follows is chained.
    let r = t.check(false).unwrap();
    assert!(r.ok && r.audit.unchained == r.audit.rows, "{r:?}");
    drop(t);
    let conn = rusqlite::Connection::open(&v1).unwrap();
    assert_eq!(migrations::version(&conn).unwrap(), migrations::LATEST);
    let after = rows_of_columns(&conn, &columns);
    // Schema 8 moves the team from `meta` into `teams` (`check_team` above found it there).
    let moved =
        |l: &str| l.starts_with("Text(\"team_id\")|") || l.starts_with("Text(\"team_secret\")|");
    assert_eq!(rows_v1.lines().filter(|l| moved(l)).count(), 2);
    let lost: Vec<&str> = rows_v1
        .lines()
        .filter(|l| !after.lines().any(|a| a == *l) && !moved(l))
        .collect();
    let added: Vec<&str> = after
        .lines()
        .filter(|l| !rows_v1.lines().any(|b| b == *l))
        .collect();
    assert!(
        lost.is_empty() && added.is_empty(),
        "every schema-1 row survives unchanged; lost {lost:?}, added {added:?}"
    );
}

#[test]
fn the_audit_log_is_append_only_and_names_no_one() {
    let p = phone("hp-1");
    let id = p.t.register_child(distinctive(), false).unwrap().child_id;
    let conn = rusqlite::Connection::open(&p.path).unwrap();
    let (n, action): (i64, String) = conn
        .query_row(
            "SELECT count(*), max(action) FROM audit WHERE child_id = ?1",
            [id.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((n, action.as_str()), (1, "register_child"));
    assert!(conn.execute("UPDATE audit SET action = 'x'", []).is_err());
    assert!(conn.execute("DELETE FROM audit", []).is_err());
    let dump: String = conn
        .query_row(
            "SELECT group_concat(coalesce(detail,'') || device || action, ' ') FROM audit",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!dump.contains("Zulaikha") && !dump.contains(NIK));
}

#[test]
fn registering_the_same_nik_or_a_similar_child_needs_confirmation() {
    let p = phone("hp-1");
    let first = p.t.register_child(distinctive(), false).unwrap().child_id;
    // Same NIK, different spelling of the name.
    let mut again = distinctive();
    again.name = "Zulaeha K".into();
    let err = p.t.register_child(again.clone(), false).unwrap_err();
    let Error::NeedsConfirmation { reasons } = &err else {
        panic!("{err:?}")
    };
    assert!(reasons.iter().any(|r| r.code == "possible_duplicate"));
    assert!(!err.to_string().contains("Zula"), "no names in errors");
    let cands = p.t.possible_duplicates(&again).unwrap();
    assert_eq!(cands.len(), 1);
    assert_eq!(
        (cands[0].child_id.clone(), cands[0].reason.as_str()),
        (first.clone(), "same_nik")
    );
    // Similar name (old spelling), birth 20 days apart, similar mother: a candidate; no NIK needed.
    let mut similar = child("Zoelaikha Kartosuwiryo", Sex::Female, "2023-06-06");
    similar.mother_name = Some("Wilhelmina Sastrodiharjo".into());
    assert_eq!(
        p.t.possible_duplicates(&similar).unwrap()[0].reason,
        "similar_name"
    );
    // A different mother: not a candidate.
    similar.mother_name = Some("Ratna Dewi".into());
    assert!(p.t.possible_duplicates(&similar).unwrap().is_empty());
    // Born 40 days apart: not a candidate.
    let far = child("Zulaikha Kartosoewirjo", Sex::Female, "2023-06-26");
    assert!(p.t.possible_duplicates(&far).unwrap().is_empty());
    // Confirmed: registered, with the confirmation recorded.
    let r = p.t.register_child(again, true).unwrap();
    assert!(r.confirmed.iter().any(|c| c.code == "possible_duplicate"));
    assert_eq!(p.t.village_list().unwrap().len(), 2);
}

#[test]
fn visits_record_assess_and_project() {
    let p = phone("hp-1");
    let id =
        p.t.register_child(child("Budi Santoso", Sex::Male, "2024-01-10"), false)
            .unwrap()
            .child_id;
    let r =
        p.t.record_visit(&id, weighing("2024-06-10", 7_400, Some(655)), false)
            .unwrap();
    assert_eq!(
        r.assessment.kms.map(|k| k.to_string()).as_deref(),
        Some("B")
    );
    assert!(
        r.assessment.z.waz.is_some()
            && r.assessment.z.haz.is_some()
            && r.assessment.z.whz.is_some()
    );
    assert_eq!(r.assessment.standard_version, "WHO-2006");
    // Next month, gained 500 g (KBM at 6 months is 400 g): N.
    let r =
        p.t.record_visit(&id, weighing("2024-07-10", 7_900, None), false)
            .unwrap();
    assert_eq!(
        r.assessment.kms.map(|k| k.to_string()).as_deref(),
        Some("N")
    );
    // Same day again adds the height to that visit.
    let mut h = weighing("2024-07-10", 0, Some(675));
    h.measured.weight_g = None;
    p.t.record_visit(&id, h, false).unwrap();
    let c = p.t.child(&id).unwrap();
    assert_eq!(c.visits.len(), 2);
    assert_eq!(
        (c.visits[1].weight_kg, c.visits[1].height_cm),
        (Some(7.9), Some(67.5))
    );
    let list = p.t.village_list().unwrap();
    assert_eq!(list[0].last_visit, Some(d("2024-07-10")));
    assert_eq!(list[0].kms.as_deref(), Some("N"));
    // Not weighed since July 2024 by June 2025: flagged for the bidan.
    assert!(list[0].referral.iter().any(|r| r == "TIDAK_DITIMBANG_3BLN"));
}

#[test]
fn projections_rebuilt_from_documents_equal_the_live_ones() {
    let p = phone("hp-1");
    let mut full = distinctive();
    full.address = Some("Jl. Uji No. 7, RT 01/RW 02".into());
    let a = p.t.register_child(full, true).unwrap().child_id;
    let b =
        p.t.register_child(child("Anak Dua", Sex::Female, "2023-11-02"), false)
            .unwrap()
            .child_id;
    let dup =
        p.t.register_child(child("Anak Dua", Sex::Female, "2023-11-03"), true)
            .unwrap()
            .child_id;
    for (m, w) in [
        ("2024-06-10", 7_400),
        ("2024-07-12", 7_700),
        ("2024-08-09", 7_750),
    ] {
        p.t.record_visit(&a, weighing(m, w, Some(660)), true)
            .unwrap();
        p.t.record_visit(&b, weighing(m, w + 300, Some(680)), true)
            .unwrap();
    }
    // A merged duplicate whose visit disagrees with the kept child's: a merge conflict.
    p.t.record_visit(&dup, weighing("2024-08-09", 8_500, None), true)
        .unwrap();
    p.t.merge_children(&b, &dup).unwrap();
    assert!(!p.t.conflicts().unwrap().is_empty());
    let before = timbang_core::testing::projection_dump(&p.t);
    assert!(before.contains(&format!("name={NAME}")), "{before}");
    assert!(before.contains("nik=3273015705230007"), "{before}");
    assert_eq!(p.t.rebuild_projections().unwrap(), 3);
    // Every column, the sealed ones opened, is the same after the rebuild.
    assert_eq!(timbang_core::testing::projection_dump(&p.t), before);
}

#[test]
fn unknown_ids_and_uninitialised_databases_are_clear_errors() {
    let p = phone("hp-1");
    let err = p.t.child(&ChildId::make()).unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }));
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir.path().join("x.db"), &Key::make_random().unwrap());
    let err = t
        .register_child(child("Anak", Sex::Male, "2024-01-01"), false)
        .unwrap_err();
    assert!(matches!(err, Error::NotInitialized), "{err:?}");
    assert!(matches!(
        p.t.init("A", "B", "C").unwrap_err(),
        Error::AlreadyInitialized
    ));
}

#[test]
fn a_deleted_visit_stops_counting_and_comes_back_when_recorded_again() {
    let p = phone("hp-1");
    let id =
        p.t.register_child(child("Budi", Sex::Male, "2024-01-10"), false)
            .unwrap()
            .child_id;
    p.t.record_visit(&id, weighing("2024-06-10", 7_400, None), false)
        .unwrap();
    p.t.record_visit(&id, weighing("2024-07-10", 7_900, None), false)
        .unwrap();
    p.t.delete_visit(&id, d("2024-07-10")).unwrap();
    let c = p.t.child(&id).unwrap();
    assert_eq!(c.visits.len(), 1);
    assert_eq!(
        p.t.village_list().unwrap()[0].last_visit,
        Some(d("2024-06-10"))
    );
    assert!(matches!(
        p.t.delete_visit(&id, d("2024-07-10")).unwrap_err(),
        Error::NotFound { .. }
    ));
    // Recorded again: back, with the new value.
    p.t.record_visit(&id, weighing("2024-07-10", 7_950, None), false)
        .unwrap();
    let c = p.t.child(&id).unwrap();
    assert_eq!(c.visits.len(), 2);
    assert_eq!(c.visits[1].weight_kg, Some(7.95));
}

#[test]
fn a_confirmation_covers_the_value_confirmed_not_the_next_one() {
    let p = phone("hp-1");
    let id =
        p.t.register_child(child("Budi", Sex::Male, "2023-06-01"), false)
            .unwrap()
            .child_id;
    // 3.0 kg at two years is implausible: confirmed.
    let v = timbang_core::domain::VisitEntry {
        date: Some(d("2025-06-01")),
        measured: timbang_core::domain::Measurements {
            weight_g: Some(3_000),
            ..Default::default()
        },
        ..Default::default()
    };
    assert!(matches!(
        p.t.record_visit(&id, v, false).unwrap_err(),
        Error::NeedsConfirmation { .. }
    ));
    p.t.record_visit(&id, v, true).unwrap();
    // A correction to another implausible value must be confirmed again.
    let v2 = timbang_core::domain::VisitEntry {
        measured: timbang_core::domain::Measurements {
            weight_g: Some(30_000),
            ..v.measured
        },
        ..v
    };
    assert!(matches!(
        p.t.record_visit(&id, v2, false).unwrap_err(),
        Error::NeedsConfirmation { .. }
    ));
    // Adding an unrelated, plausible measurement to the confirmed day needs nothing.
    let h = timbang_core::domain::VisitEntry {
        date: v.date,
        measured: timbang_core::domain::Measurements {
            head_mm: Some(480),
            ..Default::default()
        },
        ..Default::default()
    };
    p.t.record_visit(&id, h, false).unwrap();
}

#[test]
fn a_joining_phone_uses_the_teams_kbm_table() {
    let dir = tempfile::tempdir().unwrap();
    let key = Key::make_random().unwrap();
    let a = open(&dir.path().join("a.db"), &key);
    a.init_with("Melati", "Sukamaju", "hp-1", Some("kms-programme-file"))
        .unwrap();
    let code = a.team_invite().unwrap();
    let b = open(&dir.path().join("b.db"), &key);
    let s = b.team_join(&code, "hp-2").unwrap();
    assert_eq!(s.kbm_table, "kms-programme-file");
    // Once phones have been invited, the table no longer changes on one phone alone.
    assert!(matches!(
        a.set_kbm_table("kms-permenkes-155-2010").unwrap_err(),
        Error::InvalidInput { .. }
    ));
}

/// Two registrations of the same child at the same moment (two kader at meja 1, one database): the
/// duplicate check runs inside the writing transaction, so one is registered and the other is asked to
/// confirm, every time.
#[test]
fn two_simultaneous_registrations_of_one_child_are_caught() {
    let p = phone("hp-1");
    let second = open(&p.path, &p.key);
    for round in 0..30 {
        // Birth dates 40 days apart: no round's child resembles another round's.
        let dob = (d("2021-01-01") + chrono::Duration::days(40 * round)).to_string();
        let c = child("Anak Kembar Uji", Sex::Male, &dob);
        let barrier = std::sync::Barrier::new(2);
        let (x, y) = std::thread::scope(|s| {
            let a = s.spawn(|| {
                barrier.wait();
                p.t.register_child(c.clone(), false)
            });
            let b = s.spawn(|| {
                barrier.wait();
                second.register_child(c.clone(), false)
            });
            (a.join().unwrap(), b.join().unwrap())
        });
        let registered = [&x, &y].iter().filter(|r| r.is_ok()).count();
        assert_eq!(registered, 1, "round {round}: {x:?} {y:?}");
        let refused = [x, y].into_iter().find_map(Result::err).unwrap();
        assert!(
            matches!(&refused, Error::NeedsConfirmation { reasons } if reasons.iter().any(|r| r.code == "possible_duplicate")),
            "{refused:?}"
        );
    }
    assert_eq!(p.t.village_list().unwrap().len(), 30);
}

/// A kader's write is synced to storage before the call returns (`synchronous = FULL`), so it survives a
/// pulled battery; documents received from another phone are written without their own sync.
#[test]
fn interactive_commits_are_durable_and_received_documents_are_bulk() {
    use timbang_core::store::StoreError;
    let p = phone("hp-1");
    let s = timbang_core::testing::store(&p.t);
    let level = |tx: &rusqlite::Transaction<'_>| -> Result<i64, StoreError> {
        Ok(tx.query_row("PRAGMA synchronous", [], |r| r.get(0))?)
    };
    assert_eq!(s.write(level).unwrap(), 2, "FULL");
    assert_eq!(s.write_bulk(level).unwrap(), 1, "NORMAL");
    assert_eq!(
        s.write(level).unwrap(),
        2,
        "back to FULL after a bulk write"
    );
}
