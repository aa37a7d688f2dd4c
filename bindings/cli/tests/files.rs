//! The files the `timbang` binary reads and writes, driven by an unfriendly user: outputs over inputs,
//! links, FIFOs and devices where files are expected, key files that are not keys, another program's
//! database, a damaged database. Every refusal is one sentence in Bahasa Indonesia naming the file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const TODAY: &str = "2025-06-15";
/// Long enough for a slow shared machine, short enough that a hang fails the test.
const DEADLINE: Duration = Duration::from_secs(60);

fn timbang() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_timbang"));
    c.env("TIMBANG_TODAY", TODAY)
        .env_remove("TIMBANG_KADER")
        .env_remove("TIMBANG_DEBUG");
    c
}

/// The same, run by `sh` after `setup` (a `umask` or `ulimit`).
fn timbang_after(setup: &str) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(format!("{setup}; exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_timbang"))
        .env("TIMBANG_TODAY", TODAY)
        .env_remove("TIMBANG_KADER")
        .env_remove("TIMBANG_DEBUG");
    c
}

/// Run with a deadline: a command that hangs is killed and the test fails instead of hanging.
fn run_cmd(mut c: Command) -> Output {
    let mut child = c
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            let mut err = String::new();
            if let Some(mut s) = child.stderr.take() {
                let _ = s.read_to_string(&mut err);
            }
            panic!("timbang did not finish within {DEADLINE:?} (killed); stderr: {err}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn run(args: &[&str]) -> Output {
    let mut c = timbang();
    c.args(args);
    run_cmd(c)
}

fn ok(args: &[&str]) -> String {
    let o = run(args);
    assert!(
        o.status.success(),
        "{args:?}: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The command failed with `code` and one line on stderr in Bahasa Indonesia that names every one of
/// `names`, without a system message in English. Returns the line.
fn refused(o: &Output, code: i32, names: &[&str]) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line: {err}");
    let line = lines[0];
    for n in names {
        assert!(line.contains(n), "{line:?} names {n}");
    }
    for english in [
        "os error",
        "No such file",
        "Is a directory",
        "storage failure",
        "sqlite",
        "the input",
        "not found",
        "must hold",
        "damaged",
    ] {
        assert!(!line.contains(english), "{line:?} has English {english:?}");
    }
    line.to_owned()
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn mkfifo(p: &Path) {
    let st = Command::new("mkfifo").arg(p).status().unwrap();
    assert!(st.success());
}

fn is_fifo(p: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::symlink_metadata(p).unwrap().file_type().is_fifo()
}

const CASES: &str =
    "case_id,sex,birth_date,measure_date,weight_kg\nA,M,2024-01-01,2024-06-01,7.1\n";

fn init(db: &Path) {
    ok(&[
        "--db",
        s(db),
        "init",
        "--posyandu",
        "Melati",
        "--village",
        "Sukamaju",
        "--device",
        "hp-1",
    ]);
}

fn add_child(db: &Path, name: &str) -> String {
    let out = ok(&[
        "--db",
        s(db),
        "child",
        "add",
        "--name",
        name,
        "--sex",
        "P",
        "--dob",
        "2024-01-10",
        "--yes",
    ]);
    out.trim_end().lines().last().unwrap().trim().to_owned()
}

fn side(p: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", p.display()))
}

// --- 1. anthro's output ----------------------------------------------------------------------------

#[test]
fn anthro_never_writes_its_output_over_its_input() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("cases.csv");
    std::fs::write(&input, CASES).unwrap();
    let respelled = dir.path().join(".").join("cases.csv");
    let hard = dir.path().join("hard.csv");
    std::fs::hard_link(&input, &hard).unwrap();
    let link = dir.path().join("link.csv");
    std::os::unix::fs::symlink(&input, &link).unwrap();
    for out in [&input, &respelled, &hard, &link] {
        let o = run(&["anthro", "--input", s(&input), "--output", s(out)]);
        refused(&o, 2, &["cases.csv"]);
        assert_eq!(std::fs::read_to_string(&input).unwrap(), CASES, "{out:?}");
    }
    assert_eq!(names_in(dir.path()), ["cases.csv", "hard.csv", "link.csv"]);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn anthro_never_replaces_a_link_a_fifo_or_a_folder_by_a_plain_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("cases.csv");
    std::fs::write(&input, CASES).unwrap();
    let other = dir.path().join("other.txt");
    std::fs::write(&other, "someone's notes\n").unwrap();
    let link = dir.path().join("link.csv");
    std::os::unix::fs::symlink(&other, &link).unwrap();
    let fifo = dir.path().join("fifo.csv");
    mkfifo(&fifo);
    let folder = dir.path().join("folder.csv");
    std::fs::create_dir(&folder).unwrap();
    for out in [&link, &fifo, &folder] {
        let o = run(&["anthro", "--input", s(&input), "--output", s(out)]);
        refused(&o, 2, &[out.file_name().unwrap().to_str().unwrap()]);
    }
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_to_string(&other).unwrap(),
        "someone's notes\n"
    );
    assert!(is_fifo(&fifo));
    assert!(folder.is_dir());
    assert_eq!(
        names_in(dir.path()),
        [
            "cases.csv",
            "fifo.csv",
            "folder.csv",
            "link.csv",
            "other.txt"
        ]
    );
}

#[test]
fn anthro_output_gets_the_mode_the_umask_allows_like_any_file_the_user_makes() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("cases.csv");
    std::fs::write(&input, CASES).unwrap();
    for (umask, mode) in [("027", 0o640), ("022", 0o644)] {
        let out = dir.path().join(format!("out-{umask}.csv"));
        let mut c = timbang_after(&format!("umask {umask}"));
        c.args(["anthro", "--input", s(&input), "--output", s(&out)]);
        let o = run_cmd(c);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(
            std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
            mode,
            "umask {umask}"
        );
    }
}

#[test]
fn anthro_input_and_output_problems_are_one_sentence_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("cases.csv");
    std::fs::write(&input, "case_id,sex\nA,M\n").unwrap();
    let out = dir.path().join("out.csv");
    // A missing column: Bahasa, naming the file and the column.
    let o = run(&["anthro", "--input", s(&input), "--output", s(&out)]);
    refused(&o, 2, &["cases.csv", "birth_date"]);
    // A bad value: the line and the column.
    std::fs::write(
        &input,
        "case_id,sex,birth_date,measure_date\nA,M,2024-01-01,2024-06-01\nB,X,2024-01-01,2024-06-01\n",
    )
    .unwrap();
    let o = run(&["anthro", "--input", s(&input), "--output", s(&out)]);
    refused(&o, 2, &["cases.csv", "baris 3", "sex"]);
    // The input is a folder, or missing; the output's folder is missing.
    let folder = dir.path().join("a-folder");
    std::fs::create_dir(&folder).unwrap();
    let o = run(&["anthro", "--input", s(&folder), "--output", s(&out)]);
    refused(&o, 2, &["a-folder"]);
    let missing = dir.path().join("missing.csv");
    let o = run(&["anthro", "--input", s(&missing), "--output", s(&out)]);
    refused(&o, 2, &["missing.csv"]);
    std::fs::write(&input, CASES).unwrap();
    let nowhere = dir.path().join("nowhere").join("out.csv");
    let o = run(&["anthro", "--input", s(&input), "--output", s(&nowhere)]);
    refused(&o, 2, &["out.csv"]);
    assert_eq!(names_in(dir.path()), ["a-folder", "cases.csv"]);
}

// --- 2. the key file ------------------------------------------------------------------------------

#[test]
fn a_key_file_that_is_a_fifo_or_a_device_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("posyandu.db");
    let fifo = dir.path().join("key.fifo");
    mkfifo(&fifo);
    for key in [fifo.as_path(), Path::new("/dev/zero")] {
        // A memory limit too, so that reading /dev/zero without a bound fails instead of filling the
        // machine's memory.
        let mut c = timbang_after("ulimit -v 4000000");
        c.args([
            "--db",
            s(&db),
            "--key-file",
            s(key),
            "init",
            "--posyandu",
            "Melati",
            "--village",
            "Sukamaju",
            "--device",
            "hp-1",
        ]);
        let o = run_cmd(c);
        refused(&o, 2, &[s(key)]);
    }
    assert_eq!(names_in(dir.path()), ["key.fifo"], "nothing written");
    assert!(is_fifo(&fifo));
}

#[test]
fn an_empty_key_file_left_by_an_old_version_is_named_in_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("posyandu.db");
    let key = side(&db, ".key");
    std::fs::write(&key, b"").unwrap();
    let o = run(&[&["--db", s(&db)], common::INIT].concat());
    let line = refused(&o, 2, &["posyandu.db.key"]);
    assert!(line.contains("kosong"), "{line}");
    assert_eq!(names_in(dir.path()), ["posyandu.db.key"], "nothing written");
    // A key of the wrong length, too.
    std::fs::write(&key, [7u8; 31]).unwrap();
    let o = run(&[&["--db", s(&db)], common::INIT].concat());
    refused(&o, 2, &["posyandu.db.key", "32"]);
}

#[test]
fn a_key_write_that_fails_leaves_no_key_file_behind() {
    // A file size limit of 0 makes the first byte written fail (SIGXFSZ, or EFBIG where ignored): as a
    // full disk would while `init` writes the new key.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("posyandu.db");
    let key = side(&db, ".key");
    let mut c = timbang_after("ulimit -f 0");
    c.args([
        "--db",
        s(&db),
        "init",
        "--posyandu",
        "Melati",
        "--village",
        "Sukamaju",
        "--device",
        "hp-1",
    ]);
    let o = run_cmd(c);
    assert!(!o.status.success());
    assert!(
        std::fs::symlink_metadata(&key).is_err(),
        "no key file after a failed write: {:?}",
        names_in(dir.path())
    );
    // So the next `init`, with room to write, just works.
    init(&db);
    assert_eq!(std::fs::metadata(&key).unwrap().len(), 32);
}

// --- 3. the .db alone -------------------------------------------------------------------------------

#[test]
fn after_a_command_the_db_file_alone_holds_what_it_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("posyandu.db");
    init(&db);
    let id = add_child(&db, "Sari Wulandari");
    // Copy only the .db (and the key), as someone backing up "the database" would.
    let other = tempfile::tempdir().unwrap();
    let copy = other.path().join("copy.db");
    std::fs::copy(&db, &copy).unwrap();
    std::fs::copy(side(&db, ".key"), side(&copy, ".key")).unwrap();
    let list: serde_json::Value =
        serde_json::from_str(&ok(&["--db", s(&copy), "list", "--json"])).unwrap();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["child_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id.as_str()]);
}

// --- 4. another program's database -----------------------------------------------------------------

#[test]
fn another_program_s_sqlite_file_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("catatan.db");
    let conn = rusqlite::Connection::open(&other).unwrap();
    conn.execute_batch(
        "CREATE TABLE notes(id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes(text) VALUES ('jangan diubah');",
    )
    .unwrap();
    drop(conn);
    let before = std::fs::read(&other).unwrap();
    // With a key at hand (someone pointed --db at the wrong file).
    let key = dir.path().join("a.key");
    std::fs::write(&key, [9u8; 32]).unwrap();
    let o = run(&["--db", s(&other), "--key-file", s(&key), "list", "--json"]);
    refused(&o, 2, &["catatan.db"]);
    assert!(o.stdout.is_empty(), "no list printed");
    // And `init`, which would create a key beside it: none is left.
    let o = run(&[&["--db", s(&other)], common::INIT].concat());
    refused(&o, 2, &["catatan.db"]);
    assert_eq!(std::fs::read(&other).unwrap(), before, "byte for byte");
    assert_eq!(names_in(dir.path()), ["a.key", "catatan.db"]);
}

// --- 5. a damaged database ------------------------------------------------------------------------

#[test]
fn a_database_cut_short_under_its_wal_is_moved_aside_with_the_wal_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("posyandu.db");
    init(&db);
    for i in 0..12 {
        add_child(&db, &format!("Anak Nomor {i}"));
    }
    // Write once more through a connection held open while the files are copied, so the copy has a
    // -wal (as a backup taken while the app runs would), then cut the copy's .db to half.
    let damaged_dir = tempfile::tempdir().unwrap();
    let copy = damaged_dir.path().join("posyandu.db");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("PRAGMA wal_autocheckpoint = 0; INSERT INTO meta(key, value) VALUES ('test-only', randomblob(50));")
            .unwrap();
        std::fs::copy(&db, &copy).unwrap();
        std::fs::copy(side(&db, "-wal"), side(&copy, "-wal")).unwrap();
        std::fs::copy(side(&db, ".key"), side(&copy, ".key")).unwrap();
    }
    let len = std::fs::metadata(&copy).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&copy)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let db_bytes = std::fs::read(&copy).unwrap();
    let wal_bytes = std::fs::read(side(&copy, "-wal")).unwrap();
    assert!(!wal_bytes.is_empty());

    let o = run(&["--db", s(&copy), "list"]);
    let line = refused(&o, 1, &["posyandu.db.corrupt-"]);
    assert!(line.contains("rusak"), "{line}");
    let names = names_in(damaged_dir.path());
    let moved = names
        .iter()
        .find(|n| {
            n.starts_with("posyandu.db.corrupt-") && !n.ends_with("-wal") && !n.ends_with("-shm")
        })
        .unwrap_or_else(|| panic!("moved aside: {names:?}"));
    let moved = damaged_dir.path().join(moved);
    assert!(line.contains(moved.file_name().unwrap().to_str().unwrap()));
    // Nothing deleted, nothing folded in: both files exactly as they were.
    assert_eq!(std::fs::read(&moved).unwrap(), db_bytes);
    assert_eq!(std::fs::read(side(&moved, "-wal")).unwrap(), wal_bytes);
    assert!(!copy.exists() && !side(&copy, "-wal").exists());
    // The next command says the database is not set up (the way forward is in the first message).
    let o = run(&["--db", s(&copy), "list"]);
    refused(&o, 1, &["posyandu.db"]);
}

// --- 6. messages about files ----------------------------------------------------------------------

#[test]
fn a_db_that_is_a_folder_is_named_in_one_sentence_and_nothing_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("posyandu-folder");
    std::fs::create_dir(&folder).unwrap();
    let o = run(&["--db", s(&folder), "list"]);
    refused(&o, 2, &["posyandu-folder"]);
    let o = run(&[&["--db", s(&folder)], common::INIT].concat());
    refused(&o, 2, &["posyandu-folder"]);
    assert_eq!(names_in(dir.path()), ["posyandu-folder"]);
    assert!(names_in(&folder).is_empty());
}

#[test]
fn key_file_problems_are_named_in_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("posyandu.db");
    init(&db);
    // Missing.
    let missing = dir.path().join("missing.key");
    let o = run(&["--db", s(&db), "--key-file", s(&missing), "list"]);
    refused(&o, 1, &["missing.key"]);
    // A folder.
    let folder = dir.path().join("key-folder");
    std::fs::create_dir(&folder).unwrap();
    let o = run(&["--db", s(&db), "--key-file", s(&folder), "list"]);
    refused(&o, 2, &["key-folder"]);
    // Another database's key.
    let other = dir.path().join("other.key");
    std::fs::write(&other, [3u8; 32]).unwrap();
    let o = run(&["--db", s(&db), "--key-file", s(&other), "list"]);
    refused(&o, 1, &["other.key", "posyandu.db"]);
}

#[test]
fn a_storage_failure_is_one_sentence_naming_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("posyandu.db");
    init(&db);
    // Damage the schema behind Timbang's back: the village list's table is gone.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = OFF; DROP TABLE child_status;")
        .unwrap();
    drop(conn);
    let o = run(&["--db", s(&db), "list"]);
    refused(&o, 1, &["posyandu.db"]);
}

#[test]
fn a_damaged_child_document_is_one_sentence_with_a_way_forward() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("posyandu.db");
    init(&db);
    let id = add_child(&db, "Anak Uji");
    // A storage chip returns garbage for the child's sealed document.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("UPDATE doc_chunks SET data = randomblob(length(data))", [])
        .unwrap();
    drop(conn);
    let o = run(&[
        "--db",
        s(&db),
        "visit",
        "add",
        &id,
        "--date",
        "2024-06-10",
        "--weight",
        "7.4",
    ]);
    let line = refused(&o, 1, &["posyandu.db", "rusak", "check"]);
    assert!(line.ends_with("untuk melihat apa yang rusak."), "{line}");
}
