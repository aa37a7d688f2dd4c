//! The one error the apps see, [`TimbangError`], from the core's [`Error`] in one exhaustive match (a
//! new core variant does not compile until it is mapped here). Every variant carries `message_id`,
//! the sentence for the kader in Bahasa Indonesia (the core's `message_id()`), and the fields an app
//! acts on; none carries personal data.

use timbang_core::Error;

use crate::records::Confirmation;

/// What went wrong, with what the app needs to act on it.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum TimbangError {
    /// Bad input, refused, nothing written: show `message_id` beside `field` (`weight_kg`, `date`,
    /// `nik`, `key`, ...).
    #[error("invalid input for {field}: {message_en}")]
    InvalidInput {
        field: String,
        message_id: String,
        message_en: String,
    },
    /// Plausible only if the kader confirms; nothing written. Ask, then repeat with `confirm = true`.
    #[error("needs confirmation: {message_id}")]
    NeedsConfirmation {
        reasons: Vec<Confirmation>,
        message_id: String,
    },
    /// No such `what` (`child`, `visit`, `conflict`) with that id.
    #[error("{what} {id} not found")]
    NotFound {
        what: String,
        id: String,
        message_id: String,
    },
    /// The key does not open this database.
    #[error("wrong key")]
    WrongKey { message_id: String },
    /// The database is not set up yet (`init` or `team_join`).
    #[error("not initialised")]
    NotInitialized { message_id: String },
    /// `init` on a database that is already set up.
    #[error("already initialised")]
    AlreadyInitialized { message_id: String },
    /// Written by a newer app; left untouched. Update the app.
    #[error("schema {found} is newer than {supported}")]
    TooNew {
        found: u32,
        supported: u32,
        message_id: String,
    },
    /// The file was damaged and moved aside to `moved_to` (not deleted).
    #[error("database damaged, moved to {moved_to}")]
    Corrupt {
        moved_to: String,
        message_id: String,
    },
    /// Another program's SQLite file; left untouched.
    #[error("{path} is not a Timbang database")]
    NotOurs { path: String, message_id: String },
    /// A file the app named (a backup, a report) could not be written.
    #[error("file {path}: {detail}")]
    File {
        path: String,
        message_id: String,
        detail: String,
    },
    /// Another phone or a server failed or refused. `retryable`: the same call later (another session,
    /// when the signal is back) can succeed; false: someone must change something (pairing, data).
    #[error("network: {detail}")]
    Network {
        retryable: bool,
        message_id: String,
        detail: String,
    },
    /// Stopped through the interrupt handle; what was committed stays, calling again continues.
    #[error("interrupted")]
    Interrupted { message_id: String },
    /// Any other storage failure (disk full, read-only, I/O).
    #[error("storage: {detail}")]
    Storage { message_id: String, detail: String },
}

impl From<Error> for TimbangError {
    fn from(e: Error) -> Self {
        let message_id = e.message_id();
        match e {
            Error::InvalidInput {
                field, message_en, ..
            } => Self::InvalidInput {
                field,
                message_id,
                message_en,
            },
            Error::NeedsConfirmation { reasons } => Self::NeedsConfirmation {
                reasons: reasons.into_iter().map(Into::into).collect(),
                message_id,
            },
            Error::NotFound { what, id } => Self::NotFound {
                what,
                id,
                message_id,
            },
            Error::WrongKey => Self::WrongKey { message_id },
            Error::NotInitialized => Self::NotInitialized { message_id },
            Error::AlreadyInitialized => Self::AlreadyInitialized { message_id },
            Error::TooNew { found, supported } => Self::TooNew {
                found,
                supported,
                message_id,
            },
            Error::Corrupt { moved_to } => Self::Corrupt {
                moved_to,
                message_id,
            },
            Error::NotOurs { path } => Self::NotOurs { path, message_id },
            Error::File {
                path, message_en, ..
            } => Self::File {
                path,
                message_id,
                detail: message_en,
            },
            Error::Sync { message, retryable } => Self::Network {
                retryable,
                message_id,
                detail: message,
            },
            Error::Interrupted => Self::Interrupted { message_id },
            Error::Storage { message, .. } => Self::Storage {
                message_id,
                detail: message,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn fields_cross_and_every_variant_has_the_kader_sentence() {
        let e: TimbangError =
            Error::invalid("weight_kg", "Berat badan salah.", "bad weight").into();
        assert!(matches!(
            &e,
            TimbangError::InvalidInput { field, message_id, .. }
                if field == "weight_kg" && message_id == "Berat badan salah."
        ));
        let e: TimbangError = Error::Sync {
            message: "connection closed".into(),
            retryable: true,
        }
        .into();
        assert!(matches!(
            &e,
            TimbangError::Network { retryable: true, message_id, .. } if message_id.contains("coba lagi")
        ));
        let e: TimbangError = Error::NotFound {
            what: "child".into(),
            id: "x".into(),
        }
        .into();
        assert!(
            matches!(&e, TimbangError::NotFound { message_id, .. } if message_id.contains("x"))
        );
    }
}
