//! One function per command: parse arguments into core types, call the facade, print.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::json;
use timbang_core::api::VisitResult;
use timbang_core::crypto::Key;
use timbang_core::domain::{self, ChildId, NewChild, VisitEntry};
use timbang_core::host::{Clock, SystemClock};
use timbang_core::{Error, FixedDate, Timbang};

use timbang_core::output_file::{OutputError, OutputFile};

use crate::output::{self, CliError, line, num};
use crate::{
    ChildAddArgs, ChildCommand, Cli, Command, InitArgs, PeerCommand, TeamCommand, VisitAddArgs,
    VisitCommand,
};

/// The clock: the system's, or a fixed date from `TIMBANG_TODAY` (YYYY-MM-DD) for reproducible runs.
pub fn clock() -> Result<Arc<dyn Clock>, CliError> {
    match std::env::var("TIMBANG_TODAY") {
        Ok(t) if !t.is_empty() => {
            let d = domain::parse_date("TIMBANG_TODAY", "TIMBANG_TODAY", &t)?;
            Ok(Arc::new(FixedDate(d)))
        }
        _ => Ok(Arc::new(SystemClock)),
    }
}

fn default_db() -> Result<PathBuf, CliError> {
    let dirs = directories::ProjectDirs::from("id", "Timbang", "timbang").ok_or_else(|| {
        CliError::failed(
            "Sistem ini tidak punya folder data untuk aplikasi; pilih berkas basis data dengan --db.",
            "no data directory on this platform; use --db",
        )
    })?;
    Ok(dirs.data_dir().join("timbang.db"))
}

fn db_path(cli: &Cli) -> Result<PathBuf, CliError> {
    match &cli.db {
        Some(p) => Ok(p.clone()),
        None => default_db(),
    }
}

fn key_path(db: &Path, key_file: Option<&Path>) -> PathBuf {
    key_file.map_or_else(
        || PathBuf::from(format!("{}.key", db.display())),
        Path::to_path_buf,
    )
}

/// A key file that is not what it must be: bad input (exit 2), named in one sentence.
fn bad_key(path: &Path, message_id: String, message_en: &str) -> CliError {
    CliError::Core(Error::invalid(
        "key_file",
        message_id,
        format!("key file {}: {message_en}", path.display()),
    ))
}

/// Read the key file, or create one (mode 0600) when `create` and it does not exist. Returns the key
/// and whether this call created the file.
///
/// Only a regular file is read (checked before opening, so a FIFO cannot hang the command) and at most
/// 33 bytes of it (so `/dev/zero` cannot fill the memory); exactly 32 are required. A new key is written
/// to a temporary file beside it, synced and linked into place, so a failed create (a full disk) leaves
/// no key file, and two `init`s at once end up with the same key.
pub fn load_or_create_key(path: &Path, create: bool) -> Result<(Key, bool), CliError> {
    match std::fs::metadata(path) {
        Ok(_) => read_key(path).map(|k| (k, false)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
            if let Some(dir) = path.parent()
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(dir).map_err(|e| CliError::io("Folder", dir, &e))?;
            }
            let key = Key::make_random().map_err(|e| {
                CliError::failed(
                    "Kunci baru tidak bisa dibuat: sistem tidak memberi bilangan acak.",
                    e.to_string(),
                )
            })?;
            match write_private(path, key.as_bytes()) {
                Ok(()) => Ok((key, true)),
                // Another process created it first: use that one.
                Err(OutputError::Exists { .. }) => read_key(path).map(|k| (k, false)),
                Err(e) => Err(key_write_error(path, &e)),
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(CliError::failed(
            format!(
                "Berkas kunci {} tidak ada; tunjuk kunci basis data ini dengan --key-file.",
                path.display()
            ),
            format!("key file {} not found", path.display()),
        )),
        Err(e) => Err(CliError::io("Berkas kunci", path, &e)),
    }
}

fn key_write_error(path: &Path, e: &OutputError) -> CliError {
    let reason = match e {
        OutputError::Io { source, .. } => timbang_core::output_file::io_reason_id(source),
        _ => "tidak bisa dibuat di sana",
    };
    CliError::failed(
        format!(
            "Berkas kunci {} tidak bisa dibuat karena {reason}; tidak ada yang ditulis.",
            path.display()
        ),
        e.to_string(),
    )
}

fn read_key(path: &Path) -> Result<Key, CliError> {
    use std::io::Read;
    let not_regular = |kind: &str| {
        bad_key(
            path,
            format!(
                "Berkas kunci {} adalah {kind}, bukan berkas biasa berisi 32 bita; tunjuk berkas kunci yang benar dengan --key-file.",
                path.display()
            ),
            "not a regular file",
        )
    };
    let kind = |t: std::fs::FileType| {
        if t.is_dir() {
            "folder"
        } else {
            "perangkat atau pipa"
        }
    };
    let meta = std::fs::metadata(path).map_err(|e| CliError::io("Berkas kunci", path, &e))?;
    if !meta.is_file() {
        return Err(not_regular(kind(meta.file_type())));
    }
    let file = std::fs::File::open(path).map_err(|e| CliError::io("Berkas kunci", path, &e))?;
    let meta = file
        .metadata()
        .map_err(|e| CliError::io("Berkas kunci", path, &e))?;
    if !meta.is_file() {
        return Err(not_regular(kind(meta.file_type())));
    }
    let mut bytes = Vec::with_capacity(33);
    file.take(33)
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::io("Berkas kunci", path, &e))?;
    match bytes.len() {
        32 => Key::from_bytes(&bytes).map_err(|_| {
            bad_key(
                path,
                format!("Berkas kunci {} tidak sah.", path.display()),
                "not a key",
            )
        }),
        0 => Err(bad_key(
            path,
            format!(
                "Berkas kunci {} kosong (mungkin sisa `init` yang gagal); bila basis data ini belum pernah dipakai, hapus berkas itu lalu ulangi, bila sudah, tunjuk kunci yang benar dengan --key-file.",
                path.display()
            ),
            "empty",
        )),
        n => Err(bad_key(
            path,
            format!(
                "Berkas kunci {} harus berisi tepat 32 bita, bukan {}.",
                path.display(),
                if n > 32 {
                    "lebih".to_owned()
                } else {
                    n.to_string()
                }
            ),
            &format!("{n} bytes instead of 32"),
        )),
    }
}

/// Write a new secret file atomically with mode 0600; never replaces an existing file.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    use std::io::Write;
    let mut f = OutputFile::create_new_private(path)?;
    f.write_all(bytes).map_err(|source| OutputError::Io {
        path: path.to_owned(),
        source,
    })?;
    f.commit()
}

/// Refuse a `--db` that exists but is not a regular file (a folder, a FIFO, a device) before any file
/// is created.
fn check_db_path(db: &Path) -> Result<(), CliError> {
    match std::fs::metadata(db) {
        Ok(m) if !m.is_file() => Err(CliError::Core(Error::invalid(
            "db",
            format!(
                "Basis data {} adalah {}, bukan berkas; pilih berkas basis data dengan --db.",
                db.display(),
                if m.is_dir() {
                    "folder"
                } else {
                    "perangkat atau pipa"
                }
            ),
            format!("--db {} is not a regular file", db.display()),
        ))),
        _ => Ok(()),
    }
}

/// Open the facade. `create` allows a new database (init, team join); other commands need an
/// existing one, so a typo in `--db` does not leave empty databases around.
pub fn open(cli: &Cli, create: bool) -> Result<Timbang, CliError> {
    let db = db_path(cli)?;
    check_db_path(&db)?;
    if !create && !db.exists() {
        return Err(CliError::Core(Error::NotInitialized));
    }
    if let Some(dir) = db.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| CliError::io("Folder", dir, &e))?;
    }
    let key_file = key_path(&db, cli.key_file.as_deref());
    let (key, created) = load_or_create_key(&key_file, create)?;
    let t = match Timbang::open(&db, &key, clock()?) {
        Ok(t) => t,
        Err(e) => {
            if created && matches!(e, Error::NotOurs { .. }) {
                // The key was made for a database that turned out not to be ours: leave nothing behind.
                let _ = std::fs::remove_file(&key_file);
            }
            return Err(e.into());
        }
    };
    t.set_kader(cli.kader.clone());
    // Assessments stored by an older build are recomputed with this build's rules (documents untouched).
    // A failure here (a damaged document) leaves the old assessments; `timbang check` reports it.
    let _ = t.recompute_assessments();
    Ok(t)
}

/// Name the database (and its key) in the errors that are about it.
fn about_db(e: CliError, cli: &Cli) -> CliError {
    let Ok(db) = db_path(cli) else {
        return e;
    };
    let db_name = db.display();
    match e {
        CliError::Core(Error::NotInitialized) => CliError::failed(
            format!(
                "Basis data {db_name} belum disiapkan: jalankan `timbang init` atau `timbang team join` dulu."
            ),
            Error::NotInitialized.to_string(),
        ),
        CliError::Core(Error::AlreadyInitialized) => CliError::failed(
            format!("Basis data {db_name} sudah disiapkan."),
            Error::AlreadyInitialized.to_string(),
        ),
        CliError::Core(Error::WrongKey) => CliError::failed(
            format!(
                "Kunci {} tidak cocok dengan basis data {db_name}.",
                key_path(&db, cli.key_file.as_deref()).display()
            ),
            Error::WrongKey.to_string(),
        ),
        CliError::Core(e @ Error::TooNew { found, supported }) => CliError::failed(
            format!(
                "Basis data {db_name} dibuat oleh versi Timbang yang lebih baru (skema {found}, aplikasi ini {supported}), jadi tidak diubah; perbarui aplikasi."
            ),
            e.to_string(),
        ),
        CliError::Core(Error::Storage { message, .. }) => {
            let reason = timbang_core::error::storage_reason_id(&message);
            // Damage has a way forward: `check` names what is damaged, `check --repair` rebuilds
            // the lists from the documents, and another phone of the team or a backup has the rest.
            let forward = if reason == timbang_core::error::STORAGE_DAMAGED {
                format!(
                    "; jalankan `timbang --db {} check` untuk melihat apa yang rusak",
                    db.display()
                )
            } else {
                String::new()
            };
            CliError::failed(
                format!("Basis data {db_name} tidak bisa dibaca atau ditulis: {reason}{forward}."),
                message,
            )
        }
        other => other,
    }
}

/// Run the parsed command.
pub fn run(cli: Cli) -> Result<(), CliError> {
    let uses_db = !matches!(cli.command, Command::Demo(_) | Command::Anthro { .. });
    dispatch(&cli).map_err(|e| if uses_db { about_db(e, &cli) } else { e })
}

fn dispatch(cli: &Cli) -> Result<(), CliError> {
    match &cli.command {
        Command::Demo(args) => crate::demo::run(args),
        Command::Init(args) => init(cli, args),
        Command::Child(ChildCommand::Add(args)) => child_add(cli, args),
        Command::Child(ChildCommand::Show { id, json }) => child_show(cli, id, *json),
        Command::Child(ChildCommand::Merge {
            keep_id,
            duplicate_id,
            json,
        }) => child_merge(cli, keep_id, duplicate_id, *json),
        Command::Visit(VisitCommand::Add(args)) => visit_add(cli, args),
        Command::Visit(VisitCommand::Delete { id, date }) => {
            let id = ChildId::parse(id)?;
            let date = domain::parse_date("date", "Tanggal kunjungan", date)?;
            let t = open(cli, false)?;
            t.delete_visit(&id, date)?;
            line(format!(
                "Kunjungan {date} dihapus (tetap tersimpan di riwayat)."
            ));
            Ok(())
        }
        Command::List(a) => list(cli, a),
        Command::Conflicts(a) => conflicts(cli, a.json),
        Command::Resolve { conflict_id, value } => resolve(cli, conflict_id, value),
        Command::Backup { out, json } => {
            let t = open(cli, false)?;
            t.backup(out)?;
            if *json {
                return output::json(&json!({ "backup": out }));
            }
            line(format!("Cadangan ditulis ke {}.", out.display()));
            Ok(())
        }
        Command::Check { repair, json } => check(cli, *repair, *json),
        Command::Report(r) => crate::reports::report(cli, r),
        Command::Chart { id, out, json } => crate::reports::chart(cli, id, out, *json),
        Command::Export(c) => crate::reports::export(cli, c),
        Command::Warnings { json } => crate::reports::warnings(cli, *json),
        Command::Dashboard(a) => crate::dashboard::run(cli, a),
        Command::Import(c) => crate::import::import(cli, c),
        Command::Child(ChildCommand::Kms { id, value, json }) => {
            crate::reports::child_kms(cli, id, value, *json)
        }
        Command::Asik(cmd) => crate::asik::run(cli, cmd),
        Command::Anthro { input, output } => anthro(input, output),
        Command::Team(TeamCommand::Invite) => {
            let t = open(cli, false)?;
            let code = t.team_invite()?;
            line("Kode pasangan untuk HP lain di posyandu ini (rahasiakan):");
            line(code);
            Ok(())
        }
        Command::Team(TeamCommand::Join { code, device }) => {
            team_join(cli, code, device.as_deref())
        }
        Command::Team(TeamCommand::List { json }) => {
            let t = open(cli, false)?;
            let teams = t.team_list()?;
            if *json {
                return output::json(&teams);
            }
            for x in &teams {
                line(format!(
                    "tim {}  posyandu {}  {} anak",
                    x.team.as_deref().unwrap_or("(belum diundang)"),
                    x.posyandu.as_deref().unwrap_or("(belum diketahui)"),
                    x.children
                ));
            }
            Ok(())
        }
        Command::Peer(PeerCommand::Serve { listen, once, json }) => {
            peer_serve(cli, listen, *once, *json)
        }
        Command::Relay(c) => crate::relay::run(cli, c),
        Command::Peer(PeerCommand::Sync {
            connect,
            posyandu,
            json,
        }) => {
            let t = open(cli, false)?;
            let r = t.peer_sync_tcp_in(connect, posyandu.as_deref())?;
            print_peer(&r, *json)
        }
    }
}

/// `team join`: a fresh database joins as a new phone (`--device` needed); a database set up already
/// adds the team.
fn team_join(cli: &Cli, code: &str, device: Option<&str>) -> Result<(), CliError> {
    let set_up = match device {
        Some(d) => Timbang::validate_join(code, d).map(|_| ()),
        None => Timbang::validate_join(code, "hp").map(|_| ()),
    };
    set_up?;
    let t = open(cli, true)?;
    match t.settings() {
        Err(Error::NotInitialized) => {
            let Some(device) = device else {
                return Err(CliError::Core(Error::invalid(
                    "device",
                    "HP baru perlu nama: tambahkan --device NAMA.",
                    "a fresh database needs --device",
                )));
            };
            let s = t.team_join(code, device)?;
            line(format!("Perangkat {} bergabung dengan tim.", s.device_name));
            line(s.device_id);
            Ok(())
        }
        Err(e) => Err(e.into()),
        Ok(s) => {
            if let Some(d) = device
                && d.trim() != s.device_name
            {
                return Err(CliError::Core(Error::invalid(
                    "device",
                    format!(
                        "HP ini sudah bernama {}; tambah tim tanpa --device.",
                        s.device_name
                    ),
                    "the device has a name already",
                )));
            }
            let info = t.team_add(code)?;
            line(format!(
                "HP {} sekarang juga anggota tim {}.",
                s.device_name,
                info.team.as_deref().unwrap_or("-")
            ));
            Ok(())
        }
    }
}

fn init(cli: &Cli, a: &InitArgs) -> Result<(), CliError> {
    // Bad input is refused before any file is created.
    Timbang::validate_init(&a.posyandu, &a.village, &a.device, a.kbm_table.as_deref())?;
    let t = open(cli, true)?;
    let s = t.init_with(&a.posyandu, &a.village, &a.device, a.kbm_table.as_deref())?;
    if a.json {
        return output::json(&s);
    }
    line(format!(
        "Posyandu {} (desa {}) siap di perangkat {}; tabel KBM {}.",
        s.posyandu, s.village, s.device_name, s.kbm_table
    ));
    line(s.device_id);
    Ok(())
}

/// Parse the registration arguments into a core value (bad input named by field).
pub fn new_child(a: &ChildAddArgs) -> Result<NewChild, Error> {
    Ok(NewChild {
        name: a.name.clone(),
        sex: domain::parse_sex(&a.sex)?,
        birth_date: domain::parse_date("dob", "Tanggal lahir", &a.dob)?,
        nik: a.nik.clone(),
        kk: a.kk.clone(),
        mother_name: a.mother.clone(),
        mother_nik: a.mother_nik.clone(),
        address: a.address.clone(),
    })
}

fn child_add(cli: &Cli, a: &ChildAddArgs) -> Result<(), CliError> {
    let c = new_child(a)?;
    let t = open(cli, false)?;
    let reg = domain::Registration {
        has_kms: !a.no_kms,
        rt: a.rt.clone(),
        rw: a.rw.clone(),
        posyandu: a.posyandu.clone(),
    };
    match t.register_child_with(c.clone(), reg, a.yes) {
        Ok(r) => {
            if a.json {
                return output::json(&json!({"child_id": r.child_id, "confirmed": r.confirmed}));
            }
            for c in &r.confirmed {
                line(format!("Dicatat dengan konfirmasi: {}", c.message_id));
            }
            line(r.child_id);
            Ok(())
        }
        Err(Error::NeedsConfirmation { reasons }) => {
            // Show the possible duplicates so the kader can check them.
            let dups = t.possible_duplicates(&c)?;
            if a.json {
                output::json(&json!({"possible_duplicates": dups, "reasons": reasons}))?;
            } else if !dups.is_empty() {
                line("Kemungkinan anak yang sama sudah terdaftar:");
                for d in dups {
                    line(format!(
                        "  {}  {}  lahir {}  ibu {}  ({})",
                        d.child_id,
                        d.name,
                        d.birth_date.map_or("-".into(), |b| b.to_string()),
                        d.mother_name.as_deref().unwrap_or("-"),
                        if d.reason == "same_nik" {
                            "NIK sama"
                        } else {
                            "nama mirip"
                        }
                    ));
                }
            }
            Err(Error::NeedsConfirmation { reasons }.into())
        }
        Err(e) => Err(e.into()),
    }
}

fn child_show(cli: &Cli, id: &str, as_json: bool) -> Result<(), CliError> {
    let id = ChildId::parse(id)?;
    let t = open(cli, false)?;
    let c = t.child(&id)?;
    if as_json {
        return output::json(&c);
    }
    line(format!("{}  {}", c.child_id, c.name));
    line(format!(
        "  jenis kelamin {}  lahir {}  umur {} bulan",
        c.sex.map_or("-", |s| s.code()),
        c.birth_date.map_or("-".into(), |d| d.to_string()),
        c.age_months.map_or("-".into(), |m| m.to_string())
    ));
    if let Some(m) = &c.mother_name {
        line(format!("  ibu {m}"));
    }
    for v in &c.visits {
        let a = v.assessment.as_ref();
        line(format!(
            "  {}  BB {} kg  PB/TB {} cm  BB/U {}  TB/U {}  BB/TB {}  KMS {}  gizi {}  {}",
            v.date,
            num(v.weight_kg, 2),
            num(v.height_cm, 1),
            num(a.and_then(|a| a.z.waz), 2),
            num(a.and_then(|a| a.z.haz), 2),
            num(a.and_then(|a| a.z.whz), 2),
            a.and_then(|a| a.kms).map_or("-".into(), |k| k.to_string()),
            a.and_then(|a| a.status_gizi).map_or("-", |g| g.code()),
            a.map(|a| a
                .referral
                .iter()
                .map(|r| r.code())
                .collect::<Vec<_>>()
                .join(" "))
                .unwrap_or_default()
        ));
    }
    for k in &c.conflicts {
        line(format!(
            "  konflik {} {}: {:?}",
            k.conflict_id, k.field, k.values
        ));
    }
    Ok(())
}

/// Parse the visit arguments into a core value (bad input named by field).
pub fn visit_entry(a: &VisitAddArgs) -> Result<VisitEntry, Error> {
    let date = domain::parse_date("date", "Tanggal kunjungan", &a.date)?;
    let position = a
        .position
        .as_deref()
        .map(domain::parse_position)
        .transpose()?;
    let mut services = domain::Services::default();
    for s in &a.service {
        services.insert(domain::Service::parse(s)?);
    }
    Ok(VisitEntry {
        services,
        date: Some(date),
        measured: timbang_core::domain::Measurements {
            weight_g: a
                .weight
                .as_deref()
                .map(domain::parse_weight_kg)
                .transpose()?,
            height_mm: a
                .height
                .as_deref()
                .map(domain::parse_height_cm)
                .transpose()?,
            position,
            head_mm: a.head.as_deref().map(domain::parse_head_cm).transpose()?,
            muac_mm: a.muac.as_deref().map(domain::parse_muac_cm).transpose()?,
            oedema: match (a.oedema, a.no_oedema) {
                (true, true) => {
                    return Err(Error::invalid(
                        "oedema",
                        "Pilih salah satu: --oedema atau --no-oedema.",
                        "both --oedema and --no-oedema given",
                    ));
                }
                (true, false) => Some(true),
                (false, true) => Some(false),
                (false, false) => None,
            },
        },
    })
}

/// The JSON shape of an assessment after `visit add`.
pub fn visit_json(r: &VisitResult) -> serde_json::Value {
    let a = &r.assessment;
    json!({
        "child_id": r.child_id,
        "date": r.date,
        "age_days": a.age_days,
        "age_months": a.age_months,
        "waz": a.z.waz, "haz": a.z.haz, "whz": a.z.whz, "baz": a.z.baz, "hcz": a.z.hcz, "acz": a.z.acz,
        "flags": {
            "waz": a.z.flag_waz, "haz": a.z.flag_haz, "whz": a.z.flag_whz,
            "baz": a.z.flag_baz, "hcz": a.z.flag_hcz, "acz": a.z.flag_acz,
        },
        "clenhei": a.z.clenhei,
        "classes": a.classes,
        "kms": a.kms,
        "gain_g": a.gain_g,
        "bgm": a.bgm,
        "two_t": a.two_t,
        "status_gizi": a.status_gizi,
        "status_gizi_signs": a.status_gizi_signs,
        "referral": a.referral.iter().map(|r| r.code()).collect::<Vec<_>>(),
        "referral_text": a.referral_text,
        "notes": a.notes,
        "confirmed": r.confirmed,
        "standard_version": a.standard_version,
        "rules_version": a.rules_version,
    })
}

fn visit_add(cli: &Cli, a: &VisitAddArgs) -> Result<(), CliError> {
    let id = ChildId::parse(&a.id)?;
    let entry = visit_entry(a)?;
    let t = open(cli, false)?;
    let r = t.record_visit(&id, entry, a.yes)?;
    if a.json {
        return output::json(&visit_json(&r));
    }
    let z = &r.assessment.z;
    line(format!(
        "{} umur {} bulan: BB/U {}  TB/U {}  BB/TB {}  IMT/U {}  LK/U {}  LiLA/U {}",
        r.date,
        r.assessment.age_months,
        num(z.waz, 2),
        num(z.haz, 2),
        num(z.whz, 2),
        num(z.baz, 2),
        num(z.hcz, 2),
        num(z.acz, 2)
    ));
    let c = &r.assessment.classes;
    let labels: Vec<&str> = [
        c.wfa.map(|x| x.label_id()),
        c.hfa.map(|x| x.label_id()),
        c.wfh.map(|x| x.label_id()),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !labels.is_empty() {
        line(format!("Klasifikasi: {}", labels.join("; ")));
    }
    if let Some(k) = r.assessment.kms {
        line(format!("KMS: {k}"));
    }
    if let Some(s) = r.assessment.status_gizi {
        line(format!("Status gizi: {}", s.label_id()));
    }
    for text in &r.assessment.referral_text {
        line(format!("Rujuk: {text}"));
    }
    for note in &r.assessment.notes {
        line(note);
    }
    Ok(())
}

fn list(cli: &Cli, a: &crate::reports::ListArgs) -> Result<(), CliError> {
    let as_json = a.json;
    let filter = crate::reports::list_filter(a)?;
    let t = open(cli, false)?;
    let rows = t.village_list_filtered(&filter)?;
    if as_json {
        return output::json(&rows);
    }
    for r in &rows {
        line(format!(
            "{}  {:<24} {} {:>3} bl  terakhir {}  BB {}  TB {}  BB/U {}  TB/U {}  BB/TB {}  KMS {}  gizi {}  {}",
            r.child_id,
            r.name,
            r.sex.map_or("-", |s| s.code()),
            r.age_months.map_or("-".into(), |m| m.to_string()),
            r.last_visit.map_or("-".into(), |d| d.to_string()),
            num(r.weight_kg, 2),
            num(r.height_cm, 1),
            num(r.waz, 2),
            num(r.haz, 2),
            num(r.whz, 2),
            r.kms.as_deref().unwrap_or("-"),
            r.status_gizi.map_or("-", |g| g.code()),
            r.referral.join(" ")
        ));
    }
    Ok(())
}

fn conflicts(cli: &Cli, as_json: bool) -> Result<(), CliError> {
    let t = open(cli, false)?;
    let cs = t.conflicts()?;
    if as_json {
        return output::json(&cs);
    }
    if cs.is_empty() {
        line("Tidak ada konflik.");
    }
    for c in &cs {
        let vals: Vec<String> = c.values.iter().map(|v| v.to_string()).collect();
        line(format!(
            "{}  anak {}  {}{}: {}",
            c.conflict_id,
            c.child_id,
            c.visit_date.map_or(String::new(), |d| format!("{d} ")),
            c.field,
            vals.join(" | ")
        ));
    }
    Ok(())
}

fn resolve(cli: &Cli, conflict_id: &str, value: &str) -> Result<(), CliError> {
    let t = open(cli, false)?;
    t.resolve(conflict_id, value)?;
    line(format!("Konflik {conflict_id} diselesaikan."));
    Ok(())
}

fn check(cli: &Cli, repair: bool, as_json: bool) -> Result<(), CliError> {
    let t = open(cli, false)?;
    let r = t.check(repair)?;
    if as_json {
        output::json(&r)?;
    } else {
        line(if r.integrity.is_empty() {
            "Berkas basis data utuh (integrity_check).".to_owned()
        } else {
            format!("Berkas basis data rusak: {}.", r.integrity.join("; "))
        });
        if r.unreadable_documents.is_empty() {
            line("Semua dokumen anak bisa dibuka.");
        } else {
            line(format!(
                "{} dokumen anak tidak bisa dibuka (sinkron ulang dari HP lain atau pulihkan cadangan): {}.",
                r.unreadable_documents.len(),
                r.unreadable_documents.join(", ")
            ));
        }
        line(match (r.projections_match, r.repaired) {
            (true, _) => "Daftar dan status sama dengan dokumen.",
            (false, true) => {
                "Daftar dan status berbeda dari dokumen; sudah dibangun ulang dari dokumen."
            }
            (false, false) => {
                "Daftar dan status berbeda dari dokumen; jalankan `timbang check --repair`."
            }
        });
        line(match &r.audit.first_bad {
            None => format!(
                "Catatan audit utuh ({} baris, {} dari sebelum rantai).",
                r.audit.rows, r.audit.unchained
            ),
            Some((seq, why)) => format!("Catatan audit diubah mulai baris {seq} ({why})."),
        });
    }
    if r.ok {
        Ok(())
    } else {
        Err(CliError::failed(
            "Pemeriksaan menemukan masalah; lihat di atas.",
            "check found problems",
        ))
    }
}

fn child_merge(cli: &Cli, keep: &str, dup: &str, as_json: bool) -> Result<(), CliError> {
    let keep = ChildId::parse(keep)?;
    let dup = ChildId::parse(dup)?;
    let t = open(cli, false)?;
    let kept = t.merge_children(&keep, &dup)?;
    if as_json {
        return output::json(&json!({"child_id": kept, "merged": dup}));
    }
    line(format!("Data {dup} digabung ke {kept}."));
    line(kept);
    Ok(())
}

fn anthro(input: &Path, output: &Path) -> Result<(), CliError> {
    use timbang_core::growth::anthro_csv::{BatchError, run_batch};
    let bad_input = |message_id: String, message_en: String| {
        CliError::Core(Error::invalid("input", message_id, message_en))
    };
    // A folder opens on some systems and fails only when read: refuse it by name first. Pipes and
    // devices are fine as input (`--input /dev/stdin`).
    if std::fs::metadata(input).is_ok_and(|m| m.is_dir()) {
        return Err(bad_input(
            format!(
                "Berkas masukan {} adalah folder, bukan berkas CSV.",
                input.display()
            ),
            format!("input {} is a directory", input.display()),
        ));
    }
    let file = std::fs::File::open(input).map_err(|e| {
        bad_input(
            format!(
                "Berkas masukan {} {}.",
                input.display(),
                timbang_core::output_file::io_reason_id(&e)
            ),
            format!("cannot open input {}: {e}", input.display()),
        )
    })?;
    // Written beside the target and renamed at the end: a failed run leaves no half-written output, and
    // the output can never replace the input.
    let mut out = OutputFile::create(output, &[input]).map_err(Error::from)?;
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {human_pos} baris {per_sec}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    let result = {
        let writer = std::io::BufWriter::with_capacity(1 << 16, &mut out);
        run_batch(
            std::io::BufReader::with_capacity(1 << 16, file),
            writer,
            &mut |rows| bar.set_position(rows),
        )
    };
    bar.finish_and_clear();
    match result {
        Ok(summary) => {
            out.commit().map_err(Error::from)?;
            eprintln!("{} baris ditulis ke {}.", summary.rows, output.display());
            Ok(())
        }
        Err(BatchError::Io(e)) => Err(CliError::failed(
            format!(
                "Gagal membaca {} atau menulis {}: berkas {}; berkas keluaran tidak diubah.",
                input.display(),
                output.display(),
                timbang_core::output_file::io_reason_id(&e)
            ),
            format!("anthro: {e}"),
        )),
        Err(e) => Err(bad_input(
            format!(
                "Berkas masukan {} salah: {}; tidak ada yang ditulis.",
                input.display(),
                e.message_id()
            ),
            e.to_string(),
        )),
    }
}

fn print_peer(r: &timbang_core::api::PeerReport, as_json: bool) -> Result<(), CliError> {
    if as_json {
        output::json(r)?;
    } else {
        line(format!(
            "Sinkron dengan {}: {} dokumen dikirim, {} diterima ({} B keluar, {} B masuk).",
            r.peer_device, r.docs_sent, r.docs_received, r.sent_bytes, r.received_bytes
        ));
    }
    if r.completed {
        Ok(())
    } else {
        Err(CliError::failed(
            format!(
                "Sinkronisasi dengan {} tidak selesai; coba lagi.",
                r.peer_device
            ),
            "the sync session did not complete",
        ))
    }
}

/// Accept one phone on `listener` and run a session with it.
pub fn serve_one(
    t: &Timbang,
    listener: &std::net::TcpListener,
) -> Result<timbang_core::api::PeerReport, CliError> {
    let (stream, _) = listener
        .accept()
        .map_err(|e| network_error("127.0.0.1", &e))?;
    serve_stream(t, stream).map_err(|(e, _)| e)
}

/// A failure of the network itself (not of a session) on `addr`, in one sentence.
fn network_error(addr: &str, e: &std::io::Error) -> CliError {
    CliError::failed(
        format!(
            "Sambungan jaringan di {addr} gagal: {}.",
            timbang_core::output_file::io_reason_id(e)
        ),
        format!("network on {addr}: {e}"),
    )
}

/// Run a session as the accepting phone on an accepted connection. On failure, also says whether the
/// other side never sent a byte (a silent connection, dropped at the handshake deadline).
fn serve_stream(
    t: &Timbang,
    stream: std::net::TcpStream,
) -> Result<timbang_core::api::PeerReport, (CliError, bool)> {
    let stream = timbang_core::host::TcpStream::from_std(stream)
        .map_err(|e| (network_error("127.0.0.1", &e), false))?;
    t.peer_session(&stream, timbang_core::api::PeerRole::Accept)
        .map_err(|e| (e.into(), stream.bytes_received() == 0))
}

/// Sessions served at once; a connection beyond them is closed at once (the phone tries again).
const MAX_SESSIONS: usize = 8;

/// Serve phones on `listen`, each connection in its own thread, so a silent or slow client never holds
/// a real phone off: it is dropped at the handshake deadline. With `once`, the first connection that
/// said anything decides: exit 0 when its session completed, 1 when it failed; a connection that never
/// sent a byte does not count.
fn peer_serve(cli: &Cli, listen: &str, once: bool, as_json: bool) -> Result<(), CliError> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let t = open(cli, false)?;
    // Check the team before listening, so a phone without a team fails at once.
    t.check_team()?;
    let listener = std::net::TcpListener::bind(listen).map_err(|e| {
        CliError::Core(Error::invalid(
            "listen",
            format!(
                "Tidak bisa mendengarkan di {listen}: {}.",
                listen_reason_id(&e)
            ),
            format!("cannot listen on {listen}: {e}"),
        ))
    })?;
    let addr = listener
        .local_addr()
        .map_or_else(|_| listen.to_owned(), |a| a.to_string());
    eprintln!("Menunggu HP lain di {addr}");
    listener
        .set_nonblocking(true)
        .map_err(|e| network_error(&addr, &e))?;
    let decided: Mutex<Option<Result<(), CliError>>> = Mutex::new(None);
    let active = AtomicUsize::new(0);
    // Connections still open when `--once` has its answer are closed, so exit is not held up.
    let open_streams: Mutex<Vec<std::net::TcpStream>> = Mutex::new(Vec::new());
    let decide = |r: Result<(), CliError>| {
        if let Ok(mut d) = decided.lock()
            && d.is_none()
        {
            *d = Some(r);
        }
    };
    std::thread::scope(|s| {
        loop {
            if once && let Some(r) = decided.lock().ok().and_then(|mut d| d.take()) {
                for st in open_streams
                    .lock()
                    .map(|mut v| std::mem::take(&mut *v))
                    .unwrap_or_default()
                {
                    let _ = st.shutdown(std::net::Shutdown::Both);
                }
                return r;
            }
            match listener.accept() {
                Ok((stream, _)) => {
                    if active.load(Ordering::SeqCst) >= MAX_SESSIONS {
                        continue; // dropped: closed at once
                    }
                    stream
                        .set_nonblocking(false)
                        .map_err(|e| network_error(&addr, &e))?;
                    if once
                        && let (Ok(clone), Ok(mut v)) = (stream.try_clone(), open_streams.lock())
                    {
                        v.push(clone);
                    }
                    active.fetch_add(1, Ordering::SeqCst);
                    let (t, active, decide) = (&t, &active, &decide);
                    s.spawn(move || {
                        match serve_stream(t, stream) {
                            Ok(r) => decide(print_peer(&r, as_json)),
                            Err((_, true)) => {
                                eprintln!("Koneksi yang diam diputus.");
                            }
                            Err((e, false)) => {
                                eprintln!("{}", output::message(&e));
                                decide(Err(e));
                            }
                        }
                        active.fetch_sub(1, Ordering::SeqCst);
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if !once && let Ok(mut d) = decided.lock() {
                        d.take(); // without --once, keep serving whatever happened
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) => return Err(network_error(&addr, &e)),
            }
        }
    })
}

fn listen_reason_id(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => "alamat itu sudah dipakai program lain",
        std::io::ErrorKind::AddrNotAvailable => "alamat itu bukan milik perangkat ini",
        std::io::ErrorKind::PermissionDenied => "izin ditolak (pakai port di atas 1024)",
        std::io::ErrorKind::InvalidInput => "alamatnya tidak sah (contoh: 0.0.0.0:7070)",
        _ => "jaringan tidak siap",
    }
}
