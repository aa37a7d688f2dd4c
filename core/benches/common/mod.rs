//! The store fixture shared by the benchmarks: N children with 60 monthly visits each, built once
//! through `Timbang::import_batch` and kept in `target/.../bench-fixtures/`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use timbang_core::crypto::Key;
use timbang_core::domain::{NewChild, Position, Sex, VisitEntry};
use timbang_core::store::migrations;
use timbang_core::{FixedDate, Timbang};

pub const TODAY: &str = "2025-06-15";
pub const VISITS: u32 = 60;

pub fn key() -> Key {
    Key::from_bytes(&[7u8; 32]).unwrap()
}

pub fn today() -> NaiveDate {
    TODAY.parse().unwrap()
}

pub fn open(path: &Path) -> Timbang {
    Timbang::open(path, &key(), Arc::new(FixedDate(today()))).unwrap()
}

/// Deterministic synthetic names.
pub fn name(i: usize) -> String {
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
pub fn growth(m: u32, k: i64) -> (u32, u32) {
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

pub fn fixture(n: usize) -> PathBuf {
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

pub fn copy_of(src: &Path, name: &str) -> PathBuf {
    let dst = src.with_file_name(name);
    // A WAL left by an interrupted run belongs to another file: remove it before copying over.
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", dst.display()));
    }
    std::fs::copy(src, &dst).unwrap();
    dst
}
