//! Two (or three) phones as separate `timbang` processes syncing over real TCP on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

const TODAY: &str = "2025-06-15";

struct Phone {
    _dir: tempfile::TempDir,
    db: PathBuf,
}

fn phone() -> Phone {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hp.db");
    Phone { _dir: dir, db }
}

fn cmd(p: &Phone, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_timbang"));
    c.arg("--db")
        .arg(&p.db)
        .args(args)
        .env("TIMBANG_TODAY", TODAY);
    c
}

fn run(p: &Phone, args: &[&str]) -> Output {
    cmd(p, args).output().unwrap()
}

fn ok(p: &Phone, args: &[&str]) -> String {
    let o = run(p, args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn last(s: &str) -> String {
    s.trim_end().lines().last().unwrap().trim().to_owned()
}

fn json(p: &Phone, args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&ok(p, args)).unwrap()
}

/// Start `peer serve --once` on an ephemeral port; returns the process and the address it listens on.
fn serve(p: &Phone) -> (Child, String) {
    let mut child = cmd(p, &["peer", "serve", "--listen", "127.0.0.1:0", "--once"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    let addr = line.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(
        addr.starts_with("127.0.0.1:"),
        "unexpected first line {line:?}"
    );
    // Keep draining stderr so the server never blocks on it.
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = err.read_to_string(&mut rest);
    });
    (child, addr)
}

fn sync(server: &Phone, client: &Phone) {
    let (mut srv, addr) = serve(server);
    ok(client, &["peer", "sync", "--connect", &addr]);
    assert!(
        srv.wait().unwrap().success(),
        "serve --once exits 0 after a completed session"
    );
}

fn team() -> (Phone, Phone) {
    let a = phone();
    ok(&a, common::INIT);
    let code = last(&ok(&a, &["team", "invite"]));
    let b = phone();
    ok(&b, &["team", "join", &code, "--device", "hp-2"]);
    (a, b)
}

#[test]
fn two_phones_merge_field_by_field_and_surface_real_conflicts() {
    let (a, b) = team();
    let id = last(&ok(
        &a,
        &[
            "child",
            "add",
            "--name",
            "Sari Wulandari",
            "--sex",
            "P",
            "--dob",
            "2024-09-01",
        ],
    ));
    sync(&a, &b);
    assert_eq!(json(&b, &["list", "--json"])[0]["child_id"], id.as_str());

    // The same morning: phone A weighs, phone B weighs too (a different value) and measures length.
    ok(
        &a,
        &[
            "visit",
            "add",
            &id,
            "--date",
            "2025-06-14",
            "--weight",
            "7.4",
            "--yes",
        ],
    );
    ok(
        &b,
        &[
            "visit",
            "add",
            &id,
            "--date",
            "2025-06-14",
            "--weight",
            "7.9",
            "--height",
            "66.0",
            "--position",
            "lying",
            "--yes",
        ],
    );
    sync(&b, &a);

    for p in [&a, &b] {
        let show = json(p, &["child", "show", &id, "--json"]);
        let v = &show["visits"][0];
        assert_eq!(
            v["height_cm"], 66.0,
            "height from B merged into the same visit"
        );
        let c = json(p, &["conflicts", "--json"]);
        assert_eq!(c.as_array().unwrap().len(), 1, "{c}");
        assert_eq!(c[0]["child_id"], id.as_str());
        assert_eq!(c[0]["field"], "weight_kg");
        assert_eq!(c[0]["values"], serde_json::json!([7.4, 7.9]));
    }
    // Both phones show the same (automerge's) winner meanwhile.
    assert_eq!(
        json(&a, &["list", "--json"])[0]["weight_kg"],
        json(&b, &["list", "--json"])[0]["weight_kg"]
    );
    // The bidan settles it on B; the resolution travels like any edit.
    let cid = json(&b, &["conflicts", "--json"])[0]["conflict_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let o = run(&b, &["resolve", &cid, "8.8"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "a value that is not one of the conflicting ones is refused"
    );
    ok(&b, &["resolve", &cid, "7.4"]);
    sync(&a, &b);
    for p in [&a, &b] {
        assert_eq!(
            json(p, &["conflicts", "--json"]).as_array().unwrap().len(),
            0
        );
        assert_eq!(json(p, &["list", "--json"])[0]["weight_kg"], 7.4);
    }
}

#[test]
fn a_duplicate_merge_replicates_and_late_edits_to_the_duplicate_arrive_at_the_kept_child() {
    let (a, b) = team();
    let keep = last(&ok(
        &a,
        &[
            "child",
            "add",
            "--name",
            "Rudi Hartono",
            "--sex",
            "L",
            "--dob",
            "2023-05-02",
            "--nik",
            "3201010205230001",
        ],
    ));
    let dup = last(&ok(
        &b,
        &[
            "child",
            "add",
            "--name",
            "Roedi Hartono",
            "--sex",
            "L",
            "--dob",
            "2023-05-02",
            "--nik",
            "3201010205230002",
        ],
    ));
    sync(&a, &b);
    // A merges while B, not yet told, records a weighing on the duplicate.
    ok(&a, &["child", "merge", &keep, &dup]);
    ok(
        &b,
        &[
            "visit",
            "add",
            &dup,
            "--date",
            "2025-06-14",
            "--weight",
            "12.1",
        ],
    );
    sync(&a, &b);
    for p in [&a, &b] {
        let list = json(p, &["list", "--json"]);
        assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
        assert_eq!(list[0]["child_id"], keep.as_str());
        assert_eq!(list[0]["weight_kg"], 12.1);
        let show = json(p, &["child", "show", &dup, "--json"]);
        assert_eq!(
            show["child_id"],
            keep.as_str(),
            "the duplicate's id leads to the kept child"
        );
        assert_eq!(show["other_niks"], serde_json::json!(["3201010205230002"]));
    }
}

#[test]
fn an_unpaired_phone_gets_an_error_and_no_data() {
    let (a, _b) = team();
    ok(
        &a,
        &[
            "child",
            "add",
            "--name",
            "Dina Marlina",
            "--sex",
            "P",
            "--dob",
            "2024-02-02",
        ],
    );
    let stranger = phone();
    ok(
        &stranger,
        &[
            "init",
            "--posyandu",
            "Lain",
            "--village",
            "Lain",
            "--device",
            "hp-x",
        ],
    );
    ok(&stranger, &["team", "invite"]);
    let (mut srv, addr) = serve(&a);
    let o = run(&stranger, &["peer", "sync", "--connect", &addr]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        !srv.wait().unwrap().success(),
        "the serving phone reports the failed session"
    );
    assert_eq!(
        json(&stranger, &["list", "--json"])
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

/// Relay between two phones that flips one byte of the first sealed frame from the server.
fn tampering_proxy(target: String) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let (client, _) = l.accept().unwrap();
        let server = TcpStream::connect(target).unwrap();
        let (mut c_r, mut s_w) = (client.try_clone().unwrap(), server.try_clone().unwrap());
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut c_r, &mut s_w);
            let _ = s_w.shutdown(std::net::Shutdown::Write);
        });
        let (mut s_r, mut c_w) = (server, client);
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0usize;
        let mut flipped = false;
        loop {
            let n = match s_r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            // Past the server hello (well under 300 bytes), flip a byte of what follows.
            if !flipped && total + n > 300 {
                let i = 300usize.saturating_sub(total).min(n - 1);
                buf[i] ^= 0x40;
                flipped = true;
            }
            total += n;
            if c_w.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = c_w.shutdown(std::net::Shutdown::Write);
    });
    addr
}

#[test]
fn a_tampered_frame_stops_the_session_and_writes_nothing() {
    let (a, b) = team();
    for i in 0..30 {
        ok(
            &a,
            &[
                "child",
                "add",
                "--name",
                &format!("Anak Uji {i}"),
                "--sex",
                "L",
                "--dob",
                "2024-01-01",
                "--yes",
            ],
        );
    }
    let (mut srv, addr) = serve(&a);
    let proxy = tampering_proxy(addr);
    let o = run(&b, &["peer", "sync", "--connect", &proxy]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let _ = srv.wait();
    assert_eq!(json(&b, &["list", "--json"]).as_array().unwrap().len(), 0);
}

/// A client that connects and says nothing (or stalls) never holds a real phone off: sessions are
/// served at once, the silent one is dropped at the handshake deadline and does not count for `--once`.
#[test]
fn a_silent_client_does_not_block_a_real_sync() {
    let (a, b) = team();
    let (mut srv, addr) = serve(&a);
    let silent = TcpStream::connect(&addr).unwrap();
    let o = run(&b, &["peer", "sync", "--connect", &addr, "--json"]);
    assert!(
        o.status.success(),
        "the real sync completed beside the silent client: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        srv.wait().unwrap().success(),
        "serve --once exits 0 after the real session, whatever the silent client does"
    );
    drop(silent);
}

fn init_as(p: &Phone, posyandu: &str, device: &str) -> String {
    ok(
        p,
        &[
            "init",
            "--posyandu",
            posyandu,
            "--village",
            "Sukamaju",
            "--device",
            device,
        ],
    );
    last(&ok(p, &["team", "invite"]))
}

fn add(p: &Phone, name: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "child",
        "add",
        "--name",
        name,
        "--sex",
        "P",
        "--dob",
        "2024-03-03",
    ];
    args.extend_from_slice(extra);
    last(&ok(p, &args))
}

fn names(p: &Phone, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["list", "--json"];
    args.extend_from_slice(extra);
    let mut v: Vec<String> = json(p, &args)
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_bidan_phone_in_two_teams_gets_each_posyandu_from_its_own_phones_only() {
    let a = phone();
    let code_a = init_as(&a, "Melati", "hp-a");
    add(&a, "Ani Melati", &[]);
    let b = phone();
    let code_b = init_as(&b, "Mawar", "hp-b");
    add(&b, "Bunga Mawar", &[]);

    let bidan = phone();
    ok(&bidan, &["team", "join", &code_a, "--device", "hp-bidan"]);
    // A database set up already adds the second team.
    ok(&bidan, &["team", "join", &code_b]);
    let again = run(&bidan, &["team", "join", &code_b]);
    assert_eq!(
        again.status.code(),
        Some(2),
        "joining a team twice is refused"
    );
    let teams = json(&bidan, &["team", "list", "--json"]);
    assert_eq!(teams.as_array().unwrap().len(), 2, "{teams}");
    assert!(!teams.to_string().contains(&code_a.replace('-', "")[..20]));

    // The bidan serves; each kader phone dials with its own team.
    sync(&bidan, &a);
    assert_eq!(names(&bidan, &[]), ["Ani Melati"]);
    sync(&bidan, &b);
    assert_eq!(names(&bidan, &[]), ["Ani Melati", "Bunga Mawar"]);
    assert_eq!(names(&bidan, &["--posyandu", "Mawar"]), ["Bunga Mawar"]);
    assert_eq!(names(&bidan, &["--posyandu", "melati"]), ["Ani Melati"]);
    let teams = json(&bidan, &["team", "list", "--json"]);
    let mut shown: Vec<(String, i64)> = teams
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["posyandu"].as_str().unwrap().to_owned(),
                t["children"].as_i64().unwrap(),
            )
        })
        .collect();
    shown.sort();
    assert_eq!(shown, [("Mawar".to_owned(), 1), ("Melati".to_owned(), 1)]);

    // A new child on the bidan's phone needs its posyandu, then goes to that team only.
    let o = run(
        &bidan,
        &[
            "child",
            "add",
            "--name",
            "Citra",
            "--sex",
            "P",
            "--dob",
            "2024-01-01",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--posyandu"));
    add(&bidan, "Citra Mawar", &["--posyandu", "Mawar"]);
    sync(&bidan, &b);
    sync(&bidan, &a);
    assert_eq!(names(&b, &[]), ["Bunga Mawar", "Citra Mawar"]);
    assert_eq!(
        names(&a, &[]),
        ["Ani Melati"],
        "kader A never gets posyandu B's children"
    );

    // The bidan dials: she presents each of her teams in turn until the kader phone accepts one.
    add(&a, "Dewi Melati", &[]);
    sync(&a, &bidan);
    assert_eq!(
        names(&bidan, &["--posyandu", "Melati"]),
        ["Ani Melati", "Dewi Melati"]
    );
    assert_eq!(names(&a, &[]), ["Ani Melati", "Dewi Melati"]);

    // The aggregate for one posyandu carries its team's source code, the one that posyandu's own
    // phone writes, so a district sees two posyandu, not three.
    let source = |p: &Phone, extra: &[&str]| {
        let out = p.db.with_extension("agregat.json");
        let mut args = vec![
            "export",
            "agregat",
            "--month",
            "2025-06",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        ok(p, &args);
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        v["source"].as_str().unwrap().to_owned()
    };
    let mawar = source(&bidan, &["--posyandu", "Mawar"]);
    let melati = source(&bidan, &["--posyandu", "Melati"]);
    assert_ne!(mawar, melati);
    assert_eq!(mawar, source(&b, &[]));
    assert_eq!(melati, source(&a, &[]));
}

/// A checkpoint row: the peer's epoch, the peer's number, this phone's own number.
type CheckpointRow = (Vec<u8>, i64, i64);

/// (epoch, last write number) of a phone's database, and the checkpoints it keeps of its peers.
fn marks(p: &Phone) -> (Vec<u8>, i64, Vec<CheckpointRow>) {
    let c =
        rusqlite::Connection::open_with_flags(&p.db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let meta = |k: &str| -> rusqlite::types::Value {
        c.query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
            .unwrap()
    };
    let rusqlite::types::Value::Blob(epoch) = meta("store_epoch") else {
        panic!("store_epoch is not a blob")
    };
    let rusqlite::types::Value::Integer(seq) = meta("doc_seq") else {
        panic!("doc_seq is not a number")
    };
    let mut stmt = c
        .prepare("SELECT their_epoch, their_seq, own_seq FROM peer_checkpoints")
        .unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    (epoch, seq, rows)
}

fn weigh(p: &Phone, id: &str, date: &str, kg: &str) {
    ok(
        p,
        &["visit", "add", id, "--date", date, "--weight", kg, "--yes"],
    );
}

fn visit_dates(p: &Phone, id: &str) -> Vec<String> {
    let v = json(p, &["child", "show", id, "--json"]);
    let mut dates: Vec<String> = v["visits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["date"].as_str().unwrap().to_owned())
        .collect();
    dates.sort();
    dates
}

/// The dialling phone keeps where each verified session left both databases (the serving phone's
/// epoch and write number, its own number), and the next session starts from there. A checkpoint
/// that claims more than the serving phone sent (a database put back from a copy would) costs a
/// session by buckets, never a weighing.
#[test]
fn the_dialling_phone_starts_from_where_the_last_verified_session_left_both() {
    let (a, b) = team();
    let ids: Vec<String> = ["Ani", "Budi", "Citra", "Dewi"]
        .iter()
        .map(|n| add(&a, n, &[]))
        .collect();
    sync(&a, &b);
    let (a_epoch, a_seq, _) = marks(&a);
    let (b_epoch, b_seq, b_cps) = marks(&b);
    assert_ne!(a_epoch, b_epoch, "each database numbers its own writes");
    assert_eq!(b_cps, vec![(a_epoch.clone(), a_seq, b_seq)]);

    weigh(&a, &ids[1], "2025-06-14", "9.1");
    weigh(&b, &ids[2], "2025-06-14", "8.4");
    sync(&a, &b);
    for p in [&a, &b] {
        assert_eq!(visit_dates(p, &ids[1]), ["2025-06-14"]);
        assert_eq!(visit_dates(p, &ids[2]), ["2025-06-14"]);
    }
    let (_, a_seq2, _) = marks(&a);
    let (_, b_seq2, b_cps) = marks(&b);
    assert!(a_seq2 > a_seq && b_seq2 > b_seq);
    assert_eq!(b_cps, vec![(a_epoch.clone(), a_seq2, b_seq2)]);

    // Phone A weighs Dewi; phone B's checkpoint is made to claim it already has that write.
    weigh(&a, &ids[3], "2025-06-15", "10.2");
    let (_, a_seq3, _) = marks(&a);
    rusqlite::Connection::open(&b.db)
        .unwrap()
        .execute("UPDATE peer_checkpoints SET their_seq = ?1", [a_seq3])
        .unwrap();
    sync(&a, &b);
    assert_eq!(visit_dates(&b, &ids[3]), ["2025-06-15"]);
    let (_, _, b_cps) = marks(&b);
    assert_eq!(
        b_cps[0].1,
        marks(&a).1,
        "the verified session leaves a true checkpoint"
    );
}

/// A phone receiving many new children stores them many to a write transaction (one audit row per
/// transaction says how many), not one transaction each: every page a transaction shares with the
/// next (index pages, the audit chain, the write counter) is written once per transaction. Each
/// child still lands whole, and the projections equal a rebuild from the documents.
#[test]
fn received_children_are_stored_many_to_a_write_transaction() {
    let (a, b) = team();
    for i in 0..40 {
        // Same birth date, similar names: registered anyway.
        add(&a, &format!("Anak {i}"), &["--yes"]);
    }
    sync(&a, &b);
    assert_eq!(names(&b, &[]).len(), 40);
    let conn =
        rusqlite::Connection::open_with_flags(&b.db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let (transactions, children): (i64, i64) = conn
        .query_row(
            "SELECT count(*), sum(CAST(detail AS INTEGER)) FROM audit WHERE action = 'sync_received'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(children, 40);
    // A transaction is cut after 25 ms (or when a kader's write waits): in a debug build on a busy
    // machine a child costs a few milliseconds, so 40 take a handful of transactions, never 40.
    assert!(
        transactions <= 20,
        "{transactions} transactions for 40 children"
    );
    let check = json(&b, &["check", "--json"]);
    assert_eq!(check["ok"], true, "{check}");
}
