//! Reach into the store from tests (the `testing` feature; never enabled by the CLI or the bindings).

use crate::Timbang;
use crate::store::Store;

/// The store under a facade.
pub fn store(t: &Timbang) -> &Store {
    &t.store
}

/// Every row of the projection tables (`children`, `visits`, `child_status`, `conflicts`) as text, with
/// the sealed columns opened: two dumps are equal when the projections hold the same values, whatever
/// nonces their seals used.
pub fn projection_dump(t: &Timbang) -> String {
    // (table, column, the column naming the row, the purpose the value was sealed for)
    const SEALED: &[(&str, &str, &str, &str)] = &[
        ("children", "name", "child_id", "name"),
        ("children", "nik", "child_id", "nik"),
        ("children", "kk", "child_id", "kk"),
        ("children", "mother_name", "child_id", "mother_name"),
        ("children", "mother_nik", "child_id", "mother_nik"),
        ("children", "address", "child_id", "address"),
        ("conflicts", "payload", "conflict_id", "conflicts"),
    ];
    let store = store(t);
    store
        .read(|c| {
            let mut out = String::new();
            for table in ["children", "visits", "child_status", "conflicts"] {
                let mut stmt = c.prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2"))?;
                let names: Vec<String> = stmt.column_names().map(str::to_owned).collect();
                let mut rows = stmt.query([])?;
                out.push_str(&format!("[{table}]\n"));
                while let Some(r) = rows.next()? {
                    for (i, name) in names.iter().enumerate() {
                        let v: rusqlite::types::Value = r.get(i)?;
                        let sealed = SEALED
                            .iter()
                            .find(|(tb, col, _, _)| *tb == table && col == name);
                        let shown = match (sealed, &v) {
                            (Some((_, col, key, purpose)), rusqlite::types::Value::Blob(b)) => {
                                let row_key = names.iter().position(|n| n == key).unwrap_or(0);
                                let row: String = r.get(row_key)?;
                                format!("{col}={}", store.open_sealed(purpose, &row, b)?)
                            }
                            _ => format!("{name}={v:?}"),
                        };
                        out.push_str(&shown);
                        out.push('|');
                    }
                    out.push('\n');
                }
            }
            Ok(out)
        })
        .unwrap_or_else(|e| format!("the projections could not be read: {e}"))
}
