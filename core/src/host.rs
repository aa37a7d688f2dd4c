//! What the host (the app, the CLI, a test) provides to the core, as traits the host implements.
//!
//! * [`Clock`]: now and today. [`SystemClock`] for the CLI, [`FixedDate`] for reproducible runs.
//! * [`ByteStream`]: a byte pipe to another phone for a peer session. Bluetooth or Wi-Fi Direct on the
//!   phone implement it through the bindings; [`TcpStream`] is the CLI's; [`IoStream`] wraps any
//!   `Read + Write` (the in-memory pipes of tests).
//! * [`ChangeListener`]: told after every commit of child documents (the apps re-read the village
//!   list: a Kotlin `Flow`, a Swift `AsyncStream`).
//! * [`HttpClient`]: sends one HTTP request (ASIK upload, the relay). OkHttp on Android and URLSession
//!   on iOS implement it through the bindings; `UreqHttp` (feature `ureq`) is the CLI's and the tests'.
//!
//! Every method takes `&self` and owned values, so the same traits can be implemented in Kotlin and Swift
//! through uniffi.

use std::io::{Read, Write};
use std::net::ToSocketAddrs;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};

/// The host's clock. The CLI uses the system clock; tests and the demo fix the date.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now, in UTC.
    fn now(&self) -> DateTime<Utc>;
    /// Today's date where the posyandu is.
    fn today(&self) -> NaiveDate;
}

/// The system clock; "today" is the local date.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    fn today(&self) -> NaiveDate {
        chrono::Local::now().date_naive()
    }
}

/// A clock fixed on one date (time still advances, for ordering).
#[derive(Debug, Clone, Copy)]
pub struct FixedDate(pub NaiveDate);

impl Clock for FixedDate {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    fn today(&self) -> NaiveDate {
        self.0
    }
}

/// Told after every commit of child documents (a registration, a visit, a merge, a resolved conflict,
/// each batch a peer session stores), on the thread that committed, after the transaction is durable:
/// for a peer session that is the session's own writer thread, not the thread that called it.
/// It should return quickly (post to the app's own queue); it may call back into the core.
pub trait ChangeListener: Send + Sync + std::fmt::Debug {
    /// Something in the children or their visits changed.
    fn changed(&self);
}

/// A byte pipe failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// Nothing arrived within the transport's deadline.
    #[error("the other device did not answer in time")]
    TimedOut,
    /// The pipe broke (connection reset, Bluetooth link lost); `message` says how, without data.
    #[error("the connection failed: {message}")]
    Failed { message: String },
}

/// A byte pipe to another phone, implemented by the host. Reads block until at least one byte arrived
/// (an empty result means the other side closed); both directions may be used from one thread.
pub trait ByteStream: Send + Sync + std::fmt::Debug {
    /// Up to `max` bytes; empty when the other side closed the pipe.
    fn read(&self, max: u32) -> Result<Vec<u8>, StreamError>;
    /// Write all of `data`.
    fn write(&self, data: Vec<u8>) -> Result<(), StreamError>;
    /// Called once both phones have proved they hold the team secret. A transport with a short
    /// handshake deadline (so a silent or stalled stranger is dropped quickly) relaxes it here to its
    /// idle timeout.
    fn paired(&self) {}
}

impl From<StreamError> for std::io::Error {
    fn from(e: StreamError) -> Self {
        match e {
            StreamError::TimedOut => std::io::Error::new(std::io::ErrorKind::TimedOut, e),
            StreamError::Failed { .. } => std::io::Error::other(e),
        }
    }
}

fn stream_error(e: &std::io::Error) -> StreamError {
    match e.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => StreamError::TimedOut,
        _ => StreamError::Failed {
            message: e.to_string(),
        },
    }
}

/// A [`ByteStream`] seen as `Read + Write` (what the sealed channel speaks).
#[derive(Debug)]
pub(crate) struct StreamIo<'a>(pub &'a dyn ByteStream);

impl Read for StreamIo<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let max = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        let data = self.0.read(max)?;
        let n = data.len().min(buf.len());
        buf[..n].copy_from_slice(&data[..n]);
        Ok(n)
    }
}

impl Write for StreamIo<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf.to_vec())?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Any `Read + Write` as a [`ByteStream`] (in-memory pipes in tests, a serial cable).
#[derive(Debug)]
pub struct IoStream<S>(Mutex<S>);

impl<S: Read + Write + Send + std::fmt::Debug> IoStream<S> {
    /// Wrap `inner`.
    pub fn new(inner: S) -> Self {
        Self(Mutex::new(inner))
    }
}

impl<S: Read + Write + Send + std::fmt::Debug> ByteStream for IoStream<S> {
    fn read(&self, max: u32) -> Result<Vec<u8>, StreamError> {
        let mut inner = self.0.lock().map_err(|_| StreamError::Failed {
            message: "stream lock poisoned".into(),
        })?;
        let mut buf = vec![0; max.min(1 << 16) as usize];
        let n = inner.read(&mut buf).map_err(|e| stream_error(&e))?;
        buf.truncate(n);
        Ok(buf)
    }
    fn write(&self, data: Vec<u8>) -> Result<(), StreamError> {
        let mut inner = self.0.lock().map_err(|_| StreamError::Failed {
            message: "stream lock poisoned".into(),
        })?;
        inner.write_all(&data).map_err(|e| stream_error(&e))?;
        inner.flush().map_err(|e| stream_error(&e))
    }
}

/// How long a paired phone may stay silent before a TCP session fails.
pub const TCP_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a new connection may take to complete the handshake (hello and proof) before it is
/// dropped: a silent or stalled client never holds a real phone off for longer.
pub const TCP_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A TCP connection as a [`ByteStream`] (the CLI's `peer serve` and `peer sync`): the handshake must
/// complete within [`TCP_HANDSHAKE_TIMEOUT`], then a silent peer is waited for [`TCP_IDLE_TIMEOUT`].
#[derive(Debug)]
pub struct TcpStream {
    stream: std::net::TcpStream,
    received: std::sync::atomic::AtomicU64,
}

impl TcpStream {
    /// Dial `addr`.
    pub fn connect(addr: impl ToSocketAddrs) -> std::io::Result<Self> {
        Self::from_std(std::net::TcpStream::connect(addr)?)
    }

    /// Use a connection (accepted or dialled).
    pub fn from_std(stream: std::net::TcpStream) -> std::io::Result<Self> {
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(TCP_HANDSHAKE_TIMEOUT))?;
        stream.set_write_timeout(Some(TCP_IDLE_TIMEOUT))?;
        Ok(Self {
            stream,
            received: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Bytes received so far (0: the other side never said anything).
    pub fn bytes_received(&self) -> u64 {
        self.received.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl ByteStream for TcpStream {
    fn read(&self, max: u32) -> Result<Vec<u8>, StreamError> {
        let mut buf = vec![0; max.min(1 << 16) as usize];
        let n = (&self.stream)
            .read(&mut buf)
            .map_err(|e| stream_error(&e))?;
        self.received
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        buf.truncate(n);
        Ok(buf)
    }
    fn write(&self, data: Vec<u8>) -> Result<(), StreamError> {
        (&self.stream)
            .write_all(&data)
            .map_err(|e| stream_error(&e))
    }
    fn paired(&self) {
        let _ = self.stream.set_read_timeout(Some(TCP_IDLE_TIMEOUT));
    }
}

/// One header of an HTTP request or response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpHeader {
    pub name: String,
    pub value: String,
}

impl HttpHeader {
    /// A header `name: value`.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// An HTTP request the core asks the host to send. The core builds every header itself (content
/// type, authorisation, signatures); the host adds none that change the meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET`, `POST`, `PUT`, `DELETE`, `HEAD`.
    pub method: String,
    /// Absolute `http` or `https` URL, query included.
    pub url: String,
    pub headers: Vec<HttpHeader>,
    pub body: Vec<u8>,
    /// The whole exchange (connect, send, answer) must finish within this many milliseconds.
    pub timeout_ms: u32,
}

/// What the server answered. Every status is an answer, 4xx and 5xx included: only a failure to get
/// an answer at all is an [`HttpError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<HttpHeader>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }
}

/// No answer came. The variants say whether the request may have reached the server, which is what
/// an exactly-once upload needs to know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// Nothing was sent: the address did not resolve, the connection was refused, no network.
    #[error("the server could not be reached: {message}")]
    Unreachable { message: String },
    /// The request may have been sent but no whole answer came within the deadline.
    #[error("the server did not answer in time")]
    TimedOut,
    /// The request may have been sent; the connection broke or the answer was unreadable.
    #[error("the connection failed: {message}")]
    Failed { message: String },
}

impl HttpError {
    /// True when the server may have received and acted on the request.
    pub fn maybe_delivered(&self) -> bool {
        !matches!(self, Self::Unreachable { .. })
    }
}

/// Sends HTTP requests for the core, implemented by the host. Blocking: the core calls it from the
/// thread the app chose for the operation.
pub trait HttpClient: Send + Sync + std::fmt::Debug {
    /// Send `request` and return the whole answer.
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError>;
}

#[cfg(feature = "ureq")]
pub use crate::http_ureq::UreqHttp;
