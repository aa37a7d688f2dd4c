//! [`UreqHttp`]: the [`HttpClient`] of the CLI and the tests, on `ureq` (blocking, rustls on `ring`).

use std::io::ErrorKind;
use std::time::Duration;

use crate::host::{HttpClient, HttpError, HttpHeader, HttpRequest, HttpResponse};

/// The largest answer read into memory (a FHIR search page or a relay bundle is far smaller).
const MAX_BODY: u64 = 64 * 1024 * 1024;
/// Connecting may take at most this long, within the request's own deadline.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A blocking HTTP client. Redirects are not followed (the core talks to the URLs it was given) and a
/// 4xx or 5xx is an answer, not an error.
#[derive(Debug, Clone)]
pub struct UreqHttp {
    agent: ureq::Agent,
}

impl Default for UreqHttp {
    fn default() -> Self {
        Self::new()
    }
}

impl UreqHttp {
    /// A client with its own connection pool.
    pub fn new() -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .user_agent(concat!("timbang/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Self { agent }
    }
}

impl HttpClient for UreqHttp {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let mut builder = ureq::http::Request::builder()
            .method(request.method.as_str())
            .uri(request.url.as_str());
        for h in &request.headers {
            builder = builder.header(h.name.as_str(), h.value.as_str());
        }
        let built = builder
            .body(request.body)
            .map_err(|e| HttpError::Unreachable {
                message: format!("the request could not be built: {e}"),
            })?;
        let timeout = Duration::from_millis(u64::from(request.timeout_ms.max(1)));
        let configured = self
            .agent
            .configure_request(built)
            .timeout_global(Some(timeout))
            .build();
        let mut response = self.agent.run(configured).map_err(http_error)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                HttpHeader::new(name.as_str(), String::from_utf8_lossy(value.as_bytes()))
            })
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(http_error)?;
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

/// Sorts ureq's failures by whether the request may have reached the server.
fn http_error(e: ureq::Error) -> HttpError {
    use ureq::Error as E;
    use ureq::Timeout as T;
    match e {
        E::Timeout(T::Resolve | T::Connect) => HttpError::Unreachable {
            message: "connecting timed out".into(),
        },
        E::Timeout(_) => HttpError::TimedOut,
        E::HostNotFound => HttpError::Unreachable {
            message: "the host name did not resolve".into(),
        },
        E::ConnectionFailed | E::BadUri(_) | E::Http(_) | E::Tls(_) => HttpError::Unreachable {
            message: e.to_string(),
        },
        E::Io(io) => match io.kind() {
            ErrorKind::ConnectionRefused
            | ErrorKind::AddrNotAvailable
            | ErrorKind::NetworkUnreachable
            | ErrorKind::HostUnreachable
            | ErrorKind::NotFound => HttpError::Unreachable {
                message: io.to_string(),
            },
            ErrorKind::TimedOut | ErrorKind::WouldBlock => HttpError::TimedOut,
            _ => HttpError::Failed {
                message: io.to_string(),
            },
        },
        other => HttpError::Failed {
            message: other.to_string(),
        },
    }
}
