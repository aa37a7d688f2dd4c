//! The interrupt handle: long work stops when the host asks, leaves everything consistent, and running
//! the same call again finishes the job.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};

use common::*;
use timbang_core::api::PeerRole;
use timbang_core::domain::{Measurements, NewChild, Sex, VisitEntry};
use timbang_core::host::IoStream;
use timbang_core::{Error, Timbang};

/// `n` children with a year of monthly weighings each, imported in one batch.
fn fill(t: &Timbang, n: usize) {
    let items: Vec<(NewChild, Vec<VisitEntry>)> = (0..n)
        .map(|i| {
            let c = child(&format!("Anak Nomor {i}"), Sex::Female, "2024-01-10");
            let v = (1..=12u32)
                .map(|m| VisitEntry {
                    date: Some(d("2024-01-12") + chrono::Months::new(m)),
                    measured: Measurements {
                        weight_g: Some(4_000 + 400 * m + i as u32 % 50),
                        ..Default::default()
                    },
                    ..Default::default()
                })
                .collect();
            (c, v)
        })
        .collect();
    t.import_batch(&items).unwrap();
}

#[test]
fn an_interrupted_peer_session_keeps_what_arrived_and_the_next_one_fetches_the_rest() {
    const N: usize = 1_000;
    let a = phone("hp-1");
    fill(&a.t, N);
    let code = a.t.team_invite().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let b = open(
        &dir.path().join("hp2.db"),
        &timbang_core::crypto::Key::make_random().unwrap(),
    );
    b.team_join(&code, "hp-2").unwrap();

    // The host interrupts as soon as the first batch of children is stored (committed) on B.
    let handle = b.interrupt_handle();
    let (x, y) = timbang_core::peer::pipe::duplex();
    let done = AtomicBool::new(false);
    let (served, pulled) = std::thread::scope(|s| {
        let h = s.spawn(|| a.t.peer_session(&IoStream::new(y), PeerRole::Accept));
        s.spawn(|| {
            while !done.load(Ordering::SeqCst) {
                if !b.village_list().unwrap().is_empty() {
                    handle.interrupt();
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        });
        let pulled = b.peer_session(&IoStream::new(x), PeerRole::Dial);
        done.store(true, Ordering::SeqCst);
        (h.join().unwrap(), pulled)
    });
    assert!(matches!(pulled, Err(Error::Interrupted)), "{pulled:?}");
    assert!(
        served.is_err(),
        "the other phone sees the session break off"
    );
    let part = b.village_list().unwrap().len();
    assert!(
        part > 0 && part < N,
        "{part} of {N} children arrived before the interrupt"
    );

    // Work that starts after the interrupt runs normally, and finds only the rest.
    sync(&b, &a.t);
    assert_eq!(
        serde_json::to_value(b.village_list().unwrap()).unwrap(),
        serde_json::to_value(a.t.village_list().unwrap()).unwrap()
    );
}

#[test]
fn an_interrupted_rebuild_leaves_the_projections_as_they_were() {
    let p = phone("hp-1");
    fill(&p.t, 450);
    let before = timbang_core::testing::projection_dump(&p.t);
    let handle = p.t.interrupt_handle();
    let stop = AtomicBool::new(false);
    let result = std::thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(Ordering::SeqCst) {
                handle.interrupt();
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        });
        let r = p.t.rebuild_projections();
        stop.store(true, Ordering::SeqCst);
        r
    });
    assert!(matches!(result, Err(Error::Interrupted)), "{result:?}");
    assert!(result.as_ref().is_err_and(Error::is_retryable));
    assert_eq!(timbang_core::testing::projection_dump(&p.t), before);
    // Running it again (no interrupt now) completes.
    assert_eq!(p.t.rebuild_projections().unwrap(), 450);
    assert_eq!(timbang_core::testing::projection_dump(&p.t), before);
}

#[test]
fn an_interrupt_stops_only_work_that_began_before_it() {
    let p = phone("hp-1");
    fill(&p.t, 3);
    p.t.interrupt_handle().interrupt();
    assert_eq!(p.t.rebuild_projections().unwrap(), 3);
    fill(&p.t, 2);
    assert_eq!(p.t.village_list().unwrap().len(), 5);
}
