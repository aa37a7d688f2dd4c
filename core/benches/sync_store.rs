//! Phone-to-phone sync on the real SQLite store (sealed documents, projections rebuilt in the same
//! transaction), over an in-memory duplex pipe: two phones that agree (5,000 children), one child
//! differs, and a fresh phone pulling 1,000 children with 24 visits each.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use timbang_core::api::PeerReport;
use timbang_core::api::PeerRole;
use timbang_core::crypto::Key;
use timbang_core::domain::{NewChild, Position, Sex, VisitEntry};
use timbang_core::host::IoStream;
use timbang_core::peer::pipe::duplex;
use timbang_core::store::migrations;
use timbang_core::{FixedDate, Timbang};

const TODAY: &str = "2025-06-15";

fn key() -> Key {
    Key::from_bytes(&[9u8; 32]).unwrap()
}

fn today() -> NaiveDate {
    TODAY.parse().unwrap()
}

fn open(path: &Path) -> Timbang {
    Timbang::open(path, &key(), Arc::new(FixedDate(today()))).unwrap()
}

fn dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-fixtures");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A phone with `n` children of `visits` monthly visits, in a team; built once and kept.
fn fixture(n: usize, visits: u32) -> PathBuf {
    let path = dir().join(format!("sync-{n}x{visits}-v{}.db", migrations::LATEST));
    if path.exists() {
        return path;
    }
    let tmp = dir().join(format!("building-sync-{n}.db"));
    let _ = std::fs::remove_file(&tmp);
    let t = open(&tmp);
    t.init("Bench", "Bench", "bench-a").unwrap();
    t.team_invite().unwrap();
    let first_dob = today() - chrono::Months::new(visits + 1);
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let items: Vec<(NewChild, Vec<VisitEntry>)> = chunk
            .iter()
            .map(|&i| {
                let dob = first_dob + chrono::Days::new((i % 28) as u64);
                let v = (0..visits)
                    .map(|m| VisitEntry {
                        date: Some(dob + chrono::Months::new(m) + chrono::Days::new(1)),
                        measured: timbang_core::domain::Measurements {
                            weight_g: Some(3_300 + 450 * m.min(12) + 180 * m.saturating_sub(12)),
                            height_mm: Some(500 + 22 * m.min(12) + 9 * m.saturating_sub(12)),
                            position: Some(if m < 24 {
                                Position::Lying
                            } else {
                                Position::Standing
                            }),
                            ..Default::default()
                        },
                        ..Default::default()
                    })
                    .collect();
                let c = NewChild {
                    name: format!("Anak Sintetis {i}"),
                    sex: if i % 2 == 0 { Sex::Male } else { Sex::Female },
                    birth_date: dob,
                    nik: None,
                    kk: None,
                    mother_name: Some(format!("Ibu Sintetis {i}")),
                    mother_nik: None,
                    address: None,
                };
                (c, v)
            })
            .collect();
        t.import_batch(&items).unwrap();
    }
    drop(t);
    let conn = rusqlite::Connection::open(&tmp).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    drop(conn);
    std::fs::rename(&tmp, &path).unwrap();
    path
}

fn sync(a: &Timbang, b: &Timbang) -> PeerReport {
    let (x, y) = duplex();
    std::thread::scope(|s| {
        let h = s.spawn(|| b.peer_session(&IoStream::new(y), PeerRole::Accept).unwrap());
        let r = a.peer_session(&IoStream::new(x), PeerRole::Dial).unwrap();
        h.join().unwrap();
        r
    })
}

fn saved_bytes(path: &Path) -> i64 {
    let c = rusqlite::Connection::open(path).unwrap();
    c.query_row("SELECT sum(bytes) FROM docs", [], |r| r.get(0))
        .unwrap()
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("sync_store");
    g.sample_size(10);

    // Two phones with the same 5,000 children (copies of one database: the same documents).
    let big = fixture(5_000, 12);
    let a_path = big.with_file_name("sync-a.db");
    let b_path = big.with_file_name("sync-b.db");
    std::fs::copy(&big, &a_path).unwrap();
    std::fs::copy(&big, &b_path).unwrap();
    let a = open(&a_path);
    let b = open(&b_path);
    let r = sync(&a, &b);
    eprintln!(
        "agreeing phones, 5,000 children: {} bytes sent, {} received",
        r.sent_bytes, r.received_bytes
    );
    g.bench_function("agree_5000", |bn| bn.iter(|| sync(&a, &b)));

    // One child differs: a new weighing on phone A before each session.
    let ids: Vec<_> = a
        .village_list()
        .unwrap()
        .into_iter()
        .map(|r| r.child_id)
        .collect();
    let mut i = 0u32;
    let mut last = None;
    g.bench_function("one_differs_5000", |bn| {
        bn.iter_batched(
            || {
                i += 1;
                let id = &ids[i as usize % ids.len()];
                a.record_visit(
                    id,
                    VisitEntry {
                        date: Some(today()),
                        measured: timbang_core::domain::Measurements {
                            weight_g: Some(12_000 + i % 500),
                            ..Default::default()
                        },
                        ..Default::default()
                    },
                    true,
                )
                .unwrap();
            },
            |()| last = Some(sync(&a, &b)),
            BatchSize::PerIteration,
        )
    });
    if let Some(r) = last {
        eprintln!(
            "one child differs: {} bytes sent, {} received",
            r.sent_bytes, r.received_bytes
        );
    }
    drop((a, b));
    let _ = std::fs::remove_file(&a_path);
    let _ = std::fs::remove_file(&b_path);

    // A fresh phone pulls 1,000 children with 24 visits each.
    let src = fixture(1_000, 24);
    let saved = saved_bytes(&src);
    let a = open(&src);
    let code = a.team_invite().unwrap();
    let mut n = 0;
    let mut report = None;
    g.bench_function("fresh_pull_1000x24", |bn| {
        bn.iter_batched(
            || {
                n += 1;
                let p = src.with_file_name(format!("fresh-{n}.db"));
                let _ = std::fs::remove_file(&p);
                let t = open(&p);
                t.team_join(&code, "fresh").unwrap();
                (t, p)
            },
            |(t, p)| {
                report = Some(sync(&t, &a));
                drop(t);
                let _ = std::fs::remove_file(&p);
                for s in ["-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{s}", p.display()));
                }
            },
            BatchSize::PerIteration,
        )
    });
    if let Some(r) = report {
        eprintln!(
            "fresh pull of 1,000 x 24: {} bytes received for {} bytes of saved (sealed) documents: {:.2}x",
            r.received_bytes,
            saved,
            r.received_bytes as f64 / saved as f64
        );
    }
    g.finish();
}

criterion_group!(sync_store, benches);
criterion_main!(sync_store);
