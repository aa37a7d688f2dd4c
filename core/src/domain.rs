//! Domain types and validation: children, caregivers, visits, ids, exact units.
//!
//! Weights are whole grams, lengths whole millimetres; dates are `chrono::NaiveDate`. Everything a kader
//! types passes through a `parse_*` or `validate_*` function here, which names the field in its error.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

use crate::error::{Confirmation, Error, Result};
pub use crate::growth::{Position, Sex};

/// A child's id, made on the device (UUIDv7: time-ordered, unique without coordination).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChildId(String);

impl ChildId {
    /// A new id.
    pub fn make() -> Self {
        Self(uuid::Uuid::now_v7().to_string())
    }

    /// Parse an id typed by a person or read from storage.
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        uuid::Uuid::parse_str(s)
            .map(|u| Self(u.to_string()))
            .map_err(|_| {
                Error::invalid(
                    "child_id",
                    format!("ID anak '{s}' tidak dikenali."),
                    format!("child id '{s}' is not a valid id"),
                )
            })
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ChildId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A child's identity as registered. Personal fields are sealed at rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Identity {
    pub name: String,
    pub sex: Option<Sex>,
    pub birth_date: Option<NaiveDate>,
    pub nik: Option<String>,
    pub kk: Option<String>,
    pub mother_name: Option<String>,
    pub mother_nik: Option<String>,
    pub address: Option<String>,
}

/// A child to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChild {
    pub name: String,
    pub sex: Sex,
    pub birth_date: NaiveDate,
    pub nik: Option<String>,
    pub kk: Option<String>,
    pub mother_name: Option<String>,
    pub mother_nik: Option<String>,
    pub address: Option<String>,
}

/// A health service given at the posyandu (meja 5), recorded with the visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    /// Vitamin A capsule, blue (100,000 IU), for 6 to 11 months.
    VitABiru,
    /// Vitamin A capsule, red (200,000 IU), for 12 to 59 months.
    VitAMerah,
    /// Pemberian makanan tambahan.
    Pmt,
    Oralit,
    Zinc,
    ObatCacing,
}

impl Service {
    /// Every service, in a stable order.
    pub const ALL: [Service; 6] = [
        Service::VitABiru,
        Service::VitAMerah,
        Service::Pmt,
        Service::Oralit,
        Service::Zinc,
        Service::ObatCacing,
    ];

    /// Stable code, as stored and typed (`--service vit_a_merah`).
    pub fn code(self) -> &'static str {
        match self {
            Service::VitABiru => "vit_a_biru",
            Service::VitAMerah => "vit_a_merah",
            Service::Pmt => "pmt",
            Service::Oralit => "oralit",
            Service::Zinc => "zinc",
            Service::ObatCacing => "obat_cacing",
        }
    }

    /// Parse a code.
    pub fn parse(text: &str) -> Result<Self> {
        let t = text.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|s| s.code() == t)
            .ok_or_else(|| {
                let codes: Vec<&str> = Self::ALL.iter().map(|s| s.code()).collect();
                Error::invalid(
                    "service",
                    format!(
                        "Layanan '{text}' tidak dikenal; pilihan: {}.",
                        codes.join(", ")
                    ),
                    format!("unknown service '{text}'"),
                )
            })
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A set of services (copyable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Services(u16);

impl Services {
    /// Add a service.
    pub fn insert(&mut self, s: Service) {
        self.0 |= s.bit();
    }
    /// Whether `s` is in the set.
    pub fn contains(self, s: Service) -> bool {
        self.0 & s.bit() != 0
    }
    /// True when empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// The services, in a stable order.
    pub fn iter(self) -> impl Iterator<Item = Service> {
        Service::ALL.into_iter().filter(move |s| self.contains(*s))
    }
}

/// The measurements of one visit (all optional: a second entry the same day adds to or corrects it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct VisitEntry {
    pub date: Option<NaiveDate>,
    pub weight_g: Option<u32>,
    pub height_mm: Option<u32>,
    pub position: Option<Position>,
    pub head_mm: Option<u32>,
    pub muac_mm: Option<u32>,
    pub oedema: Option<bool>,
    /// Services given at this visit (added to those already recorded that day).
    pub services: Services,
}

/// Measurements in exact units (grams, millimetres) as the growth engine takes them (kg, cm).
pub fn growth_input(
    date: NaiveDate,
    weight_g: Option<u32>,
    height_mm: Option<u32>,
    position: Option<Position>,
    head_mm: Option<u32>,
    muac_mm: Option<u32>,
    oedema: Option<bool>,
) -> crate::growth::VisitInput {
    let cm = |mm: Option<u32>| mm.map(|mm| f64::from(mm) / 10.0);
    crate::growth::VisitInput {
        date,
        weight_kg: weight_g.map(|g| f64::from(g) / 1000.0),
        height_cm: cm(height_mm),
        position,
        head_cm: cm(head_mm),
        muac_cm: cm(muac_mm),
        oedema: oedema.unwrap_or(false),
    }
}

impl VisitEntry {
    /// The entry's measurements for the growth engine, dated `date`.
    pub fn input(&self, date: NaiveDate) -> crate::growth::VisitInput {
        growth_input(
            date,
            self.weight_g,
            self.height_mm,
            self.position,
            self.head_mm,
            self.muac_mm,
            self.oedema,
        )
    }

    /// True when the entry carries no measurement at all.
    pub fn is_empty(&self) -> bool {
        self.weight_g.is_none()
            && self.height_mm.is_none()
            && self.head_mm.is_none()
            && self.muac_mm.is_none()
            && self.oedema.is_none()
            && self.services.is_empty()
    }
}

/// Oldest child a posyandu registers (the register keeps children until 5 years; we allow 6 for
/// late data entry).
pub const MAX_AGE_YEARS_AT_REGISTRATION: i32 = 6;
const MAX_NAME_CHARS: usize = 100;
const MAX_ADDRESS_CHARS: usize = 300;

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

static PROVINCES: LazyLock<Vec<u8>> = LazyLock::new(|| {
    include_str!("../../schema/id/provinces.csv")
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

/// Validate a NIK's structure (16 digits, province, day, month, serial) and return what it says.
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

/// Validate a KK number (16 digits, known province, serial not 0000). Never used as a key.
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
    if d[12..].iter().all(|x| *x == 0) {
        return Err(Error::invalid(
            "kk",
            "Nomor KK: nomor urut 0000 tidak sah.",
            "kk: serial 0000 is not valid",
        ));
    }
    Ok(d.iter().map(|x| char::from(b'0' + *x as u8)).collect())
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

/// Validate a visit date for a child born on `birth_date`.
pub fn validate_visit_date(date: NaiveDate, birth_date: NaiveDate, today: NaiveDate) -> Result<()> {
    if date > today {
        return Err(Error::invalid(
            "date",
            "Tanggal kunjungan tidak boleh di masa depan.",
            "visit date is in the future",
        ));
    }
    if date < birth_date {
        return Err(Error::invalid(
            "date",
            "Tanggal kunjungan tidak boleh sebelum tanggal lahir.",
            "visit date is before the birth date",
        ));
    }
    Ok(())
}

/// Completed calendar months from `birth` to `date` (the age a kader reads off the KMS).
pub fn completed_months(birth: NaiveDate, date: NaiveDate) -> u32 {
    if date < birth {
        return 0;
    }
    let mut m = (date.year() - birth.year()) * 12 + date.month() as i32 - birth.month() as i32;
    if date.day() < birth.day() {
        // Not yet the monthly birthday, unless the birthday does not exist this month (31st).
        let last_day = NaiveDate::from_ymd_opt(date.year(), date.month(), 1)
            .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
            .and_then(|d| d.pred_opt())
            .map_or(31, |d| d.day());
        if date.day() < last_day {
            m -= 1;
        }
    }
    m.max(0) as u32
}

/// Normalise a name for similarity: lower case, letters only, old and new Indonesian spellings folded
/// (dj→j, tj→c, oe→u, j→y before 1972 spelling, sj→sy, ch→kh), doubled letters collapsed.
pub fn name_key(name: &str) -> String {
    let lower: String = name
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphabetic() || c.is_whitespace())
        .collect();
    let mut s = lower
        .replace("dj", "j")
        .replace("tj", "c")
        .replace("oe", "u")
        .replace("sj", "sy")
        .replace("ch", "kh")
        .replace("nj", "ny");
    // Common titles and parent words that do not identify a child.
    for w in ["binti ", "bin ", "an. ", "by. ", "bayi ", "ny. "] {
        s = s.replace(w, "");
    }
    let mut out = String::with_capacity(s.len());
    let mut last = None;
    for ch in s.split_whitespace().collect::<Vec<_>>().join(" ").chars() {
        if Some(ch) != last {
            out.push(ch);
        }
        last = Some(ch);
    }
    out
}

/// Similarity of two names in 0..=1 (Jaro-Winkler on normalised names, also trying word-order swaps).
pub fn name_similarity(a: &str, b: &str) -> f64 {
    let (ka, kb) = (name_key(a), name_key(b));
    if ka.is_empty() || kb.is_empty() {
        return 0.0;
    }
    let direct = strsim::jaro_winkler(&ka, &kb);
    let mut wa: Vec<&str> = ka.split(' ').collect();
    let mut wb: Vec<&str> = kb.split(' ').collect();
    wa.sort_unstable();
    wb.sort_unstable();
    let sorted = strsim::jaro_winkler(&wa.join(" "), &wb.join(" "));
    direct.max(sorted)
}

/// Names at least this similar are possible duplicates.
pub const SIMILAR_NAME: f64 = 0.88;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn weights_parse_exactly() {
        assert_eq!(parse_weight_kg("12.3").unwrap(), 12_300);
        assert_eq!(parse_weight_kg("12,35").unwrap(), 12_350);
        assert_eq!(parse_weight_kg("0.5").unwrap(), 500);
        assert_eq!(parse_weight_kg("7").unwrap(), 7_000);
        assert_eq!(parse_weight_kg(".8").unwrap(), 800);
        for bad in [
            "", "-1", "0", "0.000", "abc", "1.2345", "1e3", "1..2", "NaN", "inf",
        ] {
            assert!(parse_weight_kg(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_height_cm("87.5").unwrap(), 875);
        assert!(parse_height_cm("87.55").is_err());
    }

    #[test]
    fn nik_structure() {
        // Girl born 2023-05-12: day 12 + 40 = 52.
        let (nik, info) = parse_nik("nik", "NIK", "3201015205230001").unwrap();
        assert_eq!(nik, "3201015205230001");
        assert_eq!(info.sex, Sex::Female);
        assert!(info.matches_birth_date(d("2023-05-12")));
        assert!(!info.matches_birth_date(d("2023-05-13")));
        for bad in [
            "320101520523000",   // 15 digits
            "99010152052300001", // 17
            "9901015205230001",  // province 99
            "3201013205230001",  // day 32
            "3201017205230001",  // day 72
            "3201011213230001",  // month 13
            "3201015205230000",  // serial 0000
            "3201013102230001",  // 31 February
            "32010152052300a1",
        ] {
            assert!(parse_nik("nik", "NIK", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn nik_disagreement_needs_confirmation_not_refusal() {
        let c = NewChild {
            name: "Anak Uji".into(),
            sex: Sex::Male,
            birth_date: d("2023-05-12"),
            nik: Some("3201015205230001".into()),
            kk: None,
            mother_name: None,
            mother_nik: None,
            address: None,
        };
        let (_, conf) = validate_new_child(&c, d("2024-01-01")).unwrap();
        let codes: Vec<_> = conf.iter().map(|c| c.code.as_str()).collect();
        assert_eq!(codes, ["nik_sex"]);
    }

    #[test]
    fn completed_months_by_calendar() {
        assert_eq!(completed_months(d("2024-01-15"), d("2024-02-14")), 0);
        assert_eq!(completed_months(d("2024-01-15"), d("2024-02-15")), 1);
        assert_eq!(completed_months(d("2024-01-31"), d("2024-02-29")), 1);
        assert_eq!(completed_months(d("2024-01-31"), d("2024-02-28")), 0);
        assert_eq!(completed_months(d("2020-03-01"), d("2025-03-01")), 60);
    }

    #[test]
    fn similar_names_fold_spellings() {
        assert!(name_similarity("Djoko Susilo", "Joko Susilo") > 0.95);
        assert!(name_similarity("Siti Nurhaliza", "Nurhaliza Siti") > 0.95);
        assert!(name_similarity("Putri Ayu", "Budi Santoso") < SIMILAR_NAME);
    }
}
