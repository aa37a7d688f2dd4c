//! Team pairing: the shared secret of a posyandu team and the code that carries it between phones.
//!
//! A pairing code is Crockford base32 in dash-separated groups of five, for example
//! `0C8RK-...-2M9QA` (85 symbols). It encodes `[version 1][team id 16][secret 32][checksum 4]`, where the
//! checksum is the first four bytes of SHA-256 over the rest under a fixed label. Reading is tolerant of
//! case, spaces, dashes and the look-alikes `I`/`L` (as 1) and `O` (as 0); a mistyped symbol fails the
//! checksum with a clear error instead of pairing with a wrong secret.

use super::PeerError;
use crate::crypto::{self, Key};
use data_encoding::{DecodeKind, Encoding, Specification};

/// Version byte of the pairing code payload.
pub const PAIRING_CODE_VERSION: u8 = 1;
const CHECK_LEN: usize = 4;
const PAYLOAD_LEN: usize = 1 + 16 + crypto::KEY_LEN;
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
            .field("team_id", &data_encoding::HEXLOWER.encode(&self.team_id))
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

fn crockford() -> Result<Encoding, PeerError> {
    let mut spec = Specification::new();
    spec.symbols.push_str("0123456789ABCDEFGHJKMNPQRSTVWXYZ");
    spec.translate.from.push_str("abcdefghjkmnpqrstvwxyziIlLoO");
    spec.translate.to.push_str("ABCDEFGHJKMNPQRSTVWXYZ111100");
    spec.ignore.push_str("- \t\r\n");
    spec.encoding()
        .map_err(|_| PeerError::PairingCode("internal alphabet error"))
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
    let mut payload = Vec::with_capacity(PAYLOAD_LEN + CHECK_LEN);
    payload.push(PAIRING_CODE_VERSION);
    payload.extend_from_slice(&team.team_id);
    payload.extend_from_slice(team.secret.as_bytes());
    let check = checksum(&payload);
    payload.extend_from_slice(&check);
    // The alphabet is a constant valid specification, so this never falls back.
    let plain = crockford().map(|e| e.encode(&payload)).unwrap_or_default();
    let chars: Vec<char> = plain.chars().collect();
    chars
        .chunks(GROUP)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// Read a pairing code as typed or pasted (any case, spaces and dashes anywhere).
pub fn parse_pairing_code(code: &str) -> Result<TeamSecret, PeerError> {
    let enc = crockford()?;
    let bytes = enc
        .decode(code.trim().as_bytes())
        .map_err(|e| match e.kind {
            DecodeKind::Symbol => {
                PeerError::PairingCode("it contains a character that is not in the code")
            }
            DecodeKind::Length | DecodeKind::Padding => {
                PeerError::PairingCode("it has the wrong length (characters missing or extra)")
            }
            DecodeKind::Trailing => {
                PeerError::PairingCode("it has a typo (checksum does not match)")
            }
        })?;
    if bytes.len() != PAYLOAD_LEN + CHECK_LEN {
        return Err(PeerError::PairingCode(
            "it has the wrong length (characters missing or extra)",
        ));
    }
    let (payload, check) = bytes.split_at(PAYLOAD_LEN);
    if checksum(payload) != check {
        return Err(PeerError::PairingCode(
            "it has a typo (checksum does not match)",
        ));
    }
    if payload[0] != PAIRING_CODE_VERSION {
        return Err(PeerError::PairingCode(
            "it was made by a newer version of Timbang",
        ));
    }
    let mut team_id = [0u8; 16];
    team_id.copy_from_slice(&payload[1..17]);
    let secret = Key::from_bytes(&payload[17..])?;
    Ok(TeamSecret { team_id, secret })
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
}
