//! The fuzzers' saved inputs, replayed on stable: every file of `tests/fuzz/corpus/NAME/` and
//! `tests/fuzz/regressions/NAME/` goes through `timbang_tests::fuzz::NAME`, the same function the
//! cargo-fuzz target calls, so what a fuzzing run learnt and every crash it found stay tested without
//! nightly or cargo-fuzz. Each crash also has a named test below.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use timbang_core::peer::memory::MemoryStore;
use timbang_tests::fuzz::{self, SessionInput, TARGETS, run_session_input, seeds};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

/// Run every file of `folder/NAME/` through target NAME; returns the number of files and the names of
/// those that panicked.
fn replay(folder: &str, name: &str) -> (usize, Vec<String>) {
    let mut failed = Vec::new();
    let all = files(&fuzz_dir().join(folder).join(name));
    for path in &all {
        let data = std::fs::read(path).unwrap();
        let ok = std::panic::catch_unwind(|| assert!(fuzz::run(name, &data))).is_ok();
        if !ok {
            failed.push(path.display().to_string());
        }
    }
    (all.len(), failed)
}

#[test]
fn every_corpus_file_replays_without_a_panic() {
    for name in TARGETS {
        let (n, failed) = replay("corpus", name);
        assert!(n > 0, "tests/fuzz/corpus/{name}/ is empty or missing");
        assert!(
            failed.is_empty(),
            "{name}: these inputs panicked: {failed:?}"
        );
    }
}

#[test]
fn every_regression_file_replays_without_a_panic() {
    for name in TARGETS {
        let (_, failed) = replay("regressions", name);
        assert!(
            failed.is_empty(),
            "{name}: these inputs panicked: {failed:?}"
        );
    }
}

#[test]
fn no_stray_target_folders() {
    // A folder for a target that no longer exists would silently stop being replayed.
    for folder in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz_dir().join(folder)) else {
            continue;
        };
        for e in entries {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                TARGETS.contains(&name.as_str()),
                "tests/fuzz/{folder}/{name} is no target"
            );
        }
    }
}

#[test]
fn session_seeds_are_whole_sessions() {
    // Each recorded conversation completes a session when replayed alone, so the corpus starts from
    // every stage of the protocol, not just its first message.
    let recordings = seeds::session_recordings();
    assert_eq!(recordings.len(), 16);
    for (name, input, live) in recordings {
        let live = live.unwrap_or_else(|e| panic!("{name}: the live session failed: {e}"));
        assert!(live.completed, "{name}");
        let (replayed, store) = run_session_input(&SessionInput::decode(&input.encode()));
        let replayed = replayed.unwrap_or_else(|e| panic!("{name}: the replay failed: {e}"));
        assert_eq!(replayed.docs_stored, live.docs_stored, "{name}");
        assert_eq!(replayed.docs_sent, live.docs_sent, "{name}");
        assert!(store.len() >= 2, "{name}");
    }
}

#[test]
fn a_session_the_peer_cuts_short_ends_with_an_error() {
    let (_, input, _) = seeds::session_recordings()
        .into_iter()
        .find(|(n, _, _)| n == "diverged-serve-default")
        .unwrap();
    for keep in 0..input.messages.len() {
        let cut = SessionInput {
            flags: input.flags,
            messages: input.messages[..keep].to_vec(),
        };
        let (result, store) = run_session_input(&cut);
        assert!(result.is_err(), "{keep} messages completed a session");
        assert!(store.len() >= 2);
    }
}

#[test]
fn session_input_framing_round_trips() {
    let input = SessionInput {
        flags: 3,
        messages: vec![vec![], vec![1, 2, 3], vec![9; 300]],
    };
    assert_eq!(SessionInput::decode(&input.encode()), input);
    // A message cut short keeps what is there; a lone length byte is a message of its own.
    assert_eq!(
        SessionInput::decode(&[0, 0, 5, 1, 2]).messages,
        vec![vec![1, 2]]
    );
    assert_eq!(SessionInput::decode(&[0, 7]).messages, vec![vec![7]]);
    assert_eq!(SessionInput::decode(&[]).messages, Vec::<Vec<u8>>::new());
}

#[test]
fn seeds_are_valid_inputs() {
    // The pairing seeds read as the fixed team; the documents open; the CSVs have their header.
    for (name, code) in seeds::pairing_code() {
        let s = String::from_utf8(code).unwrap();
        let team = timbang_core::peer::parse_pairing_code(&s);
        assert_eq!(team.ok(), Some(fuzz::team()), "{name}");
    }
    for (name, doc) in seeds::document() {
        assert!(automerge::Automerge::load(&doc).is_ok(), "{name}");
    }
    let mut store = MemoryStore::default();
    let f = seeds::Fixture::new();
    store.put(&f.id_a, &f.ours_a);
    assert_eq!(
        store.heads_of(&f.id_a),
        fuzz::session_store().heads_of(&f.id_a),
        "the fixture is not deterministic"
    );
    for (target, inputs) in seeds::all() {
        for (name, data) in inputs {
            assert!(fuzz::run(target, &data), "{target}/{name}");
        }
    }
}

/// Writes the seeds into the corpus folders (`seed-NAME`); run by hand after changing the seeds:
/// `cargo test -p timbang-tests --test fuzz_corpus -- --ignored write_seeds`.
#[test]
#[ignore = "writes files into tests/fuzz/corpus"]
fn write_seeds() {
    for (target, inputs) in seeds::all() {
        let dir = fuzz_dir().join("corpus").join(target);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, data) in inputs {
            std::fs::write(dir.join(format!("seed-{name}")), data).unwrap();
        }
    }
}

#[test]
fn checksums_are_made_right() {
    // A saved document is left as it is; one whose checksum was altered gets it back, so it loads.
    for (name, doc) in seeds::document() {
        assert_eq!(fuzz::with_valid_checksums(&doc), doc, "{name}");
        let mut altered = doc.clone();
        altered[5] ^= 0x01;
        assert!(automerge::Automerge::load(&altered).is_err(), "{name}");
        assert_eq!(fuzz::with_valid_checksums(&altered), doc, "{name}");
    }
    // Cut short or not a chunk at all: left as it is.
    for data in [
        &[0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 0, 0x85][..],
        b"hello",
        &[],
    ] {
        assert_eq!(fuzz::with_valid_checksums(data), data);
    }
}

// Crashes found by fuzzing, each with its reproducer in tests/fuzz/regressions/.

/// `document`: automerge 0.12 panics (instead of returning an error) loading these, whose checksums
/// are right: a change naming an actor it does not list (25 bytes, `import_ops`), a document chunk
/// and a bundle with a malformed column (`hexane` unpack). Fixed in the core by `crdt::load` and
/// `crdt::merge`, which turn a panic inside automerge into an error.
const AUTOMERGE_PANICS: [(&str, &[u8]); 3] = [
    (
        "change naming a missing actor",
        include_bytes!(
            "../fuzz/regressions/document/automerge-panics-change-naming-a-missing-actor"
        ),
    ),
    (
        "document with a bad column",
        include_bytes!("../fuzz/regressions/document/automerge-panics-document-bad-column"),
    ),
    (
        "bundle with a bad column",
        include_bytes!("../fuzz/regressions/document/automerge-panics-bundle-bad-column"),
    ),
];

#[test]
fn documents_that_panic_automerge_are_refused_with_an_error() {
    for (name, bytes) in AUTOMERGE_PANICS {
        assert!(timbang_core::crdt::load(bytes).is_err(), "{name}");
        fuzz::document(bytes);
    }
}

fn leb(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    leb(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// What a paired client says to a serving phone that holds at most 32 documents to hand it `doc`
/// whole as child `id`: a summary that differs, heads naming only `id` in the one bucket, then a batch
/// with the document.
fn client_pushing(id: &str, doc: &[u8]) -> Vec<Vec<u8>> {
    let mut summary = vec![1, 1];
    leb(&mut summary, 1);
    summary.extend_from_slice(&[0; 32]);
    let mut heads = vec![4, 1, 0, 1];
    bytes(&mut heads, id.as_bytes());
    heads.push(0);
    let mut batch = vec![6, 1];
    bytes(&mut batch, id.as_bytes());
    bytes(&mut batch, doc);
    vec![summary, heads, batch]
}

const PUSHED_ID: &str = "0197a000-0000-7000-8000-0000000000ff";

#[test]
fn a_paired_phone_sending_a_document_that_panics_automerge_ends_the_session_with_an_error() {
    for (name, doc) in AUTOMERGE_PANICS {
        let input = SessionInput {
            flags: 0,
            messages: client_pushing(PUSHED_ID, doc),
        };
        let (result, store) = run_session_input(&input);
        assert!(
            matches!(result, Err(timbang_core::peer::PeerError::Document(_))),
            "{name}: {result:?}"
        );
        assert_eq!(store.ids(), fuzz::session_store().ids(), "{name}");
    }
    // The same messages with a good document complete the push, so the test reaches the batch.
    let good = seeds::Fixture::new().c.save();
    let mut input = SessionInput {
        flags: 0,
        messages: client_pushing(PUSHED_ID, &good),
    };
    input.messages.push(vec![8]); // finish
    let (result, store) = run_session_input(&input);
    // Our phone sends its own two documents whole and expects a turn back; the finish is that turn.
    assert!(result.is_ok(), "{result:?}");
    assert!(store.ids().contains(&PUSHED_ID.to_owned()));
}

#[test]
fn a_real_phone_refuses_documents_that_break_automerge_and_keeps_working() {
    use timbang_core::api::PeerRole;
    use timbang_core::host::IoStream;
    use timbang_core::peer::pipe::duplex;
    use timbang_core::peer::{SecureChannel, parse_pairing_code};

    let dir = tempfile::tempdir().unwrap();
    let (t, code) = timbang_tests::phone_with_a_visit(dir.path());
    let before = timbang_tests::state(&t);
    let mut docs = AUTOMERGE_PANICS.to_vec();
    docs.push(("document whose save does not load", SAVE_DOES_NOT_LOAD));
    for (name, doc) in docs {
        let team = parse_pairing_code(&code).unwrap();
        let (x, y) = duplex();
        let messages = client_pushing(PUSHED_ID, doc);
        let hostile = std::thread::spawn(move || {
            let (mut ch, _) = SecureChannel::connect(y, &team, "hostile").unwrap();
            for m in &messages {
                ch.send(m).unwrap();
            }
            // Keep the pipe open (returned) so the phone's writes do not fail first.
            let mut end = ch.into_inner();
            end.shutdown_write();
            end
        });
        let result = t.peer_session(&IoStream::new(x), PeerRole::Accept);
        drop(hostile.join().unwrap());
        assert!(
            matches!(
                result,
                Err(timbang_core::Error::Sync {
                    retryable: false,
                    ..
                })
            ),
            "{name}: {result:?}"
        );
        assert_eq!(timbang_tests::state(&t), before, "{name}");
    }
}

#[test]
fn batch_checksums_are_made_right() {
    // Recorded messages are left as they are (their checksums are right)...
    let mut saw_sync = false;
    for (name, input, _) in seeds::session_recordings() {
        for m in &input.messages {
            assert_eq!(&fuzz::with_valid_batch_checksums(m), m, "{name}");
            saw_sync |= m.first() == Some(&6) && m.get(1) == Some(&2);
        }
    }
    assert!(saw_sync, "no recorded batch carries a sync message");
    // ...and a document sent whole whose checksum was altered gets it back.
    let doc = seeds::Fixture::new().c.save();
    let good = client_pushing(PUSHED_ID, &doc).pop().unwrap();
    let mut altered = good.clone();
    let at = good.len() - doc.len() + 5;
    altered[at] ^= 0x01;
    assert_eq!(fuzz::with_valid_batch_checksums(&altered), good);
}

/// `document`: automerge 0.12 loads this document (two changes and a document chunk whose change
/// graph disagrees) but its `save()` does not load again ("mismatching heads"). Stored, or merged
/// into ours and stored, it would make the child's document unopenable. Fixed in the core: a session
/// stores nothing that `crdt::reopens` refuses.
const SAVE_DOES_NOT_LOAD: &[u8] = include_bytes!(
    "../fuzz/regressions/document/automerge-loads-a-document-whose-save-does-not-load"
);

#[test]
fn a_document_whose_save_does_not_load_is_never_stored() {
    let doc = timbang_core::crdt::load(SAVE_DOES_NOT_LOAD).expect("automerge loads it");
    assert!(!timbang_core::crdt::reopens(&doc));
    fuzz::document(SAVE_DOES_NOT_LOAD);
    // Sent whole by a paired phone: the session ends with an error and stores nothing.
    let input = SessionInput {
        flags: 0,
        messages: client_pushing(PUSHED_ID, SAVE_DOES_NOT_LOAD),
    };
    let (result, store) = run_session_input(&input);
    assert!(
        matches!(result, Err(timbang_core::peer::PeerError::Document(_))),
        "{result:?}"
    );
    assert_eq!(store.ids(), fuzz::session_store().ids());
}

/// `session_messages`: a paired phone's sync messages leave automerge's sync state naming changes
/// the document lacks, and automerge 0.12 panics (`MissingDep` in `ChangeCollector`) making the next
/// sync message. Fixed in the core: `Session::generate` turns the panic into an error.
#[test]
fn a_sync_state_that_panics_automerge_ends_the_session_with_an_error() {
    let bytes: &[u8] = include_bytes!(
        "../fuzz/regressions/session_messages/automerge-panics-making-a-sync-message"
    );
    let (result, store) = run_session_input(&SessionInput::decode(bytes));
    assert!(
        matches!(result, Err(timbang_core::peer::PeerError::Document(_))),
        "{result:?}"
    );
    assert_eq!(store.ids(), fuzz::session_store().ids());
    for id in store.ids() {
        assert!(store.get(&id).is_some(), "{id} no longer opens");
    }
    fuzz::session_messages(bytes);
}

/// A paired phone's batch whose chunks would inflate to more than the session's budget (a
/// compression bomb: each 4 KB chunk inflates to 4 MiB) is refused before automerge inflates any of
/// it, and this phone keeps what it had.
#[test]
fn a_batch_that_would_inflate_past_the_budget_is_refused() {
    use std::io::Write;
    let (_, input, _) = seeds::session_recordings()
        .into_iter()
        .find(|(n, _, _)| n == "diverged-serve-default")
        .unwrap();
    let mut deflate = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    deflate.write_all(&vec![0u8; 4 << 20]).unwrap();
    let deflated = deflate.finish().unwrap();
    // A compressed change chunk: magic, checksum, type 2, LEB128 length, data.
    let mut chunk = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 2];
    let mut len = deflated.len();
    while len >= 0x80 {
        chunk.push((len & 0x7f) as u8 | 0x80);
        len >>= 7;
    }
    chunk.push(len as u8);
    chunk.extend(&deflated);
    let bombs: Vec<u8> = chunk.repeat(17); // 68 MiB inflated, over the 64 MiB budget
    assert!(bombs.len() < 200_000, "{} bytes", bombs.len());

    let mut messages = input.messages.clone();
    let batch = messages
        .iter_mut()
        .find(|m| matches!(m.first(), Some(6 | 7)))
        .expect("the recording has a batch");
    // One more item, a whole document (tag 1) under a made-up id, whose bytes are the bombs.
    let id = b"bomb";
    batch.push(1);
    batch.push(id.len() as u8);
    batch.extend(id);
    let mut len = bombs.len();
    while len >= 0x80 {
        batch.push((len & 0x7f) as u8 | 0x80);
        len >>= 7;
    }
    batch.push(len as u8);
    batch.extend(&bombs);

    let before = fuzz::session_store().clone();
    let (result, store) = run_session_input(&SessionInput {
        flags: input.flags,
        messages,
    });
    let err = result.expect_err("the bomb was accepted");
    assert!(err.to_string().contains("inflate"), "{err}");
    assert_eq!(store.ids(), before.ids());
    for id in before.ids() {
        assert_eq!(store.heads_of(&id), before.heads_of(&id), "{id}");
    }
}

#[test]
fn asik_seeds_are_real_uploads_and_their_framing_round_trips() {
    let seeds = seeds::asik_responses();
    let first = seeds
        .iter()
        .find(|(n, _)| n == "first-upload")
        .map(|(_, d)| fuzz::AsikInput::decode(d))
        .unwrap();
    assert_eq!(fuzz::AsikInput::decode(&first.encode()), first);
    let bodies: Vec<String> = first
        .answers
        .iter()
        .map(|a| String::from_utf8_lossy(&a.body).into_owned())
        .collect();
    // A token, Patient look-ups and creations, and transaction-responses: the whole upload path.
    assert!(
        bodies.iter().any(|b| b.contains("access_token")),
        "{bodies:?}"
    );
    assert!(
        bodies.iter().any(|b| b.contains("\"Patient\"")),
        "{bodies:?}"
    );
    assert!(
        bodies.iter().any(|b| b.contains("transaction-response")),
        "{bodies:?}"
    );
    let faults = seeds
        .iter()
        .find(|(n, _)| n == "through-faults")
        .map(|(_, d)| fuzz::AsikInput::decode(d))
        .unwrap();
    let statuses: Vec<u16> = faults.answers.iter().map(|a| a.status).collect();
    for s in [500, 503, 429, 401] {
        assert!(statuses.contains(&s), "no {s} in {statuses:?}");
    }
    // Replayed through the harness, the recorded answers upload every visit of the template phone;
    // without answers nothing is sent and nothing breaks.
    let (result, status) = fuzz::asik_replay(&first.encode());
    let report = result.unwrap();
    assert_eq!((status.pending, report.sent), (0, 6), "{report:?}");
    let (result, status) = fuzz::asik_replay(&[]);
    assert!(result.is_err());
    assert_eq!(status.pending, 6);
}

#[test]
fn a_register_file_is_imported_or_refused_by_the_harness() {
    for (name, data) in seeds::register_csv() {
        fuzz::register_csv(&data);
        assert!(fuzz::run("register_csv", &data), "{name}");
    }
}
