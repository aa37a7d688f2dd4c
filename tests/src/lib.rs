//! Shared helpers for cross-crate tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod fuzz;

use std::path::Path;
use std::sync::Arc;

use timbang_core::crypto::Key;
use timbang_core::domain::{Measurements, NewChild, Sex, VisitEntry};
use timbang_core::{FixedDate, Timbang};

/// A child to register: a synthetic name, no identifiers.
pub fn child(name: &str, sex: Sex, birth_date: &str) -> NewChild {
    NewChild {
        name: name.into(),
        sex,
        birth_date: birth_date.parse().unwrap(),
        nik: None,
        kk: None,
        mother_name: None,
        mother_nik: None,
        address: None,
    }
}

/// A first phone at `dir/hp.db` (fixed date 2025-06-15) holding one child weighed once, and its pairing
/// code.
pub fn phone_with_a_visit(dir: &Path) -> (Timbang, String) {
    let t = Timbang::open(
        &dir.join("hp.db"),
        &Key::make_random().unwrap(),
        Arc::new(FixedDate("2025-06-15".parse().unwrap())),
    )
    .unwrap();
    t.init("Melati", "Sukamaju", "hp-1").unwrap();
    let id = t
        .register_child(child("Anak Uji", Sex::Female, "2024-01-10"), false)
        .unwrap()
        .child_id;
    let entry = VisitEntry {
        date: Some("2025-06-14".parse().unwrap()),
        measured: Measurements {
            weight_g: Some(9_100),
            ..Default::default()
        },
        ..Default::default()
    };
    t.record_visit(&id, entry, false).unwrap();
    let code = t.team_invite().unwrap();
    (t, code)
}

/// Everything a phone shows: the village list, each child's detail and the open conflicts.
pub fn state(t: &Timbang) -> serde_json::Value {
    let list = t.village_list().unwrap();
    let details: Vec<_> = list.iter().map(|r| t.child(&r.child_id).unwrap()).collect();
    serde_json::json!({ "list": list, "details": details, "conflicts": t.conflicts().unwrap() })
}

pub mod crash;

/// A phone of a team for multi-phone tests.
#[derive(Debug)]
pub struct Phone {
    pub dir: tempfile::TempDir,
    pub t: Timbang,
}

/// `n` phones of one team (the first `init`s, the others join), all on the fixed date `today`.
pub fn phones(n: usize, today: &str) -> Vec<Phone> {
    let mut out = Vec::new();
    let mut code = String::new();
    for i in 0..n {
        let dir = tempfile::tempdir().unwrap();
        let t = Timbang::open(
            &dir.path().join("hp.db"),
            &Key::make_random().unwrap(),
            Arc::new(FixedDate(today.parse().unwrap())),
        )
        .unwrap();
        if i == 0 {
            t.init("Melati", "Sukamaju", "hp-0").unwrap();
            code = t.team_invite().unwrap();
        } else {
            t.team_join(&code, &format!("hp-{i}")).unwrap();
        }
        out.push(Phone { dir, t });
    }
    out
}

/// One complete phone-to-phone session between `a` and `b` over an in-memory pipe.
pub fn peer_sync(a: &Timbang, b: &Timbang) {
    use timbang_core::api::PeerRole;
    use timbang_core::host::IoStream;
    let (x, y) = timbang_core::peer::pipe::duplex();
    std::thread::scope(|s| {
        let h = s.spawn(|| b.peer_session(&IoStream::new(y), PeerRole::Accept));
        let ra = a.peer_session(&IoStream::new(x), PeerRole::Dial);
        let rb = h.join().unwrap();
        assert!(ra.unwrap().completed);
        assert!(rb.unwrap().completed);
    });
}
