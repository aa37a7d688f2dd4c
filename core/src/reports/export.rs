//! Tables for a person's spreadsheet: the e-PPGBM export (columns as data, `schema/id/eppgbm-columns.csv`),
//! the posyandu register of a month (SIP format 2) and the monthly activity report (SIP format 6); and
//! the two ways to write a table, CSV and xlsx. NIK, KK and dates are always text cells.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::{Month, Skdn};
use crate::domain::{Identity, Measurements, Position, Sex};
use crate::error::{Error, Result};
use crate::growth::{Assessment, ReferralReason};

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    /// Text, written as a text cell (never turned into a number or a date by a spreadsheet).
    Text(String),
    Number(f64),
}

impl Cell {
    pub(crate) fn text(s: impl Into<String>) -> Self {
        Cell::Text(s.into())
    }
    pub(crate) fn opt_text(s: Option<&str>) -> Self {
        s.map_or(Cell::Empty, |s| Cell::Text(s.to_owned()))
    }
    pub(crate) fn opt_num(v: Option<f64>) -> Self {
        v.map_or(Cell::Empty, Cell::Number)
    }
    /// The cell as CSV text.
    pub fn as_text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(t) => t.clone(),
            Cell::Number(n) => {
                if n.fract() == 0.0 && n.abs() < 1e15 {
                    format!("{n:.0}")
                } else {
                    let s = format!("{n:.2}");
                    s.trim_end_matches('0').trim_end_matches('.').to_owned()
                }
            }
        }
    }
}

/// A table: a sheet name, title lines above the header, the header and the rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub sheet: String,
    /// Lines written above the header (report title, posyandu, month). CSV writes none of them, so a
    /// CSV stays one header row and data rows.
    pub title: Vec<String>,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// A field an e-PPGBM column can hold (`schema/id/README.md` lists the codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Nik,
    Kk,
    Name,
    BirthDate,
    Sex,
    MotherName,
    MotherNik,
    Address,
    Village,
    Posyandu,
    VisitDate,
    AgeMonths,
    WeightKg,
    HeightCm,
    Position,
    HeadCircCm,
    MuacCm,
    Oedema,
    Waz,
    Haz,
    Whz,
    Baz,
    WfaClass,
    HfaClass,
    WfhClass,
    Kms,
}

impl Field {
    const ALL: [(&'static str, Field); 26] = [
        ("nik", Field::Nik),
        ("kk", Field::Kk),
        ("name", Field::Name),
        ("birth_date", Field::BirthDate),
        ("sex", Field::Sex),
        ("mother_name", Field::MotherName),
        ("mother_nik", Field::MotherNik),
        ("address", Field::Address),
        ("village", Field::Village),
        ("posyandu", Field::Posyandu),
        ("visit_date", Field::VisitDate),
        ("age_months", Field::AgeMonths),
        ("weight_kg", Field::WeightKg),
        ("height_cm", Field::HeightCm),
        ("position", Field::Position),
        ("head_circ_cm", Field::HeadCircCm),
        ("muac_cm", Field::MuacCm),
        ("oedema", Field::Oedema),
        ("waz", Field::Waz),
        ("haz", Field::Haz),
        ("whz", Field::Whz),
        ("baz", Field::Baz),
        ("wfa_class", Field::WfaClass),
        ("hfa_class", Field::HfaClass),
        ("wfh_class", Field::WfhClass),
        ("kms", Field::Kms),
    ];

    fn parse(code: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(c, _)| *c == code.trim())
            .map(|(_, f)| *f)
    }
}

/// The columns of an export: header text and field, from a column file.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSet {
    pub id: String,
    pub columns: Vec<(String, Field)>,
}

/// The column file shipped with Timbang.
pub const DEFAULT_EPPGBM_COLUMNS: &str = include_str!("../../../schema/id/eppgbm-columns.csv");

impl ColumnSet {
    /// The default e-PPGBM column set (`schema/id/eppgbm-columns.csv`).
    pub fn eppgbm_default() -> Result<Self> {
        Self::parse("eppgbm-columns.csv", DEFAULT_EPPGBM_COLUMNS)
    }

    /// The default ELSIMIL column set (`schema/id/elsimil-columns.csv`).
    pub fn elsimil_default() -> Result<Self> {
        Self::parse("elsimil-columns.csv", DEFAULT_ELSIMIL_COLUMNS)
    }

    /// Parse a column file (`# id:` line, `#` comments, a `header,field` header, then one column per
    /// line). `name` names the file in errors.
    pub fn parse(name: &str, text: &str) -> Result<Self> {
        let (id, columns) = parse_columns(name, text, Field::parse)?;
        Ok(Self { id, columns })
    }
}

/// Parse a column file of any export: a `# id:` line, `#` comments, a `header,field` header, then one
/// `header,code` per line, each code turned into a field by `field`. `name` names the file in errors,
/// which name the field `columns`. Returns the id (the file name when there is no `# id:` line) and
/// the columns in order.
pub fn parse_columns<F>(
    name: &str,
    text: &str,
    field: impl Fn(&str) -> Option<F>,
) -> Result<(String, Vec<(String, F)>)> {
    let bad = |line: usize, what: String, en: String| {
        Error::invalid(
            "columns",
            format!("Berkas kolom {name} baris {line}: {what}"),
            format!("column file {name} line {line}: {en}"),
        )
    };
    let mut id = None;
    let mut columns = Vec::new();
    let mut header_seen = false;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim().trim_start_matches('\u{feff}');
        if let Some(c) = line.strip_prefix('#') {
            if let Some(v) = c.trim().strip_prefix("id:") {
                id = Some(v.trim().to_owned());
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        if !header_seen {
            if line.replace(' ', "") != "header,field" {
                return Err(bad(
                    n,
                    "judul kolom harus 'header,field'.".into(),
                    "the header must be 'header,field'".into(),
                ));
            }
            header_seen = true;
            continue;
        }
        let Some((header, code)) = line.rsplit_once(',') else {
            return Err(bad(
                n,
                "harus berisi judul dan kode, dipisah koma.".into(),
                "expected header,field".into(),
            ));
        };
        let f = field(code.trim()).ok_or_else(|| {
            bad(
                n,
                format!("kode '{}' tidak dikenal.", code.trim()),
                format!("unknown field code '{}'", code.trim()),
            )
        })?;
        let header = header.trim().trim_matches('"').to_owned();
        if header.is_empty() {
            return Err(bad(n, "judul kolom kosong.".into(), "empty header".into()));
        }
        columns.push((header, f));
    }
    if columns.is_empty() {
        return Err(bad(
            text.lines().count().max(1),
            "tidak ada kolom.".into(),
            "no columns".into(),
        ));
    }
    Ok((id.unwrap_or_else(|| name.to_owned()), columns))
}

/// One child weighed in the month, as the e-PPGBM export needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct WeighedChild {
    pub identity: Identity,
    pub posyandu: String,
    pub village: String,
    pub date: NaiveDate,
    pub measured: Measurements,
    pub assessment: Assessment,
}

pub(crate) fn sex_code(s: Option<Sex>) -> Cell {
    Cell::opt_text(s.map(|s| s.code()))
}

fn round2(v: Option<f64>) -> Cell {
    Cell::opt_num(v.map(|x| (x * 100.0).round() / 100.0))
}

fn value(f: Field, c: &WeighedChild) -> Cell {
    let i = &c.identity;
    let m = &c.measured;
    let a = &c.assessment;
    match f {
        Field::Nik => Cell::opt_text(i.nik.as_deref()),
        Field::Kk => Cell::opt_text(i.kk.as_deref()),
        Field::Name => Cell::text(&i.name),
        Field::BirthDate => Cell::opt_text(i.birth_date.map(|d| d.to_string()).as_deref()),
        Field::Sex => sex_code(i.sex),
        Field::MotherName => Cell::opt_text(i.mother_name.as_deref()),
        Field::MotherNik => Cell::opt_text(i.mother_nik.as_deref()),
        Field::Address => Cell::opt_text(i.address.as_deref()),
        Field::Village => Cell::text(&c.village),
        Field::Posyandu => Cell::text(&c.posyandu),
        Field::VisitDate => Cell::text(c.date.to_string()),
        Field::AgeMonths => Cell::Number(f64::from(a.age_months)),
        Field::WeightKg => Cell::opt_num(m.weight_kg()),
        Field::HeightCm => Cell::opt_num(m.height_cm()),
        Field::Position => Cell::opt_text(m.height_mm.and(m.position).map(|p| match p {
            Position::Lying => "telentang",
            Position::Standing => "berdiri",
        })),
        Field::HeadCircCm => Cell::opt_num(m.head_cm()),
        Field::MuacCm => Cell::opt_num(m.muac_cm()),
        Field::Oedema => Cell::opt_text(m.oedema.map(|o| if o { "ya" } else { "tidak" })),
        Field::Waz => round2(a.z.waz),
        Field::Haz => round2(a.z.haz),
        Field::Whz => round2(a.z.whz),
        Field::Baz => round2(a.z.baz),
        Field::WfaClass => Cell::opt_text(a.classes.wfa.map(|c| c.label_id())),
        Field::HfaClass => Cell::opt_text(a.classes.hfa.map(|c| c.label_id())),
        Field::WfhClass => Cell::opt_text(a.classes.wfh.map(|c| c.label_id())),
        Field::Kms => Cell::opt_text(a.kms.map(|k| k.as_str())),
    }
}

/// The e-PPGBM table of a month: one row per child weighed, in the order given. No title rows: an
/// upload template reads its header from the first row.
pub fn eppgbm_table(columns: &ColumnSet, month: Month, children: &[WeighedChild]) -> Table {
    Table {
        sheet: format!("Pemantauan {month}"),
        title: Vec::new(),
        headers: columns.columns.iter().map(|(h, _)| h.clone()).collect(),
        rows: children
            .iter()
            .map(|c| columns.columns.iter().map(|(_, f)| value(*f, c)).collect())
            .collect(),
    }
}

/// One child of the posyandu register (SIP format 2) for a year up to a month.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisterChild {
    pub identity: Identity,
    /// Weight in kg of the last weighing of each month of the year, January first (None when not
    /// weighed or after the report month).
    pub weights: [Option<f64>; 12],
    /// The report month's KMS status.
    pub kms: Option<String>,
    /// Services given in the report month (codes).
    pub services: Vec<String>,
    /// Referral reasons of the month's last visit.
    pub referral: Vec<ReferralReason>,
}

pub(crate) const MONTHS_SHORT: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des",
];

/// The posyandu register of `month` (SIP format 2: register of babies and balita in the posyandu's area,
/// with the weighings of the year month by month), one row per target child.
pub fn register_table(
    posyandu: &str,
    village: &str,
    month: Month,
    children: &[RegisterChild],
) -> Table {
    let mut headers: Vec<String> = [
        "No",
        "Nama Balita",
        "NIK",
        "Tanggal Lahir",
        "L/P",
        "Nama Ibu",
        "Alamat",
    ]
    .map(String::from)
    .to_vec();
    headers.extend(
        MONTHS_SHORT
            .iter()
            .map(|m| format!("BB {m} {} (kg)", month.year())),
    );
    headers.extend(
        [
            "N/T/O/B bulan ini",
            "Vitamin A bulan ini",
            "Oralit bulan ini",
            "Catatan",
        ]
        .map(String::from),
    );
    let rows = children
        .iter()
        .enumerate()
        .map(|(n, c)| {
            let i = &c.identity;
            let mut row = vec![
                Cell::Number((n + 1) as f64),
                Cell::text(&i.name),
                Cell::opt_text(i.nik.as_deref()),
                Cell::opt_text(i.birth_date.map(|d| d.to_string()).as_deref()),
                sex_code(i.sex),
                Cell::opt_text(i.mother_name.as_deref()),
                Cell::opt_text(i.address.as_deref()),
            ];
            row.extend(c.weights.iter().map(|w| Cell::opt_num(*w)));
            let vit_a: Vec<&str> = c
                .services
                .iter()
                .filter_map(|s| match s.as_str() {
                    "vit_a_biru" => Some("biru"),
                    "vit_a_merah" => Some("merah"),
                    _ => None,
                })
                .collect();
            row.push(Cell::opt_text(c.kms.as_deref()));
            row.push(if vit_a.is_empty() {
                Cell::Empty
            } else {
                Cell::text(vit_a.join(", "))
            });
            row.push(if c.services.iter().any(|s| s == "oralit") {
                Cell::text("ya")
            } else {
                Cell::Empty
            });
            let notes: Vec<&str> = c.referral.iter().map(|r| r.text_id()).collect();
            row.push(if notes.is_empty() {
                Cell::Empty
            } else {
                Cell::text(notes.join("; "))
            });
            row
        })
        .collect();
    Table {
        sheet: "Register".into(),
        title: vec![
            "Register Bayi dan Balita (SIP Format 2)".into(),
            format!("Posyandu {posyandu}, {village}; {}", month.label_id()),
        ],
        headers,
        rows,
    }
}

/// Counts of the month's services for SIP format 6 (service code to number of children).
pub type ServiceCounts = BTreeMap<String, u32>;

/// SIP format 6, the monthly activity report, as far as Timbang records it: the weighing of balita
/// (S, K, D, N, BGM and the other SKDN counts) and the services given at meja 5. Rows Timbang does not
/// record (pregnant women, family planning, immunisation) are listed, empty, so the form's layout stays
/// whole and the bidan fills them from her own registers.
pub fn sip6_table(s: &Skdn, services: &ServiceCounts) -> Table {
    let count = |code: &str| Cell::Number(f64::from(services.get(code).copied().unwrap_or(0)));
    let not_recorded = || Cell::text("tidak dicatat di Timbang");
    let n = |v: u32| Cell::Number(f64::from(v));
    let rows: Vec<(&str, &str, Cell)> = vec![
        ("Ibu hamil", "Jumlah ibu hamil diperiksa", not_recorded()),
        ("Ibu hamil", "Mendapat tablet tambah darah", not_recorded()),
        ("Ibu menyusui", "Jumlah ibu menyusui", not_recorded()),
        ("Ibu nifas", "Mendapat vitamin A", not_recorded()),
        (
            "KB",
            "Peserta KB ulang (kondom, pil, suntik)",
            not_recorded(),
        ),
        ("Penimbangan balita", "S: jumlah balita di wilayah", n(s.s)),
        ("Penimbangan balita", "K: punya KMS / Buku KIA", n(s.k)),
        ("Penimbangan balita", "D: ditimbang bulan ini", n(s.d)),
        ("Penimbangan balita", "N: naik berat badannya", n(s.n)),
        ("Penimbangan balita", "T: tidak naik", n(s.t)),
        (
            "Penimbangan balita",
            "O: tidak ditimbang bulan lalu",
            n(s.o),
        ),
        ("Penimbangan balita", "B: baru pertama ditimbang", n(s.b)),
        ("Penimbangan balita", "Yang BGM", n(s.bgm)),
        ("Penimbangan balita", "2T: dua kali tidak naik", n(s.two_t)),
        (
            "Penimbangan balita",
            "D/S partisipasi (%)",
            Cell::opt_num(s.d_s.map(|x| (x * 1000.0).round() / 10.0)),
        ),
        (
            "Penimbangan balita",
            "N/D keberhasilan (%)",
            Cell::opt_num(s.n_d.map(|x| (x * 1000.0).round() / 10.0)),
        ),
        (
            "Vitamin A",
            "Bayi 6-11 bulan (kapsul biru)",
            count("vit_a_biru"),
        ),
        (
            "Vitamin A",
            "Balita 12-59 bulan (kapsul merah)",
            count("vit_a_merah"),
        ),
        ("PMT", "PMT penyuluhan / pemulihan", count("pmt")),
        (
            "Imunisasi bayi",
            "HB0, BCG, Polio, DPT/HB, Campak",
            not_recorded(),
        ),
        ("Imunisasi", "TT WUS / ibu hamil", not_recorded()),
        ("Diare", "Balita diare mendapat oralit", count("oralit")),
        ("Diare", "Balita diare mendapat zinc", count("zinc")),
        (
            "Obat cacing",
            "Balita mendapat obat cacing",
            count("obat_cacing"),
        ),
    ];
    let mut title = vec![
        "Data Hasil Kegiatan Posyandu (SIP Format 6)".into(),
        format!(
            "Posyandu {}, {}; {}",
            s.posyandu,
            s.village,
            s.month.label_id()
        ),
    ];
    if !s.identity_holds {
        title.push("D ≠ N + T + O + B: lihat catatan SKDN.".into());
    }
    Table {
        sheet: "Format 6".into(),
        title,
        headers: vec!["Kegiatan".into(), "Uraian".into(), "Jumlah".into()],
        rows: rows
            .into_iter()
            .map(|(a, b, c)| vec![Cell::text(a), Cell::text(b), c])
            .collect(),
    }
}

/// The table as CSV (UTF-8, comma-separated, header row then data rows; the title is not written).
pub fn to_csv(t: &Table) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| Error::storage(format!("csv: {e}"));
    w.write_record(&t.headers).map_err(fail)?;
    for r in &t.rows {
        w.write_record(r.iter().map(Cell::as_text)).map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| Error::storage(format!("csv: {e}")))
}

/// The table as an xlsx workbook of one sheet: the title lines, a bold header, then the rows; text
/// cells with the text number format `@`, so NIK, KK and dates stay text when edited.
pub fn to_xlsx(t: &Table) -> Result<Vec<u8>> {
    use super::xlsx::{Sheet, Style, Value};
    let mut ws = Sheet::new(&t.sheet);
    for line in &t.title {
        ws.row([Some((Value::Text(line), Style::Bold))]);
    }
    if !t.title.is_empty() {
        ws.skip_row();
    }
    ws.row(
        t.headers
            .iter()
            .map(|h| Some((Value::Text(h), Style::Bold))),
    );
    for (c, h) in t.headers.iter().enumerate() {
        ws.set_width(c, (h.chars().count() as f64 + 2.0).clamp(6.0, 40.0));
    }
    for r in &t.rows {
        ws.row(r.iter().map(|cell| match cell {
            Cell::Empty => None,
            Cell::Text(s) => Some((Value::Text(s), Style::Text)),
            Cell::Number(n) => Some((Value::Number(*n), Style::Normal)),
        }));
    }
    ws.finish()
        .map_err(|e| Error::storage(format!("xlsx: {e}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_default_columns_parse_and_bad_files_name_the_line() {
        let c = ColumnSet::eppgbm_default().unwrap();
        assert_eq!(c.id, "eppgbm-candidate-2026-12");
        assert_eq!(c.columns[0], ("NIK Anak".to_owned(), Field::Nik));
        assert!(c.columns.iter().any(|(_, f)| *f == Field::Kk));
        let e = ColumnSet::parse("x.csv", "header,field\nNIK,nik\nBerat,berat\n").unwrap_err();
        assert_eq!(e.field(), Some("columns"));
        assert!(
            e.message_id().contains("x.csv baris 3"),
            "{}",
            e.message_id()
        );
        assert!(ColumnSet::parse("x.csv", "nik\n").is_err());
        assert!(ColumnSet::parse("x.csv", "header,field\n").is_err());
    }

    #[test]
    fn numbers_print_without_noise() {
        assert_eq!(Cell::Number(8.5).as_text(), "8.5");
        assert_eq!(Cell::Number(12.0).as_text(), "12");
        assert_eq!(Cell::Number(-1.25).as_text(), "-1.25");
        assert_eq!(
            Cell::Text("3273015705230007".into()).as_text(),
            "3273015705230007"
        );
    }
}

/// The ELSIMIL column file shipped with Timbang.
pub const DEFAULT_ELSIMIL_COLUMNS: &str = include_str!("../../../schema/id/elsimil-columns.csv");
/// What puts a child on the ELSIMIL hand-over (`code,text_id,source`).
pub const ELSIMIL_TRIGGERS: &str = include_str!("../../../schema/id/elsimil-triggers.csv");

/// The trigger codes and their texts, in the table's order.
pub fn elsimil_triggers() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut header = false;
    for line in ELSIMIL_TRIGGERS.lines().map(str::trim) {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if !header {
            header = true;
            continue;
        }
        let Some((code, rest)) = line.split_once(',') else {
            continue;
        };
        let text = rest.rsplit_once(',').map_or(rest, |(t, _)| t);
        out.push((code.trim().to_owned(), text.trim().to_owned()));
    }
    out
}

/// One child at risk in the month, for the ELSIMIL hand-over.
#[derive(Debug, Clone, PartialEq)]
pub struct AtRiskChild {
    pub child: WeighedChild,
    /// Status gizi label (Bahasa Indonesia) of the latest visit that had one.
    pub status_gizi: Option<String>,
    /// Why the child is at risk, in Bahasa Indonesia.
    pub reasons: Vec<String>,
}

/// The ELSIMIL hand-over of a month: the columns of `columns`, then "Status Gizi" and "Alasan Risiko".
pub fn elsimil_table(columns: &ColumnSet, month: Month, children: &[AtRiskChild]) -> Table {
    let mut headers: Vec<String> = columns.columns.iter().map(|(h, _)| h.clone()).collect();
    headers.push("Status Gizi".into());
    headers.push("Alasan Risiko".into());
    Table {
        sheet: format!("ELSIMIL {month}"),
        title: vec![
            format!("Anak berisiko stunting, {}", month.label_id()),
            "Untuk Tim Pendamping Keluarga (ELSIMIL)".into(),
        ],
        headers,
        rows: children
            .iter()
            .map(|c| {
                let mut row: Vec<Cell> = columns
                    .columns
                    .iter()
                    .map(|(_, f)| value(*f, &c.child))
                    .collect();
                row.push(Cell::opt_text(c.status_gizi.as_deref()));
                row.push(Cell::text(c.reasons.join("; ")));
                row
            })
            .collect(),
    }
}
