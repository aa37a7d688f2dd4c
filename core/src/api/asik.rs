//! Upload to ASIK/SATUSEHAT: the status of every visit, the next Bundle, and `asik_sync`.
//!
//! Exactly once, the way SATUSEHAT allows it (reference §1.9): every resource carries a stable
//! identifier, so a second create is refused as a duplicate (20002); the server ids are written into
//! the child's document the moment a 2xx arrives; after any ambiguous failure (timeout, broken answer,
//! 5xx, unreadable body, a duplicate refusal) the engine looks up what the server holds by identifier
//! before it sends the rest. What was sent travels with the document, so another phone that synced
//! with this one sends nothing again.
//!
//! The open cases, decided:
//! * a visit with an open conflict on one of its fields (or on the child's NIK, mother's NIK, birth
//!   date, sex or merge) is `held`, with the field named, until the bidan resolves it;
//! * a visit corrected after it was sent: the resources that changed are PUT (same ids), a new
//!   measurement is created, a removed one is marked `entered-in-error`;
//! * a visit deleted after it was sent, or a deleted child's visits: every resource is PUT as
//!   `entered-in-error`;
//! * a merged duplicate: the kept child's Patient is used; a visit only the duplicate sent is adopted
//!   (same ids, PUT with the kept Patient when it differs); a day both had sent keeps the kept child's
//!   resources and the duplicate's are marked `entered-in-error`;
//! * a reassessment (new rules version): only the assessment Observations whose content changed are PUT.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::Value;

use super::Timbang;
use crate::asik::engine::{self, AsikConfig, Client, Halt, Reply, SyncReason, SyncReport, Token};
use crate::asik::mapping::{self, Entry, Kind, PatientSearch, Refs, VisitData};
use crate::asik::state::{RETRACTED, SentResource, SentVisit, visit_fingerprint};
use crate::crdt;
use crate::domain::{ChildId, Identity, Measurements, Position};
use crate::error::{Error, Result};
use crate::growth::Assessment;
use crate::host::HttpClient;
use crate::store::projection::{self, VisitRow};
use crate::store::{StoreError, asik as sql, children, conflicts, settings};

/// The upload state of the visits on this phone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AsikStatus {
    pub pending: u32,
    pub sent: u32,
    pub rejected: u32,
    pub held: u32,
    /// Every visit that is not sent, with its state and reason (no personal data).
    pub waiting: Vec<AsikVisitState>,
}

/// One visit that waits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AsikVisitState {
    pub child_id: ChildId,
    pub date: NaiveDate,
    /// `pending`, `held` or `rejected`.
    pub state: String,
    /// The conflicting field (`held`) or the server's reason (`rejected`).
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Planned {
    Sent,
    Held(String),
    Rejected(String),
    Pending,
}

/// One visit (or a retraction) as planned.
#[derive(Debug, Clone)]
struct Plan {
    root: ChildId,
    date: NaiveDate,
    /// The document the record is written into.
    doc_id: String,
    record: SentVisit,
    /// None for a retraction (the visit is gone, or a duplicate's copy is redundant).
    visit: Option<(Measurements, Assessment)>,
    position: Option<Position>,
    vfp: String,
    state: Planned,
}

/// A kept child and its visits.
#[derive(Debug, Clone)]
struct Group {
    root: ChildId,
    identity: Identity,
    patient: Option<String>,
    plans: Vec<Plan>,
}

/// Identity fields whose conflict holds every visit of the child (they decide the Patient).
const IDENTITY_HOLDS: &[&str] = &["nik", "mother_nik", "birth_date", "sex", "merged_into"];

impl Plan {
    fn key(&self) -> String {
        if self.record.key.is_empty() {
            self.root.as_str().to_owned()
        } else {
            self.record.key.clone()
        }
    }

    /// The entries that would bring the server to this visit, with (kind, fingerprint) for each.
    fn entries(&self, cfg: &AsikConfig, patient: &str) -> Vec<(Kind, String, Entry)> {
        let org = &cfg.map.org_id;
        let key = self.key();
        let enc_system = mapping::identifier_system(Kind::Encounter, org);
        let enc_value = mapping::identifier_value(&key, self.date, Kind::Encounter);
        let enc_ref = match self.record.res.get(&Kind::Encounter) {
            Some(e) => format!("Encounter/{}", e.id),
            None => mapping::urn_for(&enc_system, &enc_value),
        };
        let refs = Refs {
            patient,
            encounter: &enc_ref,
        };
        let mut out = Vec::new();
        let push = |kind: Kind, resource: Value, retract: bool, out: &mut Vec<_>| {
            let h = if retract {
                RETRACTED.to_owned()
            } else {
                mapping::fingerprint(&resource)
            };
            match self.record.res.get(&kind) {
                Some(s) if s.h == h => {}
                Some(s) => out.push((
                    kind,
                    h,
                    Entry::Update {
                        id: s.id.clone(),
                        resource,
                    },
                )),
                None if retract => {}
                None => {
                    let full_url = if kind == Kind::Encounter {
                        enc_ref.clone()
                    } else {
                        mapping::urn_for(
                            &mapping::identifier_system(kind, org),
                            &mapping::identifier_value(&key, self.date, kind),
                        )
                    };
                    out.push((kind, h, Entry::Create { full_url, resource }));
                }
            }
        };
        let retract =
            |kind: Kind| mapping::retraction(&cfg.map, &key, self.date, self.position, kind, &refs);
        match &self.visit {
            Some((m, a)) => {
                let v = VisitData {
                    key: &key,
                    date: self.date,
                    measured: m,
                    assessment: Some(a),
                };
                let desired = mapping::visit_resources(&cfg.map, &v, &refs);
                let kinds: BTreeSet<Kind> = desired.iter().map(|(k, _)| *k).collect();
                for (kind, r) in desired {
                    push(kind, r, false, &mut out);
                }
                for kind in self.record.res.keys().filter(|k| !kinds.contains(k)) {
                    push(*kind, retract(*kind), true, &mut out);
                }
            }
            None => {
                for kind in self.record.res.keys() {
                    push(*kind, retract(*kind), true, &mut out);
                }
            }
        }
        out
    }
}

fn group_conflicts(
    rows: &[conflicts::ConflictRow],
) -> (Option<String>, HashMap<NaiveDate, String>) {
    let mut identity = None;
    let mut by_date = HashMap::new();
    for c in rows {
        match c.visit_date {
            Some(d) => {
                by_date.entry(d).or_insert_with(|| c.field.clone());
            }
            None if IDENTITY_HOLDS.contains(&c.field.as_str()) => {
                identity.get_or_insert_with(|| c.field.clone());
            }
            None => {}
        }
    }
    (identity, by_date)
}

impl Timbang {
    /// Plan every kept child's upload from the documents and the projections (no network).
    fn asik_plan(&self) -> Result<Vec<Group>> {
        let store = &self.store;
        Ok(store.read(|c| {
            let mut groups = Vec::new();
            let mut versions: BTreeMap<i64, (String, String)> = BTreeMap::new();
            for (root_s, deleted) in sql::roots(c)? {
                let root = crate::store::Store::child_id(&root_s)?;
                let mut identity = Identity::default();
                let mut patient = None;
                let mut kept_records: BTreeMap<NaiveDate, SentVisit> = BTreeMap::new();
                let mut dup_records: Vec<(String, NaiveDate, SentVisit)> = Vec::new();
                let mut positions: HashMap<NaiveDate, Option<Position>> = HashMap::new();
                let mut members = children::group_members(c, &root)?;
                members.sort_by_key(|m| *m != root_s);
                for m in &members {
                    let Some(doc) = store.load_doc(c, m)? else {
                        continue;
                    };
                    let cd = crdt::read_child(&doc)?;
                    let (p, recs) = crdt::asik_state(&doc)?;
                    for (d, v) in &cd.visits {
                        positions.entry(*d).or_insert(v.measured.position);
                    }
                    if *m == root_s {
                        identity = cd.identity.clone();
                        patient = p;
                        for (d, vals) in recs {
                            if let Some(r) = SentVisit::from_values(&vals) {
                                kept_records.insert(d, r);
                            }
                        }
                    } else {
                        patient = patient.or(p);
                        for (d, vals) in recs {
                            if let Some(r) = SentVisit::from_values(&vals) {
                                dup_records.push((m.clone(), d, r));
                            }
                        }
                    }
                }
                // The record for each day: the kept child's, else the first duplicate's (adopted).
                let mut records: BTreeMap<NaiveDate, (String, SentVisit)> = kept_records
                    .into_iter()
                    .map(|(d, r)| (d, (root_s.clone(), r)))
                    .collect();
                let mut redundant = Vec::new();
                for (doc_id, d, r) in dup_records {
                    match records.get(&d) {
                        None => {
                            records.insert(d, (doc_id, r));
                        }
                        Some((_, kept)) => {
                            let same = kept.res.get(&Kind::Encounter).map(|e| &e.id)
                                == r.res.get(&Kind::Encounter).map(|e| &e.id);
                            if !same && !r.retracted() {
                                redundant.push((doc_id, d, r));
                            }
                        }
                    }
                }
                let search = PatientSearch::for_identity(&identity);
                let patient_key = patient
                    .clone()
                    .or_else(|| search.as_ref().map(PatientSearch::conditional_reference))
                    .unwrap_or_default();
                let open = conflicts::open(store, c, Some(&root), None)?;
                let (identity_hold, date_holds) = group_conflicts(&open);
                let attempts = sql::attempts(store, c, &root_s)?;
                let rows = if deleted {
                    Vec::new()
                } else {
                    VisitRow::read_all(c, &root_s)?
                };
                let mut plans = Vec::new();
                let mut live = BTreeSet::new();
                for row in rows {
                    if let std::collections::btree_map::Entry::Vacant(e) =
                        versions.entry(row.version)
                    {
                        e.insert(projection::version_names(c, row.version)?);
                    }
                    let (standard, rules) = &versions[&row.version];
                    let a = row.assessment(standard, rules);
                    let vfp = visit_fingerprint(&row.content(), Some(&a), &patient_key);
                    let record = records
                        .get(&row.date)
                        .map(|(_, r)| r.clone())
                        .unwrap_or_default();
                    let hold = date_holds
                        .get(&row.date)
                        .or(identity_hold.as_ref())
                        .cloned();
                    let state = if let Some(f) = hold {
                        Planned::Held(f)
                    } else if !record.v.is_empty() && record.v == vfp {
                        Planned::Sent
                    } else if let Some((fp, reason)) =
                        attempts.get(&row.date).and_then(|a| a.rejected.clone())
                        && fp == vfp
                    {
                        Planned::Rejected(reason)
                    } else {
                        Planned::Pending
                    };
                    live.insert(row.date);
                    plans.push(Plan {
                        root: root.clone(),
                        date: row.date,
                        doc_id: root_s.clone(),
                        record,
                        position: row.measured.position,
                        visit: Some((row.measured, a)),
                        vfp,
                        state,
                    });
                }
                let retractions = records
                    .into_iter()
                    .filter(|(d, (_, r))| !live.contains(d) && !r.retracted())
                    .map(|(d, (doc_id, r))| (doc_id, d, r))
                    .chain(redundant);
                for (doc_id, d, r) in retractions {
                    let vfp = format!("retract:{doc_id}");
                    let state = match attempts.get(&d).and_then(|a| a.rejected.clone()) {
                        Some((fp, reason)) if fp == vfp => Planned::Rejected(reason),
                        _ => Planned::Pending,
                    };
                    plans.push(Plan {
                        root: root.clone(),
                        date: d,
                        doc_id,
                        record: r,
                        visit: None,
                        position: positions.get(&d).copied().flatten(),
                        vfp,
                        state,
                    });
                }
                if !plans.is_empty() {
                    groups.push(Group {
                        root,
                        identity,
                        patient,
                        plans,
                    });
                }
            }
            Ok::<_, StoreError>(groups)
        })?)
    }

    /// How many visits are pending, sent, rejected (waiting for the bidan with the server's reason)
    /// and held (waiting for a conflict to be resolved).
    pub fn asik_status(&self) -> Result<AsikStatus> {
        let mut s = AsikStatus::default();
        for g in self.asik_plan()? {
            for p in g.plans {
                let (state, reason) = match p.state {
                    Planned::Sent => {
                        s.sent += 1;
                        continue;
                    }
                    Planned::Pending => {
                        s.pending += 1;
                        ("pending", None)
                    }
                    Planned::Held(f) => {
                        s.held += 1;
                        ("held", Some(f))
                    }
                    Planned::Rejected(r) => {
                        s.rejected += 1;
                        ("rejected", Some(r))
                    }
                };
                s.waiting.push(AsikVisitState {
                    child_id: p.root.clone(),
                    date: p.date,
                    state: state.into(),
                    reason,
                });
            }
        }
        Ok(s)
    }

    /// The transaction Bundle the next request would carry (no network). A Patient not yet known is
    /// named by its NIK or mother's NIK (a logical reference). None when nothing is pending.
    pub fn asik_next_bundle(&self, cfg: &AsikConfig) -> Result<Option<Value>> {
        let mut entries = Vec::new();
        let mut visits = 0;
        let mut bytes = 0;
        for g in self.asik_plan()? {
            let patient = match &g.patient {
                Some(p) => format!("Patient/{p}"),
                None => match PatientSearch::for_identity(&g.identity) {
                    Some(s) => s.conditional_reference(),
                    None => continue,
                },
            };
            for p in g.plans.iter().filter(|p| p.state == Planned::Pending) {
                let e = p.entries(cfg, &patient);
                if e.is_empty() {
                    continue;
                }
                let size: usize = e.iter().map(|(_, _, e)| entry_size(e)).sum();
                if visits > 0
                    && (visits >= cfg.max_visits_per_request
                        || bytes + size > cfg.max_request_bytes)
                {
                    break;
                }
                visits += 1;
                bytes += size;
                entries.extend(e.into_iter().map(|(_, _, e)| e));
            }
        }
        Ok((!entries.is_empty()).then(|| {
            let mut b = mapping::transaction(&entries);
            logical_subjects(&mut b);
            b
        }))
    }

    /// Upload what is pending within `budget`: Patients looked up (and created for babies through the
    /// mother's NIK), visits in transaction Bundles of at most `cfg.max_visits_per_request` visits and
    /// `cfg.max_request_bytes` bytes. Progress is written after every answer, so a run stopped at the
    /// deadline, by the interrupt handle, or by a lost signal loses nothing.
    ///
    /// [`Error::Sync`] (retryable) when the server cannot be reached and nothing was done; a run that
    /// made progress and then stopped returns its report with `stopped` set.
    pub fn asik_sync(
        &self,
        http: &dyn HttpClient,
        cfg: &AsikConfig,
        reason: SyncReason,
        budget: Duration,
    ) -> Result<SyncReport> {
        let _ = reason;
        let scope = self.interrupt.begin();
        self.device()?;
        self.store.write(|tx| {
            settings::set(
                tx,
                settings::MetaKey::AsikConfig,
                serde_json::to_string(cfg)?.as_bytes(),
            )
        })?;
        let token = self.load_token();
        let mut client = Client::new(http, cfg, token, Instant::now() + budget, scope);
        let mut report = SyncReport::default();
        let result = self.run_sync(&mut client, cfg, &mut report);
        if client.token_changed
            && let Some(t) = &client.token
        {
            self.save_token(t)?;
        }
        report.requests = client.requests;
        report.bytes_sent = client.bytes_sent;
        let status = self.asik_status()?;
        report.pending = status.pending;
        report.held = status.held;
        report.rejected_total = status.rejected;
        match result {
            Ok(()) => Ok(report),
            Err(Halt::Interrupted) if report.sent == 0 => Err(Error::Interrupted),
            Err(Halt::Unreachable(m)) if report.sent == 0 && report.patients_created == 0 => {
                Err(Error::Sync {
                    message: format!("ASIK server unreachable: {m}"),
                    retryable: true,
                })
            }
            Err(Halt::Credentials) if report.sent == 0 => Err(Error::Sync {
                message: "the ASIK server refused the client id and secret".into(),
                retryable: false,
            }),
            Err(h) => {
                if report.retry_after_s.is_none() {
                    report.retry_after_s = Some(60);
                }
                report.stopped = Some(h.code().into());
                Ok(report)
            }
        }
    }

    /// The settings of the last `asik_sync` on this phone (no secret), if any.
    pub fn asik_saved_config(&self) -> Result<Option<AsikConfig>> {
        let raw = self
            .store
            .read(|c| settings::get(c, settings::MetaKey::AsikConfig))?;
        Ok(raw.and_then(|r| serde_json::from_slice(&r).ok()))
    }

    fn load_token(&self) -> Option<Token> {
        let sealed = self
            .store
            .read(|c| settings::get(c, settings::MetaKey::AsikToken))
            .ok()??;
        let plain = self.store.open_secret("asik_token", &sealed).ok()?;
        serde_json::from_slice(&plain).ok()
    }

    fn save_token(&self, t: &Token) -> Result<()> {
        let plain = zeroize::Zeroizing::new(serde_json::to_vec(t).map_err(StoreError::from)?);
        let sealed = self.store.seal_secret("asik_token", &plain)?;
        self.store
            .write(|tx| settings::set(tx, settings::MetaKey::AsikToken, &sealed))?;
        Ok(())
    }

    /// Write what the server now holds into the documents, and the attempts, in one commit.
    fn asik_record(
        &self,
        written: &[(String, NaiveDate, ChildId, SentVisit, bool)],
        patients: &[(ChildId, String)],
        rejected: &[(ChildId, NaiveDate, String, String)],
    ) -> Result<()> {
        if written.is_empty() && patients.is_empty() && rejected.is_empty() {
            return Ok(());
        }
        let now_s = chrono::Utc::now().timestamp();
        self.commit("asik_sync", |e| {
            let now = e.now_ms;
            for (root, id) in patients {
                e.change(root.as_str(), |d| crdt::put_asik_patient(d, id, now))?;
            }
            for (doc_id, date, root, rec, done) in written {
                let json = rec.to_json();
                e.change(doc_id, |d| crdt::put_asik_visit(d, *date, &json, now))?;
                sql::tried(e.tx, root.as_str(), *date, now_s)?;
                if *done {
                    sql::accepted(e.tx, root.as_str(), *date)?;
                }
            }
            for (root, date, fp, reason) in rejected {
                sql::rejected(&self.store, e.tx, root.as_str(), *date, fp, reason)?;
            }
            e.detail = Some(format!(
                "{} visits, {} patients, {} refused",
                written.len(),
                patients.len(),
                rejected.len()
            ));
            Ok(())
        })
    }

    fn run_sync(
        &self,
        client: &mut Client<'_>,
        cfg: &AsikConfig,
        report: &mut SyncReport,
    ) -> std::result::Result<(), Halt> {
        let store_err = |_e: Error| Halt::Deadline;
        let mut plan = self.asik_plan().map_err(store_err)?;
        // Patients first, one look-up per child without one.
        let mut patients: Vec<(ChildId, String)> = Vec::new();
        let mut refused: Vec<(ChildId, NaiveDate, String, String)> = Vec::new();
        for g in plan.iter_mut() {
            if g.patient.is_some() || !g.plans.iter().any(|p| p.state == Planned::Pending) {
                continue;
            }
            match self.find_patient(client, cfg, &g.identity, report)? {
                Ok(id) => {
                    g.patient = Some(id.clone());
                    patients.push((g.root.clone(), id));
                }
                Err(reason) => {
                    for p in g.plans.iter_mut().filter(|p| p.state == Planned::Pending) {
                        refused.push((g.root.clone(), p.date, p.vfp.clone(), reason.clone()));
                        p.state = Planned::Rejected(reason.clone());
                        report.rejected += 1;
                    }
                }
            }
            if patients.len() >= 50 {
                self.asik_record(&[], &patients, &refused)
                    .map_err(store_err)?;
                patients.clear();
                refused.clear();
            }
        }
        self.asik_record(&[], &patients, &refused)
            .map_err(store_err)?;
        // The visit fingerprints were made before the Patient ids were known: plan again.
        if !patients.is_empty() {
            plan = self.asik_plan().map_err(store_err)?;
        }
        // Work: (group, plan) indices of pending visits, in batches.
        let mut work: Vec<(usize, usize)> = Vec::new();
        for (gi, g) in plan.iter().enumerate() {
            if g.patient.is_none() {
                continue;
            }
            for (pi, p) in g.plans.iter().enumerate() {
                if p.state == Planned::Pending {
                    work.push((gi, pi));
                }
            }
        }
        let mut queue: VecDeque<Vec<(usize, usize)>> = VecDeque::new();
        let mut next = 0;
        loop {
            let batch = match queue.pop_front() {
                Some(b) => b,
                None => {
                    if next >= work.len() {
                        break;
                    }
                    let mut b = Vec::new();
                    let mut bytes = 0;
                    while next < work.len() && b.len() < cfg.max_visits_per_request {
                        let (gi, pi) = work[next];
                        let g = &plan[gi];
                        let patient = format!("Patient/{}", g.patient.as_deref().unwrap_or(""));
                        let size: usize = g.plans[pi]
                            .entries(cfg, &patient)
                            .iter()
                            .map(|(_, _, e)| entry_size(e))
                            .sum();
                        if !b.is_empty() && bytes + size > cfg.max_request_bytes {
                            break;
                        }
                        bytes += size;
                        b.push((gi, pi));
                        next += 1;
                    }
                    b
                }
            };
            client.check()?;
            self.send_batch(client, cfg, &mut plan, batch, &mut queue, report)?;
        }
        Ok(())
    }

    /// Send one batch; refusals split it, ambiguity looks up, 429/503 wait.
    fn send_batch(
        &self,
        client: &mut Client<'_>,
        cfg: &AsikConfig,
        plan: &mut [Group],
        batch: Vec<(usize, usize)>,
        queue: &mut VecDeque<Vec<(usize, usize)>>,
        report: &mut SyncReport,
    ) -> std::result::Result<(), Halt> {
        let store_err = |_e: Error| Halt::Deadline;
        // Entries, and which visit and resource each one is.
        let mut entries = Vec::new();
        let mut owners: Vec<(usize, usize, Kind, String, bool)> = Vec::new();
        let mut done_without_request = Vec::new();
        for &(gi, pi) in &batch {
            let g = &plan[gi];
            let patient = format!("Patient/{}", g.patient.as_deref().unwrap_or(""));
            let e = g.plans[pi].entries(cfg, &patient);
            if e.is_empty() {
                done_without_request.push((gi, pi));
            }
            for (kind, h, entry) in e {
                owners.push((gi, pi, kind, h, matches!(entry, Entry::Create { .. })));
                entries.push(entry);
            }
        }
        if !done_without_request.is_empty() {
            let mut written = Vec::new();
            for (gi, pi) in done_without_request {
                let p = &mut plan[gi].plans[pi];
                p.record.key = p.key();
                p.record.v = p.vfp.clone();
                p.state = Planned::Sent;
                report.sent += 1;
                written.push((
                    p.doc_id.clone(),
                    p.date,
                    p.root.clone(),
                    p.record.clone(),
                    true,
                ));
            }
            self.asik_record(&written, &[], &[]).map_err(store_err)?;
        }
        if entries.is_empty() {
            return Ok(());
        }
        let bundle = mapping::transaction(&entries);
        let reply = client.fhir("POST", "", Some(&bundle))?;
        match reply {
            Reply::Done(v) => {
                let answered = v["entry"].as_array().cloned().unwrap_or_default();
                let ids: Vec<Option<String>> = answered
                    .iter()
                    .map(|e| {
                        e["response"]["location"]
                            .as_str()
                            .and_then(engine::location_id)
                    })
                    .collect();
                if v["type"] != "transaction-response"
                    || ids.len() != owners.len()
                    || ids.iter().any(Option::is_none)
                {
                    // A 2xx we cannot read: the server may hold it all. Look up.
                    self.look_up(client, cfg, plan, &batch)?;
                    client.backoff()?;
                    queue.push_front(batch);
                    return Ok(());
                }
                client.succeeded();
                for ((gi, pi, kind, h, create), id) in owners.iter().zip(ids) {
                    let p = &mut plan[*gi].plans[*pi];
                    p.record.key = p.key();
                    p.record.res.insert(
                        *kind,
                        SentResource {
                            id: id.unwrap_or_default(),
                            h: h.clone(),
                        },
                    );
                    if h == RETRACTED {
                        report.retracted += 1;
                    } else if *create {
                        report.created += 1;
                    } else {
                        report.updated += 1;
                    }
                }
                let mut written = Vec::new();
                for &(gi, pi) in &batch {
                    let p = &mut plan[gi].plans[pi];
                    p.record.v = if p.visit.is_some() {
                        p.vfp.clone()
                    } else {
                        String::new()
                    };
                    p.state = Planned::Sent;
                    report.sent += 1;
                    written.push((
                        p.doc_id.clone(),
                        p.date,
                        p.root.clone(),
                        p.record.clone(),
                        true,
                    ));
                }
                self.asik_record(&written, &[], &[]).map_err(store_err)?;
            }
            Reply::Later(secs) => {
                report.retry_after_s = Some(secs);
                client.wait(Duration::from_secs(secs))?;
                queue.push_front(batch);
            }
            Reply::Ambiguous(problem) => {
                report.last_problem = Some(problem);
                self.look_up(client, cfg, plan, &batch)?;
                client.backoff()?;
                queue.push_front(batch);
            }
            Reply::Refused { status, outcome } => {
                client.succeeded();
                let culprit = outcome
                    .entry_index()
                    .and_then(|i| owners.get(i))
                    .map(|o| (o.0, o.1));
                let culprit = culprit.or(if batch.len() == 1 {
                    Some(batch[0])
                } else {
                    None
                });
                match culprit {
                    Some(c) if outcome.is_duplicate() => {
                        // Someone (a retry, another phone) already created it: look up, then resend.
                        self.look_up(client, cfg, plan, &[c])?;
                        let rest: Vec<_> = batch.iter().copied().filter(|b| *b != c).collect();
                        queue.push_front(vec![c]);
                        if !rest.is_empty() {
                            queue.push_front(rest);
                        }
                    }
                    Some(c) => {
                        let p = &mut plan[c.0].plans[c.1];
                        let reason = if outcome.issues.is_empty() {
                            format!("ditolak server (HTTP {status})")
                        } else {
                            outcome.reason()
                        };
                        p.state = Planned::Rejected(reason.clone());
                        report.rejected += 1;
                        self.asik_record(
                            &[],
                            &[],
                            &[(p.root.clone(), p.date, p.vfp.clone(), reason)],
                        )
                        .map_err(store_err)?;
                        let rest: Vec<_> = batch.iter().copied().filter(|b| *b != c).collect();
                        if !rest.is_empty() {
                            queue.push_front(rest);
                        }
                    }
                    None => {
                        // Refused for an entry we cannot tell: split and try the halves.
                        let (a, b) = batch.split_at(batch.len() / 2);
                        queue.push_front(b.to_vec());
                        queue.push_front(a.to_vec());
                    }
                }
            }
        }
        Ok(())
    }

    /// After an ambiguous failure: ask the server, by identifier, what it holds of these visits, and
    /// write it down.
    fn look_up(
        &self,
        client: &mut Client<'_>,
        cfg: &AsikConfig,
        plan: &mut [Group],
        batch: &[(usize, usize)],
    ) -> std::result::Result<(), Halt> {
        let org = &cfg.map.org_id;
        let mut wanted: HashMap<(String, String), (usize, usize, Kind)> = HashMap::new();
        for &(gi, pi) in batch {
            let p = &plan[gi].plans[pi];
            let key = p.key();
            for kind in Kind::ALL {
                wanted.insert(
                    (
                        mapping::identifier_system(kind, org),
                        mapping::identifier_value(&key, p.date, kind),
                    ),
                    (gi, pi, kind),
                );
            }
        }
        let mut found: Vec<(usize, usize, Kind, SentResource)> = Vec::new();
        for rtype in ["Encounter", "Observation"] {
            let idents: Vec<String> = wanted
                .iter()
                .filter(|(_, (_, _, k))| k.resource_type() == rtype)
                .map(|((s, v), _)| format!("{s}|{v}"))
                .collect();
            for chunk in idents.chunks(30) {
                let path = format!("{rtype}?identifier={}", mapping::enc(&chunk.join(",")));
                let mut tries = 0;
                let v = loop {
                    match client.fhir("GET", &path, None)? {
                        Reply::Done(v) => break v,
                        Reply::Later(s) => client.wait(Duration::from_secs(s))?,
                        _ => {
                            tries += 1;
                            if tries > 4 {
                                return Err(Halt::Deadline);
                            }
                            client.backoff()?;
                        }
                    }
                };
                for r in engine::search_entries(&v) {
                    let Some(ident) = r["identifier"].as_array().and_then(|a| {
                        a.iter().find_map(|i| {
                            let k = (
                                i["system"].as_str()?.to_owned(),
                                i["value"].as_str()?.to_owned(),
                            );
                            wanted.get(&k).copied()
                        })
                    }) else {
                        continue;
                    };
                    let Some(id) = r["id"].as_str() else { continue };
                    let h = if r["status"] == "entered-in-error" {
                        RETRACTED.to_owned()
                    } else {
                        mapping::fingerprint(&r)
                    };
                    found.push((
                        ident.0,
                        ident.1,
                        ident.2,
                        SentResource {
                            id: id.to_owned(),
                            h,
                        },
                    ));
                }
            }
        }
        let mut touched = BTreeSet::new();
        for (gi, pi, kind, res) in found {
            let p = &mut plan[gi].plans[pi];
            p.record.key = p.key();
            if p.record.res.get(&kind) != Some(&res) {
                p.record.res.insert(kind, res);
                p.record.v.clear();
                touched.insert((gi, pi));
            }
        }
        let written: Vec<_> = touched
            .into_iter()
            .map(|(gi, pi)| {
                let p = &plan[gi].plans[pi];
                (
                    p.doc_id.clone(),
                    p.date,
                    p.root.clone(),
                    p.record.clone(),
                    false,
                )
            })
            .collect();
        self.asik_record(&written, &[], &[])
            .map_err(|_| Halt::Deadline)
    }

    /// The child's Patient id: found by NIK, or by the mother's NIK and birth date (created there when
    /// not found). `Ok(Err(reason))` when it cannot be found or made (the visits are then refused with
    /// that reason, for the bidan).
    fn find_patient(
        &self,
        client: &mut Client<'_>,
        cfg: &AsikConfig,
        identity: &Identity,
        report: &mut SyncReport,
    ) -> std::result::Result<std::result::Result<String, String>, Halt> {
        let Some(search) = PatientSearch::for_identity(identity) else {
            return Ok(Err(
                "Anak belum punya NIK dan NIK ibu tidak tercatat; lengkapi data untuk dikirim ke SATUSEHAT.".into(),
            ));
        };
        let gender = identity.sex.map(|s| match s {
            crate::domain::Sex::Male => "male",
            crate::domain::Sex::Female => "female",
        });
        let mut failures = 0;
        let mut created = false;
        loop {
            let reply = client.fhir("GET", &format!("Patient?{}", search.query()), None)?;
            let v = match reply {
                Reply::Done(v) => v,
                Reply::Later(s) => {
                    client.wait(Duration::from_secs(s))?;
                    continue;
                }
                Reply::Refused { outcome, .. } => return Ok(Err(outcome.reason())),
                Reply::Ambiguous(_) => {
                    failures += 1;
                    if failures > 4 {
                        return Err(Halt::Deadline);
                    }
                    client.backoff()?;
                    continue;
                }
            };
            let found: Vec<Value> = engine::search_entries(&v)
                .into_iter()
                .filter(|p| match &search {
                    PatientSearch::Nik(_) => true,
                    PatientSearch::NikIbu { birth_date, .. } => {
                        p["birthDate"].as_str() == Some(birth_date.to_string().as_str())
                            && (gender.is_none()
                                || p["gender"].is_null()
                                || p["gender"].as_str() == gender)
                    }
                })
                .collect();
            match (found.len(), &search) {
                (1, _) | (2.., PatientSearch::Nik(_)) => {
                    client.succeeded();
                    return Ok(found[0]["id"]
                        .as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| "jawaban SATUSEHAT tanpa id pasien".to_owned()));
                }
                (2.., _) => {
                    return Ok(Err(
                        "Lebih dari satu bayi dengan NIK ibu dan tanggal lahir ini di SATUSEHAT; bidan perlu memilih.".into(),
                    ));
                }
                (0, PatientSearch::Nik(_)) => {
                    return Ok(Err("NIK anak tidak ditemukan di SATUSEHAT.".into()));
                }
                (0, PatientSearch::NikIbu { .. }) if created => {
                    // Created, yet not found: the server is behind; try again next run.
                    return Err(Halt::Deadline);
                }
                (0, PatientSearch::NikIbu { .. }) => {
                    let Some(body) = mapping::new_baby_patient(&cfg.map, identity) else {
                        return Ok(Err(
                            "Data bayi belum lengkap untuk didaftarkan di SATUSEHAT.".into(),
                        ));
                    };
                    match client.fhir("POST", "Patient", Some(&body))? {
                        Reply::Done(v) => {
                            if let Some(id) = engine::created_patient_id(&v) {
                                report.patients_created += 1;
                                client.succeeded();
                                return Ok(Ok(id));
                            }
                            created = true;
                        }
                        Reply::Refused { outcome, .. } => return Ok(Err(outcome.reason())),
                        Reply::Later(s) => client.wait(Duration::from_secs(s))?,
                        Reply::Ambiguous(_) => {
                            // It may exist now: search again before creating.
                            failures += 1;
                            if failures > 4 {
                                return Err(Halt::Deadline);
                            }
                            client.backoff()?;
                        }
                    }
                }
            }
        }
    }
}

/// A Patient not yet known is named by its identifier (a logical reference, valid R4) instead of the
/// conditional reference the planning uses internally.
fn logical_subjects(bundle: &mut Value) {
    let Some(entries) = bundle["entry"].as_array_mut() else {
        return;
    };
    for e in entries {
        let subject = &mut e["resource"]["subject"];
        let Some(r) = subject["reference"].as_str() else {
            continue;
        };
        if let Some((system, value)) = r
            .strip_prefix("Patient?identifier=")
            .and_then(|i| i.split_once('|'))
        {
            *subject = serde_json::json!({"type": "Patient", "identifier": {"system": system, "value": value}});
        }
    }
}

fn entry_size(e: &Entry) -> usize {
    match e {
        Entry::Create { resource, .. } | Entry::Update { resource, .. } => {
            resource.to_string().len() + 120
        }
    }
}
