//! Bytes from outside never panic the core: random pairing codes, random streams at the handshake, and
//! random (correctly sealed) messages from a paired phone into a real sync session. Each gives an error
//! and leaves the store as it was. (The coverage-guided fuzz targets for the same parsers are in
//! `tests/fuzz/`, their bodies in `timbang_tests::fuzz`; `fuzz_corpus.rs` replays what they found.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use proptest::prelude::*;
use timbang_core::api::PeerRole;
use timbang_core::host::IoStream;
use timbang_core::peer::pipe::duplex;
use timbang_core::peer::{SecureChannel, TeamSecret, parse_pairing_code};
use timbang_tests::fuzz::Feed;
use timbang_tests::{phone_with_a_visit, state};

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn random_pairing_codes_are_refused_not_panicked(code in ".{0,120}") {
        // A random string passes the version byte, the length and a 4-byte checksum with negligible
        // probability: every one is refused, none panics.
        prop_assert!(parse_pairing_code(&code).is_err());
    }

    #[test]
    fn random_bytes_at_the_handshake_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let team = TeamSecret::make().unwrap();
        let feed = Feed::new(&bytes);
        prop_assert!(SecureChannel::accept(feed, &team, "hp").is_err());
        let feed = Feed::new(&bytes);
        prop_assert!(SecureChannel::connect(feed, &team, "hp").is_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    /// A paired phone (it has the code) that speaks nonsense inside correctly sealed frames: the
    /// session fails (within a deadline, never hangs), and the phone keeps exactly what it had.
    #[test]
    fn random_messages_from_a_paired_phone_end_the_session_cleanly(
        messages in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..4)
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (t, code) = phone_with_a_visit(dir.path());
        let team = parse_pairing_code(&code).unwrap();
        let t = Arc::new(t);
        let before = state(&t);
        let (x, y) = duplex();
        // The hostile phone reads our first message, sends its nonsense, then hangs up, so neither
        // side can wait for the other forever.
        let hostile = std::thread::spawn(move || {
            if let Ok((mut ch, _)) = SecureChannel::accept(y, &team, "hostile") {
                let _ = ch.recv();
                for m in &messages {
                    if ch.send(m).is_err() {
                        break;
                    }
                }
            }
        });
        let (done, wait) = std::sync::mpsc::channel();
        let ours = t.clone();
        std::thread::spawn(move || {
            let _ = done.send(ours.peer_session(&IoStream::new(x), PeerRole::Dial));
        });
        let result = wait
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("the session hung on a hostile peer");
        hostile.join().unwrap();
        prop_assert!(result.is_err(), "nonsense completed a session: {result:?}");
        prop_assert_eq!(state(&t), before);
    }
}
