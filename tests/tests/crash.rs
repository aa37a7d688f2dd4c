//! Crash harness: a worker process (`crash_worker`) writes to a real database and is killed with SIGKILL
//! at a random moment, again and again on the same database, so damage could accumulate. After every
//! kill: SQLite's `integrity_check` is `ok` (read-only, before anything else opens the file), the
//! database opens with its key, every acknowledged write is there (the visit with that weight on that
//! date for that child, the imported children with their visits, after a completed sync what the other
//! side had), nothing is there that no process wrote, an import is all or nothing, and
//! `Timbang::check` finds the documents and projections in agreement with the audit chain whole. After
//! the last kill the worker runs a round to the end on the same database.
//!
//! Three modes: `record` (record_visit with measurements and services), `import` (import_batch) and
//! `sync` (a dialling worker against a serving worker over TCP on 127.0.0.1; the serving one is killed
//! too, now and then). `TIMBANG_CRASH_KILLS` is the number of kills across the three (default 30);
//! `TIMBANG_CRASH_SEED` fixes what the workers write (the timing of the kills is not reproducible).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use timbang_core::domain::{ChildId, Service};
use timbang_core::{Error, Timbang};
use timbang_tests::crash::{self, Rng, VisitRec};

const WORKER: &str = env!("CARGO_BIN_EXE_crash_worker");
/// How long a worker may take to get ready or finish a round before the test gives up on it (a hang
/// guard, not a performance limit).
const PATIENCE: Duration = Duration::from_secs(120);

fn kills_for(mode: usize) -> usize {
    let total: usize = std::env::var("TIMBANG_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30)
        .max(3);
    total / 3 + usize::from(mode < total % 3)
}

fn base_seed() -> u64 {
    std::env::var("TIMBANG_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_250_615)
}

// ---------------------------------------------------------------------------------------------------
// A worker process.

struct Worker {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    rx: Receiver<String>,
    reader: Option<std::thread::JoinHandle<()>>,
    stderr: PathBuf,
    /// Every complete line it printed so far.
    lines: Vec<String>,
    /// Lines already handed to a ledger.
    taken: usize,
}

impl Worker {
    fn start(name: &str, dir: &Path, args: &[String]) -> Self {
        let stderr = dir.join(format!("{name}.stderr"));
        let mut child = Command::new(WORKER)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            let mut line = String::new();
            // A line counts only once its newline is out: a kill in the middle of a write leaves a
            // partial line, which was never printed.
            while r.read_line(&mut line).is_ok_and(|n| n > 0) {
                if let Some(l) = line.strip_suffix('\n') {
                    if tx.send(l.to_owned()).is_err() {
                        break;
                    }
                    line.clear();
                } else {
                    break;
                }
            }
        });
        Self {
            name: name.to_owned(),
            stdin: child.stdin.take(),
            child,
            rx,
            reader: Some(reader),
            stderr,
            lines: Vec::new(),
            taken: 0,
        }
    }

    fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn fail(&self, what: &str) -> ! {
        panic!(
            "{} {what}; its last lines: {:?}; stderr: {}",
            self.name,
            &self.lines[self.lines.len().saturating_sub(5)..],
            self.stderr_text()
        )
    }

    /// Wait for a line that `pred` accepts (collecting everything before it).
    fn wait_for(&mut self, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(l) => {
                    self.lines.push(l.clone());
                    if pred(&l) {
                        return l;
                    }
                }
                Err(RecvTimeoutError::Timeout) => self.fail("did not print the line awaited"),
                Err(RecvTimeoutError::Disconnected) => self.fail("exited early"),
            }
        }
    }

    fn send(&mut self, command: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{command}").unwrap();
        stdin.flush().unwrap();
    }

    /// SIGKILL (`Child::kill` on unix), then every line it got out.
    fn kill(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            self.fail(&format!("exited by itself ({status}) before the kill"));
        }
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self.drain();
    }

    /// Wait for a normal end (after `--rounds` or `quit`): exit 0 and `done`.
    fn finish(&mut self) {
        self.stdin.take();
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                self.fail("did not finish its round");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        self.drain();
        if !status.success() || self.lines.last().map(String::as_str) != Some("done") {
            self.fail(&format!("did not end normally ({status})"));
        }
    }

    fn drain(&mut self) {
        if let Some(r) = self.reader.take() {
            r.join().unwrap();
        }
        self.lines.extend(self.rx.try_iter());
    }

    /// The lines not yet taken.
    fn take_lines(&mut self) -> Vec<String> {
        self.lines.extend(self.rx.try_iter());
        let out = self.lines[self.taken..].to_vec();
        self.taken = self.lines.len();
        out
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// What a database's writer did: every call it began, in order, and whether it acknowledged it.

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Init,
    Join,
    Team,
    Reopen,
    Child(usize),
    Visit(VisitRec),
    Import {
        n: usize,
        seed: u64,
        ids: Vec<String>,
    },
    Sync,
    Serve,
}

impl Op {
    fn kind(&self) -> &'static str {
        match self {
            Op::Init => "init",
            Op::Join => "join",
            Op::Team => "team",
            Op::Reopen => "reopen",
            Op::Child(_) => "child",
            Op::Visit(_) => "visit",
            Op::Import { .. } => "import",
            Op::Sync => "sync",
            Op::Serve => "serve",
        }
    }

    fn parse(words: &[&str]) -> Option<Self> {
        Some(match words {
            ["init"] => Op::Init,
            ["join"] => Op::Join,
            ["team"] => Op::Team,
            ["reopen"] => Op::Reopen,
            ["sync", ..] => Op::Sync,
            ["serve"] => Op::Serve,
            ["child", i, ..] => Op::Child(i.parse().ok()?),
            ["visit", rest @ ..] => Op::Visit(VisitRec::parse(rest)?),
            ["import", n, seed, ids @ ..] => Op::Import {
                n: n.parse().ok()?,
                seed: seed.parse().ok()?,
                ids: ids.iter().map(|s| (*s).to_owned()).collect(),
            },
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
struct Event {
    op: Op,
    acked: bool,
    /// Ended without an ack (a failed session).
    failed: bool,
}

/// What one run of a worker did, as far as the test can tell.
#[derive(Debug, Default)]
struct RunOutcome {
    acks: usize,
    /// The kind of call in flight when the kill landed (begun, never acknowledged).
    mid: Option<&'static str>,
    /// Killed before it printed `ready` (while opening or setting up).
    before_ready: bool,
    /// Sessions that completed, and the ledger length at the `begin` of the last one.
    syncs_completed: usize,
    last_completed_sync_begin: Option<usize>,
}

#[derive(Debug)]
struct Ledger {
    role: &'static str,
    events: Vec<Event>,
    /// This writer's own children by index.
    ids: BTreeMap<usize, String>,
}

impl Ledger {
    fn new(role: &'static str) -> Self {
        Self {
            role,
            events: Vec::new(),
            ids: BTreeMap::new(),
        }
    }

    fn absorb(&mut self, lines: &[String]) -> RunOutcome {
        let mut out = RunOutcome {
            before_ready: !lines.iter().any(|l| l == "ready"),
            ..Default::default()
        };
        let mut open: Option<usize> = None;
        for line in lines {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["begin", rest @ ..] => {
                    let op = Op::parse(rest).unwrap_or_else(|| panic!("bad line {line:?}"));
                    if op.kind() != "serve" {
                        open = Some(self.events.len());
                    }
                    self.events.push(Event {
                        op,
                        acked: false,
                        failed: false,
                    });
                }
                ["ack", rest @ ..] => {
                    let op = Op::parse(rest).unwrap_or_else(|| panic!("bad line {line:?}"));
                    let at = self
                        .events
                        .iter()
                        .rposition(|e| !e.acked && !e.failed && e.op.kind() == op.kind())
                        .unwrap_or_else(|| panic!("{line:?} acknowledges nothing begun"));
                    let e = &mut self.events[at];
                    match (&mut e.op, &op) {
                        (
                            Op::Import { ids, n, seed },
                            Op::Import {
                                ids: got,
                                n: n2,
                                seed: s2,
                            },
                        ) => {
                            assert_eq!((*n, *seed), (*n2, *s2), "{line}");
                            assert_eq!(got.len(), *n, "{line}");
                            ids.clone_from(got);
                        }
                        (Op::Child(i), Op::Child(_)) => {
                            self.ids.insert(*i, words[3].to_owned());
                        }
                        (a, b) => assert_eq!(a, b, "{line} acknowledges another call"),
                    }
                    e.acked = true;
                    out.acks += 1;
                    if op == Op::Sync {
                        out.syncs_completed += 1;
                        out.last_completed_sync_begin = Some(at);
                    }
                    if open == Some(at) {
                        open = None;
                    }
                }
                ["fail", "sync", ..] | ["served", "fail", ..] => {
                    let kind = if words[0] == "fail" { "sync" } else { "serve" };
                    if let Some(e) = self
                        .events
                        .iter_mut()
                        .rev()
                        .find(|e| !e.acked && !e.failed && e.op.kind() == kind)
                    {
                        e.failed = true;
                    }
                    if kind == "sync" {
                        open = None;
                    }
                }
                ["served", "ok", ..] => {
                    if let Some(e) = self
                        .events
                        .iter_mut()
                        .rev()
                        .find(|e| !e.acked && !e.failed && e.op == Op::Serve)
                    {
                        e.acked = true;
                    }
                }
                ["have", "child", i, id] => {
                    let i: usize = i.parse().unwrap();
                    if let Some(known) = self.ids.insert(i, (*id).to_owned()) {
                        assert_eq!(&known, id, "child {i} of {} changed its id", self.role);
                    }
                }
                _ => {}
            }
        }
        // The serving side's session in flight counts as mid-sync.
        let serving = self
            .events
            .iter()
            .rev()
            .find(|e| e.op == Op::Serve)
            .is_some_and(|e| !e.acked && !e.failed);
        out.mid = open
            .map(|i| self.events[i].op.kind())
            .or(serving.then_some("serve"));
        out
    }

    /// Acknowledged writes (not counting reopening and serving, which write nothing of their own).
    fn acked(&self) -> usize {
        self.events
            .iter()
            .filter(|e| e.acked && !matches!(e.op, Op::Reopen | Op::Serve))
            .count()
    }
}

// ---------------------------------------------------------------------------------------------------
// The checks after a kill.

#[derive(Debug, Default)]
struct Stats {
    kills: usize,
    before_ready: usize,
    mid: BTreeMap<&'static str, usize>,
    checks: usize,
    /// Acknowledged writes verified, summed over every check.
    verified: usize,
    /// Calls in flight at the kill (never acknowledged) found committed, and found rolled back (where
    /// the two can be told apart: an import, a visit whose weight differs from the one before).
    in_flight_committed: usize,
    in_flight_rolled_back: usize,
    /// Kills that left part of a transaction in the write-ahead log.
    partial_commits: usize,
    syncs_completed: usize,
}

impl Stats {
    fn checked(&mut self, o: &RunOutcome, c: Checked) {
        self.checks += 1;
        self.verified += c.verified;
        self.partial_commits += usize::from(c.partial_commit);
        if o.mid.is_some() {
            match c.in_flight {
                Some(true) => self.in_flight_committed += 1,
                Some(false) => self.in_flight_rolled_back += 1,
                None => {}
            }
        }
    }

    fn count(&mut self, o: &RunOutcome) {
        self.kills += 1;
        self.before_ready += usize::from(o.before_ready);
        if let Some(k) = o.mid {
            *self.mid.entry(k).or_default() += 1;
        }
        self.syncs_completed += o.syncs_completed;
    }

    fn report(&self, mode: &str, ledgers: &[&Ledger], took: Duration) {
        let acked: usize = ledgers.iter().map(|l| l.acked()).sum();
        let mid: usize = self.mid.values().sum();
        eprintln!(
            "crash {mode}: {} kills, {mid} mid-call {:?} (of those {} found committed, {} rolled \
             back; {} left part of a commit in the log), {} before ready, {acked} acknowledged \
             writes, {} checks verifying {} acknowledged writes in all, {} completed syncs, {:.1} s",
            self.kills,
            self.mid,
            self.in_flight_committed,
            self.in_flight_rolled_back,
            self.partial_commits,
            self.before_ready,
            self.checks,
            self.verified,
            self.syncs_completed,
            took.as_secs_f64()
        );
    }
}

fn grams(kg: Option<f64>) -> Option<u32> {
    kg.map(|k| (k * 1000.0).round() as u32)
}

fn mm(cm: Option<f64>) -> Option<u32> {
    cm.map(|c| (c * 10.0).round() as u32)
}

/// What may be stored for one field of one visit, given the writes to it in order (value, acked,
/// required): from the last acknowledged write that must be there onward (a later write may have
/// committed without its ack getting out, or arrived through a partial sync); anything written, or
/// nothing, when no acknowledged write is required.
fn allowed<T: Clone + PartialEq>(writes: &[(T, bool, bool)]) -> (Vec<T>, bool) {
    match writes
        .iter()
        .rposition(|(_, acked, required)| *acked && *required)
    {
        Some(r) => (writes[r..].iter().map(|w| w.0.clone()).collect(), false),
        None => (writes.iter().map(|w| w.0.clone()).collect(), true),
    }
}

/// Check the database at `path` after a kill. `own` is what its writer did (all of it required);
/// `other`, for a sync, what the other side did with how much of it must be here (a prefix of its
/// events: what it had when a session completed).
fn check_db(path: &Path, own: &Ledger, other: Option<(&Ledger, usize)>) -> Checked {
    let mut out = Checked::default();
    let dir = path.parent().unwrap();
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            !name.contains(".corrupt"),
            "a database was moved aside as damaged: {name}"
        );
    }
    if !path.exists() {
        assert_eq!(own.acked(), 0, "the database is gone");
        return out;
    }
    out.partial_commit = uncommitted_frames(Path::new(&format!("{}-wal", path.display()))) > 0;
    // (1) SQLite's own check, on a read-only connection, before the store opens the file (its open
    // could fold the log in and hide what the kill left).
    {
        let files = || {
            let mut f: Vec<(String, u64)> = std::fs::read_dir(dir)
                .unwrap()
                .filter_map(Result::ok)
                .map(|e| {
                    let len = e.metadata().map_or(0, |m| m.len());
                    (e.file_name().to_string_lossy().into_owned(), len)
                })
                .collect();
            f.sort();
            f
        };
        let integrity = |flags: rusqlite::OpenFlags| -> rusqlite::Result<Vec<String>> {
            let c = rusqlite::Connection::open_with_flags(path, flags)?;
            let mut stmt = c.prepare("PRAGMA integrity_check")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect()
        };
        let read_only =
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let result = match integrity(read_only) {
            // Killed while the new file was still in rollback-journal mode (its first pragmas, before
            // WAL): a hot journal that only a writer may roll back, as SQLite does at the next open.
            Err(rusqlite::Error::SqliteFailure(f, _))
                if f.extended_code == rusqlite::ffi::SQLITE_READONLY_ROLLBACK =>
            {
                assert!(
                    Path::new(&format!("{}-journal", path.display())).exists(),
                    "READONLY_ROLLBACK without a journal"
                );
                integrity(rusqlite::OpenFlags::default())
            }
            r => r,
        };
        match result {
            Ok(msgs) => assert_eq!(msgs, ["ok"], "integrity_check of {}", path.display()),
            Err(e) => panic!(
                "integrity_check of {} did not run: {e:?}; files {:?}",
                path.display(),
                files()
            ),
        }
    }
    // (2) It opens with its key.
    let t = Timbang::open(path, &crash::key(), crash::clock())
        .unwrap_or_else(|e| panic!("{} does not open: {e}", path.display()));
    match t.settings() {
        Err(Error::NotInitialized) => {
            assert!(
                !own.events
                    .iter()
                    .any(|e| e.acked && matches!(e.op, Op::Init | Op::Join)),
                "an acknowledged init is lost"
            );
            return out;
        }
        Err(e) => panic!("settings: {e}"),
        Ok(_) => {}
    }
    // (4) Documents and projections agree, every document opens, the audit chain is whole.
    let report = t.check(false).unwrap();
    assert!(report.ok, "check after a kill: {report:?}");
    let list = t.village_list().unwrap();

    let mut sources: Vec<(&Ledger, usize)> = vec![(own, usize::MAX)];
    sources.extend(other);
    let mut verified = 0;
    // The last call of this database's writer, when it was never acknowledged.
    let in_flight = own
        .events
        .len()
        .checked_sub(1)
        .filter(|&i| !own.events[i].acked && !own.events[i].failed);

    // Names a process wrote; anything else is a phantom.
    let mut by_name: HashMap<&str, Vec<&ChildId>> = HashMap::new();
    for r in &list {
        by_name.entry(&r.name).or_default().push(&r.child_id);
    }
    let mut known: BTreeSet<String> = BTreeSet::new();
    let mut role_children: BTreeMap<String, String> = BTreeMap::new(); // id -> name
    for (l, prefix) in &sources {
        for i in 0..crash::own_children(l.role) {
            let name = crash::own_child(l.role, i).name;
            if let Some(id) = l.ids.get(&i) {
                role_children.insert(id.clone(), name.clone());
            }
            let must = l.events[..(*prefix).min(l.events.len())]
                .iter()
                .any(|e| e.acked && e.op == Op::Child(i));
            let ids = by_name.get(name.as_str()).cloned().unwrap_or_default();
            assert!(ids.len() <= 1, "{name} is there {} times", ids.len());
            if must {
                assert_eq!(ids.len(), 1, "acknowledged child {name} is lost");
                verified += 1;
            }
            if let (Some(got), Some(id)) = (ids.first(), l.ids.get(&i)) {
                assert_eq!(got.as_str(), id, "{name} has another id");
            }
            known.insert(name);
        }
    }

    // (3) Imports: acknowledged batches whole with every visit; a batch of this database's own
    // writer is all or nothing.
    for (source, (l, prefix)) in sources.iter().enumerate() {
        for (at, e) in l.events.iter().enumerate() {
            let Op::Import { n, seed, ids } = &e.op else {
                continue;
            };
            let items = crash::import_items(*seed, *n);
            let present: Vec<(usize, &ChildId)> = (0..*n)
                .filter_map(|j| {
                    let got = by_name.get(crash::import_name(*seed, j).as_str())?;
                    assert_eq!(got.len(), 1, "an imported child is there twice");
                    Some((j, got[0]))
                })
                .collect();
            let required = e.acked && at < *prefix;
            if source == 0 && in_flight == Some(at) {
                out.in_flight = Some(!present.is_empty());
            }
            if required {
                assert_eq!(present.len(), *n, "acknowledged import {seed} is not whole");
                verified += 1;
            } else if *prefix == usize::MAX {
                assert!(
                    present.is_empty() || present.len() == *n,
                    "import {seed} is half there: {} of {n}",
                    present.len()
                );
            }
            for (j, id) in present {
                if e.acked {
                    assert_eq!(
                        id.as_str(),
                        ids[j],
                        "imported child {seed}/{j} has another id"
                    );
                }
                let d = t.child(id).unwrap();
                let (c, visits) = &items[j];
                assert_eq!(
                    (&d.name, d.birth_date, &d.mother_name, &d.address),
                    (&c.name, Some(c.birth_date), &c.mother_name, &c.address),
                    "imported child {seed}/{j}"
                );
                let stored: Vec<(Option<NaiveDate>, Option<u32>, Option<u32>)> = d
                    .visits
                    .iter()
                    .map(|v| (Some(v.date), grams(v.weight_kg), mm(v.height_cm)))
                    .collect();
                let written: Vec<_> = visits
                    .iter()
                    .map(|v| (v.date, v.measured.weight_g, v.measured.height_mm))
                    .collect();
                assert_eq!(stored, written, "visits of imported child {seed}/{j}");
                known.insert(c.name.clone());
            }
        }
    }
    for r in &list {
        if !known.contains(&r.name) {
            // Names of batches never seen at all, or children no process registered.
            panic!(
                "a child no process wrote is in the village list: {}",
                r.child_id
            );
        }
    }

    // (3) Visits: per child and date, the weight and height of the last acknowledged write (or of a
    // write after it), every acknowledged service, and nothing that was never written.
    type Writes = Vec<(VisitRec, bool, bool)>;
    let mut visits: BTreeMap<(String, NaiveDate), Writes> = BTreeMap::new();
    for (l, prefix) in &sources {
        for (at, e) in l.events.iter().enumerate() {
            if let Op::Visit(v) = &e.op {
                visits.entry((v.child.clone(), v.date)).or_default().push((
                    v.clone(),
                    e.acked,
                    at < *prefix,
                ));
            }
        }
    }
    let mut details = HashMap::new();
    for id in role_children.keys() {
        if list.iter().any(|r| r.child_id.as_str() == id) {
            let d = t.child(&ChildId::parse(id).unwrap()).unwrap();
            let by_date: BTreeMap<NaiveDate, _> =
                d.visits.into_iter().map(|v| (v.date, v)).collect();
            for date in by_date.keys() {
                assert!(
                    visits.contains_key(&(id.clone(), *date)),
                    "a visit no process wrote: {id} {date}"
                );
            }
            details.insert(id.clone(), by_date);
        }
    }
    for ((child, date), writes) in &visits {
        let stored = details.get(child).and_then(|d| d.get(date));
        let what = format!("visit {child} {date}");
        let weights: Vec<_> = writes
            .iter()
            .map(|(v, a, r)| (v.weight_g, *a, *r))
            .collect();
        let (ok, may_lack) = allowed(&weights);
        if let Some(Event {
            op: Op::Visit(v), ..
        }) = in_flight.map(|i| &own.events[i])
            && (&v.child, &v.date) == (child, date)
        {
            let stored = stored.and_then(|s| grams(s.weight_kg));
            let before = &ok[..ok.len() - 1];
            out.in_flight = if stored != Some(v.weight_g) {
                Some(false)
            } else if !before.contains(&v.weight_g) {
                Some(true)
            } else {
                None
            };
        }
        match stored.and_then(|s| grams(s.weight_kg)) {
            Some(w) => assert!(ok.contains(&w), "{what}: weight {w} g, written {ok:?}"),
            None => assert!(may_lack, "{what}: acknowledged weight {ok:?} is lost"),
        }
        let heights: Vec<_> = writes
            .iter()
            .filter_map(|(v, a, r)| v.height_mm.map(|h| (h, *a, *r)))
            .collect();
        let (ok, may_lack) = allowed(&heights);
        match stored.and_then(|s| mm(s.height_cm)) {
            Some(h) => assert!(ok.contains(&h), "{what}: height {h} mm, written {ok:?}"),
            None => assert!(may_lack, "{what}: acknowledged height {ok:?} is lost"),
        }
        let services: BTreeSet<&str> = stored
            .map(|s| s.services.iter().map(String::as_str).collect())
            .unwrap_or_default();
        let mut written: BTreeSet<&str> = BTreeSet::new();
        for (v, acked, required) in writes {
            let codes: BTreeSet<&str> = v.services.iter().map(|s| Service::code(*s)).collect();
            if *acked && *required {
                assert!(
                    codes.is_subset(&services),
                    "{what}: acknowledged services {codes:?}, stored {services:?}"
                );
                verified += 1;
            }
            written.extend(codes);
        }
        assert!(
            services.is_subset(&written),
            "{what}: services {services:?} no process wrote"
        );
    }
    out.verified = verified;
    out
}

/// Valid frames after the last commit frame of a `-wal` (a kill while a transaction was being written
/// to the log leaves them; SQLite ignores them at the next open). Reads the frame headers and checks
/// salts and checksums as SQLite's recovery does.
fn uncommitted_frames(wal: &Path) -> usize {
    let Ok(bytes) = std::fs::read(wal) else {
        return 0;
    };
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    if bytes.len() < 32 || be(0) & !1 != 0x377f_0682 {
        return 0;
    }
    let big_endian = be(0) & 1 == 1;
    let word = |at: usize| {
        let w: [u8; 4] = bytes[at..at + 4].try_into().unwrap();
        if big_endian {
            u32::from_be_bytes(w)
        } else {
            u32::from_le_bytes(w)
        }
    };
    let sum = |range: std::ops::Range<usize>, (mut s0, mut s1): (u32, u32)| {
        for at in range.step_by(8) {
            s0 = s0.wrapping_add(word(at)).wrapping_add(s1);
            s1 = s1.wrapping_add(word(at + 4)).wrapping_add(s0);
        }
        (s0, s1)
    };
    let page = be(8) as usize;
    let mut s = sum(0..24, (0, 0));
    let (mut at, mut since_commit) = (32, 0);
    while at + 24 + page <= bytes.len() && bytes[at + 8..at + 16] == bytes[16..24] {
        s = sum(at..at + 8, s);
        s = sum(at + 24..at + 24 + page, s);
        if s != (be(at + 16), be(at + 20)) {
            break;
        }
        since_commit = if be(at + 4) != 0 { 0 } else { since_commit + 1 };
        at += 24 + page;
    }
    since_commit
}

/// What a check found.
#[derive(Debug, Default)]
struct Checked {
    /// Acknowledged writes verified.
    verified: usize,
    /// Whether the call in flight at the kill (the writer's last, never acknowledged) is there, where
    /// that can be told.
    in_flight: Option<bool>,
    /// The kill left part of a transaction in the log.
    partial_commit: bool,
}

// ---------------------------------------------------------------------------------------------------
// The modes.

/// How long to let a worker run: usually from its `ready` line, sometimes from its start (so kills
/// also land while it opens, migrates and sets up).
fn run_then_kill(w: &mut Worker, rng: &mut Rng) {
    if rng.chance(1, 5) {
        std::thread::sleep(Duration::from_millis(rng.log_range(1, 150)));
    } else {
        w.wait_for(|l| l == "ready");
        std::thread::sleep(a_while(rng));
    }
    w.kill();
}

/// A few milliseconds to a few hundred: half the time spread on a log scale (many short runs, so
/// kills land in the first calls), half the time evenly (longer runs, more acknowledged writes).
fn a_while(rng: &mut Rng) -> Duration {
    Duration::from_millis(if rng.chance(1, 2) {
        rng.log_range(2, 500)
    } else {
        rng.range(20, 500)
    })
}

fn s(x: impl ToString) -> String {
    x.to_string()
}

/// `record` and `import`: one worker, killed again and again on one database, then one normal round.
fn kill_loop(mode: &'static str, index: usize, role: &'static str, final_rounds: u64) {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(format!("{mode}.db"));
    let mut rng = Rng::new(base_seed() ^ ((index as u64 + 1) << 40));
    let mut ledger = Ledger::new(role);
    let mut stats = Stats::default();
    let args = |seed: u64, rounds: Option<u64>| {
        let mut a = vec![s(mode), s("--db"), s(db.display()), s("--seed"), s(seed)];
        if let Some(r) = rounds {
            a.extend([s("--rounds"), s(r)]);
        }
        a
    };
    let kills = kills_for(index);
    for i in 0..kills {
        let seed = base_seed() % 100_000 * 1_000 + i as u64;
        let mut w = Worker::start(&format!("{mode} worker {i}"), dir.path(), &args(seed, None));
        run_then_kill(&mut w, &mut rng);
        let o = ledger.absorb(&w.take_lines());
        stats.count(&o);
        stats.checked(&o, check_db(&db, &ledger, None));
    }
    let seed = base_seed() % 100_000 * 1_000 + kills as u64;
    let mut w = Worker::start(
        &format!("{mode} final worker"),
        dir.path(),
        &args(seed, Some(final_rounds)),
    );
    w.finish();
    let o = ledger.absorb(&w.take_lines());
    assert!(o.mid.is_none() && o.acks as u64 >= final_rounds);
    stats.checked(&o, check_db(&db, &ledger, None));
    stats.report(mode, &[&ledger], started.elapsed());
}

#[test]
fn record_visit_survives_kills() {
    kill_loop("record", 0, "Catat", 12);
}

#[test]
fn import_batch_survives_kills() {
    kill_loop("import", 1, "Impor", 3);
}

/// The serving side: started (again) on its database, its code and address read.
fn start_server(dir: &Path, db: &Path, n: usize) -> (Worker, String, String) {
    let args = [
        s("serve"),
        s("--db"),
        s(db.display()),
        s("--seed"),
        s(base_seed() + n as u64),
    ];
    let mut w = Worker::start(&format!("serve worker {n}"), dir, &args);
    let code = w.wait_for(|l| l.starts_with("code "))[5..].to_owned();
    let addr = w.wait_for(|l| l.starts_with("listening "))[10..].to_owned();
    w.wait_for(|l| l == "ready");
    (w, code, addr)
}

#[test]
fn peer_session_survives_kills() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let (serve_db, dial_db) = (dir.path().join("serve.db"), dir.path().join("dial.db"));
    let mut rng = Rng::new(base_seed() ^ (3 << 40));
    let (mut server_ledger, mut dial_ledger) = (Ledger::new("Tuan"), Ledger::new("Tamu"));
    let mut stats = Stats::default();
    let mut server_kills = 0;
    let mut servers = 0;
    let (mut server, mut code, mut addr) = start_server(dir.path(), &serve_db, servers);
    server_ledger.absorb(&server.take_lines());
    // How much of the other side's ledger each side must hold (what it had when the last session
    // that completed began).
    let (mut dial_has_server, mut server_has_dial) = (0usize, 0usize);
    let dial_args = |seed: u64, addr: &str, code: &str, rounds: Option<u64>| {
        let mut a = vec![
            s("sync"),
            s("--db"),
            s(dial_db.display()),
            s("--seed"),
            s(seed),
            s("--connect"),
            s(addr),
            s("--code"),
            s(code),
        ];
        if let Some(r) = rounds {
            a.extend([s("--rounds"), s(r)]);
        }
        a
    };
    let kills = kills_for(2);
    let mut i = 0;
    while i < kills {
        // The serving side writes something new, so every session has something to carry.
        server.send(&format!("write {}", rng.range(1, 5)));
        server.wait_for(|l| l == "wrote");
        server_ledger.absorb(&server.take_lines());
        let server_had = server_ledger.events.len();
        let seed = base_seed() % 100_000 * 1_000 + i as u64;
        let mut w = Worker::start(
            &format!("sync worker {i}"),
            dir.path(),
            &dial_args(seed, &addr, &code, None),
        );
        // Now and then the serving side dies too, in the middle of whatever it is doing.
        let kill_server = kills - i >= 2 && i % 4 == 2;
        if kill_server {
            w.wait_for(|l| l == "ready");
            std::thread::sleep(a_while(&mut rng));
            server.kill();
            std::thread::sleep(Duration::from_millis(rng.log_range(1, 50)));
            w.kill();
        } else {
            run_then_kill(&mut w, &mut rng);
        }
        let o = dial_ledger.absorb(&w.take_lines());
        stats.count(&o);
        if o.syncs_completed > 0 {
            dial_has_server = server_had;
        }
        if let Some(at) = o.last_completed_sync_begin {
            server_has_dial = at;
        }
        let c = check_db(
            &dial_db,
            &dial_ledger,
            Some((&server_ledger, dial_has_server)),
        );
        stats.checked(&o, c);
        i += 1;
        if kill_server {
            let mut o = server_ledger.absorb(&server.take_lines());
            o.before_ready = false; // its `ready` came in an earlier batch of lines
            stats.count(&o);
            server_kills += 1;
            i += 1;
            let c = check_db(
                &serve_db,
                &server_ledger,
                Some((&dial_ledger, server_has_dial)),
            );
            stats.checked(&o, c);
            servers += 1;
            (server, code, addr) = start_server(dir.path(), &serve_db, servers);
            server_ledger.absorb(&server.take_lines());
        }
    }
    // A normal round: one session to the end, then the serving side quits. Each side then holds all
    // the other acknowledged.
    server.send("write 2");
    server.wait_for(|l| l == "wrote");
    server_ledger.absorb(&server.take_lines());
    let seed = base_seed() % 100_000 * 1_000 + kills as u64;
    let mut w = Worker::start(
        "sync final worker",
        dir.path(),
        &dial_args(seed, &addr, &code, Some(1)),
    );
    w.finish();
    let o = dial_ledger.absorb(&w.take_lines());
    assert_eq!(o.syncs_completed, 1);
    server.send("quit");
    server.finish();
    server_ledger.absorb(&server.take_lines());
    let c = check_db(&dial_db, &dial_ledger, Some((&server_ledger, usize::MAX)));
    stats.checked(&o, c);
    let dial_acked_before = o.last_completed_sync_begin.unwrap();
    let c = check_db(
        &serve_db,
        &server_ledger,
        Some((&dial_ledger, dial_acked_before)),
    );
    stats.checked(&o, c);
    eprintln!("crash sync: {server_kills} of the kills were of the serving side");
    stats.report("sync", &[&dial_ledger, &server_ledger], started.elapsed());
}
