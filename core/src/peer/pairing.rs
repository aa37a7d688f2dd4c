//! Team pairing: the shared secret of a posyandu team and the code that carries it between phones.
//!
//! A pairing code is Crockford base32 in dash-separated groups of five, for example
//! `0C8RK-...-2M9QA` (85 or 87 symbols). It encodes `[version 1][team id 16][secret 32][checksum 4]`, or
//! in version 2 (an invite) `[2][team id 16][secret 32][KBM table 1][checksum 4]` so a joining phone
//! uses the team's KBM table; the checksum is the first four bytes of SHA-256 over the rest under a
//! fixed label. Reading is tolerant of
//! case, spaces, dashes and the look-alikes `I`/`L` (as 1) and `O` (as 0); a mistyped symbol fails the
//! checksum with a clear error instead of pairing with a wrong secret.

use super::PeerError;
use crate::crypto::{self, Key};

/// Version byte of the pairing code payload.
pub const PAIRING_CODE_VERSION: u8 = 1;
/// Version byte of an invite: a pairing code that also carries the team's KBM table.
pub const INVITE_CODE_VERSION: u8 = 2;
const CHECK_LEN: usize = 4;
const PAYLOAD_LEN: usize = 1 + 16 + crypto::KEY_LEN;
/// KBM tables an invite can name, by their one-byte number. Append only: the numbers are in codes
/// already handed out.
pub const INVITE_KBM_TABLES: &[&str] = &["kms-permenkes-155-2010", "kms-programme-file"];

/// What an invite carries: the team and the settings every phone of the team must share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    pub team: TeamSecret,
    /// The team's KBM table id (None in a version 1 code).
    pub kbm_table: Option<&'static str>,
}
const GROUP: usize = 5;
const CHECK_LABEL: &[u8] = b"timbang pairing code v1";

/// The secret a team of phones shares. Whoever holds it may sync with the team.
#[derive(Clone, PartialEq, Eq)]
pub struct TeamSecret {
    /// Public identifier of the team, sent in the clear in every hello.
    pub team_id: [u8; 16],
    /// The shared secret; never leaves the devices except inside a pairing code.
    pub secret: Key,
}

impl std::fmt::Debug for TeamSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TeamSecret")
            .field("team_id", &hex::encode(self.team_id))
            .field("secret", &self.secret)
            .finish()
    }
}

impl TeamSecret {
    /// A new team with a random id and secret.
    pub fn make() -> Result<Self, PeerError> {
        Ok(Self {
            team_id: crypto::make_random_bytes::<16>()?,
            secret: Key::make_random()?,
        })
    }
}

/// Crockford's base32 alphabet: no I, L, O or U.
const SYMBOLS: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters a reader skips anywhere in a code.
const IGNORED: &[u8] = b"- \t\r\n";

/// `bytes` in Crockford base32, most significant bit first, without padding (the last symbol's
/// unused bits are zero). Written here rather than with `data-encoding`, whose run-time alphabets
/// cost the phone library about 44 KB for these few lines (docs/BENCHMARKS.md, the bindings).
fn encode_base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut acc, mut bits) = (0u16, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u16::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(SYMBOLS[usize::from((acc >> bits) & 31)]));
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(SYMBOLS[usize::from((acc << (5 - bits)) & 31)]));
    }
    out
}

/// The value of one symbol, reading lower case as upper case, `I` and `L` as 1 and `O` as 0.
fn symbol_value(c: u8) -> Option<u8> {
    let c = match c.to_ascii_uppercase() {
        b'I' | b'L' => b'1',
        b'O' => b'0',
        c => c,
    };
    SYMBOLS.iter().position(|&s| s == c).map(|v| v as u8)
}

/// Why a code does not read as base32 at all.
enum Base32Error {
    Symbol,
    Length,
    /// The last symbol carries bits that no byte holds: a mistyped last symbol.
    Trailing,
}

/// [`encode_base32`] read back, skipping [`IGNORED`] characters.
fn decode_base32(text: &[u8]) -> Result<Vec<u8>, Base32Error> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut acc, mut bits, mut symbols) = (0u16, 0u32, 0usize);
    for &c in text {
        if IGNORED.contains(&c) {
            continue;
        }
        let v = symbol_value(c).ok_or(Base32Error::Symbol)?;
        symbols += 1;
        acc = (acc << 5) | u16::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // 1, 3 or 6 symbols past a whole group of 8 cannot come from whole bytes.
    if matches!(symbols % 8, 1 | 3 | 6) {
        return Err(Base32Error::Length);
    }
    if acc != 0 {
        return Err(Base32Error::Trailing);
    }
    Ok(out)
}

fn checksum(payload: &[u8]) -> [u8; CHECK_LEN] {
    let mut data = CHECK_LABEL.to_vec();
    data.extend_from_slice(payload);
    let digest = crypto::sha256(&data);
    let mut out = [0u8; CHECK_LEN];
    out.copy_from_slice(&digest[..CHECK_LEN]);
    out
}

/// The pairing code for `team`: Crockford base32 in groups of five separated by dashes.
pub fn make_pairing_code(team: &TeamSecret) -> String {
    encode_payload(team, None)
}

/// An invite code: the pairing code plus the team's KBM table (which must be one of
/// [`INVITE_KBM_TABLES`]).
pub fn make_invite_code(team: &TeamSecret, kbm_table: &str) -> Result<String, PeerError> {
    let n = INVITE_KBM_TABLES
        .iter()
        .position(|t| *t == kbm_table)
        .ok_or(PeerError::PairingCode(
            "the team's KBM table cannot be named in an invite",
        ))?;
    Ok(encode_payload(team, Some(n as u8)))
}

fn encode_payload(team: &TeamSecret, kbm: Option<u8>) -> String {
    let mut payload = Vec::with_capacity(PAYLOAD_LEN + 1 + CHECK_LEN);
    payload.push(if kbm.is_some() {
        INVITE_CODE_VERSION
    } else {
        PAIRING_CODE_VERSION
    });
    payload.extend_from_slice(&team.team_id);
    payload.extend_from_slice(team.secret.as_bytes());
    if let Some(k) = kbm {
        payload.push(k);
    }
    let check = checksum(&payload);
    payload.extend_from_slice(&check);
    let plain = encode_base32(&payload);
    let chars: Vec<char> = plain.chars().collect();
    chars
        .chunks(GROUP)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// Read a pairing code as typed or pasted (any case, spaces and dashes anywhere).
pub fn parse_pairing_code(code: &str) -> Result<TeamSecret, PeerError> {
    parse_invite_code(code).map(|i| i.team)
}

/// Read a pairing or invite code with the settings it carries.
pub fn parse_invite_code(code: &str) -> Result<Invite, PeerError> {
    let bytes = decode_base32(code.trim().as_bytes()).map_err(|e| match e {
        Base32Error::Symbol => {
            PeerError::PairingCode("it contains a character that is not in the code")
        }
        Base32Error::Length => {
            PeerError::PairingCode("it has the wrong length (characters missing or extra)")
        }
        Base32Error::Trailing => PeerError::PairingCode("it has a typo (checksum does not match)"),
    })?;
    let payload_len = match bytes.len() {
        n if n == PAYLOAD_LEN + CHECK_LEN => PAYLOAD_LEN,
        n if n == PAYLOAD_LEN + 1 + CHECK_LEN => PAYLOAD_LEN + 1,
        _ => {
            return Err(PeerError::PairingCode(
                "it has the wrong length (characters missing or extra)",
            ));
        }
    };
    let (payload, check) = bytes.split_at(payload_len);
    if checksum(payload) != check {
        return Err(PeerError::PairingCode(
            "it has a typo (checksum does not match)",
        ));
    }
    let expected = if payload_len == PAYLOAD_LEN {
        PAIRING_CODE_VERSION
    } else {
        INVITE_CODE_VERSION
    };
    if payload[0] != expected {
        return Err(PeerError::PairingCode(
            "it was made by a newer version of Timbang",
        ));
    }
    let mut team_id = [0u8; 16];
    team_id.copy_from_slice(&payload[1..17]);
    let secret = Key::from_bytes(&payload[17..17 + crypto::KEY_LEN])?;
    let kbm_table =
        match payload.get(PAYLOAD_LEN) {
            None => None,
            Some(n) => Some(*INVITE_KBM_TABLES.get(usize::from(*n)).ok_or(
                PeerError::PairingCode("it names a KBM table this version does not know"),
            )?),
        };
    Ok(Invite {
        team: TeamSecret { team_id, secret },
        kbm_table,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_is_tolerant() -> Result<(), PeerError> {
        let team = TeamSecret::make()?;
        let code = make_pairing_code(&team);
        assert_eq!(code.len(), 85 + 16);
        assert_eq!(parse_pairing_code(&code)?, team);
        let sloppy = format!("  {} ", code.to_lowercase().replace('-', " "));
        assert_eq!(parse_pairing_code(&sloppy)?, team);
        Ok(())
    }

    #[test]
    fn base32_is_crockford_msb_first() {
        // RFC 4648's test vectors in Crockford's alphabet, without padding.
        let cases: &[(&[u8], &str)] = &[
            (b"", ""),
            (b"f", "CR"),
            (b"fo", "CSQG"),
            (b"foo", "CSQPY"),
            (b"foob", "CSQPYRG"),
            (b"fooba", "CSQPYRK1"),
            (b"foobar", "CSQPYRK1E8"),
        ];
        for (bytes, text) in cases {
            assert_eq!(encode_base32(bytes), *text);
            assert_eq!(decode_base32(text.as_bytes()).ok().as_deref(), Some(*bytes));
        }
        assert_eq!(
            decode_base32(b"csqpy-rk1e8").ok().as_deref(),
            Some(&b"foobar"[..])
        );
        assert_eq!(decode_base32(b"iIlLoO").ok(), decode_base32(b"111100").ok());
        assert!(matches!(decode_base32(b"CSU"), Err(Base32Error::Symbol)));
        assert!(matches!(decode_base32(b"CSQ"), Err(Base32Error::Length)));
        // "CS" holds 10 bits: the last two must be zero.
        assert!(matches!(decode_base32(b"CT"), Err(Base32Error::Trailing)));
    }

    #[test]
    fn an_invite_carries_the_kbm_table() -> Result<(), PeerError> {
        let team = TeamSecret::make()?;
        for t in INVITE_KBM_TABLES {
            let code = make_invite_code(&team, t)?;
            let invite = parse_invite_code(&code)?;
            assert_eq!((invite.team, invite.kbm_table), (team.clone(), Some(*t)));
        }
        assert!(make_invite_code(&team, "no-such-table").is_err());
        assert_eq!(
            parse_invite_code(&make_pairing_code(&team))?.kbm_table,
            None
        );
        // Every KBM table a deployment can choose can be named in an invite.
        for id in crate::growth::KbmTable::ids() {
            assert!(
                INVITE_KBM_TABLES.contains(&id),
                "{id} missing from INVITE_KBM_TABLES"
            );
        }
        Ok(())
    }
}
