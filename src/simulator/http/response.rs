//! Writing answers: an answer's head and body, Graph's error shape, and any bytes sent within
//! the time an answer may take.

use std::io::{self, Write};
use std::net::TcpStream;
use std::time::Instant;

use serde_json::json;

use super::Limits;
use super::connection::Timed;

/// Sends `bytes` within the time an answer may take.
pub(super) fn send(stream: &TcpStream, limits: &Limits, bytes: &[u8]) -> io::Result<()> {
    let mut out = Timed {
        stream,
        deadline: Instant::now() + limits.write,
    };
    out.write_all(bytes)
}

/// An answer in Graph's error shape, after which the connection closes.
pub(super) fn write_error(
    stream: &TcpStream,
    limits: &Limits,
    status: u16,
    code: &str,
    message: &str,
) {
    let body = json!({"error": {"code": code, "message": message}}).to_string();
    let headers = [("Content-Type".to_owned(), "application/json".to_owned())];
    let _ = write_answer(stream, limits, status, &headers, body.as_bytes(), false);
}

/// Writes an answer; headers whose name or value could break the head are left out.
pub(super) fn write_answer(
    stream: &TcpStream,
    limits: &Limits,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    keep_alive: bool,
) -> io::Result<()> {
    use std::fmt::Write as _;
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    let safe = |s: &str| !s.bytes().any(|b| b.is_ascii_control() || b == b':');
    for (k, v) in headers {
        if safe(k) && !v.bytes().any(|b| b.is_ascii_control()) {
            let _ = write!(head, "{k}: {v}\r\n");
        }
    }
    let connection = if keep_alive { "keep-alive" } else { "close" };
    // A 204 has no body, and says nothing of its length.
    if status != 204 {
        let _ = write!(head, "Content-Length: {}\r\n", body.len());
    }
    let _ = write!(head, "Connection: {connection}\r\n\r\n");
    let mut message = head.into_bytes();
    message.extend_from_slice(body);
    send(stream, limits, &message)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        417 => "Expectation Failed",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}
