//! # timbang-core
//!
//! All behaviour of Timbang: the domain, the WHO growth engine, the encrypted SQLite store, one automerge
//! document per child, phone-to-phone sync, and the [`Timbang`] facade that the CLI and the bindings use.
//!
//! The public API is [`Timbang`] (in [`api`]) with its records, [`Error`], the host traits in [`host`],
//! the [`InterruptHandle`], and the pure modules [`domain`], [`growth`] and [`peer`]. Storage (`store`)
//! and the child documents (`crdt`) are private: nothing outside the core reaches them except tests,
//! through the `testing` feature.

pub mod api;
pub mod asik;
pub mod crypto;
pub mod domain;
pub mod error;
pub mod growth;
pub mod host;
#[cfg(feature = "ureq")]
mod http_ureq;
pub mod inflate;
pub mod interrupt;
pub mod output_file;
pub mod peer;
pub mod relay;
pub mod reports;

#[cfg(not(feature = "testing"))]
mod crdt;
#[cfg(feature = "testing")]
pub mod crdt;
#[cfg(not(feature = "testing"))]
mod store;
#[cfg(feature = "testing")]
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;

pub use api::Timbang;
pub use error::{Confirmation, Error, Result};
pub use host::{Clock, FixedDate, SystemClock};
pub use interrupt::InterruptHandle;

/// The examples of `core/README.md`, compiled and run as doctests so the README stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
