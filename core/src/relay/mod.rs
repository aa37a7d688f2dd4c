//! Sealed sync through an S3-compatible object store, for phones of a team that seldom meet (a bidan
//! covering several posyandu, a puskesmas between meetings). No server of ours: any bucket that speaks
//! S3 (a Dinas Kesehatan's own, any cloud's) carries the same automerge changes a peer session would,
//! reading nothing.
//!
//! * [`keys`]: object names that reveal nothing and are never written twice, and the sealing of
//!   bodies (AES-256-GCM under a key derived from the team secret, the object name in the AAD).
//! * [`bundle`]: what a sealed object holds: per document, automerge changes (a bundle) or the whole
//!   document (a snapshot, written by compaction).
//! * [`s3`]: list, get, put and delete, signed with `rusty-s3` (no I/O) and sent through the host's
//!   [`crate::host::HttpClient`].
//!
//! The store side (what was pushed, the cursor per device, applying through the one commit path) is in
//! `api::relay`. The design, the key layout and the costs are in `docs/RELAY.md`.

pub mod bundle;
pub mod keys;
pub mod s3;

pub use bundle::{Bundle, BundleKind};
pub use keys::{ObjectName, RelayKeys};
pub use s3::{S3Config, S3Relay};

/// Errors of the relay. Messages name object keys and HTTP statuses, never data or secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelayError {
    /// No answer from the object store (closed port, no network, DNS, timeout).
    #[error("the object store could not be reached: {0}")]
    Unreachable(String),
    /// The store refused the access key or its secret.
    #[error("the object store refused the access key or secret ({0})")]
    Credentials(String),
    /// The bucket does not exist.
    #[error("the bucket does not exist on the object store")]
    NoBucket,
    /// Any other refusal.
    #[error("the object store answered {status} ({code}) to a {op} request")]
    Server {
        status: u16,
        code: String,
        op: &'static str,
    },
    /// The answer could not be read (not the XML S3 sends).
    #[error("the object store's answer to a {0} request could not be read")]
    BadAnswer(&'static str),
    /// The URL, bucket or region given cannot be used.
    #[error("{0}")]
    Config(String),
    /// An object that does not open with this team's key or is not a bundle: altered, garbled, or not
    /// ours. Refused; the rest is applied.
    #[error("object {0} was refused: it does not open with this team's key or is garbled")]
    Refused(String),
}

impl RelayError {
    /// True when trying again later may succeed (the network, a server error).
    pub fn retryable(&self) -> bool {
        match self {
            Self::Unreachable(_) => true,
            Self::Server { status, .. } => *status >= 500,
            _ => false,
        }
    }
}
