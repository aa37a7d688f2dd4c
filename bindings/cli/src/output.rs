//! Printing: human text or JSON on stdout, one clear sentence on stderr for errors.

#![allow(clippy::print_stdout)]

use std::io::Write;

use timbang_core::Error;

/// A CLI failure.
#[derive(Debug)]
pub enum CliError {
    /// An error from the core.
    Core(Error),
    /// A failure of the CLI itself (files, network) with exit code 1: one sentence in Bahasa Indonesia
    /// naming the file, and the English for logs (`TIMBANG_DEBUG=1` prints it on a second line).
    Failed {
        message_id: String,
        message_en: String,
    },
}

impl CliError {
    /// A failure (exit 1) with a sentence for the person and one for the log.
    pub fn failed(message_id: impl Into<String>, message_en: impl Into<String>) -> Self {
        Self::Failed {
            message_id: message_id.into(),
            message_en: message_en.into(),
        }
    }

    /// An I/O failure on a file: `what` names it in Bahasa Indonesia ("Berkas kunci", "Folder").
    pub fn io(what: &str, path: &std::path::Path, e: &std::io::Error) -> Self {
        Self::failed(
            format!(
                "{what} {} {}.",
                path.display(),
                timbang_core::output_file::io_reason_id(e)
            ),
            format!("{}: {e}", path.display()),
        )
    }
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        Self::Core(e)
    }
}

/// The sentence a person sees for `e`, the English for logs, and the exit code.
fn parts(e: &CliError) -> (String, String, u8) {
    match e {
        CliError::Core(Error::InvalidInput {
            message_id,
            message_en,
            ..
        }) => (message_id.clone(), message_en.clone(), 2),
        CliError::Core(Error::NeedsConfirmation { reasons }) => {
            let text: Vec<&str> = reasons.iter().map(|r| r.message_id.as_str()).collect();
            (
                format!(
                    "Perlu konfirmasi: {} Ulangi dengan --yes bila nilainya memang benar.",
                    text.join(" ")
                ),
                e_to_string(e),
                3,
            )
        }
        // `--db` named another program's SQLite file: bad input (the person chose the wrong file),
        // nothing was written, so exit 2 like any other bad argument.
        CliError::Core(core @ Error::NotOurs { .. }) => (core.message_id(), core.to_string(), 2),
        // An id that names nothing here is bad input like an id that is not an id at all: the same
        // exit code for both (DESIGN 6.2), nothing written.
        CliError::Core(core @ Error::NotFound { .. }) => (core.message_id(), core.to_string(), 2),
        CliError::Core(core) => (core.message_id(), core.to_string(), 1),
        CliError::Failed {
            message_id,
            message_en,
        } => (message_id.clone(), message_en.clone(), 1),
    }
}

/// The one sentence a kader or admin sees for `e`. The sentence is ours (never a quoted statement), so
/// only its first line is kept, uncut.
pub fn message(e: &CliError) -> String {
    parts(e).0.lines().next().unwrap_or("").trim().to_owned()
}

/// Print the error on stderr and return the exit code.
pub fn report_error(e: &CliError) -> u8 {
    let mut err = std::io::stderr().lock();
    let (_, en, code) = parts(e);
    let _ = writeln!(err, "{}", message(e));
    if std::env::var_os("TIMBANG_DEBUG").is_some_and(|v| !v.is_empty()) {
        let _ = writeln!(err, "{}", one_line(&en));
    }
    code
}

fn e_to_string(e: &CliError) -> String {
    match e {
        CliError::Core(c) => c.to_string(),
        CliError::Failed { message_en, .. } => message_en.clone(),
    }
}

/// The first line of a message, at most 300 characters: an error is one sentence on stderr even when a
/// lower layer (SQLite) quotes a statement in it.
fn one_line(m: &str) -> String {
    let first = m.lines().next().unwrap_or("").trim();
    match first.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &first[..i]),
        None => first.to_owned(),
    }
}

/// Print a value as pretty JSON on stdout.
pub fn json<T: serde::Serialize>(v: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(v)
        .map_err(|e| CliError::failed("Hasil tidak bisa ditulis sebagai JSON.", e.to_string()))?;
    println!("{text}");
    Ok(())
}

/// Print one line on stdout.
pub fn line(text: impl std::fmt::Display) {
    println!("{text}");
}

/// Format an optional number with `digits` decimals, or "-".
pub fn num(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".to_owned(), |x| format!("{x:.digits$}"))
}
