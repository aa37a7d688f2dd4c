//! A local test double of SATUSEHAT's FHIR R4 API, behaving as section 6 of
//! `reference/satusehat-and-posyandu.md` describes, for the upload tests and `timbang demo`.
//!
//! * `POST /oauth2/v1/accesstoken?grant_type=client_credentials` (form `client_id`, `client_secret`):
//!   the token JSON with `expires_in` as a string; bad credentials 401 with the `severity: "invalid"`
//!   OperationOutcome. Each client id is bound to one organization.
//! * `GET /fhir-r4/v1/Patient?identifier=…nik|…` or `…nik-ibu|…[&birthdate=]`: a searchset Bundle.
//!   `POST /fhir-r4/v1/Patient`: only babies through `nik-ibu` (rules 10166-10413 checked), answered
//!   in one of three shapes ([`PatientEnvelope`]).
//! * `POST /fhir-r4/v1` with a transaction Bundle: all or nothing, `urn:uuid` fullUrls (20017-20021),
//!   references resolved, duplicates refused (20002), Encounter and Observation rules (10117, 10121,
//!   10122, 10123, 10008-10012, 10295), PUT needing `id`. `GET /fhir-r4/v1/{Type}?identifier=a,b`
//!   (comma means or), `GET /fhir-r4/v1/{Type}/{id}`, and single-resource POST and PUT.
//! * Faults on demand ([`Fault`]): the connection broken after the commit, 500 with a plain-text body,
//!   503 and 429 with `Retry-After`, slow answers, expired tokens, malformed bodies; queued one by one
//!   or drawn at random from a fixed seed.
//!
//! Storage is a SQLite file. Only 127.0.0.1 is ever bound.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};
use tiny_http::{Header, Method, Response, Server};

/// A fault the next FHIR request (not the token request) meets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The request is carried out and committed, then the answer breaks off (an unreadable body).
    DropAfterCommit,
    /// 500 with a `text/plain` body, nothing done.
    ServerError,
    /// 503 with `Retry-After: secs`, nothing done.
    Unavailable { retry_after: u32 },
    /// 429 with `Retry-After: secs`, nothing done.
    TooManyRequests { retry_after: u32 },
    /// Answered normally after `ms` milliseconds.
    Slow { ms: u64 },
    /// Every token issued so far expires now (the request gets 401).
    ExpireTokens,
    /// Carried out and committed, then answered 200 with a body that is not JSON.
    Malformed,
}

/// How `POST /Patient` answers (the reference could not settle it, §1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PatientEnvelope {
    /// The created Patient resource (what the documentation says).
    #[default]
    Fhir,
    /// `{"success": true, "data": {"patient_id": "P…"}}`.
    Success,
    /// `{"create_patient": {"success": true, "data": {"patient_id": "P…"}}}`.
    CreatePatient,
}

/// The server's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// (client id, client secret, organization id).
    pub clients: Vec<(String, String, String)>,
    /// Seconds a token lives (`expires_in`).
    pub token_lifetime_s: u64,
    pub patient_envelope: PatientEnvelope,
    /// Where the SQLite file goes; a temporary folder when None.
    pub db_path: Option<PathBuf>,
}

/// The client of [`Config::default`].
pub const CLIENT_ID: &str = "timbang-uji";
pub const CLIENT_SECRET: &str = "rahasia-uji";
pub const ORG_ID: &str = "10000004";

impl Default for Config {
    fn default() -> Self {
        Self {
            clients: vec![(CLIENT_ID.into(), CLIENT_SECRET.into(), ORG_ID.into())],
            token_lifetime_s: 3599,
            patient_envelope: PatientEnvelope::Fhir,
            db_path: None,
        }
    }
}

/// Counts of what the server saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub token_requests: u64,
    /// FHIR requests of any kind (searches, Bundles, single resources).
    pub fhir_requests: u64,
    pub bundles: u64,
    pub searches: u64,
    /// Request bodies received, in bytes.
    pub bytes_in: u64,
    /// Response bodies sent, in bytes.
    pub bytes_out: u64,
    pub faults: u64,
}

#[derive(Debug)]
struct State {
    db: Connection,
    cfg: Config,
    faults: VecDeque<Fault>,
    random: Option<(u64, f64)>,
    stats: Stats,
    counter: u64,
}

/// A running server; stopped when dropped.
pub struct AsikServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    state: Arc<Mutex<State>>,
    server: Arc<Server>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    _dir: Option<tempfile::TempDir>,
}

/// Start a server with the default configuration on 127.0.0.1 (a free port).
pub fn start() -> std::io::Result<AsikServer> {
    start_with(Config::default())
}

fn io_err(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// Start a server with `cfg` on 127.0.0.1 (a free port).
pub fn start_with(cfg: Config) -> std::io::Result<AsikServer> {
    start_on(cfg, 0)
}

/// Start on 127.0.0.1:`port` (0 for a free one).
pub fn start_on(cfg: Config, port: u16) -> std::io::Result<AsikServer> {
    let (dir, path) = match &cfg.db_path {
        Some(p) => (None, p.clone()),
        None => {
            let d = tempfile::tempdir()?;
            let p = d.path().join("asik.db");
            (Some(d), p)
        }
    };
    let db = Connection::open(&path).map_err(io_err)?;
    db.execute_batch(SCHEMA).map_err(io_err)?;
    let server = Arc::new(Server::http(("127.0.0.1", port)).map_err(io_err)?);
    let port = server
        .server_addr()
        .to_ip()
        .map(|a| a.port())
        .ok_or_else(|| io_err("no port"))?;
    let state = Arc::new(Mutex::new(State {
        db,
        cfg,
        faults: VecDeque::new(),
        random: None,
        stats: Stats::default(),
        counter: 0,
    }));
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for _ in 0..4 {
        let (server, state, stop) = (server.clone(), state.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match server.recv_timeout(Duration::from_millis(200)) {
                    Ok(Some(rq)) => handle(&state, rq),
                    Ok(None) => {}
                    Err(_) => break,
                }
            }
        }));
    }
    Ok(AsikServer {
        url: format!("http://127.0.0.1:{port}"),
        state,
        server,
        stop,
        threads,
        _dir: dir,
    })
}

impl std::fmt::Debug for AsikServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsikServer")
            .field("url", &self.url)
            .finish()
    }
}

impl Drop for AsikServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.server.unblock();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

impl AsikServer {
    /// `{url}/oauth2/v1`.
    pub fn auth_url(&self) -> String {
        format!("{}/oauth2/v1", self.url)
    }
    /// `{url}/fhir-r4/v1`.
    pub fn base_url(&self) -> String {
        format!("{}/fhir-r4/v1", self.url)
    }
    /// Queue a fault for the next FHIR request.
    pub fn push_fault(&self, f: Fault) {
        lock(&self.state).faults.push_back(f);
    }
    /// From now on each FHIR request meets a random fault with probability `rate`, drawn from `seed`.
    pub fn random_faults(&self, seed: u64, rate: f64) {
        lock(&self.state).random = Some((seed.max(1), rate));
    }
    /// No more random faults (queued ones stay).
    pub fn no_random_faults(&self) {
        lock(&self.state).random = None;
    }
    pub fn stats(&self) -> Stats {
        lock(&self.state).stats.clone()
    }
    pub fn reset_stats(&self) {
        lock(&self.state).stats = Stats::default();
    }
    /// A Patient in the MPI with its own NIK (as Dukcapil would have it); returns its IHS id.
    pub fn add_patient_with_nik(&self, nik: &str, gender: &str, birth_date: &str) -> String {
        let mut s = lock(&self.state);
        let id = s.patient_id();
        let body = json!({"resourceType": "Patient", "id": id, "active": true, "gender": gender, "birthDate": birth_date,
            "identifier": [{"system": "https://fhir.kemkes.go.id/id/ihs-number", "use": "official", "value": id},
                           {"system": "https://fhir.kemkes.go.id/id/nik", "use": "official", "value": nik}],
            "name": [{"use": "official", "text": "pasien uji"}]});
        let _ = s.insert("Patient", &id, &body, None, None);
        id
    }
    /// Every stored resource of `rtype` (Encounter, Observation, Patient).
    pub fn resources(&self, rtype: &str) -> Vec<Value> {
        let s = lock(&self.state);
        let mut out = Vec::new();
        if let Ok(mut stmt) =
            s.db.prepare("SELECT body FROM resources WHERE rtype = ?1 ORDER BY rowid")
            && let Ok(rows) = stmt.query_map(params![rtype], |r| r.get::<_, String>(0))
        {
            for b in rows.flatten() {
                if let Ok(v) = serde_json::from_str(&b) {
                    out.push(v);
                }
            }
        }
        out
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS resources (
    id TEXT PRIMARY KEY NOT NULL, rtype TEXT NOT NULL, version INTEGER NOT NULL,
    ident_system TEXT, ident_value TEXT, body TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS resources_by_identifier ON resources(rtype, ident_system, ident_value)
    WHERE rtype <> 'Patient' AND ident_system IS NOT NULL;
CREATE INDEX IF NOT EXISTS resources_by_value ON resources(ident_system, ident_value);
CREATE TABLE IF NOT EXISTS tokens (token TEXT PRIMARY KEY NOT NULL, org TEXT NOT NULL, expires_at INTEGER NOT NULL);
";

/// An error answer: status and OperationOutcome.
#[derive(Debug)]
struct Refusal {
    status: u16,
    text: String,
    expression: Option<String>,
}

fn refuse(rule: u32, text: &str, expression: impl Into<String>) -> Refusal {
    Refusal {
        status: 400,
        text: format!("{text} (RuleNumber: {rule})"),
        expression: Some(expression.into()),
    }
}

fn outcome(text: &str, expression: Option<&str>) -> Value {
    let mut issue = json!({"severity": "error", "code": "value", "details": {"text": text}});
    if let Some(e) = expression {
        issue["expression"] = json!([e]);
    }
    json!({"resourceType": "OperationOutcome", "text": {"status": "generated"}, "issue": [issue]})
}

struct Answer {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    headers: Vec<(String, String)>,
}

impl Answer {
    fn json(status: u16, v: &Value) -> Self {
        Self {
            status,
            content_type: "application/json",
            body: v.to_string().into_bytes(),
            headers: Vec::new(),
        }
    }
    fn refusal(r: &Refusal) -> Self {
        Self::json(r.status, &outcome(&r.text, r.expression.as_deref()))
    }
    fn text(status: u16, t: &str) -> Self {
        Self {
            status,
            content_type: "text/plain",
            body: t.as_bytes().to_vec(),
            headers: Vec::new(),
        }
    }
}

impl State {
    fn next_random(&mut self) -> u64 {
        // xorshift64*: reproducible from the seed.
        let Some((ref mut x, _)) = self.random else {
            return 0;
        };
        *x ^= *x >> 12;
        *x ^= *x << 25;
        *x ^= *x >> 27;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn draw_fault(&mut self) -> Option<Fault> {
        if let Some(f) = self.faults.pop_front() {
            return Some(f);
        }
        let rate = self.random?.1;
        let r = (self.next_random() % 1_000_000) as f64 / 1_000_000.0;
        if r >= rate {
            return None;
        }
        Some(match self.next_random() % 7 {
            0 => Fault::DropAfterCommit,
            1 => Fault::ServerError,
            2 => Fault::Unavailable { retry_after: 1 },
            3 => Fault::TooManyRequests { retry_after: 0 },
            4 => Fault::Slow { ms: 30 },
            5 => Fault::ExpireTokens,
            _ => Fault::Malformed,
        })
    }

    fn patient_id(&mut self) -> String {
        self.counter += 1;
        let n: i64 = self
            .db
            .query_row(
                "SELECT count(*) FROM resources WHERE rtype = 'Patient'",
                [],
                |r| r.get(0),
            )
            .unwrap_or(0);
        format!(
            "P{:011}",
            20_000_000_000u64 + n.unsigned_abs() * 7 + self.counter
        )
    }

    fn insert(
        &self,
        rtype: &str,
        id: &str,
        body: &Value,
        system: Option<&str>,
        value: Option<&str>,
    ) -> rusqlite::Result<()> {
        let (system, value) = match (system, value) {
            (Some(s), Some(v)) => (Some(s.to_owned()), Some(v.to_owned())),
            _ => first_identifier(body),
        };
        self.db.execute(
            "INSERT INTO resources(id, rtype, version, ident_system, ident_value, body) VALUES (?1, ?2, 1, ?3, ?4, ?5)",
            params![id, rtype, system, value, body.to_string()],
        )?;
        Ok(())
    }
}

fn first_identifier(body: &Value) -> (Option<String>, Option<String>) {
    let i = &body["identifier"][0];
    (
        i["system"].as_str().map(str::to_owned),
        i["value"].as_str().map(str::to_owned),
    )
}

fn handle(state: &Arc<Mutex<State>>, mut rq: tiny_http::Request) {
    let mut body = Vec::new();
    let _ = rq.as_reader().read_to_end(&mut body);
    let url = rq.url().to_owned();
    let (path, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
    let method = rq.method().clone();
    let auth = rq
        .headers()
        .iter()
        .find(|h| h.field.equiv("Authorization"))
        .map(|h| h.value.as_str().to_owned());
    let mut fault = None;
    let answer = {
        let mut s = lock(state);
        s.stats.bytes_in += body.len() as u64;
        if path == "/oauth2/v1/accesstoken" {
            s.stats.token_requests += 1;
            token(&mut s, &method, query, &body)
        } else if let Some(rest) = path.strip_prefix("/fhir-r4/v1") {
            s.stats.fhir_requests += 1;
            fault = s.draw_fault();
            if fault.is_some() {
                s.stats.faults += 1;
            }
            match &fault {
                Some(Fault::ServerError) => Answer::text(500, "Gateway Timeout"),
                Some(Fault::Unavailable { retry_after }) => {
                    let mut a = Answer::text(503, "Service Unavailable");
                    a.headers
                        .push(("Retry-After".into(), retry_after.to_string()));
                    a
                }
                Some(Fault::TooManyRequests { retry_after }) => {
                    let mut a = Answer::text(429, "Too Many Requests");
                    a.headers
                        .push(("Retry-After".into(), retry_after.to_string()));
                    a
                }
                Some(Fault::ExpireTokens) => {
                    let _ = s.db.execute("UPDATE tokens SET expires_at = 0", []);
                    fhir(&mut s, &method, rest, query, &body, auth.as_deref())
                }
                _ => fhir(&mut s, &method, rest, query, &body, auth.as_deref()),
            }
        } else {
            Answer::text(404, "Not Found")
        }
    };
    if let Some(Fault::Slow { ms }) = fault {
        std::thread::sleep(Duration::from_millis(ms));
    }
    {
        let mut s = lock(state);
        s.stats.bytes_out += answer.body.len() as u64;
    }
    match fault {
        Some(Fault::DropAfterCommit) => {
            // Committed; the answer breaks off: a chunked body whose chunk size is not hex.
            let mut w = rq.into_writer();
            let _ = w.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{\"resou",
            );
            let _ = w.flush();
        }
        Some(Fault::Malformed) => {
            let r = Response::from_data(
                b"{\"resourceType\":\"Bundle\",\"type\":\"transaction-resp".to_vec(),
            )
            .with_status_code(200);
            let _ = rq.respond(with_header(r, "Content-Type", "application/json"));
        }
        _ => {
            let mut r = with_header(
                Response::from_data(answer.body).with_status_code(answer.status),
                "Content-Type",
                answer.content_type,
            );
            for (n, v) in &answer.headers {
                r = with_header(r, n, v);
            }
            let _ = rq.respond(r);
        }
    }
}

fn with_header<R: Read>(r: Response<R>, name: &str, value: &str) -> Response<R> {
    match Header::from_bytes(name.as_bytes(), value.as_bytes()) {
        Ok(h) => r.with_header(h),
        Err(()) => r,
    }
}

fn form(body: &[u8]) -> HashMap<String, String> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

/// Percent-decoding (and `+` as space) of a query or form value.
pub fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn now_s() -> i64 {
    chrono::Utc::now().timestamp()
}

fn token(s: &mut State, method: &Method, query: &str, body: &[u8]) -> Answer {
    let q = form(query.as_bytes());
    let f = form(body);
    let client = s.cfg.clients.iter().find(|(id, secret, _)| {
        f.get("client_id") == Some(id) && f.get("client_secret") == Some(secret)
    });
    let (Method::Post, Some("client_credentials"), Some((client_id, _, org))) = (
        method,
        q.get("grant_type").map(String::as_str),
        client.cloned(),
    ) else {
        return Answer::json(
            401,
            &json!({"resourceType": "OperationOutcome", "issue": [{"severity": "invalid", "code": "value",
                "details": {"text": "The user or system was not able to be authenticated (either client_id or client_secret combination is unacceptable)"}}]}),
        );
    };
    let token = uuid::Uuid::new_v4().simple().to_string();
    let life = s.cfg.token_lifetime_s;
    let _ = s.db.execute(
        "INSERT INTO tokens(token, org, expires_at) VALUES (?1, ?2, ?3)",
        params![token, org, now_s() + life as i64],
    );
    Answer::json(
        200,
        &json!({"refresh_token_expires_in": "0", "api_product_list": "[api-sandbox]", "api_product_list_json": ["api-sandbox"],
            "organization_name": "ihs-uji", "developer.email": "uji@example.invalid", "token_type": "BearerToken",
            "issued_at": (chrono::Utc::now().timestamp_millis()).to_string(), "client_id": client_id,
            "access_token": token, "application_name": "timbang-uji", "scope": "", "expires_in": life.to_string(),
            "refresh_count": "0", "status": "approved"}),
    )
}

fn unauthorized() -> Answer {
    Answer::json(
        401,
        &json!({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "security",
            "details": {"text": "Invalid access token"}}]}),
    )
}

fn fhir(
    s: &mut State,
    method: &Method,
    rest: &str,
    query: &str,
    body: &[u8],
    auth: Option<&str>,
) -> Answer {
    let token = auth.and_then(|a| a.strip_prefix("Bearer "));
    let org: Option<String> = token.and_then(|t| {
        s.db.query_row(
            "SELECT org FROM tokens WHERE token = ?1 AND expires_at > ?2",
            params![t, now_s()],
            |r| r.get(0),
        )
        .optional()
        .ok()
        .flatten()
    });
    let Some(org) = org else {
        return unauthorized();
    };
    let parts: Vec<&str> = rest
        .trim_matches('/')
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    let parsed = || serde_json::from_slice::<Value>(body);
    match (method, parts.as_slice()) {
        (Method::Post, []) => match parsed() {
            Ok(b) => {
                s.stats.bundles += 1;
                bundle(s, &org, &b)
            }
            Err(_) => Answer::refusal(&refuse(20005, "Invalid JSON", "Bundle")),
        },
        (Method::Get, [rtype]) => {
            s.stats.searches += 1;
            search(s, rtype, query)
        }
        (Method::Get, [rtype, id]) => match read(s, rtype, id) {
            Some(v) => Answer::json(200, &v),
            None => Answer::json(
                404,
                &outcome(
                    &format!("Resource not found {rtype}/{id} (RuleNumber: 20007)"),
                    None,
                ),
            ),
        },
        (Method::Post, ["Patient"]) => match parsed() {
            Ok(b) => create_patient(s, &b),
            Err(_) => Answer::refusal(&refuse(20005, "Invalid JSON", "Patient")),
        },
        (Method::Post, [rtype]) | (Method::Put, [rtype, _]) => {
            let Ok(b) = parsed() else {
                return Answer::refusal(&refuse(20005, "Invalid JSON", *rtype));
            };
            let put_id = parts.get(1).copied();
            let tx = s.db.unchecked_transaction();
            let Ok(tx) = tx else {
                return Answer::text(500, "Internal Server Error");
            };
            let mut refs = HashMap::new();
            match write_resource(&tx, &org, rtype, put_id, &b, &mut refs, "") {
                Ok((id, status)) => {
                    let _ = tx.commit();
                    let v = read_conn(&s.db, rtype, &id).unwrap_or(Value::Null);
                    Answer::json(if status == 201 { 201 } else { 200 }, &v)
                }
                Err(r) => Answer::refusal(&r),
            }
        }
        _ => Answer::text(404, "Not Found"),
    }
}

fn read(s: &State, rtype: &str, id: &str) -> Option<Value> {
    read_conn(&s.db, rtype, id)
}

fn read_conn(db: &Connection, rtype: &str, id: &str) -> Option<Value> {
    db.query_row(
        "SELECT body FROM resources WHERE rtype = ?1 AND id = ?2",
        params![rtype, id],
        |r| r.get::<_, String>(0),
    )
    .optional()
    .ok()
    .flatten()
    .and_then(|b| serde_json::from_str(&b).ok())
}

fn searchset(entries: Vec<Value>, base: &str) -> Value {
    let mut b = json!({"resourceType": "Bundle", "type": "searchset", "total": entries.len(),
        "link": [{"relation": "self", "url": base}]});
    if !entries.is_empty() {
        b["entry"] = Value::Array(
            entries
                .into_iter()
                .map(|r| {
                    let full = format!(
                        "{}/{}",
                        r["resourceType"].as_str().unwrap_or_default(),
                        r["id"].as_str().unwrap_or_default()
                    );
                    json!({"fullUrl": full, "resource": r})
                })
                .collect(),
        );
    }
    b
}

fn search(s: &State, rtype: &str, query: &str) -> Answer {
    let q = form(query.as_bytes());
    let Some(idents) = q.get("identifier") else {
        return Answer::json(400, &outcome("identifier is required", None));
    };
    let birth = q.get("birthdate");
    let mut found = Vec::new();
    let mut seen = HashSet::new();
    for one in idents.split(',') {
        let Some((system, value)) = one.split_once('|') else {
            continue;
        };
        let Ok(mut stmt) = s.db.prepare_cached(
            "SELECT r.id, r.body FROM resources r WHERE r.rtype = ?1 AND (
                (r.ident_system = ?2 AND r.ident_value = ?3)
                OR EXISTS (SELECT 1 FROM json_each(r.body, '$.identifier') j
                           WHERE json_extract(j.value, '$.system') = ?2 AND json_extract(j.value, '$.value') = ?3))",
        ) else {
            continue;
        };
        let Ok(rows) = stmt.query_map(params![rtype, system, value], |r| {
            Ok::<(String, String), rusqlite::Error>((r.get(0)?, r.get(1)?))
        }) else {
            continue;
        };
        for (id, b) in rows.flatten() {
            let Ok(v) = serde_json::from_str::<Value>(&b) else {
                continue;
            };
            if let Some(bd) = birth
                && v["birthDate"].as_str() != Some(bd.as_str())
            {
                continue;
            }
            if seen.insert(id) {
                found.push(v);
            }
        }
    }
    Answer::json(200, &searchset(found, &format!("{rtype}?{query}")))
}

fn create_patient(s: &mut State, b: &Value) -> Answer {
    let ident = &b["identifier"][0];
    if ident["system"].as_str() != Some("https://fhir.kemkes.go.id/id/nik-ibu")
        || ident["value"].as_str().is_none_or(|v| v.len() != 16)
    {
        return Answer::refusal(&refuse(
            10166,
            "Patient.identifier nik-ibu is required to create a Patient",
            "Patient.identifier[0]",
        ));
    }
    let name_ok = b["name"][0]["text"]
        .as_str()
        .is_some_and(|n| !n.trim().is_empty());
    let checks = [
        (name_ok, 10168, "Patient.name.text"),
        (
            b["birthDate"].as_str().is_some(),
            10397,
            "Patient.birthDate",
        ),
        (
            matches!(b["gender"].as_str(), Some("male" | "female")),
            10413,
            "Patient.gender",
        ),
        (
            b["address"].as_array().is_some_and(|a| !a.is_empty()),
            10333,
            "Patient.address",
        ),
        (
            b["multipleBirthInteger"].is_i64(),
            10167,
            "Patient.multipleBirthInteger",
        ),
    ];
    for (ok, rule, path) in checks {
        if !ok {
            return Answer::refusal(&refuse(rule, &format!("{path} is required"), path));
        }
    }
    let id = s.patient_id();
    let mut p = b.clone();
    p["id"] = json!(id);
    if let Some(a) = p["identifier"].as_array_mut() {
        a.push(json!({"system": "https://fhir.kemkes.go.id/id/ihs-number", "use": "official", "value": id}));
    }
    let sys = ident["system"].as_str().map(str::to_owned);
    let val = ident["value"].as_str().map(str::to_owned);
    if s.insert("Patient", &id, &p, sys.as_deref(), val.as_deref())
        .is_err()
    {
        return Answer::text(500, "Internal Server Error");
    }
    match s.cfg.patient_envelope {
        PatientEnvelope::Fhir => Answer::json(201, &p),
        PatientEnvelope::Success => {
            Answer::json(201, &json!({"success": true, "data": {"patient_id": id}}))
        }
        PatientEnvelope::CreatePatient => Answer::json(
            201,
            &json!({"create_patient": {"success": true, "data": {"patient_id": id}}}),
        ),
    }
}

fn is_urn_uuid(s: &str) -> bool {
    s.strip_prefix("urn:uuid:")
        .is_some_and(|u| uuid::Uuid::parse_str(u).is_ok() && u.len() == 36)
}

fn bundle(s: &mut State, org: &str, b: &Value) -> Answer {
    if b["resourceType"] != "Bundle" || b["type"] != "transaction" {
        return Answer::refusal(&refuse(
            20008,
            "Bundle.type must be transaction",
            "Bundle.type",
        ));
    }
    let Some(entries) = b["entry"].as_array() else {
        return Answer::refusal(&refuse(20021, "Bundle.entry is required", "Bundle.entry"));
    };
    let mut seen = HashSet::new();
    for (i, e) in entries.iter().enumerate() {
        let Some(full) = e["fullUrl"].as_str() else {
            return Answer::refusal(&refuse(
                20021,
                "fullUrl is required",
                format!("Bundle.entry[{i}].fullUrl"),
            ));
        };
        if !is_urn_uuid(full) {
            return Answer::refusal(&refuse(
                20017,
                "fullUrl must be urn:uuid:<uuid>",
                format!("Bundle.entry[{i}].fullUrl"),
            ));
        }
        if !seen.insert(full) {
            return Answer::refusal(&refuse(
                20020,
                "Duplicate fullUrl",
                format!("Bundle.entry[{i}].fullUrl"),
            ));
        }
        if e["resource"]["resourceType"] == "Bundle" {
            return Answer::refusal(&refuse(
                20011,
                "Nested Bundle is not allowed",
                format!("Bundle.entry[{i}].resource"),
            ));
        }
    }
    let Ok(tx) = s.db.unchecked_transaction() else {
        return Answer::text(500, "Internal Server Error");
    };
    let mut refs: HashMap<String, String> = HashMap::new();
    let mut out = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let rtype = e["resource"]["resourceType"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let method = e["request"]["method"].as_str().unwrap_or_default();
        let url = e["request"]["url"].as_str().unwrap_or_default();
        let put_id = match method {
            "POST" if url == rtype => None,
            "PUT" => match url.split_once('/') {
                Some((t, id)) if t == rtype => Some(id.to_owned()),
                _ => {
                    return Answer::refusal(&refuse(
                        20008,
                        "request.url does not match the resource",
                        format!("Bundle.entry[{i}].request"),
                    ));
                }
            },
            _ => {
                return Answer::refusal(&refuse(
                    20008,
                    "request.method must be POST or PUT",
                    format!("Bundle.entry[{i}].request"),
                ));
            }
        };
        let prefix = format!("Bundle.entry[{i}].resource");
        match write_resource(
            &tx,
            org,
            &rtype,
            put_id.as_deref(),
            &e["resource"],
            &mut refs,
            &prefix,
        ) {
            Ok((id, status)) => {
                if let Some(full) = e["fullUrl"].as_str() {
                    refs.insert(full.to_owned(), format!("{rtype}/{id}"));
                }
                let version: i64 = tx
                    .query_row(
                        "SELECT version FROM resources WHERE id = ?1",
                        params![id],
                        |r| r.get(0),
                    )
                    .unwrap_or(1);
                out.push(json!({"response": {
                    "status": if status == 201 { "201 Created" } else { "200 OK" },
                    "location": format!("{rtype}/{id}/_history/{version}"),
                    "etag": format!("W/\"{version}\""),
                    "lastModified": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string()}}));
            }
            Err(r) => {
                // All or nothing: the transaction rolls back; later entries are refused "due to
                // previous error" (20012).
                drop(tx);
                let mut o = outcome(&r.text, r.expression.as_deref());
                if i + 1 < entries.len()
                    && let Some(issues) = o["issue"].as_array_mut()
                {
                    issues.push(json!({"severity": "error", "code": "processing",
                        "details": {"text": "Resource rejected due to previous error (RuleNumber: 20012)"}}));
                }
                return Answer::json(r.status, &o);
            }
        }
    }
    if tx.commit().is_err() {
        return Answer::text(500, "Internal Server Error");
    }
    Answer::json(
        200,
        &json!({"resourceType": "Bundle", "type": "transaction-response", "entry": out}),
    )
}

fn valid_time(t: Option<&str>) -> Result<(), &'static str> {
    let Some(t) = t else {
        return Err("is required");
    };
    let ok_format =
        t.len() == 25 && t.ends_with("+00:00") && chrono::DateTime::parse_from_rfc3339(t).is_ok();
    if !ok_format {
        return Err("Invalid date time format");
    }
    let parsed = chrono::DateTime::parse_from_rfc3339(t).map_err(|_| "Invalid date time format")?;
    let floor = chrono::NaiveDate::from_ymd_opt(2014, 6, 3)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc());
    if parsed.with_timezone(&chrono::Utc) > chrono::Utc::now() + chrono::Duration::minutes(5)
        || floor.is_some_and(|f| parsed.with_timezone(&chrono::Utc) < f)
    {
        return Err("Invalid date time value");
    }
    Ok(())
}

/// Resolve a reference (a `urn:uuid` of this Bundle, or `Type/id`) to `Type/id` of a stored resource.
fn resolve(
    tx: &Connection,
    refs: &HashMap<String, String>,
    reference: Option<&str>,
    want: &str,
) -> Option<String> {
    let r = reference?;
    let r = refs.get(r).map(String::as_str).unwrap_or(r);
    let (t, id) = r.split_once('/')?;
    if t != want {
        return None;
    }
    read_conn(tx, t, id).map(|_| r.to_owned())
}

/// Validate and store one resource (create when `put_id` is None). Returns its id and 201 or 200.
fn write_resource(
    tx: &Connection,
    org: &str,
    rtype: &str,
    put_id: Option<&str>,
    r: &Value,
    refs: &mut HashMap<String, String>,
    prefix: &str,
) -> Result<(String, u16), Refusal> {
    let at = |p: &str| {
        if prefix.is_empty() {
            format!("{rtype}.{p}")
        } else {
            format!("{prefix}.{p}")
        }
    };
    if r["resourceType"].as_str() != Some(rtype) {
        return Err(refuse(
            20008,
            "resourceType does not match",
            at("resourceType"),
        ));
    }
    if !matches!(rtype, "Encounter" | "Observation") {
        return Err(refuse(
            20004,
            &format!("Resource {rtype} is not allowed for current access class"),
            at("resourceType"),
        ));
    }
    let mut r = r.clone();
    let status = r["status"].as_str().unwrap_or_default().to_owned();
    let eie = status == "entered-in-error";
    let system = r["identifier"][0]["system"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let value = r["identifier"][0]["value"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let lower = rtype.to_lowercase();
    if system != format!("http://sys-ids.kemkes.go.id/{lower}/{org}") || value.is_empty() {
        return Err(refuse(
            10117,
            &format!("Wrong organization ID provided by system URL: {system}"),
            at("identifier[0].system"),
        ));
    }
    let subject = resolve(tx, refs, r["subject"]["reference"].as_str(), "Patient")
        .ok_or_else(|| refuse(20007, "Resource not found Patient", at("subject")))?;
    r["subject"]["reference"] = json!(subject);
    if rtype == "Encounter" {
        if r["statusHistory"].as_array().is_none_or(|a| a.is_empty()) {
            return Err(refuse(
                10122,
                "Encounter.statusHistory must not be null",
                at("statusHistory"),
            ));
        }
        let start = r["period"]["start"].as_str();
        if start.is_none() {
            return Err(refuse(
                10123,
                "Encounter.period.start must not be null",
                at("period.start"),
            ));
        }
        valid_time(start).map_err(|e| refuse(10123, e, at("period.start")))?;
        if status == "finished" {
            let end = r["period"]["end"].as_str();
            valid_time(end).map_err(|e| refuse(10173, e, at("period.end")))?;
            if end <= start {
                return Err(refuse(
                    10121,
                    "period.end must be later than period.start",
                    at("period"),
                ));
            }
        }
        if !matches!(
            status.as_str(),
            "arrived"
                | "in-progress"
                | "finished"
                | "cancelled"
                | "entered-in-error"
                | "planned"
                | "triaged"
                | "onleave"
                | "unknown"
        ) {
            return Err(refuse(10118, "Encounter.status is not valid", at("status")));
        }
    } else {
        if !matches!(
            status.as_str(),
            "registered"
                | "preliminary"
                | "final"
                | "amended"
                | "corrected"
                | "cancelled"
                | "entered-in-error"
                | "unknown"
        ) {
            return Err(refuse(
                10008,
                "Observation.status must use http://hl7.org/fhir/observation-status",
                at("status"),
            ));
        }
        if r["category"][0]["coding"][0]["system"]
            != "http://terminology.hl7.org/CodeSystem/observation-category"
        {
            return Err(refuse(10009, "Invalid Coding System", at("category")));
        }
        let code_systems_ok = r["code"]["coding"].as_array().is_some_and(|c| {
            !c.is_empty()
                && c.iter().all(|c| {
                    matches!(
                        c["system"].as_str(),
                        Some(
                            "http://loinc.org"
                                | "http://snomed.info/sct"
                                | "http://terminology.kemkes.go.id/CodeSystem/examination"
                                | "http://terminology.kemkes.go.id/CodeSystem/clinical-term"
                        )
                    ) && c["code"].as_str().is_some()
                })
        });
        if !code_systems_ok {
            return Err(refuse(10010, "Code not found", at("code")));
        }
        let q = &r["valueQuantity"];
        if !q.is_null() {
            if q["system"] != "http://unitsofmeasure.org" || q["code"].as_str().is_none() {
                return Err(refuse(
                    10012,
                    "valueQuantity must use UCUM",
                    at("valueQuantity.code"),
                ));
            }
            if !q["value"].is_number() {
                return Err(refuse(
                    10331,
                    "valueQuantity.value must be a number",
                    at("valueQuantity.value"),
                ));
            }
        } else if r["valueCodeableConcept"].is_null() && !eie {
            return Err(refuse(10331, "value is required", at("value[x]")));
        }
        valid_time(r["effectiveDateTime"].as_str())
            .map_err(|e| refuse(10295, e, at("effectiveDateTime")))?;
        let enc = resolve(tx, refs, r["encounter"]["reference"].as_str(), "Encounter").ok_or_else(
            || {
                refuse(
                    20007,
                    "Resource not found Encounter (Reference is mandatory)",
                    at("encounter"),
                )
            },
        )?;
        r["encounter"]["reference"] = json!(enc);
    }
    match put_id {
        None => {
            let dup: Option<String> = tx
                .query_row(
                    "SELECT id FROM resources WHERE rtype = ?1 AND ident_system = ?2 AND ident_value = ?3",
                    params![rtype, system, value],
                    |row| row.get(0),
                )
                .optional()
                .ok()
                .flatten();
            if dup.is_some() {
                return Err(refuse(
                    20002,
                    &format!("Found duplicate resource: {rtype}"),
                    at("identifier"),
                ));
            }
            let id = uuid::Uuid::new_v4().to_string();
            r["id"] = json!(id);
            r["meta"] = json!({"versionId": "1", "lastUpdated": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string()});
            tx.execute(
                "INSERT INTO resources(id, rtype, version, ident_system, ident_value, body) VALUES (?1, ?2, 1, ?3, ?4, ?5)",
                params![id, rtype, system, value, r.to_string()],
            )
            .map_err(|_| refuse(20002, &format!("Found duplicate resource: {rtype}"), at("identifier")))?;
            Ok((id, 201))
        }
        Some(id) => {
            if r["id"].as_str() != Some(id) {
                return Err(Refusal {
                    status: 400,
                    text: "id is required".into(),
                    expression: Some(at("id")),
                });
            }
            let version: Option<i64> = tx
                .query_row(
                    "SELECT version FROM resources WHERE rtype = ?1 AND id = ?2",
                    params![rtype, id],
                    |row| row.get(0),
                )
                .optional()
                .ok()
                .flatten();
            let Some(version) = version else {
                return Err(refuse(
                    20007,
                    &format!("Resource not found {rtype}/{id}"),
                    at("id"),
                ));
            };
            let other: Option<String> = tx
                .query_row(
                    "SELECT id FROM resources WHERE rtype = ?1 AND ident_system = ?2 AND ident_value = ?3 AND id <> ?4",
                    params![rtype, system, value, id],
                    |row| row.get(0),
                )
                .optional()
                .ok()
                .flatten();
            if other.is_some() {
                return Err(refuse(
                    20002,
                    &format!("Found duplicate resource: {rtype}"),
                    at("identifier"),
                ));
            }
            let v = version + 1;
            r["meta"] = json!({"versionId": v.to_string(), "lastUpdated": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string()});
            tx.execute(
                "UPDATE resources SET version = ?2, ident_system = ?3, ident_value = ?4, body = ?5 WHERE id = ?1",
                params![id, v, system, value, r.to_string()],
            )
            .map_err(|_| Refusal {
                status: 500,
                text: "storage".into(),
                expression: None,
            })?;
            Ok((id.to_owned(), 200))
        }
    }
}
