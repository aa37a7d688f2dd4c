//! Children: registration with the duplicate check, a child's detail, the village list, merging two
//! records of one child, and batch import.

use std::collections::BTreeMap;

use super::{ChildDetail, DuplicateCandidate, ListFilter, Registered, Timbang, VillageRow};
use crate::crdt;
use crate::domain::{
    self, ChildId, FieldValue, NewChild, Registration, VisitEntry, completed_months,
};
use crate::error::{Confirmation, Error, Result};
use crate::growth::{self, ChildInfo, VisitInput};
use crate::store::children;
use crate::store::projection::VisitRow;

/// The identity fields a new child's document gets beside the [`NewChild`] ones: `has_kms` when the
/// child has no KMS (absent means yes), and the registering posyandu's names when this device has them.
fn registration_fields(
    names: &(String, String),
    reg: &Registration,
) -> Result<Vec<(&'static str, FieldValue)>> {
    let (posyandu, village) = names;
    let mut out = Vec::new();
    if !reg.has_kms {
        out.push(("has_kms", FieldValue::Bool(false)));
    }
    for (field, value) in [("rt", &reg.rt), ("rw", &reg.rw)] {
        if let Some(t) = value.as_deref().filter(|t| !t.trim().is_empty()) {
            out.push((field, FieldValue::Str(domain::parse_rt_rw(field, t)?)));
        }
    }
    if !posyandu.is_empty() {
        out.push(("posyandu", FieldValue::Str(posyandu.clone())));
    }
    if !village.is_empty() {
        out.push(("village", FieldValue::Str(village.clone())));
    }
    Ok(out)
}

impl Timbang {
    /// The team a new child belongs to (by `posyandu` on a device in several teams) and the posyandu
    /// and village names its document carries.
    fn registration_team(
        &self,
        posyandu: Option<&str>,
    ) -> Result<(crate::store::teams::TeamNo, (String, String))> {
        let team = self.team_for(posyandu)?;
        let names = self.team_names()?.remove(&team).unwrap_or_default();
        Ok((team, names))
    }
}

/// Birth dates within this many days of each other make a similar name a possible duplicate.
const DUPLICATE_BIRTH_WINDOW_DAYS: i64 = 31;

impl Timbang {
    /// Children already registered who may be the same as `c`: the same NIK, or a similar name with a
    /// birth date within 31 days and a similar mother's name (when both have one). `c` is validated
    /// (and its NIK normalised) as registration would.
    pub fn possible_duplicates(&self, c: &NewChild) -> Result<Vec<DuplicateCandidate>> {
        let (c, _) = domain::validate_new_child(c, self.today())?;
        self.store.read(|conn| Ok(self.duplicates_in(conn, &c)))?
    }

    /// [`Timbang::possible_duplicates`] for an already validated child, read on `conn` (inside the
    /// registering transaction, so two registrations of one child cannot both miss each other).
    fn duplicates_in(
        &self,
        conn: &rusqlite::Connection,
        c: &NewChild,
    ) -> Result<Vec<DuplicateCandidate>> {
        let window = chrono::Duration::days(DUPLICATE_BIRTH_WINDOW_DAYS);
        let same_nik = match &c.nik {
            Some(nik) => children::with_nik(&self.store, conn, nik)?,
            None => Vec::new(),
        };
        let born_near = children::born_between(
            &self.store,
            conn,
            c.birth_date - window,
            c.birth_date + window,
        )?;
        let similar = |a: &str, b: &str| domain::name_similarity(a, b) >= domain::SIMILAR_NAME;
        let mut out: BTreeMap<ChildId, DuplicateCandidate> = BTreeMap::new();
        let tagged = same_nik.into_iter().map(|k| (k, "same_nik")).chain(
            born_near
                .into_iter()
                .filter(|k| {
                    similar(&k.name, &c.name)
                        && match (&k.mother_name, &c.mother_name) {
                            (Some(a), Some(b)) => similar(a, b),
                            _ => true,
                        }
                })
                .map(|k| (k, "similar_name")),
        );
        for (k, reason) in tagged {
            out.entry(k.child_id.clone())
                .or_insert_with(|| DuplicateCandidate {
                    child_id: k.child_id,
                    reason: reason.to_owned(),
                    name: k.name,
                    birth_date: k.birth_date,
                    mother_name: k.mother_name,
                });
        }
        Ok(out.into_values().collect())
    }

    /// Register a child. Needs `confirm` when the NIK disagrees with the birth date or sex, or when
    /// possible duplicates exist (listed by [`Timbang::possible_duplicates`]). The duplicate check runs
    /// inside the writing transaction: of two simultaneous registrations of one child on this
    /// database, the second is asked to confirm.
    pub fn register_child(&self, c: NewChild, confirm: bool) -> Result<Registered> {
        self.register_child_with(c, Registration::default(), confirm)
    }

    /// [`Timbang::register_child`] with what registration records beside the identity (whether the
    /// child has a KMS / Buku KIA). The child's document also carries this device's posyandu and
    /// village names.
    pub fn register_child_with(
        &self,
        c: NewChild,
        reg: Registration,
        confirm: bool,
    ) -> Result<Registered> {
        let device = self.device()?;
        let (team, names) = self.registration_team(reg.posyandu.as_deref())?;
        let extra = registration_fields(&names, &reg)?;
        let (c, mut confirmations) = domain::validate_new_child(&c, self.today())?;
        let id = ChildId::make();
        let now = self.now_ms();
        self.commit("register_child", |e| {
            e.team = team;
            let dups = self.duplicates_in(e.tx, &c)?;
            if !dups.is_empty() {
                let ids: Vec<String> = dups.iter().map(|d| d.child_id.to_string()).collect();
                confirmations.push(Confirmation {
                    code: "possible_duplicate".into(),
                    field: "name".into(),
                    message_id: format!(
                        "Mungkin anak ini sudah terdaftar ({}); periksa dulu.",
                        ids.join(", ")
                    ),
                    message_en: format!("possible duplicate of {}", ids.join(", ")),
                });
            }
            if !confirmations.is_empty() && !confirm {
                return Err(Error::NeedsConfirmation {
                    reasons: confirmations.clone(),
                });
            }
            let codes: Vec<String> = confirmations.iter().map(|c| c.code.clone()).collect();
            let doc = crdt::new_child_doc_with(
                &id,
                &c,
                &extra,
                &codes,
                &device.settings.device_name,
                device.actor.clone(),
                now,
            )?;
            e.child = Some(id.clone());
            e.detail = (!codes.is_empty()).then(|| codes.join(","));
            Ok(e.create(&id, doc)?)
        })?;
        Ok(Registered {
            child_id: id,
            confirmed: confirmations,
        })
    }

    /// The kept child an id now stands for (itself, or the child it was merged into).
    pub fn resolve_id(&self, id: &ChildId) -> Result<ChildId> {
        self.store
            .read(|c| children::root_of(c, id))?
            .ok_or_else(|| Error::NotFound {
                what: "child".into(),
                id: id.to_string(),
            })
    }

    /// What the growth engine needs to know about a kept child.
    pub(super) fn child_info(&self, root: &ChildId) -> Result<ChildInfo> {
        match self.store.read(|c| children::sex_and_birth(c, root))? {
            (Some(sex), Some(birth_date)) => Ok(ChildInfo { sex, birth_date }),
            _ => Err(Error::storage("child has no sex or birth date")),
        }
    }

    /// Everything about one child (a merged duplicate's id shows the kept child).
    pub fn child(&self, id: &ChildId) -> Result<ChildDetail> {
        let root = self.resolve_id(id)?;
        let (identity, merged) = self.store.read(|c| {
            Ok((
                children::identity(&self.store, c, &root)?,
                children::merged_into(&self.store, c, &root)?,
            ))
        })?;
        let mut other_niks: Vec<String> = Vec::new();
        for nik in merged.iter().filter_map(|(_, n)| n.as_ref()) {
            if identity.nik.as_ref() != Some(nik) && !other_niks.contains(nik) {
                other_niks.push(nik.clone());
            }
        }
        let conflicts = self.conflict_views(Some(&root))?;
        let has_kms = identity.counts_in_k();
        Ok(ChildDetail {
            age_months: identity
                .birth_date
                .map(|b| completed_months(b, self.today())),
            visits: self.visit_views(&root)?,
            child_id: root,
            merged_ids: merged.into_iter().map(|(m, _)| m).collect(),
            name: identity.name,
            sex: identity.sex,
            birth_date: identity.birth_date,
            nik: identity.nik,
            other_niks,
            kk: identity.kk,
            mother_name: identity.mother_name,
            mother_nik: identity.mother_nik,
            has_kms,
            posyandu: identity.posyandu,
            village: identity.village,
            rt: identity.rt,
            rw: identity.rw,
            address: identity.address,
            conflicts,
        })
    }

    /// The village list: every kept child with the latest status, most urgent first.
    pub fn village_list(&self) -> Result<Vec<VillageRow>> {
        self.village_list_filtered(&ListFilter::default())
    }

    /// The village list as the bidan works it: by posyandu, by RT/RW, and "not weighed this month".
    /// The order is the village list's (most urgent first, then by name).
    pub fn village_list_filtered(&self, filter: &ListFilter) -> Result<Vec<VillageRow>> {
        let today = self.today();
        let rt = filter
            .rt
            .as_deref()
            .map(|t| domain::parse_rt_rw("rt", t))
            .transpose()?;
        let rw = filter
            .rw
            .as_deref()
            .map(|t| domain::parse_rt_rw("rw", t))
            .transpose()?;
        // This device's posyandu, for children whose document names none (only needed to filter by it).
        let own = match &filter.posyandu {
            Some(_) => self.device()?.settings.posyandu,
            None => String::new(),
        };
        let mut rows = self.store.read(|c| children::status_rows(&self.store, c))?;
        rows.retain(|r| {
            let posyandu_ok = filter.posyandu.as_deref().is_none_or(|want| {
                r.posyandu
                    .as_deref()
                    .filter(|p| !p.is_empty())
                    .unwrap_or(&own)
                    .eq_ignore_ascii_case(want.trim())
            });
            posyandu_ok
                && rt.as_ref().is_none_or(|want| r.rt.as_ref() == Some(want))
                && rw.as_ref().is_none_or(|want| r.rw.as_ref() == Some(want))
        });
        if let Some(month) = filter.not_weighed_in {
            let mut keep = Vec::with_capacity(rows.len());
            for r in rows {
                if !r
                    .birth_date
                    .is_some_and(|b| crate::reports::is_target(b, month))
                {
                    continue;
                }
                let weighed = self
                    .store
                    .read(|c| {
                        VisitRow::read_between(
                            c,
                            r.child_id.as_str(),
                            month.first_day(),
                            month.last_day(),
                        )
                    })?
                    .iter()
                    .any(|v| v.measured.weight_g.is_some());
                if !weighed {
                    keep.push(r);
                }
            }
            rows = keep;
        }
        let mut out: Vec<VillageRow> = rows
            .into_iter()
            .map(|r| {
                let stored = r.referral.iter().filter_map(|code| code.parse().ok());
                let (status_gizi, signs) = r.gizi.as_ref().map_or((None, Vec::new()), |g| {
                    growth::status_gizi(&growth::GiziInput {
                        age_months: g.age_months,
                        whz: g.whz,
                        baz: g.baz,
                        muac_mm: g.muac_mm,
                        oedema: g.oedema,
                    })
                });
                let reasons = growth::referrals_as_of(
                    stored,
                    status_gizi,
                    r.last_weighing,
                    r.birth_date,
                    today,
                );
                VillageRow {
                    urgency: growth::urgency_key(&reasons),
                    referral: reasons.iter().map(|r| r.code().to_owned()).collect(),
                    referral_text: growth::referral_texts(&reasons, &signs),
                    status_gizi,
                    status_gizi_date: status_gizi.and(r.gizi.map(|g| g.date)),
                    child_id: r.child_id,
                    name: r.name,
                    sex: r.sex,
                    age_months: r.birth_date.map(|b| completed_months(b, today)),
                    birth_date: r.birth_date,
                    last_visit: r.last_visit,
                    weight_kg: r.weight_g.map(|g| f64::from(g) / 1000.0),
                    height_cm: r.height_mm.map(domain::mm_to_cm),
                    waz: r.waz,
                    haz: r.haz,
                    whz: r.whz,
                    kms: r.kms,
                    posyandu: r.posyandu,
                    rt: r.rt,
                    rw: r.rw,
                }
            })
            .collect();
        out.sort_by(|a, b| {
            b.urgency
                .cmp(&a.urgency)
                .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
                .then_with(|| a.child_id.cmp(&b.child_id))
        });
        Ok(out)
    }

    /// Merge `duplicate` into `keep`: a replicated operation; every phone ends with one child holding the
    /// visits and identifiers of both, and later edits to the duplicate still arrive at `keep`.
    pub fn merge_children(&self, keep: &ChildId, duplicate: &ChildId) -> Result<ChildId> {
        self.device()?;
        let keep_root = self.resolve_id(keep)?;
        let dup_root = self.resolve_id(duplicate)?;
        if keep_root == dup_root {
            return Err(Error::invalid(
                "duplicate_id",
                "Kedua ID sudah menunjuk anak yang sama.",
                "both ids already refer to the same child",
            ));
        }
        self.commit("merge_children", |e| {
            let now = e.now_ms;
            e.change(dup_root.as_str(), |d| {
                crdt::mark_merged_into(d, &keep_root, now).map(|()| true)
            })?;
            e.change(keep_root.as_str(), |d| {
                crdt::mark_merged_from(d, &dup_root, now).map(|()| true)
            })?;
            e.child = Some(keep_root.clone());
            e.detail = Some(dup_root.to_string());
            Ok(())
        })?;
        Ok(keep_root)
    }

    /// Register many children with their past visits in one transaction per call (bulk import of an
    /// existing register). Every child and visit goes through the same checks as a kader's entry
    /// (identity rules, [`growth::check_entry`]); any bad value refuses the whole batch with the field
    /// named, nothing written. Values that would need confirmation at the posyandu are stored with the
    /// concern recorded as confirmed by the import. No duplicate check: the caller decides what is the
    /// same child. Checks the interrupt handle before writing.
    pub fn import_batch(&self, items: &[(NewChild, Vec<VisitEntry>)]) -> Result<Vec<ChildId>> {
        let items: Vec<ImportItem> = items
            .iter()
            .map(|(child, visits)| ImportItem {
                existing: None,
                child: child.clone(),
                visits: visits.clone(),
            })
            .collect();
        Ok(self.import_items(&items)?.created)
    }

    /// [`Timbang::import_batch`] where an item may name a child already stored (`existing`): its
    /// visits are added to that child, through the same checks, and a visit whose day already holds
    /// exactly these values writes nothing (so importing the same register twice adds nothing). One
    /// transaction for the whole call.
    pub(super) fn import_items(&self, items: &[ImportItem]) -> Result<ImportOutcome> {
        let scope = self.interrupt.begin();
        let device = self.device()?;
        let (team, names) = self.registration_team(None)?;
        let extra = registration_fields(&names, &Registration::default())?;
        let today = self.today();
        let now = self.now_ms();
        let mut docs: Vec<(ChildId, automerge::Automerge)> = Vec::with_capacity(items.len());
        let mut visits_written = 0usize;
        let mut existing: Vec<(ChildId, ChildInfo, &[VisitEntry])> = Vec::new();
        for item in items {
            if let Some(id) = &item.existing {
                let root = self.resolve_id(id)?;
                let info = self.child_info(&root)?;
                existing.push((root, info, &item.visits));
                continue;
            }
            let (c, confirmations) = domain::validate_new_child(&item.child, today)?;
            let codes: Vec<String> = confirmations.into_iter().map(|c| c.code).collect();
            let id = ChildId::make();
            let mut doc = crdt::new_child_doc_with(
                &id,
                &c,
                &extra,
                &codes,
                &device.settings.device_name,
                device.actor.clone(),
                now,
            )?;
            let info = ChildInfo {
                sex: c.sex,
                birth_date: c.birth_date,
            };
            for (checked, concerns) in
                checked_visits(&info, &item.visits, BTreeMap::new(), BTreeMap::new(), today)?
            {
                crdt::write_visit(
                    &mut doc,
                    checked.date,
                    &checked.entry,
                    &concerns,
                    &device.settings.device_name,
                    now,
                )?;
                visits_written += 1;
            }
            docs.push((id, doc));
        }
        scope.check()?;
        let n = docs.len();
        let created: Vec<ChildId> = docs.iter().map(|(id, _)| id.clone()).collect();
        let added = self.commit("import_batch", |e| {
            e.detail = Some(n.to_string());
            e.team = team;
            for (id, doc) in docs {
                e.create(&id, doc)?;
            }
            let mut added = 0usize;
            for (root, info, visits) in &existing {
                let rows = VisitRow::read_all(e.tx, root.as_str())?;
                let stored_services: BTreeMap<chrono::NaiveDate, domain::Services> =
                    rows.iter().map(|r| (r.date, r.service_set())).collect();
                let stored: BTreeMap<chrono::NaiveDate, domain::Measurements> =
                    rows.into_iter().map(|r| (r.date, r.measured)).collect();
                let writes = checked_visits(info, visits, stored, stored_services, today)?;
                if writes.is_empty() {
                    continue;
                }
                added += writes.len();
                let device_name = e.device.to_owned();
                e.change(root.as_str(), |d| {
                    for (checked, concerns) in &writes {
                        crdt::write_visit(
                            d,
                            checked.date,
                            &checked.entry,
                            concerns,
                            &device_name,
                            now,
                        )?;
                    }
                    Ok(true)
                })?;
            }
            Ok(added)
        })?;
        Ok(ImportOutcome {
            created,
            visits_written: visits_written + added,
        })
    }
}

/// One child of an import: a new one, or one already stored (`existing`).
#[derive(Debug, Clone)]
pub(super) struct ImportItem {
    pub existing: Option<ChildId>,
    pub child: NewChild,
    pub visits: Vec<VisitEntry>,
}

/// What an import call wrote.
#[derive(Debug, Clone)]
pub(super) struct ImportOutcome {
    pub created: Vec<ChildId>,
    /// Visits written (new days, or days whose values changed).
    pub visits_written: usize,
}

/// The visits of `visits` that change something, checked in date order against `stored` (the child's
/// stored days) with the concerns an import records as confirmed. [`growth::check_entry`] and
/// [`growth::entry_concerns`], as for a kader's entry.
fn checked_visits(
    info: &ChildInfo,
    visits: &[VisitEntry],
    mut days: BTreeMap<chrono::NaiveDate, domain::Measurements>,
    mut services: BTreeMap<chrono::NaiveDate, domain::Services>,
    today: chrono::NaiveDate,
) -> Result<Vec<(growth::CheckedEntry, Vec<String>)>> {
    let mut visits = visits.to_vec();
    visits.sort_by_key(|v| v.date);
    let mut out = Vec::new();
    for v in &visits {
        let stored_day = v.date.and_then(|d| days.get(&d)).copied();
        let checked = growth::check_entry(info, v, stored_day.as_ref(), today)?;
        if stored_day == Some(checked.day) && v.services.is_empty() {
            continue;
        }
        let history: Vec<VisitInput> = days
            .iter()
            .filter(|(d, _)| **d < checked.date)
            .map(|(d, m)| VisitInput::new(*d, m))
            .collect();
        // Services given on other days (a second vitamin A capsule in one round asks).
        let others: Vec<(chrono::NaiveDate, domain::Services)> = services
            .iter()
            .filter(|(d, _)| **d != checked.date)
            .map(|(d, s)| (*d, *s))
            .collect();
        let concerns: Vec<String> = growth::entry_concerns(info, &history, &checked, &others, &[])
            .into_iter()
            .map(|c| c.code.to_owned())
            .collect();
        let day = services.entry(checked.date).or_default();
        for s in checked.entry.services.iter() {
            day.insert(s);
        }
        days.insert(checked.date, checked.day);
        out.push((checked, concerns));
    }
    Ok(out)
}
