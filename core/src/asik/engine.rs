//! Talking to SATUSEHAT: the OAuth2 token (client credentials, refreshed before expiry, once more on a
//! 401), FHIR requests within the run's deadline, what an answer means (done, refused with a reason,
//! ambiguous, try again after, unreachable), backoff with jitter, and reading transaction responses,
//! searches and OperationOutcomes. The planning and the bookkeeping are in `api/asik.rs`.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::mapping::MapConfig;
use crate::host::{HttpClient, HttpError, HttpHeader, HttpRequest, HttpResponse};
use crate::interrupt::InterruptScope;

/// Why the host started a sync (recorded in the report; the core decides what fits either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncReason {
    /// A person asked (the CLI, a button).
    Manual,
    /// The signal came back.
    Connectivity,
    /// The host's periodic job (WorkManager, BGTaskScheduler).
    Periodic,
}

/// How to reach SATUSEHAT and how to map. The secret is never serialised, logged or shown.
#[derive(Clone, Serialize, Deserialize)]
pub struct AsikConfig {
    /// The FHIR base, e.g. `https://api-satusehat-stg.dto.kemkes.go.id/fhir-r4/v1`.
    pub base_url: String,
    /// The OAuth2 base, e.g. `https://api-satusehat-stg.dto.kemkes.go.id/oauth2/v1`.
    pub auth_url: String,
    pub client_id: String,
    #[serde(skip)]
    pub client_secret: String,
    pub map: MapConfig,
    /// At most this many visits per transaction Bundle.
    pub max_visits_per_request: usize,
    /// At most this many bytes per request body (a single visit larger than this is sent alone).
    pub max_request_bytes: usize,
    /// The longest one request may take.
    pub request_timeout_ms: u32,
}

impl std::fmt::Debug for AsikConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsikConfig")
            .field("base_url", &self.base_url)
            .field("auth_url", &self.auth_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<secret>")
            .field("map", &self.map)
            .finish()
    }
}

impl Drop for AsikConfig {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.client_secret);
    }
}

impl AsikConfig {
    /// A configuration with the defaults: 50 visits or 1 MB per request, 30 s per request.
    pub fn new(
        base_url: &str,
        auth_url: &str,
        client_id: &str,
        client_secret: &str,
        map: MapConfig,
    ) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            auth_url: auth_url.trim_end_matches('/').to_owned(),
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            map,
            max_visits_per_request: 50,
            max_request_bytes: 1_000_000,
            request_timeout_ms: 30_000,
        }
    }
}

/// What one run did and what is left.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    /// Visits the server now holds as they are here (created, corrected or retracted in this run).
    pub sent: u32,
    /// Resources created, updated (PUT) and marked entered-in-error in this run.
    pub created: u32,
    pub updated: u32,
    pub retracted: u32,
    /// Patients created (babies through the mother's NIK).
    pub patients_created: u32,
    /// Visits refused in this run (with the server's reason; they wait for the bidan).
    pub rejected: u32,
    /// After the run: visits still to send, waiting for a conflict, refused.
    pub pending: u32,
    pub held: u32,
    pub rejected_total: u32,
    /// HTTP requests made and request bytes sent.
    pub requests: u32,
    pub bytes_sent: u64,
    /// Why the run stopped before everything was sent (`deadline`, `unreachable`, `interrupted`,
    /// `server`, `credentials`), or None.
    pub stopped: Option<String>,
    /// When to try again, in seconds from now, when the run stopped early.
    pub retry_after_s: Option<u64>,
    /// The last transport or server problem met (English, no personal data), if any.
    pub last_problem: Option<String>,
}

/// The access token and when it expires.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Token {
    pub token: String,
    pub expires_at_ms: i64,
    /// The client it belongs to (a token of another client id is not reused).
    pub client_id: String,
    pub auth_url: String,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("expires_at_ms", &self.expires_at_ms)
            .finish_non_exhaustive()
    }
}

/// Refresh this long before the token expires (the libraries use 300 s, §1.2).
const REFRESH_EARLY_MS: i64 = 300_000;

/// What an exchange came to.
#[derive(Debug)]
pub(crate) enum Reply {
    /// 2xx with a readable JSON body.
    Done(Value),
    /// 4xx with an OperationOutcome (a refusal the bidan can read), or without one.
    Refused { status: u16, outcome: Outcome },
    /// The request may or may not have been carried out (timeout, broken answer, 5xx, unreadable body).
    Ambiguous(String),
    /// 429 or 503: try again after this many seconds.
    Later(u64),
}

/// Why a run cannot go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Halt {
    Unreachable(String),
    Credentials,
    Deadline,
    Interrupted,
}

impl Halt {
    pub fn code(&self) -> &'static str {
        match self {
            Halt::Unreachable(_) => "unreachable",
            Halt::Credentials => "credentials",
            Halt::Deadline => "deadline",
            Halt::Interrupted => "interrupted",
        }
    }
}

/// An OperationOutcome read: the texts, rule numbers and FHIRPath expressions of its issues.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub issues: Vec<(String, Option<u32>, Vec<String>)>,
}

impl Outcome {
    pub fn parse(body: &[u8]) -> Option<Self> {
        let v: Value = serde_json::from_slice(body).ok()?;
        if v["resourceType"] != "OperationOutcome" {
            return None;
        }
        let issues = v["issue"]
            .as_array()?
            .iter()
            .map(|i| {
                let text = i["details"]["text"]
                    .as_str()
                    .or(i["diagnostics"].as_str())
                    .unwrap_or("")
                    .to_owned();
                let rule = rule_number(&text);
                let expr = i["expression"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|e| e.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                (text, rule, expr)
            })
            .collect();
        Some(Self { issues })
    }

    /// The first issue's text (the server's reason, for the bidan).
    pub fn reason(&self) -> String {
        self.issues
            .first()
            .map(|i| i.0.clone())
            .unwrap_or_else(|| "ditolak server tanpa alasan".into())
    }

    /// True when the first issue is the duplicate refusal (20002).
    pub fn is_duplicate(&self) -> bool {
        self.issues.first().and_then(|i| i.1) == Some(20002)
    }

    /// The Bundle entry the first issue points at (`Bundle.entry[3]…`).
    pub fn entry_index(&self) -> Option<usize> {
        let e = self.issues.first()?.2.first()?;
        let rest = e.strip_prefix("Bundle.entry[")?;
        rest.split(']').next()?.parse().ok()
    }
}

/// The `(RuleNumber: NNNNN)` in an issue text.
pub(crate) fn rule_number(text: &str) -> Option<u32> {
    let i = text.find("RuleNumber:")?;
    let digits: String = text[i + 11..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The id in a transaction-response `location` (`Observation/{id}/_history/1`).
pub(crate) fn location_id(location: &str) -> Option<String> {
    let mut parts = location.trim_start_matches('/').split('/');
    let mut last_type = None;
    // Accept absolute URLs too: find "<Type>/<id>" before "_history".
    let all: Vec<&str> = parts.by_ref().collect();
    for w in all.windows(2) {
        if matches!(w[0], "Encounter" | "Observation" | "Patient") {
            last_type = Some(w[1].to_owned());
        }
    }
    last_type
}

/// The Patient id of a create answer, in any of the three shapes seen (§1.5).
pub(crate) fn created_patient_id(v: &Value) -> Option<String> {
    v["id"]
        .as_str()
        .filter(|_| v["resourceType"] == "Patient")
        .or(v["data"]["patient_id"].as_str())
        .or(v["create_patient"]["data"]["patient_id"].as_str())
        .map(str::to_owned)
}

/// The resources of a searchset Bundle.
pub(crate) fn search_entries(v: &Value) -> Vec<Value> {
    v["entry"]
        .as_array()
        .map(|a| a.iter().map(|e| e["resource"].clone()).collect())
        .unwrap_or_default()
}

/// The client for one run: the token, the deadline, counters.
pub(crate) struct Client<'a> {
    http: &'a dyn HttpClient,
    cfg: &'a AsikConfig,
    pub token: Option<Token>,
    /// True when the token changed in this run (to be stored, sealed).
    pub token_changed: bool,
    deadline: Instant,
    scope: InterruptScope,
    pub requests: u32,
    pub bytes_sent: u64,
    /// Consecutive failures (for the backoff).
    failures: u32,
    jitter: u64,
}

impl std::fmt::Debug for Client<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("requests", &self.requests)
            .finish_non_exhaustive()
    }
}

/// The most failures in a row before the run gives up (the rest waits for the next run).
pub(crate) const MAX_FAILURES: u32 = 6;

impl<'a> Client<'a> {
    pub fn new(
        http: &'a dyn HttpClient,
        cfg: &'a AsikConfig,
        token: Option<Token>,
        deadline: Instant,
        scope: InterruptScope,
    ) -> Self {
        let token = token.filter(|t| t.client_id == cfg.client_id && t.auth_url == cfg.auth_url);
        let seed = crate::crypto::make_random_bytes::<8>()
            .map(u64::from_le_bytes)
            .unwrap_or(0x9E37_79B9);
        Self {
            http,
            cfg,
            token,
            token_changed: false,
            deadline,
            scope,
            requests: 0,
            bytes_sent: 0,
            failures: 0,
            jitter: seed | 1,
        }
    }

    pub fn check(&self) -> Result<(), Halt> {
        if self.scope.was_interrupted() {
            return Err(Halt::Interrupted);
        }
        if Instant::now() >= self.deadline {
            return Err(Halt::Deadline);
        }
        Ok(())
    }

    fn remaining_ms(&self) -> u32 {
        let left = self
            .deadline
            .saturating_duration_since(Instant::now())
            .as_millis();
        u32::try_from(left)
            .unwrap_or(u32::MAX)
            .min(self.cfg.request_timeout_ms)
            .max(1)
    }

    /// Sleep `d` unless that passes the deadline (then [`Halt::Deadline`]), waking for an interrupt.
    pub fn wait(&self, d: Duration) -> Result<(), Halt> {
        if Instant::now() + d >= self.deadline {
            return Err(Halt::Deadline);
        }
        let end = Instant::now() + d;
        while Instant::now() < end {
            if self.scope.was_interrupted() {
                return Err(Halt::Interrupted);
            }
            std::thread::sleep((end - Instant::now()).min(Duration::from_millis(50)));
        }
        Ok(())
    }

    fn next_jitter(&mut self) -> u64 {
        self.jitter ^= self.jitter << 13;
        self.jitter ^= self.jitter >> 7;
        self.jitter ^= self.jitter << 17;
        self.jitter
    }

    /// Exponential backoff with full jitter after a failure: 0.25 s × 2^n, at most 20 s, a random
    /// part of it. Gives up after [`MAX_FAILURES`] in a row.
    pub fn backoff(&mut self) -> Result<(), Halt> {
        self.failures += 1;
        if self.failures >= MAX_FAILURES {
            return Err(Halt::Deadline);
        }
        let cap = (250u64 << self.failures.min(7)).min(20_000);
        let ms = cap / 2 + self.next_jitter() % (cap / 2 + 1);
        self.wait(Duration::from_millis(ms))
    }

    /// How long the last backoff cap was (for the report's retry time).
    pub fn succeeded(&mut self) {
        self.failures = 0;
    }

    fn send(&mut self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
        self.requests += 1;
        self.bytes_sent += req.body.len() as u64;
        self.http.send(req)
    }

    /// A valid token, fetched when there is none or it expires within 5 minutes.
    fn bearer(&mut self, force: bool) -> Result<String, Halt> {
        let now = chrono::Utc::now().timestamp_millis();
        if !force
            && let Some(t) = &self.token
            && t.expires_at_ms - REFRESH_EARLY_MS > now
        {
            return Ok(t.token.clone());
        }
        self.check()?;
        let body = format!(
            "client_id={}&client_secret={}",
            super::mapping::enc(&self.cfg.client_id),
            super::mapping::enc(&self.cfg.client_secret)
        );
        let req = HttpRequest {
            method: "POST".into(),
            url: format!(
                "{}/accesstoken?grant_type=client_credentials",
                self.cfg.auth_url
            ),
            headers: vec![HttpHeader::new(
                "Content-Type",
                "application/x-www-form-urlencoded",
            )],
            body: body.into_bytes(),
            timeout_ms: self.remaining_ms(),
        };
        let resp = match self.send(req) {
            Ok(r) => r,
            Err(HttpError::Unreachable { message }) => return Err(Halt::Unreachable(message)),
            Err(_) => return Err(Halt::Deadline),
        };
        if resp.status == 401 || resp.status == 400 || resp.status == 403 {
            return Err(Halt::Credentials);
        }
        let v: Value = serde_json::from_slice(&resp.body).map_err(|_| Halt::Deadline)?;
        let token = v["access_token"].as_str().ok_or(Halt::Deadline)?.to_owned();
        // `expires_in` is a string on SATUSEHAT ("3599"), a number elsewhere.
        let expires_in = v["expires_in"]
            .as_i64()
            .or_else(|| v["expires_in"].as_str().and_then(|s| s.trim().parse().ok()))
            .unwrap_or(3599);
        self.token = Some(Token {
            token: token.clone(),
            expires_at_ms: now + expires_in * 1000,
            client_id: self.cfg.client_id.clone(),
            auth_url: self.cfg.auth_url.clone(),
        });
        self.token_changed = true;
        Ok(token)
    }

    /// One FHIR request (`path` relative to the base, "" for a Bundle). A 401 fetches a new token and
    /// tries once more.
    pub fn fhir(&mut self, method: &str, path: &str, body: Option<&Value>) -> Result<Reply, Halt> {
        let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let mut refreshed = false;
        loop {
            self.check()?;
            let token = self.bearer(refreshed)?;
            let url = if path.is_empty() {
                self.cfg.base_url.clone()
            } else {
                format!("{}/{path}", self.cfg.base_url)
            };
            let mut headers = vec![
                HttpHeader::new("Authorization", format!("Bearer {token}")),
                HttpHeader::new("Accept", "application/fhir+json, application/json"),
            ];
            if !body.is_empty() {
                headers.push(HttpHeader::new("Content-Type", "application/json"));
            }
            let req = HttpRequest {
                method: method.into(),
                url,
                headers,
                body: body.clone(),
                timeout_ms: self.remaining_ms(),
            };
            let resp = match self.send(req) {
                Ok(r) => r,
                Err(HttpError::Unreachable { message }) => return Err(Halt::Unreachable(message)),
                Err(e) => return Ok(Reply::Ambiguous(e.to_string())),
            };
            match resp.status {
                200..=299 => {
                    return Ok(match serde_json::from_slice::<Value>(&resp.body) {
                        Ok(v) => Reply::Done(v),
                        Err(_) => Reply::Ambiguous("the answer was not JSON".into()),
                    });
                }
                401 if !refreshed => {
                    refreshed = true;
                    continue;
                }
                401 => return Err(Halt::Credentials),
                429 | 503 => {
                    let secs = resp
                        .header("Retry-After")
                        .and_then(|s| s.trim().parse::<u64>().ok())
                        .unwrap_or(5);
                    return Ok(Reply::Later(secs));
                }
                400..=499 => {
                    return Ok(Reply::Refused {
                        status: resp.status,
                        outcome: Outcome::parse(&resp.body).unwrap_or_default(),
                    });
                }
                _ => {
                    return Ok(Reply::Ambiguous(format!("server error {}", resp.status)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn rule_numbers_entries_and_locations_are_read() {
        let o = Outcome::parse(
            br#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"value",
            "details":{"text":"Found duplicate resource: Observation (RuleNumber: 20002)"},
            "expression":["Bundle.entry[7].resource.identifier"]}]}"#,
        )
        .unwrap();
        assert!(o.is_duplicate());
        assert_eq!(o.entry_index(), Some(7));
        assert_eq!(rule_number("x (RuleNumber: 10117)"), Some(10117));
        assert_eq!(rule_number("no rule"), None);
        assert_eq!(
            location_id("Observation/abc-1/_history/2").as_deref(),
            Some("abc-1")
        );
        assert_eq!(
            location_id("https://x/fhir-r4/v1/Encounter/e9/_history/1").as_deref(),
            Some("e9")
        );
        let v =
            serde_json::json!({"create_patient": {"success": true, "data": {"patient_id": "P1"}}});
        assert_eq!(created_patient_id(&v).as_deref(), Some("P1"));
        let v = serde_json::json!({"success": true, "data": {"patient_id": "P2"}});
        assert_eq!(created_patient_id(&v).as_deref(), Some("P2"));
        let v = serde_json::json!({"resourceType": "Patient", "id": "P3"});
        assert_eq!(created_patient_id(&v).as_deref(), Some("P3"));
    }

    #[test]
    fn the_secret_never_shows() {
        let c = AsikConfig::new(
            "http://127.0.0.1:1/fhir-r4/v1",
            "http://127.0.0.1:1/oauth2/v1",
            "id",
            "s3cr3t-value",
            MapConfig::for_org("1"),
        );
        assert!(!format!("{c:?}").contains("s3cr3t-value"));
        assert!(!serde_json::to_string(&c).unwrap().contains("s3cr3t-value"));
    }
}
