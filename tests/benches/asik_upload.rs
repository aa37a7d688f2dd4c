//! Measured script (not criterion): requests, bytes and time to upload 1,000 visits (200 children,
//! 5 visits each) to the SATUSEHAT test double on 127.0.0.1, in transaction Bundles (the engine) and
//! one request per resource ("Berbasis Resource", emulated here with the same resources).
//! Run: `cargo bench -p timbang-tests --bench asik_upload`. Results go to docs/BENCHMARKS.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use asik_server::{CLIENT_ID, CLIENT_SECRET, ORG_ID};
use serde_json::{Value, json};
use timbang_core::Timbang;
use timbang_core::asik::{AsikConfig, MapConfig, SyncReason};
use timbang_core::domain::{Measurements, NewChild, Position, Sex, VisitEntry};
use timbang_core::host::{HttpClient, HttpHeader, HttpRequest, UreqHttp};

fn phone(dir: &std::path::Path) -> Timbang {
    let t = Timbang::open(
        &dir.join("hp.db"),
        &timbang_core::crypto::Key::make_random().unwrap(),
        std::sync::Arc::new(timbang_core::FixedDate("2025-06-30".parse().unwrap())),
    )
    .unwrap();
    t.init("Melati", "Sukamaju", "hp-0").unwrap();
    for i in 0..200usize {
        let c = NewChild {
            name: format!("Anak Uji {i}"),
            sex: if i.is_multiple_of(2) {
                Sex::Female
            } else {
                Sex::Male
            },
            birth_date: format!("2024-{:02}-{:02}", 1 + i % 12, 1 + i % 27)
                .parse()
                .unwrap(),
            nik: None,
            kk: None,
            mother_name: Some("Ibu Uji".into()),
            mother_nik: Some(format!("330101{:02}0190{:04}", 41 + i % 28, 1 + i)),
            address: Some("Dusun Uji".into()),
        };
        let id = t.register_child(c, true).unwrap().child_id;
        for v in 0..5u32 {
            let e = VisitEntry {
                date: Some(format!("2025-{:02}-10", 1 + v).parse().unwrap()),
                measured: Measurements {
                    weight_g: Some(8_000 + 200 * v),
                    height_mm: Some(700 + 8 * v),
                    position: Some(Position::Lying),
                    head_mm: Some(440 + 3 * v),
                    muac_mm: Some(140),
                    oedema: Some(false),
                },
                ..Default::default()
            };
            t.record_visit(&id, e, true).unwrap();
        }
    }
    t
}

fn cfg(s: &asik_server::AsikServer) -> AsikConfig {
    AsikConfig::new(
        &s.base_url(),
        &s.auth_url(),
        CLIENT_ID,
        CLIENT_SECRET,
        MapConfig::for_org(ORG_ID),
    )
}

fn main() {
    // Bundles, through the engine.
    let dir = tempfile::tempdir().unwrap();
    let t = phone(dir.path());
    let s = asik_server::start().unwrap();
    let start = Instant::now();
    let r = t
        .asik_sync(
            &UreqHttp::new(),
            &cfg(&s),
            SyncReason::Manual,
            Duration::from_secs(600),
        )
        .unwrap();
    let took = start.elapsed();
    let st = s.stats();
    let resources = s.resources("Encounter").len() + s.resources("Observation").len();
    println!(
        "bundles: visits {} resources {} requests {} (bundles {}, searches {}, token {}) bytes up {} down {} time {:.2} s",
        r.sent,
        resources,
        r.requests,
        st.bundles,
        st.searches,
        st.token_requests,
        st.bytes_in,
        st.bytes_out,
        took.as_secs_f64()
    );

    // One request per resource, same data on a fresh server.
    let dir2 = tempfile::tempdir().unwrap();
    let t2 = phone(dir2.path());
    let s2 = asik_server::start().unwrap();
    let mut all = cfg(&s2);
    all.max_visits_per_request = usize::MAX;
    all.max_request_bytes = usize::MAX;
    let preview = t2.asik_next_bundle(&all).unwrap().unwrap();
    let http = UreqHttp::new();
    let start = Instant::now();
    let form = format!("client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}");
    let tok = http
        .send(HttpRequest {
            method: "POST".into(),
            url: format!(
                "{}/accesstoken?grant_type=client_credentials",
                s2.auth_url()
            ),
            headers: vec![HttpHeader::new(
                "Content-Type",
                "application/x-www-form-urlencoded",
            )],
            body: form.into_bytes(),
            timeout_ms: 30_000,
        })
        .unwrap();
    let token: Value = serde_json::from_slice(&tok.body).unwrap();
    let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
    let send = |method: &str, path: &str, body: Option<&Value>| -> Value {
        let resp = http
            .send(HttpRequest {
                method: method.into(),
                url: format!("{}/{path}", s2.base_url()),
                headers: vec![
                    HttpHeader::new("Authorization", bearer.clone()),
                    HttpHeader::new("Content-Type", "application/json"),
                ],
                body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
                timeout_ms: 30_000,
            })
            .unwrap();
        assert!(resp.status < 300, "{}", String::from_utf8_lossy(&resp.body));
        serde_json::from_slice(&resp.body).unwrap()
    };
    let mut patients: HashMap<String, String> = HashMap::new();
    let mut urns: HashMap<String, String> = HashMap::new();
    let mut requests = 1u64;
    for e in preview["entry"].as_array().unwrap() {
        let mut r = e["resource"].clone();
        let nik = r["subject"]["identifier"]["value"]
            .as_str()
            .unwrap()
            .to_owned();
        let pid = match patients.get(&nik) {
            Some(p) => p.clone(),
            None => {
                let q = format!(
                    "Patient?identifier=https%3A%2F%2Ffhir.kemkes.go.id%2Fid%2Fnik-ibu%7C{nik}"
                );
                send("GET", &q, None);
                let body = json!({"resourceType": "Patient", "identifier": [{"use": "official",
                    "system": "https://fhir.kemkes.go.id/id/nik-ibu", "value": nik}], "active": true,
                    "name": [{"use": "official", "text": "Anak Uji"}], "gender": "female", "birthDate": "2024-01-01",
                    "address": [{"use": "home", "line": ["Dusun Uji"], "country": "ID"}], "multipleBirthInteger": 0});
                let p = send("POST", "Patient", Some(&body))["id"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                requests += 2;
                patients.insert(nik.clone(), p.clone());
                p
            }
        };
        r["subject"] = json!({"reference": format!("Patient/{pid}")});
        if let Some(enc) = r["encounter"]["reference"].as_str() {
            r["encounter"] = json!({"reference": urns[enc]});
        }
        let rt = r["resourceType"].as_str().unwrap().to_owned();
        let made = send("POST", &rt, Some(&r));
        requests += 1;
        urns.insert(
            e["fullUrl"].as_str().unwrap().to_owned(),
            format!("{rt}/{}", made["id"].as_str().unwrap()),
        );
    }
    let took = start.elapsed();
    let st = s2.stats();
    println!(
        "per resource: resources {} requests {} bytes up {} down {} time {:.2} s",
        urns.len(),
        requests,
        st.bytes_in,
        st.bytes_out,
        took.as_secs_f64()
    );
}
