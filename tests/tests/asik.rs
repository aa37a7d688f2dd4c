//! Upload to ASIK against the SATUSEHAT test double (`tests/asik-server`) on 127.0.0.1: exactly once
//! through every fault, upload state carried by peer sync, the open cases (held, corrected, deleted,
//! merged, refused), an unreachable server, and a soak of 1,000 visits on three phones.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use asik_server::{AsikServer, CLIENT_ID, CLIENT_SECRET, Fault, ORG_ID};
use serde_json::Value;
use timbang_core::Timbang;
use timbang_core::asik::{AsikConfig, MapConfig, SyncReason, SyncReport};
use timbang_core::domain::{ChildId, Measurements, NewChild, Position, Sex, VisitEntry};
use timbang_core::host::UreqHttp;
use timbang_tests::{Phone, peer_sync, phones};

const TODAY: &str = "2025-06-30";

fn cfg(s: &AsikServer) -> AsikConfig {
    let mut c = AsikConfig::new(
        &s.base_url(),
        &s.auth_url(),
        CLIENT_ID,
        CLIENT_SECRET,
        MapConfig::for_org(ORG_ID),
    );
    c.request_timeout_ms = 1_500;
    c
}

fn sync(t: &Timbang, s: &AsikServer) -> SyncReport {
    t.asik_sync(
        &UreqHttp::new(),
        &cfg(s),
        SyncReason::Manual,
        Duration::from_secs(300),
    )
    .unwrap()
}

/// A synthetic mother's NIK (province 33, a woman born 1990), different for each `i`.
fn mother_nik(i: usize) -> String {
    format!("330101{:02}0190{:04}", 41 + (i % 28), 1 + i % 9_999)
}

/// A baby without NIK, findable through the mother's NIK.
fn baby(i: usize) -> NewChild {
    NewChild {
        name: format!("Anak Uji {i}"),
        sex: if i.is_multiple_of(2) {
            Sex::Female
        } else {
            Sex::Male
        },
        birth_date: format!("2024-{:02}-{:02}", 1 + i % 12, 1 + i % 27)
            .parse()
            .unwrap(),
        nik: None,
        kk: None,
        mother_name: Some(format!("Ibu Uji {i}")),
        mother_nik: Some(mother_nik(i)),
        address: Some("Dusun Uji".into()),
    }
}

fn visit(date: &str, w: u32, h: u32) -> VisitEntry {
    VisitEntry {
        date: Some(date.parse().unwrap()),
        measured: Measurements {
            weight_g: Some(w),
            height_mm: Some(h),
            position: Some(Position::Lying),
            muac_mm: Some(140),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn add_children(t: &Timbang, from: usize, n: usize, visits: usize) -> Vec<ChildId> {
    let mut ids = Vec::new();
    for i in from..from + n {
        let id = t.register_child(baby(i), true).unwrap().child_id;
        for v in 0..visits {
            let date = format!("2025-{:02}-10", 1 + v);
            t.record_visit(
                &id,
                visit(&date, 8_000 + 200 * v as u32, 700 + 8 * v as u32),
                true,
            )
            .unwrap();
        }
        ids.push(id);
    }
    ids
}

/// The identifiers of every entry the phone would send, all at once (one preview Bundle).
fn expected(t: &Timbang, s: &AsikServer) -> BTreeSet<String> {
    let mut c = cfg(s);
    c.max_visits_per_request = usize::MAX;
    c.max_request_bytes = usize::MAX;
    let b = t.asik_next_bundle(&c).unwrap().unwrap_or(Value::Null);
    b["entry"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| ident(&e["resource"]))
                .collect::<BTreeSet<_>>()
        })
        .unwrap_or_default()
}

fn ident(r: &Value) -> String {
    format!(
        "{}|{}",
        r["identifier"][0]["system"].as_str().unwrap(),
        r["identifier"][0]["value"].as_str().unwrap()
    )
}

/// Every Encounter and Observation on the server by identifier; fails on a second copy.
fn server_copies(s: &AsikServer) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for rtype in ["Encounter", "Observation"] {
        for r in s.resources(rtype) {
            let k = ident(&r);
            assert!(out.insert(k.clone(), r).is_none(), "two copies of {k}");
        }
    }
    out
}

#[test]
fn every_fault_leaves_exactly_one_copy_and_nothing_missing() {
    let s = asik_server::start().unwrap();
    let p = phones(1, TODAY);
    let t = &p[0].t;
    add_children(t, 0, 6, 2);
    let want = expected(t, &s);
    assert_eq!(t.asik_status().unwrap().pending, 12);
    for f in [
        Fault::DropAfterCommit,
        Fault::ServerError,
        Fault::Unavailable { retry_after: 1 },
        Fault::TooManyRequests { retry_after: 0 },
        Fault::Slow { ms: 2_500 },
        Fault::ExpireTokens,
        Fault::Malformed,
    ] {
        s.push_fault(f);
    }
    // Small batches so faults meet Bundles too, not only Patient look-ups.
    let mut c = cfg(&s);
    c.max_visits_per_request = 3;
    let mut rounds = 0;
    loop {
        let r = t
            .asik_sync(
                &UreqHttp::new(),
                &c,
                SyncReason::Connectivity,
                Duration::from_secs(120),
            )
            .unwrap();
        rounds += 1;
        if r.pending == 0 || rounds > 5 {
            break;
        }
    }
    let held = server_copies(&s);
    let have: BTreeSet<String> = held.keys().cloned().collect();
    assert_eq!(
        have, want,
        "the server holds exactly what the phone would send"
    );
    let st = t.asik_status().unwrap();
    assert_eq!((st.pending, st.sent, st.rejected, st.held), (0, 12, 0, 0));
    assert_eq!(s.resources("Patient").len(), 6, "one Patient per baby");
    // Nothing more to send: no Bundle.
    s.reset_stats();
    let r = sync(t, &s);
    assert_eq!((r.created, r.updated, s.stats().bundles), (0, 0, 0));
}

#[test]
fn after_one_peer_session_the_other_phone_sends_nothing() {
    let s = asik_server::start().unwrap();
    let p = phones(2, TODAY);
    let (a, b) = (&p[0].t, &p[1].t);
    add_children(a, 0, 4, 3);
    peer_sync(a, b);
    assert_eq!(b.asik_status().unwrap().pending, 12);
    let r = sync(a, &s);
    assert_eq!(r.sent, 12);
    // One request per 50 visits beyond one Patient look-up (and create) per child.
    assert_eq!(s.stats().bundles, 1);
    peer_sync(a, b);
    let st = b.asik_status().unwrap();
    assert_eq!((st.pending, st.sent), (0, 12));
    let before = server_copies(&s).len();
    s.reset_stats();
    let r = sync(b, &s);
    assert_eq!((r.created, r.updated, r.patients_created), (0, 0, 0));
    assert_eq!((s.stats().bundles, s.stats().searches), (0, 0));
    assert_eq!(server_copies(&s).len(), before);
}

#[test]
fn two_phones_sending_the_same_visits_leave_one_copy() {
    let s = asik_server::start().unwrap();
    let p = phones(2, TODAY);
    let (a, b) = (&p[0].t, &p[1].t);
    add_children(a, 0, 3, 2);
    peer_sync(a, b);
    let want = expected(a, &s);
    sync(a, &s);
    // B never heard of A's upload: its creates are refused as duplicates, it looks up, records.
    let r = sync(b, &s);
    assert_eq!(r.created, 0);
    assert_eq!(b.asik_status().unwrap().pending, 0);
    let have: BTreeSet<String> = server_copies(&s).keys().cloned().collect();
    assert_eq!(have, want);
}

fn obs<'a>(s: &'a BTreeMap<String, Value>, suffix: &str) -> Vec<&'a Value> {
    s.iter()
        .filter(|(k, _)| k.ends_with(suffix))
        .map(|(_, v)| v)
        .collect()
}

#[test]
fn corrected_deleted_held_and_refused_visits() {
    let s = asik_server::start().unwrap();
    let p = phones(2, TODAY);
    let (a, b) = (&p[0].t, &p[1].t);
    let ids = add_children(a, 0, 3, 1);
    // A child with a NIK the MPI does not know: refused with the reason, the others go.
    let mut unknown = baby(90);
    unknown.nik = Some("3301015501249999".into());
    unknown.birth_date = "2024-01-15".parse().unwrap();
    unknown.sex = Sex::Female;
    let u = a.register_child(unknown, true).unwrap().child_id;
    a.record_visit(&u, visit("2025-01-10", 8_000, 700), true)
        .unwrap();
    let r = sync(a, &s);
    assert_eq!((r.sent, r.rejected), (3, 1));
    let st = a.asik_status().unwrap();
    assert_eq!((st.sent, st.rejected), (3, 1));
    let why = st.waiting.iter().find(|w| w.child_id == u).unwrap();
    assert!(why.reason.as_deref().unwrap().contains("NIK"), "{why:?}");

    // Corrected after it was sent: the weight Observation is PUT (same id), nothing created.
    let before = server_copies(&s);
    a.record_visit(&ids[0], visit("2025-01-10", 8_400, 700), true)
        .unwrap();
    assert_eq!(a.asik_status().unwrap().pending, 1);
    let r = sync(a, &s);
    assert_eq!(r.created, 0);
    assert!(r.updated >= 1, "{r:?}");
    let after = server_copies(&s);
    assert_eq!(before.len(), after.len());
    let key = format!("|{}.2025-01-10.weight", ids[0]);
    let w = obs(&after, &key);
    assert_eq!(w[0]["valueQuantity"]["value"], 8.4);
    assert_eq!(w[0]["id"], obs(&before, &key)[0]["id"]);
    // The height did not change: that Observation was not touched.
    let hkey = format!("|{}.2025-01-10.height", ids[0]);
    assert_eq!(obs(&after, &hkey)[0]["meta"]["versionId"], "1");

    // Deleted after it was sent: every resource of the visit is entered-in-error.
    a.delete_visit(&ids[1], "2025-01-10".parse().unwrap())
        .unwrap();
    let r = sync(a, &s);
    assert!(r.retracted >= 4, "{r:?}");
    let after = server_copies(&s);
    let gone: Vec<_> = after
        .iter()
        .filter(|(k, _)| k.contains(ids[1].as_str()))
        .collect();
    assert!(!gone.is_empty());
    assert!(gone.iter().all(|(_, v)| v["status"] == "entered-in-error"));

    // Held: two phones disagree on a weight; nothing is sent until the bidan resolves it.
    peer_sync(a, b);
    a.record_visit(&ids[2], visit("2025-02-10", 8_700, 710), true)
        .unwrap();
    b.record_visit(&ids[2], visit("2025-02-10", 8_900, 710), true)
        .unwrap();
    peer_sync(a, b);
    let st = a.asik_status().unwrap();
    assert_eq!(st.held, 1);
    assert_eq!(
        st.waiting
            .iter()
            .find(|w| w.state == "held")
            .unwrap()
            .reason
            .as_deref(),
        Some("weight_kg")
    );
    s.reset_stats();
    sync(a, &s);
    assert_eq!(s.stats().bundles, 0, "a held visit is not sent");
    let c = a.conflicts().unwrap();
    a.resolve(&c[0].conflict_id, "8.7").unwrap();
    assert_eq!(a.asik_status().unwrap().held, 0);
    let r = sync(a, &s);
    assert_eq!(r.sent, 1);
    let after = server_copies(&s);
    let key = format!("|{}.2025-02-10.weight", ids[2]);
    assert_eq!(obs(&after, &key)[0]["valueQuantity"]["value"], 8.7);
}

#[test]
fn a_merged_duplicate_is_reconciled_not_sent_twice() {
    let s = asik_server::start().unwrap();
    let p = phones(1, TODAY);
    let t = &p[0].t;
    // Two records of one baby (same mother), each with visits sent: one of its own day, one shared.
    let keep = t.register_child(baby(5), true).unwrap().child_id;
    let mut dup_child = baby(5);
    dup_child.name = "Anak Uji Lima".into();
    let dup = t.register_child(dup_child, true).unwrap().child_id;
    t.record_visit(&keep, visit("2025-01-10", 8_000, 700), true)
        .unwrap();
    t.record_visit(&dup, visit("2025-01-10", 8_000, 700), true)
        .unwrap();
    t.record_visit(&dup, visit("2025-02-10", 8_300, 710), true)
        .unwrap();
    let r = sync(t, &s);
    assert_eq!(r.sent, 3);
    assert_eq!(
        s.resources("Patient").len(),
        1,
        "both records found the same baby"
    );
    let before = server_copies(&s).len();
    t.merge_children(&keep, &dup).unwrap();
    let r = sync(t, &s);
    assert_eq!(r.created, 0, "nothing is sent twice: {r:?}");
    let after = server_copies(&s);
    assert_eq!(after.len(), before);
    // The duplicate's copy of the shared day is entered-in-error; its own day was adopted.
    let shared_dup = format!("{}.2025-01-10", dup);
    assert!(
        after
            .iter()
            .filter(|(k, _)| k.contains(&shared_dup))
            .all(|(_, v)| v["status"] == "entered-in-error")
    );
    let own = format!("{}.2025-02-10", dup);
    assert!(
        after
            .iter()
            .filter(|(k, _)| k.contains(&own))
            .all(|(_, v)| v["status"] != "entered-in-error")
    );
    assert_eq!(t.asik_status().unwrap().pending, 0);
}

#[test]
fn an_unreachable_server_is_an_error_and_loses_nothing() {
    let p = phones(1, TODAY);
    let t = &p[0].t;
    add_children(t, 0, 2, 1);
    // A port on 127.0.0.1 that was just free and is closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let c = AsikConfig::new(
        &format!("{url}/fhir-r4/v1"),
        &format!("{url}/oauth2/v1"),
        CLIENT_ID,
        CLIENT_SECRET,
        MapConfig::for_org(ORG_ID),
    );
    let e = t
        .asik_sync(
            &UreqHttp::new(),
            &c,
            SyncReason::Periodic,
            Duration::from_secs(10),
        )
        .unwrap_err();
    assert!(
        matches!(
            e,
            timbang_core::Error::Sync {
                retryable: true,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(t.asik_status().unwrap().pending, 2);
    // Wrong credentials: not retryable, nothing lost.
    let s = asik_server::start().unwrap();
    let mut c = cfg(&s);
    c.client_secret = "salah".into();
    let e = t
        .asik_sync(
            &UreqHttp::new(),
            &c,
            SyncReason::Manual,
            Duration::from_secs(10),
        )
        .unwrap_err();
    assert!(
        matches!(
            e,
            timbang_core::Error::Sync {
                retryable: false,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(t.asik_status().unwrap().pending, 2);
}

/// 1,000 visits on three phones with overlapping copies, uploaded through random faults from a fixed
/// seed by all three in turn, with peer sessions in between: one copy of everything, nothing missing.
#[test]
fn soak_a_thousand_visits_three_phones_random_faults() {
    let s = asik_server::start().unwrap();
    let p: Vec<Phone> = phones(3, TODAY);
    // 200 children with 5 visits: phone i registers children i, i+3, … ; all then share everything.
    for (i, ph) in p.iter().enumerate() {
        let n = if i == 0 { 67 } else { 67 - (i / 2) };
        add_children(&ph.t, i * 1000, n, 5);
    }
    let total: usize = 67 + 67 + 66;
    peer_sync(&p[0].t, &p[1].t);
    peer_sync(&p[1].t, &p[2].t);
    peer_sync(&p[0].t, &p[1].t);
    let want = expected(&p[0].t, &s);
    assert_eq!(p[0].t.asik_status().unwrap().pending as usize, total * 5);
    s.random_faults(20_261_202, 0.25);
    let mut round: u32 = 0;
    loop {
        for (i, ph) in p.iter().enumerate() {
            let _ = ph.t.asik_sync(
                &UreqHttp::new(),
                &cfg(&s),
                SyncReason::Periodic,
                Duration::from_secs(20),
            );
            // A partial session now and then: the next phone hears of part of the upload.
            if round.is_multiple_of(2) {
                peer_sync(&ph.t, &p[(i + 1) % 3].t);
            }
        }
        round += 1;
        let left: u32 = p.iter().map(|ph| ph.t.asik_status().unwrap().pending).sum();
        if left == 0 || round > 12 {
            break;
        }
    }
    s.no_random_faults();
    for ph in &p {
        sync(&ph.t, &s);
    }
    let have: BTreeSet<String> = server_copies(&s).keys().cloned().collect();
    assert_eq!(have.len(), want.len());
    assert_eq!(have, want);
    assert!(s.stats().faults > 0);
    for ph in &p {
        let st = ph.t.asik_status().unwrap();
        assert_eq!((st.pending, st.rejected, st.held), (0, 0, 0));
    }
    assert_eq!(s.resources("Patient").len(), total);
}

#[test]
fn a_reassessment_resends_only_what_changed() {
    let s = asik_server::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let t = Timbang::open(
        &dir.path().join("hp.db"),
        &timbang_core::crypto::Key::make_random().unwrap(),
        std::sync::Arc::new(timbang_core::FixedDate(TODAY.parse().unwrap())),
    )
    .unwrap();
    t.init("Melati", "Sukamaju", "hp-0").unwrap();
    add_children(&t, 0, 2, 3);
    assert_eq!(sync(&t, &s).sent, 6);
    let before = server_copies(&s);
    // Another KBM table: every visit is reassessed under a new rules version. The KMS status is not
    // among the resources sent, so no z-score or status Observation changed: nothing is PUT, and the
    // visits are recorded as sent under the new version.
    let other = timbang_core::growth::KbmTable::ids()
        .into_iter()
        .find(|id| *id != timbang_core::growth::KbmTable::default_table().id())
        .unwrap();
    t.set_kbm_table(other).unwrap();
    assert_eq!(
        t.asik_status().unwrap().pending,
        6,
        "a new rules version is checked"
    );
    s.reset_stats();
    let r = sync(&t, &s);
    assert_eq!((r.sent, r.created, r.updated), (6, 0, 0));
    assert_eq!(s.stats().bundles, 0);
    assert_eq!(server_copies(&s), before);
    assert_eq!(t.asik_status().unwrap().pending, 0);
}
