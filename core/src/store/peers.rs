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
