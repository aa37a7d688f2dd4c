//! The one module that touches `ring`.
//!
//! Everything that seals, derives or authenticates bytes goes through here, so the formats stay in one
//! place. Naming: `derive_*` is deterministic, `make_*` is random. Every sealed format starts with a
//! version byte so it can change without guessing.
//!
//! Sealed format v1 (random nonce): `[0x01][nonce 12][ciphertext][tag 16]`, AES-256-GCM.
//! Counter-sealed frames (peer channel) carry no nonce: both sides count.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use ring::{digest, hkdf, hmac};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Length of every symmetric key we use.
pub const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const SEALED_V1: u8 = 1;

/// Errors of this module. Carries no key material and no plaintext.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("a key must be {KEY_LEN} bytes, got {0}")]
    KeyLength(usize),
    #[error("sealed data could not be opened (wrong key or altered data)")]
    Open,
    #[error("sealed data has unknown format version {0}")]
    Version(u8),
    #[error("sealed data is too short")]
    Truncated,
    #[error("the system random source failed")]
    Random,
}

/// A 32-byte secret key. Zeroized on drop; never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct Key([u8; KEY_LEN]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

impl Key {
    /// A key from exactly 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let arr: [u8; KEY_LEN] = bytes
            .try_into()
            .map_err(|_| CryptoError::KeyLength(bytes.len()))?;
        Ok(Self(arr))
    }

    /// A fresh random key.
    pub fn make_random() -> Result<Self, CryptoError> {
        Ok(Self(make_random_bytes::<KEY_LEN>()?))
    }

    /// The raw bytes, for handing to the host's key store. Handle with care.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

/// `N` bytes from the system's secure random source.
pub fn make_random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut out = [0u8; N];
    SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| CryptoError::Random)?;
    Ok(out)
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// HMAC-SHA256 of `data` under `key`.
pub fn hmac_sha256(key: &Key, data: &[u8]) -> [u8; 32] {
    let k = hmac::Key::new(hmac::HMAC_SHA256, &key.0);
    let tag = hmac::sign(&k, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

/// Constant-time check of an HMAC-SHA256 tag.
pub fn verify_hmac_sha256(key: &Key, data: &[u8], tag: &[u8]) -> bool {
    let k = hmac::Key::new(hmac::HMAC_SHA256, &key.0);
    hmac::verify(&k, data, tag).is_ok()
}

struct KeyLen;
impl hkdf::KeyType for KeyLen {
    fn len(&self) -> usize {
        KEY_LEN
    }
}

/// HKDF-SHA256: a sub-key of `ikm` for one purpose (`info`), bound to `salt`.
pub fn derive_key(ikm: &Key, salt: &[u8], info: &[u8]) -> Key {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(&ikm.0);
    let infos = [info];
    let mut out = [0u8; KEY_LEN];
    // Both calls only fail when the requested length exceeds 255 * 32 bytes; ours is 32.
    if let Ok(okm) = prk.expand(&infos, KeyLen) {
        let _ = okm.fill(&mut out);
    }
    Key(out)
}

/// AES-256-GCM under one key.
pub struct Sealer {
    key: LessSafeKey,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// A sealer for `key`.
    pub fn new(key: &Key) -> Self {
        // AES-256 accepts any 32-byte key, so this cannot fail.
        let unbound = match UnboundKey::new(&AES_256_GCM, &key.0) {
            Ok(k) => k,
            Err(_) => unreachable!("AES-256-GCM takes a 32-byte key"),
        };
        Self {
            key: LessSafeKey::new(unbound),
        }
    }

    /// Seal `plaintext` with a random nonce; `aad` binds the ciphertext to its place (for example a
    /// table and column), so a sealed value copied elsewhere does not open.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let nonce_bytes = make_random_bytes::<NONCE_LEN>()?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + TAG_LEN);
        out.push(SEALED_V1);
        out.extend_from_slice(&nonce_bytes);
        let mut body = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(aad),
                &mut body,
            )
            .map_err(|_| CryptoError::Open)?;
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Open what [`Sealer::seal`] produced with the same `aad`.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let (&version, rest) = sealed.split_first().ok_or(CryptoError::Truncated)?;
        if version != SEALED_V1 {
            return Err(CryptoError::Version(version));
        }
        if rest.len() < NONCE_LEN + TAG_LEN {
            return Err(CryptoError::Truncated);
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Truncated)?;
        let mut body = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(aad), &mut body)
            .map_err(|_| CryptoError::Open)?;
        Ok(plain.to_vec())
    }

    /// Seal with a nonce made from a message counter (for channels where both sides count). A counter
    /// must never be used twice with the same key.
    pub fn seal_counter(&self, counter: u64, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let mut body = plaintext.to_vec();
        // Sealing only fails for inputs longer than GCM's limit (64 GiB).
        let _ =
            self.key
                .seal_in_place_append_tag(counter_nonce(counter), Aad::from(aad), &mut body);
        body
    }

    /// Open a counter-sealed message.
    pub fn open_counter(
        &self,
        counter: u64,
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let mut body = sealed.to_vec();
        let plain = self
            .key
            .open_in_place(counter_nonce(counter), Aad::from(aad), &mut body)
            .map_err(|_| CryptoError::Open)?;
        Ok(plain.to_vec())
    }
}

fn counter_nonce(counter: u64) -> Nonce {
    let mut n = [0u8; NONCE_LEN];
    n[4..].copy_from_slice(&counter.to_be_bytes());
    Nonce::assume_unique_for_key(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_aad_binding() -> Result<(), CryptoError> {
        let key = Key::make_random()?;
        let s = Sealer::new(&key);
        let sealed = s.seal(b"children.name", b"Siti")?;
        assert_eq!(s.open(b"children.name", &sealed)?, b"Siti");
        assert_eq!(s.open(b"children.nik", &sealed), Err(CryptoError::Open));
        let other = Sealer::new(&Key::make_random()?);
        assert_eq!(
            other.open(b"children.name", &sealed),
            Err(CryptoError::Open)
        );
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(s.open(b"children.name", &tampered), Err(CryptoError::Open));
        assert_eq!(s.open(b"x", &[9, 1, 2]), Err(CryptoError::Version(9)));
        assert_eq!(s.open(b"x", &[1, 1, 2]), Err(CryptoError::Truncated));
        Ok(())
    }

    #[test]
    fn counter_sealing_depends_on_counter() -> Result<(), CryptoError> {
        let s = Sealer::new(&Key::make_random()?);
        let c = s.seal_counter(7, b"", b"frame");
        assert_eq!(s.open_counter(7, b"", &c)?, b"frame");
        assert_eq!(s.open_counter(8, b"", &c), Err(CryptoError::Open));
        Ok(())
    }

    #[test]
    fn derive_is_deterministic_and_separates_purposes() -> Result<(), CryptoError> {
        let k = Key::make_random()?;
        assert_eq!(derive_key(&k, b"s", b"a"), derive_key(&k, b"s", b"a"));
        assert_ne!(derive_key(&k, b"s", b"a"), derive_key(&k, b"s", b"b"));
        assert_ne!(derive_key(&k, b"s", b"a"), derive_key(&k, b"t", b"a"));
        let tag = hmac_sha256(&k, b"m");
        assert!(verify_hmac_sha256(&k, b"m", &tag));
        assert!(!verify_hmac_sha256(&k, b"n", &tag));
        assert_eq!(Key::from_bytes(&[0u8; 5]), Err(CryptoError::KeyLength(5)));
        Ok(())
    }
}
