//! Printing: human text or JSON on stdout, one clear sentence on stderr for errors.

#![allow(clippy::print_stdout)]

use std::io::Write;

use timbang_core::Error;

/// A CLI failure.
#[derive(Debug)]
pub enum CliError {
    /// An error from the core.
    Core(Error),
    /// A failure of the CLI itself (files, network) with exit code 1.
    Other(String),
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        Self::Core(e)
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        Self::Other(e.to_string())
    }
}

/// Print the error on stderr and return the exit code.
pub fn report_error(e: &CliError) -> u8 {
    let mut err = std::io::stderr().lock();
    match e {
        CliError::Core(Error::InvalidInput { message_id, .. }) => {
            let _ = writeln!(err, "{message_id}");
            2
        }
        CliError::Core(Error::NeedsConfirmation { reasons }) => {
            let text: Vec<&str> = reasons.iter().map(|r| r.message_id.as_str()).collect();
            let _ = writeln!(
                err,
                "Perlu konfirmasi: {} Ulangi dengan --yes bila nilainya memang benar.",
                text.join(" ")
            );
            3
        }
        CliError::Core(e) => {
            let _ = writeln!(err, "{}", one_line(&e.message_id()));
            1
        }
        CliError::Other(m) => {
            let _ = writeln!(err, "{}", one_line(m));
            1
        }
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
    let text = serde_json::to_string_pretty(v).map_err(|e| CliError::Other(e.to_string()))?;
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
