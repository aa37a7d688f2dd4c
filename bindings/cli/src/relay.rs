//! `timbang relay sync`: push then pull through an S3-compatible object store (DESIGN 6.3). The secret
//! key is read from a file and never printed or logged.

#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use timbang_core::Error;
use timbang_core::host::UreqHttp;
use timbang_core::relay::S3Config;

use crate::Cli;
use crate::commands::open;
use crate::output::{self, CliError, line};

#[derive(Debug, Subcommand)]
pub enum RelayCommand {
    /// Push this phone's changes to the bucket, then pull the team's (sealed; the store reads nothing).
    Sync(RelaySyncArgs),
}

#[derive(Debug, Args)]
pub struct RelaySyncArgs {
    /// The store's endpoint, http:// or https:// (path-style buckets).
    #[arg(long, value_name = "URL")]
    pub url: String,
    #[arg(long, value_name = "NAME")]
    pub bucket: String,
    #[arg(long, value_name = "ID")]
    pub access_key: String,
    /// A file holding the secret access key (never given on the command line).
    #[arg(long, value_name = "FILE")]
    pub secret_key_file: PathBuf,
    /// The signing region.
    #[arg(long, value_name = "R", default_value = "us-east-1")]
    pub region: String,
    /// Also write a snapshot and delete what it supersedes, whatever the object count.
    #[arg(long)]
    pub compact: bool,
    #[arg(long)]
    pub json: bool,
}

fn invalid(field: &str, id: String, en: String) -> CliError {
    CliError::Core(Error::invalid(field, id, en))
}

/// The secret key from `path`: one line, surrounding white space ignored.
fn read_secret(path: &Path) -> Result<String, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        invalid(
            "secret_key_file",
            format!(
                "Berkas kunci rahasia {} {}.",
                path.display(),
                timbang_core::output_file::io_reason_id(&e)
            ),
            format!("secret key file {}: {e}", path.display()),
        )
    })?;
    let secret = text.trim();
    if secret.is_empty() || secret.contains('\n') {
        return Err(invalid(
            "secret_key_file",
            format!(
                "Berkas kunci rahasia {} harus berisi satu baris: kunci rahasianya saja.",
                path.display()
            ),
            format!(
                "secret key file {} must hold one line, the secret",
                path.display()
            ),
        ));
    }
    Ok(secret.to_owned())
}

fn config(a: &RelaySyncArgs) -> Result<S3Config, CliError> {
    for (field, flag, value) in [
        ("url", "--url", &a.url),
        ("bucket", "--bucket", &a.bucket),
        ("access_key", "--access-key", &a.access_key),
        ("region", "--region", &a.region),
    ] {
        if value.trim().is_empty() {
            return Err(invalid(
                field,
                format!("{flag} tidak boleh kosong."),
                format!("{flag} must not be empty"),
            ));
        }
    }
    if !(a.url.starts_with("http://") || a.url.starts_with("https://")) {
        return Err(invalid(
            "url",
            format!(
                "--url harus diawali http:// atau https:// (diberikan: {}).",
                a.url
            ),
            format!("--url must start with http:// or https:// (got {})", a.url),
        ));
    }
    Ok(S3Config {
        url: a.url.trim().to_owned(),
        bucket: a.bucket.trim().to_owned(),
        access_key: a.access_key.trim().to_owned(),
        secret_key: read_secret(&a.secret_key_file)?,
        region: a.region.trim().to_owned(),
    })
}

pub fn run(cli: &Cli, c: &RelayCommand) -> Result<(), CliError> {
    match c {
        RelayCommand::Sync(a) => {
            // Bad arguments are refused before the database is opened.
            let config = config(a)?;
            let t = open(cli, false)?;
            t.check_team()?;
            let http = UreqHttp::new();
            let r = if a.compact {
                t.relay_sync_compact(&config, &http)?
            } else {
                t.relay_sync(&config, &http)?
            };
            for key in &r.refused {
                eprintln!(
                    "Objek {key} ditolak: tidak bisa dibuka dengan kunci tim atau rusak; sisanya diterapkan."
                );
            }
            if a.json {
                return output::json(&r);
            }
            line(format!(
                "Relay: {} dokumen dikirim, {} diterima ({} objek, {} B, {} permintaan{}).",
                r.pushed,
                r.pulled,
                r.objects,
                r.bytes,
                r.requests,
                if r.compacted {
                    format!("; dipadatkan, {} objek lama dihapus", r.deleted)
                } else {
                    String::new()
                }
            ));
            Ok(())
        }
    }
}
