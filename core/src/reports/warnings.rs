//! Early warnings for the bidan's notifications and dashboard: a child newly gizi buruk or gizi kurang,
//! newly pendek, 2T, BGM, a weight loss of more than 10 %, not weighed for 3 months; a posyandu whose D/S or
//! N/D fell month after month. The rules and windows are data (`schema/id/warnings.csv`); a child warning
//! is raised by the referral reasons the growth engine stored with the visits (one rule in one place) and
//! a posyandu warning by the SKDN of each month ([`super::skdn`]).

use std::sync::LazyLock;

use chrono::NaiveDate;
use serde::Serialize;

use super::{Month, Skdn};
use crate::growth::{ReferralReason, StatusGizi, not_weighed_referral};

/// The warnings table shipped with Timbang.
pub const WARNINGS_TABLE: &str = include_str!("../../../schema/id/warnings.csv");

/// One row of the warnings table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarningRule {
    pub code: String,
    /// `anak` or `posyandu`.
    pub scope: String,
    /// The window (child) or the number of falling months (posyandu); None when the rule has none.
    pub months: Option<u32>,
    pub text_id: String,
    pub source: String,
}

#[allow(
    clippy::expect_used,
    reason = "embedded data; a defect must fail loudly in tests"
)]
fn parse_rules(text: &str) -> Vec<WarningRule> {
    let mut rows = Vec::new();
    let mut header = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if !header {
            assert_eq!(line, "code,scope,months,text_id,source", "warnings: header");
            header = true;
            continue;
        }
        let f: Vec<&str> = line.splitn(4, ',').collect();
        assert_eq!(f.len(), 4, "warnings: row {line}");
        let (text, source) = f[3].rsplit_once(',').expect("warnings: row");
        rows.push(WarningRule {
            code: f[0].trim().to_owned(),
            scope: f[1].trim().to_owned(),
            months: (!f[2].trim().is_empty())
                .then(|| f[2].trim().parse().expect("warnings: months")),
            text_id: text.trim().to_owned(),
            source: source.trim().to_owned(),
        });
    }
    rows
}

static RULES: LazyLock<Vec<WarningRule>> = LazyLock::new(|| parse_rules(WARNINGS_TABLE));

/// Every row of the warnings table, in its order.
pub fn warning_rules() -> &'static [WarningRule] {
    &RULES
}

/// One visit of a child as the warnings read it.
#[derive(Debug, Clone, PartialEq)]
pub struct WarningVisit {
    pub date: NaiveDate,
    pub weighed: bool,
    /// Length or height measured.
    pub measured_length: bool,
    pub status_gizi: Option<StatusGizi>,
    /// The referral reasons stored with the visit.
    pub referral: Vec<ReferralReason>,
}

/// One kept child with all its visits, by date.
#[derive(Debug, Clone, PartialEq)]
pub struct WarningChild {
    pub child_id: String,
    pub name: String,
    pub posyandu: String,
    pub birth_date: Option<NaiveDate>,
    pub visits: Vec<WarningVisit>,
}

/// One warning.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Warning {
    pub code: String,
    /// None for a posyandu warning.
    pub child_id: Option<String>,
    pub name: Option<String>,
    pub posyandu: String,
    /// When the condition began (the first visit of the run; the first day of the first falling month).
    pub since: NaiveDate,
    pub text: String,
}

fn months_between(a: Month, b: Month) -> i64 {
    i64::from(b.year() - a.year()) * 12 + i64::from(b.number()) - i64::from(a.number())
}

fn date_id(d: NaiveDate) -> String {
    use chrono::Datelike;
    let m = Month::of(d).label_id();
    format!("{} {m}", d.day())
}

/// Whether a visit of the kind the rule reads, and whether it carries the condition.
fn reads(code: &str, v: &WarningVisit) -> Option<bool> {
    let has = |r: ReferralReason| v.referral.contains(&r);
    match code {
        "GIZI_BURUK" => v.status_gizi.map(|s| s == StatusGizi::GiziBuruk),
        "GIZI_KURANG" => v
            .status_gizi
            .map(|s| matches!(s, StatusGizi::GiziKurang | StatusGizi::GiziBuruk)),
        "PENDEK_BARU" => v
            .measured_length
            .then(|| has(ReferralReason::PendekBaru) || has(ReferralReason::SangatPendek)),
        "2T" => v.weighed.then(|| has(ReferralReason::TwoT)),
        "BGM" => v.weighed.then(|| has(ReferralReason::Bgm)),
        "BB_TURUN_10_PERSEN" => v.weighed.then(|| has(ReferralReason::WeightLoss10)),
        _ => None,
    }
}

/// Whether the latest visit the rule reads is the one that names the condition itself (for gizi kurang:
/// the latest status is gizi kurang, not gizi buruk, which has its own warning; for pendek: the run began
/// with a newly pendek visit).
fn latest_matches(code: &str, v: &WarningVisit) -> bool {
    match code {
        "GIZI_KURANG" => v.status_gizi == Some(StatusGizi::GiziKurang),
        _ => true,
    }
}

/// The date the condition of `code` began for a child, when its latest visit of the kind carries it.
fn child_since(code: &str, visits: &[WarningVisit]) -> Option<NaiveDate> {
    let read: Vec<(&WarningVisit, bool)> = visits
        .iter()
        .filter_map(|v| reads(code, v).map(|b| (v, b)))
        .collect();
    let (last, true) = read.last().copied()? else {
        return None;
    };
    if !latest_matches(code, last) {
        return None;
    }
    let start = read
        .iter()
        .rev()
        .take_while(|(_, b)| *b)
        .last()
        .map_or(last.date, |(v, _)| v.date);
    if code == "PENDEK_BARU" {
        // The run must begin with the visit that found the child newly pendek.
        let first = read
            .iter()
            .find(|(v, _)| v.date == start)
            .map(|(v, _)| *v)?;
        if !first.referral.contains(&ReferralReason::PendekBaru) {
            return None;
        }
    }
    Some(start)
}

/// The warnings of every child and posyandu as of `today`. `skdn` holds, per posyandu, its SKDN of
/// consecutive months, oldest first, ending with today's month. Children first (by the table's order,
/// then by name), then posyandu.
pub fn warnings(today: NaiveDate, children: &[WarningChild], skdn: &[Vec<Skdn>]) -> Vec<Warning> {
    let this = Month::of(today);
    let mut out = Vec::new();
    for rule in warning_rules().iter().filter(|r| r.scope == "anak") {
        let mut found: Vec<Warning> = Vec::new();
        for c in children {
            let since = if rule.code == "TIDAK_DITIMBANG_3BLN" {
                let Some(birth) = c.birth_date else { continue };
                let last = c.visits.iter().rev().find(|v| v.weighed).map(|v| v.date);
                if not_weighed_referral(last, birth, today).is_none() {
                    continue;
                }
                last.unwrap_or(birth)
            } else {
                let Some(s) = child_since(&rule.code, &c.visits) else {
                    continue;
                };
                let window = i64::from(rule.months.unwrap_or(0));
                let ago = months_between(Month::of(s), this);
                if !(0..=window).contains(&ago) {
                    continue;
                }
                s
            };
            let what = if rule.code == "TIDAK_DITIMBANG_3BLN" {
                format!("{} (terakhir {})", rule.text_id, date_id(since))
            } else {
                format!("{} sejak {}", rule.text_id, date_id(since))
            };
            found.push(Warning {
                code: rule.code.clone(),
                child_id: Some(c.child_id.clone()),
                name: Some(c.name.clone()),
                posyandu: c.posyandu.clone(),
                since,
                text: format!("{}: {what}.", c.name),
            });
        }
        found.sort_by_key(|w| w.name.as_deref().map(str::to_lowercase));
        out.extend(found);
    }
    for rule in warning_rules().iter().filter(|r| r.scope == "posyandu") {
        let n = rule.months.unwrap_or(2).max(1) as usize;
        let ratio = |s: &Skdn| match rule.code.as_str() {
            "DS_TURUN" => s.d_s,
            "ND_TURUN" => s.n_d,
            _ => None,
        };
        for series in skdn {
            // The last month counted: today's when it has weighings, else the one before.
            let end = match series.last() {
                Some(s) if s.d == 0 => series.len().saturating_sub(1),
                _ => series.len(),
            };
            if end < n + 1 {
                continue;
            }
            let window = &series[end - n - 1..end];
            let values: Option<Vec<f64>> = window.iter().map(ratio).collect();
            let Some(values) = values else { continue };
            if !values.windows(2).all(|p| p[1] < p[0]) {
                continue;
            }
            let first_fall = &window[1];
            let last = &window[n];
            let pct = |v: f64| format!("{:.0}%", v * 100.0);
            out.push(Warning {
                code: rule.code.clone(),
                child_id: None,
                name: None,
                posyandu: last.posyandu.clone(),
                since: first_fall.month.first_day(),
                text: format!(
                    "Posyandu {}: {} {n} bulan berturut-turut, dari {} ({}) menjadi {} ({}).",
                    last.posyandu,
                    rule.text_id,
                    pct(values[0]),
                    window[0].month.label_id(),
                    pct(values[n]),
                    last.month.label_id()
                ),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_child_rule_names_a_referral_reason_or_is_known() {
        for r in warning_rules() {
            assert!(r.scope == "anak" || r.scope == "posyandu", "{}", r.code);
            if r.scope == "anak" {
                assert!(r.code.parse::<ReferralReason>().is_ok(), "{}", r.code);
            } else {
                assert!(r.months.is_some(), "{}", r.code);
            }
        }
        assert_eq!(warning_rules().len(), 9);
    }

    fn month_of(m: &str, n: u32, t: u32) -> Skdn {
        use crate::growth::KmsStatus;
        use crate::reports::{MonthWeighing, SkdnChild};
        let date: NaiveDate = format!("{m}-10").parse().unwrap();
        let kid = |kms| SkdnChild {
            birth_date: Some("2024-01-01".parse().unwrap()),
            has_kms: true,
            weighing: Some(MonthWeighing {
                date,
                kms: Some(kms),
                bgm: false,
                two_t: false,
            }),
        };
        let mut kids = vec![kid(KmsStatus::N); n as usize];
        kids.extend(vec![kid(KmsStatus::T); t as usize]);
        super::super::skdn(Month::parse(m).unwrap(), "Mawar", "Sukamaju", &kids)
    }

    #[test]
    fn success_falling_two_months_warns_and_one_month_does_not() {
        let today: NaiveDate = "2025-06-20".parse().unwrap();
        // N/D 4/4, 3/4, 2/4: falling twice.
        let s = vec![
            month_of("2025-03", 4, 0),
            month_of("2025-04", 4, 0),
            month_of("2025-05", 3, 1),
            month_of("2025-06", 2, 2),
        ];
        let w = warnings(today, &[], &[s]);
        assert_eq!(w.len(), 1, "{w:#?}");
        assert_eq!(w[0].code, "ND_TURUN");
        assert_eq!(w[0].since.to_string(), "2025-05-01");
        // N/D 4/4, 3/4, 3/4: fell once.
        let s = vec![
            month_of("2025-04", 4, 0),
            month_of("2025-05", 3, 1),
            month_of("2025-06", 3, 1),
        ];
        assert!(warnings(today, &[], &[s]).is_empty());
        // June not weighed yet: April, May and the months before are compared.
        let mut s = vec![
            month_of("2025-03", 4, 0),
            month_of("2025-04", 3, 1),
            month_of("2025-05", 2, 2),
        ];
        s.push(super::super::skdn(
            Month::parse("2025-06").unwrap(),
            "Mawar",
            "Sukamaju",
            &[],
        ));
        let w = warnings(today, &[], &[s]);
        assert_eq!(w.len(), 1, "{w:#?}");
        assert_eq!(w[0].since.to_string(), "2025-04-01");
    }
}
