//! The relay through a real S3-compatible object store (OpenStack Swift with s3api on 127.0.0.1): phones
//! of one team that never meet converge, the bucket reveals nothing, another team gets nothing, a
//! tampered object is refused by name, failures lose nothing, and compaction keeps a fresh phone's pull
//! near the size of the data while a phone away for months still converges.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod relay_common;

use common::*;
use relay_common::swift;
use timbang_core::api::RelayReport;
use timbang_core::crypto::Key;
use timbang_core::domain::{ChildId, NewChild, Sex};
use timbang_core::host::UreqHttp;
use timbang_core::relay::{Bundle, RelayKeys, S3Config};
use timbang_core::{Error, Timbang};

const NAMES: [&str; 3] = [
    "Zulaikha Kartosoewirjo",
    "Bagaskara Wiratmadja",
    "Cempaka Purbasari",
];
const NIKS: [&str; 3] = ["3273015705230007", "3273011203240003", "3273016111230005"];
const MOTHERS: [&str; 3] = [
    "Wilhelmina Sastrodiharjo",
    "Kusumawardhani Reksoprodjo",
    "Larasati Mangkunegoro",
];

fn distinctive(i: usize) -> NewChild {
    NewChild {
        name: NAMES[i].into(),
        sex: if i == 1 { Sex::Male } else { Sex::Female },
        birth_date: d(["2023-05-17", "2024-03-12", "2023-11-21"][i]),
        nik: Some(NIKS[i].into()),
        kk: None,
        mother_name: Some(MOTHERS[i].into()),
        mother_nik: None,
        address: Some("Gang Kenari Lestari 17".into()),
    }
}

/// A second phone of `first`'s team (the pairing code only: the two never sync directly).
fn second(first: &Phone, name: &str) -> Phone {
    let code = first.t.team_invite().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("timbang.db");
    let key = Key::make_random().unwrap();
    let t = open(&path, &key);
    t.team_join(&code, name).unwrap();
    Phone { dir, path, key, t }
}

/// The first phone of a posyandu, with its team made.
fn first(name: &str) -> Phone {
    let p = phone(name);
    p.t.team_invite().unwrap();
    p
}

fn sync(t: &Timbang, config: &S3Config) -> RelayReport {
    t.relay_sync(config, &UreqHttp::new()).unwrap()
}

fn register(t: &Timbang, c: NewChild, visits: &[(&str, u32)]) -> ChildId {
    let id = t.register_child(c, true).unwrap().child_id;
    for (date, w) in visits {
        t.record_visit(&id, weighing(date, *w, Some(700)), true)
            .unwrap();
    }
    id
}

/// Everything a phone shows of its children (ids, identity, visits), comparable across phones.
fn shown(t: &Timbang) -> String {
    let mut rows: Vec<String> = t
        .village_list()
        .unwrap()
        .into_iter()
        .map(|r| {
            let c = t.child(&r.child_id).unwrap();
            format!(
                "{} {} {:?} {:?} {:?}",
                c.child_id.as_str(),
                c.name,
                c.nik,
                c.mother_name,
                c.visits
                    .iter()
                    .map(|v| (v.date, v.weight_kg))
                    .collect::<Vec<_>>()
            )
        })
        .collect();
    rows.sort();
    rows.join("\n")
}

#[test]
fn two_phones_that_never_meet_converge_and_a_value_entered_on_the_second_arrives_on_the_first() {
    let Some(sw) = swift() else { return };
    let bucket = sw.new_bucket();
    let a = first("hp-kader");
    let b = second(&a, "hp-bidan");
    let siti = register(
        &a.t,
        distinctive(0),
        &[("2025-04-15", 9_800), ("2025-05-15", 10_000)],
    );
    register(&a.t, distinctive(1), &[("2025-05-15", 6_500)]);
    register(&b.t, distinctive(2), &[("2025-06-01", 8_100)]);

    let first = sync(&a.t, &bucket);
    assert_eq!(first.pushed, 2, "{first:?}");
    assert_eq!(first.pulled, 0);
    let second_ = sync(&b.t, &bucket);
    assert_eq!((second_.pushed, second_.pulled), (1, 2), "{second_:?}");
    let third = sync(&a.t, &bucket);
    assert_eq!(third.pulled, 1, "{third:?}");
    assert_eq!(a.t.village_list().unwrap().len(), 3);
    assert_eq!(shown(&a.t), shown(&b.t));

    // The bidan weighs Siti at home; the kader's phone gets it through the bucket.
    b.t.record_visit(&siti, weighing("2025-06-10", 10_250, Some(712)), true)
        .unwrap();
    assert_eq!(sync(&b.t, &bucket).pushed, 1);
    let got = sync(&a.t, &bucket);
    assert_eq!(got.pulled, 1, "{got:?}");
    let visits = a.t.child(&siti).unwrap().visits;
    assert!(
        visits
            .iter()
            .any(|v| v.date == d("2025-06-10") && v.weight_kg == Some(10.25)),
        "{visits:?}"
    );
    assert_eq!(shown(&a.t), shown(&b.t));
    // Nothing changed since: one list request, nothing fetched.
    let idle = sync(&a.t, &bucket);
    assert_eq!(
        (idle.pushed, idle.pulled, idle.objects, idle.requests),
        (0, 0, 0, 1),
        "{idle:?}"
    );
}

#[test]
fn nothing_in_the_bucket_holds_a_name_nik_posyandu_or_village() {
    let Some(sw) = swift() else { return };
    let bucket = sw.new_bucket();
    let a = first("hp-kader");
    let b = second(&a, "hp-bidan");
    for i in 0..3 {
        register(&a.t, distinctive(i), &[("2025-05-15", 9_000)]);
    }
    sync(&a.t, &bucket);
    register(&b.t, child("Anak Kedua", Sex::Male, "2024-01-01"), &[]);
    sync(&b.t, &bucket);
    // Bundles of changes, then (after compaction) snapshots: all of them checked.
    let mut objects = sw.dump(&bucket);
    assert_eq!(objects.len(), 2);
    assert!(
        b.t.relay_sync_compact(&bucket, &UreqHttp::new())
            .unwrap()
            .compacted
    );
    let snapshots = sw.dump(&bucket);
    assert_eq!(snapshots.len(), 1);
    objects.extend(snapshots);
    let secrets: Vec<&str> = NAMES
        .iter()
        .chain(&NIKS)
        .chain(&MOTHERS)
        .copied()
        .chain([
            "Posyandu Melati",
            "Sukamaju",
            "Kenari",
            "hp-kader",
            "hp-bidan",
        ])
        .collect();
    for (key, body) in &objects {
        for s in &secrets {
            assert!(!key.contains(s), "{key} names {s}");
            let lower = s.to_lowercase();
            assert!(
                !body
                    .windows(s.len())
                    .any(|w| w == s.as_bytes() || w.to_ascii_lowercase() == lower.as_bytes()),
                "object {key} holds {s}"
            );
        }
    }
    // The bodies do carry the children (sealed): opened with the team's keys, the names are there.
    let code = a.t.team_invite().unwrap();
    let team = timbang_core::peer::parse_invite_code(&code).unwrap().team;
    let keys = RelayKeys::new(&team);
    let mut seen = String::new();
    for (key, body) in &objects {
        let bundle = Bundle::decode(&keys.open(key, body).unwrap()).unwrap();
        for (_, bytes) in bundle.docs {
            let mut doc = automerge::Automerge::new();
            doc.load_incremental(&bytes).unwrap();
            seen.push_str(&serde_json::to_string(&automerge::AutoSerde::from(&doc)).unwrap());
        }
    }
    for name in NAMES {
        assert!(seen.contains(name), "{name} not in the opened bundles");
    }
}

#[test]
fn a_phone_of_another_team_on_the_same_bucket_receives_nothing() {
    let Some(sw) = swift() else { return };
    let bucket = sw.new_bucket();
    let a = first("hp-melati");
    register(&a.t, distinctive(0), &[("2025-05-15", 9_000)]);
    sync(&a.t, &bucket);
    let other = first("hp-mawar");
    register(&other.t, distinctive(1), &[("2025-05-15", 6_000)]);
    let r = sync(&other.t, &bucket);
    assert_eq!((r.pulled, r.refused.len()), (0, 0), "{r:?}");
    assert_eq!(other.t.village_list().unwrap().len(), 1);
    let back = sync(&a.t, &bucket);
    assert_eq!((back.pulled, back.refused.len()), (0, 0), "{back:?}");
    assert_eq!(a.t.village_list().unwrap().len(), 1);
    // Both teams' objects are in the bucket, under different prefixes.
    let keys: Vec<String> = sw.dump(&bucket).into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
    let prefix = |k: &String| k.split('/').nth(1).unwrap().to_owned();
    assert_ne!(prefix(&keys[0]), prefix(&keys[1]));
}

#[test]
fn a_tampered_or_garbled_object_is_refused_by_name_and_the_rest_arrives() {
    let Some(sw) = swift() else { return };
    let bucket = sw.new_bucket();
    let a = first("hp-kader");
    let b = second(&a, "hp-bidan");
    register(&a.t, distinctive(0), &[("2025-05-15", 9_000)]);
    sync(&a.t, &bucket);
    register(&a.t, distinctive(1), &[("2025-05-15", 6_000)]);
    sync(&a.t, &bucket);
    register(&a.t, distinctive(2), &[("2025-05-15", 8_000)]);
    sync(&a.t, &bucket);
    let objects = sw.dump(&bucket);
    assert_eq!(objects.len(), 3);
    // One body altered by a byte, one replaced with garbage.
    let (tampered, mut body) = objects[0].clone();
    let mid = body.len() / 2;
    body[mid] ^= 0x40;
    sw.overwrite(&bucket, &tampered, body);
    let garbled = objects[1].0.clone();
    sw.overwrite(&bucket, &garbled, b"not a bundle at all".to_vec());

    let r = sync(&b.t, &bucket);
    let mut refused = r.refused.clone();
    refused.sort();
    let mut expected = vec![tampered.clone(), garbled.clone()];
    expected.sort();
    assert_eq!(refused, expected, "{r:?}");
    assert_eq!(r.pulled, 1);
    let list = b.t.village_list().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(b.t.child(&list[0].child_id).unwrap().name, NAMES[2]);
    // The error names the key for the host too.
    assert!(tampered.starts_with("tb1/"));
}

#[test]
fn wrong_credentials_a_missing_bucket_or_an_unreachable_store_fail_in_one_sentence_and_lose_nothing()
 {
    let Some(sw) = swift() else { return };
    let bucket = sw.new_bucket();
    let a = first("hp-kader");
    register(&a.t, distinctive(0), &[("2025-05-15", 9_000)]);
    let before = shown(&a.t);
    let http = UreqHttp::new();

    let mut wrong = bucket.clone();
    wrong.secret_key = "not-the-secret".into();
    let e = a.t.relay_sync(&wrong, &http).unwrap_err();
    assert!(matches!(e, Error::Sync { .. }), "{e:?}");
    assert!(e.to_string().contains("refused the access key"), "{e}");
    assert!(!e.to_string().contains("not-the-secret"));
    assert!(e.message_id().contains("kunci akses"), "{}", e.message_id());

    let mut unknown_key = bucket.clone();
    unknown_key.access_key = "nobody:nobody".into();
    let e = a.t.relay_sync(&unknown_key, &http).unwrap_err();
    assert!(e.to_string().contains("refused the access key"), "{e}");

    let missing = sw.config("no-such-bucket-here");
    let e = a.t.relay_sync(&missing, &http).unwrap_err();
    assert!(e.to_string().contains("bucket does not exist"), "{e}");
    assert!(e.message_id().contains("Bucket"), "{}", e.message_id());

    // A closed port on 127.0.0.1.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut closed = bucket.clone();
    closed.url = format!("http://127.0.0.1:{port}");
    let e = a.t.relay_sync(&closed, &http).unwrap_err();
    assert!(e.to_string().contains("could not be reached"), "{e}");
    assert!(e.is_retryable());
    assert!(e.message_id().contains("tidak bisa dihubungi"));

    // Nothing lost: the data is as it was, and the next sync with the right settings pushes it all.
    assert_eq!(shown(&a.t), before);
    assert!(sw.dump(&bucket).is_empty());
    assert_eq!(sync(&a.t, &bucket).pushed, 1);
    let b = second(&a, "hp-bidan");
    sync(&b.t, &bucket);
    assert_eq!(shown(&b.t), before);
}

#[test]
fn compaction_keeps_a_fresh_pull_small_and_a_phone_away_for_months_still_converges() {
    let Some(sw) = swift() else { return };
    let bucket = sw.new_bucket();
    let a = first("hp-kader");
    let b = second(&a, "hp-kader-2");
    let away = second(&a, "hp-bidan");
    let siti = register(&a.t, distinctive(0), &[("2025-01-15", 9_000)]);
    sync(&a.t, &bucket);
    sync(&b.t, &bucket);
    sync(&away.t, &bucket);
    assert_eq!(away.t.village_list().unwrap().len(), 1);
    // The bidan enters a visit and then is away (no sync) while the two kader phones sync for months.
    away.t
        .record_visit(&siti, weighing("2025-02-01", 9_100, Some(705)), true)
        .unwrap();
    let mut compactions = 0;
    for month in 0..40u32 {
        let date = format!("2025-{:02}-{:02}", 2 + month / 10, 10 + month % 10);
        let t = if month % 2 == 0 { &a.t } else { &b.t };
        t.record_visit(&siti, weighing(&date, 9_200 + 10 * month, Some(710)), true)
            .unwrap();
        if month % 5 == 0 {
            let id = t
                .register_child(
                    child(&format!("Anak Bulan {month}"), Sex::Male, "2024-09-01"),
                    true,
                )
                .unwrap()
                .child_id;
            t.record_visit(&id, weighing(&date, 7_000, Some(690)), true)
                .unwrap();
        }
        for _ in 0..2 {
            let r = sync(t, &bucket);
            compactions += u32::from(r.compacted);
        }
    }
    assert!(compactions >= 1, "no compaction happened");
    let listed = sw.dump(&bucket);
    assert!(
        listed.len() <= timbang_core::api::COMPACT_AT + 1,
        "{} objects",
        listed.len()
    );
    // The phone away for months pushes its old visit and gets everything.
    sync(&away.t, &bucket);
    sync(&a.t, &bucket);
    sync(&b.t, &bucket);
    sync(&away.t, &bucket);
    assert_eq!(shown(&a.t), shown(&away.t));
    assert_eq!(shown(&a.t), shown(&b.t));
    assert!(
        a.t.child(&siti)
            .unwrap()
            .visits
            .iter()
            .any(|v| v.date == d("2025-02-01"))
    );
    // A fresh phone after a compaction pulls about the size of the data, not of its history.
    a.t.relay_sync_compact(&bucket, &UreqHttp::new()).unwrap();
    let stored: usize = sw.dump(&bucket).iter().map(|(_, b)| b.len()).sum();
    let fresh = second(&a, "hp-baru");
    let r = sync(&fresh.t, &bucket);
    assert_eq!(shown(&fresh.t), shown(&a.t));
    assert!(
        r.bytes <= stored as u64 + 4_096,
        "fresh pull {} bytes, bucket holds {stored}",
        r.bytes
    );
}

/// The real HTTP client, with the host's interrupt pressed once `after` GETs of objects have answered.
#[derive(Debug)]
struct InterruptAfter {
    inner: UreqHttp,
    handle: timbang_core::InterruptHandle,
    after: usize,
    gets: std::sync::atomic::AtomicUsize,
}

impl timbang_core::host::HttpClient for InterruptAfter {
    fn send(
        &self,
        request: timbang_core::host::HttpRequest,
    ) -> Result<timbang_core::host::HttpResponse, timbang_core::host::HttpError> {
        let is_get = request.method == "GET" && !request.url.contains("list-type=2");
        let resp = self.inner.send(request);
        if is_get && self.gets.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1 == self.after {
            self.handle.interrupt();
        }
        resp
    }
}

#[test]
fn an_interrupted_pull_applies_nothing_half_and_the_next_sync_finishes() {
    let Some(sw) = swift() else { return };
    let bucket = sw.new_bucket();
    let a = first("hp-kader");
    for i in 0..3 {
        register(&a.t, distinctive(i), &[("2025-05-15", 9_000)]);
        sync(&a.t, &bucket);
    }
    let b = second(&a, "hp-bidan");
    let http = InterruptAfter {
        inner: UreqHttp::new(),
        handle: b.t.interrupt_handle(),
        after: 2,
        gets: Default::default(),
    };
    let r = b.t.relay_sync(&bucket, &http);
    assert!(matches!(r, Err(Error::Interrupted)), "{r:?}");
    // Stopped at once: no third object fetched, and nothing of the group stored half way.
    assert_eq!(http.gets.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert!(b.t.village_list().unwrap().is_empty());
    // Running it again finishes the job.
    let again = sync(&b.t, &bucket);
    assert_eq!((again.pulled, again.refused.len()), (3, 0), "{again:?}");
    assert_eq!(shown(&b.t), shown(&a.t));
}

#[test]
fn a_bidan_in_two_teams_moves_each_teams_changes_only_to_that_teams_phones() {
    let Some(sw) = swift() else { return };
    let bucket = sw.new_bucket();
    let a = first("hp-a");
    register(&a.t, distinctive(0), &[("2025-05-15", 9_800)]);
    let b = {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("timbang.db");
        let key = Key::make_random().unwrap();
        let t = open(&path, &key);
        t.init("Posyandu Mawar", "Sukamaju", "hp-b").unwrap();
        t.team_invite().unwrap();
        Phone { dir, path, key, t }
    };
    register(&b.t, distinctive(1), &[("2025-05-15", 6_500)]);
    let bidan = second(&a, "hp-bidan");
    bidan.t.team_add(&b.t.team_invite().unwrap()).unwrap();
    assert_eq!(bidan.t.team_list().unwrap().len(), 2);

    sync(&a.t, &bucket);
    sync(&b.t, &bucket);
    let r = sync(&bidan.t, &bucket);
    assert_eq!(r.pulled, 2, "{r:?}");
    assert_eq!(bidan.t.village_list().unwrap().len(), 2);
    let reg = timbang_core::domain::Registration {
        posyandu: Some("Posyandu Mawar".into()),
        ..Default::default()
    };
    bidan
        .t
        .register_child_with(distinctive(2), reg, true)
        .unwrap();
    let r = sync(&bidan.t, &bucket);
    assert_eq!(r.pushed, 1, "{r:?}");
    assert_eq!(
        sync(&a.t, &bucket).pulled,
        0,
        "team A gets nothing of team B"
    );
    assert_eq!(a.t.village_list().unwrap().len(), 1);
    assert_eq!(sync(&b.t, &bucket).pulled, 1);
    let mut got: Vec<String> =
        b.t.village_list()
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .collect();
    got.sort();
    assert_eq!(got, [NAMES[1], NAMES[2]]);
}
