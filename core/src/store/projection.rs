//! Projections rebuilt from the documents, in the transaction that stores them.
//!
//! `children` has one row per document; `visits`, `child_status` and `conflicts` are per kept child,
//! with merged duplicates folded in: a duplicate's visits count for the child it was merged into, also
//! when they arrive after the merge from a phone that had not heard of it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use automerge::Automerge;
use chrono::NaiveDate;
use rusqlite::{OptionalExtension, Transaction, params};

use super::{Res, Store};
use crate::crdt::{self, ChildDoc, VisitFields};
use crate::domain::{Position, Sex};
use crate::growth::{self, Assessment, ChildInfo, KbmTable, VisitInput};

/// What a rebuild touched.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Rebuilt {
    /// Kept children whose visits or status were rebuilt.
    pub roots: BTreeSet<String>,
}

/// The conflict id shown to people: stable across devices for the same document key.
pub fn conflict_id(child_id: &str, key: &str) -> String {
    let h = crate::crypto::sha256(format!("{child_id}\0{key}").as_bytes());
    h[..6].iter().map(|b| format!("{b:02x}")).collect()
}

fn sex_code(s: Option<Sex>) -> Option<&'static str> {
    s.map(|s| match s {
        Sex::Male => "L",
        Sex::Female => "P",
    })
}

/// Convert stored visit fields to the growth engine's input.
pub fn visit_input(date: NaiveDate, v: &VisitFields) -> VisitInput {
    VisitInput {
        date,
        weight_kg: v.weight_g.map(|g| f64::from(g) / 1000.0),
        height_cm: v.height_mm.map(|mm| f64::from(mm) / 10.0),
        position: v.position,
        head_cm: v.head_mm.map(|mm| f64::from(mm) / 10.0),
        muac_cm: v.muac_mm.map(|mm| f64::from(mm) / 10.0),
        oedema: v.oedema.unwrap_or(false),
    }
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
        let input = visit_input(*date, v);
        let a = growth::assess_visit(child, &history, &previous, &input, kbm);
        history.push(input);
        previous.push(a);
    }
    previous
}

fn upsert_child_row(store: &Store, tx: &Transaction<'_>, cd: &ChildDoc, root: &str) -> Res<()> {
    let id = cd.id.as_str();
    let i = &cd.identity;
    let seal = |col: &str, v: &Option<String>| -> Res<Option<Vec<u8>>> {
        v.as_deref().map(|t| store.seal(col, id, t)).transpose()
    };
    let name = store.seal("name", id, &i.name)?;
    tx.prepare_cached(
        "INSERT INTO children(child_id, root_id, merged_into, sex, birth_date, name, nik, kk, mother_name,
             mother_nik, address, nik_tag, mother_nik_tag, deleted)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
         ON CONFLICT(child_id) DO UPDATE SET merged_into = excluded.merged_into, sex = excluded.sex,
             birth_date = excluded.birth_date, name = excluded.name, nik = excluded.nik, kk = excluded.kk,
             mother_name = excluded.mother_name, mother_nik = excluded.mother_nik, address = excluded.address,
             nik_tag = excluded.nik_tag, mother_nik_tag = excluded.mother_nik_tag, deleted = excluded.deleted",
    )?
    .execute(params![
        id,
        root,
        cd.merged_into.as_ref().map(|m| m.as_str().to_owned()),
        sex_code(i.sex),
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

/// Update every projection after `changed` documents were saved in `tx`.
pub fn apply_changed(
    store: &Store,
    tx: &Transaction<'_>,
    changed: &[(&str, &Automerge)],
    kbm: &KbmTable,
) -> Res<Rebuilt> {
    let mut affected: BTreeSet<String> = BTreeSet::new();
    let mut need_roots = false;
    let mut in_memory: HashMap<&str, &Automerge> = HashMap::new();
    for (id, doc) in changed {
        let cd = crdt::read_child(doc)?;
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
                need_roots = true;
                (*id).to_owned()
            }
        };
        upsert_child_row(store, tx, &cd, &root)?;
        replace_conflicts(store, tx, id, doc)?;
        in_memory.insert(id, doc);
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
    for (id, _) in changed {
        let root: String = tx
            .prepare_cached("SELECT root_id FROM children WHERE child_id = ?1")?
            .query_row(params![id], |r| r.get(0))?;
        affected.insert(root);
    }
    let mut rebuilt = Rebuilt::default();
    for root in affected {
        rebuild_group(store, tx, &root, &in_memory, kbm)?;
        rebuilt.roots.insert(root);
    }
    Ok(rebuilt)
}

type VisitRow = (
    Option<u32>,
    Option<u32>,
    Option<String>,
    Option<u32>,
    Option<u32>,
    Option<bool>,
);

fn rebuild_group(
    store: &Store,
    tx: &Transaction<'_>,
    root: &str,
    in_memory: &HashMap<&str, &Automerge>,
    kbm: &KbmTable,
) -> Res<()> {
    let still_root: Option<String> = tx
        .prepare_cached("SELECT root_id FROM children WHERE child_id = ?1")?
        .query_row(params![root], |r| r.get(0))
        .optional()?;
    if still_root.as_deref() != Some(root) {
        // Merged into another child: its rows move to the kept child's group.
        tx.prepare_cached("DELETE FROM visits WHERE child_id = ?1")?
            .execute(params![root])?;
        tx.prepare_cached("DELETE FROM child_status WHERE child_id = ?1")?
            .execute(params![root])?;
        tx.prepare_cached("DELETE FROM outbox WHERE child_id = ?1 AND state = 'pending'")?
            .execute(params![root])?;
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
            Some(doc) => crdt::read_child(doc)?,
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
    visits.retain(|_, v| {
        v.weight_g.is_some()
            || v.height_mm.is_some()
            || v.head_mm.is_some()
            || v.muac_mm.is_some()
            || v.oedema.is_some()
    });
    let identity = docs.first().map(|d| d.identity.clone()).unwrap_or_default();
    let assessments = match (identity.sex, identity.birth_date, docs.first()) {
        (Some(sex), Some(birth_date), Some(first)) if first.id.as_str() == root => {
            assess_all(&ChildInfo { sex, birth_date }, &visits, kbm)
        }
        _ => Vec::new(),
    };
    // Existing rows, to find what changed (for the upload outbox).
    let mut old: HashMap<String, VisitRow> = HashMap::new();
    {
        let mut stmt = tx.prepare_cached(
            "SELECT visit_date, weight_g, height_mm, position, head_mm, muac_mm, oedema FROM visits WHERE child_id = ?1",
        )?;
        let rows = stmt.query_map(params![root], |r| {
            Ok((
                r.get::<_, String>(0)?,
                (
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ),
            ))
        })?;
        for row in rows {
            let (d, v) = row?;
            old.insert(d, v);
        }
    }
    tx.prepare_cached("DELETE FROM visits WHERE child_id = ?1")?
        .execute(params![root])?;
    let now = chrono::Utc::now().to_rfc3339();
    let position_code = |p: Option<Position>| {
        p.map(|p| match p {
            Position::Lying => "lying".to_owned(),
            Position::Standing => "standing".to_owned(),
        })
    };
    for ((date, v), a) in visits
        .iter()
        .zip(assessments.iter().map(Some).chain(std::iter::repeat(None)))
    {
        let ds = date.to_string();
        let assessment = match a {
            Some(a) => serde_json::to_string(a)?,
            None => "null".to_owned(),
        };
        let confirmed = serde_json::to_string(&v.confirmed)?;
        tx.prepare_cached(
            "INSERT INTO visits(child_id, visit_date, weight_g, height_mm, position, head_mm, muac_mm, oedema, confirmed, assessment)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?
        .execute(params![root, ds, v.weight_g, v.height_mm, position_code(v.position), v.head_mm, v.muac_mm, v.oedema, confirmed, assessment])?;
        let row: VisitRow = (
            v.weight_g,
            v.height_mm,
            position_code(v.position),
            v.head_mm,
            v.muac_mm,
            v.oedema,
        );
        if old.get(&ds) != Some(&row) {
            tx.prepare_cached(
                "INSERT INTO outbox(child_id, visit_date, state, changed_at) VALUES (?1, ?2, 'pending', ?3)
                 ON CONFLICT(child_id, visit_date) DO UPDATE SET state = 'pending', changed_at = excluded.changed_at",
            )?
            .execute(params![root, ds, now])?;
        }
    }
    // Latest status.
    let last = visits.keys().next_back().map(|d| d.to_string());
    let last_weighing = visits.iter().rev().find(|(_, v)| v.weight_g.is_some());
    let last_height = visits.iter().rev().find_map(|(_, v)| v.height_mm);
    let last_a = assessments.last();
    let last_w_a = visits
        .iter()
        .zip(assessments.iter())
        .rev()
        .find(|((_, v), _)| v.weight_g.is_some())
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
        last_weighing.and_then(|(_, v)| v.weight_g),
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
