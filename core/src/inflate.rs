//! A bound on what automerge would inflate from bytes another phone (or the relay) sent.
//!
//! automerge 0.12 inflates DEFLATE data with no limit when it loads a document or a change: a
//! compressed change chunk (type 2) is inflated whole, and a document chunk (type 0) inflates each
//! column whose spec has the deflate bit. DEFLATE reaches about 1,000 : 1, so one 4 MB frame from a
//! paired phone could ask a cheap phone for gigabytes before automerge sees a single operation. Before
//! such bytes reach automerge, [`check`] finds every chunk in them (a whole document, concatenated
//! changes, or the changes inside a sync message, by their magic bytes), inflates what automerge would
//! inflate into a counting sink, and refuses the bytes once the total passes the budget. Nothing is
//! kept: memory stays at the inflater's window.
//!
//! The chunk layout read here is automerge's binary format (magic `85 6f 4a 83`, 4-byte checksum, type
//! byte, LEB128 length; a document's prefix is its actors, heads and the change and op column
//! metadata, each column a LEB128 spec and length, bit 3 of the spec meaning deflated). Bytes that do
//! not parse as a chunk are left for automerge to refuse.

use std::io::Read;

/// Budget for one buffer from outside: far above what a real batch inflates to (a child's document with
/// 60 visits inflates to tens of kilobytes; a full 4 MB frame of real documents to a few tens of
/// megabytes), far below what would exhaust a phone.
pub const DEFAULT_BUDGET: u64 = 64 * 1024 * 1024;

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const CHUNK_DOCUMENT: u8 = 0;
const CHUNK_COMPRESSED_CHANGE: u8 = 2;
const DEFLATE_BIT: u64 = 0b1000;

/// The bytes would inflate past the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the received data would inflate to more than {budget} bytes")]
pub struct TooLarge {
    pub budget: u64,
}

/// Refuse `bytes` when automerge would inflate more than `budget` bytes from the chunks in them.
pub fn check(bytes: &[u8], budget: u64) -> Result<(), TooLarge> {
    let mut left = budget;
    let mut at = 0;
    while let Some(found) = find_magic(&bytes[at..]) {
        let start = at + found;
        match chunk_at(&bytes[start..]) {
            Some((kind, data)) => {
                inflate_chunk(kind, data, &mut left).ok_or(TooLarge { budget })?;
                // Step past the magic only, not the whole chunk: a forged header whose length
                // covered the rest would otherwise hide a real chunk behind it from this count.
                at = start + MAGIC.len();
            }
            None => at = start + 1,
        }
    }
    Ok(())
}

fn find_magic(bytes: &[u8]) -> Option<usize> {
    bytes.windows(MAGIC.len()).position(|w| w == MAGIC)
}

/// The chunk type and data of a chunk starting at `b`, when its header parses and its data is there.
fn chunk_at(b: &[u8]) -> Option<(u8, &[u8])> {
    let rest = b.get(MAGIC.len() + 4..)?;
    let (&kind, rest) = rest.split_first()?;
    let (len, rest) = leb128(rest)?;
    let data = rest.get(..usize::try_from(len).ok()?)?;
    Some((kind, data))
}

/// Inflate what automerge would inflate from one chunk, taking it from `left`; None past the budget.
fn inflate_chunk(kind: u8, data: &[u8], left: &mut u64) -> Option<()> {
    match kind {
        CHUNK_COMPRESSED_CHANGE => inflate(data, left),
        CHUNK_DOCUMENT => {
            let Some(columns) = document_columns(data) else {
                return Some(());
            };
            for (deflated, column) in columns {
                if deflated {
                    inflate(column, left)?;
                }
            }
            Some(())
        }
        _ => Some(()),
    }
}

/// Count what a DEFLATE stream inflates to, stopping once it passes `left`. A stream that is not valid
/// DEFLATE counts what it gave before the error (automerge refuses it anyway).
fn inflate(data: &[u8], left: &mut u64) -> Option<()> {
    let decoder = flate2::bufread::DeflateDecoder::new(data);
    let mut limited = decoder.take(left.saturating_add(1));
    let n = std::io::copy(&mut limited, &mut std::io::sink()).unwrap_or(0);
    *left = left.checked_sub(n)?;
    Some(())
}

/// The columns of a document chunk's data (deflated or not, with their bytes), or None when its
/// prefix does not parse.
fn document_columns(data: &[u8]) -> Option<Vec<(bool, &[u8])>> {
    let mut rest = data;
    // Actors: a count, then each a LEB128 length and its bytes.
    let (actors, r) = leb128(rest)?;
    rest = r;
    for _ in 0..actors {
        let (len, r) = leb128(rest)?;
        rest = r.get(usize::try_from(len).ok()?..)?;
    }
    // Heads: a count of 32-byte hashes.
    let (heads, r) = leb128(rest)?;
    rest = r.get(usize::try_from(heads).ok()?.checked_mul(32)?..)?;
    // Change columns, then op columns: a count, then (spec, length) pairs.
    let mut metadata = Vec::new();
    for _ in 0..2 {
        let (n, r) = leb128(rest)?;
        rest = r;
        for _ in 0..n {
            let (spec, r) = leb128(rest)?;
            let (len, r) = leb128(r)?;
            rest = r;
            metadata.push((spec & DEFLATE_BIT != 0, usize::try_from(len).ok()?));
        }
    }
    // The column data follows the metadata in the same order.
    let mut columns = Vec::with_capacity(metadata.len());
    for (deflated, len) in metadata {
        let column = rest.get(..len)?;
        rest = &rest[len..];
        columns.push((deflated, column));
    }
    Some(columns)
}

/// An unsigned LEB128 value (at most 10 bytes) and the bytes after it.
fn leb128(b: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (i, &byte) in b.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f).checked_shl(7 * i as u32)?;
        if byte & 0x80 == 0 {
            return Some((value, &b[i + 1..]));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT};
    use std::io::Write;

    fn deflate(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn leb(mut v: u64, out: &mut Vec<u8>) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }

    fn chunk(kind: u8, data: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend([0, 0, 0, 0, kind]);
        leb(data.len() as u64, &mut out);
        out.extend(data);
        out
    }

    /// A real document with long text, so that automerge deflates some of its columns.
    fn real_document() -> Vec<u8> {
        let mut doc = AutoCommit::new();
        for i in 0..300 {
            doc.put(ROOT, format!("2024-03-{i:03}/weight_g"), 9_000 + i as i64)
                .unwrap();
        }
        doc.save()
    }

    #[test]
    fn real_documents_and_changes_pass() {
        let saved = real_document();
        assert_eq!(check(&saved, DEFAULT_BUDGET), Ok(()));
        let mut doc = AutoCommit::load(&saved).unwrap();
        doc.put(ROOT, "x", 1).unwrap();
        let changes = doc.save_after(&[]);
        assert_eq!(check(&changes, DEFAULT_BUDGET), Ok(()));
    }

    #[test]
    fn a_real_document_is_counted_by_its_inflated_columns() {
        let saved = real_document();
        let columns = document_columns(chunk_at(&saved).unwrap().1).unwrap();
        assert!(
            columns.iter().any(|(deflated, _)| *deflated),
            "the test document should have a deflated column"
        );
        // A budget below what those columns inflate to refuses the document.
        assert_eq!(check(&saved, 100), Err(TooLarge { budget: 100 }));
    }

    #[test]
    fn a_compressed_change_that_inflates_past_the_budget_is_refused() {
        let bomb = chunk(CHUNK_COMPRESSED_CHANGE, &deflate(&vec![0u8; 4 << 20]));
        assert!(bomb.len() < 20_000, "{} bytes", bomb.len());
        assert_eq!(check(&bomb, 1 << 20), Err(TooLarge { budget: 1 << 20 }));
        assert_eq!(check(&bomb, 8 << 20), Ok(()));
        // The same bomb inside other bytes (as in a sync message) is found too.
        let mut wrapped = vec![0x42, 7, 7];
        wrapped.extend(&bomb);
        wrapped.extend([1, 2, 3]);
        assert!(check(&wrapped, 1 << 20).is_err());
    }

    #[test]
    fn a_document_with_a_deflated_column_bomb_is_refused() {
        let column = deflate(&vec![0u8; 4 << 20]);
        let mut data = Vec::new();
        leb(0, &mut data); // no actors
        leb(0, &mut data); // no heads
        leb(1, &mut data); // one change column, deflated
        leb((1 << 4) | DEFLATE_BIT, &mut data);
        leb(column.len() as u64, &mut data);
        leb(0, &mut data); // no op columns
        data.extend(&column);
        let doc = chunk(CHUNK_DOCUMENT, &data);
        assert!(check(&doc, 1 << 20).is_err());
        assert_eq!(check(&doc, 8 << 20), Ok(()));
    }

    #[test]
    fn bytes_that_are_not_chunks_pass_to_automerge() {
        assert_eq!(check(b"", 1), Ok(()));
        assert_eq!(check(&MAGIC, 1), Ok(()));
        let mut truncated = chunk(CHUNK_COMPRESSED_CHANGE, &deflate(&[0; 1000]));
        truncated.truncate(truncated.len() - 3);
        assert_eq!(check(&truncated, 1), Ok(()));
    }
}
