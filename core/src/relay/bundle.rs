//! What one sealed object holds, before sealing:
//!
//! ```text
//! "TBR1" | kind u8 (1 changes, 2 snapshot) | count u32 | count x ( id_len u16 | id | len u32 | bytes )
//! ```
//!
//! All integers big-endian. For a bundle, `bytes` are automerge changes
//! ([`automerge::Automerge::save_after`]) since what the relay already held; for a snapshot, the whole
//! document ([`automerge::Automerge::save`]). Both are applied with `load_incremental`, which accepts
//! either.

const MAGIC: &[u8; 4] = b"TBR1";
/// The largest document id accepted (ids are UUIDs).
const MAX_ID: usize = 128;

/// Changes or whole documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BundleKind {
    Changes,
    Snapshot,
}

/// The documents of one object: (document id, automerge bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    pub kind: BundleKind,
    pub docs: Vec<(String, Vec<u8>)>,
}

impl Bundle {
    /// The plaintext of this bundle.
    pub fn encode(&self) -> Vec<u8> {
        let size: usize = self.docs.iter().map(|(i, b)| 6 + i.len() + b.len()).sum();
        let mut out = Vec::with_capacity(9 + size);
        out.extend_from_slice(MAGIC);
        out.push(match self.kind {
            BundleKind::Changes => 1,
            BundleKind::Snapshot => 2,
        });
        out.extend_from_slice(&(self.docs.len() as u32).to_be_bytes());
        for (id, bytes) in &self.docs {
            out.extend_from_slice(&(id.len() as u16).to_be_bytes());
            out.extend_from_slice(id.as_bytes());
            out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
            out.extend_from_slice(bytes);
        }
        out
    }

    /// Read a plaintext; None when it is not a whole, well-formed bundle.
    pub fn decode(data: &[u8]) -> Option<Self> {
        let mut r = Reader(data);
        if r.take(4)? != MAGIC {
            return None;
        }
        let kind = match r.take(1)?[0] {
            1 => BundleKind::Changes,
            2 => BundleKind::Snapshot,
            _ => return None,
        };
        let count = u32::from_be_bytes(r.take(4)?.try_into().ok()?) as usize;
        // Each entry takes at least 6 bytes: a count larger than that is a lie.
        if count > r.0.len() / 6 {
            return None;
        }
        let mut docs = Vec::with_capacity(count);
        for _ in 0..count {
            let id_len = u16::from_be_bytes(r.take(2)?.try_into().ok()?) as usize;
            if id_len == 0 || id_len > MAX_ID {
                return None;
            }
            let id = std::str::from_utf8(r.take(id_len)?).ok()?.to_owned();
            let len = u32::from_be_bytes(r.take(4)?.try_into().ok()?) as usize;
            docs.push((id, r.take(len)?.to_vec()));
        }
        if !r.0.is_empty() {
            return None;
        }
        Some(Self { kind, docs })
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage_refused() {
        let b = Bundle {
            kind: BundleKind::Changes,
            docs: vec![("a".into(), vec![1, 2, 3]), ("bb".into(), vec![])],
        };
        let enc = b.encode();
        assert_eq!(Bundle::decode(&enc), Some(b));
        for cut in 0..enc.len() {
            assert_eq!(Bundle::decode(&enc[..cut]), None, "cut at {cut}");
        }
        let mut longer = enc.clone();
        longer.push(0);
        assert_eq!(Bundle::decode(&longer), None);
        let mut huge = enc;
        huge[5..9].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(Bundle::decode(&huge), None);
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_decode_without_panic(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            let _ = Bundle::decode(&data);
            let mut framed = b"TBR1\x01".to_vec();
            framed.extend_from_slice(&data);
            let _ = Bundle::decode(&framed);
        }

        #[test]
        fn any_bundle_round_trips(
            docs in proptest::collection::vec(("[a-z0-9-]{1,40}", proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)), 0..8),
            snapshot in proptest::prelude::any::<bool>(),
        ) {
            let b = Bundle { kind: if snapshot { BundleKind::Snapshot } else { BundleKind::Changes }, docs };
            proptest::prop_assert_eq!(Bundle::decode(&b.encode()), Some(b));
        }
    }
}
