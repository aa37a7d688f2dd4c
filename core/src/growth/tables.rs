//! The WHO 2006 LMS tables, embedded at build time and parsed once into flat arrays.
//!
//! `core/build.rs` deflates `schema/who-2006/*.csv` (the files as WHO published them) and the library
//! embeds those bytes, a quarter of the text's size; each table is inflated and parsed at first use.
//! Nothing here reads a file at run time. A malformed embedded table is a build defect: the parser
//! panics on first use and the table tests (`growth::tables::tests`) catch it before release.

use std::sync::LazyLock;

use super::Sex;

/// One row of L, M and S.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Lms {
    pub l: f64,
    pub m: f64,
    pub s: f64,
}

/// A table row: LMS plus the SD3 and SD2-SD3 distances of WHO's restricted rule, computed once at load
/// (the same arithmetic as on the fly, so results are bit-identical).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Row {
    pub lms: Lms,
    pub sd3neg: f64,
    pub sd23neg: f64,
    pub sd3pos: f64,
    pub sd23pos: f64,
    /// `ln M`, for the guarded fast path ([`super::zscore`]'s `fast_z`).
    pub ln_m: f64,
    /// `1 / (S L)`, for the guarded fast path.
    pub inv_sl: f64,
}

impl Row {
    fn new(lms: Lms) -> Self {
        let sd = |k: f64| super::zscore::lms_value(k, lms.l, lms.m, lms.s);
        let (sd3neg, sd2neg, sd2pos, sd3pos) = (sd(-3.0), sd(-2.0), sd(2.0), sd(3.0));
        Row {
            lms,
            sd3neg,
            sd23neg: sd2neg - sd3neg,
            sd3pos,
            sd23pos: sd3pos - sd2pos,
            ln_m: lms.m.ln(),
            inv_sl: 1.0 / (lms.s * lms.l),
        }
    }
}

/// A table indexed by whole days (age tables) or by tenths of a centimetre above `first`
/// (length/height tables), one `Vec` per sex.
#[derive(Debug)]
pub(crate) struct Table {
    /// Index value of row 0: day 0 (or 91 for arm circumference), or 45.0 / 65.0 cm.
    pub first: i64,
    rows: [Vec<Row>; 2],
}

impl Table {
    #[inline]
    fn sex_rows(&self, sex: Sex) -> &[Row] {
        match sex {
            Sex::Male => &self.rows[0],
            Sex::Female => &self.rows[1],
        }
    }

    /// The row for index value `key` (a day, or tenths of a cm), if the table has it.
    #[inline]
    pub fn get(&self, sex: Sex, key: i64) -> Option<&Row> {
        let i = key.checked_sub(self.first)?;
        usize::try_from(i)
            .ok()
            .and_then(|i| self.sex_rows(sex).get(i))
    }

    /// Number of rows for one sex.
    #[cfg(test)]
    pub fn len(&self, sex: Sex) -> usize {
        self.sex_rows(sex).len()
    }
}

/// Parses `sex,key,l,m,s[,extra]` with the key either whole days (`scale` 1) or cm in 0.1 steps
/// (`scale` 10). Rows must be contiguous and sorted; anything else is a build defect.
#[allow(
    clippy::expect_used,
    reason = "embedded data; a defect must fail loudly in tests"
)]
fn parse(text: &str, scale: f64) -> Table {
    let mut rows: [Vec<Row>; 2] = [Vec::new(), Vec::new()];
    let mut first: [Option<i64>; 2] = [None, None];
    for line in text.lines().skip(1) {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut it = line.split(',');
        let mut next = || it.next().expect("WHO table: short row").trim();
        let sex: usize = match next() {
            "1" => 0,
            "2" => 1,
            other => panic!("WHO table: bad sex {other:?}"),
        };
        let key_f: f64 = next().parse().expect("WHO table: bad key");
        let key = (key_f * scale).round() as i64;
        let l: f64 = next().parse().expect("WHO table: bad L");
        let m: f64 = next().parse().expect("WHO table: bad M");
        let s: f64 = next().parse().expect("WHO table: bad S");
        let start = *first[sex].get_or_insert(key);
        assert_eq!(
            key - start,
            rows[sex].len() as i64,
            "WHO table: rows not contiguous"
        );
        rows[sex].push(Row::new(Lms { l, m, s }));
    }
    assert_eq!(first[0], first[1], "WHO table: sexes start differently");
    Table {
        first: first[0].expect("WHO table: empty"),
        rows,
    }
}

/// The text of one embedded WHO table (deflated by `core/build.rs`).
macro_rules! who_table {
    ($name:literal) => {
        inflate(include_bytes!(concat!(
            env!("OUT_DIR"),
            "/",
            $name,
            ".csv.deflate"
        )))
    };
}

#[allow(
    clippy::expect_used,
    reason = "embedded data; a defect must fail loudly in tests"
)]
fn inflate(deflated: &[u8]) -> String {
    use std::io::Read;
    let mut text = String::new();
    flate2::read::DeflateDecoder::new(deflated)
        .read_to_string(&mut text)
        .expect("WHO table: the embedded table does not inflate");
    text
}

pub(crate) static WFA: LazyLock<Table> = LazyLock::new(|| parse(&who_table!("weianthro"), 1.0));
pub(crate) static LHFA: LazyLock<Table> = LazyLock::new(|| parse(&who_table!("lenanthro"), 1.0));
pub(crate) static BFA: LazyLock<Table> = LazyLock::new(|| parse(&who_table!("bmianthro"), 1.0));
pub(crate) static HCFA: LazyLock<Table> = LazyLock::new(|| parse(&who_table!("hcanthro"), 1.0));
pub(crate) static ACFA: LazyLock<Table> = LazyLock::new(|| parse(&who_table!("acanthro"), 1.0));
/// Weight-for-length, keyed by tenths of a cm (450 = 45.0 cm).
pub(crate) static WFL: LazyLock<Table> = LazyLock::new(|| parse(&who_table!("wflanthro"), 10.0));
/// Weight-for-height, keyed by tenths of a cm (650 = 65.0 cm).
pub(crate) static WFH: LazyLock<Table> = LazyLock::new(|| parse(&who_table!("wfhanthro"), 10.0));

/// Forces every table to be parsed now (for example at app start), so the first z-score does not pay
/// for it.
pub fn warm_up() {
    for t in [&WFA, &LHFA, &BFA, &HCFA, &ACFA, &WFL, &WFH] {
        LazyLock::force(t);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn tables_have_the_documented_ranges() {
        for sex in [Sex::Male, Sex::Female] {
            for t in [&WFA, &LHFA, &BFA, &HCFA] {
                assert_eq!(t.first, 0);
                assert_eq!(t.len(sex), 1827);
            }
            assert_eq!(ACFA.first, 91);
            assert_eq!(ACFA.len(sex), 1827 - 91);
            assert_eq!(WFL.first, 450);
            assert_eq!(WFL.len(sex), 651);
            assert_eq!(WFH.first, 650);
            assert_eq!(WFH.len(sex), 551);
        }
        // spot checks against the CSV text
        let r = WFA.get(Sex::Male, 0).unwrap().lms;
        assert_eq!((r.l, r.m, r.s), (0.3487, 3.3464, 0.14602));
        let r = WFL.get(Sex::Male, 451).unwrap().lms;
        assert_eq!((r.l, r.m, r.s), (-0.3521, 2.4577, 0.09176));
        assert!(WFA.get(Sex::Male, 1827).is_none());
        assert!(WFA.get(Sex::Male, -1).is_none());
        assert!(ACFA.get(Sex::Female, 90).is_none());
    }

    /// The assumptions of the error bound of the guarded fast path (see `zscore::fast_z`): every table
    /// that goes through `powf` has |L| <= 0.7, L != 0, and M in [1, e^3.2].
    #[test]
    fn fast_path_assumptions_hold() {
        for t in [&WFA, &BFA, &ACFA, &WFL, &WFH] {
            for sex in [Sex::Male, Sex::Female] {
                for r in t.sex_rows(sex) {
                    assert!(r.lms.l != 0.0 && r.lms.l.abs() <= 0.7, "{:?}", r.lms);
                    assert!(r.lms.m >= 1.0 && r.ln_m <= 3.2, "{:?}", r.lms);
                    assert!(r.lms.s > 0.0 && r.inv_sl.is_finite());
                }
            }
        }
        // weight-for-length/height: L keeps its sign between neighbouring rows, so an interpolated L
        // is never closer to 0 than both neighbours.
        for t in [&WFL, &WFH] {
            for sex in [Sex::Male, Sex::Female] {
                for w in t.sex_rows(sex).windows(2) {
                    assert!(w[0].lms.l * w[1].lms.l > 0.0);
                }
            }
        }
    }
}
