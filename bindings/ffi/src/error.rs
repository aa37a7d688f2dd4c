//! The one error the apps see, [`TimbangError`], from the core's [`Error`] in one exhaustive match (a
//! new core variant does not compile until it is mapped here). Every variant carries `message_id`,
//! the sentence for the kader in Bahasa Indonesia (the core's `message_id()`), and the fields an app
//! acts on; none carries personal data.
//!
//! The core's `Sync` error is one variant for three services: a phone of the team, the ASIK server and
//! the relay's object store. The call that failed knows which, so [`TimbangError::asik`] and
//! [`TimbangError::relay`] name the service and give the sentence for it: the core's own sentences
//! (written for the CLI: `--access-key`, `--bucket`) and the peer-sync one ("HP lain") would point the
//! kader at the wrong thing on a phone.

use timbang_core::Error;
use timbang_core::relay::RelayError;

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
    /// Another phone or a server failed or refused. `service`: which one. `retryable`: the same call
    /// later (another session, when the signal is back) can succeed, and nothing was lost; false:
    /// someone must change something (pairing, the ASIK credentials, the relay's key or bucket).
    #[error("network ({service:?}): {detail}")]
    Network {
        service: NetworkService,
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

/// Who a [`TimbangError::Network`] failed to reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum NetworkService {
    /// Another phone of the team (a peer session).
    Peer,
    /// The ASIK/SATUSEHAT server (`asik_sync`).
    Asik,
    /// The relay's S3-compatible object store (`relay_sync`).
    Relay,
}

impl TimbangError {
    /// An error of `asik_sync`: its network failures named as ASIK's, with the sentences the CLI shows
    /// (the core's `Sync` of `asik_sync` is retryable when the server could not be reached and nothing
    /// was sent, and not when it refused the client id and secret).
    pub(crate) fn asik(e: Error) -> Self {
        match e {
            Error::Sync { message, retryable } => Self::Network {
                service: NetworkService::Asik,
                retryable,
                message_id: if retryable {
                    "Server ASIK tidak dapat dihubungi; tidak ada data yang hilang, coba lagi saat ada sinyal."
                } else {
                    "Server ASIK menolak client ID atau secret; periksa kredensial puskesmas di pengaturan ASIK (tidak ada data yang hilang)."
                }
                .to_owned(),
                detail: message,
            },
            other => other.into(),
        }
    }

    /// An error of `relay_sync`: its network failures named as the relay's, with a sentence per kind of
    /// [`RelayError`] (recognised by the core's own texts of them, so a change there fails this crate's
    /// tests rather than the wording).
    pub(crate) fn relay(e: Error) -> Self {
        match e {
            Error::Sync { message, retryable } => Self::Network {
                service: NetworkService::Relay,
                retryable,
                message_id: relay_message_id(&message, retryable).to_owned(),
                detail: message,
            },
            other => other.into(),
        }
    }
}

/// The kader's sentence for a relay failure whose English text (`RelayError`'s `Display`) is `message`.
fn relay_message_id(message: &str, retryable: bool) -> &'static str {
    // The fixed part of each kind's text, taken from the core's `Display` (before the detail).
    let prefix = |e: RelayError| {
        let text = e.to_string();
        let cut = text.find("{}").unwrap_or(text.len());
        text[..cut].to_owned()
    };
    let starts = |e: RelayError| message.starts_with(&prefix(e));
    if starts(RelayError::Unreachable("{}".into())) {
        "Penyimpanan relay tidak bisa dihubungi; periksa alamatnya dan sambungan internet, lalu coba lagi (tidak ada data yang hilang)."
    } else if starts(RelayError::Credentials("{}".into())) {
        "Penyimpanan relay menolak kunci akses atau kunci rahasianya; periksa pengaturan relay (tidak ada data yang hilang)."
    } else if message == RelayError::NoBucket.to_string() {
        "Bucket itu tidak ada di penyimpanan relay; periksa nama bucket di pengaturan relay (tidak ada data yang hilang)."
    } else if retryable {
        "Penyimpanan relay sedang bermasalah; coba lagi nanti (tidak ada data yang hilang)."
    } else {
        "Penyimpanan relay menolak permintaan atau jawabannya tidak bisa dibaca; periksa pengaturan relay (tidak ada data yang hilang)."
    }
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
            // Only a peer session's, through this conversion: `asik_sync` and `relay_sync` map their
            // own (`TimbangError::asik`, `TimbangError::relay`).
            Error::Sync { message, retryable } => Self::Network {
                service: NetworkService::Peer,
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
            TimbangError::Network { service: NetworkService::Peer, retryable: true, message_id, .. }
                if message_id.contains("HP lain")
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

    /// The core's errors of `asik_sync` (api/asik.rs) and of the relay (`RelayError`, as
    /// api/relay.rs makes them), each with its service and its own sentence, none the peer one.
    #[test]
    fn asik_and_relay_failures_have_their_own_wording() {
        let asik = |message: &str, retryable| {
            TimbangError::asik(Error::Sync {
                message: message.into(),
                retryable,
            })
        };
        let e = asik("ASIK server unreachable: connection refused", true);
        assert!(matches!(
            &e,
            TimbangError::Network { service: NetworkService::Asik, retryable: true, message_id, detail }
                if message_id.starts_with("Server ASIK tidak dapat dihubungi") && detail.contains("refused")
        ));
        let e = asik("the ASIK server refused the client id and secret", false);
        assert!(matches!(
            &e,
            TimbangError::Network { service: NetworkService::Asik, retryable: false, message_id, .. }
                if message_id.contains("client ID")
        ));
        // Not a network failure: passed on as it is.
        assert!(matches!(
            TimbangError::asik(Error::Interrupted),
            TimbangError::Interrupted { .. }
        ));

        let relay = |e: RelayError| {
            TimbangError::relay(Error::Sync {
                retryable: e.retryable(),
                message: e.to_string(),
            })
        };
        let cases = [
            (
                RelayError::Unreachable("connection refused".into()),
                true,
                "tidak bisa dihubungi",
            ),
            (
                RelayError::Credentials("403 SignatureDoesNotMatch".into()),
                false,
                "kunci akses",
            ),
            (RelayError::NoBucket, false, "Bucket itu tidak ada"),
            (
                RelayError::Server {
                    status: 503,
                    code: "ServiceUnavailable".into(),
                    op: "list",
                },
                true,
                "sedang bermasalah",
            ),
            (
                RelayError::Server {
                    status: 400,
                    code: "InvalidRequest".into(),
                    op: "put",
                },
                false,
                "menolak permintaan",
            ),
            (RelayError::BadAnswer("list"), false, "tidak bisa dibaca"),
        ];
        for (e, want_retryable, want) in cases {
            let en = e.to_string();
            match relay(e) {
                TimbangError::Network {
                    service: NetworkService::Relay,
                    retryable,
                    message_id,
                    detail,
                } => {
                    assert_eq!(retryable, want_retryable, "{en}");
                    assert!(message_id.contains(want), "{en}: {message_id}");
                    assert!(!message_id.contains("--"), "no CLI flag: {message_id}");
                    assert!(!message_id.contains("HP lain"), "{message_id}");
                    assert_eq!(detail, en);
                }
                other => panic!("{en}: {other:?}"),
            }
        }
    }
}
