//! What the crash harness's worker (`src/bin/crash_worker.rs`) and its test (`tests/crash.rs`) share:
//! the key, the clock, a seeded random source, the synthetic children and visits, and the words of the
//! lines the worker prints. Everything is made from seeds, so the test can rebuild what an import
//! batch held from the seed the worker printed.
//!
//! The worker prints one line per event to stdout and flushes it:
//!
//! | line | meaning |
//! | --- | --- |
//! | `begin OP` | a call is about to start (the test knows what was in flight when the kill landed) |
//! | `ack OP` | the call returned Ok: an acknowledged write, which must survive any crash after it |
//! | `have child INDEX ID` | at start-up: this worker's child INDEX is stored under ID |
//! | `ready` | set up; the main loop starts |
//! | `fail sync REASON` | a session failed (the other side was killed, say); the loop goes on |
//! | `code CODE`, `listening ADDR`, `wrote`, `served ok/fail ...` | the `serve` mode's own lines |
//! | `done` | `--rounds` finished and the database was closed normally |
//!
//! `OP` is one of `init`, `join`, `team`, `reopen`, `child INDEX [ID]` (the id only in the ack),
//! `visit CHILD DATE WEIGHT_G HEIGHT_MM|- SERVICES|-`, `import N SEED [IDS...]` (the ids only in the
//! ack) and `sync [completed=... docs_sent=... docs_received=...]`.

use std::sync::Arc;

use chrono::NaiveDate;
use timbang_core::crypto::{self, Key};
use timbang_core::domain::{Measurements, NewChild, Position, Service, Services, Sex, VisitEntry};
use timbang_core::{Clock, FixedDate};

/// "Today" for every worker and check.
pub const TODAY: &str = "2025-06-15";

/// The 32-byte key every harness database is sealed with (derived from a fixed text: synthetic data
/// only).
pub fn key() -> Key {
    // A 32-byte digest always makes a key.
    match Key::from_bytes(&crypto::sha256(b"timbang crash harness: synthetic key")) {
        Ok(k) => k,
        Err(_) => unreachable!("a SHA-256 digest is 32 bytes"),
    }
}

/// The clock: a fixed date.
pub fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedDate(today()))
}

/// [`TODAY`] as a date.
pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, 15).unwrap_or_default()
}

/// A small seeded random source (SplitMix64): the same seed gives the same run.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A source from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..hi` (`lo` when the range is empty).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next_u64() % (hi - lo)
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.range(0, den) < num
    }

    /// A number between `lo` and `hi` spread evenly on a log scale (many short values, some long).
    pub fn log_range(&mut self, lo: u64, hi: u64) -> u64 {
        let (l, h) = ((lo.max(1) as f64).ln(), (hi.max(lo + 1) as f64).ln());
        let u = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        (l + (h - l) * u).exp().round() as u64
    }
}

/// The children a worker registers itself (record mode, and each side of a sync): `role` names the
/// worker (`Catat`, `Tuan`, `Tamu`), so names never collide between the two sides of a sync.
pub fn own_child(role: &str, index: usize) -> NewChild {
    let birth = NaiveDate::from_ymd_opt(2023, 11, 3).unwrap_or_default()
        + chrono::Days::new(23 * index as u64);
    NewChild {
        name: format!("Anak {role} {index}"),
        sex: if index.is_multiple_of(2) {
            Sex::Male
        } else {
            Sex::Female
        },
        birth_date: birth,
        nik: None,
        kk: None,
        mother_name: Some(format!("Ibu {role} {index}")),
        mother_nik: None,
        address: Some(format!("Dusun Uji RT {index:02}")),
    }
}

/// How many children a worker of `role` registers itself.
pub fn own_children(role: &str) -> usize {
    if role == "Catat" { 6 } else { 3 }
}

/// The visit dates the record loop chooses from: few enough that a date is often written again
/// (correcting a visit), so the harness also covers overwrites.
pub fn visit_dates() -> Vec<NaiveDate> {
    let first = NaiveDate::from_ymd_opt(2025, 1, 4).unwrap_or_default();
    (0..30).map(|k| first + chrono::Days::new(5 * k)).collect()
}

/// One visit as the worker records it and the test checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitRec {
    pub child: String,
    pub date: NaiveDate,
    pub weight_g: u32,
    pub height_mm: Option<u32>,
    pub services: Vec<Service>,
}

impl VisitRec {
    /// A random visit for `child` (plausible values; some come with a height, head circumference,
    /// LiLA and services).
    pub fn random(rng: &mut Rng, child: &str) -> Self {
        let dates = visit_dates();
        let date = dates[rng.range(0, dates.len() as u64) as usize];
        let services = Service::ALL
            .into_iter()
            .filter(|_| rng.chance(1, 4))
            .collect();
        Self {
            child: child.to_owned(),
            date,
            weight_g: rng.range(6_500, 12_500) as u32,
            height_mm: rng.chance(1, 2).then(|| rng.range(650, 850) as u32),
            services,
        }
    }

    /// What `record_visit` is given (the head circumference and LiLA depend only on the weight, so they
    /// need no words of their own).
    pub fn entry(&self) -> VisitEntry {
        let mut services = Services::default();
        for s in &self.services {
            services.insert(*s);
        }
        VisitEntry {
            date: Some(self.date),
            measured: Measurements {
                weight_g: Some(self.weight_g),
                height_mm: self.height_mm,
                position: self.height_mm.map(|_| Position::Lying),
                head_mm: self
                    .weight_g
                    .is_multiple_of(3)
                    .then_some(420 + self.weight_g % 60),
                muac_mm: self
                    .weight_g
                    .is_multiple_of(5)
                    .then_some(125 + self.weight_g % 40),
                oedema: None,
            },
            services,
        }
    }

    /// `CHILD DATE WEIGHT_G HEIGHT_MM|- SERVICES|-`.
    pub fn words(&self) -> String {
        let height = self
            .height_mm
            .map_or_else(|| "-".to_owned(), |h| h.to_string());
        let services = if self.services.is_empty() {
            "-".to_owned()
        } else {
            let codes: Vec<&str> = self.services.iter().map(|s| s.code()).collect();
            codes.join(",")
        };
        format!(
            "{} {} {} {height} {services}",
            self.child, self.date, self.weight_g
        )
    }

    /// Read back what [`VisitRec::words`] wrote.
    pub fn parse(words: &[&str]) -> Option<Self> {
        let [child, date, weight, height, services] = words else {
            return None;
        };
        Some(Self {
            child: (*child).to_owned(),
            date: date.parse().ok()?,
            weight_g: weight.parse().ok()?,
            height_mm: match *height {
                "-" => None,
                h => Some(h.parse().ok()?),
            },
            services: match *services {
                "-" => Vec::new(),
                s => s
                    .split(',')
                    .map(|c| Service::parse(c).ok())
                    .collect::<Option<_>>()?,
            },
        })
    }
}

/// The children (with their visits) of one import batch, made from `seed`: `n` children, each with 2
/// to 6 monthly visits. Names carry the seed, so a batch's children are found by name.
pub fn import_items(seed: u64, n: usize) -> Vec<(NewChild, Vec<VisitEntry>)> {
    let mut rng = Rng::new(seed.wrapping_mul(31).wrapping_add(7));
    let today = today();
    (0..n)
        .map(|j| {
            let birth = NaiveDate::from_ymd_opt(2023, 7, 1).unwrap_or_default()
                + chrono::Days::new(rng.range(0, 520));
            let child = NewChild {
                name: import_name(seed, j),
                sex: if rng.chance(1, 2) {
                    Sex::Male
                } else {
                    Sex::Female
                },
                birth_date: birth,
                nik: None,
                kk: None,
                mother_name: Some(format!("Ibu Impor {seed} {j}")),
                mother_nik: None,
                address: Some(format!("Dusun Impor {}", j % 7)),
            };
            let months: Vec<u32> = (0..24)
                .filter(|m| birth + chrono::Months::new(*m) + chrono::Days::new(2) <= today)
                .collect();
            let count = rng.range(2, 7) as usize;
            let visits = months
                .iter()
                .rev()
                .take(count)
                .rev()
                .map(|m| VisitEntry {
                    date: Some(birth + chrono::Months::new(*m) + chrono::Days::new(2)),
                    measured: Measurements {
                        weight_g: Some(3_300 + 430 * m + rng.range(0, 300) as u32),
                        height_mm: Some(500 + 18 * m + rng.range(0, 15) as u32),
                        position: Some(Position::Lying),
                        ..Default::default()
                    },
                    ..Default::default()
                })
                .collect();
            (child, visits)
        })
        .collect()
}

/// The name of child `j` of import batch `seed`.
pub fn import_name(seed: u64, j: usize) -> String {
    format!("Anak Impor {seed} {j}")
}

/// How many children import batch `seed` holds (3 to 6).
pub fn import_size(seed: u64) -> usize {
    3 + (seed % 4) as usize
}

/// The import the serving side of a sync holds from its first start (whole documents for the dialling
/// side to pull).
pub const SERVE_IMPORT_SEED: u64 = 900_001;
/// How many children that import holds.
pub const SERVE_IMPORT_SIZE: usize = 40;
