//! A link that drops in the middle of a pull on the real store: what arrived stays stored, and the next
//! session fetches only the rest.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use timbang_core::api::PeerRole;
use timbang_core::crypto::Key;
use timbang_core::domain::{NewChild, Position, Sex, VisitEntry};
use timbang_core::host::IoStream;
use timbang_core::peer::pipe::{FailAfter, duplex};
use timbang_core::{FixedDate, Timbang};

fn phone(dir: &std::path::Path, name: &str) -> Timbang {
    Timbang::open(
        &dir.join(format!("{name}.db")),
        &Key::make_random().unwrap(),
        Arc::new(FixedDate("2025-06-15".parse().unwrap())),
    )
    .unwrap()
}

#[test]
fn a_dropped_pull_resumes_without_starting_over() {
    let dir = tempfile::tempdir().unwrap();
    let a = phone(dir.path(), "a");
    a.init("Melati", "Sukamaju", "hp-1").unwrap();
    let dob: chrono::NaiveDate = "2023-01-05".parse().unwrap();
    let items: Vec<(NewChild, Vec<VisitEntry>)> = (0..600)
        .map(|i| {
            let sex = if i % 2 == 0 { Sex::Male } else { Sex::Female };
            let c = timbang_tests::child(&format!("Anak Sintetis {i}"), sex, "2023-01-05");
            let v = (0..12u32)
                .map(|m| VisitEntry {
                    date: Some(dob + chrono::Months::new(m) + chrono::Days::new(2)),
                    measured: timbang_core::domain::Measurements {
                        weight_g: Some(3_400 + 500 * m),
                        height_mm: Some(500 + 20 * m),
                        position: Some(Position::Lying),
                        ..Default::default()
                    },
                    ..Default::default()
                })
                .collect();
            (c, v)
        })
        .collect();
    a.import_batch(&items).unwrap();
    let code = a.team_invite().unwrap();

    // What a whole pull costs, measured on a throwaway phone.
    let full = {
        let probe = phone(dir.path(), "probe");
        probe.team_join(&code, "probe").unwrap();
        let (x, y) = duplex();
        std::thread::scope(|s| {
            let h = s.spawn(|| a.peer_session(&IoStream::new(y), PeerRole::Accept).unwrap());
            let r = probe
                .peer_session(&IoStream::new(x), PeerRole::Dial)
                .unwrap();
            h.join().unwrap();
            r.received_bytes
        })
    };

    let b = phone(dir.path(), "b");
    b.team_join(&code, "hp-2").unwrap();
    // The serving phone's link drops after 70 % of the pull.
    let (x, y) = duplex();
    let cut = FailAfter::new(y, (full as f64 * 0.7) as usize);
    let first = std::thread::scope(|s| {
        let h = s.spawn(|| a.peer_session(&IoStream::new(cut), PeerRole::Accept));
        let r = b.peer_session(&IoStream::new(x), PeerRole::Dial);
        let _ = h.join().unwrap();
        r
    });
    assert!(first.is_err(), "the cut session must not report success");
    let kept = b.village_list().unwrap().len();
    assert!(
        (200..600).contains(&kept),
        "what arrived before the drop is stored: {kept}"
    );

    let (x, y) = duplex();
    let second = std::thread::scope(|s| {
        let h = s.spawn(|| a.peer_session(&IoStream::new(y), PeerRole::Accept).unwrap());
        let r = b.peer_session(&IoStream::new(x), PeerRole::Dial).unwrap();
        h.join().unwrap();
        r
    });
    assert!(second.completed);
    assert_eq!(b.village_list().unwrap().len(), 600);
    assert!(
        second.received_bytes < full * 6 / 10,
        "resumed pull took {} bytes of a full {full}",
        second.received_bytes
    );
}
