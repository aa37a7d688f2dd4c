//! Benchmarks of the growth engine: `zscores` over the 800 public cases (all six indicators) and
//! `run_batch` over a generated CSV. See docs/BENCHMARKS-growth.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use timbang_core::growth::{Measurement, Position, Sex, run_batch, warm_up, zscores};

const CASES: &str = include_str!("../../schema/who-2006/public_cases.csv");

fn measurements() -> Vec<Measurement> {
    let mut rdr = csv::Reader::from_reader(CASES.as_bytes());
    let h = rdr.headers().unwrap().clone();
    let idx = |n: &str| h.iter().position(|x| x == n).unwrap();
    let (sex, age, w, ht, pos, hc, ac, oe) = (
        idx("sex"),
        idx("age_days"),
        idx("weight_kg"),
        idx("height_cm"),
        idx("measured"),
        idx("head_circ_cm"),
        idx("muac_cm"),
        idx("oedema"),
    );
    let num = |s: &str| (!s.is_empty()).then(|| s.parse::<f64>().unwrap());
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            Measurement {
                sex: r[sex].parse::<Sex>().unwrap(),
                age_days: r[age].parse().unwrap(),
                weight_kg: num(&r[w]),
                height_cm: num(&r[ht]),
                position: r[pos].parse::<Position>().ok(),
                head_cm: num(&r[hc]),
                muac_cm: num(&r[ac]),
                oedema: &r[oe] == "y",
            }
        })
        .collect()
}

/// The 800 public cases repeated to `rows` data rows (case ids made unique).
pub fn big_csv(rows: usize) -> Vec<u8> {
    let mut lines = CASES.lines();
    let header = lines.next().unwrap();
    let body: Vec<&str> = lines.collect();
    let mut out = Vec::with_capacity(rows * 160);
    out.extend_from_slice(header.as_bytes());
    out.push(b'\n');
    for i in 0..rows {
        let line = body[i % body.len()];
        let (_, rest) = line.split_once(',').unwrap();
        out.extend_from_slice(format!("C{i},{rest}\n").as_bytes());
    }
    out
}

fn bench_zscores(c: &mut Criterion) {
    warm_up();
    let ms = measurements();
    let mut g = c.benchmark_group("zscores");
    g.throughput(Throughput::Elements(ms.len() as u64));
    g.bench_function("800_public_cases", |b| {
        b.iter(|| {
            for m in &ms {
                black_box(zscores(black_box(m)));
            }
        })
    });
    g.finish();
}

fn bench_batch(c: &mut Criterion) {
    warm_up();
    let rows = 200_000;
    let input = big_csv(rows);
    let mut out = Vec::with_capacity(input.len());
    let mut g = c.benchmark_group("run_batch");
    g.sample_size(20);
    g.throughput(Throughput::Elements(rows as u64));
    g.bench_function("200k_rows_in_memory", |b| {
        b.iter(|| {
            out.clear();
            run_batch(black_box(&input[..]), &mut out, &mut |_| {}).unwrap();
        })
    });
    g.finish();
}

criterion_group!(benches, bench_zscores, bench_batch);
criterion_main!(benches);
