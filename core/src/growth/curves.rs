//! The WHO reference curves a growth chart draws: the measurement at z = -3, -2, -1, 0, +1, +2, +3 for
//! a sex and an age (or a length/height), from the same embedded LMS tables the z-scores use.

use super::Sex;
use super::tables::{LHFA, Table, WFA, WFH, WFL};
use super::zscore::lms_value;

/// A reference curve family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    /// Weight (kg) for age (days).
    WeightForAge,
    /// Length (under 731 days) or height (kg) for age (days).
    LengthHeightForAge,
    /// Weight (kg) for length lying (45 to 110 cm).
    WeightForLength,
    /// Weight (kg) for height standing (65 to 120 cm).
    WeightForHeight,
}

/// The z-scores of the values [`curve_values`] returns, in order.
pub const CURVE_Z: [f64; 7] = [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0];

impl Curve {
    fn table(self) -> &'static Table {
        match self {
            Curve::WeightForAge => &WFA,
            Curve::LengthHeightForAge => &LHFA,
            Curve::WeightForLength => &WFL,
            Curve::WeightForHeight => &WFH,
        }
    }

    /// The x range the table covers: days for the age curves, cm for the others.
    pub fn x_range(self) -> (f64, f64) {
        match self {
            Curve::WeightForAge | Curve::LengthHeightForAge => (0.0, 1856.0),
            Curve::WeightForLength => (45.0, 110.0),
            Curve::WeightForHeight => (65.0, 120.0),
        }
    }
}

/// The measurement at each z of [`CURVE_Z`] for `sex` at `x` (age in whole days, or length/height in
/// cm, taken to the nearest 0.1 cm); `None` outside the table.
pub fn curve_values(curve: Curve, sex: Sex, x: f64) -> Option<[f64; 7]> {
    if !x.is_finite() {
        return None;
    }
    let key = match curve {
        Curve::WeightForAge | Curve::LengthHeightForAge => x.round() as i64,
        Curve::WeightForLength | Curve::WeightForHeight => (x * 10.0).round() as i64,
    };
    let row = curve.table().get(sex, key)?;
    let l = row.lms;
    Some(CURVE_Z.map(|z| lms_value(z, l.l, l.m, l.s)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn medians_are_the_tables_m_and_the_curves_are_ordered() {
        // weianthro.csv, boys day 0: M = 3.3464; girls 365 days: M about 8.9.
        let v = curve_values(Curve::WeightForAge, Sex::Male, 0.0).unwrap();
        assert!((v[3] - 3.3464).abs() < 1e-9, "{v:?}");
        let g = curve_values(Curve::WeightForAge, Sex::Female, 365.0).unwrap();
        assert!((g[3] - 8.9).abs() < 0.1, "{g:?}");
        for c in [
            Curve::WeightForAge,
            Curve::LengthHeightForAge,
            Curve::WeightForLength,
            Curve::WeightForHeight,
        ] {
            let (lo, hi) = c.x_range();
            let v = curve_values(c, Sex::Female, (lo + hi) / 2.0).unwrap();
            assert!(v.windows(2).all(|w| w[0] < w[1]), "{c:?} {v:?}");
            assert!(curve_values(c, Sex::Female, hi + 50.0).is_none());
        }
    }
}
