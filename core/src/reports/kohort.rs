//! The kohort anak balita of a year for the puskesmas: one row per child who was a balita at some
//! point in the year, the weighing of each month (weight and the KMS letter N/T/O/B of the month's
//! last weighing, as `growth::kms` decided it when the visit was recorded), the vitamin A rounds of the
//! year (`schema/id/vitamin-a-rounds.csv`) and the latest status. The columns are data
//! (`schema/id/kohort-columns.csv`): a header may hold `{bulan}` (month columns, repeated for the twelve
//! months) or `{ronde}` (vitamin A columns, repeated for each round of the year).

use chrono::NaiveDate;

use super::export::{self, Cell, MONTHS_SHORT, Table};
use super::{Month, is_target};
use crate::domain::Identity;
use crate::error::{Error, Result};
use crate::growth::{HfaClass, KmsStatus, Round, RoundCalendar, StatusGizi, WfaClass};

/// The kohort column file shipped with Timbang.
pub const DEFAULT_KOHORT_COLUMNS: &str = include_str!("../../../schema/id/kohort-columns.csv");

/// What a kohort column holds (`schema/id/README.md` lists the codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KohortField {
    /// Row number, from 1.
    No,
    Nik,
    Name,
    BirthDate,
    Sex,
    MotherName,
    Address,
    /// Has a KMS / Buku KIA ("ya" / "tidak").
    BukuKia,
    /// Weight (kg) of the month's last weighing; a `{bulan}` column.
    MonthWeight,
    /// KMS letter of the month's last weighing; a `{bulan}` column.
    MonthKms,
    /// The capsule of a vitamin A round (date and colour); a `{ronde}` column.
    VitA,
    /// Status gizi of the latest visit of the year that had one.
    StatusGizi,
    /// TB/U (PB/U) class of the latest length/height of the year.
    HfaClass,
    /// "ya" when that class is pendek or sangat pendek, "tidak" otherwise.
    Stunting,
    /// BB/U class of the latest weighing of the year.
    WfaClass,
    /// Date of the latest visit of the year.
    LastVisit,
}

impl KohortField {
    const ALL: [(&'static str, KohortField); 16] = [
        ("no", KohortField::No),
        ("nik", KohortField::Nik),
        ("name", KohortField::Name),
        ("birth_date", KohortField::BirthDate),
        ("sex", KohortField::Sex),
        ("mother_name", KohortField::MotherName),
        ("address", KohortField::Address),
        ("buku_kia", KohortField::BukuKia),
        ("month_weight", KohortField::MonthWeight),
        ("month_kms", KohortField::MonthKms),
        ("vit_a", KohortField::VitA),
        ("status_gizi", KohortField::StatusGizi),
        ("hfa_class", KohortField::HfaClass),
        ("stunting", KohortField::Stunting),
        ("wfa_class", KohortField::WfaClass),
        ("last_visit", KohortField::LastVisit),
    ];

    fn parse(code: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(c, _)| *c == code.trim())
            .map(|(_, f)| *f)
    }

    fn is_month(self) -> bool {
        matches!(self, KohortField::MonthWeight | KohortField::MonthKms)
    }
}

/// The columns of the kohort, from a column file.
#[derive(Debug, Clone, PartialEq)]
pub struct KohortColumns {
    pub id: String,
    pub columns: Vec<(String, KohortField)>,
}

impl KohortColumns {
    /// The default set (`schema/id/kohort-columns.csv`).
    pub fn default_set() -> Result<Self> {
        Self::parse("kohort-columns.csv", DEFAULT_KOHORT_COLUMNS)
    }

    /// Parse a kohort column file: the format of [`export::parse_columns`], and month columns must
    /// name `{bulan}` and stand together, vitamin A columns must name `{ronde}`.
    pub fn parse(name: &str, text: &str) -> Result<Self> {
        let (id, columns) = export::parse_columns(name, text, KohortField::parse)?;
        let bad = |what: String, en: String| {
            Error::invalid(
                "columns",
                format!("Berkas kolom {name}: {what}"),
                format!("column file {name}: {en}"),
            )
        };
        for (h, f) in &columns {
            let wants = if f.is_month() {
                Some("{bulan}")
            } else if *f == KohortField::VitA {
                Some("{ronde}")
            } else {
                None
            };
            match wants {
                Some(p) if !h.contains(p) => {
                    return Err(bad(
                        format!("judul '{h}' harus memuat {p}."),
                        format!("header '{h}' must contain {p}"),
                    ));
                }
                None if h.contains("{bulan}") || h.contains("{ronde}") => {
                    return Err(bad(
                        format!(
                            "judul '{h}' memuat tempat isi, padahal kolomnya bukan kolom bulan atau ronde."
                        ),
                        format!("header '{h}' has a placeholder its field does not use"),
                    ));
                }
                _ => {}
            }
        }
        let month_at: Vec<usize> = columns
            .iter()
            .enumerate()
            .filter(|(_, (_, f))| f.is_month())
            .map(|(i, _)| i)
            .collect();
        if let (Some(first), Some(last)) = (month_at.first(), month_at.last())
            && last - first + 1 != month_at.len()
        {
            return Err(bad(
                "kolom bulan (month_weight, month_kms) harus berurutan.".into(),
                "the month columns must stand together".into(),
            ));
        }
        Ok(Self { id, columns })
    }
}

/// One visit of a child, as the kohort needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct KohortVisit {
    pub date: NaiveDate,
    pub weight_kg: Option<f64>,
    /// The KMS status stored with the visit.
    pub kms: Option<KmsStatus>,
    /// Service codes given (`vit_a_biru`, `vit_a_merah`, ...).
    pub services: Vec<String>,
    pub status_gizi: Option<StatusGizi>,
    pub hfa: Option<HfaClass>,
    pub wfa: Option<WfaClass>,
}

/// One row of the kohort, before it becomes cells.
#[derive(Debug, Clone, PartialEq)]
pub struct KohortChild {
    pub identity: Identity,
    /// January first: weight (kg) and KMS letter of the month's last weighing.
    pub months: [Option<(f64, Option<KmsStatus>)>; 12],
    /// For each round of the year, in order: the first capsule of that round (date, colour).
    pub vit_a: Vec<(Round, Option<(NaiveDate, &'static str)>)>,
    pub status_gizi: Option<StatusGizi>,
    pub hfa: Option<HfaClass>,
    pub wfa: Option<WfaClass>,
    pub last_visit: Option<NaiveDate>,
}

/// The rounds of `year` (moved rounds applied).
pub fn rounds_of(year: i32) -> Vec<Round> {
    RoundCalendar::current()
        .months(year)
        .into_iter()
        .map(|month| Round { year, month })
        .collect()
}

/// Whether a child born on `birth` was a balita (a target child, [`is_target`]) in some month of
/// `year`. A child with no birth date is kept: the kohort lists every registered child, and the row
/// shows the missing date.
pub fn in_kohort(birth: Option<NaiveDate>, year: i32) -> bool {
    let Some(birth) = birth else {
        return true;
    };
    (1..=12).any(|m| Month::new(year, m).is_some_and(|m| is_target(birth, m)))
}

/// The kohort row of a child for `year` from its visits (any dates, by date): the months of `year`,
/// the capsules that belong to its rounds (a capsule of the August round given in January of the next
/// year counts), and the latest status up to 31 December.
pub fn kohort_child(identity: Identity, year: i32, visits: &[KohortVisit]) -> KohortChild {
    let calendar = RoundCalendar::current();
    let in_year: Vec<&KohortVisit> = visits
        .iter()
        .filter(|v| Month::of(v.date).year() == year)
        .collect();
    let mut months = [None; 12];
    for v in &in_year {
        if let Some(w) = v.weight_kg {
            // Visits come by date, so the month's last weighing wins.
            months[(Month::of(v.date).number() - 1) as usize % 12] = Some((w, v.kms));
        }
    }
    let vit_a = rounds_of(year)
        .into_iter()
        .map(|round| {
            let given = visits
                .iter()
                .filter(|v| calendar.round_of(v.date) == round)
                .find_map(|v| {
                    v.services.iter().find_map(|s| match s.as_str() {
                        "vit_a_biru" => Some((v.date, "biru")),
                        "vit_a_merah" => Some((v.date, "merah")),
                        _ => None,
                    })
                });
            (round, given)
        })
        .collect();
    KohortChild {
        identity,
        months,
        vit_a,
        status_gizi: in_year.iter().rev().find_map(|v| v.status_gizi),
        hfa: in_year.iter().rev().find_map(|v| v.hfa),
        wfa: in_year.iter().rev().find_map(|v| v.wfa),
        last_visit: in_year.last().map(|v| v.date),
    }
}

/// "Feb 2025": the round's month as the month columns name it, and its year.
fn round_label(r: Round) -> String {
    MONTHS_SHORT
        .get(r.month.saturating_sub(1) as usize)
        .map_or_else(|| r.to_string(), |m| format!("{m} {}", r.year))
}

/// The kohort table of `year`: the columns of `columns` with `{bulan}` and `{ronde}` expanded, one row
/// per child in the order given.
pub fn kohort_table(
    columns: &KohortColumns,
    posyandu: &str,
    village: &str,
    year: i32,
    children: &[KohortChild],
) -> Table {
    let rounds = rounds_of(year);
    // The expanded columns: (header, field, month index or round index).
    let mut expanded: Vec<(String, KohortField, usize)> = Vec::new();
    let month_block: Vec<&(String, KohortField)> = columns
        .columns
        .iter()
        .filter(|(_, f)| f.is_month())
        .collect();
    let mut block_done = false;
    for (h, f) in &columns.columns {
        if f.is_month() {
            if block_done {
                continue;
            }
            block_done = true;
            for (m, short) in MONTHS_SHORT.iter().enumerate() {
                for (bh, bf) in &month_block {
                    expanded.push((bh.replace("{bulan}", short), *bf, m));
                }
            }
        } else if *f == KohortField::VitA {
            for (i, r) in rounds.iter().enumerate() {
                expanded.push((h.replace("{ronde}", &round_label(*r)), *f, i));
            }
        } else {
            expanded.push((h.clone(), *f, 0));
        }
    }
    let rows = children
        .iter()
        .enumerate()
        .map(|(n, c)| {
            let i = &c.identity;
            expanded
                .iter()
                .map(|(_, f, k)| match f {
                    KohortField::No => Cell::Number((n + 1) as f64),
                    KohortField::Nik => Cell::opt_text(i.nik.as_deref()),
                    KohortField::Name => Cell::text(&i.name),
                    KohortField::BirthDate => {
                        Cell::opt_text(i.birth_date.map(|d| d.to_string()).as_deref())
                    }
                    KohortField::Sex => export::sex_code(i.sex),
                    KohortField::MotherName => Cell::opt_text(i.mother_name.as_deref()),
                    KohortField::Address => Cell::opt_text(i.address.as_deref()),
                    KohortField::BukuKia => Cell::text(if i.has_kms == Some(false) {
                        "tidak"
                    } else {
                        "ya"
                    }),
                    KohortField::MonthWeight => Cell::opt_num(c.months[*k % 12].map(|(w, _)| w)),
                    KohortField::MonthKms => {
                        Cell::opt_text(c.months[*k % 12].and_then(|(_, s)| s).map(|s| s.as_str()))
                    }
                    KohortField::VitA => c
                        .vit_a
                        .get(*k)
                        .and_then(|(_, g)| *g)
                        .map_or(Cell::Empty, |(d, colour)| {
                            Cell::text(format!("{d} {colour}"))
                        }),
                    KohortField::StatusGizi => Cell::opt_text(c.status_gizi.map(|s| s.label_id())),
                    KohortField::HfaClass => Cell::opt_text(c.hfa.map(|s| s.label_id())),
                    KohortField::Stunting => Cell::opt_text(c.hfa.map(|h| {
                        if matches!(h, HfaClass::Pendek | HfaClass::SangatPendek) {
                            "ya"
                        } else {
                            "tidak"
                        }
                    })),
                    KohortField::WfaClass => Cell::opt_text(c.wfa.map(|s| s.label_id())),
                    KohortField::LastVisit => {
                        Cell::opt_text(c.last_visit.map(|d| d.to_string()).as_deref())
                    }
                })
                .collect()
        })
        .collect();
    Table {
        sheet: format!("Kohort {year}"),
        title: vec![
            format!("Kohort Anak Balita {year}"),
            format!("Posyandu {posyandu}, {village}"),
        ],
        headers: expanded.into_iter().map(|(h, _, _)| h).collect(),
        rows,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn visit(
        date: &str,
        kg: Option<f64>,
        kms: Option<KmsStatus>,
        services: &[&str],
    ) -> KohortVisit {
        KohortVisit {
            date: d(date),
            weight_kg: kg,
            kms,
            services: services.iter().map(|s| (*s).to_owned()).collect(),
            status_gizi: kg.map(|_| StatusGizi::GiziBaik),
            hfa: None,
            wfa: None,
        }
    }

    fn identity(name: &str) -> Identity {
        Identity {
            name: name.into(),
            ..Identity::default()
        }
    }

    #[test]
    fn the_default_columns_parse_and_expand_to_twelve_months_and_the_rounds() {
        let c = KohortColumns::default_set().unwrap();
        assert_eq!(c.id, "kohort-balita-candidate-2026-12");
        let t = kohort_table(&c, "Mawar", "Sukamaju", 2025, &[]);
        let months = t.headers.iter().filter(|h| h.contains("Jan")).count();
        assert_eq!(months, 2, "weight and letter of January: {:?}", t.headers);
        assert!(t.headers.iter().any(|h| h.contains("Des")));
        let vit: Vec<&String> = t
            .headers
            .iter()
            .filter(|h| h.contains("Vitamin A"))
            .collect();
        assert_eq!(vit.len(), 2, "{vit:?}");
        assert!(
            vit[0].contains("Feb 2025") && vit[1].contains("Agu 2025"),
            "{vit:?}"
        );
        // 2023's August round moved to October (vitamin-a-rounds.csv).
        let t = kohort_table(&c, "Mawar", "Sukamaju", 2023, &[]);
        assert!(
            t.headers.iter().any(|h| h.contains("Okt 2023")),
            "{:?}",
            t.headers
        );
    }

    #[test]
    fn bad_column_files_name_the_file() {
        for text in [
            "header,field\nBB,month_weight\n",
            "header,field\nBB {bulan},month_weight\nNama,name\n{bulan},month_kms\n",
            "header,field\nVitamin A,vit_a\n",
            "header,field\nNama {bulan},name\n",
            "header,field\nNama,nama\n",
        ] {
            let e = KohortColumns::parse("k.csv", text).unwrap_err();
            assert_eq!(e.field(), Some("columns"), "{text}");
            assert!(e.message_id().contains("k.csv"), "{}", e.message_id());
        }
    }

    #[test]
    fn months_take_the_last_weighing_and_rounds_their_capsules() {
        use KmsStatus::*;
        let visits = [
            visit("2024-12-10", Some(7.0), Some(B), &[]),
            visit("2025-01-10", Some(7.2), Some(N), &[]),
            visit("2025-02-03", Some(7.3), Some(N), &[]),
            visit("2025-02-20", Some(7.25), Some(T), &["vit_a_biru"]),
            visit("2025-04-10", Some(7.6), Some(O), &[]),
            visit("2025-06-01", None, None, &["pmt"]),
            visit("2026-01-12", Some(8.4), Some(O), &["vit_a_merah"]),
        ];
        let c = kohort_child(identity("Anak Satu"), 2025, &visits);
        assert_eq!(c.months[0], Some((7.2, Some(N))));
        assert_eq!(
            c.months[1],
            Some((7.25, Some(T))),
            "the month's last weighing"
        );
        assert_eq!(c.months[2], None, "not weighed in March");
        assert_eq!(c.months[3], Some((7.6, Some(O))));
        assert_eq!(c.months[11], None);
        assert_eq!(c.vit_a.len(), 2);
        assert_eq!(c.vit_a[0].1, Some((d("2025-02-20"), "biru")));
        assert_eq!(
            c.vit_a[1].1,
            Some((d("2026-01-12"), "merah")),
            "January belongs to the August round"
        );
        assert_eq!(c.last_visit, Some(d("2025-06-01")));
        assert_eq!(c.status_gizi, Some(StatusGizi::GiziBaik));
    }

    #[test]
    fn the_kohort_holds_children_under_five_at_some_point_of_the_year() {
        assert!(
            in_kohort(Some(d("2025-12-31")), 2025),
            "born on the last day"
        );
        assert!(!in_kohort(Some(d("2026-01-01")), 2025));
        assert!(
            in_kohort(Some(d("2020-01-02")), 2025),
            "59 months on 1 January"
        );
        assert!(
            !in_kohort(Some(d("2020-01-01")), 2025),
            "60 months on 1 January"
        );
        assert!(in_kohort(None, 2025));
    }

    #[test]
    fn cells_follow_the_columns() {
        use KmsStatus::*;
        let c = KohortColumns::default_set().unwrap();
        let mut id = identity("Anak Dua");
        id.has_kms = Some(false);
        let kid = kohort_child(
            id,
            2025,
            &[visit("2025-03-10", Some(9.5), Some(B), &["vit_a_merah"])],
        );
        let t = kohort_table(&c, "Mawar", "Sukamaju", 2025, &[kid]);
        let col = |name: &str| t.headers.iter().position(|h| h == name).unwrap();
        let row = &t.rows[0];
        assert_eq!(row[col("No")], Cell::Number(1.0));
        assert_eq!(row[col("Nama Anak")], Cell::Text("Anak Dua".into()));
        assert_eq!(row[col("Buku KIA")], Cell::Text("tidak".into()));
        assert_eq!(row[col("BB Mar (kg)")], Cell::Number(9.5));
        assert_eq!(row[col("N/T/O/B Mar")], Cell::Text("B".into()));
        assert_eq!(row[col("N/T/O/B Feb")], Cell::Empty);
        assert_eq!(
            row[col("Vitamin A Feb 2025")],
            Cell::Text("2025-03-10 merah".into())
        );
        assert_eq!(row[col("Vitamin A Agu 2025")], Cell::Empty);
    }
}
