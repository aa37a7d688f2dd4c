//! Store benchmarks on a database of N children with 60 monthly visits each (N = 1,000 and 5,000):
//! `record_visit`, `village_list`, open, and database bytes per visit.
//!
//! The fixtures are built once through `Timbang::import_batch` and kept in `target/bench-fixtures/`
//! (a fresh build takes about a minute for 5,000 children); benchmarks that write work on a copy.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::path::Path;

use common::{VISITS, copy_of, fixture, open, today};
use criterion::{Criterion, criterion_group, criterion_main};
use timbang_core::domain::{ChildId, VisitEntry};

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
