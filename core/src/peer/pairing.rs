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
use data_encoding::{DecodeKind, Encoding, Specification};

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
    parse_invite_code(code).map(|i| i.team)
}

/// Read a pairing or invite code with the settings it carries.
pub fn parse_invite_code(code: &str) -> Result<Invite, PeerError> {
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
