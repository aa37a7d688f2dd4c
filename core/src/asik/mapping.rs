//! The FHIR R4 mapping of a posyandu visit on SATUSEHAT's rules. Pure: plain data in, `serde_json`
//! values out; nothing here does I/O. The choices and their sources are written down in
//! `schema/fhir/README.md` (facts from `reference/satusehat-and-posyandu.md` §1.5-1.9).
//!
//! A visit becomes one Encounter and one Observation per measurement and per assessment result, each
//! with a stable identifier (`http://sys-ids.kemkes.go.id/{encounter|observation}/{org}`) whose value
//! is derived from the child and the date ([`identifier_value`]), so SATUSEHAT's duplicate refusal
//! (RuleNumber 20002) makes a second create of the same visit impossible.

use chrono::{Duration, NaiveDate, NaiveTime, Offset, TimeZone};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::domain::{Identity, Measurements, Position, Sex};
use crate::growth::{Assessment, HfaClass, WfaClass, WfhClass};

pub const NIK_SYSTEM: &str = "https://fhir.kemkes.go.id/id/nik";
pub const NIK_IBU_SYSTEM: &str = "https://fhir.kemkes.go.id/id/nik-ibu";
const LOINC: &str = "http://loinc.org";
const SNOMED: &str = "http://snomed.info/sct";
const UCUM: &str = "http://unitsofmeasure.org";
const CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
const CLINICAL_TERM: &str = "http://terminology.kemkes.go.id/CodeSystem/clinical-term";
const PATIENT_PROFILE: &str = "https://fhir.kemkes.go.id/r4/StructureDefinition/Patient";

/// Which LOINC code the head circumference is sent with. The reference (§1.8) found both in use and
/// calls it unsettled: 9843-4 is in the HL7 vital-signs value set IDCore copies; 8287-5 is what one
/// SATUSEHAT MTBS implementation sends, with category `exam`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeadCode {
    /// LOINC 9843-4 "Head Occipital-frontal circumference", category `vital-signs` (default).
    #[default]
    Loinc9843,
    /// LOINC 8287-5 "Head Occipital-frontal circumference by Tape measure", category `exam`.
    Loinc8287,
}

/// What the deployment configures: the puskesmas's SATUSEHAT ids and the unsettled choices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapConfig {
    /// The Organization IHS number the credentials belong to (one client id, one organization).
    pub org_id: String,
    /// The Location (a UUID on SATUSEHAT) of the posyandu, if registered.
    pub location_id: Option<String>,
    pub location_name: Option<String>,
    /// The IHS number of the supervising bidan. A kader is not a SATUSEHAT Practitioner (§1.7), so
    /// without one the performer is the Organization (the playbooks list `Organization/{ihs}` as a
    /// performer) and the Encounter has no participant.
    pub practitioner_id: Option<String>,
    pub head_code: HeadCode,
    /// Minutes east of UTC of the posyandu (WIB 420, WITA 480, WIT 540); SATUSEHAT wants UTC times.
    pub utc_offset_minutes: i32,
    /// The nominal local start of a posyandu visit (the date is all a kader records).
    pub visit_start: NaiveTime,
    /// Kemendagri wilayah code of the village (10 digits), for a Patient created through `nik-ibu`.
    pub village_code: Option<String>,
}

impl MapConfig {
    /// Defaults for an organization: WIB, 08:00, LOINC 9843-4, no practitioner or location.
    pub fn for_org(org_id: &str) -> Self {
        Self {
            org_id: org_id.to_owned(),
            location_id: None,
            location_name: None,
            practitioner_id: None,
            head_code: HeadCode::default(),
            utc_offset_minutes: 7 * 60,
            visit_start: NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default(),
            village_code: None,
        }
    }

    fn time(&self, date: NaiveDate, plus_minutes: i64) -> String {
        let offset = chrono::FixedOffset::east_opt(self.utc_offset_minutes * 60)
            .unwrap_or_else(|| chrono::Utc.fix());
        let local = date.and_time(self.visit_start) + Duration::minutes(plus_minutes);
        let utc = offset
            .from_local_datetime(&local)
            .single()
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_else(|| local.and_utc());
        utc.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
    }

    fn performer(&self) -> Value {
        match &self.practitioner_id {
            Some(p) => json!([{"reference": format!("Practitioner/{p}")}]),
            None => json!([{"reference": format!("Organization/{}", self.org_id)}]),
        }
    }
}

/// Every resource a visit can produce, with the key its upload state is kept under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Encounter,
    Weight,
    Height,
    Head,
    Muac,
    Waz,
    Haz,
    Whz,
    Baz,
    Hcz,
    StatusGizi,
}

impl Kind {
    pub const ALL: [Kind; 11] = [
        Kind::Encounter,
        Kind::Weight,
        Kind::Height,
        Kind::Head,
        Kind::Muac,
        Kind::Waz,
        Kind::Haz,
        Kind::Whz,
        Kind::Baz,
        Kind::Hcz,
        Kind::StatusGizi,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Kind::Encounter => "encounter",
            Kind::Weight => "weight",
            Kind::Height => "height",
            Kind::Head => "head",
            Kind::Muac => "muac",
            Kind::Waz => "waz",
            Kind::Haz => "haz",
            Kind::Whz => "whz",
            Kind::Baz => "baz",
            Kind::Hcz => "hcz",
            Kind::StatusGizi => "status_gizi",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.code() == s)
    }

    pub fn resource_type(self) -> &'static str {
        if self == Kind::Encounter {
            "Encounter"
        } else {
            "Observation"
        }
    }

    /// True for the Observations computed from the measurements (a reassessment may change them).
    pub fn is_assessment(self) -> bool {
        matches!(
            self,
            Kind::Waz | Kind::Haz | Kind::Whz | Kind::Baz | Kind::Hcz | Kind::StatusGizi
        )
    }
}

/// The identifier system of a resource type for an organization.
pub fn identifier_system(kind: Kind, org: &str) -> String {
    match kind {
        Kind::Encounter => format!("http://sys-ids.kemkes.go.id/encounter/{org}"),
        _ => format!("http://sys-ids.kemkes.go.id/observation/{org}"),
    }
}

/// The identifier value: `{child id}.{date}` for the Encounter, `{child id}.{date}.{kind}` for an
/// Observation. `key` is the child id the visit was first sent under (the kept child, or the merged
/// duplicate that sent it first), so it never changes once sent. Child ids are random, never personal.
pub fn identifier_value(key: &str, date: NaiveDate, kind: Kind) -> String {
    match kind {
        Kind::Encounter => format!("{key}.{date}"),
        _ => format!("{key}.{date}.{}", kind.code()),
    }
}

/// A `urn:uuid` for a resource in a transaction Bundle, derived from its identifier so the same visit
/// makes the same Bundle.
pub fn urn_for(system: &str, value: &str) -> String {
    let h = crate::crypto::sha256(format!("{system}|{value}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    format!(
        "urn:uuid:{}",
        uuid::Builder::from_random_bytes(b).into_uuid()
    )
}

/// The classification sent as the `status_gizi` Observation.
///
/// COORDINATOR: switch to `a.status_gizi` when issue 14's `Assessment.status_gizi` merges. Until then
/// it is weight-for-length/height, or BMI-for-age where that is undefined (the one place to change).
pub fn status_gizi(a: &Assessment) -> Option<WfhClass> {
    a.classes.wfh.or(a.classes.bfa)
}

/// What the mapping needs of one visit.
#[derive(Debug, Clone, Copy)]
pub struct VisitData<'a> {
    /// The identifier key ([`identifier_value`]).
    pub key: &'a str,
    pub date: NaiveDate,
    pub measured: &'a Measurements,
    /// None when the child's sex or birth date is unknown (then only measurements are sent).
    pub assessment: Option<&'a Assessment>,
}

/// References a resource needs: the Patient and (for Observations) the Encounter.
#[derive(Debug, Clone, Copy)]
pub struct Refs<'a> {
    /// `Patient/P…`.
    pub patient: &'a str,
    /// `Encounter/{id}` or the Encounter's `urn:uuid`.
    pub encounter: &'a str,
}

fn coding(system: &str, code: &str, display: &str) -> Value {
    json!({"system": system, "code": code, "display": display})
}

fn quantity(value: f64, unit: &str, code: &str) -> Value {
    json!({"value": value, "unit": unit, "system": UCUM, "code": code})
}

fn round2(z: f64) -> f64 {
    (z * 100.0).round() / 100.0
}

fn category(code: &str) -> Value {
    let display = if code == "exam" {
        "Exam"
    } else {
        "Vital Signs"
    };
    json!([{"coding": [coding(CATEGORY, code, display)]}])
}

/// The interpretation codings of a class: the Kemkes clinical-term code (the DTO CodeSystem, §1.8),
/// plus the SNOMED code the third-party bridge uses where it gives one.
fn interp(ct: (&str, &str), snomed: Option<(&str, &str)>) -> Value {
    let mut codings = vec![coding(CLINICAL_TERM, ct.0, ct.1)];
    if let Some((c, d)) = snomed {
        codings.push(coding(SNOMED, c, d));
    }
    json!([{"coding": codings}])
}

fn wfa_interp(c: WfaClass) -> Value {
    match c {
        WfaClass::SangatKurang => interp(("OI000007", "Berat Badan Sangat Kurang"), None),
        WfaClass::Kurang => interp(
            ("OI000008", "Berat Badan Kurang"),
            Some(("248342006", "Underweight")),
        ),
        WfaClass::Normal => interp(
            ("OI000009", "Berat Badan Normal"),
            Some(("43664005", "Normal weight")),
        ),
        WfaClass::RisikoLebih => interp(("OI000010", "Risiko Berat Badan Lebih"), None),
    }
}

fn hfa_interp(c: HfaClass) -> Value {
    match c {
        HfaClass::SangatPendek => interp(("OI000011", "Sangat Pendek"), None),
        HfaClass::Pendek => interp(
            ("OI000012", "Pendek"),
            Some(("444000005", "Short stature for age")),
        ),
        HfaClass::Normal => interp(
            ("OI000013", "Normal"),
            Some(("17489000", "Body height normal for age")),
        ),
        HfaClass::Tinggi => interp(("OI000014", "Tinggi"), Some(("83077003", "Tall for age"))),
    }
}

/// The clinical-term code and display of a nutritional-status class.
pub fn wfh_code(c: WfhClass) -> (&'static str, &'static str) {
    match c {
        WfhClass::GiziBuruk => ("OI000001", "Gizi Buruk"),
        WfhClass::GiziKurang => ("OI000002", "Gizi Kurang"),
        WfhClass::GiziBaik => ("OI000003", "Gizi Baik"),
        WfhClass::BerisikoGiziLebih => ("OI000004", "Risiko Gizi Lebih"),
        WfhClass::GiziLebih => ("OI000005", "Gizi Lebih"),
        WfhClass::Obesitas => ("OI000006", "Obesitas"),
    }
}

fn wfh_interp(c: WfhClass) -> Value {
    let snomed = match c {
        WfhClass::GiziKurang => Some(("248325000", "Gizi kurang")),
        WfhClass::GiziBaik => Some(("248324001", "Gizi baik")),
        WfhClass::GiziLebih => Some(("238131007", "Overweight")),
        WfhClass::Obesitas => Some(("414915002", "Obese")),
        WfhClass::GiziBuruk | WfhClass::BerisikoGiziLebih => None,
    };
    interp(wfh_code(c), snomed)
}

/// The `code` of a resource kind (for the Observations), given the measuring position where it matters.
fn obs_code(kind: Kind, position: Option<Position>, head: HeadCode) -> (Value, &'static str) {
    let lying = position != Some(Position::Standing);
    let one = |system: &str, code: &str, display: &str| json!({"coding": [coding(system, code, display)]});
    match kind {
        Kind::Encounter => (Value::Null, ""),
        Kind::Weight => (one(LOINC, "29463-7", "Body weight"), "vital-signs"),
        Kind::Height => {
            let (c, d) = if lying {
                ("8306-3", "Body height --lying")
            } else {
                ("8308-9", "Body height --standing")
            };
            (
                json!({"coding": [coding(LOINC, c, d), coding(LOINC, "8302-2", "Body height")]}),
                "vital-signs",
            )
        }
        Kind::Head => match head {
            HeadCode::Loinc9843 => (
                one(LOINC, "9843-4", "Head Occipital-frontal circumference"),
                "vital-signs",
            ),
            HeadCode::Loinc8287 => (
                one(
                    LOINC,
                    "8287-5",
                    "Head Occipital-frontal circumference by Tape measure",
                ),
                "exam",
            ),
        },
        Kind::Muac => (
            one(SNOMED, "284473002", "Mid upper arm circumference"),
            "exam",
        ),
        Kind::Waz => (one(SNOMED, "1153593003", "Weight for age z-score"), "exam"),
        Kind::Haz => {
            if lying {
                (one(SNOMED, "1153590000", "Length for age z-score"), "exam")
            } else {
                (
                    one(SNOMED, "1153604005", "Body height for age z-score"),
                    "exam",
                )
            }
        }
        Kind::Whz => {
            if lying {
                (
                    one(SNOMED, "1153598007", "Weight for length z-score"),
                    "exam",
                )
            } else {
                (
                    one(SNOMED, "1153600001", "Weight for height z-score"),
                    "exam",
                )
            }
        }
        Kind::Baz => (one(SNOMED, "1153596006", "BMI for age z-score"), "exam"),
        Kind::Hcz => (
            one(SNOMED, "1153594009", "Head circumference for age z-score"),
            "exam",
        ),
        Kind::StatusGizi => (
            one(CLINICAL_TERM, "OC000108", "Klasifikasi status gizi"),
            "exam",
        ),
    }
}

/// The Encounter of a visit (status `finished`, with the nominal times of [`MapConfig`]).
pub fn encounter(cfg: &MapConfig, v: &VisitData<'_>, patient: &str) -> Value {
    let start = cfg.time(v.date, 0);
    let mid = cfg.time(v.date, 5);
    let end = cfg.time(v.date, 15);
    let mut e = json!({
        "resourceType": "Encounter",
        "identifier": [{"system": identifier_system(Kind::Encounter, &cfg.org_id),
                        "value": identifier_value(v.key, v.date, Kind::Encounter)}],
        "status": "finished",
        "statusHistory": [
            {"status": "arrived", "period": {"start": start, "end": mid}},
            {"status": "in-progress", "period": {"start": mid, "end": end}},
            {"status": "finished", "period": {"start": end, "end": end}}
        ],
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB", "display": "ambulatory"},
        "subject": {"reference": patient},
        "period": {"start": start, "end": end},
        "serviceProvider": {"reference": format!("Organization/{}", cfg.org_id)}
    });
    if let Some(p) = &cfg.practitioner_id {
        e["participant"] = json!([{
            "type": [{"coding": [coding("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "ATND", "attender")]}],
            "individual": {"reference": format!("Practitioner/{p}")}
        }]);
    }
    if let Some(l) = &cfg.location_id {
        let mut loc = json!({"reference": format!("Location/{l}")});
        if let Some(n) = &cfg.location_name {
            loc["display"] = json!(n);
        }
        e["location"] = json!([{"location": loc}]);
    }
    e
}

fn observation(
    cfg: &MapConfig,
    v: &VisitData<'_>,
    kind: Kind,
    refs: &Refs<'_>,
    value: (&str, Value),
    interpretation: Option<Value>,
) -> Value {
    let (code, cat) = obs_code(kind, v.measured.position, cfg.head_code);
    let mut o = json!({
        "resourceType": "Observation",
        "identifier": [{"system": identifier_system(kind, &cfg.org_id),
                        "value": identifier_value(v.key, v.date, kind)}],
        "status": "final",
        "category": category(cat),
        "code": code,
        "subject": {"reference": refs.patient},
        "encounter": {"reference": refs.encounter},
        "effectiveDateTime": cfg.time(v.date, 5),
        "issued": cfg.time(v.date, 15),
        "performer": cfg.performer(),
    });
    o[value.0] = value.1;
    if let Some(i) = interpretation {
        o["interpretation"] = i;
    }
    o
}

fn zq(z: f64) -> Value {
    quantity(round2(z), "{Zscore}", "{Zscore}")
}

/// The Observations of a visit, in a fixed order (measurements first, then the assessment).
pub fn observations(cfg: &MapConfig, v: &VisitData<'_>, refs: &Refs<'_>) -> Vec<(Kind, Value)> {
    let m = v.measured;
    let mut out = Vec::new();
    let q = |x: Option<f64>, unit: &str| x.map(|x| ("valueQuantity", quantity(x, unit, unit)));
    let measures = [
        (Kind::Weight, q(m.weight_kg(), "kg")),
        (Kind::Height, q(m.height_cm(), "cm")),
        (Kind::Head, q(m.head_cm(), "cm")),
        (Kind::Muac, q(m.muac_cm(), "cm")),
    ];
    for (kind, value) in measures {
        if let Some(value) = value {
            out.push((kind, observation(cfg, v, kind, refs, value, None)));
        }
    }
    if let Some(a) = v.assessment {
        let z = &a.z;
        let c = &a.classes;
        let zs = [
            (Kind::Waz, z.waz, c.wfa.map(wfa_interp)),
            (Kind::Haz, z.haz, c.hfa.map(hfa_interp)),
            (Kind::Whz, z.whz, c.wfh.map(wfh_interp)),
            (Kind::Baz, z.baz, c.bfa.map(wfh_interp)),
            (Kind::Hcz, z.hcz, None),
        ];
        for (kind, value, i) in zs {
            if let Some(value) = value {
                out.push((
                    kind,
                    observation(cfg, v, kind, refs, ("valueQuantity", zq(value)), i),
                ));
            }
        }
        if let Some(s) = status_gizi(a) {
            let (code, display) = wfh_code(s);
            let value = json!({"coding": [coding(CLINICAL_TERM, code, display)]});
            out.push((
                Kind::StatusGizi,
                observation(
                    cfg,
                    v,
                    Kind::StatusGizi,
                    refs,
                    ("valueCodeableConcept", value),
                    None,
                ),
            ));
        }
    }
    out
}

/// All resources of a visit: the Encounter first.
pub fn visit_resources(cfg: &MapConfig, v: &VisitData<'_>, refs: &Refs<'_>) -> Vec<(Kind, Value)> {
    let mut out = vec![(Kind::Encounter, encounter(cfg, v, refs.patient))];
    out.extend(observations(cfg, v, refs));
    out
}

/// The body that marks a sent resource `entered-in-error` (a visit deleted after it was sent, a
/// measurement removed, or what a merged duplicate sent for a day the kept child had sent too): the
/// resource's identifier, code, subject and times, no value, status `entered-in-error`, sent with PUT.
pub fn retraction(
    cfg: &MapConfig,
    key: &str,
    date: NaiveDate,
    position: Option<Position>,
    kind: Kind,
    refs: &Refs<'_>,
) -> Value {
    let m = Measurements {
        position,
        ..Default::default()
    };
    let v = VisitData {
        key,
        date,
        measured: &m,
        assessment: None,
    };
    let mut r = if kind == Kind::Encounter {
        encounter(cfg, &v, refs.patient)
    } else {
        observation(cfg, &v, kind, refs, ("valueQuantity", Value::Null), None)
    };
    if let Some(o) = r.as_object_mut() {
        o.remove("valueQuantity");
    }
    r["status"] = json!("entered-in-error");
    r
}

/// A fingerprint of what a resource says: SHA-256 (first 8 bytes, hex) of its JSON without `id`,
/// `meta` and the Encounter reference (which is a `urn:uuid` on create and `Encounter/{id}` after).
/// Equal fingerprints mean the server holds what would be sent.
pub fn fingerprint(resource: &Value) -> String {
    let mut r = resource.clone();
    if let Some(o) = r.as_object_mut() {
        o.remove("id");
        o.remove("meta");
        o.remove("encounter");
        o.remove("text");
    }
    crate::crypto::sha256(canonical(&r).as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// JSON with object keys sorted (serde_json's map is ordered by key without `preserve_order`, but the
/// server's copy may have been re-serialised in any order).
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", json!(k), canonical(&m[k.as_str()])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// How the child's Patient is found on SATUSEHAT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatientSearch {
    /// By the child's own NIK. SATUSEHAT's MPI holds every NIK from Dukcapil; a Patient with a NIK is
    /// never created by us.
    Nik(String),
    /// A baby without NIK: by the mother's NIK and the birth date; created (with `nik-ibu`) when not
    /// found, the one case SATUSEHAT allows a facility to create a Patient (§1.5).
    NikIbu {
        mother_nik: String,
        birth_date: NaiveDate,
    },
}

impl PatientSearch {
    /// The search for a child, or None when it has neither NIK nor mother's NIK (nothing can be sent).
    pub fn for_identity(i: &Identity) -> Option<Self> {
        if let Some(n) = i.nik.as_deref().filter(|n| !n.is_empty()) {
            return Some(Self::Nik(n.to_owned()));
        }
        match (
            i.mother_nik.as_deref().filter(|n| !n.is_empty()),
            i.birth_date,
        ) {
            (Some(m), Some(b)) => Some(Self::NikIbu {
                mother_nik: m.to_owned(),
                birth_date: b,
            }),
            _ => None,
        }
    }

    /// The query string of `GET {base}/Patient?…`.
    pub fn query(&self) -> String {
        match self {
            Self::Nik(n) => format!("identifier={}", enc(&format!("{NIK_SYSTEM}|{n}"))),
            Self::NikIbu {
                mother_nik,
                birth_date,
            } => format!(
                "identifier={}&birthdate={birth_date}",
                enc(&format!("{NIK_IBU_SYSTEM}|{mother_nik}"))
            ),
        }
    }

    /// A conditional reference naming the Patient before its id is known (`asik bundle`).
    pub fn conditional_reference(&self) -> String {
        match self {
            Self::Nik(n) => format!("Patient?identifier={NIK_SYSTEM}|{n}"),
            Self::NikIbu { mother_nik, .. } => {
                format!("Patient?identifier={NIK_IBU_SYSTEM}|{mother_nik}")
            }
        }
    }
}

/// Percent-encoding of a query value.
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The Patient created for a baby without NIK, through the mother's NIK (§1.5, rules 10166, 10168,
/// 10397, 10413, 10333, 10167). None when the identity lacks what the rules require.
pub fn new_baby_patient(cfg: &MapConfig, i: &Identity) -> Option<Value> {
    let mother_nik = i.mother_nik.as_deref()?;
    let birth = i.birth_date?;
    let gender = match i.sex? {
        Sex::Male => "male",
        Sex::Female => "female",
    };
    let mut address = json!({"use": "home", "line": [i.address.clone().unwrap_or_else(|| "-".into())], "country": "ID"});
    if let Some(v) = cfg.village_code.as_deref().filter(|v| v.len() == 10) {
        address["extension"] = json!([{"url": "https://fhir.kemkes.go.id/r4/StructureDefinition/administrativeCode",
            "extension": [{"url": "province", "valueCode": &v[..2]}, {"url": "city", "valueCode": &v[..4]},
                          {"url": "district", "valueCode": &v[..6]}, {"url": "village", "valueCode": v}]}]);
    }
    Some(json!({
        "resourceType": "Patient",
        "meta": {"profile": [PATIENT_PROFILE]},
        "identifier": [{"use": "official", "system": NIK_IBU_SYSTEM, "value": mother_nik}],
        "active": true,
        "name": [{"use": "official", "text": i.name}],
        "gender": gender,
        "birthDate": birth.to_string(),
        "deceasedBoolean": false,
        "address": [address],
        "multipleBirthInteger": 0,
        "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "id-ID", "display": "Indonesian"}], "text": "Indonesian"}, "preferred": true}]
    }))
}

/// One entry of a transaction Bundle.
#[derive(Debug, Clone)]
pub enum Entry {
    /// POST, with the `urn:uuid` other entries reference it by.
    Create { full_url: String, resource: Value },
    /// PUT of a resource the server holds under `id` (the body carries the id, as SATUSEHAT requires).
    Update { id: String, resource: Value },
}

/// A transaction Bundle of `entries` (POSTed to the FHIR base).
pub fn transaction(entries: &[Entry]) -> Value {
    let e: Vec<Value> = entries
        .iter()
        .map(|e| match e {
            Entry::Create { full_url, resource } => {
                let rt = resource["resourceType"].as_str().unwrap_or_default();
                json!({"fullUrl": full_url, "resource": resource, "request": {"method": "POST", "url": rt}})
            }
            Entry::Update { id, resource } => {
                let rt = resource["resourceType"].as_str().unwrap_or_default();
                let mut r = resource.clone();
                r["id"] = json!(id);
                // A fullUrl is required on every entry (20021); an update names the resource itself.
                json!({"fullUrl": urn_for(rt, id), "resource": r, "request": {"method": "PUT", "url": format!("{rt}/{id}")}})
            }
        })
        .collect();
    json!({"resourceType": "Bundle", "type": "transaction", "entry": e})
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::growth::{ChildInfo, KbmTable, VisitInput, assess_visit};

    fn assessed(m: &Measurements) -> Assessment {
        let child = ChildInfo {
            sex: Sex::Female,
            birth_date: "2024-01-10".parse().unwrap(),
        };
        let date = "2025-06-14".parse().unwrap();
        assess_visit(
            &child,
            &[],
            &[],
            &VisitInput::new(date, m),
            KbmTable::default_table(),
        )
    }

    fn m() -> Measurements {
        Measurements {
            weight_g: Some(9_100),
            height_mm: Some(780),
            position: Some(Position::Lying),
            head_mm: Some(450),
            muac_mm: Some(140),
            oedema: Some(false),
        }
    }

    #[test]
    fn a_visit_maps_to_an_encounter_and_coded_observations() {
        let cfg = MapConfig::for_org("100025753");
        let m = m();
        let a = assessed(&m);
        let v = VisitData {
            key: "c1",
            date: "2025-06-14".parse().unwrap(),
            measured: &m,
            assessment: Some(&a),
        };
        let refs = Refs {
            patient: "Patient/P00000000001",
            encounter: "urn:uuid:x",
        };
        let r = visit_resources(&cfg, &v, &refs);
        let kinds: Vec<Kind> = r.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            kinds[..5],
            [
                Kind::Encounter,
                Kind::Weight,
                Kind::Height,
                Kind::Head,
                Kind::Muac
            ]
        );
        assert!(kinds.contains(&Kind::StatusGizi));
        let enc = &r[0].1;
        assert_eq!(
            enc["identifier"][0]["system"],
            "http://sys-ids.kemkes.go.id/encounter/100025753"
        );
        assert_eq!(enc["identifier"][0]["value"], "c1.2025-06-14");
        // 08:00 WIB is 01:00 UTC, in SATUSEHAT's format.
        assert_eq!(enc["period"]["start"], "2025-06-14T01:00:00+00:00");
        let w = &r[1].1;
        assert_eq!(w["code"]["coding"][0]["code"], "29463-7");
        assert_eq!(w["valueQuantity"]["value"], 9.1);
        assert_eq!(w["valueQuantity"]["code"], "kg");
        assert_eq!(w["performer"][0]["reference"], "Organization/100025753");
        assert_eq!(r[2].1["code"]["coding"][0]["code"], "8306-3");
        assert_eq!(r[3].1["code"]["coding"][0]["code"], "9843-4");
        assert_eq!(r[4].1["code"]["coding"][0]["code"], "284473002");
        let waz = r.iter().find(|(k, _)| *k == Kind::Waz).unwrap();
        assert_eq!(waz.1["valueQuantity"]["code"], "{Zscore}");
        assert_eq!(
            waz.1["interpretation"][0]["coding"][0]["system"],
            CLINICAL_TERM
        );
    }

    #[test]
    fn the_unsettled_choices_follow_the_configuration() {
        let mut cfg = MapConfig::for_org("1");
        cfg.head_code = HeadCode::Loinc8287;
        cfg.practitioner_id = Some("10009880728".into());
        cfg.utc_offset_minutes = 9 * 60;
        let mut m = m();
        m.position = Some(Position::Standing);
        let v = VisitData {
            key: "c",
            date: "2025-06-14".parse().unwrap(),
            measured: &m,
            assessment: None,
        };
        let refs = Refs {
            patient: "Patient/P1",
            encounter: "Encounter/e",
        };
        let r = visit_resources(&cfg, &v, &refs);
        assert_eq!(
            r[0].1["participant"][0]["individual"]["reference"],
            "Practitioner/10009880728"
        );
        assert_eq!(r[0].1["period"]["start"], "2025-06-13T23:00:00+00:00");
        assert_eq!(r[2].1["code"]["coding"][0]["code"], "8308-9");
        assert_eq!(r[3].1["code"]["coding"][0]["code"], "8287-5");
        assert_eq!(r[3].1["category"][0]["coding"][0]["code"], "exam");
        assert_eq!(r.len(), 5, "no assessment, no z-score Observations");
    }

    #[test]
    fn fingerprints_ignore_ids_and_the_encounter_reference_only() {
        let cfg = MapConfig::for_org("1");
        let m = m();
        let v = VisitData {
            key: "c",
            date: "2025-06-14".parse().unwrap(),
            measured: &m,
            assessment: None,
        };
        let a = observations(
            &cfg,
            &v,
            &Refs {
                patient: "Patient/P1",
                encounter: "urn:uuid:1",
            },
        );
        let mut b = observations(
            &cfg,
            &v,
            &Refs {
                patient: "Patient/P1",
                encounter: "Encounter/9",
            },
        );
        b[0].1["id"] = json!("abc");
        assert_eq!(fingerprint(&a[0].1), fingerprint(&b[0].1));
        let c = observations(
            &cfg,
            &v,
            &Refs {
                patient: "Patient/P2",
                encounter: "urn:uuid:1",
            },
        );
        assert_ne!(fingerprint(&a[0].1), fingerprint(&c[0].1));
    }

    #[test]
    fn patients_are_searched_by_nik_or_mothers_nik() {
        let mut i = Identity {
            name: "Bayi Uji".into(),
            sex: Some(Sex::Male),
            birth_date: Some("2025-01-15".parse().unwrap()),
            ..Default::default()
        };
        assert_eq!(PatientSearch::for_identity(&i), None);
        i.mother_nik = Some("9104025209000006".into());
        let s = PatientSearch::for_identity(&i).unwrap();
        assert_eq!(
            s.query(),
            "identifier=https%3A%2F%2Ffhir.kemkes.go.id%2Fid%2Fnik-ibu%7C9104025209000006&birthdate=2025-01-15"
        );
        let p = new_baby_patient(&MapConfig::for_org("1"), &i).unwrap();
        assert_eq!(p["identifier"][0]["system"], NIK_IBU_SYSTEM);
        i.nik = Some("9271060312000001".into());
        assert!(matches!(
            PatientSearch::for_identity(&i),
            Some(PatientSearch::Nik(_))
        ));
    }
}
