//! Domain types and validation: children, caregivers, visits, ids, exact units.
//!
//! This module owns the words every other module speaks: [`ChildId`], [`Sex`], [`Position`], the one
//! [`Measurements`] type (whole grams and millimetres, from the kader's entry to the projections), the
//! [`VisitEntry`] a kader makes, [`Service`]s, and the age in [`completed_months`]. It depends on nothing
//! else of this crate but the error type. Everything a kader types passes through a `parse_*` or
//! `validate_*` function here, which names the field in its error.

mod child;
mod names;
mod nik;
mod parse;

pub use child::{BALITA_END_MONTHS, MAX_AGE_YEARS_AT_REGISTRATION, validate_new_child};
pub use names::{SIMILAR_NAME, name_key, name_similarity};
pub use nik::{NikInfo, is_province_code, parse_kk, parse_nik};
pub use parse::{
    FieldValue, clean_name, parse_bool, parse_date, parse_field_value, parse_head_cm,
    parse_height_cm, parse_muac_cm, parse_position, parse_sex, parse_weight_kg,
};

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Sex of a child (L = laki-laki, P = perempuan).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Sex {
    #[serde(rename = "L")]
    Male,
    #[serde(rename = "P")]
    Female,
}

impl Sex {
    /// `L` or `P`.
    pub fn code(&self) -> &'static str {
        match self {
            Sex::Male => "L",
            Sex::Female => "P",
        }
    }
}

impl std::str::FromStr for Sex {
    type Err = ();
    /// `L`/`M` = male, `P`/`F` = female (case-insensitive, surrounding spaces ignored).
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim() {
            "L" | "l" | "M" | "m" => Ok(Sex::Male),
            "P" | "p" | "F" | "f" => Ok(Sex::Female),
            _ => Err(()),
        }
    }
}

/// How a length/height was measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Position {
    Lying,
    Standing,
}

impl Position {
    /// `lying` or `standing`, as stored and typed.
    pub fn code(&self) -> &'static str {
        match self {
            Position::Lying => "lying",
            Position::Standing => "standing",
        }
    }
}

impl std::str::FromStr for Position {
    type Err = ();
    /// `lying`/`l` or `standing`/`h` (case-insensitive).
    fn from_str(s: &str) -> Result<Self, ()> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("lying") || s.eq_ignore_ascii_case("l") {
            Ok(Position::Lying)
        } else if s.eq_ignore_ascii_case("standing") || s.eq_ignore_ascii_case("h") {
            Ok(Position::Standing)
        } else {
            Err(())
        }
    }
}

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
    /// Whether the child has a KMS / Buku KIA (the K of SKDN); `None` when never recorded, which
    /// counts as yes (the default at registration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_kms: Option<bool>,
    /// The posyandu and village that registered the child (not personal data; they travel with the
    /// document, so a phone that joined a team learns them from what it receives).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posyandu: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub village: Option<String>,
    /// RT and RW (neighbourhood units of the address) as three digits (`002`), recorded beside the
    /// free-text address so lists and reports can group by them. Sealed at rest like the address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rw: Option<String>,
}

impl Identity {
    /// Whether the child counts in K (has a KMS / Buku KIA): yes unless recorded as no.
    pub fn counts_in_k(&self) -> bool {
        self.has_kms != Some(false)
    }
}

/// What registration records beside the [`NewChild`] fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The child has a KMS / Buku KIA (default yes).
    pub has_kms: bool,
    /// RT and RW as typed (`2`, `02`, `RT 02`); checked and kept as three digits.
    pub rt: Option<String>,
    pub rw: Option<String>,
    /// The posyandu the child is registered in, by name: picks the team on a device in several
    /// teams (needed there; a device in one team needs none).
    pub posyandu: Option<String>,
}

impl Default for Registration {
    fn default() -> Self {
        Self {
            has_kms: true,
            rt: None,
            rw: None,
            posyandu: None,
        }
    }
}

/// An RT or RW number typed by a person (`2`, `02`, `002`, `RT 02`) as three digits (`002`); `field` is
/// `rt` or `rw`.
pub fn parse_rt_rw(field: &str, text: &str) -> Result<String> {
    let label = field.to_ascii_uppercase();
    let t = text.trim();
    let digits = t
        .strip_prefix(&label)
        .or_else(|| t.strip_prefix(&field.to_ascii_lowercase()))
        .unwrap_or(t)
        .trim();
    match digits.parse::<u16>() {
        Ok(n) if (1..=999).contains(&n) && digits.chars().all(|c| c.is_ascii_digit()) => {
            Ok(format!("{n:03}"))
        }
        _ => Err(Error::invalid(
            field,
            format!("{label} '{t}' tidak sah; tulis nomornya, misalnya 002."),
            format!("{field} '{t}' is not a number from 1 to 999"),
        )),
    }
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

/// The measurements of one visit in exact units: whole grams and millimetres. The one shape a visit's
/// values have from the kader's entry through the child document to the projections; the growth engine
/// reads it through `growth::VisitInput::new`. Every field is optional: a second entry the same day adds
/// to or corrects the visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash, Serialize, Deserialize)]
pub struct Measurements {
    pub weight_g: Option<u32>,
    /// Length (lying) or height (standing).
    pub height_mm: Option<u32>,
    /// How `height_mm` was measured; only meaningful with a height.
    pub position: Option<Position>,
    pub head_mm: Option<u32>,
    /// Mid-upper arm circumference (LiLA).
    pub muac_mm: Option<u32>,
    /// Bilateral pitting oedema.
    pub oedema: Option<bool>,
}

impl Measurements {
    /// True when no value is given.
    pub fn is_empty(&self) -> bool {
        self.weight_g.is_none()
            && self.height_mm.is_none()
            && self.head_mm.is_none()
            && self.muac_mm.is_none()
            && self.oedema.is_none()
    }

    /// Apply `given` on top: values it has replace these, absent ones stay. A new height keeps the
    /// recorded position unless `given` names one.
    pub fn overlay(&mut self, given: &Measurements) {
        if given.weight_g.is_some() {
            self.weight_g = given.weight_g;
        }
        if given.height_mm.is_some() {
            self.height_mm = given.height_mm;
            self.position = given.position.or(self.position);
        }
        if given.head_mm.is_some() {
            self.head_mm = given.head_mm;
        }
        if given.muac_mm.is_some() {
            self.muac_mm = given.muac_mm;
        }
        if given.oedema.is_some() {
            self.oedema = given.oedema;
        }
    }

    /// Fill the values this lacks from `other` (folding a merged duplicate's visit in); a height comes
    /// with its position.
    pub fn fill_from(&mut self, other: &Measurements) {
        if self.weight_g.is_none() {
            self.weight_g = other.weight_g;
        }
        if self.height_mm.is_none() {
            self.height_mm = other.height_mm;
            self.position = other.position;
        }
        if self.head_mm.is_none() {
            self.head_mm = other.head_mm;
        }
        if self.muac_mm.is_none() {
            self.muac_mm = other.muac_mm;
        }
        if self.oedema.is_none() {
            self.oedema = other.oedema;
        }
    }

    /// Weight in kg.
    pub fn weight_kg(&self) -> Option<f64> {
        self.weight_g.map(|g| f64::from(g) / 1000.0)
    }
    /// Length/height in cm.
    pub fn height_cm(&self) -> Option<f64> {
        self.height_mm.map(mm_to_cm)
    }
    /// Head circumference in cm.
    pub fn head_cm(&self) -> Option<f64> {
        self.head_mm.map(mm_to_cm)
    }
    /// LiLA in cm.
    pub fn muac_cm(&self) -> Option<f64> {
        self.muac_mm.map(mm_to_cm)
    }
}

/// Millimetres as centimetres.
pub fn mm_to_cm(mm: u32) -> f64 {
    f64::from(mm) / 10.0
}

/// What a kader enters for one visit: the date, the measurements and the services given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct VisitEntry {
    pub date: Option<NaiveDate>,
    #[serde(flatten)]
    pub measured: Measurements,
    /// Services given at this visit (added to those already recorded that day).
    pub services: Services,
}

impl VisitEntry {
    /// True when the entry carries no measurement and no service.
    pub fn is_empty(&self) -> bool {
        self.measured.is_empty() && self.services.is_empty()
    }
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

/// Completed calendar months from `birth` to `date`: the age in months a kader reads off the KMS, used
/// by the KMS rules, the village list and the child's detail alike (0 when `date` is before `birth`).
///
/// A month is completed on the monthly birthday; where that day does not exist in a shorter month (born
/// on the 29th to 31st), on that month's last day. Born 31 January: 1 month on 29 February (leap year)
/// or 28 February, 2 months on 31 March. Why this rule and not "the day of the month has been reached"
/// (which would give 0 months on 29 February): see `docs/adr/0001-completed-months.md`.
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
