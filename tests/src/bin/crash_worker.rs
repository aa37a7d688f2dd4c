//! The crash harness's worker: writes to a Timbang database in a loop until it is killed (SIGKILL, by
//! `tests/crash.rs`), printing one line before each call and one acknowledgement after each call that
//! returned Ok (the lines are described in `timbang_tests::crash`).
//!
//! ```text
//! crash_worker record --db PATH --seed N [--rounds R]    record_visit on this worker's children
//! crash_worker import --db PATH --seed N [--rounds R]    import_batch of seeded batches
//! crash_worker serve  --db PATH --seed N                 serve peer sessions on 127.0.0.1 (a port of
//!                                                        its own); `write K` on stdin records K visits,
//!                                                        `quit` closes the database and exits
//! crash_worker sync   --db PATH --seed N --connect ADDR --code CODE [--rounds R]
//!                                                        record up to two visits, then a session
//!                                                        (dialling ADDR), again and again
//! ```
//!
//! With `--rounds R` the worker stops after R writes (record), R batches (import) or R completed
//! sessions (sync), closes the database normally and prints `done`. Everything is synthetic and made
//! from the seed.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use timbang_core::api::PeerRole;
use timbang_core::domain::ChildId;
use timbang_core::host::TcpStream;
use timbang_core::{Error, Timbang};
use timbang_tests::crash::{self, Rng, VisitRec};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Print one line and flush it: once it is out, the test has seen it.
fn say(line: &str) -> Res<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(())
}

#[derive(Debug, Default)]
struct Args {
    mode: String,
    db: PathBuf,
    seed: u64,
    rounds: Option<u64>,
    connect: Option<String>,
    code: Option<String>,
}

fn args() -> Res<Args> {
    let mut it = std::env::args().skip(1);
    let mut a = Args {
        mode: it.next().ok_or("a mode: record, import, serve or sync")?,
        ..Default::default()
    };
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--db" => a.db = value.into(),
            "--seed" => a.seed = value.parse()?,
            "--rounds" => a.rounds = Some(value.parse()?),
            "--connect" => a.connect = Some(value),
            "--code" => a.code = Some(value),
            _ => return Err(format!("unknown flag {flag}").into()),
        }
    }
    if a.db.as_os_str().is_empty() {
        return Err("--db is required".into());
    }
    Ok(a)
}

fn open(db: &Path) -> Res<Timbang> {
    Ok(Timbang::open(db, &crash::key(), crash::clock())?)
}

/// Set the database up as `device` if it is not yet: `init`, or `team_join` with `code`.
fn set_up(t: &Timbang, device: &str, code: Option<&str>) -> Res<()> {
    match t.settings() {
        Ok(_) => return Ok(()),
        Err(Error::NotInitialized) => {}
        Err(e) => return Err(e.into()),
    }
    match code {
        None => {
            say("begin init")?;
            t.init("Melati", "Sukamaju", device)?;
            say("ack init")?;
        }
        Some(code) => {
            say("begin join")?;
            t.team_join(code, device)?;
            say("ack join")?;
        }
    }
    Ok(())
}

/// This worker's own children (`role`), registering those that are missing; prints `have child` for
/// each. Returns their ids by index.
fn own_children(t: &Timbang, role: &str) -> Res<Vec<ChildId>> {
    let list = t.village_list()?;
    let mut ids = Vec::new();
    for i in 0..crash::own_children(role) {
        let c = crash::own_child(role, i);
        let id = match list.iter().find(|r| r.name == c.name) {
            Some(r) => r.child_id.clone(),
            None => {
                say(&format!("begin child {i}"))?;
                // Similar names ("Anak Catat 1", "Anak Catat 2") ask for confirmation: given.
                let id = t.register_child(c, true)?.child_id;
                say(&format!("ack child {i} {id}"))?;
                id
            }
        };
        say(&format!("have child {i} {id}"))?;
        ids.push(id);
    }
    Ok(ids)
}

/// Record one random visit on one of `children`, between its `begin` and `ack` lines.
fn record_one(t: &Timbang, rng: &mut Rng, children: &[ChildId]) -> Res<()> {
    let child = &children[rng.range(0, children.len() as u64) as usize];
    let v = VisitRec::random(rng, child.as_str());
    say(&format!("begin visit {}", v.words()))?;
    // Implausible-looking combinations (a jump between two random weights) are confirmed.
    t.record_visit(child, v.entry(), true)?;
    say(&format!("ack visit {}", v.words()))
}

/// Close the database (the store checkpoints its log on close) and open it again.
fn reopen(t: Timbang, db: &Path) -> Res<Timbang> {
    say("begin reopen")?;
    drop(t);
    let t = open(db)?;
    say("ack reopen")?;
    Ok(t)
}

fn done(t: Timbang) -> Res<()> {
    drop(t);
    say("done")
}

fn record(a: &Args) -> Res<()> {
    let mut rng = Rng::new(a.seed);
    let mut t = open(&a.db)?;
    set_up(&t, "hp-catat", None)?;
    let children = own_children(&t, "Catat")?;
    say("ready")?;
    let mut until_reopen = rng.range(5, 25);
    let mut n = 0;
    loop {
        if a.rounds.is_some_and(|r| n >= r) {
            return done(t);
        }
        record_one(&t, &mut rng, &children)?;
        n += 1;
        until_reopen -= 1;
        if until_reopen == 0 {
            t = reopen(t, &a.db)?;
            until_reopen = rng.range(5, 25);
        }
    }
}

fn import(a: &Args) -> Res<()> {
    let mut rng = Rng::new(a.seed);
    let mut t = open(&a.db)?;
    set_up(&t, "hp-impor", None)?;
    say("ready")?;
    let mut until_reopen = rng.range(2, 8);
    for k in 0.. {
        if a.rounds.is_some_and(|r| k >= r) {
            break;
        }
        let seed = a.seed * 1_000 + k;
        let n = crash::import_size(seed);
        say(&format!("begin import {n} {seed}"))?;
        let ids = t.import_batch(&crash::import_items(seed, n))?;
        let ids: Vec<&str> = ids.iter().map(ChildId::as_str).collect();
        say(&format!("ack import {n} {seed} {}", ids.join(" ")))?;
        until_reopen -= 1;
        if until_reopen == 0 {
            t = reopen(t, &a.db)?;
            until_reopen = rng.range(2, 8);
        }
    }
    done(t)
}

/// The serving phone: holds its own children and an imported batch, serves one session at a time on
/// 127.0.0.1, and records visits when told to on stdin.
fn serve(a: &Args) -> Res<()> {
    let mut rng = Rng::new(a.seed);
    let t = open(&a.db)?;
    set_up(&t, "hp-tuan", None)?;
    if t.check_team().is_err() {
        say("begin team")?;
        t.team_invite()?;
        say("ack team")?;
    }
    say(&format!("code {}", t.team_invite()?))?;
    let children = own_children(&t, "Tuan")?;
    let has_import = t
        .village_list()?
        .iter()
        .any(|r| r.name == crash::import_name(crash::SERVE_IMPORT_SEED, 0));
    if !has_import {
        let (n, seed) = (crash::SERVE_IMPORT_SIZE, crash::SERVE_IMPORT_SEED);
        say(&format!("begin import {n} {seed}"))?;
        let ids = t.import_batch(&crash::import_items(seed, n))?;
        let ids: Vec<&str> = ids.iter().map(ChildId::as_str).collect();
        say(&format!("ack import {n} {seed} {}", ids.join(" ")))?;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    say(&format!("listening {}", listener.local_addr()?))?;
    say("ready")?;
    let quit = AtomicBool::new(false);
    std::thread::scope(|s| -> Res<()> {
        let commands = s.spawn(|| -> Res<()> {
            let result = (|| -> Res<()> {
                for line in std::io::stdin().lock().lines() {
                    let line = line?;
                    let words: Vec<&str> = line.split_whitespace().collect();
                    match words[..] {
                        ["write", k] => {
                            for _ in 0..k.parse::<u32>()? {
                                record_one(&t, &mut rng, &children)?;
                            }
                            say("wrote")?;
                        }
                        ["quit"] => break,
                        _ => return Err(format!("unknown command {line}").into()),
                    }
                }
                Ok(())
            })();
            quit.store(true, Ordering::SeqCst);
            result
        });
        while !quit.load(Ordering::SeqCst) {
            match listener.accept() {
                Ok((stream, _)) => {
                    say("begin serve")?;
                    stream.set_nonblocking(false)?;
                    let stream = TcpStream::from_std(stream)?;
                    match t.peer_session(&stream, PeerRole::Accept) {
                        Ok(r) => say(&format!(
                            "served ok docs_sent={} docs_received={}",
                            r.docs_sent, r.docs_received
                        ))?,
                        Err(e) => say(&format!("served fail {e}"))?,
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                Err(e) => return Err(e.into()),
            }
        }
        commands.join().map_err(|_| "the command thread panicked")?
    })?;
    done(t)
}

/// The dialling phone: joins the team, registers its children, then records up to two visits and syncs
/// with the serving phone, again and again.
fn sync(a: &Args) -> Res<()> {
    let mut rng = Rng::new(a.seed);
    let addr = a.connect.as_deref().ok_or("sync needs --connect")?;
    let t = open(&a.db)?;
    set_up(
        &t,
        "hp-tamu",
        Some(a.code.as_deref().ok_or("sync needs --code")?),
    )?;
    let children = own_children(&t, "Tamu")?;
    say("ready")?;
    let mut completed = 0;
    loop {
        if a.rounds.is_some_and(|r| completed >= r) {
            return done(t);
        }
        for _ in 0..rng.range(0, 3) {
            record_one(&t, &mut rng, &children)?;
        }
        say("begin sync")?;
        let session = TcpStream::connect(addr)
            .map_err(|e| Error::Sync {
                message: format!("connect: {e}"),
                retryable: true,
            })
            .and_then(|stream| t.peer_session(&stream, PeerRole::Dial));
        match session {
            Ok(r) if r.completed => {
                completed += 1;
                say(&format!(
                    "ack sync completed=true docs_sent={} docs_received={}",
                    r.docs_sent, r.docs_received
                ))?;
            }
            Ok(_) => say("fail sync not completed")?,
            Err(e) => {
                say(&format!("fail sync {e}"))?;
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
    }
}

fn main() -> Res<()> {
    let a = args()?;
    match a.mode.as_str() {
        "record" => record(&a),
        "import" => import(&a),
        "serve" => serve(&a),
        "sync" => sync(&a),
        m => Err(format!("unknown mode {m}").into()),
    }
}
