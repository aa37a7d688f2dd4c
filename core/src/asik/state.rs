//! What was sent, as kept in the child's document (`asik/visit/<date>`, see `crdt.rs`): the identifier
//! key the visit was sent under, the fingerprint of the visit data that was sent, and per resource the
//! server's id and the fingerprint of the resource sent. Upload state therefore travels with the data.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::mapping::{self, Kind};
use crate::growth::Assessment;

/// The fingerprint of a resource marked `entered-in-error` on the server.
pub const RETRACTED: &str = "entered-in-error";

/// One resource the server holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentResource {
    pub id: String,
    /// [`mapping::fingerprint`] of what the server holds, or [`RETRACTED`].
    pub h: String,
}

/// One visit as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentVisit {
    /// The identifier key ([`mapping::identifier_value`]).
    pub key: String,
    /// [`visit_fingerprint`] of the data the server holds for this visit; empty while part of it is
    /// still unsent.
    #[serde(default)]
    pub v: String,
    #[serde(default)]
    pub res: BTreeMap<Kind, SentResource>,
}

impl SentVisit {
    /// Read the values of one `asik/visit/<date>` key (the winner first): the winner, with resources
    /// only a concurrent value knows filled in (both phones heard them from the same server).
    pub fn from_values(values: &[String]) -> Option<Self> {
        let mut parsed = values
            .iter()
            .filter_map(|v| serde_json::from_str::<SentVisit>(v).ok());
        let mut first = parsed.next()?;
        for other in parsed {
            if other.key != first.key {
                continue;
            }
            for (k, r) in other.res {
                if let std::collections::btree_map::Entry::Vacant(e) = first.res.entry(k) {
                    e.insert(r);
                    first.v.clear();
                }
            }
        }
        Some(first)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// True when every resource was marked `entered-in-error`.
    pub fn retracted(&self) -> bool {
        self.res.values().all(|r| r.h == RETRACTED)
    }
}

/// A fingerprint of the visit data that decides what is sent: the measurements and services
/// ([`crate::store::projection::VisitRow::content`]), the assessment (z-scores in hundredths, classes,
/// `status_gizi`, versions) and the Patient. Independent of the mapping settings, so a phone that never
/// synced can tell from the document alone that a visit was sent.
pub fn visit_fingerprint(content: &str, a: Option<&Assessment>, patient: &str) -> String {
    let assessed = a.map(|a| {
        let z = [a.z.waz, a.z.haz, a.z.whz, a.z.baz, a.z.hcz]
            .map(|z| z.map(|z| (z * 100.0).round() as i64));
        serde_json::json!([
            z,
            a.classes,
            mapping::status_gizi(a),
            a.standard_version,
            a.rules_version
        ])
        .to_string()
    });
    let text = format!("{content}\0{}\0{patient}", assessed.unwrap_or_default());
    crate::crypto::sha256(text.as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
