//! Importing an existing posyandu register (CSV): one row per child and visit, columns as in DESIGN 6.2.
//! Every row goes through the checks of a kader's entry ([`crate::growth::check_entry`], the identity
//! rules); a bad row is reported by its line with the reason and skipped; the good rows are written
//! in one transaction per batch of children through [`Timbang::import_items`]. Rows of the same child
//! (the same NIK, or without one the same name, birth date and sex) make one child; a child already
//! stored is found the same way and gets only what it lacks, so importing a register twice adds nothing.
//! Interruptible between batches: what was written stays whole, and running it again adds the rest.

use std::collections::HashMap;
use std::io::Read;

use chrono::NaiveDate;
use serde::Serialize;

use super::Timbang;
use super::children::ImportItem;
use crate::domain::{self, ChildId, Measurements, NewChild, VisitEntry};
use crate::error::{Error, Result};
use crate::growth::{self, ChildInfo};
use crate::store::children;

/// The columns of a register file, in the order DESIGN 6.2 gives them.
pub const REGISTER_COLUMNS: [&str; 14] = [
    "name",
    "sex",
    "birth_date",
    "nik",
    "kk",
    "mother_name",
    "mother_nik",
    "address",
    "visit_date",
    "weight_kg",
    "height_cm",
    "measured",
    "head_circ_cm",
    "muac_cm",
];
/// Columns a row must fill.
const REQUIRED: [&str; 3] = ["name", "sex", "birth_date"];
/// Children per transaction.
const IMPORT_BATCH: usize = 100;

/// A row that was skipped, and why (one sentence in Bahasa Indonesia naming the field).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadRow {
    /// Line in the file (the header is line 1).
    pub line: u64,
    pub field: Option<String>,
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Children registered by this import.
    pub children: usize,
    /// Children of the file that were already stored.
    pub existing_children: usize,
    /// Visits written (new days, or days whose values changed).
    pub visits: usize,
    /// Rows skipped as bad.
    pub skipped: usize,
    /// Data rows read.
    pub rows: usize,
    pub bad_rows: Vec<BadRow>,
}

/// One good row.
struct Row {
    line: u64,
    child: NewChild,
    visit: Option<VisitEntry>,
}

fn bad(line: u64, e: &Error) -> BadRow {
    BadRow {
        line,
        field: e.field().map(str::to_owned),
        reason: e.message_id(),
    }
}

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// Parse one data row (`get` returns a column's text) into a child and its visit.
fn parse_row(
    get: &dyn Fn(&str) -> String,
    today: NaiveDate,
) -> Result<(NewChild, Option<VisitEntry>)> {
    for col in REQUIRED {
        if get(col).trim().is_empty() {
            return Err(Error::invalid(
                col,
                format!("Kolom {col} wajib diisi."),
                format!("column {col} is empty"),
            ));
        }
    }
    let child = NewChild {
        name: get("name"),
        sex: domain::parse_sex(&get("sex"))?,
        birth_date: domain::parse_date("birth_date", "Tanggal lahir", &get("birth_date"))?,
        nik: opt(&get("nik")),
        kk: opt(&get("kk")),
        mother_name: opt(&get("mother_name")),
        mother_nik: opt(&get("mother_nik")),
        address: opt(&get("address")),
    };
    let (child, _) = domain::validate_new_child(&child, today)?;
    let measures = [
        "weight_kg",
        "height_cm",
        "measured",
        "head_circ_cm",
        "muac_cm",
    ];
    let date_text = get("visit_date");
    if date_text.trim().is_empty() {
        if let Some(col) = measures.iter().find(|c| !get(c).trim().is_empty()) {
            return Err(Error::invalid(
                "visit_date",
                format!("Kolom visit_date wajib diisi bila {col} diisi."),
                format!("visit_date is empty but {col} is given"),
            ));
        }
        return Ok((child, None));
    }
    let num = |col: &str, f: fn(&str) -> Result<u32>| -> Result<Option<u32>> {
        let t = get(col);
        if t.trim().is_empty() {
            Ok(None)
        } else {
            f(t.trim()).map(Some)
        }
    };
    let measured = Measurements {
        weight_g: num("weight_kg", domain::parse_weight_kg)?,
        height_mm: num("height_cm", domain::parse_height_cm)?,
        position: match opt(&get("measured")) {
            Some(p) => Some(domain::parse_position(&p).map_err(|_| {
                Error::invalid(
                    "measured",
                    format!(
                        "Kolom measured '{p}' harus lying/l (telentang) atau standing/h (berdiri)."
                    ),
                    format!("measured '{p}' is not lying or standing"),
                )
            })?),
            None => None,
        },
        head_mm: num("head_circ_cm", domain::parse_head_cm)?,
        muac_mm: num("muac_cm", domain::parse_muac_cm)?,
        oedema: None,
    };
    let visit = VisitEntry {
        date: Some(domain::parse_date(
            "visit_date",
            "Tanggal kunjungan",
            &date_text,
        )?),
        measured,
        ..Default::default()
    };
    let info = ChildInfo {
        sex: child.sex,
        birth_date: child.birth_date,
    };
    growth::check_entry(&info, &visit, None, today)?;
    Ok((child, Some(visit)))
}

/// Which rows are the same child.
fn key_of(c: &NewChild) -> String {
    match &c.nik {
        Some(nik) => format!("nik:{nik}"),
        None => format!(
            "name:{}|{}|{}",
            domain::name_key(&c.name),
            c.birth_date,
            c.sex.code()
        ),
    }
}

impl Timbang {
    /// Import a register CSV read from `input` (`name` names it in errors). A file that is not a
    /// register (not UTF-8 CSV, a column missing) is refused whole, nothing written. `progress` is told
    /// (rows done, rows in all) after every batch.
    pub fn import_register(
        &self,
        name: &str,
        input: impl Read,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<ImportReport> {
        self.device()?;
        let scope = self.interrupt.begin();
        let today = self.today();
        let not_register = |en: String, id: String| Error::invalid("file", id, en);
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(input);
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| {
                not_register(
                    format!("{name}: {e}"),
                    format!("Berkas {name} bukan CSV register yang bisa dibaca."),
                )
            })?
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase())
            .collect();
        let index: HashMap<&str, usize> = REGISTER_COLUMNS
            .iter()
            .filter_map(|c| headers.iter().position(|h| h == c).map(|i| (*c, i)))
            .collect();
        let missing: Vec<&str> = REGISTER_COLUMNS
            .iter()
            .copied()
            .filter(|c| !index.contains_key(c))
            .collect();
        if !missing.is_empty() {
            return Err(not_register(
                format!("{name}: missing columns {}", missing.join(", ")),
                format!(
                    "Berkas {name} tidak punya kolom {}; kolom register: {}.",
                    missing.join(", "),
                    REGISTER_COLUMNS.join(", ")
                ),
            ));
        }
        let mut good: Vec<Row> = Vec::new();
        let mut bad_rows: Vec<BadRow> = Vec::new();
        let mut rows = 0usize;
        for rec in reader.records() {
            let rec = rec.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                not_register(
                    format!("{name} line {line}: {e}"),
                    format!("Berkas {name} baris {line} tidak bisa dibaca sebagai CSV (UTF-8)."),
                )
            })?;
            let line = rec.position().map_or(0, |p| p.line());
            if rec.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            rows += 1;
            let get = |col: &str| -> String {
                index
                    .get(col)
                    .and_then(|i| rec.get(*i))
                    .unwrap_or("")
                    .to_owned()
            };
            match parse_row(&get, today) {
                Ok((child, visit)) => good.push(Row { line, child, visit }),
                Err(e) => bad_rows.push(bad(line, &e)),
            }
        }
        // Group rows by child, in the order of first appearance.
        let mut order: Vec<String> = Vec::new();
        let mut groups: HashMap<String, (u64, NewChild, Vec<VisitEntry>)> = HashMap::new();
        for r in good {
            let key = key_of(&r.child);
            match groups.get_mut(&key) {
                Some((first_line, c, visits)) => {
                    if c.sex != r.child.sex || c.birth_date != r.child.birth_date {
                        bad_rows.push(BadRow {
                            line: r.line,
                            field: Some("birth_date".into()),
                            reason: format!(
                                "Jenis kelamin atau tanggal lahir berbeda dengan baris {first_line} untuk anak yang sama."
                            ),
                        });
                        continue;
                    }
                    visits.extend(r.visit);
                }
                None => {
                    order.push(key.clone());
                    groups.insert(key, (r.line, r.child, r.visit.into_iter().collect()));
                }
            }
        }
        bad_rows.sort_by_key(|b| b.line);
        let mut report = ImportReport {
            children: 0,
            existing_children: 0,
            visits: 0,
            skipped: bad_rows.len(),
            rows,
            bad_rows,
        };
        let total = order.len();
        let mut done = 0usize;
        progress(0, total);
        for keys in order.chunks(IMPORT_BATCH) {
            scope.check()?;
            let mut items = Vec::with_capacity(keys.len());
            for key in keys {
                let Some((_, child, visits)) = groups.remove(key) else {
                    continue;
                };
                let existing = self.stored_child(&child)?;
                if existing.is_some() {
                    report.existing_children += 1;
                }
                items.push(ImportItem {
                    existing,
                    child,
                    visits,
                });
            }
            let out = self.import_items(&items)?;
            report.children += out.created.len();
            report.visits += out.visits_written;
            done += keys.len();
            progress(done, total);
        }
        Ok(report)
    }

    /// The stored child a register row stands for: the same NIK, or (without one) the same name key,
    /// birth date and sex (and mother's name key when both have one).
    fn stored_child(&self, c: &NewChild) -> Result<Option<ChildId>> {
        if let Some(nik) = &c.nik {
            let found = self
                .store
                .read(|conn| children::with_nik(&self.store, conn, nik))?;
            return Ok(found.into_iter().next().map(|k| k.child_id));
        }
        let born = self
            .store
            .read(|conn| children::born_between(&self.store, conn, c.birth_date, c.birth_date))?;
        for k in born {
            let same_mother = match (&k.mother_name, &c.mother_name) {
                (Some(a), Some(b)) => domain::name_key(a) == domain::name_key(b),
                _ => true,
            };
            if domain::name_key(&k.name) == domain::name_key(&c.name)
                && same_mother
                && self.child_info(&k.child_id)?.sex == c.sex
            {
                return Ok(Some(k.child_id));
            }
        }
        Ok(None)
    }
}
