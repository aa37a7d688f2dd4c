//! Reading the `conflicts` projection (values unsealed here).

use chrono::NaiveDate;
use rusqlite::{Connection, params};

use super::{Res, Store};
use crate::domain::ChildId;

/// An open conflict as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ConflictRow {
    pub conflict_id: String,
    /// The kept child it belongs to.
    pub root_id: ChildId,
    /// The document holding it.
    pub doc_id: ChildId,
    pub field: String,
    pub visit_date: Option<NaiveDate>,
    pub values: Vec<serde_json::Value>,
    /// The document key (`visits.<date>/weight_g`, or `merge:<date>/<field>` for a disagreement
    /// between the documents of a merged group).
    pub doc_key: String,
}

/// Open conflicts: all of them, those of one kept child, or the one with an id. Only the matching rows
/// are read and unsealed.
pub fn open(
    store: &Store,
    conn: &Connection,
    root: Option<&ChildId>,
    conflict_id: Option<&str>,
) -> Res<Vec<ConflictRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT k.conflict_id, ch.root_id, k.child_id, k.field, k.visit_date, k.payload, k.doc_key
         FROM conflicts k JOIN children ch ON ch.child_id = k.child_id
         WHERE (?1 IS NULL OR ch.root_id = ?1) AND (?2 IS NULL OR k.conflict_id = ?2)
         ORDER BY ch.root_id, k.visit_date, k.field",
    )?;
    let mut q = stmt.query(params![root.map(ChildId::as_str), conflict_id])?;
    let mut out = Vec::new();
    while let Some(r) = q.next()? {
        let cid: String = r.get(0)?;
        let payload: Vec<u8> = r.get(5)?;
        let values = serde_json::from_str(&store.open_sealed("conflicts", &cid, &payload)?)?;
        let visit_date: Option<String> = r.get(4)?;
        out.push(ConflictRow {
            root_id: Store::child_id(&r.get::<_, String>(1)?)?,
            doc_id: Store::child_id(&r.get::<_, String>(2)?)?,
            field: r.get(3)?,
            visit_date: visit_date.and_then(|d| d.parse().ok()),
            values,
            doc_key: r.get(6)?,
            conflict_id: cid,
        });
    }
    Ok(out)
}
