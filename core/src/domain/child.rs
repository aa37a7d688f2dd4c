//! Validation of a whole registration.

use chrono::{Datelike, NaiveDate};

use super::{NewChild, Sex, clean_name, parse_kk, parse_nik};
use crate::error::{Confirmation, Error, Result};

/// Oldest child a posyandu registers (the register keeps children until 5 years; we allow 6 for
/// late data entry).
pub const MAX_AGE_YEARS_AT_REGISTRATION: i32 = 6;
/// The posyandu serves children under five (balita, 0 to 59 completed months); registering a child of
/// this many completed months or more asks for the kader's confirmation.
pub const BALITA_END_MONTHS: u32 = 60;
const MAX_ADDRESS_CHARS: usize = 300;

/// Validate a whole registration. Returns the cleaned child and what needs the kader's confirmation
/// (a NIK that disagrees with the birth date or sex: the NIK cannot change, so the registry may be the
/// one that is wrong).
pub fn validate_new_child(c: &NewChild, today: NaiveDate) -> Result<(NewChild, Vec<Confirmation>)> {
    let mut confirmations = Vec::new();
    let name = clean_name("name", "Nama anak", &c.name)?;
    if c.birth_date > today {
        return Err(Error::invalid(
            "birth_date",
            "Tanggal lahir tidak boleh di masa depan.",
            "birth_date is in the future",
        ));
    }
    let oldest = NaiveDate::from_ymd_opt(
        today.year() - MAX_AGE_YEARS_AT_REGISTRATION,
        today.month(),
        today.day().min(28),
    )
    .unwrap_or(today);
    if c.birth_date < oldest {
        return Err(Error::invalid(
            "birth_date",
            format!(
                "Tanggal lahir lebih dari {MAX_AGE_YEARS_AT_REGISTRATION} tahun yang lalu: bukan balita."
            ),
            format!("birth_date is more than {MAX_AGE_YEARS_AT_REGISTRATION} years ago"),
        ));
    }
    let months = super::completed_months(c.birth_date, today);
    if months >= BALITA_END_MONTHS {
        confirmations.push(Confirmation {
            code: "age_over_59_months".into(),
            field: "birth_date".into(),
            message_id: format!(
                "Anak berumur {months} bulan: posyandu melayani balita 0-59 bulan dan standar balita (KMS, KBM, BB/TB, LiLA) tidak berlaku lagi; periksa tanggal lahir."
            ),
            message_en: format!(
                "the child is {months} months old: the posyandu serves children of 0-59 months and the under-five standards no longer apply"
            ),
        });
    }
    let nik = match &c.nik {
        Some(t) if !t.trim().is_empty() => {
            let (nik, info) = parse_nik("nik", "NIK anak", t)?;
            if !info.matches_birth_date(c.birth_date) {
                confirmations.push(Confirmation {
                    code: "nik_birth_date".into(),
                    field: "nik".into(),
                    message_id: "Tanggal lahir di NIK anak berbeda dengan tanggal lahir yang dicatat; periksa akta atau KK.".into(),
                    message_en: "the NIK's birth-date part disagrees with the recorded birth date".into(),
                });
            }
            if info.sex != c.sex {
                confirmations.push(Confirmation {
                    code: "nik_sex".into(),
                    field: "nik".into(),
                    message_id: "Jenis kelamin menurut NIK anak berbeda dengan yang dicatat."
                        .into(),
                    message_en: "the NIK's sex part disagrees with the recorded sex".into(),
                });
            }
            Some(nik)
        }
        _ => None,
    };
    let nik_child = nik.clone();
    let kk = match &c.kk {
        Some(t) if !t.trim().is_empty() => Some(parse_kk(t)?),
        _ => None,
    };
    let mother_name = match &c.mother_name {
        Some(t) if !t.trim().is_empty() => Some(clean_name("mother_name", "Nama ibu", t)?),
        _ => None,
    };
    let mother_nik = match &c.mother_nik {
        Some(t) if !t.trim().is_empty() => {
            let (nik, info) = parse_nik("mother_nik", "NIK ibu", t)?;
            if info.sex != Sex::Female {
                confirmations.push(Confirmation {
                    code: "mother_nik_sex".into(),
                    field: "mother_nik".into(),
                    message_id: "NIK ibu menunjukkan jenis kelamin laki-laki; periksa kembali."
                        .into(),
                    message_en: "the mother's NIK encodes a male holder".into(),
                });
            }
            if Some(&nik) == nik_child.as_ref() {
                return Err(Error::invalid(
                    "mother_nik",
                    "NIK ibu sama dengan NIK anak.",
                    "mother_nik equals the child's nik",
                ));
            }
            Some(nik)
        }
        _ => None,
    };
    let address = match &c.address {
        Some(t) if !t.trim().is_empty() => {
            let a = t.split_whitespace().collect::<Vec<_>>().join(" ");
            if a.chars().count() > MAX_ADDRESS_CHARS || a.chars().any(char::is_control) {
                return Err(Error::invalid(
                    "address",
                    "Alamat terlalu panjang atau berisi karakter yang tidak sah.",
                    format!(
                        "address is longer than {MAX_ADDRESS_CHARS} characters or has control characters"
                    ),
                ));
            }
            Some(a)
        }
        _ => None,
    };
    Ok((
        NewChild {
            name,
            sex: c.sex,
            birth_date: c.birth_date,
            nik,
            kk,
            mother_name,
            mother_nik,
            address,
        },
        confirmations,
    ))
}
