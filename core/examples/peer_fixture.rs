//! Phone A for `scripts/bench_peer_vs_pouchdb.sh` (Timbang against PouchDB, phone-to-phone).
//!
//! - `peer_fixture create DB FIXTURE.json`: a new database `DB` (and its key file `DB.key`, as the
//!   CLI expects) holding 1,000 synthetic children with 24 monthly weighings each, in a team; writes
//!   the same children (with the ids Timbang gave them) and the 50 later changes to `FIXTURE.json`
//!   for the PouchDB side; prints the pairing code on the last line.
//! - `peer_fixture change DB FIXTURE.json`: records the 50 changes (one new weighing for each of 50
//!   children) in `DB`.
//!
//! All people are made up; the data come from a fixed seed, so every run builds the same posyandu.
//! Every call into `timbang_core` is in the `tc` module below.
#![allow(clippy::print_stdout)]

use std::path::Path;

use serde::{Deserialize, Serialize};

/// Children in the fixture.
const CHILDREN: usize = 1_000;
/// Monthly weighings of each child in the fixture.
const VISITS: u32 = 24;
/// Children that get one new weighing in `change`.
const CHANGED: usize = 50;
/// "Today" of the fixture (the CLI runs with `TIMBANG_TODAY` set to it).
const TODAY: (i32, u32, u32) = (2025, 6, 15);
/// Posyandu day: the 14th of each month; the 24 weighings are June 2023 to May 2025, the change
/// June 2025.
const FIRST_VISIT: (i32, u32) = (2023, 6);
const POSYANDU_DAY: u32 = 14;

/// One weighing, in the units Timbang stores (grams, millimetres).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Visit {
    date: String,
    weight_g: u32,
    height_mm: u32,
    /// "lying" or "standing".
    position: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    head_mm: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    muac_mm: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Child {
    /// Timbang's id (filled in after the import).
    id: String,
    name: String,
    /// "L" or "P".
    sex: String,
    birth_date: String,
    mother_name: String,
    address: String,
    visits: Vec<Visit>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Change {
    child: usize,
    visit: Visit,
}

#[derive(Debug, Serialize, Deserialize)]
struct Fixture {
    today: String,
    children: Vec<Child>,
    changes: Vec<Change>,
}

type Res<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1..).unwrap_or_default() {
        [mode, db, fixture] if mode == "create" => create(Path::new(db), Path::new(fixture)),
        [mode, db, fixture] if mode == "change" => change(Path::new(db), Path::new(fixture)),
        _ => {
            eprintln!("usage: peer_fixture create|change DB FIXTURE.json");
            std::process::exit(2)
        }
    }
}

fn create(db: &Path, fixture_path: &Path) -> Res<()> {
    let (mut children, changes) = generate();
    let started = std::time::Instant::now();
    let (ids, code) = tc::create(db, &children)?;
    for (c, id) in children.iter_mut().zip(ids) {
        c.id = id;
    }
    let fixture = Fixture {
        today: date_str(TODAY),
        children,
        changes,
    };
    std::fs::write(fixture_path, serde_json::to_vec(&fixture)?)?;
    eprintln!(
        "phone A: {CHILDREN} children x {VISITS} visits in {} ({:.1} s)",
        db.display(),
        started.elapsed().as_secs_f64()
    );
    println!("{code}");
    Ok(())
}

fn change(db: &Path, fixture_path: &Path) -> Res<()> {
    let fixture: Fixture = serde_json::from_slice(&std::fs::read(fixture_path)?)?;
    let items: Vec<(&str, &Visit)> = fixture
        .changes
        .iter()
        .map(|c| (fixture.children[c.child].id.as_str(), &c.visit))
        .collect();
    tc::change(db, &items)?;
    eprintln!("phone A: {} children got a new weighing", items.len());
    Ok(())
}

fn date_str((y, m, d): (i32, u32, u32)) -> String {
    format!("{y:04}-{m:02}-{d:02}")
}

/// The `n`-th posyandu day (0 = June 2023).
fn visit_date(n: u32) -> (i32, u32, u32) {
    let months = FIRST_VISIT.0 * 12 + FIRST_VISIT.1 as i32 - 1 + n as i32;
    (months / 12, (months % 12) as u32 + 1, POSYANDU_DAY)
}

/// Days since 1970-01-01 (proleptic Gregorian), for ages.
fn days((y, m, d): (i32, u32, u32)) -> i64 {
    let (y, m) = if m <= 2 {
        (i64::from(y) - 1, i64::from(m) + 9)
    } else {
        (i64::from(y), i64::from(m) - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as i32, m, d)
}

/// splitmix64: a fixed seed gives the same posyandu on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// Standard normal (Box-Muller).
    fn normal(&mut self) -> f64 {
        let u = self.unit().max(1e-12);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// Piecewise-linear interpolation in a table of (age in months, value).
fn interp(t: &[(f64, f64)], age: f64) -> f64 {
    let mut prev = t[0];
    for &p in t {
        if age <= p.0 {
            if p.0 == prev.0 {
                return p.1;
            }
            return prev.1 + (p.1 - prev.1) * (age - prev.0) / (p.0 - prev.0);
        }
        prev = p;
    }
    prev.1
}

// Rounded WHO 2006 medians (0 to 60 months): weight kg, length/height cm, head cm.
const WEIGHT_L: [(f64, f64); 10] = [
    (0.0, 3.3),
    (3.0, 6.4),
    (6.0, 7.9),
    (9.0, 8.9),
    (12.0, 9.6),
    (18.0, 10.9),
    (24.0, 12.2),
    (36.0, 14.3),
    (48.0, 16.3),
    (60.0, 18.3),
];
const WEIGHT_P: [(f64, f64); 10] = [
    (0.0, 3.2),
    (3.0, 5.8),
    (6.0, 7.3),
    (9.0, 8.2),
    (12.0, 8.9),
    (18.0, 10.2),
    (24.0, 11.5),
    (36.0, 13.9),
    (48.0, 16.1),
    (60.0, 18.2),
];
const LENGTH_L: [(f64, f64); 10] = [
    (0.0, 49.9),
    (3.0, 61.4),
    (6.0, 67.6),
    (9.0, 72.0),
    (12.0, 75.7),
    (18.0, 82.3),
    (24.0, 87.8),
    (36.0, 96.8),
    (48.0, 104.0),
    (60.0, 110.7),
];
const LENGTH_P: [(f64, f64); 10] = [
    (0.0, 49.1),
    (3.0, 59.8),
    (6.0, 65.7),
    (9.0, 70.1),
    (12.0, 74.0),
    (18.0, 80.7),
    (24.0, 86.4),
    (36.0, 95.8),
    (48.0, 103.4),
    (60.0, 110.1),
];
const HEAD_L: [(f64, f64); 7] = [
    (0.0, 34.5),
    (3.0, 40.5),
    (6.0, 43.3),
    (9.0, 45.0),
    (12.0, 46.1),
    (18.0, 47.4),
    (24.0, 48.3),
];
const HEAD_P: [(f64, f64); 7] = [
    (0.0, 33.9),
    (3.0, 39.5),
    (6.0, 42.2),
    (9.0, 43.8),
    (12.0, 45.0),
    (18.0, 46.2),
    (24.0, 47.2),
];

const BOYS: [&str; 24] = [
    "Rizky", "Bima", "Fajar", "Dimas", "Arya", "Galih", "Raka", "Yusuf", "Ilham", "Bayu", "Hafiz",
    "Naufal", "Satria", "Wahyu", "Adit", "Reza", "Farel", "Gilang", "Putra", "Raffi", "Zidan",
    "Kenzo", "Alif", "Danu",
];
const GIRLS: [&str; 24] = [
    "Aisyah", "Putri", "Nabila", "Salsa", "Citra", "Dewi", "Intan", "Kirana", "Laras", "Mutiara",
    "Nayla", "Rara", "Sekar", "Tiara", "Wulan", "Zahra", "Alya", "Bunga", "Dinda", "Fitri", "Gita",
    "Hana", "Keysha", "Melati",
];
const FAMILY: [&str; 20] = [
    "Pratama",
    "Saputra",
    "Lestari",
    "Wibowo",
    "Permata",
    "Hidayat",
    "Kusuma",
    "Rahmawati",
    "Setiawan",
    "Nugroho",
    "Anggraini",
    "Purnomo",
    "Maharani",
    "Susanto",
    "Handayani",
    "Ramadhan",
    "Wijaya",
    "Safitri",
    "Utami",
    "Firmansyah",
];
const MOTHERS: [&str; 16] = [
    "Sri", "Siti", "Nur", "Ani", "Yuli", "Rina", "Eka", "Dwi", "Tri", "Wati", "Lina", "Ratna",
    "Suci", "Yanti", "Ida", "Erna",
];
const DUSUN: [&str; 6] = [
    "Krajan",
    "Sumberrejo",
    "Karanganyar",
    "Sidomulyo",
    "Tegalsari",
    "Wonosari",
];

/// The 1,000 children with 24 weighings each, and the 50 changes (their 25th weighing).
fn generate() -> (Vec<Child>, Vec<Change>) {
    let mut rng = Rng(0x7469_6d62_616e_6721); // "timbang!"
    let first = days(visit_date(0));
    let mut children = Vec::with_capacity(CHILDREN);
    let mut changes = Vec::new();
    for i in 0..CHILDREN {
        let boy = rng.below(2) == 0;
        // Born 14 days to 35 months before the first weighing: 23 to 59 months old in June 2025.
        let dob = from_days(first - 14 - rng.below(35 * 30) as i64);
        let weight_z = (-0.6 + 0.9 * rng.normal()).clamp(-3.0, 2.5);
        let height_z = (-1.0 + 0.9 * rng.normal()).clamp(-3.2, 2.5);
        let head_z = (-0.3 + 0.9 * rng.normal()).clamp(-2.5, 2.5);
        let mut visits = Vec::new();
        for n in 0..=VISITS {
            let date = visit_date(n);
            let age = (days(date) - days(dob)) as f64 / 30.4375;
            let (wt, lt, ht) = if boy {
                (&WEIGHT_L[..], &LENGTH_L[..], &HEAD_L[..])
            } else {
                (&WEIGHT_P[..], &LENGTH_P[..], &HEAD_P[..])
            };
            let standing = age >= 24.0;
            let weight = interp(wt, age) * (1.0 + 0.11 * weight_z + 0.02 * rng.normal());
            // Standing height is about 0.7 cm less than recumbent length.
            let stand = if standing { 0.7 } else { 0.0 };
            let height = interp(lt, age) * (1.0 + 0.036 * height_z) - stand + 0.2 * rng.normal();
            // Head circumference every third month under two; MUAC in February and August from 6 months.
            let head = (age < 24.0 && n % 3 == 0)
                .then(|| interp(ht, age) + 1.3 * head_z + 0.2 * rng.normal());
            let muac =
                (age >= 6.0 && (date.1 == 2 || date.1 == 8)).then(|| 14.6 + 0.9 * rng.normal());
            visits.push(Visit {
                date: date_str(date),
                // A dacin reads to 0.1 kg; lengths to 0.1 cm.
                weight_g: ((weight * 10.0).round() * 100.0) as u32,
                height_mm: (height * 10.0).round() as u32,
                position: if standing { "standing" } else { "lying" }.to_owned(),
                head_mm: head.map(|h| (h * 10.0).round() as u32),
                muac_mm: muac.map(|m| (m * 10.0).round() as u32),
            });
        }
        let later = visits.pop();
        if i % (CHILDREN / CHANGED) == 0
            && let Some(visit) = later
        {
            changes.push(Change { child: i, visit });
        }
        let given = if boy { &BOYS[..] } else { &GIRLS[..] };
        let name = format!(
            "{} {}",
            given[rng.below(given.len())],
            FAMILY[rng.below(FAMILY.len())]
        );
        let mother_name = format!(
            "{} {}",
            MOTHERS[rng.below(MOTHERS.len())],
            FAMILY[rng.below(FAMILY.len())]
        );
        let address = format!(
            "RT {:02} / RW {:02}, Dusun {}",
            1 + rng.below(8),
            1 + rng.below(4),
            DUSUN[rng.below(DUSUN.len())]
        );
        children.push(Child {
            id: String::new(),
            name,
            sex: if boy { "L" } else { "P" }.to_owned(),
            birth_date: date_str(dob),
            mother_name,
            address,
            visits,
        });
    }
    (children, changes)
}

/// Every call into `timbang_core` (adapt here when its API moves).
mod tc {
    use std::path::Path;
    use std::sync::Arc;

    use chrono::NaiveDate;
    use timbang_core::crypto::Key;
    use timbang_core::domain::{ChildId, Measurements, NewChild, Position, Sex, VisitEntry};
    use timbang_core::{FixedDate, Timbang};

    use super::{Child, Res, TODAY, Visit};

    fn open(db: &Path, key: &Key) -> Res<Timbang> {
        let today = NaiveDate::from_ymd_opt(TODAY.0, TODAY.1, TODAY.2).ok_or("bad TODAY")?;
        Ok(Timbang::open(db, key, Arc::new(FixedDate(today)))?)
    }

    fn key_path(db: &Path) -> String {
        format!("{}.key", db.display())
    }

    fn entry(v: &Visit) -> Res<VisitEntry> {
        Ok(VisitEntry {
            date: Some(v.date.parse()?),
            measured: Measurements {
                weight_g: Some(v.weight_g),
                height_mm: Some(v.height_mm),
                position: Some(if v.position == "standing" {
                    Position::Standing
                } else {
                    Position::Lying
                }),
                head_mm: v.head_mm,
                muac_mm: v.muac_mm,
                ..Default::default()
            },
            ..Default::default()
        })
    }

    /// A new phone A: key file, settings, team, the children (100 per transaction). Returns the
    /// children's ids and the pairing code.
    pub fn create(db: &Path, children: &[Child]) -> Res<(Vec<String>, String)> {
        let key = Key::make_random()?;
        {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(key_path(db))?;
            f.write_all(key.as_bytes())?;
        }
        let t = open(db, &key)?;
        t.init("Melati", "Sukamaju", "hp-1")?;
        let code = t.team_invite()?;
        let mut ids = Vec::with_capacity(children.len());
        for chunk in children.chunks(100) {
            let items = chunk
                .iter()
                .map(|c| {
                    let child = NewChild {
                        name: c.name.clone(),
                        sex: if c.sex == "L" { Sex::Male } else { Sex::Female },
                        birth_date: c.birth_date.parse()?,
                        nik: None,
                        kk: None,
                        mother_name: Some(c.mother_name.clone()),
                        mother_nik: None,
                        address: Some(c.address.clone()),
                    };
                    let visits = c.visits.iter().map(entry).collect::<Res<Vec<_>>>()?;
                    Ok((child, visits))
                })
                .collect::<Res<Vec<_>>>()?;
            ids.extend(
                t.import_batch(&items)?
                    .into_iter()
                    .map(|id| id.as_str().to_owned()),
            );
        }
        drop(t);
        // Leave one self-contained file (no WAL) so the driver can copy it.
        rusqlite::Connection::open(db)?.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        Ok((ids, code))
    }

    /// One new weighing for each `(child id, visit)`, as a kader records it (confirmed).
    pub fn change(db: &Path, items: &[(&str, &Visit)]) -> Res<()> {
        let bytes = std::fs::read(key_path(db))?;
        let t = open(db, &Key::from_bytes(&bytes)?)?;
        for (id, v) in items {
            t.record_visit(&ChildId::parse(id)?, entry(v)?, true)?;
        }
        drop(t);
        rusqlite::Connection::open(db)?.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        Ok(())
    }
}
