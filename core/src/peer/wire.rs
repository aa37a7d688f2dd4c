//! Byte encoding of session messages: LEB128 unsigned integers, length-prefixed byte strings.

use super::PeerError;
use automerge::ChangeHash;

const BAD: PeerError = PeerError::Protocol("malformed session message");

#[derive(Debug, Default)]
pub(crate) struct Writer {
    pub(crate) buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn new(kind: u8) -> Self {
        Self { buf: vec![kind] }
    }

    pub(crate) fn uint(&mut self, mut v: u64) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.buf.push(byte);
                return;
            }
            self.buf.push(byte | 0x80);
        }
    }

    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.uint(b.len() as u64);
        self.buf.extend_from_slice(b);
    }

    pub(crate) fn raw(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    pub(crate) fn hashes(&mut self, hs: &[ChangeHash]) {
        self.uint(hs.len() as u64);
        for h in hs {
            self.buf.extend_from_slice(&h.0);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }
}

#[derive(Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    pub(crate) fn u8(&mut self) -> Result<u8, PeerError> {
        let (&b, rest) = self.buf.split_first().ok_or(BAD)?;
        self.buf = rest;
        Ok(b)
    }

    pub(crate) fn uint(&mut self) -> Result<u64, PeerError> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(BAD)
    }

    /// A count of items each at least `min_item` bytes long, checked against what is left.
    pub(crate) fn count(&mut self, min_item: usize) -> Result<usize, PeerError> {
        let n = usize::try_from(self.uint()?).map_err(|_| BAD)?;
        if n.saturating_mul(min_item.max(1)) > self.buf.len() {
            return Err(BAD);
        }
        Ok(n)
    }

    pub(crate) fn raw(&mut self, n: usize) -> Result<&'a [u8], PeerError> {
        if n > self.buf.len() {
            return Err(BAD);
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], PeerError> {
        let n = usize::try_from(self.uint()?).map_err(|_| BAD)?;
        self.raw(n)
    }

    pub(crate) fn string(&mut self) -> Result<String, PeerError> {
        let b = self.bytes()?;
        Ok(std::str::from_utf8(b).map_err(|_| BAD)?.to_string())
    }

    pub(crate) fn hashes(&mut self) -> Result<Vec<ChangeHash>, PeerError> {
        let n = self.count(32)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let mut h = [0u8; 32];
            h.copy_from_slice(self.raw(32)?);
            out.push(ChangeHash(h));
        }
        Ok(out)
    }

    pub(crate) fn end(&self) -> Result<(), PeerError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(BAD)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() -> Result<(), PeerError> {
        let mut w = Writer::new(7);
        for v in [0u64, 1, 127, 128, 300, u64::MAX] {
            w.uint(v);
        }
        w.bytes(b"abc");
        w.hashes(&[ChangeHash([3; 32])]);
        let mut r = Reader::new(&w.buf);
        assert_eq!(r.u8()?, 7);
        for v in [0u64, 1, 127, 128, 300, u64::MAX] {
            assert_eq!(r.uint()?, v);
        }
        assert_eq!(r.bytes()?, b"abc");
        assert_eq!(r.hashes()?, vec![ChangeHash([3; 32])]);
        r.end()?;
        assert!(Reader::new(&[0x80]).uint().is_err());
        assert!(Reader::new(&[5, 1]).bytes().is_err());
        Ok(())
    }
}
