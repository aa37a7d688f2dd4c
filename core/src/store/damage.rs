//! A cheap check at open for a database file that is shorter than its write-ahead log says.
//!
//! SQLite itself refuses a database file shorter than the size in its header (`SQLITE_CORRUPT` at the
//! first read), but not when a `-wal` is beside it: the size then comes from the log, and pages missing
//! from both the file and the log are found only when some later query reads them ("database disk image
//! is malformed", command after command, and a checkpoint folds the log into the damaged file). A
//! healthy database has every page up to the log's size either in the file or in the log, so this check
//! reads the log's frame headers (validating salts and checksums exactly as SQLite's recovery does) and
//! compares. It costs one sequential read of the `-wal` (a few MiB at most after an automatic
//! checkpoint), nothing when there is no log; a full `PRAGMA quick_check` would read the whole database.

use std::collections::HashSet;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// What the log holds: the database size after its last valid commit and the pages in it.
#[derive(Debug)]
struct WalPages {
    page_size: u32,
    db_pages: u32,
    pages: HashSet<u32>,
}

fn be32(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_be_bytes(w)
}

/// SQLite's WAL checksum over `data` (a multiple of 8 bytes), continuing from `s`.
fn checksum(big_endian: bool, data: &[u8], s: (u32, u32)) -> (u32, u32) {
    let (mut s0, mut s1) = s;
    for c in data.chunks_exact(8) {
        let (a, b) = if big_endian {
            (be32(c, 0), be32(c, 4))
        } else {
            (
                u32::from_le_bytes([c[0], c[1], c[2], c[3]]),
                u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
            )
        };
        s0 = s0.wrapping_add(a).wrapping_add(s1);
        s1 = s1.wrapping_add(b).wrapping_add(s0);
    }
    (s0, s1)
}

/// Parse the valid, committed frames of a `-wal`; None when it is empty or not a valid log (SQLite
/// ignores it then too).
fn wal_pages(wal: &Path) -> Option<WalPages> {
    let f = std::fs::File::open(wal).ok()?;
    let mut r = BufReader::with_capacity(1 << 16, f);
    let mut header = [0u8; 32];
    r.read_exact(&mut header).ok()?;
    let magic = be32(&header, 0);
    if magic & !1 != 0x377f_0682 {
        return None;
    }
    let big_endian = magic & 1 == 1;
    let page_size = be32(&header, 8);
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return None;
    }
    let mut sum = checksum(big_endian, &header[..24], (0, 0));
    if sum != (be32(&header, 24), be32(&header, 28)) {
        return None;
    }
    let salts = &header[16..24];
    let mut frame = vec![0u8; 24 + page_size as usize];
    let mut pending = Vec::new();
    let mut out = WalPages {
        page_size,
        db_pages: 0,
        pages: HashSet::new(),
    };
    while r.read_exact(&mut frame).is_ok() {
        let page = be32(&frame, 0);
        if page == 0 || &frame[8..16] != salts {
            break;
        }
        sum = checksum(big_endian, &frame[..8], sum);
        sum = checksum(big_endian, &frame[24..], sum);
        if sum != (be32(&frame, 16), be32(&frame, 20)) {
            break;
        }
        pending.push(page);
        let commit_size = be32(&frame, 4);
        if commit_size != 0 {
            out.pages.extend(pending.drain(..));
            out.db_pages = commit_size;
        }
    }
    (out.db_pages > 0).then_some(out)
}

/// True when some page the log's last commit counts is neither in the database file nor in the log:
/// the file was cut short (a bad copy, a full disk, a card pulled out).
pub(super) fn truncated_under_wal(db: &Path) -> bool {
    let wal = PathBuf::from(format!("{}-wal", db.display()));
    // The log first, then the file's length: a checkpoint by another process in between only makes the
    // file longer (pages move from the log into it), never shorter.
    let Some(w) = wal_pages(&wal) else {
        return false;
    };
    let Ok(meta) = std::fs::metadata(db) else {
        return false;
    };
    let in_file = meta.len() / u64::from(w.page_size);
    (in_file + 1..=u64::from(w.db_pages))
        .any(|p| u32::try_from(p).is_ok_and(|p| !w.pages.contains(&p)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// A database in WAL mode with data in both the file and the log, copied while a connection is
    /// open (so the copy keeps its `-wal`).
    fn copy_with_wal(dir: &Path) -> PathBuf {
        let src = dir.join("src.db");
        let conn = rusqlite::Connection::open(&src).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; CREATE TABLE t(x BLOB);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
             INSERT INTO t SELECT randomblob(500) FROM n;
             PRAGMA wal_checkpoint(TRUNCATE);
             PRAGMA wal_autocheckpoint = 0;
             INSERT INTO t VALUES (randomblob(10));
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50)
             INSERT INTO t SELECT randomblob(500) FROM n;",
        )
        .unwrap();
        let copy = dir.join("copy.db");
        std::fs::copy(&src, &copy).unwrap();
        std::fs::copy(dir.join("src.db-wal"), dir.join("copy.db-wal")).unwrap();
        drop(conn);
        copy
    }

    #[test]
    fn a_healthy_database_with_its_log_passes() {
        let dir = tempfile::tempdir().unwrap();
        let copy = copy_with_wal(dir.path());
        let w = wal_pages(&PathBuf::from(format!("{}-wal", copy.display()))).unwrap();
        let file_pages = std::fs::metadata(&copy).unwrap().len() / u64::from(w.page_size);
        assert!(
            u64::from(w.db_pages) > file_pages,
            "the log holds pages beyond the file's end"
        );
        assert!(!truncated_under_wal(&copy));
        // And SQLite agrees that it is whole.
        let conn = rusqlite::Connection::open(&copy).unwrap();
        let ok: String = conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
    }

    #[test]
    fn a_file_cut_short_under_its_log_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let copy = copy_with_wal(dir.path());
        let len = std::fs::metadata(&copy).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&copy)
            .unwrap()
            .set_len(len / 2)
            .unwrap();
        assert!(truncated_under_wal(&copy));
    }

    #[test]
    fn without_a_log_or_with_a_bad_one_there_is_nothing_to_compare() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        std::fs::write(&db, b"").unwrap();
        assert!(!truncated_under_wal(&db));
        std::fs::write(
            dir.path().join("x.db-wal"),
            b"not a log at all, not at all!!!!",
        )
        .unwrap();
        assert!(!truncated_under_wal(&db));
    }
}
