//! The one check of a visit entry, used by every path that stores a visit: a kader's entry, a batch
//! import, the register import and the apps through the bindings.
//!
//! [`check_entry`] is the bad-input tier (refused whatever the kader confirms): a date inside the child's
//! life so far, at least one value, a position only with a height and always with one, and the hard
//! limits. [`entry_concerns`] is the second tier: what the kader is asked to confirm, from the WHO flags,
//! the child's own history and the service schedule, minus what was already confirmed for the values
//! this entry does not touch.

use chrono::NaiveDate;

use super::assess::{ChildInfo, VisitInput};
use super::plausibility::{Concern, Field, check_hard_limits, plausibility};
use super::schedule::RoundCalendar;
use crate::domain::{self, Measurements, Service, Services, VisitEntry, completed_months};
use crate::error::{Error, Result};

/// A visit entry that passed [`check_entry`].
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedEntry {
    pub date: NaiveDate,
    /// The entry as it will be written (a new height without a position keeps the day's position).
    pub entry: VisitEntry,
    /// The day's measurements once the entry is applied.
    pub day: Measurements,
}

impl CheckedEntry {
    /// The day's visit as the growth engine takes it.
    pub fn input(&self) -> VisitInput {
        VisitInput::new(self.date, &self.day)
    }
}

/// Check an entry for `child` against what is already stored for that day (`stored_day`, or None for a
/// new visit). Bad input is [`Error::InvalidInput`] naming the field; nothing is ever adjusted silently.
pub fn check_entry(
    child: &ChildInfo,
    entry: &VisitEntry,
    stored_day: Option<&Measurements>,
    today: NaiveDate,
) -> Result<CheckedEntry> {
    let date = entry.date.ok_or_else(|| {
        Error::invalid(
            "date",
            "Tanggal kunjungan wajib diisi.",
            "visit date is required",
        )
    })?;
    if entry.is_empty() {
        return Err(Error::invalid(
            "weight_kg",
            "Isi paling sedikit satu ukuran (berat, panjang/tinggi, lingkar kepala, LiLA atau edema).",
            "a visit needs at least one measurement",
        ));
    }
    let m = &entry.measured;
    if m.position.is_some() && m.height_mm.is_none() {
        return Err(Error::invalid(
            "position",
            "Cara ukur hanya diisi bersama panjang/tinggi badan.",
            "position is given without a height",
        ));
    }
    domain::validate_visit_date(date, child.birth_date, today)?;
    check_hard_limits(&VisitInput::new(date, m))?;
    let mut entry = *entry;
    let mut day = stored_day.copied().unwrap_or_default();
    if entry.measured.height_mm.is_some() && entry.measured.position.is_none() {
        entry.measured.position = day.position;
    }
    if entry.measured.height_mm.is_some() && entry.measured.position.is_none() {
        return Err(Error::invalid(
            "position",
            "Cara ukur wajib diisi bersama panjang/tinggi badan: lying (telentang) atau standing (berdiri).",
            "position (lying or standing) is required with a height",
        ));
    }
    day.overlay(&entry.measured);
    Ok(CheckedEntry { date, entry, day })
}

/// What the kader must confirm before `checked` is stored: WHO flags and the child's history
/// (`history`: earlier visits by date) for the day as it will be, and the services against their ages
/// and the services of other visits (`earlier_services`, [`service_concerns`]). A
/// concern already confirmed for that day (`already_confirmed`) is asked again only when this entry
/// changes a value it is about: a confirmation covers the value that was confirmed.
pub fn entry_concerns(
    child: &ChildInfo,
    history: &[VisitInput],
    checked: &CheckedEntry,
    earlier_services: &[(NaiveDate, Services)],
    already_confirmed: &[String],
) -> Vec<Concern> {
    let e = &checked.entry.measured;
    let touches = |c: &Concern| -> bool {
        let (weight, height) = (e.weight_g.is_some(), e.height_mm.is_some());
        match (c.code, c.field) {
            ("who_flag_whz" | "who_flag_baz", _) => weight || height,
            (_, Field::Weight) => weight,
            (_, Field::Height) => height,
            (_, Field::Head) => e.head_mm.is_some(),
            (_, Field::Muac) => e.muac_mm.is_some(),
            (_, Field::Service) => true,
            (_, Field::Date) => true,
        }
    };
    let fresh = |c: &Concern| touches(c) || !already_confirmed.iter().any(|a| a == c.code);
    let age_months = completed_months(child.birth_date, checked.date);
    plausibility(child, history, &checked.input())
        .into_iter()
        .chain(service_concerns(
            checked.entry.services,
            checked.date,
            age_months,
            earlier_services,
        ))
        .filter(fresh)
        .collect()
}

/// The ages at which a service is given at the posyandu, in completed months (inclusive).
///
/// Vitamin A: a blue capsule (100,000 IU) for infants of 6 to 11 months, a red one (200,000 IU) for
/// children of 12 to 59 months (Permenkes 21/2015 on vitamin A; Buku KIA). Deworming (obat cacing): 12
/// to 59 months. A service outside its ages is asked to be confirmed (the capsule colour is the usual
/// slip), never refused.
pub fn service_ages(service: Service) -> Option<std::ops::RangeInclusive<u32>> {
    match service {
        Service::VitABiru => Some(6..=11),
        Service::VitAMerah => Some(12..=59),
        Service::ObatCacing => Some(12..=59),
        _ => None,
    }
}

/// Concerns about the services of an entry dated `date` for a child of `age_months`, given the services
/// of the child's earlier visits (`earlier`: other dates): a service outside its ages
/// (`vit_a_biru_age`, `vit_a_merah_age`, `obat_cacing_age`); a second vitamin A capsule in one round of
/// the round calendar ([`RoundCalendar`], `vit_a_second_in_round`); a second blue capsule
/// (`vit_a_biru_again`: it is given once).
pub fn service_concerns(
    services: Services,
    date: NaiveDate,
    age_months: u32,
    earlier: &[(NaiveDate, Services)],
) -> Vec<Concern> {
    let mut out: Vec<Concern> = services
        .iter()
        .filter_map(|s| {
            let range = service_ages(s)?;
            if range.contains(&age_months) {
                return None;
            }
            let (code, what) = match s {
                Service::VitABiru => ("vit_a_biru_age", "Kapsul vitamin A biru (6-11 bulan)"),
                Service::VitAMerah => ("vit_a_merah_age", "Kapsul vitamin A merah (12-59 bulan)"),
                _ => ("obat_cacing_age", "Obat cacing (12-59 bulan)"),
            };
            let hint = if code == "obat_cacing_age" {
                "periksa kembali"
            } else {
                "periksa warnanya"
            };
            Some(Concern::new(
                Field::Service,
                code,
                format!("{what} untuk anak umur {age_months} bulan; {hint}."),
                format!(
                    "{} given at {age_months} months, outside its age range",
                    s.code()
                ),
            ))
        })
        .collect();
    let vit_a = |x: Services| x.contains(Service::VitABiru) || x.contains(Service::VitAMerah);
    if !vit_a(services) {
        return out;
    }
    let calendar = RoundCalendar::current();
    let round = calendar.round_of(date);
    let same_round = earlier
        .iter()
        .filter(|(d, x)| *d != date && vit_a(*x) && calendar.round_of(*d) == round)
        .map(|(d, _)| *d)
        .max();
    let both_today = services.contains(Service::VitABiru) && services.contains(Service::VitAMerah);
    if let Some(before) = same_round {
        out.push(Concern::new(
            Field::Service,
            "vit_a_second_in_round",
            format!(
                "Anak sudah mendapat kapsul vitamin A pada putaran {round} (tanggal {before}); kapsul kedua dalam satu putaran perlu dipastikan."
            ),
            format!("a vitamin A capsule was already given in the {round} round (on {before})"),
        ));
    } else if both_today {
        out.push(Concern::new(
            Field::Service,
            "vit_a_second_in_round",
            "Kapsul vitamin A biru dan merah dicatat pada kunjungan yang sama; satu anak hanya mendapat satu kapsul per putaran.".to_owned(),
            "both a blue and a red vitamin A capsule on one visit".to_owned(),
        ));
    }
    if services.contains(Service::VitABiru)
        && let Some((before, _)) = earlier
            .iter()
            .filter(|(d, x)| *d != date && x.contains(Service::VitABiru))
            .max_by_key(|(d, _)| *d)
    {
        out.push(Concern::new(
            Field::Service,
            "vit_a_biru_again",
            format!(
                "Kapsul vitamin A biru hanya diberikan sekali (umur 6-11 bulan) dan sudah diberikan tanggal {before}; periksa kembali."
            ),
            format!("a blue vitamin A capsule was already given on {before}; it is given once"),
        ));
    }
    out
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;
    use crate::domain::{Position, Sex};

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    fn child() -> ChildInfo {
        ChildInfo {
            sex: Sex::Female,
            birth_date: d("2024-01-10"),
        }
    }

    fn entry(date: &str, m: Measurements) -> VisitEntry {
        VisitEntry {
            date: Some(d(date)),
            measured: m,
            services: Services::default(),
        }
    }

    fn field_of(r: Result<CheckedEntry>) -> String {
        match r {
            Err(Error::InvalidInput { field, .. }) => field,
            other => panic!("expected bad input, got {other:?}"),
        }
    }

    #[test]
    fn every_bad_entry_is_refused_by_field() {
        let today = d("2025-06-30");
        let c = child();
        let no_date = VisitEntry::default();
        assert_eq!(field_of(check_entry(&c, &no_date, None, today)), "date");
        let empty = entry("2025-06-14", Measurements::default());
        assert_eq!(field_of(check_entry(&c, &empty, None, today)), "weight_kg");
        let position_only = entry(
            "2025-06-14",
            Measurements {
                weight_g: Some(9_000),
                position: Some(Position::Lying),
                ..Default::default()
            },
        );
        assert_eq!(
            field_of(check_entry(&c, &position_only, None, today)),
            "position"
        );
        let height_no_position = entry(
            "2025-06-14",
            Measurements {
                height_mm: Some(765),
                ..Default::default()
            },
        );
        assert_eq!(
            field_of(check_entry(&c, &height_no_position, None, today)),
            "position"
        );
        let too_heavy = entry(
            "2025-06-14",
            Measurements {
                weight_g: Some(41_000),
                ..Default::default()
            },
        );
        assert_eq!(
            field_of(check_entry(&c, &too_heavy, None, today)),
            "weight_kg"
        );
        let future = entry(
            "2025-07-01",
            Measurements {
                weight_g: Some(9_000),
                ..Default::default()
            },
        );
        assert_eq!(field_of(check_entry(&c, &future, None, today)), "date");
    }

    #[test]
    fn a_new_height_keeps_the_days_position() {
        let stored = Measurements {
            weight_g: Some(9_000),
            height_mm: Some(760),
            position: Some(Position::Lying),
            ..Default::default()
        };
        let e = entry(
            "2025-06-14",
            Measurements {
                height_mm: Some(765),
                ..Default::default()
            },
        );
        let c = check_entry(&child(), &e, Some(&stored), d("2025-06-30")).expect("ok");
        assert_eq!(c.entry.measured.position, Some(Position::Lying));
        assert_eq!(c.day.weight_g, Some(9_000));
        assert_eq!(c.day.height_mm, Some(765));
    }

    #[test]
    fn vitamin_a_outside_its_ages_is_a_concern() {
        let mut s = Services::default();
        s.insert(Service::VitABiru);
        let at = |x: Services, m: u32| service_concerns(x, d("2025-02-14"), m, &[]);
        assert!(at(s, 6).is_empty());
        assert!(at(s, 11).is_empty());
        assert_eq!(at(s, 5)[0].code, "vit_a_biru_age");
        assert_eq!(at(s, 12)[0].code, "vit_a_biru_age");
        let mut r = Services::default();
        r.insert(Service::VitAMerah);
        assert!(at(r, 12).is_empty());
        assert!(at(r, 59).is_empty());
        assert_eq!(at(r, 11)[0].code, "vit_a_merah_age");
        assert_eq!(at(r, 60)[0].code, "vit_a_merah_age");
    }
}
