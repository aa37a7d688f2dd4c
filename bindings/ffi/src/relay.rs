//! The relay: sync with the team through an S3-compatible object store, sent through the host's HTTP
//! (the same `HttpClient` as ASIK). The configuration and the report.

use timbang_core::api;
use timbang_core::relay::S3Config;

/// Where the team's relay lives and how to sign for it. The secret is held only for the call (the
/// core wipes its copy) and never printed.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct RelayConfig {
    /// The store's endpoint, `http://` or `https://` (path-style buckets: `URL/BUCKET/KEY`).
    pub url: String,
    pub bucket: String,
    pub access_key: String,
    /// The secret access key.
    pub secret_key: String,
    /// The signing region.
    #[uniffi(default = "us-east-1")]
    pub region: String,
}

impl std::fmt::Debug for RelayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayConfig")
            .field("url", &self.url)
            .field("bucket", &self.bucket)
            .field("access_key", &self.access_key)
            .field("secret_key", &"<secret>")
            .field("region", &self.region)
            .finish()
    }
}

impl From<RelayConfig> for S3Config {
    fn from(mut c: RelayConfig) -> Self {
        Self {
            url: std::mem::take(&mut c.url),
            bucket: std::mem::take(&mut c.bucket),
            access_key: std::mem::take(&mut c.access_key),
            secret_key: std::mem::take(&mut c.secret_key),
            region: std::mem::take(&mut c.region),
        }
    }
}

/// What one relay sync did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RelayReport {
    /// Documents whose changes were pushed.
    pub pushed: u64,
    /// Documents that changed here from what was pulled.
    pub pulled: u64,
    /// Objects written and read, bytes sent and received, HTTP requests (lists among them).
    pub objects: u64,
    pub bytes: u64,
    pub requests: u64,
    pub lists: u64,
    /// Objects refused (they do not open with the team's key, or are garbled), by key; the rest was
    /// applied.
    pub refused: Vec<String>,
    /// Whether this sync wrote a snapshot, and how many objects it superseded and deleted.
    pub compacted: bool,
    pub deleted: u64,
}

impl From<api::RelayReport> for RelayReport {
    fn from(r: api::RelayReport) -> Self {
        Self {
            pushed: r.pushed,
            pulled: r.pulled,
            objects: r.objects,
            bytes: r.bytes,
            requests: r.requests,
            lists: r.lists,
            refused: r.refused,
            compacted: r.compacted,
            deleted: r.deleted,
        }
    }
}
