//! The demo's whole posyandu: 55 synthetic children (beside the five named ones of `demo.rs`) with
//! twelve months of weighings, spread over three phones, and the month's reports. All people are
//! synthetic; the values follow the WHO medians with a per-child factor, some children flat (T), some
//! missing a month (O).

#![allow(clippy::print_stdout)]

use chrono::{Datelike, NaiveDate};
use timbang_core::Timbang;
use timbang_core::domain::{ChildId, Measurements, NewChild, Position, Sex, VisitEntry};
use timbang_core::growth::{Curve, curve_values};

use crate::output::CliError;

const FIRST: [&str; 20] = [
    "Ahmad", "Bella", "Cahya", "Dewa", "Elsa", "Farhan", "Galih", "Hesti", "Ilham", "Jihan",
    "Kevin", "Laras", "Mira", "Naufal", "Oki", "Puspa", "Rizky", "Salsa", "Tegar", "Wulan",
];
const LAST: [&str; 11] = [
    "Hidayat",
    "Nugroho",
    "Rahayu",
    "Setiawan",
    "Utami",
    "Gunawan",
    "Handoko",
    "Anggraini",
    "Firmansyah",
    "Suryani",
    "Wijaya",
];

/// How many generated children.
pub const GENERATED: usize = 55;

/// The twelve posyandu days, July 2024 to June 2025 (June is `today`).
pub fn session_days(today: NaiveDate) -> Vec<NaiveDate> {
    (0..12)
        .rev()
        .filter_map(|back| {
            let first = today.with_day0(0)?;
            let m = first.checked_sub_months(chrono::Months::new(back))?;
            if back == 0 {
                Some(today)
            } else {
                m.with_day(12)
            }
        })
        .collect()
}

/// Generated child `i`: identity and its visits (one per posyandu day it came to).
pub fn child(i: usize, today: NaiveDate) -> (NewChild, Vec<VisitEntry>) {
    let sex = if i.is_multiple_of(2) {
        Sex::Male
    } else {
        Sex::Female
    };
    // Birth dates from about 4 years 10 months before today to 4 months before it.
    let days_old = 130 + i as i64 * 29 + (i as i64 * 13) % 17;
    let birth = today - chrono::Duration::days(days_old);
    let name = format!("{} {}", FIRST[i % 20], LAST[(i / 20 + i) % 11]);
    let mother = format!(
        "{} {}",
        ["Siti", "Ani", "Yuni", "Rina", "Tuti"][i % 5],
        LAST[i % 11]
    );
    let weight_factor = [0.84, 0.9, 0.95, 1.0, 1.04, 0.98, 0.92][i % 7];
    let height_factor = [0.95, 0.97, 0.99, 1.0, 1.01][i % 5];
    let flat_from = i.is_multiple_of(9).then_some(9); // from April on: no gain (T, then 2T)
    let mut visits = Vec::new();
    let mut last_w: Option<u32> = None;
    for (m, day) in session_days(today).into_iter().enumerate() {
        let age = (day - birth).num_days();
        if age < 0 || (i * 7 + m).is_multiple_of(9) {
            continue; // not born yet, or did not come that month
        }
        let Some(w) = curve_values(Curve::WeightForAge, sex, age as f64) else {
            continue;
        };
        let Some(h) = curve_values(Curve::LengthHeightForAge, sex, age as f64) else {
            continue;
        };
        let mut weight_g = (w[3] * weight_factor * 1000.0 / 50.0).round() as u32 * 50;
        if let (Some(f), Some(prev)) = (flat_from, last_w)
            && m >= f
        {
            weight_g = prev;
        }
        last_w = Some(weight_g);
        // The table is length (lying) under 731 days and height (standing) from then.
        let lying = age < 731;
        let height_cm = h[3] * height_factor;
        visits.push(VisitEntry {
            date: Some(day),
            measured: Measurements {
                weight_g: Some(weight_g),
                height_mm: Some((height_cm * 10.0).round() as u32),
                position: Some(if lying {
                    Position::Lying
                } else {
                    Position::Standing
                }),
                ..Default::default()
            },
            ..Default::default()
        });
    }
    (
        NewChild {
            name,
            sex,
            birth_date: birth,
            nik: None,
            kk: None,
            mother_name: Some(mother),
            mother_nik: Some(crate::demo::mother_nik(100 + i as u32)),
            address: Some(format!("Dusun Krajan RT 0{} RW 01", 1 + i % 4)),
        },
        visits,
    )
}

/// Enter the generated children on the three phones: child `i` on phone `i % 3`; the past eleven
/// months from the paper register (one import transaction per phone), this month's weighing typed by
/// the kader at the posyandu. Returns the ids and the number of visits.
pub fn enter(phones: &[&Timbang; 3], today: NaiveDate) -> Result<(Vec<ChildId>, usize), CliError> {
    let mut ids = Vec::new();
    let mut visits = 0usize;
    for (p, phone) in phones.iter().enumerate() {
        let indices: Vec<usize> = (0..GENERATED).filter(|i| i % 3 == p).collect();
        let mine: Vec<(NewChild, Vec<VisitEntry>, Option<VisitEntry>)> = indices
            .iter()
            .map(|&i| {
                let (c, mut v) = child(i, today);
                let this_month = match v.last() {
                    Some(last) if last.date == Some(today) => v.pop(),
                    _ => None,
                };
                (c, v, this_month)
            })
            .collect();
        let batch: Vec<(NewChild, Vec<VisitEntry>)> = mine
            .iter()
            .map(|(c, v, _)| (c.clone(), v.clone()))
            .collect();
        visits += batch.iter().map(|(_, v)| v.len()).sum::<usize>();
        let created = phone.import_batch(&batch)?;
        for ((id, (_, _, june)), i) in created.iter().zip(&mine).zip(&indices) {
            // A few families lost the Buku KIA: not counted in K.
            if i % 11 == 5 {
                phone.set_has_kms(id, false)?;
            }
            if let Some(v) = june {
                phone.record_visit(id, *v, true)?;
                visits += 1;
            }
        }
        ids.extend(created);
    }
    Ok((ids, visits))
}
