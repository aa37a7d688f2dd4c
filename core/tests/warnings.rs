//! Early warnings through the facade on real SQLite files: each rule with a child on both sides of it,
//! and a posyandu whose participation falls two months in a row.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{child, d, phone, weighing};
use timbang_core::domain::Sex;
use timbang_core::reports::warnings::Warning;

fn add(p: &common::Phone, name: &str, visits: &[(&str, u32, Option<u32>)]) -> String {
    let id =
        p.t.register_child(child(name, Sex::Male, "2024-06-01"), true)
            .unwrap()
            .child_id;
    for (date, g, mm) in visits {
        p.t.record_visit(&id, weighing(date, *g, *mm), true)
            .unwrap();
    }
    id.to_string()
}

fn codes_of(w: &[Warning], id: &str) -> Vec<String> {
    w.iter()
        .filter(|w| w.child_id.as_deref() == Some(id))
        .map(|w| w.code.clone())
        .collect()
}

#[test]
fn each_child_rule_fires_on_one_side_of_its_threshold_only() {
    let p = phone("hp-1");
    // Newly gizi buruk (WFL < -3 SD) with a loss of more than 10 %.
    let buruk = add(
        &p,
        "Ahmad",
        &[
            ("2025-04-10", 9000, Some(740)),
            ("2025-05-10", 9100, Some(750)),
            ("2025-06-10", 7400, Some(760)),
        ],
    );
    // Gizi buruk since January: known for months, not new.
    let lama = add(
        &p,
        "Bagus",
        &[
            ("2025-01-10", 7000, Some(740)),
            ("2025-02-10", 7100, Some(742)),
            ("2025-03-10", 7200, Some(744)),
            ("2025-04-10", 7300, Some(746)),
            ("2025-05-10", 7400, Some(748)),
            ("2025-06-10", 7500, Some(750)),
        ],
    );
    // Newly gizi kurang, an 8 % loss.
    let kurang = add(
        &p,
        "Candra",
        &[
            ("2025-05-10", 8600, Some(745)),
            ("2025-06-10", 7900, Some(750)),
        ],
    );
    // 2T in June.
    let two_t = add(
        &p,
        "Dimas",
        &[
            ("2025-04-10", 9000, None),
            ("2025-05-10", 9000, None),
            ("2025-06-10", 9000, None),
        ],
    );
    // One T only.
    let one_t = add(
        &p,
        "Eko",
        &[("2025-05-10", 9000, None), ("2025-06-10", 9000, None)],
    );
    // Newly pendek (first length, < -2 SD) and not pendek.
    let pendek = add(&p, "Fajar", &[("2025-06-10", 9000, Some(700))]);
    let tinggi = add(&p, "Galih", &[("2025-06-10", 9500, Some(760))]);
    // Not weighed since March (3 months) and since April (2 months).
    let lupa = add(&p, "Hadi", &[("2025-03-10", 9000, None)]);
    let baru_lupa = add(&p, "Indra", &[("2025-04-10", 9000, None)]);
    // Healthy and gaining.
    let sehat = add(
        &p,
        "Joko",
        &[
            ("2025-04-10", 9000, Some(740)),
            ("2025-05-10", 9300, Some(750)),
            ("2025-06-10", 9600, Some(760)),
        ],
    );
    let w = p.t.warnings_as_of(d("2025-06-15")).unwrap();
    let show = format!("{w:#?}");

    let a = codes_of(&w, &buruk);
    assert!(a.contains(&"GIZI_BURUK".into()), "{show}");
    assert!(a.contains(&"BB_TURUN_10_PERSEN".into()), "{show}");
    assert!(!a.contains(&"GIZI_KURANG".into()), "{show}");
    let g = w
        .iter()
        .find(|w| w.code == "GIZI_BURUK" && w.child_id.as_deref() == Some(buruk.as_str()))
        .unwrap();
    assert_eq!(g.since, d("2025-06-10"));
    assert!(
        g.text.contains("Ahmad") && g.text.contains("Baru gizi buruk"),
        "{}",
        g.text
    );

    let b = codes_of(&w, &lama);
    assert!(!b.contains(&"GIZI_BURUK".into()), "{show}");
    assert!(!b.contains(&"2T".into()), "{show}");

    let c = codes_of(&w, &kurang);
    assert!(c.contains(&"GIZI_KURANG".into()), "{show}");
    assert!(!c.contains(&"BB_TURUN_10_PERSEN".into()), "{show}");

    assert!(codes_of(&w, &two_t).contains(&"2T".into()), "{show}");
    assert!(!codes_of(&w, &one_t).contains(&"2T".into()), "{show}");
    assert!(
        codes_of(&w, &pendek).contains(&"PENDEK_BARU".into()),
        "{show}"
    );
    assert!(codes_of(&w, &tinggi).is_empty(), "{show}");
    assert_eq!(codes_of(&w, &lupa), vec!["TIDAK_DITIMBANG_3BLN"], "{show}");
    assert!(codes_of(&w, &baru_lupa).is_empty(), "{show}");
    assert!(codes_of(&w, &sehat).is_empty(), "{show}");

    // A month later the June events are still new (window of one month); two months later they are not.
    let july = p.t.warnings_as_of(d("2025-07-20")).unwrap();
    assert!(codes_of(&july, &buruk).contains(&"GIZI_BURUK".into()));
    let august = p.t.warnings_as_of(d("2025-08-20")).unwrap();
    assert!(!codes_of(&august, &buruk).contains(&"GIZI_BURUK".into()));
}

#[test]
fn a_new_bgm_is_a_warning_and_a_small_loss_is_not() {
    let p = phone("hp-1");
    let id = add(
        &p,
        "Kurnia",
        &[("2025-05-10", 7300, None), ("2025-06-10", 6800, None)],
    );
    let w = p.t.warnings_as_of(d("2025-06-15")).unwrap();
    let codes = codes_of(&w, &id);
    assert!(codes.contains(&"BGM".into()), "{w:#?}");
    assert!(!codes.contains(&"BB_TURUN_10_PERSEN".into()), "{w:#?}");
}

#[test]
fn participation_falling_two_months_in_a_row_warns_the_posyandu() {
    let p = phone("hp-1");
    let kids: Vec<String> = (0..4).map(|i| add(&p, &format!("Anak {i}"), &[])).collect();
    // April 4 of 4, May 3 of 4, June 2 of 4.
    let plan: [(&str, usize); 3] = [("2025-04-10", 4), ("2025-05-10", 3), ("2025-06-10", 2)];
    for (date, n) in plan {
        for id in kids.iter().take(n) {
            let id = timbang_core::domain::ChildId::parse(id).unwrap();
            p.t.record_visit(&id, weighing(date, 9000, None), true)
                .unwrap();
        }
    }
    let w = p.t.warnings_as_of(d("2025-06-15")).unwrap();
    let ds: Vec<&Warning> = w.iter().filter(|w| w.code == "DS_TURUN").collect();
    assert_eq!(ds.len(), 1, "{w:#?}");
    assert_eq!(ds[0].child_id, None);
    assert_eq!(ds[0].since, d("2025-05-01"));
    assert!(
        ds[0].text.contains("100%") && ds[0].text.contains("50%"),
        "{}",
        ds[0].text
    );

    // One more child weighed in June: 3 of 4, level with May, so no warning.
    let id = timbang_core::domain::ChildId::parse(&kids[2]).unwrap();
    p.t.record_visit(&id, weighing("2025-06-11", 9000, None), true)
        .unwrap();
    let w = p.t.warnings_as_of(d("2025-06-15")).unwrap();
    assert!(w.iter().all(|w| w.code != "DS_TURUN"), "{w:#?}");
}

#[test]
fn elsimil_lists_children_at_risk_with_their_reasons_and_no_other() {
    use timbang_core::reports::Month;
    use timbang_core::reports::export::Cell;
    let p = phone("hp-1");
    // Pendek since April (not new in June), not weighed since March, weighed in April only, healthy.
    add(
        &p,
        "Stunting Lama",
        &[
            ("2025-04-10", 8600, Some(690)),
            ("2025-06-10", 8900, Some(700)),
        ],
    );
    add(&p, "Lupa Timbang", &[("2025-03-10", 9000, None)]);
    add(&p, "Dua Bulan", &[("2025-04-10", 9000, None)]);
    add(
        &p,
        "Sehat Sekali",
        &[
            ("2025-05-10", 9300, Some(750)),
            ("2025-06-10", 9600, Some(760)),
        ],
    );
    let t =
        p.t.elsimil_export(Month::parse("2025-06").unwrap())
            .unwrap();
    let name = t.headers.iter().position(|h| h == "Nama Anak").unwrap();
    let why = t.headers.iter().position(|h| h == "Alasan Risiko").unwrap();
    let text = |c: &Cell| c.as_text();
    let listed: Vec<(String, String)> = t
        .rows
        .iter()
        .map(|r| (text(&r[name]), text(&r[why])))
        .collect();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[0].0, "Lupa Timbang");
    assert!(
        listed[0].1.contains("Tidak ditimbang 3 bulan"),
        "{listed:?}"
    );
    assert_eq!(listed[1].0, "Stunting Lama");
    assert!(listed[1].1.contains("Pendek"), "{listed:?}");
}
