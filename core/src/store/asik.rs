//! The SQL of the ASIK upload: which children are kept (not merged away, not deleted), and the local
//! attempts table (schema 4). What was sent is not here: it is in the documents (`crdt::asik_state`).

use std::collections::HashMap;

use chrono::NaiveDate;
use rusqlite::{Connection, Transaction, params};

use super::{Res, Store};

/// Every kept child (its own root), deleted ones included (their sent visits are retracted).
pub fn roots(conn: &Connection) -> Res<Vec<(String, bool)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT child_id, deleted FROM children WHERE root_id = child_id ORDER BY child_id",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A visit's local attempts: how many, and the refusal that holds it (fingerprint, reason).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attempts {
    pub attempts: i64,
    pub rejected: Option<(String, String)>,
}

/// The attempts of one kept child's visits.
pub fn attempts(
    store: &Store,
    conn: &Connection,
    child: &str,
) -> Res<HashMap<NaiveDate, Attempts>> {
    let mut stmt = conn.prepare_cached(
        "SELECT visit_date, attempts, rejected_fp, last_error FROM asik_attempts WHERE child_id = ?1",
    )?;
    let mut q = stmt.query(params![child])?;
    let mut out = HashMap::new();
    while let Some(r) = q.next()? {
        let date: String = r.get(0)?;
        let Ok(date) = date.parse::<NaiveDate>() else {
            continue;
        };
        let fp: Option<String> = r.get(2)?;
        let sealed: Option<Vec<u8>> = r.get(3)?;
        let reason = match sealed {
            Some(s) => Some(store.open_sealed("asik_error", &format!("{child}/{date}"), &s)?),
            None => None,
        };
        out.insert(
            date,
            Attempts {
                attempts: r.get(1)?,
                rejected: fp.zip(reason),
            },
        );
    }
    Ok(out)
}

/// One more attempt at a visit now.
pub fn tried(tx: &Transaction<'_>, child: &str, date: NaiveDate, now_s: i64) -> Res<()> {
    tx.prepare_cached(
        "INSERT INTO asik_attempts(child_id, visit_date, attempts, last_attempt) VALUES (?1, ?2, 1, ?3)
         ON CONFLICT(child_id, visit_date) DO UPDATE SET attempts = attempts + 1, last_attempt = excluded.last_attempt",
    )?
    .execute(params![child, date.to_string(), now_s])?;
    Ok(())
}

/// The server refused the visit with fingerprint `fp` for `reason` (sealed).
pub fn rejected(
    store: &Store,
    tx: &Transaction<'_>,
    child: &str,
    date: NaiveDate,
    fp: &str,
    reason: &str,
) -> Res<()> {
    let sealed = store.seal("asik_error", &format!("{child}/{date}"), reason)?;
    tx.prepare_cached(
        "INSERT INTO asik_attempts(child_id, visit_date, attempts, rejected_fp, last_error) VALUES (?1, ?2, 1, ?3, ?4)
         ON CONFLICT(child_id, visit_date) DO UPDATE SET rejected_fp = excluded.rejected_fp, last_error = excluded.last_error",
    )?
    .execute(params![child, date.to_string(), fp, sealed])?;
    Ok(())
}

/// The visit reached the server: no refusal holds it any more.
pub fn accepted(tx: &Transaction<'_>, child: &str, date: NaiveDate) -> Res<()> {
    tx.prepare_cached(
        "UPDATE asik_attempts SET rejected_fp = NULL, last_error = NULL WHERE child_id = ?1 AND visit_date = ?2",
    )?
    .execute(params![child, date.to_string()])?;
    Ok(())
}
