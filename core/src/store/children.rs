//! Reading the `children` and `child_status` projections: who a child id stands for, identities
//! (unsealed here, the only place that opens them), duplicate candidates and the village list rows.

use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, params};

use super::{Res, Store, StoreError};
use crate::domain::{ChildId, Identity, Sex};

fn date_of(s: Option<String>) -> Option<NaiveDate> {
    s.and_then(|s| s.parse().ok())
}

fn sex_of(s: Option<String>) -> Option<Sex> {
    s.and_then(|s| s.parse().ok())
}

/// The kept child `id` stands for (itself, or the child it was merged into); None when unknown or
/// deleted.
pub fn root_of(conn: &Connection, id: &ChildId) -> Res<Option<ChildId>> {
    let root: Option<String> = conn
        .prepare_cached("SELECT root_id FROM children WHERE child_id = ?1 AND deleted = 0")?
        .query_row(params![id.as_str()], |r| r.get(0))
        .optional()?;
    root.as_deref().map(Store::child_id).transpose()
}

/// Sex and birth date of a child.
pub fn sex_and_birth(conn: &Connection, id: &ChildId) -> Res<(Option<Sex>, Option<NaiveDate>)> {
    let (sex, birth): (Option<String>, Option<String>) = conn
        .prepare_cached("SELECT sex, birth_date FROM children WHERE child_id = ?1")?
        .query_row(params![id.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok((sex_of(sex), date_of(birth)))
}

/// Every document of a kept child's group (the child and the duplicates merged into it).
pub fn group_members(conn: &Connection, root: &ChildId) -> Res<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT child_id FROM children WHERE root_id = ?1")?;
    let rows = stmt.query_map(params![root.as_str()], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A child's identity, unsealed.
pub fn identity(store: &Store, conn: &Connection, id: &ChildId) -> Res<Identity> {
    type Row = (
        Option<String>,
        Option<String>,
        Vec<u8>,
        [Option<Vec<u8>>; 7],
        (Option<bool>, Option<String>, Option<String>),
    );
    let (sex, birth, name, sealed, (has_kms, posyandu, village)): Row = conn
        .prepare_cached(
            "SELECT sex, birth_date, name, nik, kk, mother_name, mother_nik, address, has_kms, posyandu, village, rt, rw
             FROM children WHERE child_id = ?1",
        )?
        .query_row(params![id.as_str()], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                [
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(11)?,
                    r.get(12)?,
                ],
                (r.get(8)?, r.get(9)?, r.get(10)?),
            ))
        })?;
    let row = id.as_str();
    let [nik, kk, mother_name, mother_nik, address, rt, rw] = sealed;
    Ok(Identity {
        name: store.open_sealed("name", row, &name)?,
        sex: sex_of(sex),
        birth_date: date_of(birth),
        nik: store.open_opt("nik", row, nik)?,
        kk: store.open_opt("kk", row, kk)?,
        mother_name: store.open_opt("mother_name", row, mother_name)?,
        mother_nik: store.open_opt("mother_nik", row, mother_nik)?,
        address: store.open_opt("address", row, address)?,
        has_kms,
        posyandu,
        village,
        rt: store.open_opt("rt", row, rt)?,
        rw: store.open_opt("rw", row, rw)?,
    })
}

/// The duplicates merged into `root`, by id, each with its NIK (unsealed) if it has one.
pub fn merged_into(
    store: &Store,
    conn: &Connection,
    root: &ChildId,
) -> Res<Vec<(ChildId, Option<String>)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT child_id, nik FROM children WHERE root_id = ?1 AND child_id != ?1 ORDER BY child_id",
    )?;
    let mut q = stmt.query(params![root.as_str()])?;
    let mut out = Vec::new();
    while let Some(r) = q.next()? {
        let id: String = r.get(0)?;
        let nik = store.open_opt("nik", &id, r.get(1)?)?;
        out.push((Store::child_id(&id)?, nik));
    }
    Ok(out)
}

/// A kept child that may be the same as one being registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub child_id: ChildId,
    pub name: String,
    pub birth_date: Option<NaiveDate>,
    pub mother_name: Option<String>,
}

fn candidates(store: &Store, q: &mut rusqlite::Rows<'_>) -> Res<Vec<Candidate>> {
    let mut out = Vec::new();
    while let Some(r) = q.next()? {
        let id: String = r.get(0)?;
        let name: Vec<u8> = r.get(1)?;
        out.push(Candidate {
            name: store.open_sealed("name", &id, &name)?,
            birth_date: date_of(r.get(2)?),
            mother_name: store.open_opt("mother_name", &id, r.get(3)?)?,
            child_id: Store::child_id(&id)?,
        });
    }
    Ok(out)
}

/// Kept children holding (or holding a merged duplicate with) this NIK.
pub fn with_nik(store: &Store, conn: &Connection, nik: &str) -> Res<Vec<Candidate>> {
    let tag = store.blind_index("nik", nik);
    let mut stmt = conn.prepare_cached(
        "SELECT c.root_id, r.name, r.birth_date, r.mother_name FROM children c JOIN children r ON r.child_id = c.root_id
         WHERE c.nik_tag = ?1 AND r.deleted = 0",
    )?;
    candidates(store, &mut stmt.query(params![tag])?)
}

/// Kept children born between `from` and `to` (inclusive).
pub fn born_between(
    store: &Store,
    conn: &Connection,
    from: NaiveDate,
    to: NaiveDate,
) -> Res<Vec<Candidate>> {
    let mut stmt = conn.prepare_cached(
        "SELECT child_id, name, birth_date, mother_name FROM children
         WHERE birth_date BETWEEN ?1 AND ?2 AND deleted = 0 AND root_id = child_id",
    )?;
    candidates(
        store,
        &mut stmt.query(params![from.to_string(), to.to_string()])?,
    )
}

/// A kept child with its latest status, as the village list reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusRow {
    pub child_id: ChildId,
    pub name: String,
    pub sex: Option<Sex>,
    pub birth_date: Option<NaiveDate>,
    pub last_visit: Option<NaiveDate>,
    pub last_weighing: Option<NaiveDate>,
    pub weight_g: Option<u32>,
    pub height_mm: Option<u32>,
    pub waz: Option<f64>,
    pub haz: Option<f64>,
    pub whz: Option<f64>,
    pub kms: Option<String>,
    /// Reason codes stored with the latest assessment.
    pub referral: Vec<String>,
    pub posyandu: Option<String>,
    pub rt: Option<String>,
    pub rw: Option<String>,
    /// The latest visit that measured something a status gizi rests on (a weight-for-length/height or
    /// BMI-for-age z, a LiLA, or oedema).
    pub gizi: Option<GiziRow>,
}

/// What the status gizi of one stored visit is computed from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GiziRow {
    pub date: NaiveDate,
    pub age_months: u32,
    pub whz: Option<f64>,
    pub baz: Option<f64>,
    pub muac_mm: Option<u32>,
    pub oedema: bool,
}

/// Every kept child with its latest status.
pub fn status_rows(store: &Store, conn: &Connection) -> Res<Vec<StatusRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.child_id, c.name, c.sex, c.birth_date, s.last_visit, s.last_weighing, s.weight_g, s.height_mm,
                s.waz, s.haz, s.whz, s.kms, s.referral,
                g.visit_date, g.age_months, g.whz, g.baz, g.muac_mm, g.oedema, c.posyandu, c.rt, c.rw
         FROM children c LEFT JOIN child_status s ON s.child_id = c.child_id
         LEFT JOIN visits g ON g.child_id = c.child_id AND g.visit_date = (
             SELECT v.visit_date FROM visits v WHERE v.child_id = c.child_id
                 AND (v.whz IS NOT NULL OR v.baz IS NOT NULL OR v.muac_mm IS NOT NULL OR v.oedema = 1)
             ORDER BY v.visit_date DESC LIMIT 1)
         WHERE c.root_id = c.child_id AND c.deleted = 0",
    )?;
    let mut out = Vec::new();
    let mut q = stmt.query([])?;
    while let Some(r) = q.next()? {
        let id: String = r.get(0)?;
        let name: Vec<u8> = r.get(1)?;
        let referral: Option<String> = r.get(12)?;
        out.push(StatusRow {
            name: store.open_sealed("name", &id, &name)?,
            child_id: Store::child_id(&id)?,
            sex: sex_of(r.get(2)?),
            birth_date: date_of(r.get(3)?),
            last_visit: date_of(r.get(4)?),
            last_weighing: date_of(r.get(5)?),
            weight_g: r.get(6)?,
            height_mm: r.get(7)?,
            waz: r.get(8)?,
            haz: r.get(9)?,
            whz: r.get(10)?,
            kms: r.get(11)?,
            referral: referral
                .as_deref()
                .map(serde_json::from_str::<Vec<String>>)
                .transpose()
                .map_err(StoreError::from)?
                .unwrap_or_default(),
            posyandu: r.get(19)?,
            rt: store.open_opt("rt", &id, r.get(20)?)?,
            rw: store.open_opt("rw", &id, r.get(21)?)?,
            gizi: match date_of(r.get(13)?) {
                Some(date) => Some(GiziRow {
                    date,
                    age_months: r.get(14)?,
                    whz: r.get::<_, Option<i64>>(15)?.map(|h| h as f64 / 100.0),
                    baz: r.get::<_, Option<i64>>(16)?.map(|h| h as f64 / 100.0),
                    muac_mm: r.get(17)?,
                    oedema: r.get::<_, Option<bool>>(18)?.unwrap_or(false),
                }),
                None => None,
            },
        });
    }
    Ok(out)
}

/// A kept child as the reports read it: no personal data beyond the birth date and sex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportChild {
    pub child_id: ChildId,
    pub sex: Option<Sex>,
    pub birth_date: Option<NaiveDate>,
    pub has_kms: Option<bool>,
    pub posyandu: Option<String>,
    pub village: Option<String>,
}

/// Every kept child (not merged away, not deleted), by id.
pub fn report_children(conn: &Connection) -> Res<Vec<ReportChild>> {
    let mut stmt = conn.prepare_cached(
        "SELECT child_id, sex, birth_date, has_kms, posyandu, village FROM children
         WHERE root_id = child_id AND deleted = 0 ORDER BY child_id",
    )?;
    let mut out = Vec::new();
    let mut q = stmt.query([])?;
    while let Some(r) = q.next()? {
        let id: String = r.get(0)?;
        out.push(ReportChild {
            child_id: Store::child_id(&id)?,
            sex: sex_of(r.get(1)?),
            birth_date: date_of(r.get(2)?),
            has_kms: r.get(3)?,
            posyandu: r.get(4)?,
            village: r.get(5)?,
        });
    }
    Ok(out)
}
