//! The audit log as a hash chain: each row carries HMAC-SHA256(audit key, previous MAC ‖ this row), the
//! head (the last MAC) is kept in `meta`, so a row altered, inserted or deleted by someone holding the
//! file (but not the key) is found by [`verify`]. Rows from before schema 3 carry no MAC; the chain
//! starts at the first row that has one.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::Res;
use crate::crypto::{self, Key};

/// The meta key of the chain's head.
const HEAD: &str = "audit_head";

/// One audit row's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub at: String,
    pub device: String,
    /// Sealed.
    pub kader: Option<Vec<u8>>,
    pub action: String,
    pub child_id: Option<String>,
    pub detail: Option<String>,
}

impl Row {
    /// The canonical bytes the MAC covers (each field length-prefixed; absent ones marked).
    fn encode(&self, prev: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(b"timbang-audit-v1");
        let mut field = |v: Option<&[u8]>| match v {
            Some(b) => {
                out.extend_from_slice(&(b.len() as u32).to_be_bytes());
                out.extend_from_slice(b);
            }
            None => out.extend_from_slice(&u32::MAX.to_be_bytes()),
        };
        field(Some(prev));
        field(Some(self.at.as_bytes()));
        field(Some(self.device.as_bytes()));
        field(self.kader.as_deref());
        field(Some(self.action.as_bytes()));
        field(self.child_id.as_deref().map(str::as_bytes));
        field(self.detail.as_deref().map(str::as_bytes));
        out
    }

    fn mac(&self, key: &Key, prev: &[u8]) -> Vec<u8> {
        crypto::hmac_sha256(key, &self.encode(prev)).to_vec()
    }
}

fn head(conn: &Connection) -> Res<Option<Vec<u8>>> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row(params![HEAD], |r| r.get(0))
        .optional()?)
}

/// Append `row`, chained to the current head, and move the head to it.
pub fn append(tx: &Transaction<'_>, key: &Key, row: &Row) -> Res<()> {
    let prev = head(tx)?.unwrap_or_default();
    let mac = row.mac(key, &prev);
    tx.prepare_cached(
        "INSERT INTO audit(at, device, kader, action, child_id, detail, mac) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        row.at,
        row.device,
        row.kader,
        row.action,
        row.child_id,
        row.detail,
        mac
    ])?;
    tx.prepare_cached(
        "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![HEAD, mac])?;
    Ok(())
}

/// What walking the chain found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainReport {
    /// Rows in the log.
    pub rows: u64,
    /// Rows from before the chain (schema 1 and 2), which carry no MAC.
    pub unchained: u64,
    /// The first row that does not verify: its `seq` and why (`altered or inserted`, `no MAC`,
    /// `kader does not open`), or the last row's `seq` with `rows deleted after it` when the head in
    /// `meta` does not match.
    pub first_bad: Option<(i64, String)>,
}

/// Walk the chain from the first row with a MAC. `kader_opens` says whether a sealed kader opens.
pub fn verify(
    conn: &Connection,
    key: &Key,
    kader_opens: impl Fn(&[u8]) -> bool,
) -> Res<ChainReport> {
    let mut stmt = conn.prepare(
        "SELECT seq, at, device, kader, action, child_id, detail, mac FROM audit ORDER BY seq",
    )?;
    let mut q = stmt.query([])?;
    let mut report = ChainReport {
        rows: 0,
        unchained: 0,
        first_bad: None,
    };
    let mut prev: Option<Vec<u8>> = None;
    let mut last_seq = 0;
    while let Some(r) = q.next()? {
        report.rows += 1;
        let seq: i64 = r.get(0)?;
        last_seq = seq;
        let row = Row {
            at: r.get(1)?,
            device: r.get(2)?,
            kader: r.get(3)?,
            action: r.get(4)?,
            child_id: r.get(5)?,
            detail: r.get(6)?,
        };
        let mac: Option<Vec<u8>> = r.get(7)?;
        if report.first_bad.is_some() {
            continue;
        }
        let bad = |why: &str| Some((seq, why.to_owned()));
        match (&prev, mac) {
            (None, None) => report.unchained += 1,
            (Some(_), None) => report.first_bad = bad("no MAC (inserted or altered)"),
            (p, Some(mac)) => {
                let p = p.clone().unwrap_or_default();
                if row.mac(key, &p) != mac {
                    report.first_bad = bad("altered, inserted, or a row before it deleted");
                } else if row.kader.as_deref().is_some_and(|k| !kader_opens(k)) {
                    report.first_bad = bad("the kader's name does not open");
                }
                prev = Some(mac);
            }
        }
    }
    if report.first_bad.is_none() && head(conn)? != prev {
        report.first_bad = Some((last_seq, "rows deleted after it".to_owned()));
    }
    Ok(report)
}
