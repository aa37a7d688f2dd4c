//! Stopping long work from another thread: the app calls [`InterruptHandle::interrupt`] when it goes to
//! the background or the user cancels.
//!
//! Long work (rebuilding projections, a batch import, a peer session; later ASIK upload, reports and the
//! relay) takes an [`InterruptScope`] when it starts and checks it after every batch. An interrupt stops
//! every piece of work that began before it, and also breaks off the SQL statement running at that
//! moment (SQLite's own interrupt), so a stop is quick even in the middle of a large transaction. The
//! transaction of the batch under way rolls back; batches already committed stay, so running the same
//! call again continues from there. Work started after the interrupt runs normally. The design follows
//! application-services' `SqlInterruptHandle`; see `docs/adr/0003-interrupt.md`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// A handle the host keeps (cheap to clone, usable from any thread).
#[derive(Clone)]
pub struct InterruptHandle {
    generation: Arc<AtomicU64>,
    sqlite: Arc<rusqlite::InterruptHandle>,
}

impl std::fmt::Debug for InterruptHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InterruptHandle")
            .field("generation", &self.generation.load(Ordering::SeqCst))
            .finish_non_exhaustive()
    }
}

impl InterruptHandle {
    pub(crate) fn new(sqlite: rusqlite::InterruptHandle) -> Self {
        Self {
            generation: Arc::new(AtomicU64::new(0)),
            sqlite: Arc::new(sqlite),
        }
    }

    /// Stop every piece of long work that is running now.
    pub fn interrupt(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.sqlite.interrupt();
    }

    /// A scope for work that starts now.
    pub(crate) fn begin(&self) -> InterruptScope {
        InterruptScope {
            generation: self.generation.clone(),
            started: self.generation.load(Ordering::SeqCst),
        }
    }
}

/// The view of one piece of work: interrupted once [`InterruptHandle::interrupt`] was called after it
/// began.
#[derive(Debug, Clone)]
pub(crate) struct InterruptScope {
    generation: Arc<AtomicU64>,
    started: u64,
}

impl InterruptScope {
    /// True once the work should stop.
    pub fn was_interrupted(&self) -> bool {
        self.generation.load(Ordering::SeqCst) != self.started
    }

    /// [`Error::Interrupted`] once the work should stop.
    pub fn check(&self) -> Result<()> {
        if self.was_interrupted() {
            Err(Error::Interrupted)
        } else {
            Ok(())
        }
    }

    /// The same, as a store error (inside a transaction closure).
    pub fn check_store(&self) -> Result<(), crate::store::StoreError> {
        if self.was_interrupted() {
            Err(crate::store::StoreError::Interrupted)
        } else {
            Ok(())
        }
    }
}
