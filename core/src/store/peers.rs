//! Phone-to-phone bookkeeping: per-peer automerge sync states (`peer_docs`) and sessions (`peers`).

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::Res;

/// The automerge sync state kept for `peer` and one document.
pub fn sync_state(conn: &Connection, peer: &str, doc_id: &str) -> Res<Option<Vec<u8>>> {
    Ok(conn
        .prepare_cached("SELECT state FROM peer_docs WHERE peer_id = ?1 AND child_id = ?2")?
        .query_row(params![peer, doc_id], |r| r.get(0))
        .optional()?)
}

/// Keep sync states for `peer`.
pub fn set_sync_states(tx: &Transaction<'_>, peer: &str, states: &[(String, Vec<u8>)]) -> Res<()> {
    for (doc, state) in states {
        tx.prepare_cached(
            "INSERT INTO peer_docs(peer_id, child_id, state) VALUES (?1, ?2, ?3)
             ON CONFLICT(peer_id, child_id) DO UPDATE SET state = excluded.state",
        )?
        .execute(params![peer, doc, state])?;
    }
    Ok(())
}

/// Record a completed session with `peer` at `at` (RFC 3339).
pub fn record_session(tx: &Transaction<'_>, peer: &str, at: &str) -> Res<()> {
    tx.prepare_cached(
        "INSERT INTO peers(peer_id, last_sync_at, sessions) VALUES (?1, ?2, 1)
         ON CONFLICT(peer_id) DO UPDATE SET last_sync_at = excluded.last_sync_at, sessions = sessions + 1",
    )?
    .execute(params![peer, at])?;
    Ok(())
}

/// This database's numbering of document writes: its epoch (16 bytes) and the last number given out.
pub fn doc_mark(conn: &Connection) -> Res<([u8; 16], u64)> {
    let epoch: Vec<u8> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = 'store_epoch'")?
        .query_row([], |r| r.get(0))?;
    let seq: i64 = conn
        .prepare_cached("SELECT value FROM meta WHERE key = 'doc_seq'")?
        .query_row([], |r| r.get(0))?;
    let epoch = <[u8; 16]>::try_from(epoch.as_slice())
        .map_err(|_| super::StoreError::Other("the store epoch is not 16 bytes".into()))?;
    Ok((epoch, u64::try_from(seq).unwrap_or(0)))
}

/// Ids of `team`'s documents written after number `seq`, sorted.
pub fn written_since(conn: &Connection, team: super::teams::TeamNo, seq: u64) -> Res<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT child_id FROM docs WHERE team = ?1 AND seq > ?2 ORDER BY child_id",
    )?;
    let rows = stmt.query_map(params![team, i64::try_from(seq).unwrap_or(i64::MAX)], |r| {
        r.get(0)
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Where the last verified session with `peer` for `team` left both: (their epoch, their number,
/// our number).
pub type CheckpointRow = (Vec<u8>, u64, u64);

/// The checkpoint kept for `peer` and `team`.
pub fn checkpoint(
    conn: &Connection,
    peer: &str,
    team: super::teams::TeamNo,
) -> Res<Option<CheckpointRow>> {
    Ok(conn
        .prepare_cached(
            "SELECT their_epoch, their_seq, own_seq FROM peer_checkpoints
             WHERE peer_id = ?1 AND team = ?2",
        )?
        .query_row(params![peer, team], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
            ))
        })
        .optional()?)
}

/// Keep (or, with None, forget) the checkpoint of `peer` and `team`.
pub fn set_checkpoint(
    tx: &Transaction<'_>,
    peer: &str,
    team: super::teams::TeamNo,
    row: Option<(&[u8], u64, u64)>,
) -> Res<()> {
    match row {
        None => {
            tx.prepare_cached("DELETE FROM peer_checkpoints WHERE peer_id = ?1 AND team = ?2")?
                .execute(params![peer, team])?;
        }
        Some((epoch, theirs, own)) => {
            tx.prepare_cached(
                "INSERT INTO peer_checkpoints(peer_id, team, their_epoch, their_seq, own_seq)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(peer_id, team) DO UPDATE SET their_epoch = excluded.their_epoch,
                     their_seq = excluded.their_seq, own_seq = excluded.own_seq",
            )?
            .execute(params![
                peer,
                team,
                epoch,
                i64::try_from(theirs).unwrap_or(i64::MAX),
                i64::try_from(own).unwrap_or(i64::MAX)
            ])?;
        }
    }
    Ok(())
}
