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

/// The one sentence a kader or admin sees for `e`.
pub fn message(e: &CliError) -> String {
    match e {
        CliError::Core(Error::InvalidInput { message_id, .. }) => message_id.clone(),
        CliError::Core(Error::NeedsConfirmation { reasons }) => {
            let text: Vec<&str> = reasons.iter().map(|r| r.message_id.as_str()).collect();
            format!(
                "Perlu konfirmasi: {} Ulangi dengan --yes bila nilainya memang benar.",
                text.join(" ")
            )
        }
        CliError::Core(e) => one_line(&e.message_id()),
        CliError::Other(m) => one_line(m),
    }
}

/// The exit code for `e`: 2 bad input, 3 needs confirmation, 1 anything else.
pub fn exit_code(e: &CliError) -> u8 {
    match e {
        CliError::Core(Error::InvalidInput { .. }) => 2,
        CliError::Core(Error::NeedsConfirmation { .. }) => 3,
        _ => 1,
    }
}

/// Print the error on stderr and return the exit code.
pub fn report_error(e: &CliError) -> u8 {
    let _ = writeln!(std::io::stderr().lock(), "{}", message(e));
    exit_code(e)
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
