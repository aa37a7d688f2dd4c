//! SQLite storage: open, migrations, one writer plus readers, sealed documents, projections, audit.
//!
//! The documents are the truth; every other table is a projection rebuilt from them in the same
//! transaction that stores them ([`projection`]), so the two never disagree. Personal fields are sealed
//! with a key derived from the host's 32-byte key; a canary in `meta` tells a wrong key from damage.

pub mod asik;
pub mod audit;
pub mod children;
pub mod conflicts;
mod damage;
pub mod migrations;
pub mod outbox;
pub mod peers;
pub mod projection;
pub mod relay;
pub mod settings;
pub mod teams;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use automerge::{Automerge, ChangeHash};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, params};

use crate::crypto::{self, CryptoError, Key, Sealer};
use crate::domain::ChildId;

/// Errors of the store. None carries personal data.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("automerge: {0}")]
    Automerge(Box<automerge::AutomergeError>),
    #[error("document: {0}")]
    Crdt(#[from] crate::crdt::CrdtError),
    #[error("crypto: {0}")]
    Crypto(#[from] CryptoError),
    #[error("the key does not open this database")]
    WrongKey,
    #[error("schema version {found} is newer than supported {supported}")]
    TooNew { found: u32, supported: u32 },
    #[error("the database file is damaged; moved aside to {0}")]
    Corrupt(PathBuf),
    #[error("{0} is not a Timbang database; left untouched")]
    NotOurs(PathBuf),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("this device is not set up yet")]
    NotInitialized,
    #[error("interrupted")]
    Interrupted,
    #[error("{0}")]
    Other(String),
}

impl From<automerge::AutomergeError> for StoreError {
    fn from(e: automerge::AutomergeError) -> Self {
        Self::Automerge(Box::new(e))
    }
}

pub(crate) type Res<T> = Result<T, StoreError>;

const CANARY_AAD: &[u8] = b"timbang/meta/canary";
const CANARY_TEXT: &[u8] = b"timbang-canary-v1";
/// Compact a document (one full save) once it has this many chunks.
pub const COMPACT_AFTER_CHUNKS: i64 = 24;

/// Recently used documents, keyed by id and checked against the stored heads on every use, so a stale
/// entry (a rolled-back write, another process's write) is never served.
#[derive(Default)]
struct DocCache {
    map: std::collections::HashMap<String, (Vec<u8>, Automerge)>,
    order: std::collections::VecDeque<String>,
}

/// Documents kept decoded in memory.
const DOC_CACHE_SIZE: usize = 64;

impl DocCache {
    fn get(&self, id: &str, heads: &[u8]) -> Option<Automerge> {
        self.map
            .get(id)
            .filter(|(h, _)| h == heads)
            .map(|(_, d)| d.clone())
    }

    fn put(&mut self, id: &str, heads: Vec<u8>, doc: Automerge) {
        if self.map.insert(id.to_owned(), (heads, doc)).is_none() {
            self.order.push_back(id.to_owned());
            while self.order.len() > DOC_CACHE_SIZE {
                if let Some(old) = self.order.pop_front() {
                    self.map.remove(&old);
                }
            }
        }
    }
}

/// The encrypted store.
pub struct Store {
    path: PathBuf,
    writer: Mutex<Connection>,
    /// Writers waiting for the write connection (see [`Store::yield_to_waiting_writers`]).
    waiting: std::sync::atomic::AtomicUsize,
    reader: Mutex<Connection>,
    sealer: Sealer,
    index_key: Key,
    audit_key: Key,
    cache: Mutex<DocCache>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: a commit is on the storage chip before the call returns, so a weighing the kader saw saved
    // survives a pulled battery (NORMAL would keep the file consistent but could lose the last commits).
    // Bulk writes that can be fetched again (a peer session) use `write_bulk`.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.set_prepared_statement_cache_capacity(64);
    stable_plans(conn)
}

/// Plans fixed when a statement is prepared: without this SQLite prepares a cached statement again
/// whenever a new value is bound to a parameter its planner looked at (`WHERE child_id = ?1 ORDER BY
/// visit_date` and the group query did so for every received document: 2,000 prepares in a first sync
/// of 1,000 children, 6 % of the receiving phone's time; docs/BENCHMARKS.md).
fn stable_plans(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

fn is_not_a_database(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::NotADatabase || f.code == rusqlite::ErrorCode::DatabaseCorrupt
    )
}

/// Move a damaged database and its `-wal` and `-shm` aside, to `<path>.corrupt-<time>` (with `-2`,
/// `-3`, ... when that name is taken: nothing is ever replaced or deleted) and `<that>-wal`/`-shm`. No
/// connection may be open on it (closing one would fold the log into the damaged file).
fn move_aside(path: &Path) -> Res<PathBuf> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S");
    let taken = |t: &Path| {
        ["", "-wal", "-shm"]
            .iter()
            .any(|s| std::fs::symlink_metadata(format!("{}{s}", t.display())).is_ok())
    };
    let mut target = PathBuf::from(format!("{}.corrupt-{stamp}", path.display()));
    let mut n = 1;
    while taken(&target) {
        n += 1;
        target = PathBuf::from(format!("{}.corrupt-{stamp}-{n}", path.display()));
    }
    std::fs::rename(path, &target).map_err(|e| {
        StoreError::Other(format!(
            "the database file is damaged and could not be moved aside: {e}"
        ))
    })?;
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", path.display()));
        if side.exists() {
            let _ = std::fs::rename(&side, format!("{}{suffix}", target.display()));
        }
    }
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        let _ = crate::output_file::sync_folder(dir);
    }
    Ok(target)
}

/// The damage SQLite reports, and a file cut short under its log ([`damage`]).
fn damaged() -> StoreError {
    StoreError::Sqlite(rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
        Some("the database file is shorter than its write-ahead log says".into()),
    ))
}

/// Is `conn`'s database Timbang's (or new and empty)? Reads only: another program's file is left exactly
/// as it was. Returns the `application_id` found.
fn check_ours(conn: &Connection, path: &Path) -> Res<i32> {
    let id: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    if id == migrations::APPLICATION_ID {
        return Ok(id);
    }
    let not_ours = || StoreError::NotOurs(path.to_owned());
    if id != 0 {
        return Err(not_ours());
    }
    let tables: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
        [],
        |r| r.get(0),
    )?;
    if tables == 0 {
        return Ok(id);
    }
    // Made by Timbang before the application id was set: a `meta` table with the canary, or (a first
    // open stopped between the migrations and the canary) exactly the tables of its schema version.
    let canary = conn
        .query_row("SELECT 1 FROM meta WHERE key = 'canary'", [], |_| Ok(()))
        .optional();
    match canary {
        Ok(Some(())) => Ok(id),
        Err(e) if is_not_a_database(&e) => Err(e.into()),
        Ok(None) | Err(_) if has_timbang_tables(conn)? => Ok(id),
        Ok(None) | Err(_) => Err(not_ours()),
    }
}

/// Are `conn`'s tables exactly those Timbang's migrations make at its `user_version`?
fn has_timbang_tables(conn: &Connection) -> Res<bool> {
    let v = migrations::version(conn)?;
    if v == 0 || v > migrations::LATEST {
        return Ok(false);
    }
    let tables = |c: &Connection| -> Res<Vec<String>> {
        let mut s = c.prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )?;
        let names = s.query_map([], |r| r.get(0))?;
        Ok(names.collect::<rusqlite::Result<_>>()?)
    };
    let model = Connection::open_in_memory()?;
    migrations::migrate_to(&model, v)?;
    Ok(tables(conn)? == tables(&model)?)
}

impl Store {
    /// Open (creating if needed) the database at `path` with the host's key. Runs migrations in one
    /// transaction; a wrong key gives [`StoreError::WrongKey`]; a damaged file is moved aside, never
    /// deleted, and reported as [`StoreError::Corrupt`].
    pub fn open(path: &Path, key: &Key) -> Res<Self> {
        let seal_key = crypto::derive_key(key, b"timbang-store", b"seal-v1");
        let index_key = crypto::derive_key(key, b"timbang-store", b"index-v1");
        let audit_key = crypto::derive_key(key, b"timbang-store", b"audit-v1");
        let sealer = Sealer::new(&seal_key);
        let had_log = ["-wal", "-shm"]
            .iter()
            .any(|s| std::fs::symlink_metadata(format!("{}{s}", path.display())).is_ok());
        let writer = Connection::open(path)?;
        if let Err(e) = Self::prepare(path, &writer, &sealer) {
            let damaged = matches!(&e, StoreError::Sqlite(e) if is_not_a_database(e));
            // A damaged or refused file stays exactly as it is: closing must not fold a log that was
            // there into it. (A log this connection made is empty; closing removes it.)
            if damaged || had_log {
                let _ = writer.set_db_config(
                    rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
                    true,
                );
            }
            drop(writer);
            return Err(if damaged {
                StoreError::Corrupt(move_aside(path)?)
            } else {
                e
            });
        }
        let reader = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )?;
        reader.busy_timeout(std::time::Duration::from_secs(5))?;
        stable_plans(&reader)?;
        Ok(Self {
            path: path.to_owned(),
            writer: Mutex::new(writer),
            waiting: std::sync::atomic::AtomicUsize::new(0),
            reader: Mutex::new(reader),
            sealer,
            index_key,
            audit_key,
            cache: Mutex::new(DocCache::default()),
        })
    }

    fn prepare(path: &Path, conn: &Connection, sealer: &Sealer) -> Res<()> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Another program's SQLite file is refused before anything (even the journal mode) is changed.
        let app_id = check_ours(conn, path)?;
        if damage::truncated_under_wal(path) {
            return Err(damaged());
        }
        if app_id == 0 && migrations::version(conn)? == 0 {
            // A new file: mark it as Timbang's first, so a second process opening it meanwhile sees ours.
            conn.pragma_update(None, "application_id", migrations::APPLICATION_ID)?;
        }
        configure(conn)?;
        // Check the key before anything is changed: a wrong key must not migrate a database.
        let check = |conn: &Connection| -> Res<bool> {
            let canary: Option<Vec<u8>> = conn
                .query_row("SELECT value FROM meta WHERE key = 'canary'", [], |r| {
                    r.get(0)
                })
                .optional()?;
            match canary {
                Some(c) => match sealer.open(CANARY_AAD, &c) {
                    Ok(p) if p == CANARY_TEXT => Ok(true),
                    _ => Err(StoreError::WrongKey),
                },
                None => Ok(false),
            }
        };
        let has_canary = if migrations::version(conn)? >= 1 {
            check(conn)?
        } else {
            false
        };
        migrations::migrate(conn)?;
        if !has_canary {
            // Two processes may open a new file at once: the first canary wins, the other is checked.
            let c = sealer.seal(CANARY_AAD, CANARY_TEXT)?;
            conn.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('canary', ?1)",
                params![c],
            )?;
            check(conn)?;
        }
        if app_id == 0 {
            // A database made before the application id existed; the key has just been checked.
            conn.pragma_update(None, "application_id", migrations::APPLICATION_ID)?;
        }
        Ok(())
    }

    /// A handle that breaks off the statement running on the write connection (SQLite's interrupt).
    pub fn sqlite_interrupt_handle(&self) -> Res<rusqlite::InterruptHandle> {
        let conn = self
            .writer
            .lock()
            .map_err(|_| StoreError::Other("writer lock poisoned".into()))?;
        Ok(conn.get_interrupt_handle())
    }

    /// Run `f` on the read connection (sees committed data).
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Res<T>) -> Res<T> {
        let conn = self
            .reader
            .lock()
            .map_err(|_| StoreError::Other("reader lock poisoned".into()))?;
        f(&conn)
    }

    /// Run `f` in one write transaction: committed when it returns Ok, rolled back otherwise.
    /// Checks made inside `f` see every write committed before it (by any connection), so a
    /// check-then-write in one call cannot race another writer. `f` may fail with any error a store
    /// error converts into (the facade's `Error`, say), which rolls the transaction back.
    pub fn write<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.write_with(f, false)
    }

    fn write_with<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, E>,
        bulk: bool,
    ) -> Result<T, E> {
        use std::sync::atomic::Ordering;
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let conn = self.writer.lock();
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let mut conn = conn.map_err(|_| StoreError::Other("writer lock poisoned".into()))?;
        if bulk {
            conn.pragma_update(None, "synchronous", "NORMAL")
                .map_err(StoreError::from)?;
        }
        let result = (|| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(StoreError::from)?;
            let out = f(&tx)?;
            tx.commit().map_err(StoreError::from)?;
            Ok(out)
        })();
        if bulk {
            conn.pragma_update(None, "synchronous", "FULL")
                .map_err(StoreError::from)?;
        }
        result
    }

    /// [`Store::write`] for data that can be fetched again after a power cut (documents received from
    /// another phone): the commit is not synced on its own (`synchronous = NORMAL`); the next durable
    /// commit syncs it, and a power cut can only lose such commits from the end, never leave the file
    /// inconsistent. Interactive writes use [`Store::write`].
    pub fn write_bulk<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.write_with(f, true)
    }

    /// Whether another writer is waiting for the write connection (long work inside a write
    /// transaction checks it to commit early; see [`Store::yield_to_waiting_writers`]).
    pub fn writer_waiting(&self) -> bool {
        self.waiting.load(std::sync::atomic::Ordering::SeqCst) > 0
    }

    /// Long work that writes in many small transactions (a peer session) calls this between them: when
    /// another writer (a kader's entry) is waiting, it gets the write connection first, so a short write
    /// never queues behind a long sync. Waits at most a few milliseconds.
    pub fn yield_to_waiting_writers(&self) {
        use std::sync::atomic::Ordering;
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(5);
        while self.waiting.load(Ordering::SeqCst) > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_micros(100));
        }
    }

    /// Seal a secret (a team secret, a token) bound to `purpose`.
    pub fn seal_secret(&self, purpose: &str, plain: &[u8]) -> Res<Vec<u8>> {
        Ok(self
            .sealer
            .seal(format!("meta/{purpose}").as_bytes(), plain)?)
    }

    /// Open a secret sealed by [`Store::seal_secret`].
    pub fn open_secret(&self, purpose: &str, sealed: &[u8]) -> Res<Vec<u8>> {
        Ok(self
            .sealer
            .open(format!("meta/{purpose}").as_bytes(), sealed)?)
    }

    /// Seal a personal value bound to its table, column and row.
    pub fn seal(&self, column: &str, row: &str, plain: &str) -> Res<Vec<u8>> {
        Ok(self
            .sealer
            .seal(format!("{column}/{row}").as_bytes(), plain.as_bytes())?)
    }

    /// Open a value sealed by [`Store::seal`].
    pub fn open_sealed(&self, column: &str, row: &str, sealed: &[u8]) -> Res<String> {
        let p = self
            .sealer
            .open(format!("{column}/{row}").as_bytes(), sealed)?;
        String::from_utf8(p).map_err(|_| StoreError::Other(format!("{column} is not text")))
    }

    /// Open an optional sealed value.
    pub fn open_opt(
        &self,
        column: &str,
        row: &str,
        sealed: Option<Vec<u8>>,
    ) -> Res<Option<String>> {
        sealed
            .map(|s| self.open_sealed(column, row, &s))
            .transpose()
    }

    /// Keyed blind index of an identifier (same input, same tag; useless without the key).
    pub fn blind_index(&self, purpose: &str, value: &str) -> Vec<u8> {
        let mut data = purpose.as_bytes().to_vec();
        data.push(0);
        data.extend_from_slice(value.as_bytes());
        crypto::hmac_sha256(&self.index_key, &data)[..16].to_vec()
    }

    /// Load a child's document, or None.
    pub fn load_doc(&self, conn: &Connection, id: &str) -> Res<Option<Automerge>> {
        let heads: Option<Vec<u8>> = conn
            .prepare_cached("SELECT heads FROM docs WHERE child_id = ?1")?
            .query_row(params![id], |r| r.get(0))
            .optional()?;
        let Some(heads) = heads else {
            return Ok(None);
        };
        if let Ok(cache) = self.cache.lock()
            && let Some(doc) = cache.get(id, &heads)
        {
            return Ok(Some(doc));
        }
        let doc = self.load_doc_uncached(conn, id)?;
        if let (Some(d), Ok(mut cache)) = (&doc, self.cache.lock()) {
            cache.put(id, encode_heads(&sorted_heads(d)), d.clone());
        }
        Ok(doc)
    }

    /// The document's full save as stored, when it is stored as one (`chunks = 1`: a new document, or
    /// one just compacted, has one chunk holding a full save; appended changes add more). None when it
    /// is absent or has changes after its save. The bytes are opened (authenticated) like a load's.
    pub fn stored_full_save(&self, conn: &Connection, id: &str) -> Res<Option<Vec<u8>>> {
        let sealed: Option<Vec<u8>> = conn
            .prepare_cached(
                "SELECT c.data FROM docs d JOIN doc_chunks c ON c.child_id = d.child_id
                 WHERE d.child_id = ?1 AND d.chunks = 1",
            )?
            .query_row(params![id], |r| r.get(0))
            .optional()?;
        let aad = format!("doc/{id}");
        sealed
            .map(|s| self.sealer.open(aad.as_bytes(), &s))
            .transpose()
            .map_err(Into::into)
    }

    fn load_doc_uncached(&self, conn: &Connection, id: &str) -> Res<Option<Automerge>> {
        let mut stmt =
            conn.prepare_cached("SELECT data FROM doc_chunks WHERE child_id = ?1 ORDER BY seq")?;
        let mut rows = stmt.query(params![id])?;
        let aad = format!("doc/{id}");
        let mut bytes = Vec::new();
        let mut any = false;
        while let Some(row) = rows.next()? {
            let sealed: Vec<u8> = row.get(0)?;
            bytes.extend(self.sealer.open(aad.as_bytes(), &sealed)?);
            any = true;
        }
        if !any {
            return Ok(None);
        }
        Ok(Some(Automerge::load(&bytes)?))
    }

    /// Persist a document: append what changed since `before` (its heads when loaded; None for a new
    /// document), or compact it into one full save when it has many chunks. Returns true when anything
    /// was written.
    pub fn save_doc(
        &self,
        tx: &Transaction<'_>,
        id: &str,
        doc: &Automerge,
        before: Option<&[ChangeHash]>,
    ) -> Res<bool> {
        self.save_doc_known(tx, id, doc, before, None)
    }

    /// [`Store::save_doc`] with `full`, `doc`'s full save when the caller has it (written in place of
    /// saving again when the document is written whole).
    pub fn save_doc_known(
        &self,
        tx: &Transaction<'_>,
        id: &str,
        doc: &Automerge,
        before: Option<&[ChangeHash]>,
        full: Option<&[u8]>,
    ) -> Res<bool> {
        let heads = sorted_heads(doc);
        let existing: Option<(Vec<u8>, i64)> = tx
            .prepare_cached("SELECT heads, chunks FROM docs WHERE child_id = ?1")?
            .query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let heads_blob = encode_heads(&heads);
        if let Some((stored, _)) = &existing
            && *stored == heads_blob
        {
            return Ok(false);
        }
        let aad = format!("doc/{id}");
        let now = chrono::Utc::now().to_rfc3339();
        let chunks = existing.as_ref().map_or(0, |e| e.1);
        let compact = existing.is_none() || before.is_none() || chunks + 1 >= COMPACT_AFTER_CHUNKS;
        if existing.is_none() {
            tx.prepare_cached("INSERT INTO docs(child_id, heads, chunks, bytes, updated_at) VALUES (?1, ?2, 0, 0, ?3)")?
                .execute(params![id, heads_blob, now])?;
        }
        // The write's number, for sessions that start from a checkpoint (`peers::doc_mark`).
        tx.prepare_cached(
            "UPDATE docs SET seq = (SELECT value + 1 FROM meta WHERE key = 'doc_seq') WHERE child_id = ?1",
        )?
        .execute(params![id])?;
        tx.prepare_cached("UPDATE meta SET value = value + 1 WHERE key = 'doc_seq'")?
            .execute([])?;
        if compact {
            tx.prepare_cached("DELETE FROM doc_chunks WHERE child_id = ?1")?
                .execute(params![id])?;
            let saved;
            let full = match full {
                Some(f) => f,
                None => {
                    saved = doc.save();
                    &saved
                }
            };
            let sealed = self.sealer.seal(aad.as_bytes(), full)?;
            tx.prepare_cached("INSERT INTO doc_chunks(child_id, data) VALUES (?1, ?2)")?
                .execute(params![id, sealed])?;
            tx.prepare_cached("UPDATE docs SET heads = ?2, chunks = 1, bytes = ?3, updated_at = ?4 WHERE child_id = ?1")?
                .execute(params![id, heads_blob, sealed.len() as i64, now])?;
        } else {
            let inc = doc.save_after(before.unwrap_or(&[]));
            let sealed = self.sealer.seal(aad.as_bytes(), &inc)?;
            tx.prepare_cached("INSERT INTO doc_chunks(child_id, data) VALUES (?1, ?2)")?
                .execute(params![id, sealed])?;
            tx.prepare_cached("UPDATE docs SET heads = ?2, chunks = chunks + 1, bytes = bytes + ?3, updated_at = ?4 WHERE child_id = ?1")?
                .execute(params![id, heads_blob, sealed.len() as i64, now])?;
        }
        if let Ok(mut cache) = self.cache.lock() {
            cache.put(id, heads_blob, doc.clone());
        }
        Ok(true)
    }

    /// An id read back from a projection (written by this store, so a bad one is damage).
    pub fn child_id(text: &str) -> Res<ChildId> {
        ChildId::parse(text).map_err(|_| StoreError::Other("a stored child id is not valid".into()))
    }

    /// Every document's id and heads, without loading documents (for sync summaries).
    pub fn all_heads(conn: &Connection) -> Res<Vec<(String, Vec<ChangeHash>)>> {
        let mut stmt = conn.prepare_cached("SELECT child_id, heads FROM docs ORDER BY child_id")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, blob) = row?;
            out.push((id, decode_heads(&blob)));
        }
        Ok(out)
    }

    /// Append to the audit log: ids and action kinds only; the kader's name is sealed. The row is
    /// chained to the one before by a keyed MAC, and the chain's head kept in `meta` ([`audit`]).
    pub fn audit(
        &self,
        tx: &Transaction<'_>,
        device: &str,
        kader: Option<&str>,
        action: &str,
        child: Option<&ChildId>,
        detail: Option<&str>,
    ) -> Res<()> {
        let kader = kader
            .map(|k| self.sealer.seal(b"audit/kader", k.as_bytes()))
            .transpose()?;
        let row = audit::Row {
            at: chrono::Utc::now().to_rfc3339(),
            device: device.to_owned(),
            kader,
            action: action.to_owned(),
            child_id: child.map(|c| c.as_str().to_owned()),
            detail: detail.map(str::to_owned),
        };
        audit::append(tx, &self.audit_key, &row)
    }

    /// Walk the audit chain (see [`audit::verify`]).
    pub fn verify_audit(&self, conn: &Connection) -> Res<audit::ChainReport> {
        audit::verify(conn, &self.audit_key, |k| {
            self.sealer.open(b"audit/kader", k).is_ok()
        })
    }

    /// A consistent copy of the whole database in `dest` (SQLite's online backup, in one step so no
    /// write interleaves), still sealed with the same key.
    pub fn backup_to(&self, dest: &Path) -> Res<()> {
        let conn = self
            .reader
            .lock()
            .map_err(|_| StoreError::Other("reader lock poisoned".into()))?;
        let mut out = Connection::open(dest)?;
        {
            let b = rusqlite::backup::Backup::new(&conn, &mut out)?;
            b.step(-1)?;
        }
        out.pragma_update(None, "journal_mode", "DELETE")?;
        out.close().map_err(|(_, e)| StoreError::from(e))?;
        Ok(())
    }

    /// The database file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether document `id` opens: every chunk unseals and the whole loads as a child document.
    pub fn document_opens(&self, conn: &Connection, id: &str) -> bool {
        matches!(
            self.load_doc_uncached(conn, id),
            Ok(Some(doc)) if crate::crdt::read_child(&doc).is_ok()
        )
    }

    /// `PRAGMA integrity_check`: empty when SQLite finds the file sound, its messages otherwise.
    pub fn integrity(conn: &Connection) -> Res<Vec<String>> {
        let mut stmt = conn.prepare("PRAGMA integrity_check")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for r in rows {
            let m = r?;
            if m != "ok" {
                out.push(m);
            }
        }
        Ok(out)
    }

    /// Run `f` in a write transaction that is always rolled back (to see what a change would do).
    pub fn dry_run<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self
            .writer
            .lock()
            .map_err(|_| StoreError::Other("writer lock poisoned".into()))?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        let out = f(&tx);
        tx.rollback().map_err(StoreError::from)?;
        out
    }
}

impl Drop for Store {
    /// Close the reader, then fold the log into the database file (`wal_checkpoint(TRUNCATE)`), so the
    /// `.db` alone holds everything written: a copy of just that file is complete, and opening such a
    /// copy never starts an empty posyandu in it. Errors are ignored (another process may be reading;
    /// the log is then folded in later).
    fn drop(&mut self) {
        let reader = self
            .reader
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Ok(placeholder) = Connection::open_in_memory() {
            let _ = std::mem::replace(reader, placeholder).close();
        }
        let writer = self
            .writer
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let _ = writer.busy_timeout(std::time::Duration::from_millis(200));
        let _ = writer.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    }
}

/// Heads sorted, as stored.
pub fn sorted_heads(doc: &Automerge) -> Vec<ChangeHash> {
    let mut h = doc.get_heads();
    h.sort();
    h
}

pub(crate) fn encode_heads(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.0).collect()
}

pub(crate) fn decode_heads(blob: &[u8]) -> Vec<ChangeHash> {
    blob.chunks_exact(32)
        .filter_map(|c| <[u8; 32]>::try_from(c).ok().map(ChangeHash))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let key = Key::from_bytes(&[7u8; 32]).unwrap();
        let store = Store::open(&dir.path().join("t.db"), &key).unwrap();
        (dir, store)
    }

    #[test]
    fn a_cached_statement_is_not_prepared_again_for_each_new_value() {
        let (_dir, store) = store();
        // The two reads a group rebuild makes for every received document.
        const QUERIES: [&str; 2] = [
            "SELECT visit_date FROM visits WHERE child_id = ?1 ORDER BY visit_date",
            "SELECT child_id FROM children WHERE root_id = ?1 AND deleted = 0 ORDER BY child_id = ?1 DESC, child_id",
        ];
        store
            .write(|tx| {
                for sql in QUERIES {
                    for id in ["a", "b", "c", "d"] {
                        let mut stmt = tx.prepare_cached(sql)?;
                        let n = stmt.query_map(params![id], |_| Ok(()))?.count();
                        assert_eq!(n, 0);
                    }
                    let stmt = tx.prepare_cached(sql)?;
                    let again = stmt.get_status(rusqlite::StatementStatus::RePrepare);
                    assert_eq!(again, 0, "prepared again {again} times: {sql}");
                }
                Ok::<_, StoreError>(())
            })
            .unwrap();
    }

    #[test]
    fn a_full_save_is_read_as_stored_only_while_nothing_follows_it() {
        let (_dir, store) = store();
        let mut doc = Automerge::new();
        doc.transact::<_, _, automerge::AutomergeError>(|t| t.put(automerge::ROOT, "w", 1_i64))
            .unwrap();
        let read = |store: &Store| store.read(|c| store.stored_full_save(c, "c1")).unwrap();
        assert_eq!(read(&store), None);
        store
            .write(|tx| store.save_doc(tx, "c1", &doc, None))
            .unwrap();
        let saved = read(&store).unwrap();
        assert_eq!(
            Automerge::load(&saved).unwrap().get_heads(),
            doc.get_heads()
        );
        // A change appended after the save: the stored bytes are no longer the whole document.
        let before = doc.get_heads();
        doc.transact::<_, _, automerge::AutomergeError>(|t| t.put(automerge::ROOT, "w", 2_i64))
            .unwrap();
        store
            .write(|tx| store.save_doc(tx, "c1", &doc, Some(&before)))
            .unwrap();
        assert_eq!(read(&store), None);
        // Compacted again (saved whole): one full save.
        store
            .write(|tx| {
                tx.execute("UPDATE docs SET heads = x'' WHERE child_id = 'c1'", [])?;
                store.save_doc(tx, "c1", &doc, None)
            })
            .unwrap();
        let saved = read(&store).unwrap();
        assert_eq!(
            Automerge::load(&saved).unwrap().get_heads(),
            doc.get_heads()
        );
    }
}
