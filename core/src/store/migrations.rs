//! Numbered migrations from `schema/sqlite/`, included at compile time, each run in one transaction
//! that also sets `PRAGMA user_version`.
//!
//! A migration that has shipped is never edited: databases in the field have already run it. Change the
//! schema with a new numbered file. `schema/sqlite/FROZEN` lists the SHA-256 of every shipped file and a
//! test fails when one changes.
//!
//! Every Timbang database carries `PRAGMA application_id = 0x544D4247` (the ASCII bytes of "TMBG"),
//! set when the file is created (and, for databases made before the id existed, when they are first
//! opened with the right key). Opening refuses a SQLite file with another non-zero id, or with id 0 and
//! tables but no Timbang `meta` canary, and leaves it untouched ([`crate::Error::NotOurs`]). The id lives
//! in the file header, not in a migration, so the frozen migrations stay as they shipped.

use rusqlite::Connection;

use super::{Res, StoreError};

/// The migrations in order; migration `i` brings the schema to version `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    include_str!("../../../schema/sqlite/0001_initial.sql"),
    include_str!("../../../schema/sqlite/0002_sync_bookkeeping.sql"),
    include_str!("../../../schema/sqlite/0003_audit_chain.sql"),
    include_str!("../../../schema/sqlite/0004_reports.sql"),
    include_str!("../../../schema/sqlite/0005_asik.sql"),
    include_str!("../../../schema/sqlite/0006_relay.sql"),
    include_str!("../../../schema/sqlite/0007_rt_rw.sql"),
    include_str!("../../../schema/sqlite/0008_teams.sql"),
    include_str!("../../../schema/sqlite/0009_doc_seq.sql"),
];

/// `PRAGMA application_id` of every Timbang database: the ASCII bytes of "TMBG".
pub const APPLICATION_ID: i32 = 0x544D_4247;

/// The schema version this code writes.
pub const LATEST: u32 = MIGRATIONS.len() as u32;

/// The database's schema version.
pub fn version(conn: &Connection) -> Res<u32> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Bring the schema up to `target` (≤ [`LATEST`]); each step is one transaction.
pub fn migrate_to(conn: &Connection, target: u32) -> Res<()> {
    let current = version(conn)?;
    if current > LATEST {
        return Err(StoreError::TooNew {
            found: current,
            supported: LATEST,
        });
    }
    for v in current..target.min(LATEST) {
        let sql = MIGRATIONS[v as usize];
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {};\nCOMMIT;",
            v + 1
        ))
        .inspect_err(|_| {
            let _ = conn.execute_batch("ROLLBACK");
        })?;
    }
    Ok(())
}

/// Bring the schema up to date.
pub fn migrate(conn: &Connection) -> Res<()> {
    migrate_to(conn, LATEST)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_migrations_are_frozen() {
        let frozen = include_str!("../../../schema/sqlite/FROZEN");
        let mut listed = 0;
        for (line, sql) in frozen.lines().zip(MIGRATIONS) {
            let (name, hash) = line.split_once(' ').unwrap_or_default();
            let actual: String = crate::crypto::sha256(sql.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(
                actual, hash,
                "{name} was edited after it shipped: add a new migration instead"
            );
            listed += 1;
        }
        // Every migration is listed once it ships; new ones may be unlisted until then.
        assert!(listed <= MIGRATIONS.len());
        assert!(
            listed >= 2,
            "the first release froze migrations 0001 and 0002"
        );
    }
}
