//! Peer sync benchmarks, in memory over a duplex pipe (no network): see docs/BENCHMARKS-peer.md.
//!
//! `cargo bench -p timbang-core --bench peer`
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/peer_common/mod.rs"]
mod peer_common;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use peer_common::*;
use std::time::Instant;
use timbang_core::peer::TeamSecret;
use timbang_core::peer::memory::MemoryStore;

fn report(label: &str, c: &timbang_core::peer::SyncStats) {
    eprintln!(
        "{label}: {} bytes ({} sent, {} received), {} docs received, {} rounds",
        c.sent_bytes + c.received_bytes,
        c.sent_bytes,
        c.received_bytes,
        c.docs_received,
        c.rounds
    );
}

fn agreeing_and_one_differs(cr: &mut Criterion) {
    let team = TeamSecret::make().unwrap();
    let t = Instant::now();
    let a = store_with(0..5000, 12);
    eprintln!(
        "built 5,000 children with 12 visits in {:?} ({} bytes saved)",
        t.elapsed(),
        a.saved_bytes()
    );
    let mut x = a.clone();
    let mut y = a.clone();
    let (c, _) = sync_pair(&mut x, &mut y, &team);
    report("5,000 identical children", &c);

    let mut g = cr.benchmark_group("peer");
    g.sample_size(10);
    g.bench_function("agreeing_5000", |b| {
        b.iter(|| sync_pair(&mut x, &mut y, &team))
    });

    let mut changed = a.clone();
    let mut doc = changed.get(&child_id(4321)).unwrap();
    add_visit(&mut doc, "2024-08-15", 10_200);
    changed.put(&child_id(4321), &doc);
    let (c, _) = sync_pair(&mut a.clone(), &mut changed.clone(), &team);
    report("5,000 children, one differs", &c);
    g.bench_function("one_differs_5000", |b| {
        b.iter_batched(
            || (a.clone(), changed.clone()),
            |(mut p, mut q)| sync_pair(&mut p, &mut q, &team),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn fresh_pull(cr: &mut Criterion) {
    let team = TeamSecret::make().unwrap();
    let source = store_with(0..1000, 24);
    let saved = source.saved_bytes();
    let mut fresh = MemoryStore::default();
    let t = Instant::now();
    let (c, _) = sync_pair(&mut fresh, &mut source.clone(), &team);
    let took = t.elapsed();
    report("fresh phone pulls 1,000 children x 24 visits", &c);
    eprintln!(
        "  in {took:?}; saved size {saved} bytes; transfer / saved = {:.3}",
        (c.sent_bytes + c.received_bytes) as f64 / saved as f64
    );
    let mut g = cr.benchmark_group("peer");
    g.sample_size(10);
    g.bench_function("fresh_pull_1000x24", |b| {
        b.iter_batched(
            || (MemoryStore::default(), source.clone()),
            |(mut p, mut q)| sync_pair(&mut p, &mut q, &team),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn doc_size(cr: &mut Criterion) {
    let mut doc = child_doc(7, 0);
    let mut incremental = doc.save().len();
    for v in 0..60 {
        let heads = doc.get_heads();
        add_visit(&mut doc, &visit_date(v), 7_000 + 150 * v as i64);
        incremental += doc.save_after(&heads).len();
    }
    let compact = doc.save().len();
    eprintln!(
        "child with 60 visits: compact save() {compact} bytes; sum of incremental saves {incremental} bytes ({:.1}x)",
        incremental as f64 / compact as f64
    );
    let mut g = cr.benchmark_group("peer");
    g.sample_size(10);
    g.bench_function("save_60_visits", |b| b.iter(|| doc.save()));
    let bytes = doc.save();
    g.bench_function("load_60_visits", |b| {
        b.iter(|| automerge::Automerge::load(&bytes).unwrap())
    });
    g.finish();
}

criterion_group!(benches, agreeing_and_one_differs, fresh_pull, doc_size);
criterion_main!(benches);
