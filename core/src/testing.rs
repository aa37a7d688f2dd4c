//! Reach into the store from tests (the `testing` feature; never enabled by the CLI or the bindings).

use crate::Timbang;
use crate::store::Store;

/// The store under a facade.
pub fn store(t: &Timbang) -> &Store {
    &t.store
}
