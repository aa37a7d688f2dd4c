//! Load and concurrency on a device with 5,000 children x 60 visits (the puskesmas size), measured, not
//! asserted: open, the village list (time and peak memory of a process that only opens and lists),
//! a full peer sync to a fresh phone over TCP on 127.0.0.1, and `record_visit` latencies on a kader's
//! phone while it receives that sync (p50/p95/p99/max, and whether any write failed, such as "database
//! is locked").
//!
//! `cargo bench -p timbang-core --bench load`. Numbers go to docs/BENCHMARKS.md and docs/RELIABILITY.md.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{copy_of, fixture, key, open, today};
use timbang_core::api::PeerRole;
use timbang_core::domain::{Measurements, NewChild, Sex, VisitEntry};
use timbang_core::host::TcpStream;
use timbang_core::{FixedDate, Timbang};

const CHILDREN: usize = 5_000;

/// Peak resident memory of this process so far (VmHWM), in MB.
fn peak_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Child mode: open the database and build the village list once, then report time and peak memory.
fn village_only(path: &str) {
    let t0 = Instant::now();
    let t = open(path.as_ref());
    let opened = t0.elapsed();
    let t1 = Instant::now();
    let rows = t.village_list().unwrap();
    let listed = t1.elapsed();
    println!(
        "village-only: {} rows, open {:.1} ms, list {:.1} ms, peak {:.1} MB",
        rows.len(),
        ms(opened),
        ms(listed),
        peak_mb()
    );
}

fn fresh(dir: &std::path::Path, name: &str, code: &str) -> Timbang {
    let t = Timbang::open(
        &dir.join(format!("{name}.db")),
        &key(),
        std::sync::Arc::new(FixedDate(today())),
    )
    .unwrap();
    t.team_join(code, name).unwrap();
    t
}

/// One session over TCP on 127.0.0.1: `server` accepts, `client` dials. Returns the client's report
/// and the wall time.
fn tcp_sync(server: &Timbang, client: &Timbang) -> (timbang_core::api::PeerReport, Duration) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::scope(|s| {
        let srv = s.spawn(|| {
            let (stream, _) = listener.accept().unwrap();
            let stream = TcpStream::from_std(stream).unwrap();
            server.peer_session(&stream, PeerRole::Accept).unwrap()
        });
        let t0 = Instant::now();
        let stream = TcpStream::connect(addr).unwrap();
        let r = client.peer_session(&stream, PeerRole::Dial).unwrap();
        let took = t0.elapsed();
        srv.join().unwrap();
        (r, took)
    })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn main() {
    if let Ok(path) = std::env::var("TIMBANG_LOAD_VILLAGE_ONLY") {
        village_only(&path);
        return;
    }
    let fx = fixture(CHILDREN);
    let dir = fx.parent().unwrap().join("load");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let a_path = copy_of(&fx, "load-a.db");
    println!(
        "device: {CHILDREN} children x 60 visits, {} MB on disk",
        std::fs::metadata(&a_path).unwrap().len() / 1_000_000
    );

    // Open and village list in a process of their own, so the peak memory is theirs alone.
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .env("TIMBANG_LOAD_VILLAGE_ONLY", &a_path)
        .output()
        .unwrap();
    print!("{}", String::from_utf8_lossy(&out.stdout));

    let a = open(&a_path);
    let code = a.team_invite().unwrap();

    // A full sync of the whole device to a fresh phone.
    let b = fresh(&dir, "load-b", &code);
    let (r, took) = tcp_sync(&a, &b);
    println!(
        "full sync to a fresh phone: {:.2} s, {} documents, {} B received, {} B sent",
        took.as_secs_f64(),
        r.docs_received,
        r.received_bytes,
        r.sent_bytes
    );

    // A kader's phone with its own 100 children records visits while it receives the same sync.
    let c = fresh(&dir, "load-c", &code);
    let ids: Vec<_> = (0..100)
        .map(|i| {
            let child = NewChild {
                name: format!("Anak Kader {i}"),
                sex: if i % 2 == 0 { Sex::Male } else { Sex::Female },
                birth_date: today() - chrono::Duration::days(400 + 9 * i),
                nik: None,
                kk: None,
                mother_name: None,
                mother_nik: None,
                address: None,
            };
            c.register_child(child, true).unwrap().child_id
        })
        .collect();
    let syncing = AtomicBool::new(true);
    let (latencies, errors, sync_took) = std::thread::scope(|s| {
        let sync = s.spawn(|| {
            let (_, took) = tcp_sync(&a, &c);
            syncing.store(false, Ordering::SeqCst);
            took
        });
        let mut lat = Vec::new();
        let mut errors = Vec::new();
        let mut i = 0u32;
        while syncing.load(Ordering::SeqCst) {
            let id = &ids[i as usize % ids.len()];
            let entry = VisitEntry {
                date: Some(today()),
                measured: Measurements {
                    weight_g: Some(9_000 + (i % 40) * 10),
                    ..Default::default()
                },
                ..Default::default()
            };
            let t0 = Instant::now();
            if let Err(e) = c.record_visit(id, entry, true) {
                errors.push(e.to_string());
            }
            lat.push(ms(t0.elapsed()));
            i += 1;
            std::thread::sleep(Duration::from_millis(5));
        }
        (lat, errors, sync.join().unwrap())
    });
    let mut sorted = latencies.clone();
    sorted.sort_by(f64::total_cmp);
    println!(
        "record_visit during a {:.2} s sync: {} writes, p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms, {} failed{}",
        sync_took.as_secs_f64(),
        sorted.len(),
        percentile(&sorted, 0.50),
        percentile(&sorted, 0.95),
        percentile(&sorted, 0.99),
        sorted.last().copied().unwrap_or(f64::NAN),
        errors.len(),
        errors
            .first()
            .map(|e| format!(" (first: {e})"))
            .unwrap_or_default()
    );
    assert_eq!(c.village_list().unwrap().len(), CHILDREN + 100);
    drop((a, b, c));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&a_path);
}
