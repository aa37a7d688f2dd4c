//! Upload to ASIK/SATUSEHAT (FHIR R4, OAuth2 client credentials): [`mapping`] turns a visit into
//! resources (pure), [`state`] keeps what was sent in the child's document, [`engine`] plans and
//! sends within a deadline through the host's [`crate::host::HttpClient`].

pub mod engine;
pub mod mapping;
pub mod state;

pub use engine::{AsikConfig, SyncReason, SyncReport};
pub use mapping::{HeadCode, MapConfig};
