//! Store benchmarks on a database of N children with 60 monthly visits each (N = 1,000 and 5,000):
//! `record_visit`, `village_list`, open, and database bytes per visit.
//!
//! The fixtures are built once through `Timbang::import_batch` and kept in `target/bench-fixtures/`
//! (a fresh build takes about a minute for 5,000 children); benchmarks that write work on a copy.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use criterion::{Criterion, criterion_group, criterion_main};
use timbang_core::crypto::Key;
use timbang_core::domain::{ChildId, NewChild, Position, Sex, VisitEntry};
use timbang_core::store::migrations;
use timbang_core::{FixedDate, Timbang};

const TODAY: &str = "2025-06-15";
const VISITS: u32 = 60;

fn key() -> Key {
    Key::from_bytes(&[7u8; 32]).unwrap()
}

fn today() -> NaiveDate {
    TODAY.parse().unwrap()
}

fn open(path: &Path) -> Timbang {
    Timbang::open(path, &key(), Arc::new(FixedDate(today()))).unwrap()
}

/// Deterministic synthetic names.
fn name(i: usize) -> String {
    const A: &[&str] = &[
        "Adi", "Bayu", "Citra", "Dewi", "Eka", "Fajar", "Gita", "Hadi", "Indah", "Joko", "Kiki",
        "Lina",
    ];
    const B: &[&str] = &[
        "Pratama",
        "Lestari",
        "Saputra",
        "Wulandari",
        "Hidayat",
        "Kusuma",
        "Santoso",
        "Permata",
    ];
    format!("{} {} {}", A[i % A.len()], B[(i / A.len()) % B.len()], i)
}

/// Median-ish weight (g) and length (mm) by age in months, with a per-child offset.
fn growth(m: u32, k: i64) -> (u32, u32) {
    let m = f64::from(m);
    let w = if m < 12.0 {
        3_300.0 + 600.0 * m - 15.0 * m * m
    } else {
        9_600.0 + 190.0 * (m - 12.0)
    };
    let h = if m < 12.0 {
        500.0 + 25.0 * m
    } else {
        750.0 + 9.0 * (m - 12.0)
    };
    ((w + k as f64 * 40.0) as u32, (h + k as f64 * 5.0) as u32)
}

fn fixture(n: usize) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-fixtures");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("store-{n}x{VISITS}-v{}.db", migrations::LATEST));
    if path.exists() {
        return path;
    }
    let tmp = dir.join(format!("building-{n}.db"));
    let _ = std::fs::remove_file(&tmp);
    let t = open(&tmp);
    t.init("Bench", "Bench", "bench").unwrap();
    let first_dob = today() - chrono::Months::new(VISITS + 1);
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let items: Vec<(NewChild, Vec<VisitEntry>)> = chunk
            .iter()
            .map(|&i| {
                let dob = first_dob + chrono::Days::new((i % 28) as u64);
                let k = (i % 7) as i64 - 3;
                let visits = (0..VISITS)
                    .map(|m| {
                        let (w, h) = growth(m, k);
                        VisitEntry {
                            date: Some(dob + chrono::Months::new(m) + chrono::Days::new(1)),
                            measured: timbang_core::domain::Measurements {
                                weight_g: Some(w),
                                height_mm: Some(h),
                                position: Some(if m < 24 {
                                    Position::Lying
                                } else {
                                    Position::Standing
                                }),
                                ..Default::default()
                            },
                            ..Default::default()
                        }
                    })
                    .collect();
                let c = NewChild {
                    name: name(i),
                    sex: if i % 2 == 0 { Sex::Male } else { Sex::Female },
                    birth_date: dob,
                    nik: None,
                    kk: None,
                    mother_name: Some(format!("Ibu {}", name(i + 1))),
                    mother_nik: None,
                    address: Some(format!("Dusun {} RT {:02}", i % 5, i % 12)),
                };
                (c, visits)
            })
            .collect();
        t.import_batch(&items).unwrap();
    }
    drop(t);
    let conn = rusqlite::Connection::open(&tmp).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); VACUUM;")
        .unwrap();
    drop(conn);
    std::fs::rename(&tmp, &path).unwrap();
    path
}

fn copy_of(src: &Path, name: &str) -> PathBuf {
    let dst = src.with_file_name(name);
    // A WAL left by an interrupted run belongs to another file: remove it before copying over.
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", dst.display()));
    }
    std::fs::copy(src, &dst).unwrap();
    dst
}

fn report_size(n: usize, path: &Path) {
    let bytes = std::fs::metadata(path).unwrap().len();
    let visits = n as u64 * u64::from(VISITS);
    eprintln!(
        "database of {n} children x {VISITS} visits: {bytes} bytes, {:.0} bytes per visit",
        bytes as f64 / visits as f64
    );
}

fn benches(c: &mut Criterion) {
    for n in [1_000usize, 5_000] {
        let fx = fixture(n);
        report_size(n, &fx);
        let t = open(&fx);
        let mut g = c.benchmark_group(format!("store_{n}"));
        g.sample_size(20);
        g.bench_function("village_list", |b| b.iter(|| t.village_list().unwrap()));
        g.bench_function("open", |b| b.iter(|| open(&fx)));
        drop(t);
        if n == 5_000 {
            let path = copy_of(&fx, "record-visit.db");
            let t = open(&path);
            let ids: Vec<ChildId> = t
                .village_list()
                .unwrap()
                .into_iter()
                .map(|r| r.child_id)
                .collect();
            let mut i = 0usize;
            g.bench_function("record_visit", |b| {
                b.iter(|| {
                    i += 1;
                    let id = &ids[i % ids.len()];
                    t.record_visit(
                        id,
                        VisitEntry {
                            date: Some(today()),
                            measured: timbang_core::domain::Measurements {
                                weight_g: Some(18_000 + (i % 50) as u32 * 10),
                                ..Default::default()
                            },
                            ..Default::default()
                        },
                        true,
                    )
                    .unwrap()
                })
            });
            drop(t);
            let _ = std::fs::remove_file(&path);
        }
        g.finish();
    }
}

criterion_group!(store, benches);
criterion_main!(store);
