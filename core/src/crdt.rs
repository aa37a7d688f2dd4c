//! One automerge document per child: its layout, writes, reads, conflicts and the duplicate-merge marks.
//!
//! Layout (schema 1). Every map is created once, when the child is registered, by the one device that
//! registers it; afterwards only scalar keys are written. Visit fields are flat keys in one `visits` map
//! (`"2024-03-15/weight_g"`) so that two phones writing weight and height for the same child on the same
//! morning merge field by field, and two phones writing different weights keep both values as a
//! conflict (automerge keeps concurrent values; [`conflicts`] lists them).
//!
//! ```text
//! { schema: 1, child_id: "…", created_by: "device",
//!   identity: { name, sex, birth_date, nik?, kk?, mother_name?, mother_nik?, address?,
//!               has_kms?: bool (absent = yes), posyandu?, village?, rt?, rw? },
//!   visits: { "YYYY-MM-DD/weight_g": int, "/height_mm": int, "/position": "lying"|"standing",
//!             "/head_mm": int, "/muac_mm": int, "/oedema": bool, "/confirmed/<code>": true,
//!             "/service/<code>": true, "/recorded_by": "device", "/deleted": bool },
//!   merged_into?: "<keep child id>", merged_from: { "<duplicate id>": true }, deleted: bool,
//!   "asik/patient"?: "P…", "asik/visit/YYYY-MM-DD"?: "<JSON: what was sent, see asik::state>" }
//! ```
//! The `asik/…` keys are the upload state: written once the server has answered, so they travel to
//! every phone by peer sync and no phone sends the same visit again.
//! Nothing here does I/O; the store seals and persists the bytes.

use std::collections::{BTreeMap, BTreeSet};

use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, AutomergeError, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use chrono::NaiveDate;
use serde::Serialize;

use crate::domain::{
    ChildId, Identity, Measurements, NewChild, Service, Services, Sex, VisitEntry,
};

/// Version of the document layout.
pub const DOC_SCHEMA: i64 = 1;

/// Errors reading or writing a child document.
#[derive(Debug, thiserror::Error)]
pub enum CrdtError {
    #[error("automerge: {0}")]
    Automerge(#[from] AutomergeError),
    #[error("the document has no {0}")]
    Missing(&'static str),
    #[error("the document has schema {0}, newer than this app supports")]
    TooNew(i64),
    /// automerge panicked on the bytes (see [`catch_panic`]).
    #[error("the document is malformed (automerge failed on it)")]
    Malformed,
}

type Res<T> = Result<T, CrdtError>;

/// Run automerge on bytes from outside (a document or sync message another phone sent), turning a
/// panic inside automerge into `None`. automerge 0.12 panics instead of returning an error on some
/// malformed input whose checksums are right (found by fuzzing: `docs/RELIABILITY.md`, "Fuzzing");
/// without this one bad document from a paired phone would take the session, or the open
/// transaction, down with it. What `f` was changing may be half changed: the caller drops it.
/// Relies on unwinding (the default panic strategy; no profile here sets `panic = "abort"`).
pub fn catch_panic<T>(f: impl FnOnce() -> T) -> Option<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).ok()
}

/// [`Automerge::load`], with a panic inside automerge an error ([`catch_panic`]).
pub fn load(bytes: &[u8]) -> Res<Automerge> {
    Ok(catch_panic(|| Automerge::load(bytes)).ok_or(CrdtError::Malformed)??)
}

/// Whether `doc` opens again after saving, as everything stored must. automerge 0.12 loads (and
/// merges) some malformed documents whose save then does not load ("mismatching heads") or makes it
/// panic (found by fuzzing); a document from another phone is checked with this before it is stored.
#[cfg(any(test, feature = "testing"))]
pub fn reopens(doc: &Automerge) -> bool {
    save_reopening(doc, None).is_some()
}

/// `doc`'s full save when it opens again ([`reopens`]), else None. `loaded_from`: the bytes `doc` was
/// just loaded from, if it was; a save equal to them (a document another phone sent whole, saved by the
/// same automerge) opens again without being loaded a second time. Otherwise the check loads a save
/// with its columns not deflated (cheaper to make and to load than `save()`; the decoding is the same),
/// and that save is returned.
pub fn save_reopening(doc: &Automerge, loaded_from: Option<&[u8]>) -> Option<Vec<u8>> {
    if let Some(from) = loaded_from {
        let saved = catch_panic(|| doc.save())?;
        if saved == from {
            return Some(saved);
        }
    }
    let plain = catch_panic(|| doc.save_nocompress())?;
    catch_panic(|| Automerge::load(&plain).is_ok())
        .unwrap_or(false)
        .then_some(plain)
}

/// [`Automerge::merge`] of `incoming` into `doc`, with a panic inside automerge an error
/// ([`catch_panic`]); after an error `doc` may hold part of `incoming`: drop it.
pub fn merge(doc: &mut Automerge, incoming: &mut Automerge) -> Res<()> {
    catch_panic(|| doc.merge(incoming)).ok_or(CrdtError::Malformed)??;
    Ok(())
}

/// One visit as stored in the document (winning values where there are conflicts).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct VisitFields {
    pub measured: Measurements,
    pub confirmed: BTreeSet<String>,
    pub services: Services,
    pub recorded_by: Option<String>,
    pub deleted: bool,
}

impl VisitFields {
    /// Fill what this visit lacks from `other` (folding a merged duplicate's visit in).
    pub fn fill_from(&mut self, other: &VisitFields) {
        self.measured.fill_from(&other.measured);
        self.confirmed.extend(other.confirmed.iter().cloned());
        for s in other.services.iter() {
            self.services.insert(s);
        }
    }

    /// True when the visit holds a measurement or a service.
    pub fn has_data(&self) -> bool {
        !self.measured.is_empty() || !self.services.is_empty()
    }
}

/// A child document read into plain data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildDoc {
    pub id: ChildId,
    pub identity: Identity,
    pub visits: BTreeMap<NaiveDate, VisitFields>,
    /// The kept child this one was merged into, if any (lowest id wins when merges raced).
    pub merged_into: Option<ChildId>,
    pub merged_from: BTreeSet<ChildId>,
    pub deleted: bool,
}

/// A field with concurrent different values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldConflict {
    /// The document key (`identity.name`, `visits.2024-03-15/weight_g`, `merged_into`).
    pub key: String,
    /// Human field name in user units (`name`, `weight_kg`, `height_cm`, …).
    pub field: String,
    pub visit_date: Option<NaiveDate>,
    /// The values in user units (numbers for measurements, strings otherwise), sorted.
    pub values: Vec<serde_json::Value>,
}

/// Actor id for a device: 16 bytes.
pub fn actor_for(device_actor: &[u8]) -> ActorId {
    ActorId::from(device_actor)
}

fn obj(doc: &Automerge, parent: &automerge::ObjId, key: &'static str) -> Res<automerge::ObjId> {
    match doc.get(parent, key)? {
        Some((Value::Object(ObjType::Map), id)) => Ok(id),
        _ => Err(CrdtError::Missing(key)),
    }
}

fn put_opt<T: Transactable>(tx: &mut T, o: &automerge::ObjId, k: &str, v: Option<&str>) -> Res<()> {
    if let Some(v) = v {
        tx.put(o, k, v)?;
    }
    Ok(())
}

/// Create the document of a newly registered child (the facade uses [`new_child_doc_with`]).
#[cfg(any(test, feature = "testing"))]
pub fn new_child_doc(
    id: &ChildId,
    c: &NewChild,
    confirmed: &[String],
    device: &str,
    actor: ActorId,
    now_ms: i64,
) -> Res<Automerge> {
    new_child_doc_with(id, c, &[], confirmed, device, actor, now_ms)
}

/// [`new_child_doc`] with more scalar identity fields (`has_kms`, `posyandu`, `village`) written in
/// the same first change.
pub fn new_child_doc_with(
    id: &ChildId,
    c: &NewChild,
    extra: &[(&str, Chosen)],
    confirmed: &[String],
    device: &str,
    actor: ActorId,
    now_ms: i64,
) -> Res<Automerge> {
    let mut doc = Automerge::new().with_actor(actor);
    let mut tx = doc.transaction();
    tx.put(ROOT, "schema", DOC_SCHEMA)?;
    tx.put(ROOT, "child_id", id.as_str())?;
    tx.put(ROOT, "created_by", device)?;
    let ident = tx.put_object(ROOT, "identity", ObjType::Map)?;
    tx.put(&ident, "name", c.name.as_str())?;
    tx.put(&ident, "sex", c.sex.code())?;
    tx.put(&ident, "birth_date", c.birth_date.to_string())?;
    put_opt(&mut tx, &ident, "nik", c.nik.as_deref())?;
    put_opt(&mut tx, &ident, "kk", c.kk.as_deref())?;
    put_opt(&mut tx, &ident, "mother_name", c.mother_name.as_deref())?;
    put_opt(&mut tx, &ident, "mother_nik", c.mother_nik.as_deref())?;
    put_opt(&mut tx, &ident, "address", c.address.as_deref())?;
    for (key, value) in extra {
        match value {
            Chosen::Int(i) => tx.put(&ident, *key, *i)?,
            Chosen::Str(t) => tx.put(&ident, *key, t.as_str())?,
            Chosen::Bool(b) => tx.put(&ident, *key, *b)?,
        }
    }
    tx.put_object(ROOT, "visits", ObjType::Map)?;
    tx.put_object(ROOT, "merged_from", ObjType::Map)?;
    tx.put(ROOT, "deleted", false)?;
    for code in confirmed {
        tx.put(ROOT, format!("confirmed/{code}"), true)?;
    }
    tx.commit_with(automerge::transaction::CommitOptions::default().with_time(now_ms / 1000));
    Ok(doc)
}

/// Write scalar identity fields (`has_kms`, `posyandu`, `village`, ...) in one change; only values that
/// differ from the stored ones are written. Returns whether anything was written.
pub fn set_identity_fields(
    doc: &mut Automerge,
    fields: &[(&str, Chosen)],
    now_ms: i64,
) -> Res<bool> {
    let ident = obj(doc, &ROOT, "identity")?;
    let mut changed = false;
    let mut tx = doc.transaction();
    for (key, value) in fields {
        let current: Option<ScalarValue> = match tx.get(&ident, *key)? {
            Some((Value::Scalar(s), _)) => Some(s.into_owned()),
            _ => None,
        };
        let wanted = match value {
            Chosen::Int(i) => ScalarValue::Int(*i),
            Chosen::Str(t) => ScalarValue::Str(t.as_str().into()),
            Chosen::Bool(b) => ScalarValue::Boolean(*b),
        };
        if current.as_ref() != Some(&wanted) {
            tx.put(&ident, *key, wanted)?;
            changed = true;
        }
    }
    if changed {
        tx.commit_with(automerge::transaction::CommitOptions::default().with_time(now_ms / 1000));
    } else {
        tx.rollback();
    }
    Ok(changed)
}

/// Record (add to or correct) the visit of `date`. `confirmed` are the concern codes the kader confirmed.
pub fn write_visit(
    doc: &mut Automerge,
    date: NaiveDate,
    e: &VisitEntry,
    confirmed: &[String],
    device: &str,
    now_ms: i64,
) -> Res<()> {
    let visits = obj(doc, &ROOT, "visits")?;
    let p = date.to_string();
    let mut tx = doc.transaction();
    let int = |v: u32| ScalarValue::Int(i64::from(v));
    let m = &e.measured;
    if let Some(v) = m.weight_g {
        tx.put(&visits, format!("{p}/weight_g"), int(v))?;
    }
    if let Some(v) = m.height_mm {
        tx.put(&visits, format!("{p}/height_mm"), int(v))?;
        if let Some(pos) = m.position {
            tx.put(&visits, format!("{p}/position"), pos.code())?;
        }
    }
    if let Some(v) = m.head_mm {
        tx.put(&visits, format!("{p}/head_mm"), int(v))?;
    }
    if let Some(v) = m.muac_mm {
        tx.put(&visits, format!("{p}/muac_mm"), int(v))?;
    }
    if let Some(v) = m.oedema {
        tx.put(&visits, format!("{p}/oedema"), v)?;
    }
    for code in confirmed {
        tx.put(&visits, format!("{p}/confirmed/{code}"), true)?;
    }
    for s in e.services.iter() {
        tx.put(&visits, format!("{p}/service/{}", s.code()), true)?;
    }
    // Recording on a day whose visit was deleted brings the visit back.
    let deleted_key = format!("{p}/deleted");
    if matches!(tx.get(&visits, deleted_key.as_str())?, Some((v, _)) if v.as_bool() == Some(true)) {
        tx.put(&visits, deleted_key, false)?;
    }
    tx.put(&visits, format!("{p}/recorded_by"), device)?;
    tx.commit_with(automerge::transaction::CommitOptions::default().with_time(now_ms / 1000));
    Ok(())
}

/// Soft-delete the visit of `date`: its values stay in the document (and its history) but it no longer
/// counts; recording on that date again brings it back.
pub fn delete_visit(doc: &mut Automerge, date: NaiveDate, device: &str, now_ms: i64) -> Res<()> {
    let visits = obj(doc, &ROOT, "visits")?;
    let p = date.to_string();
    let mut tx = doc.transaction();
    tx.put(&visits, format!("{p}/deleted"), true)?;
    tx.put(&visits, format!("{p}/recorded_by"), device)?;
    tx.commit_with(automerge::transaction::CommitOptions::default().with_time(now_ms / 1000));
    Ok(())
}

/// Mark `doc` (the duplicate) as merged into `keep`.
pub fn mark_merged_into(doc: &mut Automerge, keep: &ChildId, now_ms: i64) -> Res<()> {
    let mut tx = doc.transaction();
    tx.put(ROOT, "merged_into", keep.as_str())?;
    tx.commit_with(automerge::transaction::CommitOptions::default().with_time(now_ms / 1000));
    Ok(())
}

/// Record on the kept child's document that `duplicate` was merged into it.
pub fn mark_merged_from(doc: &mut Automerge, duplicate: &ChildId, now_ms: i64) -> Res<()> {
    let from = obj(doc, &ROOT, "merged_from")?;
    let mut tx = doc.transaction();
    tx.put(&from, duplicate.as_str(), true)?;
    tx.commit_with(automerge::transaction::CommitOptions::default().with_time(now_ms / 1000));
    Ok(())
}

fn get_str(doc: &Automerge, o: &automerge::ObjId, k: &str) -> Res<Option<String>> {
    Ok(match doc.get(o, k)? {
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Str(t) => Some(t.to_string()),
            _ => None,
        },
        _ => None,
    })
}

fn scalar_u32(s: &ScalarValue) -> Option<u32> {
    match s {
        ScalarValue::Int(i) => u32::try_from(*i).ok(),
        ScalarValue::Uint(u) => u32::try_from(*u).ok(),
        _ => None,
    }
}

/// Read the whole document into plain data.
pub fn read_child(doc: &Automerge) -> Res<ChildDoc> {
    if let Some((Value::Scalar(s), _)) = doc.get(ROOT, "schema")?
        && let ScalarValue::Int(v) = s.as_ref()
        && *v > DOC_SCHEMA
    {
        return Err(CrdtError::TooNew(*v));
    }
    let id_text = get_str(doc, &ROOT, "child_id")?.ok_or(CrdtError::Missing("child_id"))?;
    let id = ChildId::parse(&id_text).map_err(|_| CrdtError::Missing("child_id"))?;
    let ident = obj(doc, &ROOT, "identity")?;
    let identity = Identity {
        name: get_str(doc, &ident, "name")?.unwrap_or_default(),
        sex: match get_str(doc, &ident, "sex")?.as_deref() {
            Some("L") => Some(Sex::Male),
            Some("P") => Some(Sex::Female),
            _ => None,
        },
        birth_date: get_str(doc, &ident, "birth_date")?.and_then(|s| s.parse().ok()),
        nik: get_str(doc, &ident, "nik")?,
        kk: get_str(doc, &ident, "kk")?,
        mother_name: get_str(doc, &ident, "mother_name")?,
        mother_nik: get_str(doc, &ident, "mother_nik")?,
        address: get_str(doc, &ident, "address")?,
        has_kms: match doc.get(&ident, "has_kms")? {
            Some((Value::Scalar(s), _)) => s.as_bool(),
            _ => None,
        },
        posyandu: get_str(doc, &ident, "posyandu")?,
        village: get_str(doc, &ident, "village")?,
        rt: get_str(doc, &ident, "rt")?,
        rw: get_str(doc, &ident, "rw")?,
    };
    let visits_obj = obj(doc, &ROOT, "visits")?;
    let mut visits: BTreeMap<NaiveDate, VisitFields> = BTreeMap::new();
    for item in doc.map_range(&visits_obj, ..) {
        let key = item.key.as_ref();
        let Some((date_s, field)) = key.split_once('/') else {
            continue;
        };
        let Ok(date) = date_s.parse::<NaiveDate>() else {
            continue;
        };
        let value: Value<'static> = item.value.into();
        let Value::Scalar(s) = value else {
            continue;
        };
        let v = visits.entry(date).or_default();
        let s = s.as_ref();
        match field {
            "weight_g" => v.measured.weight_g = scalar_u32(s),
            "height_mm" => v.measured.height_mm = scalar_u32(s),
            "head_mm" => v.measured.head_mm = scalar_u32(s),
            "muac_mm" => v.measured.muac_mm = scalar_u32(s),
            "position" => v.measured.position = s.as_str().and_then(|p| p.parse().ok()),
            "oedema" => v.measured.oedema = s.as_bool(),
            "recorded_by" => v.recorded_by = s.as_str().map(str::to_owned),
            "deleted" => v.deleted = s.as_bool().unwrap_or(false),
            other => {
                if let Some(code) = other.strip_prefix("confirmed/")
                    && s.as_bool() == Some(true)
                {
                    v.confirmed.insert(code.to_owned());
                } else if let Some(code) = other.strip_prefix("service/")
                    && s.as_bool() == Some(true)
                    && let Ok(service) = Service::parse(code)
                {
                    v.services.insert(service);
                }
            }
        }
    }
    let merged_into = doc
        .get_all(ROOT, "merged_into")?
        .into_iter()
        .filter_map(|(v, _)| v.as_str().and_then(|s| ChildId::parse(s).ok()))
        .min();
    let mut merged_from = BTreeSet::new();
    if let Ok(from) = obj(doc, &ROOT, "merged_from") {
        for k in doc.keys(&from) {
            if let Ok(id) = ChildId::parse(&k) {
                merged_from.insert(id);
            }
        }
    }
    let deleted = matches!(doc.get(ROOT, "deleted")?, Some((v, _)) if v.as_bool() == Some(true));
    Ok(ChildDoc {
        id,
        identity,
        visits,
        merged_into,
        merged_from,
        deleted,
    })
}

fn user_field(raw: &str) -> Option<(&'static str, f64)> {
    Some(match raw {
        "weight_g" => ("weight_kg", 1000.0),
        "height_mm" => ("height_cm", 10.0),
        "head_mm" => ("head_circ_cm", 10.0),
        "muac_mm" => ("muac_cm", 10.0),
        "position" => ("position", 0.0),
        "oedema" => ("oedema", 0.0),
        _ => return None,
    })
}

fn to_user_value(s: &ScalarValue, scale: f64) -> serde_json::Value {
    match s {
        ScalarValue::Int(_) | ScalarValue::Uint(_) if scale > 0.0 => {
            let v = scalar_u32(s).map(f64::from).unwrap_or(f64::NAN) / scale;
            serde_json::json!(v)
        }
        ScalarValue::Str(t) => serde_json::json!(t.to_string()),
        ScalarValue::Boolean(b) => serde_json::json!(b),
        other => serde_json::json!(other.to_string()),
    }
}

fn distinct_sorted(mut vals: Vec<serde_json::Value>) -> Vec<serde_json::Value> {
    vals.sort_by_key(|v| v.to_string());
    vals.dedup();
    vals
}

/// Every field with concurrent different values.
pub fn conflicts(doc: &Automerge) -> Res<Vec<FieldConflict>> {
    let mut out = Vec::new();
    let ident = obj(doc, &ROOT, "identity")?;
    for key in doc.keys(&ident).collect::<Vec<_>>() {
        let all = doc.get_all(&ident, key.as_str())?;
        if all.len() > 1 {
            let values = distinct_sorted(
                all.iter()
                    .filter_map(|(v, _)| match v {
                        Value::Scalar(s) => Some(to_user_value(s, 0.0)),
                        _ => None,
                    })
                    .collect(),
            );
            if values.len() > 1 {
                out.push(FieldConflict {
                    key: format!("identity.{key}"),
                    field: key.clone(),
                    visit_date: None,
                    values,
                });
            }
        }
    }
    let visits = obj(doc, &ROOT, "visits")?;
    // Only keys automerge marks as conflicted need a closer look.
    let conflicted: Vec<String> = doc
        .map_range(&visits, ..)
        .filter(|item| item.conflict)
        .map(|item| item.key.into_owned())
        .collect();
    for key in conflicted {
        let Some((date_s, raw)) = key.split_once('/') else {
            continue;
        };
        let Some((field, scale)) = user_field(raw) else {
            continue;
        };
        let all = doc.get_all(&visits, key.as_str())?;
        if all.len() < 2 {
            continue;
        }
        let values = distinct_sorted(
            all.iter()
                .filter_map(|(v, _)| match v {
                    Value::Scalar(s) => Some(to_user_value(s, scale)),
                    _ => None,
                })
                .collect(),
        );
        if values.len() > 1 {
            out.push(FieldConflict {
                key: format!("visits.{key}"),
                field: field.to_owned(),
                visit_date: date_s.parse().ok(),
                values,
            });
        }
    }
    let all = doc.get_all(ROOT, "merged_into")?;
    if all.len() > 1 {
        let values = distinct_sorted(
            all.iter()
                .filter_map(|(v, _)| match v {
                    Value::Scalar(s) => Some(to_user_value(s, 0.0)),
                    _ => None,
                })
                .collect(),
        );
        if values.len() > 1 {
            out.push(FieldConflict {
                key: "merged_into".into(),
                field: "merged_into".into(),
                visit_date: None,
                values,
            });
        }
    }
    Ok(out)
}

/// Whether the document has a value at a conflict-style key (`visits.<date>/<field>`, `identity.<field>`).
pub fn has_key(doc: &Automerge, key: &str) -> Res<bool> {
    let (target, prop) = if let Some(k) = key.strip_prefix("identity.") {
        (obj(doc, &ROOT, "identity")?, k)
    } else if let Some(k) = key.strip_prefix("visits.") {
        (obj(doc, &ROOT, "visits")?, k)
    } else {
        (ROOT, key)
    };
    Ok(doc.get(&target, prop)?.is_some())
}

/// The Patient id and the values of each `asik/visit/<date>` key, winner first.
pub type AsikState = (Option<String>, BTreeMap<NaiveDate, Vec<String>>);

/// The upload state in a document: the Patient id and, per visit date, the JSON of what was sent.
/// Concurrent writes (two phones that both heard from the server) keep every value; all are returned,
/// the winner first.
pub fn asik_state(doc: &Automerge) -> Res<AsikState> {
    let patient = get_str(doc, &ROOT, "asik/patient")?;
    let mut visits = BTreeMap::new();
    for item in doc.map_range(&ROOT, "asik/visit/".to_owned().."asik/visit0".to_owned()) {
        let key = item.key.as_ref();
        let Some(date) = key.strip_prefix("asik/visit/").and_then(|d| d.parse().ok()) else {
            continue;
        };
        let mut values = Vec::new();
        for (v, _) in doc.get_all(ROOT, key)? {
            if let Some(t) = v.as_str() {
                values.push(t.to_owned());
            }
        }
        if let Some((Value::Scalar(s), _)) = doc.get(ROOT, key)?
            && let Some(w) = s.as_str()
            && let Some(i) = values.iter().position(|x| x == w)
        {
            values.swap(0, i);
        }
        visits.insert(date, values);
    }
    Ok((patient, visits))
}

/// Record the Patient id SATUSEHAT holds for this child. Returns false when it was already recorded.
pub fn put_asik_patient(doc: &mut Automerge, id: &str, now_ms: i64) -> Res<bool> {
    if get_str(doc, &ROOT, "asik/patient")?.as_deref() == Some(id) {
        return Ok(false);
    }
    let mut tx = doc.transaction();
    tx.put(ROOT, "asik/patient", id)?;
    tx.commit_with(automerge::transaction::CommitOptions::default().with_time(now_ms / 1000));
    Ok(true)
}

/// Record what was sent for the visit of `date`. Returns false when the document already says so.
pub fn put_asik_visit(doc: &mut Automerge, date: NaiveDate, json: &str, now_ms: i64) -> Res<bool> {
    let key = format!("asik/visit/{date}");
    let all = doc.get_all(ROOT, key.as_str())?;
    if all.len() == 1 && all[0].0.as_str() == Some(json) {
        return Ok(false);
    }
    let mut tx = doc.transaction();
    tx.put(ROOT, key, json)?;
    tx.commit_with(automerge::transaction::CommitOptions::default().with_time(now_ms / 1000));
    Ok(true)
}

/// The value a person chose to settle a conflict.
pub use crate::domain::FieldValue as Chosen;

/// Write `value` at a conflict's key; the write replaces all concurrent values and replicates like any edit.
pub fn resolve(doc: &mut Automerge, key: &str, value: &Chosen, now_ms: i64) -> Res<()> {
    let (target, prop) = if let Some(k) = key.strip_prefix("identity.") {
        (obj(doc, &ROOT, "identity")?, k.to_owned())
    } else if let Some(k) = key.strip_prefix("visits.") {
        (obj(doc, &ROOT, "visits")?, k.to_owned())
    } else {
        (ROOT, key.to_owned())
    };
    let mut tx = doc.transaction();
    match value {
        Chosen::Int(i) => tx.put(&target, prop, *i)?,
        Chosen::Str(s) => tx.put(&target, prop, s.as_str())?,
        Chosen::Bool(b) => tx.put(&target, prop, *b)?,
    }
    tx.commit_with(automerge::transaction::CommitOptions::default().with_time(now_ms / 1000));
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn child() -> NewChild {
        NewChild {
            name: "Anak Uji".into(),
            sex: Sex::Female,
            birth_date: "2024-01-10".parse().unwrap(),
            nik: None,
            kk: None,
            mother_name: Some("Ibu Uji".into()),
            mother_nik: None,
            address: None,
        }
    }

    fn entry(w: Option<u32>, h: Option<u32>) -> VisitEntry {
        VisitEntry {
            measured: Measurements {
                weight_g: w,
                height_mm: h,
                position: h.map(|_| crate::domain::Position::Lying),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn same_morning_on_two_phones_merges_field_by_field() {
        let id = ChildId::make();
        let a = new_child_doc(&id, &child(), &[], "hp-1", ActorId::random(), 0).unwrap();
        let mut b = a.fork().with_actor(ActorId::random());
        let mut a = a;
        let day: NaiveDate = "2024-06-01".parse().unwrap();
        write_visit(&mut a, day, &entry(Some(7_400), None), &[], "hp-1", 0).unwrap();
        write_visit(&mut b, day, &entry(None, Some(655)), &[], "hp-2", 0).unwrap();
        a.merge(&mut b).unwrap();
        let v = &read_child(&a).unwrap().visits[&day];
        assert_eq!(
            (v.measured.weight_g, v.measured.height_mm),
            (Some(7_400), Some(655))
        );
        assert!(conflicts(&a).unwrap().is_empty());
    }

    #[test]
    fn concurrent_different_values_are_kept_and_resolvable() {
        let id = ChildId::make();
        let mut a = new_child_doc(&id, &child(), &[], "hp-1", ActorId::random(), 0).unwrap();
        let mut b = a.fork().with_actor(ActorId::random());
        let day: NaiveDate = "2024-06-01".parse().unwrap();
        write_visit(&mut a, day, &entry(Some(7_400), None), &[], "hp-1", 0).unwrap();
        write_visit(&mut b, day, &entry(Some(7_900), None), &[], "hp-2", 0).unwrap();
        a.merge(&mut b).unwrap();
        b.merge(&mut a).unwrap();
        let c = conflicts(&a).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].field, "weight_kg");
        assert_eq!(
            c[0].values,
            vec![serde_json::json!(7.4), serde_json::json!(7.9)]
        );
        // Both replicas show the same winner.
        assert_eq!(read_child(&a).unwrap(), read_child(&b).unwrap());
        resolve(&mut b, &c[0].key, &Chosen::Int(7_400), 0).unwrap();
        a.merge(&mut b).unwrap();
        assert!(conflicts(&a).unwrap().is_empty());
        assert_eq!(
            read_child(&a).unwrap().visits[&day].measured.weight_g,
            Some(7_400)
        );
    }
}
