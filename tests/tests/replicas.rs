//! Property test on the real store: 3 to 5 phones (real SQLite files), random registrations, visits,
//! concurrent edits, duplicate merges and conflict resolutions, random partial syncs over the real sync
//! protocol. After a final round every phone has the same document heads and the same projections, and
//! no value that was ever written is lost: it is current, kept as a conflict, or in the history.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use automerge::{ChangeHash, ROOT, ReadDoc};
use chrono::NaiveDate;
use proptest::prelude::*;
use timbang_core::api::PeerRole;
use timbang_core::crypto::Key;
use timbang_core::domain::{ChildId, Position, Sex, VisitEntry};
use timbang_core::host::IoStream;
use timbang_core::peer::pipe::duplex;
use timbang_core::{FixedDate, Timbang};

const TODAY: &str = "2025-06-15";

#[derive(Debug, Clone)]
enum Op {
    Delete {
        phone: usize,
        child: usize,
        day: u8,
    },
    Register {
        phone: usize,
        name: usize,
    },
    Visit {
        phone: usize,
        child: usize,
        day: u8,
        weight: u16,
        height: Option<u16>,
    },
    Merge {
        phone: usize,
        keep: usize,
        dup: usize,
    },
    Resolve {
        phone: usize,
    },
    Sync {
        a: usize,
        b: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0..5usize, 0..6usize).prop_map(|(phone, name)| Op::Register { phone, name }),
        6 => (0..5usize, 0..8usize, 0..4u8, 0..40u16, proptest::option::of(0..30u16))
            .prop_map(|(phone, child, day, weight, height)| Op::Visit { phone, child, day, weight, height }),
        1 => (0..5usize, 0..8usize, 0..8usize).prop_map(|(phone, keep, dup)| Op::Merge { phone, keep, dup }),
        1 => (0..5usize).prop_map(|phone| Op::Resolve { phone }),
        1 => (0..5usize, 0..8usize, 0..4u8).prop_map(|(phone, child, day)| Op::Delete { phone, child, day }),
        3 => (0..5usize, 0..5usize).prop_map(|(a, b)| Op::Sync { a, b }),
    ]
}

struct Phone {
    _dir: tempfile::TempDir,
    t: Timbang,
}

fn today() -> NaiveDate {
    TODAY.parse().unwrap()
}

fn make_phones(n: usize) -> Vec<Phone> {
    let mut phones = Vec::new();
    let mut code = String::new();
    for i in 0..n {
        let dir = tempfile::tempdir().unwrap();
        let t = Timbang::open(
            &dir.path().join("hp.db"),
            &Key::make_random().unwrap(),
            Arc::new(FixedDate(today())),
        )
        .unwrap();
        if i == 0 {
            t.init("Melati", "Sukamaju", "hp-0").unwrap();
            code = t.team_invite().unwrap();
        } else {
            t.team_join(&code, &format!("hp-{i}")).unwrap();
        }
        phones.push(Phone { _dir: dir, t });
    }
    phones
}

fn sync(a: &Timbang, b: &Timbang) {
    let (x, y) = duplex();
    std::thread::scope(|s| {
        let h = s.spawn(|| b.peer_session(&IoStream::new(y), PeerRole::Accept));
        let ra = a.peer_session(&IoStream::new(x), PeerRole::Dial);
        let rb = h.join().unwrap();
        assert!(ra.unwrap().completed);
        assert!(rb.unwrap().completed);
    });
}

/// Children this phone knows, in a stable order.
fn known(t: &Timbang) -> Vec<ChildId> {
    let mut ids: Vec<ChildId> = t
        .village_list()
        .unwrap()
        .into_iter()
        .map(|r| r.child_id)
        .collect();
    ids.sort();
    ids
}

/// A written value and the heads of its document right after the write.
struct Written {
    doc: String,
    key: String,
    value: i64,
    heads: Vec<ChangeHash>,
}

fn doc_of(t: &Timbang, id: &str) -> automerge::Automerge {
    timbang_core::testing::store(t)
        .read(|c| timbang_core::testing::store(t).load_doc(c, id))
        .unwrap()
        .unwrap()
}

fn run(n: usize, ops: &[Op]) {
    let phones = make_phones(n);
    let mut written: Vec<Written> = Vec::new();
    let names = ["Ayu", "Bima", "Candra", "Dian", "Eko", "Fitri"];
    for op in ops {
        match *op {
            Op::Register { phone, name } => {
                let p = &phones[phone % n].t;
                let sex = if name % 2 == 0 {
                    Sex::Female
                } else {
                    Sex::Male
                };
                let c = timbang_tests::child(
                    &format!("{} Anak {}", names[name], phone),
                    sex,
                    "2024-01-10",
                );
                p.register_child(c, true).unwrap();
            }
            Op::Visit {
                phone,
                child,
                day,
                weight,
                height,
            } => {
                let p = &phones[phone % n].t;
                let ids = known(p);
                if ids.is_empty() {
                    continue;
                }
                let id = &ids[child % ids.len()];
                let date = NaiveDate::from_ymd_opt(2025, 6, 1 + u32::from(day)).unwrap();
                let w = 8_000 + u32::from(weight) * 50;
                let entry = VisitEntry {
                    date: Some(date),
                    measured: timbang_core::domain::Measurements {
                        weight_g: Some(w),
                        height_mm: height.map(|h| 700 + u32::from(h) * 5),
                        position: height.map(|_| Position::Lying),
                        ..Default::default()
                    },
                    ..Default::default()
                };
                let r = p.record_visit(id, entry, true).unwrap();
                let doc = doc_of(p, r.child_id.as_str());
                written.push(Written {
                    doc: r.child_id.to_string(),
                    key: format!("{date}/weight_g"),
                    value: i64::from(w),
                    heads: doc.get_heads(),
                });
            }
            Op::Merge { phone, keep, dup } => {
                let p = &phones[phone % n].t;
                let ids = known(p);
                if ids.len() < 2 {
                    continue;
                }
                let (k, d) = (&ids[keep % ids.len()], &ids[dup % ids.len()]);
                if k != d {
                    p.merge_children(k, d).unwrap();
                }
            }
            Op::Resolve { phone } => {
                let p = &phones[phone % n].t;
                if let Some(c) = p.conflicts().unwrap().into_iter().next() {
                    let v = match &c.values[0] {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    p.resolve(&c.conflict_id, &v).unwrap();
                }
            }
            Op::Delete { phone, child, day } => {
                let p = &phones[phone % n].t;
                let ids = known(p);
                if ids.is_empty() {
                    continue;
                }
                let date = NaiveDate::from_ymd_opt(2025, 6, 1 + u32::from(day)).unwrap();
                let id = &ids[child % ids.len()];
                let has_visit = p.child(id).unwrap().visits.iter().any(|v| v.date == date);
                match p.delete_visit(id, date) {
                    Ok(()) => assert!(has_visit, "deleted a visit this phone did not show"),
                    // Only "no such visit" is an acceptable refusal, and only when there is none.
                    Err(timbang_core::Error::NotFound { what, .. }) => {
                        assert_eq!(what, "visit");
                        assert!(!has_visit, "a shown visit could not be deleted");
                    }
                    Err(e) => panic!("delete_visit failed: {e:?}"),
                }
                assert!(
                    !p.child(id).unwrap().visits.iter().any(|v| v.date == date),
                    "the visit still counts after delete_visit"
                );
            }
            Op::Sync { a, b } => {
                let (a, b) = (a % n, b % n);
                if a != b {
                    sync(&phones[a].t, &phones[b].t);
                }
            }
        }
    }
    // Final round: a chain there and back reaches everyone.
    for i in 0..n - 1 {
        sync(&phones[i].t, &phones[i + 1].t);
    }
    for i in (0..n - 1).rev() {
        sync(&phones[i + 1].t, &phones[i].t);
    }
    let heads = |p: &Phone| {
        timbang_core::testing::store(&p.t)
            .read(timbang_core::store::Store::all_heads)
            .unwrap()
    };
    let want_heads = heads(&phones[0]);
    let list = |p: &Phone| serde_json::to_value(p.t.village_list().unwrap()).unwrap();
    let conflicts = |p: &Phone| serde_json::to_value(p.t.conflicts().unwrap()).unwrap();
    let details = |p: &Phone| -> Vec<serde_json::Value> {
        known(&p.t)
            .iter()
            .map(|id| serde_json::to_value(p.t.child(id).unwrap()).unwrap())
            .collect()
    };
    for p in &phones[1..] {
        assert_eq!(heads(p), want_heads, "same documents and heads everywhere");
        assert_eq!(list(p), list(&phones[0]), "same village list");
        assert_eq!(conflicts(p), conflicts(&phones[0]), "same conflicts");
        assert_eq!(details(p), details(&phones[0]), "same children and visits");
    }
    // Nothing written is lost: at the heads right after its write, the value is there (history), and
    // the current document still has that history.
    let p0 = &phones[0].t;
    for w in &written {
        let doc = doc_of(p0, &w.doc);
        let visits = match doc.get(ROOT, "visits").unwrap() {
            Some((_, id)) => id,
            None => panic!("no visits map"),
        };
        let at: Vec<i64> = doc
            .get_all_at(&visits, w.key.as_str(), &w.heads)
            .unwrap()
            .into_iter()
            .filter_map(|(v, _)| {
                v.as_scalar().and_then(|s| match s {
                    automerge::ScalarValue::Int(i) => Some(*i),
                    _ => None,
                })
            })
            .collect();
        assert!(
            at.contains(&w.value),
            "{} of {} lost from history",
            w.key,
            w.doc
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 50, .. ProptestConfig::default() })]
    #[test]
    fn replicas_converge_and_lose_nothing(n in 3..=5usize, ops in proptest::collection::vec(op(), 5..40)) {
        run(n, &ops);
    }
}

#[test]
fn same_morning_on_three_phones() {
    let ops = vec![
        Op::Register { phone: 0, name: 0 },
        Op::Sync { a: 0, b: 1 },
        Op::Sync { a: 1, b: 2 },
        Op::Visit {
            phone: 0,
            child: 0,
            day: 2,
            weight: 5,
            height: None,
        },
        Op::Visit {
            phone: 1,
            child: 0,
            day: 2,
            weight: 9,
            height: Some(3),
        },
        Op::Visit {
            phone: 2,
            child: 0,
            day: 2,
            weight: 5,
            height: None,
        },
        Op::Sync { a: 0, b: 2 },
        Op::Resolve { phone: 2 },
        Op::Merge {
            phone: 1,
            keep: 0,
            dup: 0,
        },
    ];
    run(3, &ops);
}
