//! `import register FILE.csv`: parsing the arguments, the progress bar (on a terminal only), printing.

use std::io::IsTerminal;
use std::path::Path;

use clap::Subcommand;
use serde_json::json;

use crate::Cli;
use crate::commands::open;
use crate::output::{self, CliError, line};

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import an existing register: one row per child and visit (columns: name, sex, birth_date, nik,
    /// kk, mother_name, mother_nik, address, visit_date, weight_kg, height_cm, measured, head_circ_cm,
    /// muac_cm). Bad rows are reported by line and skipped; running it twice adds nothing.
    Register {
        file: std::path::PathBuf,
        #[arg(long)]
        json: bool,
    },
}

/// Run an `import` command.
pub fn import(cli: &Cli, c: &ImportCommand) -> Result<(), CliError> {
    let ImportCommand::Register { file, json } = c;
    let input = open_input(file)?;
    let t = open(cli, false)?;
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} anak {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let mut progress = |done: usize, total: usize| {
        if let Some(b) = &bar {
            b.set_length(total as u64);
            b.set_position(done as u64);
        }
    };
    // Ctrl-C is not caught here: the process ends and SQLite rolls the open batch back; the batches
    // already written stay whole, and importing again adds only the rest.
    let name = file.display().to_string();
    let report = t.import_register(&name, input, &mut progress);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let report = report?;
    // The bad rows always go to stderr, one line each, so a person sees them with --json too.
    for b in &report.bad_rows {
        eprintln_line(&format!("Baris {} dilewati: {}", b.line, b.reason));
    }
    if *json {
        return output::json(&json!({
            "children": report.children,
            "existing_children": report.existing_children,
            "visits": report.visits,
            "skipped": report.skipped,
            "rows": report.rows,
            "bad_rows": report.bad_rows,
        }));
    }
    line(format!(
        "{} anak baru, {} anak sudah ada, {} kunjungan ditulis, {} baris dilewati (dari {} baris).",
        report.children, report.existing_children, report.visits, report.skipped, report.rows
    ));
    Ok(())
}

#[allow(clippy::print_stderr)]
fn eprintln_line(text: &str) {
    eprintln!("{text}");
}

/// Open the register file: a regular file (a FIFO or folder is refused before opening).
fn open_input(path: &Path) -> Result<std::fs::File, CliError> {
    let meta = std::fs::metadata(path).map_err(|e| bad_file(path, &e))?;
    if !meta.is_file() {
        return Err(timbang_core::Error::invalid(
            "file",
            format!("Berkas register {} bukan berkas biasa.", path.display()),
            format!("register {} is not a regular file", path.display()),
        )
        .into());
    }
    std::fs::File::open(path).map_err(|e| bad_file(path, &e))
}

fn bad_file(path: &Path, e: &std::io::Error) -> CliError {
    timbang_core::Error::invalid(
        "file",
        format!(
            "Berkas register {} {}.",
            path.display(),
            timbang_core::output_file::io_reason_id(e)
        ),
        format!("register {}: {e}", path.display()),
    )
    .into()
}
