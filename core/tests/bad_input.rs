//! A table of bad inputs through the facade: each gives `Error::InvalidInput` naming the field, with a
//! Bahasa Indonesia sentence for the kader, and leaves the database content exactly as it was.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use timbang_core::domain::{ChildId, NewChild, Position, Sex, VisitEntry};
use timbang_core::{Error, Timbang};

fn base_child() -> NewChild {
    let mut c = child("Ani Lestari", Sex::Female, "2024-03-01");
    c.mother_name = Some("Sri Wahyuni".into());
    c
}

fn with(f: impl Fn(&mut NewChild)) -> NewChild {
    let mut c = base_child();
    f(&mut c);
    c
}

fn visit(f: impl Fn(&mut VisitEntry)) -> VisitEntry {
    let mut v = VisitEntry {
        date: Some(d("2025-06-10")),
        measured: timbang_core::domain::Measurements {
            weight_g: Some(9_000),
            ..Default::default()
        },
        ..Default::default()
    };
    f(&mut v);
    v
}

enum Op {
    Register(NewChild),
    Visit(VisitEntry),
    VisitOther(ChildId, VisitEntry),
    MergeWithItself,
    Resolve(&'static str),
    KbmTable(&'static str),
}

/// The same visit through a batch import (a new child with that one visit).
fn import(t: &Timbang, v: &VisitEntry) -> Error {
    let c = child("Budi Import", Sex::Male, "2024-03-05");
    t.import_batch(&[(c, vec![*v])]).unwrap_err()
}

fn apply(t: &Timbang, id: &ChildId, op: &Op) -> Error {
    match op {
        Op::Register(c) => t.register_child(c.clone(), true).unwrap_err(),
        Op::Visit(v) => t.record_visit(id, *v, true).unwrap_err(),
        Op::VisitOther(other, v) => t.record_visit(other, *v, true).unwrap_err(),
        Op::MergeWithItself => t.merge_children(id, id).unwrap_err(),
        Op::Resolve(code) => t.resolve(code, "1").unwrap_err(),
        Op::KbmTable(k) => t.set_kbm_table(k).unwrap_err(),
    }
}

#[test]
fn thirty_bad_inputs_are_refused_by_field_and_write_nothing() {
    let p = phone("hp-1");
    let id = p.t.register_child(base_child(), false).unwrap().child_id;
    p.t.record_visit(&id, visit(|_| {}), false).unwrap();
    let long = "x".repeat(101);
    let cases: Vec<(&str, Op)> = vec![
        ("name", Op::Register(with(|c| c.name = "   ".into()))),
        ("name", Op::Register(with(|c| c.name = "1234".into()))),
        ("name", Op::Register(with(|c| c.name = long.clone()))),
        ("name", Op::Register(with(|c| c.name = "Ani\u{7}".into()))),
        (
            "birth_date",
            Op::Register(with(|c| c.birth_date = d("2025-07-01"))),
        ),
        (
            "birth_date",
            Op::Register(with(|c| c.birth_date = d("2015-01-01"))),
        ),
        ("nik", Op::Register(with(|c| c.nik = Some("123".into())))),
        (
            "nik",
            Op::Register(with(|c| c.nik = Some("99010141032400019".into()))),
        ),
        (
            "nik",
            Op::Register(with(|c| c.nik = Some("9901014103240001".into()))),
        ),
        (
            "nik",
            Op::Register(with(|c| c.nik = Some("3201017203240001".into()))),
        ),
        (
            "nik",
            Op::Register(with(|c| c.nik = Some("3201014100240001".into()))),
        ),
        (
            "nik",
            Op::Register(with(|c| c.nik = Some("3201014103240000".into()))),
        ),
        (
            "nik",
            Op::Register(with(|c| c.nik = Some("3201017102230001".into()))),
        ),
        // Regency (kabupaten/kota) code 00.
        (
            "nik",
            Op::Register(with(|c| c.nik = Some("3200014103240001".into()))),
        ),
        (
            "mother_nik",
            Op::Register(with(|c| c.mother_nik = Some("3200015203900001".into()))),
        ),
        (
            "kk",
            Op::Register(with(|c| c.kk = Some("3200012010150001".into()))),
        ),
        (
            "kk",
            Op::Register(with(|c| c.kk = Some("32010120101500".into()))),
        ),
        (
            "kk",
            Op::Register(with(|c| c.kk = Some("0001012010150003".into()))),
        ),
        (
            "kk",
            Op::Register(with(|c| c.kk = Some("3201012010150000".into()))),
        ),
        (
            "mother_name",
            Op::Register(with(|c| c.mother_name = Some("!!".into()))),
        ),
        (
            "mother_nik",
            Op::Register(with(|c| c.mother_nik = Some("abc".into()))),
        ),
        (
            "mother_nik",
            Op::Register(with(|c| {
                c.nik = Some("3201014103240001".into());
                c.mother_nik = Some("3201014103240001".into());
            })),
        ),
        (
            "address",
            Op::Register(with(|c| c.address = Some("a".repeat(301)))),
        ),
        ("date", Op::Visit(visit(|v| v.date = None))),
        ("date", Op::Visit(visit(|v| v.date = Some(d("2025-06-16"))))),
        ("date", Op::Visit(visit(|v| v.date = Some(d("2024-02-01"))))),
        (
            "weight_kg",
            Op::Visit(visit(|v| v.measured.weight_g = Some(400))),
        ),
        (
            "weight_kg",
            Op::Visit(visit(|v| v.measured.weight_g = Some(40_001))),
        ),
        (
            "weight_kg",
            Op::Visit(visit(|v| v.measured.weight_g = None)),
        ),
        (
            "height_cm",
            Op::Visit(visit(|v| {
                v.measured.height_mm = Some(349);
                v.measured.position = Some(Position::Lying);
            })),
        ),
        (
            "height_cm",
            Op::Visit(visit(|v| {
                v.measured.height_mm = Some(1_401);
                v.measured.position = Some(Position::Standing);
            })),
        ),
        (
            "position",
            Op::Visit(visit(|v| v.measured.height_mm = Some(700))),
        ),
        (
            "head_circ_cm",
            Op::Visit(visit(|v| v.measured.head_mm = Some(199))),
        ),
        (
            "head_circ_cm",
            Op::Visit(visit(|v| v.measured.head_mm = Some(601))),
        ),
        (
            "muac_cm",
            Op::Visit(visit(|v| v.measured.muac_mm = Some(49))),
        ),
        (
            "muac_cm",
            Op::Visit(visit(|v| v.measured.muac_mm = Some(301))),
        ),
        ("duplicate_id", Op::MergeWithItself),
        ("kbm_table", Op::KbmTable("no-such-table")),
    ];
    assert!(cases.len() >= 30, "{}", cases.len());
    let before = content_digest(&p.path);
    // Every bad visit is refused the same way when it comes through a batch import: the import goes
    // through the same visit check as a kader's entry (it once stored a height with no position).
    let imports = cases.iter().filter_map(|(field, op)| match op {
        Op::Visit(v) => Some((*field, import(&p.t, v))),
        _ => None,
    });
    let visit_cases = cases
        .iter()
        .filter(|(_, op)| matches!(op, Op::Visit(_)))
        .count();
    assert!(visit_cases >= 10, "{visit_cases}");
    let errors = cases
        .iter()
        .map(|(field, op)| (*field, apply(&p.t, &id, op)))
        .chain(imports);
    for (field, err) in errors {
        match &err {
            Error::InvalidInput {
                field: f,
                message_id,
                message_en,
            } => {
                assert_eq!(f, field, "{message_en}");
                assert!(!message_id.is_empty() && !message_id.contains('\n'));
            }
            other => panic!("{field}: expected invalid input, got {other:?}"),
        }
        assert_eq!(
            content_digest(&p.path),
            before,
            "{field}: {err} changed the database"
        );
    }
    // Not bad input, but also nothing written: unknown ids and conflicts.
    let unknown = ChildId::make();
    assert!(matches!(
        apply(&p.t, &id, &Op::VisitOther(unknown, visit(|_| {}))),
        Error::NotFound { .. }
    ));
    assert!(matches!(
        apply(&p.t, &id, &Op::Resolve("abcdef")),
        Error::NotFound { .. }
    ));
    assert_eq!(content_digest(&p.path), before);
}
