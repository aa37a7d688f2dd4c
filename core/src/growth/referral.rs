//! Referral reasons shown to the bidan, with stable codes, Bahasa Indonesia text and an urgency for
//! sorting the village list.

use std::sync::LazyLock;

use chrono::NaiveDate;

use super::classify::{GiziSign, StatusGizi};
use super::kms::month_index;
use crate::domain::completed_months;

/// Why a child should be seen by the bidan. Codes, urgencies and texts are data
/// (`schema/id/referral-reasons.csv`, with the source of each); the conditions are in
/// [`super::assess_visit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReferralReason {
    /// Two consecutive T (tidak naik) weighings.
    TwoT,
    /// This weighing T (Buku KIA 2023: "rujuk bila T"); not given when it is 2T.
    T,
    /// Below the red line: weight-for-age z < -3.
    Bgm,
    /// Above the orange line: weight-for-age z > +1 (the line's z is not confirmed).
    AboveOrange,
    /// Status gizi gizi buruk (weight-for-length/height or BMI-for-age z < -3, LiLA < 11.5 cm at 6 to
    /// 59 months, or oedema).
    GiziBuruk,
    /// Status gizi gizi kurang (z from -3 to < -2, or LiLA 11.5 to < 12.5 cm at 6 to 59 months).
    GiziKurang,
    /// Bilateral pitting oedema.
    Oedema,
    /// Length/height-for-age z < -3.
    SangatPendek,
    /// Pendek now and not pendek/sangat pendek at the previous length/height measurement.
    PendekBaru,
    /// Weight lower than at the previous weighing.
    WeightLoss,
    /// Weight more than 10% lower than at the previous weighing: a clinical alarm.
    WeightLoss10,
    /// A WHO-flagged (implausible) z-score: check the measurement.
    Implausible,
    /// No weighing for 3 calendar months or more.
    NotWeighed3Months,
}

/// One row of the referral reasons table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasonRow {
    pub code: String,
    pub urgency: u8,
    pub text_id: String,
    pub source: String,
}

/// The table's id (`# id:` line).
pub const REFERRAL_TABLE: &str = include_str!("../../../schema/id/referral-reasons.csv");

#[allow(
    clippy::expect_used,
    reason = "embedded data; a defect must fail loudly in tests"
)]
fn parse_reasons(text: &str) -> Vec<ReasonRow> {
    let mut rows = Vec::new();
    let mut header = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if !header {
            assert_eq!(
                line, "code,urgency,text_id,source",
                "referral reasons: header"
            );
            header = true;
            continue;
        }
        let (code, rest) = line.split_once(',').expect("referral reasons: row");
        let (urgency, rest) = rest.split_once(',').expect("referral reasons: row");
        let (text, source) = rest.rsplit_once(',').expect("referral reasons: row");
        rows.push(ReasonRow {
            code: code.trim().to_owned(),
            urgency: urgency.trim().parse().expect("referral reasons: urgency"),
            text_id: text.trim().to_owned(),
            source: source.trim().to_owned(),
        });
    }
    rows
}

static REASONS: LazyLock<Vec<ReasonRow>> = LazyLock::new(|| parse_reasons(REFERRAL_TABLE));

impl ReferralReason {
    /// Every reason.
    pub const ALL: &'static [ReferralReason] = &[
        ReferralReason::TwoT,
        ReferralReason::T,
        ReferralReason::Bgm,
        ReferralReason::AboveOrange,
        ReferralReason::GiziBuruk,
        ReferralReason::GiziKurang,
        ReferralReason::Oedema,
        ReferralReason::SangatPendek,
        ReferralReason::PendekBaru,
        ReferralReason::WeightLoss,
        ReferralReason::WeightLoss10,
        ReferralReason::Implausible,
        ReferralReason::NotWeighed3Months,
    ];

    /// Stable code (storage, JSON, CLI).
    pub fn code(&self) -> &'static str {
        match self {
            ReferralReason::TwoT => "2T",
            ReferralReason::T => "T",
            ReferralReason::Bgm => "BGM",
            ReferralReason::AboveOrange => "DI_ATAS_GARIS_ORANYE",
            ReferralReason::GiziBuruk => "GIZI_BURUK",
            ReferralReason::GiziKurang => "GIZI_KURANG",
            ReferralReason::Oedema => "EDEMA",
            ReferralReason::SangatPendek => "SANGAT_PENDEK",
            ReferralReason::PendekBaru => "PENDEK_BARU",
            ReferralReason::WeightLoss => "BB_TURUN",
            ReferralReason::WeightLoss10 => "BB_TURUN_10_PERSEN",
            ReferralReason::Implausible => "NILAI_JANGGAL",
            ReferralReason::NotWeighed3Months => "TIDAK_DITIMBANG_3BLN",
        }
    }

    /// This reason's row of the table.
    #[allow(
        clippy::expect_used,
        reason = "every code has a row; a test checks the table"
    )]
    pub fn row(&self) -> &'static ReasonRow {
        REASONS
            .iter()
            .find(|r| r.code == self.code())
            .expect("referral reasons: a code without a row")
    }

    /// One line for the bidan, in Bahasa Indonesia (from the table).
    pub fn text_id(&self) -> &'static str {
        &self.row().text_id
    }

    /// Urgency for sorting (higher = more urgent; from the table). Oedema and gizi buruk first (possible
    /// severe acute malnutrition), a missed weighing last.
    pub fn urgency(&self) -> u8 {
        self.row().urgency
    }

    /// Where the reason comes from (the table's source column).
    pub fn source(&self) -> &'static str {
        &self.row().source
    }
}

/// Every row of the referral reasons table, in its order.
pub fn reason_rows() -> &'static [ReasonRow] {
    &REASONS
}

impl std::fmt::Display for ReferralReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl std::str::FromStr for ReferralReason {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        ReferralReason::ALL
            .iter()
            .copied()
            .find(|r| r.code() == s)
            .ok_or(())
    }
}

impl serde::Serialize for ReferralReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for ReferralReason {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        s.parse()
            .map_err(|()| serde::de::Error::custom(format!("unknown referral reason {s:?}")))
    }
}

/// The referral a status gizi calls for: gizi buruk and gizi kurang (whatever sign decided them).
pub fn status_gizi_referral(status: Option<StatusGizi>) -> Option<ReferralReason> {
    match status? {
        StatusGizi::GiziBuruk => Some(ReferralReason::GiziBuruk),
        StatusGizi::GiziKurang => Some(ReferralReason::GiziKurang),
        _ => None,
    }
}

/// The text of one reason for the bidan, naming what triggered it where a measurement did: a status
/// gizi reason names its signs ("Gizi buruk: LiLA 11,0 cm; edema bilateral").
pub fn text(reason: ReferralReason, signs: &[GiziSign]) -> String {
    match reason {
        ReferralReason::GiziBuruk | ReferralReason::GiziKurang if !signs.is_empty() => {
            let label = if reason == ReferralReason::GiziBuruk {
                "Gizi buruk"
            } else {
                "Gizi kurang"
            };
            let named: Vec<String> = signs.iter().map(GiziSign::text_id).collect();
            format!("{label}: {}", named.join("; "))
        }
        _ => reason.text_id().to_owned(),
    }
}

/// [`text`] of every reason, in order.
pub fn texts(reasons: &[ReferralReason], signs: &[GiziSign]) -> Vec<String> {
    reasons.iter().map(|r| text(*r, signs)).collect()
}

/// `NotWeighed3Months` when the last weighing is 3 or more calendar months before today's month
/// (weighed in January: referred from April). A child never weighed is measured from the birth date,
/// and only once it is at least 3 completed months old.
pub fn not_weighed_referral(
    last_weighing: Option<NaiveDate>,
    birth_date: NaiveDate,
    today: NaiveDate,
) -> Option<ReferralReason> {
    let since = match last_weighing {
        Some(d) => d,
        None => {
            if completed_months(birth_date, today) < 3 {
                return None;
            }
            birth_date
        }
    };
    (month_index(today) - month_index(since) >= 3).then_some(ReferralReason::NotWeighed3Months)
}

/// A child's referral reasons as the bidan works them: the reasons stored with the latest assessment,
/// the referral of the child's latest status gizi (`latest_status`: from the latest visit that had
/// one, which may be older than the latest visit), plus a missed weighing as of `today`, most urgent
/// first, without repeats.
pub fn referrals_as_of(
    stored: impl IntoIterator<Item = ReferralReason>,
    latest_status: Option<StatusGizi>,
    last_weighing: Option<NaiveDate>,
    birth_date: Option<NaiveDate>,
    today: NaiveDate,
) -> Vec<ReferralReason> {
    let mut reasons: Vec<ReferralReason> = Vec::new();
    let missed = birth_date.and_then(|b| not_weighed_referral(last_weighing, b, today));
    let status = status_gizi_referral(latest_status);
    for r in stored.into_iter().chain(status).chain(missed) {
        if !reasons.contains(&r) {
            reasons.push(r);
        }
    }
    rank(&mut reasons);
    reasons
}

/// Sort reasons most urgent first (stable for equal urgency).
pub fn rank(reasons: &mut [ReferralReason]) {
    reasons.sort_by_key(|r| std::cmp::Reverse(r.urgency()));
}

/// The key that orders children in the village list: the most urgent reason first, then the number of
/// reasons (higher is more urgent). `reasons` are ranked.
pub fn urgency_key(reasons: &[ReferralReason]) -> (u8, usize) {
    (reasons.first().map_or(0, |r| r.urgency()), reasons.len())
}
