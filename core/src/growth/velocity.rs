//! WHO 2009 weight-increment standards (`schema/who-2009/weight-increments-*.csv`): the limit of a
//! plausible weight gain between two weighings, for the `weight_jump` concern.
//!
//! Which row: the age at the earlier weighing in months (days / 30.4375, as WHO), and the interval.
//! * An interval of at most 45 days before 12 months: the 1-month increment starting at that month.
//! * Otherwise, up to 24 months: the 2-month increment starting at that month (from 22 months, the
//!   22-24 months row).
//! * **Past 24 months WHO has no velocity standard.** The 22-24 months 2-month row is used, per 2 months
//!   of interval: growth slows after two years, so this is a lenient bound there (it flags only a gain
//!   that would be extreme even at 22-24 months).
//!
//! The limit is the row's +3 SD increment (the 99.87th percentile), scaled up linearly when the interval
//! is longer than the row's (never down), plus 200 g for the resolution of a dacin (0.1 kg at both
//! weighings).

use std::sync::LazyLock;

use super::Sex;

/// Grams added to the +3 SD increment for scale resolution (0.1 kg at each of the two weighings).
pub const SCALE_TOLERANCE_G: i64 = 200;
/// Longest interval (days) judged by the 1-month increments.
pub const ONE_MONTH_MAX_DAYS: i64 = 45;
const DAYS_PER_MONTH: f64 = 30.4375;

/// One row of a WHO increment table (grams over the interval).
#[derive(Debug, Clone, PartialEq)]
pub struct IncrementRow {
    pub sex: Sex,
    pub interval: String,
    pub from_month: u32,
    pub to_month: u32,
    /// The -3, -2, -1, 0, +1, +2, +3 SD increments in grams.
    pub sd: [i64; 7],
}

impl IncrementRow {
    /// The +3 SD increment (99.87th percentile).
    pub fn sd3(&self) -> i64 {
        self.sd[6]
    }
    /// The median increment.
    pub fn median(&self) -> i64 {
        self.sd[3]
    }
}

/// A WHO increment table (1-month or 2-month).
#[derive(Debug)]
pub struct IncrementTable {
    id: String,
    source: String,
    rows: Vec<IncrementRow>,
}

#[allow(
    clippy::expect_used,
    reason = "embedded data; a defect must fail loudly in tests"
)]
fn parse(text: &str) -> IncrementTable {
    let mut id = None;
    let mut source = String::new();
    let mut rows = Vec::new();
    let mut header = false;
    for line in text.lines().map(str::trim) {
        if let Some(c) = line.strip_prefix('#') {
            let c = c.trim();
            match c.strip_prefix("id:") {
                Some(v) => id = Some(v.trim().to_owned()),
                None => {
                    if !source.is_empty() {
                        source.push('\n');
                    }
                    source.push_str(c);
                }
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        if !header {
            assert!(
                line.starts_with("sex,interval,from_month,to_month"),
                "increments: header"
            );
            header = true;
            continue;
        }
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 15, "increments: bad row");
        let mut sd = [0i64; 7];
        for (i, v) in f[8..15].iter().enumerate() {
            sd[i] = v.parse().expect("increments: grams");
        }
        rows.push(IncrementRow {
            sex: f[0].parse().expect("increments: sex"),
            interval: f[1].to_owned(),
            from_month: f[2].parse().expect("increments: month"),
            to_month: f[3].parse().expect("increments: month"),
            sd,
        });
    }
    IncrementTable {
        id: id.expect("increments: no '# id:' line"),
        source,
        rows,
    }
}

static ONE_MONTH: LazyLock<IncrementTable> = LazyLock::new(|| {
    parse(include_str!(
        "../../../schema/who-2009/weight-increments-1mon.csv"
    ))
});
static TWO_MONTH: LazyLock<IncrementTable> = LazyLock::new(|| {
    parse(include_str!(
        "../../../schema/who-2009/weight-increments-2mon.csv"
    ))
});

impl IncrementTable {
    /// The 1-month increments (0 to 12 months).
    pub fn one_month() -> &'static IncrementTable {
        &ONE_MONTH
    }
    /// The 2-month increments (0 to 24 months).
    pub fn two_month() -> &'static IncrementTable {
        &TWO_MONTH
    }
    /// Stable id.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The citation from the file.
    pub fn source(&self) -> &str {
        &self.source
    }
    /// Every row.
    pub fn rows(&self) -> &[IncrementRow] {
        &self.rows
    }
    /// The row of `sex` starting at `from_month`.
    pub fn row(&self, sex: Sex, from_month: u32) -> Option<&IncrementRow> {
        self.rows
            .iter()
            .find(|r| r.sex == sex && r.from_month == from_month)
    }
}

/// The largest plausible gain in grams between a weighing at `earlier_age_days` and one
/// `interval_days` later, with the WHO row it rests on (see the module docs).
pub fn max_gain_g(
    sex: Sex,
    earlier_age_days: i64,
    interval_days: i64,
) -> (i64, Option<&'static IncrementRow>) {
    let months = (earlier_age_days.max(0) as f64 / DAYS_PER_MONTH).floor() as u32;
    let interval_months = interval_days.max(0) as f64 / DAYS_PER_MONTH;
    let (row, nominal) = if interval_days <= ONE_MONTH_MAX_DAYS && months < 12 {
        (IncrementTable::one_month().row(sex, months), 1.0)
    } else {
        (IncrementTable::two_month().row(sex, months.min(22)), 2.0)
    };
    let Some(row) = row else {
        return (i64::MAX, None);
    };
    let scale = (interval_months / nominal).max(1.0);
    (
        (row.sd3() as f64 * scale).round() as i64 + SCALE_TOLERANCE_G,
        Some(row),
    )
}
