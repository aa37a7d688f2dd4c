//! Bytes from outside never panic the core: random pairing codes, random streams at the handshake, and
//! random (correctly sealed) messages from a paired phone into a real sync session. Each gives an error
//! and leaves the store as it was. (A coverage-guided fuzzer needs a nightly toolchain we do not have
//! here; these property tests cover the same parsers with random input.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::sync::Arc;

use proptest::prelude::*;
use timbang_core::api::PeerRole;
use timbang_core::crypto::Key;
use timbang_core::host::IoStream;
use timbang_core::peer::pipe::duplex;
use timbang_core::peer::{SecureChannel, TeamSecret, parse_pairing_code};
use timbang_core::{FixedDate, Timbang};

/// A stream that yields `data` and swallows writes.
struct Feed {
    data: std::io::Cursor<Vec<u8>>,
}

impl Read for Feed {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.data.read(buf)
    }
}

impl Write for Feed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn random_pairing_codes_are_refused_not_panicked(code in ".{0,120}") {
        let _ = parse_pairing_code(&code);
    }

    #[test]
    fn random_bytes_at_the_handshake_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let team = TeamSecret::make().unwrap();
        let feed = Feed { data: std::io::Cursor::new(bytes.clone()) };
        prop_assert!(SecureChannel::accept(feed, &team, "hp").is_err());
        let feed = Feed { data: std::io::Cursor::new(bytes) };
        prop_assert!(SecureChannel::connect(feed, &team, "hp").is_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    /// A paired phone (it has the code) that speaks nonsense inside correctly sealed frames.
    #[test]
    fn random_messages_from_a_paired_phone_end_the_session_cleanly(
        messages in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..4)
    ) {
        let dir = tempfile::tempdir().unwrap();
        let t = Timbang::open(&dir.path().join("hp.db"), &Key::make_random().unwrap(), Arc::new(FixedDate("2025-06-15".parse().unwrap()))).unwrap();
        t.init("Melati", "Sukamaju", "hp-1").unwrap();
        let team = parse_pairing_code(&t.team_invite().unwrap()).unwrap();
        let (x, y) = duplex();
        let result = std::thread::scope(|s| {
            s.spawn(move || {
                if let Ok((mut ch, _)) = SecureChannel::accept(y, &team, "hostile") {
                    for m in &messages {
                        let _ = ch.recv();
                        if ch.send(m).is_err() {
                            break;
                        }
                    }
                }
            });
            t.peer_session(&IoStream::new(x), PeerRole::Dial)
        });
        // Whatever the nonsense, no panic, no hang, and nothing stored.
        drop(result);
        prop_assert!(t.village_list().unwrap().is_empty());
    }
}
