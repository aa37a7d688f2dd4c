//! The vitamin A round calendar (`schema/id/vitamin-a-rounds.csv`): which round a capsule belongs to.
//! Rounds move (a ministry letter can move a round), so the calendar is data.

use std::sync::LazyLock;

use chrono::{Datelike, NaiveDate};

/// A vitamin A round: its year and the month it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Round {
    pub year: i32,
    pub month: u32,
}

impl std::fmt::Display for Round {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const NAMES: [&str; 12] = [
            "Januari",
            "Februari",
            "Maret",
            "April",
            "Mei",
            "Juni",
            "Juli",
            "Agustus",
            "September",
            "Oktober",
            "November",
            "Desember",
        ];
        let name = NAMES
            .get(self.month.saturating_sub(1) as usize)
            .copied()
            .unwrap_or("?");
        write!(f, "{name} {}", self.year)
    }
}

/// The calendar: default round months and the moved rounds.
#[derive(Debug)]
pub struct RoundCalendar {
    id: String,
    source: String,
    default_months: Vec<u32>,
    /// (year, default month, moved to month).
    moved: Vec<(i32, u32, u32)>,
}

const ROUNDS_FILE: &str = include_str!("../../../schema/id/vitamin-a-rounds.csv");

#[allow(
    clippy::expect_used,
    reason = "embedded data; a defect must fail loudly in tests"
)]
fn parse(text: &str) -> RoundCalendar {
    let mut id = None;
    let mut source = String::new();
    let mut default_months = Vec::new();
    let mut moved = Vec::new();
    let mut in_moves = false;
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
        if let Some(ms) = line.strip_prefix("default_months,") {
            default_months = ms
                .split_whitespace()
                .map(|m| m.parse().expect("rounds: bad default month"))
                .collect();
            continue;
        }
        if line == "year,default_month,moved_to_month" {
            in_moves = true;
            continue;
        }
        assert!(in_moves, "rounds: a row before the header");
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        assert_eq!(f.len(), 3, "rounds: bad row");
        moved.push((
            f[0].parse().expect("rounds: year"),
            f[1].parse().expect("rounds: month"),
            f[2].parse().expect("rounds: month"),
        ));
    }
    assert!(!default_months.is_empty(), "rounds: no default months");
    RoundCalendar {
        id: id.expect("rounds: no '# id:' line"),
        source,
        default_months,
        moved,
    }
}

static CALENDAR: LazyLock<RoundCalendar> = LazyLock::new(|| parse(ROUNDS_FILE));

impl RoundCalendar {
    /// The calendar this build uses.
    pub fn current() -> &'static RoundCalendar {
        &CALENDAR
    }

    /// Stable id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The citation and caveats of the file.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The round months of `year`, moved rounds applied, in order.
    pub fn months(&self, year: i32) -> Vec<u32> {
        let mut ms: Vec<u32> = self
            .default_months
            .iter()
            .map(|m| {
                self.moved
                    .iter()
                    .find(|(y, from, _)| *y == year && from == m)
                    .map_or(*m, |(_, _, to)| *to)
            })
            .collect();
        ms.sort_unstable();
        ms
    }

    /// The round a capsule given on `date` belongs to: the latest round that started on or before
    /// `date` (its month's first day).
    pub fn round_of(&self, date: NaiveDate) -> Round {
        let (y, m) = (date.year(), date.month());
        if let Some(month) = self.months(y).into_iter().rev().find(|rm| *rm <= m) {
            return Round { year: y, month };
        }
        let month = self.months(y - 1).last().copied().unwrap_or(12);
        Round { year: y - 1, month }
    }
}
