//! Sync sessions between two stores: convergence, cost, refusal and resumption.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod peer_common;

use peer_common::*;
use std::net::TcpListener;
use timbang_core::peer::memory::MemoryStore;
use timbang_core::peer::pipe::{self, FailAfter, FlipByte};
use timbang_core::peer::{
    PeerError, Role, SecureChannel, SessionConfig, SyncStats, SyncStore, TeamSecret, run_session,
};

/// A: children 0..12, B: children 6..18; 6..12 are shared, and 8..12 were edited on both phones the
/// same morning (8 and 9 even the same visit with different weights: a conflict both must keep).
fn overlapping_stores() -> (MemoryStore, MemoryStore) {
    let mut a = store_with(0..12, 3);
    let mut b = store_with(12..18, 2);
    for n in 6..12 {
        let doc = a.get(&child_id(n)).unwrap();
        b.put(&child_id(n), &doc.fork());
    }
    for n in 8..12 {
        let mut da = a.get(&child_id(n)).unwrap().fork();
        let mut db = b.get(&child_id(n)).unwrap().fork();
        add_visit(&mut da, "2024-06-03", 9_100);
        add_visit(
            &mut db,
            if n < 10 { "2024-06-03" } else { "2024-07-01" },
            9_300,
        );
        a.put(&child_id(n), &da);
        b.put(&child_id(n), &db);
    }
    (a, b)
}

/// Pair over `stream` and run one session as `role`: (the other device's id, the stats).
fn tcp_session(
    stream: std::net::TcpStream,
    team: &TeamSecret,
    me: &str,
    store: &mut dyn SyncStore,
    role: Role,
) -> Result<(String, SyncStats), PeerError> {
    let (mut ch, peer) = match role {
        Role::Client => SecureChannel::connect(stream, team, me)?,
        Role::Server => SecureChannel::accept(stream, team, me)?,
    };
    let stats = run_session(&mut ch, store, &peer, role, &SessionConfig::default())?;
    Ok((peer, stats))
}

#[test]
fn disjoint_overlapping_and_concurrent_docs_converge_in_one_session_over_tcp() {
    let team = TeamSecret::make().unwrap();
    let (mut a, mut b) = overlapping_stores();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, server) = std::thread::scope(|s| {
        let team2 = team.clone();
        let b = &mut b;
        let srv = s.spawn(move || {
            let (stream, _) = listener.accept()?;
            tcp_session(stream, &team2, "hp-bidan", b, Role::Server)
        });
        let stream = std::net::TcpStream::connect(addr).unwrap();
        let cl = tcp_session(stream, &team, "hp-kader", &mut a, Role::Client);
        (cl.unwrap(), srv.join().unwrap().unwrap())
    });
    assert_eq!(client.0, "hp-bidan");
    assert_eq!(server.0, "hp-kader");
    assert!(client.1.completed && server.1.completed);
    assert_eq!(a.len(), 18);
    assert_converged(&a, &b);
    // 0..6 and 8..12 reached B; 12..18 and 8..12 reached A.
    assert_eq!(server.1.docs_received, 10);
    assert_eq!(client.1.docs_received, 10);
    assert_eq!(client.1.sent_bytes, server.1.received_bytes);
    // The concurrent weights of the same visit are both kept (a conflict for the bidan).
    let doc = a.get(&child_id(8)).unwrap();
    let visits = doc.get(automerge::ROOT, "visits").unwrap().unwrap().1;
    use automerge::ReadDoc;
    assert_eq!(doc.get_all(&visits, "2024-06-03").unwrap().len(), 2);
    // Child 10 has both visits, merged field by field.
    let doc = b.get(&child_id(10)).unwrap();
    let visits = doc.get(automerge::ROOT, "visits").unwrap().unwrap().1;
    assert_eq!(doc.keys(&visits).count(), 5);

    // A second session finds nothing to do and costs little.
    let (c, s) = sync_pair(&mut a, &mut b, &team);
    assert_eq!(
        (
            c.docs_received,
            s.docs_received,
            c.docs_stored,
            s.docs_stored
        ),
        (0, 0, 0, 0)
    );
    assert!(c.sent_bytes + c.received_bytes < 600, "{c:?}");
}

#[test]
fn either_side_may_dial_and_empty_stores_are_fine() {
    let team = TeamSecret::make().unwrap();
    let (mut a, mut b) = overlapping_stores();
    let (c, s) = sync_pair(&mut b, &mut a, &team);
    assert!(c.completed && s.completed);
    assert_converged(&a, &b);
    let mut e1 = MemoryStore::default();
    let mut e2 = MemoryStore::default();
    sync_pair(&mut e1, &mut e2, &team);
    assert!(e1.is_empty() && e2.is_empty());
    // An empty phone pulls everything, an empty server receives everything.
    let mut fresh = MemoryStore::default();
    sync_pair(&mut fresh, &mut a, &team);
    assert_converged(&fresh, &a);
    let mut fresh = MemoryStore::default();
    sync_pair(&mut a, &mut fresh, &team);
    assert_converged(&fresh, &a);
}

#[test]
fn agreeing_stores_with_5000_children_exchange_under_1kb() {
    let team = TeamSecret::make().unwrap();
    let mut a = MemoryStore::default();
    for n in 0..5000 {
        a.put(&child_id(n), &child_doc(n, 1));
    }
    let mut b = a.clone();
    let (c, s) = sync_pair(&mut a, &mut b, &team);
    let total = c.sent_bytes + c.received_bytes;
    assert!(total < 1024, "agreeing phones exchanged {total} bytes");
    assert_eq!(total, s.sent_bytes + s.received_bytes);
    assert_eq!(
        (a.load_calls, b.load_calls),
        (0, 0),
        "agreeing phones load no document"
    );

    // One child differs: still small (buckets, then a few dozen heads, then automerge sync of one doc).
    let mut doc = b.get(&child_id(4321)).unwrap();
    add_visit(&mut doc, "2024-08-15", 10_200);
    b.put(&child_id(4321), &doc);
    let (c, _) = sync_pair(&mut a, &mut b, &team);
    assert_eq!(c.docs_received, 1);
    assert_eq!(a.heads_of(&child_id(4321)), b.heads_of(&child_id(4321)));
    assert!(c.sent_bytes + c.received_bytes < 8 * 1024, "{c:?}");
}

#[test]
fn a_tampered_frame_stops_the_session_and_changes_nothing() {
    let team = TeamSecret::make().unwrap();
    let (mut a, mut b) = overlapping_stores();
    let (a0, b0) = (a.all_heads(), b.all_heads());
    // Client hello 67 bytes (device id "phone-client"), proof 37: flip a byte inside the summary.
    let (p, q) = pipe::duplex();
    let (c, s) = session_over(&mut a, &mut b, FlipByte::new(p, 67 + 37 + 10), q, &team);
    assert!(matches!(s, Err(PeerError::Tampered)), "{s:?}");
    assert!(c.is_err());
    assert_eq!((a.all_heads(), b.all_heads()), (a0.clone(), b0.clone()));
    assert_eq!((a.store_calls, b.store_calls), (0, 0));
    // The same in the other direction, later: inside the server's plan (after its hello and proof,
    // the bucket hashes and the fine hashes; a flipped length prefix would only make the reader wait).
    let (p, q) = pipe::duplex();
    let (c, s) = session_over(&mut a, &mut b, p, FlipByte::new(q, 67 + 16 + 210), &team);
    assert!(matches!(c, Err(PeerError::Tampered)), "{c:?}");
    assert!(s.is_err());
    assert_eq!((a.all_heads(), b.all_heads()), (a0, b0));
}

#[test]
fn an_unpaired_peer_gets_no_data() {
    let team = TeamSecret::make().unwrap();
    let (a, mut b) = overlapping_stores();
    let (a0, b0) = (a.all_heads(), b.all_heads());
    let stranger = TeamSecret::make().unwrap();
    std::thread::scope(|s| {
        let (p, q) = pipe::duplex();
        let b = &mut b;
        let team = &team;
        let srv = s.spawn(move || {
            let (mut ch, peer) = timbang_core::peer::SecureChannel::accept(q, team, "hp-bidan")?;
            timbang_core::peer::sync_as_server(&mut ch, b, &peer)
        });
        let cl = timbang_core::peer::SecureChannel::connect(p, &stranger, "hp-asing");
        assert!(matches!(cl, Err(PeerError::NotPaired)));
        assert!(matches!(srv.join().unwrap(), Err(PeerError::NotPaired)));
    });
    assert_eq!((a.all_heads(), b.all_heads()), (a0, b0));
    assert_eq!(b.load_calls, 0);
}

#[test]
fn a_dropped_connection_resumes_without_starting_over() {
    let team = TeamSecret::make().unwrap();
    let source = store_with(0..600, 6);
    // What a full pull costs.
    let mut fresh = MemoryStore::default();
    let mut src = source.clone();
    let (full, _) = sync_pair(&mut fresh, &mut src, &team);
    let full_bytes = full.received_bytes + full.sent_bytes;

    // The server's link drops after ~90% of that (frames are 256 KiB: the first frame arrived).
    let mut phone = MemoryStore::default();
    let mut src = source.clone();
    let (p, q) = pipe::duplex();
    let limit = (full.received_bytes as usize) * 9 / 10;
    let (c, s) = session_over(&mut phone, &mut src, p, FailAfter::new(q, limit), &team);
    assert!(matches!(c, Err(PeerError::Closed)), "{c:?}");
    assert!(matches!(s, Err(PeerError::Io(_))), "{s:?}");
    let kept = phone.len();
    assert!(
        (200..600).contains(&kept),
        "kept {kept} documents; full pull {full:?}; {c:?}"
    );

    let (again, _) = sync_pair(&mut phone, &mut src, &team);
    assert_converged(&phone, &source);
    let resumed = again.received_bytes + again.sent_bytes;
    assert!(
        resumed < full_bytes,
        "resumed {resumed} vs full {full_bytes}"
    );
    assert_eq!(again.docs_received, 600 - kept);
    assert!(
        phone.largest_store_batch <= 200,
        "{}",
        phone.largest_store_batch
    );
}

#[test]
fn fresh_pull_costs_little_more_than_the_saved_documents() {
    let team = TeamSecret::make().unwrap();
    let mut source = store_with(0..200, 24);
    let mut fresh = MemoryStore::default();
    let (c, _) = sync_pair(&mut fresh, &mut source, &team);
    assert_converged(&fresh, &source);
    let saved = source.saved_bytes() as u64;
    assert!(
        c.received_bytes + c.sent_bytes < saved * 3 / 2,
        "{c:?} vs {saved}"
    );
    assert_eq!(c.docs_received, 200);
}

/// Documents the other phone lacks go out as the store keeps them (its full saves): the serving
/// phone loads none of them into automerge, and the fresh one still ends with every document.
#[test]
fn documents_sent_whole_go_as_stored_without_being_loaded() {
    let team = TeamSecret::make().unwrap();
    let mut source = store_with(0..200, 24);
    let mut fresh = MemoryStore::default();
    source.load_calls = 0;
    let (c, _) = sync_pair(&mut fresh, &mut source, &team);
    assert_converged(&fresh, &source);
    assert_eq!(c.docs_received, 200);
    assert_eq!(
        source.load_calls, 0,
        "the server loaded documents it sent whole"
    );
}

/// After a posyandu morning (50 of 1,000 children weighed on the serving phone) the other phone,
/// only behind, lists the heads of few more documents than changed and gets the changes in the
/// server's first turn: no automerge sync round per document.
#[test]
fn a_phone_only_behind_gets_a_morning_of_changes_cheaply() {
    let team = TeamSecret::make().unwrap();
    let mut b = store_with(0..1000, 6);
    let mut a = b.clone();
    for n in (0..1000).step_by(20) {
        let mut doc = b.get(&child_id(n)).unwrap();
        add_visit(&mut doc, "2024-08-15", 10_200);
        b.put(&child_id(n), &doc);
    }
    let (c, s) = sync_pair(&mut a, &mut b, &team);
    assert_converged(&a, &b);
    assert_eq!(c.docs_received, 50);
    eprintln!("client {c:?}\nserver {s:?}");
    // Summary, differing buckets, heads, then one turn each way, the finish and the verify.
    assert!(c.rounds <= 6, "{c:?}");
    // The two stores never synced: no checkpoint to start from.
    assert!(!c.used_checkpoint && c.verified, "{c:?}");
    // With one level of 32-document buckets the client listed about 800 documents' heads (56 KB).
    assert!(c.sent_bytes < 12 * 1024, "{c:?}");
    assert!(s.sent_bytes < 16 * 1024, "{s:?}");
}

/// A phone that synced with the serving phone before starts from the checkpoint that session left:
/// after 50 of 1,000 children were weighed there, it is told the 50 by number and answers with their
/// heads only, with no bucket hashes (the same morning from no checkpoint costs twice the bytes).
#[test]
fn a_morning_after_a_verified_session_costs_by_the_changes() {
    let team = TeamSecret::make().unwrap();
    let mut server = store_with(0..1000, 6);
    let mut phone = MemoryStore::default();
    let (first, _) = sync_pair(&mut phone, &mut server, &team);
    assert!(first.verified && !first.used_checkpoint, "{first:?}");
    assert!(phone.checkpoint_of("phone-server").is_some());
    let mut without = phone.clone();
    without.set_checkpoint("phone-server", None).unwrap();
    for n in (0..1000).step_by(20) {
        let mut doc = server.get(&child_id(n)).unwrap();
        add_visit(&mut doc, "2024-08-15", 10_200);
        server.put(&child_id(n), &doc);
    }
    let mut server_again = server.clone();
    let (c, s) = sync_pair(&mut phone, &mut server, &team);
    assert_converged(&phone, &server);
    eprintln!("from the checkpoint: client {c:?}\nserver {s:?}");
    assert!(c.used_checkpoint && !c.fell_back && c.verified, "{c:?}");
    assert!(s.used_checkpoint && !s.fell_back && s.verified, "{s:?}");
    assert_eq!(c.docs_received, 50);
    let (b, _) = sync_pair(&mut without, &mut server_again, &team);
    assert_converged(&without, &server_again);
    eprintln!("by buckets: client {b:?}");
    assert!(!b.used_checkpoint, "{b:?}");
    let total = |x: &SyncStats| x.sent_bytes + x.received_bytes;
    assert!(total(&c) * 2 < total(&b), "{c:?} against {b:?}");
    // And now nothing is left: one round trip.
    let (c, _) = sync_pair(&mut phone, &mut server, &team);
    assert_eq!((c.rounds, c.docs_received, c.docs_sent), (1, 0, 0), "{c:?}");
}

/// Changes on both phones since their checkpoint: the client lists its own with its summary, the
/// server asks only for the heads of the rest; a document changed on both merges.
#[test]
fn changes_on_both_sides_since_the_checkpoint_all_cross() {
    let team = TeamSecret::make().unwrap();
    let mut server = store_with(0..300, 4);
    let mut phone = MemoryStore::default();
    sync_pair(&mut phone, &mut server, &team);
    for n in [3, 7, 11] {
        let mut doc = phone.get(&child_id(n)).unwrap();
        add_visit(&mut doc, "2024-09-01", 9_000);
        phone.put(&child_id(n), &doc);
    }
    for n in [11, 40] {
        let mut doc = server.get(&child_id(n)).unwrap();
        add_visit(&mut doc, "2024-09-02", 9_100);
        server.put(&child_id(n), &doc);
    }
    let new_here = child_doc(500, 1);
    phone.put(&child_id(500), &new_here);
    let new_there = child_doc(501, 2);
    server.put(&child_id(501), &new_there);
    let (c, s) = sync_pair(&mut phone, &mut server, &team);
    assert_converged(&phone, &server);
    assert!(c.used_checkpoint && !c.fell_back && c.verified, "{c:?}");
    assert_eq!(phone.len(), 302);
    let merged = json(&phone.get(&child_id(11)).unwrap());
    assert!(
        merged.contains("2024-09-01") && merged.contains("2024-09-02"),
        "{merged}"
    );
    assert_eq!((c.docs_sent, s.docs_sent), (4, 3), "{c:?} {s:?}");

    // Only the client changed: the server plans at once, with no list to ask about.
    let mut doc = phone.get(&child_id(5)).unwrap();
    add_visit(&mut doc, "2024-10-01", 9_300);
    phone.put(&child_id(5), &doc);
    let (c, _) = sync_pair(&mut phone, &mut server, &team);
    assert_converged(&phone, &server);
    assert!(c.used_checkpoint && c.verified && !c.fell_back, "{c:?}");
}

/// A checkpoint promises nothing the session does not check: the serving phone restored from an
/// older copy of itself (same epoch, its numbers given out again to other writes) leaves the stores
/// different after the listed documents crossed, and the session goes on by buckets to the end.
#[test]
fn a_serving_phone_restored_from_a_copy_is_caught_by_the_verify() {
    let team = TeamSecret::make().unwrap();
    let mut server = store_with(0..200, 3);
    let copy = server.clone();
    for n in 0..10 {
        let mut doc = server.get(&child_id(n)).unwrap();
        add_visit(&mut doc, "2024-09-05", 9_500);
        server.put(&child_id(n), &doc);
    }
    let mut phone = MemoryStore::default();
    sync_pair(&mut phone, &mut server, &team);
    assert!(phone.checkpoint_of("phone-server").is_some());
    // The serving phone goes back to the copy and records as many writes elsewhere: its numbers
    // pass the checkpoint again, but the 10 weighings the phone holds are not among them.
    let mut restored = copy;
    for n in 100..110 {
        let mut doc = restored.get(&child_id(n)).unwrap();
        add_visit(&mut doc, "2024-09-06", 9_600);
        restored.put(&child_id(n), &doc);
    }
    restored.put(&child_id(300), &child_doc(300, 1));
    // A child the phone holds a later weighing of than the copy does: the phone's heads name a
    // change the restored phone lacks, and automerge sync merges the two.
    let mut doc = restored.get(&child_id(3)).unwrap();
    add_visit(&mut doc, "2024-09-07", 9_700);
    restored.put(&child_id(3), &doc);
    let (c, s) = sync_pair(&mut phone, &mut restored, &team);
    assert_converged(&phone, &restored);
    assert!(c.used_checkpoint && c.fell_back && c.verified, "{c:?}");
    assert!(s.fell_back, "{s:?}");
    assert_eq!(restored.len(), 201);
    let three = json(&restored.get(&child_id(3)).unwrap());
    assert!(
        three.contains("2024-09-05") && three.contains("2024-09-07"),
        "{three}"
    );
}

/// A checkpoint naming another store's numbering (another phone answering under the same name) is
/// not used: the session compares buckets.
#[test]
fn a_checkpoint_of_another_store_is_not_used() {
    let team = TeamSecret::make().unwrap();
    let mut first = store_with(0..100, 2);
    let mut phone = MemoryStore::default();
    sync_pair(&mut phone, &mut first, &team);
    let mut other = store_with(50..150, 2);
    // Its numbers pass the checkpoint's: only the epoch tells the two stores apart.
    for _ in 0..300 {
        other.put(&child_id(60), &child_doc(60, 3));
    }
    let (c, _) = sync_pair(&mut phone, &mut other, &team);
    assert_converged(&phone, &other);
    assert!(!c.used_checkpoint && c.verified, "{c:?}");
}

/// Session version 3 deflates messages: a fresh pull of 200 children moves far fewer bytes than their
/// saved documents (version 2 moved about 1.03 times them).
#[test]
fn a_fresh_pull_travels_deflated() {
    let team = TeamSecret::make().unwrap();
    let mut source = store_with(0..200, 24);
    let mut fresh = MemoryStore::default();
    let (c, _) = sync_pair(&mut fresh, &mut source, &team);
    assert_converged(&fresh, &source);
    let saved = source.saved_bytes() as u64;
    eprintln!("received {} of {saved} saved", c.received_bytes);
    assert!(c.received_bytes < saved * 3 / 4, "{c:?} vs {saved}");
}

/// Run the first steps of a session by hand against a real server holding 300 children, as a phone
/// speaking session `version`: summary (no documents), every bucket differs, no heads, an empty turn.
/// Returns the messages the server sent (as they came, deflated or not) and how the server ended.
fn raw_client(
    version: u8,
    after_summary: Option<Vec<u8>>,
) -> (Vec<Vec<u8>>, Result<SyncStats, PeerError>) {
    let mut server = store_with(0..300, 6);
    by_hand_against(&mut server, |ch| {
        let mut got = Vec::new();
        let mut summary = vec![1, version, 0];
        summary.extend([0u8; 32]);
        ch.send(&summary).unwrap();
        got.push(ch.recv().unwrap()); // buckets
        if let Some(msg) = after_summary {
            ch.send(&msg).unwrap();
        } else {
            let n = match got[0][..] {
                [3, n, ..] => n,
                _ => panic!("no buckets: {:?}", &got[0][..4]),
            };
            if version >= 2 {
                let mut differ = vec![11, n];
                differ.extend(0..n);
                ch.send(&differ).unwrap();
                got.push(ch.recv().unwrap()); // fine bucket hashes
            }
            // Heads: every fine bucket (every bucket for version 1) differs; no document here.
            let buckets = if version >= 2 {
                u64::from(n) * 16
            } else {
                u64::from(n)
            };
            let mut heads = vec![4];
            leb(&mut heads, buckets);
            for b in 0..buckets {
                leb(&mut heads, b);
            }
            heads.push(0);
            ch.send(&heads).unwrap();
            got.push(ch.recv().unwrap()); // plan
            ch.send(&[6]).unwrap(); // an empty turn
            while let Ok(m) = ch.recv() {
                let last = m[0] & 0x7f != 7;
                got.push(m);
                if last {
                    break;
                }
            }
        }
        got
    })
}

/// A real server session on `server` (default configuration) against a phone that `talk`s by hand
/// over the sealed channel; returns what `talk` returned and how the server ended (once `talk` has
/// dropped its end).
fn by_hand_against<T>(
    server: &mut MemoryStore,
    talk: impl FnOnce(&mut SecureChannel<pipe::PipeEnd>) -> T,
) -> (T, Result<SyncStats, PeerError>) {
    let team = TeamSecret::make().unwrap();
    let (a, b) = pipe::duplex();
    std::thread::scope(|s| {
        let srv = s.spawn(|| {
            let (mut ch, peer) = SecureChannel::accept(b, &team, "phone-server")?;
            run_session(
                &mut ch,
                server,
                &peer,
                Role::Server,
                &SessionConfig::default(),
            )
        });
        let (mut ch, _) = SecureChannel::connect(a, &team, "old-phone").unwrap();
        let out = talk(&mut ch);
        drop(ch);
        (out, srv.join().unwrap())
    })
}

#[test]
fn a_phone_of_session_version_2_is_served_plain_and_version_3_deflated() {
    for version in [2, 3] {
        let (got, _) = raw_client(version, None);
        let batches: Vec<&Vec<u8>> = got
            .iter()
            .filter(|m| matches!(m[0] & 0x7f, 6 | 7))
            .collect();
        assert!(!batches.is_empty(), "version {version}: no documents came");
        let deflated = batches.iter().filter(|m| m[0] & 0x80 != 0).count();
        if version == 2 {
            assert_eq!(
                deflated, 0,
                "a version 2 phone cannot read deflated messages"
            );
        } else {
            assert_eq!(deflated, batches.len(), "version 3: documents came plain");
        }
    }
}

fn leb(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v & 0x7f) as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn deflated(kind: u8, body: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut z = flate2::write::DeflateEncoder::new(vec![kind | 0x80], flate2::Compression::best());
    z.write_all(body).unwrap();
    z.finish().unwrap()
}

#[test]
fn a_deflated_message_that_inflates_past_the_largest_frame_is_refused() {
    // Naming bucket 0 over and over: 5 MiB once inflated, from a few kilobytes.
    let bomb = deflated(11, &vec![0u8; 5 << 20]);
    assert!(bomb.len() < 16 * 1024, "{}", bomb.len());
    let (_, server) = raw_client(3, Some(bomb));
    let err = server.expect_err("the bomb was inflated");
    assert!(err.to_string().contains("inflates past"), "{err}");
}

#[test]
fn a_deflated_message_from_a_phone_that_cannot_deflate_is_refused() {
    let (_, server) = raw_client(2, Some(deflated(11, &[1, 0])));
    let err = server.expect_err("a version 2 phone's deflated message was read");
    assert!(err.to_string().contains("unexpected deflated"), "{err}");
}

/// One session over a pipe with the client offering `client_version` and the server speaking at most
/// `server_version` (an older phone).
fn versions_session(
    client: &mut MemoryStore,
    server: &mut MemoryStore,
    client_version: u8,
    server_version: u8,
) -> (Result<SyncStats, PeerError>, Result<SyncStats, PeerError>) {
    let config = |version| SessionConfig {
        version,
        ..SessionConfig::default()
    };
    configured_session(
        client,
        server,
        &config(client_version),
        &config(server_version),
    )
}

/// One session over an in-memory pipe with a configuration for each side.
fn configured_session(
    client: &mut MemoryStore,
    server: &mut MemoryStore,
    client_cfg: &SessionConfig,
    server_cfg: &SessionConfig,
) -> (Result<SyncStats, PeerError>, Result<SyncStats, PeerError>) {
    let team = TeamSecret::make().unwrap();
    let (a, b) = pipe::duplex();
    std::thread::scope(|s| {
        let srv = s.spawn(|| {
            let (mut ch, peer) = SecureChannel::accept(b, &team, "old-phone")?;
            run_session(&mut ch, server, &peer, Role::Server, server_cfg)
        });
        let cl = (|| {
            let (mut ch, peer) = SecureChannel::connect(a, &team, "new-phone")?;
            run_session(&mut ch, client, &peer, Role::Client, client_cfg)
        })();
        (cl, srv.join().unwrap())
    })
}

/// Documents a phone lacks come whole in id order across every frame (the buckets scatter them; in
/// order, a phone receiving a thousand appends to its tables instead of touching a page of each per
/// document), at every session version, and the receiver stores each exactly as it came: the save it
/// makes to check the document opens again equals what arrived, so it is not loaded a second time.
#[test]
fn documents_sent_whole_come_in_id_order_and_are_stored_as_they_came() {
    let source = store_with(0..120, 24);
    for version in 1..=timbang_core::peer::SESSION_VERSION {
        let mut server = source.clone();
        let mut fresh = MemoryStore::default();
        // Small frames: the documents arrive over many of them.
        let server_cfg = SessionConfig {
            frame_budget: 8 * 1024,
            version,
            ..SessionConfig::default()
        };
        let client_cfg = SessionConfig {
            version,
            ..SessionConfig::default()
        };
        let (c, s) = configured_session(&mut fresh, &mut server, &client_cfg, &server_cfg);
        let (c, _) = (c.unwrap(), s.unwrap());
        assert_converged(&fresh, &source);
        assert!(fresh.store_calls > 5, "{version}: {c:?}");
        let mut sorted = fresh.stored_order.clone();
        sorted.sort();
        assert_eq!(
            fresh.stored_order, sorted,
            "{version}: stored out of id order"
        );
        assert_eq!(sorted.len(), 120, "{version}");
        for id in source.ids() {
            assert_eq!(fresh.bytes_of(&id), source.bytes_of(&id), "{version}: {id}");
        }
    }
}

/// A phone of the team that runs an older Timbang refuses the newest session version; the newer
/// phone is told so (`SessionRefused`, nothing written on either side) and, offering the older
/// version, syncs with it: every version down to 1, with changes on both sides.
#[test]
fn a_newer_phone_syncs_with_an_older_one_at_the_older_version() {
    for old in 1..timbang_core::peer::SESSION_VERSION {
        let mut new_phone = store_with(0..40, 3);
        let mut old_phone = store_with(20..60, 2);
        let (c, s) = versions_session(
            &mut new_phone,
            &mut old_phone,
            timbang_core::peer::SESSION_VERSION,
            old,
        );
        assert!(
            matches!(c, Err(PeerError::SessionRefused(v)) if v == timbang_core::peer::SESSION_VERSION),
            "{old}: {c:?}"
        );
        assert!(s.is_err(), "{old}");
        assert_eq!((new_phone.len(), old_phone.len()), (40, 40), "{old}");
        let (c, s) = versions_session(&mut new_phone, &mut old_phone, old, old);
        let (c, s) = (c.unwrap(), s.unwrap());
        assert_converged(&new_phone, &old_phone);
        assert_eq!(new_phone.len(), 60, "{old}");
        assert!(
            !c.used_checkpoint && !c.verified && !s.verified,
            "{old}: {c:?}"
        );
        assert!(new_phone.checkpoint_of("old-phone").is_none(), "{old}");
    }
}

/// A server tells "I do not speak your version" (a bare abort, as every version sends) from "I
/// failed" (an abort with one more byte from version 4), so a client dials again with an older
/// version only when that can help.
#[test]
fn a_refused_version_and_a_failure_abort_differently() {
    let answer = |summary: Vec<u8>| -> Vec<u8> {
        let (got, server) = by_hand_against(&mut store_with(0..5, 1), |ch| {
            ch.send(&summary).unwrap();
            ch.recv().unwrap()
        });
        assert!(server.is_err());
        got
    };
    let mut newer = vec![1, timbang_core::peer::SESSION_VERSION + 1, 0];
    newer.extend([0u8; 32]);
    assert_eq!(answer(newer), vec![10]);
    let mut bad_flag = vec![1, timbang_core::peer::SESSION_VERSION, 0];
    bad_flag.extend([0u8; 32]);
    bad_flag.push(7);
    assert_eq!(answer(bad_flag), vec![10, 1]);
}
