//! ASIK/SATUSEHAT upload: the configuration, the status, and one sync run through the host's HTTP.

use timbang_core::api;
use timbang_core::asik::{self, HeadCode, MapConfig};

/// How to reach SATUSEHAT and what the deployment configured. The secret is held only for the call.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct AsikConfig {
    /// The FHIR base, e.g. `https://api-satusehat-stg.dto.kemkes.go.id/fhir-r4/v1`.
    pub base_url: String,
    /// The OAuth2 base, e.g. `https://api-satusehat-stg.dto.kemkes.go.id/oauth2/v1`.
    pub auth_url: String,
    pub client_id: String,
    pub client_secret: String,
    /// The Organization IHS number the credentials belong to.
    pub org_id: String,
    #[uniffi(default = None)]
    pub location_id: Option<String>,
    #[uniffi(default = None)]
    pub practitioner_id: Option<String>,
    /// Head circumference as LOINC 8287-5 (tape) instead of the default 9843-4.
    #[uniffi(default = false)]
    pub head_code_tape: bool,
}

impl std::fmt::Debug for AsikConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsikConfig")
            .field("base_url", &self.base_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<secret>")
            .finish_non_exhaustive()
    }
}

impl From<AsikConfig> for asik::AsikConfig {
    fn from(c: AsikConfig) -> Self {
        let mut map = MapConfig::for_org(&c.org_id);
        map.location_id = c.location_id;
        map.practitioner_id = c.practitioner_id;
        if c.head_code_tape {
            map.head_code = HeadCode::Loinc8287;
        }
        asik::AsikConfig::new(
            &c.base_url,
            &c.auth_url,
            &c.client_id,
            &c.client_secret,
            map,
        )
    }
}

/// Why the host runs a sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SyncReason {
    /// A person asked.
    Manual,
    /// The signal came back.
    Connectivity,
    /// The host's periodic job (WorkManager, BGTaskScheduler).
    Periodic,
}

impl From<SyncReason> for asik::SyncReason {
    fn from(r: SyncReason) -> Self {
        match r {
            SyncReason::Manual => asik::SyncReason::Manual,
            SyncReason::Connectivity => asik::SyncReason::Connectivity,
            SyncReason::Periodic => asik::SyncReason::Periodic,
        }
    }
}

/// What one run did and what is left.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncReport {
    pub sent: u32,
    pub created: u32,
    pub updated: u32,
    pub retracted: u32,
    pub patients_created: u32,
    pub rejected: u32,
    pub pending: u32,
    pub held: u32,
    pub rejected_total: u32,
    pub requests: u32,
    pub bytes_sent: u64,
    /// Why the run stopped early (`deadline`, `unreachable`, `interrupted`, `server`, `credentials`).
    pub stopped: Option<String>,
    /// When to try again, in seconds, when it stopped early.
    pub retry_after_s: Option<u64>,
    pub last_problem: Option<String>,
}

impl From<asik::SyncReport> for SyncReport {
    fn from(r: asik::SyncReport) -> Self {
        Self {
            sent: r.sent,
            created: r.created,
            updated: r.updated,
            retracted: r.retracted,
            patients_created: r.patients_created,
            rejected: r.rejected,
            pending: r.pending,
            held: r.held,
            rejected_total: r.rejected_total,
            requests: r.requests,
            bytes_sent: r.bytes_sent,
            stopped: r.stopped,
            retry_after_s: r.retry_after_s,
            last_problem: r.last_problem,
        }
    }
}

/// One visit that is not sent yet.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AsikVisitState {
    pub child_id: String,
    pub date: String,
    /// `pending`, `held` or `rejected`.
    pub state: String,
    /// The conflicting field (`held`) or the server's reason (`rejected`).
    pub reason: Option<String>,
}

/// The upload state of the visits on this phone.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AsikStatus {
    pub pending: u32,
    pub sent: u32,
    pub rejected: u32,
    pub held: u32,
    pub waiting: Vec<AsikVisitState>,
}

impl From<api::AsikStatus> for AsikStatus {
    fn from(s: api::AsikStatus) -> Self {
        Self {
            pending: s.pending,
            sent: s.sent,
            rejected: s.rejected,
            held: s.held,
            waiting: s
                .waiting
                .into_iter()
                .map(|w| AsikVisitState {
                    child_id: w.child_id.to_string(),
                    date: w.date.format("%Y-%m-%d").to_string(),
                    state: w.state,
                    reason: w.reason,
                })
                .collect(),
        }
    }
}
