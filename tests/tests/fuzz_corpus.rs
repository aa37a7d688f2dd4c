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
