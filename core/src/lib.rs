//! # timbang-core
//!
//! All behaviour of Timbang: the domain, the WHO growth engine, the encrypted SQLite store, one automerge
//! document per child, phone-to-phone sync, and the [`Timbang`] facade that the CLI and the bindings use.

pub mod crdt;
pub mod crypto;
pub mod domain;
pub mod error;
pub mod facade;
pub mod growth;
pub mod output_file;
pub mod peer;
pub mod store;

pub use error::{Confirmation, Error, Result};
pub use facade::{Clock, FixedDate, SystemClock, Timbang};
