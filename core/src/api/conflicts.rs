//! Conflicts: fields with concurrent different values, for the bidan to settle.

use super::{ConflictView, Timbang};
use crate::crdt;
use crate::domain::{self, ChildId};
use crate::error::{Error, Result};
use crate::store::{children, conflicts};

/// Two values shown for a conflict are the same choice (numbers compared as numbers).
fn same_value(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    match (a, b) {
        (serde_json::Value::Number(a), serde_json::Value::Number(b)) => {
            (a.as_f64().unwrap_or(f64::NAN) - b.as_f64().unwrap_or(f64::NAN)).abs() < 1e-9
        }
        (a, b) => a == b,
    }
}

fn view(r: conflicts::ConflictRow) -> ConflictView {
    ConflictView {
        conflict_id: r.conflict_id,
        child_id: r.root_id,
        doc_id: r.doc_id,
        field: r.field,
        visit_date: r.visit_date,
        values: r.values,
    }
}

impl Timbang {
    /// Every open conflict.
    pub fn conflicts(&self) -> Result<Vec<ConflictView>> {
        self.conflict_views(None)
    }

    /// The open conflicts of one kept child, or all of them.
    pub(super) fn conflict_views(&self, root: Option<&ChildId>) -> Result<Vec<ConflictView>> {
        let rows = self
            .store
            .read(|c| conflicts::open(&self.store, c, root, None))?;
        Ok(rows.into_iter().map(view).collect())
    }

    /// Settle a conflict by keeping `value` (one of the conflicting values, typed as a person would).
    pub fn resolve(&self, conflict_id: &str, value: &str) -> Result<()> {
        self.device()?;
        let conflict = self
            .store
            .read(|c| conflicts::open(&self.store, c, None, Some(conflict_id.trim())))?
            .into_iter()
            .next()
            .ok_or_else(|| Error::NotFound {
                what: "conflict".into(),
                id: conflict_id.trim().to_owned(),
            })?;
        let (chosen, shown) = domain::parse_field_value(&conflict.field, value)?;
        if !conflict.values.iter().any(|v| same_value(v, &shown)) {
            let options: Vec<String> = conflict.values.iter().map(|v| v.to_string()).collect();
            return Err(Error::invalid(
                "value",
                format!(
                    "Nilai itu bukan salah satu pilihan yang bertentangan ({}).",
                    options.join(", ")
                ),
                format!(
                    "the value is not one of the conflicting values for {}",
                    conflict.field
                ),
            ));
        }
        self.commit("resolve_conflict", |e| {
            let now = e.now_ms;
            // A conflict inside one document is settled in that document; a disagreement between the
            // documents of a merged group is settled in every member that has the field.
            match conflict.doc_key.strip_prefix("merge:") {
                Some(rest) => {
                    let key = format!("visits.{rest}");
                    for id in children::group_members(e.tx, &conflict.root_id)? {
                        e.change(&id, |d| {
                            if !crdt::has_key(d, &key)? {
                                return Ok(false);
                            }
                            crdt::resolve(d, &key, &chosen, now).map(|()| true)
                        })?;
                    }
                }
                None => {
                    e.change(conflict.doc_id.as_str(), |d| {
                        crdt::resolve(d, &conflict.doc_key, &chosen, now).map(|()| true)
                    })?;
                }
            }
            e.child = Some(conflict.root_id.clone());
            e.detail = Some(conflict.conflict_id.clone());
            Ok(())
        })
    }
}
