//! Parsing what a kader types: decimal measurements into exact units, dates, sex, position, names.

use chrono::NaiveDate;

use super::{Position, Sex};
use crate::error::{Error, Result};

const MAX_NAME_CHARS: usize = 100;

/// Parse a decimal number typed by a kader (comma or dot as decimal separator) into an integer count of
/// `1 / 10^scale_digits` of the unit, refusing more decimals than `max_decimals`.
fn parse_fixed(
    field: &str,
    label_id: &str,
    unit: &str,
    text: &str,
    scale_digits: u32,
    max_decimals: u32,
) -> Result<u32> {
    let t = text.trim().replace(',', ".");
    let bad = || {
        Error::invalid(
            field,
            format!("{label_id} '{text}' bukan angka yang sah (contoh: 12.3 {unit})."),
            format!("{field} '{text}' is not a valid number"),
        )
    };
    if t.is_empty() || t.starts_with('-') {
        if t.starts_with('-') {
            return Err(Error::invalid(
                field,
                format!("{label_id} tidak boleh negatif."),
                format!("{field} must not be negative"),
            ));
        }
        return Err(bad());
    }
    let (int_part, frac_part) = match t.split_once('.') {
        Some((i, f)) => (i, f),
        None => (t.as_str(), ""),
    };
    if (int_part.is_empty() && frac_part.is_empty())
        || !int_part.chars().all(|c| c.is_ascii_digit())
        || !frac_part.chars().all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    if frac_part.len() as u32 > max_decimals {
        return Err(Error::invalid(
            field,
            format!(
                "{label_id} '{text}' terlalu rinci: paling banyak {max_decimals} angka di belakang koma."
            ),
            format!("{field} '{text}' has more than {max_decimals} decimals"),
        ));
    }
    let int: u64 = if int_part.is_empty() {
        0
    } else {
        int_part.parse().map_err(|_| bad())?
    };
    let mut frac: u64 = 0;
    for (i, c) in frac_part.chars().enumerate() {
        frac += u64::from(c.to_digit(10).unwrap_or(0)) * 10u64.pow(scale_digits - 1 - i as u32);
    }
    let v = int
        .checked_mul(10u64.pow(scale_digits))
        .and_then(|x| x.checked_add(frac))
        .ok_or_else(bad)?;
    let v = u32::try_from(v).map_err(|_| bad())?;
    if v == 0 {
        return Err(Error::invalid(
            field,
            format!("{label_id} tidak boleh nol."),
            format!("{field} must not be zero"),
        ));
    }
    Ok(v)
}

/// Weight typed in kg (up to 3 decimals) to grams.
pub fn parse_weight_kg(text: &str) -> Result<u32> {
    parse_fixed("weight_kg", "Berat badan", "kg", text, 3, 3)
}

/// Length/height typed in cm (0.1 cm, as measured) to millimetres.
pub fn parse_height_cm(text: &str) -> Result<u32> {
    parse_fixed("height_cm", "Panjang/tinggi badan", "cm", text, 1, 1)
}

/// Head circumference typed in cm to millimetres.
pub fn parse_head_cm(text: &str) -> Result<u32> {
    parse_fixed("head_circ_cm", "Lingkar kepala", "cm", text, 1, 1)
}

/// MUAC (LiLA) typed in cm to millimetres.
pub fn parse_muac_cm(text: &str) -> Result<u32> {
    parse_fixed("muac_cm", "LiLA", "cm", text, 1, 1)
}

/// A date typed as `YYYY-MM-DD`.
pub fn parse_date(field: &str, label_id: &str, text: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        Error::invalid(
            field,
            format!(
                "{label_id} '{text}' tidak sah; tulis sebagai TTTT-BB-HH, misalnya 2024-03-15."
            ),
            format!("{field} '{text}' is not a valid YYYY-MM-DD date"),
        )
    })
}

/// Sex typed as L/P (or M/F).
pub fn parse_sex(text: &str) -> Result<Sex> {
    match text.trim().to_ascii_uppercase().as_str() {
        "L" | "M" | "LAKI-LAKI" | "MALE" => Ok(Sex::Male),
        "P" | "F" | "PEREMPUAN" | "FEMALE" => Ok(Sex::Female),
        _ => Err(Error::invalid(
            "sex",
            format!("Jenis kelamin '{text}' tidak sah; tulis L atau P."),
            format!("sex '{text}' must be L or P"),
        )),
    }
}

/// Position typed as lying/standing.
pub fn parse_position(text: &str) -> Result<Position> {
    match text.trim().to_ascii_lowercase().as_str() {
        "lying" | "l" | "telentang" | "berbaring" => Ok(Position::Lying),
        "standing" | "h" | "s" | "berdiri" => Ok(Position::Standing),
        _ => Err(Error::invalid(
            "position",
            format!(
                "Cara ukur '{text}' tidak sah; tulis lying (telentang) atau standing (berdiri)."
            ),
            format!("position '{text}' must be lying or standing"),
        )),
    }
}

/// Validate a person's name: not empty, has a letter, not absurdly long. Returns it trimmed with inner
/// whitespace collapsed.
pub fn clean_name(field: &str, label_id: &str, text: &str) -> Result<String> {
    let cleaned = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if cleaned.is_empty() {
        return Err(Error::invalid(
            field,
            format!("{label_id} tidak boleh kosong."),
            format!("{field} must not be empty"),
        ));
    }
    if !cleaned.chars().any(char::is_alphabetic) {
        return Err(Error::invalid(
            field,
            format!("{label_id} harus berisi huruf."),
            format!("{field} must contain letters"),
        ));
    }
    if cleaned.chars().count() > MAX_NAME_CHARS || cleaned.chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            format!("{label_id} terlalu panjang atau berisi karakter yang tidak sah."),
            format!("{field} is longer than {MAX_NAME_CHARS} characters or has control characters"),
        ));
    }
    Ok(cleaned)
}

/// Yes or no typed by a person (`ya`/`tidak`, `yes`/`no`, `true`/`false`, `1`/`0`).
pub fn parse_bool(field: &str, text: &str) -> Result<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "ya" | "y" | "yes" | "1" => Ok(true),
        "false" | "tidak" | "n" | "no" | "0" => Ok(false),
        _ => Err(Error::invalid(
            field,
            format!("Nilai '{text}' harus ya atau tidak."),
            format!("{field} must be true or false"),
        )),
    }
}

/// A value typed for a field, in the unit stored in the child document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    Int(i64),
    Str(String),
    Bool(bool),
}

/// Parse the value a person typed for `field` (as conflicts name fields: `weight_kg`, `height_cm`,
/// `position`, `oedema`, `sex`, `birth_date`, a name...): the value to store and how it is shown.
pub fn parse_field_value(field: &str, text: &str) -> Result<(FieldValue, serde_json::Value)> {
    Ok(match field {
        "weight_kg" => {
            let g = parse_weight_kg(text)?;
            (
                FieldValue::Int(i64::from(g)),
                serde_json::json!(f64::from(g) / 1000.0),
            )
        }
        "height_cm" | "head_circ_cm" | "muac_cm" => {
            let mm = parse_height_cm(text).map_err(|_| {
                Error::invalid(
                    "value",
                    format!("Nilai '{text}' bukan ukuran cm yang sah."),
                    format!("'{text}' is not a valid cm value"),
                )
            })?;
            (
                FieldValue::Int(i64::from(mm)),
                serde_json::json!(super::mm_to_cm(mm)),
            )
        }
        "position" => {
            let s = parse_position(text)?.code();
            (FieldValue::Str(s.into()), serde_json::json!(s))
        }
        "has_kms" => {
            let b = parse_bool("has_kms", text)?;
            (FieldValue::Bool(b), serde_json::json!(b))
        }
        "oedema" => {
            let b = parse_bool("oedema", text)?;
            (FieldValue::Bool(b), serde_json::json!(b))
        }
        "sex" => {
            let s = parse_sex(text)?.code();
            (FieldValue::Str(s.into()), serde_json::json!(s))
        }
        "birth_date" => {
            let d = parse_date("value", "Tanggal lahir", text)?.to_string();
            (FieldValue::Str(d.clone()), serde_json::json!(d))
        }
        _ => {
            let t = text.trim().to_owned();
            (FieldValue::Str(t.clone()), serde_json::json!(t))
        }
    })
}
