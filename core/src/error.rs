//! The public error of the core: small, actionable, FFI-friendly, free of personal data.
//!
//! Modules keep their own error enums (`StoreError`, `CrdtError`, `PeerError`, `CryptoError`, growth's
//! `HardLimitError`); every conversion from them into [`Error`] is in this file and nowhere else, so one
//! condition is always one variant. Messages name fields and ids, never names, NIK or addresses.

use serde::Serialize;

/// Something the kader must confirm before a value is stored (`--yes` in the CLI).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Confirmation {
    /// Stable code, e.g. `who_flag_waz`, `nik_birth_date`, `possible_duplicate`.
    pub code: String,
    /// The field concerned, e.g. `weight_kg`, `nik`.
    pub field: String,
    /// One sentence in Bahasa Indonesia for the kader.
    pub message_id: String,
    /// The same in English, for logs and developers.
    pub message_en: String,
}

/// Errors the core reports to its callers.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input: refused, nothing written.
    #[error("{message_en}")]
    InvalidInput {
        field: String,
        message_id: String,
        message_en: String,
    },
    /// The value is plausible only if the kader confirms it; nothing written.
    #[error("needs confirmation: {}", .reasons.iter().map(|r| r.message_en.as_str()).collect::<Vec<_>>().join("; "))]
    NeedsConfirmation { reasons: Vec<Confirmation> },
    /// No such child, visit or conflict. `what` is `child`, `visit` or `conflict`; `id` is the id that
    /// was asked for (child ids, `CHILD/DATE` for a visit, conflict ids: never personal data).
    #[error("{what} {id} not found")]
    NotFound { what: String, id: String },
    /// The key does not open this database.
    #[error("the key does not open this database (wrong key)")]
    WrongKey,
    /// The database has not been set up with `init` or `team join`.
    #[error("this database is not set up yet: run `timbang init` or `timbang team join` first")]
    NotInitialized,
    /// `init` on a database that already has a posyandu.
    #[error("this database is already set up")]
    AlreadyInitialized,
    /// The database was written by a newer version of Timbang.
    #[error(
        "the database has schema version {found}, newer than this app supports ({supported}); update the app"
    )]
    TooNew { found: u32, supported: u32 },
    /// The file is not a readable database; it was moved aside, not deleted.
    #[error("the database file is damaged; it was moved aside to {moved_to}")]
    Corrupt { moved_to: String },
    /// The file is a SQLite database of another program (its `application_id` is not Timbang's, or it
    /// has tables but no Timbang `meta`); it was refused and left exactly as it was.
    #[error(
        "{path} is not a Timbang database (another program's SQLite file); it was left untouched"
    )]
    NotOurs { path: String },
    /// A file the caller named (an output, a report) could not be read or written; not bad input.
    #[error("{message_en}")]
    File {
        path: String,
        message_id: String,
        message_en: String,
    },
    /// A peer or network failure. `retryable`: trying again later (another session, when the signal is
    /// back) can succeed; false when the other side refused us (not paired, tampered, protocol).
    #[error("sync failed: {message}")]
    Sync { message: String, retryable: bool },
    /// The work was stopped through the interrupt handle. Everything committed before stays; running the
    /// same call again continues from there.
    #[error("the operation was interrupted")]
    Interrupted,
    /// Any other storage failure, with its cause.
    #[error("storage failure: {message}")]
    Storage {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    },
}

impl Error {
    /// Bad input for `field`, with a sentence for the kader and one for the log.
    pub fn invalid(
        field: &str,
        message_id: impl Into<String>,
        message_en: impl Into<String>,
    ) -> Self {
        Self::InvalidInput {
            field: field.to_owned(),
            message_id: message_id.into(),
            message_en: message_en.into(),
        }
    }

    /// A storage failure described without personal data, with no further cause.
    pub fn storage(message: impl std::fmt::Display) -> Self {
        Self::Storage {
            message: message.to_string(),
            source: None,
        }
    }

    /// A storage failure caused by `source` (kept for logs and `Error::source`).
    fn storage_from(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Storage {
            message: source.to_string(),
            source: Some(Box::new(source)),
        }
    }

    /// The input field at fault, for bad input.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::InvalidInput { field, .. } => Some(field),
            _ => None,
        }
    }

    /// Whether doing the same again later can succeed without anyone changing anything (a dropped
    /// connection, an interrupted job, a busy database).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Sync { retryable, .. } => *retryable,
            Self::Interrupted => true,
            _ => false,
        }
    }

    /// The sentence a kader should see (Bahasa Indonesia where one exists).
    pub fn message_id(&self) -> String {
        match self {
            Self::InvalidInput { message_id, .. } => message_id.clone(),
            Self::NeedsConfirmation { reasons } => reasons
                .iter()
                .map(|r| r.message_id.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            Self::NotFound { what, id } => {
                let what = match what.as_str() {
                    "child" => "Anak dengan ID",
                    "visit" => "Kunjungan",
                    "conflict" => "Konflik",
                    _ => "Data",
                };
                format!("{what} {id} tidak ada di basis data ini.")
            }
            Self::WrongKey => "Kunci tidak cocok dengan basis data ini.".into(),
            Self::NotInitialized => {
                "Basis data belum disiapkan: jalankan `timbang init` atau `timbang team join`."
                    .into()
            }
            Self::AlreadyInitialized => "Basis data ini sudah disiapkan.".into(),
            Self::Interrupted => "Pekerjaan dihentikan; jalankan lagi untuk melanjutkan.".into(),
            Self::TooNew { found, supported } => format!(
                "Basis data ini dibuat oleh versi Timbang yang lebih baru (skema {found}, aplikasi ini {supported}), jadi tidak diubah; perbarui aplikasi."
            ),
            Self::Corrupt { moved_to } => format!(
                "Basis data rusak, jadi dipindahkan ke {moved_to} (tidak dihapus); mulai lagi dengan `timbang team join` memakai kode dari HP lain di tim (datanya tersinkron kembali) atau `timbang init`, dan simpan berkas rusak itu untuk petugas."
            ),
            Self::NotOurs { path } => format!(
                "Berkas {path} bukan basis data Timbang (mungkin milik program lain), jadi tidak dibuka dan tidak diubah."
            ),
            Self::File { message_id, .. } => message_id.clone(),
            Self::Storage { message, .. } => format!(
                "Basis data tidak bisa dibaca atau ditulis: {}.",
                storage_reason_id(message)
            ),
            Self::Sync { message, retryable } => {
                let m = message.to_ascii_lowercase();
                if m.contains("object store could not be reached") {
                    "Penyimpanan relay tidak bisa dihubungi; periksa alamatnya dan sambungan internet, lalu coba lagi (tidak ada data yang hilang).".into()
                } else if m.contains("refused the access key") {
                    "Penyimpanan relay menolak kunci akses atau kunci rahasianya; periksa --access-key dan berkas kunci rahasia (tidak ada data yang hilang).".into()
                } else if m.contains("bucket does not exist") {
                    "Bucket itu tidak ada di penyimpanan relay; periksa --bucket (tidak ada data yang hilang).".into()
                } else if m.contains("object store") {
                    "Penyimpanan relay menolak permintaan atau jawabannya tidak bisa dibaca; coba lagi nanti (tidak ada data yang hilang).".into()
                } else if m.contains("older timbang") {
                    "Sinkronisasi gagal: HP lain itu memakai versi Timbang yang lebih lama; perbarui aplikasi di HP itu.".into()
                } else if m.contains("not paired") {
                    "Sinkronisasi gagal: HP lain itu bukan anggota tim posyandu ini.".into()
                } else if m.contains("authentication") {
                    "Sinkronisasi dihentikan: ada data dari HP lain yang gagal diperiksa keasliannya."
                        .into()
                } else if *retryable {
                    "Sinkronisasi dengan HP lain gagal karena sambungan terputus atau tidak tersambung; coba lagi."
                        .into()
                } else {
                    "Sinkronisasi dengan HP lain gagal.".into()
                }
            }
        }
    }
}

/// [`storage_reason_id`] for damaged contents (a page SQLite finds malformed, a sealed value that no
/// longer opens).
pub const STORAGE_DAMAGED: &str = "isinya rusak";

/// Why a storage operation failed, in Bahasa Indonesia, from the English message of a storage error
/// (SQLite's messages are stable). Used after "Basis data ... tidak bisa dibaca atau ditulis: ".
pub fn storage_reason_id(message_en: &str) -> &'static str {
    let m = message_en.to_ascii_lowercase();
    if m.contains("disk is full") || m.contains("no space") {
        "penyimpanan penuh"
    } else if m.contains("readonly") || m.contains("read-only") || m.contains("read only") {
        "penyimpanan hanya bisa dibaca"
    } else if m.contains("locked") || m.contains("busy") {
        "sedang dipakai program lain, coba lagi sebentar"
    } else if m.contains("unable to open") || m.contains("cannot open") {
        "berkasnya tidak bisa dibuka"
    } else if m.contains("permission denied") || m.contains("access permission") {
        "izin ditolak"
    } else if m.contains("disk i/o") || m.contains("i/o error") {
        "penyimpanan gagal dibaca atau ditulis"
    } else if m.contains("malformed") || m.contains("corrupt") || m.contains("crypto") {
        STORAGE_DAMAGED
    } else {
        "kesalahan penyimpanan"
    }
}

/// Results of the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

// The one conversion point: every module error becomes exactly one variant here.

impl From<crate::store::StoreError> for Error {
    fn from(e: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match e {
            StoreError::WrongKey => Error::WrongKey,
            StoreError::TooNew { found, supported } => Error::TooNew { found, supported },
            StoreError::Corrupt(p) => Error::Corrupt {
                moved_to: p.display().to_string(),
            },
            StoreError::NotOurs(p) => Error::NotOurs {
                path: p.display().to_string(),
            },
            StoreError::NotInitialized => Error::NotInitialized,
            StoreError::Interrupted => Error::Interrupted,
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, _))
                if f.code == rusqlite::ErrorCode::OperationInterrupted =>
            {
                Error::Interrupted
            }
            other => Error::storage_from(other),
        }
    }
}

impl From<crate::crdt::CrdtError> for Error {
    fn from(e: crate::crdt::CrdtError) -> Self {
        Error::storage_from(e)
    }
}

impl From<crate::crypto::CryptoError> for Error {
    fn from(e: crate::crypto::CryptoError) -> Self {
        Error::storage_from(e)
    }
}

impl From<crate::growth::HardLimitError> for Error {
    fn from(e: crate::growth::HardLimitError) -> Self {
        Error::invalid(e.field.code(), e.message_id(), e.to_string())
    }
}

impl From<crate::peer::PeerError> for Error {
    fn from(e: crate::peer::PeerError) -> Self {
        use crate::peer::PeerError;
        match e {
            PeerError::Interrupted => Error::Interrupted,
            PeerError::Store(source) => match source.downcast::<Error>() {
                Ok(e) => *e,
                Err(source) => match source.downcast::<crate::store::StoreError>() {
                    Ok(store) => Error::from(*store),
                    Err(other) => Error::Storage {
                        message: other.to_string(),
                        source: Some(other),
                    },
                },
            },
            other => Error::Sync {
                retryable: matches!(other, PeerError::Io(_) | PeerError::Closed),
                message: other.to_string(),
            },
        }
    }
}

impl From<crate::growth::Concern> for Confirmation {
    fn from(c: crate::growth::Concern) -> Self {
        Confirmation {
            code: c.code.to_owned(),
            field: c.field.code().to_owned(),
            message_id: c.message_id,
            message_en: c.message_en,
        }
    }
}
