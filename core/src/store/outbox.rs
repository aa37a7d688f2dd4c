//! The `outbox`: one row per visit waiting for (or done with) upload, keyed by the fingerprint of the
//! content it was queued with, so only a real change of what would be sent makes a visit pending again.

use chrono::NaiveDate;
use rusqlite::{Connection, Transaction, params};

use super::Res;

/// Queue a visit whose content is `content` (a fingerprint): pending again only when the content differs
/// from what the outbox last had.
pub fn queue(tx: &Transaction<'_>, child: &str, date: NaiveDate, content: &[u8]) -> Res<()> {
    tx.prepare_cached(
        "INSERT INTO outbox(child_id, visit_date, state, content, changed_at) VALUES (?1, ?2, 'pending', ?3, ?4)
         ON CONFLICT(child_id, visit_date) DO UPDATE SET state = 'pending', content = excluded.content,
             changed_at = excluded.changed_at
         WHERE outbox.content <> excluded.content",
    )?
    .execute(params![
        child,
        date.to_string(),
        content,
        chrono::Utc::now().timestamp()
    ])?;
    Ok(())
}

/// Whether `child` (a group's kept child) has any row in the outbox.
pub fn has_rows(conn: &Connection, child: &str) -> Res<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM outbox WHERE child_id = ?1 LIMIT 1")?
        .exists(params![child])?)
}

/// [`queue`] for a child with no row in the outbox ([`has_rows`] false): a plain insert, which costs
/// SQLite a seventh of the upsert (that opens a scratch table on every run), and a first sync queues
/// every visit of every child (`valgrind --tool=callgrind` on `timbang peer sync`, docs/BENCHMARKS.md).
pub fn queue_first(tx: &Transaction<'_>, child: &str, date: NaiveDate, content: &[u8]) -> Res<()> {
    tx.prepare_cached(
        "INSERT INTO outbox(child_id, visit_date, state, content, changed_at) VALUES (?1, ?2, 'pending', ?3, ?4)",
    )?
    .execute(params![
        child,
        date.to_string(),
        content,
        chrono::Utc::now().timestamp()
    ])?;
    Ok(())
}

/// A visit deleted before it was sent needs no upload.
pub fn drop_pending(tx: &Transaction<'_>, child: &str, date: NaiveDate) -> Res<()> {
    tx.prepare_cached(
        "DELETE FROM outbox WHERE child_id = ?1 AND visit_date = ?2 AND state = 'pending'",
    )?
    .execute(params![child, date.to_string()])?;
    Ok(())
}

/// A merged duplicate's rows move to the kept child (a visit already sent stays sent); where the kept
/// child has its own row for the same day, the kept child's row stands.
pub fn move_group(tx: &Transaction<'_>, from: &str, to: &str) -> Res<()> {
    tx.prepare_cached("UPDATE OR IGNORE outbox SET child_id = ?2 WHERE child_id = ?1")?
        .execute(params![from, to])?;
    tx.prepare_cached("DELETE FROM outbox WHERE child_id = ?1 AND state = 'pending'")?
        .execute(params![from])?;
    Ok(())
}

/// Keep the outbox as it is before a rebuild of the projections (see [`restore_after_rebuild`]).
pub fn keep_before_rebuild(conn: &Connection) -> Res<()> {
    conn.execute_batch(
        "DROP TABLE IF EXISTS temp.outbox_before;
         CREATE TEMP TABLE outbox_before AS SELECT * FROM outbox;",
    )?;
    Ok(())
}

/// After a rebuild: a visit whose content came out the same keeps its upload state, even when a merged
/// group's documents fell into different batches.
pub fn restore_after_rebuild(conn: &Connection) -> Res<()> {
    conn.execute_batch(
        "UPDATE outbox SET state = b.state, attempts = b.attempts, last_error = b.last_error,
             server_ids = b.server_ids, changed_at = b.changed_at
         FROM temp.outbox_before AS b
         WHERE b.child_id = outbox.child_id AND b.visit_date = outbox.visit_date AND b.content = outbox.content;
         DROP TABLE temp.outbox_before;",
    )?;
    Ok(())
}
