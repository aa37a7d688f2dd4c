//! An authenticated, encrypted frame channel over any `Read + Write` byte pipe.
//!
//! Every frame on the wire is `[length u32 big-endian][type u8][body]`, where the length counts the type
//! and body and may not exceed [`MAX_FRAME`]. Frame types:
//!
//! | type | name         | body                                                                    |
//! |------|--------------|-------------------------------------------------------------------------|
//! | 0x01 | client hello | version u8, team id 16, nonce 32, device id (u8 length + UTF-8)         |
//! | 0x02 | server hello | version u8, team id 16, nonce 32, device id (u8 length + UTF-8), proof 32 |
//! | 0x03 | client proof | proof 32                                                                |
//! | 0x04 | sealed       | AES-256-GCM ciphertext and tag of one message                           |
//! | 0x7F | refuse       | reason u8 (1 not paired, 2 version) and our version u8                  |
//!
//! The transcript is a label, the team id, both nonces and both device ids. Its SHA-256 is the HKDF salt
//! under which the team secret yields an authentication key and one sealing key per direction. The server
//! proves knowledge of the secret with an HMAC of the transcript in its hello; the client checks it, then
//! proves its own with a differently labelled HMAC. No sealed frame is opened before both proofs passed.
//! Sealed frames use a per-direction counter as nonce (see [`crate::crypto::Sealer::seal_counter`]) and
//! the frame type and direction as associated data, so an altered, replayed, reordered or dropped frame
//! fails to open: [`PeerError::Tampered`]. A peer of another team or with another secret gets
//! [`PeerError::NotPaired`] and sees no sealed frame.

use super::PeerError;
use super::pairing::TeamSecret;
use crate::crypto::{self, Key, Sealer};
use std::io::{ErrorKind, Read, Write};

/// Version of the peer protocol (handshake and session messages).
pub const PROTOCOL_VERSION: u8 = 1;
/// Largest frame accepted, type byte included; larger frames are refused before reading them.
pub const MAX_FRAME: usize = 4 * 1024 * 1024;
/// Largest message [`SecureChannel::send`] accepts (a frame minus the type byte and the GCM tag).
pub const MAX_MESSAGE: usize = MAX_FRAME - 1 - 16;

const T_CLIENT_HELLO: u8 = 0x01;
const T_SERVER_HELLO: u8 = 0x02;
const T_CLIENT_PROOF: u8 = 0x03;
const T_SEALED: u8 = 0x04;
const T_REFUSE: u8 = 0x7F;
const REFUSE_NOT_PAIRED: u8 = 1;
const REFUSE_VERSION: u8 = 2;
const TRANSCRIPT_LABEL: &[u8] = b"timbang peer v1";
const NONCE_LEN: usize = 32;
const PROOF_LEN: usize = 32;
const DIR_C2S: u8 = 0;
const DIR_S2C: u8 = 1;

/// A paired, encrypted channel to another device of the team.
pub struct SecureChannel<S> {
    stream: S,
    sealer: Sealer,
    opener: Sealer,
    send_dir: u8,
    send_counter: u64,
    recv_counter: u64,
    bytes_sent: u64,
    bytes_received: u64,
    frames_sent: u64,
    frames_received: u64,
}

impl<S> std::fmt::Debug for SecureChannel<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecureChannel")
            .field("send_counter", &self.send_counter)
            .field("recv_counter", &self.recv_counter)
            .field("bytes_sent", &self.bytes_sent)
            .field("bytes_received", &self.bytes_received)
            .finish_non_exhaustive()
    }
}

/// Byte and frame counters of a plain stream before the channel exists.
#[derive(Default)]
struct Counters {
    sent: u64,
    received: u64,
    frames_sent: u64,
    frames_received: u64,
}

fn write_frame<S: Write>(
    stream: &mut S,
    kind: u8,
    body: &[u8],
    c: &mut Counters,
) -> Result<(), PeerError> {
    let len = body.len() + 1;
    if len > MAX_FRAME {
        return Err(PeerError::FrameTooLarge(len));
    }
    let mut buf = Vec::with_capacity(4 + len);
    buf.extend_from_slice(&(len as u32).to_be_bytes());
    buf.push(kind);
    buf.extend_from_slice(body);
    stream.write_all(&buf)?;
    stream.flush()?;
    c.sent += buf.len() as u64;
    c.frames_sent += 1;
    Ok(())
}

fn map_eof(e: std::io::Error) -> PeerError {
    if e.kind() == ErrorKind::UnexpectedEof {
        PeerError::Closed
    } else {
        PeerError::Io(e)
    }
}

fn read_frame<S: Read>(stream: &mut S, c: &mut Counters) -> Result<(u8, Vec<u8>), PeerError> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).map_err(map_eof)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(PeerError::FrameTooLarge(len));
    }
    if len == 0 {
        return Err(PeerError::Protocol("empty frame"));
    }
    let mut buf = vec![0u8; len];
    stream.read_exact(&mut buf).map_err(map_eof)?;
    c.received += 4 + len as u64;
    c.frames_received += 1;
    let kind = buf[0];
    buf.remove(0);
    Ok((kind, buf))
}

struct Hello {
    version: u8,
    team_id: [u8; 16],
    nonce: [u8; NONCE_LEN],
    device_id: String,
    proof: Option<[u8; PROOF_LEN]>,
}

fn encode_hello(
    team_id: &[u8; 16],
    nonce: &[u8; NONCE_LEN],
    device_id: &str,
    proof: Option<&[u8; 32]>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + 16 + NONCE_LEN + 1 + device_id.len() + PROOF_LEN);
    out.push(PROTOCOL_VERSION);
    out.extend_from_slice(team_id);
    out.extend_from_slice(nonce);
    out.push(device_id.len() as u8);
    out.extend_from_slice(device_id.as_bytes());
    if let Some(p) = proof {
        out.extend_from_slice(p);
    }
    out
}

fn decode_hello(body: &[u8], with_proof: bool) -> Result<Hello, PeerError> {
    const BAD: PeerError = PeerError::Protocol("malformed hello");
    let (&version, rest) = body.split_first().ok_or(BAD)?;
    if version != PROTOCOL_VERSION {
        // Nothing after the version byte is read: its layout may differ.
        return Ok(Hello {
            version,
            team_id: [0; 16],
            nonce: [0; NONCE_LEN],
            device_id: String::new(),
            proof: None,
        });
    }
    if rest.len() < 16 + NONCE_LEN + 1 {
        return Err(BAD);
    }
    let (team, rest) = rest.split_at(16);
    let (nonce, rest) = rest.split_at(NONCE_LEN);
    let (&id_len, rest) = rest.split_first().ok_or(BAD)?;
    let id_len = id_len as usize;
    let want = id_len + if with_proof { PROOF_LEN } else { 0 };
    if rest.len() != want {
        return Err(BAD);
    }
    let device_id = std::str::from_utf8(&rest[..id_len])
        .map_err(|_| BAD)?
        .to_string();
    let proof = if with_proof {
        let mut p = [0u8; PROOF_LEN];
        p.copy_from_slice(&rest[id_len..]);
        Some(p)
    } else {
        None
    };
    let mut team_id = [0u8; 16];
    team_id.copy_from_slice(team);
    let mut n = [0u8; NONCE_LEN];
    n.copy_from_slice(nonce);
    Ok(Hello {
        version,
        team_id,
        nonce: n,
        device_id,
        proof,
    })
}

struct SessionKeys {
    auth: Key,
    c2s: Key,
    s2c: Key,
}

fn derive_session_keys(
    team: &TeamSecret,
    cn: &[u8; NONCE_LEN],
    sn: &[u8; NONCE_LEN],
    cid: &str,
    sid: &str,
) -> SessionKeys {
    let mut t =
        Vec::with_capacity(TRANSCRIPT_LABEL.len() + 16 + 2 * NONCE_LEN + 2 + cid.len() + sid.len());
    t.extend_from_slice(TRANSCRIPT_LABEL);
    t.extend_from_slice(&team.team_id);
    t.extend_from_slice(cn);
    t.extend_from_slice(sn);
    t.push(cid.len() as u8);
    t.extend_from_slice(cid.as_bytes());
    t.push(sid.len() as u8);
    t.extend_from_slice(sid.as_bytes());
    let salt = crypto::sha256(&t);
    SessionKeys {
        auth: crypto::derive_key(&team.secret, &salt, b"timbang peer auth"),
        c2s: crypto::derive_key(&team.secret, &salt, b"timbang peer client to server"),
        s2c: crypto::derive_key(&team.secret, &salt, b"timbang peer server to client"),
    }
}

const SERVER_PROOF_LABEL: &[u8] = b"server proof";
const CLIENT_PROOF_LABEL: &[u8] = b"client proof";

fn check_device_id(id: &str) -> Result<(), PeerError> {
    if id.is_empty() || id.len() > 255 {
        return Err(PeerError::Protocol("a device id must be 1 to 255 bytes"));
    }
    Ok(())
}

fn refused(body: &[u8]) -> PeerError {
    match body {
        [REFUSE_VERSION, v, ..] => PeerError::Version(*v),
        _ => PeerError::NotPaired,
    }
}

impl<S: Read + Write> SecureChannel<S> {
    /// Open a channel as the device that dialled. Returns the channel and the other device's id once
    /// both sides proved they hold the team secret.
    pub fn connect(
        mut stream: S,
        team: &TeamSecret,
        my_device_id: &str,
    ) -> Result<(Self, String), PeerError> {
        check_device_id(my_device_id)?;
        let mut c = Counters::default();
        let my_nonce = crypto::make_random_bytes::<NONCE_LEN>()?;
        write_frame(
            &mut stream,
            T_CLIENT_HELLO,
            &encode_hello(&team.team_id, &my_nonce, my_device_id, None),
            &mut c,
        )?;
        let (kind, body) = read_frame(&mut stream, &mut c)?;
        match kind {
            T_SERVER_HELLO => {}
            T_REFUSE => return Err(refused(&body)),
            _ => return Err(PeerError::Protocol("expected the server hello")),
        }
        let hello = decode_hello(&body, true)?;
        if hello.version != PROTOCOL_VERSION {
            return Err(PeerError::Version(hello.version));
        }
        let keys = derive_session_keys(
            team,
            &my_nonce,
            &hello.nonce,
            my_device_id,
            &hello.device_id,
        );
        let proof_ok = hello.team_id == team.team_id
            && hello
                .proof
                .is_some_and(|p| crypto::verify_hmac_sha256(&keys.auth, SERVER_PROOF_LABEL, &p));
        if !proof_ok {
            let _ = write_frame(
                &mut stream,
                T_REFUSE,
                &[REFUSE_NOT_PAIRED, PROTOCOL_VERSION],
                &mut c,
            );
            return Err(PeerError::NotPaired);
        }
        let proof = crypto::hmac_sha256(&keys.auth, CLIENT_PROOF_LABEL);
        write_frame(&mut stream, T_CLIENT_PROOF, &proof, &mut c)?;
        Ok((
            Self::new(stream, &keys.c2s, &keys.s2c, DIR_C2S, c),
            hello.device_id,
        ))
    }

    /// Open a channel as the device that was dialled. Returns the channel and the other device's id
    /// once both sides proved they hold the team secret.
    pub fn accept(
        stream: S,
        team: &TeamSecret,
        my_device_id: &str,
    ) -> Result<(Self, String), PeerError> {
        Self::accept_any(stream, std::slice::from_ref(team), my_device_id).map(|(c, p, _)| (c, p))
    }

    /// [`SecureChannel::accept`] for a device in several teams: the client's hello names its team (by
    /// the team id it has always sent), and the handshake runs with that team's secret. Returns also
    /// the index in `teams` of the team the other device proved. The wire is unchanged.
    pub fn accept_any(
        mut stream: S,
        teams: &[TeamSecret],
        my_device_id: &str,
    ) -> Result<(Self, String, usize), PeerError> {
        check_device_id(my_device_id)?;
        let mut c = Counters::default();
        let (kind, body) = read_frame(&mut stream, &mut c)?;
        match kind {
            T_CLIENT_HELLO => {}
            T_REFUSE => return Err(refused(&body)),
            _ => return Err(PeerError::Protocol("expected the client hello")),
        }
        let hello = decode_hello(&body, false)?;
        if hello.version != PROTOCOL_VERSION {
            let _ = write_frame(
                &mut stream,
                T_REFUSE,
                &[REFUSE_VERSION, PROTOCOL_VERSION],
                &mut c,
            );
            return Err(PeerError::Version(hello.version));
        }
        check_device_id(&hello.device_id)?;
        let Some(index) = teams.iter().position(|t| t.team_id == hello.team_id) else {
            let _ = write_frame(
                &mut stream,
                T_REFUSE,
                &[REFUSE_NOT_PAIRED, PROTOCOL_VERSION],
                &mut c,
            );
            return Err(PeerError::NotPaired);
        };
        let team = &teams[index];
        let my_nonce = crypto::make_random_bytes::<NONCE_LEN>()?;
        let keys = derive_session_keys(
            team,
            &hello.nonce,
            &my_nonce,
            &hello.device_id,
            my_device_id,
        );
        let proof = crypto::hmac_sha256(&keys.auth, SERVER_PROOF_LABEL);
        write_frame(
            &mut stream,
            T_SERVER_HELLO,
            &encode_hello(&team.team_id, &my_nonce, my_device_id, Some(&proof)),
            &mut c,
        )?;
        let (kind, body) = read_frame(&mut stream, &mut c)?;
        match kind {
            T_CLIENT_PROOF => {}
            T_REFUSE => return Err(refused(&body)),
            _ => return Err(PeerError::Protocol("expected the client proof")),
        }
        if !crypto::verify_hmac_sha256(&keys.auth, CLIENT_PROOF_LABEL, &body) {
            let _ = write_frame(
                &mut stream,
                T_REFUSE,
                &[REFUSE_NOT_PAIRED, PROTOCOL_VERSION],
                &mut c,
            );
            return Err(PeerError::NotPaired);
        }
        Ok((
            Self::new(stream, &keys.s2c, &keys.c2s, DIR_S2C, c),
            hello.device_id,
            index,
        ))
    }

    fn new(stream: S, send_key: &Key, recv_key: &Key, send_dir: u8, c: Counters) -> Self {
        Self {
            stream,
            sealer: Sealer::new(send_key),
            opener: Sealer::new(recv_key),
            send_dir,
            send_counter: 0,
            recv_counter: 0,
            bytes_sent: c.sent,
            bytes_received: c.received,
            frames_sent: c.frames_sent,
            frames_received: c.frames_received,
        }
    }

    /// Seal and send one message (at most [`MAX_MESSAGE`] bytes).
    pub fn send(&mut self, message: &[u8]) -> Result<(), PeerError> {
        if message.len() > MAX_MESSAGE {
            return Err(PeerError::FrameTooLarge(message.len() + 17));
        }
        let sealed =
            self.sealer
                .seal_counter(self.send_counter, &[T_SEALED, self.send_dir], message);
        let mut c = Counters::default();
        write_frame(&mut self.stream, T_SEALED, &sealed, &mut c)?;
        self.send_counter += 1;
        self.bytes_sent += c.sent;
        self.frames_sent += 1;
        Ok(())
    }

    /// Receive and open the next message.
    pub fn recv(&mut self) -> Result<Vec<u8>, PeerError> {
        let mut c = Counters::default();
        let (kind, body) = read_frame(&mut self.stream, &mut c)?;
        self.bytes_received += c.received;
        self.frames_received += 1;
        match kind {
            T_SEALED => {}
            T_REFUSE => return Err(refused(&body)),
            _ => return Err(PeerError::Tampered),
        }
        let recv_dir = self.send_dir ^ 1;
        let plain = self
            .opener
            .open_counter(self.recv_counter, &[T_SEALED, recv_dir], &body)
            .map_err(|_| PeerError::Tampered)?;
        self.recv_counter += 1;
        Ok(plain)
    }

    /// Bytes written to the pipe so far, handshake and framing included.
    pub fn bytes_sent(&self) -> u64 {
        self.bytes_sent
    }

    /// Bytes read from the pipe so far, handshake and framing included.
    pub fn bytes_received(&self) -> u64 {
        self.bytes_received
    }

    /// Frames written and read so far, handshake included.
    pub fn frames(&self) -> (u64, u64) {
        (self.frames_sent, self.frames_received)
    }

    /// The underlying pipe.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// Give back the pipe.
    pub fn into_inner(self) -> S {
        self.stream
    }
}
