//! Permenkes No. 2 Tahun 2020 (Standar Antropometri Anak) classes from WHO z-scores.
//!
//! Cut-offs (DESIGN section 3, reference section 4.5), applied to the 2-decimal z-scores:
//!
//! | index | class | z |
//! | --- | --- | --- |
//! | BB/U | sangat kurang / kurang / normal / risiko lebih | < -3 / -3 to < -2 / -2 to +1 / > +1 |
//! | PB/U, TB/U | sangat pendek / pendek / normal / tinggi | < -3 / -3 to < -2 / -2 to +3 / > +3 |
//! | BB/PB, BB/TB, IMT/U | gizi buruk / kurang / baik / berisiko lebih / lebih / obesitas | < -3 / -3 to < -2 / -2 to +1 / > +1 to +2 / > +2 to +3 / > +3 |
//!
//! So -3.00 is "kurang" and -3.01 "sangat kurang"; +1.00 is "normal" and +1.01 "risiko lebih".

use super::ZScores;

/// Declares a class enum with a stable snake_case code, a Bahasa Indonesia label, serde as the code
/// and `FromStr` from the code.
macro_rules! coded_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => ($code:literal, $label:literal)),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every variant, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Stable machine code (snake_case), used in storage and JSON.
            pub fn code(&self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// Label in Bahasa Indonesia, as the regulation words it.
            pub fn label_id(&self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }

        impl std::str::FromStr for $name {
            type Err = ();
            fn from_str(s: &str) -> Result<Self, ()> {
                match s { $($code => Ok($name::$variant),)+ _ => Err(()) }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.code())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(|()| {
                    serde::de::Error::unknown_variant(&s, &[$($code),+])
                })
            }
        }
    };
}

coded_enum! {
    /// Weight-for-age (BB/U).
    WfaClass {
        SangatKurang => ("berat_badan_sangat_kurang", "Berat badan sangat kurang"),
        Kurang => ("berat_badan_kurang", "Berat badan kurang"),
        Normal => ("berat_badan_normal", "Berat badan normal"),
        RisikoLebih => ("risiko_berat_badan_lebih", "Risiko berat badan lebih"),
    }
}

coded_enum! {
    /// Length/height-for-age (PB/U or TB/U).
    HfaClass {
        SangatPendek => ("sangat_pendek", "Sangat pendek"),
        Pendek => ("pendek", "Pendek"),
        Normal => ("normal", "Normal"),
        Tinggi => ("tinggi", "Tinggi"),
    }
}

coded_enum! {
    /// Weight-for-length/height (BB/PB or BB/TB); also BMI-for-age (IMT/U).
    WfhClass {
        GiziBuruk => ("gizi_buruk", "Gizi buruk"),
        GiziKurang => ("gizi_kurang", "Gizi kurang"),
        GiziBaik => ("gizi_baik", "Gizi baik"),
        BerisikoGiziLebih => ("berisiko_gizi_lebih", "Berisiko gizi lebih"),
        GiziLebih => ("gizi_lebih", "Gizi lebih"),
        Obesitas => ("obesitas", "Obesitas"),
    }
}

impl WfaClass {
    /// Class of a weight-for-age z-score.
    pub fn from_z(z: f64) -> Self {
        if z < -3.0 {
            Self::SangatKurang
        } else if z < -2.0 {
            Self::Kurang
        } else if z <= 1.0 {
            Self::Normal
        } else {
            Self::RisikoLebih
        }
    }
}

impl HfaClass {
    /// Class of a length/height-for-age z-score.
    pub fn from_z(z: f64) -> Self {
        if z < -3.0 {
            Self::SangatPendek
        } else if z < -2.0 {
            Self::Pendek
        } else if z <= 3.0 {
            Self::Normal
        } else {
            Self::Tinggi
        }
    }
}

impl WfhClass {
    /// Class of a weight-for-length/height or BMI-for-age z-score.
    pub fn from_z(z: f64) -> Self {
        if z < -3.0 {
            Self::GiziBuruk
        } else if z < -2.0 {
            Self::GiziKurang
        } else if z <= 1.0 {
            Self::GiziBaik
        } else if z <= 2.0 {
            Self::BerisikoGiziLebih
        } else if z <= 3.0 {
            Self::GiziLebih
        } else {
            Self::Obesitas
        }
    }
}

/// The Permenkes classes of one set of z-scores (`None` where the z-score is undefined).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Classes {
    pub wfa: Option<WfaClass>,
    pub hfa: Option<HfaClass>,
    pub wfh: Option<WfhClass>,
    pub bfa: Option<WfhClass>,
}

/// Classifies z-scores by Permenkes 2/2020. Flagged z-scores are classified too (the flag is reported
/// separately as "check the measurement").
pub fn classify(z: &ZScores) -> Classes {
    Classes {
        wfa: z.waz.map(WfaClass::from_z),
        hfa: z.haz.map(HfaClass::from_z),
        wfh: z.whz.map(WfhClass::from_z),
        bfa: z.baz.map(WfhClass::from_z),
    }
}

coded_enum! {
    /// Status gizi: the one nutritional status a kader and bidan act on, combining weight-for-length/height
    /// (BMI-for-age where weight-for-length/height is undefined), LiLA and bilateral pitting oedema as
    /// Kemenkes' Pedoman Pencegahan dan Tatalaksana Gizi Buruk pada Balita (2019/2020) does
    /// ([`status_gizi`]).
    StatusGizi {
        GiziBuruk => ("gizi_buruk", "Gizi buruk"),
        GiziKurang => ("gizi_kurang", "Gizi kurang"),
        GiziBaik => ("gizi_baik", "Gizi baik"),
        BerisikoGiziLebih => ("berisiko_gizi_lebih", "Berisiko gizi lebih"),
        GiziLebih => ("gizi_lebih", "Gizi lebih"),
        Obesitas => ("obesitas", "Obesitas"),
    }
}

impl From<WfhClass> for StatusGizi {
    fn from(c: WfhClass) -> Self {
        match c {
            WfhClass::GiziBuruk => Self::GiziBuruk,
            WfhClass::GiziKurang => Self::GiziKurang,
            WfhClass::GiziBaik => Self::GiziBaik,
            WfhClass::BerisikoGiziLebih => Self::BerisikoGiziLebih,
            WfhClass::GiziLebih => Self::GiziLebih,
            WfhClass::Obesitas => Self::Obesitas,
        }
    }
}

/// LiLA cut-offs of the Pedoman Gizi Buruk (2019/2020), in whole millimetres, and the ages (completed
/// months, inclusive) they apply to: under 115 mm gizi buruk, 115 to under 125 mm gizi kurang, at 6 to
/// 59 months.
pub const LILA_GIZI_BURUK_BELOW_MM: u32 = 115;
pub const LILA_GIZI_KURANG_BELOW_MM: u32 = 125;
pub const LILA_AGES_MONTHS: std::ops::RangeInclusive<u32> = 6..=59;

/// One measurement that supports a status gizi (what a referral names).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "sign", rename_all = "snake_case")]
pub enum GiziSign {
    /// Bilateral pitting oedema.
    Oedema,
    /// LiLA in whole millimetres.
    Lila { mm: u32 },
    /// Weight-for-length/height z.
    Wfh { z: f64 },
    /// BMI-for-age z (used when weight-for-length/height is undefined).
    Bfa { z: f64 },
}

impl GiziSign {
    /// The sign as a bidan reads it: "LiLA 11,0 cm", "BB/PB atau BB/TB -3,12 SD", "edema bilateral".
    pub fn text_id(&self) -> String {
        match self {
            GiziSign::Oedema => "edema bilateral".to_owned(),
            GiziSign::Lila { mm } => format!("LiLA {},{} cm", mm / 10, mm % 10),
            GiziSign::Wfh { z } => format!("BB/PB atau BB/TB {} SD", z_id(*z)),
            GiziSign::Bfa { z } => format!("IMT/U {} SD", z_id(*z)),
        }
    }
}

fn z_id(z: f64) -> String {
    format!("{z:.2}").replace('.', ",")
}

/// What [`status_gizi`] needs about one visit.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct GiziInput {
    /// Completed months at the visit.
    pub age_months: u32,
    pub whz: Option<f64>,
    pub baz: Option<f64>,
    /// LiLA in whole millimetres.
    pub muac_mm: Option<u32>,
    pub oedema: bool,
}

/// The status gizi of one visit and the signs that decided it (empty when the status is `None`).
///
/// Rule (Pedoman Pencegahan dan Tatalaksana Gizi Buruk pada Balita, Kemenkes 2019/2020; Permenkes
/// 2/2020 for the z cut-offs; `docs/CLINICAL.md`):
/// * **gizi buruk** when any of: bilateral pitting oedema (whatever the z-scores); weight-for-length/
///   height z < -3; LiLA < 11.5 cm at 6 to 59 months;
/// * otherwise **gizi kurang** when any of: weight-for-length/height z from -3 to < -2; LiLA 11.5 to
///   < 12.5 cm at 6 to 59 months;
/// * otherwise the Permenkes class of weight-for-length/height (gizi baik, berisiko gizi lebih, gizi
///   lebih, obesitas);
/// * BMI-for-age stands in for weight-for-length/height when that is undefined (length/height outside
///   the WHO weight-for-length/height tables); the WHO 2006 standard ends at 60 months, so from 61
///   months neither is defined (WHO 2007 BMI-for-age 5-19 years is not embedded);
/// * `None` when nothing supports a status: no weight with a length/height, no LiLA in its ages and no
///   oedema. A LiLA of 12.5 cm or more alone does not give "gizi baik" (it says nothing about
///   overweight), so it gives `None`.
pub fn status_gizi(g: &GiziInput) -> (Option<StatusGizi>, Vec<GiziSign>) {
    let anthro = match (g.whz, g.baz) {
        (Some(z), _) => Some((WfhClass::from_z(z), GiziSign::Wfh { z })),
        (None, Some(z)) => Some((WfhClass::from_z(z), GiziSign::Bfa { z })),
        _ => None,
    };
    let lila = g
        .muac_mm
        .filter(|_| LILA_AGES_MONTHS.contains(&g.age_months))
        .map(|mm| {
            let class = if mm < LILA_GIZI_BURUK_BELOW_MM {
                Some(StatusGizi::GiziBuruk)
            } else if mm < LILA_GIZI_KURANG_BELOW_MM {
                Some(StatusGizi::GiziKurang)
            } else {
                None
            };
            (class, GiziSign::Lila { mm })
        });
    let mut signs: Vec<(StatusGizi, GiziSign)> = Vec::new();
    if g.oedema {
        signs.push((StatusGizi::GiziBuruk, GiziSign::Oedema));
    }
    if let Some((Some(c), s)) = lila {
        signs.push((c, s));
    }
    if let Some((c, s)) = anthro {
        signs.push((c.into(), s));
    }
    for worst in [StatusGizi::GiziBuruk, StatusGizi::GiziKurang] {
        let because: Vec<GiziSign> = signs
            .iter()
            .filter(|(c, _)| *c == worst)
            .map(|(_, s)| *s)
            .collect();
        if !because.is_empty() {
            return (Some(worst), because);
        }
    }
    match anthro {
        Some((c, s)) => (Some(c.into()), vec![s]),
        None => (None, Vec::new()),
    }
}
