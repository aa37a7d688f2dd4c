//! The CLI's HTTP client (`UreqHttp`) against small servers on 127.0.0.1: every status is an answer,
//! and a failure says whether the request may have reached the server.
#![allow(clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;
use std::time::Duration;

use timbang_core::host::{HttpClient, HttpError, HttpHeader, HttpRequest, UreqHttp};

fn request(url: String, timeout_ms: u32) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        url,
        headers: vec![HttpHeader::new("Content-Type", "application/fhir+json")],
        body: b"{\"resourceType\":\"Bundle\"}".to_vec(),
        timeout_ms,
    }
}

/// A server that reads one request and then does `then` with the connection.
fn serve_once(then: impl FnOnce(std::net::TcpStream, Vec<u8>) + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("accept");
        let mut seen = Vec::new();
        let mut buf = [0; 4096];
        // Headers, then the 25-byte body.
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") || !seen.ends_with(b"}") {
            let n = conn.read(&mut buf).expect("read");
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
        }
        then(conn, seen);
    });
    format!("http://{addr}/fhir")
}

#[test]
fn an_error_status_is_an_answer_with_its_headers_and_body() {
    let url = serve_once(|mut conn, seen| {
        let text = String::from_utf8_lossy(&seen).to_lowercase();
        assert!(text.starts_with("post /fhir http/1.1"), "{text}");
        assert!(text.contains("content-type: application/fhir+json"));
        conn.write_all(
            b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\nContent-Length: 4\r\n\r\nbusy",
        )
        .expect("write");
    });
    let answer = UreqHttp::new().send(request(url, 5_000)).expect("answer");
    assert_eq!(answer.status, 503);
    assert_eq!(answer.header("retry-after"), Some("7"));
    assert_eq!(answer.body, b"busy");
}

#[test]
fn a_closed_port_is_unreachable_and_nothing_was_delivered() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let err = UreqHttp::new()
        .send(request(format!("http://127.0.0.1:{port}/fhir"), 5_000))
        .expect_err("closed port");
    assert!(matches!(err, HttpError::Unreachable { .. }), "{err:?}");
    assert!(!err.maybe_delivered());
}

#[test]
fn a_silent_server_times_out_and_may_have_received_the_request() {
    let url = serve_once(|conn, _| {
        thread::sleep(Duration::from_secs(3));
        drop(conn);
    });
    let err = UreqHttp::new().send(request(url, 300)).expect_err("silent");
    assert_eq!(err, HttpError::TimedOut);
    assert!(err.maybe_delivered());
}

#[test]
fn a_connection_dropped_after_the_request_may_have_been_delivered() {
    let url = serve_once(|conn, _| drop(conn));
    let err = UreqHttp::new()
        .send(request(url, 5_000))
        .expect_err("dropped");
    assert!(matches!(err, HttpError::Failed { .. }), "{err:?}");
    assert!(err.maybe_delivered());
}
