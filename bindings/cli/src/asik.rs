//! `timbang asik sync|status|bundle`: upload to ASIK/SATUSEHAT (DESIGN 6.2, 6.3). Parsing and printing
//! only; the engine is `timbang_core::Timbang::asik_sync`. The client secret is read from a file and
//! never printed or logged.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::json;
use timbang_core::Error;
use timbang_core::asik::{AsikConfig, HeadCode, MapConfig, SyncReason};
use timbang_core::host::UreqHttp;
use timbang_core::output_file::OutputFile;

use crate::Cli;
use crate::commands::open;
use crate::output::{self, CliError, line};

/// The organization of SATUSEHAT's documentation examples, which the local test server binds its
/// default client to; used only when the URLs point at this machine and no `--org-id` is given.
const LOCAL_TEST_ORG: &str = "10000004";

#[derive(Debug, Subcommand)]
pub enum AsikCommand {
    /// Upload what is pending within one run; print counts.
    Sync(AsikSyncArgs),
    /// Visits pending, sent, rejected (waiting for the bidan) and held (waiting for a conflict).
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Write the transaction Bundle that would be sent next.
    Bundle {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// The SATUSEHAT organization id (default: that of the last sync).
        #[arg(long, value_name = "ID", env = "TIMBANG_ASIK_ORG")]
        org_id: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct AsikSyncArgs {
    /// FHIR base URL, e.g. https://api-satusehat-stg.dto.kemkes.go.id/fhir-r4/v1
    #[arg(long, value_name = "URL")]
    pub base_url: String,
    /// OAuth2 base URL, e.g. https://api-satusehat-stg.dto.kemkes.go.id/oauth2/v1
    #[arg(long, value_name = "URL")]
    pub auth_url: String,
    #[arg(long, value_name = "ID")]
    pub client_id: String,
    /// A file holding the client secret (only its first line is read).
    #[arg(long, value_name = "FILE")]
    pub client_secret_file: PathBuf,
    /// The SATUSEHAT organization id the client belongs to (remembered after the first sync).
    #[arg(long, value_name = "ID", env = "TIMBANG_ASIK_ORG")]
    pub org_id: Option<String>,
    /// The posyandu's Location id on SATUSEHAT.
    #[arg(long, value_name = "UUID")]
    pub location_id: Option<String>,
    /// The IHS number of the supervising bidan (the performer; default: the organization).
    #[arg(long, value_name = "IHS")]
    pub practitioner_id: Option<String>,
    /// LOINC code for head circumference: 9843-4 (default) or 8287-5.
    #[arg(long, value_name = "CODE")]
    pub head_code: Option<String>,
    /// Stop after this many seconds (what is left stays pending).
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub budget: u64,
    #[arg(long)]
    pub json: bool,
}

fn bad(field: &str, id: String, en: String) -> CliError {
    CliError::Core(Error::invalid(field, id, en))
}

/// An `http` or `https` URL with a host: otherwise bad input.
fn check_url(field: &str, flag: &str, url: &str) -> Result<String, CliError> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
    let ok = host.is_some_and(|h| {
        !h.is_empty() && !h.starts_with(':') && !h.contains(char::is_whitespace) && !h.contains('@')
    });
    if !ok {
        return Err(bad(
            field,
            format!("{flag} bukan alamat web yang sah (harus diawali http:// atau https://)."),
            format!("{flag} is not an http(s) URL"),
        ));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

fn is_local(url: &str) -> bool {
    let host = url
        .split("://")
        .nth(1)
        .and_then(|r| r.split(['/', ':']).next())
        .unwrap_or("");
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

/// The client secret: the first line of the file, which must exist and not be empty.
fn read_secret(path: &Path) -> Result<zeroize::Zeroizing<String>, CliError> {
    let missing = || {
        bad(
            "client_secret_file",
            format!(
                "Berkas rahasia klien {} tidak ada atau tidak bisa dibaca.",
                path.display()
            ),
            format!(
                "client secret file {} does not exist or cannot be read",
                path.display()
            ),
        )
    };
    let meta = std::fs::metadata(path).map_err(|_| missing())?;
    if !meta.is_file() || meta.len() > 4096 {
        return Err(bad(
            "client_secret_file",
            format!(
                "Berkas rahasia klien {} bukan berkas teks kecil.",
                path.display()
            ),
            format!(
                "client secret file {} is not a small regular file",
                path.display()
            ),
        ));
    }
    let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|_| missing())?);
    let first = text.lines().next().unwrap_or("").trim().to_owned();
    if first.is_empty() {
        return Err(bad(
            "client_secret_file",
            format!("Berkas rahasia klien {} kosong.", path.display()),
            format!("client secret file {} is empty", path.display()),
        ));
    }
    Ok(zeroize::Zeroizing::new(first))
}

fn head_code(code: Option<&str>) -> Result<Option<HeadCode>, CliError> {
    match code {
        None => Ok(None),
        Some("9843-4") => Ok(Some(HeadCode::Loinc9843)),
        Some("8287-5") => Ok(Some(HeadCode::Loinc8287)),
        Some(_) => Err(bad(
            "head_code",
            "--head-code harus 9843-4 atau 8287-5.".into(),
            "--head-code must be 9843-4 or 8287-5".into(),
        )),
    }
}

/// Run an `asik` command.
pub fn run(cli: &Cli, cmd: &AsikCommand) -> Result<(), CliError> {
    match cmd {
        AsikCommand::Sync(a) => sync(cli, a),
        AsikCommand::Status { json } => status(cli, *json),
        AsikCommand::Bundle { out, org_id } => bundle(cli, out, org_id.as_deref()),
    }
}

fn sync(cli: &Cli, a: &AsikSyncArgs) -> Result<(), CliError> {
    // Everything about the configuration is checked before the database is touched.
    let base = check_url("base_url", "--base-url", &a.base_url)?;
    let auth = check_url("auth_url", "--auth-url", &a.auth_url)?;
    let secret = read_secret(&a.client_secret_file)?;
    let head = head_code(a.head_code.as_deref())?;
    if a.client_id.trim().is_empty() {
        return Err(bad(
            "client_id",
            "--client-id kosong.".into(),
            "--client-id is empty".into(),
        ));
    }
    let t = open(cli, false)?;
    let saved = t.asik_saved_config()?;
    let org = a
        .org_id
        .clone()
        .or_else(|| saved.as_ref().map(|c| c.map.org_id.clone()))
        .or_else(|| (is_local(&base) && is_local(&auth)).then(|| LOCAL_TEST_ORG.to_owned()));
    let Some(org) = org.filter(|o| !o.trim().is_empty()) else {
        return Err(bad(
            "org_id",
            "ID organisasi SATUSEHAT belum diatur; berikan --org-id sekali (akan diingat).".into(),
            "no SATUSEHAT organization id: give --org-id once".into(),
        ));
    };
    let mut map = saved
        .map(|c| c.map.clone())
        .filter(|m| m.org_id == org)
        .unwrap_or_else(|| MapConfig::for_org(&org));
    if a.location_id.is_some() {
        map.location_id.clone_from(&a.location_id);
    }
    if a.practitioner_id.is_some() {
        map.practitioner_id.clone_from(&a.practitioner_id);
    }
    if let Some(h) = head {
        map.head_code = h;
    }
    let cfg = AsikConfig::new(&base, &auth, a.client_id.trim(), &secret, map);
    let report = match t.asik_sync(
        &UreqHttp::new(),
        &cfg,
        SyncReason::Manual,
        Duration::from_secs(a.budget.max(1)),
    ) {
        Ok(r) => r,
        Err(Error::Sync {
            retryable: true, ..
        }) => {
            return Err(CliError::failed(
                "Server ASIK tidak dapat dihubungi; tidak ada data yang hilang, coba lagi saat ada sinyal.",
                "the ASIK server could not be reached; nothing was lost",
            ));
        }
        Err(Error::Sync {
            retryable: false, ..
        }) => {
            return Err(CliError::failed(
                "Server ASIK menolak client ID atau secret; periksa kredensial puskesmas.",
                "the ASIK server refused the client id and secret",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    if a.json {
        output::json(&report)?;
    } else {
        line(format!(
            "Terkirim {} kunjungan ({} dibuat, {} diperbarui, {} dibatalkan); tersisa {}, ditahan {}, ditolak {}; {} permintaan.",
            report.sent,
            report.created,
            report.updated,
            report.retracted,
            report.pending,
            report.held,
            report.rejected_total,
            report.requests
        ));
    }
    let progressed = report.sent > 0 || report.patients_created > 0 || report.rejected > 0;
    if report.stopped.is_some() && !progressed && report.pending > 0 {
        return Err(CliError::failed(
            format!(
                "Pengiriman ke ASIK berhenti tanpa kemajuan; tidak ada data yang hilang, coba lagi dalam {} detik.",
                report.retry_after_s.unwrap_or(60)
            ),
            format!("the upload stopped ({:?}) without progress", report.stopped),
        ));
    }
    Ok(())
}

fn status(cli: &Cli, json_out: bool) -> Result<(), CliError> {
    let t = open(cli, false)?;
    let s = t.asik_status()?;
    if json_out {
        return output::json(&s);
    }
    line(format!(
        "Menunggu {}, terkirim {}, ditolak {}, ditahan {}.",
        s.pending, s.sent, s.rejected, s.held
    ));
    for w in s.waiting.iter().filter(|w| w.state != "pending") {
        line(format!(
            "{} {} {}: {}",
            w.child_id,
            w.date,
            w.state,
            w.reason.as_deref().unwrap_or("-")
        ));
    }
    Ok(())
}

fn bundle(cli: &Cli, out: &Path, org: Option<&str>) -> Result<(), CliError> {
    let t = open(cli, false)?;
    let saved = t.asik_saved_config()?;
    let map = match (org, &saved) {
        (Some(o), Some(c)) if c.map.org_id == o => c.map.clone(),
        (Some(o), _) => MapConfig::for_org(o),
        (None, Some(c)) => c.map.clone(),
        (None, None) => MapConfig::for_org(LOCAL_TEST_ORG),
    };
    let cfg = AsikConfig::new("", "", "", "", map);
    let b = t
        .asik_next_bundle(&cfg)?
        .unwrap_or_else(|| json!({"resourceType": "Bundle", "type": "transaction", "entry": []}));
    let text = serde_json::to_string_pretty(&b)
        .map_err(|e| CliError::failed("Bundle tidak bisa ditulis.", e.to_string()))?;
    let mut f = OutputFile::create(out, &[]).map_err(Error::from)?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.write_all(b"\n"))
        .map_err(|e| CliError::io("Berkas", out, &e))?;
    f.commit().map_err(Error::from)?;
    let n = b["entry"].as_array().map_or(0, Vec::len);
    line(format!("{n} entri ditulis ke {}.", out.display()));
    Ok(())
}
