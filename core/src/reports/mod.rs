//! Reports produced from the one record: SKDN (here), and the register, exports and growth chart in the
//! sibling modules. Pure functions over plain inputs that the facade (`api/reports.rs`) reads from the
//! projections; nothing here does I/O, so every rule is tested with hand-computed tables.

pub mod agregat;
pub mod chart;
pub mod dashboard;
pub mod export;
pub mod kohort;
mod skdn;
pub mod warnings;
pub mod xlsx;

pub use skdn::{Mismatch, MonthWeighing, Skdn, SkdnChild, is_target, skdn};

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::error::{Error, Result};

/// Parse a year (`YYYY`) typed by a person; the error names the field `year`.
pub fn parse_year(text: &str) -> Result<i32> {
    let t = text.trim();
    let bad = || {
        Error::invalid(
            "year",
            format!("Tahun '{t}' tidak sah; tulis empat angka seperti 2025."),
            format!("year '{t}' is not YYYY"),
        )
    };
    if t.len() != 4 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let year: i32 = t.parse().map_err(|_| bad())?;
    if !(1900..=2200).contains(&year) {
        return Err(bad());
    }
    Ok(year)
}

/// A calendar month (`YYYY-MM`), the period of every posyandu report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    month: u32,
}

impl Month {
    /// The month of `d`.
    pub fn of(d: NaiveDate) -> Self {
        Self {
            year: d.year(),
            month: d.month(),
        }
    }

    /// A month from its year and number (1 to 12).
    pub fn new(year: i32, month: u32) -> Option<Self> {
        NaiveDate::from_ymd_opt(year, month, 1).map(Self::of)
    }

    /// Parse `YYYY-MM` typed by a person; the error names the field `month`.
    pub fn parse(text: &str) -> Result<Self> {
        let t = text.trim();
        let bad = || {
            Error::invalid(
                "month",
                format!("Bulan '{t}' tidak sah; tulis tahun dan bulan seperti 2025-06."),
                format!("month '{t}' is not YYYY-MM"),
            )
        };
        let (y, m) = t.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        if !(1900..=2200).contains(&year) {
            return Err(bad());
        }
        Self::new(year, month).ok_or_else(bad)
    }

    pub fn year(self) -> i32 {
        self.year
    }

    /// 1 to 12.
    pub fn number(self) -> u32 {
        self.month
    }

    /// The first day.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or_default()
    }

    /// The last day.
    pub fn last_day(self) -> NaiveDate {
        self.next().first_day().pred_opt().unwrap_or_default()
    }

    /// The month before.
    pub fn prev(self) -> Self {
        if self.month == 1 {
            Self {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Self {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// The month after.
    pub fn next(self) -> Self {
        if self.month == 12 {
            Self {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Self {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// Whether `d` falls in this month.
    pub fn contains(self, d: NaiveDate) -> bool {
        Self::of(d) == self
    }

    /// The month's name in Bahasa Indonesia with the year ("Juni 2025").
    pub fn label_id(self) -> String {
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
        format!("{} {}", NAMES[(self.month - 1) as usize % 12], self.year)
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl Serialize for Month {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn months_parse_and_step() {
        let m = Month::parse("2025-01").unwrap();
        assert_eq!(m.to_string(), "2025-01");
        assert_eq!(m.prev().to_string(), "2024-12");
        assert_eq!(m.next().to_string(), "2025-02");
        assert_eq!(
            Month::parse("2024-02").unwrap().last_day().to_string(),
            "2024-02-29"
        );
        assert_eq!(
            Month::parse("2025-12").unwrap().last_day().to_string(),
            "2025-12-31"
        );
        assert_eq!(m.label_id(), "Januari 2025");
        for bad in [
            "2025-13", "2025-1", "25-01", "2025/01", "", "2025-00", "abcd-ef",
        ] {
            let e = Month::parse(bad).unwrap_err();
            assert_eq!(e.field(), Some("month"), "{bad}");
        }
    }

    #[test]
    fn years_parse_and_bad_ones_name_the_field() {
        assert_eq!(parse_year(" 2025 ").unwrap(), 2025);
        for bad in ["25", "2025-01", "", "abcd", "+202", "1899", "20255"] {
            let e = parse_year(bad).unwrap_err();
            assert_eq!(e.field(), Some("year"), "{bad}");
            assert!(e.message_id().contains("Tahun"), "{bad}");
        }
    }
}
