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
