//! The relay measured against a real S3-compatible store (OpenStack Swift with s3api on 127.0.0.1,
//! `scripts/s3_swift.sh`) holding 1,000 teams: a morning's push from a kader's phone, a pull when
//! nothing changed, and a fresh bidan phone pulling 5 posyandu of 100 children with 24 visits each
//! (bytes against the sealed saved size, requests, time). Measured, not asserted.
//!
//! `cargo bench -p timbang-core --bench relay` (needs Swift: `.ci/run` installs it). Numbers go to
//! docs/RELAY.md.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

#[path = "../tests/relay_common/mod.rs"]
mod relay_common;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;
use timbang_core::api::RelayReport;
use timbang_core::crypto::Key;
use timbang_core::domain::{ChildId, Measurements, NewChild, Position, Sex, VisitEntry};
use timbang_core::host::UreqHttp;
use timbang_core::peer::TeamSecret;
use timbang_core::relay::{Bundle, BundleKind, ObjectName, RelayKeys, S3Config, S3Relay};
use timbang_core::{FixedDate, Timbang};

const TEAMS: usize = 1_000;
const POSYANDU: usize = 5;
const CHILDREN: usize = 100;
const VISITS: u32 = 24;
/// Objects each of the other teams keeps in the bucket (a snapshot and a few bundles).
const OTHER_OBJECTS: usize = 3;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 2).unwrap()
}

fn open(path: &Path) -> Timbang {
    Timbang::open(
        path,
        &Key::make_random().unwrap(),
        Arc::new(FixedDate(today())),
    )
    .unwrap()
}

fn visit(date: NaiveDate, i: usize, m: u32) -> VisitEntry {
    VisitEntry {
        date: Some(date),
        measured: Measurements {
            weight_g: Some(3_300 + 420 * m + (i as u32 % 40) * 10),
            height_mm: Some(500 + 20 * m),
            position: Some(Position::Lying),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// A posyandu's kader phone with 100 children, each weighed monthly for 24 months.
fn posyandu(dir: &Path, p: usize) -> Timbang {
    let t = open(&dir.join(format!("kader-{p}.db")));
    t.init(&format!("Posyandu Uji {p}"), "Desa Uji", "hp-kader")
        .unwrap();
    t.team_invite().unwrap();
    let born = NaiveDate::from_ymd_opt(2024, 11, 5).unwrap();
    let items: Vec<(NewChild, Vec<VisitEntry>)> = (0..CHILDREN)
        .map(|i| {
            let c = NewChild {
                name: format!("Anak Uji {p}-{i}"),
                sex: if i % 2 == 0 { Sex::Male } else { Sex::Female },
                birth_date: born,
                nik: None,
                kk: None,
                mother_name: Some(format!("Ibu Uji {p}-{i}")),
                mother_nik: None,
                address: None,
            };
            let v = (0..VISITS)
                .map(|m| visit(born + chrono::Days::new(10 + 30 * u64::from(m)), i, m))
                .collect();
            (c, v)
        })
        .collect();
    t.import_batch(&items).unwrap();
    t
}

/// The bytes of every sealed document chunk a phone stores.
fn sealed_saved_size(path: &Path) -> u64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row(
        "SELECT COALESCE(SUM(length(data)), 0) FROM doc_chunks",
        [],
        |r| r.get::<_, i64>(0),
    )
    .unwrap() as u64
}

/// Fill the bucket with the objects of `TEAMS - POSYANDU` other teams (sealed bundles of real documents
/// under their own prefixes), four writers at once.
fn other_teams(config: &S3Config, sample: &[(String, Vec<u8>)]) {
    let n = TEAMS - POSYANDU;
    std::thread::scope(|s| {
        for w in 0..4 {
            s.spawn(move || {
                let http = UreqHttp::new();
                let mut s3 = S3Relay::new(config, &http).unwrap();
                for _ in (w..n).step_by(4) {
                    let keys = RelayKeys::new(&TeamSecret::make().unwrap());
                    let device = timbang_core::relay::keys::make_device_id().unwrap();
                    for o in 0..OTHER_OBJECTS {
                        let kind = if o == 0 {
                            BundleKind::Snapshot
                        } else {
                            BundleKind::Changes
                        };
                        let take = if o == 0 { sample.len() } else { 5 };
                        let b = Bundle {
                            kind,
                            docs: sample[..take.min(sample.len())].to_vec(),
                        };
                        let name =
                            ObjectName::make(o as u64 + 1, &device, o as u64 + 1, kind).unwrap();
                        let key = name.key(&keys.prefix());
                        s3.put(&key, keys.seal(&key, &b.encode()).unwrap()).unwrap();
                    }
                }
            });
        }
    });
}

fn row(what: &str, r: &RelayReport, secs: f64) {
    println!(
        "| {what} | {} | {} | {} | {} | {} | {:.2} s |",
        r.requests,
        r.lists,
        r.objects,
        r.bytes,
        r.pushed + r.pulled,
        secs
    );
}

fn main() {
    let Some(sw) = relay_common::swift() else {
        return;
    };
    let config = sw.new_bucket();
    let http = UreqHttp::new();
    let dir = tempfile::tempdir().unwrap();

    // Five posyandu: each kader phone pushes its data once and compacts (what the bucket holds after
    // a while), a second kader phone of each team follows.
    let t0 = Instant::now();
    let mut kaders = Vec::new();
    for p in 0..POSYANDU {
        kaders.push(posyandu(dir.path(), p));
    }
    println!(
        "setup: {POSYANDU} posyandu x {CHILDREN} children x {VISITS} visits imported in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let t0 = Instant::now();
    for k in &kaders {
        k.relay_sync_compact(&config, &http).unwrap();
    }
    println!(
        "setup: first push + compaction of {POSYANDU} posyandu in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    // Sample documents for the other teams' objects (real sizes).
    let sample: Vec<(String, Vec<u8>)> = {
        // Posyandu 0's snapshot, opened with its team's keys.
        let code = kaders[0].team_invite().unwrap();
        let team = timbang_core::peer::parse_invite_code(&code).unwrap().team;
        let keys = RelayKeys::new(&team);
        let mut s3 = S3Relay::new(&config, &http).unwrap();
        let key = s3.list(&keys.prefix()).unwrap()[0].key.clone();
        let body = s3.get(&key).unwrap().unwrap();
        let plain = keys.open(&key, &body).unwrap();
        Bundle::decode(&plain).unwrap().docs
    };
    let t0 = Instant::now();
    other_teams(&config, &sample);
    let all = S3Relay::new(&config, &http).unwrap().list("").unwrap();
    let bucket_bytes: u64 = all.iter().map(|l| l.size).sum();
    println!(
        "setup: {} other teams written in {:.1} s; the bucket holds {} objects, {} bytes, {TEAMS} teams",
        TEAMS - POSYANDU,
        t0.elapsed().as_secs_f64(),
        all.len(),
        bucket_bytes
    );

    println!();
    println!("| step | requests | lists | objects | bytes | documents | time |");
    println!("|---|---|---|---|---|---|---|");

    // A second kader phone of posyandu 0, in sync through the relay.
    let code = kaders[0].team_invite().unwrap();
    let second = open(&dir.path().join("kader-0-b.db"));
    second.team_join(&code, "hp-kader-2").unwrap();
    let t0 = Instant::now();
    let r = second.relay_sync(&config, &http).unwrap();
    row(
        "second kader phone joins (pulls 1 posyandu)",
        &r,
        t0.elapsed().as_secs_f64(),
    );

    // A morning at the posyandu: 40 children weighed on the first phone, then one push.
    let ids: Vec<ChildId> = kaders[0]
        .village_list()
        .unwrap()
        .into_iter()
        .map(|r| r.child_id)
        .take(40)
        .collect();
    for (i, id) in ids.iter().enumerate() {
        kaders[0]
            .record_visit(id, visit(today(), i, VISITS), true)
            .unwrap();
    }
    let t0 = Instant::now();
    let r = kaders[0].relay_sync(&config, &http).unwrap();
    row(
        "push of a morning (40 visits)",
        &r,
        t0.elapsed().as_secs_f64(),
    );
    let t0 = Instant::now();
    let r = second.relay_sync(&config, &http).unwrap();
    row(
        "other phone pulls that morning",
        &r,
        t0.elapsed().as_secs_f64(),
    );
    let t0 = Instant::now();
    let r = second.relay_sync(&config, &http).unwrap();
    row("pull when nothing changed", &r, t0.elapsed().as_secs_f64());

    // A fresh bidan phone: one database per posyandu team (several teams in one database is not built
    // yet), each pulling its posyandu.
    let mut total = RelayReport::default();
    let mut saved = 0u64;
    let t0 = Instant::now();
    for (p, k) in kaders.iter().enumerate() {
        let code = k.team_invite().unwrap();
        let path = dir.path().join(format!("bidan-{p}.db"));
        let key = Key::make_random().unwrap();
        let b = Timbang::open(&path, &key, Arc::new(FixedDate(today()))).unwrap();
        b.team_join(&code, "hp-bidan").unwrap();
        let r = b.relay_sync(&config, &http).unwrap();
        assert_eq!(b.village_list().unwrap().len(), CHILDREN);
        total.requests += r.requests;
        total.lists += r.lists;
        total.objects += r.objects;
        total.bytes += r.bytes;
        total.pulled += r.pulled;
        drop(b);
        saved += sealed_saved_size(&path);
    }
    row(
        "fresh bidan phone pulls 5 posyandu x 100 children x 24 visits",
        &total,
        t0.elapsed().as_secs_f64(),
    );
    println!();
    println!(
        "fresh bidan pull: {} bytes moved for {} bytes of sealed saved documents on the phone ({:.2}x)",
        total.bytes,
        saved,
        total.bytes as f64 / saved.max(1) as f64
    );
}
