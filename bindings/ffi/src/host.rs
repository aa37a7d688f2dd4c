//! The host's capabilities as foreign traits (the app implements them in Kotlin, Swift or Python), each
//! adapted here to the core's trait in `timbang_core::host`: the peer byte stream, HTTP, and the
//! change listener. An exception the host's code throws unexpectedly arrives as the trait's `Failed`.

use std::sync::Arc;

use timbang_core::host as core;

/// A byte pipe failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum StreamError {
    /// Nothing arrived within the transport's deadline.
    #[error("timed out")]
    TimedOut,
    /// The pipe broke; `detail` says how (no data in it).
    #[error("failed: {detail}")]
    Failed { detail: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for StreamError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Failed { detail: e.reason }
    }
}

/// A byte pipe to another phone of the team (a Bluetooth socket, Wi-Fi Direct, TCP). Both directions
/// may be used from the one thread the core runs the session on.
#[uniffi::export(with_foreign)]
pub trait ByteStream: Send + Sync {
    /// Block until at least one byte arrived, then return up to `max` bytes; empty when the other side
    /// closed the pipe.
    fn read(&self, max: u32) -> Result<Vec<u8>, StreamError>;
    /// Write all of `data`.
    fn write(&self, data: Vec<u8>) -> Result<(), StreamError>;
    /// Both phones proved they hold the team secret: a transport with a short handshake deadline
    /// relaxes it to its idle timeout here.
    fn paired(&self);
}

/// The host's stream as the core's.
pub(crate) struct HostStream(pub Arc<dyn ByteStream>);

impl std::fmt::Debug for HostStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HostStream")
    }
}

fn stream_error(e: StreamError) -> core::StreamError {
    match e {
        StreamError::TimedOut => core::StreamError::TimedOut,
        StreamError::Failed { detail } => core::StreamError::Failed { message: detail },
    }
}

impl core::ByteStream for HostStream {
    fn read(&self, max: u32) -> Result<Vec<u8>, core::StreamError> {
        self.0.read(max).map_err(stream_error)
    }
    fn write(&self, data: Vec<u8>) -> Result<(), core::StreamError> {
        self.0.write(data).map_err(stream_error)
    }
    fn paired(&self) {
        self.0.paired();
    }
}

/// Told after every commit of child documents (on the committing thread, after it is durable; during a
/// peer session that is a writer thread of the core's): post to the app's own queue and re-read what
/// is shown. It may call back into the core.
#[uniffi::export(with_foreign)]
pub trait ChangeListener: Send + Sync {
    fn changed(&self);
}

pub(crate) struct HostListener(pub Arc<dyn ChangeListener>);

impl std::fmt::Debug for HostListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HostListener")
    }
}

impl core::ChangeListener for HostListener {
    fn changed(&self) {
        self.0.changed();
    }
}

/// One HTTP header.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpHeader {
    pub name: String,
    pub value: String,
}

/// A request the core asks the host to send exactly as given (the core sets every header).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpRequest {
    /// `GET`, `POST`, `PUT`, `DELETE`, `HEAD`.
    pub method: String,
    /// Absolute URL, query included.
    pub url: String,
    pub headers: Vec<HttpHeader>,
    pub body: Vec<u8>,
    /// The whole exchange must finish within this many milliseconds.
    pub timeout_ms: u32,
}

/// The server's answer: every status, 4xx and 5xx included.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<HttpHeader>,
    pub body: Vec<u8>,
}

/// No answer came; the variant says whether the request may have reached the server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum HttpError {
    /// Nothing was sent (no network, no such host, connection refused).
    #[error("unreachable: {detail}")]
    Unreachable { detail: String },
    /// Sent, perhaps, but no whole answer within the deadline.
    #[error("timed out")]
    TimedOut,
    /// Sent, perhaps; the connection broke or the answer was unreadable.
    #[error("failed: {detail}")]
    Failed { detail: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for HttpError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Failed { detail: e.reason }
    }
}

/// Sends one HTTP request and returns the whole answer (OkHttp, URLSession). Blocking: called on the
/// thread the app chose for the operation.
#[uniffi::export(with_foreign)]
pub trait HttpClient: Send + Sync {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError>;
}

/// The host's HTTP as the core's.
pub(crate) struct HostHttp(pub Arc<dyn HttpClient>);

impl std::fmt::Debug for HostHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HostHttp")
    }
}

fn header(h: HttpHeader) -> core::HttpHeader {
    core::HttpHeader::new(h.name, h.value)
}

impl core::HttpClient for HostHttp {
    fn send(&self, r: core::HttpRequest) -> Result<core::HttpResponse, core::HttpError> {
        let request = HttpRequest {
            method: r.method,
            url: r.url,
            headers: r
                .headers
                .into_iter()
                .map(|h| HttpHeader {
                    name: h.name,
                    value: h.value,
                })
                .collect(),
            body: r.body,
            timeout_ms: r.timeout_ms,
        };
        match self.0.send(request) {
            Ok(a) => Ok(core::HttpResponse {
                status: a.status,
                headers: a.headers.into_iter().map(header).collect(),
                body: a.body,
            }),
            Err(HttpError::Unreachable { detail }) => {
                Err(core::HttpError::Unreachable { message: detail })
            }
            Err(HttpError::TimedOut) => Err(core::HttpError::TimedOut),
            Err(HttpError::Failed { detail }) => Err(core::HttpError::Failed { message: detail }),
        }
    }
}

/// Told how far a register import is: `done` of `total` children written (after every batch, and
/// `0` of `total` before the first). On the importing thread; keep it short (post to the UI).
#[uniffi::export(with_foreign)]
pub trait ImportProgress: Send + Sync {
    fn progress(&self, done: u64, total: u64);
}
