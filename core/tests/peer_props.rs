//! Property: three phones editing children at random and syncing pairwise at random all end with the
//! same documents after a final round of syncs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod peer_common;

use peer_common::*;
use proptest::prelude::*;
use timbang_core::peer::TeamSecret;
use timbang_core::peer::memory::MemoryStore;

#[derive(Debug, Clone)]
enum Op {
    /// Record a visit for child `child` on phone `phone`.
    Visit {
        phone: usize,
        child: usize,
        day: usize,
        weight: i64,
    },
    /// Register a new child on phone `phone`.
    NewChild { phone: usize },
    /// Sync phone `a` (dialling) with phone `b`.
    Sync { a: usize, b: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3usize, 0..4usize, 0..4usize, 3_000..15_000i64)
            .prop_map(|(phone, child, day, weight)| Op::Visit { phone, child, day, weight }),
        1 => (0..3usize).prop_map(|phone| Op::NewChild { phone }),
        2 => (0..3usize, 0..3usize)
            .prop_filter("two phones", |(a, b)| a != b)
            .prop_map(|(a, b)| Op::Sync { a, b }),
    ]
}

fn pair(phones: &mut [MemoryStore], a: usize, b: usize) -> (&mut MemoryStore, &mut MemoryStore) {
    if a < b {
        let (l, r) = phones.split_at_mut(b);
        (&mut l[a], &mut r[0])
    } else {
        let (l, r) = phones.split_at_mut(a);
        (&mut r[0], &mut l[b])
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn random_edits_and_pairwise_syncs_converge(ops in proptest::collection::vec(op(), 1..25)) {
        let team = TeamSecret::make().unwrap();
        // Four children registered on phone 0 and shared before the day starts.
        let mut phones = vec![store_with(0..4, 1), MemoryStore::default(), MemoryStore::default()];
        let base = phones[0].clone();
        phones[1] = base.clone();
        phones[2] = base;
        let mut next_child = 100;
        for op in &ops {
            match *op {
                Op::Visit { phone, child, day, weight } => {
                    let id = child_id(child);
                    let mut doc = phones[phone].get(&id).unwrap().fork();
                    add_visit(&mut doc, &format!("2024-05-0{}", day + 1), weight);
                    phones[phone].put(&id, &doc);
                }
                Op::NewChild { phone } => {
                    phones[phone].put(&child_id(next_child), &child_doc(next_child, 1));
                    next_child += 1;
                }
                Op::Sync { a, b } => {
                    let (x, y) = pair(&mut phones, a, b);
                    let (c, s) = sync_pair(x, y, &team);
                    prop_assert!(c.completed && s.completed);
                    prop_assert_eq!(x.all_heads(), y.all_heads());
                }
            }
        }
        for (a, b) in [(0, 1), (1, 2), (0, 1)] {
            let (x, y) = pair(&mut phones, a, b);
            sync_pair(x, y, &team);
        }
        prop_assert_eq!(phones[0].all_heads(), phones[1].all_heads());
        prop_assert_eq!(phones[1].all_heads(), phones[2].all_heads());
        prop_assert_eq!(phones[0].len(), 4 + next_child - 100);
        for id in phones[0].ids() {
            let j = json(&phones[0].get(&id).unwrap());
            prop_assert_eq!(&j, &json(&phones[1].get(&id).unwrap()));
            prop_assert_eq!(&j, &json(&phones[2].get(&id).unwrap()));
        }
    }
}
