//! Projections rebuilt from the documents, in the transaction that stores them.
//!
//! `children` has one row per document; `visits`, `child_status` and `conflicts` are per kept child,
//! with merged duplicates folded in: a duplicate's visits count for the child it was merged into, also
//! when they arrive after the merge from a phone that had not heard of it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use automerge::Automerge;
use chrono::NaiveDate;
use rusqlite::{OptionalExtension, Transaction, params};

use super::{Res, Store, outbox};
use crate::crdt::{self, ChildDoc, VisitFields};
use crate::domain::Measurements;
use crate::growth::{self, Assessment, ChildInfo, KbmTable, VisitInput};

/// The conflict id shown to people: stable across devices for the same document key.
pub fn conflict_id(child_id: &str, key: &str) -> String {
    let h = crate::crypto::sha256(format!("{child_id}\0{key}").as_bytes());
    h[..6].iter().map(|b| format!("{b:02x}")).collect()
}

/// Assess every visit of a child in date order.
pub fn assess_all(
    child: &ChildInfo,
    visits: &BTreeMap<NaiveDate, VisitFields>,
    kbm: &KbmTable,
) -> Vec<Assessment> {
    let mut history = Vec::with_capacity(visits.len());
    let mut previous: Vec<Assessment> = Vec::with_capacity(visits.len());
    for (date, v) in visits {
        let input = VisitInput::new(*date, &v.measured);
        let a = growth::assess_visit(child, &history, &previous, &input, kbm);
        history.push(input);
        previous.push(a);
    }
    previous
}

/// The keyed hash of everything a `children` row holds, to skip rewrites that change nothing.
fn identity_tag(store: &Store, cd: &ChildDoc) -> Res<Vec<u8>> {
    let source = serde_json::to_string(&(&cd.identity, cd.merged_into.as_ref(), cd.deleted))?;
    Ok(store.blind_index("identity", &format!("{}\0{source}", cd.id.as_str())))
}

/// Fill the columns schemas 4 and 6 added to `children` (`has_kms`, `posyandu`, `village`, and the
/// sealed `rt`, `rw`) from the stored document, without resealing anything else (run once after such a
/// migration; a document that does not open is left for `check` to name).
pub fn refresh_added_columns(store: &Store, tx: &Transaction<'_>, doc: &Automerge) -> Res<()> {
    let cd = crdt::read_child(doc)?;
    let i = &cd.identity;
    let id = cd.id.as_str();
    let seal = |col: &str, v: &Option<String>| -> Res<Option<Vec<u8>>> {
        v.as_deref().map(|t| store.seal(col, id, t)).transpose()
    };
    tx.prepare_cached(
        "UPDATE children SET has_kms = ?2, posyandu = ?3, village = ?4, identity_tag = ?5, rt = ?6, rw = ?7
         WHERE child_id = ?1",
    )?
    .execute(params![
        id,
        i.has_kms,
        i.posyandu,
        i.village,
        identity_tag(store, &cd)?,
        seal("rt", &i.rt)?,
        seal("rw", &i.rw)?,
    ])?;
    Ok(())
}

fn upsert_child_row(store: &Store, tx: &Transaction<'_>, cd: &ChildDoc, root: &str) -> Res<()> {
    let id = cd.id.as_str();
    let i = &cd.identity;
    // Skip the rewrite (and its sealing) when nothing the row holds has changed.
    let tag = identity_tag(store, cd)?;
    let stored: Option<Vec<u8>> = tx
        .prepare_cached("SELECT identity_tag FROM children WHERE child_id = ?1")?
        .query_row(params![id], |r| r.get(0))
        .optional()?;
    if stored.as_deref() == Some(tag.as_slice()) {
        return Ok(());
    }
    let seal = |col: &str, v: &Option<String>| -> Res<Option<Vec<u8>>> {
        v.as_deref().map(|t| store.seal(col, id, t)).transpose()
    };
    let name = store.seal("name", id, &i.name)?;
    tx.prepare_cached(
        "INSERT INTO children(child_id, root_id, merged_into, sex, birth_date, name, nik, kk, mother_name,
             mother_nik, address, nik_tag, mother_nik_tag, deleted, identity_tag, has_kms, posyandu, village, rt, rw)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)
         ON CONFLICT(child_id) DO UPDATE SET merged_into = excluded.merged_into, sex = excluded.sex,
             birth_date = excluded.birth_date, name = excluded.name, nik = excluded.nik, kk = excluded.kk,
             mother_name = excluded.mother_name, mother_nik = excluded.mother_nik, address = excluded.address,
             nik_tag = excluded.nik_tag, mother_nik_tag = excluded.mother_nik_tag, deleted = excluded.deleted,
             identity_tag = excluded.identity_tag, has_kms = excluded.has_kms, posyandu = excluded.posyandu,
             village = excluded.village, rt = excluded.rt, rw = excluded.rw",
    )?
    .execute(params![
        id,
        root,
        cd.merged_into.as_ref().map(|m| m.as_str().to_owned()),
        i.sex.map(|s| s.code()),
        i.birth_date.map(|d| d.to_string()),
        name,
        seal("nik", &i.nik)?,
        seal("kk", &i.kk)?,
        seal("mother_name", &i.mother_name)?,
        seal("mother_nik", &i.mother_nik)?,
        seal("address", &i.address)?,
        i.nik.as_deref().map(|n| store.blind_index("nik", n)),
        i.mother_nik.as_deref().map(|n| store.blind_index("nik", n)),
        cd.deleted,
        tag,
        i.has_kms,
        i.posyandu,
        i.village,
        seal("rt", &i.rt)?,
        seal("rw", &i.rw)?,
    ])?;
    Ok(())
}

fn replace_conflicts(store: &Store, tx: &Transaction<'_>, id: &str, doc: &Automerge) -> Res<()> {
    tx.prepare_cached("DELETE FROM conflicts WHERE child_id = ?1")?
        .execute(params![id])?;
    for c in crdt::conflicts(doc)? {
        let payload = serde_json::to_string(&c.values)?;
        let cid = conflict_id(id, &c.key);
        let sealed = store.seal("conflicts", &cid, &payload)?;
        tx.prepare_cached(
            "INSERT INTO conflicts(conflict_id, child_id, doc_key, field, visit_date, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![cid, id, c.key, c.field, c.visit_date.map(|d| d.to_string()), sealed])?;
    }
    Ok(())
}

/// Root of every child: follow `merged_into`; a missing target ends the chain; a cycle (two phones
/// merged each into the other) resolves to its lowest id. Deterministic, so every phone agrees.
fn compute_roots(links: &HashMap<String, Option<String>>) -> HashMap<String, String> {
    let mut out = HashMap::with_capacity(links.len());
    for start in links.keys() {
        let mut path = vec![start.clone()];
        let mut seen: BTreeSet<String> = BTreeSet::from([start.clone()]);
        let mut cur = start.clone();
        let root = loop {
            match links.get(&cur).cloned().flatten() {
                Some(next) if links.contains_key(&next) => {
                    if !seen.insert(next.clone()) {
                        // Cycle: the lowest id on the cycle is the root.
                        let pos = path.iter().position(|p| *p == next).unwrap_or(0);
                        break path[pos..].iter().min().cloned().unwrap_or(next);
                    }
                    path.push(next.clone());
                    cur = next;
                }
                _ => break cur,
            }
        };
        out.insert(start.clone(), root);
    }
    out
}

/// A document saved in the transaction, for [`apply_changed`].
#[derive(Debug)]
pub struct Changed<'a> {
    pub id: &'a str,
    pub doc: &'a Automerge,
    /// What [`crdt::read_child`] makes of `doc`, when the caller has read it already.
    pub read: Option<ChildDoc>,
}

impl<'a> Changed<'a> {
    pub fn new(id: &'a str, doc: &'a Automerge) -> Self {
        Self {
            id,
            doc,
            read: None,
        }
    }
}

/// Update every projection after `changed` documents were saved in `tx`.
pub fn apply_changed(
    store: &Store,
    tx: &Transaction<'_>,
    changed: Vec<Changed<'_>>,
    kbm: &KbmTable,
) -> Res<()> {
    let mut affected: BTreeSet<String> = BTreeSet::new();
    let mut need_roots = false;
    // Each changed document read once: its group's rebuild reuses what was read here.
    let mut in_memory: HashMap<&str, ChildDoc> = HashMap::new();
    let ids: Vec<&str> = changed.iter().map(|c| c.id).collect();
    for Changed { id, doc, read } in changed {
        let cd = match read {
            Some(cd) => cd,
            None => crdt::read_child(doc)?,
        };
        let prev: Option<(String, Option<String>)> = tx
            .prepare_cached("SELECT root_id, merged_into FROM children WHERE child_id = ?1")?
            .query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let merged_into = cd.merged_into.as_ref().map(|m| m.as_str().to_owned());
        let root = match &prev {
            Some((root, old_into)) => {
                if *old_into != merged_into {
                    need_roots = true;
                }
                affected.insert(root.clone());
                root.clone()
            }
            None => {
                // A new document moves other roots only when it points somewhere or something
                // already points at it (a duplicate that arrived before its kept child); otherwise it
                // is its own root, and no other root changes.
                let pointed_at = tx
                    .prepare_cached("SELECT 1 FROM children WHERE merged_into = ?1 LIMIT 1")?
                    .query_row(params![id], |_| Ok(()))
                    .optional()?
                    .is_some();
                if merged_into.is_some() || pointed_at {
                    need_roots = true;
                }
                (*id).to_owned()
            }
        };
        upsert_child_row(store, tx, &cd, &root)?;
        replace_conflicts(store, tx, id, doc)?;
        in_memory.insert(id, cd);
    }
    if need_roots {
        let mut links = HashMap::new();
        let mut current = HashMap::new();
        {
            let mut stmt =
                tx.prepare_cached("SELECT child_id, merged_into, root_id FROM children")?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?;
            for row in rows {
                let (id, into, root) = row?;
                links.insert(id.clone(), into);
                current.insert(id, root);
            }
        }
        let roots = compute_roots(&links);
        for (id, root) in &roots {
            if current.get(id) != Some(root) {
                if let Some(old) = current.get(id) {
                    affected.insert(old.clone());
                }
                affected.insert(root.clone());
                tx.prepare_cached("UPDATE children SET root_id = ?2 WHERE child_id = ?1")?
                    .execute(params![id, root])?;
            }
        }
    }
    for id in ids {
        let root: String = tx
            .prepare_cached("SELECT root_id FROM children WHERE child_id = ?1")?
            .query_row(params![id], |r| r.get(0))?;
        affected.insert(root);
    }
    // Groups that were merged away go first, so their upload bookkeeping moves to the kept child
    // before the kept child's rows are rebuilt.
    let mut dissolved = Vec::new();
    let mut live = Vec::new();
    for root in affected {
        let r: Option<String> = tx
            .prepare_cached("SELECT root_id FROM children WHERE child_id = ?1")?
            .query_row(params![root], |r| r.get(0))
            .optional()?;
        if r.as_deref() == Some(root.as_str()) {
            live.push(root);
        } else {
            dissolved.push(root);
        }
    }
    for root in dissolved.into_iter().chain(live) {
        rebuild_group(store, tx, &root, &in_memory, kbm)?;
    }
    Ok(())
}

/// One row of the `visits` projection: the measurements and the assessment in compact columns.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitRow {
    pub date: NaiveDate,
    pub measured: Measurements,
    pub confirmed: Vec<String>,
    pub services: Vec<String>,
    pub age_days: i64,
    pub age_months: u32,
    /// waz, haz, whz, baz, hcz, acz in hundredths.
    pub z: [Option<i64>; 6],
    pub flags: i64,
    pub clenhei_mm: Option<i64>,
    pub kms: Option<growth::KmsStatus>,
    pub gain_g: Option<i64>,
    pub referral: Vec<growth::ReferralReason>,
    pub version: i64,
}

const FLAG_BGM: i64 = 64;
const FLAG_TWO_T: i64 = 128;

fn hundredths(z: Option<f64>) -> Option<i64> {
    z.map(|z| (z * 100.0).round() as i64)
}

impl VisitRow {
    /// The row for a visit and its assessment.
    pub fn build(date: NaiveDate, v: &VisitFields, a: &Assessment, version: i64) -> Self {
        let z = &a.z;
        let flags = [
            z.flag_waz, z.flag_haz, z.flag_whz, z.flag_baz, z.flag_hcz, z.flag_acz, a.bgm, a.two_t,
        ]
        .iter()
        .enumerate()
        .fold(0i64, |acc, (i, f)| if *f { acc | (1 << i) } else { acc });
        Self {
            date,
            measured: v.measured,
            confirmed: v.confirmed.iter().cloned().collect(),
            services: v.services.iter().map(|s| s.code().to_owned()).collect(),
            age_days: a.age_days,
            age_months: a.age_months,
            z: [z.waz, z.haz, z.whz, z.baz, z.hcz, z.acz].map(hundredths),
            flags,
            clenhei_mm: z.clenhei.map(|c| (c * 10.0).round() as i64),
            kms: a.kms,
            gain_g: a.gain_g,
            referral: a.referral.clone(),
            version,
        }
    }

    /// The services given at this visit as a set (unknown codes are left out).
    pub fn service_set(&self) -> crate::domain::Services {
        let mut set = crate::domain::Services::default();
        for s in self
            .services
            .iter()
            .filter_map(|c| crate::domain::Service::parse(c).ok())
        {
            set.insert(s);
        }
        set
    }

    /// The measurements as the growth engine takes them.
    pub fn input(&self) -> VisitInput {
        VisitInput::new(self.date, &self.measured)
    }

    /// The assessment stored in the row; classes are derived from the z-scores.
    pub fn assessment(&self, standard: &str, rules: &str) -> Assessment {
        let z = self.z.map(|h| h.map(|h| h as f64 / 100.0));
        let flag = |i: u32| self.flags & (1 << i) != 0;
        let zs = growth::ZScores {
            waz: z[0],
            haz: z[1],
            whz: z[2],
            baz: z[3],
            hcz: z[4],
            acz: z[5],
            flag_waz: flag(0),
            flag_haz: flag(1),
            flag_whz: flag(2),
            flag_baz: flag(3),
            flag_hcz: flag(4),
            flag_acz: flag(5),
            clenhei: self.clenhei_mm.map(|c| c as f64 / 10.0),
        };
        let (status_gizi, signs) =
            growth::status_gizi(&growth::gizi_input(self.age_months, &zs, &self.input()));
        Assessment {
            age_days: self.age_days,
            age_months: self.age_months,
            classes: growth::classify(&zs),
            z: zs,
            kms: self.kms,
            bgm: self.flags & FLAG_BGM != 0,
            two_t: self.flags & FLAG_TWO_T != 0,
            gain_g: self.gain_g,
            status_gizi,
            referral_text: growth::referral_texts(&self.referral, &signs),
            status_gizi_signs: signs,
            notes: growth::assessment_notes(self.age_months),
            referral: self.referral.clone(),
            standard_version: standard.to_owned(),
            rules_version: rules.to_owned(),
        }
    }

    /// Every visit row of a kept child, by date.
    pub fn read_all(conn: &rusqlite::Connection, child_id: &str) -> Res<Vec<Self>> {
        let mut stmt = conn.prepare_cached(
            "SELECT visit_date, weight_g, height_mm, position, head_mm, muac_mm, oedema, confirmed, age_days, age_months,
                    waz, haz, whz, baz, hcz, acz, flags, clenhei_mm, kms, gain_g, referral, version, services
             FROM visits WHERE child_id = ?1 ORDER BY visit_date",
        )?;
        let rows = stmt.query_map(params![child_id], Self::from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The visit rows of a kept child from `from` to `to` (both included), by date.
    pub fn read_between(
        conn: &rusqlite::Connection,
        child_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Res<Vec<Self>> {
        let mut stmt = conn.prepare_cached(
            "SELECT visit_date, weight_g, height_mm, position, head_mm, muac_mm, oedema, confirmed, age_days, age_months,
                    waz, haz, whz, baz, hcz, acz, flags, clenhei_mm, kms, gain_g, referral, version, services
             FROM visits WHERE child_id = ?1 AND visit_date BETWEEN ?2 AND ?3 ORDER BY visit_date",
        )?;
        let rows = stmt.query_map(
            params![child_id, from.to_string(), to.to_string()],
            Self::from_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Weight-for-age z below -3 (bawah garis merah) at this visit.
    pub fn bgm(&self) -> bool {
        self.flags & FLAG_BGM != 0
    }

    /// This weighing is the second T in a row.
    pub fn two_t(&self) -> bool {
        self.flags & FLAG_TWO_T != 0
    }

    /// One visit row.
    pub fn read_one(
        conn: &rusqlite::Connection,
        child_id: &str,
        date: NaiveDate,
    ) -> Res<Option<Self>> {
        Ok(conn
            .prepare_cached(
                "SELECT visit_date, weight_g, height_mm, position, head_mm, muac_mm, oedema, confirmed, age_days, age_months,
                        waz, haz, whz, baz, hcz, acz, flags, clenhei_mm, kms, gain_g, referral, version, services
                 FROM visits WHERE child_id = ?1 AND visit_date = ?2",
            )?
            .query_row(params![child_id, date.to_string()], Self::from_row)
            .optional()?)
    }

    fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        {
            let list = |s: String| -> Vec<String> {
                s.split(',')
                    .filter(|x| !x.is_empty())
                    .map(str::to_owned)
                    .collect()
            };
            Ok(VisitRow {
                date: r.get::<_, String>(0)?.parse().unwrap_or_default(),
                measured: Measurements {
                    weight_g: r.get(1)?,
                    height_mm: r.get(2)?,
                    position: r
                        .get::<_, Option<String>>(3)?
                        .as_deref()
                        .and_then(|p| p.parse().ok()),
                    head_mm: r.get(4)?,
                    muac_mm: r.get(5)?,
                    oedema: r.get(6)?,
                },
                confirmed: list(r.get(7)?),
                age_days: r.get(8)?,
                age_months: r.get(9)?,
                z: [
                    r.get(10)?,
                    r.get(11)?,
                    r.get(12)?,
                    r.get(13)?,
                    r.get(14)?,
                    r.get(15)?,
                ],
                flags: r.get(16)?,
                clenhei_mm: r.get(17)?,
                kms: r.get::<_, Option<String>>(18)?.and_then(|k| k.parse().ok()),
                gain_g: r.get(19)?,
                referral: list(r.get(20)?)
                    .iter()
                    .filter_map(|c| c.parse().ok())
                    .collect(),
                version: r.get(21)?,
                services: list(r.get(22)?),
            })
        }
    }

    fn write(&self, tx: &Transaction<'_>, child_id: &str) -> Res<()> {
        let referral: Vec<&str> = self.referral.iter().map(|r| r.code()).collect();
        let m = &self.measured;
        tx.prepare_cached(
            "INSERT OR REPLACE INTO visits(child_id, visit_date, weight_g, height_mm, position, head_mm, muac_mm, oedema,
                 confirmed, age_days, age_months, waz, haz, whz, baz, hcz, acz, flags, clenhei_mm, kms, gain_g, referral, version, services)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
        )?
        .execute(params![
            child_id,
            self.date.to_string(),
            m.weight_g,
            m.height_mm,
            m.position.map(|p| p.code()),
            m.head_mm,
            m.muac_mm,
            m.oedema,
            self.confirmed.join(","),
            self.age_days,
            self.age_months,
            self.z[0],
            self.z[1],
            self.z[2],
            self.z[3],
            self.z[4],
            self.z[5],
            self.flags,
            self.clenhei_mm,
            self.kms.map(|k| k.to_string()),
            self.gain_g,
            referral.join(","),
            self.version,
            self.services.join(","),
        ])?;
        Ok(())
    }

    /// A fingerprint of what would be uploaded (8 bytes of SHA-256 over [`VisitRow::content`]).
    pub fn content_hash(&self) -> Vec<u8> {
        crate::crypto::sha256(self.content().as_bytes())[..8].to_vec()
    }

    /// What would be uploaded: the measurements and services, as text.
    pub fn content(&self) -> String {
        let o = |v: Option<u32>| v.map_or_else(String::new, |x| x.to_string());
        let m = &self.measured;
        format!(
            "w={};h={};p={};hc={};mu={};oe={};s={}",
            o(m.weight_g),
            o(m.height_mm),
            m.position.map_or("", |p| p.code()),
            o(m.head_mm),
            o(m.muac_mm),
            m.oedema.map_or("", |b| if b { "1" } else { "0" }),
            self.services.join(",")
        )
    }

    fn same_measurements(&self, other: &Self) -> bool {
        (self.measured, &self.services) == (other.measured, &other.services)
    }
}

/// The id of a (standard, rules) version pair, added on first use.
pub fn version_id(tx: &Transaction<'_>, standard: &str, rules: &str) -> Res<i64> {
    tx.prepare_cached(
        "INSERT OR IGNORE INTO assessment_versions(standard, rules) VALUES (?1, ?2)",
    )?
    .execute(params![standard, rules])?;
    Ok(tx
        .prepare_cached("SELECT id FROM assessment_versions WHERE standard = ?1 AND rules = ?2")?
        .query_row(params![standard, rules], |r| r.get(0))?)
}

/// Whether assessments may be stored with another (standard, rules) pair than this one: any other pair
/// in `assessment_versions` (a tiny table; [`drop_unused_versions`] keeps it to the pairs in use after a
/// recomputation, so this is a cheap check at every open).
pub fn any_other_version(conn: &rusqlite::Connection, standard: &str, rules: &str) -> Res<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM assessment_versions WHERE standard <> ?1 OR rules <> ?2 LIMIT 1",
        )?
        .query_row(params![standard, rules], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Forget the (standard, rules) pairs no stored assessment uses any more.
pub fn drop_unused_versions(tx: &Transaction<'_>) -> Res<()> {
    tx.execute(
        "DELETE FROM assessment_versions WHERE id NOT IN (SELECT DISTINCT version FROM visits)",
        [],
    )?;
    Ok(())
}

/// The (standard, rules) of a version id.
pub fn version_names(conn: &rusqlite::Connection, id: i64) -> Res<(String, String)> {
    Ok(conn
        .prepare_cached("SELECT standard, rules FROM assessment_versions WHERE id = ?1")?
        .query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

/// Where the documents of a merged group disagree on a field of the same day, the kept child's value is
/// shown (or the first member's) and the disagreement is listed as a conflict for the bidan, so no value
/// is hidden silently. Resolving writes the chosen value into every document of the group that has it.
fn replace_merge_conflicts(
    store: &Store,
    tx: &Transaction<'_>,
    root: &str,
    docs: &[ChildDoc],
) -> Res<()> {
    tx.prepare_cached("DELETE FROM conflicts WHERE child_id = ?1 AND doc_key LIKE 'merge:%'")?
        .execute(params![root])?;
    if docs.len() < 2 {
        return Ok(());
    }
    type Getter = fn(&VisitFields) -> Option<serde_json::Value>;
    let fields: [(&str, &str, Getter); 6] = [
        ("weight_g", "weight_kg", |v| {
            v.measured.weight_kg().map(|x| serde_json::json!(x))
        }),
        ("height_mm", "height_cm", |v| {
            v.measured.height_cm().map(|x| serde_json::json!(x))
        }),
        ("head_mm", "head_circ_cm", |v| {
            v.measured.head_cm().map(|x| serde_json::json!(x))
        }),
        ("muac_mm", "muac_cm", |v| {
            v.measured.muac_cm().map(|x| serde_json::json!(x))
        }),
        ("oedema", "oedema", |v| {
            v.measured.oedema.map(|b| serde_json::json!(b))
        }),
        ("position", "position", |v| {
            v.measured
                .height_mm
                .and(v.measured.position)
                .map(|p| serde_json::json!(p.code()))
        }),
    ];
    let dates: BTreeSet<NaiveDate> = docs.iter().flat_map(|d| d.visits.keys().copied()).collect();
    for date in dates {
        for (raw, field, get) in &fields {
            let mut values: Vec<serde_json::Value> = docs
                .iter()
                .filter_map(|d| d.visits.get(&date).filter(|v| !v.deleted).and_then(get))
                .collect();
            values.sort_by_key(|v| v.to_string());
            values.dedup();
            if values.len() < 2 {
                continue;
            }
            let key = format!("merge:{date}/{raw}");
            let cid = conflict_id(root, &key);
            let sealed = store.seal("conflicts", &cid, &serde_json::to_string(&values)?)?;
            tx.prepare_cached(
                "INSERT OR REPLACE INTO conflicts(conflict_id, child_id, doc_key, field, visit_date, payload)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![cid, root, key, field, date.to_string(), sealed])?;
        }
    }
    Ok(())
}

fn rebuild_group(
    store: &Store,
    tx: &Transaction<'_>,
    root: &str,
    in_memory: &HashMap<&str, ChildDoc>,
    kbm: &KbmTable,
) -> Res<()> {
    let still_root: Option<String> = tx
        .prepare_cached("SELECT root_id FROM children WHERE child_id = ?1")?
        .query_row(params![root], |r| r.get(0))
        .optional()?;
    if let Some(new_root) = still_root.as_deref().filter(|r| *r != root) {
        // Merged into another child: its rows move to the kept child's group. Upload bookkeeping
        // moves with it (a visit already sent stays sent); where the kept child has its own row for
        // the same day, the kept child's row stands.
        tx.prepare_cached("DELETE FROM visits WHERE child_id = ?1")?
            .execute(params![root])?;
        tx.prepare_cached("DELETE FROM child_status WHERE child_id = ?1")?
            .execute(params![root])?;
        tx.prepare_cached("DELETE FROM conflicts WHERE child_id = ?1 AND doc_key LIKE 'merge:%'")?
            .execute(params![root])?;
        outbox::move_group(tx, root, new_root)?;
        return Ok(());
    }
    let members: Vec<String> = {
        let mut stmt = tx.prepare_cached(
            "SELECT child_id FROM children WHERE root_id = ?1 AND deleted = 0 ORDER BY child_id = ?1 DESC, child_id",
        )?;
        let rows = stmt.query_map(params![root], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut docs: Vec<ChildDoc> = Vec::with_capacity(members.len());
    for m in &members {
        let cd = match in_memory.get(m.as_str()) {
            Some(cd) => cd.clone(),
            None => match store.load_doc(tx, m)? {
                Some(doc) => crdt::read_child(&doc)?,
                None => continue,
            },
        };
        docs.push(cd);
    }
    let mut visits: BTreeMap<NaiveDate, VisitFields> = BTreeMap::new();
    for cd in &docs {
        for (date, v) in &cd.visits {
            if v.deleted {
                continue;
            }
            visits.entry(*date).or_default().fill_from(v);
        }
    }
    replace_merge_conflicts(store, tx, root, &docs)?;
    visits.retain(|_, v| v.has_data());
    let identity = docs.first().map(|d| d.identity.clone()).unwrap_or_default();
    let assessments = match (identity.sex, identity.birth_date, docs.first()) {
        (Some(sex), Some(birth_date), Some(first)) if first.id.as_str() == root => {
            assess_all(&ChildInfo { sex, birth_date }, &visits, kbm)
        }
        _ => Vec::new(),
    };
    // Write only the rows that changed; a changed measurement goes (back) to the upload outbox.
    let old: HashMap<NaiveDate, VisitRow> = VisitRow::read_all(tx, root)?
        .into_iter()
        .map(|r| (r.date, r))
        .collect();
    let version = match assessments.first() {
        Some(a) => version_id(tx, &a.standard_version, &a.rules_version)?,
        None => 0,
    };
    // A child new to this phone (a first sync brings a thousand) has nothing queued yet.
    let first_queue = old.is_empty() && !outbox::has_rows(tx, root)?;
    for ((date, v), a) in visits.iter().zip(assessments.iter()) {
        let row = VisitRow::build(*date, v, a, version);
        match old.get(date) {
            Some(o) if *o == row => continue,
            Some(o) if o.same_measurements(&row) => {}
            _ if first_queue => outbox::queue_first(tx, root, *date, &row.content_hash())?,
            _ => outbox::queue(tx, root, *date, &row.content_hash())?,
        }
        row.write(tx, root)?;
    }
    for date in old.keys() {
        if !visits.contains_key(date) || assessments.is_empty() {
            tx.prepare_cached("DELETE FROM visits WHERE child_id = ?1 AND visit_date = ?2")?
                .execute(params![root, date.to_string()])?;
        }
    }
    // Latest status.
    let last = visits.keys().next_back().map(|d| d.to_string());
    let last_weighing = visits
        .iter()
        .rev()
        .find(|(_, v)| v.measured.weight_g.is_some());
    let last_height = visits.iter().rev().find_map(|(_, v)| v.measured.height_mm);
    let last_a = assessments.last();
    let last_w_a = visits
        .iter()
        .zip(assessments.iter())
        .rev()
        .find(|((_, v), _)| v.measured.weight_g.is_some())
        .map(|(_, a)| a);
    // Latest defined value of each indicator (a visit may carry only some measurements).
    let latest = |f: fn(&Assessment) -> Option<f64>| assessments.iter().rev().find_map(f);
    let referral: Vec<&str> = last_a
        .map(|a| a.referral.iter().map(|r| r.code()).collect())
        .unwrap_or_default();
    tx.prepare_cached(
        "INSERT INTO child_status(child_id, last_visit, last_weighing, weight_g, height_mm, waz, haz, whz, kms, referral, visit_count)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT(child_id) DO UPDATE SET last_visit = excluded.last_visit, last_weighing = excluded.last_weighing,
             weight_g = excluded.weight_g, height_mm = excluded.height_mm, waz = excluded.waz, haz = excluded.haz,
             whz = excluded.whz, kms = excluded.kms, referral = excluded.referral, visit_count = excluded.visit_count",
    )?
    .execute(params![
        root,
        last,
        last_weighing.map(|(d, _)| d.to_string()),
        last_weighing.and_then(|(_, v)| v.measured.weight_g),
        last_height,
        last_w_a.and_then(|a| a.z.waz),
        latest(|a| a.z.haz),
        latest(|a| a.z.whz),
        last_w_a.and_then(|a| a.kms).map(|k| k.to_string()),
        serde_json::to_string(&referral)?,
        visits.len() as i64,
    ])?;
    Ok(())
}

/// Empty every projection (the first step of a rebuild, inside its transaction).
pub fn clear_all(tx: &Transaction<'_>) -> Res<()> {
    tx.execute_batch(
        "DELETE FROM visits; DELETE FROM child_status; DELETE FROM conflicts; DELETE FROM children;",
    )?;
    Ok(())
}

/// Every row of the projection tables (`children`, `visits`, `child_status`, `conflicts`) as text, with
/// the sealed columns opened: two dumps are equal when the projections hold the same values, whatever
/// nonces their seals used. `timbang check` compares the dump before and after a rebuild.
pub fn dump(store: &Store, conn: &rusqlite::Connection) -> Res<String> {
    // (table, column, the column naming the row, the purpose the value was sealed for)
    const SEALED: &[(&str, &str, &str, &str)] = &[
        ("children", "name", "child_id", "name"),
        ("children", "nik", "child_id", "nik"),
        ("children", "kk", "child_id", "kk"),
        ("children", "mother_name", "child_id", "mother_name"),
        ("children", "mother_nik", "child_id", "mother_nik"),
        ("children", "address", "child_id", "address"),
        ("children", "rt", "child_id", "rt"),
        ("children", "rw", "child_id", "rw"),
        ("conflicts", "payload", "conflict_id", "conflicts"),
    ];
    let mut out = String::new();
    for table in ["children", "visits", "child_status", "conflicts"] {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2"))?;
        let names: Vec<String> = stmt.column_names().map(str::to_owned).collect();
        let mut rows = stmt.query([])?;
        out.push_str(&format!("[{table}]\n"));
        while let Some(r) = rows.next()? {
            for (i, name) in names.iter().enumerate() {
                let v: rusqlite::types::Value = r.get(i)?;
                let sealed = SEALED
                    .iter()
                    .find(|(tb, col, _, _)| *tb == table && col == name);
                let shown = match (sealed, &v) {
                    (Some((_, col, key, purpose)), rusqlite::types::Value::Blob(b)) => {
                        let row_key = names.iter().position(|n| n == key).unwrap_or(0);
                        let row: String = r.get(row_key)?;
                        format!("{col}={}", store.open_sealed(purpose, &row, b)?)
                    }
                    _ => format!("{name}={v:?}"),
                };
                out.push_str(&shown);
                out.push('|');
            }
            out.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_follow_chains_and_break_cycles_deterministically() {
        let mut links: HashMap<String, Option<String>> = HashMap::new();
        links.insert("a".into(), Some("b".into()));
        links.insert("b".into(), Some("c".into()));
        links.insert("c".into(), None);
        links.insert("x".into(), Some("y".into()));
        links.insert("y".into(), Some("x".into()));
        links.insert("m".into(), Some("missing".into()));
        let r = compute_roots(&links);
        assert_eq!(r["a"], "c");
        assert_eq!(r["b"], "c");
        assert_eq!(r["x"], "x");
        assert_eq!(r["y"], "x");
        assert_eq!(r["m"], "m");
    }
}
