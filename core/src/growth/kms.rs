//! KMS growth status (N, T, O, B), 2T, BGM, and the minimum-gain (KBM) tables.
//!
//! Rules (DESIGN section 3; reference section 4.1), for a visit with a weight:
//!
//! 1. **B** (baru): the child has no earlier weighing at all.
//! 2. **O**: no weighing in the calendar month just before this visit's month (the comparator is the
//!    *latest* weighing of that previous month). An earlier weighing in the same month does not count
//!    as a comparator.
//! 3. **N** (naik): the weight line follows the growth curves (weight-for-age z not falling, with a
//!    real gain; [`NtRule`], parameters in `schema/id/kms-nt-rule-*.csv`) or the gain since the
//!    comparator reaches the KBM for the child's age in completed months at this visit (Buku KIA 2023);
//!    **T** (tidak naik) otherwise.
//!
//! 2T: this visit is T and the comparator weighing (previous calendar month) was T too. BGM: weight-for-age
//! z < -3 (rounded to 2 decimals, so -3.00 is not BGM).
//!
//! Ages are [`crate::domain::completed_months`], the one month rule of the whole core (born 2024-01-31:
//! 1 month on 2024-02-29). KBM for a child still in its first month (0 completed months) is the month-1
//! value; above 60 months, the month-60 value.

use std::sync::LazyLock;

use chrono::{Datelike, NaiveDate};

/// KMS growth status of one weighing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum KmsStatus {
    /// Naik: gained at least the KBM since last month's weighing.
    N,
    /// Tidak naik.
    T,
    /// Not weighed in the previous calendar month.
    O,
    /// Baru: first weighing.
    B,
}

impl KmsStatus {
    /// The letter.
    pub fn as_str(&self) -> &'static str {
        match self {
            KmsStatus::N => "N",
            KmsStatus::T => "T",
            KmsStatus::O => "O",
            KmsStatus::B => "B",
        }
    }
}

impl std::fmt::Display for KmsStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for KmsStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "N" => Ok(KmsStatus::N),
            "T" => Ok(KmsStatus::T),
            "O" => Ok(KmsStatus::O),
            "B" => Ok(KmsStatus::B),
            _ => Err(()),
        }
    }
}

/// A KBM table (minimum weight gain in grams by age in completed months), embedded from
/// `schema/id/kbm-*.csv`. Each file starts with `#` comment lines citing its source.
#[derive(Debug)]
pub struct KbmTable {
    id: String,
    source: String,
    /// `by_month[m]` = KBM at m completed months; index 0 unused (None).
    by_month: Vec<Option<u32>>,
}

const KBM_FILES: &[&str] = &[
    // The first one is the default.
    include_str!("../../../schema/id/kbm-kms-permenkes-155-2010.csv"),
    include_str!("../../../schema/id/kbm-kms-programme-file.csv"),
];

#[allow(
    clippy::expect_used,
    reason = "embedded data; a defect must fail loudly in tests"
)]
fn parse_kbm(text: &str) -> KbmTable {
    let mut id = None;
    let mut source = String::new();
    let mut by_month: Vec<Option<u32>> = Vec::new();
    let mut header_seen = false;
    for line in text.lines() {
        let line = line.trim();
        if let Some(comment) = line.strip_prefix('#') {
            let comment = comment.trim();
            if let Some(v) = comment.strip_prefix("id:") {
                id = Some(v.trim().to_owned());
            } else {
                if !source.is_empty() {
                    source.push('\n');
                }
                source.push_str(comment);
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        if !header_seen {
            assert_eq!(line, "age_months,min_gain_g", "KBM table: bad header");
            header_seen = true;
            continue;
        }
        let (m, g) = line.split_once(',').expect("KBM table: bad row");
        let m: usize = m.trim().parse().expect("KBM table: bad month");
        let g: u32 = g.trim().parse().expect("KBM table: bad grams");
        if by_month.len() <= m {
            by_month.resize(m + 1, None);
        }
        by_month[m] = Some(g);
    }
    KbmTable {
        id: id.expect("KBM table: no '# id:' line"),
        source,
        by_month,
    }
}

static KBM_TABLES: LazyLock<Vec<KbmTable>> =
    LazyLock::new(|| KBM_FILES.iter().map(|t| parse_kbm(t)).collect());

impl KbmTable {
    /// The cited default table (`kms-permenkes-155-2010`).
    #[allow(clippy::expect_used, reason = "KBM_FILES is a non-empty constant")]
    pub fn default_table() -> &'static KbmTable {
        KBM_TABLES.first().expect("at least one KBM table")
    }

    /// A shipped table by id.
    pub fn by_id(id: &str) -> Option<&'static KbmTable> {
        KBM_TABLES.iter().find(|t| t.id == id)
    }

    /// Ids of all shipped tables, the default first.
    pub fn ids() -> Vec<&'static str> {
        KBM_TABLES.iter().map(|t| t.id.as_str()).collect()
    }

    /// KBM in grams for a child of `age_months` completed months, as the table says (`None` where the
    /// table has no row, e.g. month 0).
    pub fn min_gain_g(&self, age_months: u32) -> Option<u32> {
        self.by_month.get(age_months as usize).copied().flatten()
    }

    /// KBM used by the KMS rule: month 0 uses the first row, ages past the table use the last row.
    pub fn min_gain_for_rule(&self, age_months: u32) -> Option<u32> {
        self.min_gain_g(age_months).or_else(|| {
            let first = self.by_month.iter().position(Option::is_some)?;
            let last = self.by_month.iter().rposition(Option::is_some)?;
            let m = (age_months as usize).clamp(first, last);
            self.by_month.get(m).copied().flatten()
        })
    }

    /// Stable id, recorded in every assessment's `rules_version`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The citation and caveats from the table file's header comment.
    pub fn source(&self) -> &str {
        &self.source
    }
}

/// The N/T rule of the KMS (Buku KIA 2023): N when the weight line follows the growth curves or the
/// gain reaches the KBM. Its parameters are data, `schema/id/kms-nt-rule-*.csv`, whose header cites the
/// source and states the operational definition of "follows the growth curves".
#[derive(Debug)]
pub struct NtRule {
    id: String,
    source: String,
    /// The largest fall of the weight-for-age z (2 decimals) that still follows the curves.
    pub max_waz_fall: f64,
    /// The smallest gain in grams a line following the curves must show (a flat line is T).
    pub min_gain_g: i64,
}

const NT_RULE_FILE: &str = include_str!("../../../schema/id/kms-nt-rule-buku-kia-2023.csv");

#[allow(
    clippy::expect_used,
    reason = "embedded data; a defect must fail loudly in tests"
)]
fn parse_nt_rule(text: &str) -> NtRule {
    let mut id = None;
    let mut source = String::new();
    let mut params: Vec<(String, String)> = Vec::new();
    let mut header_seen = false;
    for line in text.lines().map(str::trim) {
        if let Some(comment) = line.strip_prefix('#') {
            let comment = comment.trim();
            match comment.strip_prefix("id:") {
                Some(v) => id = Some(v.trim().to_owned()),
                None => {
                    if !source.is_empty() {
                        source.push('\n');
                    }
                    source.push_str(comment);
                }
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        if !header_seen {
            assert_eq!(line, "parameter,value", "N/T rule: bad header");
            header_seen = true;
            continue;
        }
        let (k, v) = line.split_once(',').expect("N/T rule: bad row");
        params.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    let get = |k: &str| -> &str {
        params
            .iter()
            .find(|(p, _)| p == k)
            .map(|(_, v)| v.as_str())
            .expect("N/T rule: missing parameter")
    };
    NtRule {
        id: id.expect("N/T rule: no '# id:' line"),
        source,
        max_waz_fall: get("max_waz_fall").parse().expect("N/T rule: max_waz_fall"),
        min_gain_g: get("min_gain_g").parse().expect("N/T rule: min_gain_g"),
    }
}

static NT_RULE: LazyLock<NtRule> = LazyLock::new(|| parse_nt_rule(NT_RULE_FILE));

impl NtRule {
    /// The rule this build uses.
    pub fn current() -> &'static NtRule {
        &NT_RULE
    }

    /// Stable id, recorded in every assessment's `rules_version`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The citation, operational definition and caveats from the file's header comment.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// N or T for a weighing with a comparator in the previous calendar month: `gain_g` since the
    /// comparator, `kbm_g` for the age, and the weight-for-age z at both weighings.
    pub fn status(
        &self,
        gain_g: i64,
        kbm_g: Option<u32>,
        waz_before: Option<f64>,
        waz_now: Option<f64>,
    ) -> KmsStatus {
        let by_kbm = kbm_g.is_some_and(|k| gain_g >= i64::from(k));
        let by_curve = match (waz_before, waz_now) {
            (Some(b), Some(n)) => {
                // Compare in hundredths: the z-scores are 2-decimal values.
                let fall = ((b - n) * 100.0).round() as i64;
                let max_fall = (self.max_waz_fall * 100.0).round() as i64;
                gain_g >= self.min_gain_g && fall <= max_fall
            }
            _ => false,
        };
        if by_kbm || by_curve {
            KmsStatus::N
        } else {
            KmsStatus::T
        }
    }
}

/// Index of the calendar month (year * 12 + month0), for "previous month" arithmetic.
pub(crate) fn month_index(d: NaiveDate) -> i64 {
    i64::from(d.year()) * 12 + i64::from(d.month0())
}

/// Weight difference in whole grams.
pub(crate) fn gain_grams(now_kg: f64, before_kg: f64) -> i64 {
    ((now_kg - before_kg) * 1000.0).round() as i64
}
