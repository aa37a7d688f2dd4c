//! Batch z-scores over CSV: the back-end of `timbang anthro --input IN.csv --output OUT.csv`.
//!
//! Input: a header row naming the columns (any order; extra columns ignored): `case_id, sex,
//! birth_date, measure_date, weight_kg, height_cm, measured, head_circ_cm, muac_cm, oedema`. `sex` is
//! M/F, L/P or 1/2 (any case); dates are `YYYY-MM-DD`; `measured` is lying/standing or L/H (empty = the
//! age-appropriate position, no adjustment); `oedema` is y/n, 1/0, true/false or empty (= n). Numbers
//! may be empty or `NA` (= missing) and may use a decimal comma. When `birth_date`/`measure_date` are
//! absent or empty, an `age_days` column is used instead.
//!
//! Output header: `case_id,waz,haz,whz,baz,hcz,acz,flag_waz,flag_haz,flag_whz,flag_baz,flag_hcz,
//! flag_acz,clenhei`; z-scores with exactly 2 decimals (`0.00`, never `-0.00`, as WHO Anthro writes
//! them), empty when undefined; flags 0/1, empty when the z-score is undefined; `clenhei` the adjusted
//! length in its shortest decimal form (`100`, `81.41`), empty without a length.
//!
//! **A bad row aborts the run** with [`BatchError::BadValue`] naming the line (1-based, the header is
//! line 1) and the column; the complete good rows before it are written, nothing of the bad one (the output stays a
//! valid CSV of the rows before it). A CLI user fixes the file and runs it again. A measurement date
//! before the birth date is a bad row. Values that parse but are implausible are computed exactly as WHO
//! Anthro does (a measurement `<= 0` gives an empty z-score; the hard limits of data entry do not apply).
//!
//! Streaming: one reused record buffer, output formatted by hand into a reused buffer; no allocation
//! per row.

use std::io::{Read, Write};

use super::{Measurement, Position, Sex, zscores};

/// What a batch run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatchSummary {
    /// Data rows read and written.
    pub rows: u64,
    /// Rows with at least one WHO-flagged z-score.
    pub flagged: u64,
    /// Rows where no z-score could be computed (for example older than 1826 days).
    pub without_z: u64,
}

/// Why a batch run stopped. Messages are English, name the line and column, and carry no data values.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("the input has no column named {0:?}")]
    MissingColumn(&'static str),
    #[error("line {line}, column {column}: {reason}")]
    BadValue {
        line: u64,
        column: &'static str,
        reason: &'static str,
        /// The reason in Bahasa Indonesia.
        reason_id: &'static str,
    },
    #[error("line {line}: malformed CSV ({message})")]
    Csv {
        line: u64,
        message: String,
        /// The message in Bahasa Indonesia.
        message_id: &'static str,
    },
    #[error("could not read or write: {0}")]
    Io(#[from] std::io::Error),
}

impl BatchError {
    /// What is wrong, in Bahasa Indonesia, naming the line and column (to follow "Berkas masukan X
    /// salah: ").
    pub fn message_id(&self) -> String {
        match self {
            Self::MissingColumn(c) => format!("tidak ada kolom bernama \"{c}\""),
            Self::BadValue {
                line,
                column,
                reason_id,
                ..
            } => format!("baris {line}, kolom {column}: {reason_id}"),
            Self::Csv {
                line, message_id, ..
            } => format!("baris {line}: {message_id}"),
            Self::Io(e) => format!("gagal dibaca ({})", crate::output_file::io_reason_id(e)),
        }
    }
}

/// The output header.
pub const OUTPUT_HEADER: &str = "case_id,waz,haz,whz,baz,hcz,acz,flag_waz,flag_haz,flag_whz,flag_baz,flag_hcz,flag_acz,clenhei\n";

const PROGRESS_EVERY: u64 = 1 << 16;
/// Records handed from the reading thread at a time.
const READ_BATCH: usize = 1024;
const FLUSH_AT: usize = 1 << 16;

#[derive(Debug, Default)]
struct Columns {
    case_id: Option<usize>,
    sex: usize,
    birth: Option<usize>,
    measure: Option<usize>,
    age_days: Option<usize>,
    weight: Option<usize>,
    height: Option<usize>,
    measured: Option<usize>,
    head: Option<usize>,
    muac: Option<usize>,
    oedema: Option<usize>,
}

impl Columns {
    fn from_header(h: &csv::ByteRecord) -> Result<Self, BatchError> {
        let find = |name: &str| {
            h.iter().position(|f| {
                let f = trim(f);
                let f = f.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(f);
                f.eq_ignore_ascii_case(name.as_bytes())
            })
        };
        let c = Columns {
            case_id: find("case_id"),
            sex: find("sex").ok_or(BatchError::MissingColumn("sex"))?,
            birth: find("birth_date"),
            measure: find("measure_date"),
            age_days: find("age_days"),
            weight: find("weight_kg"),
            height: find("height_cm"),
            measured: find("measured"),
            head: find("head_circ_cm"),
            muac: find("muac_cm"),
            oedema: find("oedema"),
        };
        if c.age_days.is_none() {
            if c.birth.is_none() {
                return Err(BatchError::MissingColumn("birth_date"));
            }
            if c.measure.is_none() {
                return Err(BatchError::MissingColumn("measure_date"));
            }
        }
        Ok(c)
    }
}

#[inline]
fn trim(b: &[u8]) -> &[u8] {
    b.trim_ascii()
}

#[inline]
fn field(r: &csv::ByteRecord, i: Option<usize>) -> &[u8] {
    i.and_then(|i| r.get(i)).map_or(&[][..], trim)
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date (proleptic Gregorian), or None.
#[inline]
fn parse_date(b: &[u8]) -> Option<i64> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |s: &[u8]| -> Option<i64> {
        let mut n = 0i64;
        for &c in s {
            if !c.is_ascii_digit() {
                return None;
            }
            n = n * 10 + i64::from(c - b'0');
        }
        Some(n)
    };
    let (y, m, d) = (num(&b[0..4])?, num(&b[5..7])?, num(&b[8..10])?);
    if !(1..=12).contains(&m) || d < 1 {
        return None;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let dim = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if d > dim {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// A number: empty or NA = None; decimal comma accepted; not finite = error.
#[inline]
fn parse_num(b: &[u8]) -> Result<Option<f64>, ()> {
    if b.is_empty() || b.eq_ignore_ascii_case(b"NA") {
        return Ok(None);
    }
    let s = std::str::from_utf8(b).map_err(|_| ())?;
    let v = match s.parse::<f64>() {
        Ok(v) => v,
        Err(_) if s.bytes().filter(|&c| c == b',').count() == 1 && !s.contains('.') => {
            s.replace(',', ".").parse::<f64>().map_err(|_| ())?
        }
        Err(_) => return Err(()),
    };
    if v.is_finite() { Ok(Some(v)) } else { Err(()) }
}

#[inline]
fn parse_sex(b: &[u8]) -> Option<Sex> {
    match b {
        b"M" | b"m" | b"L" | b"l" | b"1" => Some(Sex::Male),
        b"F" | b"f" | b"P" | b"p" | b"2" => Some(Sex::Female),
        _ => None,
    }
}

#[inline]
fn parse_position(b: &[u8]) -> Result<Option<Position>, ()> {
    if b.is_empty() || b.eq_ignore_ascii_case(b"NA") {
        Ok(None)
    } else if b.eq_ignore_ascii_case(b"lying") || b.eq_ignore_ascii_case(b"l") {
        Ok(Some(Position::Lying))
    } else if b.eq_ignore_ascii_case(b"standing") || b.eq_ignore_ascii_case(b"h") {
        Ok(Some(Position::Standing))
    } else {
        Err(())
    }
}

#[inline]
fn parse_oedema(b: &[u8]) -> Result<bool, ()> {
    if b.is_empty() || b.eq_ignore_ascii_case(b"NA") {
        return Ok(false);
    }
    for yes in [&b"y"[..], b"yes", b"1", b"true", b"ya"] {
        if b.eq_ignore_ascii_case(yes) {
            return Ok(true);
        }
    }
    for no in [&b"n"[..], b"no", b"0", b"false", b"tidak", b"2"] {
        if b.eq_ignore_ascii_case(no) {
            return Ok(false);
        }
    }
    Err(())
}

#[inline]
fn push_uint(out: &mut Vec<u8>, mut n: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&tmp[i..]);
}

/// A 2-decimal z-score (already rounded) as WHO Anthro writes it.
#[inline]
fn push_z(out: &mut Vec<u8>, z: Option<f64>) {
    if let Some(v) = z {
        let h = (v * 100.0).round() as i64;
        if h < 0 {
            out.push(b'-');
        }
        let a = h.unsigned_abs();
        push_uint(out, a / 100);
        let f = (a % 100) as u8;
        out.extend_from_slice(&[b'.', b'0' + f / 10, b'0' + f % 10]);
    }
}

#[inline]
fn push_flag(out: &mut Vec<u8>, z: Option<f64>, flag: bool) {
    if z.is_some() {
        out.push(if flag { b'1' } else { b'0' });
    }
}

/// The shortest decimal form of a length (`100`, `81.41`): values within 1e-9 of a 6-decimal number
/// (all real inputs after the +/-0.7 cm adjustment) are written from integers; anything else with Rust's
/// shortest round-trip formatting.
#[inline]
fn push_len(out: &mut Vec<u8>, v: Option<f64>) {
    let Some(v) = v else { return };
    let scaled = v * 1e6;
    let k = scaled.round();
    if (scaled - k).abs() < 1e-3 && k.abs() < 1e15 {
        if k < 0.0 {
            out.push(b'-');
        }
        let k = k.abs() as u64;
        push_uint(out, k / 1_000_000);
        let mut frac = k % 1_000_000;
        if frac != 0 {
            let mut digits = 6;
            while frac.is_multiple_of(10) {
                frac /= 10;
                digits -= 1;
            }
            out.push(b'.');
            let mut tmp = [b'0'; 6];
            for i in (0..digits).rev() {
                tmp[i] = b'0' + (frac % 10) as u8;
                frac /= 10;
            }
            out.extend_from_slice(&tmp[..digits]);
        }
    } else {
        // Cannot fail: writing into a Vec.
        let _ = write!(out, "{v}");
    }
}

#[inline]
fn push_csv_field(out: &mut Vec<u8>, b: &[u8]) {
    if b.iter().any(|&c| matches!(c, b',' | b'"' | b'\n' | b'\r')) {
        out.push(b'"');
        for &c in b {
            if c == b'"' {
                out.push(b'"');
            }
            out.push(c);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(b);
    }
}

/// Runs the batch: reads `input`, writes one output row per input row to `output`, calls `progress`
/// with the number of rows done every 65,536 rows and once at the end.
///
/// Reading and splitting CSV records runs on a second thread (it is about a third of the work), handing
/// batches of records to this one, which parses, computes and writes; output order is input order.
pub fn run_batch<R: Read + Send, W: Write>(
    input: R,
    mut output: W,
    progress: &mut dyn FnMut(u64),
) -> Result<BatchSummary, BatchError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .buffer_capacity(1 << 16)
        .from_reader(input);
    let cols = Columns::from_header(rdr.byte_headers().map_err(csv_err)?)?;
    let n_fields = rdr.byte_headers().map_err(csv_err)?.len();

    let mut out: Vec<u8> = Vec::with_capacity(FLUSH_AT + 4096);
    out.extend_from_slice(OUTPUT_HEADER.as_bytes());
    let mut summary = BatchSummary::default();
    let result = std::thread::scope(|s| {
        let (batches, incoming) =
            std::sync::mpsc::sync_channel::<Result<Vec<csv::ByteRecord>, BatchError>>(4);
        let (recycle, recycled) = std::sync::mpsc::channel::<Vec<csv::ByteRecord>>();
        s.spawn(move || {
            loop {
                let mut batch = recycled.try_recv().unwrap_or_default();
                batch.resize_with(READ_BATCH, csv::ByteRecord::new);
                let mut n = 0;
                let mut failed = None;
                while n < READ_BATCH {
                    match rdr.read_byte_record(&mut batch[n]) {
                        Ok(true) => n += 1,
                        Ok(false) => break,
                        Err(e) => {
                            failed = Some(csv_err(e));
                            break;
                        }
                    }
                }
                batch.truncate(n);
                if let Some(e) = failed {
                    // The good records before the error first, then the error (never an empty batch,
                    // which would read as the end of input).
                    if n > 0 && batches.send(Ok(batch)).is_err() {
                        return;
                    }
                    let _ = batches.send(Err(e));
                    return;
                }
                let done = n < READ_BATCH;
                // A send fails only when the consumer stopped (a bad row): then stop reading too.
                if batches.send(Ok(batch)).is_err() || done {
                    return;
                }
            }
        });
        let mut current: Vec<csv::ByteRecord> = Vec::new();
        let mut at = 0;
        let mut next = |rec: &mut csv::ByteRecord| -> Result<bool, BatchError> {
            while at == current.len() {
                let used = std::mem::take(&mut current);
                let _ = recycle.send(used);
                match incoming.recv() {
                    Ok(Ok(b)) if !b.is_empty() => {
                        current = b;
                        at = 0;
                    }
                    Ok(Ok(_)) | Err(_) => return Ok(false),
                    Ok(Err(e)) => return Err(e),
                }
            }
            std::mem::swap(rec, &mut current[at]);
            at += 1;
            Ok(true)
        };
        let r = rows(
            &mut next,
            &cols,
            n_fields,
            &mut out,
            &mut output,
            &mut summary,
            progress,
        );
        // Dropping the receiver ends the reader if it is still going (after a bad row).
        drop(incoming);
        r
    });
    // On a bad row, the complete good rows before it are still written; then the error is returned.
    output.write_all(&out)?;
    output.flush()?;
    result?;
    progress(summary.rows);
    Ok(summary)
}

fn csv_err(e: csv::Error) -> BatchError {
    let line = e.position().map_or(0, csv::Position::line);
    match e.into_kind() {
        csv::ErrorKind::Io(io) => BatchError::Io(io),
        kind => {
            let (message, message_id) = match kind {
                csv::ErrorKind::Utf8 { .. } => ("not valid UTF-8", "bukan teks UTF-8 yang sah"),
                csv::ErrorKind::UnequalLengths { .. } => {
                    ("wrong number of fields", "jumlah kolomnya salah")
                }
                _ => ("unreadable record", "baris itu tidak terbaca"),
            };
            BatchError::Csv {
                line,
                message: message.to_owned(),
                message_id,
            }
        }
    }
}

/// The row loop: appends complete output rows to `out`, flushing it to `output` now and then.
fn rows<W: Write>(
    next: &mut dyn FnMut(&mut csv::ByteRecord) -> Result<bool, BatchError>,
    cols: &Columns,
    n_fields: usize,
    out: &mut Vec<u8>,
    output: &mut W,
    summary: &mut BatchSummary,
    progress: &mut dyn FnMut(u64),
) -> Result<(), BatchError> {
    let mut rec = csv::ByteRecord::new();
    while next(&mut rec)? {
        let line = rec.position().map_or(0, csv::Position::line);
        let bad = |column: &'static str, reason: &'static str, reason_id: &'static str| {
            BatchError::BadValue {
                line,
                column,
                reason,
                reason_id,
            }
        };
        if rec.len() < n_fields {
            return Err(BatchError::Csv {
                line,
                message: "fewer fields than the header".to_owned(),
                message_id: "kolomnya lebih sedikit daripada judul kolom",
            });
        }
        let sex = parse_sex(field(&rec, Some(cols.sex)))
            .ok_or_else(|| bad("sex", "expected M/F, L/P or 1/2", "harus M/F, L/P atau 1/2"))?;
        let birth = field(&rec, cols.birth);
        let measured_on = field(&rec, cols.measure);
        let age_days = if !birth.is_empty() || !measured_on.is_empty() {
            let b = parse_date(birth).ok_or_else(|| {
                bad(
                    "birth_date",
                    "expected YYYY-MM-DD",
                    "harus tanggal TTTT-BB-HH",
                )
            })?;
            let m = parse_date(measured_on).ok_or_else(|| {
                bad(
                    "measure_date",
                    "expected YYYY-MM-DD",
                    "harus tanggal TTTT-BB-HH",
                )
            })?;
            if m < b {
                return Err(bad(
                    "measure_date",
                    "before birth_date",
                    "tanggal ukur sebelum tanggal lahir",
                ));
            }
            m - b
        } else {
            let a = parse_num(field(&rec, cols.age_days))
                .ok()
                .flatten()
                .filter(|a| *a >= 0.0 && a.fract() == 0.0)
                .ok_or_else(|| {
                    bad(
                        "birth_date",
                        "missing dates (and no whole, non-negative age_days)",
                        "tanggal kosong (dan tidak ada age_days berupa bilangan bulat tidak negatif)",
                    )
                })?;
            a as i64
        };
        let num = |i: Option<usize>, column: &'static str| {
            parse_num(field(&rec, i))
                .map_err(|()| bad(column, "expected a number", "harus berupa angka"))
        };
        let m = Measurement {
            sex,
            age_days,
            weight_kg: num(cols.weight, "weight_kg")?,
            height_cm: num(cols.height, "height_cm")?,
            position: parse_position(field(&rec, cols.measured)).map_err(|()| {
                bad(
                    "measured",
                    "expected lying/standing or L/H",
                    "harus lying/standing atau L/H",
                )
            })?,
            head_cm: num(cols.head, "head_circ_cm")?,
            muac_cm: num(cols.muac, "muac_cm")?,
            oedema: parse_oedema(field(&rec, cols.oedema))
                .map_err(|()| bad("oedema", "expected y/n", "harus y/n"))?,
        };
        let z = zscores(&m);

        push_csv_field(out, field(&rec, cols.case_id));
        for v in [z.waz, z.haz, z.whz, z.baz, z.hcz, z.acz] {
            out.push(b',');
            push_z(out, v);
        }
        for (v, f) in [
            (z.waz, z.flag_waz),
            (z.haz, z.flag_haz),
            (z.whz, z.flag_whz),
            (z.baz, z.flag_baz),
            (z.hcz, z.flag_hcz),
            (z.acz, z.flag_acz),
        ] {
            out.push(b',');
            push_flag(out, v, f);
        }
        out.push(b',');
        push_len(out, z.clenhei);
        out.push(b'\n');

        summary.rows += 1;
        if z.any_flag() {
            summary.flagged += 1;
        }
        if [z.waz, z.haz, z.whz, z.baz, z.hcz, z.acz]
            .iter()
            .all(Option::is_none)
        {
            summary.without_z += 1;
        }
        if out.len() >= FLUSH_AT {
            output.write_all(out)?;
            out.clear();
        }
        if summary.rows.is_multiple_of(PROGRESS_EVERY) {
            progress(summary.rows);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn dates_match_chrono() {
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        for s in [
            "1970-01-01",
            "2000-02-29",
            "2024-12-31",
            "1899-03-01",
            "2100-02-28",
        ] {
            let d: chrono::NaiveDate = s.parse().unwrap();
            assert_eq!(
                parse_date(s.as_bytes()),
                Some((d - epoch).num_days()),
                "{s}"
            );
        }
        for s in [
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-1-01",
            "20240101",
            "2024-04-31",
        ] {
            assert_eq!(parse_date(s.as_bytes()), None, "{s}");
        }
    }

    #[test]
    fn formats() {
        let f = |v: Option<f64>| {
            let mut o = Vec::new();
            push_z(&mut o, v);
            String::from_utf8(o).unwrap()
        };
        assert_eq!(f(Some(-4.24)), "-4.24");
        assert_eq!(f(Some(0.0)), "0.00");
        assert_eq!(f(Some(-0.05)), "-0.05");
        assert_eq!(f(Some(12.3)), "12.30");
        assert_eq!(f(None), "");
        let l = |v: f64| {
            let mut o = Vec::new();
            push_len(&mut o, Some(v));
            String::from_utf8(o).unwrap()
        };
        assert_eq!(l(100.0), "100");
        assert_eq!(l(80.71 + 0.7), "81.41");
        assert_eq!(l(91.2 - 0.7), "90.5");
        assert_eq!(l(95.123_456_789), "95.123456789");
    }
}
