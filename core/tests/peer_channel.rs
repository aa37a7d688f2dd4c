//! Pairing codes and the secure channel: round trips, typos, unpaired peers, tampering.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use timbang_core::crypto::Key;
use timbang_core::peer::channel::{MAX_FRAME, MAX_MESSAGE};
use timbang_core::peer::pipe::{self, FailAfter, PipeEnd};
use timbang_core::peer::{
    PeerError, SecureChannel, TeamSecret, make_pairing_code, parse_pairing_code,
};

#[test]
fn pairing_code_round_trip_tolerates_case_and_spacing() {
    let team = TeamSecret::make().unwrap();
    let code = make_pairing_code(&team);
    assert!(code.split('-').all(|g| g.len() <= 5), "{code}");
    assert_eq!(parse_pairing_code(&code).unwrap(), team);
    let typed = format!("\n {} \t", code.to_lowercase().replace('-', "  "));
    assert_eq!(parse_pairing_code(&typed).unwrap(), team);
    // Look-alikes read as digits: O as 0, I and L as 1.
    let lookalike = code.replace('0', "O").replace('1', "l");
    assert_eq!(parse_pairing_code(&lookalike).unwrap(), team);
    assert_ne!(make_pairing_code(&TeamSecret::make().unwrap()), code);
}

#[test]
fn pairing_code_typos_are_caught() {
    let team = TeamSecret::make().unwrap();
    let code = make_pairing_code(&team);
    let symbols = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    // Every single-symbol substitution at a sample of positions is refused, never mis-read.
    for (pos, ch) in code.char_indices().filter(|(_, c)| *c != '-').step_by(3) {
        for other in symbols.chars().filter(|c| *c != ch).take(6) {
            let mut typo = code.clone();
            typo.replace_range(pos..pos + 1, &other.to_string());
            match parse_pairing_code(&typo) {
                Err(PeerError::PairingCode(msg)) => assert!(msg.contains("typo"), "{msg}"),
                other => panic!("typo at {pos} accepted: {other:?}"),
            }
        }
    }
    // Swapped neighbours.
    let chars: Vec<char> = code.chars().collect();
    let mut swapped = chars.clone();
    let i = chars.iter().position(|c| *c != chars[0]).unwrap();
    swapped.swap(0, i);
    if swapped[0] != '-' && swapped[i] != '-' {
        assert!(parse_pairing_code(&swapped.iter().collect::<String>()).is_err());
    }
    let short = &code[..code.len() - 6];
    assert!(
        matches!(parse_pairing_code(short), Err(PeerError::PairingCode(m)) if m.contains("length"))
    );
    let bad_char = code.replacen(|c: char| c.is_ascii_alphanumeric(), "U", 1);
    assert!(
        matches!(parse_pairing_code(&bad_char), Err(PeerError::PairingCode(m)) if m.contains("character"))
    );
    assert!(parse_pairing_code("").is_err());
}

type Paired<S> = Result<(SecureChannel<S>, String), PeerError>;

/// Handshake over `a`/`b`, client in a thread; returns both results.
fn handshake<A, B>(
    a: A,
    b: B,
    client_team: &TeamSecret,
    server_team: &TeamSecret,
) -> (Paired<A>, Paired<B>)
where
    A: Read + Write + Send,
    B: Read + Write,
{
    std::thread::scope(|s| {
        let c = s.spawn(move || SecureChannel::connect(a, client_team, "hp-kader-1"));
        let srv = SecureChannel::accept(b, server_team, "hp-bidan");
        (c.join().unwrap(), srv)
    })
}

#[test]
fn paired_devices_talk_both_ways_and_count_bytes() {
    let team = TeamSecret::make().unwrap();
    let (a, b) = pipe::duplex();
    let (c, s) = handshake(a, b, &team, &team);
    let (mut c, server_id) = c.unwrap();
    let (mut s, client_id) = s.unwrap();
    assert_eq!(server_id, "hp-bidan");
    assert_eq!(client_id, "hp-kader-1");
    for i in 0..5u8 {
        c.send(&[i; 100]).unwrap();
        assert_eq!(s.recv().unwrap(), vec![i; 100]);
        s.send(&[i + 1; 3]).unwrap();
        assert_eq!(c.recv().unwrap(), vec![i + 1; 3]);
    }
    c.send(&[]).unwrap();
    assert_eq!(s.recv().unwrap(), Vec::<u8>::new());
    assert_eq!(c.bytes_sent(), s.bytes_received());
    assert_eq!(s.bytes_sent(), c.bytes_received());
    assert!(c.bytes_sent() > 5 * 100);
}

#[test]
fn other_team_and_wrong_secret_are_not_paired() {
    let team = TeamSecret::make().unwrap();
    let other = TeamSecret::make().unwrap();
    let (a, b) = pipe::duplex();
    let (c, s) = handshake(a, b, &other, &team);
    assert!(matches!(c, Err(PeerError::NotPaired)), "{c:?}");
    assert!(matches!(s, Err(PeerError::NotPaired)), "{s:?}");

    let impostor = TeamSecret {
        team_id: team.team_id,
        secret: Key::make_random().unwrap(),
    };
    let (a, b) = pipe::duplex();
    let (c, s) = handshake(a, b, &impostor, &team);
    assert!(matches!(c, Err(PeerError::NotPaired)), "{c:?}");
    assert!(matches!(s, Err(PeerError::NotPaired)), "{s:?}");
    // The same, the other way round: the server is the impostor.
    let (a, b) = pipe::duplex();
    let (c, s) = handshake(a, b, &team, &impostor);
    assert!(matches!(c, Err(PeerError::NotPaired)), "{c:?}");
    assert!(matches!(s, Err(PeerError::NotPaired)), "{s:?}");
}

/// What a man in the middle does to one frame the server reads (frames counted from 0 = client hello).
#[derive(Clone, Copy, Debug)]
enum Meddle {
    Flip,
    Replay,
    SwapWithNext,
    Drop,
}

/// A read side that meddles with one whole frame, as a relay on the path could.
struct Middle {
    inner: PipeEnd,
    target: usize,
    action: Meddle,
    frames: usize,
    out: VecDeque<u8>,
}

impl Middle {
    fn frame(&mut self) -> io::Result<Vec<u8>> {
        let mut len = [0u8; 4];
        self.inner.read_exact(&mut len)?;
        let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
        self.inner.read_exact(&mut body)?;
        let mut f = len.to_vec();
        f.extend(body);
        Ok(f)
    }
}

impl Read for Middle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.out.is_empty() {
            let mut f = self.frame()?;
            let n = self.frames;
            self.frames += 1;
            if n == self.target {
                match self.action {
                    Meddle::Flip => {
                        let last = f.len() - 1;
                        f[last] ^= 0x40;
                    }
                    Meddle::Replay => self.out.extend(f.clone()),
                    Meddle::SwapWithNext => {
                        let g = self.frame()?;
                        self.frames += 1;
                        self.out.extend(g);
                    }
                    Meddle::Drop => {
                        f = self.frame()?;
                        self.frames += 1;
                    }
                }
            }
            self.out.extend(f);
        }
        let n = buf.len().min(self.out.len());
        for (i, b) in self.out.drain(..n).enumerate() {
            buf[i] = b;
        }
        Ok(n)
    }
}

impl Write for Middle {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[test]
fn altered_replayed_reordered_or_dropped_frames_are_refused() {
    let team = TeamSecret::make().unwrap();
    for action in [
        Meddle::Flip,
        Meddle::Replay,
        Meddle::SwapWithNext,
        Meddle::Drop,
    ] {
        // Frame 0 is the client hello, 1 the client proof, 2.. the sealed messages "a", "b", "c".
        let (a, b) = pipe::duplex();
        // Replay repeats "a"; the others meddle with "b".
        let target = if matches!(action, Meddle::Replay) {
            2
        } else {
            3
        };
        let middle = Middle {
            inner: b,
            target,
            action,
            frames: 0,
            out: VecDeque::new(),
        };
        let (c, s) = handshake(a, middle, &team, &team);
        let (mut c, _) = c.unwrap();
        let (mut s, _) = s.unwrap();
        for m in [b"a", b"b", b"c"] {
            c.send(m).unwrap();
        }
        assert_eq!(s.recv().unwrap(), b"a", "{action:?}");
        let second = s.recv();
        assert!(
            matches!(second, Err(PeerError::Tampered)),
            "{action:?}: {second:?}"
        );
    }
}

#[test]
fn a_cut_frame_is_a_closed_connection_and_oversized_frames_are_refused() {
    let team = TeamSecret::make().unwrap();
    let (a, b) = pipe::duplex();
    // Client hello (4+1+1+16+32+1+10 = 65) and proof (4+1+32 = 37), then 10 bytes of the next frame.
    let (c, s) = handshake(FailAfter::new(a, 65 + 37 + 10), b, &team, &team);
    let (mut c, _) = c.unwrap();
    let (mut s, _) = s.unwrap();
    assert!(c.send(&[7; 50]).is_err());
    drop(c);
    assert!(matches!(s.recv(), Err(PeerError::Closed)));

    let (a, b) = pipe::duplex();
    let (c, s) = handshake(a, b, &team, &team);
    let (mut c, _) = c.unwrap();
    let (s, _) = s.unwrap();
    assert!(matches!(
        c.send(&vec![0; MAX_MESSAGE + 1]),
        Err(PeerError::FrameTooLarge(_))
    ));
    // A peer announcing a giant frame is refused before anything is read or allocated.
    let mut raw = c.into_inner();
    raw.write_all(&((MAX_FRAME + 1) as u32).to_be_bytes())
        .unwrap();
    let mut s = s;
    assert!(matches!(s.recv(), Err(PeerError::FrameTooLarge(n)) if n == MAX_FRAME + 1));
}
