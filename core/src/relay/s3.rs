//! The four S3 requests the relay makes (ListObjectsV2, GetObject, PutObject, DeleteObject, plus
//! CreateBucket for setting up), presigned by `rusty-s3` (no I/O) and sent through the host's
//! [`HttpClient`]. Counts requests and body bytes for the report and the measurements.

use std::time::Duration;

use rusty_s3::actions::{ListObjectsV2, S3Action};
use rusty_s3::{Bucket, Credentials, UrlStyle};

use super::RelayError;
use crate::host::{HttpClient, HttpError, HttpRequest, HttpResponse};

/// How long a presigned request stays valid.
const SIGNED_FOR: Duration = Duration::from_secs(15 * 60);
/// Deadline of a request without a large body.
const SHORT_MS: u32 = 30_000;
/// Deadline of a request carrying an object.
const LONG_MS: u32 = 180_000;

/// Where the relay lives and how to sign for it. The secret is never printed.
#[derive(Clone)]
pub struct S3Config {
    /// The endpoint, `http://` or `https://` (path-style buckets: `URL/BUCKET/KEY`).
    pub url: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
    /// The signing region (`us-east-1` when the store does not care).
    pub region: String,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("url", &self.url)
            .field("bucket", &self.bucket)
            .field("access_key", &self.access_key)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl Drop for S3Config {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.secret_key);
    }
}

/// Requests made and bytes moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct S3Stats {
    pub requests: u64,
    pub lists: u64,
    pub gets: u64,
    pub puts: u64,
    pub deletes: u64,
    pub bytes_up: u64,
    pub bytes_down: u64,
}

/// One listed object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    pub size: u64,
}

/// A bucket seen through the host's HTTP client.
pub struct S3Relay<'a> {
    bucket: Bucket,
    credentials: Credentials,
    http: &'a dyn HttpClient,
    pub stats: S3Stats,
}

impl std::fmt::Debug for S3Relay<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Relay")
            .field("bucket", &self.bucket.name())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// The `<Code>` of an S3 error answer.
fn error_code(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"))
        .map(|(code, _)| code.trim().to_owned())
        .unwrap_or_default()
}

fn refusal(resp: &HttpResponse, op: &'static str) -> RelayError {
    let code = error_code(&resp.body);
    match (resp.status, code.as_str()) {
        (_, "NoSuchBucket") => RelayError::NoBucket,
        (_, "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "AccessDenied") | (401 | 403, _) => {
            RelayError::Credentials(if code.is_empty() {
                resp.status.to_string()
            } else {
                code
            })
        }
        (status, _) => RelayError::Server { status, code, op },
    }
}

fn unreachable(e: HttpError) -> RelayError {
    RelayError::Unreachable(e.to_string())
}

impl<'a> S3Relay<'a> {
    /// The bucket `config` names, sent through `http`.
    pub fn new(config: &S3Config, http: &'a dyn HttpClient) -> Result<Self, RelayError> {
        let url: url::Url = config
            .url
            .parse()
            .map_err(|_| RelayError::Config(format!("the URL {} cannot be read", config.url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(RelayError::Config(format!(
                "the URL {} is not http:// or https://",
                config.url
            )));
        }
        let bucket = Bucket::new(
            url,
            UrlStyle::Path,
            config.bucket.clone(),
            config.region.clone(),
        )
        .map_err(|e| RelayError::Config(format!("the bucket cannot be used: {e}")))?;
        Ok(Self {
            bucket,
            credentials: Credentials::new(config.access_key.clone(), config.secret_key.clone()),
            http,
            stats: S3Stats::default(),
        })
    }

    fn send(
        &mut self,
        method: &str,
        url: url::Url,
        body: Vec<u8>,
        timeout_ms: u32,
    ) -> Result<HttpResponse, RelayError> {
        self.stats.requests += 1;
        self.stats.bytes_up += body.len() as u64;
        let resp = self
            .http
            .send(HttpRequest {
                method: method.to_owned(),
                url: url.to_string(),
                headers: Vec::new(),
                body,
                timeout_ms,
            })
            .map_err(unreachable)?;
        self.stats.bytes_down += resp.body.len() as u64;
        Ok(resp)
    }

    /// Every key under `prefix`, in name order (one request per 1,000 keys).
    pub fn list(&mut self, prefix: &str) -> Result<Vec<Listed>, RelayError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut action = ListObjectsV2::new(&self.bucket, Some(&self.credentials));
            action.with_prefix(prefix.to_owned());
            if let Some(t) = token.take() {
                action.with_continuation_token(t);
            }
            let url = action.sign(SIGNED_FOR);
            self.stats.lists += 1;
            let resp = self.send("GET", url, Vec::new(), SHORT_MS)?;
            if resp.status != 200 {
                return Err(refusal(&resp, "list"));
            }
            let text =
                std::str::from_utf8(&resp.body).map_err(|_| RelayError::BadAnswer("list"))?;
            let page =
                ListObjectsV2::parse_response(text).map_err(|_| RelayError::BadAnswer("list"))?;
            out.extend(page.contents.into_iter().map(|c| Listed {
                key: c.key,
                size: c.size.unwrap_or(0),
            }));
            match page.next_continuation_token {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// The body of `key`; None when it is gone (deleted by compaction since it was listed).
    pub fn get(&mut self, key: &str) -> Result<Option<Vec<u8>>, RelayError> {
        let url = self
            .bucket
            .get_object(Some(&self.credentials), key)
            .sign(SIGNED_FOR);
        self.stats.gets += 1;
        let resp = self.send("GET", url, Vec::new(), LONG_MS)?;
        match resp.status {
            200 => Ok(Some(resp.body)),
            404 if error_code(&resp.body) != "NoSuchBucket" => Ok(None),
            _ => Err(refusal(&resp, "get")),
        }
    }

    /// Write `key` (a name never used before).
    pub fn put(&mut self, key: &str, body: Vec<u8>) -> Result<(), RelayError> {
        let url = self
            .bucket
            .put_object(Some(&self.credentials), key)
            .sign(SIGNED_FOR);
        self.stats.puts += 1;
        let resp = self.send("PUT", url, body, LONG_MS)?;
        match resp.status {
            200 | 201 => Ok(()),
            _ => Err(refusal(&resp, "put")),
        }
    }

    /// Delete `key` (gone already counts as deleted).
    pub fn delete(&mut self, key: &str) -> Result<(), RelayError> {
        let url = self
            .bucket
            .delete_object(Some(&self.credentials), key)
            .sign(SIGNED_FOR);
        self.stats.deletes += 1;
        let resp = self.send("DELETE", url, Vec::new(), SHORT_MS)?;
        match resp.status {
            200 | 204 | 404 => Ok(()),
            _ => Err(refusal(&resp, "delete")),
        }
    }

    /// Create the bucket (setting up a store; the relay itself never creates one).
    pub fn create_bucket(&mut self) -> Result<(), RelayError> {
        let action = self.bucket.create_bucket(&self.credentials);
        let body = action.body().into_bytes();
        let url = action.sign(SIGNED_FOR);
        let resp = self.send("PUT", url, body, SHORT_MS)?;
        match resp.status {
            200 | 201 => Ok(()),
            409 if error_code(&resp.body) == "BucketAlreadyOwnedByYou" => Ok(()),
            _ => Err(refusal(&resp, "create bucket")),
        }
    }
}
