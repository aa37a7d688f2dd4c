//! Reach into the store from tests (the `testing` feature; never enabled by the CLI or the bindings).

use crate::Timbang;
use crate::store::Store;

/// The store under a facade.
pub fn store(t: &Timbang) -> &Store {
    &t.store
}

/// Every row of the projection tables as text, with the sealed columns opened (see
/// [`crate::store::projection::dump`]).
pub fn projection_dump(t: &Timbang) -> String {
    let s = store(t);
    s.read(|c| crate::store::projection::dump(s, c))
        .unwrap_or_else(|e| format!("the projections could not be read: {e}"))
}
