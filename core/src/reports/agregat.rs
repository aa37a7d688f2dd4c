//! The federated aggregate of a posyandu's month (`timbang export agregat`): counts only, for a
//! puskesmas or district to combine across posyandu. No name, no id, no NIK or KK, no address, no
//! posyandu or village name: the file names its area only by the Kemendagri region code, if known.
//! The format is `schema/id/agregat-format.md` ([`FORMAT`], [`VERSION`]).
//!
//! Small cells are suppressed: a count of 1 to [`MIN_SHOWN`]` - 1` is written as `null` with
//! `"suppressed": true` and its range (`min`, `max`). A total whose parts are also published (D, the
//! sum of N, T, O, B and the weighings without a status) is suppressed as well whenever one of its
//! parts is (complementary suppression), so no suppressed part can be recovered by subtraction; its
//! range is the sum of its parts' ranges. The status tables publish only their finest cells (no
//! margins), so they need no complementary suppression.

use chrono::NaiveDate;
use serde::Serialize;
use serde::ser::SerializeMap;

use super::{Month, Skdn, is_target};
use crate::domain::{Service, Sex};
use crate::growth::{HfaClass, StatusGizi, WfaClass, WfhClass};

/// The `format` field of every aggregate file.
pub const FORMAT: &str = "timbang-agregat";
/// The `version` field: bumped when a field changes meaning or goes away.
pub const VERSION: u32 = 1;
/// The smallest count written as a number; counts from 1 to `MIN_SHOWN - 1` are suppressed. Zero is
/// shown (schema/id/agregat-format.md says why).
pub const MIN_SHOWN: u32 = 3;

/// The age bands (completed months, inclusive) of the status tables.
pub const AGE_BANDS: [(&str, u32, u32); 4] = [
    ("0-5", 0, 5),
    ("6-11", 6, 11),
    ("12-23", 12, 23),
    ("24-59", 24, 59),
];

/// A published count: exact, or suppressed with the range it lies in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    /// The count; `None` when suppressed.
    pub n: Option<u32>,
    /// The smallest and largest value the count can have (both `n` when shown).
    pub min: u32,
    pub max: u32,
}

impl Count {
    /// `v`, suppressed when it is from 1 to `MIN_SHOWN - 1`.
    pub fn of(v: u32) -> Self {
        if (1..MIN_SHOWN).contains(&v) {
            Self {
                n: None,
                min: 1,
                max: MIN_SHOWN - 1,
            }
        } else {
            Self {
                n: Some(v),
                min: v,
                max: v,
            }
        }
    }

    pub fn suppressed(&self) -> bool {
        self.n.is_none()
    }
}

impl Serialize for Count {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.n {
            Some(n) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("n", &n)?;
                m.end()
            }
            None => {
                let mut m = s.serialize_map(Some(4))?;
                m.serialize_entry("n", &None::<u32>)?;
                m.serialize_entry("suppressed", &true)?;
                m.serialize_entry("min", &self.min)?;
                m.serialize_entry("max", &self.max)?;
                m.end()
            }
        }
    }
}

/// A total whose parts are published: shown only when every part is; otherwise suppressed, with the
/// range its parts allow (narrowed to 1..`MIN_SHOWN - 1` when the total is itself small, which its own
/// suppression would say anyway; never narrowed by its true value).
pub fn total_of(total: u32, parts: &[Count]) -> Count {
    let own = Count::of(total);
    if parts.iter().all(|p| !p.suppressed()) {
        return own;
    }
    let lo: u32 = parts.iter().map(|p| p.min).sum();
    let hi: u32 = parts.iter().map(|p| p.max).sum();
    let (lo, hi) = if own.suppressed() {
        (lo.max(own.min), hi.min(own.max))
    } else {
        (lo, hi)
    };
    Count {
        n: None,
        min: lo,
        max: hi,
    }
}

/// SKDN as counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgregatSkdn {
    pub s: Count,
    pub k: Count,
    /// N + T + O + B + weighed_without_status; suppressed when any of them is.
    pub d: Count,
    pub n: Count,
    pub t: Count,
    pub o: Count,
    pub b: Count,
    /// Weighed, but no KMS status (breaks D = N + T + O + B; SKDN explains it).
    pub weighed_without_status: Count,
    pub bgm: Count,
    pub two_t: Count,
    /// Children left out of S: no birth date recorded.
    pub no_birth_date: Count,
    /// Children weighed in the month at 60 months or more (not in S or D).
    pub weighed_over_59_months: Count,
}

fn mismatch(s: &Skdn, code: &str) -> u32 {
    s.mismatch
        .iter()
        .find(|m| m.code == code)
        .map_or(0, |m| m.count)
}

impl AgregatSkdn {
    /// The counts of `s` (computed by [`super::skdn`]), suppressed.
    pub fn of(s: &Skdn) -> Self {
        let (n, t, o, b) = (
            Count::of(s.n),
            Count::of(s.t),
            Count::of(s.o),
            Count::of(s.b),
        );
        let without = Count::of(mismatch(s, "weighed_without_kms_status"));
        Self {
            s: Count::of(s.s),
            k: Count::of(s.k),
            d: total_of(s.d, &[n, t, o, b, without]),
            n,
            t,
            o,
            b,
            weighed_without_status: without,
            bgm: Count::of(s.bgm),
            two_t: Count::of(s.two_t),
            no_birth_date: Count::of(mismatch(s, "no_birth_date")),
            weighed_over_59_months: Count::of(mismatch(s, "weighed_over_59_months")),
        }
    }
}

/// One cell of a status table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusCell {
    /// The class code (`gizi_buruk`, `pendek`, ...).
    pub class: &'static str,
    /// `L` or `P`.
    pub sex: &'static str,
    /// One of [`AGE_BANDS`].
    pub age_months: &'static str,
    pub count: Count,
}

/// One index: every class by sex and age band, zeros included, no margins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusTable {
    /// `status_gizi`, `bb_u`, `tb_u` or `bb_tb`.
    pub index: &'static str,
    pub cells: Vec<StatusCell>,
}

/// Children given a service in the month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceCount {
    pub service: &'static str,
    pub children: Count,
}

/// The suppression rule, written into the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suppression {
    pub min_shown: u32,
    /// `primary-and-complementary`: counts 1 to `min_shown - 1` are suppressed, and so is a total
    /// with a suppressed part (`schema/id/agregat-format.md`).
    pub rule: &'static str,
}

/// The aggregate of one month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Agregat {
    pub format: &'static str,
    pub version: u32,
    pub month: Month,
    /// Kemendagri region code (2, 4, 6 or 10 digits), when known.
    pub region_code: Option<String>,
    /// A pseudonymous code of the team (the same on every phone of a posyandu, so a district can
    /// see two files of the same posyandu and month); it names no person.
    pub source: String,
    /// Growth standard and rules the statuses were computed with.
    pub standard: &'static str,
    pub rules: &'static str,
    pub suppression: Suppression,
    pub skdn: AgregatSkdn,
    pub status: Vec<StatusTable>,
    pub services: Vec<ServiceCount>,
}

/// One visit of the month, as the aggregate needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct AgregatVisit {
    pub date: NaiveDate,
    pub age_months: u32,
    pub status_gizi: Option<StatusGizi>,
    pub wfa: Option<WfaClass>,
    pub hfa: Option<HfaClass>,
    pub wfh: Option<WfhClass>,
    pub services: Vec<String>,
}

/// A kept child with its visits of the month, by date. No identity.
#[derive(Debug, Clone, PartialEq)]
pub struct AgregatChild {
    pub sex: Option<Sex>,
    pub birth_date: Option<NaiveDate>,
    pub visits: Vec<AgregatVisit>,
}

/// The age band of a measurement at `age` completed months. A target child can turn 60 during the
/// month (S counts it: under 60 on the first day), so 60 is counted in the last band.
fn band(age: u32) -> Option<usize> {
    let age = age.min(59);
    AGE_BANDS
        .iter()
        .position(|(_, lo, hi)| (*lo..=*hi).contains(&age))
}

/// One status table: for each target child, the month's last visit with a class of this index.
fn table(
    index: &'static str,
    classes: &[&'static str],
    children: &[&AgregatChild],
    class_of: impl Fn(&AgregatVisit) -> Option<&'static str>,
) -> StatusTable {
    let sexes = [(Sex::Male, "L"), (Sex::Female, "P")];
    // counts[class][sex][band]
    let mut counts = vec![[[0u32; AGE_BANDS.len()]; 2]; classes.len()];
    for c in children {
        let Some(sx) = sexes.iter().position(|(s, _)| Some(*s) == c.sex) else {
            continue;
        };
        let Some((v, class)) = c
            .visits
            .iter()
            .rev()
            .find_map(|v| class_of(v).map(|k| (v, k)))
        else {
            continue;
        };
        let (Some(ci), Some(bi)) = (classes.iter().position(|k| *k == class), band(v.age_months))
        else {
            continue;
        };
        counts[ci][sx][bi] += 1;
    }
    let mut cells = Vec::new();
    for (ci, class) in classes.iter().enumerate() {
        for (sx, (_, sex)) in sexes.iter().enumerate() {
            for (bi, (label, _, _)) in AGE_BANDS.iter().enumerate() {
                cells.push(StatusCell {
                    class,
                    sex,
                    age_months: label,
                    count: Count::of(counts[ci][sx][bi]),
                });
            }
        }
    }
    StatusTable { index, cells }
}

/// The aggregate of `month`: `skdn` is the month's SKDN of the same children (computed by
/// [`super::skdn`]); `children` are the kept children with their visits of the month.
pub fn agregat(
    month: Month,
    region_code: Option<String>,
    source: String,
    skdn: &Skdn,
    children: &[AgregatChild],
) -> Agregat {
    let targets: Vec<&AgregatChild> = children
        .iter()
        .filter(|c| c.birth_date.is_some_and(|b| is_target(b, month)))
        .collect();
    let status = vec![
        table(
            "status_gizi",
            &StatusGizi::ALL.iter().map(|c| c.code()).collect::<Vec<_>>(),
            &targets,
            |v| v.status_gizi.map(|c| c.code()),
        ),
        table(
            "bb_u",
            &WfaClass::ALL.iter().map(|c| c.code()).collect::<Vec<_>>(),
            &targets,
            |v| v.wfa.map(|c| c.code()),
        ),
        table(
            "tb_u",
            &HfaClass::ALL.iter().map(|c| c.code()).collect::<Vec<_>>(),
            &targets,
            |v| v.hfa.map(|c| c.code()),
        ),
        table(
            "bb_tb",
            &WfhClass::ALL.iter().map(|c| c.code()).collect::<Vec<_>>(),
            &targets,
            |v| v.wfh.map(|c| c.code()),
        ),
    ];
    let services = Service::ALL
        .iter()
        .map(|s| {
            let n = targets
                .iter()
                .filter(|c| {
                    c.visits
                        .iter()
                        .any(|v| v.services.iter().any(|x| x == s.code()))
                })
                .count() as u32;
            ServiceCount {
                service: s.code(),
                children: Count::of(n),
            }
        })
        .collect();
    Agregat {
        format: FORMAT,
        version: VERSION,
        month,
        region_code,
        source,
        standard: crate::growth::STANDARD_VERSION,
        rules: crate::growth::RULES_VERSION,
        suppression: Suppression {
            min_shown: MIN_SHOWN,
            rule: "primary-and-complementary",
        },
        skdn: AgregatSkdn::of(skdn),
        status,
        services,
    }
}

/// A Kemendagri region code typed by a person or stored with the ASIK settings: 2 (province), 4
/// (kabupaten/kota), 6 (kecamatan) or 10 (desa/kelurahan) digits, dots allowed (`32.73.01.1001`).
/// The error names the field `kode-wilayah`.
pub fn parse_region_code(text: &str) -> crate::error::Result<String> {
    let t = text.trim();
    let digits: String = t.chars().filter(|c| *c != '.').collect();
    if digits.bytes().all(|b| b.is_ascii_digit()) && [2, 4, 6, 10].contains(&digits.len()) {
        return Ok(digits);
    }
    Err(crate::error::Error::invalid(
        "kode-wilayah",
        format!(
            "Kode wilayah '{t}' tidak sah; tulis kode wilayah Kemendagri 2, 4, 6 atau 10 angka, misalnya 3273011001."
        ),
        format!("region code '{t}' is not 2, 4, 6 or 10 digits"),
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::growth::KmsStatus;
    use crate::reports::{MonthWeighing, SkdnChild, skdn};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn region_codes_are_kemendagri_digits() {
        assert_eq!(parse_region_code("32.73.01.1001").unwrap(), "3273011001");
        assert_eq!(parse_region_code("3273").unwrap(), "3273");
        for bad in ["", "327", "32730110011", "32-73", "Sukamaju"] {
            assert_eq!(
                parse_region_code(bad).unwrap_err().field(),
                Some("kode-wilayah"),
                "{bad}"
            );
        }
    }

    #[test]
    fn small_counts_are_suppressed_with_their_range() {
        assert_eq!(Count::of(0).n, Some(0), "zero is shown");
        assert!(Count::of(1).suppressed());
        assert!(Count::of(2).suppressed());
        assert_eq!(Count::of(3).n, Some(3));
        let j = serde_json::to_value(Count::of(2)).unwrap();
        assert_eq!(
            j,
            serde_json::json!({"n": null, "suppressed": true, "min": 1, "max": 2})
        );
        assert_eq!(
            serde_json::to_value(Count::of(7)).unwrap(),
            serde_json::json!({"n": 7})
        );
    }

    #[test]
    fn a_total_with_a_suppressed_part_is_suppressed_so_no_part_is_recovered() {
        let parts = [Count::of(5), Count::of(4), Count::of(1), Count::of(0)];
        let t = total_of(10, &parts);
        assert!(t.suppressed(), "10 - 5 - 4 - 0 would give the 1");
        assert_eq!(
            (t.min, t.max),
            (10, 11),
            "the parts' range, not the true 10"
        );
        let t = total_of(11, &[Count::of(5), Count::of(4), Count::of(2)]);
        assert_eq!(
            (t.min, t.max),
            (10, 11),
            "the same range for 11: nothing told apart"
        );
        let shown = total_of(9, &[Count::of(5), Count::of(4)]);
        assert_eq!(shown.n, Some(9));
        // A small total with small parts: its own range narrows the parts' range.
        let t = total_of(2, &[Count::of(1), Count::of(1)]);
        assert_eq!((t.n, t.min, t.max), (None, 2, 2));
    }

    fn weighed(birth: &str, kms: KmsStatus) -> SkdnChild {
        SkdnChild {
            birth_date: Some(d(birth)),
            has_kms: true,
            weighing: Some(MonthWeighing {
                date: d("2025-06-10"),
                kms: Some(kms),
                bgm: false,
                two_t: false,
            }),
        }
    }

    #[test]
    fn skdn_counts_reuse_skdn_and_suppress_d_with_a_small_part() {
        use KmsStatus::*;
        let june = Month::parse("2025-06").unwrap();
        let mut kids: Vec<SkdnChild> = (0..4).map(|_| weighed("2024-01-10", N)).collect();
        kids.extend((0..3).map(|_| weighed("2024-02-10", T)));
        kids.push(weighed("2025-05-20", B));
        let s = skdn(june, "x", "y", &kids);
        let a = AgregatSkdn::of(&s);
        assert_eq!(
            (a.s.n, a.n.n, a.t.n, a.o.n),
            (Some(8), Some(4), Some(3), Some(0))
        );
        assert!(a.b.suppressed());
        assert!(a.d.suppressed(), "D - N - T - O would give B");
        assert_eq!((a.d.min, a.d.max), (8, 9));
        kids.pop();
        let a = AgregatSkdn::of(&skdn(june, "x", "y", &kids));
        assert_eq!(a.d.n, Some(7), "every part shown: D shown");
    }

    fn child(sex: Sex, birth: &str, visits: Vec<AgregatVisit>) -> AgregatChild {
        AgregatChild {
            sex: Some(sex),
            birth_date: Some(d(birth)),
            visits,
        }
    }

    fn v(date: &str, age: u32, hfa: Option<HfaClass>, services: &[&str]) -> AgregatVisit {
        AgregatVisit {
            date: d(date),
            age_months: age,
            status_gizi: Some(StatusGizi::GiziBaik),
            wfa: Some(WfaClass::Normal),
            hfa,
            wfh: Some(WfhClass::GiziBaik),
            services: services.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn status_cells_by_sex_and_age_band_with_the_months_last_class() {
        let june = Month::parse("2025-06").unwrap();
        let mut kids = Vec::new();
        for _ in 0..3 {
            kids.push(child(
                Sex::Female,
                "2024-06-01",
                vec![v(
                    "2025-06-10",
                    12,
                    Some(HfaClass::Normal),
                    &["vit_a_merah"],
                )],
            ));
        }
        // Pendek early in the month, normal at its last length: counted normal.
        kids.push(child(
            Sex::Female,
            "2024-06-01",
            vec![
                v("2025-06-03", 12, Some(HfaClass::Pendek), &[]),
                v("2025-06-20", 12, Some(HfaClass::Normal), &[]),
            ],
        ));
        kids.push(child(
            Sex::Male,
            "2025-02-01",
            vec![v("2025-06-10", 4, Some(HfaClass::Pendek), &[])],
        ));
        // Not a target child (60 months): not counted.
        kids.push(child(
            Sex::Male,
            "2020-05-01",
            vec![v("2025-06-10", 61, Some(HfaClass::Pendek), &[])],
        ));
        let s = skdn(june, "x", "y", &[]);
        let a = agregat(june, None, "abc".into(), &s, &kids);
        let tbu = a.status.iter().find(|t| t.index == "tb_u").unwrap();
        assert_eq!(tbu.cells.len(), 4 * 2 * 4);
        let cell = |class: &str, sex: &str, band: &str| {
            tbu.cells
                .iter()
                .find(|c| c.class == class && c.sex == sex && c.age_months == band)
                .unwrap()
                .count
        };
        assert_eq!(cell("normal", "P", "12-23").n, Some(4));
        assert!(cell("pendek", "L", "0-5").suppressed());
        assert_eq!(
            cell("pendek", "L", "24-59").n,
            Some(0),
            "the 61-month child is out"
        );
        assert_eq!(cell("pendek", "P", "12-23").n, Some(0));
        let merah = a
            .services
            .iter()
            .find(|s| s.service == "vit_a_merah")
            .unwrap();
        assert_eq!(merah.children.n, Some(3));
        let j = serde_json::to_value(&a).unwrap();
        assert_eq!(j["format"], "timbang-agregat");
        assert_eq!(j["version"], 1);
    }
}
