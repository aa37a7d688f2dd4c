//! A real S3-compatible object store for the relay tests: OpenStack Swift with s3api, started once per
//! test binary by `scripts/s3_swift.sh` on 127.0.0.1 and stopped when the binary exits (the script's
//! stdin closes). Under `CI=true` a missing Swift fails the tests; elsewhere they print a skip.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use timbang_core::host::UreqHttp;
use timbang_core::relay::{S3Config, S3Relay};

pub struct Swift {
    pub url: String,
    pub access_key: String,
    pub secret: String,
    _server: Mutex<Child>,
    _dir: tempfile::TempDir,
}

static SWIFT: OnceLock<Option<Swift>> = OnceLock::new();

fn start() -> Option<Swift> {
    // The workspace's scripts folder, from whichever crate's tests include this file.
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|d| d.join("scripts/s3_swift.sh"))
        .find(|p| p.exists())
        .expect("scripts/s3_swift.sh in the workspace");
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new("bash")
        .arg(&script)
        .arg(dir.path().join("swift"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash runs scripts/s3_swift.sh");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let parts: Vec<&str> = line.split_whitespace().collect();
    if parts.first() != Some(&"ready") || parts.len() != 4 {
        let status = child.wait().unwrap();
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut err);
        }
        let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        if status.code() == Some(3) && !ci {
            eprintln!(
                "SKIP relay tests: OpenStack Swift is not installed here ({}). `.ci/run` installs it.",
                err.trim()
            );
            return None;
        }
        panic!("the S3 store (Swift) did not start ({status}): {err}");
    }
    Some(Swift {
        url: parts[1].to_owned(),
        access_key: parts[2].to_owned(),
        secret: parts[3].to_owned(),
        _server: Mutex::new(child),
        _dir: dir,
    })
}

/// The shared store, or None (after printing why) when Swift is not installed outside CI.
pub fn swift() -> Option<&'static Swift> {
    SWIFT.get_or_init(start).as_ref()
}

impl Swift {
    /// The configuration for `bucket` with the right credentials.
    pub fn config(&self, bucket: &str) -> S3Config {
        S3Config {
            url: self.url.clone(),
            bucket: bucket.to_owned(),
            access_key: self.access_key.clone(),
            secret_key: self.secret.clone(),
            region: "us-east-1".to_owned(),
        }
    }

    /// A new, empty bucket with a unique name.
    pub fn new_bucket(&self) -> S3Config {
        let n = timbang_core::crypto::make_random_bytes::<6>().unwrap();
        let name = format!(
            "t{}",
            n.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        let config = self.config(&name);
        let http = UreqHttp::new();
        let mut relay = S3Relay::new(&config, &http).unwrap();
        // Swift answers 503 while a backend server is briefly busy (several tests create buckets at
        // once on a loaded machine): retry as any S3 client would, then fail loudly.
        let mut tries = 0;
        loop {
            match relay.create_bucket() {
                Ok(()) => break,
                Err(e) if e.retryable() && tries < 20 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(250));
                }
                Err(e) => panic!("create bucket {name}: {e:?}"),
            }
        }
        config
    }

    /// Every (key, body) in the bucket, whoever wrote it.
    pub fn dump(&self, config: &S3Config) -> Vec<(String, Vec<u8>)> {
        let http = UreqHttp::new();
        let mut s3 = S3Relay::new(config, &http).unwrap();
        s3.list("")
            .unwrap()
            .into_iter()
            .map(|l| {
                let body = s3.get(&l.key).unwrap().unwrap();
                (l.key, body)
            })
            .collect()
    }

    /// Overwrite `key` (what an attacker with the bucket's credentials could do).
    pub fn overwrite(&self, config: &S3Config, key: &str, body: Vec<u8>) {
        let http = UreqHttp::new();
        S3Relay::new(config, &http).unwrap().put(key, body).unwrap();
    }
}
