//! Duplicate merges never hide a value, and the upload outbox survives merges and rebuilds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use timbang_core::domain::Sex;

fn outbox(path: &std::path::Path) -> Vec<(String, String, String)> {
    let c = rusqlite_open(path);
    let mut s = c
        .prepare("SELECT child_id, visit_date, state FROM outbox ORDER BY 1, 2")
        .unwrap();
    s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn mark_all_sent(path: &std::path::Path) {
    // What the ASIK upload will do once a visit is accepted.
    let c = rusqlite::Connection::open(path).unwrap();
    c.execute("UPDATE outbox SET state = 'sent'", []).unwrap();
}

#[test]
fn a_merge_with_different_values_on_the_same_day_is_a_conflict_not_a_silent_choice() {
    let p = phone("hp-1");
    let k =
        p.t.register_child(child("Rudi Hartono", Sex::Male, "2024-01-10"), false)
            .unwrap()
            .child_id;
    let dup =
        p.t.register_child(child("Roedi Hartono", Sex::Male, "2024-01-10"), true)
            .unwrap()
            .child_id;
    p.t.record_visit(&k, weighing("2024-06-10", 7_400, None), true)
        .unwrap();
    p.t.record_visit(&dup, weighing("2024-06-10", 7_900, Some(660)), true)
        .unwrap();
    p.t.merge_children(&k, &dup).unwrap();
    let c = p.t.conflicts().unwrap();
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(
        (c[0].child_id.clone(), c[0].field.as_str()),
        (k.clone(), "weight_kg")
    );
    assert_eq!(
        c[0].values,
        vec![serde_json::json!(7.4), serde_json::json!(7.9)]
    );
    // The height only the duplicate had is simply there.
    assert_eq!(p.t.child(&k).unwrap().visits[0].height_cm, Some(66.0));
    p.t.resolve(&c[0].conflict_id, "7.9").unwrap();
    assert!(p.t.conflicts().unwrap().is_empty());
    assert_eq!(p.t.child(&k).unwrap().visits[0].weight_kg, Some(7.9));
}

#[test]
fn a_late_correction_to_a_merged_duplicate_is_not_lost() {
    let a = phone("hp-1");
    let code = a.t.team_invite().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let b = open(
        &dir.path().join("b.db"),
        &timbang_core::crypto::Key::make_random().unwrap(),
    );
    b.team_join(&code, "hp-2").unwrap();
    let k =
        a.t.register_child(child("Rudi Hartono", Sex::Male, "2024-01-10"), false)
            .unwrap()
            .child_id;
    let dup =
        a.t.register_child(child("Roedi Hartono", Sex::Male, "2024-01-10"), true)
            .unwrap()
            .child_id;
    a.t.record_visit(&k, weighing("2024-06-10", 7_400, None), true)
        .unwrap();
    a.t.record_visit(&dup, weighing("2024-06-10", 7_400, None), true)
        .unwrap();
    sync(&a.t, &b);
    a.t.merge_children(&k, &dup).unwrap();
    assert!(
        a.t.conflicts().unwrap().is_empty(),
        "same value: nothing to ask"
    );
    b.record_visit(&dup, weighing("2024-06-10", 7_450, None), true)
        .unwrap(); // B has not heard of the merge
    sync(&a.t, &b);
    for t in [&a.t, &b] {
        let c = t.conflicts().unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(
            c[0].values,
            vec![serde_json::json!(7.4), serde_json::json!(7.45)]
        );
    }
}

#[test]
fn rebuilding_projections_keeps_sent_visits_sent_and_is_atomic() {
    let p = phone("hp-1");
    let a =
        p.t.register_child(child("Budi Santoso", Sex::Male, "2024-01-10"), false)
            .unwrap()
            .child_id;
    p.t.register_child(child("Sari Wulandari", Sex::Female, "2024-02-10"), false)
        .unwrap();
    p.t.record_visit(&a, weighing("2024-06-10", 7_400, None), true)
        .unwrap();
    mark_all_sent(&p.path);
    p.t.rebuild_projections().unwrap();
    assert_eq!(outbox(&p.path)[0].2, "sent");
    // A damaged document makes the rebuild fail as a whole: the old projections stay.
    drop(p.t);
    let c = rusqlite::Connection::open(&p.path).unwrap();
    c.execute(
        "UPDATE doc_chunks SET data = x'01020304' WHERE child_id = ?1",
        [a.as_str()],
    )
    .unwrap();
    drop(c);
    let t = open(&p.path, &p.key);
    assert!(t.rebuild_projections().is_err());
    assert_eq!(t.village_list().unwrap().len(), 2);
}

#[test]
fn merging_keeps_a_duplicates_sent_visits_sent_under_the_kept_child() {
    let p = phone("hp-1");
    let k =
        p.t.register_child(child("Rudi Hartono", Sex::Male, "2024-01-10"), false)
            .unwrap()
            .child_id;
    let dup =
        p.t.register_child(child("Roedi Hartono", Sex::Male, "2024-01-10"), true)
            .unwrap()
            .child_id;
    p.t.record_visit(&dup, weighing("2024-05-10", 6_900, None), true)
        .unwrap();
    mark_all_sent(&p.path);
    p.t.record_visit(&k, weighing("2024-06-10", 7_400, None), true)
        .unwrap();
    p.t.merge_children(&k, &dup).unwrap();
    let rows = outbox(&p.path);
    assert_eq!(
        rows,
        vec![
            (k.to_string(), "2024-05-10".into(), "sent".into()),
            (k.to_string(), "2024-06-10".into(), "pending".into()),
        ]
    );
    // A real change afterwards queues it again.
    p.t.record_visit(&k, weighing("2024-05-10", 6_950, None), true)
        .unwrap();
    assert_eq!(outbox(&p.path)[0].2, "pending");
}

#[test]
fn a_merged_group_split_across_rebuild_batches_keeps_its_upload_state() {
    let p = phone("hp-1");
    let k =
        p.t.register_child(child("Rudi Hartono", Sex::Male, "2024-01-10"), false)
            .unwrap()
            .child_id;
    // 229 other children in between, so the kept child and the duplicate land in different batches.
    let fillers: Vec<_> = (0..229)
        .map(|i| {
            (
                child(&format!("Anak Pengisi {i}"), Sex::Female, "2023-03-03"),
                Vec::new(),
            )
        })
        .collect();
    p.t.import_batch(&fillers).unwrap();
    let dup =
        p.t.register_child(child("Roedi Hartono", Sex::Male, "2024-01-10"), true)
            .unwrap()
            .child_id;
    p.t.record_visit(&k, weighing("2024-06-10", 7_400, None), true)
        .unwrap();
    let mut h = weighing("2024-06-10", 0, Some(660));
    h.measured.weight_g = None;
    p.t.record_visit(&dup, h, true).unwrap();
    p.t.merge_children(&k, &dup).unwrap();
    mark_all_sent(&p.path);
    p.t.rebuild_projections().unwrap();
    assert_eq!(
        outbox(&p.path),
        vec![(k.to_string(), "2024-06-10".into(), "sent".into())]
    );
}

#[test]
fn a_merged_group_that_disagrees_on_the_measuring_position_shows_it() {
    let p = phone("hp-1");
    let k =
        p.t.register_child(child("Rudi Hartono", Sex::Male, "2023-01-10"), false)
            .unwrap()
            .child_id;
    let dup =
        p.t.register_child(child("Roedi Hartono", Sex::Male, "2023-01-10"), true)
            .unwrap()
            .child_id;
    p.t.record_visit(&k, weighing("2025-01-10", 10_400, Some(812)), true)
        .unwrap();
    let mut standing = weighing("2025-01-10", 10_400, Some(812));
    standing.measured.position = Some(timbang_core::domain::Position::Standing);
    p.t.record_visit(&dup, standing, true).unwrap();
    p.t.merge_children(&k, &dup).unwrap();
    let c = p.t.conflicts().unwrap();
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0].field, "position");
    p.t.resolve(&c[0].conflict_id, "standing").unwrap();
    assert!(p.t.conflicts().unwrap().is_empty());
    assert_eq!(
        p.t.child(&k).unwrap().visits[0].position,
        Some(timbang_core::domain::Position::Standing)
    );
}
