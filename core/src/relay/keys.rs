//! Object names and sealing.
//!
//! A name is `tb1/<team>/<lamport>.<device>.<seq>.<nonce>.<kind>`:
//!
//! * `team`: 32 hex digits, an HMAC of the team id under a key derived from the team secret. Names of
//!   one team share the prefix `tb1/<team>/`, so a phone lists its team's objects only; without the
//!   secret the prefix cannot be linked to a team id, a posyandu or anything else.
//! * `lamport`: 12 digits, one more than the largest lamport of every object the device had seen when
//!   it wrote this one. A bundle depends only on changes in objects with smaller lamports (or in
//!   itself), so applying in name order applies causes before effects.
//! * `device`: 16 hex digits, a random id made by each database for the relay (not its device id).
//! * `seq`: 10 digits, the device's own counter, reserved in the database before the object is written;
//!   the per-device cursor of every reader.
//! * `nonce`: 8 random hex digits, so that even a database restored from a backup (whose counter went
//!   back) never writes a name twice: conditional writes are not portable (OpenStack Swift answers 501
//!   to `If-None-Match: *`), so no name is ever overwritten by construction.
//! * `kind`: `b` a bundle of changes, `s` a snapshot part written by compaction.
//!
//! Bodies are sealed with AES-256-GCM under a key derived from the team secret, with the whole name as
//! AAD: a body copied under another name, or from another team, does not open.

use crate::crypto::{self, CryptoError, Sealer};
use crate::peer::TeamSecret;

use super::BundleKind;

/// The format prefix of every name.
pub const FORMAT: &str = "tb1";

/// The keys of one team's relay.
pub struct RelayKeys {
    sealer: Sealer,
    team_tag: String,
}

impl std::fmt::Debug for RelayKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayKeys")
            .field("team_tag", &self.team_tag)
            .finish_non_exhaustive()
    }
}

fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

impl RelayKeys {
    /// The relay keys of `team`.
    pub fn new(team: &TeamSecret) -> Self {
        let seal_key = crypto::derive_key(&team.secret, b"timbang-relay", b"bundle-v1");
        let tag_key = crypto::derive_key(&team.secret, b"timbang-relay", b"team-tag-v1");
        let tag = crypto::hmac_sha256(&tag_key, &team.team_id);
        Self {
            sealer: Sealer::new(&seal_key),
            team_tag: hex(&tag[..16]),
        }
    }

    /// The name prefix of this team's objects (`tb1/<team>/`).
    pub fn prefix(&self) -> String {
        format!("{FORMAT}/{}/", self.team_tag)
    }

    /// The team part of names.
    pub fn team_tag(&self) -> &str {
        &self.team_tag
    }

    /// Seal a body for the object called `name`.
    pub fn seal(&self, name: &str, plain: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.sealer.seal(name.as_bytes(), plain)
    }

    /// Open the body of the object called `name`.
    pub fn open(&self, name: &str, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.sealer.open(name.as_bytes(), sealed)
    }
}

/// A new random relay device id (16 hex digits).
pub fn make_device_id() -> Result<String, CryptoError> {
    Ok(hex(&crypto::make_random_bytes::<8>()?))
}

/// The parts of an object name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectName {
    pub lamport: u64,
    pub device: String,
    pub seq: u64,
    pub nonce: String,
    pub kind: BundleKind,
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn digits(s: &str, len: usize) -> Option<u64> {
    if s.len() == len && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

impl ObjectName {
    /// A new name for this device's object number `seq` (with a fresh random nonce).
    pub fn make(
        lamport: u64,
        device: &str,
        seq: u64,
        kind: BundleKind,
    ) -> Result<Self, CryptoError> {
        Ok(Self {
            lamport,
            device: device.to_owned(),
            seq,
            nonce: hex(&crypto::make_random_bytes::<4>()?),
            kind,
        })
    }

    /// The full key under `prefix` (from [`RelayKeys::prefix`]).
    pub fn key(&self, prefix: &str) -> String {
        let kind = match self.kind {
            BundleKind::Changes => 'b',
            BundleKind::Snapshot => 's',
        };
        format!(
            "{prefix}{:012}.{}.{:010}.{}.{kind}",
            self.lamport, self.device, self.seq, self.nonce
        )
    }

    /// Read a listed key under `prefix`; None for anything that is not one of our names.
    pub fn parse(prefix: &str, key: &str) -> Option<Self> {
        let rest = key.strip_prefix(prefix)?;
        let mut parts = rest.split('.');
        let lamport = digits(parts.next()?, 12)?;
        let device = parts.next()?;
        let seq = digits(parts.next()?, 10)?;
        let nonce = parts.next()?;
        let kind = match parts.next()? {
            "b" => BundleKind::Changes,
            "s" => BundleKind::Snapshot,
            _ => return None,
        };
        if parts.next().is_some() || !is_hex(device, 16) || !is_hex(nonce, 8) {
            return None;
        }
        Some(Self {
            lamport,
            device: device.to_owned(),
            seq,
            nonce: nonce.to_owned(),
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_reject_others() -> Result<(), CryptoError> {
        let team = TeamSecret::make().map_err(|_| CryptoError::Random)?;
        let keys = RelayKeys::new(&team);
        let prefix = keys.prefix();
        let name = ObjectName::make(7, "0123456789abcdef", 42, BundleKind::Changes)?;
        let key = name.key(&prefix);
        assert_eq!(ObjectName::parse(&prefix, &key), Some(name.clone()));
        assert_eq!(ObjectName::parse("tb1/other/", &key), None);
        assert_eq!(ObjectName::parse(&prefix, &format!("{key}.x")), None);
        assert_eq!(ObjectName::parse(&prefix, &key.replace(".b", ".q")), None);
        // Two names for the same counter differ (the nonce).
        let again = ObjectName::make(7, "0123456789abcdef", 42, BundleKind::Changes)?;
        assert_ne!(again.key(&prefix), key);
        // The team part is not the team id.
        assert!(!prefix.contains(&hex(&team.team_id)));
        Ok(())
    }

    #[test]
    fn bodies_open_only_under_their_name_and_team() -> Result<(), CryptoError> {
        let a = RelayKeys::new(&TeamSecret::make().map_err(|_| CryptoError::Random)?);
        let b = RelayKeys::new(&TeamSecret::make().map_err(|_| CryptoError::Random)?);
        let sealed = a.seal("tb1/x/1", b"changes")?;
        assert_eq!(a.open("tb1/x/1", &sealed)?, b"changes");
        assert_eq!(a.open("tb1/x/2", &sealed), Err(CryptoError::Open));
        assert_eq!(b.open("tb1/x/1", &sealed), Err(CryptoError::Open));
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn any_listed_key_parses_without_panic(key in "\\PC{0,120}") {
            let _ = ObjectName::parse("tb1/", &key);
            let _ = ObjectName::parse("", &key);
        }
    }
}
