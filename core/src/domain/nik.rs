//! NIK and KK numbers: structure, province codes (Kemendagri list in `schema/id/provinces.csv`).

use std::sync::LazyLock;

use chrono::{Datelike, NaiveDate};

use super::Sex;
use crate::error::{Error, Result};

static PROVINCES: LazyLock<Vec<u8>> = LazyLock::new(|| {
    include_str!("../../../schema/id/provinces.csv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("code"))
        .filter_map(|l| l.split(',').next()?.parse().ok())
        .collect()
});

/// Whether `code` is a province code of the Kemendagri list.
pub fn is_province_code(code: u8) -> bool {
    PROVINCES.contains(&code)
}

/// What a NIK says about its holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NikInfo {
    pub province: u8,
    pub sex: Sex,
    /// Day and month of birth; the two-digit year is ambiguous about the century.
    pub day: u32,
    pub month: u32,
    pub year_2digit: u32,
}

impl NikInfo {
    /// Whether the birth-date part agrees with `date`.
    pub fn matches_birth_date(&self, date: NaiveDate) -> bool {
        date.day() == self.day
            && date.month() == self.month
            && (date.year().rem_euclid(100)) as u32 == self.year_2digit
    }
}

fn digits16(field: &str, label_id: &str, text: &str) -> Result<Vec<u32>> {
    let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if t.len() != 16 || !t.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::invalid(
            field,
            format!("{label_id} harus 16 angka."),
            format!("{field} must be exactly 16 digits"),
        ));
    }
    Ok(t.chars().filter_map(|c| c.to_digit(10)).collect())
}

/// Validate a NIK's structure (16 digits, province, regency not 00, day, month, serial) and return what it says.
pub fn parse_nik(field: &str, label_id: &str, text: &str) -> Result<(String, NikInfo)> {
    let d = digits16(field, label_id, text)?;
    let num = |a: usize, b: usize| d[a] * 10 + d[b];
    let province = num(0, 1) as u8;
    if !is_province_code(province) {
        return Err(Error::invalid(
            field,
            format!("{label_id}: kode provinsi {province:02} tidak dikenal."),
            format!("{field}: province code {province:02} is not a known province"),
        ));
    }
    if num(2, 3) == 0 {
        return Err(Error::invalid(
            field,
            format!("{label_id}: kode kabupaten/kota 00 tidak sah."),
            format!("{field}: regency code 00 is not valid"),
        ));
    }
    let raw_day = num(6, 7);
    let month = num(8, 9);
    let year_2digit = num(10, 11);
    let serial = d[12..].iter().fold(0, |acc, x| acc * 10 + x);
    let (day, sex) = match raw_day {
        1..=31 => (raw_day, Sex::Male),
        41..=71 => (raw_day - 40, Sex::Female),
        _ => {
            return Err(Error::invalid(
                field,
                format!("{label_id}: bagian tanggal lahir ({raw_day:02}) tidak sah."),
                format!("{field}: the birth-day part {raw_day:02} is not 01-31 or 41-71"),
            ));
        }
    };
    if !(1..=12).contains(&month) {
        return Err(Error::invalid(
            field,
            format!("{label_id}: bagian bulan lahir ({month:02}) tidak sah."),
            format!("{field}: the birth-month part {month:02} is not 01-12"),
        ));
    }
    let valid_day = [1900, 2000]
        .iter()
        .any(|c| NaiveDate::from_ymd_opt(c + year_2digit as i32, month, day).is_some());
    if !valid_day {
        return Err(Error::invalid(
            field,
            format!("{label_id}: tanggal lahir di dalamnya tidak ada di kalender."),
            format!("{field}: its birth-date part is not a calendar date"),
        ));
    }
    if serial == 0 {
        return Err(Error::invalid(
            field,
            format!("{label_id}: nomor urut 0000 tidak sah."),
            format!("{field}: serial 0000 is not valid"),
        ));
    }
    let canonical: String = d.iter().map(|x| char::from(b'0' + *x as u8)).collect();
    Ok((
        canonical,
        NikInfo {
            province,
            sex,
            day,
            month,
            year_2digit,
        },
    ))
}

/// Validate a KK number (16 digits, known province, regency not 00, serial not 0000). Never used as a key.
pub fn parse_kk(text: &str) -> Result<String> {
    let d = digits16("kk", "Nomor KK", text)?;
    let province = (d[0] * 10 + d[1]) as u8;
    if !is_province_code(province) {
        return Err(Error::invalid(
            "kk",
            format!("Nomor KK: kode provinsi {province:02} tidak dikenal."),
            format!("kk: province code {province:02} is not a known province"),
        ));
    }
    if d[2] == 0 && d[3] == 0 {
        return Err(Error::invalid(
            "kk",
            "Nomor KK: kode kabupaten/kota 00 tidak sah.",
            "kk: regency code 00 is not valid",
        ));
    }
    if d[12..].iter().all(|x| *x == 0) {
        return Err(Error::invalid(
            "kk",
            "Nomor KK: nomor urut 0000 tidak sah.",
            "kk: serial 0000 is not valid",
        ));
    }
    Ok(d.iter().map(|x| char::from(b'0' + *x as u8)).collect())
}
