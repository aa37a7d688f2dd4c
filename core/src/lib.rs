//! # timbang-core
//!
//! All behaviour of Timbang: the domain, the WHO growth engine, the encrypted SQLite store, one automerge
//! document per child, phone-to-phone sync, and the [`Timbang`] facade that the CLI and the bindings use.

pub mod crypto;
pub mod growth;
pub mod peer;
