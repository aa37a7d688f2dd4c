//! Relay bookkeeping (`relay_self`, `relay_docs`, `relay_cursor`): who this database is on a team's
//! relay, what the relay already holds of each document, and how far each writer's objects were applied.

use std::collections::HashMap;

use automerge::ChangeHash;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{Res, decode_heads, encode_heads};

/// This database on one team's relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelaySelf {
    pub device: String,
    pub next_seq: u64,
    pub lamport: u64,
}

/// This database's relay identity for `team_tag`, if it has written or read there before.
pub fn self_row(conn: &Connection, team_tag: &str) -> Res<Option<RelaySelf>> {
    Ok(conn
        .prepare_cached("SELECT device, next_seq, lamport FROM relay_self WHERE team_tag = ?1")?
        .query_row(params![team_tag], |r| {
            Ok(RelaySelf {
                device: r.get(0)?,
                next_seq: r.get::<_, i64>(1)?.max(1) as u64,
                lamport: r.get::<_, i64>(2)?.max(0) as u64,
            })
        })
        .optional()?)
}

/// Make the identity (a no-op when it exists); returns what is stored.
pub fn ensure_self(tx: &Transaction<'_>, team_tag: &str, device: &str) -> Res<RelaySelf> {
    tx.prepare_cached("INSERT OR IGNORE INTO relay_self(team_tag, device) VALUES (?1, ?2)")?
        .execute(params![team_tag, device])?;
    Ok(self_row(tx, team_tag)?.unwrap_or(RelaySelf {
        device: device.to_owned(),
        next_seq: 1,
        lamport: 0,
    }))
}

/// Reserve `count` sequence numbers from at least `min_seq`, and raise the lamport clock to at least
/// `lamport`. Returns the first reserved number. Committed before any object is written, so a number is
/// never used twice even when the write fails half way.
pub fn reserve(
    tx: &Transaction<'_>,
    team_tag: &str,
    min_seq: u64,
    count: u64,
    lamport: u64,
) -> Res<u64> {
    let current = self_row(tx, team_tag)?.map(|s| s.next_seq).unwrap_or(1);
    let first = current.max(min_seq).max(1);
    tx.prepare_cached(
        "UPDATE relay_self SET next_seq = ?2, lamport = MAX(lamport, ?3) WHERE team_tag = ?1",
    )?
    .execute(params![team_tag, (first + count) as i64, lamport as i64])?;
    Ok(first)
}

/// Raise the lamport clock to at least `lamport`.
pub fn raise_lamport(tx: &Transaction<'_>, team_tag: &str, lamport: u64) -> Res<()> {
    tx.prepare_cached("UPDATE relay_self SET lamport = MAX(lamport, ?2) WHERE team_tag = ?1")?
        .execute(params![team_tag, lamport as i64])?;
    Ok(())
}

/// Per document, the heads the relay already holds.
pub fn doc_heads(conn: &Connection, team_tag: &str) -> Res<HashMap<String, Vec<ChangeHash>>> {
    let mut stmt =
        conn.prepare_cached("SELECT child_id, heads FROM relay_docs WHERE team_tag = ?1")?;
    let rows = stmt.query_map(params![team_tag], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
    })?;
    let mut out = HashMap::new();
    for row in rows {
        let (id, blob) = row?;
        out.insert(id, decode_heads(&blob));
    }
    Ok(out)
}

/// Record that the relay holds `heads` of each document.
pub fn set_doc_heads(
    tx: &Transaction<'_>,
    team_tag: &str,
    docs: &[(String, Vec<ChangeHash>)],
) -> Res<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO relay_docs(team_tag, child_id, heads) VALUES (?1, ?2, ?3)
         ON CONFLICT(team_tag, child_id) DO UPDATE SET heads = excluded.heads",
    )?;
    for (id, heads) in docs {
        let mut sorted = heads.clone();
        sorted.sort();
        stmt.execute(params![team_tag, id, encode_heads(&sorted)])?;
    }
    Ok(())
}

/// Per writing device, the highest sequence number applied here.
pub fn cursors(conn: &Connection, team_tag: &str) -> Res<HashMap<String, u64>> {
    let mut stmt =
        conn.prepare_cached("SELECT device, seq FROM relay_cursor WHERE team_tag = ?1")?;
    let rows = stmt.query_map(params![team_tag], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.max(0) as u64))
    })?;
    let mut out = HashMap::new();
    for row in rows {
        let (d, s) = row?;
        out.insert(d, s);
    }
    Ok(out)
}

/// Move `device`'s cursor forward to `seq` (never back).
pub fn advance_cursor(tx: &Transaction<'_>, team_tag: &str, device: &str, seq: u64) -> Res<()> {
    tx.prepare_cached(
        "INSERT INTO relay_cursor(team_tag, device, seq) VALUES (?1, ?2, ?3)
         ON CONFLICT(team_tag, device) DO UPDATE SET seq = MAX(seq, excluded.seq)",
    )?
    .execute(params![team_tag, device, seq as i64])?;
    Ok(())
}
